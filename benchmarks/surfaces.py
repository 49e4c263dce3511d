"""The Responses and Messages surfaces' streaming overhead.

A 200-event Responses stream and a 200-event Messages stream through aigate, each timed
against a bare httpx read of a stream of the same format and size with ``json.loads`` per
event (the issue's baseline), on an in-memory ``httpx.MockTransport`` (no socket: the
hardest case for a ratio, since there is no network time to hide behind).

Two rows per surface:

- native (the issue's case, a same-format upstream): the Responses upstream is OpenAI's
  ``/v1/responses`` (200 events: created, in_progress, item/part added, 193 text deltas,
  the done events, completed), the Messages upstream Anthropic's ``/v1/messages`` (200
  events); aigate passes them through (``aigate.surfaces`` native path: one parse per
  event, the terminal event read for usage). The baseline reads the same upstream stream.
- translated: the same surfaces with ``options.native = false`` on the provider, so the
  Responses upstream is OpenAI's chat completions (200 chunks, translated into Responses
  events) and the Messages upstream is read through the Anthropic codec into chunks and
  back into Messages events. Baselines: the Responses-format stream those events make
  (``/v1/responses``), and the Anthropic stream. The "chat ms" column reads the same
  upstream stream through ``gw.chat.completions`` (no surface), which splits a translated
  ratio into the chat flow's share and the translation's.

Measured (2 shared cores, 2026-12-04, defaults): Responses native 0.79-0.90x bare (target
1.5x: met; the per-event parse is pydantic-core's ``from_json``, cheaper than the baseline's
``json.loads`` on ``iter_lines``), Messages native 0.81-0.89x (met); translated rows
unchanged by the native path: Responses 1.7-1.8x, Messages 2.9-3.3x (missed, as before:
the chat flow through a chat codec). Before the native path (2026-12-03) both surfaces
were only translated: Responses 1.8-1.9x, Messages 2.9-4.2x.

Run: ``python benchmarks/surfaces.py [--rounds 5 --number 20 --repeats 3]``
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import httpx
from _loopback import STREAM_BODY, interleaved, timed

import aigate
from aigate.surfaces import Messages, Responses

MESSAGES = [{"role": "user", "content": "Say hello."}]


def _sse(event: str | None, payload: dict[str, Any]) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(payload).encode() + b"\n\n"


ANTHROPIC_STREAM = b"".join(
    [
        _sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4-5",
                    "content": [],
                    "stop_reason": None,
                    "usage": {"input_tokens": 9, "output_tokens": 1},
                },
            },
        ),
        _sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        *(
            _sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": f"tok{i} "},
                },
            )
            for i in range(198)
        ),
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 200},
            },
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]
)


def _responses_events(deltas: int) -> bytes:
    """An OpenAI ``/v1/responses`` stream of ``deltas`` text deltas (the event sequence of
    OpenAI's streaming reference; tests/surfaces/fixtures/openai_response_stream.sse)."""
    base = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1741290958,
        "status": "in_progress",
        "model": "gpt-4.1-2025-04-14",
        "output": [],
        "usage": None,
    }
    text = "".join(f"tok{i} " for i in range(deltas))
    part = {"type": "output_text", "text": text, "annotations": []}
    item = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant"}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": base},
        {"type": "response.in_progress", "response": base},
        {"type": "response.output_item.added", "output_index": 0, "item": {**item, "content": []}},
        {
            "type": "response.content_part.added",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": {**part, "text": ""},
        },
        *(
            {
                "type": "response.output_text.delta",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": f"tok{i} ",
                "logprobs": [],
            }
            for i in range(deltas)
        ),
        {
            "type": "response.output_text.done",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "text": text,
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": part,
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {**item, "content": [part]},
        },
        {
            "type": "response.completed",
            "response": {
                **base,
                "status": "completed",
                "output": [{**item, "content": [part]}],
                "usage": {
                    "input_tokens": 9,
                    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                    "output_tokens": deltas,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 9 + deltas,
                },
            },
        },
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return b"".join(_sse(e["type"], e) for e in events)


NATIVE_RESPONSES_STREAM = _responses_events(192)  # 200 events in all


def handler(request: httpx.Request) -> httpx.Response:
    sse = {"content-type": "text/event-stream"}
    path = request.url.path
    if path.endswith("/messages"):
        return httpx.Response(200, content=ANTHROPIC_STREAM, headers=sse)
    if path.endswith("/responses"):
        native = request.url.host == "api.openai.com"
        body = NATIVE_RESPONSES_STREAM if native else RESPONSES_STREAM
        return httpx.Response(200, content=body, headers=sse)
    return httpx.Response(200, content=STREAM_BODY, headers=sse)


