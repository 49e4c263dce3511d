"""The Responses API keeps stored conversations in the ledger's database by default, so a
conversation continues across processes (issue 16: "in the ledger's store: SQLite,
PostgreSQL, Redis"); ``conversations=`` names another store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import aigate
from aigate._gateway import conversations_url
from aigate.config import load_config

PROVIDERS = {"openai": {"kind": "fake"}}


def _turns(**settings: Any) -> Any:
    """A first turn on one gateway, the next on a new one (another process, in effect)."""
    with aigate.Gateway(providers=PROVIDERS, **settings) as first:
        r1 = first.responses.create(model="openai/gpt-4o-mini", input="My name is Ana.")
    with aigate.Gateway(providers=PROVIDERS, **settings) as second:
        r2 = second.responses.create(
            model="openai/gpt-4o-mini", input="And my name?", previous_response_id=r1.id
        )
        found = second.responses.retrieve(r1.id)
    return r1, r2, found


def test_a_conversation_continues_on_the_ledgers_sqlite_file(tmp_path: Path) -> None:
    r1, r2, found = _turns(ledger=f"sqlite:///{tmp_path / 'aigate.db'}")
    assert found.id == r1.id and r2.output_text


def test_conversations_names_its_own_store(tmp_path: Path) -> None:
    r1, _, found = _turns(conversations=f"sqlite:///{tmp_path / 'conversations.db'}")
    assert found.id == r1.id and (tmp_path / "conversations.db").exists()


def test_without_a_ledger_they_stay_in_memory() -> None:
    with aigate.Gateway(providers=PROVIDERS) as first:
        r1 = first.responses.create(model="openai/gpt-4o-mini", input="Hi")
    with aigate.Gateway(providers=PROVIDERS) as second, pytest.raises(aigate.AigateError):
        second.responses.retrieve(r1.id)


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        ({}, None),
        ({"ledger": "memory://"}, None),
        ({"ledger": "sqlite:///a.db?table=calls"}, "sqlite:///a.db"),
        (
            {"ledger": "postgresql://u@h/db?table=calls&sslmode=require"},
            "postgresql://u@h/db?sslmode=require",
        ),
        ({"ledger": "redis://h:6379/0?prefix=x:"}, "redis://h:6379/0"),
        ({"ledger": "sqlite:///a.db", "conversations": "memory://"}, "memory://"),
    ],
)
def test_the_store_url(settings: dict[str, Any], url: str | None) -> None:
    assert conversations_url(load_config({"providers": PROVIDERS, **settings})) == url
