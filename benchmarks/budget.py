"""Cost of budget admission per call: plan + reserve + settle, for each store backend,
next to a bare httpx call on a MockTransport measured in the same run.

    python benchmarks/budget.py [--quick] [--redis URL] [--postgres DSN]

Redis and PostgreSQL are measured when reachable (loopback by default) and skipped
otherwise. Each call charges two counters (a global monthly budget and a per-user daily
one), as a gateway call with a key budget would. Figures are the median of 5 batches.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import httpx

from aigate.budget import BaseBudgetStore, Budgets, Limit, open_budget_store

LIMITS = [
    Limit(scope="global", amount="1000000", window="month"),
    Limit(scope="user:*", amount="1000000", window="day", thresholds=(0.5, 0.8)),
]
BODY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10},
}


def per_call_us(run: Callable[[int], object], n: int, batches: int = 5) -> float:
    """Median over ``batches`` of the mean microseconds per call of ``run(i)``."""
    run(-1)  # warm up: connections, schema, script loading
    means = []
    for b in range(batches):
        start = time.perf_counter()
        for i in range(b * n, (b + 1) * n):
            run(i)
        means.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(means)


def bench_httpx(n: int) -> float:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=BODY))
    client = httpx.Client(transport=transport, base_url="https://api.openai.com/v1")
    payload = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}

    def call(i: int) -> None:
        client.post("/chat/completions", json=payload).json()

    try:
        return per_call_us(call, n)
    finally:
        client.close()


def bench_store(store: BaseBudgetStore, n: int, tag: str) -> float:
    budgets = Budgets(LIMITS)

    def call(i: int) -> None:
        charges = budgets.plan({"user": f"u{i % 50}"}, estimate_nano=150_000, tokens=1200)
        rid = f"{tag}-{i}"
        if not store.reserve(rid, charges, 600).ok:
            raise RuntimeError("the benchmark budget ran out")
        store.settle(rid, budgets.actual(charges, cost_nano=42_000, tokens=900))

    try:
        return per_call_us(call, n)
    finally:
        store.close()


def bench_plan(n: int) -> float:
    budgets = Budgets(LIMITS)
    return per_call_us(
        lambda i: budgets.plan({"user": f"u{i % 50}"}, estimate_nano=150_000, tokens=1200), n
    )


def reachable(make: Callable[[], BaseBudgetStore]) -> BaseBudgetStore | None:
    try:
        store = make()
        store.status(["probe"])
        return store
    except Exception as err:
        print(f"  (skipped: {type(err).__name__})")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument(
        "--redis", default=os.environ.get("AIGATE_BENCH_REDIS", "redis://127.0.0.1:6379/13")
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "AIGATE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0

    def n(base: int) -> int:
        return max(20, int(base * scale))

    tag = f"bench{os.getpid()}-{int(time.time())}"
    results: list[tuple[str, float]] = []
    print("measuring ...")
    results.append(("httpx call, MockTransport (baseline)", bench_httpx(n(2000))))
    results.append(("Budgets.plan (2 limits, no I/O)", bench_plan(n(20000))))
    results.append(
        ("memory   reserve+settle", bench_store(open_budget_store("memory://"), n(10000), tag))
    )
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = open_budget_store(f"sqlite:///{tmp}/budget.db")
        results.append(("sqlite   reserve+settle (WAL file)", bench_store(sqlite, n(2000), tag)))
    print("redis:")
    redis_store = reachable(lambda: open_budget_store(args.redis, prefix=f"aigate:{tag}"))
    if redis_store is not None:
        results.append(
            ("redis    reserve+settle (loopback, Lua)", bench_store(redis_store, n(2000), tag))
        )
        import redis

        client = redis.Redis.from_url(args.redis)
        for key in client.scan_iter(f"{{aigate:{tag}}}*"):
            client.delete(key)
        client.close()
    print("postgres:")
    table = f"bench_{os.getpid()}"
    pg_store = reachable(lambda: open_budget_store(args.postgres, table=table))
    if pg_store is not None:
        results.append(("postgres reserve+settle (loopback)", bench_store(pg_store, n(500), tag)))
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}_counters, {table}_holds")

    base = results[0][1]
    print(f"\n{'per call':42} {'µs':>9} {'x httpx':>9}")
    for name, us in results:
        print(f"{name:42} {us:9.1f} {us / base:9.2f}")


if __name__ == "__main__":
    main()
