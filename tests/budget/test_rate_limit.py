"""Client-side rate limits: exact sliding windows, in memory and in Redis (sync and async)."""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aigate import ConfigurationError
from aigate.budget import MemoryRateLimiter, RateLimiter, RedisRateLimiter, open_rate_limiter

T0 = 1_000_000.0


class Limiter:
    """A limiter driven through its sync methods or their ``a*`` twins."""

    def __init__(self, limiter: Any, mode: str) -> None:
        self.limiter = limiter
        self._loop = asyncio.new_event_loop() if mode == "async" else None

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._loop is None:
            return getattr(self.limiter, name)(*args, **kwargs)
        return self._loop.run_until_complete(getattr(self.limiter, "a" + name)(*args, **kwargs))

    def acquire(self, key: str, **kwargs: Any) -> float:
        return float(self._call("acquire", key, **kwargs))

    def adjust(self, key: str, delta: int, **kwargs: Any) -> None:
        self._call("adjust", key, delta, **kwargs)

    def release(self, key: str, ticket: str, **kwargs: Any) -> None:
        self._call("release", key, ticket, **kwargs)

    def close(self) -> None:
        if self._loop is None:
            if hasattr(self.limiter, "close"):
                self.limiter.close()
        else:
            if hasattr(self.limiter, "aclose"):
                self._loop.run_until_complete(self.limiter.aclose())
            self._loop.close()


@pytest.fixture(
    params=[
        ("memory", "sync"),
        ("memory", "async"),
        pytest.param(("redis", "sync"), marks=pytest.mark.redis),
        pytest.param(("redis", "async"), marks=pytest.mark.redis),
    ],
    ids=lambda p: "-".join(p),
)
def make_limiter(request: pytest.FixtureRequest) -> Iterator[Callable[..., Limiter]]:
    kind, mode = request.param
    made: list[Limiter] = []

    def make(**options: Any) -> Limiter:
        if kind == "memory":
            limiter: Any = MemoryRateLimiter(**options)
        else:
            url = request.getfixturevalue("redis_url")
            limiter = RedisRateLimiter(url, prefix=f"test:{uuid.uuid4().hex[:12]}", **options)
        made.append(Limiter(limiter, mode))
        return made[-1]

    yield make
    for limiter in made:
        limiter.close()


class TestRateLimiter:
    def test_is_a_rate_limiter(self, make_limiter: Callable[..., Limiter]) -> None:
        assert isinstance(make_limiter().limiter, RateLimiter)

    def test_rpm_and_the_wait(self, make_limiter: Callable[..., Limiter]) -> None:
        rl = make_limiter()
        assert rl.acquire("k", rpm=2, now=T0) == 0
        assert rl.acquire("k", rpm=2, now=T0 + 10) == 0
        assert rl.acquire("k", rpm=2, now=T0 + 20) == pytest.approx(40)
        assert rl.acquire("other", rpm=2, now=T0 + 20) == 0  # keys are independent
        assert rl.acquire("k", rpm=2, now=T0 + 59.5) == pytest.approx(0.5)
        assert rl.acquire("k", rpm=2, now=T0 + 60) == 0  # the first call has aged out
        assert rl.acquire("k", rpm=2, now=T0 + 61) == pytest.approx(9)

    def test_tpm(self, make_limiter: Callable[..., Limiter]) -> None:
        rl = make_limiter()
        assert rl.acquire("k", tokens=600, tpm=1000, now=T0) == 0
        assert rl.acquire("k", tokens=300, tpm=1000, now=T0 + 1) == 0
        assert rl.acquire("k", tokens=200, tpm=1000, now=T0 + 2) == pytest.approx(58)
        assert rl.acquire("k", tokens=100, tpm=1000, now=T0 + 3) == 0
        # Needs both earlier entries gone: waits for the second one.
        assert rl.acquire("k", tokens=1000, tpm=1000, now=T0 + 4) == pytest.approx(59)
        assert rl.acquire("k", tokens=1001, tpm=1000, now=T0 + 5) == math.inf
        assert rl.acquire("k", requests=3, rpm=2, now=T0 + 5) == math.inf

    def test_both_limits(self, make_limiter: Callable[..., Limiter]) -> None:
        rl = make_limiter()
        assert rl.acquire("k", tokens=10, rpm=5, tpm=15, now=T0) == 0
        assert rl.acquire("k", tokens=10, rpm=5, tpm=15, now=T0 + 1) == pytest.approx(59)
        assert rl.acquire("k", tokens=5, rpm=5, tpm=15, now=T0 + 2) == 0

    def test_adjust_with_a_ticket_is_exact(self, make_limiter: Callable[..., Limiter]) -> None:
        rl = make_limiter()
        assert rl.acquire("k", tokens=900, tpm=1000, ticket="c1", now=T0) == 0
        assert rl.acquire("k", tokens=500, tpm=1000, now=T0 + 1) > 0
        rl.adjust("k", -700, ticket="c1", now=T0 + 2)  # it used 200 tokens, not 900
        assert rl.acquire("k", tokens=800, tpm=1000, now=T0 + 3) == 0
        rl.adjust("k", 50, ticket="c1", now=T0 + 4)  # then 250 after all
        assert rl.acquire("k", tokens=1, tpm=1000, now=T0 + 5) == pytest.approx(55)
        assert rl.acquire("k", tokens=1, tpm=1000, now=T0 + 60) == 0  # c1 aged out on time

    def test_adjust_without_a_ticket_errs_on_the_safe_side(
        self, make_limiter: Callable[..., Limiter]
    ) -> None:
        rl = make_limiter()
        rl.acquire("k", tokens=500, tpm=1000, now=T0)
        rl.adjust("k", -400, now=T0 + 1)  # cannot tell which call: ignored
        assert rl.acquire("k", tokens=600, tpm=1000, now=T0 + 2) > 0
        rl.adjust("k", 400, now=T0 + 30)  # counted from now
        assert rl.acquire("k", tokens=700, tpm=1000, now=T0 + 61) == pytest.approx(29)
        assert rl.acquire("k", tokens=700, tpm=1000, now=T0 + 90) == 0

    def test_release_and_retried_ticket(self, make_limiter: Callable[..., Limiter]) -> None:
        rl = make_limiter()
        assert rl.acquire("k", rpm=1, ticket="a", now=T0) == 0
        assert rl.acquire("k", rpm=1, ticket="a", now=T0 + 1) == 0  # a retry counts once
        assert rl.acquire("k", rpm=1, ticket="b", now=T0 + 2) > 0
        rl.release("k", "a", now=T0 + 3)
        rl.release("k", "unknown", now=T0 + 3)
        assert rl.acquire("k", rpm=1, ticket="b", now=T0 + 4) == 0

    def test_time_never_runs_backwards(self, make_limiter: Callable[..., Limiter]) -> None:
        """A caller with a slower clock is counted at the latest time seen for the key."""
        rl = make_limiter()
        assert rl.acquire("k", rpm=1, now=T0 + 100) == 0
        assert rl.acquire("k", rpm=1, now=T0) == pytest.approx(60)

    def test_simulated_minute(self, make_limiter: Callable[..., Limiter]) -> None:
        """1,000 calls over 3 keys across three simulated minutes: over every 60-second
        window no key exceeds its rpm or tpm (with actual tokens), and no call was refused
        that would have fitted."""
        rl = make_limiter()
        rng = random.Random(7)
        limits = {"k1": (40, 10**9), "k2": (10**6, 20_000), "k3": (60, 30_000)}
        times = sorted(rng.uniform(0, 180) for _ in range(1000))
        admitted: dict[str, list[tuple[float, int]]] = {k: [] for k in limits}
        refused = 0
        for i, t in enumerate(times):
            key = rng.choice(sorted(limits))
            rpm, tpm = limits[key]
            estimate = rng.randint(100, 1500)
            actual = rng.randint(0, estimate)
            recent = [(at, n) for at, n in admitted[key] if at > t - 60]
            fits = len(recent) + 1 <= rpm and sum(n for _, n in recent) + estimate <= tpm
            wait = rl.acquire(key, tokens=estimate, rpm=rpm, tpm=tpm, ticket=f"c{i}", now=T0 + t)
            assert (wait == 0) == fits, (i, key, wait)
            if wait == 0:
                rl.adjust(key, actual - estimate, ticket=f"c{i}", now=T0 + t)
                admitted[key].append((t, actual))
            else:
                refused += 1
                assert 0 < wait <= 60
        assert refused > 100
        for key, (rpm, tpm) in limits.items():
            for t, _ in admitted[key]:
                window = [n for at, n in admitted[key] if t - 60 < at <= t]
                assert len(window) <= rpm and sum(window) <= tpm


