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

from aigate._report_html import collect_report, format_usd, render_html, safe_url
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
    # Sample the page: many distinct colours, and the chart palette's blue is drawn.
    colours: set[bytes] = set()
    blue = 0
    for row in rows[::8]:
        for x in range(0, len(row) - 3, 3 * 8):
            pixel = row[x : x + 3]
            colours.add(pixel)
            r, g, b = pixel
            blue += b > 180 and r < 80 and g < 140  # the first series colour, #2563eb
    assert len(colours) > 50, "the screenshot looks blank"
    assert blue > 30, "no chart bars were drawn"
    # Kept for a person to look at when debugging: tmp_path survives a failed test.
    (tmp_path / "chromium.log").write_bytes(result.stderr)
