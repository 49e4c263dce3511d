"""Budgets per tenant: virtual keys with their own limits, a per-user daily budget, and
the ledger's per-tenant report.

Each tenant gets a virtual key (``gk_...``, only its hash is stored). A call made with the
key is scoped to the key's project and user, limited to its models, and reserved against
every budget that applies *before* it is sent; when no budget has room for its worst case,
it raises ``aigate.BudgetExceeded`` and nothing is spent.

Offline by default (fake providers priced like the real models); with OPENAI_API_KEY set
the calls go to OpenAI (a few cents' worth at most).

    python examples/budgets_per_tenant.py
"""

from __future__ import annotations

import os
import secrets

import aigate

PROMPT = [{"role": "user", "content": "Write one sentence about budgets. " * 20}]


def main() -> None:
    # The pepper keys the stored hashes; keep it in a secret manager, not in the config.
    os.environ.setdefault("AIGATE_KEY_PEPPER", secrets.token_urlsafe(24))
    real = bool(os.environ.get("OPENAI_API_KEY"))
    gw = aigate.Gateway(
        providers={"openai": {} if real else {"kind": "fake"}},
        ledger="memory://",  # sqlite:///aigate.db or postgresql://... in production
        keys="memory://",  # where virtual keys live
        budget={
            "store": "memory://",  # sqlite:///, redis:// or postgresql:// to share it
            "limits": [
                {"scope": "global", "amount": "50", "window": "month", "thresholds": [0.8]},
                {"scope": "user:*", "amount": "0.0008", "window": "day"},  # each user
            ],
        },
    )
    with gw:
        # Two tenants: acme gets a key with its own small budget and a model allow-list.
        acme_secret, acme = gw.keys.create(
            project="acme",
            user="ana",
            models=["openai/gpt-4o-mini"],
            budget=[{"amount": "0.0005", "window": "day"}],
        )
        globex_secret, globex = gw.keys.create(project="globex", user="bo")
        print(f"keys: {acme.id} (acme), {globex.id} (globex); secrets are shown once")

        for name, secret in (("acme", acme_secret), ("globex", globex_secret)):
            as_tenant = gw.for_key(secret)
            for n in range(1, 20):
                try:
                    r = as_tenant.chat.completions.create(
                        model="openai/gpt-4o-mini", messages=PROMPT, max_tokens=60
                    )
                except aigate.BudgetExceeded as exc:
                    print(f"{name}: call {n} refused before sending: {exc.scope} has no room")
                    spent, limit = f"{exc.spent:f}", f"{exc.limit:f}"
                    print(f"   (spent ${spent} of ${limit}; this call could cost more)")
                    break
                assert r.gateway is not None
                print(f"{name}: call {n} cost ${r.gateway.cost_usd}")

        try:
            gw.for_key(acme_secret).chat.completions.create(model="openai/gpt-4.1", messages=PROMPT)
        except aigate.AigateError as exc:
            print(f"acme may not use gpt-4.1: {type(exc).__name__}")

        print("\nspend per project (from the ledger):")
        for row in gw.usage.summary(group_by=["project", "user"]):
            print(
                f"   {row.group['project']}/{row.group['user']}: {row.requests} calls, "
                f"${row.cost_usd}"
            )


if __name__ == "__main__":
    main()
