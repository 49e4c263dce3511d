"""The real openai and anthropic SDKs against the gateway's real Responses and Messages
surfaces, streamed and not, sync and async (issue 15).

The other SDK tests put stand-ins where the surfaces are; these do not, and they caught
what the stand-ins hid: every streamed event reached the SDK as a JSON string holding
the event's repr (``AttributeError: 'str' object has no attribute 'type'``), and the end
of a surface stream looked for a ``gateway`` the surface streams did not have.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import aigate

pytest.importorskip("openai")
pytest.importorskip("anthropic")

PROVIDERS = {"openai": {"kind": "fake"}, "anthropic": {"kind": "fake"}}
MODELS = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"]


def _gateway(mode: str) -> Any:
    if mode == "sync":
        return aigate.Gateway(providers=PROVIDERS, ledger="memory://")
    return aigate.AsyncGateway(providers=PROVIDERS, ledger="memory://")


def _run(mode: str, gw: Any, body: Any) -> Any:
    """``body(gw)`` for a sync gateway; awaited, then the gateway closed, for an async one."""
    if mode == "sync":
        try:
            return body(gw)
        finally:
            gw.close()

    async def main() -> Any:
        try:
            return await body(gw)
        finally:
            await gw.aclose()

    return asyncio.run(main())


def _calls(gw: Any) -> int:
    return len(gw._core.ledger.query())


@pytest.mark.parametrize("model", MODELS)
def test_responses_through_the_openai_sdk(mode: str, model: str) -> None:
    gw = _gateway(mode)

    def sync(gw: Any) -> Any:
        client = gw.openai_client()
        plain = client.responses.create(model=model, input="Say hi")
        events = list(client.responses.create(model=model, input="Say hi", stream=True))
        with client.responses.stream(model=model, input="Say hi") as stream:
            streamed = [event.type for event in stream]
            final = stream.get_final_response()
        return plain, events, streamed, final, _calls(gw)

    async def asynchronous(gw: Any) -> Any:
        client = gw.async_openai_client()
        plain = await client.responses.create(model=model, input="Say hi")
        events = [
            e async for e in await client.responses.create(model=model, input="Say hi", stream=True)
        ]
        async with client.responses.stream(model=model, input="Say hi") as stream:
            streamed = [event.type async for event in stream]
            final = await stream.get_final_response()
        return plain, events, streamed, final, _calls(gw)

    plain, events, streamed, final, calls = _run(mode, gw, sync if mode == "sync" else asynchronous)
    assert plain.output_text
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert any(e.type == "response.output_text.delta" for e in events)
    assert streamed[-1] == "response.completed"
    assert final.output_text and final.usage is not None and final.usage.output_tokens > 0
    assert calls == 3  # each call recorded once, the streams at their end


@pytest.mark.parametrize("model", MODELS)
def test_messages_through_the_anthropic_sdk(mode: str, model: str) -> None:
    gw = _gateway(mode)
    messages = [{"role": "user", "content": "Say hi"}]

    def sync(gw: Any) -> Any:
        client = gw.anthropic_client()
        plain = client.messages.create(model=model, max_tokens=64, messages=messages)
        events = list(
            client.messages.create(model=model, max_tokens=64, messages=messages, stream=True)
        )
        with client.messages.stream(model=model, max_tokens=64, messages=messages) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        return plain, events, text, final, _calls(gw)

    async def asynchronous(gw: Any) -> Any:
        client = gw.async_anthropic_client()
        plain = await client.messages.create(model=model, max_tokens=64, messages=messages)
        created = await client.messages.create(
            model=model, max_tokens=64, messages=messages, stream=True
        )
        events = [e async for e in created]
        async with client.messages.stream(model=model, max_tokens=64, messages=messages) as stream:
            text = "".join([t async for t in stream.text_stream])
            final = await stream.get_final_message()
        return plain, events, text, final, _calls(gw)

    plain, events, text, final, calls = _run(mode, gw, sync if mode == "sync" else asynchronous)
    assert plain.content and plain.content[0].text
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    assert text and final.content[0].text == text
    assert final.usage.output_tokens > 0
    assert calls == 3


@pytest.mark.parametrize("model", MODELS)
def test_a_stored_response_is_retrieved_and_deleted_through_the_openai_sdk(
    mode: str, model: str
) -> None:
    """``client.responses.retrieve`` / ``.delete`` (GET / DELETE ``/v1/responses/{id}``)
    reach the gateway's store; a response that is not there is openai's NotFoundError."""
    import openai

    gw = _gateway(mode)

    def sync(gw: Any) -> Any:
        client = gw.openai_client()
        made = client.responses.create(model=model, input="Say hi")
        got = client.responses.retrieve(made.id)
        client.responses.delete(made.id)
        with pytest.raises(openai.NotFoundError) as gone:
            client.responses.retrieve(made.id)
        return made, got, gone.value

    async def asynchronous(gw: Any) -> Any:
        client = gw.async_openai_client()
        made = await client.responses.create(model=model, input="Say hi")
        got = await client.responses.retrieve(made.id)
        await client.responses.delete(made.id)
        with pytest.raises(openai.NotFoundError) as gone:
            await client.responses.retrieve(made.id)
        return made, got, gone.value

    made, got, gone = _run(mode, gw, sync if mode == "sync" else asynchronous)
    assert got.id == made.id and got.output_text == made.output_text
    assert made.id in str(gone)
