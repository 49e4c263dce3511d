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


class TestMessages:
    """Issue 14.7-14.9 and 13.14: plain messages, suggestions, strict types."""

    @pytest.mark.parametrize(
        ("config", "field", "says"),
        [
            # 14.8: no pydantic internals, say what is expected
            ({"timeout": "60s"}, "timeout", "expected seconds as a number (e.g. 60) or a table"),
            (
                {"providers": {"openai": {"api_keys": ["k"], "timeout": "60s"}}},
                "providers.openai.timeout",
                "expected seconds as a number",
            ),
            ({"router": {"retry": {"deadline_s": "5"}}}, "router.retry.deadline_s", "seconds"),
            ({"timeout": {"totl": 5}}, "timeout.totl", "unknown field (did you mean 'total'?)"),
            # 14.7: did you mean
            (
                {"providers": {"openai": {"api_keys": ["k"], "base_ulr": "http://h/v1"}}},
                "providers.openai.base_ulr",
                "did you mean 'base_url'?",
            ),
            ({"provider": {}}, "provider", "did you mean 'providers'?"),
            ({"cache": {"url": "memory://", "default": "sometimes"}}, "cache.default", "one of"),
            # 13.14: no string is a bool, thresholds/tz are typed, scopes are known
            *[
                (
                    {"budget": {"limits": [{"amount": 1, "window": "day", name: "false"}]}},
                    f"budget.limits.0.{name}",
                    "expected true or false (not a string), got a string",
                )
                for name in ("fail_open", "hard")
            ],
            (
                {"budget": {"limits": [{"amount": 1, "window": "day", "thresholds": "abc"}]}},
                "budget.limits.0.thresholds",
                "expected a list",
            ),
            (
                {"budget": {"limits": [{"amount": 1, "window": "day", "thresholds": 5}]}},
                "budget.limits.0.thresholds",
                "expected a list",
            ),
            (
                {"budget": {"limits": [{"amount": 1, "window": "day", "tz": 5}]}},
                "budget.limits.0.tz",
                "expected a string",
            ),
            (
                {"budget": {"limits": [{"amount": True, "window": "day"}]}},
                "budget.limits.0.amount",
                "got a bool",
            ),
            (
                {"budget": {"rate_limits": [{"scope": "usr:*", "rpm": 1}]}},
                "budget.rate_limits.0.scope",
                "did you mean 'user'?",
            ),
            (
                {"budget": {"limits": [{"scope": "projct:acme", "amount": 1, "window": "day"}]}},
                "budget.limits.0.scope",
                "did you mean 'project'?",
            ),
            (
                {"router": {"filter_capabilities": "yes"}},
                "router.filter_capabilities",
                "true or false",
            ),
            (
                {"cache": {"url": "memory://", "include_user": 1}},
                "cache.include_user",
                "true or false",
            ),
        ],
    )
    def test_plain_messages(self, config: dict[str, Any], field: str, says: str) -> None:
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway(config)
        message = str(info.value)
        assert info.value.field == field, message
        assert says in message, message
        for internal in ("constrained-float", "Input should", "function-", "[type=", "Value error"):
            assert internal not in message, message

    def test_the_bad_value_is_never_quoted(self) -> None:
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway(providers={"openai": {"api_keys": ["k"], "timeout": SECRET}})
        assert SECRET not in str(info.value)

    def test_good_values_still_pass(self) -> None:
        gw = aigate.Gateway(
            providers={"openai": {"api_keys": ("sk-a", "sk-b"), "timeout": 30}},
            budget={
                "limits": [
                    {"amount": "1.5", "window": "day", "thresholds": (0.5, 1), "hard": False},
                    {"scope": "user:*", "amount": 2, "window": "month", "fail_open": True},
                ],
                "rate_limits": [{"scope": "meta:team=*", "rpm": 5}, {"scope": "global"}],
            },
            cache={"url": "memory://", "ttl": 60},
        )
        gw.close()

    def test_toml_syntax_error_names_the_line(self, tmp_path: Path) -> None:
        bad = tmp_path / "aigate.toml"
        bad.write_text('[providers.openai]\napi_keys = ["sk-a"]\nbase_url = \n')
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway.from_file(bad)
        assert "line 3" in str(info.value) and "TOML syntax error" in str(info.value)
        bad.write_text(f'[providers.openai]\napi_keys = ["{SECRET}"\n')
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway.from_file(bad)
        assert "line" in str(info.value) and SECRET not in str(info.value)
        js = tmp_path / "aigate.json"
        js.write_text('{\n  "providers": {,}\n}')
        with pytest.raises(aigate.ConfigurationError, match="line 2"):
            aigate.Gateway.from_file(js)

    def test_config_check_fails_cleanly_on_typed_errors(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from aigate.cli import main

        path = tmp_path / "aigate.toml"
        path.write_text(
            '[providers.openai]\napi_keys = ["sk-a"]\n'
            '[budget]\nlimits = [{amount = 1, window = "day", thresholds = "abc", tz = 5}]\n'
        )
        assert main(["config", "check", str(path)]) == 2
        err = capsys.readouterr().err
        assert "budget.limits.0.thresholds" in err and "Traceback" not in err


class TestSuggest:
    def test_did_you_mean(self) -> None:
        from aigate._suggest import closest, did_you_mean

        assert did_you_mean("max_token", ["max_tokens", "n"]) == " (did you mean 'max_tokens'?)"
        assert did_you_mean("zzz", ["max_tokens"]) == ""
        assert did_you_mean("max_tokens", ["max_tokens"]) == ""
        assert closest("OLLAMA", ["openai", "ollama"]) == "ollama"

    def test_model_hint(self) -> None:
        from aigate._suggest import model_hint

        providers = {"openai": "openai", "work": "openai", "claude": "anthropic"}
        catalog = [("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5")]
        hint = model_hint("gpt-4o-mini", providers, ["fast"], catalog)
        assert "'openai/gpt-4o-mini'" in hint and "'work/gpt-4o-mini'" in hint
        assert "'claude/claude-sonnet-4-5'" in model_hint(
            "claude-sonnet-4-5", providers, [], catalog
        )
        assert "'openai/gpt-4o'" in model_hint("opnai/gpt-4o", providers, [], catalog)
        assert "'fast'" in model_hint("fsat", providers, ["fast"], catalog)
        assert model_hint("openai/gpt-4o", providers, [], catalog) == ""

    def test_unknown_kind_message(self) -> None:
        from aigate._suggest import unknown_kind_message

        kinds = ["anthropic", "openai", "groq"]
        explicit = unknown_kind_message("local", "ollama", True, kinds)
        assert "set kind" not in explicit and "kind 'openai' with its base_url" in explicit
        assert "providers.local.kind" in explicit
        implied = unknown_kind_message("opneai", "opneai", False, kinds)
        assert "did you mean 'openai'?" in implied and "set its kind" in implied

    def test_unknown_call_parameter(self) -> None:
        gw = aigate.Gateway(providers={"openai": {"api_keys": ["k"]}}, transport=FakeTransport())
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat.completions.create(
                model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "x"}], max_token=5
            )
        assert "did you mean 'max_tokens'?" in str(info.value)
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat.completions.create(
                model="openai/gpt-4o-mini", messages=[{"role": "usr", "content": "x"}]
            )
        assert "did you mean 'user'?" in str(info.value)
        gw.close()
