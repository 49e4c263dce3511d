"""``SafeCache``: a cache outage reads as misses and skipped writes, never as a failed call."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ._base import Cache, check_key, check_value

__all__ = ["SafeCache"]

logger = logging.getLogger("aigate.cache")


class SafeCache:
    """Wraps a backend so its errors become misses (``get``) and no-ops (everything else).

    After an error the backend is left alone for ``cooldown`` seconds (every call is a miss
    at once) so a dead server costs one timeout per ``cooldown``, not one per call. Errors
    are logged as warnings under ``aigate.cache`` at most once per ``log_interval`` seconds,
    with the count suppressed since; ``errors`` counts them all. Bad arguments (a non-bytes
    value, a non-str key) still raise: they are the caller's bug, not an outage.
    """

    def __init__(
        self,
        inner: Cache,
        *,
        cooldown: float = 1.0,
        log_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.cooldown = cooldown
        self.log_interval = log_interval
        self.errors = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._down_until = float("-inf")
        self._next_log = float("-inf")
        self._suppressed = 0

    def get(self, key: str) -> bytes | None:
        check_key(key)
        if self._resting():
            return None
        try:
            return self.inner.get(key)
        except Exception as exc:
            self._failed("get", exc)
            return None

    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        check_key(key)
        value = check_value(value)
        if self._resting():
            return
        try:
            self.inner.set(key, value, ttl=ttl)
        except Exception as exc:
            self._failed("set", exc)

    async def aget(self, key: str) -> bytes | None:
        check_key(key)
        if self._resting():
            return None
        try:
            return await self.inner.aget(key)
        except Exception as exc:
            self._failed("get", exc)
            return None

    async def aset(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        check_key(key)
        value = check_value(value)
        if self._resting():
            return
        try:
            await self.inner.aset(key, value, ttl=ttl)
        except Exception as exc:
            self._failed("set", exc)

    def delete(self, key: str) -> None:
        check_key(key)
        self._call("delete", key)

    def clear(self, namespace_prefix: str | None = None) -> None:
        self._call("clear", namespace_prefix)

    def close(self) -> None:
        self._call("close")

    async def adelete(self, key: str) -> None:
        check_key(key)
        await self._acall("adelete", key)

    async def aclear(self, namespace_prefix: str | None = None) -> None:
        await self._acall("aclear", namespace_prefix)

    async def aclose(self) -> None:
        await self._acall("aclose")

    # Maintenance calls (delete, clear, close) skip the cooldown: an invalidation should
    # reach the backend whenever it can. A backend without the method makes them no-ops.

    def _call(self, name: str, *args: Any) -> None:
        method = getattr(self.inner, name, None)
        if method is not None:
            try:
                method(*args)
            except Exception as exc:
                self._failed(name, exc)

    async def _acall(self, name: str, *args: Any) -> None:
        method = getattr(self.inner, name, None)
        if method is not None:
            try:
                await method(*args)
            except Exception as exc:
                self._failed(name, exc)

    def _resting(self) -> bool:
        return self._clock() < self._down_until

    def _failed(self, op: str, exc: Exception) -> None:
        with self._lock:
            now = self._clock()
            self.errors += 1
            self._down_until = now + self.cooldown
            if now < self._next_log:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._next_log = now + self.log_interval
        # The key is not logged: it is a fingerprint of a tenant's request.
        logger.warning(
            "cache %s failed on %r, treated as a miss (%s: %s); %d more errors suppressed",
            op,
            self.inner,
            type(exc).__name__,
            exc,
            suppressed,
        )

    def __repr__(self) -> str:
        return f"SafeCache({self.inner!r})"
