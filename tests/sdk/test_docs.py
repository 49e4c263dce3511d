"""docs/sdk.md runs as written: its ```python blocks in order, in one namespace, in a
temporary directory, offline (a block preceded by ``<!-- docs-test: skip (...) -->`` is
not run)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
BLOCK = re.compile(r"(<!-- docs-test: skip[^>]*-->\s*\n)?```python\n(.*?)```", re.S)


def test_every_python_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("httpx2")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "docs_sdk"}
    ran = 0
    for match in BLOCK.finditer(PAGE.read_text()):
        if match.group(1):
            continue
        exec(compile(match.group(2), f"{PAGE.name} block {ran}", "exec"), namespace)
        ran += 1
    assert ran >= 6
