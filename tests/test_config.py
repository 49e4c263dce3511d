"""Configuration: one schema from keywords, dicts, TOML and JSON; typed errors; no leaks."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import aigate
from aigate.testing import FakeTransport, error

SECRET = "sk-canary-7f3e9c1d2b4a"


class TestSources:
    def test_toml_json_dict_and_keywords_agree(self, tmp_path: Path) -> None:
        toml = tmp_path / "aigate.toml"
        toml.write_text(
            """
timeout = 30
[providers.openai]
api_keys = ["sk-a"]
[providers.local]
kind = "openai"
base_url = "http://127.0.0.1:8080/v1"
[routes]
fast = ["local/llama3", "openai/gpt-4o-mini"]
[routes.smart]
targets = ["openai/gpt-4.1"]
"""
        )
        data: dict[str, Any] = {
            "timeout": 30,
            "providers": {
                "openai": {"api_keys": ["sk-a"]},
                "local": {"kind": "openai", "base_url": "http://127.0.0.1:8080/v1"},
            },
            "routes": {
                "fast": ["local/llama3", "openai/gpt-4o-mini"],
                "smart": {"targets": ["openai/gpt-4.1"]},
            },
        }
        as_json = tmp_path / "aigate.json"
        as_json.write_text(json.dumps(data))
        gateways = [
            aigate.Gateway.from_file(toml),
            aigate.Gateway.from_file(as_json),
            aigate.Gateway.from_dict(data),
            aigate.Gateway(**data),
        ]
        for gw in gateways:
            assert [t.name for t in gw.routes["fast"]] == ["local/llama3", "openai/gpt-4o-mini"]
            assert [t.name for t in gw.routes["smart"]] == ["openai/gpt-4.1"]
            assert gw.providers["local"].base_url == "http://127.0.0.1:8080/v1"
            assert gw.providers["openai"].timeout.read == 30
            gw.close()

    def test_keywords_override_a_file(self, tmp_path: Path) -> None:
        path = tmp_path / "a.toml"
        path.write_text('[providers.openai]\napi_keys = ["sk-a"]\n')
        gw = aigate.Gateway.from_file(path, routes={"r": ["openai/gpt-4o"]})
        assert list(gw.routes) == ["r"]
        gw.close()


class TestErrors:
    @pytest.mark.parametrize(
        ("config", "field"),
        [
            (
                {"providers": {"openai": {"api_keys": ["k"], "apikey": "x"}}},
                "providers.openai.apikey",
            ),
            ({"provider": {}}, "provider"),
            (
                {"providers": {"openai": {"api_keys": ["k"], "timeout": -1}}},
                "providers.openai.timeout",
            ),
            ({"providers": {"openai": {"api_keys": ["k"]}}, "routes": {"r": []}}, "routes.r"),
            ({"providers": {"mystery": {"api_keys": ["k"]}}}, "providers.mystery.kind"),
            ({"providers": {"openai": {}}}, "providers.openai.api_keys"),
            ({"providers": {"openai": {"api_keys": [""]}}}, "providers.openai.api_keys.0"),
            (
                {"providers": {"openai": {"api_keys": ["k"]}}, "routes": {"r": ["nope/x"]}},
                "routes.r.targets.0",
            ),
            (
                {"providers": {"x": {"kind": "openai", "base_url": "ftp://h"}}},
                "providers.x.base_url",
            ),
        ],
    )
    def test_bad_config_names_the_field(self, config: dict[str, Any], field: str) -> None:
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway(config)
        assert info.value.field is not None
        assert info.value.field.startswith(field)

    def test_missing_key_says_where_to_put_it(self) -> None:
        with pytest.raises(aigate.ConfigurationError, match="GROQ_API_KEY"):
            aigate.Gateway(providers={"groq": {}})

    def test_unreadable_and_unknown_files(self, tmp_path: Path) -> None:
        with pytest.raises(aigate.ConfigurationError, match="cannot read"):
            aigate.Gateway.from_file(tmp_path / "missing.toml")
        bad = tmp_path / "bad.toml"
        bad.write_text("[providers\n")
        with pytest.raises(aigate.ConfigurationError, match="cannot parse"):
            aigate.Gateway.from_file(bad)
        yaml = tmp_path / "a.yaml"
        yaml.write_text("x: 1")
        with pytest.raises(aigate.ConfigurationError, match=r"\.toml or \.json"):
            aigate.Gateway.from_file(yaml)


class TestSecrets:
    def test_key_never_leaks(self, caplog: pytest.LogCaptureFixture) -> None:
        """A canary key appears in no repr, str, error, log line or gateway info."""
        caplog.set_level(logging.DEBUG)
        fake = FakeTransport([error(401, "Incorrect API key provided"), error(500)])
        gw = aigate.Gateway(
            providers={"openai": {"api_keys": [SECRET], "headers": {"x-extra": SECRET}}},
            routes={"r": ["openai/gpt-4o-mini", "openai/gpt-4o"]},
            transport=fake,
        )
        texts = [repr(gw), repr(gw.config), str(gw.config), repr(gw.providers["openai"])]
        texts += [repr(k) for k in gw.providers["openai"].keys]
        with pytest.raises(aigate.AllTargetsFailed) as info:
            gw.chat.completions.create(model="r", messages=[{"role": "user", "content": "x"}])
        failed = info.value
        texts += [str(failed), repr(failed), repr(failed.attempts)]
        for err in failed.errors:
            texts += [str(err), repr(err), repr(getattr(err, "body", None))]
        bad = aigate.Gateway(providers={"openai": {"api_keys": [SECRET]}}, transport=fake)
        with pytest.raises(aigate.InvalidRequestError) as bad_info:
            bad.chat.completions.create(model="openai/x", messages="nope")
        texts.append(str(bad_info.value))
        with pytest.raises(aigate.ConfigurationError) as config_info:
            aigate.Gateway(providers={"openai": {"api_keys": [SECRET], "typo": SECRET}})
        texts.append(str(config_info.value))
        texts += [record.getMessage() for record in caplog.records]
        assert fake.calls[0].request.headers["authorization"] == f"Bearer {SECRET}"
        for text in texts:
            assert SECRET not in text
        gw.close()
        bad.close()
