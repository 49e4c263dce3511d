"""benchmarks/budget_attacks.py (issue 13's measured overspend) runs its attacks in quick
mode, and every row holds: spend within the cap plus one call's worst case or refused by
design, a ledger row for every call the provider answered (bar those that died with a
killed process, within their bound), and no reservation left behind."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script as a module (its ``__main__`` guard keeps it from running)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(
        "_bench_budget_attacks", BENCHMARKS / "budget_attacks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def run_quick(
    script: ModuleType, backend: str, attacks: list[str], request: pytest.FixtureRequest
) -> list[Any]:
    """The rows of ``attacks`` on one backend, in quick mode (the servers: the fixtures')."""
    servers = {}
    if backend == "redis":
        servers["redis_url"] = request.getfixturevalue("redis_url")
    if backend == "postgres":
        servers["postgres_dsn"] = request.getfixturevalue("postgres_dsn")
    tmp_path = request.getfixturevalue("tmp_path")
    report = script.run(
        [backend], quick=True, attacks=attacks, require_all=True, workdir=tmp_path, **servers
    )
    assert report.skipped == []
    return list(report.rows)


def check(row: Any) -> None:
    """What every row must show, whatever the attack."""
    what = f"{row.attack} on {row.backend}: {row.verdict} ({row.note})"
    assert row.verdict == "ok" or row.verdict.startswith("refused ("), what
    assert row.rows + row.lost == row.calls and row.lost <= row.lost_bound, what
    assert row.phantom == 0, what
    if row.pending_after_ttl is None:
        assert row.pending == 0, what  # every call settled
    else:
        assert row.pending_after_ttl == 0, what  # a killed caller's holds expired


@pytest.mark.parametrize("backend", BACKENDS)
def test_in_process_attacks_stay_inside_the_cap(
    script: ModuleType, backend: str, request: pytest.FixtureRequest
) -> None:
    in_process = [a for a in script.ATTACKS if a not in script.MULTIPROCESS]
    rows = run_quick(script, backend, in_process, request)
    assert [row.attack_id for row in rows] == in_process
    for row in rows:
        check(row)
    by_id = {row.attack_id: row for row in rows}
    assert by_id["unpriced"].verdict == "refused (UnpricedModelRefused)"
    assert by_id["unpriced"].calls == 0
    for attack in ("extra-max-tokens", "extra-max-completion", "n64", "clamp", "refuse"):
        row = by_id[attack]
        assert row.verdict == "ok" and row.calls > 0
        assert row.refused.get("BudgetExceeded")  # the cap was reached
        assert row.spent_nano == row.billed_nano <= row.cap_nano


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_racing_processes_stay_inside_the_cap(
    script: ModuleType, backend: str, request: pytest.FixtureRequest
) -> None:
    (row,) = run_quick(script, backend, ["race"], request)
    check(row)
    assert row.verdict == "ok" and row.refused.get("BudgetExceeded")
    assert row.spent_nano == row.billed_nano == row.ledger_nano


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_killed_processes_leave_the_counter_and_ledger_in_step(
    script: ModuleType, backend: str, request: pytest.FixtureRequest
) -> None:
    (row,) = run_quick(script, backend, ["crash"], request)
    check(row)
    assert row.calls > 0 and row.pending_after_ttl == row.reserved_after_ttl == 0
    assert row.joint is (backend != "redis")


def test_crash_is_not_applicable_to_the_memory_store(
    script: ModuleType, request: pytest.FixtureRequest
) -> None:
    tmp_path = request.getfixturevalue("tmp_path")
    report = script.run(["memory"], quick=True, attacks=["crash"], workdir=tmp_path)
    assert report.rows == [] and "memory store dies" in report.skipped[0]
