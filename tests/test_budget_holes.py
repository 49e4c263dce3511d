"""Every way around a budget (issue 13 items 1, 2, 4, 5, 14; issue 14 item 16).

Each test here failed on main before the fix: the attack spent more than the cap, or bad
config was accepted or crashed with an untyped error. Prices are the shipped catalog's
(gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import aigate
from aigate._admission import CLAMP_MIN_TOKENS, Admission, wire_shape
from aigate.budget import Limit
from aigate.ledger import open_ledger
from aigate.testing import FakeTransport, reply

HI = [{"role": "user", "content": "Hi"}]
MODEL = "openai/gpt-4o-mini"


def billed_usage(body: dict[str, Any]) -> dict[str, int]:
    """What the provider bills: every choice generates up to the max_tokens on the wire
    (the attack's worst case: it asks for long answers)."""
    ceiling = body.get("max_completion_tokens") or body.get("max_tokens") or 16384
    out = int(ceiling) * int(body.get("n") or 1)
    return {"prompt_tokens": 8, "completion_tokens": out, "total_tokens": 8 + out}


class BillingFake(FakeTransport):
    """A fake provider that bills what the request on the wire allows."""

    def _next(self, call: Any) -> Any:
        super()._next(call)  # records the call
        return reply("x", usage=billed_usage(call.json))


def gateway(make_gateway: Any, limit: dict[str, Any], **extra: Any) -> tuple[Any, Any]:
    fake = BillingFake()
    gw = make_gateway(
        providers={"openai": {"api_keys": ["sk"]}},
        budget={"limits": [limit]},
        ledger="memory://",
        transport=fake,
        **extra,
    )
    return gw, fake


def spent(gw: Any) -> Decimal:
    return sum(
        (Decimal(r.cost_nano) / 10**9 for r in gw.gw._core.ledger.query() if r.cost_nano),
        Decimal(0),
    )


CAP = {"scope": "global", "amount": "0.001", "window": "day"}


# -- 13.1: extra_body keys that change cost -------------------------------------------------


def test_wire_shape_reads_extra_body() -> None:
    shape = wire_shape({"max_tokens": 1}, {"max_tokens": 16000, "n": 4})
    assert shape.ceiling == 16000 and shape.fanout == 4
    shape = wire_shape({}, {"max_completion_tokens": 900})
    assert shape.ceiling == 900
    gemini = {"generationConfig": {"maxOutputTokens": 50, "candidateCount": 3}}
    shape = wire_shape({}, gemini)
    assert shape.ceiling == 50 and shape.fanout == 3
    with pytest.raises(aigate.InvalidRequestError, match=r"extra_body\.max_tokens"):
        wire_shape({}, {"max_tokens": "lots"})


def test_admission_reserves_for_extra_body_max_tokens() -> None:
    from aigate.config import BudgetConfig
    from aigate.providers._base import ChatCall

    gw = aigate.Gateway(providers={"openai": {"api_keys": ["sk"]}})
    targets = gw._core.resolve(MODEL)[1]
    admission = Admission(BudgetConfig(limits=[CAP]), gw._core)
    call = ChatCall(HI, {"max_tokens": 1}, extra_body={"max_tokens": 16000})
    est = admission.estimate(targets, HI, call.params, extra_body=call.extra_body)
    assert est.nano >= 16000 * 600  # 16,000 output tokens at $0.60 / 1M = 9.6 mUSD
    gw.close()


def test_extra_body_max_tokens_cannot_pass_the_cap(make_gateway: Any) -> None:
    gw, fake = gateway(make_gateway, CAP)
    with pytest.raises(aigate.BudgetExceeded):
        gw.chat(model=MODEL, messages=HI, max_tokens=1, extra_body={"max_tokens": 16000})
    assert fake.calls == []


@pytest.mark.parametrize("tier", ["priority", "scale"])
def test_unpriced_service_tier_is_refused_under_a_usd_budget(make_gateway: Any, tier: str) -> None:
    gw, fake = gateway(make_gateway, CAP)
    with pytest.raises(aigate.InvalidRequestError, match="service_tier"):
        gw.chat(model=MODEL, messages=HI, max_tokens=5, service_tier=tier)
    assert fake.calls == []
    gw.chat(model=MODEL, messages=HI, max_tokens=5, service_tier="auto")


# -- 13.2: n multiplies the estimate --------------------------------------------------------


def test_n_multiplies_the_reservation(make_gateway: Any) -> None:
    gw, fake = gateway(make_gateway, CAP)
    # one choice of 1000 tokens fits ($0.0006); 64 of them ($0.0384) do not
    with pytest.raises(aigate.BudgetExceeded):
        gw.chat(model=MODEL, messages=HI, max_tokens=1000, n=64)
    assert fake.calls == []
    gw.chat(model=MODEL, messages=HI, max_tokens=1000)
    assert spent(gw) <= Decimal("0.001")


# -- 13.4: unpriced models -------------------------------------------------------------------


def test_unpriced_model_is_refused_by_a_usd_limit(make_gateway: Any) -> None:
    gw, fake = gateway(make_gateway, CAP)
    with pytest.raises(aigate.budget.UnpricedModelRefused) as info:
        gw.chat(model="openai/no-such-model-priced", messages=HI, max_tokens=5)
    message = str(info.value)
    assert "openai/no-such-model-priced" in message
    assert "allow_unpriced" in message and "price" in message
    assert fake.calls == []
    (row,) = gw.gw._core.ledger.query()
    assert row.status == "refused" and row.reason == "unpriced:openai/no-such-model-priced"


def test_allow_unpriced_on_the_limit(make_gateway: Any) -> None:
    gw, fake = gateway(make_gateway, {**CAP, "allow_unpriced": True})
    gw.chat(model="openai/no-such-model-priced", messages=HI, max_tokens=5)
    assert len(fake.calls) == 1


def test_local_server_marked_free_is_not_blocked(make_gateway: Any) -> None:
    fake = BillingFake()
    gw = make_gateway(
        providers={
            "local": {
                "kind": "openai",
                "base_url": "http://127.0.0.1:11434/v1",
                "options": {"free": True},
            },
            "ollama": {"kind": "openai", "base_url": "http://127.0.0.1:11435/v1"},
        },
        prices={"ollama/llama3": {"input_per_million": 0, "output_per_million": 0}},
        budget={"limits": [CAP]},
        transport=fake,
    )
    gw.chat(model="local/llama3.2", messages=HI, max_tokens=5)
    gw.chat(model="ollama/llama3", messages=HI, max_tokens=5)  # priced at exactly 0
    assert len(fake.calls) == 2


def test_token_limits_still_apply_to_unpriced_models(make_gateway: Any) -> None:
    limit = {"scope": "global", "amount": 100, "unit": "tokens", "window": "day"}
    gw, fake = gateway(make_gateway, limit)
    with pytest.raises(aigate.BudgetExceeded):
        gw.chat(model="openai/no-such-model-priced", messages=HI, max_tokens=500)
    assert fake.calls == []


# -- 13.5: on_exceed="clamp" -----------------------------------------------------------------


def test_clamp_lowers_max_tokens_to_the_room_left(make_gateway: Any) -> None:
    gw, fake = gateway(make_gateway, {**CAP, "on_exceed": "clamp"})
    # no max_tokens: the worst case is 16,384 output tokens ($0.0098), over the $0.001 cap
    r = gw.chat(model=MODEL, messages=HI)
    sent = fake.calls[0].json["max_tokens"]
    assert CLAMP_MIN_TOKENS <= sent < 16384
    assert Decimal(sent) * Decimal("0.0000006") <= Decimal("0.001")
    assert r.gateway.max_tokens == sent  # on the result too (13.5), not only in the ledger
    (row,) = gw.gw._core.ledger.query()
    assert row.max_tokens == sent
    assert spent(gw) <= Decimal("0.001")


def test_clamp_keeps_spending_inside_the_cap_then_refuses(make_gateway: Any) -> None:
    gw, fake = gateway(make_gateway, {**CAP, "on_exceed": "clamp"})
    with pytest.raises(aigate.BudgetExceeded):
        for _ in range(50):
            gw.chat(model=MODEL, messages=HI, max_tokens=600)
    assert 1 < len(fake.calls) < 50
    assert spent(gw) <= Decimal("0.001")
    refused = [r for r in gw.gw._core.ledger.query() if r.status == "refused"]
    assert len(refused) == 1 and refused[0].reason == "budget:global"


def test_an_unclamped_call_reports_no_max_tokens(make_gateway: Any) -> None:
    gw, _ = gateway(make_gateway, {**CAP, "on_exceed": "clamp"})
    assert gw.chat(model=MODEL, messages=HI, max_tokens=5).gateway.max_tokens is None


def test_refuse_is_the_default(make_gateway: Any) -> None:
    gw, fake = gateway(make_gateway, CAP)
    with pytest.raises(aigate.BudgetExceeded):
        gw.chat(model=MODEL, messages=HI)  # 16,384 tokens worst case
    assert fake.calls == []


# -- 14.16: refusals are ledger rows ---------------------------------------------------------


def test_rate_limit_refusal_is_recorded(make_gateway: Any) -> None:
    fake = BillingFake()
    gw = make_gateway(
        providers={"openai": {"api_keys": ["sk"]}},
        budget={"rate_limits": [{"scope": "user:*", "rpm": 1}]},
        ledger="memory://",
        transport=fake,
    )
    gw.chat(model=MODEL, messages=HI, max_tokens=5, user="u1")
    with pytest.raises(aigate.RateLimited):
        gw.chat(model=MODEL, messages=HI, max_tokens=5, user="u1")
    rows = gw.gw._core.ledger.query()
    assert [r.status for r in rows] == ["ok", "refused"]
    assert rows[1].reason == "rate_limit:user:u1" and rows[1].cost_nano == 0


# -- 13.14: config that lies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fail_open", "false"),
        ("hard", "false"),
        ("allow_unpriced", "yes"),
        ("thresholds", "abc"),
        ("thresholds", 5),
        ("thresholds", [float("nan")]),
        ("tz", 5),
        ("window", 7),
        ("on_exceed", "clmp"),
        ("scope", "usr:*"),
    ],
)
def test_budget_limits_are_strict(field: str, value: object) -> None:
    with pytest.raises(aigate.ConfigurationError) as info:
        aigate.Gateway(
            providers={"openai": {"api_keys": ["sk"]}},
            budget={"limits": [{"amount": 1, "window": "day", field: value}]},
        )
    assert f"budget.limits.0.{field}" in str(info.value) or f"budget.{field}" in str(info.value)


