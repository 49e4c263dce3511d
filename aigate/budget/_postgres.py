"""`PostgresBudgetStore`: counters in PostgreSQL tables, shared by every process and host."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from ._sql import POSTGRES, Duplicate, Program, Statements, run
from ._store import (
    DEFAULT_KEEP_S,
    BaseBudgetStore,
    Charge,
    Counter,
    Crossing,
    ReserveResult,
    check_charges,
)

__all__ = ["PostgresBudgetStore"]

T = TypeVar("T")
# A flow is a sequence of transactions: it yields ("tx" | "auto", a program factory) and
# receives each program's result (a program is made afresh for each retry), so the sync
# and async drivers share the decisions between them.
Flow = Generator[tuple[str, Callable[[], Program[Any]]], Any, T]
_RETRIES = 5  # deadlocks cannot happen (locks are taken in key order); this is a safety net
# Connections inherited through fork() share the parent's socket: never use or close them.
_INHERITED: list[Any] = []


class PostgresBudgetStore(BaseBudgetStore):
    """Budget counters in PostgreSQL (psycopg 3); tables ``{table}_counters`` / ``_holds``.

    A reserve is one transaction that locks the counter rows (``SELECT ... FOR UPDATE``,
    in key order), checks them and adds the reservation, so concurrent reserves on the
    same counters queue and never deadlock. A settle is one transaction that deletes the
    hold (``DELETE ... RETURNING``) and applies the amounts with one upsert. Expired
    holds are released by a short transaction (``FOR UPDATE SKIP LOCKED``) when they
    stand in the way, and at most every ``sweep_interval_s`` on the next reserve.
    Sync methods share one connection (a lock serialises transactions), ``a*`` methods
    one ``AsyncConnection`` per event loop. The DSN never appears in ``repr``.
    """

    def __init__(
        self,
        dsn: str,
        *,
        table: str = "aigate_budget",
        clock: Callable[[], float] = time.time,
        keep_s: float = DEFAULT_KEEP_S,
        sweep_interval_s: float = 1.0,
    ) -> None:
        super().__init__(clock=clock, keep_s=keep_s)
        self._dsn = dsn
        self._sql = Statements(POSTGRES, table)
        self._sweep_interval = sweep_interval_s
        self._next_sweep = float("-inf")
        self._lock = threading.Lock()
        self._conn: Any = None
        self._pid = os.getpid()
        self._aconn: Any = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._alock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"PostgresBudgetStore(table={self._sql.table!r})"

    # -- flows (shared by both drivers) ----------------------------------------------------

    def _schema(self) -> Program[None]:
        yield ("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._sql.c,))
        for statement in self._sql.schema:
            yield (statement, ())

    def _ensure(self, ordered: Sequence[Charge]) -> Program[None]:
        yield (
            self._sql.ensure_counters(len(ordered)),
            [v for c in ordered for v in (c.key, c.expires_at)],
        )

    def _reserve_flow(
        self, rid: str, ordered: Sequence[Charge], ttl_s: float, now: float | None
    ) -> Flow[ReserveResult]:
        at = self._now(now)
        if at >= self._next_sweep:
            self._next_sweep = at + self._sweep_interval
            yield ("tx", partial(self._sql.sweep, at, 64))
        swept = False
        for _ in range(_RETRIES):
            result = yield ("tx", partial(self._sql.reserve, rid, ordered, at + ttl_s))
            if result is None:  # a new counter: create it outside the locking transaction
                yield ("auto", partial(self._ensure, ordered))
                continue
            if not result.ok and not swept:
                swept = True
                if (yield ("tx", partial(self._sql.sweep, at, 1_000_000))):
                    continue
            return result  # type: ignore[no-any-return]
        raise RuntimeError("budget reserve did not converge")  # pragma: no cover

    def _sweep_flow(self, now: float | None) -> Flow[int]:
        at = self._now(now)
        released = yield ("tx", partial(self._sql.sweep, at, 1_000_000))
        yield ("auto", partial(self._sql.purge, at, self.keep_s))
        return int(released)

    @staticmethod
    def _one(make: Callable[[], Program[T]]) -> Flow[T]:
        result = yield ("tx", make)
        return result  # type: ignore[no-any-return]

    # -- sync driver -------------------------------------------------------------------------

    def _connection(self) -> Any:
        """The sync connection (caller holds the lock); reopened after close() or fork()."""
        if self._pid != os.getpid():
            self._forked()
        if self._conn is None or self._conn.closed:
            import psycopg

            conn = psycopg.connect(self._dsn, autocommit=True)
            try:
                with conn.transaction():
                    run(_executor(conn), self._schema())
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _drive(self, flow: Flow[T]) -> T:
        import psycopg

        with self._lock:
            conn = self._connection()
            execute = _executor(conn)
            try:
                kind, make = next(flow)
                while True:
                    for attempt in range(_RETRIES):
                        try:
                            if kind == "auto":
                                result = run(execute, make())
                            else:
                                with conn.transaction():
                                    result = run(execute, make())
                            break
                        except Duplicate:
                            result = ReserveResult(ok=True)
                            break
                        except (
                            psycopg.errors.DeadlockDetected,
                            psycopg.errors.SerializationFailure,
                        ):
                            if attempt == _RETRIES - 1:
                                raise
                    kind, make = flow.send(result)
            except StopIteration as stop:
                value: T = stop.value
                return value

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
        return self._drive(self._reserve_flow(reservation_id, ordered, ttl_s, now))

    def settle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Charge the real amounts, release the rest; idempotent (see `BudgetStore`)."""
        return self._drive(self._one(partial(self._sql.settle, reservation_id, actual)))

    def status(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Spent and reserved for each counter key (zeros for unknown keys)."""
        return self._drive(self._one(partial(self._sql.status, keys)))

    def sweep(self, *, now: float | None = None) -> int:
        """Release expired reservations, then forget what is older than ``keep_s``."""
        return self._drive(self._sweep_flow(now))

    def pending(self) -> list[str]:
        """Ids of the reservations held (not settled, not yet released)."""
        return self._drive(self._one(self._sql.pending_ids))

    # -- async driver ------------------------------------------------------------------------

    async def _aconnection(self) -> Any:
        if self._pid != os.getpid():
            with self._lock:
                self._forked()
        if self._aconn is None or self._aconn.closed:
            import psycopg

            conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
            try:
                async with conn.transaction():
                    await _arun(conn, self._schema())
            except BaseException:
                await conn.close()
                raise
            self._aconn = conn
        return self._aconn

    def _async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._aloop is not loop or self._alock is None:
            self._drop_async()  # a connection from another loop cannot be used here
            self._aloop, self._alock = loop, asyncio.Lock()
        return self._alock

    async def _adrive(self, flow: Flow[T]) -> T:
        import psycopg

        async with self._async_lock():
            conn = await self._aconnection()
            try:
                kind, make = next(flow)
                while True:
                    for attempt in range(_RETRIES):
                        try:
                            if kind == "auto":
                                result = await _arun(conn, make())
                            else:
                                async with conn.transaction():
                                    result = await _arun(conn, make())
                            break
                        except Duplicate:
                            result = ReserveResult(ok=True)
                            break
                        except (
                            psycopg.errors.DeadlockDetected,
                            psycopg.errors.SerializationFailure,
                        ):
                            if attempt == _RETRIES - 1:
                                raise
                    kind, make = flow.send(result)
            except StopIteration as stop:
                value: T = stop.value
                return value

    async def areserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult:
        """Async `reserve`."""
        ordered = check_charges(charges)
        if not ordered:
            return ReserveResult(ok=True)
        return await self._adrive(self._reserve_flow(reservation_id, ordered, ttl_s, now))

    async def asettle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Async `settle`."""
        return await self._adrive(self._one(partial(self._sql.settle, reservation_id, actual)))

    async def astatus(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Async `status`."""
        return await self._adrive(self._one(partial(self._sql.status, keys)))

    async def asweep(self, *, now: float | None = None) -> int:
        """Async `sweep`."""
        return await self._adrive(self._sweep_flow(now))

    # -- closing -------------------------------------------------------------------------------

    def _forked(self) -> None:
        _INHERITED.extend(c for c in (self._conn, self._aconn) if c is not None)
        self._conn = self._aconn = self._aloop = self._alock = None
        self._pid = os.getpid()

    def _drop_async(self) -> None:
        conn, self._aconn = self._aconn, None
        if conn is not None and not conn.closed:
            conn.pgconn.finish()  # libpq close: synchronous, needs no event loop

    def close(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._forked()
                return
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
            self._drop_async()

    async def aclose(self) -> None:
        conn = self._aconn
        mine = self._pid == os.getpid() and self._aloop is asyncio.get_running_loop()
        if conn is not None and mine:
            self._aconn = None
            await conn.close()
        self.close()


def _executor(conn: Any) -> Callable[[str, Sequence[Any]], list[Any]]:
    def execute(sql: str, params: Sequence[Any]) -> list[Any]:
        cursor = conn.execute(sql, params or None)
        return list(cursor.fetchall()) if cursor.description is not None else []

    return execute


async def _arun(conn: Any, program: Program[T]) -> T:
    """`run` on an async connection."""
    try:
        sql, params = next(program)
        while True:
            cursor = await conn.execute(sql, params or None)
            rows = list(await cursor.fetchall()) if cursor.description is not None else []
            sql, params = program.send(rows)
    except StopIteration as stop:
        result: T = stop.value
        return result
