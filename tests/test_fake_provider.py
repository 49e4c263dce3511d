"""A ``kind = "fake"`` provider (issue 14.18): an injected ``transport=`` is honoured, not
silently replaced by the fake's own in-process transport."""

from __future__ import annotations

from typing import Any

from aigate.testing import FakeTransport, reply

HI = [{"role": "user", "content": "hi"}]


def test_a_gateway_transport_serves_fake_providers(make_gateway: Any) -> None:
    fake = FakeTransport([reply("from my transport")])
    h = make_gateway(providers={"demo": {"kind": "fake"}}, transport=fake)
    r = h.chat(model="demo/x", messages=HI)
    assert r.choices[0].message.content == "from my transport"
    assert len(fake.calls) == 1


def test_a_provider_transport_wins_over_the_gateway_one(make_gateway: Any) -> None:
    mine = FakeTransport([reply("provider's")])
    wide = FakeTransport([reply("gateway's")])
    h = make_gateway(
        providers={
            "demo": {"kind": "fake", "options": {"transport": mine}},
            "other": {"kind": "fake", "base_url": "http://other.fake/v1"},
        },
        transport=wide,
    )
    assert h.chat(model="demo/x", messages=HI).choices[0].message.content == "provider's"
    assert h.chat(model="other/x", messages=HI).choices[0].message.content == "gateway's"
    assert (len(mine.calls), len(wide.calls)) == (1, 1)


def test_without_a_transport_the_fake_answers_in_process(make_gateway: Any) -> None:
    h = make_gateway(providers={"demo": {"kind": "fake"}})
    assert h.chat(model="demo/x", messages=HI).choices[0].message.content == "You said: hi"
