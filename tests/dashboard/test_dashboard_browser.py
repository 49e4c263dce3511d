"""The dashboard in a real headless Chromium, on SQLite and PostgreSQL ledgers: every page
loads with no console error, the numbers shown equal the ledger's reports (``gw.usage.*``),
a filter narrows the request log, a key created and revoked on the page is refused by a
gateway sharing the key store, and no page opens without the token.

Set ``AIGATE_DASHBOARD_SHOTS=docs/img`` to write the screenshots of docs/dashboard.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dashboard_support import TOKEN, Served, Stack

import aigate
from aigate.tenancy import KeyRevokedError
from aigate.testing import FakeTransport, reply

expect = pytest.importorskip("playwright.sync_api").expect

PAGES = ("overview", "breakdowns", "requests", "budgets", "keys", "models", "health")


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    """A signed-in page that fails the test on any console error or uncaught exception."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(f"{served.url}/?token={TOKEN}")
    pg.errors = errors
    yield pg
    context.close()
    assert errors == [], f"console errors: {errors}"


def open_page(pg: Any, served: Served, name: str) -> None:
    pg.goto(f"{served.url}/#/{name}")
    pg.wait_for_selector(f"body[data-ready={name}]", timeout=15_000)


def test_every_page_loads_without_console_errors(
    page: Any, served: Served, stack: Stack, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("AIGATE_DASHBOARD_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    # What a fresh install shows next to the seeded ledger: one key in the store.
    served.sources.keys.create(
        name="support-bot", project="support", budget=[{"amount": "5", "window": "day"}]
    )
    for name in PAGES:
        open_page(page, served, name)
        assert page.title() == "aigate dashboard"
        assert page.locator(f'nav a[data-page="{name}"].active').count() == 1
        if name == "overview":
            page.wait_for_selector("#chart-cost canvas")
        page.screenshot(path=str(shots / f"dashboard-{name}.png"), full_page=name != "models")
    # The models page lists the catalog with prices.
    open_page(page, served, "models")
    assert page.locator('tr[data-model="openai/gpt-4o-mini"]').count() == 1


def test_overview_numbers_equal_the_ledger_totals(page: Any, served: Served, stack: Stack) -> None:
    open_page(page, served, "overview")
    totals = stack.ledger.totals(since=stack.now - timedelta(hours=24))

    def shown(key: str) -> str:
        value: str = page.locator(f'.card[data-k="{key}"]').get_attribute("data-value")
        return value

    assert int(shown("requests")) == totals.requests == 60
    assert Decimal(shown("cost_usd")) == totals.cost_usd
    assert int(shown("errors")) == totals.errors
    assert int(shown("cache_hits")) == totals.cache_hits
    assert float(shown("latency_p95")) == pytest.approx(totals.latency_p95_ms, rel=1e-12)
    text = page.locator('.card[data-k="requests"] .value').inner_text()
    assert text == f"{totals.requests:,}"
    # A wider window changes the figures without reloading the page.
    page.select_option("#window", "7d")
    page.wait_for_selector("body[data-ready=overview]")
    week = stack.ledger.totals(since=stack.now - timedelta(days=7)).requests
    expect(page.locator('.card[data-k="requests"]')).to_have_attribute("data-value", str(week))


def test_breakdown_table_equals_summary(page: Any, served: Served, stack: Stack) -> None:
    open_page(page, served, "breakdowns")
    rows = stack.ledger.summary(since=stack.now - timedelta(hours=24), group_by=["model"])
    for row in rows:
        cells = page.locator(f'table.breakdown tr[data-group="{row.group["model"]}"] td')
        assert int(cells.nth(1).get_attribute("data-value")) == row.requests
        assert Decimal(cells.nth(6).get_attribute("data-value")) == row.cost_usd
    page.select_option("#bd-by", "user")
    page.wait_for_selector('table.breakdown tr[data-group="ana"]')
    assert page.locator("#export-csv").get_attribute("href").endswith("format=csv")


def test_a_filter_narrows_the_request_log_and_a_row_opens_its_trace(
    page: Any, served: Served, stack: Stack
) -> None:
    day = {"since": stack.now - timedelta(hours=24)}  # the page's default window
    open_page(page, served, "requests")
    page.wait_for_selector("#req-rows tr")
    assert page.locator("#req-rows tr").count() == 50
    assert page.locator("#req-more").is_visible()
    page.click("#req-more")
    expect(page.locator("#req-rows tr")).to_have_count(60)
    page.fill("#f-model", "gpt-4.1")
    page.select_option("#f-status", "ok")
    page.click("#req-filters button[type=submit]")
    want = served.sources.ledger.query(where={"model": "gpt-4.1", "status": "ok"}, **day)
    assert 0 < len(want) < 50
    expect(page.locator("#req-rows tr")).to_have_count(len(want))
    models = page.locator("#req-rows tr td:nth-child(3)").all_inner_texts()
    assert models and all(m == "openai/gpt-4.1" for m in models)
    page.fill("#f-model", "")
    page.select_option("#f-status", "")
    page.click("#req-filters button[type=submit]")
    expect(page.locator("#req-rows tr")).to_have_count(50)
    page.fill("#f-user", "ana")
    page.click("#req-filters button[type=submit]")
    expect(page.locator("#req-rows tr")).to_have_count(
        len(served.sources.ledger.query(where={"user": "ana"}, **day))
    )
    page.click('#req-rows tr[data-id="call-036"]')
    dialog = page.locator("#detail")
    dialog.wait_for(state="visible")
    assert "Call call-036" in dialog.inner_text()
    assert "503" in dialog.inner_text() and "server" in dialog.inner_text()


def test_a_key_created_then_revoked_on_the_page_is_refused_by_a_gateway(
    page: Any, served: Served, stack: Stack
) -> None:
    open_page(page, served, "keys")
    page.fill("#k-name", "ci-bot")
    page.fill("#k-project", "acme")
    page.fill("#k-budget", "5/day")
    page.click("#key-create button[type=submit]")
    secret = page.locator("#new-secret .secret").inner_text().strip()
    assert secret.startswith("gk_")
    row = page.locator("table.keys tbody tr").last
    key_id = row.get_attribute("data-key")
    assert row.get_attribute("data-status") == "active"

    fake = FakeTransport(default=reply("ok"))
    gw = aigate.Gateway(
        providers={"openai": {"api_keys": ["sk-test"]}},
        keys=stack.keys_url,
        budget={"store": "memory://"},
        transport=fake,
    )
    try:
        hi = [{"role": "user", "content": "Hi"}]
        r = gw.chat.completions.create(model="openai/gpt-4o-mini", messages=hi, api_key=secret)
        assert r.choices[0].message.content == "ok"
        page.once("dialog", lambda d: d.accept())
        row.locator("button[data-action=revoke]").click()
        page.wait_for_selector(f'tr[data-key="{key_id}"][data-status="revoked"]')
        with pytest.raises(KeyRevokedError):
            gw.chat.completions.create(model="openai/gpt-4o-mini", messages=hi, api_key=secret)
        assert len(fake.calls) == 1
    finally:
        gw.close()
    # The secret is on no page once its notice is gone.
    open_page(page, served, "keys")
    assert secret not in page.content()


def test_without_the_token_the_page_is_401(browser: Any, served: Served) -> None:
    context = browser.new_context()
    pg = context.new_page()
    response = pg.goto(served.url + "/#/overview")
    assert response is not None and response.status == 401
    assert "admin token" in pg.content()
    api = pg.request.get(served.url + "/api/overview")
    assert api.status == 401
    context.close()
