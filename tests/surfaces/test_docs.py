"""Every ```python block of docs/responses.md and docs/messages.md runs as written: one
namespace per page, blocks in order, cwd a temp dir, no provider keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent.parent / "docs"
_BLOCK = re.compile(r"(<!-- docs-test: skip[^\n]*-->\n)?```python\n(.*?)```", re.S)


@pytest.mark.parametrize("page", ["responses.md", "messages.md"])
def test_page_runs(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page[:-3]}"}
    blocks = [code for skip, code in _BLOCK.findall((DOCS / page).read_text()) if not skip]
    assert blocks
    for code in blocks:
        exec(compile(code, f"{page}", "exec"), namespace)
    for value in namespace.values():  # what the page opened: gateways, conversation stores
        for closable in (value, getattr(value, "conversations", None)):
            if hasattr(closable, "close") and not isinstance(closable, type):
                closable.close()  # type: ignore[union-attr]
