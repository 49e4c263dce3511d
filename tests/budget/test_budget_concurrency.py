"""Budgets under real concurrency: 4 processes x 32 concurrent callers on one shared store,
and a caller killed while holding a reservation."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

from aigate.budget import Budgets, Limit, open_budget_store

PROCESSES = 4
CONCURRENT = 32
ROUNDS = 6  # reservations per concurrent caller
MAX_NANO = 50_000  # the most one call can cost
CAP_USD = "0.002"  # 2,000,000 nano: room for ~80 average worst cases, far below demand
CAP_NANO = 2_000_000
BUDGETS = [Limit(scope="global", amount=CAP_USD, window="day")]


def _costs(rng: random.Random) -> tuple[int, int]:
    """A call's worst case and its real cost (at most the worst case)."""
    estimate = rng.randint(1, MAX_NANO)
    actual = 0 if rng.random() < 0.1 else rng.randint(0, estimate)  # 10%: failed, billed 0
    return estimate, actual


def _worker(url: str, worker: int, use_async: bool, out: Any) -> None:
    """Child: 32 concurrent callers (threads, or asyncio tasks), each reserving ROUNDS times."""
    store = open_budget_store(url)
    budgets = Budgets(BUDGETS, ttl_s=120)
    lock = threading.Lock()
    totals = {"settled": 0, "admitted": 0, "refused": 0}

    def record(admitted: bool, actual: int) -> None:
        with lock:
            totals["admitted" if admitted else "refused"] += 1
            totals["settled"] += actual if admitted else 0

    def plan(rng: random.Random) -> tuple[list[Any], int]:
        estimate, actual = _costs(rng)
        return budgets.plan(estimate_nano=estimate), actual

    def thread(n: int) -> None:
        rng = random.Random(worker * 1000 + n)
        for r in range(ROUNDS):
            rid = f"w{worker}-c{n}-r{r}"
            charges, actual = plan(rng)
            if store.reserve(rid, charges, budgets.ttl_s).ok:
                time.sleep(rng.random() * 0.002)  # the provider call
                store.settle(rid, budgets.actual(charges, cost_nano=actual, tokens=0))
                record(True, actual)
            else:
                record(False, 0)

    async def task(n: int) -> None:
        rng = random.Random(worker * 1000 + n)
        for r in range(ROUNDS):
            rid = f"w{worker}-c{n}-r{r}"
            charges, actual = plan(rng)
            if (await store.areserve(rid, charges, budgets.ttl_s)).ok:
                await asyncio.sleep(rng.random() * 0.002)
                await store.asettle(rid, budgets.actual(charges, cost_nano=actual, tokens=0))
                record(True, actual)
            else:
                record(False, 0)

    if use_async:

        async def main() -> None:
            await asyncio.gather(*(task(n) for n in range(CONCURRENT)))
            await store.aclose()

        asyncio.run(main())
    else:
        threads = [threading.Thread(target=thread, args=(n,)) for n in range(CONCURRENT)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        store.close()
    out.put(totals)


@pytest.mark.slow
def test_shared_budget_is_never_overspent(shared_url: str) -> None:
    """4 processes (two with threads, two with asyncio) x 32 concurrent callers, random
    worst cases up to MAX_NANO: settled spend never exceeds the cap (reserve-first makes
    the strongest claim hold), no reservation is left behind, and the counter equals the
    sum of settled amounts to the nano-dollar."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(shared_url, w, w % 2 == 1, out)) for w in range(PROCESSES)
    ]
    started = time.monotonic()
    for p in procs:
        p.start()
    totals = [out.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    elapsed = time.monotonic() - started
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    settled = sum(t["settled"] for t in totals)
    admitted = sum(t["admitted"] for t in totals)
    refused = sum(t["refused"] for t in totals)
    assert admitted + refused == PROCESSES * CONCURRENT * ROUNDS
    assert refused > 0 and admitted > 50  # the budget was contended, and used
    store = open_budget_store(shared_url)
    (charge,) = Budgets(BUDGETS).plan(estimate_nano=0)
    counter = store.status([charge.key])[charge.key]
    assert store.pending() == []
    assert counter.reserved == 0
    assert counter.spent == settled
    assert settled <= CAP_NANO
    assert settled > CAP_NANO // 2  # refusals came from a budget that was really spent
    store.close()
    print(
        f"\n{shared_url.split(':')[0]}: {admitted} admitted, {refused} refused, "
        f"spent {settled}/{CAP_NANO} nano in {elapsed:.1f}s"
    )


VICTIM = textwrap.dedent(
    """
    import sys, time
    from aigate.budget import Charge, open_budget_store
    store = open_budget_store(sys.argv[1])
    assert store.reserve("victim", [Charge("k", 700, 1000)], ttl_s=5).ok
    print("reserved", flush=True)
    time.sleep(120)
    """
)


@pytest.mark.slow
def test_killed_caller_reservation_expires(shared_url: str) -> None:
    """A process SIGKILLed while holding a reservation: it blocks the budget until its
    TTL, then a later reserve (lazily) or sweep releases it."""
    from aigate.budget import Charge

    child = subprocess.Popen(
        [sys.executable, "-c", VICTIM, shared_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "reserved"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    store = open_budget_store(shared_url)
    now = time.time()
    assert store.pending() == ["victim"]
    assert store.status(["k"])["k"].reserved == 700
    assert not store.reserve("next", [Charge("k", 700, 1000)], 5, now=now).ok
    assert store.sweep(now=now) == 0  # not expired yet
    assert store.reserve("later", [Charge("k", 700, 1000)], 5, now=now + 6).ok  # lazily freed
    assert store.pending() == ["later"]
    assert store.status(["k"])["k"].reserved == 700
    assert store.sweep(now=now + 12) == 1
    assert store.pending() == [] and store.status(["k"])["k"].reserved == 0
    store.close()
