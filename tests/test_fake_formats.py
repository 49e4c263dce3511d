"""The testing kit answers in each target's own wire format (issue 14 item 17): a route with
``anthropic/...`` or ``gemini/...`` targets is tested on the bytes those providers send, so
the answer is priced, tool calls and streams come through, and errors map as they would."""

from __future__ import annotations

import json
from typing import Any

import pytest

import aigate
from aigate._fake_formats import render_chat, render_error, wire_format
from aigate.testing import FakeTransport, error, reply

TARGETS = {
    "anthropic": ("anthropic/claude-haiku-4-5", {"anthropic": {"api_keys": ["sk-ant-test"]}}),
    "gemini": ("gemini/gemini-2.5-flash", {"gemini": {"api_keys": ["g-test"]}}),
}


@pytest.fixture(params=sorted(TARGETS))
def target(request: pytest.FixtureRequest) -> tuple[str, str, dict[str, Any]]:
    fmt = request.param
    model, providers = TARGETS[fmt]
    return fmt, model, providers


def test_plain_answers_are_priced(make_gateway: Any, target: Any) -> None:
    fmt, model, providers = target
    fake = FakeTransport([reply("Bonjour le monde")])
    gw = make_gateway(providers=providers, transport=fake)
    r = gw.chat(model=model, messages=[{"role": "user", "content": "Say hi"}])
    assert r.choices[0].message.content == "Bonjour le monde"
    assert r.usage.completion_tokens == 3 and r.usage.prompt_tokens > 0
    assert r.gateway.cost_usd is not None and r.gateway.cost_usd > 0
    assert wire_format(fake.calls[-1].path) == fmt


def test_echo_reads_the_formats_own_request(make_gateway: Any, target: Any) -> None:
    _, model, providers = target
    gw = make_gateway(providers=providers, transport=FakeTransport())
    r = gw.chat(model=model, messages=[{"role": "user", "content": "ping pong"}])
    assert r.choices[0].message.content == "You said: ping pong"


def test_tool_calls(make_gateway: Any, target: Any) -> None:
    _, model, providers = target
    fake = FakeTransport(
        [reply(None, tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])]
    )
    gw = make_gateway(providers=providers, transport=fake)
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]
    r = gw.chat(model=model, messages=[{"role": "user", "content": "weather?"}], tools=tools)
    (call,) = r.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert r.choices[0].finish_reason == "tool_calls"


def test_streams(make_gateway: Any, target: Any) -> None:
    _, model, providers = target
    fake = FakeTransport([reply("one two three")])
    gw = make_gateway(providers=providers, transport=fake)
    chunks, stream = gw.stream(model=model, messages=[{"role": "user", "content": "count"}])
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert stream.gateway.cost_usd is not None and not stream.gateway.estimated


def test_errors_map_like_the_provider(make_gateway: Any, target: Any) -> None:
    _, model, providers = target
    fake = FakeTransport([error(429, "slow down"), error(400, "bad")])
    gw = make_gateway(providers=providers, transport=fake)
    with pytest.raises((aigate.RateLimitError, aigate.AllTargetsFailed)):
        gw.chat(model=model, messages=[{"role": "user", "content": "x"}])
    assert fake.calls[0].path == fake.calls[-1].path


def test_anthropic_bodies_validate_with_the_sdk() -> None:
    from anthropic.types import Message, RawMessageStreamEvent
    from pydantic import TypeAdapter

    args: dict[str, Any] = {
        "text": "hi there",
        "tool_calls": [{"id": "toolu_1", "name": "f", "arguments": '{"a": 1}'}],
        "finish_reason": None,
        "usage": {"prompt_tokens": 10, "completion_tokens": 4},
        "pieces": ["hi", " there"],
        "model": "claude-haiku-4-5",
        "ident": "x1",
    }
    status, _, parts = render_chat("anthropic", {}, stream=False, **args)
    message = Message.model_validate_json(parts[0])
    assert status == 200 and message.stop_reason == "tool_use"
    assert [b.type for b in message.content] == ["text", "tool_use"]
    _, headers, parts = render_chat("anthropic", {}, stream=True, **args)
    assert headers["content-type"] == "text/event-stream"
    adapter = TypeAdapter(RawMessageStreamEvent)
    events = []
    for part in parts:
        data = part.decode().split("data: ", 1)[1]
        if json.loads(data)["type"] != "ping":  # the SDK skips pings; not a message event
            events.append(adapter.validate_json(data))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("content_block_start") == 2


def test_error_bodies() -> None:
    assert render_error("anthropic", 529, "busy", None)["error"]["type"] == "overloaded_error"
    assert render_error("gemini", 429, "quota", None)["error"]["status"] == "RESOURCE_EXHAUSTED"
