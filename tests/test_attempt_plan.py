"""The attempt loop's decisions, asked directly: no gateway call, no transport, no effect.

:class:`aigate.routing._attempt_plan.AttemptPlan` answers "what now?" (try this target with
this key / read this breaker / wait / stop) and is told what each attempt did; issue 12 asks
that routing decide and never drive effects. tests/test_routing.py covers the same rules
end to end through both gateways; these pin the decisions one by one.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import tenacity

import aigate
from aigate._context import CallContext
from aigate._models import RateLimitInfo
from aigate._wire import Response
from aigate.routing import MemoryHealthStore
from aigate.routing._attempt_plan import AttemptPlan, Check, Mark, Stop, Try, Wait

EXACT = tenacity.wait_exponential(multiplier=1, max=8)  # 1, 2, 4 ... seconds: no jitter


def _gateway(keys_a: int = 1, **router: Any) -> aigate.Gateway:
    providers = {
        "alpha": {"kind": "openai", "base_url": "https://alpha.test/v1",
                  "api_keys": [f"sk-a{i}" for i in range(keys_a)]},
        "beta": {"kind": "openai", "base_url": "https://beta.test/v1", "api_keys": ["sk-b"]},
    }  # fmt: skip
    return aigate.Gateway(
        providers=providers,
        routes={"main": ["alpha/model-a", "beta/model-b"]},
        router={"retry": {"wait": EXACT}, **router},
    )


class _Remote(MemoryHealthStore):
    """A store whose reads are effects: the plan must ask for each one (Check)."""

    remote = True


def _plan(gw: aigate.Gateway, store: Any = None, now: float = 100.0) -> AttemptPlan:
    name, targets = gw._core.resolve("main")
    route = targets.route  # type: ignore[attr-defined]
    ctx = CallContext(kind="chat", targets=targets, route=name, metadata={}, user=None)
    order, _ = route.plan(ctx)
    return AttemptPlan(
        route,
        order,
        store=store if store is not None else route.router.store,
        now=now,
        attempts=ctx.attempts,
        errors=ctx.errors,
    )


def _status(cls: type[aigate.APIStatusError], code: int, **kwargs: Any) -> Any:
    return cls(f"{code}", response=Response(code), provider="alpha", model="model-a", **kwargs)


def _tried(decision: Any) -> tuple[str, int]:
    """(target, key number) of a Try."""
    assert isinstance(decision, Try), decision
    return decision.cand.name, decision.key


def test_a_healthy_route_tries_its_first_target_and_closes_its_breakers() -> None:
    with _gateway() as gw:
        plan = _plan(gw)
        first = plan.decide(100.0)
        assert _tried(first) == ("alpha/model-a", 0)
        assert first.api_key is not None and first.api_key.get() == "sk-a0"
        assert plan.succeeded(first, 101.0) == (
            Mark("alpha/model-a", "ok", 101.0),
            Mark(first.cand.pool.names[0], "ok", 101.0),
        )


def test_a_transient_error_is_retried_after_its_backoff_then_fails_over() -> None:
    with _gateway(retry={"retries": 1, "wait": EXACT}) as gw:
        plan = _plan(gw)
        first = plan.decide(100.0)
        marks = plan.failed(first, _status(aigate.InternalServerError, 503), 100.5)
        assert marks == (Mark("alpha/model-a", "fail", 100.5, 0.0, "InternalServerError"),)
        assert plan.decide(100.5) == Wait(1.0)  # the first retry's backoff
        retry = plan.decide(101.5)
        assert _tried(retry) == ("alpha/model-a", 0)
        plan.failed(retry, _status(aigate.InternalServerError, 503), 102.0)
        assert _tried(plan.decide(102.0)) == ("beta/model-b", 0)  # retries spent


def test_retry_after_longer_than_the_cap_fails_over_at_once() -> None:
    with _gateway(retry={"retries": 3, "retry_after_cap_s": 5, "wait": EXACT}) as gw:
        plan = _plan(gw)
        first = plan.decide(100.0)
        slow = _status(
            aigate.InternalServerError, 503, rate_limit=RateLimitInfo(retry_after_s=60.0)
        )
        assert plan.failed(first, slow, 100.0)[0].cooldown == 60.0
        assert _tried(plan.decide(100.0)) == ("beta/model-b", 0)


def test_a_request_error_stops_with_itself() -> None:
    with _gateway() as gw:
        plan = _plan(gw)
        first = plan.decide(100.0)
        bad = _status(aigate.BadRequestError, 400)
        plan.errors.append(bad)
        plan.attempts.append(_attempt())
        assert plan.failed(first, bad, 100.0) == (Mark("alpha/model-a", "ok", 100.0),)
        assert plan.decide(100.0) == Stop(bad)


def test_a_key_error_kills_the_key_and_tries_the_next_key_at_once() -> None:
    with _gateway(keys_a=2) as gw:
        plan = _plan(gw)
        first = plan.decide(100.0)
        name, key = _tried(first)
        marks = plan.failed(first, _status(aigate.AuthenticationError, 401), 100.0)
        assert marks[1] == Mark(first.key_name, "dead", 100.0, 0.0, "AuthenticationError")  # type: ignore[arg-type]
        for mark in marks:  # what the driver does with the marks
            gw._core.router.store.record(*mark)
        again = plan.decide(100.0)
        assert _tried(again)[0] == name and _tried(again)[1] != key


def test_a_429_cools_the_key_not_the_target() -> None:
    with _gateway(keys_a=2, retry={"retries": 1, "wait": EXACT}) as gw:
        plan = _plan(gw)
        first = plan.decide(100.0)
        limited = _status(aigate.RateLimitError, 429, rate_limit=RateLimitInfo(retry_after_s=7.0))
        marks = plan.failed(first, limited, 100.0)
        assert marks == (Mark(first.key_name, "cool", 100.0, 7.0, "RateLimitError"),)  # type: ignore[arg-type]
        for mark in marks:
            gw._core.router.store.record(*mark)
        retry = plan.decide(100.0)  # no backoff: another key is free
        assert _tried(retry)[0] == "alpha/model-a" and retry.key_name != first.key_name


def test_open_breakers_are_skipped_and_the_end_names_when_they_recover() -> None:
    with _gateway(breaker={"failures": 1, "cooldown_s": 30}) as gw:
        store = gw._core.router.store
        store.record("alpha/model-a", "fail", 100.0)
        store.record("beta/model-b", "fail", 100.0)
        plan = _plan(gw)
        stop = plan.decide(100.0)
        assert isinstance(stop, Stop) and isinstance(stop.error, aigate.AllTargetsFailed)
        assert stop.error.retry_at == 130.0
        assert "breaker open" in str(stop.error)


def test_a_deadline_lets_the_call_wait_for_the_earliest_recovery() -> None:
    settings = {"breaker": {"failures": 1, "cooldown_s": 3}, "retry": {"deadline_s": 10}}
    with _gateway(**settings) as gw:
        store = gw._core.router.store
        store.record("alpha/model-a", "fail", 100.0)
        store.record("beta/model-b", "fail", 100.0)
        plan = _plan(gw)
        assert plan.decide(100.0) == Wait(3.0)
        assert _tried(plan.decide(103.0))[0] == "alpha/model-a"  # the probe after the wait


def test_a_remote_store_is_asked_one_breaker_at_a_time_and_the_key_order_drawn_once() -> None:
    with _gateway(keys_a=3) as gw:
        plan = _plan(gw, store=_Remote())
        assert plan.decide(100.0) == Check("alpha/model-a", 100.0)
        plan.known("alpha/model-a", 0.0)
        ask = plan.decide(100.0)
        assert isinstance(ask, Check) and ask.name.startswith("key:alpha:")
        plan.known(ask.name, 0.0)
        # asking again did not turn the round robin: the key read is the key tried
        tried = plan.decide(100.0)
        assert isinstance(tried, Try) and tried.key_name == ask.name


def test_max_attempts_caps_the_sends() -> None:
    with _gateway(retry={"retries": 5, "max_attempts": 2, "wait": EXACT}) as gw:
        plan = _plan(gw)
        for _ in range(2):
            decision = plan.decide(100.0)
            while isinstance(decision, Wait):
                decision = plan.decide(100.0)
            plan.attempts.append(_attempt())
            plan.failed(decision, _status(aigate.InternalServerError, 500), 100.0)  # type: ignore[arg-type]
        assert isinstance(plan.decide(100.0), Stop)


def test_routing_never_imports_the_effects() -> None:
    """Routing decides; only the core's loop yields effects (issue 12)."""
    routing = Path(aigate.__file__).parent / "routing"
    for path in routing.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert "_effects" not in (node.module or ""), f"{path.name} imports effects"
            assert not isinstance(node, (ast.Yield, ast.YieldFrom)), f"{path.name} yields"


def _attempt() -> Any:
    from aigate._models import Attempt

    return Attempt(
        provider="alpha", model="model-a", key_id=None, status_code=500, error="X",
        error_class="transient", latency_ms=1.0,
    )  # fmt: skip
