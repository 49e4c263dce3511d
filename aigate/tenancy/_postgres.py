"""`PostgresKeyStore`: keys and tenants shared by every host."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .._sqlsteps import Program
from ..budget._conn import PostgresRunner
from ._sql import SQLKeyStore

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["PostgresKeyStore"]

T = TypeVar("T")


class PostgresKeyStore(SQLKeyStore):
    """Keys and tenants in PostgreSQL, shared by every host; sync methods on one
    connection, ``a*`` methods on an ``AsyncConnection`` (psycopg 3). ``pepper`` (or
    ``AIGATE_KEY_PEPPER``) is required. The DSN never appears in ``repr``."""

    _ph = "%s"

    def __init__(
        self,
        dsn: str,
        *,
        pepper: str | bytes | SecretStr | None = None,
        table: str = "aigate_keys",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(pepper=pepper, table=table, clock=clock)
        self._db = PostgresRunner(dsn, schema=self._schema, lock_name=table)

    def _run(self, make: Callable[[], Program[T]]) -> T:
        return self._db.run(make)

    async def _arun(self, make: Callable[[], Program[T]]) -> T:
        return await self._db.arun(make)

    def close(self) -> None:
        self._db.close()

    async def aclose(self) -> None:
        await self._db.aclose()
