"""Prices that go stale (issue 13.8): the snapshot date, the staleness warning, the user
price file (`aigate prices update`), re-pricing unpriced ledger rows, and the models the
seeds named (older Claude, Groq Llama and Whisper, OpenRouter incl. ``:free``)."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

import aigate
from aigate import pricing
from aigate._cli_prices import register
from aigate._reprice import reprice
from aigate.ledger import LedgerRecord, open_ledger
from aigate.pricing import Catalog, staleness, write_user_prices


@pytest.fixture(autouse=True)
def _user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test has its own (absent) user price file; the default catalog is reloaded
    around it so no other test sees its prices."""
    path = tmp_path / "config" / "prices.json"
    monkeypatch.setenv("AIGATE_PRICES_FILE", str(path))
    monkeypatch.delenv("AIGATE_PRICES_MAX_AGE_DAYS", raising=False)
    Catalog.default(reload=True)
    yield path
    monkeypatch.setenv("AIGATE_PRICES_FILE", "")
    Catalog.default(reload=True)


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return int(args.run(args))


# -- snapshot date and staleness -------------------------------------------------------------


def test_packaged_catalog_has_its_snapshot_date() -> None:
    catalog = Catalog.default()
    meta = json.loads((Path(pricing.__file__).parent / "_data" / "catalog.json").read_text())
    assert catalog.snapshot_date == date.fromisoformat(meta["_meta"]["snapshot_date"])
    assert str(catalog.snapshot_date) in repr(catalog)
    assert catalog.with_overrides({"x/y": {"input": 0}}).snapshot_date == catalog.snapshot_date


