"""instructor on aigate: structured output, with a retry when validation fails.

``instructor.from_openai(openai_client(gw))``: the first answer misses a field, instructor
sends the validation error back and the second answer validates. Each try is one gateway
call (the SDK's own retries are off). Runs offline on the fake provider.

    pip install instructor
    python examples/with_instructor.py
"""

from __future__ import annotations

import instructor
from pydantic import BaseModel

import aigate
from aigate.sdk import openai_client
from aigate.testing import FakeTransport, reply


class User(BaseModel):
    name: str
    age: int


def main() -> None:
    fake = FakeTransport(
        [
            reply(None, tool_calls=[{"name": "User", "arguments": {"name": "Ana"}}]),
            reply(None, tool_calls=[{"name": "User", "arguments": {"name": "Ana", "age": 31}}]),
        ]
    )
    gw = aigate.Gateway(
        providers={"openai": {"kind": "fake", "options": {"transport": fake}}},
        ledger="memory://",
    )
    with gw:
        client = instructor.from_openai(openai_client(gw, default_provider="openai"))
        user = client.chat.completions.create(
            model="gpt-4o-mini",
            response_model=User,
            max_retries=2,
            messages=[{"role": "user", "content": "Ana is 31."}],
        )
        print("user:", user)
        print("gateway calls:", len(fake.calls), "ledger rows:", len(gw.usage.query()))
        retry = fake.calls[-1].json["messages"]
        print("validation error sent back:", any("age" in str(m.get("content")) for m in retry[1:]))


if __name__ == "__main__":
    main()