def test_open_rate_limiter(redis_url: str) -> None:
    assert isinstance(open_rate_limiter("memory://", window_s=10), MemoryRateLimiter)
    limiter = open_rate_limiter(f"{redis_url}?prefix=mine")
    assert isinstance(limiter, RedisRateLimiter) and limiter.prefix == "mine"
    with pytest.raises(ConfigurationError) as info:
        open_rate_limiter("sqlite:///x.db")
    assert info.value.field == "rate_limit.store"


# -- 4 processes sharing Redis ------------------------------------------------------------

LIMITS = {"k1": (100, 10**9), "k2": (10**6, 60_000), "k3": (150, 90_000)}


def _acquire_many(url: str, seed: int, out: Any) -> None:
    """Child: 250 calls at random times within one simulated minute, over 3 keys."""
    rl = open_rate_limiter(url)
    rng = random.Random(seed)
    admitted: list[tuple[str, int]] = []
    for i, t in enumerate(sorted(rng.uniform(0, 59.9) for _ in range(250))):
        key = rng.choice(sorted(LIMITS))
        rpm, tpm = LIMITS[key]
        estimate = rng.randint(100, 1500)
        actual = rng.randint(0, estimate)
        ticket = f"p{seed}-{i}"
        if rl.acquire(key, tokens=estimate, rpm=rpm, tpm=tpm, ticket=ticket, now=T0 + t) == 0:
            rl.adjust(key, actual - estimate, ticket=ticket, now=T0 + t)
            admitted.append((key, actual))
    rl.close()
    out.put(admitted)


@pytest.mark.slow
@pytest.mark.redis
def test_four_processes_share_the_limits(redis_url: str) -> None:
    """1,000 calls from 4 processes in one simulated minute: no key exceeds its rpm or tpm,
    and the rpm-bound key admits exactly its rpm (nothing lost, nothing extra)."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    url = f"{redis_url}?prefix=test:{uuid.uuid4().hex[:12]}"
    procs = [ctx.Process(target=_acquire_many, args=(url, s, out)) for s in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert [p.exitcode for p in procs] == [0] * 4
    admitted = [item for result in results for item in result]
    for key, (rpm, tpm) in LIMITS.items():
        mine = [tokens for k, tokens in admitted if k == key]
        assert len(mine) <= rpm and sum(mine) <= tpm, key
    assert len([k for k, _ in admitted if k == "k1"]) == LIMITS["k1"][0]
