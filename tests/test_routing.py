"""The router: retries by error class, waits, breakers, key pools, strategies, rules.

Gateway tests run on Gateway and AsyncGateway from one source (``make_gateway``); time is a
:class:`~aigate.testing.FakeClock`, so backoff, Retry-After, breakers and deadlines run in
no real time and every wait is asserted exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import tenacity

import aigate
from aigate._attempts import attempts
from aigate.routing import (
    BreakerSettings,
    Features,
    MemoryHealthStore,
    Router,
    cheapest,
    least_latency,
    retry_after,
)
from aigate.testing import (
    FakeClock,
    FakeTransport,
    FaultTransport,
    error,
    malformed,
    reply,
    reset,
    stall,
    timeout,
)

HI = [{"role": "user", "content": "Hi"}]
# Exact waits in the tables: 1 s before the first retry, 2 s before the second (no jitter).
EXACT = tenacity.wait_exponential(multiplier=1, max=8)
UNSCRIPTED = error(599, "unscripted call")  # anything the table did not plan fails loudly


def two_targets(keys_a: int = 1, keys_b: int = 1) -> dict[str, Any]:
    return {
        "alpha": {
            "kind": "openai",
            "base_url": "https://alpha.test/v1",
            "api_keys": [f"sk-alpha-{i}" for i in range(keys_a)],
        },
        "beta": {
            "kind": "openai",
            "base_url": "https://beta.test/v1",
            "api_keys": [f"sk-beta-{i}" for i in range(keys_b)],
        },
    }


def build(
    make_gateway: Any,
    fault: FakeTransport,
    *,
    retry: dict[str, Any] | None = None,
    router: dict[str, Any] | None = None,
    route: dict[str, Any] | None = None,
    keys_a: int = 1,
    keys_b: int = 1,
    **extra: Any,
) -> tuple[Any, FakeClock]:
    """A gateway with route ``main`` = alpha/model-a then beta/model-b, on a fake clock."""
    gw = make_gateway(
        providers=two_targets(keys_a, keys_b),
        routes={"main": {"targets": ["alpha/model-a", "beta/model-b"], **(route or {})}},
        router={"retry": retry or {}, **(router or {})},
        transport=fault,
        **extra,
    )
    clock = fault.clock if isinstance(fault, FaultTransport) and fault.clock else FakeClock()
    clock.install(gw.gw)
    return gw, clock


def seen(attempts_: list[aigate.Attempt]) -> list[tuple[str, int | None, str | None, float]]:
    return [(a.provider, a.status_code, a.error, round(a.wait_ms / 1000, 3)) for a in attempts_]


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


# -- the fault table -----------------------------------------------------------------------


@dataclass
class Case:
    id: str
    scripts: dict[str, list[Any]]
    expect: list[tuple[str, int | None, str | None, float]]
    outcome: str | type[BaseException]
    stream: bool = False
    retry: dict[str, Any] = field(default_factory=dict)


GEMINI_429 = {
    "error": {
        "code": 429,
        "message": "Resource has been exhausted",
        "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "4s"}],
    }
}
RL = "RateLimitError"
ISE = "InternalServerError"

CASES = [
    Case(
        "429-retry-after",
        {"model-a": [error(429, headers={"retry-after": "2"}), "from a"]},
        [("alpha", 429, RL, 0), ("alpha", 200, None, 2.0)],
        "from a",
    ),
    Case(
        "429-retry-after-ms",
        {"model-a": [error(429, headers={"retry-after-ms": "2500"}), "from a"]},
        [("alpha", 429, RL, 0), ("alpha", 200, None, 2.5)],
        "from a",
    ),
    Case(
        "429-x-ratelimit-reset",
        {
            "model-a": [
                error(
                    429,
                    headers={
                        "x-ratelimit-limit-requests": "60",
                        "x-ratelimit-remaining-requests": "0",
                        "x-ratelimit-reset-requests": "3s",
                    },
                ),
                "from a",
            ]
        },
        [("alpha", 429, RL, 0), ("alpha", 200, None, 3.0)],
        "from a",
    ),
    Case(
        "429-gemini-retry-delay",
        {"model-a": [error(429, body=GEMINI_429), "from a"]},
        [("alpha", 429, RL, 0), ("alpha", 200, None, 4.0)],
        "from a",
    ),
    Case(
        "429-retry-after-over-the-cap-fails-over",
        {"model-a": [error(429, headers={"retry-after": "600"})], "model-b": ["from b"]},
        [("alpha", 429, RL, 0), ("beta", 200, None, 0)],
        "from b",
    ),
    Case(
        "500-retried-after-backoff",
        {"model-a": [error(500), "from a"]},
        [("alpha", 500, ISE, 0), ("alpha", 200, None, 1.0)],
        "from a",
    ),
    Case(
        "529-retried-then-failover",
        {"model-a": [error(529), error(529)], "model-b": ["from b"]},
        [("alpha", 529, ISE, 0), ("alpha", 529, ISE, 1.0), ("beta", 200, None, 0)],
        "from b",
    ),
    Case(
        "timeout",
        {"model-a": [timeout(), "from a"]},
        [("alpha", None, "APITimeoutError", 0), ("alpha", 200, None, 1.0)],
        "from a",
    ),
    Case(
        "connection-reset",
        {"model-a": [reset(), "from a"]},
        [("alpha", None, "APIConnectionError", 0), ("alpha", 200, None, 1.0)],
        "from a",
    ),
    Case(
        "malformed-json",
        {"model-a": [malformed(), "from a"]},
        [("alpha", 200, "APIResponseValidationError", 0), ("alpha", 200, None, 1.0)],
        "from a",
    ),
    Case(
        "stall-before-headers-bounded-by-the-deadline",
        {"model-a": [stall(30)], "model-b": ["from b"]},
        [("alpha", None, "APITimeoutError", 0), ("beta", 200, None, 0)],
        "from b",
        retry={"retries": 0, "deadline_s": 20},
    ),
    Case(
        "all-fail",
        {"model-a": [error(500), error(503)], "model-b": [error(502), timeout()]},
        [
            ("alpha", 500, ISE, 0),
            ("alpha", 503, ISE, 1.0),
            ("beta", 502, ISE, 0),
            ("beta", None, "APITimeoutError", 1.0),
        ],
        aigate.AllTargetsFailed,
    ),
    Case(
        "400-is-never-retried",
        {"model-a": [error(400, "bad")]},
        [("alpha", 400, "BadRequestError", 0)],
        aigate.BadRequestError,
    ),
    Case(
        "404-is-never-retried",
        {"model-a": [error(404, "no such model")]},
        [("alpha", 404, "NotFoundError", 0)],
        aigate.NotFoundError,
    ),
    # streams: retries and failover until the first content, StreamInterrupted after it
    Case(
        "stream-cut-before-content",
        {"model-a": [reply("lost", cut_after=1), "from a"]},
        [("alpha", 200, "APIConnectionError", 0), ("alpha", 200, None, 1.0)],
        "from a",
        stream=True,
    ),
    Case(
        "stream-malformed-before-content",
        {"model-a": [malformed(after=0)], "model-b": ["from b"]},
        [("alpha", 200, "APIResponseValidationError", 0), ("beta", 200, None, 0)],
        "from b",
        stream=True,
        retry={"retries": 0},
    ),
    Case(
        "stream-429-before-headers",
        {"model-a": [error(429, headers={"retry-after": "1.5"}), "from a"]},
        [("alpha", 429, RL, 0), ("alpha", 200, None, 1.5)],
        "from a",
        stream=True,
    ),
    Case(
        "stream-stall-past-the-first-token-timeout",
        {"model-a": [stall(30, after=1)], "model-b": ["from b"]},
        [("alpha", 200, "APITimeoutError", 0), ("beta", 200, None, 0)],
        "from b",
        stream=True,
        retry={"retries": 0, "first_token_timeout_s": 5, "idle_timeout_s": 60},
    ),
    Case(
        "stream-stall-past-the-idle-timeout-before-content",
        {"model-a": [stall(30, after=1)], "model-b": ["from b"]},
        [("alpha", 200, "APITimeoutError", 0), ("beta", 200, None, 0)],
        "from b",
        stream=True,
        retry={"retries": 0, "idle_timeout_s": 10},
    ),
    Case(
        "stream-slow-but-within-timeouts",
        {"model-a": [stall(3, after=2, text="one two three")]},
        [("alpha", 200, None, 0)],
        "one two three",
        stream=True,
        retry={"first_token_timeout_s": 5, "idle_timeout_s": 10},
    ),
    Case(
        "stream-cut-after-content",
        {"model-a": [reply("one two three four", cut_after=3)]},
        [("alpha", 200, None, 0)],
        aigate.StreamInterrupted,
        stream=True,
    ),
    Case(
        "stream-stall-after-content",
        {"model-a": [stall(30, after=3, text="one two three four")]},
        [("alpha", 200, None, 0)],
        aigate.StreamInterrupted,
        stream=True,
        retry={"idle_timeout_s": 10},
    ),
    Case(
        "stream-malformed-after-content",
        {"model-a": [malformed(after=2, text="one two three")]},
        [("alpha", 200, None, 0)],
        aigate.StreamInterrupted,
        stream=True,
    ),
]


class TestFaultTable:
    @pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
    def test_attempts_waits_and_outcome(self, make_gateway: Any, case: Case) -> None:
        """Each fault gives exactly this attempt sequence, these waits and this outcome."""
        clock = FakeClock()
        fault = FaultTransport(case.scripts, default=UNSCRIPTED, clock=clock)
        gw, _ = build(make_gateway, fault, retry={"retries": 1, "wait": EXACT, **case.retry})
        waits = [w for *_, w in case.expect if w]
        if isinstance(case.outcome, str):
            if case.stream:
                chunks, stream = gw.stream(model="main", messages=HI)
                assert text_of(chunks) == case.outcome
                assert stream.completion().choices[0].finish_reason == "stop"
                got = stream.gateway.attempts
            else:
                r = gw.chat(model="main", messages=HI)
                assert r.choices[0].message.content == case.outcome
                got = r.gateway.attempts
            assert seen(got) == case.expect
        else:
            with pytest.raises(case.outcome) as info:
                if case.stream:
                    gw.stream(model="main", messages=HI)
                else:
                    gw.chat(model="main", messages=HI)
            err = info.value
            if isinstance(err, aigate.AllTargetsFailed):
                assert seen(err.attempts) == case.expect
                assert [type(e).__name__ for e in err.errors] == [e for *_, e, _ in case.expect]
            elif isinstance(err, aigate.StreamInterrupted):
                assert seen(err.partial.gateway.attempts) == case.expect
                assert err.partial.choices[0].message.content  # the partial text is kept
                assert err.partial.choices[0].message.content != "one two three four"
            assert [c.model for c in fault.calls] == [
                {"alpha": "model-a", "beta": "model-b"}[p] for p, *_ in case.expect
            ]
        assert clock.sleeps == waits
        assert len(fault.calls) == len(case.expect)

    def test_default_backoff_is_full_jitter_within_the_window(self, make_gateway: Any) -> None:
        """Without a wait strategy, retry n sleeps uniform in [0, min(max, base * 2**(n-1))]."""
        script = [error(500)] * 4
        for _ in range(5):
            fault = FaultTransport({"model-a": script})
            gw, clock = build(
                make_gateway,
                fault,
                route={"targets": ["alpha/model-a"]},
                retry={"retries": 3, "backoff_s": 0.5, "backoff_max_s": 1.5},
            )
            with pytest.raises(aigate.AllTargetsFailed):
                gw.chat(model="main", messages=HI)
            assert len(clock.sleeps) == 3
            for n, slept in enumerate(clock.sleeps, start=1):
                assert 0 <= slept <= min(1.5, 0.5 * 2 ** (n - 1))

    def test_request_error_after_failover_is_all_targets_failed(self, make_gateway: Any) -> None:
        fault = FaultTransport({"model-a": [error(503)], "model-b": [error(422)]})
        gw, _ = build(make_gateway, fault)
        with pytest.raises(aigate.AllTargetsFailed) as info:
            gw.chat(model="main", messages=HI)
        assert [type(e) for e in info.value.errors] == [
            aigate.InternalServerError,
            aigate.UnprocessableEntityError,
        ]


# -- deadlines and attempt caps ------------------------------------------------------------


class TestDeadline:
    def test_deadline_bounds_sleeps_and_request_timeouts(self, make_gateway: Any) -> None:
        """No wait that would cross the deadline is taken; every request's timeouts are cut
        to what is left of it."""
        fault = FaultTransport({"model-a": [error(500)] * 5, "model-b": [error(500)] * 5})
        gw, clock = build(
            make_gateway, fault, retry={"retries": 4, "wait": EXACT, "deadline_s": 4.5}
        )
        with pytest.raises(aigate.AllTargetsFailed) as info:
            gw.chat(model="main", messages=HI)
        # alpha: 0, +1, +2 (t=3); +4 would pass 4.5, so beta at t=3, then +1 (t=4), then stop
        assert seen(info.value.attempts) == [
            ("alpha", 500, ISE, 0),
            ("alpha", 500, ISE, 1.0),
            ("alpha", 500, ISE, 2.0),
            ("beta", 500, ISE, 0),
            ("beta", 500, ISE, 1.0),
        ]
        assert sum(clock.sleeps) <= 4.5
        sent = [c.request.extensions["timeout"] for c in fault.calls]
        assert sent[0]["read"] == pytest.approx(4.5)
        assert sent[-1]["read"] == pytest.approx(0.5)
        assert all(t["connect"] <= t["read"] for t in sent)

    def test_max_attempts_caps_every_request(self, make_gateway: Any) -> None:
        fault = FaultTransport({"model-a": [error(500)] * 9, "model-b": [error(500)] * 9})
        gw, _ = build(make_gateway, fault, retry={"retries": 5, "max_attempts": 3, "wait": EXACT})
        with pytest.raises(aigate.AllTargetsFailed) as info:
            gw.chat(model="main", messages=HI)
        assert len(fault.calls) == 3
        assert len(info.value.attempts) == 3

    def test_route_retry_overrides_only_the_fields_it_sets(self, make_gateway: Any) -> None:
        fault = FaultTransport({"model-a": [error(500), "from a"]})
        gw, clock = build(
            make_gateway,
            fault,
            retry={"retries": 0, "wait": EXACT, "deadline_s": 60},
            route={"retry": {"retries": 1}},
        )
        r = gw.chat(model="main", messages=HI)
        assert r.choices[0].message.content == "from a"
        assert clock.sleeps == [1.0]  # the gateway's wait strategy, the route's retries

    def test_stream_idle_timeout_sets_the_read_timeout(self, make_gateway: Any) -> None:
        fault = FaultTransport({"model-a": ["hello"]})
        gw, _ = build(make_gateway, fault, retry={"idle_timeout_s": 7})
        gw.stream(model="main", messages=HI)
        gw.chat(model="main", messages=HI)
        streamed, plain = (c.request.extensions["timeout"] for c in fault.calls)
        assert streamed["read"] == 7
        assert plain["read"] == 600  # idle timeouts are for streams


# -- keys ------------------------------------------------------------------------------------


class TestKeys:
    def test_key_error_disables_the_key_and_tries_the_next(self, make_gateway: Any) -> None:
        """401 marks the key dead and the same provider's next key is tried at once; the dead
        key is reported and skipped by later calls, never retried in a loop."""
        fault = FaultTransport({"model-a": [error(401), "from a", "again"]})
        gw, clock = build(make_gateway, fault, keys_a=2)
        r = gw.chat(model="main", messages=HI)
        first, second = r.gateway.attempts
        assert (first.status_code, first.error_class, second.status_code) == (401, "key", 200)
        assert first.key_id != second.key_id
        assert clock.sleeps == []
        health = gw.gw.health()
        assert [(k.provider, k.key_id, k.reason) for k in health.dead_keys] == [
            ("alpha", first.key_id, "AuthenticationError")
        ]
        gw.chat(model="main", messages=HI)
        used = [c.request.headers["authorization"] for c in fault.calls]
        assert used[1] == used[2] != used[0]

    def test_every_key_dead_surfaces_the_error_after_one_try_each(self, make_gateway: Any) -> None:
        body = {"error": {"message": "quota", "type": "insufficient_quota", "code": "x"}}
        fault = FaultTransport(
            {"model-a": [error(403), error(401), error(429, body=body)]}, default=UNSCRIPTED
        )
        gw, _ = build(
            make_gateway,
            fault,
            keys_a=3,
            route={"targets": ["alpha/model-a"]},
            retry={"retries": 3},
        )
        with pytest.raises(aigate.AllTargetsFailed) as info:
            gw.chat(model="main", messages=HI)
        assert [a.error_class for a in info.value.attempts] == ["key", "key", "key"]
        assert len({a.key_id for a in info.value.attempts}) == 3
        assert len(fault.calls) == 3
        assert len(gw.gw.health().dead_keys) == 3
        with pytest.raises(aigate.AllTargetsFailed) as again:
            gw.chat(model="main", messages=HI)
        assert len(fault.calls) == 3  # nothing sent: every key is dead
        assert again.value.retry_at is not None

    def test_429_cools_the_key_and_a_retry_uses_another(self, make_gateway: Any) -> None:
        """Every key is tried before a rate limit is surfaced."""
        fault = FaultTransport({"model-a": [error(429, headers={"retry-after": "20"})] * 3})
        gw, clock = build(
            make_gateway,
            fault,
            keys_a=3,
            route={"targets": ["alpha/model-a"]},
            retry={"retries": 5, "retry_after_cap_s": 10},
        )
        with pytest.raises(aigate.AllTargetsFailed) as info:
            gw.chat(model="main", messages=HI)
        assert len({a.key_id for a in info.value.attempts}) == 3
        assert clock.sleeps == []  # each retry went to a fresh key; 20 s is over the cap
        assert info.value.retry_at == pytest.approx(clock.now + 20)
        cooled = [k for k in gw.gw.health().keys if k.provider == "alpha"]
        assert {k.state for k in cooled} == {"open"}

    def test_single_key_429_waits_for_its_key(self, make_gateway: Any) -> None:
        fault = FaultTransport({"model-a": [error(429), "from a"]})
        gw, clock = build(
            make_gateway,
            fault,
            route={"targets": ["alpha/model-a"]},
            retry={"retries": 1, "wait": EXACT},
            router={"breaker": {"key_cooldown_s": 3}},
        )
        assert gw.chat(model="main", messages=HI).choices[0].message.content == "from a"
        assert clock.sleeps == [3.0]  # no Retry-After: the key's default cooldown

    @pytest.mark.parametrize("strategy", ["round_robin", "least_used"])
    def test_keys_share_the_load(self, make_gateway: Any, strategy: str) -> None:
        fault = FaultTransport(default=reply("ok"))
        gw, _ = build(make_gateway, fault, keys_a=3, router={"keys": {"strategy": strategy}})
        for _ in range(9):
            gw.chat(model="alpha/model-a", messages=HI)
        used = Counter(c.request.headers["authorization"] for c in fault.calls)
        assert sorted(used.values()) == [3, 3, 3]
        assert sum(k.uses for k in gw.gw.health().keys if k.provider == "alpha") == 9

    def test_weighted_keys_follow_their_weights(self, make_gateway: Any) -> None:
        fault = FaultTransport(default=reply("ok"))
        pools = {"alpha": {"strategy": "weighted", "weights": [3, 1, 0]}}
        gw, _ = build(make_gateway, fault, keys_a=3, router={"key_pools": pools, "seed": 7})
        for _ in range(200):
            gw.chat(model="alpha/model-a", messages=HI)
        used = Counter(c.request.headers["authorization"] for c in fault.calls)
        assert "Bearer sk-alpha-2" not in used  # weight 0: only when the others are gone
        assert 120 <= used["Bearer sk-alpha-0"] <= 180

    def test_sticky_keys_keep_a_user_on_one_key(self, make_gateway: Any) -> None:
        fault = FaultTransport(default=reply("ok"))
        gw, _ = build(make_gateway, fault, keys_a=4, router={"keys": {"strategy": "sticky"}})
        users = [f"user-{i}" for i in range(12)]
        for _ in range(3):
            for user in users:
                gw.chat(model="alpha/model-a", messages=HI, user=user)
        by_user: dict[str, set[str]] = {}
        for c in fault.calls:
            by_user.setdefault(c.json["user"], set()).add(c.request.headers["authorization"])
        assert all(len(keys) == 1 for keys in by_user.values())
        assert len({next(iter(k)) for k in by_user.values()}) > 1  # users spread over keys

    def test_sticky_moves_only_the_dead_keys_users(self, make_gateway: Any) -> None:
        fault = FaultTransport(default=reply("ok"))
        gw, _ = build(make_gateway, fault, keys_a=3, router={"keys": {"strategy": "sticky"}})
        users = [f"u{i}" for i in range(15)]
        before = {}
        for user in users:
            gw.chat(model="alpha/model-a", messages=HI, user=user)
            before[user] = fault.calls[-1].request.headers["authorization"]
        victim = before["u0"]
        router = gw.gw._core.router
        pool = router.pools["alpha"]
        index = [f"Bearer {k.get()}" for k in pool.keys].index(victim)
        router.store.record(pool.names[index], "dead", router.clock())
        for user in users:
            gw.chat(model="alpha/model-a", messages=HI, user=user)
            after = fault.calls[-1].request.headers["authorization"]
            assert after != victim
            if before[user] != victim:
                assert after == before[user]

    def test_rpm_cap_per_key(self, make_gateway: Any) -> None:
        """rpm=2 on each of 2 keys: 4 calls go, the 5th waits for the window when the call
        may wait (a deadline), else fails with retry_at."""
        fault = FaultTransport(default=reply("ok"))
        gw, clock = build(
            make_gateway,
            fault,
            keys_a=2,
            route={"targets": ["alpha/model-a"]},
            router={"keys": {"rpm": 2}},
        )
        for _ in range(4):
            gw.chat(model="main", messages=HI)
            clock.advance(1)
        with pytest.raises(aigate.AllTargetsFailed) as info:
            gw.chat(model="main", messages=HI)
        assert len(fault.calls) == 4
        assert info.value.retry_at == pytest.approx(clock.now - 4 + 60)
        gw2, clock2 = build(
            make_gateway,
            FaultTransport(default=reply("ok")),
            keys_a=1,
            route={"targets": ["alpha/model-a"], "retry": {"deadline_s": 120}},
            router={"keys": {"rpm": 1}},
        )
        gw2.chat(model="main", messages=HI)
        gw2.chat(model="main", messages=HI)
        assert clock2.sleeps == [60.0]

    def test_tpm_cap_counts_estimates_then_real_usage(self, make_gateway: Any) -> None:
        fault = FaultTransport(default=reply("ok", usage={"prompt_tokens": 10,
                                                          "completion_tokens": 10,
                                                          "total_tokens": 20}))  # fmt: skip
        gw, _ = build(
            make_gateway,
            fault,
            route={"targets": ["alpha/model-a"]},
            router={"keys": {"tpm": 100}},
        )
        # Each call reserves its estimate (~8 prompt + 30 max_tokens) and is then charged its
        # real 20 tokens: 4 calls fit in 100 (uncorrected estimates would allow only 2).
        for _ in range(4):
            gw.chat(model="main", messages=HI, max_tokens=30)
        with pytest.raises(aigate.AllTargetsFailed) as info:
            gw.chat(model="main", messages=HI, max_tokens=30)
        assert len(fault.calls) == 4
        assert info.value.retry_at is not None


# -- breakers ---------------------------------------------------------------------------------


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> Any:
    settings = BreakerSettings(failures=3, window_s=10, cooldown_s=30, probe_timeout_s=5)
    if request.param == "memory":
        yield MemoryHealthStore(settings)
        return
    from aigate.routing import RedisHealthStore

    url = request.getfixturevalue("redis_url")
    redis_store = RedisHealthStore(url, settings=settings, prefix="aigate:test:health:")
    yield redis_store
    redis_store.close()


class TestBreaker:
    """One rule set, checked on every store (in-process and Redis)."""

    T0 = 1_000_000.0

    def test_opens_after_k_failures_in_the_window(self, store: Any) -> None:
        t = self.T0
        for i in range(2):
            store.record("t", "fail", t + i)
        assert store.check("t", t + 2) == 0.0
        store.record("t", "fail", t + 3)
        assert store.check("t", t + 4) == pytest.approx(t + 33)
        state = store.states(["t"])["t"]
        assert (state.state, state.failures) == ("open", 3)

    def test_failures_outside_the_window_and_successes_reset(self, store: Any) -> None:
        t = self.T0
        store.record("t", "fail", t)
        store.record("t", "fail", t + 1)
        store.record("t", "fail", t + 12)  # the window (10 s) has passed: counts as the first
        assert store.check("t", t + 12) == 0.0
        store.record("t", "fail", t + 13)
        store.record("t", "ok", t + 14)
        store.record("t", "fail", t + 15)
        assert store.check("t", t + 15) == 0.0
        assert store.states(["t"])["t"].failures == 1

    def test_half_open_lets_one_probe_through(self, store: Any) -> None:
        t = self.T0
        for _ in range(3):
            store.record("t", "fail", t)
        assert store.check("t", t + 29) == pytest.approx(t + 30)
        assert store.check("t", t + 30) == 0.0  # the probe
        assert store.check("t", t + 31) == pytest.approx(t + 35)  # others wait for it
        assert store.states(["t"])["t"].state == "half_open"
        store.record("t", "ok", t + 32)
        assert store.check("t", t + 32) == 0.0
        assert store.states(["t"]) == {} or store.states(["t"])["t"].state == "closed"

    def test_failed_probe_reopens_and_an_abandoned_probe_expires(self, store: Any) -> None:
        t = self.T0
        for _ in range(3):
            store.record("t", "fail", t)
        assert store.check("t", t + 30) == 0.0
        store.record("t", "fail", t + 31)
        assert store.check("t", t + 32) == pytest.approx(t + 61)
        assert store.check("t", t + 61) == 0.0  # probe claimed, never reported
        assert store.check("t", t + 66) == 0.0  # its lease (5 s) ran out: a new probe

    def test_retry_after_extends_but_never_shortens(self, store: Any) -> None:
        t = self.T0
        store.record("k", "cool", t, 50)
        store.record("k", "cool", t + 1, 5)
        assert store.check("k", t + 10) == pytest.approx(t + 50)
        for _ in range(3):
            store.record("t", "fail", t, 90)
        assert store.check("t", t + 1) == pytest.approx(t + 90)  # longer than the cooldown

    def test_dead_keys(self, store: Any) -> None:
        t = self.T0
        store.record("k", "dead", t, reason="AuthenticationError")
        store.record("k", "cool", t + 1, 5)  # a later 429 does not revive it
        state = store.states(["k"])["k"]
        assert (state.state, state.reason) == ("dead", "AuthenticationError")
        assert store.check("k", t + 100) == pytest.approx(t + 3600)


class TestBreakerInGateway:
    def test_open_target_is_skipped_without_a_request(self, make_gateway: Any) -> None:
        fault = FaultTransport(
            {"model-a": [error(500), error(500), "probe ok"]}, default=reply("from b")
        )
        gw, clock = build(
            make_gateway, fault, router={"breaker": {"failures": 2, "cooldown_s": 30}}
        )
        for _ in range(2):
            assert gw.chat(model="main", messages=HI).gateway.provider == "beta"
        health = gw.gw.health()
        assert health.targets["alpha/model-a"].state == "open"
        assert health.targets["alpha/model-a"].open_until == pytest.approx(clock.now + 30)
        assert health.targets["alpha/model-a"].reason == "InternalServerError"
        before = len(fault.calls)
        r = gw.chat(model="main", messages=HI)
        assert [a.provider for a in r.gateway.attempts] == ["beta"]
        assert len(fault.calls) == before + 1
        clock.advance(30)
        r = gw.chat(model="main", messages=HI)  # the half-open probe
        assert r.choices[0].message.content == "probe ok"
        assert gw.gw.health().targets["alpha/model-a"].state == "closed"

    def test_request_errors_never_open_it(self, make_gateway: Any) -> None:
        fault = FaultTransport({"model-a": [error(400)] * 6})
        gw, _ = build(make_gateway, fault, router={"breaker": {"failures": 2}})
        for _ in range(6):
            with pytest.raises(aigate.BadRequestError):
                gw.chat(model="main", messages=HI)
        assert len(fault.calls) == 6
        assert gw.gw.health().targets["alpha/model-a"].state == "closed"

    def test_all_open_raises_with_retry_at(self, make_gateway: Any) -> None:
        fault = FaultTransport(default=error(503))
        gw, clock = build(make_gateway, fault, router={"breaker": {"failures": 1}})
        with pytest.raises(aigate.AllTargetsFailed):
            gw.chat(model="main", messages=HI)
        clock.advance(5)
        with pytest.raises(aigate.AllTargetsFailed) as info:
            gw.chat(model="main", messages=HI)
        assert info.value.attempts == []
        assert info.value.retry_at == pytest.approx(clock.now + 25)
        assert len(fault.calls) == 2

    def test_all_open_waits_for_the_earliest_within_the_deadline(self, make_gateway: Any) -> None:
        fault = FaultTransport(
            {
                "model-a": [error(503, headers={"retry-after": "60"})],
                "model-b": [error(503), "from b"],
            }
        )
        gw, clock = build(
            make_gateway,
            fault,
            router={"breaker": {"failures": 1, "cooldown_s": 10}},
            retry={"deadline_s": 30},
        )
        with pytest.raises(aigate.AllTargetsFailed):
            gw.chat(model="main", messages=HI)  # opens both (beta at t+0 too)
        clock.advance(2)
        r = gw.chat(model="main", messages=HI)
        assert r.choices[0].message.content == "from b"
        assert clock.sleeps == [8.0]
        assert seen(r.gateway.attempts)[-1] == ("beta", 200, None, 8.0)

    def test_health_store_outage_reads_healthy(
        self, make_gateway: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        class Broken(MemoryHealthStore):
            remote = True

            def check(self, name: str, now: float) -> float:
                raise ConnectionError("down")

            async def acheck(self, name: str, now: float) -> float:
                raise ConnectionError("down")

            def record(self, *args: Any, **kwargs: Any) -> None:
                raise ConnectionError("down")

            async def arecord(self, *args: Any, **kwargs: Any) -> None:
                raise ConnectionError("down")

        fault = FaultTransport({"model-a": [error(500)], "model-b": ["from b"]})
        gw, _ = build(make_gateway, fault)
        gw.gw._core.router.store = Broken()
        with caplog.at_level("WARNING", logger="aigate"):
            assert gw.chat(model="main", messages=HI).choices[0].message.content == "from b"
        warnings = [r for r in caplog.records if "health store" in r.getMessage()]
        assert len(warnings) == 1  # said once, not once per check

    def test_a_request_error_surfaces_as_itself_past_open_targets(self, make_gateway: Any) -> None:
        fault = FaultTransport({"model-a": [error(503)], "model-b": [error(400, "bad")] * 2})
        gw, _ = build(make_gateway, fault, router={"breaker": {"failures": 1}})
        with pytest.raises(aigate.AllTargetsFailed):
            gw.chat(model="main", messages=HI)  # alpha 503 (opens), beta 400
        with pytest.raises(aigate.BadRequestError):
            gw.chat(model="main", messages=HI)  # alpha skipped, beta's 400 is the answer


def _redis_gateway(cls: Any, redis_url: str, fault: FakeTransport, clock: FakeClock) -> Any:
    gw = cls(
        providers=two_targets(),
        routes={"main": ["alpha/model-a", "beta/model-b"]},
        router={"health": redis_url, "breaker": {"failures": 1}},
        transport=fault,
    )
    clock.install(gw)
    return gw


def test_clock_and_sleep_are_constructor_parameters(mode: str) -> None:
    """FakeClock goes in through public parameters (issue 12: it patched private ones)."""
    clock = FakeClock()
    fault = FaultTransport({"model-a": [error(503), error(503)], "model-b": ["b"]})
    cls = aigate.Gateway if mode == "sync" else aigate.AsyncGateway
    gw = cls(
        providers=two_targets(),
        routes={"main": ["alpha/model-a", "beta/model-b"]},
        router={"breaker": {"failures": 2, "cooldown_s": 30}, "retry": {"retries": 1}},
        transport=fault,
        sleep=clock.sleep,
        clock=clock,
    )
    assert gw._core.router.clock == clock
    if mode == "sync":
        gw.chat.completions.create(model="main", messages=HI)
        state = gw.health().targets["alpha/model-a"]
        gw.close()
    else:
        import asyncio

        async def run() -> Any:
            await gw.chat.completions.create(model="main", messages=HI)
            health = await gw.ahealth()
            await gw.aclose()
            return health.targets["alpha/model-a"]

        state = asyncio.run(run())
    assert clock.sleeps  # the retry waited on the fake clock, in no real time
    assert state.state == "open" and state.open_until == pytest.approx(clock.now + 30, abs=5)


@pytest.mark.redis
class TestSharedHealth:
    def test_async_health_reads_redis_without_blocking(
        self, redis_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """AsyncGateway.ahealth() awaits the shared store (health() made a blocking call)."""
        import asyncio

        async def main() -> None:
            clock = FakeClock()
            fault = FaultTransport({"model-a": [error(503)], "model-b": ["b"]})
            gw = _redis_gateway(aigate.AsyncGateway, redis_url, fault, clock)
            await gw.chat.completions.create(model="main", messages=HI)
            store = gw._core.router.store

            def blocking(names: Any) -> Any:
                raise AssertionError("a blocking Redis read inside the event loop")

            monkeypatch.setattr(store, "states", blocking)
            health = await gw.ahealth()
            assert health.targets["alpha/model-a"].state == "open"
            await gw._core.router.aclose()
            await gw.aclose()

        asyncio.run(main())

    def test_breakers_are_shared_through_redis(self, redis_url: str) -> None:
        """A breaker opened by one gateway is seen by another (another process, in effect)."""
        clock = FakeClock()
        first_fault = FaultTransport({"model-a": [error(503)], "model-b": ["b"]})
        second_fault = FaultTransport(default=reply("b"))
        with (
            _redis_gateway(aigate.Gateway, redis_url, first_fault, clock) as first,
            _redis_gateway(aigate.Gateway, redis_url, second_fault, clock) as second,
        ):
            first.chat.completions.create(model="main", messages=HI)
            r = second.chat.completions.create(model="main", messages=HI)
            assert [a.provider for a in r.gateway.attempts] == ["beta"]
            assert [c.model for c in second_fault.calls] == ["model-b"]
            assert second.health().targets["alpha/model-a"].state == "open"
            first._core.router.close()
            second._core.router.close()

    def test_async_gateways_share_it_too(self, redis_url: str) -> None:
        import asyncio

        async def main() -> None:
            clock = FakeClock()
            first_fault = FaultTransport({"model-a": [error(503)], "model-b": ["b"]})
            second_fault = FaultTransport(default=reply("b"))
            first = _redis_gateway(aigate.AsyncGateway, redis_url, first_fault, clock)
            second = _redis_gateway(aigate.AsyncGateway, redis_url, second_fault, clock)
            await first.chat.completions.create(model="main", messages=HI)
            r = await second.chat.completions.create(model="main", messages=HI)
            assert [a.provider for a in r.gateway.attempts] == ["beta"]
            clock.advance(31)  # past the cooldown: the second gateway probes and closes it
            await second.chat.completions.create(model="main", messages=HI)
            assert [c.model for c in second_fault.calls] == ["model-b", "model-a"]
            assert first.health().targets["alpha/model-a"].state == "closed"
            for gw in (first, second):
                await gw._core.router.aclose()
                await gw.aclose()

        asyncio.run(main())


# -- strategies --------------------------------------------------------------------------------

THREE = {
    "alpha": {"kind": "openai", "base_url": "https://alpha.test/v1", "api_keys": ["sk-a"]},
}
PRICES = {
    "alpha/pricey": {"input_per_million": 5, "output_per_million": 15},
    "alpha/cheap": {"input_per_million": 0.1, "output_per_million": 0.4},
    "alpha/unpriced": {},
}


def routed(make_gateway: Any, route: dict[str, Any], **extra: Any) -> tuple[Any, FakeTransport]:
    fault = FaultTransport(default=reply("ok"))
    gw = make_gateway(providers=THREE, routes={"r": route}, transport=fault, **extra)
    FakeClock().install(gw.gw)
    return gw, fault


def models(fault: FakeTransport) -> list[str | None]:
    return [c.model for c in fault.calls]


class TestStrategies:
    def test_priority_tiers_come_first(self, make_gateway: Any) -> None:
        route = {
            "targets": [
                {"target": "alpha/a", "priority": 1},
                "alpha/b",
                {"target": "alpha/c", "priority": 1},
            ]
        }
        gw, fault = routed(make_gateway, route)
        gw.chat(model="r", messages=HI)
        assert [t.name for t in gw.gw.routes["r"]] == ["alpha/a", "alpha/b", "alpha/c"]
        assert models(fault) == ["b"]

    def test_round_robin_rotates(self, make_gateway: Any) -> None:
        gw, fault = routed(
            make_gateway, {"targets": ["alpha/a", "alpha/b", "alpha/c"], "strategy": "round_robin"}
        )
        for _ in range(6):
            gw.chat(model="r", messages=HI)
        assert models(fault) == ["a", "b", "c", "a", "b", "c"]

    def test_weighted_follows_weights_and_is_seedable(self, make_gateway: Any) -> None:
        route = {
            "targets": [{"target": "alpha/a", "weight": 3}, {"target": "alpha/b", "weight": 1}],
            "strategy": "weighted",
        }
        runs = []
        for _ in range(2):
            gw, fault = routed(make_gateway, route, router={"seed": 42})
            for _ in range(400):
                gw.chat(model="r", messages=HI)
            runs.append(models(fault))
        assert runs[0] == runs[1]  # same seed, same choices
        share = Counter(runs[0])["a"] / 400
        assert 0.68 <= share <= 0.82

    def test_weighted_failover_order_is_weighted_too(self, make_gateway: Any) -> None:
        route = {
            "targets": [{"target": "alpha/a", "weight": 1}, {"target": "alpha/b", "weight": 0}],
            "strategy": "weighted",
        }
        fault = FaultTransport({"a": [error(500)]}, default=reply("ok"))
        gw = make_gateway(providers=THREE, routes={"r": route}, transport=fault)
        r = gw.chat(model="r", messages=HI)
        assert [a.model for a in r.gateway.attempts] == ["a", "b"]

    def test_least_latency_uses_the_moving_average(self, make_gateway: Any) -> None:
        gw, fault = routed(
            make_gateway, {"targets": ["alpha/a", "alpha/b"], "strategy": "least_latency"}
        )
        stats = gw.gw._core.router.stats
        gw.chat(model="r", messages=HI)  # a: unmeasured targets go first
        gw.chat(model="r", messages=HI)  # b: now the only unmeasured one
        stats["alpha/a"].latency_ms, stats["alpha/b"].latency_ms = 900.0, 100.0
        stats["alpha/a"].ttft_ms, stats["alpha/b"].ttft_ms = 50.0, 400.0
        gw.chat(model="r", messages=HI)
        gw.stream(model="r", messages=HI)  # streams go by time to first token
        assert models(fault) == ["a", "b", "b", "a"]
        b = stats["alpha/b"]
        assert 100.0 > b.latency_ms > 0  # moved toward the new (fast, in-process) sample

    def test_failures_count_as_slow_for_least_latency(self) -> None:
        from aigate.routing import TargetStats

        stats = TargetStats(alpha=0.5)
        stats.observe(100.0, stream=False)
        stats.observe(300.0, stream=False)
        assert stats.latency_ms == 200.0
        stats.observe(40.0, stream=True)
        assert (stats.ttft_ms, stats.latency_ms) == (40.0, 200.0)

    def test_cheapest_by_catalog_price(self, make_gateway: Any) -> None:
        gw, fault = routed(
            make_gateway,
            {"targets": ["alpha/unpriced", "alpha/pricey", "alpha/cheap"], "strategy": "cheapest"},
            prices=PRICES,
        )
        r = gw.chat(model="r", messages=HI, max_tokens=100)
        assert models(fault) == ["cheap"]
        assert r.gateway.cost_usd is not None

    def test_cheapest_weighs_output_by_max_tokens(self, make_gateway: Any) -> None:
        """Cheap input but dear output loses when the call asks for many output tokens."""
        prices = {
            "alpha/in-cheap": {"input_per_million": 0.1, "output_per_million": 50},
            "alpha/out-cheap": {"input_per_million": 3, "output_per_million": 1},
        }
        gw, fault = routed(
            make_gateway,
            {"targets": ["alpha/in-cheap", "alpha/out-cheap"], "strategy": "cheapest"},
            prices=prices,
        )
        long_prompt = [{"role": "user", "content": "word " * 3000}]
        gw.chat(model="r", messages=long_prompt, max_tokens=1)
        gw.chat(model="r", messages=HI, max_tokens=4000)
        assert models(fault) == ["in-cheap", "out-cheap"]

    def test_least_busy(self, make_gateway: Any) -> None:
        gw, fault = routed(
            make_gateway, {"targets": ["alpha/a", "alpha/b"], "strategy": "least_busy"}
        )
        stats = gw.gw._core.router.stats
        stats["alpha/a"].in_flight = 3
        gw.chat(model="r", messages=HI)
        assert models(fault) == ["b"]
        assert stats["alpha/b"].in_flight == 0  # counted while the request was out

    def test_composed_and_callable_strategies(self, make_gateway: Any) -> None:
        prices = {
            "alpha/a": {"input_per_million": 1, "output_per_million": 1},
            "alpha/b": {"input_per_million": 1, "output_per_million": 1},
            "alpha/c": {"input_per_million": 9, "output_per_million": 9},
        }
        both = cheapest().then(least_latency())
        gw, fault = routed(
            make_gateway,
            {"targets": ["alpha/c", "alpha/a", "alpha/b"], "strategy": both},
            prices=prices,
        )
        stats = gw.gw._core.router.stats
        stats["alpha/a"].latency_ms, stats["alpha/b"].latency_ms = 300.0, 30.0
        gw.chat(model="r", messages=HI)
        assert models(fault) == ["b"]  # a tie on price, broken by latency

        seen_features: list[Features] = []

        def last_first(candidates: Any, features: Features) -> list[Any]:
            seen_features.append(features)
            return list(reversed(candidates))

        gw2, fault2 = routed(
            make_gateway, {"targets": ["alpha/a", "alpha/b"], "strategy": last_first}
        )
        gw2.chat(model="r", messages=HI, user="u-7", metadata={"tier": "pro"})
        assert models(fault2) == ["b"]
        assert (seen_features[0].user, seen_features[0].metadata["tier"]) == ("u-7", "pro")


# -- rules and capability filtering -------------------------------------------------------------


def catalogued() -> dict[str, Any]:
    """Providers whose catalog entries (windows, capabilities, modes) the tests rely on."""
    return {
        "gemini": {"kind": "openai", "base_url": "https://gemini.test/v1", "api_keys": ["g"]},
        "groq": {"api_keys": ["gsk"]},
        "openai": {"api_keys": ["sk"]},
    }


class TestRules:
    def test_the_issue_example(self, make_gateway: Any) -> None:
        """Text -> Gemini, audio transcription -> Whisper on Groq, image input -> only
        vision-capable targets (gpt-3.5-turbo has none: it is never called)."""
        fault = FaultTransport(default=reply("ok"))
        gw = make_gateway(
            providers=catalogued(),
            routes={
                "assistant": {
                    "targets": ["gemini/gemini-2.5-flash"],
                    "conditions": [
                        {"when": {"kind": "transcription"}, "targets": ["groq/whisper-large-v3"]},
                        {
                            "when": {"has_images": True},
                            "targets": ["openai/gpt-3.5-turbo", "openai/gpt-4o-mini"],
                        },
                    ],
                }
            },
            transport=fault,
        )
        r = gw.chat(model="assistant", messages=HI)
        assert (r.gateway.provider, r.gateway.model) == ("gemini", "gemini-2.5-flash")
        t = gw.transcribe(model="assistant", file=("a.mp3", b"ID3", "audio/mpeg"))
        assert fault.last_request.request.url.host == "api.groq.com"
        assert fault.last_request.path.endswith("/audio/transcriptions")
        assert t.gateway.model == "whisper-large-v3"
        image = [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            }
        ]
        r = gw.chat(model="assistant", messages=image)
        assert (r.gateway.provider, r.gateway.model) == ("openai", "gpt-4o-mini")
        assert [a.model for a in r.gateway.attempts] == ["gpt-4o-mini"]
        assert [c.model for c in fault.calls] == [
            "gemini-2.5-flash",
            "whisper-large-v3",
            "gpt-4o-mini",
        ]

    def test_kind_of_model_is_respected_without_rules(self, make_gateway: Any) -> None:
        """A chat model never gets a transcription, nor a transcription model a chat."""
        fault = FaultTransport(default=reply("ok"))
        gw = make_gateway(
            providers=catalogued(),
            routes={"any": ["groq/whisper-large-v3", "openai/gpt-4o-mini"]},
            transport=fault,
        )
        gw.chat(model="any", messages=HI)
        gw.transcribe(model="any", file=b"ID3")
        assert [c.model for c in fault.calls] == ["gpt-4o-mini", "whisper-large-v3"]
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.embeddings(model="any", input="x")
        assert info.value.field == "model"
        assert "whisper-large-v3: a audio_transcription model" in str(info.value)
        assert len(fault.calls) == 2

    @pytest.mark.parametrize(
        ("when", "kwargs", "expected"),
        [
            ({"metadata.tier": "pro"}, {"metadata": {"tier": "pro"}}, "b"),
            ({"metadata.tier": "pro"}, {"metadata": {"tier": "free"}}, "a"),
            ({"metadata": {"tier": "pro", "project": "x"}}, {"metadata": {"tier": "pro"}}, "a"),
            ({"user": ["vip-1", "vip-2"]}, {"user": "vip-2"}, "b"),
            (
                {"prompt_tokens": {"gt": 100}},
                {"messages": [{"role": "user", "content": "w " * 300}]},
                "b",
            ),
            ({"prompt_tokens": {"gt": 100}}, {}, "a"),
            (
                {"has_tools": True},
                {"tools": [{"type": "function", "function": {"name": "f"}}]},
                "b",
            ),
            ({"json_mode": True}, {"response_format": {"type": "json_object"}}, "b"),
            ({"stream": True}, {}, "a"),
            ({"max_tokens": {"ge": 1000}}, {"max_tokens": 2000}, "b"),
        ],
    )
    def test_rule_features(
        self, make_gateway: Any, when: dict[str, Any], kwargs: dict[str, Any], expected: str
    ) -> None:
        route = {"targets": ["alpha/a"], "conditions": [{"when": when, "targets": ["alpha/b"]}]}
        gw, fault = routed(make_gateway, route)
        gw.chat(**{"model": "r", "messages": HI, **kwargs})
        assert models(fault) == [expected]

    def test_callable_rule_and_rule_strategy(self, make_gateway: Any) -> None:
        route = {
            "targets": ["alpha/a"],
            "conditions": [
                {
                    "when": lambda f: f.virtual_key is None and f.route == "r",
                    "targets": ["alpha/b", "alpha/c"],
                    "strategy": "round_robin",
                }
            ],
        }
        gw, fault = routed(make_gateway, route)
        for _ in range(3):
            gw.chat(model="r", messages=HI)
        assert models(fault) == ["b", "c", "b"]

    @pytest.mark.parametrize(
        ("when", "field"),
        [
            ({"colour": "red"}, "routes.r.conditions.0.when.colour"),
            ({"prompt_tokens": {"bigger": 3}}, "routes.r.conditions.0.when.prompt_tokens.bigger"),
        ],
    )
    def test_bad_rules_name_the_field(self, when: dict[str, Any], field: str) -> None:
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway(
                providers=THREE,
                routes={
                    "r": {
                        "targets": ["alpha/a"],
                        "conditions": [{"when": when, "targets": ["alpha/b"]}],
                    }
                },
            )
        assert info.value.field == field


CAPS = {
    "alpha/small": {"context_window": 200, "max_output_tokens": 100, "capabilities": []},
    "alpha/tools": {"context_window": 200, "max_output_tokens": 100, "capabilities": ["tools"]},
    "alpha/large": {
        "context_window": 100_000,
        "max_output_tokens": 8000,
        "capabilities": ["tools", "vision", "json_schema"],
    },
}
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
CONTEXT_LENGTH = {
    "error": {
        "message": "This model's maximum context length is 200 tokens.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}


class TestCapabilities:
    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            ({}, "small"),
            ({"tools": TOOLS}, "tools"),
            ({"messages": [{"role": "user", "content": "many words here " * 100}]}, "large"),
            ({"max_tokens": 500}, "large"),
            ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "large"),
        ],
    )
    def test_targets_that_cannot_serve_are_skipped_before_any_call(
        self, make_gateway: Any, kwargs: dict[str, Any], expected: str
    ) -> None:
        gw, fault = routed(
            make_gateway, {"targets": ["alpha/small", "alpha/tools", "alpha/large"]}, prices=CAPS
        )
        r = gw.chat(**{"model": "r", "messages": HI, **kwargs})
        assert models(fault) == [expected]
        assert [a.model for a in r.gateway.attempts] == [expected]

    def test_nothing_fits_is_a_typed_error_and_nothing_is_sent(self, make_gateway: Any) -> None:
        gw, fault = routed(make_gateway, {"targets": ["alpha/small", "alpha/tools"]}, prices=CAPS)
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat(model="r", messages=HI, tools=TOOLS, max_tokens=150)
        message = str(info.value)
        assert "alpha/small: no tools support" in message
        assert "alpha/tools: max_tokens 150 is over its 100-token output limit" in message
        assert fault.calls == []

    def test_unknown_models_and_direct_calls_are_not_filtered(self, make_gateway: Any) -> None:
        gw, fault = routed(make_gateway, {"targets": ["alpha/small", "alpha/mystery"]}, prices=CAPS)
        gw.chat(model="r", messages=HI, tools=TOOLS)
        gw.chat(model="alpha/small", messages=HI, tools=TOOLS)  # the provider decides
        assert models(fault) == ["mystery", "small"]

    def test_filtering_can_be_turned_off(self, make_gateway: Any) -> None:
        gw, fault = routed(
            make_gateway,
            {"targets": ["alpha/small", "alpha/large"]},
            prices=CAPS,
            router={"filter_capabilities": False},
        )
        gw.chat(model="r", messages=HI, tools=TOOLS)
        assert models(fault) == ["small"]

    def test_context_length_error_moves_only_to_a_larger_window(self, make_gateway: Any) -> None:
        prices = {
            "alpha/mid": {"context_window": 4000},
            "alpha/smaller": {"context_window": 2000},
            "alpha/same": {"context_window": 4000},
            "alpha/huge": {"context_window": 200_000},
        }
        fault = FaultTransport({"mid": [error(400, body=CONTEXT_LENGTH)]}, default=reply("ok"))
        gw = make_gateway(
            providers=THREE,
            routes={"r": ["alpha/mid", "alpha/smaller", "alpha/same", "alpha/huge"]},
            prices=prices,
            transport=fault,
        )
        r = gw.chat(model="r", messages=HI)
        assert [a.model for a in r.gateway.attempts] == ["mid", "huge"]
        assert r.gateway.attempts[0].error == "ContextLengthExceededError"
        assert gw.gw.health().targets["alpha/mid"].state == "closed"

    def test_context_length_error_with_nothing_larger_surfaces(self, make_gateway: Any) -> None:
        prices = {"alpha/mid": {"context_window": 4000}, "alpha/smaller": {"context_window": 2000}}
        fault = FaultTransport({"mid": [error(400, body=CONTEXT_LENGTH)]}, default=reply("ok"))
        gw = make_gateway(
            providers=THREE,
            routes={"r": ["alpha/mid", "alpha/smaller"]},
            prices=prices,
            transport=fault,
        )
        with pytest.raises(aigate.ContextLengthExceededError):
            gw.chat(model="r", messages=HI)
        assert len(fault.calls) == 1

    def test_fallbacks_come_after_the_ordered_targets(self, make_gateway: Any) -> None:
        fault = FaultTransport({"a": [error(500)], "b": [error(500)]}, default=reply("ok"))
        gw = make_gateway(
            providers=THREE,
            routes={
                "r": {
                    "targets": ["alpha/a", "alpha/b"],
                    "strategy": "round_robin",
                    "fallbacks": ["alpha/a", "alpha/last-resort"],
                }
            },
            transport=fault,
        )
        r = gw.chat(model="r", messages=HI)
        assert [a.model for a in r.gateway.attempts] == ["a", "b", "last-resort"]
        assert [t.name for t in gw.gw.routes["r"]] == ["alpha/a", "alpha/b", "alpha/last-resort"]


# -- config, health report, API -------------------------------------------------------------


class TestConfig:
    @pytest.mark.parametrize(
        ("routes", "router", "field"),
        [
            ({"r": {"targets": ["alpha/a"], "strategy": "fastest"}}, {}, "routes.r.strategy"),
            ({"r": {"targets": ["alpha/a"], "fallbacks": ["nope/x"]}}, {}, "routes.r.fallbacks.0"),
            (
                {"r": {"targets": [{"target": "alpha/a", "weight": -1}]}},
                {},
                "routes.r.targets.0.weight",
            ),
            ({}, {"key_pools": {"nobody": {}}}, "router.key_pools.nobody"),
            ({}, {"key_pools": {"alpha": {"weights": [1, 2]}}}, "router.key_pools.alpha"),
            ({}, {"health": "postgres://x"}, "router.health"),
            ({}, {"retry": {"retries": -1}}, "router.retry.retries"),
            ({}, {"breaker": {"failures": 0}}, "router.breaker.failures"),
        ],
    )
    def test_bad_router_config_names_the_field(
        self, routes: dict[str, Any], router: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway(providers=THREE, routes=routes, router=router)
        assert info.value.field is not None
        assert info.value.field.startswith(field)

    def test_toml_routes(self, tmp_path: Any) -> None:
        path = tmp_path / "aigate.toml"
        path.write_text(
            """
