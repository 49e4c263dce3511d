"""The testing kit answers OpenAI's Responses API (``POST /v1/responses``) in its own format.

``gw.responses.create`` on official OpenAI providers is passed through natively to
``/v1/responses``; a test that pairs ``providers={"openai": {...}}`` with
``aigate.testing.FakeTransport()`` must get an answer there in the Responses format, with
the chat format's scripting (text, tool calls, usage, errors, delays, cut streams). Every
object and event is validated with the ``openai`` package's own types, and each stream is
fed to openai's own stream accumulator. Each test runs with Gateway and AsyncGateway.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

import aigate
from aigate.testing import (
    FakeClock,
    FakeTransport,
    FaultTransport,
    error,
    malformed,
    reply,
    stall,
    timeout,
)

from .conftest import check_response, check_response_events

MODEL = "openai/gpt-4o-mini"
OPENAI = {"openai": {"api_keys": ["sk-test"]}}
# A second official-format OpenAI target, so a route of the two stays native and can fail over.
TWO = {
    "openai": {"api_keys": ["sk-test"]},
    "backup": {
        "kind": "openai",
        "api_keys": ["sk-backup"],
        "base_url": "https://backup.example/v1",
        "options": {"native": True},
    },
}
ROUTE = {"r": ["openai/gpt-4o-mini", "backup/gpt-4o-mini"]}
WEATHER = [{"id": "call_w1", "name": "get_weather", "arguments": {"city": "Paris"}}]
TOOLS = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]


class Calls:
    """``gw.responses`` on a Gateway or an AsyncGateway, called the same way."""

    def __init__(self, mode: str, **config: Any) -> None:
        self.mode = mode
        self.gw: Any = (aigate.Gateway if mode == "sync" else aigate.AsyncGateway)(**config)

    def create(self, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return self.gw.responses.create(**kwargs)
        return asyncio.run(self.gw.responses.create(**kwargs))

    def chat(self, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return self.gw.chat.completions.create(**kwargs)
        return asyncio.run(self.gw.chat.completions.create(**kwargs))

    def stream(self, **kwargs: Any) -> tuple[list[Any], Any]:
        """Read a whole stream: (events, the stream object)."""
        if self.mode == "sync":
            stream = self.gw.responses.create(stream=True, **kwargs)
            with stream:
                return list(stream), stream

        async def main() -> tuple[list[Any], Any]:
            stream = await self.gw.responses.create(stream=True, **kwargs)
            async with stream:
                return [e async for e in stream], stream

        return asyncio.run(main())

    def close(self) -> None:
        if self.mode == "sync":
            self.gw.close()
        else:
            asyncio.run(self.gw.aclose())


@pytest.fixture
def calls(mode: str) -> Any:
    made: list[Calls] = []

    def make(**config: Any) -> Calls:
        config.setdefault("providers", OPENAI)
        made.append(Calls(mode, **config))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


def test_plain(calls: Any) -> None:
    fake = FakeTransport()
    c = calls(transport=fake)
    r = c.create(model=MODEL, input="Hi")
    check_response(r)
    assert r.output_text == "You said: Hi"
    assert fake.calls[-1].path == "/v1/responses"
    assert fake.calls[-1].json["model"] == "gpt-4o-mini"
    assert r.status == "completed" and r.gateway.provider == "openai"
    assert r.usage.input_tokens > 0 and r.usage.output_tokens == 3
    assert r.usage.total_tokens == r.usage.input_tokens + 3
    assert r.gateway.cost_usd is not None and r.gateway.cost_usd > 0


def test_stream(calls: Any) -> None:
    fake = FakeTransport([reply("one two three")])
    c = calls(transport=fake)
    events, stream = c.stream(model=MODEL, input="Count")
    check_response_events(events, stream.response)
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == ["one", " two", " three"]
    assert fake.calls[-1].path == "/v1/responses" and fake.calls[-1].json["stream"] is True
    assert events[-1].response.usage.output_tokens == 3
    assert stream.response.output_text == "one two three"
    assert stream.response.gateway.cost_usd is not None and not stream.response.gateway.estimated


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_scripted_text_chunks_and_usage(calls: Any, streamed: bool) -> None:
    usage = {
        "prompt_tokens": 40,
        "completion_tokens": 9,
        "total_tokens": 49,
        "prompt_tokens_details": {"cached_tokens": 32},
        "completion_tokens_details": {"reasoning_tokens": 4},
    }
    fake = FakeTransport(
        [reply("Bonjour le monde", chunks=["Bon", "jour le", " monde"], usage=usage)]
    )
    c = calls(transport=fake)
    if streamed:
        events, stream = c.stream(model=MODEL, input="Hi", instructions="Be brief")
        check_response_events(events, stream.response)
        assert [e.delta for e in events if e.type == "response.output_text.delta"] == [
            "Bon",
            "jour le",
            " monde",
        ]
        r = stream.response
    else:
        r = c.create(model=MODEL, input="Hi", instructions="Be brief")
        check_response(r)
    assert r.output_text == "Bonjour le monde"
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (40, 9, 49)
    assert r.usage.input_tokens_details.cached_tokens == 32
    assert r.usage.output_tokens_details.reasoning_tokens == 4


def test_usage_is_counted_as_for_chat(calls: Any) -> None:
    """The prompt is counted as the chat fake counts it: words plus 3 per message (the
    instructions are one)."""
    fake = FakeTransport(["a b c", "a b c"])
    c = calls(transport=fake)
    messages = [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Say three words"},
    ]
    a = c.chat(model=MODEL, messages=messages)
    r = c.create(model=MODEL, input="Say three words", instructions="Be brief")
    assert r.usage.input_tokens == a.usage.prompt_tokens
    assert r.usage.output_tokens == a.usage.completion_tokens == 3


def test_input_items_are_echoed_and_counted(calls: Any) -> None:
    fake = FakeTransport()
    c = calls(transport=fake)
    r = c.create(
        model=MODEL,
        input=[
            {"role": "user", "content": [{"type": "input_text", "text": "first"}]},
            {"role": "assistant", "content": "ok"},
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "ping"}],
            },
        ],
    )
    check_response(r)
    assert r.output_text == "You said: ping"
    assert r.usage.input_tokens > 9


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_tool_calls(calls: Any, streamed: bool) -> None:
    fake = FakeTransport([reply(None, tool_calls=WEATHER)])
    c = calls(transport=fake)
    if streamed:
        events, stream = c.stream(model=MODEL, input="Weather?", tools=TOOLS)
        check_response_events(events, stream.response)
        kinds = [e.type for e in events]
        assert "response.function_call_arguments.delta" in kinds
        assert "response.function_call_arguments.done" in kinds
        assert "response.output_text.delta" not in kinds
        r = stream.response
    else:
        r = c.create(model=MODEL, input="Weather?", tools=TOOLS)
        check_response(r)
    (call,) = r.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.call_id == "call_w1" and json.loads(call.arguments) == {"city": "Paris"}
    assert r.usage.output_tokens > 0
    assert fake.calls[-1].json["tools"] == TOOLS


def test_text_and_tool_calls_together(calls: Any) -> None:
    calls_ = [*WEATHER, {"name": "get_time", "arguments": '{"tz": "CET"}'}]
    fake = FakeTransport([reply("Checking.", tool_calls=calls_)])
    c = calls(transport=fake)
    events, stream = c.stream(model=MODEL, input="Weather and time?", tools=TOOLS)
    check_response_events(events, stream.response)
    r = stream.response
    assert [i.type for i in r.output] == ["message", "function_call", "function_call"]
    assert [i.name for i in r.output[1:]] == ["get_weather", "get_time"]
    assert r.output[2].arguments == '{"tz": "CET"}' and r.output_text == "Checking."


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_a_length_cut_is_incomplete(calls: Any, streamed: bool) -> None:
    fake = FakeTransport([reply("cut short", finish_reason="length")])
    c = calls(transport=fake)
    if streamed:
        events, stream = c.stream(model=MODEL, input="Hi", max_output_tokens=2)
        check_response_events(events, stream.response)
        assert events[-1].type == "response.incomplete"
        r = stream.response
    else:
        r = c.create(model=MODEL, input="Hi", max_output_tokens=2)
    sdk = check_response(r)
    assert sdk.status == "incomplete" and sdk.output_text == "cut short"
    assert sdk.incomplete_details is not None
    assert sdk.incomplete_details.reason == "max_output_tokens"


def test_the_request_fields_are_echoed_in_the_response() -> None:
    """As OpenAI does: instructions, tools, max_output_tokens, ... come back."""
    fake = FakeTransport(["ok"])
    gw = aigate.Gateway(providers=OPENAI, transport=fake)
    r = gw.responses.create(
        model=MODEL, input="Hi", instructions="Be brief", tools=TOOLS, max_output_tokens=50
    )
    sdk = check_response(r)
    assert sdk.instructions == "Be brief" and sdk.max_output_tokens == 50
    assert [t.name for t in sdk.tools] == ["get_weather"]  # type: ignore[union-attr]
    gw.close()


# -- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_status_error_fails_over(calls: Any, streamed: bool, status: int) -> None:
    fake = FakeTransport([error(status, "busy"), reply("from the backup")])
    c = calls(providers=TWO, routes=ROUTE, transport=fake)
    if streamed:
        events, stream = c.stream(model="r", input="Hi")
        check_response_events(events, stream.response)
        r = stream.response
    else:
        r = c.create(model="r", input="Hi")
    assert r.output_text == "from the backup"
    assert [call.request.url.host for call in fake.calls] == ["api.openai.com", "backup.example"]
    assert [call.path for call in fake.calls] == ["/v1/responses"] * 2
    assert [a.status_code for a in r.gateway.attempts] == [status, 200]


@pytest.mark.parametrize(
    ("status", "raised"),
    [
        (429, aigate.RateLimitError),
        (500, aigate.APIStatusError),
        (400, aigate.BadRequestError),
        (401, aigate.AuthenticationError),
    ],
)
def test_a_status_error_raises_as_for_chat(calls: Any, status: int, raised: type) -> None:
    fake = FakeTransport([error(status, "nope")], default=error(status, "nope"))
    with pytest.raises((raised, aigate.AllTargetsFailed)) as native:
        calls(transport=fake).create(model=MODEL, input="Hi")
    with pytest.raises((raised, aigate.AllTargetsFailed)) as chat:
        calls(transport=fake).chat(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert type(native.value) is type(chat.value)
    assert {call.path for call in fake.calls} == {"/v1/responses", "/v1/chat/completions"}


def test_the_error_body_is_openais() -> None:
    fake = FakeTransport([error(429, "slow down", code="rate_limit_exceeded")])
    with httpx.Client(transport=fake) as client:
        answer = client.post(
            "https://api.openai.com/v1/responses", json={"model": "m", "input": "Hi"}
        )
    assert answer.status_code == 429
    assert answer.json() == {
        "error": {
            "message": "slow down",
            "type": "fake_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }


def test_a_retry_after_is_honoured(calls: Any) -> None:
    clock = FakeClock()
    fake = FakeTransport([error(429, headers={"retry-after": "2"}), reply("Hi!")])
    c = calls(transport=fake, router={"retry": {"retries": 1}}, sleep=clock.sleep, clock=clock)
    r = c.create(model=MODEL, input="Hi")
    assert r.output_text == "Hi!" and clock.sleeps == [2.0]
    assert [a.status_code for a in r.gateway.attempts] == [429, 200]


def test_a_timeout_fails_over(calls: Any) -> None:
    fake = FakeTransport([timeout(), reply("from the backup")])
    c = calls(providers=TWO, routes=ROUTE, transport=fake)
    assert c.create(model="r", input="Hi").gateway.provider == "backup"


def test_latency_is_waited(calls: Any) -> None:
    fake = FakeTransport([reply("slow", latency=0.05)])
    c = calls(transport=fake)
    r = c.create(model=MODEL, input="Hi")
    assert r.output_text == "slow" and r.gateway.latency_ms >= 50


def test_a_stream_cut_in_the_preamble_fails_over(calls: Any) -> None:
    # cut after response.created and response.in_progress: nothing the caller saw yet
    fake = FakeTransport([reply("lost", cut_after=2), reply("from the backup")])
    c = calls(providers=TWO, routes=ROUTE, transport=fake)
    events, stream = c.stream(model="r", input="Hi")
    check_response_events(events, stream.response)
    assert stream.response.output_text == "from the backup"
    assert stream.response.gateway.provider == "backup"


def test_a_stream_cut_after_content_is_interrupted(calls: Any) -> None:
    fake = FakeTransport([reply("one two three", cut_after=6), reply("never")])
    c = calls(providers=TWO, routes=ROUTE, transport=fake)
    with pytest.raises(aigate.StreamInterrupted) as info:
        c.stream(model="r", input="Hi")
    assert info.value.partial.choices[0].message.content == "one two"
    assert len(fake.calls) == 1


def test_fault_transport_plays_faults_on_responses(calls: Any) -> None:
    clock = FakeClock()
    fault = FaultTransport(
        {
            "gpt-4o-mini": [
                malformed(after=0),
                stall(5, after=4, text="late but whole"),
                stall(30, text="slow headers"),
            ]
        },
        clock=clock,
    )
    c = calls(providers=TWO, routes={"r": ["openai/gpt-4o-mini"]}, transport=fault)
    with pytest.raises((aigate.AigateError,)):
        c.stream(model="r", input="Hi")  # an unparsable event, before any content
    events, stream = c.stream(model="r", input="Hi")
    check_response_events(events, stream.response)
    assert stream.response.output_text == "late but whole" and clock.now > 1_700_000_000
    r = c.create(model="r", input="Hi")
    assert r.output_text == "slow headers"
    assert {call.path for call in fault.calls} == {"/v1/responses"}
