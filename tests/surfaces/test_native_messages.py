"""``gw.messages`` passed through natively to Anthropic's ``/v1/messages`` when every target
of the call is an Anthropic provider (issue 16: "routed to Anthropic natively"), sync and
async.

Upstream answers are Anthropic's documented examples (tests/fixtures/anthropic/SOURCES.md,
tests/surfaces/fixtures/SOURCES.md); what the caller gets is validated with the
``anthropic`` package's own ``Message`` and ``RawMessageStreamEvent`` and fed to
anthropic's own stream accumulator.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import aigate

from .conftest import (
    NATIVE_PROVIDERS,
    Upstream,
    check_message,
    check_message_events,
    event_parts,
    fixture,
    json_reply,
    parts_reply,
    sse_reply,
)

MODEL = "anthropic/claude-sonnet-4-6"
USER = [{"role": "user", "content": "Hi"}]
BACKUP = {
    "kind": "anthropic",
    "api_keys": ["sk-ant-backup"],
    "base_url": "https://anthropic-backup.example/v1",
    "options": {"native": True},
}
# A replayed turn with Anthropic-only content: a signed thinking block, cache_control,
# a server tool (Anthropic's "Web search tool" and "Extended thinking" docs).
THINKING = {
    "type": "thinking",
    "thinking": "Let me analyze this step by step...",
    "signature": "WaUjzkypQ2mUEVM36O2TxuC06KN8xyfbJwyem2dw3URve/op91XWHOEBLLqIOMfFG/UvLEczmEsUjavL",
}
HISTORY = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "A long document...", "cache_control": {"type": "ephemeral"}}
        ],
    },
    {"role": "assistant", "content": [THINKING, {"type": "text", "text": "Noted."}]},
    {"role": "user", "content": "When was Claude Shannon born?"},
]
SERVER_TOOLS = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]


@pytest.fixture
def surfaces(surfaces: Any) -> Any:
    def make(up: Upstream, **config: Any) -> Any:
        config.setdefault("providers", NATIVE_PROVIDERS)
        return surfaces(up, **config)

    return make


def paths(up: Upstream) -> list[str]:
    return [r.url.path for r in up.requests]


def test_the_body_goes_as_is(surfaces: Any) -> None:
    up = Upstream(anthropic=[json_reply("anthropic_web_search.json")])
    s = surfaces(up, ledger="memory://")
    m = s.create_message(
        model=MODEL,
        max_tokens=1024,
        system=[{"type": "text", "text": "Be brief", "cache_control": {"type": "ephemeral"}}],
        messages=HISTORY,
        tools=SERVER_TOOLS,
        thinking={"type": "enabled", "budget_tokens": 2048},
        metadata={"user_id": "u-7"},
        top_k=5,
        user="u-1",
        cache=False,
    )
    assert paths(up) == ["/v1/messages"]
    request = up.requests[0]
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = up.last("anthropic")
    assert body["model"] == "claude-sonnet-4-6"
    assert body["messages"] == HISTORY  # signature, cache_control untouched
    assert body["tools"] == SERVER_TOOLS and body["top_k"] == 5
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["metadata"] == {"user_id": "u-7"}  # Anthropic's own field
    assert "user" not in body and "cache" not in body
    sdk = check_message(m)
    expected = json.loads(fixture("anthropic_web_search.json"))
    assert [b.model_dump(exclude_none=True) for b in sdk.content] == expected["content"]
    assert m.gateway.provider == "anthropic" and m.gateway.cost_usd > 0
    [row] = s.gw._core.ledger.query()
    assert row.kind == "messages" and row.user == "u-1"
    # usage: input excludes the cache at Anthropic; aigate's prompt includes it
    assert (row.prompt_tokens, row.cached_tokens, row.cache_write_tokens) == (18039, 10000, 2000)
    assert row.completion_tokens == 931


def test_priced_with_cache_reads_and_writes(surfaces: Any) -> None:
    up = Upstream(anthropic=[json_reply("anthropic_web_search.json")])
    s = surfaces(up)
    m = s.create_message(model=MODEL, max_tokens=1024, messages=USER)
    target = s.gw._core.resolve(MODEL)[1][0]
    usage = aigate.Usage(
        prompt_tokens=18039,
        completion_tokens=931,
        total_tokens=18970,
        prompt_tokens_details={"cached_tokens": 10000, "cache_write_tokens": 2000},
    )
    assert m.gateway.cost_usd == s.gw._core.cost(target, usage)


@pytest.mark.parametrize("path", ["anthropic_stream_thinking.sse", "anthropic/stream_tool_use.sse"])
def test_stream_is_anthropics_own_events(surfaces: Any, path: str) -> None:
    up = Upstream(anthropic=[sse_reply(path)])
    s = surfaces(up, ledger="memory://")
    events, stream = s.stream("messages", model=MODEL, max_tokens=1024, messages=USER)
    assert paths(up) == ["/v1/messages"] and up.last("anthropic")["stream"] is True
    final = check_message_events(events, stream.message)
    sent = [
        json.loads(p.split(b"data: ", 1)[1]) for p in fixture(path).split(b"\n\n") if b"data: " in p
    ]
    assert [e.model_dump() for e in events] == sent  # event for event, unchanged
    assert final.usage.output_tokens == sent[-2]["usage"]["output_tokens"]
    assert stream.message.gateway.provider == "anthropic"
    [row] = s.gw._core.ledger.query()
    assert row.kind == "messages" and row.stream and not row.estimated
    assert row.completion_tokens == sent[-2]["usage"]["output_tokens"]
    if path.endswith("thinking.sse"):
        assert final.content[0].signature  # type: ignore[union-attr]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_failover_between_anthropic_targets(surfaces: Any, stream: bool) -> None:
    answer = (
        sse_reply("anthropic_stream_thinking.sse")
        if stream
        else json_reply("anthropic/message.json")
    )
    overloaded = httpx.Response(
        529, json={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    up = Upstream(anthropic=[overloaded, answer])
    providers = {"anthropic": {"api_keys": ["sk-ant-test"]}, "backup": BACKUP}
    s = surfaces(up, providers=providers, routes={"r": [MODEL, "backup/claude-sonnet-4-6"]})
    if stream:
        events, result = s.stream("messages", model="r", max_tokens=64, messages=USER)
        check_message_events(events, result.message)
        info = result.message.gateway
    else:
        info = s.create_message(model="r", max_tokens=64, messages=USER).gateway
    assert [r.url.host for r in up.requests] == ["api.anthropic.com", "anthropic-backup.example"]
    assert info.provider == "backup" and [a.status_code for a in info.attempts] == [529, 200]


def test_an_error_event_before_content_fails_over(surfaces: Any) -> None:
    start = fixture("anthropic_stream_thinking.sse").split(b"\n\n")[0] + b"\n\n"
    broken = start + fixture("anthropic/stream_error_event.sse")
    up = Upstream(
        anthropic=[
            lambda: httpx.Response(
                200, content=broken, headers={"content-type": "text/event-stream"}
            ),
            sse_reply("anthropic_stream_thinking.sse"),
        ]
    )
    providers = {"anthropic": {"api_keys": ["sk-ant-test"]}, "backup": BACKUP}
    s = surfaces(up, providers=providers, routes={"r": [MODEL, "backup/claude-sonnet-4-6"]})
    events, stream = s.stream("messages", model="r", max_tokens=64, messages=USER)
    check_message_events(events, stream.message)
    assert stream.message.gateway.provider == "backup"


def test_an_error_event_after_content_is_interrupted(surfaces: Any) -> None:
    parts = event_parts("anthropic_stream_thinking.sse")[:9]
    up = Upstream(anthropic=[parts_reply([*parts, fixture("anthropic/stream_error_event.sse")])])
    s = surfaces(up, ledger="memory://")
    with pytest.raises(aigate.StreamInterrupted) as info:
        s.stream("messages", model=MODEL, max_tokens=64, messages=USER)
    assert info.value.partial.choices[0].message.content == "The GCD is 21."
    [row] = s.gw._core.ledger.query()
    assert row.status == "error" and row.kind == "messages"
    assert row.prompt_tokens == 10  # message_start's usage was read


def test_a_mixed_route_is_translated(surfaces: Any) -> None:
    up = Upstream(
        openai=[json_reply("openai/chat_completion.json")],
        anthropic=[json_reply("anthropic/message.json")],
    )
    s = surfaces(up, routes={"mixed": [MODEL, "openai/gpt-4o-mini"]})
    check_message(s.create_message(model="mixed", max_tokens=64, messages=USER, top_k=5))
    assert paths(up) == ["/v1/messages"]
    assert "top_k" not in up.last("anthropic")  # translated: no equivalent on the route


def test_a_budget_clamps_or_refuses_from_max_tokens(surfaces: Any) -> None:
    up = Upstream(anthropic=[json_reply("anthropic/message.json")])
    budget = {
        "store": "memory://",
        "limits": [{"scope": "global", "amount": "0.05", "window": "day"}],
    }
    s = surfaces(up, budget=budget, ledger="memory://")
    with pytest.raises(aigate.BudgetExceeded):
        s.create_message(model=MODEL, max_tokens=1_000_000, messages=USER)
    assert up.requests == []
    m = s.create_message(model=MODEL, max_tokens=100, messages=USER)
    rows = s.gw._core.ledger.query()
    assert [row.status for row in rows] == ["refused", "ok"]
    assert rows[-1].cost_nano == aigate.pricing.to_nano(m.gateway.cost_usd)


def test_count_tokens_is_unchanged_and_offline(surfaces: Any) -> None:
    up = Upstream(anthropic=[json_reply("anthropic/message.json")])
    s = surfaces(up)
    count = s.call("messages", "count_tokens", model=MODEL, messages=USER)
    assert count.input_tokens > 0 and up.requests == []


def test_through_the_anthropic_sdk(surfaces: Any, mode: str) -> None:
    up = Upstream(
        anthropic=[
            json_reply("anthropic/message.json"),
            sse_reply("anthropic_stream_thinking.sse"),
            sse_reply("anthropic_stream_thinking.sse"),
        ]
    )
    s = surfaces(up, ledger="memory://")
    ask = {"model": MODEL, "max_tokens": 64, "messages": USER}
    if mode == "sync":
        client = s.gw.anthropic_client()
        plain = client.messages.create(**ask)
        events = list(client.messages.create(**ask, stream=True))
        with client.messages.stream(**ask) as stream:
            final = stream.get_final_message()
    else:
        import asyncio

        async def main() -> Any:
            client = s.gw.async_anthropic_client()
            plain = await client.messages.create(**ask)
            events = [e async for e in await client.messages.create(**ask, stream=True)]
            async with client.messages.stream(**ask) as stream:
                final = await stream.get_final_message()
            return plain, events, final

        plain, events, final = asyncio.run(main())
    assert plain.content[0].text == "Hi! My name is Claude."
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    assert final.content[0].signature and final.content[1].text == "The GCD is 21."
    assert paths(up) == ["/v1/messages"] * 3
    assert len(s.gw._core.ledger.query()) == 3


def test_closed_early_is_recorded_once(surfaces: Any, mode: str) -> None:
    up = Upstream(anthropic=[sse_reply("anthropic_stream_thinking.sse")])
    s = surfaces(up, ledger="memory://")
    ask = {"model": MODEL, "max_tokens": 64, "messages": USER}
    if mode == "sync":
        stream = s.messages.create(**ask, stream=True)
        first = next(iter(stream))
        stream.close()
    else:
        import asyncio

        async def main() -> Any:
            stream = await s.messages.create(**ask, stream=True)
            first = await anext(aiter(stream))
            await stream.close()
            return first

        first = asyncio.run(main())
    assert first.type == "message_start"
    [row] = s.gw._core.ledger.query()
    assert row.kind == "messages" and row.error_type == "cancelled"
    assert row.prompt_tokens == 10  # message_start's usage, not an estimate


def _through_sdk(s: Any, *asks: dict[str, Any]) -> list[Any]:
    """Each of ``asks`` through anthropic's ``beta.messages.create`` (``betas=`` ->
    ``anthropic-beta``), on the sync or the async client."""
    if s.mode == "sync":
        client = s.gw.anthropic_client()
        return [client.beta.messages.create(**ask) for ask in asks]
    import asyncio

    async def main() -> list[Any]:
        client = s.gw.async_anthropic_client()
        return [await client.beta.messages.create(**ask) for ask in asks]

    return asyncio.run(main())


def test_the_sdks_beta_header_reaches_anthropic(surfaces: Any) -> None:
    """``client.beta.messages.create(betas=[...])`` sends ``anthropic-beta``: on the native
    path it is Anthropic's to read (Claude tooling turns features on with it)."""
    up = Upstream(anthropic=[json_reply("anthropic/message.json")] * 2)
    s = surfaces(up)
    betas = ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"]
    ask = {"model": MODEL, "max_tokens": 64, "messages": USER}
    with_betas, _ = _through_sdk(s, {**ask, "betas": betas}, ask)
    assert with_betas.content[0].text == "Hi! My name is Claude."
    assert up.requests[0].headers["anthropic-beta"] == ",".join(betas)
    assert "anthropic-beta" not in up.requests[1].headers


def test_a_configured_beta_and_the_sdks_are_both_sent(surfaces: Any) -> None:
    up = Upstream(anthropic=[json_reply("anthropic/message.json")])
    providers = {"anthropic": {"api_keys": ["sk-ant-test"], "options": {"beta": "b-config"}}}
    s = surfaces(up, providers=providers)
    _through_sdk(s, {"model": MODEL, "max_tokens": 64, "messages": USER, "betas": ["b-sdk"]})
    assert up.requests[0].headers["anthropic-beta"] == "b-config,b-sdk"


def test_the_sdks_beta_header_is_not_sent_to_other_providers(surfaces: Any) -> None:
    """On a translated route the header is Anthropic's alone: an OpenAI target never gets it."""
    up = Upstream(openai=[json_reply("openai/chat_completion.json")])
    s = surfaces(up)
    ask = {"model": "openai/gpt-4o-mini", "max_tokens": 64, "messages": USER}
    _through_sdk(s, {**ask, "betas": ["context-1m-2025-08-07"]})
    assert [r.url.path for r in up.requests] == ["/v1/chat/completions"]
    assert "anthropic-beta" not in up.requests[0].headers
