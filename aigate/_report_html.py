"""The usage report as one self-contained HTML page: inline CSS and inline SVG charts.

No script, no font, no image is fetched: the page renders the same from a file on a
laptop with no network as it does attached to an email. :func:`collect_report` reads the
ledger in a handful of statements (one for the totals and every breakdown, one for the top
spenders, the latency percentiles by index walks); :func:`render_html` is a pure function
of the collected data.
"""

from __future__ import annotations

import html
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from .ledger import SummaryRow
from .ledger._reports import refusals, usage_report

__all__ = ["Report", "collect_report", "format_usd", "render_html", "safe_url"]

UTC = timezone.utc
PALETTE = (
    "#2563eb",
    "#f97316",
    "#16a34a",
    "#dc2626",
    "#9333ea",
    "#0891b2",
    "#ca8a04",
    "#db2777",
    "#4b5563",
    "#65a30d",
)
OTHER_COLOR = "#9ca3af"
TIME_DIMENSIONS = ("hour", "day", "month")


def format_usd(nano: int | None) -> str:
    """A readable dollar amount from nano-USD: cents for dollars, more digits for small
    sums, so a $0.000042 call does not read as $0.00."""
    if nano is None:
        return "n/a"
    amount = Decimal(nano).scaleb(-9)
    if amount == 0:
        return "$0"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    if abs(amount) >= Decimal("0.01"):
        return f"${amount:.4f}"
    if abs(amount) >= Decimal("0.000001"):
        return f"${amount:.6f}"
    return "<$0.000001"


def format_int(value: int) -> str:
    return f"{value:,}"


def safe_url(url: str) -> str:
    """A store URL fit to print: any password is masked."""
    return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)


@dataclass
class Report:
    """Everything the page shows, read from a ledger: the numbers of ``summary()``, with
    latency percentiles where the page shows them (the totals, the models, the top
    spenders and the caller's grouping); ``over_time``, ``by_provider`` and ``by_project``
    have none (``None``), the page drawing their spend only."""

    totals: SummaryRow
    bucket: str = "day"
    over_time: list[SummaryRow] = field(default_factory=list)  # grouped by (bucket, provider)
    by_model: list[SummaryRow] = field(default_factory=list)  # grouped by (provider, model)
    by_provider: list[SummaryRow] = field(default_factory=list)
    by_project: list[SummaryRow] = field(default_factory=list)
    top: list[SummaryRow] = field(default_factory=list)
    top_by: str = "user"
    group_by: list[str] = field(default_factory=list)  # the caller's --group-by
    by_group: list[SummaryRow] = field(default_factory=list)
    since: datetime | date | None = None
    until: datetime | date | None = None
    source: str = ""
    refused: int = 0  # calls refused before sending (budget, rate limit): rows, not calls
    title: str = "aigate usage report"
    generated: datetime = field(default_factory=lambda: datetime.now(UTC))


def _choose_bucket(
    group_by: Sequence[str],
    since: datetime | date | None,
    until: datetime | date | None,
) -> str | None:
    """The time chart's bucket: the grouping's own time dimension when it has one; else
    from the window's span; else None, for the data to decide (hours for one day, months
    past ~3 months: see `usage_report`)."""
    for dimension in group_by:
        if dimension in TIME_DIMENSIONS:
            return dimension
    if since is not None:
        start = since if isinstance(since, datetime) else datetime(*since.timetuple()[:3])
        end = until or datetime.now(UTC)
        end = end if isinstance(end, datetime) else datetime(*end.timetuple()[:3])
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        if end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        span = end - start
        return "hour" if span <= timedelta(days=2) else "month" if span > timedelta(92) else "day"
    return None


