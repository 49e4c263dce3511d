"""Every example runs offline (fake providers, no key in the environment) and shows what it
says it shows. CI also runs each one directly (.ci/run); this checks their output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# What each example must print (offline); a new example without an entry fails the test.
EXPECTED: dict[str, tuple[str, ...]] = {
    "quickstart.py": (
        "answered: openai/gpt-4o-mini after 2 attempts",
        "cost:     $0.0000",
        "priced at $0.0000",
        "embed:",
    ),
    "failover.py": (
        "RateLimitError (transient)",
        "APITimeoutError (transient)",
        "-> answered by groq/openai/gpt-oss-20b: 'primary ok'",
        "BadRequestError raised at once",
    ),
    "budgets_per_tenant.py": (
        "acme: call 1 cost $0.0000",
        "refused before sending: key:vk_",
        "refused before sending: user:bo has no room",
        "acme may not use gpt-4.1: ModelNotAllowedError",
        "acme/ana: 6 calls",
    ),
    "caching.py": (
        "cached=False cost=$0.0000",
        "cached=True cost=$0 saved=$0.0000",
        "1 cache hits",
    ),
    "streaming.py": (
        "The lighthouse keeper counted ships.",
        "-> openai/gpt-4o-mini: $0.0000",
        "estimated usage: False",
        "async: ",
        "interrupted: kept the partial answer 'one two three'",
    ),
    "async_fanout.py": ("24 answers in", "ledger: 24 calls", "tokens, $0.000"),
    "fastapi_app.py": (
        "POST /chat as ana: 200",
        "'cost_usd': '0.0000",
        "POST /chat as ana: 429 {'error': 'BudgetExceeded'",
        "POST /chat/stream: 200",
        "GET /usage:",
    ),
    "testing_with_pytest.py": ("7 passed",),
    "realtime_voice.py": ("3 responses on openai/gpt-realtime: $0.0", "one session row"),
    "sdk_openai.py": ("reply:   Hello from behind aigate.", "error:   RateLimitError 429"),
    "with_pydantic_ai.py": ("answer: It is sunny in Paris, 24 C.", "provider calls: 2"),
    "with_langchain.py": ("invoke: Bonjour tout le monde.", "stream: Un deux trois."),
    "with_openai_agents.py": ("with a model: 2 + 3 = 5",),
    "with_instructor.py": ("user: name='Ana' age=31", "validation error sent back: True"),
}


def offline_env() -> dict[str, str]:
    """The environment without any provider key or aigate setting: the fake path."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.endswith("_API_KEY") and not name.startswith(("AIGATE_", "PYTEST_"))
    }


def test_every_example_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_offline(name: str) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=120,
        env=offline_env(),
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for expected in EXPECTED[name]:
        assert expected in result.stdout, f"{expected!r} not in:\n{result.stdout}"
    assert "Traceback" not in result.stderr
    # an example shows what it claims: an unknown price would print None (or warn)
    assert "None" not in result.stdout, result.stdout
    assert "no price known" not in result.stderr, result.stderr
