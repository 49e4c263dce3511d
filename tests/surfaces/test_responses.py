"""The Responses surface x every target kind (openai-compatible, anthropic, gemini): the
request each upstream receives, and the response / events the caller gets, validated with
openai's own types and stream accumulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

import aigate
from aigate.surfaces._reasoning import decode_blocks

from .conftest import (
    KINDS,
    MODELS,
    Upstream,
    body_reply,
    check_response,
    check_response_events,
    json_reply,
    sse_reply,
)

TEXT = {
    "openai": "openai/chat_completion.json",
    "anthropic": "anthropic/message.json",
    "gemini": "gemini/generate_content.json",
}
TEXT_OUT = {
    "openai": "\n\nHello there, how may I assist you today?",
    "anthropic": "Hi! My name is Claude.",
    "gemini": "Hello! How can I help you today?",
}
STREAM = {
    "openai": "openai/chat_stream.sse",
    "anthropic": "anthropic/stream_thinking.sse",
    "gemini": "gemini/stream_usage.sse",
}
PARALLEL_STREAM = {k: f"{k}_parallel_tools.sse" for k in KINDS}
TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather at a place",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    },
    {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}},
]
PNG = (  # a 1x1 PNG
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE"
    "hQGAhKmMIQAAAABJRU5ErkJggg=="
)


def upstream_for(kind: str, *answers: Any) -> Upstream:
    return Upstream(**{kind: list(answers)})


def system_of(kind: str, body: Any) -> Any:
    if kind == "openai":
        return [m["content"] for m in body["messages"] if m["role"] == "system"]
    if kind == "anthropic":
        return body.get("system")
    return body.get("systemInstruction")


@pytest.mark.parametrize("kind", KINDS)
def test_text(surfaces: Any, kind: str) -> None:
    up = upstream_for(kind, json_reply(TEXT[kind]))
    s = surfaces(up)
    r = s.create_response(model=MODELS[kind], input="Hello", instructions="Be brief")
    sdk = check_response(r)
    assert sdk.output_text == TEXT_OUT[kind]
    assert sdk.status == "completed"
    assert r.gateway.provider == kind
    assert "Be brief" in json.dumps(system_of(kind, up.last(kind)))
    assert sdk.instructions == "Be brief"
    assert sdk.usage.input_tokens + sdk.usage.output_tokens == sdk.usage.total_tokens > 0


@pytest.mark.parametrize("kind", KINDS)
def test_text_stream_events_validate_and_carry_usage(surfaces: Any, kind: str) -> None:
    s = surfaces(upstream_for(kind, sse_reply(STREAM[kind])))
    events, stream = s.stream("responses", model=MODELS[kind], input="Hello")
    final = check_response_events(events, stream.response)
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == final.output_text and deltas
    assert final.usage is not None and final.usage.total_tokens > 0
    assert stream.response.gateway.provider == kind


@pytest.mark.parametrize("kind", KINDS)
def test_multi_turn_previous_response_id(surfaces: Any, kind: str) -> None:
    up = upstream_for(kind, json_reply(TEXT[kind]))
    s = surfaces(up)
    first = s.create_response(model=MODELS[kind], input="Hello", instructions="Be brief")
    second = s.create_response(
        model=MODELS[kind], previous_response_id=first.id, input="And in French?"
    )
    check_response(second)
    sent = json.dumps(up.last(kind))
    assert "Hello" in sent and "And in French?" in sent
    assert TEXT_OUT[kind].strip() in sent.replace("\\n", "\n")  # the first answer, replayed
    assert "Be brief" not in sent  # instructions are not carried over (OpenAI's semantics)
    assert second.previous_response_id == first.id
    assert s.call("responses", "retrieve", first.id).id == first.id


def test_previous_response_id_unknown_is_a_typed_error_before_sending(surfaces: Any) -> None:
    up = upstream_for("openai", json_reply(TEXT["openai"]))
    s = surfaces(up)
    with pytest.raises(aigate.InvalidRequestError) as info:
        s.create_response(model=MODELS["openai"], previous_response_id="resp_nope", input="x")
    assert info.value.field == "previous_response_id"
    assert up.bodies["openai"] == []


def test_store_false_is_not_kept(surfaces: Any) -> None:
    s = surfaces(upstream_for("openai", json_reply(TEXT["openai"])))
    r = s.create_response(model=MODELS["openai"], input="Hello", store=False)
    with pytest.raises(aigate.InvalidRequestError):
        s.call("responses", "retrieve", r.id)


def test_conversation_continues_when_the_next_turn_fails_over(surfaces: Any) -> None:
    """Turn 1 is served by OpenAI; turn 2's OpenAI attempt fails and Anthropic serves it,
    with the whole conversation (kept by aigate, not by OpenAI)."""
    up = Upstream(
        openai=[
            json_reply(TEXT["openai"]),
            lambda: __import__("httpx").Response(500, json={"error": {"message": "down"}}),
        ],
        anthropic=[json_reply(TEXT["anthropic"])],
    )
    routes = {
        "smart": {"targets": [MODELS["openai"], MODELS["anthropic"]], "retry": {"max_attempts": 2}}
    }
    s = surfaces(up, routes=routes)
    first = s.create_response(model="smart", input="Hello")
    assert first.gateway.provider == "openai"
    second = s.create_response(model="smart", previous_response_id=first.id, input="Again?")
    assert second.gateway.provider == "anthropic"
    sent = up.last("anthropic")["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"][0]["text"].strip() == TEXT_OUT["openai"].strip()


TOOL_CALLS = {
    "openai": "openai/chat_tool_calls.json",
    "anthropic": "anthropic/parallel_tool_use.json",
    "gemini": "gemini/parallel_function_calls.json",
}


@pytest.mark.parametrize("kind", KINDS)
def test_tools_and_tool_outputs(surfaces: Any, kind: str) -> None:
    up = upstream_for(kind, json_reply(TOOL_CALLS[kind]), json_reply(TEXT[kind]))
    s = surfaces(up)
    r = s.create_response(model=MODELS[kind], input="Weather?", tools=TOOLS, tool_choice="auto")
    check_response(r)
    body = up.last(kind)
    names = json.dumps(body)
    assert "get_weather" in names and "get_time" in names
    calls = [i for i in r.output if i.type == "function_call"]
    assert calls and all(json.loads(c.arguments) is not None for c in calls)
    outputs = [
        {"type": "function_call_output", "call_id": c.call_id, "output": "15 degrees"}
        for c in calls
    ]
    follow = [
        *[
            {
                "type": "function_call",
                "call_id": c.call_id,
                "name": c.name,
                "arguments": c.arguments,
            }
            for c in calls
        ],
        *outputs,
    ]
    s.create_response(model=MODELS[kind], input=follow, tools=TOOLS, store=False)
    sent = up.last(kind)
    if kind == "openai":
        assert [m["role"] for m in sent["messages"]] == ["assistant", *["tool"] * len(calls)]
        assert [t["id"] for t in sent["messages"][0]["tool_calls"]] == [c.call_id for c in calls]
    elif kind == "anthropic":
        uses = [b["id"] for b in sent["messages"][0]["content"] if b["type"] == "tool_use"]
        results = [b["tool_use_id"] for b in sent["messages"][1]["content"]]
        assert uses == results == [c.call_id for c in calls]
    else:
        parts = sent["contents"][1]["parts"]
        assert [p["functionResponse"]["name"] for p in parts] == [c.name for c in calls]


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_tool_calls_in_streams(surfaces: Any, kind: str) -> None:
    s = surfaces(upstream_for(kind, sse_reply(PARALLEL_STREAM[kind])))
    events, stream = s.stream(
        "responses", model=MODELS[kind], input="Weather and time?", tools=TOOLS
    )
    final = check_response_events(events, stream.response)
    calls = [i for i in final.output if i.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].arguments) == {"location": "Paris, France"}
    assert calls[1].arguments == "{}"  # no arguments streamed: still parses
    for call in calls:  # the deltas of each item add up to its arguments
        deltas = "".join(
            e.delta
            for e in events
            if e.type == "response.function_call_arguments.delta" and e.item_id == call.id
        )
        assert json.loads(deltas) == json.loads(call.arguments)
    assert len({c.call_id for c in calls}) == 2
    assert final.usage.total_tokens > 0
    if kind == "openai":
        assert final.usage.input_tokens_details.cached_tokens == 64


STRUCTURED = {
    "openai": lambda: body_reply(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": '{"city": "Paris"}'},
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
        }
    ),
    "anthropic": lambda: json_reply("anthropic/json_tool.json"),
    "gemini": lambda: json_reply("gemini/json_mode.json"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_structured_output(surfaces: Any, kind: str) -> None:
    up = upstream_for(kind, STRUCTURED[kind]())
    s = surfaces(up)
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    r = s.create_response(
        model=MODELS[kind],
        input="City?",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}},
    )
    check_response(r)
    json.loads(r.output_text)
    body = up.last(kind)
    if kind == "openai":
        assert body["response_format"]["json_schema"]["schema"] == schema
    elif kind == "anthropic":
        assert any(t["input_schema"] == schema for t in body["tools"])
    else:
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
    assert r.text["format"]["name"] == "city"


@pytest.mark.parametrize("kind", KINDS)
def test_images_and_files_in_input(surfaces: Any, kind: str) -> None:
    up = upstream_for(kind, json_reply(TEXT[kind]))
    s = surfaces(up)
    content = [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": PNG, "detail": "low"},
        {
            "type": "input_file",
            "filename": "a.pdf",
            "file_data": "data:application/pdf;base64,JVBERi0=",
        },
    ]
    check_response(
        s.create_response(model=MODELS[kind], input=[{"role": "user", "content": content}])
    )
    body = up.last(kind)
    if kind == "openai":
        parts = body["messages"][0]["content"]
        assert [p["type"] for p in parts] == ["text", "image_url", "file"]
        assert parts[1]["image_url"] == {"url": PNG, "detail": "low"}
    elif kind == "anthropic":
        blocks = body["messages"][0]["content"]
        assert [b["type"] for b in blocks] == ["text", "image", "document"]
        assert blocks[1]["source"]["media_type"] == "image/png"
    else:
        parts = body["contents"][0]["parts"]
        assert parts[1]["inlineData"]["mimeType"] == "image/png"
        assert parts[2]["inlineData"]["mimeType"] == "application/pdf"


def test_file_id_is_refused_naming_the_field(surfaces: Any) -> None:
    up = upstream_for("openai", json_reply(TEXT["openai"]))
    s = surfaces(up)
    with pytest.raises(aigate.InvalidRequestError) as info:
        s.create_response(
            model=MODELS["openai"],
            input=[{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}],
        )
    assert info.value.field == "input.0.0.file_data"
    assert up.bodies["openai"] == []


def test_reasoning_round_trip_keeps_signatures_anthropic(surfaces: Any) -> None:
    """Anthropic's signed thinking and redacted blocks ride in the reasoning item's
    encrypted_content and go back byte for byte (store=False: the client replays)."""
    up = upstream_for("anthropic", json_reply("anthropic/thinking.json"))
    s = surfaces(up)
    r = s.create_response(
        model=MODELS["anthropic"],
        input="Think",
        reasoning={"effort": "low"},
        max_output_tokens=4000,
        store=False,
    )
    check_response(r)
    assert up.last("anthropic")["thinking"]["type"] == "enabled"
    reasoning = r.output[0]
    assert reasoning.type == "reasoning"
    blocks = decode_blocks(reasoning.encrypted_content)
    original = json.loads(
        (
            __import__("pathlib").Path(__file__).parent.parent / "fixtures/anthropic/thinking.json"
        ).read_text()
    )["content"][:2]
    assert blocks == original
    replay = [*[i.model_dump() for i in r.output], {"role": "user", "content": "More"}]
    s.create_response(model=MODELS["anthropic"], input=replay, store=False)
    sent = up.last("anthropic")["messages"]
    assert sent[0]["role"] == "assistant"
    assert sent[0]["content"][:2] == original


def test_reasoning_stream_round_trip_anthropic(surfaces: Any) -> None:
    up = upstream_for(
        "anthropic", sse_reply("anthropic/stream_thinking.sse"), json_reply(TEXT["anthropic"])
    )
    s = surfaces(up)
    events, stream = s.stream("responses", model=MODELS["anthropic"], input="GCD?")
    final = check_response_events(events, stream.response)
    reasoning = final.output[0]
    assert reasoning.type == "reasoning"
    text = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    assert reasoning.content[0].text == text
    [block] = decode_blocks(reasoning.encrypted_content)
    assert block["signature"] == "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    s.create_response(model=MODELS["anthropic"], previous_response_id=final.id, input="Why?")
    sent = up.last("anthropic")["messages"][1]["content"][0]
    assert sent == {"type": "thinking", "thinking": text, "signature": block["signature"]}


def test_gemini_thought_signature_round_trip(surfaces: Any) -> None:
    """Gemini 3's thoughtSignature rides in the call id and goes back on the functionCall."""
    up = upstream_for(
        "gemini", sse_reply("gemini/stream_function_call.sse"), json_reply(TEXT["gemini"])
    )
    s = surfaces(up)
    events, stream = s.stream(
        "responses",
        model=MODELS["gemini"],
        input="Country?",
        tools=[
            {
                "type": "function",
                "name": "get_country",
                "parameters": {"type": "object", "properties": {}},
            }
        ],
    )
    final = check_response_events(events, stream.response)
    [call] = [i for i in final.output if i.type == "function_call"]
    s.create_response(
        model=MODELS["gemini"],
        previous_response_id=final.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "France"}],
    )
    part = up.last("gemini")["contents"][1]["parts"][0]
    assert part["thoughtSignature"].startswith("Et8ECtwEAXLI2nyC")


