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
POSTGRES_DSN = os.environ.get(
    "AIGATE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
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


def pytest_addoption(parser: pytest.Parser) -> None:
    # Registered here, in the root conftest, so `pytest tests --soak-seconds 600` works too.
    parser.addoption(
        "--soak-seconds",
        type=float,
        default=60.0,
        help="how long the chaos soak (tests/soak) calls the gateway (default: 60, the CI run)",
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


# -- one test body for Gateway and AsyncGateway ---------------------------------------------


class Harness:
    """Runs calls on a Gateway or an AsyncGateway built from the same arguments, so a test
    is written once and checks both drivers. Async calls run each in ``asyncio.run``."""

    def __init__(self, mode: str, **kwargs: object) -> None:
        import aigate

        self.mode = mode
        self.gw: aigate.Gateway | aigate.AsyncGateway
        self.gw = aigate.Gateway(**kwargs) if mode == "sync" else aigate.AsyncGateway(**kwargs)

    def _run(self, make: object) -> object:
        import asyncio

        result = make()  # type: ignore[operator]
        if self.mode == "sync":
            return result
        return asyncio.run(result)

    def chat(self, **kwargs: object) -> object:
        return self._run(lambda: self.gw.chat.completions.create(**kwargs))

    def embeddings(self, **kwargs: object) -> object:
        return self._run(lambda: self.gw.embeddings.create(**kwargs))

    def transcribe(self, **kwargs: object) -> object:
        return self._run(lambda: self.gw.audio.transcriptions.create(**kwargs))

    def stream(self, *, limit: int | None = None, **kwargs: object) -> tuple[list[object], object]:
        """Open a stream and read it (``limit`` chunks, then close); returns (chunks, stream)."""
        import asyncio

        if self.mode == "sync":
            stream = self.gw.chat.completions.create(stream=True, **kwargs)
            chunks = []
            with stream:
                for chunk in stream:
                    chunks.append(chunk)
                    if limit is not None and len(chunks) >= limit:
                        break
            return chunks, stream

        async def run() -> tuple[list[object], object]:
            stream = await self.gw.chat.completions.create(stream=True, **kwargs)
            chunks = []
            async with stream:
                async for chunk in stream:
                    chunks.append(chunk)
                    if limit is not None and len(chunks) >= limit:
                        break
            return chunks, stream

        return asyncio.run(run())

    def close(self) -> None:
        import asyncio

        if self.mode == "sync":
            self.gw.close()
        else:
            asyncio.run(self.gw.aclose())


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once with Gateway and once with AsyncGateway."""
    return str(request.param)


@pytest.fixture
def make_gateway(mode: str) -> Iterator[object]:
    """``make_gateway(**kwargs)`` builds a :class:`Harness` for the current mode."""
    made: list[Harness] = []

    def make(**kwargs: object) -> Harness:
        harness = Harness(mode, **kwargs)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
