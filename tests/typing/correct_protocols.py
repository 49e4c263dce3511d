"""Every shipped backend satisfies its protocol in aigate.typing (mypy checks the shapes;
this program is type-checked, never run)."""

from __future__ import annotations

from aigate.budget import (
    MemoryBudgetStore,
    MemoryRateLimiter,
    PostgresBudgetStore,
    RedisBudgetStore,
    RedisRateLimiter,
    SQLiteBudgetStore,
)
from aigate.cache import DiskCache, MemoryCache, RedisCache
from aigate.ledger import MemoryLedger, PostgresLedger, RedisLedger, SQLiteLedger
from aigate.routing import MemoryHealthStore, RedisHealthStore
from aigate.surfaces import (
    MemoryConversations,
    PostgresConversations,
    RedisConversations,
    SQLiteConversations,
)
from aigate.tenancy import MemoryKeyStore, PostgresKeyStore, SQLiteKeyStore
from aigate.typing import (
    BudgetStore,
    Cache,
    ConversationStore,
    HealthStore,
    KeyStore,
    Ledger,
    LedgerReader,
    RateLimiter,
    RemoteHealthStore,
    SharedLedger,
)


def shipped() -> None:
    ledgers: list[Ledger] = [MemoryLedger(), SQLiteLedger("a.db"), RedisLedger("redis://")]
    readers: list[LedgerReader] = [MemoryLedger(), PostgresLedger("postgresql://")]
    shared: list[SharedLedger] = [SQLiteLedger("a.db"), PostgresLedger("postgresql://")]
    stores: list[BudgetStore] = [
        MemoryBudgetStore(),
        SQLiteBudgetStore("b.db"),
        RedisBudgetStore("redis://"),
        PostgresBudgetStore("postgresql://"),
    ]
    limiters: list[RateLimiter] = [MemoryRateLimiter(), RedisRateLimiter("redis://")]
    health: list[HealthStore] = [MemoryHealthStore(), RedisHealthStore("redis://")]
    remote: list[RemoteHealthStore] = [RedisHealthStore("redis://")]
    caches: list[Cache] = [MemoryCache(), DiskCache("cache"), RedisCache("redis://")]
    keys: list[KeyStore] = [
        MemoryKeyStore(pepper="p"),
        SQLiteKeyStore("k.db", pepper="p"),
        PostgresKeyStore("postgresql://", pepper="p"),
    ]
    conversations: list[ConversationStore] = [
        MemoryConversations(),
        SQLiteConversations("c.db"),
        RedisConversations("redis://"),
        PostgresConversations("postgresql://"),
    ]
    print(ledgers, readers, shared, stores, limiters, health, remote, caches, keys, conversations)
