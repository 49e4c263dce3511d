"""`PostgresRunner`: step programs and flows of transactions on PostgreSQL, sync or async.

A program (see `aigate._sqlsteps`, which also has the SQLite runner) yields
``(sql, params)`` and receives rows. A *flow* is a sequence of transactions: it yields
``("tx" | "auto", make)``, where ``make()`` builds a fresh program (so a transaction can
be retried), and receives each result; an error inside a transaction is thrown back into
the flow. `PostgresRunner` drives flows on a
blocking connection or on an ``AsyncConnection`` with the same code for both, which is
how the PostgreSQL stores avoid duplicating their logic between sync and async methods.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from .._sqlsteps import PostgresConnections, Program, arun_steps, executor, run

__all__ = ["Flow", "PostgresRunner", "one"]

T = TypeVar("T")
Flow = Generator[tuple[str, Callable[[], Program[Any]]], Any, T]
_RETRIES = 5  # lock order rules deadlocks out; this is a safety net


def one(make: Callable[[], Program[T]]) -> Flow[T]:
    """A flow of one transaction."""
    result = yield ("tx", make)
    return result  # type: ignore[no-any-return]


class PostgresRunner(PostgresConnections):
    """One sync connection (a lock serialises its transactions) and one
    ``AsyncConnection`` per event loop, both autocommit and opened on first use; the
    schema program runs once per connection under an advisory lock."""

    def __init__(self, dsn: str, *, schema: Callable[[], Program[None]], lock_name: str):
        super().__init__(dsn)
        self._schema = schema
        self._lock_name = lock_name

    def _setup(self) -> Program[None]:
        yield ("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._lock_name,))
        yield from self._schema()

    # -- sync ----------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._pid != os.getpid():
            self._forked()
        if self._conn is None or self._conn.closed:
            self._conn = self._connect(self._setup())
        return self._conn

    def drive(self, flow: Flow[T]) -> T:
        """Run ``flow``'s transactions on the sync connection."""
        import psycopg

        retry = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
        with self._lock:
            conn = self._connection()
            execute = executor(conn)
            try:
                kind, make = next(flow)
                while True:
                    try:
                        for attempt in range(_RETRIES):
                            try:
                                if kind == "auto":
                                    result = run(execute, make())
                                else:
                                    with conn.transaction():
                                        result = run(execute, make())
                                break
                            except retry:
                                if attempt == _RETRIES - 1:
                                    raise
                    except Exception as err:
                        kind, make = flow.throw(err)
                        continue
                    kind, make = flow.send(result)
            except StopIteration as stop:
                value: T = stop.value
                return value

    def run(self, make: Callable[[], Program[T]]) -> T:
        """Run one program in one transaction."""
        return self.drive(one(make))

    # -- async ---------------------------------------------------------------------------

    async def _aconnection(self) -> Any:
        if self._aconn is None or self._aconn.closed:
            self._aconn = await self._aconnect(self._setup())
        return self._aconn

    async def adrive(self, flow: Flow[T]) -> T:
        """Run ``flow``'s transactions on the async connection (same logic as `drive`)."""
        import psycopg

        retry = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
        async with self._loop_lock():
            conn = await self._aconnection()
            try:
                kind, make = next(flow)
                while True:
                    try:
                        for attempt in range(_RETRIES):
                            try:
                                if kind == "auto":
                                    result = await arun_steps(conn, make())
                                else:
                                    async with conn.transaction():
                                        result = await arun_steps(conn, make())
                                break
                            except retry:
                                if attempt == _RETRIES - 1:
                                    raise
                    except Exception as err:
                        kind, make = flow.throw(err)
                        continue
                    kind, make = flow.send(result)
            except StopIteration as stop:
                value: T = stop.value
                return value

    async def arun(self, make: Callable[[], Program[T]]) -> T:
        """Async `run`."""
        return await self.adrive(one(make))

    # -- closing -------------------------------------------------------------------------

    def close(self) -> None:
        self._close()

    async def aclose(self) -> None:
        await self._aclose()
