"""A call's charge and its ledger row commit together where the stores share a database.

Issue 13 item 15: a process killed between the budget settle and the ledger write left the
counter ahead of the ledger (0-4 calls in two kill runs on main). Where the budget store and
the ledger use one SQLite file or one PostgreSQL database, the row now commits in the
settle's transaction. Two attacks, each in a child process that is killed:

- deterministic: the child dies (``os._exit``) the instant the budget store's settle
  returns, before anything else runs; on main that left one call charged with no row;
- random: a child making concurrent calls is SIGKILLed at a random moment, six times over
  on the same database.

After each, the counter's settled spend equals the sum of the ledger's costs to the
nano-dollar. The file is also the child: ``python test_settle_ledger_crash.py <settings>``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

MODEL = "openai/gpt-4o-mini"
USAGE = {"prompt_tokens": 8, "completion_tokens": 100, "total_tokens": 108}
CALL_NANO = 8 * 150 + 100 * 600  # one call at $0.15 / $0.60 per 1M tokens
LIMITS: list[dict[str, Any]] = [{"scope": "project:crash", "amount": "1000", "window": "lifetime"}]
DIED = 17  # the deterministic child's exit code


def _messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"call {i}: say ok"}]


# -- the child process ---------------------------------------------------------------------


def _die_after_settle() -> None:
    """Make the budget stores' settle (plain or joint) end the process as it returns."""
    from aigate.budget._postgres import PostgresBudgetStore
    from aigate.budget._sqlite import SQLiteBudgetStore

    for cls in (SQLiteBudgetStore, PostgresBudgetStore):
        for name in ("settle", "settle_with"):
            original = getattr(cls, name, None)
            if original is None:
                continue

            def dying(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
                __original(*args, **kwargs)
                os._exit(DIED)

            setattr(cls, name, dying)
    for name in ("asettle", "asettle_with"):  # PostgreSQL's own async connection
        aoriginal = PostgresBudgetStore.__dict__.get(name)
        if aoriginal is None:
            continue

        async def adying(*args: Any, __original: Any = aoriginal, **kwargs: Any) -> Any:
            await __original(*args, **kwargs)
            os._exit(DIED)

        setattr(PostgresBudgetStore, name, adying)


def _gateway_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    from aigate.testing import FakeTransport, reply

    return {
        "providers": {"openai": {"api_keys": ["sk-test"]}},
        "budget": {"store": settings["store"], "limits": LIMITS, "ttl_s": 600},
        "ledger": settings["ledger"],
        "ledger_errors": "raise",
        "transport": FakeTransport(default=reply("ok", usage=USAGE)),
    }


def _child_sync(settings: dict[str, Any]) -> None:
    import aigate

    with aigate.Gateway(**_gateway_kwargs(settings)) as gw:
        create = gw.chat.completions.create
        create(model=MODEL, messages=_messages(-1), metadata={"project": "crash"})
        print("ready", flush=True)
        if settings["attack"] == "exit":
            _die_after_settle()
        for i in range(100_000):
            create(model=MODEL, messages=_messages(i), metadata={"project": "crash"})


async def _child_async(settings: dict[str, Any]) -> None:
    import aigate

    async with aigate.AsyncGateway(**_gateway_kwargs(settings)) as gw:
        create = gw.chat.completions.create
        await create(model=MODEL, messages=_messages(-1), metadata={"project": "crash"})
        print("ready", flush=True)
        if settings["attack"] == "exit":
            _die_after_settle()

        async def caller(task: int) -> None:
            for i in range(100_000):
                await create(
                    model=MODEL,
                    messages=_messages(task * 100_000 + i),
                    metadata={"project": "crash"},
                )

        await asyncio.gather(*(caller(task) for task in range(8)))


# -- the test ------------------------------------------------------------------------------


def _urls(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'gateway.db'}"  # one file holds both
        return url, url
    dsn = request.getfixturevalue("postgres_dsn")
    return dsn, dsn


def _start(settings: dict[str, Any], tmp_path: Path) -> subprocess.Popen[str]:
    path = tmp_path / "child.json"
    path.write_text(json.dumps(settings))
    proc = subprocess.Popen(
        [sys.executable, __file__, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "ready\n":
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"the child failed to start: {line!r}\n{err[-3000:]}")
    return proc


def _spent_and_rows(store_url: str, ledger_url: str) -> tuple[int, int, int]:
    """(settled spend of the project's counter, ledger rows, the ledger's summed cost)."""
    from aigate.budget import Budgets, open_budget_store
    from aigate.ledger import open_ledger

    key = Budgets(LIMITS).plan({"project": "crash"}, estimate_nano=0)[0].key
    with open_budget_store(store_url) as store:
        spent = store.status([key])[key].spent
    ledger = open_ledger(ledger_url)
    try:
        rows = [r for r in ledger.query() if r.project == "crash"]
    finally:
        ledger.close()
    return spent, len(rows), sum(r.cost_nano or 0 for r in rows)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_process_that_dies_right_after_the_settle_leaves_its_ledger_row(
    backend: str, mode: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store_url, ledger_url = _urls(backend, request, tmp_path)
    proc = _start(
        {"store": store_url, "ledger": ledger_url, "mode": mode, "attack": "exit"}, tmp_path
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == DIED, err[-3000:]
    spent, rows, ledger_nano = _spent_and_rows(store_url, ledger_url)
    assert rows == 2  # the warm-up call and the call whose settle ended the process
    assert spent == ledger_nano == 2 * CALL_NANO


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_at_random_moments_never_leaves_a_charge_without_its_row(
    backend: str, mode: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store_url, ledger_url = _urls(backend, request, tmp_path)
    rng = random.Random(15)
    for _ in range(6):
        proc = _start(
            {"store": store_url, "ledger": ledger_url, "mode": mode, "attack": "kill"}, tmp_path
        )
        time.sleep(rng.uniform(0.05, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
    spent, rows, ledger_nano = _spent_and_rows(store_url, ledger_url)
    assert rows > 6  # each child made calls before it was killed
    assert spent == ledger_nano == rows * CALL_NANO


# -- when the stores join, and what a failed joint commit does ------------------------------


def _gateway(store: str, ledger: str) -> Any:
    import aigate

    settings = {"store": store, "ledger": ledger}
    return aigate.Gateway(**_gateway_kwargs(settings))


def test_stores_join_only_on_one_database(tmp_path: Path) -> None:
    from aigate.budget import SQLiteBudgetStore
    from aigate.ledger import SQLiteLedger

    one = f"sqlite:///{tmp_path / 'one.db'}"
    with _gateway(one, one) as gw:
        assert gw._core.admission.joint is not None
    with _gateway(one, f"sqlite:///{tmp_path / 'other.db'}") as gw:
        assert gw._core.admission.joint is None
    with _gateway("sqlite:///:memory:", "sqlite:///:memory:") as gw:
        assert gw._core.admission.joint is None  # two private databases, not one
    with _gateway("memory://", one) as gw:
        assert gw._core.admission.joint is None
    # a ledger that commits more durably than the budget store keeps its own commit
    store = SQLiteBudgetStore(tmp_path / "one.db")
    full = SQLiteLedger(tmp_path / "one.db", synchronous="FULL")
    normal = SQLiteLedger(tmp_path / "." / "one.db")
    try:
        assert store.database == normal.database
        assert store.database != full.database
    finally:
        for opened in (store, full, normal):
            opened.close()


def test_a_failed_joint_commit_settles_alone_and_writes_the_row_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    with _gateway(url, url) as gw:
        joint = gw._core.admission.joint
        joint.insert_step = lambda rec: ("INSERT INTO no_such_table VALUES (?)", (rec.id,))
        with caplog.at_level("WARNING", logger="aigate.budget"):
            r = gw.chat.completions.create(
                model=MODEL, messages=_messages(0), metadata={"project": "crash"}
            )
    assert r.gateway is not None and r.gateway.cost_usd is not None
    assert any("settling alone" in rec.getMessage() for rec in caplog.records)
    spent, rows, ledger_nano = _spent_and_rows(url, url)
    assert (spent, rows, ledger_nano) == (CALL_NANO, 1, CALL_NANO)


@pytest.mark.postgres
def test_the_first_call_on_a_new_postgres_table_is_one_commit_too(
    postgres_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The ledger's table exists before the first settle (it used to be made on the
    ledger's first own write, so the first joint commit failed and settled alone)."""
    with (
        caplog.at_level("WARNING", logger="aigate.budget"),
        _gateway(postgres_dsn, postgres_dsn) as gw,
    ):
        assert gw._core.admission.joint is not None
        gw.chat.completions.create(
            model=MODEL, messages=_messages(0), metadata={"project": "crash"}
        )
    assert not [r for r in caplog.records if r.levelname == "WARNING"], caplog.text
    assert _spent_and_rows(postgres_dsn, postgres_dsn) == (CALL_NANO, 1, CALL_NANO)


if __name__ == "__main__":
    child_settings = json.loads(Path(sys.argv[1]).read_text())
    if child_settings["mode"] == "sync":
        _child_sync(child_settings)
    else:
        asyncio.run(_child_async(child_settings))
