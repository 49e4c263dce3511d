"""Virtual keys through the gateway: verified, scoped, limited, never echoed."""

from __future__ import annotations

from typing import Any

import pytest

import aigate
from aigate.tenancy import InvalidKeyError, KeyRevokedError, ModelNotAllowedError
from aigate.testing import FakeTransport, reply

HI = [{"role": "user", "content": "Hi"}]
MODEL = "openai/gpt-4o-mini"
USAGE = {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000}


@pytest.fixture(autouse=True)
def _pepper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGATE_KEY_PEPPER", "test-pepper-0123456789abcdef")


def gateway(make_gateway: Any, **extra: Any) -> tuple[Any, FakeTransport]:
    fake = FakeTransport(default=reply("ok", usage=USAGE))
    gw = make_gateway(
        providers={"openai": {"api_keys": ["sk"]}},
        keys="memory://",
        budget={"store": "memory://"},
        ledger="memory://",
        transport=fake,
        **extra,
    )
    return gw, fake


class TestVirtualKeys:
    def test_calls_are_scoped_to_the_key(self, make_gateway: Any) -> None:
        gw, _ = gateway(make_gateway)
        secret, key = gw.gw.keys.create(project="acme", user="u-42", name="ci")
        assert secret.startswith("gk_") and secret not in repr(key)
        r = gw.chat(model=MODEL, messages=HI, api_key=secret, metadata={"project": "spoofed"})
        rec = gw.gw._core.ledger.get(r.gateway.call_id)
        assert (rec.virtual_key, rec.project, rec.user) == (key.id, "acme", "u-42")

    def test_for_key_view(self, make_gateway: Any) -> None:
        gw, fake = gateway(make_gateway)
        secret, _key = gw.gw.keys.create(project="acme")
        view = gw.gw.for_key(secret)
        assert secret not in repr(view)
        result = view.chat.completions.create(model=MODEL, messages=HI)
        if gw.mode == "async":
            import asyncio

            result = asyncio.run(result)
        assert result.choices[0].message.content == "ok"
        assert len(fake.calls) == 1

    def test_revoked_unknown_and_disallowed_keys(self, make_gateway: Any) -> None:
        gw, fake = gateway(make_gateway)
        secret, key = gw.gw.keys.create(project="acme", models=["openai/gpt-4o"])
        with pytest.raises(ModelNotAllowedError):
            gw.chat(model=MODEL, messages=HI, api_key=secret)
        gw.gw.keys.revoke(key.id)
        with pytest.raises(KeyRevokedError) as revoked:
            gw.chat(model="openai/gpt-4o", messages=HI, api_key=secret)
        with pytest.raises(InvalidKeyError) as invalid:
            gw.chat(model="openai/gpt-4o", messages=HI, api_key="gk_" + "x" * 43)
        for err in (revoked.value, invalid.value):
            assert secret not in str(err) and "gk_xxx" not in str(err)
        assert fake.calls == []

    def test_key_budget_is_enforced(self, make_gateway: Any) -> None:
        gw, fake = gateway(make_gateway)
        secret, _ = gw.gw.keys.create(budget=[{"amount": "0.001", "window": "day"}])
        gw.chat(model=MODEL, messages=HI, api_key=secret, max_tokens=1000)
        with pytest.raises(aigate.BudgetExceeded) as info:
            gw.chat(model=MODEL, messages=HI, api_key=secret, max_tokens=1000)
        assert info.value.scope.startswith("key:vk_")
        gw.chat(model=MODEL, messages=HI, max_tokens=1000)  # no key: no key budget
        assert len(fake.calls) == 2

    def test_key_rate_limit(self, make_gateway: Any) -> None:
        gw, _ = gateway(make_gateway)
        secret, _ = gw.gw.keys.create(rate_limit={"rpm": 1})
        gw.chat(model=MODEL, messages=HI, api_key=secret)
        with pytest.raises(aigate.RateLimited):
            gw.chat(model=MODEL, messages=HI, api_key=secret)

    def test_tenant_quota(self, make_gateway: Any) -> None:
        gw, _ = gateway(make_gateway)
        gw.gw.keys.put_tenant("project", "acme", limits=[{"amount": "0.001", "window": "day"}])
        secret, _ = gw.gw.keys.create(project="acme")
        gw.chat(model=MODEL, messages=HI, api_key=secret, max_tokens=1000)
        with pytest.raises(aigate.BudgetExceeded) as info:
            gw.chat(model=MODEL, messages=HI, api_key=secret, max_tokens=1000)
        assert info.value.scope == "project:acme"

    def test_keys_need_a_store(self) -> None:
        gw = aigate.Gateway(providers={"openai": {"api_keys": ["k"]}}, transport=FakeTransport())
        with pytest.raises(aigate.ConfigurationError) as info:
            gw.chat.completions.create(model=MODEL, messages=HI, api_key="gk_abc")
        assert info.value.field == "keys"
        gw.close()
