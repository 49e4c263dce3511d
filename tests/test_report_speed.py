"""The HTML report reads a ledger in a handful of statements (#14.21, #17).

`collect_report` used to run one ``summary()`` per section, each a window pass that ranks
every row for its latency percentiles: 37.5 s on 1,000,000 rows. It now reads one grouped
statement for the totals and every breakdown, one for the top spenders, and the latency
percentiles from index walks (or one sort restricted to the top spenders' rows). These
tests hold it to that, and to the numbers of ``summary()``/``totals()``/``top_spenders()``
on every backend.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aigate._report_html import Report, collect_report, render_html
from aigate.ledger import (
    BaseLedger,
    LedgerRecord,
    MemoryLedger,
    SQLiteLedger,
    SummaryRow,
    open_ledger,
)
from aigate.ledger import _reports as views
from aigate.ledger._record import _STATUSES

UTC = timezone.utc
T0 = datetime(2024, 5, 1, tzinfo=UTC)
MODELS = (
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1"),
    ("anthropic", "claude-haiku-4-5"),
    ("gemini", "gemini-2.5-flash"),
    ("groq", None),
)


def records(n: int = 600, *, shared_model: bool = False) -> list[LedgerRecord]:
    """Varied traffic over 10 days: errors, cache hits, unpriced calls, a null user and
    model, metadata tags; ``shared_model``: one model name served by two providers."""
    rnd = random.Random(11)
    out = []
    for i in range(n):
        provider, model = MODELS[rnd.randrange(len(MODELS))]
        if shared_model and i % 5 == 0:
            provider, model = "azure", "gpt-4o-mini"
        out.append(
            LedgerRecord(
                id=f"s{i:05d}",
                ts=T0 + timedelta(minutes=23 * i),
                provider=provider,
                model=model,
                user=rnd.choice(["ana", "bo", "chen", "dee", None]),
                project=rnd.choice(["search", "support", None]),
                prompt_tokens=rnd.randint(1, 900),
                completion_tokens=rnd.randint(1, 300),
                cached_tokens=rnd.randint(0, 5),
                reasoning_tokens=rnd.randint(0, 2),
                cost_nano=None if i % 29 == 0 else rnd.randint(1, 10**7),
                saved_nano=500 if i % 9 == 0 else None,
                latency_ms=rnd.lognormvariate(6, 0.5),
                status="error" if i % 13 == 0 else "ok",
                cached=i % 9 == 0,
                estimated=i % 31 == 0,
                metadata={"team": rnd.choice("xy")},
            )
        )
    if "refused" in _STATUSES:  # refusals are never calls, spend or latency samples
        for i in range(7):
            out.append(
                LedgerRecord(
                    id=f"refused-{i}",
                    ts=T0 + timedelta(days=2, minutes=i),
                    provider="openai",
                    model="gpt-4.1",
                    user="ana",
                    status="refused",
                    error_class="budget",
                    latency_ms=0.0,
                )
            )
    return out


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseLedger]:
    if request.param == "memory":
        led: BaseLedger = MemoryLedger()
    elif request.param == "sqlite":
        led = SQLiteLedger(tmp_path / "ledger.db")
    else:
        led = open_ledger(request.getfixturevalue("postgres_dsn"))
    for rec in records():
        led.record(rec)
    yield led
    led.close()


def _counts(rows: list[SummaryRow]) -> list[dict[str, Any]]:
    """Rows without their percentiles (the report leaves them out where it shows none)."""
    return [{**r.to_dict(), "latency_p50_ms": None, "latency_p95_ms": None} for r in rows]


WINDOWS: list[dict[str, Any]] = [
    {},  # the whole ledger: percentiles walk the indexes
    {"since": T0 + timedelta(days=2), "until": T0 + timedelta(days=5)},  # a narrow window
    {"where": {"meta:team": "x"}},  # a filter: percentiles sort the filtered rows
    {"since": T0 + timedelta(days=3), "until": T0 + timedelta(days=4, hours=12)},  # hours
]


@pytest.mark.parametrize("window", WINDOWS, ids=["all", "days", "filtered", "hours"])
def test_the_report_has_the_numbers_of_summary(ledger: BaseLedger, window: dict[str, Any]) -> None:
    report = collect_report(ledger, **window)
    assert report.totals == ledger.totals(**window)
    assert report.by_model == ledger.summary(group_by=["provider", "model"], **window)
    assert report.top == ledger.top_spenders("user", 10, **window)
    bucket = report.bucket
    for rows, group_by in (
        (report.over_time, [bucket, "provider"]),
        (report.by_provider, ["provider"]),
        (report.by_project, ["project"]),
    ):
        assert _counts(rows) == _counts(ledger.summary(group_by=group_by, **window))
    assert report.totals.requests > 0 and len(report.over_time) > 3


def test_the_bucket_follows_the_data(ledger: BaseLedger) -> None:
    """No window: days; a ledger of one day: hours; past 92 days: months."""
    assert collect_report(ledger).bucket == "day"
    one_day = MemoryLedger()
    for rec in records()[:50]:
        one_day.record(rec)
    assert collect_report(one_day).bucket == "hour"


def test_months_roll_up_from_days(tmp_path: Path) -> None:
    led = SQLiteLedger(tmp_path / "long.db")
    for i, rec in enumerate(records(200)):
        led.record(replace(rec, ts=T0 + timedelta(days=i)))
    report = collect_report(led)
    assert report.bucket == "month"
    assert _counts(report.over_time) == _counts(led.summary(group_by=["month", "provider"]))
    led.close()


def test_a_model_served_by_two_providers(tmp_path: Path) -> None:
    """(provider, model) groups that share a model name get their own percentiles (the
    per-model index walk would mix the two providers' calls)."""
    led = SQLiteLedger(tmp_path / "shared.db")
    for rec in records(shared_model=True):
        led.record(rec)
    report = collect_report(led)
    want = led.summary(group_by=["provider", "model"])
    assert report.by_model == want
    assert {("azure", "gpt-4o-mini"), ("openai", "gpt-4o-mini")} <= {
        (r.group["provider"], r.group["model"]) for r in want
    }
    led.close()


@pytest.mark.parametrize("top_by", ["project", "meta:team", "model"])
def test_top_spenders_by_any_dimension(ledger: BaseLedger, top_by: str) -> None:
    report = collect_report(ledger, top_by=top_by, top_n=2)
    assert report.top == ledger.top_spenders(top_by, 2)


# -- how many statements ------------------------------------------------------------------


def _statements(
    led: SQLiteLedger, monkeypatch: pytest.MonkeyPatch, **kwargs: Any
) -> tuple[Report, list[str]]:
    """A report's statements, on the ledger's connection and any other the report opens
    (the top spenders are ranked on a second one, alongside the grouping)."""
    views.ensure_indexes(led)  # once per ledger and process: not part of a report
    seen: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kw: Any) -> sqlite3.Connection:
        conn = connect(*args, **kw)
        conn.set_trace_callback(seen.append)
        return conn

    conn = led._connection()
    conn.set_trace_callback(seen.append)
    monkeypatch.setattr(sqlite3, "connect", traced)
    try:
        report = collect_report(led, **kwargs)
        render_html(report)
    finally:
        monkeypatch.undo()
        conn.set_trace_callback(None)
    return report, seen


