"""The conversation stores (memory, SQLite, real Redis, real PostgreSQL): one conformance
suite, sync and async; tenant isolation; a conversation continued through each backend."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aigate
from aigate.surfaces import (
    MemoryConversations,
    PostgresConversations,
    RedisConversations,
    SQLiteConversations,
    open_conversations,
)

from .conftest import MODELS, Upstream, json_reply
from .test_responses import TEXT

BACKENDS = ["memory", "sqlite", "redis", "postgres"]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    kind = request.param
    if kind == "memory":
        yield "memory://"
    elif kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'conv.db'}"
    elif kind == "redis":
        yield request.getfixturevalue("redis_url")
    else:
        yield request.getfixturevalue("postgres_dsn")


ENTRY = {"messages": [{"role": "user", "content": "héllo"}], "response": {"id": "resp_1"}}


def test_open_by_url(tmp_path: Path) -> None:
    assert isinstance(open_conversations(None), MemoryConversations)
    assert isinstance(open_conversations(f"sqlite:///{tmp_path}/x.db"), SQLiteConversations)
    assert isinstance(open_conversations("redis://127.0.0.1:6379/7"), RedisConversations)
    pg = open_conversations("postgresql://u:secret@h/db")
    assert isinstance(pg, PostgresConversations) and "secret" not in repr(pg)
    with pytest.raises(aigate.ConfigurationError) as info:
        open_conversations("mysql://x")
    assert info.value.field == "conversations"


def test_conformance_sync(store_url: str) -> None:
    store = open_conversations(store_url)
    try:
        assert store.get("t1", "resp_1") is None
        store.put("t1", "resp_1", ENTRY)
        assert store.get("t1", "resp_1") == ENTRY
        assert store.get("t2", "resp_1") is None  # another tenant sees nothing
        store.put("t1", "resp_1", {**ENTRY, "response": {"id": "v2"}})  # overwrite
        assert store.get("t1", "resp_1")["response"] == {"id": "v2"}  # type: ignore[index]
        assert store.delete("t2", "resp_1") is False
        assert store.delete("t1", "resp_1") is True
        assert store.get("t1", "resp_1") is None
    finally:
        store.close()


def test_conformance_async(store_url: str) -> None:
    store = open_conversations(store_url)

    async def main() -> None:
        assert await store.aget("t1", "resp_a") is None
        await store.aput("t1", "resp_a", ENTRY)
        assert await store.aget("t1", "resp_a") == ENTRY
        assert await store.aget("t2", "resp_a") is None
        assert await store.adelete("t1", "resp_a") is True
        assert await store.aget("t1", "resp_a") is None
        await store.aclose()

    asyncio.run(main())


def test_expired_entries_are_gone(tmp_path: Path) -> None:
    for store in (
        MemoryConversations(ttl_s=-1),
        SQLiteConversations(str(tmp_path / "e.db"), ttl_s=-1),
    ):
        store.put("t", "r", ENTRY)
        assert store.get("t", "r") is None
        store.close()


def test_conversation_through_each_backend(surfaces: Any, store_url: str) -> None:
    up = Upstream(openai=[json_reply(TEXT["openai"])])
    s = surfaces(up, conversations=store_url)
    first = s.create_response(model=MODELS["openai"], input="Hello", user="alice")
    second = s.create_response(
        model=MODELS["openai"], previous_response_id=first.id, input="Again", user="alice"
    )
    assert [m["role"] for m in up.last("openai")["messages"]] == ["user", "assistant", "user"]
    assert s.call("responses", "retrieve", second.id, user="alice").id == second.id
    # Another tenant (user) can neither continue nor read alice's conversation.
    with pytest.raises(aigate.InvalidRequestError):
        s.create_response(
            model=MODELS["openai"], previous_response_id=first.id, input="x", user="mallory"
        )
    with pytest.raises(aigate.InvalidRequestError):
        s.call("responses", "retrieve", first.id, user="mallory")
    assert s.call("responses", "delete", first.id, user="mallory") is False
    assert s.call("responses", "delete", first.id, user="alice") is True


def test_virtual_key_tenants_are_apart(surfaces: Any) -> None:
    up = Upstream(openai=[json_reply(TEXT["openai"])])
    s = surfaces(up, keys="memory://")
    keys = s.gw._core.keys
    secret_a, _ = keys.create(name="a", org="acme")
    secret_b, _ = keys.create(name="b", org="acme")
    first = s.create_response(model=MODELS["openai"], input="Hello", api_key=secret_a)
    s.create_response(
        model=MODELS["openai"], previous_response_id=first.id, input="x", api_key=secret_a
    )
    with pytest.raises(aigate.InvalidRequestError):
        s.create_response(
            model=MODELS["openai"], previous_response_id=first.id, input="x", api_key=secret_b
        )
    assert secret_a not in repr(s.responses.conversations)
