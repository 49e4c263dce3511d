"""Report queries on a large ledger: seeds N rows (default 1,000,000) and times each view.

    python benchmarks/report.py [--rows N] [--postgres DSN] [--keep PATH]

Seeds a SQLite ledger (and a PostgreSQL one when ``--postgres`` is given or
``AIGATE_TEST_POSTGRES_URL`` is set) with 90 days of varied traffic, then times, each the
median of 3 runs: the HTML report as ``aigate report --html`` builds it (`collect_report`
+ `render_html`: one grouped statement for the totals and every breakdown, the top
spenders ranked then read from their rows, percentiles by index walks), the same through
the command line end to end, the dashboard views of ``aigate.ledger._reports`` (overview,
breakdowns, day table, request log page, one call), and, as the baseline measured in the
same run, the per-view ``summary()`` calls the HTML report made before (one percentile
window pass per view). Targets: HTML < 2 s, overview < 1 s on 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aigate.ledger import BaseLedger, SQLiteLedger, open_ledger
from aigate.ledger import _reports as reports
from aigate.ledger._record import _STATUSES
from aigate.ledger._sql import COLUMNS

UTC = timezone.utc
NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)
MODELS = (
    ("openai", "gpt-4o-mini", 150, 600),
    ("openai", "gpt-4.1", 2_000, 8_000),
    ("anthropic", "claude-haiku-4-5", 1_000, 5_000),
    ("anthropic", "claude-sonnet-4-5", 3_000, 15_000),
    ("gemini", "gemini-2.5-flash", 300, 2_500),
    ("groq", "llama-3.3-70b-versatile", 590, 790),
)
ROUTES = ("fast", "smart", None)
USERS = tuple(f"user-{i:03d}" for i in range(200))
PROJECTS = ("search", "support", "billing", "ingest", "labs")
ORGS = ("acme", "globex", "initech")
KEYS = tuple(f"vk_{i:04d}" for i in range(40))
TEAMS = ("core", "growth", "ml")
# Refused rows (calls stopped before sending) exist once the ledger accepts the status.
REFUSED = "refused" in _STATUSES


def rows(n: int, *, days: int = 90, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """``n`` ledger rows (as INSERT parameters in `COLUMNS` order, ts as a datetime) spread
    over the ``days`` before `NOW`: errors, refusals, failovers, cache hits, streams with a
    time to first token, unpriced calls and metadata tags."""
    rnd = random.Random(seed)
    span = days * 86_400
    for i in range(n):
        provider, model, pin, pout = MODELS[rnd.randrange(len(MODELS))]
        ts = NOW - timedelta(seconds=span * (i + 0.5) / n)
        prompt, completion = rnd.randint(50, 4_000), rnd.randint(1, 1_500)
        cached_tokens = prompt // 2 if rnd.random() < 0.2 else 0
        roll = rnd.random()
        status = "error" if roll < 0.03 else "refused" if roll < 0.04 and REFUSED else "ok"
        hit = status == "ok" and rnd.random() < 0.1
        cost = (prompt * pin + completion * pout) if status == "ok" else 0
        if status == "refused":
            prompt = completion = cached_tokens = 0
        unpriced = model.startswith("llama") and rnd.random() < 0.5
        failover = status != "refused" and rnd.random() < 0.05
        attempts = [{"provider": provider, "model": model, "status_code": 200, "error": None}]
        if failover:
            attempts.insert(0, {"provider": "openai", "model": "gpt-4.1", "status_code": 503})
        stream = rnd.random() < 0.4
        latency = 0.0 if status == "refused" else rnd.lognormvariate(6.0, 0.6)
        row = {
            "id": f"req-{i:08d}",
            "ts": ts,
            "kind": "chat" if rnd.random() < 0.95 else "embedding",
            "org": rnd.choice(ORGS),
            "project": rnd.choice(PROJECTS),
            "user": rnd.choice(USERS),
            "virtual_key": rnd.choice(KEYS),
            "route": rnd.choice(ROUTES),
            "provider": provider,
            "model": model,
            "provider_key_id": f"{provider}-k{rnd.randrange(3)}",
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "cached_tokens": cached_tokens,
            "reasoning_tokens": completion // 5 if model.endswith("4.1") else 0,
            "cost_nano": None if (unpriced or status == "refused") else (0 if hit else cost),
            "saved_nano": cost if hit else None,
            "latency_ms": latency,
            "ttft_ms": latency * 0.3 if stream and status == "ok" else None,
            "status": status,
            "error_class": "server" if status == "error" else None,
            "error_type": "APIStatusError" if status == "error" else None,
            "reason": "budget:global" if status == "refused" else None,
            "cached": hit,
            "estimated": False,
            "stream": stream,
            "attempts": json.dumps(attempts if status != "refused" else []),
            "metadata": json.dumps({"team": rnd.choice(TEAMS)}),
        }
        # In the ledger's column order, whatever columns this version of the schema has.
        yield tuple(row.get(name, 0 if name.endswith("_tokens") else None) for name in COLUMNS)


def seed_sqlite(path: str, n: int) -> SQLiteLedger:
    """A SQLite ledger at ``path`` holding ``n`` rows (written in one transaction)."""
    ledger = SQLiteLedger(path)
    conn = ledger._connection()
    stmt = ledger._sql.insert
    conn.execute("BEGIN")
    batch: list[tuple[Any, ...]] = []
    for row in rows(n):
        row = (row[0], row[1].replace(tzinfo=None).isoformat(timespec="microseconds"), *row[2:])
        batch.append(row)
        if len(batch) == 50_000:
            conn.executemany(stmt, batch)
            batch.clear()
    conn.executemany(stmt, batch)
    conn.execute("COMMIT")
    return ledger


def seed_postgres(dsn: str, n: int, table: str) -> BaseLedger:
    """A PostgreSQL ledger table holding ``n`` rows (COPY)."""
    import psycopg

    ledger = open_ledger(dsn, table=table)
    ledger.totals()  # creates the table
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {table}")
        cols = ", ".join('"user"' if c == "user" else c for c in COLUMNS)
        with conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows(n):
                copy.write_row(row)
        conn.execute(f"ANALYZE {table}")
    return ledger


def timed(fn: Callable[[], object], runs: int = 3) -> float:
    """Median seconds of ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def old_html_views(ledger: BaseLedger, **window: Any) -> None:
    """The summaries the HTML report ran before the one-pass views (the baseline)."""
    ledger.summary(group_by=["day"], **window)
    ledger.totals(**window)
    ledger.summary(group_by=["day", "provider"], **window)
    for dim in ("model", "provider", "project"):
        ledger.summary(group_by=[dim], **window)
    ledger.top_spenders("user", 10, **window)


