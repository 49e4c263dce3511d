"""Budgets hold under concurrency through the whole gateway, across processes.

4 processes x 32 concurrent calls (an AsyncGateway each, a fake provider with random latency
and a fixed usage per call, one call in ten failing) share one budget in SQLite, Redis or
PostgreSQL, and one ledger. The budget has room for far fewer calls than are made. After:
settled spend never exceeds the limit by more than one call's maximum cost, no reservation
is left behind, and the ledger and the counters agree to the nano-dollar.

The file is also the child process: ``python test_gateway_budget_concurrency.py <settings.json>``.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

PROCESSES = 4
CONCURRENT = 32
ROUNDS = 6  # calls per concurrent caller
MODEL = "openai/gpt-4o-mini"  # $0.15 / 1M input, $0.60 / 1M output
MAX_TOKENS = 100
USAGE = {"prompt_tokens": 8, "completion_tokens": 100, "total_tokens": 108}
CALL_NANO = 8 * 150 + 100 * 600  # what one successful call costs
FAIL_RATE = 0.1
# Room for ~40% of the successful calls: most of the run is a race for the last of it.
CAP_USD = "0.015"
LIMITS: list[dict[str, Any]] = [
    {"scope": "project:race", "amount": CAP_USD, "window": "lifetime"},
    {"scope": "user:*", "amount": "1", "window": "lifetime", "hard": False},
]


def _messages(worker: int, task: int, i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Call {worker}-{task}-{i}: say ok"}]


# -- the child process ---------------------------------------------------------------------


class _Latency(httpx.AsyncBaseTransport):
    """An httpx transport that answers through ``inner`` after a random delay."""

    def __init__(self, inner: httpx.AsyncBaseTransport, rng: random.Random) -> None:
        self.inner = inner
        self.rng = rng

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.rng.uniform(0.002, 0.03))
        return await self.inner.handle_async_request(request)


async def _child(settings: dict[str, Any]) -> dict[str, Any]:
    import aigate
    from aigate.testing import FakeTransport, error, reply

    worker = settings["worker"]
    rng = random.Random(worker)
    fake = FakeTransport(default=reply("ok", usage=USAGE))
    fake.when(lambda call: rng.random() < FAIL_RATE, error(500), repeat=True)
    transport = _Latency(fake, rng)
    outcomes: Counter[str] = Counter()
    returned: list[tuple[str, str]] = []  # (call id, cost)
    gw = aigate.AsyncGateway(
        providers={"openai": {"api_keys": ["sk-test"]}},
        budget={"store": settings["store"], "limits": LIMITS, "ttl_s": 30},
        ledger=settings["ledger"],
        ledger_errors="raise",
        transport=transport,
    )
    # Open the stores and load the token counter before the race starts.
    await gw.chat.completions.create(
        model=MODEL, messages=_messages(worker, -1, 0), max_tokens=MAX_TOKENS
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    async def caller(task: int) -> None:
        for i in range(ROUNDS):
            try:
                r = await gw.chat.completions.create(
                    model=MODEL,
                    messages=_messages(worker, task, i),
                    max_tokens=MAX_TOKENS,
                    user=f"u{worker}",
                    metadata={"project": "race"},
                )
            except aigate.AigateError as exc:
                outcomes[type(exc).__name__] += 1
                continue
            assert r.gateway is not None
            outcomes["ok"] += 1
            returned.append((r.gateway.call_id or "", str(r.gateway.cost_usd)))

    started = time.perf_counter()
    await asyncio.gather(*(caller(task) for task in range(CONCURRENT)))
    elapsed = time.perf_counter() - started
    await gw.aclose()
    return {"outcomes": dict(outcomes), "returned": returned, "seconds": elapsed}


# -- the test ------------------------------------------------------------------------------


def _urls(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(budget store URL, ledger URL) for a backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'budget.db'}", f"sqlite:///{tmp_path / 'ledger.db'}"
    if backend == "redis":
        return request.getfixturevalue("redis_url"), f"sqlite:///{tmp_path / 'ledger.db'}"
    dsn = request.getfixturevalue("postgres_dsn")
    return dsn, dsn


def _max_call_nano(store: str) -> int:
    """One call's maximum cost: the gateway's worst-case estimate (its reservation)."""
    import aigate

    gw = aigate.Gateway(
        providers={"openai": {"api_keys": ["sk-test"]}},
        budget={"store": store, "limits": LIMITS},
    )
    try:
        core = gw._core
        assert core.admission is not None
        _, targets = core.resolve(MODEL)
        worst, _ = core.admission.estimate(
            targets, _messages(PROCESSES, CONCURRENT, ROUNDS), {"max_tokens": MAX_TOKENS}
        )
        return worst
    finally:
        gw.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
)
def test_budget_holds_across_processes(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from aigate.budget import Budgets, open_budget_store
    from aigate.ledger import open_ledger
    from aigate.pricing import to_nano

    store_url, ledger_url = _urls(backend, request, tmp_path)
    max_call = _max_call_nano(store_url)
    assert max_call >= CALL_NANO  # the reservation covers the real cost
    started = time.monotonic()
    procs = []
    for worker in range(PROCESSES):
        path = tmp_path / f"child{worker}.json"
        path.write_text(json.dumps({"worker": worker, "store": store_url, "ledger": ledger_url}))
        procs.append(
            subprocess.Popen(
                [sys.executable, __file__, str(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdin is not None
            line = proc.stdout.readline()
            assert line == "ready\n", f"a child failed to start: {line!r} {proc.stderr}"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err[-3000:]
            results.append(json.loads(out.splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    seconds = time.monotonic() - started

    outcomes: Counter[str] = Counter()
    for result in results:
        outcomes.update(result["outcomes"])
    returned = [tuple(item) for result in results for item in result["returned"]]
    assert sum(outcomes.values()) == PROCESSES * CONCURRENT * ROUNDS
    assert set(outcomes) <= {"ok", "BudgetExceeded", "InternalServerError"}, outcomes
    assert outcomes["ok"] and outcomes["BudgetExceeded"] and outcomes["InternalServerError"]

    budgets = Budgets(LIMITS)
    charges = budgets.plan({"project": "race"}, estimate_nano=0)
    users = [budgets.plan({"user": f"u{w}"}, estimate_nano=0)[0].key for w in range(PROCESSES)]
    with open_budget_store(store_url) as store:
        assert store.pending() == []  # every reservation was settled (none had to expire)
        counters = store.status([charges[0].key, *users])
    ledger = open_ledger(ledger_url)
    try:
        rows = [r for r in ledger.query() if r.project == "race"]
    finally:
        ledger.close()

    cap_nano = to_nano(Decimal(CAP_USD))
    spent = counters[charges[0].key].spent
    ledger_nano = sum(r.cost_nano or 0 for r in rows)  # failed calls: None, and settled 0
    print(
        f"\n{backend}: {sum(outcomes.values())} calls in {seconds:.1f}s, {dict(outcomes)}; "
        f"spent {spent} of {cap_nano} nano-USD (one call at most {max_call})"
    )
    # spend: never past the cap by more than one call's maximum cost
    assert spent <= cap_nano + max_call
    assert spent == outcomes["ok"] * CALL_NANO
    # no reservation left behind, on any counter
    assert all(c.reserved == 0 for c in counters.values()), counters
    # the ledger and the counters agree to the nano-dollar, in total and per process
    assert spent == ledger_nano
    for w, key in enumerate(users):
        mine = sum(r.cost_nano or 0 for r in rows if r.user == f"u{w}")
        assert counters[key].spent == mine
    # every call that returned has its row; every row is a call that was made
    by_id = {r.id: r for r in rows}
    made = [r for r in rows if r.status != "refused"]
    assert len(made) == outcomes["ok"] + outcomes["InternalServerError"]
    # every refusal is a row too, with no cost (issue 14 item 16)
    refused = [r for r in rows if r.status == "refused"]
    assert len(refused) == outcomes["BudgetExceeded"]
    assert all(r.cost_nano == 0 and r.reason == "budget:project:race" for r in refused)
    for call_id, cost in returned:
        assert by_id[call_id].status == "ok"
        assert by_id[call_id].cost_nano == to_nano(Decimal(cost))


if __name__ == "__main__":
    sys.stdout.write(
        json.dumps(asyncio.run(_child(json.loads(Path(sys.argv[1]).read_text())))) + "\n"
    )
