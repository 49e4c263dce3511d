"""Shared fixtures: a clean environment, and the real Redis / PostgreSQL servers.

In CI (``CI=true``) a missing Redis or PostgreSQL is a failure; on a laptop without them the
tests that need them skip, saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

REDIS_URL = os.environ.get("AIGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_DSN = os.environ.get("AIGATE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
_PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "GROQ_API_KEY",
    "OPENROUTER_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "MISTRAL_API_KEY",
    "DEEPSEEK_API_KEY",
)


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees a real provider key from the developer's shell."""
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)


def _service_missing(what: str, err: BaseException) -> None:
    reason = f"{what} is not reachable ({type(err).__name__}: {err})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; in CI this service must be running")
    pytest.skip(reason)


@pytest.fixture(name="redis_url")
def _redis_url() -> Iterator[str]:
    """URL of a real Redis database, flushed before and after the test."""
    try:
        import redis
    except ImportError as err:  # pragma: no cover - dev extra installs it
        _service_missing("the redis package", err)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as err:
        _service_missing(f"Redis at {REDIS_URL}", err)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(name="postgres_dsn")
def _postgres_dsn() -> Iterator[str]:
    """DSN of a real PostgreSQL database, with a fresh schema first on the search_path."""
    try:
        import psycopg
    except ImportError as err:  # pragma: no cover - dev extra installs it
        _service_missing("the psycopg package", err)
    try:
        admin = psycopg.connect(POSTGRES_DSN, autocommit=True, connect_timeout=3)
    except Exception as err:
        _service_missing(f"PostgreSQL at {POSTGRES_DSN}", err)
    schema = f"aigate_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in POSTGRES_DSN else "?"
    try:
        yield f"{POSTGRES_DSN}{sep}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()
