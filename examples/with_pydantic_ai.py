"""pydantic-ai on aigate: an agent with a tool, its OpenAI model on aigate's client.

pydantic-ai's ``OpenAIChatModel`` takes an ``openai.AsyncOpenAI``; aigate's
``async_openai_client`` is one, answered by an ``AsyncGateway``. Runs offline: the fake
provider first asks for the tool, then answers with its result.

    pip install 'pydantic-ai-slim[openai]'
    python examples/with_pydantic_ai.py
"""

from __future__ import annotations

import asyncio

from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

import aigate
from aigate.sdk import async_openai_client
from aigate.testing import FakeTransport, reply


async def main() -> None:
    fake = FakeTransport(
        [
            reply(None, tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}]),
            reply("It is sunny in Paris, 24 C."),
        ]
    )
    gw = aigate.AsyncGateway(
        providers={"openai": {"kind": "fake", "options": {"transport": fake}}},
        ledger="memory://",
    )
    client = async_openai_client(gw, default_provider="openai")
    model = OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(openai_client=client))
    agent = Agent(model, instructions="Answer with the weather tool.")

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny, 24 C in {city}"

    async with gw:
        result = await agent.run("What is the weather in Paris?")
    print("answer:", result.output)
    print(
        "tool result sent back:", "sunny, 24 C in Paris" in str(fake.last_request.json["messages"])
    )
    print("provider calls:", len(fake.calls))


if __name__ == "__main__":
    asyncio.run(main())
