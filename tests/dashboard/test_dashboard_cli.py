"""``aigate dashboard``: the command's options, the token printed once or taken from
``$AIGATE_DASHBOARD_TOKEN``, the warning for a public bind, and a light ``import aigate``."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aigate.dashboard._cli import register


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aigate")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["dashboard", *argv])


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    monkeypatch.delenv("AIGATE_DASHBOARD_TOKEN", raising=False)
    return calls


def test_defaults_bind_loopback_and_print_a_token_once(
    ran: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse("--ledger", f"sqlite:///{tmp_path / 'l.db'}")
    assert (args.host, args.port, args.read_only) == ("127.0.0.1", 8765, False)
    assert args.run(args) == 0
    err = capsys.readouterr().err
    assert "serving on http://127.0.0.1:8765/" in err and "warning" not in err
    token = err.split("admin token (shown once; set $AIGATE_DASHBOARD_TOKEN to choose one): ")[1]
    assert len(token.split()[0]) >= 16
    assert ran[0]["host"] == "127.0.0.1" and ran[0]["port"] == 8765


def test_a_public_bind_warns_and_the_token_comes_from_the_environment(
    ran: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIGATE_DASHBOARD_TOKEN", "env-token-0123456789abcdef")
    args = parse("--ledger", f"sqlite:///{tmp_path / 'l.db'}", "--host", "0.0.0.0", "--read-only")
    assert args.run(args) == 0
    err = capsys.readouterr().err
    assert "warning: serving on 0.0.0.0" in err and "env-token" not in err
    assert "read-only" in err


def test_no_ledger_is_a_configuration_error(
    ran: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aigate._exceptions import ConfigurationError

    monkeypatch.delenv("AIGATE_LEDGER", raising=False)
    args = parse()
    with pytest.raises(ConfigurationError, match="needs a ledger"):
        args.run(args)
    assert ran == []


def test_import_aigate_does_not_import_starlette() -> None:
    code = (
        "import sys, aigate, aigate.cli, aigate._report_send, aigate.dashboard, "
        "aigate.dashboard._cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
