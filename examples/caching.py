"""Response caching: identical deterministic calls are answered from the cache, at no cost.

The cache key is the canonical request (model, messages, parameters, the tenant's
namespace), so key order and whitespace in JSON do not matter and tenants never share
entries. By default (``default = "auto"``) calls with ``temperature=0`` and embeddings are
cached; ``cache=True``/``False`` decides per call. A hit is recorded in the ledger with
cost 0 and what it saved.

Offline by default; with OPENAI_API_KEY set it calls OpenAI (the second call is free).

    python examples/caching.py
"""

from __future__ import annotations

import os

import aigate

QUESTION = [{"role": "user", "content": "What is the capital of France? One word."}]


def main() -> None:
    real = bool(os.environ.get("OPENAI_API_KEY"))
    with aigate.Gateway(
        providers={"openai": {} if real else {"kind": "fake"}},
        cache={"url": "memory://", "ttl": 3600},  # disk:///.aigate/cache or redis://...
        ledger="memory://",
    ) as gw:
        for n in (1, 2):
            r = gw.chat.completions.create(
                model="openai/gpt-4o-mini", messages=QUESTION, temperature=0
            )
            info = r.gateway
            assert info is not None
            print(
                f"call {n}: {r.choices[0].message.content!r} cached={info.cached} "
                f"cost=${info.cost_usd} saved=${info.saved_cost_usd or 0} "
                f"in {info.latency_ms:.1f} ms"
            )

        # Not deterministic (no temperature=0): not cached unless the call asks for it.
        r = gw.chat.completions.create(model="openai/gpt-4o-mini", messages=QUESTION)
        print(f"call 3 (temperature unset): cached={r.gateway and r.gateway.cached}")
        r = gw.chat.completions.create(
            model="openai/gpt-4o-mini", messages=QUESTION, temperature=0, cache=False
        )
        print(f"call 4 (cache=False): cached={r.gateway and r.gateway.cached}")

        # Embeddings are cached per input item: the second batch pays only for "c".
        gw.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"])
        e = gw.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b", "c"])
        cost = e.gateway.cost_usd if e.gateway else None
        print(f'embeddings: {len(e.data)} vectors, this batch cost ${cost:f} (only "c" was new)')

        totals = gw.usage.totals()
        print(
            f"ledger: {totals.requests} calls, {totals.cache_hits} cache hits, "
            f"spent ${totals.cost_usd}, saved ${totals.saved_usd}"
        )


if __name__ == "__main__":
    main()
