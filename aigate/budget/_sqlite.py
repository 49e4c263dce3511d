"""`SQLiteBudgetStore`: one file shared by every process on a host."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ._sql import SQLITE, Program, Statements, run
from ._store import (
    DEFAULT_KEEP_S,
    BaseBudgetStore,
    Charge,
    Counter,
    Crossing,
    ReserveResult,
    check_charges,
)

__all__ = ["SQLiteBudgetStore"]

T = TypeVar("T")
# Connections inherited through fork() belong to the parent: park them, never close them.
_INHERITED: list[sqlite3.Connection] = []


class SQLiteBudgetStore(BaseBudgetStore):
    """Budget counters in a SQLite file (WAL), atomic across threads and processes.

    Each reserve and each settle is one ``BEGIN IMMEDIATE`` transaction: SQLite lets one
    writer in at a time, so the check and the increments of every counter happen with
    nobody in between. Writers queue for up to ``timeout`` seconds. Expired reservations
    are released in the reserve's own transaction when they stand in the way, and at most
    every ``sweep_interval_s`` otherwise.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = "aigate_budget",
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        keep_s: float = DEFAULT_KEEP_S,
        sweep_interval_s: float = 1.0,
    ) -> None:
        super().__init__(clock=clock, keep_s=keep_s)
        self.path = os.fspath(path)
        self._sql = Statements(SQLITE, table)
        self._timeout = timeout
        self._sweep_interval = sweep_interval_s
        self._next_sweep = float("-inf")
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        with self._lock:
            self._connection()  # a bad path fails here, not mid-call

    def __repr__(self) -> str:
        return f"SQLiteBudgetStore({self.path!r})"

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is not None and self._pid == os.getpid():
            return conn
        if conn is not None:
            _INHERITED.append(conn)
        self._conn = None
        if self.path != ":memory:" and not self.path.startswith("file:"):
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._transaction(conn, self._schema())
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _schema(self) -> Program[None]:
        for statement in self._sql.schema:
            yield (statement, ())

    @staticmethod
    def _transaction(conn: sqlite3.Connection, program: Program[T]) -> T:
        def execute(sql: str, params: Sequence[Any]) -> list[Any]:
            return conn.execute(sql, params).fetchall()

        conn.execute("BEGIN IMMEDIATE")  # the write lock, before the first read
        try:
            result = run(execute, program)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _run(self, program: Program[T]) -> T:
        with self._lock:
            return self._transaction(self._connection(), program)

    def reserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult:
        """Reserve every charge, or none (see `BudgetStore`)."""
        ordered = check_charges(charges)
        if not ordered:
            return ReserveResult(ok=True)
        at = self._now(now)
        with self._lock:
            conn = self._connection()
            if at >= self._next_sweep:
                self._next_sweep = at + self._sweep_interval
                program = self._sweep_then_reserve(reservation_id, ordered, at, ttl_s)
            else:
                program = self._sql.reserve(reservation_id, ordered, at + ttl_s, sweep_at=at)
            result = self._transaction(conn, program)
        assert result is not None  # SQLite creates missing counters inside the transaction
        return result

    def _sweep_then_reserve(
        self, rid: str, ordered: Sequence[Charge], at: float, ttl_s: float
    ) -> Program[ReserveResult | None]:
        yield from self._sql.sweep(at, 64)
        return (yield from self._sql.reserve(rid, ordered, at + ttl_s, sweep_at=at))

    def settle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Charge the real amounts, release the rest; idempotent (see `BudgetStore`)."""
        return self._run(self._sql.settle(reservation_id, actual))

    def status(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Spent and reserved for each counter key (zeros for unknown keys)."""
        return self._run(self._sql.status(keys))

    def sweep(self, *, now: float | None = None) -> int:
        """Release expired reservations, then forget what is older than ``keep_s``."""
        at = self._now(now)
        released = self._run(self._sql.sweep(at, 1_000_000))
        self._run(self._sql.purge(at, self.keep_s))
        return released

    def pending(self) -> list[str]:
        """Ids of the reservations currently held (not settled, not expired)."""
        return self._run(self._sql.pending_ids())

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                conn.close()
            elif conn is not None:
                _INHERITED.append(conn)
