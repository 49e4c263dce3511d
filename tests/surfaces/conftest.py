"""A scripted upstream for each provider kind, and one harness for sync and async surfaces.

Upstream answers are the documented fixtures of tests/fixtures (sources in their
SOURCES.md) and tests/surfaces/fixtures; every object and event a surface produces is
validated with the ``openai`` / ``anthropic`` packages' own types and, for streams, fed to
the SDK's own stream accumulator, whose snapshot must equal the surface's final object.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic.types as A
import httpx
import openai.types.responses as R
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

import aigate
from aigate.surfaces import AsyncMessages, AsyncResponses, Messages, Responses

ROOT = Path(__file__).parent.parent / "fixtures"
HERE = Path(__file__).parent / "fixtures"
# The translation matrix: OpenAI and Anthropic with ``options.native = false``, so that the
# surfaces translate for them as for every other provider (test_native_*.py test the
# pass-through, with NATIVE_PROVIDERS).
PROVIDERS: dict[str, Any] = {
    "openai": {"api_keys": ["sk-test-openai"], "options": {"native": False}},
    "anthropic": {"api_keys": ["sk-ant-test"], "options": {"native": False}},
    "gemini": {"api_keys": ["AIza-test"]},
}
NATIVE_PROVIDERS: dict[str, Any] = {
    "openai": {"api_keys": ["sk-test-openai"]},
    "anthropic": {"api_keys": ["sk-ant-test"]},
    "gemini": {"api_keys": ["AIza-test"]},
}
MODELS = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-sonnet-4-6",
    "gemini": "gemini/gemini-2.5-flash",
}
KINDS = tuple(MODELS)
_EVENTS = TypeAdapter(ResponseStreamEvent)
_RAW_EVENTS = TypeAdapter(A.RawMessageStreamEvent)


def fixture(path: str) -> bytes:
    where = HERE / path if (HERE / path).exists() else ROOT / path
    return where.read_bytes()


class _Parts(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, parts: list[bytes], fail_after: int | None = None) -> None:
        self.parts = parts
        self.fail_after = fail_after

    def __iter__(self) -> Iterator[bytes]:
        for i, part in enumerate(self.parts):
            if i == self.fail_after:
                raise httpx.ReadError("connection reset")
            yield part

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self:
            yield part


def json_reply(path: str) -> httpx.Response:
    return httpx.Response(200, content=fixture(path), headers={"content-type": "application/json"})


def body_reply(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


def sse_reply(path: str) -> Callable[[], httpx.Response]:
    """A streamed answer, one network chunk per event (made afresh for each request)."""
    raw = fixture(path).replace(b"\r\n", b"\n")
    parts = [p + b"\n\n" for p in raw.split(b"\n\n") if p.strip()]
    return lambda: httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=_Parts(parts)
    )


def event_parts(path: str) -> list[bytes]:
    """A fixture stream's events, one network chunk each."""
    raw = fixture(path).replace(b"\r\n", b"\n")
    return [p + b"\n\n" for p in raw.split(b"\n\n") if p.strip()]


def parts_reply(parts: list[bytes], fail_after: int | None = None) -> Callable[[], httpx.Response]:
    """A streamed answer of ``parts``, the connection reset before part ``fail_after``."""
    return lambda: httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=_Parts(parts, fail_after)
    )


Answer = httpx.Response | Callable[[], httpx.Response]


class Upstream:
    """Answers each provider from its own script (the last answer repeats) and records
    every request body, by provider kind."""

    def __init__(self, **scripts: list[Answer]) -> None:
        self.scripts = scripts
        self.bodies: dict[str, list[Any]] = {kind: [] for kind in KINDS}
        self.requests: list[httpx.Request] = []  # every request, in order (paths, headers)

    @staticmethod
    def kind(request: httpx.Request) -> str:
        host = request.url.host
        if "anthropic" in host:
            return "anthropic"
        if "googleapis" in host:
            return "gemini"
        return "openai"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        kind = self.kind(request)
        self.requests.append(request)
        self.bodies[kind].append(json.loads(request.content))
        script = self.scripts[kind]
        answer = script[min(len(self.bodies[kind]), len(script)) - 1]
        return answer() if callable(answer) else answer

    def last(self, kind: str) -> Any:
        return self.bodies[kind][-1]


