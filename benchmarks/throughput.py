"""Async throughput: 256 concurrent calls through ``aigate.AsyncGateway`` against a bare
``httpx.AsyncClient`` posting the same body, both to a loopback HTTP server.

    python benchmarks/throughput.py [--quick] [--concurrency 256 16] [--calls N] [--seconds S]

The server (benchmarks/_loopback.py) runs in its own process and answers from memory, so
the figure is the client side's cost: parsing, validation, routing, pricing. Each round
runs at most ``--calls`` calls for at most ``--seconds`` per client, the clients alternate,
and the median calls/s of each is kept. Target (issue 9): aigate >= 0.9x bare httpx at 256
concurrent calls.

At 256 concurrent calls httpcore's connection pool dominates both clients (it scans every
connection for every request event, so its cost grows with the square of the pool), which
pulls the ratio toward 1.0; a second, smaller concurrency (16 by default) shows aigate's own
share where the pool is cheap. The server's CPU use is printed too: near 100 % the server
was the bottleneck, which also compresses the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _loopback import MESSAGES, LoopbackServer, loopback

import aigate

TARGET = 0.9


async def drive(
    call: Callable[[], Awaitable[Any]], calls: int, concurrency: int, seconds: float
) -> tuple[int, float]:
    """``concurrency`` workers sharing ``calls`` calls, stopped after ``seconds``: (calls
    done, elapsed seconds)."""
    remaining = calls
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal remaining, done
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            await call()
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - start


async def bench(
    server: LoopbackServer, calls: int, concurrency: int, seconds: float, rounds: int
) -> dict[str, dict[str, float]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    url = server.url + "/chat/completions"
    body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES}).encode()
    headers = {"authorization": "Bearer sk-bench", "content-type": "application/json"}
    bare = httpx.AsyncClient(limits=limits, timeout=60)
    gateway = aigate.AsyncGateway(
        providers={"local": {"kind": "openai", "base_url": server.url, "api_keys": ["sk-bench"]}},
        max_connections=concurrency,
        max_keepalive_connections=concurrency,
        timeout=60,
    )

    async def bare_call() -> Any:
        response = await bare.post(url, content=body, headers=headers)
        response.raise_for_status()
        return response.json()

    async def aigate_call() -> Any:
        return await gateway.chat.completions.create(model="local/gpt-4o-mini", messages=MESSAGES)

    cases = {"bare httpx.AsyncClient": bare_call, "aigate.AsyncGateway": aigate_call}
    results: dict[str, dict[str, list[float]]] = {
        name: {"rate": [], "server_cpu": []} for name in cases
    }
    try:
        for call in cases.values():  # warm up: connections, schemas, the catalog
            await drive(call, concurrency, concurrency, seconds)
        for _ in range(rounds):
            for name, call in cases.items():
                cpu = server.cpu_seconds()
                done, elapsed = await drive(call, calls, concurrency, seconds)
                server_cpu = (server.cpu_seconds() - cpu) / elapsed
                results[name]["rate"].append(done / elapsed)
                results[name]["server_cpu"].append(server_cpu)
    finally:
        await bare.aclose()
        await gateway.aclose()
    return {
        name: {key: statistics.median(values) for key, values in figures.items()}
        for name, figures in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds, fewer of them")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[256, 16])
    parser.add_argument("--calls", type=int, help="most calls per round and client")
    parser.add_argument("--seconds", type=float, help="time cap per round and client")
    args = parser.parse_args()
    calls = args.calls or (2000 if args.quick else 20000)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    rounds = 3 if args.quick else 5
    print(f"at most {calls} calls or {seconds:.0f} s per round; median of {rounds} rounds")
    header = f"{'case':24} {'calls/s':>9} {'ratio':>7} {'target':>7} {'server CPU':>11}"
    print(f"{'concurrency':>11} {header}")
    with loopback() as server:
        for concurrency in args.concurrency:
            results = asyncio.run(bench(server, calls, concurrency, seconds, rounds))
            base = results["bare httpx.AsyncClient"]["rate"]
            for name, figures in results.items():
                ratio = figures["rate"] / base
                shown = verdict = ""
                if name.startswith("aigate") and concurrency == args.concurrency[0]:
                    shown = f">={TARGET}"
                    verdict = "ok" if ratio >= TARGET else "UNDER"
                print(
                    f"{concurrency:>11} {name:24} {figures['rate']:9.0f} {ratio:7.2f} "
                    f"{shown:>7} {figures['server_cpu']:10.0%} {verdict}"
                )


if __name__ == "__main__":
    main()
