"""The official ``anthropic`` SDK over aigate's transport.

``/v1/messages`` is served by the gateway's Messages surface (``gw.messages.create``), which
another part of aigate provides; until it exists the path answers the SDK's NotFoundError.
The plumbing (virtual keys from ``x-api-key``, Anthropic-shaped errors, retries off, typed
SSE events) is tested here with a stand-in resource answering Anthropic's documented wire
format (the Messages API reference, "Streaming Messages": the basic stream example).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx
import httpx2
import pytest
from anthropic.types import Message

import aigate
from aigate.sdk import anthropic_client, async_anthropic_client, async_transport, transport
from aigate.testing import FakeTransport

MESSAGE = {
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Hi! My name is Claude."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 2095, "output_tokens": 503},
}
EVENTS: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-5",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 25, "output_tokens": 1},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 15},
    },
    {"type": "message_stop"},
]
ASK = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "Hi"}],
}


def _status(status: int, kind: str, message: str) -> aigate.APIStatusError:
    response = httpx.Response(status, request=httpx.Request("POST", "http://upstream/v1/messages"))
    cls = aigate.RateLimitError if status == 429 else aigate.InternalServerError
    return cls(
        message,
        response=response,
        status_code=status,
        body={"type": kind, "message": message},
        type=kind,
        provider="anthropic",
        model="claude-sonnet-4-5",
    )


class _Stream:
    gateway = None

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self._events = events
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield from self._events

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        for event in self._events:
            yield event

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class StandIn:
    """A Messages resource shaped as ``gw.messages``: keywords in, a result (or a stream
    of typed events) out; aigate errors raised as the gateway raises them."""

    def __init__(self, asynchronous: bool, raises: BaseException | None = None) -> None:
        self.asynchronous = asynchronous
        self.raises = raises
        self.calls: list[dict[str, Any]] = []

    def _answer(self, kwargs: dict[str, Any]) -> Any:
        self.calls.append(kwargs)
        if self.raises is not None:
            raise self.raises
        return _Stream(EVENTS) if kwargs.get("stream") else MESSAGE

    def create(self, **kwargs: Any) -> Any:
        if not self.asynchronous:
            return self._answer(kwargs)

        async def answer() -> Any:
            return self._answer(kwargs)

        return answer()


class CountingStandIn(StandIn):
    def count_tokens(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        result = {"input_tokens": 12}
        if not self.asynchronous:
            return result

        async def answer() -> Any:
            return result

        return answer()


def _setup(mode: str, raises: BaseException | None = None, surface: bool = True) -> Any:
    settings: dict[str, Any] = {
        "providers": {"anthropic": {"api_keys": ["sk-ant"]}},
        "transport": FakeTransport(),
    }
    if mode == "sync":
        gw: Any = aigate.Gateway(**settings)
        client: Any = anthropic_client(gw)
    else:
        gw = aigate.AsyncGateway(**settings)
        client = async_anthropic_client(gw)
    stand_in = StandIn(mode == "async", raises)
    if surface:
        gw.messages = stand_in
    return gw, client, stand_in


def _run(mode: str, value: Any) -> Any:
    if mode == "sync":
        return value

    async def wait() -> Any:
        return await value

    return asyncio.run(wait())


def test_clients_are_real_and_do_not_retry(mode: str) -> None:
    _, client, _ = _setup(mode)
    assert isinstance(client, anthropic.Anthropic if mode == "sync" else anthropic.AsyncAnthropic)
    assert client.max_retries == 0


def test_a_message_through_the_surface(mode: str) -> None:
    _, client, stand_in = _setup(mode)
    message = _run(mode, client.messages.create(**ASK))
    assert isinstance(message, Message) and message.content[0].text == "Hi! My name is Claude."
    assert stand_in.calls[0]["max_tokens"] == 100
    assert stand_in.calls[0]["model"] == "claude-sonnet-4-5"


def test_typed_events_stream(mode: str) -> None:
    _, client, _ = _setup(mode)
    if mode == "sync":
        with client.messages.stream(**ASK) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
    else:

        async def read() -> tuple[str, Message]:
            async with client.messages.stream(**ASK) as stream:
                text = "".join([t async for t in stream.text_stream])
                return text, await stream.get_final_message()

        text, final = asyncio.run(read())
    assert text == "Hello!"
    assert final.usage.output_tokens == 15 and final.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        (_status(429, "rate_limit_error", "slow down"), anthropic.RateLimitError),
        (_status(529, "overloaded_error", "Overloaded"), anthropic.InternalServerError),
        (
            aigate.InvalidRequestError("max_tokens: expected an integer", field="max_tokens"),
            anthropic.BadRequestError,
        ),
    ],
)
def test_errors_in_anthropics_shape(mode: str, error: BaseException, cls: Any) -> None:
    _, client, _ = _setup(mode, raises=error)
    with pytest.raises(cls) as info:
        _run(mode, client.messages.create(**ASK))
    body = info.value.body
    assert body["type"] == "error" and isinstance(body["error"]["message"], str)
    if isinstance(error, aigate.APIStatusError):
        assert info.value.status_code == error.status_code
        assert body["error"]["type"] == error.type
    assert info.value.response.headers["x-should-retry"] == "false"


def test_529_is_anthropics_overloaded_error(mode: str) -> None:
    _, client, _ = _setup(mode, raises=_status(529, "overloaded_error", "Overloaded"))
    with pytest.raises(anthropic.OverloadedError):
        _run(mode, client.messages.create(**ASK))


def test_a_client_of_your_own_does_not_retry_either(mode: str) -> None:
    gw, _, stand_in = _setup(mode, raises=_status(529, "overloaded_error", "Overloaded"))
    if mode == "sync":
        own: Any = anthropic.Anthropic(
            api_key="x",
            base_url="http://aigate",
            http_client=httpx2.Client(transport=transport(gw)),
        )
    else:
        own = anthropic.AsyncAnthropic(
            api_key="x",
            base_url="http://aigate",
            http_client=httpx2.AsyncClient(transport=async_transport(gw)),
        )
    assert own.max_retries == 2
    with pytest.raises(anthropic.InternalServerError):
        _run(mode, own.messages.create(**ASK))
    assert len(stand_in.calls) == 1


def test_virtual_key_from_x_api_key(mode: str) -> None:
    _, client, stand_in = _setup(mode)
    secret = "gk_" + "a" * 43
    _run(mode, client.with_options(api_key=secret).messages.create(**ASK))
    _run(mode, client.with_options(api_key="sk-ant-real").messages.create(**ASK))
    assert stand_in.calls[0]["api_key"] == secret
    assert "api_key" not in stand_in.calls[1]


def test_count_tokens_plugs_in_when_the_surface_has_it(mode: str) -> None:
    gw, client, _ = _setup(mode, surface=False)
    gw.messages = CountingStandIn(mode == "async")
    ask = {k: v for k, v in ASK.items() if k != "max_tokens"}
    assert _run(mode, client.messages.count_tokens(**ask)).input_tokens == 12
