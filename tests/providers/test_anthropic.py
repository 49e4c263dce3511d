"""The Anthropic Messages codec, through a real Gateway and AsyncGateway.

Every test body runs twice (``run`` is parametrised sync/async); provider answers are the
fixtures in ``tests/fixtures/anthropic`` (sources in its SOURCES.md).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai.types.chat as oai_chat
import pytest

import aigate
from aigate.providers.anthropic import JSON_TOOL

FIXTURES = Path(__file__).parent.parent / "fixtures"
KEY = "sk-ant-test-secret"
ANTHROPIC = {"anthropic": {"api_keys": [KEY]}}
MODEL = "anthropic/claude-sonnet-4-5"
HI = [{"role": "user", "content": "Hello, world"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


# -- the harness: one test body, Gateway and AsyncGateway ----------------------------------


def fixture(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


def sse_events(raw: bytes) -> list[bytes]:
    """An SSE body split into its events, to be sent one network chunk each."""
    text = raw.replace(b"\r\n", b"\n")
    return [part + b"\n\n" for part in text.split(b"\n\n") if part.strip()]


class Parts(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in the given pieces, for sync and async clients."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        yield from self.parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


def sse_response(raw: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream", **headers},
        stream=Parts(sse_events(raw)),
    )


@dataclass
class Recorder:
    """A MockTransport handler answering from a list; it keeps every request."""

    answers: list[httpx.Response | Callable[[httpx.Request], httpx.Response]]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        return answer(request) if callable(answer) else answer

    @property
    def body(self) -> Any:
        return json.loads(self.requests[-1].content)


@dataclass
class Streamed:
    chunks: list[aigate.ChatCompletionChunk]
    completion: aigate.ChatCompletion
    gateway: Any
    error: BaseException | None = None

    @property
    def text(self) -> str:
        return "".join(c.choices[0].delta.content or "" for c in self.chunks if c.choices)


class Run:
    """Runs one call on a Gateway or an AsyncGateway (a fresh one per call)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(
        self, handler: Callable[[httpx.Request], httpx.Response], config: dict[str, Any], **kw: Any
    ) -> Any:
        transport = httpx.MockTransport(handler)
        if self.mode == "sync":
            with aigate.Gateway(transport=transport, **config) as gw:
                result = gw.chat.completions.create(**kw)
                if not kw.get("stream"):
                    return result
                chunks: list[aigate.ChatCompletionChunk] = []
                try:
                    for item in result:
                        chunks.append(item)
                except aigate.AigateError as exc:
                    return Streamed(chunks, result.completion(), result.gateway, exc)
                return Streamed(chunks, result.completion(), result.gateway)

        async def main() -> Any:
            async with aigate.AsyncGateway(transport=transport, **config) as gw:
                result = await gw.chat.completions.create(**kw)
                if not kw.get("stream"):
                    return result
                chunks: list[aigate.ChatCompletionChunk] = []
                try:
                    async for item in result:
                        chunks.append(item)
                except aigate.AigateError as exc:
                    return Streamed(chunks, result.completion(), result.gateway, exc)
                return Streamed(chunks, result.completion(), result.gateway)

        return asyncio.run(main())

    def embeddings(
        self, handler: Callable[[httpx.Request], httpx.Response], config: dict[str, Any], **kw: Any
    ) -> Any:
        transport = httpx.MockTransport(handler)
        if self.mode == "sync":
            with aigate.Gateway(transport=transport, **config) as gw:
                return gw.embeddings.create(**kw)

        async def main() -> Any:
            async with aigate.AsyncGateway(transport=transport, **config) as gw:
                return await gw.embeddings.create(**kw)

        return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Run:
    return Run(request.param)


def answer(name: str, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=fixture(name), headers={"content-type": "application/json", **headers}
    )


def validate(result: Any) -> None:
    """openai's own models accept what aigate returns."""
    if isinstance(result, Streamed):
        for item in result.chunks:
            oai_chat.ChatCompletionChunk.model_validate(item.model_dump())
        oai_chat.ChatCompletion.model_validate(result.completion.model_dump())
    else:
        oai_chat.ChatCompletion.model_validate(result.model_dump())


# -- non-streaming -------------------------------------------------------------------------


