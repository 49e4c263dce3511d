"""A Redis cache: shared by every process on every host that reaches the server."""

from __future__ import annotations

import math
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._base import check_key, check_value, resolve_ttl

__all__ = ["RedisCache"]

_SCAN_COUNT = 1000
_GLOB_SPECIAL = frozenset("*?[]\\")


class RedisCache:
    """Entries are Redis strings under ``prefix``; a TTL is ``SET ... PX``.

    The sync methods use a ``redis.Redis`` client and the ``a``-methods a ``redis.asyncio``
    one, each created on first use. ``timeout`` bounds connecting and each command, and a
    failed command is retried once at once (a stale pooled connection after a server
    restart), never with the client's default backoff: a slow cache is worse than a miss.
    Errors propagate; wrap the cache in ``SafeCache`` to read an outage as misses.
    The async client belongs to one event loop: call ``aclose()`` on it before it ends.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "aigate:cache:",
        default_ttl: float | None = None,
        timeout: float = 2.0,
        client: Any = None,
        aclient: Any = None,
    ) -> None:
        resolve_ttl(default_ttl, None)
        self.prefix = prefix
        self.default_ttl = default_ttl
        self._url = url
        self._timeout = timeout
        self._client = client
        self._aclient = aclient
        self._aloop: object = None
        self._owns_client = client is None
        self._owns_aclient = aclient is None
        self._client_lock = threading.Lock()  # threads racing to the first call make one client

    # -- sync -----------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        value = self._sync().get(self.prefix + check_key(key))
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        name, value, px = self._prepare_set(key, value, ttl)
        if px is None:
            self._sync().set(name, value)
        elif px > 0:
            self._sync().set(name, value, px=px)
        else:
            self._sync().delete(name)

    def delete(self, key: str) -> None:
        self._sync().delete(self.prefix + check_key(key))

    def clear(self, namespace_prefix: str | None = None) -> None:
        """Remove keys under ``prefix + namespace_prefix`` (SCAN + UNLINK); other keys in the
        database are never touched."""
        client = self._sync()
        batch: list[bytes] = []
        for name in client.scan_iter(match=self._pattern(namespace_prefix), count=_SCAN_COUNT):
            batch.append(name)
            if len(batch) >= _SCAN_COUNT:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
            self._client = None

    # -- async ----------------------------------------------------------------------------

    async def aget(self, key: str) -> bytes | None:
        value = await self._async().get(self.prefix + check_key(key))
        return None if value is None else bytes(value)

    async def aset(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        name, value, px = self._prepare_set(key, value, ttl)
        if px is None:
            await self._async().set(name, value)
        elif px > 0:
            await self._async().set(name, value, px=px)
        else:
            await self._async().delete(name)

    async def adelete(self, key: str) -> None:
        await self._async().delete(self.prefix + check_key(key))

    async def aclear(self, namespace_prefix: str | None = None) -> None:
        client = self._async()
        batch: list[bytes] = []
        async for name in client.scan_iter(
            match=self._pattern(namespace_prefix), count=_SCAN_COUNT
        ):
            batch.append(name)
            if len(batch) >= _SCAN_COUNT:
                await client.unlink(*batch)
                batch.clear()
        if batch:
            await client.unlink(*batch)

    async def aclose(self) -> None:
        if self._aclient is not None and self._owns_aclient:
            await self._aclient.aclose()
            self._aclient = None
        self.close()

    # -- shared ---------------------------------------------------------------------------

    def _prepare_set(
        self, key: str, value: bytes, ttl: float | None
    ) -> tuple[str, bytes, int | None]:
        """(Redis key, value, PX milliseconds); PX 0 means "store nothing, drop the old"."""
        name = self.prefix + check_key(key)
        value = check_value(value)
        ttl = resolve_ttl(ttl, self.default_ttl)
        if ttl is None:
            return name, value, None
        return name, value, max(1, math.ceil(ttl * 1000)) if ttl > 0 else 0

    def _pattern(self, namespace_prefix: str | None) -> str:
        literal = self.prefix + (namespace_prefix or "")
        return "".join("\\" + c if c in _GLOB_SPECIAL else c for c in literal) + "*"

    def _options(self, retry_type: Any) -> dict[str, Any]:
        from redis.backoff import NoBackoff

        return {
            "socket_timeout": self._timeout,
            "socket_connect_timeout": self._timeout,
            "retry": retry_type(NoBackoff(), 1),
        }

    def _sync(self) -> Any:
        if self._client is None:
            import redis
            from redis.retry import Retry

            with self._client_lock:
                if self._client is None:
                    self._client = redis.Redis.from_url(self._url, **self._options(Retry))
        return self._client

    def _async(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._aclient is None or (self._owns_aclient and self._aloop is not loop):
            # A redis.asyncio client is bound to the loop that made it; a new loop (a second
            # asyncio.run) gets a new client rather than a pool of dead connections.
            import redis.asyncio
            from redis.asyncio.retry import Retry

            self._aclient = redis.asyncio.Redis.from_url(self._url, **self._options(Retry))
            self._aloop = loop
        return self._aclient

    def __repr__(self) -> str:
        return f"RedisCache({redact_url(self._url)!r}, prefix={self.prefix!r})"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{user}:***@{host}" + (f":{port}" if port is not None else "")
    return urlunsplit(parts._replace(netloc=netloc))
