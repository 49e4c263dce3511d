"""aigate in one page: routing, failover, streaming, embeddings and exact cost.

Runs offline by default: with no OPENAI_API_KEY set, the providers are aigate's built-in
fake (``kind = "fake"``), which speaks the OpenAI wire format without a socket and is priced
like the real models it stands in for. With a key set, the same code calls OpenAI.

    python examples/quickstart.py
"""

from __future__ import annotations

import os

import aigate
from aigate.testing import FakeTransport, error


def build_gateway() -> aigate.Gateway:
    if os.environ.get("OPENAI_API_KEY"):
        return aigate.Gateway(
            providers={"openai": {}},  # key from OPENAI_API_KEY
            routes={"smart": ["openai/gpt-4o-mini", "openai/gpt-4.1-mini"]},
        )
    # Offline: two fake providers named like real ones, so the catalog prices them. The first
    # is overloaded once, to show failover.
    return aigate.Gateway(
        providers={
            "groq": {"kind": "fake", "options": {"transport": FakeTransport([error(503)])}},
            "openai": {"kind": "fake"},
        },
        routes={"smart": ["groq/openai/gpt-oss-20b", "openai/gpt-4o-mini"]},
    )


def main() -> None:
    with build_gateway() as gw:
        r = gw.chat.completions.create(
            model="smart",
            messages=[{"role": "user", "content": "Say hello to aigate."}],
            metadata={"project": "quickstart"},
        )
        info = r.gateway
        assert info is not None
        print("reply:   ", r.choices[0].message.content)
        print("answered:", f"{info.provider}/{info.model}", f"after {len(info.attempts)} attempts")
        for attempt in info.attempts:
            print("   tried:", f"{attempt.provider}/{attempt.model}", attempt.status_code)
        tokens = r.usage.total_tokens if r.usage else 0
        print("cost:    ", f"${info.cost_usd}", f"({tokens} tokens)")

        print("stream:  ", end=" ")
        stream = gw.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "Count to five."}],
            stream=True,
        )
        with stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    print(chunk.choices[0].delta.content, end="", flush=True)
        print(f"\n          priced at ${stream.gateway.cost_usd if stream.gateway else None}")

        e = gw.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"])
        print("embed:   ", len(e.data), "vectors of", len(e.data[0].embedding), "dimensions")


if __name__ == "__main__":
    main()
