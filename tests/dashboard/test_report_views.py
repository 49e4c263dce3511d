"""The report views of `aigate.ledger._reports` (overview, breakdown, time series, request
log): the SQL on SQLite and PostgreSQL gives the same numbers as the public `summary`,
`totals` and `top_spenders` (what ``gw.usage.*`` returns) and as the Python reference on
the memory ledger, and refusals are never counted as calls or errors."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from aigate.ledger import BaseLedger, LedgerRecord, MemoryLedger, SQLiteLedger, open_ledger
from aigate.ledger import _reports as views
from aigate.ledger._record import _STATUSES

UTC = timezone.utc
T0 = datetime(2024, 5, 1, tzinfo=UTC)
WINDOW = {"since": T0 + timedelta(days=1), "until": T0 + timedelta(days=4)}


def records(n: int = 500) -> list[LedgerRecord]:
    rnd = random.Random(3)
    out = []
    for i in range(n):
        out.append(
            LedgerRecord(
                id=f"r{i:04d}",
                ts=T0 + timedelta(minutes=13 * i),
                provider=rnd.choice(["openai", "anthropic"]),
                model=rnd.choice(["gpt-4o-mini", "claude-haiku-4-5", None]),
                user=rnd.choice(["ana", "bo", "chen"]),
                prompt_tokens=rnd.randint(1, 100),
                completion_tokens=rnd.randint(1, 50),
                cached_tokens=rnd.randint(0, 3),
                cost_nano=None if i % 37 == 0 else rnd.randint(1, 10**6),
                saved_nano=1000 if i % 7 == 0 else None,
                latency_ms=rnd.random() * 1000,
                ttft_ms=rnd.random() * 100 if i % 3 == 0 else None,
                status="error" if i % 11 == 0 else "ok",
                cached=i % 7 == 0,
                stream=i % 3 == 0,
                attempts=[{"provider": "openai", "status_code": 503}] * (2 if i % 13 == 0 else 1),
                metadata={"team": rnd.choice("xyz")},
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


def test_overview_totals_equal_totals(ledger: BaseLedger) -> None:
    o = views.overview(ledger, **WINDOW)
    assert o.totals == ledger.totals(**WINDOW)
    assert o.totals.requests == 333 and o.refused == 0
    inside = ledger.query(**WINDOW)
    assert o.failovers == sum(len(r.attempts) > 1 for r in inside)
    assert o.streams == sum(r.stream for r in inside)
    assert o.tokens["cached_tokens"] == sum(r.cached_tokens for r in inside)
    assert o.cache_hit_rate == o.totals.cache_hits / o.totals.requests


def test_overview_is_the_same_on_every_backend(ledger: BaseLedger) -> None:
    reference = MemoryLedger()
    for rec in records():
        reference.record(rec)
    got, want = views.overview(ledger, **WINDOW), views.overview(reference, **WINDOW)
    assert got.to_dict() == want.to_dict()
    assert got.latency_ms["p99"] is not None and got.ttft_ms["p50"] is not None


def test_overview_of_an_empty_window(ledger: BaseLedger) -> None:
    o = views.overview(ledger, since=T0 - timedelta(days=9), until=T0 - timedelta(days=8))
    assert o.totals.requests == 0 and o.totals.cost_nano == 0
    assert o.latency_ms == {"p50": None, "p90": None, "p95": None, "p99": None}
    assert o.failover_rate == 0.0 and o.cache_hit_rate == 0.0


@pytest.mark.parametrize("by", ["model", "user", "provider", "meta:team", "day", "key"])
def test_breakdown_equals_summary_and_top_spenders(ledger: BaseLedger, by: str) -> None:
    assert views.breakdown(ledger, by, **WINDOW) == ledger.summary(group_by=[by], **WINDOW)
    assert views.breakdown(ledger, by, top=2, **WINDOW) == ledger.top_spenders(by, 2, **WINDOW)


def test_breakdown_filters(ledger: BaseLedger) -> None:
    where = {"provider": "openai", "meta:team": "x"}
    got = views.breakdown(ledger, "model", where=where, **WINDOW)
    assert got == ledger.summary(group_by=["model"], where=where, **WINDOW)
    assert sum(r.requests for r in got) < 333


def test_timeseries_has_the_counts_of_summary(ledger: BaseLedger) -> None:
    got = views.timeseries(ledger, "day", by="model", **WINDOW)
    want = ledger.summary(group_by=["day", "model"], **WINDOW)
    drop = {"latency_p50_ms": None, "latency_p95_ms": None}
    assert [r.to_dict() for r in got] == [{**r.to_dict(), **drop} for r in want]
    with pytest.raises(ValueError, match="bucket"):
        views.timeseries(ledger, "week")


def test_request_log_pages_through_everything_newest_first(ledger: BaseLedger) -> None:
    where = {"model": "gpt-4o-mini"}
    want = ledger.query(where=where, newest_first=True, **WINDOW)
    got: list[LedgerRecord] = []
    cursor = None
    while True:
        page = views.requests_page(ledger, where=where, limit=7, cursor=cursor, **WINDOW)
        got += page.records
        if page.next is None:
            break
        cursor = page.next
    assert got == want and len(want) > 14
    errors = views.requests_page(ledger, where={"status": "error"}, limit=1000)
    assert {r.status for r in errors.records} == {"error"} and errors.next is None


def test_request_log_refuses_bad_arguments(ledger: BaseLedger) -> None:
    with pytest.raises(ValueError, match="cursor"):
        views.requests_page(ledger, cursor="not-a-cursor")
    with pytest.raises(ValueError, match="limit"):
        views.requests_page(ledger, limit=0)


def test_call_returns_the_record_with_its_attempts(ledger: BaseLedger) -> None:
    rec = views.call(ledger, "r0013")
    assert rec is not None and len(rec.attempts) == 2
    assert views.call(ledger, "nope") is None


def test_indexes_are_created_once_and_used(tmp_path: Path) -> None:
    led = SQLiteLedger(tmp_path / "l.db")
    views.ensure_indexes(led)
    views.ensure_indexes(led)
    names = {
        row[0]
        for row in led._connection().execute("SELECT name FROM sqlite_master WHERE type='index'")
    }
    assert {"aigate_ledger_latency_ts_idx", "aigate_ledger_ttft_ts_idx"} <= names
    plan = led._connection().execute(
        "EXPLAIN QUERY PLAN SELECT latency_ms FROM aigate_ledger WHERE ts >= '' "
        "AND status <> 'refused' ORDER BY latency_ms LIMIT 1 OFFSET 5"
    )
    assert "latency_ts_idx" in " ".join(str(r) for r in plan)
    led.close()


@pytest.mark.skipif("refused" not in _STATUSES, reason="the ledger does not record refusals yet")
def test_refusals_are_counted_apart(ledger: BaseLedger) -> None:
    for i in range(3):
        ledger.record(
            LedgerRecord(
                id=f"refused-{i}", ts=T0 + timedelta(days=2), status="refused", error_class="budget"
            )
        )
    o = views.overview(ledger, **WINDOW)
    assert o.refused == 3
    # unpriced: answered calls without a cost (one of the nine cost-less rows is an error)
    assert o.totals.requests == 333 and o.totals.errors == 30 and o.totals.unpriced == 8
    # The same rules as summary(): refusals are calls only in a report on ``status``.
    assert o.totals == ledger.totals(**WINDOW)
    assert views.breakdown(ledger, "model", **WINDOW) == ledger.summary(
        group_by=["model"], **WINDOW
    )
    only = {"status": "refused"}
    assert views.breakdown(ledger, "model", where=only, **WINDOW) == ledger.summary(
        group_by=["model"], where=only, **WINDOW
    )
    assert views.overview(ledger, where=only, **WINDOW).totals.requests == 3
    page = views.requests_page(ledger, where=only)
    assert [r.id for r in page.records] == ["refused-2", "refused-1", "refused-0"]


def test_report_views_are_the_report_of_summary(ledger: BaseLedger) -> None:
    got = views.report_views(ledger, **WINDOW)
    assert got.bucket == "day" and got.overview.totals == ledger.totals(**WINDOW)
    assert got.by_model == ledger.summary(group_by=["model"], **WINDOW)
    drop = {"latency_p50_ms": None, "latency_p95_ms": None}
    for rows, want in (
        (got.by_project, ledger.summary(group_by=["project"], **WINDOW)),
        (got.top, ledger.top_spenders("user", 10, **WINDOW)),
        (got.over_time, ledger.summary(group_by=["day", "provider"], **WINDOW)),
    ):
        assert [r.to_dict() for r in rows] == [{**w.to_dict(), **drop} for w in want]
    one_day = views.report_views(ledger, since=T0 + timedelta(days=1), until=T0 + timedelta(days=2))
    assert one_day.bucket == "hour"


def test_without_the_indexes_the_views_sort_and_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database where the indexes cannot be created (read-only, or an older schema).
    monkeypatch.setattr(views, "INDEXES", ("CREATE INDEX IF NOT EXISTS {t}_x ON nowhere (x)",))
    led = SQLiteLedger(tmp_path / "plain.db")
    reference = MemoryLedger()
    for rec in records():
        led.record(rec)
        reference.record(rec)
    assert views.overview(led).to_dict() == views.overview(reference).to_dict()
    assert views.breakdown(led, "model") == reference.summary(group_by=["model"])
    led.close()
