"""Failover: a route tries its targets in order and moves on only when another target can help.

Offline by default (fake providers scripted to fail); with OPENAI_API_KEY set, the first
target is a dead local endpoint (connection refused) and the second is OpenAI.

    python examples/failover.py
"""

from __future__ import annotations

import os

import aigate
from aigate.testing import FakeTransport, error, reply, timeout

HELLO = [{"role": "user", "content": "Say hello in three words."}]


def gateway() -> tuple[aigate.Gateway, FakeTransport | None]:
    if os.environ.get("OPENAI_API_KEY"):
        real = aigate.Gateway(
            providers={
                "dead": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"},  # refused
                "openai": {},
            },
            routes={"smart": ["dead/gpt-4o-mini", "openai/gpt-4o-mini"]},
        )
        return real, None
    # Offline: the primary is rate limited, then times out; the backup answers.
    primary = FakeTransport([error(429, "slow down"), timeout()], default=reply("primary ok"))
    fake = aigate.Gateway(
        providers={
            "groq": {"kind": "fake", "options": {"transport": primary}},
            "openai": {"kind": "fake", "options": {"transport": FakeTransport()}},
        },
        routes={"smart": ["groq/openai/gpt-oss-20b", "openai/gpt-4o-mini"]},
    )
    return fake, primary


def show(r: aigate.ChatCompletion) -> None:
    info = r.gateway
    assert info is not None
    for a in info.attempts:
        outcome = a.status_code if a.error is None else f"{a.error} ({a.error_class})"
        print(f"   {a.provider}/{a.model}: {outcome} in {a.latency_ms:.0f} ms")
    print(f"   -> answered by {info.provider}/{info.model}: {r.choices[0].message.content!r}")


def main() -> None:
    gw, primary = gateway()
    with gw:
        for n in (1, 2, 3):
            print(f"call {n}:")
            show(gw.chat.completions.create(model="smart", messages=HELLO))

        # A request error (400, 404, context length...) would fail anywhere: no failover.
        if primary is not None:
            primary.add(error(400, "bad request"))
            try:
                gw.chat.completions.create(model="smart", messages=HELLO)
            except aigate.BadRequestError as exc:
                print(f"call 4: {type(exc).__name__} raised at once, not retried elsewhere")


if __name__ == "__main__":
    main()
