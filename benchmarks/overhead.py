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
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

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


def handler(request: httpx.Request) -> httpx.Response:
    if b'"stream":true' in request.content:
        return httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, content=BODY, headers={"content-type": "application/json"})


def timed(fn: Callable[[], Any], rounds: int, number: int) -> float:
    """Median seconds per call over ``rounds`` batches of ``number`` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def atimed(fn: Callable[[], Coroutine[Any, Any, Any]], rounds: int, number: int) -> float:
    async def run() -> float:
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(number):
                await fn()
            samples.append((time.perf_counter() - start) / number)
        return statistics.median(samples)

    return asyncio.run(run())


def interleaved(pairs: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Measure each case ``repeats`` times, interleaved, and keep each case's median: the
    machine's background noise then hits every case alike."""
    results: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(repeats):
        for name, fn in pairs.items():
            results[name].append(fn())
    return {name: statistics.median(values) for name, values in results.items()}


def bench_calls(rounds: int, number: int, repeats: int) -> dict[str, float]:
    transport = httpx.MockTransport(handler)
    bare = httpx.Client(transport=transport)
    gw = aigate.Gateway(providers={"openai": {"api_keys": ["sk-bench"]}}, transport=transport)
    abare = httpx.AsyncClient(transport=transport)
    agw = aigate.AsyncGateway(providers={"openai": {"api_keys": ["sk-bench"]}}, transport=transport)
    payload = {"model": "gpt-4o-mini", "messages": MESSAGES}
    headers = {"authorization": "Bearer sk-bench"}

    def bare_call() -> Any:
        return bare.post(URL, json=payload, headers=headers).json()

    def gw_call() -> Any:
        return gw.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)

    async def abare_call() -> Any:
        return (await abare.post(URL, json=payload, headers=headers)).json()

    async def agw_call() -> Any:
        return await agw.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)

    def bare_stream() -> None:
        with bare.stream(
            "POST", URL, json={**payload, "stream": True}, headers=headers
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    json.loads(data)

    def gw_stream() -> None:
        for _ in gw.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True
        ):
            pass

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

    # warm up: schemas, catalog, encodings
    for fn in (bare_call, gw_call, bare_stream, gw_stream):
        fn()
    asyncio.run(agw_call())
    asyncio.run(agw_stream())
    stream_number = max(number // 10, 5)
    return interleaved(
        {
            "bare sync": lambda: timed(bare_call, rounds, number),
            "aigate sync": lambda: timed(gw_call, rounds, number),
            "bare async": lambda: atimed(abare_call, rounds, number),
            "aigate async": lambda: atimed(agw_call, rounds, number),
            "bare stream sync": lambda: timed(bare_stream, rounds, stream_number),
            "aigate stream sync": lambda: timed(gw_stream, rounds, stream_number),
            "bare stream async": lambda: atimed(abare_stream, rounds, stream_number),
            "aigate stream async": lambda: atimed(agw_stream, rounds, stream_number),
        },
        repeats,
    )


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
    t = bench_calls(rounds, number, repeats)
    rows = [
        ("chat, sync", t["bare sync"], t["aigate sync"], 1.5),
        ("chat, async", t["bare async"], t["aigate async"], 1.5),
        ("200-chunk stream, sync", t["bare stream sync"], t["aigate stream sync"], 1.3),
        ("200-chunk stream, async", t["bare stream async"], t["aigate stream async"], 1.3),
    ]
    base_import = import_time("import httpx, pydantic", runs)
    aigate_import = import_time("import aigate", runs)
    rows.append(("import (vs httpx, pydantic)", base_import, aigate_import, 1.5))
    # `import aigate` loads its modules on first use, so also show the cost of getting to a
    # working gateway, against getting to a working httpx client.
    base_ready = import_time("import httpx, pydantic; httpx.Client()", runs)
    aigate_ready = import_time(
        "import aigate; aigate.Gateway(providers={'openai': {'api_keys': ['sk']}})", runs
    )
    rows.append(("import + first client (info)", base_ready, aigate_ready, float("inf")))
    print(f"{'case':32} {'baseline':>12} {'aigate':>12} {'ratio':>7} {'target':>7}")
    for name, base, ours, target in rows:
        ok = "ok" if ours / base <= target else "OVER"
        if target == float("inf"):
            ok, target = "", "-"  # type: ignore[assignment]
        print(
            f"{name:32} {base * 1e6:10.1f}us {ours * 1e6:10.1f}us {ours / base:7.2f} "
            f"{'<=' + str(target):>7} {ok}"
        )


if __name__ == "__main__":
    main()