def collect_report(
    ledger: Any,
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
    top_by: str = "user",
    top_n: int = 10,
    bucket: str | None = None,
    group_by: Sequence[str] = (),
    groups: Sequence[SummaryRow] | None = None,
    source: str = "",
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Read the report's views from a ledger (a SQLite or PostgreSQL ledger in a handful
    of statements, see `usage_report`; anything else through its ``summary``/``totals``/
    ``top_spenders``).

    ``group_by`` (the caller's grouping) adds a view of its own, and its time dimension
    (hour, day, month), if any, is the time chart's ``bucket``; ``groups`` passes rows
    already read for it. With no bucket given or implied it follows the window
    (``since``/``until``), else the data. ``progress`` is called with the name of what is
    read before each statement (a long report can say what it is doing).
    """
    window: dict[str, Any] = {"since": since, "until": until, "where": where}
    if bucket is None:
        bucket = _choose_bucket(group_by, since, until)
    views = usage_report(
        ledger, top_by=top_by, top_n=top_n, bucket=bucket, progress=progress, **window
    )
    by_group: list[SummaryRow] = []
    if group_by:
        if groups is None:
            if progress is not None:
                progress("groups")
            groups = ledger.summary(group_by=list(group_by), **window)
        by_group = list(groups)
    refused = 0
    if not any(key == "status" for key in (where or {})):  # else the filter says it all
        if progress is not None:
            progress("refusals")
        refused = refusals(ledger, since=since, until=until, where=where)
    return Report(
        totals=views.totals,
        bucket=views.bucket,
        over_time=views.over_time,
        by_model=views.by_model,
        by_provider=views.by_provider,
        by_project=views.by_project,
        top=views.top,
        top_by=top_by,
        group_by=list(group_by),
        by_group=by_group,
        since=since,
        until=until,
        source=safe_url(source),
        refused=refused,
    )


# -- charts --------------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _label(value: str | None) -> str:
    return "(none)" if value is None else value


def _name(row: SummaryRow, dimensions: Sequence[str]) -> str:
    """A row's label: its group values joined (``provider/model`` for a model, so a groq
    model is not mistaken for an OpenAI one)."""
    return "/".join(_label(row.group.get(d)) for d in dimensions)


class Colors:
    """One colour per name of a chart family (providers, models, projects, the caller's
    grouping), the same in every chart of the page whatever its rank there. Names are given
    their colours biggest spend first: each takes the slot a hash of its name picks (stable
    from report to report), or the next free one, so the top names never share a colour."""

    def __init__(self, names: Sequence[str]) -> None:
        self._of: dict[str, str] = {}
        taken: set[int] = set()
        for name in dict.fromkeys(names):  # first occurrence: the caller's (spend) order
            slot = zlib.crc32(name.encode()) % len(PALETTE)
            if len(taken) < len(PALETTE):
                while slot in taken:
                    slot = (slot + 1) % len(PALETTE)
                taken.add(slot)
            self._of[name] = PALETTE[slot]

    def __call__(self, name: str) -> str:
        if name not in self._of:
            self._of[name] = PALETTE[zlib.crc32(name.encode()) % len(PALETTE)]
        return self._of[name]


def _by_spend(rows: Sequence[SummaryRow], dimensions: Sequence[str]) -> list[SummaryRow]:
    return sorted(rows, key=lambda r: (-r.cost_nano, -r.requests, _name(r, dimensions)))


def _family(rows: Sequence[SummaryRow], dimensions: Sequence[str]) -> Colors:
    return Colors([_name(r, dimensions) for r in _by_spend(rows, dimensions)])


def _colors(report: Report) -> dict[str, Colors]:
    """The page's colour families, keyed by their dimensions joined with ``,``."""
    families = {
        "provider": _family(report.by_provider, ["provider"]),
        "provider,model": _family(report.by_model, ["provider", "model"]),
        "project": _family(report.by_project, ["project"]),
    }
    flat = _non_time(report.group_by)
    key = ",".join(flat)
    if flat and key not in families:
        families[key] = _family(report.by_group, flat)
    return families


def _non_time(group_by: Sequence[str]) -> list[str]:
    return [d for d in group_by if d not in TIME_DIMENSIONS]


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _time_chart(report: Report, colors: Colors) -> str:
    """Stacked columns: spend per time bucket, one colour per provider."""
    buckets: list[str] = []
    providers: list[str] = []
    cells: dict[tuple[str, str], SummaryRow] = {}
    for row in report.over_time:
        when = _label(row.group.get(report.bucket))
        provider = _label(row.group.get("provider"))
        if when not in buckets:
            buckets.append(when)
        cells[(when, provider)] = row
    by_provider_cost: dict[str, int] = {}
    for (_, provider), row in cells.items():
        by_provider_cost[provider] = by_provider_cost.get(provider, 0) + row.cost_nano
    providers = sorted(by_provider_cost, key=lambda p: (-by_provider_cost[p], p))
    if not buckets:
        return '<p class="empty">No calls in this range.</p>'
    totals = [sum(cells[(b, p)].cost_nano for p in providers if (b, p) in cells) for b in buckets]
    top = _nice_max(max(totals))
    width, height = 1040, 300
    left, right, bottom, top_pad = 78, 12, 46, 14
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    slot = plot_w / len(buckets)
    bar_w = max(2.0, min(48.0, slot * 0.72))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Spend per {report.bucket}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i in range(5):  # grid lines and dollar ticks
        value = top * i // 4
        y = top_pad + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 8}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{_e(format_usd(value))}</text>"
        )
    every = max(1, round(len(buckets) / 14))
    for index, when in enumerate(buckets):
        x = left + slot * index + (slot - bar_w) / 2
        y = top_pad + plot_h
        for provider in providers:
            cell = cells.get((when, provider))
            if cell is None or cell.cost_nano <= 0:
                continue
            h = plot_h * cell.cost_nano / top
            y -= h
            color = colors(provider)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{_e(when)} {_e(provider)}: '
                f"{_e(format_usd(cell.cost_nano))}, {cell.requests} calls</title></rect>"
            )
        if index % every == 0:
            cx = left + slot * index + slot / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{height - bottom + 18}" class="tick" '
                f'text-anchor="middle">{_e(_short_bucket(when, report.bucket))}</text>'
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{colors(p)}"></i>{_e(p)}</span>' for p in providers
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _short_bucket(value: str, bucket: str) -> str:
    if bucket == "day" and len(value) == 10:
        return value[5:]  # 2024-05-01 -> 05-01
    if bucket == "hour" and "T" in value:
        return value.split("T", 1)[1]  # -> 13:00
    return value


