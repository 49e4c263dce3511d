"""``gw.responses`` passed through natively to OpenAI's ``/v1/responses`` when every target
of the call is an OpenAI provider (issue 16: "Routed to OpenAI natively"), sync and async.

Upstream answers are OpenAI's documented examples (tests/surfaces/fixtures/SOURCES.md:
the API reference's "Create a model response" example response and its streaming
events); what the caller gets is validated with the ``openai`` package's own ``Response``
and ``ResponseStreamEvent`` and fed to openai's stream accumulator.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

import aigate

from .conftest import (
    NATIVE_PROVIDERS,
    Upstream,
    check_response,
    check_response_events,
    event_parts,
    fixture,
    json_reply,
    parts_reply,
    sse_reply,
)

MODEL = "openai/gpt-4.1"
STORY = "In a peaceful grove beneath a silver moon"
HI = "Hi there! How can I assist you today?"
TOOLS = [{"type": "web_search_preview"}]  # a hosted tool: only OpenAI itself runs it
BACKUP = {"kind": "openai", "api_keys": ["sk-backup"], "base_url": "https://backup.example/v1"}


@pytest.fixture
def surfaces(surfaces: Any) -> Any:
    """The conftest harness with OpenAI and Anthropic at their official URLs (native)."""

    def make(up: Upstream, **config: Any) -> Any:
        config.setdefault("providers", NATIVE_PROVIDERS)
        return surfaces(up, **config)

    return make


def paths(up: Upstream) -> list[str]:
    return [r.url.path for r in up.requests]


def test_plain_goes_to_v1_responses_with_the_callers_fields(surfaces: Any) -> None:
    up = Upstream(openai=[json_reply("openai_response.json")])
    s = surfaces(up, ledger="memory://")
    r = s.create_response(
        model=MODEL,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Tell me a story"}]}],
        instructions="Be brief",
        tools=TOOLS,
        reasoning={"effort": "low", "summary": "auto"},
        include=["reasoning.encrypted_content"],
        text={"format": {"type": "text"}},
        max_output_tokens=500,
        metadata={"project": "acme"},
        cache=False,
        user="u-1",
    )
    assert paths(up) == ["/v1/responses"]
    request = up.requests[0]
    assert request.headers["authorization"] == "Bearer sk-test-openai"
    body = up.last("openai")
    assert body["model"] == "gpt-4.1"  # the target's model
    assert body["tools"] == TOOLS and body["include"] == ["reasoning.encrypted_content"]
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert body["instructions"] == "Be brief" and body["max_output_tokens"] == 500
    assert body["user"] == "u-1"
    assert "metadata" not in body and "cache" not in body  # aigate's own, never sent
    sdk = check_response(r)
    assert sdk.output_text.startswith(STORY)
    assert r.gateway.provider == "openai" and r.gateway.model == "gpt-4.1"
    assert isinstance(r.gateway.cost_usd, Decimal) and r.gateway.cost_usd > 0
    [row] = s.gw._core.ledger.query()
    assert (row.kind, row.prompt_tokens, row.completion_tokens) == ("responses", 36, 87)
    assert row.project == "acme"


def test_stream_is_openais_own_events(surfaces: Any) -> None:
    up = Upstream(openai=[sse_reply("openai_response_stream.sse")])
    s = surfaces(up, ledger="memory://")
    events, stream = s.stream("responses", model=MODEL, input="Hi")
    assert paths(up) == ["/v1/responses"] and up.last("openai")["stream"] is True
    final = check_response_events(events, stream.response)
    sent = [json.loads(p.split(b"data: ", 1)[1]) for p in event_parts("openai_response_stream.sse")]
    assert [e.type for e in events] == [e["type"] for e in sent]  # event for event
    assert [e.model_dump() for e in events][4:-1] == sent[4:-1]  # unchanged (ids aside)
    assert final.output_text == HI
    assert stream.response.id == events[0].response.id == events[-1].response.id
    assert stream.response.gateway.provider == "openai"
    [row] = s.gw._core.ledger.query()
    assert (row.kind, row.stream, row.prompt_tokens, row.completion_tokens) == (
        "responses",
        True,
        37,
        11,
    )
    assert row.cost_nano and not row.estimated


def test_priced_from_responses_usage_with_cached_and_reasoning_tokens(surfaces: Any) -> None:
    payload = json.loads(fixture("openai_response.json"))
    payload["usage"] = {
        "input_tokens": 2000,
        "input_tokens_details": {"cached_tokens": 1500, "cache_write_tokens": 0},
        "output_tokens": 300,
        "output_tokens_details": {"reasoning_tokens": 200},
        "total_tokens": 2300,
    }
    up = Upstream(openai=[httpx.Response(200, json=payload)])
    s = surfaces(up, ledger="memory://")
    r = s.create_response(model="openai/gpt-4o-mini", input="Hi")
    [row] = s.gw._core.ledger.query()
    assert (row.prompt_tokens, row.cached_tokens, row.completion_tokens, row.reasoning_tokens) == (
        2000,
        1500,
        300,
        200,
    )
    usage = aigate.Usage(
        prompt_tokens=2000,
        completion_tokens=300,
        total_tokens=2300,
        prompt_tokens_details={"cached_tokens": 1500},
        completion_tokens_details={"reasoning_tokens": 200},
    )
    target = s.gw._core.resolve("openai/gpt-4o-mini")[1][0]
    assert r.gateway.cost_usd == s.gw._core.cost(target, usage)
    uncached = aigate.Usage(prompt_tokens=2000, completion_tokens=300, total_tokens=2300)
    assert r.gateway.cost_usd < s.gw._core.cost(target, uncached)  # cached reads are cheaper


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_failover_between_openai_targets(surfaces: Any, stream: bool) -> None:
    answer = (
        sse_reply("openai_response_stream.sse") if stream else json_reply("openai_response.json")
    )
    up = Upstream(openai=[httpx.Response(503, json={"error": {"message": "down"}}), answer])
    providers = {
        "openai": {"api_keys": ["sk-test-openai"]},
        "backup": {**BACKUP, "options": {"native": True}},
    }
    s = surfaces(up, providers=providers, routes={"r": ["openai/gpt-4.1", "backup/gpt-4.1"]})
    if stream:
        events, result = s.stream("responses", model="r", input="Hi")
        check_response_events(events, result.response)
        info = result.response.gateway
    else:
        info = s.create_response(model="r", input="Hi").gateway
    assert [r.url.host for r in up.requests] == ["api.openai.com", "backup.example"]
    assert paths(up) == ["/v1/responses"] * 2
    assert info.provider == "backup" and [a.status_code for a in info.attempts] == [503, 200]


def test_an_error_event_before_content_fails_over(surfaces: Any) -> None:
    # The streaming reference's `error` event, right after `response.created`.
    parts = event_parts("openai_response_stream.sse")
    error = (
        b'event: error\ndata: {"type":"error","code":"server_error","message":"x",'
        b'"param":null,"sequence_number":1}\n\n'
    )
    up = Upstream(openai=[parts_reply([parts[0], error]), sse_reply("openai_response_stream.sse")])
    providers = {
        "openai": {"api_keys": ["sk-test-openai"]},
        "backup": {**BACKUP, "options": {"native": True}},
    }
    s = surfaces(up, providers=providers, routes={"r": ["openai/gpt-4.1", "backup/gpt-4.1"]})
    events, stream = s.stream("responses", model="r", input="Hi")
    check_response_events(events, stream.response)  # one response.created: the backup's
    assert stream.response.gateway.provider == "backup"


def test_interrupted_after_the_first_event_is_recorded(surfaces: Any) -> None:
    parts = event_parts("openai_response_stream.sse")
    up = Upstream(openai=[parts_reply(parts, fail_after=7)])
    s = surfaces(up, ledger="memory://")
    with pytest.raises(aigate.StreamInterrupted) as info:
        s.stream("responses", model=MODEL, input="Hi")
    assert info.value.partial.choices[0].message.content == "Hi there!"
    [row] = s.gw._core.ledger.query()
    assert row.status == "error" and row.kind == "responses" and row.estimated


def test_previous_response_id_sends_the_stored_items(surfaces: Any) -> None:
    up = Upstream(openai=[json_reply("openai_response.json")])
    s = surfaces(up)
    first = s.create_response(model=MODEL, input="Tell me a story", instructions="Be brief")
    second = s.create_response(model=MODEL, previous_response_id=first.id, input="Shorter?")
    body = up.last("openai")
    assert "previous_response_id" not in body  # never depending on OpenAI's copy
    first_output = check_response(first).output[0].model_dump(exclude_none=True)
    assert body["input"][0] == {"role": "user", "content": "Tell me a story"}
    assert body["input"][1]["id"] == first_output["id"]  # OpenAI's own output item
    assert body["input"][2] == {"role": "user", "content": "Shorter?"}
    assert "instructions" not in body  # the first turn's are not carried over
    assert second.previous_response_id == first.id
    assert s.call("responses", "retrieve", second.id).id == second.id


def test_an_unknown_id_goes_upstream_unchanged(surfaces: Any) -> None:
    up = Upstream(openai=[json_reply("openai_response.json")])
    s = surfaces(up)
    s.create_response(model=MODEL, previous_response_id="resp_openai_own", input="Go on")
    assert up.last("openai")["previous_response_id"] == "resp_openai_own"
    with pytest.raises(aigate.InvalidRequestError) as info:
        s.create_response(model=MODEL, previous_response_id="resp_x", input="x", store=False)
    assert info.value.field == "previous_response_id" and len(up.requests) == 1


def test_another_tenants_id_is_never_openais(surfaces: Any) -> None:
    """aigate's ids are its own: another tenant's id, unknown here and passed upstream,
    names nothing at OpenAI (no conversation read across tenants)."""
    up = Upstream(openai=[json_reply("openai_response.json")])
    s = surfaces(up)
    mine = s.create_response(model=MODEL, input="Secret", user="alice")
    assert mine.id != json.loads(fixture("openai_response.json"))["id"]
    s.create_response(model=MODEL, previous_response_id=mine.id, input="x", user="bob")
    assert "Secret" not in json.dumps(up.last("openai"))


def test_a_native_turn_continues_on_another_provider(surfaces: Any) -> None:
    up = Upstream(
        openai=[json_reply("openai_response.json")],
        anthropic=[json_reply("anthropic/message.json")],
    )
    s = surfaces(up)
    first = s.create_response(model=MODEL, input="Tell me a story")
    second = s.create_response(
        model="anthropic/claude-sonnet-4-6", previous_response_id=first.id, input="Shorter?"
    )
    check_response(second)
    sent = json.dumps(up.last("anthropic"))
    assert "Tell me a story" in sent and STORY in sent and "Shorter?" in sent


def test_a_translated_turn_continues_natively(surfaces: Any) -> None:
    up = Upstream(
        openai=[json_reply("openai_response.json")],
        anthropic=[json_reply("anthropic/message.json")],
    )
    s = surfaces(up)
    first = s.create_response(model="anthropic/claude-sonnet-4-6", input="Who are you?")
    s.create_response(model=MODEL, previous_response_id=first.id, input="Shorter?")
    assert paths(up)[-1] == "/v1/responses"
    assert up.last("openai")["input"] == [
        {"role": "user", "content": "Who are you?"},
        {"role": "assistant", "content": "Hi! My name is Claude."},
        {"role": "user", "content": "Shorter?"},
    ]


def test_an_openai_held_conversation_is_refused_on_a_translated_route(surfaces: Any) -> None:
    up = Upstream(
        openai=[json_reply("openai_response.json")],
        anthropic=[json_reply("anthropic/message.json")],
    )
    s = surfaces(up)
    turn = s.create_response(model=MODEL, previous_response_id="resp_openai_own", input="Go on")
    with pytest.raises(aigate.InvalidRequestError) as info:
        s.create_response(
            model="anthropic/claude-sonnet-4-6", previous_response_id=turn.id, input="x"
        )
    assert info.value.field == "previous_response_id" and "OpenAI" in str(info.value)
    s.create_response(model=MODEL, previous_response_id=turn.id, input="More")
    assert up.last("openai")["previous_response_id"] == "resp_openai_own"  # still chained


def test_a_mixed_route_is_translated_for_every_target(surfaces: Any) -> None:
    up = Upstream(
        openai=[json_reply("openai/chat_completion.json")],
        anthropic=[json_reply("anthropic/message.json")],
    )
    s = surfaces(up, routes={"mixed": ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-6"]})
    check_response(s.create_response(model="mixed", input="Hi"))
    assert paths(up) == ["/v1/chat/completions"]


def test_a_cached_call_is_translated_and_cached(surfaces: Any) -> None:
    up = Upstream(
        openai=[json_reply("openai/chat_completion.json"), json_reply("openai_response.json")]
    )
    s = surfaces(up, cache="memory://")
    first = s.create_response(model="openai/gpt-4o-mini", input="Hi", cache=True, store=False)
    second = s.create_response(model="openai/gpt-4o-mini", input="Hi", cache=True, store=False)
    assert paths(up) == ["/v1/chat/completions"]  # once: the second was a hit
    assert second.gateway.cached and second.output_text == first.output_text
    s.create_response(model="openai/gpt-4o-mini", input="Hi", cache=False)
    assert paths(up)[-1] == "/v1/responses"  # no cache applies: native


def test_a_budget_reserves_from_max_output_tokens_and_settles(surfaces: Any) -> None:
    up = Upstream(openai=[json_reply("openai_response.json")])
    budget = {
        "store": "memory://",
        "limits": [{"scope": "global", "amount": "0.01", "window": "day"}],
    }
    s = surfaces(up, budget=budget, ledger="memory://")
    with pytest.raises(aigate.BudgetExceeded):  # 1M output tokens cannot fit in $0.01
        s.create_response(model=MODEL, input="Hi", max_output_tokens=1_000_000)
    assert up.requests == []
    r = s.create_response(model=MODEL, input="Hi", max_output_tokens=100)
    rows = s.gw._core.ledger.query()
    assert [row.status for row in rows] == ["refused", "ok"]
    assert rows[-1].cost_nano == aigate.pricing.to_nano(r.gateway.cost_usd)


def test_a_virtual_key_is_not_sent_and_scopes_the_call(surfaces: Any, mode: str) -> None:
    up = Upstream(openai=[json_reply("openai_response.json")])
    s = surfaces(up, keys="memory://", ledger="memory://")
    secret, _ = s.gw.keys.create(project="acme")
    s.create_response(model=MODEL, input="Hi", api_key=secret)
    assert "api_key" not in up.last("openai")
    assert up.requests[0].headers["authorization"] == "Bearer sk-test-openai"
    [row] = s.gw._core.ledger.query()
    assert row.project == "acme" and row.virtual_key


def test_an_upstream_error_is_typed(surfaces: Any) -> None:
    body = {
        "error": {
            "message": "Invalid 'input'.",
            "type": "invalid_request_error",
            "param": "input",
            "code": None,
        }
    }
    up = Upstream(openai=[httpx.Response(400, json=body)])
    s = surfaces(up)
    with pytest.raises(aigate.BadRequestError):
        s.create_response(model=MODEL, input="Hi")


def test_through_the_openai_sdk(surfaces: Any, mode: str) -> None:
    """``client.responses.create`` / ``.stream`` of the real openai SDK over the gateway's
    transport reach the native path, and the SDK reads OpenAI's own events."""
    up = Upstream(
        openai=[
            json_reply("openai_response.json"),
            sse_reply("openai_response_stream.sse"),
            sse_reply("openai_response_stream.sse"),
        ]
    )
    s = surfaces(up, ledger="memory://")
    if mode == "sync":
        client = s.gw.openai_client()
        plain = client.responses.create(model=MODEL, input="Tell me a story")
        events = list(client.responses.create(model=MODEL, input="Hi", stream=True))
        with client.responses.stream(model=MODEL, input="Hi") as stream:
            final = stream.get_final_response()
    else:
        import asyncio

        async def main() -> Any:
            client = s.gw.async_openai_client()
            plain = await client.responses.create(model=MODEL, input="Tell me a story")
            created = await client.responses.create(model=MODEL, input="Hi", stream=True)
            events = [e async for e in created]
            async with client.responses.stream(model=MODEL, input="Hi") as stream:
                final = await stream.get_final_response()
            return plain, events, final

        plain, events, final = asyncio.run(main())
    assert plain.output_text.startswith(STORY)
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert final.output_text == HI and final.usage.output_tokens == 11
    assert paths(up) == ["/v1/responses"] * 3
    assert len(s.gw._core.ledger.query()) == 3


