"""The public surface: exported names, import cost, openai-compatible shapes."""

from __future__ import annotations

import subprocess
import sys

import pytest

import aigate


def test_all_is_sorted_and_complete() -> None:
    """__all__ lists every public name once, sorted, and each is importable."""
    names = [n for n in aigate.__all__ if not n.startswith("__")]
    assert names == sorted(names, key=str.upper) or names == sorted(names)
    assert len(set(aigate.__all__)) == len(aigate.__all__)
    public = {n for n in dir(aigate) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(aigate.__all__)
    for name in aigate.__all__:
        assert getattr(aigate, name) is not None


def test_public_classes_show_as_aigate() -> None:
    assert aigate.Gateway.__module__ == "aigate"
    assert repr(aigate.RateLimitError).startswith("<class 'aigate.")


def test_import_is_light() -> None:
    """`import aigate` loads none of the heavy or optional dependencies."""
    code = (
        "import sys, aigate; "
        "heavy = ['tiktoken', 'diskcache', 'redis', 'psycopg', 'opentelemetry', 'tenacity', "
        "'sqlite3', 'asyncio', 'openai']; "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("gateway", ["Gateway", "AsyncGateway"])
def test_a_gateway_that_never_sends_loads_no_http_library(gateway: str) -> None:
    """Issue 18: the HTTP engine, its client and SSL context, the budget and cache stores and
    the Responses/Messages surfaces load on first use; a gateway that is only built (a CLI
    command, a config check, a test that never calls) pays for none of them."""
    code = (
        "import sys, aigate; "
        f"gw = aigate.{gateway}(providers={{'openai': {{'api_keys': ['sk']}}}}); "
        "lazy = ['httpx', 'httpx2', 'aiohttp', 'ssl', 'aigate.budget', 'aigate.cache', "
        "'aigate.surfaces', 'asyncio']; "
        "print(','.join(m for m in lazy if m in sys.modules)); "
        "gw.responses; gw.messages; "
        "print(','.join(m for m in ['aigate.surfaces'] if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["", "aigate.surfaces"]


def test_error_tree() -> None:
    assert issubclass(aigate.RateLimitError, aigate.APIStatusError)
    assert issubclass(aigate.APIStatusError, aigate.APIError)
    assert issubclass(aigate.APITimeoutError, aigate.APIConnectionError)
    assert issubclass(aigate.ContextLengthExceededError, aigate.BadRequestError)
    for cls in (aigate.ConfigurationError, aigate.InvalidRequestError, aigate.AllTargetsFailed):
        assert issubclass(cls, aigate.AigateError)
    assert issubclass(aigate.InvalidRequestError, ValueError)


def test_the_protocols_are_in_one_module() -> None:
    """aigate.typing lists every protocol a backend implements (structlog's typing.py)."""
    import aigate.typing as protocols

    assert protocols.__all__ == sorted(protocols.__all__)
    for name in protocols.__all__:
        assert getattr(getattr(protocols, name), "_is_protocol", False), name