TRANSLATED = {"api_keys": ["sk"], "options": {"native": False}}


def _responses_stream() -> bytes:
    """What aigate's Responses surface emits for the 200-chunk chat stream, as SSE: the
    translated row's baseline reads exactly the events the surface produces."""
    gw = aigate.Gateway(providers={"openai": TRANSLATED}, transport=httpx.MockTransport(handler))
    events = list(Responses(gw).create(model="openai/gpt-4o-mini", input="Hi", stream=True))
    gw.close()
    return b"".join(_sse(e.type, e.model_dump(mode="json")) for e in events)


RESPONSES_STREAM = b""


def main() -> None:
    global RESPONSES_STREAM
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    RESPONSES_STREAM = _responses_stream()
    transport = httpx.MockTransport(handler)
    bare = httpx.Client(transport=transport)
    native_gw = aigate.Gateway(
        providers={"openai": {"api_keys": ["sk"]}, "anthropic": {"api_keys": ["sk"]}},
        transport=transport,
    )
    gw = aigate.Gateway(
        providers={"openai": TRANSLATED, "anthropic": TRANSLATED}, transport=transport
    )
    responses, messages = Responses(gw), Messages(gw)
    native_responses, native_messages = Responses(native_gw), Messages(native_gw)

    def bare_read(url: str) -> Any:
        def read() -> int:
            count = 0
            with bare.stream("POST", url, json={"stream": True}) as r:
                for line in r.iter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        json.loads(line[6:])
                        count += 1
            return count

        return read

    def through_responses(surface: Any) -> Any:
        def read() -> int:
            stream = surface.create(model="openai/gpt-4.1", input="Hi", stream=True, store=False)
            return sum(1 for _ in stream)

        return read

    def through_messages(surface: Any) -> Any:
        def read() -> int:
            stream = surface.create(
                model="anthropic/claude-sonnet-4-5", max_tokens=300, messages=MESSAGES, stream=True
            )
            return sum(1 for _ in stream)

        return read

    def chat_of(model: str) -> Any:
        def read() -> int:
            stream = gw.chat.completions.create(
                model=model, messages=MESSAGES, stream=True, max_tokens=300
            )
            return sum(1 for _ in stream)

        return read

    cases = {
        "responses native": (
            bare_read("https://api.openai.com/v1/responses"),
            through_responses(native_responses),
            None,
        ),
        "responses translated": (
            bare_read("https://translated.invalid/v1/responses"),
            through_responses(responses),
            chat_of("openai/gpt-4.1"),
        ),
        "messages native": (
            bare_read("https://api.anthropic.com/v1/messages"),
            through_messages(native_messages),
            None,
        ),
        "messages translated": (
            bare_read("https://api.anthropic.com/v1/messages"),
            through_messages(messages),
            chat_of("anthropic/claude-sonnet-4-5"),
        ),
    }
    counts = {name: (b(), a()) for name, (b, a, _) in cases.items()}
    rounds, number = args.rounds, args.number
    timers: dict[str, Any] = {}
    for name, (b, a, c) in cases.items():
        timers[f"bare {name}"] = lambda f=b: timed(f, rounds, number)
        timers[f"aigate {name}"] = lambda f=a: timed(f, rounds, number)
        if c is not None:
            timers[f"chat {name}"] = lambda f=c: timed(f, rounds, number)
    t = interleaved(timers, args.repeats)
    head = f"{'case':<44}{'bare ms':>9}{'chat ms':>9}{'aigate ms':>11}{'ratio':>7}{'target':>7}"
    print(head)
    for name in cases:
        b, a = t[f"bare {name}"], t[f"aigate {name}"]
        c = t.get(f"chat {name}")
        events = counts[name]
        label = f"{name} stream ({events[0]}/{events[1]} events)"
        chat = f"{c * 1e3:>9.2f}" if c is not None else f"{'-':>9}"
        print(f"{label:<44}{b * 1e3:>9.2f}{chat}{a * 1e3:>11.2f}{a / b:>7.2f}{1.5:>7.1f}")
    print("native: a same-format upstream, passed through; translated: options.native = false")
    print("chat ms: the same upstream stream read through gw.chat.completions (no surface)")
    gw.close()
    native_gw.close()
    bare.close()


if __name__ == "__main__":
    main()
