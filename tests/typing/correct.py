"""A correct user program: ``mypy --strict`` must pass it (tests/typing/test_typing.py).

Type-checked only, never run. It uses openai's own ``NOT_GIVEN``/``omit`` sentinels and an
``httpx.Timeout``, as code moving from the OpenAI client would.
"""

from __future__ import annotations

from datetime import date

import httpx
import openai

import aigate
from aigate.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

gw = aigate.Gateway(providers={"openai": {}}, routes={"fast": ["openai/gpt-4o-mini"]})
agw = aigate.AsyncGateway(providers={"openai": {}}, routes={"fast": ["openai/gpt-4o-mini"]})
messages: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
    {"role": "assistant", "content": None, "tool_calls": []},
    {"role": "tool", "tool_call_id": "call_1", "content": "42"},
]
weather: ChatCompletionToolParam = {
    "type": "function",
    "function": {"name": "weather", "parameters": {"type": "object", "properties": {}}},
}


def sync_calls(flag: bool) -> None:
    r = gw.chat.completions.create(
        model="fast",
        messages=messages,
        temperature=0.2,
        max_tokens=openai.NOT_GIVEN,
        top_p=openai.omit,
        seed=None,
        stop=["END"],
        tools=[weather],
        tool_choice={"type": "function", "function": {"name": "weather"}},
        response_format={"type": "json_object"},
        reasoning_effort="low",
        user="u-1",
        metadata={"project": "acme"},
        extra_headers={"X-Trace": "1"},
        extra_query={"api-version": "2024-10-21"},
        extra_body={"reasoning": {"effort": "low"}},
        timeout=httpx.Timeout(10.0),
        cache={"ttl": 60, "mode": "read_only"},
    )
    text: str | None = r.choices[0].message.content
    print(text, r.gateway)
    stream = gw.chat.completions.create(model="fast", messages=messages, stream=True)
    with stream:
        for chunk in stream:
            print(chunk.choices[0].delta.content)
    either = gw.chat.completions.create(model="fast", messages=messages, stream=flag)
    if isinstance(either, aigate.ChatCompletion):
        print(either.usage)
    else:
        either.close()
    e = gw.embeddings.create(
        model="openai/text-embedding-3-small", input=["a", "b"], timeout=openai.NOT_GIVEN
    )
    vector: list[float] | str = e.data[0].embedding
    print(vector)
    t = gw.audio.transcriptions.create(
        model="openai/whisper-1", file=("a.wav", b"RIFF"), language="en", metadata={"a": "b"}
    )
    print(t.text)
    for row in gw.usage.summary(since=date(2026, 1, 1), group_by=["model"]):
        print(row.group, row.cost_usd)
    print(gw.usage.totals().requests, gw.usage.top_spenders("project", 5))
    record = gw.usage.get("call-1")
    if record is not None:
        print(record.model)
    for info in gw.models.search(capability="vision", max_input_price="0.000001"):
        print(info.provider, info.model, info.price.input)
    routes: dict[str, list[str]] = gw.models.routes()
    print(routes)


async def async_calls() -> None:
    r = await agw.chat.completions.create(model="fast", messages=messages)
    print(r.choices[0].message.content)
    stream = await agw.chat.completions.create(model="fast", messages=messages, stream=True)
    async for chunk in stream:
        print(chunk.id)
    e = await agw.embeddings.create(model="openai/text-embedding-3-small", input="a")
    print(e.usage.total_tokens)
    print((await agw.usage.totals()).requests)
