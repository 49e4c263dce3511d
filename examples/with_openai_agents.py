"""The OpenAI Agents SDK on aigate: ``OpenAIChatCompletionsModel`` and the default client.

Agents take an ``openai.AsyncOpenAI``: aigate's ``async_openai_client``. Tracing is off
(it would upload traces to OpenAI). Runs offline on the fake provider.

    pip install openai-agents
    python examples/with_openai_agents.py
"""

from __future__ import annotations

import asyncio

from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_default_openai_api,
    set_default_openai_client,
    set_tracing_disabled,
)

import aigate
from aigate.sdk import async_openai_client
from aigate.testing import FakeTransport, reply


@function_tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def main() -> None:
    set_tracing_disabled(True)
    fake = FakeTransport(
        [
            reply(None, tool_calls=[{"name": "add", "arguments": {"a": 2, "b": 3}}]),
            reply("2 + 3 = 5"),
            reply("Hello from the default client."),
        ]
    )
    gw = aigate.AsyncGateway(providers={"openai": {"kind": "fake", "options": {"transport": fake}}})
    client = async_openai_client(gw, default_provider="openai")

    model = OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)
    agent = Agent(name="calc", instructions="Use the add tool.", model=model, tools=[add])
    print("with a model:", (await Runner.run(agent, "What is 2 + 3?")).final_output)

    set_default_openai_client(client, use_for_tracing=False)
    set_default_openai_api("chat_completions")
    plain = Agent(name="greeter", instructions="Greet.", model="gpt-4o-mini")
    print("default client:", (await Runner.run(plain, "Hi")).final_output)
    print("provider calls:", len(fake.calls))
    await gw.aclose()


if __name__ == "__main__":
    asyncio.run(main())