class TestMessages:
    def test_documented_message_comes_back_in_openai_shape(self, run: Run) -> None:
        rec = Recorder(
            [answer("anthropic/message.json", **{"request-id": "req_018EeWyXxfu5pfWkrYcMdjWG"})]
        )
        r = run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, max_tokens=1024)
        validate(r)
        assert r.id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
        assert r.model == "claude-3-5-sonnet-20240620"
        assert r.choices[0].message.content == "Hi! My name is Claude."
        assert r.choices[0].finish_reason == "stop"
        assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (2095, 503)
        assert r.usage.total_tokens == 2598
        assert r.gateway.request_id == "req_018EeWyXxfu5pfWkrYcMdjWG"
        request = rec.requests[0]
        assert str(request.url) == "https://api.anthropic.com/v1/messages"
        assert request.headers["x-api-key"] == KEY
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in request.headers
        assert rec.body == {
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Hello, world"}],
        }

    def test_request_translation(self, run: Run) -> None:
        """system/developer hoisted, same-role turns merged, parameters renamed or
        dropped, aigate's metadata kept home, extra_body merged last."""
        rec = Recorder([answer("anthropic/message.json")])
        run(
            rec,
            {"providers": ANTHROPIC},
            model=MODEL,
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "user", "content": [{"type": "text", "text": "Who are you?"}]},
                {"role": "developer", "content": "Answer in English."},
            ],
            max_completion_tokens=300,
            stop="END",
            temperature=1.5,
            top_p=0.9,
            user="u-42",
            seed=7,
            presence_penalty=0.5,
            metadata={"project": "acme"},
            extra_body={"top_k": 5},
        )
        assert rec.body == {
            "model": "claude-sonnet-4-5",
            "max_tokens": 300,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Hi"},
                        {"type": "text", "text": "Who are you?"},
                    ],
                }
            ],
            "system": [
                {"type": "text", "text": "Be brief."},
                {"type": "text", "text": "Answer in English."},
            ],
            "stop_sequences": ["END"],
            "temperature": 1.0,  # top_p left out: Sonnet 4.5 takes one of the two (13.9)
            "metadata": {"user_id": "u-42"},
            "top_k": 5,
        }

    @pytest.mark.parametrize(
        ("model", "options", "params", "expected"),
        [
            ("claude-sonnet-4-5", {}, {"max_tokens": 77}, 77),
            ("claude-sonnet-4-5", {"max_tokens_default": 2048}, {}, 2048),
            ("claude-sonnet-4-5", {}, {}, 64000),  # the catalog's max output
            ("claude-opus-4-7", {}, {}, 128000),
            ("claude-unknown-model", {}, {}, 4096),
        ],
    )
    def test_max_tokens_is_never_silently_tiny(
        self, run: Run, model: str, options: dict[str, Any], params: dict[str, Any], expected: int
    ) -> None:
        rec = Recorder([answer("anthropic/message.json")])
        providers = {"anthropic": {"api_keys": [KEY], "options": options}}
        run(rec, {"providers": providers}, model=f"anthropic/{model}", messages=HI, **params)
        assert rec.body["max_tokens"] == expected

    def test_auth_version_and_beta_are_configurable(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/message.json")])
        options = {
            "auth": "bearer",
            "anthropic_version": "2026-10-21",
            "beta": ["prompt-caching-2024-07-31", "files-api-2025-04-14"],
        }
        providers = {"anthropic": {"api_keys": [KEY], "options": options}}
        run(rec, {"providers": providers}, model=MODEL, messages=HI)
        headers = rec.requests[0].headers
        assert headers["authorization"] == f"Bearer {KEY}"
        assert "x-api-key" not in headers
        assert headers["anthropic-version"] == "2026-10-21"
        assert headers["anthropic-beta"] == "prompt-caching-2024-07-31,files-api-2025-04-14"

    def test_images_become_image_blocks(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/message.json")])
        content = [
            {
                "type": "text",
                "text": "What is in these images?",
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {
                "type": "image_url",
                "image_url": {"url": "https://upload.wikimedia.org/a.jpg", "detail": "low"},
            },
        ]
        run(
            rec,
            {"providers": ANTHROPIC},
            model=MODEL,
            messages=[{"role": "user", "content": content}],
        )
        assert rec.body["messages"][0]["content"] == [
            {
                "type": "text",
                "text": "What is in these images?",
                "cache_control": {"type": "ephemeral"},
            },
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
            },
            {
                "type": "image",
                "source": {"type": "url", "url": "https://upload.wikimedia.org/a.jpg"},
            },
        ]

    def test_refused_arguments_raise_before_sending(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/message.json")])
        with pytest.raises(aigate.InvalidRequestError) as n:
            run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, n=2)
        assert n.value.field == "n"
        bad_image = [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]
        with pytest.raises(aigate.InvalidRequestError) as image:
            run(
                rec,
                {"providers": ANTHROPIC},
                model=MODEL,
                messages=[{"role": "user", "content": bad_image}],
            )
        assert image.value.field == "messages.0.content.0.image_url.url"
        assert rec.requests == []

    def test_embeddings_and_transcriptions_are_refused_clearly(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/message.json")])
        with pytest.raises(aigate.InvalidRequestError) as err:
            run.embeddings(rec, {"providers": ANTHROPIC}, model=MODEL, input="hello")
        assert err.value.field == "model"
        assert "no embeddings API" in str(err.value)
        assert rec.requests == []


# -- tools ---------------------------------------------------------------------------------


class TestWireDefects:
    """Issue 13.9: requests the Messages API would refuse are not sent as they came.
    Source: the API's documented errors ("each stop sequence must contain non-whitespace",
    "`temperature` and `top_p` cannot both be specified for this model") and the
    ``anthropic`` SDK's ``ToolParam.strict``."""

    def test_whitespace_only_stop_sequences_are_dropped_in_order(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/message.json")] * 2)
        run(
            rec,
            {"providers": ANTHROPIC},
            model=MODEL,
            messages=HI,
            stop=["\n", "END", " ", "\n\n", "##"],
        )
        assert rec.body["stop_sequences"] == ["END", "##"]
        run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, stop="\n")
        assert "stop_sequences" not in rec.body

    @pytest.mark.parametrize(
        ("model", "sent"),
        [
            ("claude-sonnet-4-5", {"temperature": 0.2}),
            ("claude-opus-4-1-20250805", {"temperature": 0.2}),
            ("claude-haiku-4-5-20251001", {"temperature": 0.2}),
            ("claude-sonnet-4-6", {"temperature": 0.2}),
            ("claude-sonnet-4-20250514", {"temperature": 0.2, "top_p": 0.9}),
            ("claude-3-5-haiku-20241022", {"temperature": 0.2, "top_p": 0.9}),
        ],
    )
    def test_temperature_and_top_p_only_where_the_model_takes_both(
        self, run: Run, model: str, sent: dict[str, float]
    ) -> None:
        rec = Recorder([answer("anthropic/message.json")])
        run(
            rec,
            {"providers": ANTHROPIC},
            model=f"anthropic/{model}",
            messages=HI,
            temperature=0.2,
            top_p=0.9,
        )
        assert {k: rec.body[k] for k in ("temperature", "top_p") if k in rec.body} == sent

    def test_top_p_alone_is_sent(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/message.json")])
        run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, top_p=0.5)
        assert rec.body["top_p"] == 0.5 and "temperature" not in rec.body

    def test_function_strict_is_forwarded(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/message.json")])
        strict = {**WEATHER_TOOL, "function": {**WEATHER_TOOL["function"], "strict": True}}
        run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, tools=[strict, WEATHER_TOOL])
        assert [t.get("strict") for t in rec.body["tools"]] == [True, None]


class TestTools:
    def test_tool_use_becomes_tool_calls(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/tool_use.json")])
        r = run(
            rec,
            {"providers": ANTHROPIC},
            model=MODEL,
            messages=[{"role": "user", "content": "What's the weather like in San Francisco?"}],
            tools=[WEATHER_TOOL],
        )
        validate(r)
        message = r.choices[0].message
        assert message.content == "I'll check the current weather."
        assert r.choices[0].finish_reason == "tool_calls"
        (call,) = message.tool_calls
        assert call.id == "toolu_01A09q90qw90lq917835lq9"
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {
            "location": "San Francisco, CA",
            "unit": "celsius",
        }
        assert r.usage is None  # the docs example carries no usage
        assert rec.body["tools"] == [
            {
                "name": "get_weather",
                "input_schema": WEATHER_TOOL["function"]["parameters"],
                "description": "Get the current weather in a given location",
            }
        ]
        assert "tool_choice" not in rec.body

    @pytest.mark.parametrize(
        ("choice", "parallel", "expected"),
        [
            ("auto", None, {"type": "auto"}),
            ("none", None, {"type": "none"}),
            ("required", None, {"type": "any"}),
            (
                {"type": "function", "function": {"name": "get_weather"}},
                None,
                {"type": "tool", "name": "get_weather"},
            ),
            (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
            ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ],
    )
    def test_tool_choice_mapping(self, run: Run, choice: Any, parallel: Any, expected: Any) -> None:
        rec = Recorder([answer("anthropic/tool_use.json")])
        extra = {"tool_choice": choice} if choice is not None else {}
        if parallel is not None:
            extra["parallel_tool_calls"] = parallel
        run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, tools=[WEATHER_TOOL], **extra)
        assert rec.body["tool_choice"] == expected

    def test_parallel_calls_and_results_round_trip(self, run: Run) -> None:
        """Two tool_use blocks -> two tool calls; sent back, the results become one user
        turn of tool_result blocks (the next user message joins it)."""
        rec = Recorder(
            [
                answer("anthropic/parallel_tool_use.json"),
                answer("anthropic/tool_result_answer.json"),
            ]
        )
        question = {
            "role": "user",
            "content": "What's the weather in SF and what time is it there?",
        }
        first = run(
            rec, {"providers": ANTHROPIC}, model=MODEL, messages=[question], tools=[WEATHER_TOOL]
        )
        validate(first)
        calls = first.choices[0].message.tool_calls
        assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
            ("toolu_01A09q90qw90lq917835lq9", "get_weather", {"location": "San Francisco, CA"}),
            ("toolu_01A09q90qw90lq917835lq10", "get_time", {"timezone": "America/Los_Angeles"}),
        ]
        assistant = first.choices[0].message.model_dump(exclude_none=True)
        follow_up = [
            question,
            assistant,
            {"role": "tool", "tool_call_id": calls[0].id, "content": "15 degrees"},
            {
                "role": "tool",
                "tool_call_id": calls[1].id,
                "content": [{"type": "text", "text": "10:15 PST"}],
            },
            {"role": "user", "content": "Thanks!"},
        ]
        second = run(
            rec, {"providers": ANTHROPIC}, model=MODEL, messages=follow_up, tools=[WEATHER_TOOL]
        )
        assert second.choices[0].message.content.startswith("The current weather in San Francisco")
        assert second.choices[0].finish_reason == "stop"
        assert rec.body["messages"] == [
            {"role": "user", "content": "What's the weather in SF and what time is it there?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": first.choices[0].message.content},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "name": "get_weather",
                        "input": {"location": "San Francisco, CA"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_01A09q90qw90lq917835lq10",
                        "name": "get_time",
                        "input": {"timezone": "America/Los_Angeles"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                        "content": "15 degrees",
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01A09q90qw90lq917835lq10",
                        "content": [{"type": "text", "text": "10:15 PST"}],
                    },
                    {"type": "text", "text": "Thanks!"},
                ],
            },
        ]

    def test_foreign_tool_call_ids_are_made_acceptable(self, run: Run) -> None:
        """A history from Gemini (ids carry a base64 thought signature) still works: the id
        is replaced by the same hash on the tool_use and on its tool_result."""
        rec = Recorder([answer("anthropic/message.json")])
        foreign = "call_0a1b2c__thought__Et8ECtwE+A/b=="
        call = {
            "id": foreign,
            "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"},
        }
        history = [
            *HI,
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": foreign, "content": "15 degrees"},
        ]
        run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=history, tools=[WEATHER_TOOL])
        tool_use = rec.body["messages"][1]["content"][0]
        tool_result = rec.body["messages"][2]["content"][0]
        assert tool_use["id"] == tool_result["tool_use_id"]
        assert tool_use["id"].startswith("toolu_") and "+" not in tool_use["id"]

    def test_json_schema_goes_through_a_forced_tool(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/json_tool.json")])
        schema = {
            "type": "object",
            "properties": {"location": {"type": "string"}, "unit": {"type": "string"}},
        }
        r = run(
            rec,
            {"providers": ANTHROPIC},
            model=MODEL,
            messages=HI,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "weather", "schema": schema},
            },
        )
        validate(r)
        assert r.choices[0].finish_reason == "stop"
        assert r.choices[0].message.tool_calls is None
        assert json.loads(r.choices[0].message.content) == {
            "location": "San Francisco, CA",
            "unit": "celsius",
        }
        assert rec.body["tools"] == [
            {
                "name": JSON_TOOL,
                "description": "Give the answer as JSON (weather).",
                "input_schema": schema,
            }
        ]
        assert rec.body["tool_choice"] == {"type": "tool", "name": JSON_TOOL}

    def test_json_object_and_native_structured_output(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/json_tool.json")])
        run(
            rec,
            {"providers": ANTHROPIC},
            model=MODEL,
            messages=HI,
            response_format={"type": "json_object"},
        )
        assert rec.body["tools"][0]["input_schema"] == {"type": "object"}
        native = {"anthropic": {"api_keys": [KEY], "options": {"structured_output": "native"}}}
        schema = {
            "type": "object",
            "properties": {"a": {"type": "integer"}},
            "additionalProperties": False,
        }
        run(
            rec,
            {"providers": native},
            model=MODEL,
            messages=HI,
            response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
        )
        assert rec.body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
        assert "tools" not in rec.body


# -- thinking ------------------------------------------------------------------------------


class TestThinking:
    def test_thinking_blocks_are_kept_apart_from_content(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/thinking.json")])
        r = run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, reasoning_effort="medium")
        validate(r)
        message = r.choices[0].message
        assert message.content == "Based on my analysis..."
        assert message.reasoning_content == "Let me analyze this step by step..."
        thinking, redacted, _ = json.loads(fixture("anthropic/thinking.json"))["content"]
        assert message.model_extra["thinking_blocks"] == [thinking, redacted]
        assert rec.body["thinking"] == {"type": "enabled", "budget_tokens": 8192}
        assert rec.body["max_tokens"] == 64000

    def test_thinking_blocks_are_replayed_and_explicit_thinking_wins(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/thinking.json"), answer("anthropic/message.json")])
        first = run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI)
        history = [
            *HI,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "user", "content": "And?"},
        ]
        thinking = {"type": "enabled", "budget_tokens": 2000}
        run(
            rec,
            {"providers": ANTHROPIC},
            model=MODEL,
            messages=history,
            reasoning_effort="high",
            extra_body={"thinking": thinking},
        )
        assistant = rec.body["messages"][1]
        assert [b["type"] for b in assistant["content"]] == [
            "thinking",
            "redacted_thinking",
            "text",
        ]
        assert assistant["content"][0]["signature"].startswith("WaUjzkypQ2mU")
        assert rec.body["thinking"] == thinking

    def test_thinking_leaves_out_sampling_and_forcing(self, run: Run) -> None:
        """Anthropic refuses temperature/top_p and a forced tool with thinking on."""
        rec = Recorder([answer("anthropic/json_tool.json")])
        run(
            rec,
            {"providers": ANTHROPIC},
            model=MODEL,
            messages=HI,
            reasoning_effort="low",
            temperature=0.2,
            top_p=0.5,
            response_format={"type": "json_object"},
        )
        assert "temperature" not in rec.body and "top_p" not in rec.body
        assert rec.body["tools"][0]["name"] == JSON_TOOL
        assert "tool_choice" not in rec.body

    def test_effort_must_fit_in_max_tokens(self, run: Run) -> None:
        rec = Recorder([answer("anthropic/thinking.json")])
        run(
            rec,
            {"providers": ANTHROPIC},
            model=MODEL,
            messages=HI,
            reasoning_effort="high",
            max_completion_tokens=5000,
        )
        assert rec.body["thinking"] == {"type": "enabled", "budget_tokens": 4999}
        with pytest.raises(aigate.InvalidRequestError) as err:
            run(
                rec,
                {"providers": ANTHROPIC},
                model=MODEL,
                messages=HI,
                reasoning_effort="low",
                max_completion_tokens=500,
            )
        assert err.value.field == "reasoning_effort"


