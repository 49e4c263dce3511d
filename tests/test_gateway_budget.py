"""Budgets and rate limits through the gateway: reserve -> call -> settle."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import aigate
from aigate.observe import Hooks
from aigate.pricing import to_nano
from aigate.testing import FakeTransport, error, reply

HI = [{"role": "user", "content": "Hi"}]
MODEL = "openai/gpt-4o-mini"
USAGE = {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000}
# gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output -> 1000 + 1000 tokens = $0.00075
CALL_COST = Decimal("0.00075")


def gateway(
    make_gateway: Any, script: list[Any], limits: list[dict[str, Any]], **extra: Any
) -> Any:
    fake = FakeTransport(script, default=reply("ok", usage=USAGE))
    budget = {"limits": limits, **extra.pop("budget", {})}
    gw = make_gateway(
        providers={"openai": {"api_keys": ["sk"]}, "groq": {"api_keys": ["gsk"]}},
        routes={"r": ["groq/openai/gpt-oss-20b", MODEL]},
        budget=budget,
        ledger="memory://",
        transport=fake,
        **extra,
    )
    return gw, fake


def counters(gw: Any) -> dict[str, Any]:
    admission = gw.gw._core.admission
    return (
        admission.store.status(admission.store.keys()) if hasattr(admission.store, "keys") else {}
    )


def spent_nano(gw: Any) -> int:
    return sum(r.cost_nano or 0 for r in gw.gw._core.ledger.query())


class TestHardLimits:
    def test_stops_before_sending_and_records_a_refusal(self, make_gateway: Any) -> None:
        limit = {"scope": "project:acme", "amount": "0.002", "window": "day"}
        gw, fake = gateway(make_gateway, [], [limit])
        meta = {"project": "acme"}
        # each call reserves ~$0.0006 (its prompt + max_tokens=1000) and settles $0.00075
        for _ in range(2):
            gw.chat(model=MODEL, messages=HI, max_tokens=1000, metadata=meta)
        with pytest.raises(aigate.BudgetExceeded) as info:
            gw.chat(model=MODEL, messages=HI, max_tokens=1000, metadata=meta)
        err = info.value
        assert err.scope == "project:acme" and err.limit == Decimal("0.002")
        assert err.spent + err.reserved + err.estimate > err.limit
        assert err.resets_at is not None
        assert len(fake.calls) == 2
        records = list(gw.gw._core.ledger.query())
        sent = [r for r in records if r.status != "refused"]
        assert len(sent) == len(fake.calls)  # no call row without its call
        (refused,) = [r for r in records if r.status == "refused"]  # issue 14 item 16
        assert refused.reason == "budget:project:acme"
        assert refused.error_type == "BudgetExceeded"
        assert refused.cost_nano == 0 and refused.prompt_tokens == 0
        assert refused.completion_tokens == 0 and refused.attempts == ()
        assert Decimal(spent_nano(gw)) / 10**9 <= Decimal("0.002")
        # another project is not affected
        gw.chat(model=MODEL, messages=HI, max_tokens=1000, metadata={"project": "other"})

    def test_worst_case_uses_max_tokens(self, make_gateway: Any) -> None:
        limit = {"scope": "global", "amount": "0.01", "window": "day"}
        gw, fake = gateway(make_gateway, [], [limit])
        with pytest.raises(aigate.BudgetExceeded):
            gw.chat(model=MODEL, messages=HI, max_tokens=100_000)  # $0.06 worst case
        assert fake.calls == []
        gw.chat(model=MODEL, messages=HI, max_tokens=1000)

    def test_failed_call_releases_and_spends_nothing(self, make_gateway: Any) -> None:
        limit = {"scope": "global", "amount": "0.0011", "window": "day"}
        gw, _ = gateway(make_gateway, [error(500), error(500)], [limit])
        with pytest.raises(aigate.AllTargetsFailed):
            gw.chat(model="r", messages=HI, max_tokens=1000)
        # the whole budget is free again: one call's worst case fits
        r = gw.chat(model=MODEL, messages=HI, max_tokens=1000)
        assert r.gateway.cost_usd == CALL_COST

    def test_settled_spend_equals_the_ledger(self, make_gateway: Any) -> None:
        limit = {"scope": "user:*", "amount": "1", "window": "month"}
        gw, _ = gateway(make_gateway, [], [limit])
        for _ in range(5):
            gw.chat(model=MODEL, messages=HI, max_tokens=2000, user="u1")
        admission = gw.gw._core.admission
        keys = [c.key for c in admission.budgets.plan({"user": "u1"}, estimate_nano=0)]
        (counter,) = admission.store.status(keys).values()
        assert counter.spent == spent_nano(gw) == 5 * to_nano(CALL_COST)
        assert counter.reserved == 0

    def test_cache_hit_reserves_nothing(self, make_gateway: Any) -> None:
        limit = {"scope": "global", "amount": "0.0011", "window": "day"}
        gw, fake = gateway(make_gateway, [], [limit], cache="memory://")
        gw.chat(model=MODEL, messages=HI, max_tokens=1000, temperature=0)
        for _ in range(5):  # the budget has no room for another real call, but hits are free
            assert gw.chat(model=MODEL, messages=HI, max_tokens=1000, temperature=0).gateway.cached
        assert len(fake.calls) == 1

    def test_stream_settles_when_it_ends(self, make_gateway: Any) -> None:
        limit = {"scope": "global", "amount": "0.0016", "window": "day"}
        gw, _ = gateway(make_gateway, [], [limit])
        _, stream = gw.stream(model=MODEL, messages=HI, max_tokens=1000)
        assert stream.gateway.cost_usd == CALL_COST
        gw.chat(model=MODEL, messages=HI, max_tokens=1000)  # room was left by the settle
        with pytest.raises(aigate.BudgetExceeded):
            gw.chat(model=MODEL, messages=HI, max_tokens=1000)

    def test_thresholds_fire_once(self, make_gateway: Any) -> None:
        seen: list[Any] = []
        limit = {"scope": "global", "amount": "0.004", "window": "day", "thresholds": [0.5]}
        gw, _ = gateway(make_gateway, [], [limit], hooks=Hooks(on_budget_threshold=seen.append))
        for _ in range(4):
            gw.chat(model=MODEL, messages=HI, max_tokens=1000)
        assert [e.threshold for e in seen] == [0.5]
        assert seen[0].scope == "global"


class TestRateLimits:
    def test_rpm_refuses_at_once_without_wait(self, make_gateway: Any) -> None:
        gw, fake = gateway(
            make_gateway, [], [], budget={"rate_limits": [{"scope": "user:*", "rpm": 2}]}
        )
        gw.chat(model=MODEL, messages=HI, user="u1")
        gw.chat(model=MODEL, messages=HI, user="u1")
        with pytest.raises(aigate.RateLimited) as info:
            gw.chat(model=MODEL, messages=HI, user="u1")
        assert info.value.scope == "user:u1" and info.value.retry_after_s > 0
        assert len(fake.calls) == 2
        gw.chat(model=MODEL, messages=HI, user="u2")  # another user has its own window

    def test_tpm_counts_the_estimate(self, make_gateway: Any) -> None:
        gw, fake = gateway(
            make_gateway, [], [], budget={"rate_limits": [{"scope": "global", "tpm": 1500}]}
        )
        gw.chat(model=MODEL, messages=HI, max_tokens=1000)
        with pytest.raises(aigate.RateLimited):
            gw.chat(model=MODEL, messages=HI, max_tokens=1000)
        assert len(fake.calls) == 1


class TestStoreOutage:
    def test_fail_closed_by_default_and_open_when_asked(self, make_gateway: Any) -> None:
        from aigate.budget import BudgetStoreUnavailable

        dead = "redis://127.0.0.1:1/0"
        closed = {"scope": "global", "amount": "1", "window": "day"}
        gw, fake = gateway(make_gateway, [], [closed], budget={"store": dead})
        with pytest.raises(BudgetStoreUnavailable):
            gw.chat(model=MODEL, messages=HI)
        assert fake.calls == []
        opened = {**closed, "fail_open": True}
        gw2, fake2 = gateway(make_gateway, [], [opened], budget={"store": dead})
        assert gw2.chat(model=MODEL, messages=HI).choices[0].message.content == "ok"
        assert len(fake2.calls) == 1
