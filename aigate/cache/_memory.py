"""An in-process LRU cache bounded by entry count and by bytes."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ._base import LocalCache, check_key, check_limit, check_value, resolve_ttl

__all__ = ["MemoryCache"]


class MemoryCache(LocalCache):
    """LRU over at most ``max_entries`` entries and ``max_bytes`` bytes, thread-safe.

    An entry's size is ``len(key) + len(value)``. A value larger than ``max_bytes`` is not
    stored. TTLs are measured with ``clock`` (monotonic seconds; inject one in tests).
    Expired entries are dropped when read and count toward the bounds until then, so LRU
    eviction reclaims them like any cold entry.
    """

    def __init__(
        self,
        max_entries: int = 10_000,
        max_bytes: int = 64 * 1024 * 1024,
        default_ttl: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_limit("max_entries", max_entries)
        check_limit("max_bytes", max_bytes)
        resolve_ttl(default_ttl, None)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.default_ttl = default_ttl
        self._clock = clock
        # key -> (value, expiry on self._clock or None); order = least recently used first
        self._data: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                check_key(key)
                return None
            if item[1] is not None and self._clock() >= item[1]:
                del self._data[key]
                self._bytes -= len(key) + len(item[0])
                return None
            self._data.move_to_end(key)
            return item[0]

    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        check_key(key)
        value = check_value(value)
        ttl = resolve_ttl(ttl, self.default_ttl)
        size = len(key) + len(value)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= len(key) + len(old[0])
            if (ttl is not None and ttl <= 0) or size > self.max_bytes:
                return
            self._data[key] = (value, None if ttl is None else self._clock() + ttl)
            self._bytes += size
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                old_key, (old_value, _) = self._data.popitem(last=False)
                self._bytes -= len(old_key) + len(old_value)

    def delete(self, key: str) -> None:
        check_key(key)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= len(key) + len(old[0])

    def clear(self, namespace_prefix: str | None = None) -> None:
        with self._lock:
            if namespace_prefix is None:
                self._data.clear()
                self._bytes = 0
                return
            for key in [k for k in self._data if k.startswith(namespace_prefix)]:
                self._bytes -= len(key) + len(self._data.pop(key)[0])

    def __len__(self) -> int:
        return len(self._data)

    @property
    def nbytes(self) -> int:
        """Bytes held, as counted against ``max_bytes``."""
        return self._bytes

    def __repr__(self) -> str:
        return (
            f"MemoryCache(max_entries={self.max_entries}, max_bytes={self.max_bytes}, "
            f"default_ttl={self.default_ttl})"
        )