# -- streaming -----------------------------------------------------------------------------


class TestStreaming:
    def test_text_stream_reassembles(self, run: Run) -> None:
        rec = Recorder(
            [sse_response(fixture("anthropic/stream_basic.sse"), **{"request-id": "req_s1"})]
        )
        s = run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, stream=True)
        validate(s)
        assert s.error is None
        assert s.text == "Hello there!"
        assert s.chunks[0].choices[0].delta.role == "assistant"
        assert [c.choices[0].finish_reason for c in s.chunks if c.choices][-1] == "stop"
        last = s.chunks[-1]
        assert last.choices == [] and last.usage is not None
        assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (11, 6)
        assert {c.id for c in s.chunks} == {"msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK"}
        assert s.completion.choices[0].message.content == "Hello there!"
        assert s.gateway.request_id == "req_s1" and s.gateway.estimated is False
        assert rec.body["stream"] is True
        assert rec.requests[0].headers["accept"] == "text/event-stream"

    def test_tool_call_stream(self, run: Run) -> None:
        rec = Recorder([sse_response(fixture("anthropic/stream_tool_use.sse"))])
        s = run(
            rec,
            {"providers": ANTHROPIC},
            model=MODEL,
            messages=HI,
            tools=[WEATHER_TOOL],
            stream=True,
        )
        validate(s)
        deltas = [
            c.choices[0].delta.tool_calls[0]
            for c in s.chunks
            if c.choices and c.choices[0].delta.tool_calls
        ]
        assert deltas[0].id == "toolu_01NRLabsLyVHZPKxbKvkfSMn"
        assert deltas[0].function.name == "get_weather"
        assert {d.index for d in deltas} == {0}
        assert [d.function.arguments for d in deltas[1:]] == ['{"locati', 'on": "P', "ar", 'is"}']
        message = s.completion.choices[0].message
        assert message.content == "I'll check the current weather in Paris for you."
        assert json.loads(message.tool_calls[0].function.arguments) == {"location": "Paris"}
        assert s.completion.choices[0].finish_reason == "tool_calls"
        assert (s.completion.usage.prompt_tokens, s.completion.usage.completion_tokens) == (377, 65)

    def test_thinking_stream(self, run: Run) -> None:
        raw = fixture("anthropic/stream_thinking.sse")
        rec = Recorder([sse_response(raw)])
        s = run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, stream=True)
        validate(s)
        message = s.completion.choices[0].message
        assert message.content == "The GCD is 21."
        events = [json.loads(e.split(b"data: ", 1)[1]) for e in sse_events(raw)]
        thoughts = [e["delta"].get("thinking") for e in events if "delta" in e]
        assert message.reasoning_content == "".join(t for t in thoughts if t)
        assert "1071 = 2" in message.reasoning_content
        blocks = [
            c.choices[0].delta.model_extra.get("thinking_blocks") for c in s.chunks if c.choices
        ]
        (block,) = [b for b in blocks if b]
        assert block == [
            {
                "type": "thinking",
                "thinking": message.reasoning_content,
                "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds",
            }
        ]
        # the assembled stream keeps the signed block, so the turn can be sent back
        assert message.model_extra["thinking_blocks"] == block

    def test_refusal_stream(self, run: Run) -> None:
        rec = Recorder([sse_response(fixture("anthropic/stream_refusal.sse"))])
        s = run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, stream=True)
        validate(s)
        assert s.error is None
        assert s.completion.choices[0].finish_reason == "content_filter"
        assert s.completion.usage.completion_tokens_details.reasoning_tokens == 67

    def test_ping_and_unknown_events_are_ignored(self, run: Run) -> None:
        raw = fixture("anthropic/stream_basic.sse").replace(
            b"event: content_block_stop",
            b'event: ping\ndata: {"type": "ping"}\n\n'
            b'event: brand_new_event\ndata: {"type": "brand_new_event", "x": 1}\n\n'
            b"event: content_block_stop",
        )
        rec = Recorder([sse_response(raw)])
        s = run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, stream=True)
        assert s.error is None and s.text == "Hello there!"

    def test_error_event_after_content_interrupts(self, run: Run) -> None:
        raw = fixture("anthropic/stream_basic.sse")
        cut = raw[: raw.index(b"event: content_block_stop")] + fixture(
            "anthropic/stream_error_event.sse"
        )
        rec = Recorder([sse_response(cut)])
        s = run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI, stream=True)
        assert isinstance(s.error, aigate.StreamInterrupted)
        assert s.error.partial.choices[0].message.content == "Hello there!"
        cause = s.error.__cause__
        assert isinstance(cause, aigate.StreamError)
        assert (cause.type, cause.provider) == ("overloaded_error", "anthropic")
        assert "Overloaded" in str(cause)

    def test_error_event_before_content_fails_over(self, run: Run) -> None:
        raw = fixture("anthropic/stream_basic.sse")
        start = raw[: raw.index(b"event: content_block_start")]
        broken = sse_response(start + fixture("anthropic/stream_error_event.sse"))
        config = {
            "providers": {
                "anthropic": {"api_keys": [KEY]},
                "backup": {
                    "kind": "anthropic",
                    "base_url": "https://backup.example/v1",
                    "api_keys": ["sk-b"],
                },
            },
            "routes": {"claude": ["anthropic/claude-sonnet-4-5", "backup/claude-sonnet-4-5"]},
        }
        rec = Recorder([broken, sse_response(raw)])
        s = run(rec, config, model="claude", messages=HI, stream=True)
        assert s.error is None and s.text == "Hello there!"
        assert [a.error for a in s.gateway.attempts] == ["StreamError", None]
        alone = Recorder([sse_response(start + fixture("anthropic/stream_error_event.sse"))])
        with pytest.raises(aigate.StreamError) as err:
            run(alone, {"providers": ANTHROPIC}, model=MODEL, messages=HI, stream=True)
        assert err.value.type == "overloaded_error"


