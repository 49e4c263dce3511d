"""The Responses and Messages surfaces' streaming overhead.

A 200-event Responses stream and a 200-event Messages stream through aigate, each timed
against a bare httpx read of a stream of the same format and size with ``json.loads`` per
event (the issue's baseline), on an in-memory ``httpx.MockTransport`` (no socket: the
hardest case for a ratio, since there is no network time to hide behind).

- Responses: the upstream is OpenAI's chat completions (200 content chunks), translated by
  aigate into Responses events (about 210: created, in_progress, item/part added, 200 text
  deltas, the done events, completed). The baseline reads a Responses-format stream of the
  same events (what OpenAI's ``/v1/responses`` would send).
- Messages: the upstream is Anthropic's Messages API (200 text deltas), read through
  aigate's Anthropic codec into chunks and back into Messages events. The baseline reads
  the same Anthropic stream.

The "chat ms" column reads the same upstream stream through ``gw.chat.completions`` (no
surface), which splits a ratio into the chat flow's share and the translation's.

Measured (2 shared cores, 2026-12-03, ``--rounds 5 --number 20 --repeats 5``): Responses
1.9x bare (target 1.5x: missed; the chat flow is ~1.1x, the translation ~1 us per event
plus ~0.25 ms per stream for the three Response snapshots); Messages 4.2x bare (missed: the
chat flow through the Anthropic codec alone is ~4x, a pydantic chunk per event; the
translation adds ~4%). A native same-format pass-through would remove both chat-shaped
steps.

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


def handler(request: httpx.Request) -> httpx.Response:
    sse = {"content-type": "text/event-stream"}
    path = request.url.path
    if path.endswith("/messages"):
        return httpx.Response(200, content=ANTHROPIC_STREAM, headers=sse)
    if path.endswith("/responses"):
        return httpx.Response(200, content=RESPONSES_STREAM, headers=sse)
    return httpx.Response(200, content=STREAM_BODY, headers=sse)


def _responses_stream() -> bytes:
    """What aigate's Responses surface emits for the 200-chunk chat stream, as SSE: the
    baseline reads exactly the events the surface produces."""
    gw = aigate.Gateway(
        providers={"openai": {"api_keys": ["sk"]}}, transport=httpx.MockTransport(handler)
    )
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
    gw = aigate.Gateway(
        providers={"openai": {"api_keys": ["sk"]}, "anthropic": {"api_keys": ["sk"]}},
        transport=transport,
    )
    responses, messages = Responses(gw), Messages(gw)

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

    def through_responses() -> int:
        stream = responses.create(model="openai/gpt-4o-mini", input="Hi", stream=True, store=False)
        return sum(1 for _ in stream)

    def through_messages() -> int:
        stream = messages.create(
            model="anthropic/claude-sonnet-4-5", max_tokens=300, messages=MESSAGES, stream=True
        )
        return sum(1 for _ in stream)

    def chat_of(model: str) -> Any:
        def read() -> int:
            stream = gw.chat.completions.create(
                model=model, messages=MESSAGES, stream=True, max_tokens=300
            )
            return sum(1 for _ in stream)

        return read

    chat_responses = chat_of("openai/gpt-4o-mini")
    chat_messages = chat_of("anthropic/claude-sonnet-4-5")
    bare_responses = bare_read("https://api.openai.com/v1/responses")
    bare_messages = bare_read("https://api.anthropic.com/v1/messages")
    counts = {
        "responses": (bare_responses(), through_responses()),
        "messages": (bare_messages(), through_messages()),
    }
    rounds, number = args.rounds, args.number
    t = interleaved(
        {
            "bare responses": lambda: timed(bare_responses, rounds, number),
            "aigate responses": lambda: timed(through_responses, rounds, number),
            "chat responses": lambda: timed(chat_responses, rounds, number),
            "bare messages": lambda: timed(bare_messages, rounds, number),
            "chat messages": lambda: timed(chat_messages, rounds, number),
            "aigate messages": lambda: timed(through_messages, rounds, number),
        },
        args.repeats,
    )
    head = f"{'case':<34}{'bare ms':>9}{'chat ms':>9}{'aigate ms':>11}{'ratio':>7}{'target':>7}"
    print(head + f"{'of which translation':>22}")
    for name in ("responses", "messages"):
        b, c, a = t[f"bare {name}"], t[f"chat {name}"], t[f"aigate {name}"]
        events = counts[name]
        label = f"{name} stream ({events[0]}/{events[1]} events)"
        print(
            f"{label:<34}{b * 1e3:>9.2f}{c * 1e3:>9.2f}{a * 1e3:>11.2f}{a / b:>7.2f}{1.5:>7.1f}"
            f"{(a - c) / a:>21.0%}"
        )
    print("chat ms: the same upstream stream read through gw.chat.completions (no surface)")
    gw.close()
    bare.close()


if __name__ == "__main__":
    main()
