"""Every call the gateway makes leaves exactly one ledger record, whatever its outcome."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import aigate
from aigate.pricing import to_nano
from aigate.testing import FakeTransport, error, reply

HI = [{"role": "user", "content": "Hi"}]


def gateway(make_gateway: Any, script: list[Any], ledger: str = "memory://", **extra: Any) -> Any:
    return make_gateway(
        providers={"openai": {"api_keys": ["sk-test"]}, "groq": {"api_keys": ["gsk-test"]}},
        routes={"r": ["groq/openai/gpt-oss-20b", "openai/gpt-4o-mini"]},
        ledger=ledger,
        transport=FakeTransport(script),
        **extra,
    )


def records(gw: Any) -> list[Any]:
    return list(gw.gw._core.ledger.query())


class TestOneRecordPerCall:
    def test_success_after_failover(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, [error(500), reply("ok")])
        r = gw.chat(model="r", messages=HI, user="u1", metadata={"project": "acme", "org": "o"})
        (rec,) = records(gw)
        assert rec.id == r.gateway.call_id
        assert (rec.status, rec.route, rec.provider, rec.model) == (
            "ok",
            "r",
            "openai",
            "gpt-4o-mini",
        )
        assert (rec.user, rec.project, rec.org) == ("u1", "acme", "o")
        assert rec.prompt_tokens == r.usage.prompt_tokens
        assert rec.cost_nano == to_nano(r.gateway.cost_usd)
        assert [a["status_code"] for a in rec.attempts] == [500, 200]
        assert rec.provider_key_id == r.gateway.key_id
        assert "sk-test" not in repr(rec)

    def test_all_targets_failed_is_recorded(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, [error(500), error(503)])
        with pytest.raises(aigate.AllTargetsFailed):
            gw.chat(model="r", messages=HI)
        (rec,) = records(gw)
        assert (rec.status, rec.error_type, rec.cost_nano) == ("error", "AllTargetsFailed", None)
        assert len(rec.attempts) == 2

    def test_bad_input_leaves_no_record(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, [])
        with pytest.raises(aigate.InvalidRequestError):
            gw.chat(model="r", messages=[])
        assert records(gw) == []

    def test_stream_records_once_when_it_ends(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, [reply("a b c")])
        _, stream = gw.stream(model="openai/gpt-4o-mini", messages=HI)
        (rec,) = records(gw)
        assert rec.stream and rec.status == "ok"
        assert rec.cost_nano == to_nano(stream.gateway.cost_usd)
        assert rec.ttft_ms is not None

    def test_interrupted_stream_is_recorded_with_its_usage(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, [reply("one two three four", cut_after=3)])
        with pytest.raises(aigate.StreamInterrupted):
            gw.stream(model="openai/gpt-4o-mini", messages=HI)
        (rec,) = records(gw)
        assert rec.status == "error" and rec.estimated
        assert rec.completion_tokens > 0 and rec.cost_nano and rec.cost_nano > 0

    def test_cancelled_stream(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, [reply("a b c d e f g")])
        gw.stream(model="openai/gpt-4o-mini", messages=HI, limit=2)
        (rec,) = records(gw)
        assert rec.error_type == "cancelled"

    def test_embeddings(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, [])
        r = gw.embeddings(model="openai/text-embedding-3-small", input=["a b", "c"])
        (rec,) = records(gw)
        assert rec.kind == "embedding" and rec.prompt_tokens == r.usage.prompt_tokens
        assert rec.cost_nano == to_nano(r.gateway.cost_usd)


class TestDurabilityAndFailures:
    def test_sqlite_record_is_committed_before_return(
        self, make_gateway: Any, tmp_path: Path
    ) -> None:
        path = tmp_path / "ledger.db"
        gw = gateway(make_gateway, [], ledger=f"sqlite:///{path}")
        r = gw.chat(model="openai/gpt-4o-mini", messages=HI)
        with sqlite3.connect(path) as conn:  # another connection sees it at once
            rows = conn.execute("SELECT id FROM aigate_ledger").fetchall()
        assert rows == [(r.gateway.call_id,)]

    def test_ledger_failure_logs_by_default(self, make_gateway: Any, tmp_path: Path) -> None:
        gw = gateway(make_gateway, [], ledger=f"sqlite:///{tmp_path}/l.db")
        ledger = gw.gw._core.ledger
        ledger.inner.record = _boom
        ledger.inner.arecord = _aboom
        r = gw.chat(model="openai/gpt-4o-mini", messages=HI)  # the call still succeeds
        assert r.choices[0].message.content
        assert ledger.failures == 1

    def test_ledger_failure_can_raise(self, make_gateway: Any, tmp_path: Path) -> None:
        gw = gateway(make_gateway, [], ledger=f"sqlite:///{tmp_path}/l.db", ledger_errors="raise")
        ledger = gw.gw._core.ledger
        ledger.inner.record = _boom
        ledger.inner.arecord = _aboom
        with pytest.raises(OSError, match="disk full"):
            gw.chat(model="openai/gpt-4o-mini", messages=HI)


def _boom(rec: Any) -> None:
    raise OSError("disk full")


async def _aboom(rec: Any) -> None:
    raise OSError("disk full")


class TestReports:
    def test_summary_through_the_gateway(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, [reply("x"), reply("y y"), error(400)])
        for _ in range(2):
            gw.chat(model="openai/gpt-4o-mini", messages=HI, metadata={"project": "acme"})
        with pytest.raises(aigate.BadRequestError):
            gw.chat(model="openai/gpt-4o-mini", messages=HI, metadata={"project": "acme"})
        rows = gw._run(lambda: gw.gw.usage.summary(group_by=["project"]))
        (row,) = rows
        assert row.group == {"project": "acme"} and row.requests == 3 and row.errors == 1
        total = sum(r.cost_nano or 0 for r in records(gw))
        assert row.cost_nano == total
        assert row.cost_usd == Decimal(total) / Decimal(10**9)

    def test_reports_need_a_ledger(self) -> None:
        gw = aigate.Gateway(providers={"openai": {"api_keys": ["k"]}})
        with pytest.raises(aigate.ConfigurationError, match="ledger"):
            gw.usage.summary()
        gw.close()

    def test_models_browser(self) -> None:
        gw = aigate.Gateway(
            providers={
                "openai": {"api_keys": ["k"]},
                "local": {"kind": "openai", "base_url": "http://h/v1"},
            },
            routes={"fast": ["openai/gpt-4o-mini"]},
            prices={"local/llama3": {"input_per_million": "0", "output_per_million": "0"}},
        )
        assert gw.models.routes() == {"fast": ["openai/gpt-4o-mini"]}
        found = gw.models.search(provider="local", text="llama3")
        assert [(m.provider, m.model) for m in found] == [("local", "llama3")]
        assert all(m.provider in {"openai", "local"} for m in gw.models.list())
        vision = gw.models.search(provider="openai", capability="vision", min_context=100_000)
        assert vision and all("vision" in m.capabilities for m in vision)
        gw.close()
