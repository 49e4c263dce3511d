"""Each framework's example runs offline on the fake provider, in this process, and does
what it says: the framework's own client code drives aigate through the SDK transport."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CASES = {
    "sdk_openai.py": (
        "openai",
        (
            "type:    openai.types.chat.chat_completion.ChatCompletion",
            "reply:   Hello from behind aigate.",
            "error:   RateLimitError 429 retried by the SDK: False",
            "ledger:  3 calls recorded",
        ),
    ),
    "with_pydantic_ai.py": (
        "pydantic_ai",
        ("answer: It is sunny in Paris, 24 C.", "tool result sent back: True", "provider calls: 2"),
    ),
    "with_langchain.py": (
        "langchain_openai",
        ("invoke: Bonjour tout le monde.", "stream: Un deux trois.", "usage:  11"),
    ),
    "with_openai_agents.py": (
        "agents",
        (
            "with a model: 2 + 3 = 5",
            "default client: Hello from the default client.",
            "provider calls: 3",
        ),
    ),
    "with_instructor.py": (
        "instructor",
        (
            "user: name='Ana' age=31",
            "gateway calls: 2 ledger rows: 2",
            "validation error sent back: True",
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_framework_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module, expected = CASES[name]
    pytest.importorskip(module)
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    out = capsys.readouterr().out
    for line in expected:
        assert line in out, f"{line!r} not in:\n{out}"
