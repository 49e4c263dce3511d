"""Issue 14.6: prices are written per million tokens; the older per-token spelling
(``{input, output}``) is accepted for one more release with a DeprecationWarning that names
the replacement, and keeps its exact meaning."""

from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path

import pytest

import aigate
from aigate.pricing import ModelInfo
from aigate.testing import FakeTransport


def _info(gw: aigate.Gateway, model: str = "llama3") -> ModelInfo:
    found = [m for m in gw.models.search(provider="local", text=model) if m.model == model]
    assert len(found) == 1, found
    return found[0]


def test_per_million_is_silent_and_exact() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gw = aigate.Gateway(
            providers={"local": {"kind": "openai", "base_url": "http://h/v1"}},
            prices={"local/llama3": {"input_per_million": "0.15", "output_per_million": "0.6"}},
            transport=FakeTransport(),
        )
    info = _info(gw)
    assert info.price.input == Decimal("0.00000015")
    assert info.price.output == Decimal("0.0000006")
    gw.close()


def test_top_level_per_token_warns_naming_the_replacement() -> None:
    with pytest.warns(DeprecationWarning) as record:
        gw = aigate.Gateway(
            providers={"local": {"kind": "openai", "base_url": "http://h/v1"}},
            prices={"local/llama3": {"input": "0.00000015", "output": 0.0000006}},
            transport=FakeTransport(),
        )
    messages = [str(w.message) for w in record]
    assert len(messages) == 1, messages
    message = messages[0]
    assert "prices.local/llama3" in message
    assert "input_per_million = 0.15" in message and "output_per_million = 0.6" in message
    assert "per token" in message
    # the warning points at the caller, not at aigate's insides
    assert record[0].filename == __file__
    info = _info(gw)  # the meaning is unchanged: USD per token
    assert info.price.input == Decimal("0.00000015")
    assert info.price.output == Decimal("0.0000006")
    gw.close()


def test_provider_prices_per_token_warns_with_the_provider_field() -> None:
    with pytest.warns(DeprecationWarning, match=r"providers\.local\.prices\.llama3") as record:
        gw = aigate.Gateway(
            providers={
                "local": {
                    "kind": "openai",
                    "base_url": "http://h/v1",
                    "prices": {"llama3": {"input": 0, "output": 0}},
                }
            },
            transport=FakeTransport(),
        )
    assert "input_per_million = 0" in str(record[0].message)
    info = _info(gw)
    assert info.price.input == 0 and info.price.output == 0
    gw.close()


def test_from_file_warns(tmp_path: Path) -> None:
    path = tmp_path / "aigate.toml"
    path.write_text(
        '[providers.local]\nkind = "openai"\nbase_url = "http://h/v1"\n'
        '[prices]\n"local/llama3" = { input = 0.000001, output = 0.000002 }\n'
    )
    with pytest.warns(DeprecationWarning, match="input_per_million = 1"):
        gw = aigate.Gateway.from_file(path)
    gw.close()


def test_both_spellings_of_one_price_are_refused() -> None:
    with pytest.raises(aigate.ConfigurationError) as info:
        aigate.Gateway(
            providers={"local": {"kind": "openai", "base_url": "http://h/v1"}},
            prices={"local/llama3": {"input_per_million": "0.15", "input": "0.00000015"}},
            transport=FakeTransport(),
        )
    assert "input" in str(info.value) and "input_per_million" in str(info.value)


def test_a_bad_value_is_still_a_configuration_error() -> None:
    with pytest.raises(aigate.ConfigurationError):
        aigate.Gateway(
            providers={"local": {"kind": "openai", "base_url": "http://h/v1"}},
            prices={"local/llama3": {"input": "abc"}},
            transport=FakeTransport(),
        )


def test_input_per_second_is_not_deprecated() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gw = aigate.Gateway(
            providers={"local": {"kind": "openai", "base_url": "http://h/v1"}},
            prices={"local/whisper": {"input_per_second": "0.0001"}},
            transport=FakeTransport(),
        )
    gw.close()
