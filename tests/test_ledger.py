"""The ledger: one conformance suite run against every backend, plus backend-specific tests."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aigate import ConfigurationError
from aigate.ledger import (
    BaseLedger,
    Ledger,
    LedgerReader,
    LedgerRecord,
    MemoryLedger,
    SafeLedger,
    SQLiteLedger,
    SummaryRow,
    open_ledger,
    to_csv,
    to_json,
)
from aigate.ledger._sql import SQLITE

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATEST = len(SQLITE.migrations)


def rec(id: str, ts: datetime = T0, **fields: Any) -> LedgerRecord:
    fields.setdefault("latency_ms", 10.0)
    return LedgerRecord(id=id, ts=ts, **fields)


def full_record() -> LedgerRecord:
    """A record with every field set to a non-default value."""
    return LedgerRecord(
        id="req-full",
        ts=datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC),
        kind="embedding",
        org="o1",
        project="p1",
        user="u1",
        virtual_key="vk_1",
        route="smart",
        provider="openai",
        model="gpt-4o-mini",
        provider_key_id="k#ab12",
        prompt_tokens=1,
        completion_tokens=2,
        cached_tokens=3,
        cache_write_tokens=4,
        cache_write_1h_tokens=5,
        reasoning_tokens=6,
        audio_input_tokens=7,
        audio_output_tokens=8,
        cost_nano=9_000_000_000_123,
        saved_nano=10,
        latency_ms=11.5,
        ttft_ms=1.25,
        status="error",
        error_class="transient",
        error_type="RateLimitError",
        cached=True,
        estimated=True,
        stream=True,
        attempts=({"provider": "openai", "status_code": 429, "latency_ms": 3.5, "error": None},),
        metadata={"team": "search", "env": "prod"},
    )


def make_ledger(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> BaseLedger:
    if kind == "memory":
        return MemoryLedger()
    if kind == "sqlite":
        return SQLiteLedger(tmp_path / "ledger.db")
    if kind == "postgres":
        from aigate.ledger import PostgresLedger

        return PostgresLedger(request.getfixturevalue("postgres_dsn"))
    from aigate.ledger import RedisLedger

    return RedisLedger(request.getfixturevalue("redis_url"))


BACKENDS = [
    pytest.param("memory"),
    pytest.param("sqlite"),
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]


@pytest.fixture(params=BACKENDS)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseLedger]:
    led = make_ledger(request.param, request, tmp_path)
    yield led
    led.close()


# -- the record ------------------------------------------------------------------------


class TestLedgerRecord:
    def test_dict_round_trip(self) -> None:
        """to_dict is JSON-serialisable and from_dict restores an equal record."""
        r = full_record()
        assert LedgerRecord.from_dict(json.loads(json.dumps(r.to_dict()))) == r

    def test_timestamps_are_utc(self) -> None:
        """An aware non-UTC ts is converted to UTC; a naive one is refused."""
        r = rec("a", ts=datetime(2024, 5, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))))
        assert r.ts == datetime(2024, 4, 30, 23, 0, tzinfo=UTC) and r.ts.tzinfo is UTC
        with pytest.raises(ValueError, match="timezone-aware"):
            LedgerRecord(id="b", ts=datetime(2024, 5, 1))

    def test_validates_status_and_copies_mappings(self) -> None:
        """Status is 'ok' or 'error'; metadata is copied and its values made strings."""
        with pytest.raises(ValueError, match="status"):
            rec("a", status="failed")
        meta: dict[str, Any] = {"n": 3}
        r = rec("a", metadata=meta)
        meta["n"] = 4
        assert r.metadata == {"n": "3"}

    def test_summary_row_money(self) -> None:
        """cost_usd is exact and error_rate handles an empty row."""
        row = SummaryRow(group={}, requests=4, errors=1, cost_nano=123, saved_nano=5)
        assert row.cost_usd == Decimal("0.000000123") and row.saved_usd == Decimal("5E-9")
        assert row.error_rate == 0.25
        assert SummaryRow(group={}).error_rate == 0.0


# -- conformance: every backend --------------------------------------------------------


class TestConformance:
    def test_protocols(self, ledger: BaseLedger) -> None:
        """Every backend is both a Ledger and a LedgerReader."""
        assert isinstance(ledger, Ledger) and isinstance(ledger, LedgerReader)

    def test_record_and_get(self, ledger: BaseLedger) -> None:
        """Every field survives storage, including microseconds, JSON fields and None cost."""
        full = full_record()
        bare = LedgerRecord(id="req-bare", ts=T0)
        ledger.record(full)
        ledger.record(bare)
        assert ledger.get("req-full") == full
        assert ledger.get("req-bare") == bare
        assert ledger.get("missing") is None

    def test_idempotent(self, ledger: BaseLedger) -> None:
        """Recording an id twice keeps one row: the first."""
        ledger.record(rec("dup", model="first"))
        ledger.record(rec("dup", model="second"))
        assert [r.model for r in ledger.query()] == ["first"]

    def test_query_filters(self, ledger: BaseLedger) -> None:
        """since is inclusive, until exclusive; where pairs all apply; limit and order work."""
        for i in range(6):
            ledger.record(
                rec(
                    f"r{i}",
                    ts=T0 + timedelta(hours=i),
                    user="u1" if i % 2 else "u2",
                    virtual_key=f"vk{i % 3}",
                    metadata={"team": "a" if i < 3 else "b"},
                )
            )
        ids = lambda rs: [r.id for r in rs]  # noqa: E731
        assert ids(ledger.query()) == [f"r{i}" for i in range(6)]
        assert ids(ledger.query(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3))) == [
            "r1",
            "r2",
        ]
        assert ids(ledger.query(where={"user": "u1"})) == ["r1", "r3", "r5"]
        assert ids(ledger.query(where={"user": "u1", "meta:team": "b"})) == ["r3", "r5"]
        assert ids(ledger.query(where={"key": "vk0"})) == ["r0", "r3"]
        assert ids(ledger.query(where={"meta:missing": "x"})) == []
        assert ids(ledger.query(limit=2)) == ["r0", "r1"]
        assert ids(ledger.query(limit=2, newest_first=True)) == ["r5", "r4"]
        assert ids(ledger.query(where={"user": "u2"}, limit=1, newest_first=True)) == ["r4"]
        assert ids(ledger.query(since=date(2024, 5, 2))) == []
        with pytest.raises(ValueError, match="timezone-aware"):
            ledger.query(since=datetime(2024, 5, 1))
        with pytest.raises(ValueError, match="unknown where key"):
            ledger.query(where={"colour": "red"})

    def test_summary_by_day_across_utc_midnight(self, ledger: BaseLedger) -> None:
        """Days, hours and months are UTC, whatever offset the record's ts was given in."""
        plus2 = timezone(timedelta(hours=2))
        minus5 = timezone(timedelta(hours=-5))
        ledger.record(rec("a", ts=datetime(2024, 4, 30, 23, 59, 59, 999999, tzinfo=UTC)))
        ledger.record(rec("b", ts=datetime(2024, 5, 1, 0, 0, tzinfo=UTC)))
        ledger.record(rec("c", ts=datetime(2024, 5, 1, 1, 30, tzinfo=plus2)))  # 04-30 23:30Z
        ledger.record(rec("d", ts=datetime(2024, 5, 1, 23, 0, tzinfo=minus5)))  # 05-02 04:00Z
        by_day = {r.group["day"]: r.requests for r in ledger.summary(group_by=["day"])}
        assert by_day == {"2024-04-30": 2, "2024-05-01": 1, "2024-05-02": 1}
        by_hour = {r.group["hour"]: r.requests for r in ledger.summary(group_by=["hour"])}
        assert by_hour == {"2024-04-30T23:00": 2, "2024-05-01T00:00": 1, "2024-05-02T04:00": 1}
        by_month = [(r.group["month"], r.requests) for r in ledger.summary(group_by=["month"])]
        assert by_month == [("2024-04", 2), ("2024-05", 2)]
        # A date bound is midnight UTC: "b" is exactly on it.
        assert ledger.totals(since=date(2024, 5, 1)).requests == 2
        assert ledger.totals(until=date(2024, 5, 1)).requests == 2

    def test_summary_by_model_and_meta(self, ledger: BaseLedger) -> None:
        """Groups are ordered (None first), totals are per group, empty groups are absent."""
        ledger.record(rec("1", model="m-b", prompt_tokens=10, completion_tokens=1, cost_nano=100))
        ledger.record(rec("2", model="m-a", prompt_tokens=20, cost_nano=200, metadata={"t": "x"}))
        ledger.record(rec("3", model="m-b", status="error", cached=True, metadata={"t": "y"}))
        ledger.record(rec("4", model="m-b", reasoning_tokens=5, cached_tokens=2, cost_nano=1))
        rows = ledger.summary(group_by=["model"])
        assert [r.group for r in rows] == [{"model": "m-a"}, {"model": "m-b"}]
        b = rows[1]
        assert (b.requests, b.errors, b.cache_hits) == (3, 1, 1)
        assert (b.prompt_tokens, b.completion_tokens, b.cached_tokens, b.reasoning_tokens) == (
            10,
            1,
            2,
            5,
        )
        assert (b.cost_nano, b.unpriced) == (101, 0)  # the failed call was not billed (14.21)
        assert b.error_rate == pytest.approx(1 / 3)
        by_tag = [(r.group["meta:t"], r.requests) for r in ledger.summary(group_by=["meta:t"])]
        assert by_tag == [(None, 2), ("x", 1), ("y", 1)]
        two = ledger.summary(group_by=["meta:t", "model"], where={"model": "m-b"})
        assert [tuple(r.group.values()) for r in two] == [(None, "m-b"), ("y", "m-b")]
        assert ledger.summary(group_by=["model"], since=date(2030, 1, 1)) == []
        with pytest.raises(ValueError, match="unknown group_by"):
            ledger.summary(group_by=["weekday"])

    def test_latency_percentiles(self, ledger: BaseLedger) -> None:
        """p50/p95 interpolate between closest ranks (percentile_cont), by hand."""
        for i, ms in enumerate([40.0, 10.0, 100.0, 30.0, 20.0]):
            ledger.record(rec(f"a{i}", route="a", latency_ms=ms))
        ledger.record(rec("b0", route="b", latency_ms=7.0))
        ledger.record(rec("c0", route="c", latency_ms=3.0))
        ledger.record(rec("c1", route="c", latency_ms=1.0))
        rows = {r.group["route"]: r for r in ledger.summary(group_by=["route"])}
        # a: sorted 10,20,30,40,100. p50: rank 2 -> 30. p95: rank 3.8 -> 40 + 0.8 * 60 = 88.
        assert rows["a"].latency_p50_ms == pytest.approx(30.0)
        assert rows["a"].latency_p95_ms == pytest.approx(88.0)
        assert (rows["b"].latency_p50_ms, rows["b"].latency_p95_ms) == (7.0, 7.0)
        # c: 1, 3. p50: rank 0.5 -> 2. p95: rank 0.95 -> 1 + 0.95 * 2 = 2.9.
        assert rows["c"].latency_p50_ms == pytest.approx(2.0)
        assert rows["c"].latency_p95_ms == pytest.approx(2.9)
        total = ledger.totals()
        # all 8: 1,3,7,10,20,30,40,100. p50: rank 3.5 -> 15. p95: rank 6.65 -> 40 + .65*60 = 79.
        assert total.latency_p50_ms == pytest.approx(15.0)
        assert total.latency_p95_ms == pytest.approx(79.0)

    def test_unpriced_is_not_zero(self, ledger: BaseLedger) -> None:
        """cost sums priced rows only; unpriced counts the rest; saved and estimated add up."""
        ledger.record(rec("1", user="u", cost_nano=None, estimated=True))
        ledger.record(rec("2", user="u", cost_nano=None))
        ledger.record(rec("3", user="v", cost_nano=0, cached=True, saved_nano=500))
        ledger.record(rec("4", user="v", cost_nano=250, saved_nano=None))
        assert ledger.get("1") is not None and ledger.get("1").cost_nano is None  # type: ignore[union-attr]
        rows = {r.group["user"]: r for r in ledger.summary(group_by=["user"])}
        assert (rows["u"].cost_nano, rows["u"].unpriced, rows["u"].estimated) == (0, 2, 1)
        assert (rows["v"].cost_nano, rows["v"].unpriced, rows["v"].saved_nano) == (250, 0, 500)
        total = ledger.totals()
        assert (total.requests, total.cost_nano, total.unpriced, total.cache_hits) == (4, 250, 2, 1)
        assert total.cost_usd == Decimal("0.00000025")

    def test_totals_and_top_spenders(self, ledger: BaseLedger) -> None:
        """totals is one row (zeros when empty); top_spenders orders by cost, keeps n."""
        assert ledger.totals() == SummaryRow(group={})
        for i, (user, cost) in enumerate(
            [("u1", 100), ("u2", 300), ("u3", None), ("u4", 50), ("u2", 1)]
        ):
            ledger.record(rec(f"r{i}", user=user, virtual_key=f"k-{user}", cost_nano=cost))
        top = ledger.top_spenders("user", n=2)
        assert [(r.group["user"], r.cost_nano, r.requests) for r in top] == [
            ("u2", 301, 2),
            ("u1", 100, 1),
        ]
        assert [r.group["key"] for r in ledger.top_spenders(by="key", n=10)] == [
            "k-u2",
            "k-u1",
            "k-u4",
            "k-u3",
        ]
        assert ledger.totals(where={"user": "u2"}).cost_nano == 301
        with pytest.raises(ValueError):
            ledger.top_spenders("user", n=0)

    def test_export_round_trip(self, ledger: BaseLedger) -> None:
        """CSV and JSON exports carry every value; Decimal amounts are strings."""
        ledger.record(rec("1", model="m", cost_nano=1500, latency_ms=12.5, metadata={"t": "x"}))
        ledger.record(rec("2", model=None, cost_nano=None))
        rows = ledger.summary(group_by=["model", "meta:t"])
        data = json.loads(to_json(rows))
        assert [SummaryRow.from_dict(d) for d in data] == rows
        assert data[1]["cost_usd"] == "0.000001500"
        buf = io.StringIO(newline="")
        to_csv(rows, buf)
        buf.seek(0)
        parsed = list(csv.DictReader(buf))
        assert parsed[0]["model"] == "" and parsed[1]["model"] == "m"
        assert parsed[1]["meta:t"] == "x" and parsed[1]["cost_usd"] == "0.000001500"
        for row, line in zip(rows, parsed, strict=True):
            for name in ("requests", "cost_nano", "unpriced", "latency_p50_ms"):
                assert line[name] == str(getattr(row, name))
        records = ledger.query()
        assert [LedgerRecord.from_dict(d) for d in json.loads(to_json(records))] == records
        buf = io.StringIO(newline="")
        to_csv(records, buf)
        buf.seek(0)
        assert [line["id"] for line in csv.DictReader(buf)] == ["1", "2"]

    def test_async_path(self, ledger: BaseLedger) -> None:
        """arecord and the async readers match the sync ones."""

        async def main() -> tuple[Any, ...]:
            await ledger.arecord(rec("a1", user="u", cost_nano=5, latency_ms=2.0))
            await ledger.arecord(rec("a1", user="other"))
            await asyncio.gather(*(ledger.arecord(rec(f"g{i}", user="w")) for i in range(5)))
            got = await ledger.aget("a1")
            rows = await ledger.asummary(group_by=["user"])
            found = await ledger.aquery(where={"user": "w"}, limit=2)
            total = await ledger.atotals()
            top = await ledger.atop_spenders("user", n=1)
            await ledger.aclose()
            return got, rows, found, total, top

        got, rows, found, total, top = asyncio.run(main())
        assert got == rec("a1", user="u", cost_nano=5, latency_ms=2.0)
        assert [(r.group["user"], r.requests) for r in rows] == [("u", 1), ("w", 5)]
        assert [r.id for r in found] == ["g0", "g1"]
        assert total.requests == 6 and [r.group["user"] for r in top] == ["u"]
        # Closed ledgers reopen on the next call, sync or async.
        assert ledger.get("a1") == got
        assert ledger.summary(group_by=["user"]) == rows


