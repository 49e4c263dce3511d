"""Fixtures of the dashboard tests: a seeded ledger (SQLite or PostgreSQL), a key store and
a budget store shared with a real gateway, the dashboard served by uvicorn on a loopback
port, and one headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright)
shared by every browser test."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aigate.budget import Limit, open_budget_store
from aigate.ledger import BaseLedger, LedgerRecord, open_ledger
from aigate.tenancy import open_key_store

pytest.importorskip("starlette", reason="the dashboard extra is not installed")
pytest.importorskip("uvicorn", reason="the dashboard extra is not installed")

UTC = timezone.utc
TOKEN = "test-dashboard-token-0123456789"
PEPPER = "test-pepper-0123456789abcdef"
CHROMIUM = "/usr/bin/chromium"
MODELS = (
    ("openai", "gpt-4o-mini", 180_000),
    ("openai", "gpt-4.1", 2_400_000),
    ("anthropic", "claude-haiku-4-5", 900_000),
    ("gemini", "gemini-2.5-flash", 300_000),
)
USERS = ("ana", "bo", "chen", "dee")
PROJECTS = ("search", "support", "billing")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def seed_records(now: datetime) -> list[LedgerRecord]:
    """60 calls in the last 24 hours (between 1 and 20 hours ago, so a test's "last 24
    hours" window holds all of them however long it runs), 40 older ones (2.5 to 8.5 days
    ago): errors, failovers, cache hits, streams, an unpriced call, metadata tags."""
    out = []
    for i in range(100):
        provider, model, cost = MODELS[i % len(MODELS)]
        recent = i < 60
        ts = now - (
            timedelta(hours=1, minutes=19 * i)
            if recent
            else timedelta(days=2 + (i - 60) % 7, hours=12)
        )
        failover = i % 9 == 0
        attempts = [{"provider": provider, "model": model, "status_code": 200, "latency_ms": 90.0}]
        if failover:
            attempts.insert(
                0,
                {
                    "provider": "openai",
                    "model": "gpt-4.1",
                    "status_code": 503,
                    "error": "APIStatusError",
                    "error_class": "server",
                    "latency_ms": 40.0,
                    "wait_ms": 0.0,
                },
            )
        out.append(
            LedgerRecord(
                id=f"call-{i:03d}",
                ts=ts,
                provider=provider,
                model=model,
                route="smart" if i % 2 else "fast",
                user=USERS[i % len(USERS)],
                project=PROJECTS[i % len(PROJECTS)],
                org="acme",
                prompt_tokens=100 + 7 * i,
                completion_tokens=20 + 3 * i,
                cached_tokens=10 if i % 4 == 0 else 0,
                cost_nano=None if i == 7 else cost * (1 + i % 3),
                saved_nano=cost if i % 10 == 3 else None,
                cached=i % 10 == 3,
                latency_ms=120.0 + 11 * i,
                ttft_ms=40.0 + i if i % 3 == 0 else None,
                stream=i % 3 == 0,
                status="error" if i % 13 == 5 else "ok",
                error_class="server" if i % 13 == 5 else None,
                error_type="APIStatusError" if i % 13 == 5 else None,
                attempts=attempts,
                metadata={"team": "core" if i % 2 else "growth"},
            )
        )
    return out


@dataclass
class Stack:
    """The stores a test shares with the dashboard."""

    ledger: BaseLedger
    ledger_url: str
    keys_url: str
    now: datetime


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    url: str
    sources: Any


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
    port = _free_port()
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for every browser test (Debian's, never a downloaded one)."""
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