def test_a_report_is_a_handful_of_statements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six statements at most, however many sections: before, seven ``summary()`` window
    passes (one per section, each ranking every row for its percentiles). The sixth is the
    count of refused calls (14.16), read on the status index."""
    led = SQLiteLedger(tmp_path / "ledger.db")
    for rec in records():
        led.record(rec)
    _, seen = _statements(led, monkeypatch)
    assert len(seen) <= 6, "\n".join(seen)
    (refusals,) = [s for s in seen if "status = 'refused'" in s and "GROUP BY" not in s]
    plan = " ".join(str(row) for row in led._connection().execute(f"EXPLAIN QUERY PLAN {refusals}"))
    assert "INDEX" in plan, plan  # a search of an index, not a scan of the table
    # No statement ranks the whole window: only the top spenders' own rows are sorted.
    ranked = [s for s in seen if "ROW_NUMBER()" in s]
    assert len(ranked) <= 1 and all("WHERE (g0 IN (" in s for s in ranked), ranked
    # and a window or a filter costs no more statements
    _, seen = _statements(led, monkeypatch, since=T0 + timedelta(days=1), where={"meta:team": "x"})
    assert len(seen) <= 6, "\n".join(seen)
    led.close()


def test_the_window_percentiles_walk_the_latency_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    led = SQLiteLedger(tmp_path / "ledger.db")
    for rec in records():
        led.record(rec)
    _, seen = _statements(led, monkeypatch)
    walks = [s for s in seen if "INDEXED BY aigate_ledger_latency_ts_idx" in s]
    assert walks, "\n".join(seen)
    plan = " ".join(str(row) for row in led._connection().execute(f"EXPLAIN QUERY PLAN {walks[0]}"))
    assert "latency_ts_idx" in plan and "TEMP B-TREE" not in plan, plan
    led.close()


def test_the_page_is_unchanged_in_content(tmp_path: Path) -> None:
    """The page shows the models' and top spenders' p95 latency, from the same numbers
    as ``summary()``."""
    led = SQLiteLedger(tmp_path / "ledger.db")
    for rec in records():
        led.record(rec)
    page = render_html(collect_report(led))
    models = page.split("<h2>Models</h2>", 1)[1].split("</table>", 1)[0]
    for row in led.summary(group_by=["provider", "model"]):
        assert row.latency_p95_ms is not None
        assert f"{row.latency_p95_ms:,.0f} ms" in models
    top = page.split("<h2>Top spenders by user</h2>", 1)[1].split("</table>", 1)[0]
    p95s = re.findall(r'<td class="n">([\d,]+) ms</td>', top)
    want = [f"{r.latency_p95_ms:,.0f}" for r in led.top_spenders("user", 10)]
    assert p95s == want
    led.close()


# -- the ranking on a second connection -----------------------------------------------------


def test_without_a_second_connection_the_report_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The top spenders are ranked on a second connection to the file, alongside the
    grouping; an in-memory database has none, and a file that cannot be opened twice
    falls back to the ledger's own connection: the same report either way."""
    led = SQLiteLedger(tmp_path / "ledger.db")
    memory = SQLiteLedger(":memory:")
    for rec in records():
        led.record(rec)
        memory.record(rec)
    want = collect_report(led)
    assert collect_report(memory).top == want.top == led.top_spenders("user", 10)

    def refuse(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    got = collect_report(led)
    monkeypatch.undo()
    assert (got.top, got.totals, got.by_model) == (want.top, want.totals, want.by_model)
    led.close()
    memory.close()


def test_a_failed_ranking_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    led = SQLiteLedger(tmp_path / "ledger.db")
    for rec in records(50):
        led.record(rec)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ranking failed")

    monkeypatch.setattr(views, "_top_groups", broken)
    with pytest.raises(RuntimeError, match="ranking failed"):
        collect_report(led)
    led.close()


@pytest.mark.parametrize("n", [0, 1, 2, 600])
def test_the_split_overview_is_the_overview(tmp_path: Path, n: int) -> None:
    """A whole SQLite file's overview is read in two halves of its rowids, on two
    connections: the same numbers as the Python reference, whatever the size."""
    led = SQLiteLedger(tmp_path / "ledger.db")
    reference = MemoryLedger()
    for rec in records()[:n]:
        led.record(rec)
        reference.record(rec)
    assert views.overview(led).to_dict() == views.overview(reference).to_dict()
    led.close()


def test_a_window_around_every_row_reads_the_table_straight(tmp_path: Path) -> None:
    """A window that holds every row (the dashboard's "90 days" on a young ledger) gives
    the numbers of no window, read without the ts index; a narrower one keeps its bounds."""
    led = SQLiteLedger(tmp_path / "ledger.db")
    memory = MemoryLedger()
    for rec in records():
        led.record(rec)
        memory.record(rec)
    around = {"since": T0 - timedelta(days=400), "until": T0 + timedelta(days=400)}
    inside = {"since": T0 + timedelta(days=2)}
    assert views.overview(led, **around) == views.overview(led) == views.overview(memory)
    assert views.overview(led, **inside) == views.overview(memory, **inside)
    assert views.overview(led, **inside).totals.requests < views.overview(led).totals.requests
    data, series = views.overview_over_time(led, "day", **around)
    assert data == views.overview(memory)
    assert series == views.timeseries(memory, "day", **around)
    seen: list[str] = []
    led._connection().set_trace_callback(seen.append)
    views.overview(led, **around)
    led._connection().set_trace_callback(None)
    assert seen and not any("INDEXED BY aigate_ledger_ts_idx" in s for s in seen), seen
    led.close()
