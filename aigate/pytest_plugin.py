"""pytest fixtures for code that calls aigate: no sockets, no keys, a scripted provider.

Installed with aigate (entry point ``pytest11``: ``aigate``), so a test just asks::

    def test_summary(aigate_fake, aigate_gateway):
        aigate_fake.add(reply("A short summary."))
        assert summarize(aigate_gateway, "long text") == "A short summary."
        assert aigate_fake.last_request.json["model"] == "gpt-4o-mini"

- ``aigate_fake``: a fresh :class:`aigate.testing.FakeTransport` per test.
- ``aigate_gateway`` / ``aigate_async_gateway``: a gateway whose providers ``openai`` and
  ``anthropic`` (kind ``fake``, priced like the real ones) answer from ``aigate_fake``,
  with a memory ledger (``gw.usage``) and a route ``default`` (openai, then anthropic).
- ``@pytest.mark.aigate(routes=..., ledger=..., **config)`` changes that gateway's config
  for one test (merged over the defaults).
- ``aigate_cassette(name)``: a transport replaying ``cassettes/<name>.json`` beside the
  test file; run pytest with ``--aigate-record`` to record it against the real providers
  (keys from the environment, scrubbed from the file).

Every name starts with ``aigate`` so nothing clashes with an application's own fixtures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

    from aigate import AsyncGateway, Gateway
    from aigate.testing import FakeTransport

__all__ = [
    "aigate_async_gateway",
    "aigate_cassette",
    "aigate_config",
    "aigate_fake",
    "aigate_gateway",
]

DEFAULT_ROUTES = {"default": ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"]}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aigate")
    group.addoption(
        "--aigate-record",
        action="store_true",
        default=False,
        help="aigate_cassette: record cassettes against the real providers instead of "
        "replaying them",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "aigate(**config): settings merged into the aigate_gateway fixture's config "
        "(routes=..., ledger=..., providers=...)",
    )


@pytest.fixture
def aigate_fake() -> FakeTransport:
    """A fresh scripted fake provider: ``.add(reply(...))``, ``.when(model, ...)``,
    ``.calls``, ``.last_request``."""
    from aigate.testing import FakeTransport

    return FakeTransport()


@pytest.fixture
def aigate_config(request: pytest.FixtureRequest, aigate_fake: FakeTransport) -> dict[str, Any]:
    """The config ``aigate_gateway`` is built from (edit it before asking for the gateway,
    or use ``@pytest.mark.aigate(...)``)."""
    config: dict[str, Any] = {
        "providers": {
            "openai": {"kind": "fake", "options": {"transport": aigate_fake}},
            "anthropic": {"kind": "fake", "options": {"transport": aigate_fake}},
        },
        "routes": dict(DEFAULT_ROUTES),
        "ledger": "memory://",
    }
    marker = request.node.get_closest_marker("aigate")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("@pytest.mark.aigate takes keyword arguments only")
        for name, value in marker.kwargs.items():
            if name == "providers":
                config["providers"] = {**config["providers"], **value}
            else:
                config[name] = value
    return config


@pytest.fixture
def aigate_gateway(aigate_config: dict[str, Any]) -> Iterator[Gateway]:
    """A :class:`aigate.Gateway` answering from ``aigate_fake``; closed after the test."""
    from aigate import Gateway

    gateway = Gateway(aigate_config)
    try:
        yield gateway
    finally:
        gateway.close()


@pytest.fixture
def aigate_async_gateway(aigate_config: dict[str, Any]) -> Iterator[AsyncGateway]:
    """An :class:`aigate.AsyncGateway` answering from ``aigate_fake``.

    A plain fixture (no async plugin needed); use it inside your event loop. The fake
    transport holds no connections, so closing it after the loop is safe.
    """
    from aigate import AsyncGateway

    gateway = AsyncGateway(aigate_config)
    try:
        yield gateway
    finally:
        asyncio.run(gateway.aclose())


@pytest.fixture
def aigate_cassette(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[str], httpx.BaseTransport]]:
    """``aigate_cassette("name")``: a transport for ``Gateway(..., transport=...)`` that
    replays ``cassettes/name.json`` (next to the test file), or records it with
    ``--aigate-record``."""
    from aigate.recording import RecordingTransport, ReplayTransport

    record = bool(request.config.getoption("--aigate-record"))
    folder = Path(str(request.node.path)).parent / "cassettes"
    made: list[httpx.BaseTransport] = []

    def make(name: str) -> httpx.BaseTransport:
        path = folder / f"{name}.json"
        transport: httpx.BaseTransport
        if record:
            transport = RecordingTransport(None, path)
        elif not path.exists():
            pytest.skip(f"no cassette {path}; record it with pytest --aigate-record")
        else:
            transport = ReplayTransport(path)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()
