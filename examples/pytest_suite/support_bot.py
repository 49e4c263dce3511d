"""The application code under test: a tiny support bot that calls a model through aigate."""

from __future__ import annotations

import aigate


def triage(gw: aigate.Gateway, ticket: str, *, user: str | None = None) -> str:
    """Label a support ticket as ``bug``, ``billing`` or ``other``; a failing provider
    route or a malformed answer falls back to ``other`` instead of crashing the queue."""
    try:
        r = gw.chat.completions.create(
            model="default",
            messages=[
                {"role": "system", "content": "Answer with one word: bug, billing or other."},
                {"role": "user", "content": ticket},
            ],
            temperature=0,
            max_tokens=3,
            user=user,
            metadata={"project": "support"},
        )
    except aigate.AllTargetsFailed:
        return "other"
    label = (r.choices[0].message.content or "").strip().lower().rstrip(".")
    return label if label in ("bug", "billing") else "other"
