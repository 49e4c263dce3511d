"""The protocols aigate is built on, in one place: implement one to plug in your own backend.

Each protocol lives beside the code that calls it (so the import layers stay one-way); this
module is where they are documented and imported from, as structlog's ``typing`` module is::

    from aigate.typing import BudgetStore, Ledger

    class MyLedger:
        def record(self, rec): ...
        async def arecord(self, rec): ...

    ledger: Ledger = MyLedger()  # mypy checks the shape

Stores (shared by every process when their backend is):

- :class:`Ledger` (``record``/``arecord``) and :class:`LedgerReader` (queries and
  summaries): where calls are recorded and read back. :class:`SharedLedger` is a ledger
  whose row can commit inside the budget store's transaction (same database).
- :class:`BudgetStore`: reservations and spend counters (``reserve``/``settle``).
- :class:`RateLimiter`: rpm/tpm admission (``acquire``/``adjust``/``release`` and their
  async twins).
- :class:`HealthStore`: circuit breakers; a :class:`RemoteHealthStore` does I/O and has the
  async twins the :class:`~aigate.AsyncGateway` awaits.
- :class:`Cache`: bytes by key with a TTL.
- :class:`KeyStore`: virtual keys and tenants.
- :class:`ConversationStore`: stored Responses API conversations.

The wire:

- :class:`Codec` and :class:`StreamDecoder`: one provider's wire format, both ways.
- :class:`SyncDriver` and :class:`AsyncDriver`: an HTTP engine (httpx, httpx2, aiohttp).
- :class:`TimeoutLike`: anything with httpx's four timeout phases.
"""

from __future__ import annotations

from ._wire import TimeoutLike
from .budget import BudgetStore, RateLimiter
from .cache import Cache
from .drivers import AsyncDriver, SyncDriver
from .ledger import Ledger, LedgerReader, SharedLedger
from .providers._base import Codec, StreamDecoder
from .routing._health import HealthStore, RemoteHealthStore
from .surfaces._store import ConversationStore
from .tenancy import KeyStore

__all__ = [
    "AsyncDriver",
    "BudgetStore",
    "Cache",
    "Codec",
    "ConversationStore",
    "HealthStore",
    "KeyStore",
    "Ledger",
    "LedgerReader",
    "RateLimiter",
    "RemoteHealthStore",
    "SharedLedger",
    "StreamDecoder",
    "SyncDriver",
    "TimeoutLike",
]
