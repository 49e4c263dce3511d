"""SQL logic written once as step programs, and the drivers that run them on a connection.

A *program* is a generator that yields steps, ``(sql, params)``, and is sent back the rows
each statement returned (``[]`` for one that returns none); its return value is the
program's result. The logic of the SQL stores (budget counters, virtual keys, ledger
migrations) is written this way once, as plain code over SQL text, and driven by whatever
executes statements: `run` over any ``execute(sql, params) -> rows``, `run_steps` on a
blocking DB-API connection or cursor (sqlite3, psycopg), `arun_steps` on a psycopg async
connection or cursor. Transactions are the caller's: a driver only executes the steps.

A store describes its SQL dialect with a subclass of `Dialect`, adding what only it needs
(row locks, JSON access, time buckets...); the name and the placeholder are common to all.

The connections the stores share the handling of: `SQLiteRunner` (one SQLite connection,
its schema program run when it opens) and `PostgresConnections` (a sync and an async
psycopg connection, opened on first use, parked after a fork, closed without awaiting
when their event loop is gone).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio
    import sqlite3

__all__ = [
    "Dialect",
    "Execute",
    "PostgresConnections",
    "Program",
    "SQLiteRunner",
    "Step",
    "arun_steps",
    "executor",
    "run",
    "run_steps",
]

T = TypeVar("T")
Step = tuple[str, Sequence[Any]]
Program = Generator[Step, list[Any], T]
Execute = Callable[[str, Sequence[Any]], list[Any]]
# Connections inherited through fork() belong to the parent: closing them in the child (or
# letting them be garbage-collected) could checkpoint or unlock the parent's SQLite file,
# or end the parent's PostgreSQL session on their shared socket. Park them, never close.
_INHERITED: list[Any] = []


@dataclass(frozen=True, slots=True)
class Dialect:
    """What every store's description of a SQL dialect has."""

    name: str
    ph: str  # parameter placeholder

    def marks(self, n: int) -> str:
        """``n`` placeholders, comma-separated."""
        return ", ".join([self.ph] * n)


def run(execute: Execute, program: Program[T]) -> T:
    """Drive ``program``, executing each step with ``execute(sql, params) -> rows``."""
    try:
        step = next(program)
        while True:
            step = program.send(execute(*step))
    except StopIteration as stop:
        result: T = stop.value
        return result


def executor(cursor: Any) -> Execute:
    """``execute(sql, params) -> rows`` on a blocking DB-API connection or cursor whose
    ``execute`` returns a cursor (sqlite3 and psycopg both do). Empty parameters are not
    passed, so a statement without any is sent as it is (psycopg reads no ``%`` in it)."""

    def execute(sql: str, params: Sequence[Any]) -> list[Any]:
        done = cursor.execute(sql, params) if params else cursor.execute(sql)
        return list(done.fetchall()) if done.description is not None else []

    return execute


def run_steps(cursor: Any, program: Program[T]) -> T:
    """`run` on a blocking DB-API connection or cursor (see `executor`)."""
    return run(executor(cursor), program)


async def arun_steps(cursor: Any, program: Program[T]) -> T:
    """`run_steps` on a psycopg ``AsyncConnection`` or ``AsyncCursor``."""
    try:
        sql, params = next(program)
        while True:
            done = await cursor.execute(sql, params or None)
            rows = list(await done.fetchall()) if done.description is not None else []
            sql, params = program.send(rows)
    except StopIteration as stop:
        result: T = stop.value
        return result


class SQLiteRunner:
    """One SQLite connection (WAL, busy timeout, ``synchronous``), reopened after ``close``
    or ``fork``; ``schema()`` runs in one ``BEGIN IMMEDIATE`` transaction when it opens.

    `run` runs a program in its own ``BEGIN IMMEDIATE`` transaction; outside one, the
    connection autocommits each statement (`connection`, with ``lock`` held).
    """

    def __init__(
        self,
        path: str,
        *,
        timeout: float,
        schema: Callable[[], Program[None]],
        synchronous: str = "NORMAL",
    ) -> None:
        self.path = path
        self._timeout = timeout
        self._schema = schema
        self._synchronous = synchronous
        self.lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def connection(self) -> sqlite3.Connection:
        """The open connection (the caller holds ``lock``), opened again if need be."""
        conn = self._conn
        if conn is not None and self._pid == os.getpid():
            return conn
        if conn is not None:
            _INHERITED.append(conn)
        self._conn = None
        if self.path != ":memory:" and not self.path.startswith("file:"):
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        import sqlite3

        # isolation_level=None: autocommit; transactions are BEGIN IMMEDIATE / COMMIT.
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
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
            self.connection()

    def run(self, program: Program[T]) -> T:
        """Run ``program`` in one ``BEGIN IMMEDIATE`` transaction."""
        with self.lock:
            return self._transaction(self.connection(), program)

    def close(self) -> None:
        with self.lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                conn.close()
            elif conn is not None:
                _INHERITED.append(conn)


class PostgresConnections:
    """Mixin: the connections of a PostgreSQL store (psycopg 3), both autocommit. ``_conn``
    is the sync one (``_lock`` guards it), ``_aconn`` the async one of event loop
    ``_aloop`` (``_alock`` is that loop's lock); `_connect` and `_aconnect` open them,
    running a setup program in one transaction. ``_close`` and ``_aclose`` release them."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._lock = threading.Lock()
        self._conn: Any = None
        self._pid = os.getpid()
        self._aconn: Any = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._alock: asyncio.Lock | None = None

    def _connect(self, setup: Program[None]) -> Any:
        import psycopg

        conn = psycopg.connect(self._dsn, autocommit=True)
        try:
            with conn.transaction():
                run_steps(conn, setup)
        except BaseException:
            conn.close()
            raise
        return conn

    async def _aconnect(self, setup: Program[None]) -> Any:
        import psycopg

        conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
        try:
            async with conn.transaction():
                await arun_steps(conn, setup)
        except BaseException:
            await conn.close()
            raise
        return conn

    def _loop_lock(self) -> asyncio.Lock:
        """The running event loop's lock; first, after a fork, the parent's connections are
        parked, and in another loop than the last, its async connection is dropped."""
        import asyncio

        if self._pid != os.getpid():
            with self._lock:
                self._forked()
        loop = asyncio.get_running_loop()
        if self._aloop is not loop or self._alock is None:
            self._drop_async()  # a connection made in another loop cannot be used here
            self._aloop, self._alock = loop, asyncio.Lock()
        return self._alock

    def _forked(self) -> None:
        # A child process must open its own connections; the parent's share its sockets.
        _INHERITED.extend(c for c in (self._conn, self._aconn) if c is not None)
        self._conn = self._aconn = self._aloop = self._alock = None
        self._pid = os.getpid()

    def _drop_async(self) -> None:
        """Close the async connection without awaiting (its event loop may be gone)."""
        conn, self._aconn = self._aconn, None
        if conn is not None and not conn.closed:
            conn.pgconn.finish()  # libpq close: synchronous, needs no event loop

    def _close(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._forked()
                return
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
            self._drop_async()

    async def _aclose(self) -> None:
        import asyncio

        conn = self._aconn
        mine = self._pid == os.getpid() and self._aloop is asyncio.get_running_loop()
        if conn is not None and mine:
            self._aconn = None
            await conn.close()
        self._close()
