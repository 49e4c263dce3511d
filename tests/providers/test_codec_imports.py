"""Codecs do not reach into each other (issue 12): what they share lives in
``providers/_common.py`` under public names, so a change inside one codec cannot break
another through a private helper."""

from __future__ import annotations

import ast
from pathlib import Path

import aigate.providers

PACKAGE = Path(aigate.providers.__file__).parent
CODECS = {"openai", "anthropic", "gemini"}


def _relative_imports(path: Path) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.module or "", [alias.name for alias in node.names])
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
    ]


def test_no_codec_imports_another_codec() -> None:
    found = []
    for name in sorted(CODECS):
        for module, names in _relative_imports(PACKAGE / f"{name}.py"):
            if module in CODECS - {name}:
                found.append(f"{name}.py imports {names} from .{module}")
    assert found == []


def test_no_codec_module_imports_a_private_name_from_a_sibling() -> None:
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        for module, names in _relative_imports(path):
            private = [n for n in names if n.startswith("_")]
            if private and module.lstrip("_") in CODECS:
                found.append(f"{path.name} imports {private} from .{module}")
    assert found == []
