"""LangChain's ``ChatOpenAI`` on aigate: invoke and stream, offline.

``ChatOpenAI`` takes an httpx client; give it one whose transport is the gateway. Its
model name stays bare (``gpt-4o-mini``): ``default_provider`` resolves it.

    pip install langchain-openai
    python examples/with_langchain.py
"""

from __future__ import annotations

import httpx2
from langchain_openai import ChatOpenAI

import aigate
from aigate.sdk import BASE_URL, transport
from aigate.testing import FakeTransport


def main() -> None:
    fake = FakeTransport(["Bonjour tout le monde.", "Un deux trois."])
    gw = aigate.Gateway(providers={"openai": {"kind": "fake", "options": {"transport": fake}}})
    with gw:
        llm = ChatOpenAI(
            model="gpt-4o-mini",
            api_key="unused",  # aigate holds the provider keys; a gk_ key would pick a tenant
            base_url=BASE_URL + "/v1",
            http_client=httpx2.Client(transport=transport(gw, default_provider="openai")),
        )
        message = llm.invoke("Say hello in French.")
        print("invoke:", message.content)
        print("usage: ", message.usage_metadata["total_tokens"] if message.usage_metadata else None)
        parts = [chunk.content for chunk in llm.stream("Count to three in French.")]
        print("stream:", "".join(str(p) for p in parts), f"({len(parts)} chunks)")


if __name__ == "__main__":
    main()
