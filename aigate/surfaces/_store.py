"""Conversation stores: what ``previous_response_id`` continues from, kept by aigate.

A stored response is the chat-format conversation up to and including its answer (every
message, with tool call ids, reasoning and signed thinking blocks as aigate's chat models
carry them) plus the response object itself (for ``retrieve``). Because the conversation
is kept in aigate's neutral chat form, the next turn can be served by any provider: a
turn that fails over from OpenAI to Anthropic continues the same conversation.

Every entry is keyed by its tenant (see :func:`aigate.surfaces._common.tenant_of`) and its
id: a lookup with another tenant finds nothing, so no tenant can read another's
conversation. Entries expire after ``ttl_s`` (default 30 days, OpenAI's retention).

Backends, selected by URL like the other stores: ``memory://``, ``sqlite:///path``,
``redis://...`` and ``postgresql://...``. Each has sync methods and ``a``-prefixed async
twins; the async twins of the network stores never block the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import threading
import time
from typing import Any, Protocol, runtime_checkable

from .._exceptions import ConfigurationError
from .._urls import require_package

__all__ = [
    "DEFAULT_TTL_S",
    "ConversationStore",
    "MemoryConversations",
    "PostgresConversations",
    "RedisConversations",
    "SQLiteConversations",
    "open_conversations",
]

DEFAULT_TTL_S = 30 * 24 * 3600.0
Entry = dict[str, Any]


@runtime_checkable
class ConversationStore(Protocol):
    """Where stored responses live: ``get`` / ``put`` / ``delete`` by tenant and id."""

    def get(self, tenant: str, id: str) -> Entry | None: ...
    def put(self, tenant: str, id: str, entry: Entry) -> None: ...
    def delete(self, tenant: str, id: str) -> bool: ...
    async def aget(self, tenant: str, id: str) -> Entry | None: ...
    async def aput(self, tenant: str, id: str, entry: Entry) -> None: ...
    async def adelete(self, tenant: str, id: str) -> bool: ...
    def close(self) -> None: ...
    async def aclose(self) -> None: ...


def _dump(entry: Entry) -> str:
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False)


def _tenant_key(tenant: str) -> str:
    # Fixed width, no separator to confuse; tenants are compared whole, never by prefix.
    return hashlib.sha256(tenant.encode()).hexdigest()


class _LocalAsync:
    """Async twins for an in-process store: its calls do not wait on a network."""

    def get(self, tenant: str, id: str) -> Entry | None:
        raise NotImplementedError

    def put(self, tenant: str, id: str, entry: Entry) -> None:
        raise NotImplementedError

    def delete(self, tenant: str, id: str) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass

    async def aget(self, tenant: str, id: str) -> Entry | None:
        return self.get(tenant, id)

    async def aput(self, tenant: str, id: str, entry: Entry) -> None:
        self.put(tenant, id, entry)

    async def adelete(self, tenant: str, id: str) -> bool:
        return self.delete(tenant, id)

    async def aclose(self) -> None:
        self.close()


class MemoryConversations(_LocalAsync):
    """A process-local store (the default): lost when the process ends."""

    def __init__(self, *, ttl_s: float = DEFAULT_TTL_S, max_entries: int = 100_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._data: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryConversations(entries={len(self._data)})"

    def get(self, tenant: str, id: str) -> Entry | None:
        with self._lock:
            found = self._data.get((_tenant_key(tenant), id))
        if found is None or found[0] < time.time():
            return None
        value: Entry = json.loads(found[1])
        return value

    def put(self, tenant: str, id: str, entry: Entry) -> None:
        blob = _dump(entry)  # a copy: later changes to the caller's lists do not leak in
        with self._lock:
            if len(self._data) >= self._max:
                del self._data[next(iter(self._data))]  # oldest first
            self._data[(_tenant_key(tenant), id)] = (time.time() + self._ttl, blob)

    def delete(self, tenant: str, id: str) -> bool:
        with self._lock:
            return self._data.pop((_tenant_key(tenant), id), None) is not None


_SQL_TABLE = "aigate_conversations"


class SQLiteConversations(_LocalAsync):
    """A store in one SQLite file: shared by the processes of one host."""

    def __init__(self, path: str, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.path = path
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {_SQL_TABLE} (tenant TEXT NOT NULL, id TEXT NOT NULL,"
            " body TEXT NOT NULL, expires REAL NOT NULL, PRIMARY KEY (tenant, id))"
        )

    def __repr__(self) -> str:
        return f"SQLiteConversations(path={self.path!r})"

    def get(self, tenant: str, id: str) -> Entry | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT body FROM {_SQL_TABLE} WHERE tenant = ? AND id = ? AND expires > ?",
                (_tenant_key(tenant), id, time.time()),
            ).fetchone()
        if row is None:
            return None
        value: Entry = json.loads(row[0])
        return value

    def put(self, tenant: str, id: str, entry: Entry) -> None:
        now = time.time()
        with self._lock:
            self._conn.execute(
                f"INSERT OR REPLACE INTO {_SQL_TABLE} (tenant, id, body, expires)"
                " VALUES (?, ?, ?, ?)",
                (_tenant_key(tenant), id, _dump(entry), now + self._ttl),
            )
            self._conn.execute(f"DELETE FROM {_SQL_TABLE} WHERE expires <= ?", (now,))

    def delete(self, tenant: str, id: str) -> bool:
        with self._lock:
            cursor = self._conn.execute(
                f"DELETE FROM {_SQL_TABLE} WHERE tenant = ? AND id = ?", (_tenant_key(tenant), id)
            )
        return cursor.rowcount > 0

    def close(self) -> None:
        self._conn.close()


class RedisConversations:
    """A store in Redis (``SET`` with an expiry): shared by every host."""

    def __init__(
        self, url: str, *, prefix: str = "aigate:conv", ttl_s: float = DEFAULT_TTL_S
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._ttl = max(1, int(ttl_s))
        self._client: Any = None

    def __repr__(self) -> str:
        return f"RedisConversations(prefix={self._prefix!r})"

    def _key(self, tenant: str, id: str) -> str:
        return f"{self._prefix}:{_tenant_key(tenant)}:{id}"

    def _sync(self) -> Any:
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self._url)
        return self._client

    def _async(self) -> Any:
        # One client per operation, closed in it: a client outlives neither its event loop
        # nor the call (a cached one would leak its sockets when the loop ends).
        import redis.asyncio

        return redis.asyncio.Redis.from_url(self._url)

    def get(self, tenant: str, id: str) -> Entry | None:
        blob = self._sync().get(self._key(tenant, id))
        return None if blob is None else json.loads(blob)

    def put(self, tenant: str, id: str, entry: Entry) -> None:
        self._sync().set(self._key(tenant, id), _dump(entry), ex=self._ttl)

    def delete(self, tenant: str, id: str) -> bool:
        return bool(self._sync().delete(self._key(tenant, id)))

    async def aget(self, tenant: str, id: str) -> Entry | None:
        async with self._async() as client:
            blob = await client.get(self._key(tenant, id))
        return None if blob is None else json.loads(blob)

    async def aput(self, tenant: str, id: str, entry: Entry) -> None:
        async with self._async() as client:
            await client.set(self._key(tenant, id), _dump(entry), ex=self._ttl)

    async def adelete(self, tenant: str, id: str) -> bool:
        async with self._async() as client:
            return bool(await client.delete(self._key(tenant, id)))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        self.close()


_PG_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {_SQL_TABLE} (tenant TEXT NOT NULL, id TEXT NOT NULL,"
    " body TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL, PRIMARY KEY (tenant, id))"
)
_PG_GET = f"SELECT body FROM {_SQL_TABLE} WHERE tenant = %s AND id = %s AND expires > %s"
_PG_PUT = (
    f"INSERT INTO {_SQL_TABLE} (tenant, id, body, expires) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (tenant, id) DO UPDATE SET body = EXCLUDED.body, expires = EXCLUDED.expires"
)
_PG_DELETE = f"DELETE FROM {_SQL_TABLE} WHERE tenant = %s AND id = %s"


class PostgresConversations:
    """A store in one PostgreSQL table: shared by every host (psycopg 3)."""

    def __init__(self, dsn: str, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        self._dsn = dsn
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._conn: Any = None
        self._aconn: Any = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return "PostgresConversations()"  # the DSN may hold a password

    def _connection(self) -> Any:
        with self._lock:
            if self._conn is None or self._conn.closed or self._pid != os.getpid():
                import psycopg

                self._pid = os.getpid()
                self._conn = psycopg.connect(self._dsn, autocommit=True)
                self._conn.execute(_PG_CREATE)
            return self._conn

    async def _aconnection(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._aconn is None or self._aconn.closed or self._aloop is not loop:
            import psycopg

            self._drop_async()
            self._aconn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
            self._aloop = loop
            await self._aconn.execute(_PG_CREATE)
        return self._aconn

    def _drop_async(self) -> None:
        conn, self._aconn = self._aconn, None
        if conn is not None and not conn.closed:
            conn.pgconn.finish()  # libpq close: synchronous, needs no event loop

    def get(self, tenant: str, id: str) -> Entry | None:
        row = self._connection().execute(_PG_GET, (_tenant_key(tenant), id, time.time())).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, tenant: str, id: str, entry: Entry) -> None:
        args = (_tenant_key(tenant), id, _dump(entry), time.time() + self._ttl)
        self._connection().execute(_PG_PUT, args)

    def delete(self, tenant: str, id: str) -> bool:
        cursor = self._connection().execute(_PG_DELETE, (_tenant_key(tenant), id))
        return bool(cursor.rowcount)

    async def aget(self, tenant: str, id: str) -> Entry | None:
        conn = await self._aconnection()
        cursor = await conn.execute(_PG_GET, (_tenant_key(tenant), id, time.time()))
        row = await cursor.fetchone()
        return None if row is None else json.loads(row[0])

    async def aput(self, tenant: str, id: str, entry: Entry) -> None:
        conn = await self._aconnection()
        await conn.execute(
            _PG_PUT, (_tenant_key(tenant), id, _dump(entry), time.time() + self._ttl)
        )

    async def adelete(self, tenant: str, id: str) -> bool:
        conn = await self._aconnection()
        cursor = await conn.execute(_PG_DELETE, (_tenant_key(tenant), id))
        return bool(cursor.rowcount)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._drop_async()

    async def aclose(self) -> None:
        if self._aconn is not None and self._aloop is asyncio.get_running_loop():
            await self._aconn.close()
            self._aconn = None
        self.close()


def open_conversations(
    url: str | ConversationStore | None, *, ttl_s: float = DEFAULT_TTL_S
) -> ConversationStore:
    """A store from a URL (``memory://``, ``sqlite:///path``, ``redis://``, ``postgresql://``)
    or an instance (returned as is); ``None`` is ``memory://``."""
    if url is None:
        return MemoryConversations(ttl_s=ttl_s)
    if not isinstance(url, str):
        if isinstance(url, ConversationStore):
            return url
        raise ConfigurationError(
            "conversations: expected a URL or a ConversationStore", field="conversations"
        )
    if url == "memory://":
        return MemoryConversations(ttl_s=ttl_s)
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return SQLiteConversations(url[len("sqlite:///") :], ttl_s=ttl_s)
    if url.startswith(("redis://", "rediss://", "unix://")):
        require_package("redis", field="conversations", url=url)
        return RedisConversations(url, ttl_s=ttl_s)
    if url.startswith(("postgresql://", "postgres://")):
        require_package("psycopg", field="conversations", url=url)
        return PostgresConversations(url, ttl_s=ttl_s)
    raise ConfigurationError(
        "conversations: expected memory://, sqlite:///path, redis://... or postgresql://...",
        field="conversations",
    )
