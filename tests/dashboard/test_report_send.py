"""``aigate report --send URL``: the summary posted to a local HTTP server in each format,
the same numbers as the ledger's reports, and failures that never show the webhook secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aigate._exceptions import ConfigurationError
from aigate._report_send import ReportSendError, build_summary, default_window, payload, send_report
from aigate.ledger import LedgerRecord, SQLiteLedger

UTC = timezone.utc
DAY = datetime(2024, 5, 1, tzinfo=UTC)


class Hook:
    """A loopback webhook that records each POST and answers ``status``."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any], str]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append((self.path, json.loads(body), self.headers["Content-Type"]))
                self.send_response(hook.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SQLiteLedger]:
    led = SQLiteLedger(tmp_path / "l.db")
    for i in range(30):
        led.record(
            LedgerRecord(
                id=f"r{i}",
                ts=DAY + timedelta(minutes=40 * i),  # 20 hours of the day
                provider="openai",
                model="gpt-4o-mini" if i % 3 else "gpt-4.1",
                user=f"u{i % 4}",
                prompt_tokens=100,
                completion_tokens=10,
                cost_nano=1_000_000 * (1 + i % 3),
                latency_ms=100.0 + i,
                status="error" if i == 4 else "ok",
            )
        )
    led.record(LedgerRecord(id="yesterday", ts=DAY - timedelta(hours=1), cost_nano=5))
    yield led
    led.close()


WINDOW = {"since": DAY, "until": DAY + timedelta(days=1)}


def test_json_body_equals_the_reports(hook: Hook, ledger: SQLiteLedger) -> None:
    assert send_report(hook.url + "/hook", ledger, fmt="json", **WINDOW) == 200
    [(path, body, ctype)] = hook.posts
    assert path == "/hook" and ctype == "application/json"
    assert body["type"] == "aigate.report"
    assert body["totals"] == ledger.totals(**WINDOW).to_dict()
    assert body["top"] == [r.to_dict() for r in ledger.top_spenders("user", 5, **WINDOW)]
    assert body["by_model"] == [r.to_dict() for r in ledger.top_spenders("model", 10, **WINDOW)]
    assert body["window"]["since"] == DAY.isoformat()


def test_slack_and_telegram_bodies(hook: Hook, ledger: SQLiteLedger) -> None:
    send_report(hook.url + "/services/T0/B0/secret", ledger, fmt="slack", **WINDOW)
    slack = hook.posts[-1][1]
    assert set(slack) == {"text", "blocks"}
    assert "30 calls, $0.0600 spent, 1 error (3.3%)" in slack["text"]
    assert slack["blocks"][1]["text"]["type"] == "mrkdwn"
    send_report(
        hook.url + "/bot123:ABC/sendMessage?chat_id=-10042", ledger, fmt="telegram", **WINDOW
    )
    path, tg, _ = hook.posts[-1]
    assert path == "/bot123:ABC/sendMessage"  # the chat id moves into the body
    assert tg["chat_id"] == "-10042" and tg["text"].startswith(
        "aigate usage, 2024-05-01 00:00 to 2024-05-02 00:00 UTC"
    )


def test_formats_are_chosen_from_the_url() -> None:
    summary = {"totals": {}}
    with pytest.raises(ConfigurationError, match="chat id"):
        payload(summary, "telegram")
    from aigate._report_send import _format_for

    assert _format_for("https://hooks.slack.com/services/x", "auto") == "slack"
    assert _format_for("https://api.telegram.org/botX/sendMessage", "auto") == "telegram"
    assert _format_for("https://example.invalid/hook", "auto") == "json"
    with pytest.raises(ConfigurationError, match="format"):
        _format_for("https://example.invalid/hook", "xml")


def test_the_default_window_is_yesterday() -> None:
    since, until = default_window(datetime(2024, 5, 2, 15, 30, tzinfo=UTC))
    assert (since, until) == (DAY, DAY + timedelta(days=1))


def test_failures_never_show_the_secret(hook: Hook, ledger: SQLiteLedger) -> None:
    hook.status = 500
    with pytest.raises(ReportSendError, match="answered 500") as info:
        send_report(hook.url + "/services/T0/B0/s3cret", ledger, **WINDOW)
    assert "s3cret" not in str(info.value)
    with pytest.raises(ConfigurationError, match="http"):
        send_report("ftp://example.invalid/s3cret", ledger)
    hook.close()
    with pytest.raises(ReportSendError, match="could not reach") as info:
        send_report(hook.url + "/s3cret", ledger, timeout=2, **WINDOW)
    assert "s3cret" not in str(info.value)


def test_summary_counts_refusals_apart(ledger: SQLiteLedger) -> None:
    summary = build_summary(ledger, **WINDOW)
    assert summary["refused"] == 0 and summary["totals"]["requests"] == 30
