"""Per-call overhead of aigate over a bare httpx call on the same MockTransport.

Every figure is a ratio to a baseline measured in the same run, on the same transport and
body, because absolute times on a shared 2-core machine are noise. Run:

    python benchmarks/overhead.py            # all cases, ~1 minute
    python benchmarks/overhead.py --quick    # fewer rounds

Cases: non-streamed chat (sync, async), a 200-chunk stream (sync, async), and the import
time of ``aigate`` against ``httpx, pydantic``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import httpx
from _loopback import atimed, interleaved, timed  # the timing helpers all scripts share

import aigate

URL = "https://api.openai.com/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "Say hello in one short sentence."}]
BODY = json.dumps(
    {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1677652288,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there, how may I help?"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
    }
).encode()


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


STREAM = (
    b"".join(_chunk({"content": f"tok{i} "}) for i in range(199))
    + _chunk({}, "stop")
    + b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,'
    b'"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":200,'
    b'"total_tokens":209}}\n\n'
    b"data: [DONE]\n\n"
)


def _sse(event: str | None, payload: dict[str, Any]) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(payload).encode() + b"\n\n"


# The same 200-token answer in Anthropic's and Gemini's stream formats.
ANTHROPIC_STREAM = (
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
    )
    + _sse(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    + b"".join(
        _sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": f"tok{i} "},
            },
        )
        for i in range(200)
    )
    + _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    + _sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 200},
        },
    )
    + _sse("message_stop", {"type": "message_stop"})
)
GEMINI_STREAM = b"".join(
    _sse(
        None,
        {
            "candidates": [
                {
                    "content": {"parts": [{"text": f"tok{i} "}], "role": "model"},
                    **({"finishReason": "STOP"} if i == 199 else {}),
                    "index": 0,
                }
            ],
            **(
                {
                    "usageMetadata": {
                        "promptTokenCount": 9,
                        "candidatesTokenCount": 200,
                        "totalTokenCount": 209,
                    }
                }
                if i == 199
                else {}
            ),
            "modelVersion": "gemini-2.5-flash",
        },
    )
    for i in range(200)
)


def handler(request: httpx.Request) -> httpx.Response:
    sse = {"content-type": "text/event-stream"}
    if request.url.path.endswith("/messages"):
        return httpx.Response(200, content=ANTHROPIC_STREAM, headers=sse)
    if request.url.path.endswith(":streamGenerateContent"):
        return httpx.Response(200, content=GEMINI_STREAM, headers=sse)
    if b'"stream":true' in request.content:
        return httpx.Response(200, content=STREAM, headers=sse)
    return httpx.Response(200, content=BODY, headers={"content-type": "application/json"})


def bench_calls(rounds: int, number: int, repeats: int, tmp: str) -> dict[str, float]:
    transport = httpx.MockTransport(handler)
    bare = httpx.Client(transport=transport)
    openai_only = {"openai": {"api_keys": ["sk-bench"]}}
    gw = aigate.Gateway(providers=openai_only, transport=transport)
    ledgered = aigate.Gateway(
        providers=openai_only, transport=transport, ledger=f"sqlite:///{tmp}/ledger.db"
    )
    guarded = aigate.Gateway(
        providers=openai_only,
        transport=transport,
        ledger=f"sqlite:///{tmp}/ledger2.db",
        budget={
            "store": "memory://",
            "limits": [{"scope": "global", "amount": "1000000", "window": "day"}],
            "rate_limits": [{"scope": "global", "rpm": 10_000_000, "tpm": 10_000_000_000}],
        },
    )
    five = aigate.Gateway(
        providers={name: {"kind": "openai", "api_keys": ["sk"]} for name in "abcde"},
        routes={"r": [f"{name}/gpt-4o-mini" for name in "abcde"]},
        transport=transport,
    )
    natives = aigate.Gateway(
        providers={"anthropic": {"api_keys": ["sk"]}, "gemini": {"api_keys": ["g"]}},
        transport=transport,
    )
    abare = httpx.AsyncClient(transport=transport)
    agw = aigate.AsyncGateway(providers=openai_only, transport=transport)
    payload = {"model": "gpt-4o-mini", "messages": MESSAGES}
    headers = {"authorization": "Bearer sk-bench"}

    def bare_call() -> Any:
        return bare.post(URL, json=payload, headers=headers).json()

    def call_on(g: aigate.Gateway, model: str = "openai/gpt-4o-mini") -> Callable[[], Any]:
        return lambda: g.chat.completions.create(model=model, messages=MESSAGES)

    async def abare_call() -> Any:
        return (await abare.post(URL, json=payload, headers=headers)).json()

    async def agw_call() -> Any:
        return await agw.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)

    def bare_stream_of(url: str) -> Callable[[], None]:
        def run() -> None:
            with bare.stream(
                "POST", url, json={**payload, "stream": True}, headers=headers
            ) as response:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        data = line[6:]
                        if data == "[DONE]":
                            break
                        json.loads(data)

        return run

    def stream_on(g: aigate.Gateway, model: str) -> Callable[[], None]:
        def run() -> None:
            for _ in g.chat.completions.create(model=model, messages=MESSAGES, stream=True):
                pass

        return run

    async def abare_stream() -> None:
        async with abare.stream(
            "POST", URL, json={**payload, "stream": True}, headers=headers
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    json.loads(data)

    async def agw_stream() -> None:
        stream = await agw.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True
        )
        async for _ in stream:
            pass

    anthropic_url = "https://api.anthropic.com/v1/messages"
    gemini_url = (
        "https://generativelanguage.googleapis.com/v1beta/models/"
        "gemini-2.5-flash:streamGenerateContent"
    )
    sync_cases: dict[str, Callable[[], Any]] = {
        "bare sync": bare_call,
        "aigate sync": call_on(gw),
        "aigate + sqlite ledger": call_on(ledgered),
        "aigate + ledger + budget + rate limit": call_on(guarded),
        "aigate 5-target route": call_on(five, "r"),
        "bare stream sync": bare_stream_of(URL),
        "aigate stream sync": stream_on(gw, "openai/gpt-4o-mini"),
        "bare anthropic stream": bare_stream_of(anthropic_url),
        "aigate anthropic stream": stream_on(natives, "anthropic/claude-sonnet-4-5"),
        "bare gemini stream": bare_stream_of(gemini_url),
        "aigate gemini stream": stream_on(natives, "gemini/gemini-2.5-flash"),
    }
    for fn in sync_cases.values():  # warm up: schemas, catalog, encodings, tables
        fn()
    asyncio.run(agw_call())
    asyncio.run(agw_stream())
    stream_number = max(number // 10, 5)
    plans: dict[str, Callable[[], float]] = {}
    for name, fn in sync_cases.items():
        count = stream_number if "stream" in name else number
        plans[name] = lambda fn=fn, count=count: timed(fn, rounds, count)  # type: ignore[misc]
    plans["bare async"] = lambda: atimed(abare_call, rounds, number)
    plans["aigate async"] = lambda: atimed(agw_call, rounds, number)
    plans["bare stream async"] = lambda: atimed(abare_stream, rounds, stream_number)
    plans["aigate stream async"] = lambda: atimed(agw_stream, rounds, stream_number)
    results = interleaved(plans, repeats)
    for g in (gw, ledgered, guarded, five, natives):
        g.close()
    return results


def import_time(statement: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    args = parser.parse_args()
    rounds, number, repeats, runs = (5, 100, 3, 7) if args.quick else (7, 200, 5, 15)
    with tempfile.TemporaryDirectory() as tmp:
        t = bench_calls(rounds, number, repeats, tmp)
    inf = float("inf")
    # Targets: issue 12 (sync chat <= 1.2x, import <= 0.3x) and issue 18 (the rest).
    rows = [
        ("chat, sync", t["bare sync"], t["aigate sync"], 1.2),
        ("chat, async", t["bare async"], t["aigate async"], 1.5),
        ("chat + SQLite ledger", t["bare sync"], t["aigate + sqlite ledger"], 1.5),
        ("chat + ledger + budget + rpm/tpm", t["bare sync"],
         t["aigate + ledger + budget + rate limit"], 2.0),
        ("chat, 5-target route", t["bare sync"], t["aigate 5-target route"], inf),
        ("200-chunk stream, sync", t["bare stream sync"], t["aigate stream sync"], 1.2),
        ("200-chunk stream, async", t["bare stream async"], t["aigate stream async"], 1.2),
        ("200-chunk Anthropic stream", t["bare anthropic stream"],
         t["aigate anthropic stream"], 1.5),
        ("200-chunk Gemini stream", t["bare gemini stream"], t["aigate gemini stream"], 1.5),
    ]  # fmt: skip
    base_import = import_time("import httpx, pydantic", runs)
    aigate_import = import_time("import aigate", runs)
    rows.append(("import (vs httpx, pydantic)", base_import, aigate_import, 0.3))
    # `import aigate` loads its modules on first use, so also show the cost of getting to a
    # working gateway, against getting to a working httpx client.
    base_ready = import_time("import httpx, pydantic; httpx.Client()", runs)
    aigate_ready = import_time(
        "import aigate; aigate.Gateway(providers={'openai': {'api_keys': ['sk']}})", runs
    )
    rows.append(("import + first client", base_ready, aigate_ready, inf))
    rows.append(("import + first Gateway (vs import)", base_import, aigate_ready, 1.5))
    print(f"{'case':36} {'baseline':>12} {'aigate':>12} {'ratio':>7} {'target':>7}")
    for name, base, ours, target in rows:
        verdict = "" if target == inf else ("ok" if ours / base <= target else "OVER")
        shown = "" if target == inf else f"<={target}"
        print(
            f"{name:36} {base * 1e6:10.1f}us {ours * 1e6:10.1f}us {ours / base:7.2f} "
            f"{shown:>7} {verdict}"
        )


if __name__ == "__main__":
    main()