def test_closed_early_is_recorded_once(surfaces: Any, mode: str) -> None:
    up = Upstream(openai=[sse_reply("openai_response_stream.sse")])
    s = surfaces(up, ledger="memory://")
    if mode == "sync":
        stream = s.responses.create(model=MODEL, input="Hi", stream=True)
        first = next(iter(stream))
        stream.close()
    else:
        import asyncio

        async def main() -> Any:
            stream = await s.responses.create(model=MODEL, input="Hi", stream=True)
            first = await anext(aiter(stream))
            await stream.close()
            return first

        first = asyncio.run(main())
    assert first.type == "response.created"
    [row] = s.gw._core.ledger.query()
    assert row.kind == "responses" and row.error_type == "cancelled"


def test_a_dead_key_rotates_to_the_next(surfaces: Any) -> None:
    unauthorized = httpx.Response(
        401, json={"error": {"message": "Incorrect API key", "type": "invalid_request_error"}}
    )
    up = Upstream(openai=[unauthorized, json_reply("openai_response.json")])
    providers = {"openai": {"api_keys": ["sk-dead", "sk-live"]}}
    s = surfaces(up, providers=providers)
    r = s.create_response(model=MODEL, input="Hi")
    keys = [request.headers["authorization"] for request in up.requests]
    assert len(set(keys)) == 2 and paths(up) == ["/v1/responses"] * 2
    assert [a.status_code for a in r.gateway.attempts] == [401, 200]


