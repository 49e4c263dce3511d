"""Each dashboard page's API on a large ledger: seeds N rows (default 1,000,000) and times
every ``/api/...`` call the pages make, through the real ASGI app (Starlette's TestClient:
routing, the token check, the threadpool, JSON encoding included).

    python benchmarks/dashboard.py [--rows N] [--postgres DSN] [--keep PATH] [--runs 3]

Figures are the median of ``--runs`` calls, next to the baseline measured in the same run:
``ledger.totals()`` over the same window (one ``summary()`` statement, what ``gw.usage``
ran before the views). Target: the overview < 1 s on 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import report as seeding  # benchmarks/report.py: the same 1M-row ledger

from aigate.budget import Limit, open_budget_store
from aigate.dashboard import Sources, create_app
from aigate.ledger import BaseLedger, SQLiteLedger
from aigate.ledger import _reports as views
from aigate.tenancy import open_key_store

TOKEN = "benchmark-token-0123456789"


def pages(client: Any, ledger: BaseLedger) -> dict[str, Callable[[], object]]:
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def get(path: str, **params: str) -> Callable[[], object]:
        def call() -> object:
            r = client.get(path, params=params, headers=auth)
            assert r.status_code == 200, r.text
            return r.json() if "json" in r.headers["content-type"] else r.text

        return call

    # The seed's clock: the ledger ends at seeding.NOW, so windows are relative to it.
    end = seeding.NOW + timedelta(seconds=1)

    def since(days: float) -> str:
        return (end - timedelta(days=days)).isoformat()

    u = end.isoformat()
    return {
        "overview, last hour": get("/api/overview", since=since(1 / 24), until=u),
        "overview, last 24 hours": get("/api/overview", since=since(1), until=u),
        "overview, last 7 days": get("/api/overview", since=since(7), until=u),
        "overview, 90 days (all 1M rows)": get("/api/overview", since=since(90), until=u),
        "breakdown by model, 30 days": get("/api/breakdown", by="model", since=since(30), until=u),
        "breakdown by user, top 25, 30 days": get(
            "/api/breakdown", by="user", top="25", since=since(30), until=u
        ),
        "breakdown by meta:team, 7 days": get(
            "/api/breakdown", by="meta:team", since=since(7), until=u
        ),
        "breakdown CSV by project, 30 days": get(
            "/api/breakdown", by="project", since=since(30), until=u, format="csv"
        ),
        "day table, 30 days": get("/api/days", since=since(30), until=u),
        "request log, page 1": get("/api/requests", limit="50"),
        "request log, filtered (model + status)": get(
            "/api/requests", model="gpt-4.1", status="error", limit="50"
        ),
        "one call with its attempts": get("/api/requests/req-00123456"),
        "budgets": get("/api/budgets"),
        "keys": get("/api/keys"),
        "models (catalog search)": get("/api/models", q="gpt"),
        "health": get("/api/health"),
        "baseline: ledger.totals(), 24 hours": lambda: ledger.totals(
            since=end - timedelta(days=1), until=end
        ),
        "baseline: ledger.totals(), 90 days": lambda: ledger.totals(
            since=end - timedelta(days=90), until=end
        ),
    }


def run(name: str, ledger: BaseLedger, runs: int) -> None:
    from starlette.testclient import TestClient

    keys = open_key_store("memory://", pepper="benchmark-pepper-0123456789")
    for i in range(20):
        keys.create(name=f"key-{i}", project="search", budget=[{"amount": "5", "window": "day"}])
    budget = open_budget_store("memory://")
    limits = [Limit(scope="global", amount="1000", window="month")]
    sources = Sources(ledger=ledger, keys=keys, budget_store=budget, limits=limits)
    views.ensure_indexes(ledger)
    print(f"\n{name}", flush=True)
    results: dict[str, float] = {}
    with TestClient(create_app(sources, TOKEN)) as client:
        for label, fn in pages(client, ledger).items():
            results[label] = seeding.timed(fn, runs)
            print(f"  {label:<45} {results[label] * 1000:9.1f} ms", flush=True)
    base = results["baseline: ledger.totals(), 90 days"]
    print("ratios to ledger.totals() over 90 days (all rows), the same run:")
    for label, secs in results.items():
        print(f"  {label:<45} {secs / base:6.3f}x")
    keys.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("AIGATE_TEST_POSTGRES_URL"))
    parser.add_argument("--keep", help="SQLite file to reuse (seeded when missing)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or os.path.join(tmp, "ledger.db")
        start = time.perf_counter()
        if args.keep and os.path.exists(path):
            ledger: BaseLedger = SQLiteLedger(path)
        else:
            ledger = seeding.seed_sqlite(path, args.rows)
        print(f"sqlite: {args.rows:,} rows ready in {time.perf_counter() - start:.1f} s")
        run(f"SQLite, {args.rows:,} rows", ledger, args.runs)
        ledger.close()
        if args.postgres:
            start = time.perf_counter()
            pg = seeding.seed_postgres(args.postgres, args.rows, "aigate_bench_dashboard")
            print(f"\npostgres: {args.rows:,} rows ready in {time.perf_counter() - start:.1f} s")
            run(f"PostgreSQL, {args.rows:,} rows", pg, args.runs)
            pg.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
