"""Test code that uses aigate with aigate's pytest plugin: runs ``examples/pytest_suite``.

The plugin is installed with aigate (a ``pytest11`` entry point), so the fixtures
``aigate_fake`` and ``aigate_gateway`` are simply there; see pytest_suite/test_support_bot.py.
Nothing here needs a network or a key. Equivalent to ``pytest examples/pytest_suite``.

    python examples/testing_with_pytest.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if __name__ == "__main__":
    suite = Path(__file__).parent / "pytest_suite"
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", str(suite)]))
