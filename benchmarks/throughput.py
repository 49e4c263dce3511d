"""Async throughput at 16, 256 and 1024 concurrent calls: ``aigate.AsyncGateway`` on each
engine (aiohttp, httpx, httpx2) against raw ``aiohttp``, ``httpx`` and ``httpx2`` clients
posting the same body, all to a loopback HTTP server.

    python benchmarks/throughput.py [--quick] [--concurrency 16 256 1024] [--calls N] [--seconds S]

Target (issue 12): AsyncGateway (default engine) >= 0.8x raw aiohttp at 256 and 1024, with
zero errors (an error is counted, not raised, and shown in the last column).

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

import aiohttp
import httpx
import httpx2

sys.path.insert(0, str(Path(__file__).parent))

from _loopback import MESSAGES, LoopbackServer, loopback

import aigate

TARGET = 0.8
BASE = "raw aiohttp"


async def drive(
    call: Callable[[], Awaitable[Any]], calls: int, concurrency: int, seconds: float
) -> tuple[int, float, int]:
    """``concurrency`` workers sharing ``calls`` calls, stopped after ``seconds``: (calls
    done, elapsed seconds, errors)."""
    remaining = calls
    done = errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal remaining, done, errors
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            try:
                await call()
            except Exception:
                errors += 1
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - start, errors


async def bench(
    server: LoopbackServer, calls: int, concurrency: int, seconds: float, rounds: int
) -> dict[str, dict[str, float]]:
    url = server.url + "/chat/completions"
    body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES}).encode()
    headers = {"authorization": "Bearer sk-bench", "content-type": "application/json"}
    raw_httpx = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=120,
    )
    raw_httpx2 = httpx2.AsyncClient(
        limits=httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=120,
    )
    raw_aiohttp = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=0),
        timeout=aiohttp.ClientTimeout(total=120),
    )
    gateways = {
        engine: aigate.AsyncGateway(
            providers={
                "local": {"kind": "openai", "base_url": server.url, "api_keys": ["sk-bench"]}
            },
            max_connections=concurrency,
            max_keepalive_connections=concurrency,
            timeout=120,
            http=engine,
        )
        for engine in ("aiohttp", "httpx", "httpx2")
    }

    async def httpx_call() -> Any:
        response = await raw_httpx.post(url, content=body, headers=headers)
        response.raise_for_status()
        return response.json()

    async def httpx2_call() -> Any:
        response = await raw_httpx2.post(url, content=body, headers=headers)
        response.raise_for_status()
        return response.json()

    async def aiohttp_call() -> Any:
        async with raw_aiohttp.post(url, data=body, headers=headers) as response:
            response.raise_for_status()
            return json.loads(await response.read())

    def gateway_call(gw: aigate.AsyncGateway) -> Callable[[], Awaitable[Any]]:
        async def call() -> Any:
            return await gw.chat.completions.create(model="local/gpt-4o-mini", messages=MESSAGES)

        return call

    cases: dict[str, Callable[[], Awaitable[Any]]] = {
        BASE: aiohttp_call,
        "raw httpx2": httpx2_call,
        "raw httpx": httpx_call,
        **{f"AsyncGateway[{e}]": gateway_call(gw) for e, gw in gateways.items()},
    }
    results: dict[str, dict[str, list[float]]] = {
        name: {"rate": [], "server_cpu": [], "errors": []} for name in cases
    }
    try:
        for call in cases.values():  # warm up: connections, schemas, the catalog
            await drive(call, concurrency, concurrency, seconds)
        for _ in range(rounds):
            for name, call in cases.items():
                cpu = server.cpu_seconds()
                done, elapsed, errors = await drive(call, calls, concurrency, seconds)
                server_cpu = (server.cpu_seconds() - cpu) / elapsed
                results[name]["rate"].append((done - errors) / elapsed)
                results[name]["server_cpu"].append(server_cpu)
                results[name]["errors"].append(errors)
    finally:
        await raw_httpx.aclose()
        await raw_httpx2.aclose()
        await raw_aiohttp.close()
        for gw in gateways.values():
            await gw.aclose()
    summary = {
        name: {key: statistics.median(values) for key, values in figures.items()}
        for name, figures in results.items()
    }
    for name, figures in results.items():
        summary[name]["errors"] = sum(figures["errors"])
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds, fewer of them")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 256, 1024])
    parser.add_argument("--calls", type=int, help="most calls per round and client")
    parser.add_argument("--seconds", type=float, help="time cap per round and client")
    parser.add_argument("--rounds", type=int, help="rounds per client (median kept)")
    args = parser.parse_args()
    calls = args.calls or (2000 if args.quick else 20000)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    rounds = args.rounds or (3 if args.quick else 5)
    print(f"at most {calls} calls or {seconds:.0f} s per round; median of {rounds} rounds")
    header = f"{'case':22} {'calls/s':>9} {'ratio':>7} {'target':>7} {'server CPU':>11} errors"
    print(f"{'concurrency':>11} {header}")
    with loopback() as server:
        for concurrency in args.concurrency:
            results = asyncio.run(bench(server, calls, concurrency, seconds, rounds))
            base = results[BASE]["rate"]
            for name, figures in results.items():
                ratio = figures["rate"] / base
                shown = verdict = ""
                if name == "AsyncGateway[aiohttp]" and concurrency >= 256:
                    shown = f">={TARGET}"
                    ok = ratio >= TARGET and figures["errors"] == 0
                    verdict = "ok" if ok else "UNDER"
                print(
                    f"{concurrency:>11} {name:22} {figures['rate']:9.0f} {ratio:7.2f} "
                    f"{shown:>7} {figures['server_cpu']:10.0%} {figures['errors']:6.0f} {verdict}"
                )


if __name__ == "__main__":
    main()
