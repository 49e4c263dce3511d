"""Connections for the SQL stores: run step programs in transactions, sync or async.

A program (see `aigate._sqlsteps`) yields ``(sql, params)`` and receives rows. A *flow* is a
sequence of transactions: it yields ``("tx" | "auto", make)``, where ``make()`` builds a
fresh program (so a transaction can be retried), and receives each result; an error
inside a transaction is thrown back into the flow. `PostgresRunner` drives flows on a
blocking connection or on an ``AsyncConnection`` with the same code for both, which is
how the PostgreSQL stores avoid duplicating their logic between sync and async methods.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from .._sqlsteps import Program, arun_steps, executor, run, run_steps

__all__ = ["Flow", "PostgresRunner", "SQLiteRunner", "one"]

T = TypeVar("T")
Flow = Generator[tuple[str, Callable[[], Program[Any]]], Any, T]
_RETRIES = 5  # lock order rules deadlocks out; this is a safety net
# Connections inherited through fork() belong to the parent: park them, never close them.
_INHERITED: list[Any] = []


def one(make: Callable[[], Program[T]]) -> Flow[T]:
    """A flow of one transaction."""
    result = yield ("tx", make)
    return result  # type: ignore[no-any-return]


class SQLiteRunner:
    """One SQLite connection (WAL, busy timeout), reopened after ``close`` or ``fork``."""

    def __init__(self, path: str, *, timeout: float, schema: Callable[[], Program[None]]) -> None:
        self.path = path
        self._timeout = timeout
        self._schema = schema
        self.lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is not None and self._pid == os.getpid():
            return conn
        if conn is not None:
            _INHERITED.append(conn)
        self._conn = None
        if self.path != ":memory:" and not self.path.startswith("file:"):
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._transaction(conn, self._schema())
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    @staticmethod
    def _transaction(conn: sqlite3.Connection, program: Program[T]) -> T:
        conn.execute("BEGIN IMMEDIATE")  # the write lock first: no upgrade deadlocks
        try:
            result = run_steps(conn, program)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def open(self) -> None:
        """Open now, so a bad path or schema fails at construction, not mid-call."""
        with self.lock:
            self._connection()

    def run(self, program: Program[T]) -> T:
        """Run ``program`` in one ``BEGIN IMMEDIATE`` transaction."""
        with self.lock:
            return self._transaction(self._connection(), program)

    def close(self) -> None:
        with self.lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                conn.close()
            elif conn is not None:
                _INHERITED.append(conn)


class PostgresRunner:
    """One sync connection (a lock serialises its transactions) and one
    ``AsyncConnection`` per event loop, both autocommit and opened on first use; the
    schema program runs once per connection under an advisory lock."""

    def __init__(self, dsn: str, *, schema: Callable[[], Program[None]], lock_name: str):
        self._dsn = dsn
        self._schema = schema
        self._lock_name = lock_name
        self._lock = threading.Lock()
        self._conn: Any = None
        self._pid = os.getpid()
        self._aconn: Any = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._alock: asyncio.Lock | None = None

    def _setup(self) -> Program[None]:
        yield ("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._lock_name,))
        yield from self._schema()

    # -- sync ----------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._pid != os.getpid():
            self._forked()
        if self._conn is None or self._conn.closed:
            import psycopg

            conn = psycopg.connect(self._dsn, autocommit=True)
            try:
                with conn.transaction():
                    run_steps(conn, self._setup())
            except BaseException:
                conn.close()
                raise
            self._conn = conn
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
            import psycopg

            conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
            try:
                async with conn.transaction():
                    await arun_steps(conn, self._setup())
            except BaseException:
                await conn.close()
                raise
            self._aconn = conn
        return self._aconn

    def _async_lock(self) -> asyncio.Lock:
        if self._pid != os.getpid():
            with self._lock:
                self._forked()
        loop = asyncio.get_running_loop()
        if self._aloop is not loop or self._alock is None:
            self._drop_async()  # a connection made in another loop cannot be used here
            self._aloop, self._alock = loop, asyncio.Lock()
        return self._alock

    async def adrive(self, flow: Flow[T]) -> T:
        """Run ``flow``'s transactions on the async connection (same logic as `drive`)."""
        import psycopg

        retry = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
        async with self._async_lock():
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

    def _forked(self) -> None:
        # A child process must open its own connections; the parent's share its sockets.
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
