"""The HTML usage report: self-contained, escaped, and rendered for real in headless Chromium.

The browser test needs Debian's ``chromium`` package. Without it the test is skipped on a
laptop and fails in CI (``CI=true``), where the page must be checked.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from aigate._report_html import PALETTE, collect_report, format_usd, render_html, safe_url
from aigate.cli import main
from aigate.ledger import LedgerRecord, SQLiteLedger

UTC = timezone.utc
START = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
MODELS = (
    ("openai", "gpt-4o-mini", 180_000),
    ("openai", "gpt-4.1", 2_400_000),
    ("anthropic", "claude-haiku-4-5", 900_000),
    ("gemini", "gemini-2.5-flash", 300_000),
)
USERS = ("ana", "bo", "chen", "dee", "eve", "fay")
PROJECTS = ("search", "support", "billing")


def seed(ledger: SQLiteLedger, days: int = 14) -> None:
    """A fortnight of varied traffic: several models, users, projects, a few errors, a
    cache hit and an unpriced call."""
    n = 0
    for day in range(days):
        for i in range(6 + day % 5):
            provider, model, cost = MODELS[(day + i) % len(MODELS)]
            n += 1
            ledger.record(
                LedgerRecord(
                    id=f"r{n}",
                    ts=START + timedelta(days=day, minutes=7 * i),
                    provider=provider,
                    model=model,
                    user=USERS[(n * 7) % len(USERS)],
                    project=PROJECTS[n % len(PROJECTS)],
                    prompt_tokens=100 + 13 * i,
                    completion_tokens=40 + 5 * i,
                    cost_nano=cost * (1 + (day * i) % 4),
                    latency_ms=200.0 + 37 * i,
                    status="error" if n % 17 == 0 else "ok",
                    cached=n % 23 == 0,
                    saved_nano=cost if n % 23 == 0 else None,
                )
            )
    ledger.record(
        LedgerRecord(id="unpriced", ts=START, provider="local", model="llama3", cost_nano=None)
    )


@pytest.fixture(name="ledger_url")
def _ledger_url(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "ledger.db"
    with SQLiteLedger(str(path)) as ledger:
        seed(ledger)
    yield f"sqlite:///{path}"


class TestRender:
    def test_page_is_self_contained(self, ledger_url: str, tmp_path: Path) -> None:
        """No script, stylesheet, font or image is loaded from anywhere."""
        out = tmp_path / "report.html"
        assert main(["report", "--ledger", ledger_url, "--html", str(out)]) == 0
        page = out.read_text()
        assert page.startswith("<!doctype html>")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
        assert "<script" not in page and "@import" not in page and "url(" not in page
        assert page.count("<svg") == 4  # over time, by model, by provider, by project

    def test_page_shows_the_numbers(self, ledger_url: str) -> None:
        with SQLiteLedger(ledger_url.removeprefix("sqlite:///")) as ledger:
            report = collect_report(ledger, source=ledger_url)
            page = render_html(report)
            totals = ledger.totals()
        assert report.bucket == "day" and len({r.group["day"] for r in report.over_time}) == 14
        assert format_usd(totals.cost_nano) in page
        assert f"{totals.requests:,}" in page
        assert "+1 calls unpriced" in page
        assert "Top spenders by user" in page
        for provider, model, _ in MODELS:
            assert model in page and provider in page
        for user in USERS:
            assert f"<td>{user}</td>" in page

    def test_names_are_escaped(self, tmp_path: Path) -> None:
        """Model and user names come from callers; they are text, never markup."""
        with SQLiteLedger(str(tmp_path / "x.db")) as ledger:
            ledger.record(
                LedgerRecord(
                    id="x",
                    model="<script>alert(1)</script>",
                    user='"><img src=x onerror=alert(1)>',
                    cost_nano=5,
                )
            )
            page = render_html(collect_report(ledger))
        assert "<script>alert" not in page and "<img" not in page
        assert "&lt;script&gt;" in page

    def test_bucket_follows_the_range(self, ledger_url: str) -> None:
        """One day of data is shown per hour; a filtered range only shows its calls."""
        with SQLiteLedger(ledger_url.removeprefix("sqlite:///")) as ledger:
            day = collect_report(ledger, since=START, until=START + timedelta(days=1))
            assert day.bucket == "hour"
            assert day.totals.requests == 7  # 6 calls + the unpriced one on the first day
            empty = render_html(collect_report(ledger, since=datetime(2030, 1, 1, tzinfo=UTC)))
        assert "No calls in this range." in empty

    def test_helpers(self) -> None:
        assert format_usd(0) == "$0"
        assert format_usd(1_234_560_000_000) == "$1,234.56"
        assert format_usd(12_345_000) == "$0.0123"
        assert format_usd(48_000) == "$0.000048"
        assert format_usd(3) == "<$0.000001"
        assert format_usd(None) == "n/a"
        assert safe_url("postgresql://app:hunter2@db/aigate") == "postgresql://app:***@db/aigate"
        assert safe_url("sqlite:///x.db") == "sqlite:///x.db"


# -- the real browser ----------------------------------------------------------------------


def find_chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered RGB(A) rows of an 8-bit PNG (enough of a decoder
    to tell a rendered page from a blank one)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = color_type = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color_type = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    channels = {2: 3, 6: 4}[color_type]
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            upper_left = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - upper_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
                line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def test_report_renders_in_headless_chromium(ledger_url: str, tmp_path: Path) -> None:
    """The page, opened from a file by a real browser with no network, draws its charts:
    the screenshot is large and full of colour, not a blank or broken page."""
    chromium = find_chromium()
    if chromium is None:
        message = "chromium is not installed (Debian: apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI must check the HTML report in a real browser")
        pytest.skip(message)
    page = tmp_path / "report.html"
    assert main(["report", "--ledger", ledger_url, "--html", str(page)]) == 0
    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, timeout=90, check=False)
    assert shot.exists(), result.stderr.decode(errors="replace")[-2000:]
    data = shot.read_bytes()
    assert len(data) > 20_000
    width, height, rows = png_pixels(data)
    assert (width, height) == (1200, 1600)
    # Sample the page: many distinct colours, and the chart palette's colours are drawn.
    palette = [bytes.fromhex(c[1:]) for c in PALETTE]
    colours: set[bytes] = set()
    drawn = 0
    for row in rows[::8]:
        for x in range(0, len(row) - 3, 3 * 8):
            pixel = row[x : x + 3]
            colours.add(pixel)
            near = (all(abs(a - b) <= 10 for a, b in zip(pixel, c, strict=True)) for c in palette)
            drawn += any(near)
    assert len(colours) > 50, "the screenshot looks blank"
    assert drawn > 30, "no chart bars were drawn"
    # Kept for a person to look at when debugging: tmp_path survives a failed test.
    (tmp_path / "chromium.log").write_bytes(result.stderr)


# -- #14.13, #14.14, #14.21: the page honours the command line and reads right ------------


DAY = timedelta(days=1)


def _page(ledger_url: str, tmp_path: Path, *args: str) -> str:
    out = tmp_path / f"r{len(list(tmp_path.iterdir()))}.html"
    assert main(["report", "--ledger", ledger_url, "--html", str(out), *args]) == 0
    return out.read_text()


class TestCommandLine:
    def test_group_by_changes_the_page(self, ledger_url: str, tmp_path: Path) -> None:
        by_user = _page(ledger_url, tmp_path, "--group-by", "user")
        by_model = _page(ledger_url, tmp_path, "--group-by", "model")
        assert by_user != by_model
        assert "<h2>By user</h2>" in by_user and "<h2>By user</h2>" not in by_model
        assert "<h2>By model</h2>" in by_model
        section = by_user.split("<h2>By user</h2>", 1)[1].split("</section>", 1)[0]
        for user in USERS:
            assert f"<td>{user}</td>" in section

    def test_a_time_grouping_is_the_chart_bucket(self, ledger_url: str, tmp_path: Path) -> None:
        """`--group-by day` draws days, even for a window the page would draw in hours."""
        one_day = ("--since", "2024-05-01", "--until", "2024-05-02")
        assert "Spend per hour" in _page(ledger_url, tmp_path, *one_day)
        page = _page(ledger_url, tmp_path, "--group-by", "day", *one_day)
        assert "Spend per day" in page and "Spend per hour" not in page
        page = _page(ledger_url, tmp_path, "--group-by", "hour,provider")
        assert "Spend per hour" in page and "<h2>By hour, provider</h2>" in page

    def test_window_picks_the_bucket(self, ledger_url: str) -> None:
        """With no time grouping, the window decides, not how many days hold data."""
        with SQLiteLedger(ledger_url.removeprefix("sqlite:///")) as ledger:
            week = collect_report(ledger, since=START - timedelta(days=6), until=START + DAY)
        assert week.bucket == "day"

    def test_progress_on_stderr(
        self,
        ledger_url: str,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A long report says what it is reading (here every report is 'long')."""
        import aigate.cli

        monkeypatch.setattr(aigate.cli, "PROGRESS_AFTER_S", 0.0)
        out = tmp_path / "r.html"
        assert main(["report", "--ledger", ledger_url, "--html", str(out)]) == 0
        err = capsys.readouterr().err
        # one line per statement: the totals and every breakdown come from one
        for step in (
            "totals, spend per day, models, providers, projects",
            "top spenders",
            "latency percentiles",
        ):
            assert f"report: reading {step}..." in err
        assert main(["report", "--ledger", ledger_url]) == 0
        captured = capsys.readouterr()
        assert "report: reading totals..." in captured.err and "reading" not in captured.out
        assert main(["report", "--ledger", ledger_url, "--quiet"]) == 0
        assert "report: reading" not in capsys.readouterr().err


