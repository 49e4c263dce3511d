"""Options of the chaos soak: ``--soak-seconds`` (60 by default, the CI run).

A long run: ``pytest tests/soak --soak-seconds 600``. The pytest-timeout limit of the soak
grows with it, so a long run is not cut at the project's default of 120 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DEFAULT_SECONDS = 60.0
_HERE = Path(__file__).parent
# Setup (server, four workers importing aigate), the kill's TTL wait and the checks.
_OVERHEAD_S = 90.0


def _seconds(config: pytest.Config) -> float:
    # The option is registered by tests/conftest.py, so every run accepts it.
    return float(config.getoption("--soak-seconds", default=DEFAULT_SECONDS))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees every collected item: only those in this directory are soak tests.
    timeout = pytest.mark.timeout(_seconds(config) + _OVERHEAD_S)
    for item in items:
        if item.path.is_relative_to(_HERE):
            item.add_marker(timeout)


@pytest.fixture
def soak_seconds(request: pytest.FixtureRequest) -> float:
    """How long the soak runs (``--soak-seconds``)."""
    seconds = _seconds(request.config)
    if seconds <= 0:
        raise pytest.UsageError("--soak-seconds must be positive")
    return seconds
