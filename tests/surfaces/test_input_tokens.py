"""``responses.input_tokens.count``: openai's ``POST /v1/responses/input_tokens``, answered
offline (no request is sent) from the route's first target's tokenizer, sync and async,
directly and through the openai SDK."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from openai.types.responses import InputTokenCountResponse

import aigate
from aigate.tokens import count_messages

from .conftest import Upstream

MODEL = "openai/gpt-4o-mini"


def count(s: Any, **kwargs: Any) -> Any:
    return s._run(lambda: s.responses.input_tokens.count(**kwargs))


def test_counts_the_translated_prompt_offline(surfaces: Any) -> None:
    up = Upstream()
    s = surfaces(up)
    counted = count(s, model=MODEL, input="Tell me a joke", instructions="Be brief")
    expected = count_messages(
        [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Tell me a joke"}],
        provider="openai",
        model="gpt-4o-mini",
    )
    assert counted.input_tokens == expected.tokens > 0
    assert InputTokenCountResponse.model_validate(counted.model_dump()).object == (
        "response.input_tokens"
    )
    assert up.requests == []


def test_tools_and_history_count(surfaces: Any) -> None:
    s = surfaces(Upstream())
    plain = count(s, model=MODEL, input="Weather?").input_tokens
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    with_tools = count(s, model=MODEL, input="Weather?", tools=tools).input_tokens
    assert with_tools > plain
    with pytest.raises(aigate.InvalidRequestError) as info:
        count(s, model=MODEL, input="and?", previous_response_id="resp_missing")
    assert info.value.field == "previous_response_id"


def test_a_create_only_parameter_is_refused_by_name(surfaces: Any) -> None:
    s = surfaces(Upstream())
    with pytest.raises(aigate.InvalidRequestError) as info:
        count(s, model=MODEL, input="Hi", max_output_tokens=5)
    assert info.value.field == "max_output_tokens"
    with pytest.raises(aigate.InvalidRequestError) as info:
        count(s, model=MODEL, input="Hi", instructons="x")
    assert "instructions" in str(info.value)  # did you mean


def test_through_the_openai_sdk(mode: str) -> None:
    providers = {"openai": {"kind": "fake"}}
    if mode == "sync":
        gw = aigate.Gateway(providers=providers)
        with gw:
            counted = gw.openai_client().responses.input_tokens.count(model=MODEL, input="Hi")
    else:

        async def main() -> Any:
            async with aigate.AsyncGateway(providers=providers) as gw:
                client = gw.async_openai_client()
                return await client.responses.input_tokens.count(model=MODEL, input="Hi")

        counted = asyncio.run(main())
    assert isinstance(counted, InputTokenCountResponse) and counted.input_tokens > 0
