"""`SQLiteKeyStore` (a file shared by one host's processes) and `MemoryKeyStore`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .._sqlsteps import Program, SQLiteRunner
from ._sql import SQLKeyStore

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["MemoryKeyStore", "SQLiteKeyStore"]

T = TypeVar("T")


class SQLiteKeyStore(SQLKeyStore):
    """Keys and tenants in a SQLite file shared by the processes of one host.

    ``pepper`` (or ``AIGATE_KEY_PEPPER``) is required. Each operation is one
    ``BEGIN IMMEDIATE`` transaction; the ``a*`` methods call the sync ones.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        pepper: str | bytes | SecretStr | None = None,
        table: str = "aigate_keys",
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        _pepper_required: bool = True,
    ) -> None:
        super().__init__(pepper=pepper, table=table, clock=clock, pepper_required=_pepper_required)
        self.path = os.fspath(path)
        self._db = SQLiteRunner(self.path, timeout=timeout, schema=self._schema)
        self._db.open()

    def _run(self, make: Callable[[], Program[T]]) -> T:
        return self._db.run(make())

    def close(self) -> None:
        self._db.close()


class MemoryKeyStore(SQLiteKeyStore):
    """Keys and tenants in memory (an in-memory SQLite database), for tests and scripts.

    Without a ``pepper`` (or ``AIGATE_KEY_PEPPER``) a random one is used: the keys die
    with the process anyway.
    """

    def __init__(
        self,
        *,
        pepper: str | bytes | SecretStr | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(":memory:", pepper=pepper, clock=clock, _pepper_required=False)

    def __repr__(self) -> str:
        return "MemoryKeyStore()"