# -- errors --------------------------------------------------------------------------------

RATE_HEADERS = {
    "retry-after": "12",
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "0",
    "anthropic-ratelimit-requests-reset": "2099-01-01T00:00:00Z",
    "anthropic-ratelimit-tokens-limit": "30000",
    "anthropic-ratelimit-tokens-remaining": "0",
    "anthropic-ratelimit-tokens-reset": "2099-01-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("name", "status", "headers", "cls", "error_class", "message"),
    [
        (
            "error_400_prompt_too_long.json",
            400,
            {},
            aigate.ContextLengthExceededError,
            "request",
            "prompt is too long",
        ),
        (
            "error_400_credit_balance.json",
            400,
            {},
            aigate.BadRequestError,
            "key",
            "credit balance is too low",
        ),
        ("error_401.json", 401, {}, aigate.AuthenticationError, "key", "invalid x-api-key"),
        ("error_402.json", 402, {}, aigate.PaymentRequiredError, "key", "billing"),
        ("error_403.json", 403, {}, aigate.PermissionDeniedError, "key", "permission"),
        ("error_404.json", 404, {}, aigate.NotFoundError, "request", "could not be found"),
        (
            "error_413.json",
            413,
            {},
            aigate.BadRequestError,
            "request",
            "maximum allowed number of bytes",
        ),
        (
            "error_429.json",
            429,
            RATE_HEADERS,
            aigate.RateLimitError,
            "transient",
            "30,000 input tokens per minute",
        ),
        ("error_500.json", 500, {}, aigate.InternalServerError, "transient", "unexpected error"),
        (
            "error_529.json",
            529,
            {"x-should-retry": "true"},
            aigate.InternalServerError,
            "transient",
            "Overloaded",
        ),
    ],
)
def test_error_statuses(
    run: Run,
    name: str,
    status: int,
    headers: dict[str, str],
    cls: type,
    error_class: str,
    message: str,
) -> None:
    body = json.loads(fixture(f"anthropic/{name}"))
    rec = Recorder([answer(f"anthropic/{name}", status, **{"request-id": "req_err", **headers})])
    with pytest.raises(cls) as caught:
        run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI)
    err = caught.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.error_class == error_class
    assert message in err.message
    assert err.message.startswith(f"anthropic returned HTTP {status}: ")
    assert err.type == body["error"]["type"]
    assert err.request_id == "req_err"
    assert KEY not in str(err) and KEY not in str(err.request.url)
    if status == 429:
        limits = err.rate_limit
        assert limits.retry_after_s == 12.0
        assert (limits.limit_requests, limits.remaining_requests, limits.limit_tokens) == (
            50,
            0,
            30000,
        )
        assert limits.reset_tokens_s > 0
    else:
        assert err.rate_limit is None


def test_spend_limit_429_is_a_key_problem(run: Run) -> None:
    # the shape the errors page documents for a tier spend cap (no verbatim body published)
    body = {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "You have reached your monthly spend limit.",
            "details": {"error_code": "enforced_spend_limit_reached"},
        },
    }
    rec = Recorder([httpx.Response(429, json=body)])
    with pytest.raises(aigate.RateLimitError) as err:
        run(rec, {"providers": ANTHROPIC}, model=MODEL, messages=HI)
    assert err.value.error_class == "key"
