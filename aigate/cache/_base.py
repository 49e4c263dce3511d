"""The ``Cache`` protocol, the base of the local backends, and ``NullCache``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .._closing import Closing

if TYPE_CHECKING:
    pass

__all__ = ["Cache", "LocalCache", "NullCache"]


@runtime_checkable
class Cache(Protocol):
    """A byte store with optional per-entry TTL (seconds), sync and async.

    Backends raise on I/O failure; wrap a network backend in ``SafeCache`` so an outage
    reads as a miss instead of failing the call.
    """

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...

    async def aget(self, key: str) -> bytes | None: ...

    async def aset(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...


def check_key(key: object) -> str:
    if type(key) is not str:
        raise TypeError(f"cache keys are str, not {type(key).__name__}")
    return key


def check_value(value: object) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"cache values are bytes, not {type(value).__name__}")


def resolve_ttl(ttl: float | None, default: float | None) -> float | None:
    """The TTL to apply: ``ttl``, else the backend default; ``None`` means no expiry.

    A TTL <= 0 is returned as is: the caller stores nothing (and drops the old entry).
    """
    if ttl is None:
        ttl = default
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or math.isnan(ttl):
        raise ValueError(f"ttl must be a number of seconds or None, not {ttl!r}")
    return float(ttl)


def check_limit(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, not {value!r}")


class LocalCache(Closing):
    """Base of the backends that live in this process or on this host.

    Their async methods call the sync ones inline: a memory lookup or a local SQLite read is
    shorter than a trip through a thread pool.
    """

    def get(self, key: str) -> bytes | None:
        raise NotImplementedError

    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def clear(self, namespace_prefix: str | None = None) -> None:
        """Remove every entry whose key starts with ``namespace_prefix`` (all if ``None``)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the backend's resources; the default has none."""

    async def aget(self, key: str) -> bytes | None:
        return self.get(key)

    async def aset(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self.set(key, value, ttl=ttl)

    async def adelete(self, key: str) -> None:
        self.delete(key)

    async def aclear(self, namespace_prefix: str | None = None) -> None:
        self.clear(namespace_prefix)

    async def aclose(self) -> None:
        self.close()


class NullCache(LocalCache):
    """Stores nothing: every ``get`` is a miss. The cache of a gateway with caching off."""

    def get(self, key: str) -> bytes | None:
        check_key(key)
        return None

    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        check_key(key)
        check_value(value)

    def delete(self, key: str) -> None:
        check_key(key)

    def clear(self, namespace_prefix: str | None = None) -> None:
        pass

    def __repr__(self) -> str:
        return "NullCache()"
