"""`SQLiteLedger`: the embedded default, one file shared by every process on a host."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from functools import partial
from typing import Any

from .._exceptions import ConfigurationError
from .._sqlsteps import SQLiteRunner
from ._base import BaseLedger
from ._record import LedgerRecord, SummaryRow
from ._spec import Spec
from ._sql import SQLITE, Statements, decode, decode_summary, encode, migrate

__all__ = ["SQLiteLedger"]

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


class SQLiteLedger(BaseLedger):
    """A ledger in one SQLite file, safe for many threads and processes on one host.

    The file uses WAL (readers never block the writer) and a busy timeout (``timeout``
    seconds) so concurrent writers queue instead of failing. Each `record` is one INSERT
    in its own transaction, committed before it returns; with the default
    ``synchronous="NORMAL"`` a committed row survives the process being killed, and
    ``"FULL"`` also survives power loss at the price of an fsync per record. The schema is
    created or migrated when the ledger opens, inside one ``BEGIN IMMEDIATE`` transaction.
    `arecord` calls `record` (a local write of tens of microseconds).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = "aigate_ledger",
        timeout: float = 5.0,
        synchronous: str = "NORMAL",
    ) -> None:
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ConfigurationError(
                f"ledger synchronous={synchronous!r}; expected one of {', '.join(_SYNCHRONOUS)}",
                field="ledger.synchronous",
            )
        self.path = os.fspath(path)
        self._sql = Statements(SQLITE, table)
        self._synchronous = synchronous.upper()
        # Each statement outside the schema's BEGIN IMMEDIATE is its own transaction.
        self._db = SQLiteRunner(
            self.path,
            timeout=timeout,
            schema=partial(migrate, SQLITE, self._sql.table),
            synchronous=self._synchronous,
        )
        self._lock = self._db.lock
        self._db.open()  # bad paths and schema problems surface here, not mid-call

    def __repr__(self) -> str:
        return f"SQLiteLedger({self.path!r})"

    def _connection(self) -> sqlite3.Connection:
        """The open connection (caller holds the lock); reopened after close() or fork()."""
        return self._db.connection()

    def record(self, rec: LedgerRecord) -> None:
        """Insert ``rec`` (ignored if its id exists); committed when this returns."""
        row = encode(rec, SQLITE.ts(rec.ts))
        with self._lock:
            self._connection().execute(self._sql.insert, row)

    @property
    def database(self) -> tuple[str, ...] | None:
        """Which database a record commits to, and how durably: a budget store with the
        same identity commits `insert_step` in its settle's transaction."""
        if self.path == ":memory:" or self.path.startswith("file:"):
            return None  # a private database per connection, or a URI we do not resolve
        return ("sqlite", os.path.realpath(self.path), self._synchronous)

    def insert_step(self, rec: LedgerRecord) -> tuple[str, tuple[Any, ...]]:
        """The statement `record` runs for ``rec``, for another store's transaction."""
        return self._sql.insert, encode(rec, SQLITE.ts(rec.ts))

    def update_costs(self, costs: Mapping[str, int]) -> int:
        """Set the cost (nano-USD) of rows recorded without one, by id, in one
        transaction; rows that have a cost are left alone. Returns the rows changed."""
        if not costs:
            return 0
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                changed = 0
                for id, nano in costs.items():
                    changed += conn.execute(self._sql.update_cost, (int(nano), id)).rowcount
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return changed

    def _fetch(self, id: str) -> LedgerRecord | None:
        with self._lock:
            row = self._connection().execute(self._sql.get, (id,)).fetchone()
        return None if row is None else decode(row, text=True)

    def _select(self, spec: Spec, limit: int | None, newest_first: bool) -> list[LedgerRecord]:
        sql, params = self._sql.select(spec, limit, newest_first)
        with self._lock:
            rows = self._connection().execute(sql, params).fetchall()
        return [decode(row, text=True) for row in rows]

    def _summarize(self, spec: Spec) -> list[SummaryRow]:
        sql, params = self._sql.summary(spec)
        with self._lock:
            rows = self._connection().execute(sql, params).fetchall()
        return [decode_summary(row, spec.group_by) for row in rows]

    def _close(self) -> None:
        self._db.close()
