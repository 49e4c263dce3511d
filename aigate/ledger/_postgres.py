"""`PostgresLedger`: one table shared by every process and host (psycopg 3)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Mapping
from typing import Any

from .._sqlsteps import PostgresConnections
from ._base import BaseLedger
from ._record import LedgerRecord, SummaryRow
from ._spec import Spec
from ._sql import POSTGRES, Statements, decode, decode_summary, encode, migrate

__all__ = ["PostgresLedger"]


class PostgresLedger(PostgresConnections, BaseLedger):
    """A ledger in a PostgreSQL table (default ``aigate_ledger``), reports in SQL.

    `record` uses a sync connection and `arecord` (and the other ``a*`` methods) an
    ``psycopg.AsyncConnection``; each is opened on first use, in autocommit mode, so every
    record is one committed INSERT. The first connection creates or migrates the schema
    under an advisory lock, so many processes may open the ledger at once. Use the async
    methods from one event loop at a time and `aclose` in it. The DSN is never shown in
    ``repr`` (it may hold a password).
    """

    def __init__(self, dsn: str, *, table: str = "aigate_ledger") -> None:
        super().__init__(dsn)
        self._sql = Statements(POSTGRES, table)

    def __repr__(self) -> str:
        return f"PostgresLedger(table={self._sql.table!r})"

    # -- connections ---------------------------------------------------------------------

    def _connection(self) -> Any:
        conn = self._conn
        if conn is not None and not conn.closed and self._pid == os.getpid():
            return conn
        with self._lock:
            if self._pid != os.getpid():
                self._forked()
            if self._conn is None or self._conn.closed:
                self._conn = self._connect(migrate(POSTGRES, self._sql.table))
            return self._conn

    async def _aconnection(self) -> Any:
        conn = self._aconn
        if conn is not None and not conn.closed and self._aloop is asyncio.get_running_loop():
            return conn
        async with self._loop_lock():  # one connect per loop, however many tasks arrive
            if self._aconn is None or self._aconn.closed:
                self._aconn = await self._aconnect(migrate(POSTGRES, self._sql.table))
            return self._aconn

    # -- writes ----------------------------------------------------------------------------

    def record(self, rec: LedgerRecord) -> None:
        """Insert ``rec`` (ignored if its id exists); committed when this returns."""
        self._connection().execute(self._sql.insert, encode(rec, rec.ts))

    @property
    def database(self) -> tuple[str, ...]:
        """Which database a record commits to: a budget store with the same identity
        commits `insert_step` in its settle's transaction."""
        return ("postgresql", hashlib.sha256(self._dsn.encode()).hexdigest())

    def prepare(self) -> None:
        """Create or migrate the table now (it is otherwise made on the first write): a
        budget store that commits `insert_step` in its own transaction needs it there."""
        self._connection()

    def insert_step(self, rec: LedgerRecord) -> tuple[str, tuple[Any, ...]]:
        """The statement `record` runs for ``rec``, for another store's transaction."""
        return self._sql.insert, encode(rec, rec.ts)

    def update_costs(self, costs: Mapping[str, int]) -> int:
        """Set the cost (nano-USD) of rows recorded without one, by id, in one
        transaction; rows that have a cost are left alone. Returns the rows changed."""
        if not costs:
            return 0
        conn = self._connection()
        changed = 0
        with conn.transaction():
            for id, nano in costs.items():
                changed += conn.execute(self._sql.update_cost, (int(nano), id)).rowcount
        return changed

    async def arecord(self, rec: LedgerRecord) -> None:
        """Async `record`, on the async connection."""
        conn = await self._aconnection()
        await conn.execute(self._sql.insert, encode(rec, rec.ts))

    # -- reads -----------------------------------------------------------------------------

    def _rows(self, sql: str, params: Any) -> list[Any]:
        rows: list[Any] = self._connection().execute(sql, params).fetchall()
        return rows

    async def _arows(self, sql: str, params: Any) -> list[Any]:
        conn = await self._aconnection()
        cursor = await conn.execute(sql, params)
        rows: list[Any] = await cursor.fetchall()
        return rows

    def _fetch(self, id: str) -> LedgerRecord | None:
        rows = self._rows(self._sql.get, (id,))
        return decode(rows[0], text=False) if rows else None

    async def _afetch(self, id: str) -> LedgerRecord | None:
        rows = await self._arows(self._sql.get, (id,))
        return decode(rows[0], text=False) if rows else None

    def _select(self, spec: Spec, limit: int | None, newest_first: bool) -> list[LedgerRecord]:
        rows = self._rows(*self._sql.select(spec, limit, newest_first))
        return [decode(row, text=False) for row in rows]

    async def _aselect(
        self, spec: Spec, limit: int | None, newest_first: bool
    ) -> list[LedgerRecord]:
        rows = await self._arows(*self._sql.select(spec, limit, newest_first))
        return [decode(row, text=False) for row in rows]

    def _summarize(self, spec: Spec) -> list[SummaryRow]:
        rows = self._rows(*self._sql.summary(spec))
        return [decode_summary(row, spec.group_by) for row in rows]

    async def _asummarize(self, spec: Spec) -> list[SummaryRow]:
        rows = await self._arows(*self._sql.summary(spec))
        return [decode_summary(row, spec.group_by) for row in rows]