def test_staleness(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = Catalog.from_dict({"_meta": {"snapshot_date": "2026-01-01"}, "a/b": {"input": 1}})
    assert catalog.age_days(date(2026, 4, 1)) == 90
    assert staleness(catalog, today=date(2026, 4, 1)) is None  # 90 days: not yet stale
    message = staleness(catalog, today=date(2026, 4, 2))
    assert message is not None and "91 days old" in message and "prices update" in message
    assert staleness(catalog, 0, today=date(2030, 1, 1)) is None  # 0: off
    assert staleness(catalog, 365, today=date(2026, 12, 1)) is None
    monkeypatch.setenv("AIGATE_PRICES_MAX_AGE_DAYS", "30")
    assert staleness(catalog, today=date(2026, 2, 15)) is not None
    assert staleness(Catalog.from_dict({"a/b": {}}), 1) is None  # undated: nothing to say


def test_stale_warning_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    old = (date.today() - timedelta(days=400)).isoformat()
    catalog = Catalog.from_dict({"_meta": {"snapshot_date": old}, "a/b": {"input": 1}})
    caplog.set_level(logging.WARNING, logger="aigate.pricing")
    assert pricing.warn_if_stale(catalog, 123) is not None
    assert pricing.warn_if_stale(catalog, 123) is not None
    assert [r.getMessage() for r in caplog.records].count(pricing.staleness(catalog, 123)) == 1


def test_prices_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("prices", "show") == 0
    out = capsys.readouterr().out
    assert str(Catalog.default().snapshot_date) in out and "days old" in out


# -- the user price file -----------------------------------------------------------------------


def test_update_writes_a_validated_file_the_catalog_merges(
    tmp_path: Path, _user_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert Catalog.default().get("local", "llama3") is None
    source = tmp_path / "new.json"
    source.write_text(
        json.dumps(
            {
                "_meta": {"snapshot_date": "2099-01-02"},
                "local/llama3": {"input": "0", "output": "0"},
                "openai/gpt-4o-mini": {"input_per_million": "0.2", "output_per_million": "0.7"},
            }
        )
    )
    assert _run("prices", "update", "--from", str(source)) == 0
    assert "wrote 2 model prices" in capsys.readouterr().out
    written = json.loads(_user_file.read_text())
    assert written["_meta"]["snapshot_date"] == "2099-01-02"
    catalog = Catalog.default()
    assert catalog.overrides_from == str(_user_file)
    assert catalog.snapshot_date == date(2099, 1, 2)  # the newer of the two
    local = catalog.get("local", "llama3")
    assert local is not None and local.price.input == 0
    mini = catalog.get("openai", "gpt-4o-mini")
    assert mini is not None and mini.price.input == D("0.0000002")
    # a gateway built now prices with it
    with aigate.Gateway(providers={"openai": {"api_keys": ["k"]}}) as gw:
        assert gw._core.catalog.get("openai", "gpt-4o-mini").price.output == D("0.0000007")
    assert [p.name for p in _user_file.parent.iterdir()] == ["prices.json"]  # no temp files


@pytest.mark.parametrize(
    "bad",
    [
        {"openai/gpt-4o-mini": {"input": "cheap"}},
        {"openai/gpt-4o-mini": {"colour": "blue"}},
        {"no-slash": {"input": 1}},
        {"openai/gpt-4o-mini": {"input": -1}},
        ["not", "an", "object"],
    ],
)
def test_a_bad_file_never_replaces_a_good_one(
    tmp_path: Path, _user_file: Path, bad: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    write_user_prices({"local/a": {"input": 1}}, source="test")
    before = _user_file.read_bytes()
    source = tmp_path / "bad.json"
    source.write_text(json.dumps(bad))
    with pytest.raises(aigate.ConfigurationError):
        _run("prices", "update", "--from", str(source))
    assert _user_file.read_bytes() == before
    assert sorted(p.name for p in _user_file.parent.iterdir()) == ["prices.json"]


def test_update_from_a_url_and_litellm_table(tmp_path: Path, _user_file: Path) -> None:
    source = tmp_path / "p.json"
    source.write_text(json.dumps({"local/b": {"input": "0.000001"}}))
    assert _run("prices", "update", "--from", source.as_uri()) == 0
    assert Catalog.default().get("local", "b") is not None
    litellm = tmp_path / "litellm.json"
    litellm.write_text(json.dumps({"gpt-x": {"litellm_provider": "openai", "mode": "chat"}}))
    with pytest.raises(aigate.ConfigurationError, match="LiteLLM"):
        _run("prices", "update", "--from", str(litellm))
    with pytest.raises(aigate.ConfigurationError, match="scheme"):
        _run("prices", "update", "--from", "ftp://example.com/p.json")


def test_source_credentials_are_never_written() -> None:
    safe = pricing._safe_source("https://user:tok3n@example.com/p.json?key=s3cret#x")
    assert safe == "https://example.com/p.json"


# -- re-pricing unpriced ledger rows ----------------------------------------------------------


class _ReadOnly:
    """A ledger that can be read but not corrected (a Redis ledger, say)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def query(self, **kwargs: Any) -> list[LedgerRecord]:
        return list(self.inner.query(**kwargs))


class _Updating:
    """A ledger that can correct costs (what a backend implementing CostUpdater does)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.updates: dict[str, int] = {}

    def query(self, **kwargs: Any) -> list[LedgerRecord]:
        return list(self.inner.query(**kwargs))

    def update_costs(self, costs: Mapping[str, int]) -> int:
        self.updates.update(costs)
        return len(costs)


def _ledger() -> Any:
    ledger = open_ledger("memory://")
    rows = [
        LedgerRecord(
            id="a", provider="work", model="new-model", prompt_tokens=1000, completion_tokens=500
        ),
        LedgerRecord(
            id="b",
            provider="work",
            model="new-model",
            prompt_tokens=10,
            completion_tokens=0,
            cached_tokens=0,
        ),
        LedgerRecord(id="c", provider="work", model="unknown", prompt_tokens=5),
        LedgerRecord(id="d", provider="work", model="new-model", prompt_tokens=5, cost_nano=7),
        LedgerRecord(id="e", provider="work", model="new-model", prompt_tokens=5, status="error"),
    ]
    for row in rows:
        ledger.record(row)
    return ledger


def test_reprice_prices_only_unpriced_successful_rows() -> None:
    catalog = Catalog.from_dict({"openai/new-model": {"input": "0.000001", "output": "0.000002"}})
    ledger = _ledger()
    result = reprice(ledger, catalog, kinds={"work": "openai"})
    assert result.unpriced == 3
    assert result.priced == {"a": 2_000_000, "b": 10_000}  # 1000*1e-6 + 500*2e-6 USD
    assert result.by_model == {"work/new-model": D("0.00201")}
    assert result.still_unpriced == {"work/unknown": 1}
    assert result.written is None
    with pytest.raises(TypeError, match="cannot update"):
        reprice(_ReadOnly(ledger), catalog, kinds={"work": "openai"}, apply=True)
    updating = _Updating(ledger)
    applied = reprice(updating, catalog, kinds={"work": "openai"}, apply=True)
    assert applied.written == 2 and updating.updates == {"a": 2_000_000, "b": 10_000}
    # the memory ledger writes them itself, once
    assert reprice(ledger, catalog, kinds={"work": "openai"}, apply=True).written == 2
    assert ledger.get("a").cost_nano == 2_000_000 and ledger.get("d").cost_nano == 7
    assert reprice(ledger, catalog, kinds={"work": "openai"}).unpriced == 1  # "c": no price


def test_prices_reprice_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], _user_file: Path
) -> None:
    db = tmp_path / "l.db"
    ledger = open_ledger(f"sqlite:///{db}")
    ledger.record(LedgerRecord(id="x", provider="local", model="m", prompt_tokens=100))
    ledger.close()
    write_user_prices({"local/m": {"input": "0.00001"}}, source="test")
    Catalog.default(reload=True)
    assert _run("prices", "reprice", "--ledger", f"sqlite:///{db}") == 0
    out = capsys.readouterr().out
    assert "priced now: 1" in out and "local/m: $0.001" in out and "--apply" in out


# -- the models the seeds named ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "input_per_m", "output_per_m"),
    [
        ("anthropic", "claude-opus-4-1", "15", "75"),
        ("anthropic", "claude-opus-4-1-20250805", "15", "75"),
        ("anthropic", "claude-sonnet-4-20250514", "3", "15"),
        ("anthropic", "claude-3-5-haiku-latest", "0.8", "4"),
        ("groq", "llama-3.1-8b-instant", "0.05", "0.08"),
        ("groq", "llama-3.3-70b-versatile", "0.59", "0.79"),
        ("openai", "gpt-4o-mini", "0.15", "0.6"),
        ("openai", "gpt-3.5-turbo", "0.5", "1.5"),
        ("openrouter", "openai/gpt-4o-mini", "0.15", "0.6"),
        ("openrouter", "anthropic/claude-opus-4.1", "15", "75"),
        ("openrouter", "meta-llama/llama-3.3-70b-instruct:free", "0", "0"),
        ("openrouter", "some-vendor/any-model:free", "0", "0"),
        ("openrouter", "openai/gpt-4o-mini:free", "0", "0"),
    ],
)
def test_seeded_models_are_priced(
    provider: str, model: str, input_per_m: str, output_per_m: str
) -> None:
    info = Catalog.default().get(provider, model)
    assert info is not None, f"{provider}/{model} is unpriced"
    million = D(1_000_000)
    assert info.price.input is not None and info.price.input * million == D(input_per_m)
    assert info.price.output is not None and info.price.output * million == D(output_per_m)