def test_clamp_on_a_requests_limit_is_a_config_error() -> None:
    with pytest.raises(aigate.ConfigurationError, match="on_exceed"):
        Limit(amount=5, unit="requests", window="day", on_exceed="clamp")


def test_mistyped_rate_limit_scope_is_rejected_with_a_suggestion() -> None:
    with pytest.raises(aigate.ConfigurationError) as info:
        aigate.Gateway(
            providers={"openai": {"api_keys": ["sk"]}},
            budget={"rate_limits": [{"scope": "usr:*", "rpm": 1}]},
        )
    assert "budget.rate_limits.0.scope" in str(info.value)
    assert "did you mean 'user'" in str(info.value)


def test_sqlite_ledger_url_takes_table(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "l.db"
    ledger = open_ledger(f"sqlite:///{path}?table=calls")
    from aigate.ledger import LedgerRecord

    ledger.record(LedgerRecord(id="a"))
    ledger.close()
    rows = sqlite3.connect(path).execute("SELECT id FROM calls").fetchall()
    assert rows == [("a",)]


def test_redis_ledger_url_takes_prefix(redis_url: str) -> None:
    from aigate.ledger import LedgerRecord

    ledger = open_ledger(f"{redis_url}?prefix=myapp")
    ledger.record(LedgerRecord(id="a"))
    assert ledger.get("a") is not None
    import redis

    assert redis.Redis.from_url(redis_url).exists("{myapp}:records")
    ledger.close()


def test_postgres_ledger_url_takes_table(postgres_dsn: str) -> None:
    from aigate.ledger import LedgerRecord

    ledger = open_ledger(f"{postgres_dsn}&table=calls")
    ledger.record(LedgerRecord(id="a"))
    assert ledger.get("a") is not None
    ledger.close()
    import psycopg

    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT id FROM calls").fetchall() == [("a",)]


def test_bad_ledger_table_option_is_a_startup_error(tmp_path: Path) -> None:
    with pytest.raises(aigate.ConfigurationError, match=r"ledger\.table"):
        aigate.Gateway(
            providers={"openai": {"api_keys": ["sk"]}},
            ledger=f"sqlite:///{tmp_path / 'l.db'}?table=bad-name",
        )