def test_a_rate_limit_holds(surfaces: Any) -> None:
    up = Upstream(openai=[json_reply("openai_response.json")])
    budget = {"rate_limits": [{"scope": "global", "rpm": 1}], "wait_s": 0}
    s = surfaces(up, budget=budget)
    s.create_response(model=MODEL, input="Hi")
    with pytest.raises(aigate.RateLimited):
        s.create_response(model=MODEL, input="Hi")
    assert len(up.requests) == 1


def test_a_dropped_stream_is_recorded_when_collected(surfaces: Any, mode: str) -> None:
    import gc

    up = Upstream(openai=[sse_reply("openai_response_stream.sse")])
    s = surfaces(up, ledger="memory://")
    if mode == "sync":
        stream = s.responses.create(model=MODEL, input="Hi", stream=True)
        next(iter(stream))
        del stream
    else:
        import asyncio

        async def main() -> None:
            stream = await s.responses.create(model=MODEL, input="Hi", stream=True)
            await anext(aiter(stream))

        asyncio.run(main())
    gc.collect()
    [row] = s.gw._core.ledger.query()
    assert row.kind == "responses" and row.error_type == "cancelled"


def _terminal(kind: str, **changes: Any) -> list[bytes]:
    """The fixture stream with its last event turned into ``kind`` (the streaming
    reference's ``response.incomplete`` / ``response.failed``, same ``response`` shape)."""
    parts = event_parts("openai_response_stream.sse")
    last = json.loads(parts[-1].split(b"data: ", 1)[1])
    last["type"] = kind
    last["response"].update(changes)
    data = json.dumps(last, separators=(",", ":")).encode()
    return [*parts[:-1], b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"]


def test_an_incomplete_stream_is_priced_and_stored(surfaces: Any) -> None:
    parts = _terminal(
        "response.incomplete",
        status="incomplete",
        incomplete_details={"reason": "max_output_tokens"},
    )
    up = Upstream(openai=[parts_reply(parts)])
    s = surfaces(up, ledger="memory://")
    events, stream = s.stream("responses", model=MODEL, input="Hi", max_output_tokens=11)
    assert events[-1].type == "response.incomplete"  # openai's accumulator stops before it
    final = check_response(stream.response)
    assert final.status == "incomplete" and final.usage.output_tokens == 11
    [row] = s.gw._core.ledger.query()
    assert row.status == "ok" and row.completion_tokens == 11 and not row.estimated
    assert s.call("responses", "retrieve", stream.response.id).status == "incomplete"


def test_a_failed_response_before_content_fails_over(surfaces: Any) -> None:
    parts = event_parts("openai_response_stream.sse")
    failed = _terminal(
        "response.failed",
        status="failed",
        output=[],
        error={"code": "server_error", "message": "The model had an error"},
    )[-1]
    up = Upstream(
        openai=[parts_reply([parts[0], parts[1], failed]), sse_reply("openai_response_stream.sse")]
    )
    providers = {
        "openai": {"api_keys": ["sk-test-openai"]},
        "backup": {**BACKUP, "options": {"native": True}},
    }
    s = surfaces(up, providers=providers, routes={"r": ["openai/gpt-4.1", "backup/gpt-4.1"]})
    events, stream = s.stream("responses", model="r", input="Hi")
    check_response_events(events, stream.response)
    assert stream.response.gateway.provider == "backup"


def test_reasoning_and_tool_call_items_come_back_byte_for_byte(surfaces: Any) -> None:
    """A stored native turn replays OpenAI's own output items: the reasoning item (with its
    encrypted content, as ``include=["reasoning.encrypted_content"]`` returns it, OpenAI's
    reasoning guide) and the function call with its ``call_id``, unchanged."""
    payload = json.loads(fixture("openai_response.json"))
    reasoning = {
        "type": "reasoning",
        "id": "rs_6820f383d7c08191846711c5df8233bc0ac5ba57aafcbac7",
        "summary": [],
        "encrypted_content": "gAAAAABoIPOEy3fF2dPmqpXyYkXlm5VVvdWhz5Gr1m5rh0DjsGm3cYDMXY0Nh",
    }
    call = {
        "type": "function_call",
        "id": "fc_12345xyz",
        "call_id": "call_12345xyz",
        "name": "get_weather",
        "arguments": '{"location":"Paris, France"}',
        "status": "completed",
    }
    payload["output"] = [reasoning, call]
    up = Upstream(openai=[httpx.Response(200, json=payload), json_reply("openai_response.json")])
    s = surfaces(up)
    first = s.create_response(
        model=MODEL, input="Weather in Paris?", include=["reasoning.encrypted_content"]
    )
    output = {"type": "function_call_output", "call_id": "call_12345xyz", "output": "15C"}
    s.create_response(model=MODEL, previous_response_id=first.id, input=[output])
    assert up.last("openai")["input"] == [
        {"role": "user", "content": "Weather in Paris?"},
        reasoning,
        call,
        output,
    ]
