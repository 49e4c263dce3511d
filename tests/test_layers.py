"""The import contract (scripts/check_layers.py) holds, and it would catch a break."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.layers

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_layers.py"


def _contract() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_layers", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_layers", module)
    spec.loader.exec_module(module)
    return module


def test_the_contract_holds() -> None:
    assert _contract().check() == []


def _with_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rel: str, text: str) -> list[str]:
    """The contract run over a copy of the package with one module added or replaced."""
    import shutil

    contract = _contract()
    copy = tmp_path / "aigate"
    shutil.copytree(contract.ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    (copy / rel).write_text(text)
    monkeypatch.setattr(contract, "ROOT", copy)
    return list(contract.check())


def test_an_upward_import_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (Path(_contract().ROOT) / "_urls.py").read_text() + "\nfrom ._gateway import Gateway\n"
    problems = _with_module(tmp_path, monkeypatch, "_urls.py", text)
    assert any("aigate._urls (leaves) imports aigate._gateway (surface)" in p for p in problems)


def test_a_cycle_in_type_imports_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two modules of one layer that import each other only for types: still a knot
    base = Path(_contract().ROOT)
    # (_flow already type-imports _caching; make _caching type-import _flow back)
    extra = "\nif TYPE_CHECKING:\n    from ._flow import Flow\n"
    text = (base / "_caching.py").read_text() + extra
    problems = _with_module(tmp_path, monkeypatch, "_caching.py", text)
    assert any(p.startswith("import cycle:") and "aigate._flow" in p for p in problems)


def test_an_http_library_outside_the_drivers_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = Path(_contract().ROOT)
    text = (base / "_flow.py").read_text() + "\n\ndef _late() -> None:\n    import aiohttp\n"
    problems = _with_module(tmp_path, monkeypatch, "_flow.py", text)
    assert "aigate._flow: imports aiohttp (only drivers may)" in problems


def test_a_module_in_no_layer_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problems = _with_module(tmp_path, monkeypatch, "_stray.py", '"""stray"""\n')
    assert "aigate._stray: in no layer (place it in scripts/check_layers.py)" in problems