[providers.alpha]
kind = "openai"
base_url = "https://alpha.test/v1"
api_keys = ["sk-a", "sk-b"]

[routes.smart]
targets = ["alpha/a", { target = "alpha/b", weight = 3, priority = 1 }]
strategy = "weighted"
fallbacks = ["alpha/c"]
retry = { retries = 2, deadline_s = 30 }

[[routes.smart.conditions]]
when = { has_images = true, "metadata.tier" = "pro" }
targets = ["alpha/vision"]

[router]
health = "memory://"
retry = { max_attempts = 5, retry_after_cap_s = 20 }
breaker = { failures = 3, cooldown_s = 10 }
keys = { strategy = "sticky", rpm = 600 }
"""
        )
        gw = aigate.Gateway.from_file(path)
        route = gw._core.router.routes["smart"]
        assert [t.name for t in gw.routes["smart"]] == [
            "alpha/a",
            "alpha/b",
            "alpha/c",
            "alpha/vision",
        ]
        assert (route.retry.retries, route.retry.deadline_s, route.retry.max_attempts) == (2, 30, 5)
        assert [(c.weight, c.priority) for c in route.default.candidates] == [(1.0, 0), (3.0, 1)]
        assert gw._core.router.pools["alpha"].strategy == "sticky"
        gw.close()


class TestAPI:
    def test_health_lists_targets_and_keys(self, make_gateway: Any) -> None:
        fault = FaultTransport({"model-a": [error(500)]}, default=reply("ok"))
        gw, _ = build(make_gateway, fault, keys_a=2)
        gw.chat(model="main", messages=HI)
        health = gw.gw.health()
        a, b = health.targets["alpha/model-a"], health.targets["beta/model-b"]
        assert (a.state, a.failures, a.reason, a.open_until) == (
            "closed",
            1,
            "InternalServerError",
            None,
        )
        assert b.latency_ms is not None and b.in_flight == 0
        assert [(k.provider, k.state) for k in health.keys] == [
            ("alpha", "closed"),
            ("alpha", "closed"),
            ("beta", "closed"),
        ]
        assert health.open_targets == [] and health.dead_keys == []
        assert "sk-alpha" not in repr(health)

    def test_attempts_runs_on_a_plain_tuple_of_targets(self) -> None:
        """``aigate._attempts.attempts`` still drives a context without a plan."""
        from aigate._context import CallContext

        gw = aigate.Gateway(providers=THREE, transport=FaultTransport({"a": [error(500)]}))
        target = gw._core._direct("alpha/a", "model", aigate.InvalidRequestError)
        ctx = CallContext(kind="chat", targets=(target, target), route=None, metadata={}, user=None)

        def build(t: Any, key: str | None) -> Any:
            import httpx

            return httpx.Request(
                "POST",
                "https://alpha.test/v1/chat/completions",
                json={"model": "a", "messages": HI},
            )

        def accept(t: Any, key: Any, response: Any, started: float) -> Any:
            return response.json()["choices"][0]["message"]["content"]
            yield

        assert gw._run(attempts(ctx, build, accept)) == "You said: Hi"
        assert [a.status_code for a in ctx.attempts] == [500, 200]
        gw.close()

    def test_retry_after_reads_every_header_form(self) -> None:
        import httpx

        from aigate.providers._errors import error_from_response

        def err(status: int, headers: dict[str, str], body: Any = None) -> Any:
            response = httpx.Response(
                status,
                headers=headers,
                content=json.dumps(body or {"error": {"message": "x"}}).encode(),
                request=httpx.Request("POST", "https://x.test"),
            )
            return error_from_response(response, response.content, provider="p", model="m")

        assert retry_after(err(429, {"retry-after": "7"})) == 7.0
        assert retry_after(err(429, {"retry-after-ms": "250"})) == 0.25
        assert retry_after(err(503, {"retry-after": "2"})) == 2.0
        assert retry_after(err(429, {}, GEMINI_429)) == 4.0
        tokens = {
            "x-ratelimit-limit-requests": "100",
            "x-ratelimit-remaining-requests": "50",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": "6m0s",
        }
        assert retry_after(err(429, tokens)) == 360.0  # the exhausted limit's reset
        tokens["x-ratelimit-remaining-tokens"] = "10"
        assert retry_after(err(429, tokens)) == 1.0  # none exhausted: the soonest reset
        assert retry_after(err(500, {})) is None

    def test_router_can_be_built_alone(self) -> None:
        router = Router(clock=lambda: 5.0)
        assert router.health().targets == {}
        assert router.clock() == 5.0


# -- the property: a complete answer or a typed error, within the attempt budget -------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FAULTS = st.sampled_from(
    [
        reply("complete answer"),
        reply("complete answer"),
        reply("one two three four", cut_after=1),
        reply("one two three four", cut_after=3),
        error(500),
        error(503, headers={"retry-after": "1"}),
        error(529),
        error(429, headers={"retry-after": "2"}),
        error(429, headers={"retry-after": "500"}),
        error(429, body={"error": {"message": "q", "type": "insufficient_quota"}}),
        error(401),
        error(403),
        error(400),
        error(404),
        error(400, body=CONTEXT_LENGTH),
        timeout(),
        timeout(connect=True),
        reset(),
        malformed(),
        malformed(after=2, text="one two three"),
        stall(30),
        stall(30, after=1),
        stall(30, after=3, text="one two three four"),
    ]
)


WHOLE = {"complete answer", "one two three four", "one two three", "Hello from the fake provider."}


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n_targets = draw(st.integers(1, 3))
    models_ = [f"m{i}" for i in range(n_targets)]
    return {
        "models": models_,
        "scripts": {m: draw(st.lists(FAULTS, max_size=5)) for m in models_},
        "default": draw(st.sampled_from([reply("complete answer"), error(503)])),
        "keys": draw(st.integers(1, 3)),
        "retry": {
            "retries": draw(st.integers(0, 3)),
            "max_attempts": draw(st.integers(1, 6)),
            "deadline_s": draw(st.one_of(st.none(), st.floats(1, 100))),
            "idle_timeout_s": draw(st.sampled_from([None, 10.0])),
            "first_token_timeout_s": draw(st.sampled_from([None, 5.0])),
            "backoff_s": 0.5,
        },
        "failures": draw(st.integers(1, 4)),
        "stream": draw(st.booleans()),
        "calls": draw(st.integers(1, 3)),
    }


def _run_scenario(mode: str, scenario: dict[str, Any]) -> None:
    import asyncio

    clock = FakeClock()
    fault = FaultTransport(scenario["scripts"], default=scenario["default"], clock=clock)
    cls = aigate.Gateway if mode == "sync" else aigate.AsyncGateway
    gw = cls(
        providers={
            "p": {
                "kind": "openai",
                "base_url": "https://p.test/v1",
                "api_keys": [f"sk-{i}" for i in range(scenario["keys"])],
            }
        },
        routes={"r": [f"p/{m}" for m in scenario["models"]]},
        router={"retry": scenario["retry"], "breaker": {"failures": scenario["failures"]}},
        transport=fault,
    )
    clock.install(gw)
    max_attempts = scenario["retry"]["max_attempts"]
    deadline = scenario["retry"]["deadline_s"]

    async def call() -> tuple[str, bool]:
        result = gw.chat.completions.create(model="r", messages=HI, stream=scenario["stream"])
        if mode == "async":
            result = await result
        if not scenario["stream"]:
            return result.choices[0].message.content, result.choices[0].finish_reason == "stop"
        chunks = []
        if mode == "async":
            async for chunk in result:
                chunks.append(chunk)
        else:
            chunks = list(result)
        return text_of(chunks), result.completion().choices[0].finish_reason == "stop"

    for _ in range(scenario["calls"]):
        before, started = len(fault.calls), clock.now
        try:
            text, finished = asyncio.run(call()) if mode == "async" else _sync(call())
        except aigate.AigateError as exc:  # typed: never a bare httpx error or a short answer
            assert not isinstance(exc, aigate.InvalidRequestError)
            if isinstance(exc, aigate.StreamInterrupted):
                assert exc.partial.choices[0].message.content != "one two three four"
        else:  # a whole scripted answer (never a truncated one passed off as success)
            assert text in WHOLE and finished
        sent = len(fault.calls) - before
        assert sent <= max_attempts  # billable attempts never exceed the configured max
        if deadline is not None:
            assert clock.now - started <= deadline + 1e-6
    if mode == "sync":
        gw.close()
    else:
        asyncio.run(gw.aclose())


def _sync(coro: Any) -> Any:
    """Run a coroutine that never awaits anything (the sync gateway's calls) to its end."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the sync path awaited something")


class TestProperty:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenario=scenarios())
    def test_complete_answer_or_typed_error_within_max_attempts(
        self, scenario: dict[str, Any]
    ) -> None:
        _run_scenario("sync", scenario)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenario=scenarios())
    def test_same_on_the_async_gateway(self, scenario: dict[str, Any]) -> None:
        _run_scenario("async", scenario)


class TestOrdered:
    @given(keys=st.lists(st.integers(0, 5), min_size=1, max_size=12))
    def test_lazy_order_matches_a_stable_sort(self, keys: list[int]) -> None:
        from aigate.routing._policies import Ordered

        items = [object() for _ in keys]
        order = Ordered(items, list(keys))  # type: ignore[arg-type]
        expected = [items[i] for i in sorted(range(len(keys)), key=keys.__getitem__)]
        assert order[0] is expected[0]  # the cheap first pick agrees with the sort
        assert list(order) == expected
        assert order[len(keys) - 1] is expected[-1]
        assert len(order) == len(keys)
