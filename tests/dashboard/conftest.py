"""Fixtures of the dashboard tests: a seeded ledger (SQLite or PostgreSQL), a key store and
a budget store shared with a real gateway, the dashboard served by uvicorn on a loopback
port, and one headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright)
shared by every browser test."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dashboard_support import (
    CHROMIUM,
    PEPPER,
    TOKEN,
    UTC,
    Served,
    Stack,
    free_port,
    in_ci,
    seed_records,
)

from aigate.budget import Limit, open_budget_store
from aigate.ledger import open_ledger
from aigate.tenancy import open_key_store

pytest.importorskip("starlette", reason="the dashboard extra is not installed")
pytest.importorskip("uvicorn", reason="the dashboard extra is not installed")


@pytest.fixture(params=["sqlite", "postgres"])
def stack(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    monkeypatch.setenv("AIGATE_KEY_PEPPER", PEPPER)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgres_dsn")
    ledger = open_ledger(url)
    now = datetime.now(UTC)
    for rec in seed_records(now):
        ledger.record(rec)
    yield Stack(ledger, url, f"sqlite:///{tmp_path / 'keys.db'}", now)
    ledger.close()


@pytest.fixture
def served(stack: Stack) -> Iterator[Served]:
    """The dashboard over the stack, served by uvicorn in a thread on a loopback port."""
    import uvicorn

    from aigate.dashboard import Sources, create_app

    keys = open_key_store(stack.keys_url, pepper=PEPPER)
    budget = open_budget_store("memory://")
    limits = [
        Limit(scope="global", amount="50", window="month", thresholds=(0.5, 0.8)),
        Limit(scope="user:*", amount="0.01", window="day", thresholds=(0.5,)),
    ]
    # Ana has spent $0.006 of her $0.01 day: 60%, past the 50% threshold.
    from aigate.budget import Budgets

    charges = Budgets(limits).plan({"user": "ana"}, estimate_nano=8_000_000)
    assert budget.reserve("seed-1", charges, 60).ok
    budget.settle("seed-1", Budgets.actual(charges, cost_nano=6_000_000, tokens=0))
    # A shared health store as the gateways left it: one target failing, one key cooling.
    from aigate.routing import BreakerSettings, MemoryHealthStore

    health = MemoryHealthStore(BreakerSettings())
    at = time.time()
    for _ in range(5):
        health.record("openai/gpt-4.1", "fail", at, reason="APIStatusError 503")
    health.record("key:openai:openai-k1", "cool", at, cooldown=42.0, reason="RateLimitError 429")
    health.record("anthropic/claude-haiku-4-5", "ok", at)
    sources = Sources(
        ledger=stack.ledger,
        keys=keys,
        budget_store=budget,
        limits=limits,
        health=health,
        health_names=["openai/gpt-4.1", "anthropic/claude-haiku-4-5", "key:openai:openai-k1"],
        closers=[keys.close],
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(sources, TOKEN), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the dashboard server did not start")
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", sources)
    finally:
        server.should_exit = True
        thread.join(10)
        sources.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for every browser test (Debian's, never a downloaded one).

    Module-scoped, not session-scoped: Playwright's sync API keeps an event loop running
    in this thread while it is open, and ``asyncio.run`` in the tests after it would fail.
    """
    if not os.path.exists(CHROMIUM):
        message = "chromium is not installed (Debian: apt-get install -y chromium)"
        if in_ci():
            pytest.fail(f"{message}; CI must run the dashboard in a real browser")
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        if in_ci():
            pytest.fail(f"playwright is not installed: {err}")
        pytest.skip("playwright is not installed")
    with sync_playwright() as p:
        # The launch flags of tests/test_report_html.py: headless, no sandbox (root in CI),
        # nothing fetched in the background.
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
            ],
        )
        yield chromium
        chromium.close()
