"""The dashboard's HTTP API over a real socket: the token guard, the same numbers as the
ledger's public reports, exports, key actions and their refusal in read-only mode."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from dashboard_support import TOKEN, Served, Stack

from aigate.dashboard import Sources, create_app
from aigate.ledger import MemoryLedger

AUTH = {"Authorization": f"Bearer {TOKEN}"}
WRITE = {**AUTH, "X-Aigate-Dashboard": "1"}


def get(served: Served, path: str, **params: Any) -> Any:
    r = httpx.get(served.url + path, params=params, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(
    "path",
    ["/", "/static/app.js", "/api/overview", "/api/requests", "/api/keys", "/api/models"],
)
def test_without_the_token_every_route_is_401(served: Served, path: str) -> None:
    assert httpx.get(served.url + path).status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * len(TOKEN)}
    assert httpx.get(served.url + path, headers=wrong).status_code == 401
    assert httpx.get(served.url + path, cookies={"aigate_dashboard": TOKEN}).status_code == 401
    assert httpx.get(served.url + path, headers=AUTH).status_code == 200


def test_the_token_in_the_url_becomes_a_session_cookie(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        r = client.get("/", params={"token": TOKEN})
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
        assert client.get("/api/overview").status_code == 200
        assert client.get("/", params={"token": "nope"}).status_code == 401
        # A state change needs the custom header too (a cross-site form cannot send it).
        assert client.post("/api/keys", json={}).status_code == 403


def test_overview_equals_the_ledger_reports(served: Served, stack: Stack) -> None:
    data = get(served, "/api/overview", window="24h")
    since = stack.now - timedelta(hours=24)
    totals = stack.ledger.totals(since=since)
    assert data["overview"]["totals"] == totals.to_dict()
    assert totals.requests == 60
    assert data["overview"]["failovers"] == 7
    assert sum(r["requests"] for r in data["series"]) == 60
    assert data["bucket"] == "hour"
    week = get(served, "/api/overview", window="90d")
    assert week["overview"]["totals"]["requests"] == 100 and week["bucket"] == "day"


@pytest.mark.parametrize("by", ["model", "user", "project", "route", "key", "meta:team"])
def test_breakdown_and_exports_equal_summary(served: Served, stack: Stack, by: str) -> None:
    since = stack.now - timedelta(days=30)
    iso = since.isoformat()
    want = [r.to_dict() for r in stack.ledger.summary(since=since, group_by=[by])]
    assert get(served, "/api/breakdown", by=by, since=iso)["rows"] == want
    as_json = httpx.get(
        served.url + "/api/breakdown",
        params={"by": by, "since": iso, "format": "json"},
        headers=AUTH,
    )
    assert json.loads(as_json.text) == want
    as_csv = httpx.get(
        served.url + "/api/breakdown",
        params={"by": by, "since": iso, "format": "csv"},
        headers=AUTH,
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["cost_nano"] for r in rows] == [str(r["cost_nano"]) for r in want]
    top = get(served, "/api/breakdown", by=by, since=iso, top="2")["rows"]
    assert top == [r.to_dict() for r in stack.ledger.top_spenders(by, 2, since=since)]


def test_day_table_equals_summary_by_day(served: Served, stack: Stack) -> None:
    since = stack.now - timedelta(days=30)
    rows = get(served, "/api/days", since=since.isoformat())["rows"]
    want = stack.ledger.summary(since=since, group_by=["day"])
    assert [(r["group"], r["requests"], r["cost_nano"]) for r in rows] == [
        (w.group, w.requests, w.cost_nano) for w in want
    ]


def test_request_log_filters_pages_and_opens_a_call(served: Served) -> None:
    everything = get(served, "/api/requests", limit="1000")["rows"]
    assert len(everything) == 100
    errors = get(served, "/api/requests", status="error", limit="1000")["rows"]
    assert 0 < len(errors) < 100 and {r["status"] for r in errors} == {"error"}
    first = get(served, "/api/requests", limit="30")
    second = get(served, "/api/requests", limit="30", cursor=first["next"])
    assert [r["id"] for r in first["rows"] + second["rows"]] == [r["id"] for r in everything[:60]]
    call = get(served, "/api/requests/call-009")
    assert [a["status_code"] for a in call["attempts"]] == [503, 200]
    assert call["cost_breakdown"][0]["category"] == "prompt_tokens"
    r = httpx.get(served.url + "/api/requests/nope", headers=AUTH)
    assert r.status_code == 404
    bad = httpx.get(served.url + "/api/requests", params={"cursor": "zz"}, headers=AUTH)
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]
    bad = httpx.get(served.url + "/api/overview", params={"window": "week"}, headers=AUTH)
    assert bad.status_code == 400 and "window" in bad.json()["error"]


def test_budgets_show_spent_reserved_remaining_and_thresholds(served: Served) -> None:
    budgets = get(served, "/api/budgets")["budgets"]
    ana = next(b for b in budgets if b["scope"] == "user:ana")
    assert (ana["spent"], ana["reserved"], ana["remaining"]) == ("0.006", "0", "0.004")
    assert ana["crossed"] == [0.5] and ana["limit"] == "0.01"
    assert any(b["scope"] == "global" for b in budgets)


def test_key_actions_and_no_secret_on_any_page(served: Served) -> None:
    created = httpx.post(
        served.url + "/api/keys", json={"project": "acme", "budget": "5/day"}, headers=WRITE
    ).json()
    secret, key_id = created["secret"], created["key"]["id"]
    listed = httpx.get(served.url + "/api/keys", headers=AUTH).text
    assert key_id in listed and secret not in listed and "digest" not in listed
    rotated = httpx.post(served.url + f"/api/keys/{key_id}/rotate", headers=WRITE).json()
    assert rotated["secret"] != secret
    revoked = httpx.post(served.url + f"/api/keys/{key_id}/revoke", headers=WRITE).json()
    assert revoked["key"]["status"] == "revoked"
    missing = httpx.post(served.url + "/api/keys/vk_nope/revoke", headers=WRITE)
    assert missing.status_code == 404


def test_models_search(served: Served) -> None:
    data = get(served, "/api/models", q="gpt-4o-mini", provider="openai")
    names = [m["model"] for m in data["models"]]
    assert "openai/gpt-4o-mini" in names and all("gpt-4o-mini" in n for n in names)
    m = next(m for m in data["models"] if m["model"] == "openai/gpt-4o-mini")
    assert m["prices_per_million"]["input"] is not None and m["context_window"]


def test_read_only_refuses_key_actions() -> None:
    from starlette.testclient import TestClient

    app = create_app(Sources(ledger=MemoryLedger(), keys=object(), read_only=True), TOKEN)
    with TestClient(app) as client:
        r = client.post("/api/keys", json={}, headers=WRITE)
        assert r.status_code == 403 and "read-only" in r.json()["error"]
        page = client.get("/", headers=AUTH).text
        assert 'data-read-only="true"' in page


def test_a_short_token_is_refused() -> None:
    with pytest.raises(ValueError, match="16 characters"):
        create_app(Sources(ledger=MemoryLedger()), "short")


def test_health_shows_breakers_of_the_shared_store(served: Served) -> None:
    data = get(served, "/api/health")
    states = {b["name"]: b for b in data["targets"] + data["keys"]}
    assert states["openai/gpt-4.1"]["state"] == "open"
    assert states["openai/gpt-4.1"]["failures"] == 5
    assert states["anthropic/claude-haiku-4-5"]["state"] == "closed"
    cooling = next(b for b in data["keys"] if b["name"] == "key:openai:openai-k1")
    assert cooling["state"] == "open" and 0 < cooling["retry_in_s"] <= 42
    # Targets seen in the ledger are listed even when the config names none.
    assert "gemini/gemini-2.5-flash" in states


def test_models_name_the_catalog_source(served: Served) -> None:
    data = get(served, "/api/models", capability="vision")
    assert data["catalog"]["source"] == "model_prices_litellm.json"
    assert all("vision" in m["capabilities"] for m in data["models"]) and data["count"] > 0
