"""`aigate config check` says what a gateway would warn about (issue 14 item 6): a command
hides Python's DeprecationWarning by default, so the deprecated per-token price spelling
would otherwise pass the check in silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigate.cli import main


def test_config_check_shows_the_deprecated_price_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "aigate.toml"
    config.write_text(
        '[providers.openai]\nkind = "fake"\n'
        '[prices]\n"openai/gpt-4o-mini" = { input = 0.00000015, output = 0.0000006 }\n',
        encoding="utf-8",
    )
    assert main(["config", "check", str(config)]) == 0
    err = capsys.readouterr().err
    assert "warning: prices.openai/gpt-4o-mini" in err
    assert "input_per_million = 0.15" in err and "output_per_million = 0.6" in err
    assert main(["config", "check", "--strict", str(config)]) == 2  # --strict: an error
