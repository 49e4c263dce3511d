"""Fuzz configuration loading: ``aigate.config.load_config`` and ``aigate.Gateway(...)``.

Inputs are a valid configuration with values changed, deleted or replaced (dicts, keyword
arguments, TOML and JSON files, some of them damaged as text), plus arbitrary values. The
property: success or :class:`aigate.ConfigurationError`, nothing else; and a secret from
the input (a canary string in keys, headers and URL passwords) never appears in the
error's text, nor in the ``repr`` of a gateway built from it.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

import aigate
from aigate.config import load_config

from . import KnownBug, check_typed, fuzz, json_values, mutated

CANARY = "sk-canary-5ecret-7f3a9c"
BASE: dict[str, Any] = {
    "providers": {
        "openai": {
            "api_keys": [CANARY, "sk-second"],
            "headers": {"x-team-token": CANARY},
            "options": {"organization": "org-1"},
        },
        "local": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"},
        "anthropic": {"api_key": CANARY, "timeout": 30},
        "gemini": {"api_keys": [CANARY], "timeout": {"total": 10, "connect": 2}},
    },
    "routes": {
        "fast": ["openai/gpt-4o-mini", "local/llama3"],
        "smart": {
            "targets": [{"target": "anthropic/claude-sonnet-4-5", "weight": 2, "priority": 0}],
            "strategy": "weighted",
            "fallbacks": ["gemini/gemini-2.5-flash"],
            "conditions": [{"when": {"has_images": True}, "targets": ["openai/gpt-4o"]}],
            "retry": {"retries": 1},
        },
    },
    "timeout": 60,
    "max_connections": 10,
    "ledger": "memory://",
    "ledger_errors": "log",
    "cache": {"url": "memory://", "default": "auto", "ttl": 60},
    "prices": {"local/llama3": {"input_per_million": "0", "output_per_million": "0"}},
    "router": {"retry": {"retries": 1}, "breaker": {"failures": 3}, "health": "memory://"},
}

# Where secrets go: keys and header values, and the password of a store or provider URL,
# written correctly or with its "://" mistyped (so no URL parser finds the password).
_SEPARATORS = ("://", ":/", ":", "//", " ://")
_SCHEMES = ("memory", "redis", "rediss", "postgresql", "sqlite", "disk", "http", "bogus")
SECRET_URLS = st.builds(
    lambda scheme, sep: f"{scheme}{sep}user:{CANARY}@localhost:1/0",
    st.sampled_from(_SCHEMES),
    st.sampled_from(_SEPARATORS),
).filter(lambda url: "://" not in url or url.startswith(("memory://", "bogus://", "http://")))
_URL_FIELDS = (("ledger",), ("cache",), ("cache", "url"), ("router", "health"))


@st.composite
def with_secrets(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with the canary in some of its secret fields and secret-bearing URLs."""
    doc = copy.deepcopy(doc)
    for provider in doc["providers"].values():
        choice = draw(st.integers(0, 3))
        if choice == 1:
            provider["api_key"] = CANARY
        elif choice == 2:
            provider["api_keys"] = [draw(st.sampled_from(["sk-x", CANARY])), CANARY]
        elif choice == 3:
            provider["headers"] = {"authorization": f"Bearer {CANARY}"}
    for path in _URL_FIELDS:
        if draw(st.integers(0, 4)) == 0:
            parent = doc
            for part in path[:-1]:
                parent = parent.setdefault(part, {})
            if isinstance(parent, dict):  # not when "cache" became a URL just before
                parent[path[-1]] = draw(SECRET_URLS)
    if draw(st.integers(0, 4)) == 0:
        doc["providers"]["local"]["base_url"] = draw(SECRET_URLS)
    return doc


# Untyped exceptions or leaks these tests find go here, each pinned by a strict xfail test
# at the bottom, until fixed (see tests/fuzz/__init__.py).
KNOWN: tuple[KnownBug, ...] = ()


def _opens_nothing(doc: Any) -> bool:
    """Only configurations that touch no network and no disk: the URLs that would open a
    store (sqlite file, disk cache, Redis, PostgreSQL) stay out of the generated inputs."""
    text = json.dumps(doc, default=str)
    return not any(
        f"{s}://" in text for s in ("sqlite", "disk", "diskcache", "redis", "rediss", "postgres")
    )


# A top-level string is a file path, not a config: the file tests cover those.
CONFIGS = (
    with_secrets(BASE)
    .flatmap(lambda doc: mutated(doc, max_changes=4, stringify=False))
    .filter(lambda doc: not isinstance(doc, str))
    .filter(_opens_nothing)
)


def _check_error(err: aigate.ConfigurationError) -> None:
    shown = f"{err} {err!r} {err.args!r} {getattr(err, 'field', '')}"
    assert CANARY not in shown, f"a secret from the config leaked into the error: {shown}"