#: Bar chart geometry: the label column grows with the longest label, up to this many
#: characters (longer ones are cut with an ellipsis, the full name in the tooltip).
LABEL_CHARS = 30
_CHAR_W = 7.0  # px per character at the labels' 12px, a little over a system font's average


def _bars(
    rows: Sequence[SummaryRow], dimensions: Sequence[str], colors: Colors, limit: int = 8
) -> str:
    """Horizontal bars of spend per group, the biggest first; the rest folded in 'other'."""
    ranked = _by_spend(rows, dimensions)
    if not ranked:
        return '<p class="empty">No data.</p>'
    shown = ranked[:limit]
    rest = ranked[limit:]
    items = [(_name(r, dimensions), r.cost_nano, r.requests, False) for r in shown]
    if rest:
        items.append(
            (
                f"other ({len(rest)})",
                sum(r.cost_nano for r in rest),
                sum(r.requests for r in rest),
                True,
            )
        )
    top = max(1, max(cost for _, cost, _, _ in items))

    def cut(name: str) -> str:
        return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "\u2026"

    longest = max(len(cut(name)) for name, _, _, _ in items)
    label_w = int(12 + _CHAR_W * longest)  # the labels end at label_w - 8: none starts < 0
    row_h, value_w, bar_space = 26, 80, 170
    width = label_w + bar_space + value_w
    height = row_h * len(items) + 6
    parts = [  # never drawn wider than its own size: the 12px labels stay 12px at most
        f'<svg class="chart" viewBox="0 0 {width} {height}" style="max-width:{width}px" '
        f'role="img" aria-label="Spend by {_e(", ".join(dimensions))}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, (name, cost, requests, is_other) in enumerate(items):
        y = index * row_h + 4
        w = max(1.5, bar_space * cost / top) if cost > 0 else 0
        color = OTHER_COLOR if is_other else colors(name)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" class="label" text-anchor="end">'
            f"<title>{_e(name)}</title>{_e(cut(name))}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 9}" rx="3" '
            f'fill="{color}"><title>{_e(name)}: {_e(format_usd(cost))}, '
            f"{requests} calls</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" class="value">'
            f"{_e(format_usd(cost))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(
    rows: Sequence[SummaryRow], dimensions: Sequence[str], total_nano: int, *, by_spend: bool
) -> str:
    if not rows:
        return '<p class="empty">No data.</p>'
    if by_spend:
        rows = _by_spend(rows, dimensions)
    head = (
        "".join(f"<th>{_e(d)}</th>" for d in dimensions)
        + "<th>calls</th><th>errors</th><th>tokens in</th>"
        "<th>tokens out</th><th>spend</th><th>share</th><th>p95 latency</th>"
    )
    body = []
    for row in rows:
        share = row.cost_nano / total_nano if total_nano else 0.0
        p95 = f"{row.latency_p95_ms:,.0f} ms" if row.latency_p95_ms is not None else ""
        unpriced = f' <span class="muted">+{row.unpriced} unpriced</span>' if row.unpriced else ""
        cells = "".join(f"<td>{_e(_label(row.group.get(d)))}</td>" for d in dimensions)
        body.append(
            f"<tr>{cells}"
            f'<td class="n">{format_int(row.requests)}</td>'
            f'<td class="n">{format_int(row.errors)}</td>'
            f'<td class="n">{format_int(row.prompt_tokens)}</td>'
            f'<td class="n">{format_int(row.completion_tokens)}</td>'
            f'<td class="n">{_e(format_usd(row.cost_nano))}{unpriced}</td>'
            f'<td class="n"><span class="share"><b style="width:{share * 100:.1f}%"></b>'
            f"</span>{share:.0%}</td>"
            f'<td class="n">{p95}</td></tr>'
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _group_section(report: Report, colors: Mapping[str, Colors]) -> str:
    """The caller's own grouping: bars (for its non-time dimensions) and a table."""
    if not report.group_by:
        return ""
    dims = report.group_by
    title = ", ".join(dims)
    flat = _non_time(dims)
    chart = ""
    if flat and flat == list(dims):
        chart = _bars(report.by_group, flat, colors[",".join(flat)], limit=12)
    # a time dimension keeps the table in time order; otherwise the biggest spend first
    table = _table(report.by_group, dims, report.totals.cost_nano, by_spend=flat == list(dims))
    return f'<section style="margin-top:18px"><h2>By {_e(title)}</h2>{chart}{table}</section>'


def _card(title: str, value: str, note: str = "") -> str:
    note_html = f'<div class="note">{_e(note)}</div>' if note else ""
    return (
        f'<div class="card"><div class="k">{_e(title)}</div>'
        f'<div class="v">{_e(value)}</div>{note_html}</div>'
    )


def _range_text(report: Report) -> str:
    def show(value: datetime | date | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return value.isoformat()

    since, until = show(report.since), show(report.until)
    if since and until:
        return f"{since} to {until}"
    if since:
        return f"since {since}"
    if until:
        return f"until {until}"
    return "all recorded calls"


_CSS = """
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:16px;margin:0 0 12px}
.sub{color:var(--muted);margin-bottom:20px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;
margin-bottom:18px}
.card,section{background:var(--card);border:1px solid var(--line);border-radius:10px}
.card{padding:12px 14px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:22px;font-weight:650;margin-top:2px}
.card .note{color:var(--muted);font-size:12px}
section{padding:16px 18px;margin-bottom:18px}
.grid3{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:18px}
.grid3 section{margin-bottom:0}
svg.chart{width:100%;height:auto;display:block}
svg .grid{stroke:var(--line)}svg .tick{fill:var(--muted);font-size:11px}
svg .label{fill:var(--fg);font-size:12px}svg .value{fill:var(--muted);font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin-top:8px;color:var(--muted);font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;
vertical-align:-1px}
table{width:100%;border-collapse:collapse}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left}
th{color:var(--muted);font-weight:600;font-size:12px}
td.n{text-align:right;font-variant-numeric:tabular-nums}
th:not(:first-child){text-align:right}
.share{display:inline-block;width:60px;height:6px;background:var(--line);border-radius:3px;
margin-right:6px;vertical-align:middle}
.share b{display:block;height:6px;background:#2563eb;border-radius:3px}
.muted,.empty{color:var(--muted)}footer{color:var(--muted);font-size:12px}
"""


def render_html(report: Report) -> str:
    """The report as a complete HTML document (UTF-8, no external resource)."""
    t = report.totals
    tokens = t.prompt_tokens + t.completion_tokens
    priced_note = f"+{t.unpriced} calls unpriced" if t.unpriced else "every call priced"
    cache_note = f"saved {format_usd(t.saved_nano)}" if t.saved_nano else "no cache savings"
    calls_note = f"{t.errors} errors ({t.error_rate:.1%})" + (
        f", {format_int(report.refused)} refused before sending" if report.refused else ""
    )
    p95 = f"{t.latency_p95_ms:,.0f} ms" if t.latency_p95_ms is not None else "n/a"
    p50 = f"p50 {t.latency_p50_ms:,.0f} ms" if t.latency_p50_ms is not None else ""
    cards = "".join(
        [
            _card("Spend", format_usd(t.cost_nano), priced_note),
            _card("Calls", format_int(t.requests), calls_note),
            _card(
                "Tokens",
                format_int(tokens),
                f"{format_int(t.prompt_tokens)} in / {format_int(t.completion_tokens)} out",
            ),
            _card("Cache hits", format_int(t.cache_hits), cache_note),
            _card("Latency p95", p95, p50),
        ]
    )
    source = f" &middot; {_e(report.source)}" if report.source else ""
    colors = _colors(report)
    models = ["provider", "model"]
    generated = report.generated.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="aigate">
<title>{_e(report.title)}</title>
<style>{_CSS}</style></head>
<body><main>
<h1>{_e(report.title)}</h1>
<div class="sub">{_e(_range_text(report))}{source}</div>
<div class="cards">{cards}</div>
<section><h2>Spend per {_e(report.bucket)}, by provider</h2>
{_time_chart(report, colors["provider"])}</section>
<section><h2>By model</h2>{_bars(report.by_model, models, colors["provider,model"])}</section>
<div class="grid3">
<section><h2>By provider</h2>{_bars(report.by_provider, ["provider"], colors["provider"])}</section>
<section><h2>By project</h2>{_bars(report.by_project, ["project"], colors["project"])}</section>
</div>
{_group_section(report, colors)}
<section style="margin-top:18px"><h2>Top spenders by {_e(report.top_by)}</h2>
{_table(report.top, [report.top_by], t.cost_nano, by_spend=True)}</section>
<section><h2>Models</h2>{_table(report.by_model, models, t.cost_nano, by_spend=True)}</section>
<footer>Generated by aigate on {generated}. Amounts are exact sums of recorded costs;
calls whose price is unknown are counted apart, never as $0.</footer>
</main></body></html>
"""
