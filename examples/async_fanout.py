"""Async fan-out: many calls at once from one AsyncGateway, bounded by a semaphore.

One ``AsyncGateway`` holds one pooled HTTP client; share it across tasks. Nothing blocks
the event loop (state stores have async paths). The ledger totals what the batch cost.

Offline by default (the fake provider takes 40 ms per call, so the speed-up over a
sequential loop is visible); with OPENAI_API_KEY set it calls OpenAI.

    python examples/async_fanout.py
"""

from __future__ import annotations

import asyncio
import os
import time

import aigate
from aigate.testing import FakeTransport, reply

TOPICS = [f"topic {i}" for i in range(24)]
CONCURRENCY = 8


def settings() -> dict[str, object]:
    if os.environ.get("OPENAI_API_KEY"):
        return {"providers": {"openai": {}}, "ledger": "memory://"}
    fake = FakeTransport(default=reply(None, latency=0.04))  # echoes, 40 ms per call
    return {
        "providers": {"openai": {"kind": "fake", "options": {"transport": fake}}},
        "ledger": "memory://",
    }


async def summarize(gw: aigate.AsyncGateway, limit: asyncio.Semaphore, topic: str) -> str:
    async with limit:
        r = await gw.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": f"One line about {topic}."}],
            max_tokens=40,
            metadata={"project": "fanout"},
        )
        return r.choices[0].message.content or ""


async def main() -> None:
    async with aigate.AsyncGateway(settings()) as gw:
        limit = asyncio.Semaphore(CONCURRENCY)
        started = time.perf_counter()
        answers = await asyncio.gather(*(summarize(gw, limit, t) for t in TOPICS))
        elapsed = time.perf_counter() - started
        totals = await gw.usage.totals()
        print(f"{len(answers)} answers in {elapsed:.2f} s with {CONCURRENCY} at a time")
        print(f"first: {answers[0]!r}")
        print(
            f"ledger: {totals.requests} calls, {totals.prompt_tokens} + "
            f"{totals.completion_tokens} tokens, ${totals.cost_usd}"
        )


if __name__ == "__main__":
    asyncio.run(main())
