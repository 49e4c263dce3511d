"""``mypy --strict`` on small user programs: every mistake is reported on its line, and the
correct programs pass (issue 12 item 4: the typed public surface).

``mistakes*.py`` mark each line that must get an error with ``# E: <part of the message>``;
an error on an unmarked line fails too. mypy runs once for all the programs, with the
project's own mypy configuration and a cache of its own under ``.mypy_cache/`` (cold: about
20 s of CPU, most of it reading the ``openai`` package the correct program imports; warm: ~2 s).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
PROGRAMS = (
    "correct.py",
    "correct_keys.py",
    "correct_protocols.py",
    "mistakes.py",
    "mistakes_keys.py",
)
_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<kind>error|note): (?P<message>.*)$")
_MARK = re.compile(r"  # E: (?P<expected>.+?)\s*$")


@pytest.fixture(scope="module")
def reported() -> dict[str, dict[int, list[str]]]:
    """mypy's errors per program file name and line."""
    env = {**os.environ, "MYPYPATH": str(ROOT)}  # this checkout's aigate, not an installed one
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "typing-test"),
            "--hide-error-context",
            "--no-pretty",
            "--no-error-summary",
            *(str(HERE / name) for name in PROGRAMS),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode in (0, 1), result.stderr or result.stdout  # 2: mypy itself failed
    errors: dict[str, dict[int, list[str]]] = {name: {} for name in PROGRAMS}
    for line in result.stdout.splitlines():
        match = _LINE.match(line)
        if match is None or match["kind"] != "error":
            continue
        name = Path(match["file"]).name
        if name in errors:
            errors[name].setdefault(int(match["line"]), []).append(match["message"])
    return errors


def _expected(name: str) -> dict[int, str]:
    lines = (HERE / name).read_text().splitlines()
    return {i: m["expected"] for i, text in enumerate(lines, 1) if (m := _MARK.search(text))}


def _check(name: str, reported: dict[str, dict[int, list[str]]]) -> None:
    expected = _expected(name)
    got = reported[name]
    assert expected, f"{name} marks no mistakes"
    missed = {
        line: want
        for line, want in expected.items()
        if not any(want in message for message in got.get(line, []))
    }
    extra = {line: messages for line, messages in got.items() if line not in expected}
    assert not missed, f"{name}: mypy did not report these mistakes: {missed}; it said {got}"
    assert not extra, f"{name}: errors on lines without a mistake: {extra}"


def test_each_mistake_is_reported_on_its_line(reported: dict[str, dict[int, list[str]]]) -> None:
    _check("mistakes.py", reported)


def test_for_key_and_keys_misuse_is_reported(reported: dict[str, dict[int, list[str]]]) -> None:
    _check("mistakes_keys.py", reported)


@pytest.mark.parametrize("name", ["correct.py", "correct_keys.py", "correct_protocols.py"])
def test_a_correct_program_passes(name: str, reported: dict[str, dict[int, list[str]]]) -> None:
    assert reported[name] == {}, f"{name}: mypy --strict reported {reported[name]}"