@pytest.mark.parametrize("kind", KINDS)
def test_cache_control_only_where_it_is_carried(surfaces: Any, kind: str) -> None:
    up = upstream_for(kind, json_reply(TEXT[kind]))
    s = surfaces(up)
    part = {"type": "input_text", "text": "Long context", "cache_control": {"type": "ephemeral"}}
    s.create_response(model=MODELS[kind], input=[{"role": "user", "content": [part]}])
    sent = json.dumps(up.last(kind))
    assert ("cache_control" in sent) == (kind == "anthropic")


def test_thinking_blocks_not_sent_to_a_mixed_route(surfaces: Any) -> None:
    """A route that may fail over to an OpenAI-compatible target gets no signed blocks
    (that target would refuse the unknown field), nor reasoning_content."""
    up = Upstream(openai=[json_reply(TEXT["openai"])], anthropic=[json_reply(TEXT["anthropic"])])
    routes = {"mixed": {"targets": [MODELS["openai"], MODELS["anthropic"]]}}
    s = surfaces(up, routes=routes)
    item = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "hm"}],
        "encrypted_content": None,
    }
    s.create_response(
        model="mixed",
        input=[item, {"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}],
    )
    sent = json.dumps(up.last("openai"))
    assert "thinking_blocks" not in sent and "reasoning_content" not in sent


def test_hosted_tools_are_refused_before_sending(surfaces: Any) -> None:
    up = upstream_for("openai", json_reply(TEXT["openai"]))
    s = surfaces(up)
    with pytest.raises(aigate.InvalidRequestError) as info:
        s.create_response(model=MODELS["openai"], input="x", tools=[{"type": "web_search"}])
    assert info.value.field == "tools.0.type"
    with pytest.raises(aigate.InvalidRequestError) as info:
        s.create_response(model=MODELS["openai"], input="x", temprature=1)
    assert info.value.field == "temprature"
    assert up.bodies["openai"] == []


def test_incomplete_on_length(surfaces: Any) -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "length",
                "message": {"role": "assistant", "content": "Once upon"},
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
    s = surfaces(upstream_for("openai", body_reply(body)))
    r = s.create_response(model=MODELS["openai"], input="Story", max_output_tokens=2)
    sdk = check_response(r)
    assert sdk.status == "incomplete"
    assert sdk.incomplete_details is not None
    assert sdk.incomplete_details.reason == "max_output_tokens"


def test_ledger_tags_the_surface(surfaces: Any) -> None:
    s = surfaces(upstream_for("openai", json_reply(TEXT["openai"])), ledger="memory://")
    s.create_response(model=MODELS["openai"], input="Hello")
    [record] = s.gw._core.ledger.query()
    assert record.metadata.get("surface") == "responses"
