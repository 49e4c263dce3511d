"""What the dashboard tests share besides fixtures (a module of its own name, so that
``conftest`` stays pytest's): the token, the seeded calls, the shapes the fixtures yield."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from aigate.ledger import BaseLedger, LedgerRecord

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


@dataclass
class Served:
    url: str
    sources: Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
