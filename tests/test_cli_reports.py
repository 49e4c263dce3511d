"""What `aigate report` and `aigate models` say about refusals, repricing and price age.

Issue 14 item 16: refused calls are rows, and the text report now says how many there
were (it said "0 calls, 0 errors" for five refusals). Issue 13 item 8: `aigate models`
and `gw.models` show the catalog's snapshot date, and `aigate report --reprice` prices
the rows recorded without a cost before reporting.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import aigate
from aigate.cli import main
from aigate.ledger import LedgerRecord, open_ledger


def _ledger_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'l.db'}"
    return str(request.getfixturevalue("postgres_dsn"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_text_report_counts_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    budget = {
        "store": "memory://",
        "limits": [{"scope": "global", "amount": "0.000001", "window": "day"}],
    }
    with aigate.Gateway(providers={"openai": {"kind": "fake"}}, ledger=url, budget=budget) as gw:
        for _ in range(4):
            with pytest.raises(aigate.BudgetExceeded):
                gw.chat.completions.create(
                    model="openai/gpt-4o-mini",
                    messages=[{"role": "user", "content": "hi"}],
                    max_tokens=5,
                )
    code, out, _ = _run(capsys, "report", "--ledger", url, "--quiet")
    assert code == 0
    assert "0 calls, 0 errors, 4 refused before sending, spend $0" in out
    page = tmp_path / "report.html"
    code, _, _ = _run(capsys, "report", "--ledger", url, "--quiet", "--html", str(page))
    assert code == 0 and "4 refused before sending" in page.read_text(encoding="utf-8")


def test_models_show_the_snapshot_date(capsys: pytest.CaptureFixture[str]) -> None:
    with aigate.Gateway(providers={"openai": {"api_keys": ["sk"]}}) as gw:
        snapshot = gw.models.snapshot_date
        assert isinstance(snapshot, date)
        age = gw.models.age_days()
        assert age is not None and age == (date.today() - snapshot).days
    code, out, _ = _run(capsys, "models", "--search", "gpt-4o-mini", "--limit", "1")
    assert code == 0
    assert f"prices: snapshot of {snapshot} (" in out.splitlines()[-1]
    code, out, err = _run(capsys, "models", "--search", "gpt-4o-mini", "--json")
    assert code == 0 and out.lstrip().startswith("[")  # stdout stays JSON
    assert f"prices: snapshot of {snapshot}" in err


def test_report_reprice_prices_unpriced_rows_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(url)
    ledger.record(LedgerRecord(id="a", provider="local", model="m", prompt_tokens=1_000_000))
    ledger.close()
    config = tmp_path / "aigate.toml"
    config.write_text(
        f'ledger = "{url}"\n'
        "[providers.local]\n"
        'kind = "openai"\n'
        'base_url = "http://127.0.0.1:1/v1"\n'
        "[providers.local.prices]\n"
        'm = { input_per_million = "2", output_per_million = "0" }\n',
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, "report", "--config", str(config), "--quiet")
    assert code == 0 and "(+1 unpriced)" in out  # before: the row has no cost
    code, out, err = _run(capsys, "report", "--config", str(config), "--quiet", "--reprice")
    assert code == 0
    assert "repriced 1 of 1 unpriced calls" in err
    assert "spend $2" in out and "unpriced" not in out


@pytest.mark.parametrize(
    "backend", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_update_costs_prices_only_rows_without_a_cost(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """What `prices reprice --apply` and `report --reprice` write through (it existed
    on no ledger: --apply always failed)."""
    url = _ledger_url(backend, tmp_path, request)
    ledger = open_ledger(url)
    try:
        ledger.record(LedgerRecord(id="unpriced", provider="local", model="m"))
        ledger.record(LedgerRecord(id="priced", provider="local", model="m", cost_nano=5))
        changed = ledger.update_costs({"unpriced": 700, "priced": 900, "missing": 1})  # type: ignore[attr-defined]
        assert changed == 1
        assert ledger.get("unpriced").cost_nano == 700  # type: ignore[union-attr]
        assert ledger.get("priced").cost_nano == 5  # a priced row is never re-priced  # type: ignore[union-attr]
    finally:
        ledger.close()


@pytest.mark.parametrize(
    "backend", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_failed_call_is_not_counted_unpriced(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Issue 14 item 21: an error row (no cost: nothing was billed) was reported as one
    more "call unpriced"."""
    from aigate.ledger._reports import overview

    url = _ledger_url(backend, tmp_path, request)
    ledger = open_ledger(url)
    try:
        ledger.record(LedgerRecord(id="ok", provider="p", model="m", cost_nano=10))
        ledger.record(LedgerRecord(id="unknown", provider="p", model="m"))  # answered, no price
        ledger.record(LedgerRecord(id="failed", provider="p", model="m", status="error"))
        assert ledger.totals().unpriced == 1
        assert [r.unpriced for r in ledger.summary(group_by=["model"])] == [1]
        assert overview(ledger).totals.unpriced == 1
    finally:
        ledger.close()