def test_groq_whisper_is_priced_per_second() -> None:
    info = Catalog.default().get("groq", "whisper-large-v3")
    assert info is not None and info.price.input_per_second is not None
    # $0.111 per hour of audio (groq.com/pricing)
    assert abs(info.price.input_per_second * 3600 - D("0.111")) < D("0.0001")


def test_snapshot_line_for_aigate_models() -> None:
    from aigate._cli_prices import snapshot_line

    line = snapshot_line(Catalog.default())
    assert line.startswith(f"prices: snapshot of {Catalog.default().snapshot_date}")
    old = Catalog.from_dict({"_meta": {"snapshot_date": "2001-01-01"}, "a/b": {"input": 1}})
    assert "\nwarning: aigate's model prices are" in snapshot_line(old)


def test_reprice_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "w.db"
    ledger = open_ledger(f"sqlite:///{db}")
    ledger.record(LedgerRecord(id="x", provider="local", model="m", prompt_tokens=100))
    ledger.close()
    write_user_prices({"local/m": {"input": "0.00001"}}, source="test")
    Catalog.default(reload=True)
    assert _run("prices", "reprice", "--ledger", f"sqlite:///{db}", "--until", "2000-01-01") == 0
    assert "unpriced calls: 0" in capsys.readouterr().out