def _groq_ledger(tmp_path: Path) -> str:
    path = tmp_path / "groq.db"
    with SQLiteLedger(str(path)) as ledger:
        rows = [
            ("groq", "openai/gpt-oss-20b", 900),
            ("openai", "gpt-4o-mini", 400),
            ("openrouter", "anthropic/claude-3.5-sonnet-20241022-long-name", 2500),
            ("anthropic", "claude-haiku-4-5", 100),
        ]
        for i, (provider, model, cost) in enumerate(rows * 3):
            ledger.record(
                LedgerRecord(
                    id=f"g{i}",
                    ts=START + timedelta(hours=i),
                    provider=provider,
                    model=model,
                    project=f"p{i % 2}",
                    cost_nano=cost * (i + 1),
                )
            )
    return f"sqlite:///{path}"


class TestReadsRight:
    def test_models_carry_their_provider(self, tmp_path: Path) -> None:
        page = _page(_groq_ledger(tmp_path), tmp_path)
        models = page.split("<h2>Models</h2>", 1)[1]
        assert "<td>groq</td><td>openai/gpt-oss-20b</td>" in models
        chart = page.split("<h2>By model</h2>", 1)[1].split("</section>", 1)[0]
        assert "<title>groq/openai/gpt-oss-20b</title>" in chart

    def test_bar_labels_fit(self, tmp_path: Path) -> None:
        """Every label, right-aligned at x, starts inside the chart (7 px per character at
        12 px is wider than a system font's average)."""
        page = _page(_groq_ledger(tmp_path), tmp_path)
        labels = re.findall(
            r'<text x="([\d.]+)" y="[\d.]+" class="label" text-anchor="end">'
            r"<title>[^<]*</title>([^<]*)</text>",
            page,
        )
        assert len(labels) >= 8
        for x, text in labels:
            assert float(x) - 7 * len(html_unescape(text)) >= 0, text

    def test_colours_are_stable_per_name(self, ledger_url: str, tmp_path: Path) -> None:
        """A name has one colour on the whole page, whatever its rank in each chart."""
        page = _page(ledger_url, tmp_path, "--group-by", "provider")
        seen: dict[str, set[str]] = {}
        for color, name in re.findall(r'fill="(#[0-9a-f]{6})"><title>(?:\S+ )?([^<: ]+):', page):
            seen.setdefault(name, set()).add(color)
        for color, name in re.findall(r'<i style="background:(#[0-9a-f]{6})"></i>([^<]+)<', page):
            seen.setdefault(name, set()).add(color)
        assert {"openai", "anthropic", "gemini"} <= set(seen)
        assert all(len(colors) == 1 for colors in seen.values()), seen
        # and different names in one chart get different colours
        legend = re.findall(r'<i style="background:(#[0-9a-f]{6})"></i>', page)
        assert len(set(legend)) == len(legend)

    def test_models_table_sorted_by_spend(self, ledger_url: str, tmp_path: Path) -> None:
        page = _page(ledger_url, tmp_path)
        table = page.split("<h2>Models</h2>", 1)[1].split("</table>", 1)[0]
        spends = [
            float(v.replace(",", "")) if v != "0" else 0.0
            for v in re.findall(r'<td class="n">\$([\d.,]+)', table)
        ]
        assert len(spends) >= 4 and spends == sorted(spends, reverse=True)


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)
