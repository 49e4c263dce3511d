"""aigate.cache: the backend conformance suite, canonical keys, entries, SafeCache, single flight.

The conformance suite is one set of test bodies run against every backend (memory, disk,
Redis) through both its sync and its async methods: ``store`` hides which path is used.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import pickle
import random
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aigate._exceptions import ConfigurationError
from aigate.cache import (
    IGNORED_FIELDS,
    AsyncSingleFlight,
    Cache,
    DiskCache,
    MemoryCache,
    NullCache,
    RedisCache,
    SafeCache,
    SingleFlight,
    cache_key,
    canonical_json,
    decode_entry,
    embedding_item_key,
    encode_entry,
    namespace_prefix,
    open_cache,
)

TARGET = "openai/gpt-4o@https://api.openai.com/v1"
DEAD_REDIS = "redis://127.0.0.1:1/0"


# -- the conformance suite ----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Store:
    """One backend driven through its sync or its async methods, with the same calls."""

    def __init__(self, cache: Any, mode: str, advance: Callable[[float], None]) -> None:
        self.cache = cache
        self.mode = mode
        self.advance = advance  # let `seconds` pass for TTLs: a fake clock or a real sleep
        self._loop = asyncio.new_event_loop() if mode == "async" else None

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        assert self._loop is not None
        return self._loop.run_until_complete(coro)

    def get(self, key: Any) -> bytes | None:
        if self._loop is None:
            return self.cache.get(key)  # type: ignore[no-any-return]
        return self._run(self.cache.aget(key))  # type: ignore[no-any-return]

    def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        if self._loop is None:
            self.cache.set(key, value, ttl=ttl)
        else:
            self._run(self.cache.aset(key, value, ttl=ttl))

    def delete(self, key: str) -> None:
        if self._loop is None:
            self.cache.delete(key)
        else:
            self._run(self.cache.adelete(key))

    def clear(self, namespace_prefix: str | None = None) -> None:
        if self._loop is None:
            self.cache.clear(namespace_prefix)
        else:
            self._run(self.cache.aclear(namespace_prefix))

    def close(self) -> None:
        if self._loop is None:
            self.cache.close()
        else:
            self._run(self.cache.aclose())
            self._loop.close()


BACKENDS = ["memory", "disk", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=["sync", "async"])
def make_store(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[Callable[..., Store]]:
    stores: list[Store] = []

    def make(**options: Any) -> Store:
        n = len(stores)
        cache: Any
        advance: Callable[[float], None] = time.sleep
        if backend == "memory":
            clock = FakeClock()
            cache = MemoryCache(clock=clock, **options)

            def advance(seconds: float) -> None:
                clock.now += seconds

        elif backend == "disk":
            cache = DiskCache(tmp_path / f"disk{n}", **options)
        else:
            url = request.getfixturevalue("redis_url")
            cache = RedisCache(url, prefix=f"test{n}:", **options)
        stores.append(Store(cache, request.param, advance))
        return stores[-1]

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    return make_store()


def test_conformance_missing_key_is_a_miss(store: Store) -> None:
    assert store.get("nope") is None


@pytest.mark.parametrize(
    "value",
    [b"", b"x", bytes(range(256)), random.Random(7).randbytes(200_000)],
    ids=["empty", "one", "all-bytes", "200k"],
)
def test_conformance_roundtrip(store: Store, value: bytes) -> None:
    store.set("k", value)
    assert store.get("k") == value
    store.set("ключ:é", bytearray(value))
    got = store.get("ключ:é")
    assert type(got) is bytes
    assert got == value


def test_conformance_overwrite_and_delete(store: Store) -> None:
    store.set("k", b"one")
    store.set("k", b"two")
    assert store.get("k") == b"two"
    store.set("other", b"stays")
    store.delete("k")
    store.delete("k")  # deleting a missing key is fine
    assert store.get("k") is None
    assert store.get("other") == b"stays"


def test_conformance_rejects_bad_arguments(store: Store) -> None:
    with pytest.raises(TypeError):
        store.set("k", "text, not bytes")
    with pytest.raises(TypeError):
        store.set("k", {"a": 1})
    with pytest.raises(TypeError):
        store.set(b"bytes-key", b"v")
    with pytest.raises(TypeError):
        store.get(42)
    with pytest.raises(ValueError):
        store.set("k", b"v", ttl=float("nan"))
    assert store.get("k") is None


def test_conformance_ttl_expires(store: Store) -> None:
    store.set("long", b"1", ttl=60)
    store.set("short", b"2", ttl=0.05)
    store.advance(0.1)
    assert store.get("short") is None
    assert store.get("long") == b"1"


def test_conformance_nonpositive_ttl_stores_nothing(store: Store) -> None:
    store.set("k", b"old")
    store.set("k", b"new", ttl=0)
    assert store.get("k") is None
    store.set("k", b"new", ttl=-5)
    assert store.get("k") is None


def test_conformance_default_ttl(make_store: Callable[..., Store]) -> None:
    store = make_store(default_ttl=0.05)
    store.set("default", b"1")
    store.set("explicit", b"2", ttl=60)
    store.advance(0.1)
    assert store.get("default") is None
    assert store.get("explicit") == b"2"


REQUESTS: list[dict[str, Any]] = [
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "What is my balance?"}]},
]


def test_conformance_tenants_never_share_entries(store: Store) -> None:
    for i, req in enumerate(REQUESTS):
        store.set(cache_key(namespace="tenant-a", target=TARGET, request=req), b"a%d" % i)
    # Tenant B asks exactly what tenant A asked: every lookup misses.
    for req in REQUESTS:
        assert store.get(cache_key(namespace="tenant-b", target=TARGET, request=req)) is None
    for i, req in enumerate(REQUESTS):
        store.set(cache_key(namespace="tenant-b", target=TARGET, request=req), b"b%d" % i)

    store.clear(namespace_prefix("tenant-a"))
    for i, req in enumerate(REQUESTS):
        assert store.get(cache_key(namespace="tenant-a", target=TARGET, request=req)) is None
        assert store.get(cache_key(namespace="tenant-b", target=TARGET, request=req)) == b"b%d" % i

    store.clear()
    for req in REQUESTS:
        assert store.get(cache_key(namespace="tenant-b", target=TARGET, request=req)) is None


def test_conformance_entries_survive_the_trip(store: Store) -> None:
    entry = {"response": {"choices": [{"message": {"content": "héllo \ud83d\ude00"}}]}, "n": 1.5}
    store.set("e", encode_entry(entry))
    assert decode_entry(store.get("e")) == entry


def test_backends_satisfy_the_protocol(tmp_path: Path) -> None:
    for cache in (MemoryCache(), DiskCache(tmp_path), RedisCache(), NullCache()):
        assert isinstance(cache, Cache)
        assert isinstance(SafeCache(cache), Cache)
        cache.close()


# -- backend specifics --------------------------------------------------------------------


def test_memory_lru_evicts_by_count() -> None:
    cache = MemoryCache(max_entries=3)
    for key in "abc":
        cache.set(key, b"v")
    assert cache.get("a") == b"v"  # a is now the most recent; b the least
    cache.set("d", b"v")
    assert cache.get("b") is None
    assert [cache.get(k) for k in "acd"] == [b"v"] * 3
    assert len(cache) == 3


def test_memory_lru_evicts_by_bytes() -> None:
    cache = MemoryCache(max_bytes=100)  # an entry is len(key) + len(value) = 1 + 30
    for key in "abc":
        cache.set(key, b"x" * 30)
    assert cache.nbytes == 93
    cache.get("a")
    cache.set("d", b"x" * 30)  # 124 > 100: b goes
    assert cache.get("b") is None
    assert cache.nbytes == 93
    cache.set("e", b"y" * 60)  # 61 more: c and a go, d stays
    assert [cache.get(k) is not None for k in "acde"] == [False, False, True, True]
    assert cache.nbytes == 92


def test_memory_value_larger_than_the_cache_is_not_stored() -> None:
    cache = MemoryCache(max_bytes=50)
    cache.set("k", b"small")
    cache.set("k", b"x" * 50)  # 51 bytes with its key
    assert cache.get("k") is None
    assert cache.nbytes == 0
    assert len(cache) == 0


def test_memory_ttl_with_injected_clock() -> None:
    clock = FakeClock()
    cache = MemoryCache(default_ttl=30, clock=clock)
    cache.set("ttl10", b"1", ttl=10)
    cache.set("default", b"2")
    cache.set("forever", b"3", ttl=None)  # None: the default applies
    clock.now += 9.999
    assert cache.get("ttl10") == b"1"
    clock.now += 0.001
    assert cache.get("ttl10") is None
    assert cache.nbytes == 2 * (len("default") + 1)
    clock.now += 20
    assert cache.get("default") is None
    assert cache.get("forever") is None


def test_memory_is_thread_safe() -> None:
    cache = MemoryCache(max_entries=50, max_bytes=4000)
    errors: list[BaseException] = []

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(3000):
                key = str(rng.randrange(100))
                op = rng.random()
                if op < 0.5:
                    cache.set(key, key.encode() * rng.randrange(1, 20))
                elif op < 0.9:
                    value = cache.get(key)
                    assert value is None or value == key.encode() * (len(value) // len(key))
                else:
                    cache.delete(key)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(cache) <= 50
    assert cache.nbytes <= 4000
    assert cache.nbytes == sum(len(k) + len(v[0]) for k, v in cache._data.items())


def test_memory_rejects_bad_limits() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            MemoryCache(max_entries=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            MemoryCache(max_bytes=bad)  # type: ignore[arg-type]


def test_disk_persists_across_instances(tmp_path: Path) -> None:
    with DiskCache(tmp_path) as first:
        first.set("k", b"value")
        first.set("big", b"z" * 100_000)  # stored as a file, not a row
    with DiskCache(tmp_path) as second:
        assert second.get("k") == b"value"
        assert second.get("big") == b"z" * 100_000
        assert second.check() == []
        assert len(second) == 2


UNPICKLED: list[str] = []


def record_unpickle() -> str:
    UNPICKLED.append("code ran")
    return "payload"


class Exploit:
    """Unpickling this runs ``record_unpickle``: what a hostile pickle would do."""

    def __reduce__(self) -> tuple[Callable[[], str], tuple[()]]:
        return record_unpickle, ()


def test_disk_never_unpickles_a_foreign_value(tmp_path: Path) -> None:
    import diskcache

    with diskcache.Cache(str(tmp_path)) as raw:
        raw.set("pickled", Exploit())
        raw.set("pickled-file", [Exploit(), "x" * 100_000])  # a pickle big enough for a file
        raw.set("text", "a str value")
        raw.set("number", 7)
        assert raw.get("pickled") == "payload"  # diskcache itself would run it
    UNPICKLED.clear()
    with DiskCache(tmp_path) as cache:
        for key in ("pickled", "pickled-file", "text", "number"):
            assert cache.get(key) is None
    assert UNPICKLED == []


@pytest.mark.redis
def test_redis_ttl_is_set_px_and_prefix_scopes_everything(redis_url: str) -> None:
    import redis

    raw = redis.Redis.from_url(redis_url)
    a, b = RedisCache(redis_url, prefix="a*[x]:"), RedisCache(redis_url, prefix="b:")
    try:
        a.set("k", b"1", ttl=1.5)
        assert 0 < raw.pttl("a*[x]:k") <= 1500
        a.set("forever", b"1")
        assert raw.pttl("a*[x]:forever") == -1
        b.set("k", b"2")
        raw.set("foreign", b"not ours")
        raw.set("a*[y]:k", b"glob lookalike")
        assert a.get("k") == b"1"
        assert b.get("k") == b"2"
        a.clear()
        assert a.get("k") is None
        assert b.get("k") == b"2"
        assert raw.get("foreign") == b"not ours"
        assert raw.get("a*[y]:k") == b"glob lookalike"
    finally:
        a.close()
        b.close()
        raw.close()


@pytest.mark.redis
def test_redis_async_client_is_per_event_loop(redis_url: str) -> None:
    cache = RedisCache(redis_url)

    async def roundtrip(value: bytes) -> bytes | None:
        await cache.aset("k", value)
        got = await cache.aget("k")
        await cache.aclose()
        return got

    assert asyncio.run(roundtrip(b"1")) == b"1"
    assert asyncio.run(roundtrip(b"2")) == b"2"  # a new loop, a new client


def test_redis_repr_hides_the_password() -> None:
    cache = RedisCache("redis://user:hunter2@127.0.0.1:6379/0")
    assert "hunter2" not in repr(cache)
    assert "***" in repr(cache)


# -- SafeCache ----------------------------------------------------------------------------


class Broken:
    """A backend whose every call fails, counting the calls that reach it."""

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self) -> Any:
        self.calls += 1
        raise ConnectionError("server gone")

    def get(self, key: str) -> bytes | None:
        return self._fail()  # type: ignore[no-any-return]

    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._fail()

    async def aget(self, key: str) -> bytes | None:
        return self._fail()  # type: ignore[no-any-return]

    async def aset(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._fail()


def test_safecache_swallows_a_dead_redis(caplog: pytest.LogCaptureFixture) -> None:
    url = "redis://:hunter2@127.0.0.1:1/0"
    safe = SafeCache(RedisCache(url, timeout=0.5), cooldown=0)
    key = cache_key(namespace="t", target=TARGET, request=REQUESTS[0])
    with caplog.at_level(logging.WARNING, logger="aigate.cache"):
        assert safe.get(key) is None
        safe.set(key, b"v", ttl=5)
        safe.delete(key)
        safe.clear()

        async def use() -> bytes | None:
            await safe.aset(key, b"v")
            got = await safe.aget(key)
            await safe.adelete(key)
            await safe.aclear()
            await safe.aclose()
            return got

        assert asyncio.run(use()) is None
    assert safe.errors == 8
    assert len(caplog.records) == 1  # once per minute, not once per error
    assert "ConnectionError" in caplog.text
    assert "hunter2" not in caplog.text
    assert key not in caplog.text and key[17:] not in caplog.text


def test_safecache_logs_again_after_the_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    safe = SafeCache(Broken(), cooldown=0, log_interval=60, clock=clock)
    with caplog.at_level(logging.WARNING, logger="aigate.cache"):
        for _ in range(3):
            safe.get("k")
        clock.now += 59
        safe.set("k", b"v")
        assert len(caplog.records) == 1
        clock.now += 1
        safe.get("k")
    assert len(caplog.records) == 2
    assert "3 more errors suppressed" in caplog.records[1].getMessage()


def test_safecache_rests_the_backend_for_the_cooldown() -> None:
    clock = FakeClock()
    inner = Broken()
    safe = SafeCache(inner, cooldown=5, clock=clock)
    assert safe.get("k") is None
    for _ in range(10):
        safe.get("k")
        safe.set("k", b"v")
    assert inner.calls == 1
    clock.now += 5
    safe.get("k")
    assert inner.calls == 2
    assert asyncio.run(safe.aget("k")) is None
    assert inner.calls == 2  # resting again


def test_safecache_passes_through_and_still_rejects_bad_arguments() -> None:
    safe = SafeCache(MemoryCache())
    safe.set("k", b"v")
    assert safe.get("k") == b"v"
    assert asyncio.run(safe.aget("k")) == b"v"
    safe.delete("k")
    assert safe.get("k") is None
    with pytest.raises(TypeError):
        safe.set("k", "str")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        safe.get(1)  # type: ignore[arg-type]
    assert safe.errors == 0


# -- open_cache ---------------------------------------------------------------------------


def test_open_cache_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memory = open_cache("memory://?max_entries=5&max_bytes=1_000&default_ttl=2.5")
    assert isinstance(memory, MemoryCache)
    assert (memory.max_entries, memory.max_bytes, memory.default_ttl) == (5, 1000, 2.5)
    assert isinstance(open_cache("memory://"), MemoryCache)

    disk = open_cache(f"disk://{tmp_path}/a%20b?size_limit=1000000")
    assert isinstance(disk, DiskCache)
    assert disk.directory == str(tmp_path / "a b")
    assert disk.size_limit == 1_000_000
    disk.close()
    monkeypatch.chdir(tmp_path)
    rel = open_cache("diskcache://rel/dir")
    assert isinstance(rel, DiskCache)
    assert rel.directory == str(tmp_path / "rel" / "dir")
    rel.close()

    redis_cache = open_cache("redis://:pw@127.0.0.1:6379/3?prefix=app:&timeout=0.5")
    assert isinstance(redis_cache, RedisCache)
    assert redis_cache.prefix == "app:"
    assert "pw" not in repr(redis_cache)
    assert isinstance(open_cache("rediss://host"), RedisCache)

    assert isinstance(open_cache("null://"), NullCache)
    assert isinstance(open_cache(None), NullCache)
    instance = MemoryCache()
    assert open_cache(instance) is instance


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("memcached://host", "unknown cache URL"),
        ("/var/cache/aigate", "write disk:///path"),
        ("memory", "write disk:///path"),
        ("memory://?max_entries=many", "max_entries='many'"),
        ("memory://?max_entrie=5", "unknown parameter(s) max_entrie"),
        ("memory://?max_entries=0", "max_entries must be a positive int"),
        ("disk://", "needs a directory"),
        ("null://?x=1", "unknown parameter"),
        ("redis://:hunter2@host/0?default_ttl=soon", "default_ttl='soon'"),
        ("bogus://:hunter2@host", "unknown cache URL"),
    ],
)
def test_open_cache_refuses_bad_urls(url: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        open_cache(url, field="cache.url")
    message = str(info.value)
    assert info.value.field == "cache.url"
    assert message.startswith("cache.url: ")
    assert says in message
    assert "memory://" in message and "redis://" in message and "disk://" in message
    assert "hunter2" not in message


def test_open_cache_refuses_a_non_cache() -> None:
    with pytest.raises(ConfigurationError, match="not int"):
        open_cache(42)  # type: ignore[arg-type]


# -- entries ------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
json_objects = st.dictionaries(st.text(max_size=6), json_values, max_size=4)


@given(json_objects)
def test_entry_roundtrip(obj: dict[str, Any]) -> None:
    assert decode_entry(encode_entry(obj)) == obj


def test_entry_truncated_or_flipped_decodes_to_none() -> None:
    data = encode_entry({"content": "hello", "usage": {"prompt_tokens": 3}})
    for cut in range(len(data)):
        assert decode_entry(data[:cut]) is None
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x01
        assert decode_entry(bytes(flipped)) is None
    assert decode_entry(data + b" ") is None
    assert decode_entry(memoryview(data)) == {"content": "hello", "usage": {"prompt_tokens": 3}}


def test_entry_foreign_values_decode_to_none() -> None:
    import hashlib

    good = encode_entry({"a": 1})
    payload = b"[1,2]"
    not_a_dict = good[:3] + hashlib.blake2b(payload, digest_size=8).digest() + payload
    other_version = good[:2] + b"\x02" + good[3:]
    for foreign in (
        None,
        b"",
        b"hello",
        json.dumps({"a": 1}).encode(),
        pickle.dumps({"a": 1}),
        not_a_dict,
        other_version,
        "a str",
        12,
    ):
        assert decode_entry(foreign) is None  # type: ignore[arg-type]


@given(st.binary(max_size=64))
def test_entry_decode_never_raises(data: bytes) -> None:
    assert decode_entry(data) is None or isinstance(decode_entry(data), dict)


def test_entry_encode_refuses_non_json() -> None:
    with pytest.raises(TypeError):
        encode_entry([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_entry({"when": object()})


# -- canonical keys -----------------------------------------------------------------------

messages_st = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "developer", "user", "assistant"]),
            "content": st.text(max_size=12),
        },
        optional={"name": st.text(min_size=1, max_size=5)},
    ),
    min_size=1,
    max_size=4,
)
tool_st = st.fixed_dictionaries(
    {
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {"name": st.text(min_size=1, max_size=8), "parameters": json_objects}
        ),
    }
)
# Every field that can change what the model generates, with values it can take.
GENERATION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "model": st.sampled_from(["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "o3"]),
    "messages": messages_st,
    "temperature": st.floats(0, 2),
    "top_p": st.floats(0, 1),
    "max_tokens": st.integers(1, 100_000),
    "max_completion_tokens": st.integers(1, 100_000),
    "stop": st.none() | st.text(max_size=4) | st.lists(st.text(max_size=4), max_size=3),
    "seed": st.integers(-(2**63), 2**63 - 1),
    "n": st.integers(1, 8),
    "tools": st.lists(tool_st, max_size=2),
    "tool_choice": st.sampled_from(["auto", "none", "required"])
    | st.builds(lambda n: {"type": "function", "function": {"name": n}}, st.text(max_size=5)),
    "parallel_tool_calls": st.booleans(),
    "response_format": st.sampled_from([{"type": "text"}, {"type": "json_object"}])
    | st.builds(
        lambda s: {"type": "json_schema", "json_schema": {"name": "x", "schema": s}}, json_objects
    ),
    "logit_bias": st.dictionaries(
        st.integers(0, 200_000).map(str), st.integers(-100, 100), max_size=3
    ),
    "presence_penalty": st.floats(-2, 2),
    "frequency_penalty": st.floats(-2, 2),
    "logprobs": st.booleans(),
    "top_logprobs": st.integers(0, 20),
    "reasoning_effort": st.sampled_from(["minimal", "low", "medium", "high"]),
    "extra_body": st.dictionaries(
        st.sampled_from(["top_k", "min_p", "repetition_penalty", "num_ctx", "safe_prompt"]),
        json_values,
        max_size=3,
    ),
}
REQUIRED = ("model", "messages")
request_st = st.fixed_dictionaries(
    {name: GENERATION_FIELDS[name] for name in REQUIRED},
    optional={k: v for k, v in GENERATION_FIELDS.items() if k not in REQUIRED},
)


def key_of(request: dict[str, Any], namespace: str = "tenant", target: str = TARGET) -> str:
    return cache_key(namespace=namespace, target=target, request=request)


def same_json(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(request_st, st.data())
def test_key_changes_with_every_generation_field(
    request: dict[str, Any], data: st.DataObject
) -> None:
    before = key_of(request)
    changed = dict(request)
    field = data.draw(st.sampled_from(sorted(GENERATION_FIELDS)), label="field")
    drop = field in request and field not in REQUIRED and data.draw(st.booleans(), label="drop")
    if drop:
        del changed[field]
    else:
        changed[field] = data.draw(GENERATION_FIELDS[field], label="new value")
        assume(field not in request or not same_json(request[field], changed[field]))
    assert key_of(changed) != before


@given(request_st, st.data())
def test_key_changes_with_one_message_role_or_content(
    request: dict[str, Any], data: st.DataObject
) -> None:
    messages = [dict(m) for m in request["messages"]]
    i = data.draw(st.integers(0, len(messages) - 1), label="message")
    part = data.draw(st.sampled_from(["role", "content"]), label="part")
    new = data.draw(
        st.sampled_from(["system", "user", "assistant", "tool"])
        if part == "role"
        else st.text(max_size=12)
    )
    assume(messages[i][part] != new)
    messages[i][part] = new
    assert key_of({**request, "messages": messages}) != key_of(request)


OTHER_TARGETS = [
    "openai/gpt-4o@https://eu.example/v1",
    "azure/gpt-4o@https://x.openai.azure.com",
    "openai/gpt-4o-2024-08-06@https://api.openai.com/v1",
]


@given(request_st, st.sampled_from(OTHER_TARGETS))
def test_key_changes_with_the_target(request: dict[str, Any], target: str) -> None:
    assert key_of(request, target=target) != key_of(request)


def deep_shuffle(value: Any, rng: random.Random) -> Any:
    """``value`` with the keys of every dict, at every depth, in a new random order."""
    if isinstance(value, dict):
        items = [(k, deep_shuffle(v, rng)) for k, v in value.items()]
        rng.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [deep_shuffle(v, rng) for v in value]
    return value


@given(request_st, st.randoms(use_true_random=False))
def test_key_ignores_key_order_at_any_depth(request: dict[str, Any], rng: random.Random) -> None:
    assert key_of(deep_shuffle(request, rng)) == key_of(request)


@given(request_st, st.dictionaries(st.sampled_from(sorted(IGNORED_FIELDS)), json_values))
def test_key_ignores_fields_that_cannot_change_the_answer(
    request: dict[str, Any], ignored: dict[str, Any]
) -> None:
    assert key_of({**request, **ignored}) == key_of(request)


@given(
    st.dictionaries(st.text(max_size=5), json_values, max_size=4),
    st.randoms(use_true_random=False),
    st.sampled_from([None, 2, "\t"]),
)
def test_key_normalises_tool_call_arguments(
    args: dict[str, Any], rng: random.Random, indent: int | str | None
) -> None:
    def request(arguments: str) -> dict[str, Any]:
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}
        return {
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "{}"},
            ],
        }

    compact = json.dumps(args)
    loose = json.dumps(
        deep_shuffle(args, rng), indent=indent, ensure_ascii=bool(rng.random() < 0.5)
    )
    assert key_of(request(loose)) == key_of(request(compact))
    if args:
        assert key_of(request(json.dumps({**args, "\x00extra": 1}))) != key_of(request(compact))


def test_key_decisions() -> None:
    base = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
    k = key_of(base)
    # An omitted temperature is the provider default, not 0, and not null.
    assert key_of({**base, "temperature": 0}) != k
    assert key_of({**base, "temperature": None}) != k
    assert key_of({**base, "temperature": None}) != key_of({**base, "temperature": 0})
    # 1 and 1.0 are one JSON number; True is not 1.
    assert key_of({**base, "temperature": 1}) == key_of({**base, "temperature": 1.0})
    assert key_of({**base, "logprobs": True}) != key_of({**base, "logprobs": 1})
    # Tuples key like lists, int mapping keys like their JSON names.
    assert key_of({**base, "stop": ("a", "b")}) == key_of({**base, "stop": ["a", "b"]})
    assert key_of({**base, "logit_bias": {50256: -100}}) == key_of(
        {**base, "logit_bias": {"50256": -100}}
    )
    # Message text is kept byte for byte; arguments that are not JSON too.
    assert key_of({**base, "messages": [{"role": "user", "content": "Hi "}]}) != k
    # stream on/off share an entry; the user only with include_user.
    assert key_of({**base, "stream": True, "stream_options": {"include_usage": True}}) == k
    with_user = {**base, "user": "u-1"}
    assert key_of(with_user) == k
    assert cache_key(
        namespace="t", target=TARGET, request=with_user, include_user=True
    ) != cache_key(namespace="t", target=TARGET, request=base, include_user=True)
    # Of extra_headers only feature switches (betas, versions) count, by lower-cased name.
    assert key_of({**base, "extra_headers": {"X-Request-ID": "r-1", "Idempotency-Key": "i"}}) == k
    beta = key_of({**base, "extra_headers": {"anthropic-beta": "output-128k-2025-02-19"}})
    assert beta != k
    assert key_of({**base, "extra_headers": {"Anthropic-Beta": "output-128k-2025-02-19"}}) == beta
    assert key_of({**base, "extra_headers": {"OpenAI-Beta": "assistants=v2", "X-Id": "1"}}) != k
    # The endpoint is part of the key.
    assert cache_key(namespace="tenant", target=TARGET, request=base, endpoint="responses") != k


def test_key_treats_openai_sentinels_as_omitted() -> None:
    openai = pytest.importorskip("openai")
    base = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
    assert key_of({**base, "temperature": openai.NOT_GIVEN}) == key_of(base)
    omit = getattr(openai, "omit", None)
    if omit is not None:
        assert key_of({**base, "seed": omit}) == key_of(base)


def test_key_reads_pydantic_models_with_unset_fields_omitted() -> None:
    from pydantic import BaseModel

    class Message(BaseModel):
        role: str
        content: str
        name: str | None = None

    as_model = {"model": "gpt-4o", "messages": [Message(role="user", content="Hi")]}
    as_dict = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
    assert key_of(as_model) == key_of(as_dict)
    named = {"model": "gpt-4o", "messages": [Message(role="user", content="Hi", name=None)]}
    assert key_of(named) != key_of(as_dict)  # name=None was given: it is not omitted


def test_key_refuses_what_it_cannot_key_stably() -> None:
    base = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
    with pytest.raises(TypeError):
        key_of({**base, "temperature": object()})
    with pytest.raises(TypeError):
        key_of({**base, "stop": {1, 2}})
    with pytest.raises(ValueError):
        cache_key(namespace="", target=TARGET, request=base)
    with pytest.raises(ValueError):
        cache_key(namespace="t", target="", request=base)


def test_key_format_and_namespace_prefix() -> None:
    secret_ns = "tenant:sk-live-0123456789abcdef"
    key = key_of(REQUESTS[0], namespace=secret_ns)
    assert re.fullmatch(r"[0-9a-f]{16}:[0-9a-f]{64}", key)
    assert key.startswith(namespace_prefix(secret_ns))
    assert "sk-live" not in key and "tenant" not in key
    assert namespace_prefix("a") != namespace_prefix("b")


@given(
    st.text(min_size=1, max_size=12),
    st.text(min_size=1, max_size=12),
    request_st,
    st.text(min_size=1, max_size=12),
)
def test_key_tenants_are_isolated(ns_a: str, ns_b: str, request: dict[str, Any], t: str) -> None:
    assume(ns_a != ns_b)
    a, b = key_of(request, namespace=ns_a), key_of(request, namespace=ns_b)
    assert a != b
    assert a.split(":")[0] != b.split(":")[0]  # clear(namespace) cannot reach the other
    # Moving text between namespace and target cannot forge another tenant's key.
    assert key_of(request, namespace=ns_a + ":" + t, target=TARGET) != key_of(
        request, namespace=ns_a, target=t + ":" + TARGET
    )


def test_embedding_item_keys() -> None:
    target = "openai/text-embedding-3-small@https://api.openai.com/v1"
    params = {"dimensions": 256, "encoding_format": "float"}
    base = embedding_item_key("t", target, "hello", params)
    assert re.fullmatch(r"[0-9a-f]{16}:[0-9a-f]{64}", base)
    assert embedding_item_key("t", target, "hello", dict(reversed(params.items()))) == base
    assert embedding_item_key("t", target, "hello", {**params, "user": "u", "input": ["x"]}) == base
    others = {
        embedding_item_key("t", target, "hello ", params),
        embedding_item_key("t", target, [15339], params),
        embedding_item_key("t", target, "hello", {**params, "dimensions": 512}),
        embedding_item_key("t", target, "hello", {**params, "encoding_format": "base64"}),
        embedding_item_key("t", target, "hello", {"encoding_format": "float"}),
        embedding_item_key("t", target, "hello"),
        embedding_item_key("t", target + "x", "hello", params),
        embedding_item_key("u", target, "hello", params),
        cache_key(namespace="t", target=target, request={"input": "hello", **params}),
    }
    assert base not in others
    assert len(others) == 9


# -- single flight ------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.001)


def run_threads(n: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive()


def test_singleflight_threads_make_one_upstream_call() -> None:
    flight = SingleFlight()
    calls: list[int] = []
    results: dict[int, tuple[object, bool]] = {}
    answer = object()

    def upstream() -> object:
        calls.append(1)
        wait_until(lambda: flight.waiting("k") == 49)  # every other caller has joined
        return answer

    run_threads(50, lambda i: results.__setitem__(i, flight.do("k", upstream)))
    assert len(calls) == 1
    assert all(value is answer for value, _ in results.values())
    assert sorted(shared for _, shared in results.values()) == [False] + [True] * 49
    assert len(flight) == 0
    assert flight.do("k", lambda: 2) == (2, False)  # nothing was kept


def test_singleflight_error_goes_to_the_leader_only() -> None:
    flight = SingleFlight()
    calls: list[int] = []
    outcomes: dict[int, tuple[str, bool] | RuntimeError] = {}

    def upstream() -> str:
        calls.append(1)
        if len(calls) == 1:
            wait_until(lambda: flight.waiting("k") == 9)
            raise RuntimeError("429 for the leader")
        return "fresh"

    def caller(i: int) -> None:
        try:
            outcomes[i] = flight.do("k", upstream)
        except RuntimeError as err:
            outcomes[i] = err

    run_threads(10, caller)
    errors = [o for o in outcomes.values() if isinstance(o, RuntimeError)]
    assert len(errors) == 1
    assert [o for o in outcomes.values() if not isinstance(o, RuntimeError)] == [
        ("fresh", False)
    ] * 9
    assert len(calls) == 10  # the followers each called upstream themselves
    assert len(flight) == 0


def test_singleflight_follower_timeout_runs_fn_itself() -> None:
    flight = SingleFlight()
    release = threading.Event()
    got: dict[str, tuple[str, bool]] = {}

    def slow() -> str:
        assert release.wait(10)
        return "slow"

    leader = threading.Thread(target=lambda: got.__setitem__("leader", flight.do("k", slow)))
    leader.start()
    wait_until(lambda: len(flight) == 1)
    assert flight.do("k", lambda: "own", timeout=0.05) == ("own", False)
    release.set()
    leader.join()
    assert got["leader"] == ("slow", False)
    assert len(flight) == 0


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


def test_async_singleflight_tasks_make_one_upstream_call() -> None:
    async def main() -> None:
        flight = AsyncSingleFlight()
        calls: list[int] = []

        async def upstream() -> str:
            calls.append(1)
            await until(lambda: flight.waiting("k") == 49)
            return "answer"

        results = await asyncio.gather(*(flight.do("k", upstream) for _ in range(50)))
        assert len(calls) == 1
        assert [value for value, _ in results] == ["answer"] * 50
        assert sorted(shared for _, shared in results) == [False] + [True] * 49
        assert len(flight) == 0

    asyncio.run(main())


def test_async_singleflight_errors_and_cancellation_are_not_shared() -> None:
    async def main() -> None:
        flight = AsyncSingleFlight()
        calls: list[int] = []
        gate = asyncio.Event()

        async def upstream() -> str:
            calls.append(1)
            if len(calls) == 1:
                await until(lambda: flight.waiting("k") == 4)
                raise RuntimeError("leader failed")
            return "fresh"

        results = await asyncio.gather(
            *(flight.do("k", upstream) for _ in range(5)), return_exceptions=True
        )
        assert sum(isinstance(r, RuntimeError) for r in results) == 1
        assert [r for r in results if not isinstance(r, BaseException)] == [("fresh", False)] * 4
        assert len(flight) == 0

        async def blocked() -> str:
            await gate.wait()
            return "never"

        leader = asyncio.ensure_future(flight.do("c", blocked))
        await asyncio.sleep(0)
        follower = asyncio.ensure_future(flight.do("c", lambda: asyncio.sleep(0, "own")))
        await until(lambda: flight.waiting("c") == 1)
        leader.cancel()
        assert await follower == ("own", False)
        with pytest.raises(asyncio.CancelledError):
            await leader
        assert len(flight) == 0

        slow = asyncio.ensure_future(flight.do("t", blocked))
        await asyncio.sleep(0)
        assert await flight.do("t", lambda: asyncio.sleep(0, "timed out"), timeout=0.01) == (
            "timed out",
            False,
        )
        gate.set()
        assert await slow == ("never", False)
        assert len(flight) == 0

    asyncio.run(main())


# -- many processes on one store ----------------------------------------------------------

MP_PROCESSES = 8
MP_OPS = 1000
MP_KEYS = 64


def mp_worker(kind: str, where: str, seed: int, barrier: Any, results: Any) -> None:
    """Open the store when every process is ready, then mix gets and sets; report counts."""
    report: dict[str, Any] = {"seed": seed, "errors": 0, "corrupt": 0, "hits": 0, "error": ""}
    try:
        barrier.wait(timeout=60)
        cache: Any = DiskCache(where) if kind == "disk" else RedisCache(where, prefix="mp:")
        rng = random.Random(seed)
        for i in range(MP_OPS):
            key = f"k{rng.randrange(MP_KEYS)}"
            try:
                if rng.random() < 0.5:
                    pad = "x" * rng.choice((8, 8, 8, 2_000, 40_000))  # 40k: a file on disk
                    cache.set(key, encode_entry({"key": key, "by": seed, "i": i, "pad": pad}))
                else:
                    raw = cache.get(key)
                    if raw is not None:
                        entry = decode_entry(raw)
                        if entry is None or entry["key"] != key:
                            report["corrupt"] += 1
                        else:
                            report["hits"] += 1
            except Exception as err:
                report["errors"] += 1
                report["error"] = repr(err)
        cache.close()
    except Exception as err:
        report["errors"] += 1
        report["error"] = repr(err)
    results.put(report)


def run_processes(kind: str, where: str) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(MP_PROCESSES), ctx.Queue()
    procs = [
        ctx.Process(target=mp_worker, args=(kind, where, seed, barrier, results))
        for seed in range(MP_PROCESSES)
    ]
    for p in procs:
        p.start()
    reports = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return reports


def assert_clean(reports: list[dict[str, Any]]) -> None:
    assert len(reports) == MP_PROCESSES
    for report in reports:
        assert (report["errors"], report["corrupt"], report["error"]) == (0, 0, "")
    assert sum(r["hits"] for r in reports) > 0


@pytest.mark.slow
def test_many_processes_share_one_disk_cache(tmp_path: Path) -> None:
    directory = str(tmp_path / "shared")
    assert_clean(run_processes("disk", directory))
    with DiskCache(directory) as cache:
        assert cache.check() == []
        assert 0 < len(cache) <= MP_KEYS
        for n in range(MP_KEYS):
            raw = cache.get(f"k{n}")
            assert raw is None or decode_entry(raw)["key"] == f"k{n}"  # type: ignore[index]


@pytest.mark.slow
@pytest.mark.redis
def test_many_processes_share_one_redis(redis_url: str) -> None:
    import redis

    assert_clean(run_processes("redis", redis_url))
    raw = redis.Redis.from_url(redis_url)
    try:
        names = list(raw.scan_iter(match="mp:*"))
        assert 0 < len(names) <= MP_KEYS
        for name in names:
            entry = decode_entry(raw.get(name))  # type: ignore[arg-type]
            assert entry is not None and "mp:" + entry["key"] == name.decode()
    finally:
        raw.close()


def test_tenant_namespace_is_unambiguous() -> None:
    from aigate.cache._keys import tenant_namespace

    # issue 13.10: joined strings collided; each part is encoded on its own
    ns = tenant_namespace
    assert ns("t", "acme|ns=reports", None) != ns("t", "acme", "reports")
    assert ns("t", "acme|project=x", "y") != ns("t", "acme", "x|project=y")
    assert tenant_namespace("t", None) != tenant_namespace("t", "")
    assert tenant_namespace("t", '", "') != tenant_namespace("t", "", "")
    assert tenant_namespace("t", "a") == tenant_namespace("t", "a")
