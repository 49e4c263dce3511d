"""The surfaces ride the chat flow: priced, cached (streams replayed event for event),
failover before the first event and ``StreamInterrupted`` after, for both surfaces."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import aigate
from aigate.surfaces import AsyncMessages, AsyncResponses, Messages, Responses
from aigate.testing import FakeTransport, reply

from .conftest import Surfaces, Upstream, check_message_events, check_response_events

MODEL = "openai/gpt-4o-mini"
USER = [{"role": "user", "content": "Hello"}]


def fake_surfaces(mode: str, fake: FakeTransport, **config: Any) -> Surfaces:
    """The conftest harness, over aigate's FakeTransport instead of fixture files."""
    made = Surfaces.__new__(Surfaces)
    made.mode = mode
    made.upstream = Upstream(openai=[])
    # FakeTransport answers in the chat formats: the surfaces translate for it
    providers = config.pop(
        "providers", {"openai": {"api_keys": ["sk-test"], "options": {"native": False}}}
    )

    if mode == "sync":
        made.gw = aigate.Gateway(providers=providers, transport=fake, **config)
        made.responses, made.messages = Responses(made.gw), Messages(made.gw)
    else:
        made.gw = aigate.AsyncGateway(providers=providers, transport=fake, **config)
        made.responses, made.messages = AsyncResponses(made.gw), AsyncMessages(made.gw)
    return made


@pytest.fixture
def fake_made(mode: str) -> Any:
    made: list[Surfaces] = []

    def make(fake: FakeTransport, **config: Any) -> Surfaces:
        made.append(fake_surfaces(mode, fake, **config))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


def test_priced(fake_made: Any) -> None:
    s = fake_made(FakeTransport([reply("Hi there")]))
    r = s.create_response(model=MODEL, input="Hello")
    assert isinstance(r.gateway.cost_usd, Decimal) and r.gateway.cost_usd > 0
    m = s.create_message(model=MODEL, max_tokens=10, messages=USER)
    assert isinstance(m.gateway.cost_usd, Decimal) and m.gateway.cost_usd > 0


@pytest.mark.parametrize("resource", ["responses", "messages"])
def test_cached_stream_replays_the_same_events(fake_made: Any, resource: str) -> None:
    fake = FakeTransport([reply("One two three four")])
    s = fake_made(fake, cache="memory://")
    kwargs: dict[str, Any] = (
        {"model": MODEL, "input": "Count", "store": False, "cache": True}
        if resource == "responses"
        else {"model": MODEL, "max_tokens": 20, "messages": USER, "cache": True}
    )
    first, one = s.stream(resource, **kwargs)
    second, two = s.stream(resource, **kwargs)
    assert len(fake.calls) == 1  # the second was served from the cache
    final_one = one.response if resource == "responses" else one.message
    final_two = two.response if resource == "responses" else two.message
    assert final_two.gateway.cached is True
    check = check_response_events if resource == "responses" else check_message_events
    check(second, final_two)
    strip = {"item_id", "sequence_number", "response", "message", "id"}

    def bare(value: Any) -> Any:  # without the ids each response makes afresh
        if isinstance(value, dict):
            return {k: bare(v) for k, v in value.items() if k not in strip}
        return [bare(v) for v in value] if isinstance(value, list) else value

    def shape(events: list[Any]) -> list[Any]:
        return [bare(e.model_dump()) for e in events]

    assert shape(first) == shape(second)
    assert bare(final_one.model_dump(exclude={"created_at"})) == bare(
        final_two.model_dump(exclude={"created_at"})
    )


@pytest.mark.parametrize("resource", ["responses", "messages"])
def test_interrupted_after_the_first_event(fake_made: Any, resource: str) -> None:
    fake = FakeTransport([reply("One two three four five", cut_after=3)] * 3)
    s = fake_made(fake, ledger="memory://")
    kwargs: dict[str, Any] = (
        {"model": MODEL, "input": "Count"}
        if resource == "responses"
        else {"model": MODEL, "max_tokens": 20, "messages": USER}
    )
    with pytest.raises(aigate.StreamInterrupted) as info:
        s.stream(resource, **kwargs)
    assert info.value.partial.choices[0].message.content
    assert len(s.gw._core.ledger.query()) == 1  # still recorded, once


def test_failover_before_the_first_event(fake_made: Any) -> None:
    fake = FakeTransport([aigate.testing.error(503), reply("Recovered")])
    providers = {
        "openai": {"api_keys": ["sk-test"], "options": {"native": False}},
        "backup": {"kind": "openai", "api_keys": ["sk-b"], "base_url": "http://backup.invalid/v1"},
    }
    s = fake_made(fake, providers=providers, routes={"r": [MODEL, "backup/gpt-4o-mini"]})
    events, stream = s.stream("responses", model="r", input="Hello")
    check_response_events(events, stream.response)
    assert stream.response.output_text == "Recovered"
    assert [a.status_code for a in stream.response.gateway.attempts] == [503, 200]


@pytest.mark.parametrize("resource", ["responses", "messages"])
def test_closed_early_still_records(fake_made: Any, mode: str, resource: str) -> None:
    import asyncio

    fake = FakeTransport([reply("One two three four five six")])
    s = fake_made(fake, ledger="memory://")
    kwargs: dict[str, Any] = (
        {"model": MODEL, "input": "Count"}
        if resource == "responses"
        else {"model": MODEL, "max_tokens": 20, "messages": USER}
    )
    target = getattr(s, resource)
    if mode == "sync":
        stream = target.create(stream=True, **kwargs)
        first = next(iter(stream))
        stream.close()
    else:

        async def main() -> Any:
            stream = await target.create(stream=True, **kwargs)
            first = await anext(aiter(stream))
            await stream.close()
            return first

        first = asyncio.run(main())
    assert first.type in ("response.created", "message_start")
    [record] = s.gw._core.ledger.query()  # the stopped stream is recorded, once
    assert record.provider == "openai"
    assert record.metadata["surface"] == resource