def _check_gateway(gw: aigate.Gateway) -> None:
    try:
        shown = " ".join(
            [repr(gw), repr(gw.config), *(repr(p) for p in gw.providers.values())]
            + [repr(k) for p in gw.providers.values() for k in p.keys]
        )
        assert CANARY not in shown, f"a secret leaked into a repr: {shown}"
    finally:
        gw.close()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One client for every gateway: making an httpx client (its TLS context) costs more
    than everything the configuration does, and is not what is under test here."""
    with httpx.Client() as shared:
        yield shared


def build(client: httpx.Client, config: Any, **settings: Any) -> None:
    """``load_config`` and ``Gateway`` on one input: success or ConfigurationError."""
    try:
        load_config(config)
    except aigate.ConfigurationError as err:
        _check_error(err)
    except Exception as exc:
        check_typed(exc, KNOWN, allowed=())
    try:
        gw = aigate.Gateway(config, http_client=client, **settings)
    except aigate.ConfigurationError as err:
        hypothesis.event("Gateway: ConfigurationError")
        _check_error(err)
    except Exception as exc:
        check_typed(exc, KNOWN, allowed=())
    else:
        hypothesis.event("Gateway: built")
        _check_gateway(gw)


# -- the properties -------------------------------------------------------------------------


def test_the_base_config_is_valid() -> None:
    """The mutations start from a configuration that loads, so they test one change."""
    gw = aigate.Gateway(BASE)
    assert sorted(gw.routes) == ["fast", "smart"]
    _check_gateway(gw)


@fuzz(120)
@given(CONFIGS)
def test_configs_with_values_changed(client: httpx.Client, config: Any) -> None:
    build(client, config)


@fuzz(80)
@given(CONFIGS, st.sampled_from(sorted(BASE)))
def test_keyword_settings_over_a_config(client: httpx.Client, config: Any, name: str) -> None:
    """``Gateway(config, **settings)``: settings merged over a loaded config."""
    if not isinstance(config, dict) or name not in config:
        build(client, config)
        return
    build(client, BASE, **{name: config[name]})


_TOP_KEYS = st.sampled_from(sorted(BASE)) | st.text(max_size=8)


@fuzz(120)
@given(
    st.dictionaries(_TOP_KEYS, json_values(8), max_size=5).filter(_opens_nothing)
    | json_values(8).filter(lambda v: not isinstance(v, str))
)
def test_arbitrary_values(client: httpx.Client, config: Any) -> None:
    build(client, config)


# -- files ------------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)  # inf and -inf are TOML too
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(i for i in items if not i.endswith("= None")) + "}"
    return "None"  # TOML has no null: a parse error, which is fine input too


def toml_text(doc: Any) -> str:
    if not isinstance(doc, dict):
        return _toml_value(doc)
    return "".join(f"{json.dumps(str(k))} = {_toml_value(v)}\n" for k, v in doc.items())


@st.composite
def damaged(draw: st.DrawFn, text: str) -> str:
    """``text`` with up to three edits (deletions, inserted TOML/JSON punctuation)."""
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + text[at + draw(st.integers(1, 6)) :]
        else:
            text = text[:at] + draw(st.sampled_from([*'"[]{}=,:#\n\\ x', "sk-"])) + text[at:]
    return text


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("fuzz-config")


@fuzz(80)
@given(CONFIGS, st.sampled_from(["toml", "json"]), st.data())
def test_files(
    client: httpx.Client, config_dir: Path, config: Any, suffix: str, data: st.DataObject
) -> None:
    text = toml_text(config) if suffix == "toml" else json.dumps(config, default=str)
    path = config_dir / f"aigate.{suffix}"
    path.write_text(data.draw(damaged(text)), encoding="utf-8")
    build(client, path)
    try:
        aigate.Gateway.from_file(path, http_client=client).close()
    except aigate.ConfigurationError as err:
        _check_error(err)
    except Exception as exc:
        check_typed(exc, KNOWN, allowed=())


def test_the_toml_writer_round_trips(config_dir: Path) -> None:
    path = config_dir / "base.toml"
    path.write_text(toml_text(BASE), encoding="utf-8")
    assert load_config(path) == load_config(BASE)


# -- inputs that leaked or raised untyped before the fix (now regression cases) ---------


@pytest.mark.parametrize("sep", [":/", ":", "//"])
def test_mistyped_ledger_url_keeps_its_password_out_of_the_error(sep: str) -> None:
    """A URL without "://" used to be quoted whole, password included."""
    with pytest.raises(aigate.ConfigurationError) as info:
        aigate.Gateway(ledger=f"postgresql{sep}app:{CANARY}@db.internal/ledger")
    assert CANARY not in str(info.value)


@pytest.mark.parametrize("sep", [":/", ":", "//", " ://"])
def test_mistyped_cache_url_keeps_its_password_out_of_the_error(sep: str) -> None:
    with pytest.raises(aigate.ConfigurationError) as info:
        aigate.Gateway(cache=f"redis{sep}:{CANARY}@cache.internal:6379/0")
    assert CANARY not in str(info.value)


@pytest.mark.parametrize(
    "routes", [{}, {"fast": ["openai/gpt-4o-mini"]}], ids=["no-route", "with-a-route"]
)
def test_a_bad_price_override_is_a_configuration_error(routes: dict[str, Any]) -> None:
    """It was a plain ValueError: at Gateway(...) with a route, else from the first call
    (and with a route even after the first fix: routes read the catalog before the check)."""
    from aigate.testing import FakeTransport

    with pytest.raises(aigate.ConfigurationError):
        gw = aigate.Gateway(
            providers={"openai": {"api_keys": ["sk-test"]}},
            routes=routes,
            prices={"openai/gpt-4o-mini": {"input": "abc"}},
            transport=FakeTransport(),
        )
        gw.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
