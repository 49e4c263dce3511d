"""The official openai SDK, answered by aigate in-process: routed, priced, recorded.

``aigate.sdk.openai_client(gw)`` is a real ``openai.OpenAI`` (its types, its errors, its
``with_raw_response``) whose requests never leave the process: the gateway routes, fails
over, caches, budgets and records them. Runs offline on the fake provider.

    python examples/sdk_openai.py
"""

from __future__ import annotations

import openai

import aigate
from aigate.sdk import openai_client
from aigate.testing import FakeTransport, error


def main() -> None:
    fake = FakeTransport(["Hello from behind aigate.", error(429, "slow down")])
    gw = aigate.Gateway(
        providers={"openai": {"kind": "fake", "options": {"transport": fake}}},
        routes={"fast": ["openai/gpt-4o-mini"]},
        ledger="memory://",
    )
    with gw:
        client = openai_client(gw, default_provider="openai")
        hi = [{"role": "user", "content": "Hi"}]

        raw = client.chat.completions.with_raw_response.create(model="fast", messages=hi)
        r = raw.parse()
        print("type:   ", type(r).__module__ + "." + type(r).__name__)
        print("reply:  ", r.choices[0].message.content)
        print(
            "cost:   ",
            "$" + raw.headers["x-aigate-cost-usd"],
            "call",
            raw.headers["x-aigate-call-id"][:8],
        )

        try:  # the provider's 429 is the SDK's own RateLimitError, raised once (no SDK retry)
            client.chat.completions.create(model="gpt-4o-mini", messages=hi)
        except openai.RateLimitError as exc:
            print(
                "error:  ",
                type(exc).__name__,
                exc.status_code,
                "retried by the SDK:",
                len(fake.calls) > 2,
            )

        print("stream: ", end=" ")
        stream = client.chat.completions.create(model="fast", messages=hi, stream=True)
        for chunk in stream:
            print(chunk.choices[0].delta.content or "", end="")
        print()
        print("ledger: ", len(gw.usage.query()), "calls recorded")


if __name__ == "__main__":
    main()
