"""``aigate report --send URL``: post a usage summary of a window to a webhook.

Three bodies, chosen from the URL (or forced with ``fmt``):

- ``json``: aigate's own, ``{"type": "aigate.report", "window": ..., "totals": ...,
  "by_model": [...], "top": [...]}`` with the `SummaryRow.to_dict` fields (USD amounts are
  exact decimal strings);
- ``slack`` (``hooks.slack.com``): an incoming webhook's ``{"text", "blocks"}`` (Slack,
  "Sending messages using incoming webhooks": a JSON body with ``text`` and optional
  ``blocks`` of ``mrkdwn`` sections);
- ``telegram`` (``api.telegram.org/bot<token>/sendMessage``): Telegram Bot API
  ``sendMessage`` with ``chat_id`` and plain ``text`` (the chat id from ``chat_id=`` or
  the URL's ``?chat_id=`` query).

Every number comes from the report views (`aigate.ledger._reports`). Webhook URLs hold
secrets (Slack's path, Telegram's bot token): no message or error shows more of one
than its scheme and host. Uses the standard library's HTTP client: no extra dependency.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from ._exceptions import AigateError, ConfigurationError
from .ledger import _reports as views

__all__ = [
    "FORMATS",
    "ReportSendError",
    "build_summary",
    "default_window",
    "payload",
    "send_report",
]

UTC = timezone.utc
FORMATS = ("auto", "json", "slack", "telegram")


class ReportSendError(AigateError):
    """The webhook could not be reached or answered with an error status."""


def default_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Yesterday in UTC, ``[00:00, 24:00)``: what a daily cron job reports."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    end = datetime.combine(today, time(), UTC)
    return end - timedelta(days=1), end


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def build_summary(
    ledger: Any,
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
    top_by: str = "user",
    top_n: int = 5,
    source: str = "",
) -> dict[str, Any]:
    """The generic JSON summary of a window: totals, refusals, failovers, latency, the
    models by spend and the top spenders."""
    window: dict[str, Any] = {"since": since, "until": until, "where": where}
    o = views.overview(ledger, **window)
    by_model = views.breakdown(ledger, "model", top=10, **window)
    top = views.breakdown(ledger, top_by, top=top_n, **window) if top_n else []
    return {
        "type": "aigate.report",
        "source": source,
        "window": {"since": _iso(since), "until": _iso(until), "where": dict(where or {})},
        "totals": o.totals.to_dict(),
        "refused": o.refused,
        "failovers": o.failovers,
        "failover_rate": o.failover_rate,
        "cache_hit_rate": o.cache_hit_rate,
        "latency_ms": dict(o.latency_ms),
        "by_model": [r.to_dict() for r in by_model],
        "top_by": top_by,
        "top": [r.to_dict() for r in top],
    }


def _usd(text: str) -> str:
    from ._report_html import format_usd
    from .pricing import to_nano

    return format_usd(to_nano(Decimal(text)))


def _lines(summary: Mapping[str, Any]) -> list[str]:
    t = summary["totals"]
    w = summary["window"]
    since = (w["since"] or "start")[:16].replace("T", " ")
    until = (w["until"] or "now")[:16].replace("T", " ")
    span = f"{since} to {until} UTC"
    p95 = summary["latency_ms"].get("p95")
    lines = [
        f"aigate usage, {span}",
        f"{t['requests']:,} calls, {_usd(t['cost_usd'])} spent"
        + (f" (+{t['unpriced']:,} unpriced)" if t["unpriced"] else "")
        + f", {t['errors']:,} error{'' if t['errors'] == 1 else 's'} ({t['error_rate']:.1%})",
        f"cache hits {summary['cache_hit_rate']:.1%} (saved {_usd(t['saved_usd'])}), "
        f"failovers {summary['failover_rate']:.1%}, refused {summary['refused']:,}"
        + (f", p95 {p95:,.0f} ms" if p95 is not None else ""),
    ]
    if summary["by_model"]:
        lines.append(
            "top models: "
            + ", ".join(
                f"{r['group']['model'] or '(none)'} {_usd(r['cost_usd'])}"
                for r in summary["by_model"][:5]
            )
        )
    if summary["top"]:
        by = summary["top_by"]
        lines.append(
            f"top {by}s: "
            + ", ".join(
                f"{r['group'][by] or '(none)'} {_usd(r['cost_usd'])}" for r in summary["top"]
            )
        )
    return lines


def _format_for(url: str, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigurationError(
            f"report send format {fmt!r}; expected one of {', '.join(FORMATS)}", field="send"
        )
    if fmt != "auto":
        return fmt
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "hooks.slack.com":
        return "slack"
    if host == "api.telegram.org":
        return "telegram"
    return "json"


def payload(summary: Mapping[str, Any], fmt: str, *, chat_id: str | None = None) -> dict[str, Any]:
    """The request body of one format (``json``, ``slack`` or ``telegram``)."""
    if fmt == "json":
        return dict(summary)
    if fmt == "telegram" and not chat_id:
        raise ConfigurationError(
            "a Telegram report needs a chat id: add ?chat_id=... to the URL", field="send"
        )
    lines = _lines(summary)
    if fmt == "slack":
        body = "\n".join(lines[1:])
        return {
            "text": "\n".join(lines),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": lines[0]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": body}},
            ],
        }
    if fmt == "telegram":
        return {"chat_id": chat_id, "text": "\n".join(lines), "disable_web_page_preview": True}
    raise ConfigurationError(f"unknown report send format {fmt!r}", field="send")


def _shown(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/..."


def send_report(
    url: str,
    ledger: Any,
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
    fmt: str = "auto",
    chat_id: str | None = None,
    top_by: str = "user",
    top_n: int = 5,
    timeout: float = 10.0,
    source: str = "",
) -> int:
    """Post the summary of ``[since, until)`` (default: yesterday, UTC) to ``url``;
    returns the HTTP status. Raises `ConfigurationError` for a bad URL or format (before
    anything is read or sent) and `ReportSendError` when the webhook fails."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            "report --send needs an http:// or https:// webhook URL", field="send"
        )
    kind = _format_for(url, fmt)
    query = dict(urllib.parse.parse_qsl(parts.query))
    if kind == "telegram":
        chat_id = chat_id or query.get("chat_id")
        if not chat_id:
            raise ConfigurationError(
                "a Telegram report needs a chat id: add ?chat_id=... to the URL", field="send"
            )
        url = urllib.parse.urlunsplit(parts._replace(query=""))
    if since is None and until is None:
        since, until = default_window()
    summary = build_summary(
        ledger, since=since, until=until, where=where, top_by=top_by, top_n=top_n, source=source
    )
    body = json.dumps(payload(summary, kind, chat_id=chat_id)).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "aigate-report"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        raise ReportSendError(
            f"the webhook at {_shown(url)} answered {exc.code} {exc.reason}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReportSendError(
            f"could not reach the webhook at {_shown(url)}: {type(reason).__name__}"
        ) from None
