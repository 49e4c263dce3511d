"""Response caching: backends, canonical keys, the entry format, and single flight.

```python
cache = SafeCache(open_cache("redis://127.0.0.1:6379/0"))   # or memory://, disk:///path
key = cache_key(namespace="tenant-42", target="openai/gpt-4o@https://api.openai.com/v1",
                request={"model": "gpt-4o", "messages": [...], "temperature": 0})
raw = cache.get(key)
entry = decode_entry(raw)          # None for a miss *or* a corrupt/foreign value
if entry is None:
    value, shared = flight.do(key, call_upstream)
    cache.set(key, encode_entry(value), ttl=3600)
```

Backends store bytes and raise on I/O failure; ``SafeCache`` turns failures into misses.
Keys carry a hashed tenant prefix, so ``cache.clear(namespace_prefix(ns))`` clears one
tenant. ``memory``, ``disk`` and ``null`` run their async methods inline; ``redis`` has a
real async client.
"""

from ._base import Cache, LocalCache, NullCache
from ._disk import DiskCache
from ._entry import ENTRY_VERSION, decode_entry, encode_entry
from ._keys import (
    IGNORED_FIELDS,
    KEY_VERSION,
    KEYED_HEADERS,
    USER_FIELDS,
    cache_key,
    canonical_json,
    embedding_item_key,
    namespace_prefix,
)
from ._memory import MemoryCache
from ._open import ACCEPTED_SCHEMES, open_cache
from ._redis import RedisCache
from ._safe import SafeCache
from ._singleflight import AsyncSingleFlight, SingleFlight

__all__ = [
    "ACCEPTED_SCHEMES",
    "ENTRY_VERSION",
    "IGNORED_FIELDS",
    "KEY_VERSION",
    "KEYED_HEADERS",
    "USER_FIELDS",
    "AsyncSingleFlight",
    "Cache",
    "DiskCache",
    "LocalCache",
    "MemoryCache",
    "NullCache",
    "RedisCache",
    "SafeCache",
    "SingleFlight",
    "cache_key",
    "canonical_json",
    "decode_entry",
    "embedding_item_key",
    "encode_entry",
    "namespace_prefix",
    "open_cache",
]