def quiet(fn: Callable[[list[str]], int], argv: list[str]) -> int:
    """``fn(argv)`` with its stderr (``wrote report.html ...``) dropped."""
    with contextlib.redirect_stderr(io.StringIO()):
        return fn(argv)


def cases(ledger: BaseLedger, url: str, out: str) -> dict[str, Callable[[], object]]:
    """The views to time, by name (``url``: the ledger's, for the command line)."""
    from aigate._report_html import collect_report, render_html
    from aigate.cli import main as cli

    week = {"since": NOW - timedelta(days=7), "until": NOW + timedelta(seconds=1)}
    return {
        "html report as aigate report --html builds it today": lambda: render_html(
            collect_report(ledger)
        ),
        "aigate report --html, the command end to end": lambda: quiet(
            cli, ["report", "--ledger", url, "--html", out, "--quiet"]
        ),
        "report_views (the same grouping, + overview)": lambda: reports.report_views(ledger),
        "overview, all rows": lambda: reports.overview(ledger),
        "overview, last 7 days": lambda: reports.overview(ledger, **week),
        "breakdown by model, all rows": lambda: reports.breakdown(ledger, "model"),
        "breakdown by user, top 10": lambda: reports.breakdown(ledger, "user", top=10),
        "breakdown by meta:team": lambda: reports.breakdown(ledger, "meta:team"),
        "day table, all rows": lambda: reports.timeseries(ledger, "day"),
        "request log page 1 (50 rows)": lambda: reports.requests_page(ledger, limit=50),
        "request log, filtered model+status": lambda: reports.requests_page(
            ledger, where={"model": "gpt-4.1", "status": "error"}, limit=50
        ),
        "one call by id": lambda: reports.call(ledger, "req-00123456"),
        "baseline: summary() per view, all rows": lambda: old_html_views(ledger),
    }


def report(name: str, ledger: BaseLedger, url: str, runs: int) -> None:
    print(f"\n{name}", flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        timings = cases(ledger, url, os.path.join(tmp, "report.html"))
        for label, fn in timings.items():
            results[label] = timed(fn, runs)
            print(f"  {label:<55} {results[label] * 1000:9.0f} ms", flush=True)
    base = results["baseline: summary() per view, all rows"]
    print("ratios to the baseline (the summary() calls the HTML report made before):")
    for label, secs in results.items():
        print(f"  {label:<55} {secs / base:6.3f}x")


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
            ledger = seed_sqlite(path, args.rows)
        print(f"sqlite: {args.rows:,} rows ready in {time.perf_counter() - start:.1f} s")
        reports.ensure_indexes(ledger)
        report(f"SQLite, {args.rows:,} rows", ledger, f"sqlite:///{path}", args.runs)
        ledger.close()
        if args.postgres:
            start = time.perf_counter()
            table = "aigate_bench_report"
            pg = seed_postgres(args.postgres, args.rows, table)
            print(f"\npostgres: {args.rows:,} rows ready in {time.perf_counter() - start:.1f} s")
            reports.ensure_indexes(pg)
            report(
                f"PostgreSQL, {args.rows:,} rows",
                pg,
                f"{args.postgres}{'&' if '?' in args.postgres else '?'}table={table}",
                args.runs,
            )
            pg.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
