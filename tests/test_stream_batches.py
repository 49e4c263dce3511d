"""A read that brings many events is decoded a batch at a time (issue 18).

A local server (or a fast provider) can deliver a whole 300-event stream in one read. The
gateway used to turn all of it into chunks at once and hold them until the caller had
iterated through; those thousands of live objects drove the collector into full
collections, which cost more than the decoding itself (a 200-chunk stream: 1.8x a bare
httpx loop with the collector on, 1.24x with it off). Now the events wait as bytes and
become chunks as the caller takes them, and a caller that leaves early still has the
usage of everything that was read accounted.
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import httpx
import pytest

import aigate
from aigate._flow import EMIT_BATCH
from aigate._models import ChatCompletionChunk

EVENTS = 300
URL = "https://api.openai.com/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "count"}]


def _body() -> bytes:
    def event(payload: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(payload).encode() + b"\n\n"

    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    parts = [
        event({**base, "choices": [{"index": 0, "delta": {"content": f"t{i} "}}]})
        for i in range(EVENTS)
    ]
    parts.append(event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    usage = {"prompt_tokens": 3, "completion_tokens": EVENTS, "total_tokens": EVENTS + 3}
    parts.append(event({**base, "choices": [], "usage": usage}))
    return b"".join(parts) + b"data: [DONE]\n\n"


BODY = _body()


def _gateway(mode: str) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=BODY, headers={"content-type": "text/event-stream"})

    settings: dict[str, Any] = {"providers": {"openai": {"api_keys": ["sk-test"]}}}
    if mode == "sync":
        return aigate.Gateway(**settings, transport=httpx.MockTransport(handler))
    return aigate.AsyncGateway(**settings, transport=httpx.MockTransport(handler))


def _live_chunks() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is ChatCompletionChunk)


def _read(mode: str, on_chunk: Any, stop_after: int | None = None) -> Any:
    """Stream through a fresh gateway, calling ``on_chunk(i)`` for each chunk; returns
    the stream (closed)."""
    gw = _gateway(mode)
    if mode == "sync":
        try:
            with gw.chat.completions.create(
                model="openai/gpt-4o-mini", messages=MESSAGES, stream=True
            ) as stream:
                for i, _ in enumerate(stream):
                    on_chunk(i)
                    if stop_after is not None and i + 1 >= stop_after:
                        break
            return stream
        finally:
            gw.close()

    async def run() -> Any:
        try:
            stream = await gw.chat.completions.create(
                model="openai/gpt-4o-mini", messages=MESSAGES, stream=True
            )
            async with stream:
                i = 0
                async for _ in stream:
                    on_chunk(i)
                    i += 1
                    if stop_after is not None and i >= stop_after:
                        break
            return stream
        finally:
            await gw.aclose()

    return asyncio.run(run())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_long_read_is_not_turned_into_chunks_all_at_once(mode: str) -> None:
    live: list[int] = []
    total = 0

    def on_chunk(i: int) -> None:
        nonlocal total
        total += 1
        if i in (0, EVENTS // 2):
            live.append(_live_chunks())

    _read(mode, on_chunk)
    assert total == EVENTS + 2  # every content chunk, the finish and the usage chunk
    # at most a couple of batches exist at any moment (the old code: all 302 at the first)
    assert max(live) <= 3 * EMIT_BATCH, live


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_caller_that_leaves_early_is_charged_for_everything_read(mode: str) -> None:
    stream = _read(mode, lambda i: None, stop_after=1)
    info = stream.gateway
    assert info is not None and info.estimated is False
    assert stream.usage is not None and stream.usage.completion_tokens == EVENTS
