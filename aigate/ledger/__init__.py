"""The cost ledger: one row per call, and the usage reports computed from it.

```python
ledger = open_ledger("sqlite:///.aigate/ledger.db")     # or memory://, postgresql://, redis://
ledger.record(LedgerRecord(id="req-1", model="gpt-4o-mini", cost_nano=42_000, ...))
for row in ledger.summary(since=date(2024, 5, 1), group_by=["day", "model"]):
    print(row.group, row.requests, row.cost_usd, row.latency_p95_ms)
```

Every backend implements `Ledger` (``record`` / ``arecord``: commit before returning,
idempotent on the record id, raise on failure) and `LedgerReader` (``get``, ``query``,
``summary``, plus ``totals``, ``top_spenders`` and ``a``-prefixed async variants). SQL
backends compute reports in SQL; the memory and Redis backends in Python, with the same
results. Whether a failed write should fail a call is the gateway's decision; `SafeLedger`
wraps a backend to log and count failures instead of raising.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Literal

from .._exceptions import ConfigurationError
from ._base import BaseLedger, Ledger, LedgerReader, SharedLedger
from ._memory import MemoryLedger
from ._record import LedgerRecord, SummaryRow
from ._spec import DIMENSIONS, FILTERS, to_csv, to_json
from ._sqlite import SQLiteLedger

if TYPE_CHECKING:
    from ._postgres import PostgresLedger
    from ._redis import RedisLedger

__all__ = [
    "DIMENSIONS",
    "FILTERS",
    "BaseLedger",
    "Ledger",
    "LedgerReader",
    "LedgerRecord",
    "MemoryLedger",
    "PostgresLedger",
    "RedisLedger",
    "SQLiteLedger",
    "SafeLedger",
    "SharedLedger",
    "SummaryRow",
    "open_ledger",
    "to_csv",
    "to_json",
]

logger = logging.getLogger("aigate.ledger")

SCHEMES = ("memory://", "sqlite:///", "postgresql://", "postgres://", "redis://", "rediss://")


def __getattr__(name: str) -> Any:
    # psycopg and redis are optional: their backends load on first use.
    if name == "PostgresLedger":
        from ._postgres import PostgresLedger

        return PostgresLedger
    if name == "RedisLedger":
        from ._redis import RedisLedger

        return RedisLedger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_ledger(url: str, **options: Any) -> BaseLedger:
    """A ledger from a URL; ``options`` go to the backend's constructor (e.g. ``table=``).

    - ``memory://``
    - ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (``?table=``)
    - ``postgresql://user@host/db`` (also ``postgres://``): any libpq URL (``?table=``;
      other query parameters go to libpq)
    - ``redis://host:6379/0`` (also ``rediss://``; ``?prefix=``)

    The same ``?table=`` / ``?prefix=`` options the budget and cache URLs take. Raises
    `ConfigurationError` (field ``ledger``) for any other URL or option.
    """
    from .._urls import require_package
    from ..budget import split_options

    if url == "memory://":
        return MemoryLedger(**options)
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        url, taken = split_options(url, ("table",))
        return SQLiteLedger(url[len("sqlite:///") :], **{**taken, **options})
    if url.startswith(("postgresql://", "postgres://")):
        require_package("psycopg", field="ledger", url=url)
        from ._postgres import PostgresLedger

        url, taken = split_options(url, ("table",))
        return PostgresLedger(url, **{**taken, **options})
    if url.startswith(("redis://", "rediss://")):
        require_package("redis", field="ledger", url=url)
        from ._redis import RedisLedger

        url, taken = split_options(url, ("prefix",))
        return RedisLedger(url, **{**taken, **options})
    from .._urls import describe_url

    shown = describe_url(url)
    raise ConfigurationError(
        f"ledger URL {shown} is not supported; use one of {', '.join(SCHEMES)}", field="ledger"
    )


class SafeLedger(BaseLedger):
    """Wraps a ledger so that a failed write is logged and counted instead of raised.

    With ``on_error="log"`` a failing `record` logs under ``aigate.ledger`` (with the
    record id and the traceback) and adds one to ``failures``; ``"raise"`` re-raises but
    still counts. Reads go straight to the wrapped ledger.
    """

    def __init__(self, inner: Ledger, on_error: Literal["raise", "log"] = "log") -> None:
        if on_error not in ("raise", "log"):
            raise ConfigurationError(
                f"ledger on_error={on_error!r}; expected 'raise' or 'log'",
                field="ledger.on_error",
            )
        self.inner = inner
        self.on_error = on_error
        self.failures = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SafeLedger({self.inner!r}, on_error={self.on_error!r})"

    def _failed(self, rec: LedgerRecord, err: Exception) -> None:
        with self._lock:
            self.failures += 1
        if self.on_error == "log":
            logger.error(
                "ledger write failed for record %s: %s", rec.id, type(err).__name__, exc_info=err
            )

    def record(self, rec: LedgerRecord) -> None:
        """Record through the wrapped ledger; on failure, count and log (or raise)."""
        try:
            self.inner.record(rec)
        except Exception as err:
            self._failed(rec, err)
            if self.on_error == "raise":
                raise

    async def arecord(self, rec: LedgerRecord) -> None:
        """Async `record`."""
        try:
            await self.inner.arecord(rec)
        except Exception as err:
            self._failed(rec, err)
            if self.on_error == "raise":
                raise

    def _reader(self) -> BaseLedger:
        if isinstance(self.inner, BaseLedger):
            return self.inner
        raise TypeError(f"{type(self.inner).__name__} records but cannot be read")

    def _fetch(self, id: str) -> LedgerRecord | None:
        return self._reader().get(id)

    async def _afetch(self, id: str) -> LedgerRecord | None:
        return await self._reader().aget(id)

    def _select(self, spec: Any, limit: int | None, newest_first: bool) -> list[LedgerRecord]:
        return self._reader()._select(spec, limit, newest_first)

    async def _aselect(
        self, spec: Any, limit: int | None, newest_first: bool
    ) -> list[LedgerRecord]:
        return await self._reader()._aselect(spec, limit, newest_first)

    def _summarize(self, spec: Any) -> list[SummaryRow]:
        return self._reader()._summarize(spec)

    async def _asummarize(self, spec: Any) -> list[SummaryRow]:
        return await self._reader()._asummarize(spec)

    def _close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()

    async def _aclose(self) -> None:
        aclose = getattr(self.inner, "aclose", None)
        if aclose is not None:
            await aclose()
