"""for_key() and keys used correctly (see correct.py)."""

from __future__ import annotations

import aigate

gw = aigate.Gateway(providers={"openai": {}}, keys="memory://")
agw = aigate.AsyncGateway(providers={"openai": {}}, keys="memory://")


def keyed() -> None:
    view = gw.for_key("gk_live_x")
    r = view.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    print(r.choices[0].message.content)
    stream = view.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    for chunk in stream:
        print(chunk.id)
    print(view.embeddings.create(model="openai/text-embedding-3-small", input="a").data)
    print(view.usage.totals().requests, view.models.routes())
    if gw.keys is not None:
        secret, key = gw.keys.create(project="acme")
        print(secret, key.id)


async def akeyed() -> None:
    view = agw.for_key("gk_live_x")
    r = await view.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    print(r.choices[0].message.content, (await view.usage.totals()).requests)