# -- SQLite ------------------------------------------------------------------------------


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT version FROM aigate_schema_version WHERE component = 'aigate_ledger'"
        ).fetchone()
    conn.close()
    return int(row[0])


class TestSQLite:
    def test_wal_and_schema_version(self, tmp_path: Path) -> None:
        """A new file is in WAL mode at the latest schema version."""
        path = tmp_path / "sub" / "l.db"
        SQLiteLedger(path).close()
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
        assert _version(path) == LATEST == 3

    def test_migrates_a_version_1_file(self, tmp_path: Path) -> None:
        """A file written by schema 1 is migrated on open; old rows read with zero defaults."""
        path = tmp_path / "old.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("CREATE TABLE aigate_schema_version (component TEXT PRIMARY KEY, version INT)")
        conn.execute("INSERT INTO aigate_schema_version VALUES ('aigate_ledger', 1)")
        for statement in SQLITE.migrations[0]:
            conn.execute(statement.format(t="aigate_ledger"))
        conn.execute(
            "INSERT INTO aigate_ledger (id, ts, kind, prompt_tokens, cost_nano, latency_ms,"
            " status, cached, estimated, stream, metadata)"
            " VALUES ('old', '2024-01-02T03:04:05.000006', 'chat', 7, 70, 1.5, 'ok', 0, 0, 0,"
            ' \'{"t": "x"}\')'
        )
        conn.close()
        with SQLiteLedger(path) as led:
            old = led.get("old")
            assert old == LedgerRecord(
                id="old",
                ts=datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
                prompt_tokens=7,
                cost_nano=70,
                latency_ms=1.5,
                metadata={"t": "x"},
            )
            led.record(full_record())
            assert led.get("req-full") == full_record()
        assert _version(path) == LATEST

    def test_refuses_a_newer_schema(self, tmp_path: Path) -> None:
        """A file from a newer aigate is not written with an older schema."""
        path = tmp_path / "new.db"
        SQLiteLedger(path).close()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("UPDATE aigate_schema_version SET version = 99")
        conn.close()
        with pytest.raises(ConfigurationError, match="schema version 99"):
            SQLiteLedger(path)

    def test_bad_options(self, tmp_path: Path) -> None:
        """Table names are identifiers and synchronous is a SQLite level."""
        with pytest.raises(ConfigurationError) as info:
            SQLiteLedger(tmp_path / "l.db", table="x; DROP TABLE y")
        assert info.value.field == "ledger.table"
        with pytest.raises(ConfigurationError):
            SQLiteLedger(tmp_path / "l.db", synchronous="sometimes")

    def test_sigkill_loses_no_returned_record(self, tmp_path: Path) -> None:
        """Every record whose record() returned before a SIGKILL is in the file afterwards."""
        path = tmp_path / "kill.db"
        code = textwrap.dedent(
            """
            import sys
            from aigate.ledger import LedgerRecord, SQLiteLedger
            ledger = SQLiteLedger(sys.argv[1])
            for i in range(10**9):
                ledger.record(LedgerRecord(id=f"r{i}", latency_ms=1.0, metadata={"i": str(i)}))
                print(i, flush=True)
            """
        )
        returned = []
        with subprocess.Popen(
            [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
        ) as child:
            assert child.stdout is not None
            for line in child.stdout:
                returned.append(int(line))
                if len(returned) == 300:
                    os.kill(child.pid, signal.SIGKILL)
                    break
            returned += [int(line) for line in child.stdout]  # printed before the kill landed
        assert child.returncode == -signal.SIGKILL
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT id FROM aigate_ledger")}
        conn.close()
        assert {f"r{i}" for i in returned} <= stored
        assert len(stored) <= len(returned) + 1  # at most the one in flight


# -- PostgreSQL --------------------------------------------------------------------------


@pytest.mark.postgres
class TestPostgres:
    def test_custom_table_and_idempotent_migration(self, postgres_dsn: str) -> None:
        """A configured table is created once; reopening or racing opens changes nothing."""
        import psycopg

        from aigate.ledger import PostgresLedger

        ledgers = [PostgresLedger(postgres_dsn, table="usage_log") for _ in range(3)]
        for i, led in enumerate(ledgers):
            led.record(rec(f"r{i}"))
        assert len(ledgers[0].query()) == 3
        for led in ledgers:
            led.close()
        with psycopg.connect(postgres_dsn) as conn:
            version = conn.execute(
                "SELECT version FROM aigate_schema_version WHERE component = 'usage_log'"
            ).fetchone()
            assert version == (LATEST,)
            assert conn.execute("SELECT count(*) FROM usage_log").fetchone() == (3,)
        assert "usage_log" in repr(ledgers[0]) and "postgresql" not in repr(ledgers[0])

    def test_async_connection_follows_the_event_loop(self, postgres_dsn: str) -> None:
        """A second asyncio.run gets a new async connection; the old one is closed."""
        from aigate.ledger import PostgresLedger

        led = PostgresLedger(postgres_dsn)
        asyncio.run(led.arecord(rec("one")))
        first = led._aconn
        asyncio.run(led.arecord(rec("two")))
        assert first.closed and led._aconn is not first
        asyncio.run(led.aclose())
        assert [r.id for r in led.query()] == ["one", "two"]
        led.close()


# -- open_ledger and SafeLedger ----------------------------------------------------------


class TestOpenLedger:
    def test_schemes(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """memory:// and sqlite:/// (relative and absolute) open the right backend."""
        monkeypatch.chdir(tmp_path)
        assert isinstance(open_ledger("memory://"), MemoryLedger)
        rel = open_ledger("sqlite:///data/rel.db")
        assert isinstance(rel, SQLiteLedger) and (tmp_path / "data" / "rel.db").exists()
        rel.close()
        absolute = open_ledger(f"sqlite:///{tmp_path}/abs.db", table="calls")
        assert isinstance(absolute, SQLiteLedger) and absolute.path == f"{tmp_path}/abs.db"
        absolute.close()

    @pytest.mark.postgres
    def test_postgres_scheme(self, postgres_dsn: str) -> None:
        """postgres:// is accepted as well as postgresql://."""
        from aigate.ledger import PostgresLedger

        led = open_ledger(postgres_dsn.replace("postgresql://", "postgres://", 1))
        assert isinstance(led, PostgresLedger)
        led.record(rec("x"))
        assert led.get("x") is not None
        led.close()

    @pytest.mark.redis
    def test_redis_scheme(self, redis_url: str) -> None:
        """redis:// opens a RedisLedger."""
        from aigate.ledger import RedisLedger

        led = open_ledger(redis_url)
        assert isinstance(led, RedisLedger)
        led.close()

    @pytest.mark.parametrize("url", ["mysql://db/x", "sqlite://", "ledger.db", "memory:"])
    def test_unknown_scheme(self, url: str) -> None:
        """Anything else names the field and the accepted schemes."""
        with pytest.raises(ConfigurationError, match="postgresql://") as info:
            open_ledger(url)
        assert info.value.field == "ledger"


class _Broken:
    def record(self, rec: LedgerRecord) -> None:
        raise OSError("disk full")

    async def arecord(self, rec: LedgerRecord) -> None:
        raise OSError("disk full")


class TestSafeLedger:
    def test_log_counts_and_logs(self, caplog: pytest.LogCaptureFixture) -> None:
        """on_error='log' swallows, counts and logs under aigate.ledger."""
        safe = SafeLedger(_Broken(), on_error="log")
        with caplog.at_level(logging.ERROR, logger="aigate.ledger"):
            safe.record(rec("r1"))
            asyncio.run(safe.arecord(rec("r2")))
        assert safe.failures == 2
        assert [r.name for r in caplog.records] == ["aigate.ledger"] * 2
        assert "r1" in caplog.records[0].getMessage() and "OSError" in caplog.text

    def test_raise_counts_and_raises(self) -> None:
        """on_error='raise' re-raises the backend's error, still counting it."""
        safe = SafeLedger(_Broken(), on_error="raise")
        with pytest.raises(OSError, match="disk full"):
            safe.record(rec("r1"))
        assert safe.failures == 1
        with pytest.raises(ConfigurationError):
            SafeLedger(_Broken(), on_error="ignore")  # type: ignore[arg-type]

    def test_passes_through(self) -> None:
        """A healthy inner ledger records and reads through the wrapper."""
        safe = SafeLedger(MemoryLedger())
        safe.record(rec("r1", cost_nano=3))
        assert safe.get("r1") is not None and safe.totals().cost_nano == 3
        assert safe.failures == 0
        with pytest.raises(TypeError, match="cannot be read"):
            SafeLedger(_Broken()).query()


# -- many processes ----------------------------------------------------------------------

PROCESSES = 8
PER_PROCESS = 1000


def _write_many(url: str, worker: int) -> None:
    """Child process: one record per call, as real calls do."""
    ledger = open_ledger(url)
    base = datetime(2024, 5, 1, tzinfo=UTC)
    for i in range(PER_PROCESS):
        ledger.record(LedgerRecord(id=f"w{worker}-{i}", ts=base, latency_ms=1.0, cost_nano=1))
    ledger.close()


def _many_writers(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(url, w)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    with open_ledger(url) as ledger:
        total = ledger.totals()
        ids = {r.id for r in ledger.query()}
    expected = {f"w{w}-{i}" for w in range(PROCESSES) for i in range(PER_PROCESS)}
    assert ids == expected
    assert total.requests == total.cost_nano == PROCESSES * PER_PROCESS


@pytest.mark.slow
def test_many_processes_sqlite(tmp_path: Path) -> None:
    """8 processes x 1,000 records into one SQLite file: every record exactly once."""
    _many_writers(f"sqlite:///{tmp_path}/shared.db")


@pytest.mark.slow
@pytest.mark.postgres
def test_many_processes_postgres(postgres_dsn: str) -> None:
    """8 processes x 1,000 records into one PostgreSQL table: every record exactly once."""
    _many_writers(postgres_dsn)


# -- refused calls (issue 14 item 16) -------------------------------------------------------


def test_refused_rows_are_kept_but_not_counted_as_calls(ledger: BaseLedger) -> None:
    """A refused call is a row (status, reason, no cost, no tokens) on every backend;
    reports total the calls that were made unless they ask for ``status``."""
    ledger.record(LedgerRecord(id="ok", cost_nano=10, prompt_tokens=3, model="m"))
    ledger.record(
        LedgerRecord(
            id="no",
            status="refused",
            reason="budget:project:acme",
            error_type="BudgetExceeded",
            cost_nano=0,
            model="m",
        )
    )
    got = ledger.get("no")
    assert got is not None and got.status == "refused"
    assert got.reason == "budget:project:acme" and got.cost_nano == 0
    assert {r.id for r in ledger.query()} == {"ok", "no"}
    assert ledger.totals().requests == 1
    assert ledger.totals().unpriced == 0
    (row,) = ledger.summary(group_by=["status"], where={"status": "refused"})
    assert row.requests == 1 and row.cost_nano == 0
    assert [r.id for r in ledger.query(where={"status": "refused"})] == ["no"]


def test_clamped_max_tokens_round_trips(ledger: BaseLedger) -> None:
    ledger.record(LedgerRecord(id="c", max_tokens=123))
    got = ledger.get("c")
    assert got is not None and got.max_tokens == 123
