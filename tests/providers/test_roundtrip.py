"""One OpenAI-shaped conversation with tools, sent through the OpenAI, Anthropic and Gemini
codecs and answered by equivalent fixtures, gives the same OpenAI-shaped result.

The OpenAI answers are the reference fixtures (``fixtures/openai``); the Anthropic and
Gemini ones carry the same tool call and answer in their own wire formats.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai.types.chat as oai_chat
import pytest

from .test_anthropic import Recorder, Run, fixture, run

__all__ = ["run"]

PROVIDERS = {
    "openai": {"api_keys": ["sk-test-openai"]},
    "anthropic": {"api_keys": ["sk-ant-test"]},
    "gemini": {"api_keys": ["AIza-test"]},
}
MODELS = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-opus-4-7",
    "gemini": "gemini/gemini-2.5-flash",
}
ANSWERS = {
    "openai": ("openai/chat_tool_calls.json", "openai/chat_completion.json"),
    "anthropic": ("anthropic/roundtrip_tool_call.json", "anthropic/roundtrip_answer.json"),
    "gemini": ("gemini/roundtrip_tool_call.json", "gemini/roundtrip_answer.json"),
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA",
                    },
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location"],
            },
        },
    }
]
QUESTION = {"role": "user", "content": "What's the weather like in Boston today?"}
RESULT = {"temperature": 22, "unit": "celsius"}


def shape(r: Any) -> tuple[Any, ...]:
    """What must not depend on the provider: content, tool calls, finish reason, usage."""
    oai_chat.ChatCompletion.model_validate(r.model_dump())
    choice = r.choices[0]
    calls = [
        (c.type, c.function.name, json.loads(c.function.arguments))
        for c in choice.message.tool_calls or ()
    ]
    usage = (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens)
    return choice.message.role, choice.message.content, calls, choice.finish_reason, usage


def conversation(run: Run, provider: str) -> tuple[tuple[Any, ...], tuple[Any, ...], Any]:
    """Ask, answer the tool call, ask again; the shapes of both answers and the last
    request body the provider saw."""
    first, second = ANSWERS[provider]
    rec = Recorder(
        [
            httpx.Response(200, content=fixture(first)),
            httpx.Response(200, content=fixture(second)),
        ]
    )
    config = {"providers": {provider: PROVIDERS[provider]}}
    model = MODELS[provider]
    r1 = run(rec, config, model=model, messages=[QUESTION], tools=TOOLS, tool_choice="auto")
    message = r1.choices[0].message
    history = [
        QUESTION,
        message.model_dump(exclude_none=True),
        {
            "role": "tool",
            "tool_call_id": message.tool_calls[0].id,
            "content": json.dumps(RESULT),
        },
    ]
    r2 = run(rec, config, model=model, messages=history, tools=TOOLS)
    return shape(r1), shape(r2), (message.tool_calls[0].id, rec.body)


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_same_result_as_openai(run: Run, provider: str) -> None:
    reference_first, reference_second, _ = conversation(run, "openai")
    first, second, (call_id, body) = conversation(run, provider)
    assert reference_first == (
        "assistant",
        None,
        [("function", "get_current_weather", {"location": "Boston, MA"})],
        "tool_calls",
        (82, 17, 99),
    )
    assert reference_second == (
        "assistant",
        "\n\nHello there, how may I assist you today?",
        [],
        "stop",
        (9, 12, 21),
    )
    assert first == reference_first
    assert second == reference_second
    # the tool result reached the provider tied to its call, in the provider's own terms
    if provider == "anthropic":
        assert body["messages"][-1] == {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call_id, "content": json.dumps(RESULT)}
            ],
        }
    else:
        assert body["contents"][-1] == {
            "role": "user",
            "parts": [{"functionResponse": {"name": "get_current_weather", "response": RESULT}}],
        }
