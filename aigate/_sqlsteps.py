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
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Dialect", "Execute", "Program", "Step", "arun_steps", "executor", "run", "run_steps"]

T = TypeVar("T")
Step = tuple[str, Sequence[Any]]
Program = Generator[Step, list[Any], T]
Execute = Callable[[str, Sequence[Any]], list[Any]]


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
