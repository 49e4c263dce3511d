"""Issue 14.19: a store URL whose optional package is not installed is a ConfigurationError
at construction, naming the field and the pip line, never a logged traceback, a refused call
("budget store unreachable (ModuleNotFoundError)") or a ModuleNotFoundError from health().

The package is made absent with ``sys.modules[name] = None``: ``import name`` then raises
ImportError, and ``importlib.util.find_spec(name)`` answers None, as when not installed."""

from __future__ import annotations

import sys
from typing import Any

import pytest

import aigate

REDIS = ("redis", 'pip install "aigate[redis]"')
POSTGRES = ("psycopg", 'pip install "aigate[postgres]"')
PROVIDERS = {"openai": {"kind": "fake"}}


def _absent(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)


def _check(info: pytest.ExceptionInfo[aigate.ConfigurationError], field: str, pip: str) -> None:
    message = str(info.value)
    assert info.value.field == field, message
    assert message.startswith(f"{field}: ")
    assert "which is not installed" in message and pip in message
    assert "secret" not in message  # the URL's password is never shown


@pytest.mark.parametrize(
    ("config", "field", "package"),
    [
        ({"ledger": "redis://:secret@127.0.0.1:6379/0"}, "ledger", REDIS),
        ({"ledger": "rediss://:secret@127.0.0.1:6379/0"}, "ledger", REDIS),
        ({"ledger": "postgresql://app:secret@127.0.0.1/aigate"}, "ledger", POSTGRES),
        ({"ledger": "postgres://app:secret@127.0.0.1/aigate"}, "ledger", POSTGRES),
        ({"budget": {"store": "redis://:secret@127.0.0.1/1"}}, "budget.store", REDIS),
        (
            {"budget": {"store": "postgresql://app:secret@127.0.0.1/aigate"}},
            "budget.store",
            POSTGRES,
        ),
        (
            {
                "budget": {
                    "rate_store": "redis://:secret@127.0.0.1/1",
                    "rate_limits": [{"scope": "project:*", "rpm": 10}],
                }
            },
            "budget.rate_store",
            REDIS,
        ),
        ({"router": {"health": "redis://:secret@127.0.0.1/1"}}, "router.health", REDIS),
        ({"router": {"health": "rediss://:secret@127.0.0.1/1"}}, "router.health", REDIS),
    ],
)
@pytest.mark.parametrize("gateway", [aigate.Gateway, aigate.AsyncGateway])
def test_at_construction(
    monkeypatch: pytest.MonkeyPatch,
    gateway: Any,
    config: dict[str, Any],
    field: str,
    package: tuple[str, str],
) -> None:
    _absent(monkeypatch, package[0])
    with pytest.raises(aigate.ConfigurationError) as info:
        gateway(providers=PROVIDERS, **config)
    _check(info, field, package[1])


def test_key_store_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    _absent(monkeypatch, "psycopg")
    monkeypatch.setenv("AIGATE_KEY_PEPPER", "a-pepper-of-16-characters-or-more")
    with pytest.raises(aigate.ConfigurationError) as info:
        aigate.Gateway(providers=PROVIDERS, keys="postgresql://app:secret@127.0.0.1/aigate")
    _check(info, "keys.store", POSTGRES[1])


def test_health_store_with_the_package_installed_is_untouched() -> None:
    pytest.importorskip("redis")
    gw = aigate.Gateway(providers=PROVIDERS, router={"health": "redis://127.0.0.1:1/0"})
    gw.close()  # constructing opens no connection: only the package is looked for


class TestOpeners:
    """The public openers say it too, with the field they are given."""

    def test_open_ledger(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from aigate.ledger import open_ledger

        _absent(monkeypatch, "redis")
        with pytest.raises(aigate.ConfigurationError) as info:
            open_ledger("redis://:secret@h/0")
        _check(info, "ledger", REDIS[1])
        _absent(monkeypatch, "psycopg")
        with pytest.raises(aigate.ConfigurationError) as info:
            open_ledger("postgresql://u:secret@h/db")
        _check(info, "ledger", POSTGRES[1])

    def test_open_budget_store_and_rate_limiter(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from aigate.budget import open_budget_store, open_rate_limiter

        _absent(monkeypatch, "redis")
        _absent(monkeypatch, "psycopg")
        with pytest.raises(aigate.ConfigurationError) as info:
            open_budget_store("redis://:secret@h/0", field="x.store")
        _check(info, "x.store", REDIS[1])
        with pytest.raises(aigate.ConfigurationError) as info:
            open_budget_store("postgres://u:secret@h/db")
        _check(info, "budget.store", POSTGRES[1])
        with pytest.raises(aigate.ConfigurationError) as info:
            open_rate_limiter("rediss://:secret@h/0")
        _check(info, "rate_limit.store", REDIS[1])

    def test_open_health_store(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from aigate.routing import BreakerSettings, open_health_store

        _absent(monkeypatch, "redis")
        with pytest.raises(aigate.ConfigurationError) as info:
            open_health_store("redis://:secret@h/0", BreakerSettings())
        _check(info, "router.health", REDIS[1])

    def test_open_key_store(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from aigate.tenancy import open_key_store

        _absent(monkeypatch, "psycopg")
        with pytest.raises(aigate.ConfigurationError) as info:
            open_key_store("postgresql://u:secret@h/db", pepper="p" * 32)
        _check(info, "keys.store", POSTGRES[1])

    @pytest.mark.parametrize(
        ("url", "package"),
        [
            ("redis://:secret@h/0", REDIS),
            ("unix:///tmp/redis.sock", REDIS),
            ("postgresql://u:secret@h/db", POSTGRES),
        ],
    )
    def test_conversations(
        self, monkeypatch: pytest.MonkeyPatch, url: str, package: tuple[str, str]
    ) -> None:
        from aigate.surfaces import open_conversations

        _absent(monkeypatch, package[0])
        with pytest.raises(aigate.ConfigurationError) as info:
            open_conversations(url)
        _check(info, "conversations", package[1])

    def test_cache_message_is_unchanged(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from aigate.cache import open_cache

        _absent(monkeypatch, "redis")
        with pytest.raises(aigate.ConfigurationError) as info:
            open_cache("redis://:secret@127.0.0.1:6379/0", field="cache.url")
        _check(info, "cache.url", REDIS[1])
        assert "accepted:" not in str(info.value)