class Surfaces:
    """``gw.responses`` and ``gw.messages`` on a Gateway or an AsyncGateway, called the
    same way; each call of the async mode runs in ``asyncio.run``."""

    def __init__(self, mode: str, upstream: Upstream, **config: Any) -> None:
        self.mode = mode
        self.upstream = upstream
        config.setdefault("providers", PROVIDERS)
        transport = httpx.MockTransport(upstream)
        conversations = config.pop("conversations", None)
        if mode == "sync":
            self.gw: Any = aigate.Gateway(transport=transport, **config)
            self.responses: Any = Responses(self.gw, conversations)
            self.messages: Any = Messages(self.gw)
        else:
            self.gw = aigate.AsyncGateway(transport=transport, **config)
            self.responses = AsyncResponses(self.gw, conversations)
            self.messages = AsyncMessages(self.gw)

    def _run(self, make: Callable[[], Any]) -> Any:
        if self.mode == "sync":
            return make()
        return asyncio.run(make())

    def create_response(self, **kwargs: Any) -> Any:
        return self._run(lambda: self.responses.create(**kwargs))

    def create_message(self, **kwargs: Any) -> Any:
        return self._run(lambda: self.messages.create(**kwargs))

    def call(self, resource: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._run(lambda: getattr(getattr(self, resource), method)(*args, **kwargs))

    def stream(self, resource: str, **kwargs: Any) -> tuple[list[Any], Any]:
        """Read a whole stream: (events, the stream object)."""
        target = getattr(self, resource)
        if self.mode == "sync":
            stream = target.create(stream=True, **kwargs)
            with stream:
                events = list(stream)
            return events, stream

        async def main() -> tuple[list[Any], Any]:
            stream = await target.create(stream=True, **kwargs)
            async with stream:
                events = [e async for e in stream]
            return events, stream

        return asyncio.run(main())

    def close(self) -> None:
        if self.mode == "sync":
            self.gw.close()
            self.responses.conversations.close()
        else:

            async def main() -> None:
                await self.gw.aclose()
                await self.responses.conversations.aclose()

            asyncio.run(main())


@pytest.fixture
def surfaces(mode: str) -> Iterator[Callable[..., Surfaces]]:
    made: list[Surfaces] = []

    def make(upstream: Upstream, **config: Any) -> Surfaces:
        made.append(Surfaces(mode, upstream, **config))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


# -- validation with the SDKs' own types -----------------------------------------------------


def check_response(response: Any) -> R.Response:
    """The response validates as openai's ``Response`` and says the same thing."""
    sdk = R.Response.model_validate(response.model_dump())
    assert sdk.output_text == response.output_text
    assert sdk.usage is not None
    return sdk


def check_response_events(events: list[Any], final: Any) -> R.Response:
    """Every event validates as openai's ``ResponseStreamEvent``; sequence numbers count
    up from 0; the terminal event carries usage; openai's own stream accumulator, fed the
    events, arrives at the final response."""
    sdk_events = [_EVENTS.validate_python(e.model_dump()) for e in events]
    assert [e.sequence_number for e in sdk_events] == list(range(len(events)))
    assert sdk_events[0].type == "response.created"
    terminal = sdk_events[-1]
    assert terminal.type in ("response.completed", "response.incomplete")
    assert terminal.response.usage is not None  # type: ignore[union-attr]
    state = ResponseStreamState(input_tools=[], text_format=aigate_omit())
    for event in sdk_events:
        state.handle_event(event)
    ours = R.Response.model_validate(final.model_dump())
    if terminal.type == "response.completed":
        snapshot = state._completed_response
        assert snapshot is not None
        assert snapshot.output_text == ours.output_text
        output = list(snapshot.output)
    else:  # openai's accumulator completes only on response.completed: its finished items
        done = state._completed_output
        output = [done[i] for i in sorted(done)]
    assert _plain([i.model_dump() for i in output]) == _plain([i.model_dump() for i in ours.output])
    return ours


def _plain(value: Any) -> Any:
    """``value`` without the SDK's parse results, which the wire never has."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("parsed", "parsed_arguments")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def aigate_omit() -> Any:
    from openai import omit

    return omit


def check_message(message: Any) -> A.Message:
    return A.Message.model_validate(message.model_dump())


def check_message_events(events: list[Any], final: Any) -> A.Message:
    """Every event validates as anthropic's ``RawMessageStreamEvent``; anthropic's own
    accumulator, fed the events, arrives at the final message; ``message_delta`` carries
    usage."""
    # ``ping`` events are Anthropic's keep-alives: passed through natively, skipped by the
    # SDK's stream (not in RawMessageStreamEvent)
    sdk_events = [_RAW_EVENTS.validate_python(e.model_dump()) for e in events if e.type != "ping"]
    assert sdk_events[0].type == "message_start"
    assert sdk_events[-1].type == "message_stop"
    delta = sdk_events[-2]
    assert delta.type == "message_delta"
    assert delta.usage is not None
    snapshot = None
    bufs: dict[int, bytes] = {}
    for event in sdk_events:
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)
    assert snapshot is not None
    ours = check_message(final)
    assert [b.model_dump() for b in snapshot.content] == [b.model_dump() for b in ours.content]
    assert snapshot.stop_reason == ours.stop_reason
    assert snapshot.usage.output_tokens == ours.usage.output_tokens
    return ours
