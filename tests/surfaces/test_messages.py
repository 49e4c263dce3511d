"""The Messages surface x every target kind (openai-compatible, anthropic, gemini): the
request each upstream receives, and the message / events the caller gets, validated with
anthropic's own types and stream accumulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import aigate

from .conftest import (
    KINDS,
    MODELS,
    Upstream,
    body_reply,
    check_message,
    check_message_events,
    json_reply,
    sse_reply,
)
from .test_responses import PARALLEL_STREAM, PNG, STREAM, STRUCTURED, TEXT, TEXT_OUT, TOOL_CALLS

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather at a place",
        "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
    },
    {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
]
USER = [{"role": "user", "content": "Hello"}]
THINKING = json.loads(
    (Path(__file__).parent.parent / "fixtures/anthropic/thinking.json").read_text()
)


def up_for(kind: str, *answers: Any) -> Upstream:
    return Upstream(**{kind: list(answers)})


@pytest.mark.parametrize("kind", KINDS)
def test_text(surfaces: Any, kind: str) -> None:
    up = up_for(kind, json_reply(TEXT[kind]))
    s = surfaces(up)
    m = s.create_message(model=MODELS[kind], max_tokens=300, system="Be brief", messages=USER)
    sdk = check_message(m)
    assert sdk.content[0].type == "text" and sdk.content[0].text == TEXT_OUT[kind]
    assert sdk.stop_reason == "end_turn"
    assert m.gateway.provider == kind
    body = up.last(kind)
    assert "Be brief" in json.dumps(body)
    if kind == "anthropic":
        assert body["max_tokens"] == 300 and body["system"] == "Be brief"
    elif kind == "openai":
        assert body["max_completion_tokens"] == 300
    else:
        assert body["generationConfig"]["maxOutputTokens"] == 300


@pytest.mark.parametrize("kind", KINDS)
def test_stream_events_validate_and_carry_usage(surfaces: Any, kind: str) -> None:
    s = surfaces(up_for(kind, sse_reply(STREAM[kind])))
    events, stream = s.stream("messages", model=MODELS[kind], max_tokens=300, messages=USER)
    final = check_message_events(events, stream.message)
    assert final.usage.output_tokens > 0
    assert events[-2].usage["input_tokens"] + events[-2].usage["output_tokens"] > 0
    assert stream.message.gateway.provider == kind


@pytest.mark.parametrize("kind", KINDS)
def test_multi_turn(surfaces: Any, kind: str) -> None:
    up = up_for(kind, json_reply(TEXT[kind]))
    s = surfaces(up)
    turns = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hi!"}]},
        {"role": "user", "content": [{"type": "text", "text": "And in French?"}]},
    ]
    check_message(s.create_message(model=MODELS[kind], max_tokens=100, messages=turns))
    sent = json.dumps(up.last(kind))
    assert "Hi!" in sent and "And in French?" in sent


@pytest.mark.parametrize("kind", KINDS)
def test_tools_and_tool_results(surfaces: Any, kind: str) -> None:
    up = up_for(kind, json_reply(TOOL_CALLS[kind]), json_reply(TEXT[kind]))
    s = surfaces(up)
    m = s.create_message(
        model=MODELS[kind],
        max_tokens=300,
        messages=USER,
        tools=TOOLS,
        tool_choice={"type": "auto", "disable_parallel_tool_use": False},
    )
    sdk = check_message(m)
    uses = [b for b in sdk.content if b.type == "tool_use"]
    assert uses and sdk.stop_reason == "tool_use"
    assert all(isinstance(u.input, dict) for u in uses)
    follow = [
        *USER,
        {"role": "assistant", "content": [b.model_dump() for b in sdk.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": u.id, "content": "15 degrees"} for u in uses
            ],
        },
    ]
    check_message(
        s.create_message(model=MODELS[kind], max_tokens=300, messages=follow, tools=TOOLS)
    )
    sent = up.last(kind)
    if kind == "anthropic":  # ids unchanged, round trip exact
        assert [b["id"] for b in sent["messages"][1]["content"] if b["type"] == "tool_use"] == [
            u.id for u in uses
        ]
        assert [b["tool_use_id"] for b in sent["messages"][2]["content"]] == [u.id for u in uses]
    elif kind == "openai":
        roles = [m["role"] for m in sent["messages"]]
        assert roles == ["user", "assistant", *["tool"] * len(uses)]
        assert [t["tool_call_id"] for t in sent["messages"][2:]] == [u.id for u in uses]
    else:
        parts = sent["contents"][2]["parts"]
        assert [p["functionResponse"]["name"] for p in parts] == [u.name for u in uses]


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_tool_use_in_streams(surfaces: Any, kind: str) -> None:
    s = surfaces(up_for(kind, sse_reply(PARALLEL_STREAM[kind])))
    events, stream = s.stream(
        "messages", model=MODELS[kind], max_tokens=300, messages=USER, tools=TOOLS
    )
    final = check_message_events(events, stream.message)
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [u.name for u in uses] == ["get_weather", "get_time"]
    assert uses[0].input == {"location": "Paris, France"}
    assert uses[1].input == {}  # no arguments streamed: still an object
    assert final.stop_reason == "tool_use"
    starts = [e.index for e in events if e.type == "content_block_start"]
    assert starts == sorted(set(starts))  # one block per call, indices in order


@pytest.mark.parametrize("kind", KINDS)
def test_structured_output(surfaces: Any, kind: str) -> None:
    up = up_for(kind, STRUCTURED[kind]())
    s = surfaces(up)
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    m = s.create_message(
        model=MODELS[kind],
        max_tokens=300,
        messages=USER,
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    sdk = check_message(m)
    json.loads(sdk.content[-1].text)  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", KINDS)
def test_images_and_documents(surfaces: Any, kind: str) -> None:
    up = up_for(kind, json_reply(TEXT[kind]))
    s = surfaces(up)
    data = PNG.split(",", 1)[1]
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
        },
        {"type": "text", "text": "What is this?"},
    ]
    check_message(
        s.create_message(
            model=MODELS[kind], max_tokens=100, messages=[{"role": "user", "content": content}]
        )
    )
    body = up.last(kind)
    if kind == "anthropic":
        blocks = body["messages"][0]["content"]
        assert blocks[0] == content[0] and blocks[1]["type"] == "document"
    elif kind == "openai":
        parts = body["messages"][0]["content"]
        assert parts[0]["image_url"]["url"] == PNG and parts[1]["type"] == "file"
    else:
        parts = body["contents"][0]["parts"]
        assert parts[0]["inlineData"] == {"mimeType": "image/png", "data": data}


def test_thinking_passes_through_to_anthropic_unchanged(surfaces: Any) -> None:
    up = up_for("anthropic", json_reply("anthropic/thinking.json"), json_reply(TEXT["anthropic"]))
    s = surfaces(up)
    thinking = {"type": "enabled", "budget_tokens": 2000}
    m = s.create_message(
        model=MODELS["anthropic"], max_tokens=4000, messages=USER, thinking=thinking
    )
    sdk = check_message(m)
    assert up.last("anthropic")["thinking"] == thinking
    assert [b.model_dump(exclude_none=True) for b in sdk.content] == THINKING["content"]
    # Sent back: every block (signature and redacted data) byte for byte.
    follow = [
        *USER,
        {"role": "assistant", "content": THINKING["content"]},
        {"role": "user", "content": "More"},
    ]
    s.create_message(model=MODELS["anthropic"], max_tokens=4000, messages=follow, thinking=thinking)
    assert up.last("anthropic")["messages"][1]["content"] == THINKING["content"]


def test_thinking_stream_signature(surfaces: Any) -> None:
    s = surfaces(up_for("anthropic", sse_reply("anthropic/stream_thinking.sse")))
    events, stream = s.stream("messages", model=MODELS["anthropic"], max_tokens=4000, messages=USER)
    final = check_message_events(events, stream.message)
    assert final.content[0].type == "thinking"
    assert final.content[0].signature == "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    kinds = [e.delta["type"] for e in events if e.type == "content_block_delta"]
    assert "signature_delta" in kinds


@pytest.mark.parametrize("kind", ["openai", "gemini"])
def test_thinking_becomes_reasoning_effort_elsewhere(surfaces: Any, kind: str) -> None:
    """Targets without Anthropic's thinking object get an effort; signed blocks and
    cache_control are never sent to an OpenAI-compatible upstream."""
    up = up_for(kind, json_reply(TEXT[kind]))
    s = surfaces(up)
    follow = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Q", "cache_control": {"type": "ephemeral"}}],
        },
        {"role": "assistant", "content": THINKING["content"]},
        {"role": "user", "content": "More"},
    ]
    s.create_message(
        model=MODELS[kind],
        max_tokens=4000,
        messages=follow,
        thinking={"type": "enabled", "budget_tokens": 2000},
    )
    body = up.last(kind)
    sent = json.dumps(body)
    assert "signature" not in sent and "redacted_thinking" not in sent
    assert "cache_control" not in sent and "thinking_blocks" not in sent
    if kind == "openai":
        assert body["reasoning_effort"] == "low"
        assert "thinking" not in body
    else:
        assert "thinkingConfig" in body["generationConfig"]


def test_cache_control_passes_to_anthropic(surfaces: Any) -> None:
    up = up_for("anthropic", json_reply(TEXT["anthropic"]))
    s = surfaces(up)
    system = [{"type": "text", "text": "Long rules", "cache_control": {"type": "ephemeral"}}]
    content = [{"type": "text", "text": "Q", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    s.create_message(
        model=MODELS["anthropic"],
        max_tokens=100,
        system=system,
        messages=[{"role": "user", "content": content}],
    )
    body = up.last("anthropic")
    assert body["system"] == system
    assert body["messages"][0]["content"] == content


def test_cache_usage_in_anthropic_convention(surfaces: Any) -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 5,
            "total_tokens": 105,
            "prompt_tokens_details": {"cached_tokens": 60},
        },
    }
    s = surfaces(up_for("openai", body_reply(body)))
    sdk = check_message(s.create_message(model=MODELS["openai"], max_tokens=10, messages=USER))
    assert sdk.usage.input_tokens == 40  # Anthropic's input excludes the cache read
    assert sdk.usage.cache_read_input_tokens == 60


def test_bad_input_is_refused_before_sending(surfaces: Any) -> None:
    up = up_for("openai", json_reply(TEXT["openai"]))
    s = surfaces(up)
    cases = [
        ({"messages": USER}, "max_tokens"),
        ({"max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        (
            {
                "max_tokens": 5,
                "messages": USER,
                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
            },
            "tools.0.type",
        ),
        ({"max_tokens": 5, "messages": USER, "top_kk": 3}, "top_kk"),
    ]
    for kwargs, field in cases:
        with pytest.raises(aigate.InvalidRequestError) as info:
            s.create_message(model=MODELS["openai"], **kwargs)
        assert info.value.field == field
    assert up.bodies["openai"] == []


@pytest.mark.parametrize("kind", KINDS)
def test_count_tokens_offline(surfaces: Any, kind: str) -> None:
    up = up_for(kind, json_reply(TEXT[kind]))
    s = surfaces(up)
    short = s.call("messages", "count_tokens", model=MODELS[kind], messages=USER)
    long = s.call(
        "messages",
        "count_tokens",
        model=MODELS[kind],
        system="Be brief " * 50,
        messages=USER,
        tools=TOOLS,
    )
    assert 0 < short.input_tokens < long.input_tokens
    assert up.bodies[kind] == []  # nothing sent


def test_ledger_tags_the_surface(surfaces: Any) -> None:
    s = surfaces(up_for("openai", json_reply(TEXT["openai"])), ledger="memory://")
    s.create_message(model=MODELS["openai"], max_tokens=10, messages=USER)
    [record] = s.gw._core.ledger.query()
    assert record.metadata.get("surface") == "messages"
