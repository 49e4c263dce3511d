"""How a surface calls aigate's chat flow, and the store effects around it.

A surface translates its request into ``gw.chat.completions.create`` arguments and calls
exactly that: routing, failover, key rotation, the cache, budgets, rate limits, the ledger
and tracing are the chat flow's, not copies. The store calls are flows of
:class:`~aigate._effects.Call` effects, run by the gateway's own driver, so the sync and
async resources share every line of logic.

When every target speaks the surface's own format the surface does not come here: it
sends its body natively through :mod:`aigate.surfaces._native` (docs/responses.md,
docs/messages.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._effects import Call, Flow
from ._common import Carriage
from ._store import ConversationStore, Entry

__all__ = ["fit_messages", "load", "remove", "save", "surface_metadata"]


def load(store: ConversationStore, tenant: str, id: str) -> Flow[Entry | None]:
    found = yield Call(store.get, store.aget, (tenant, id))
    if isinstance(found, BaseException):
        raise found
    return found  # type: ignore[no-any-return]


def save(store: ConversationStore, tenant: str, id: str, entry: Entry) -> Flow[None]:
    done = yield Call(store.put, store.aput, (tenant, id, entry))
    if isinstance(done, BaseException):
        raise done


def remove(store: ConversationStore, tenant: str, id: str) -> Flow[bool]:
    done = yield Call(store.delete, store.adelete, (tenant, id))
    if isinstance(done, BaseException):
        raise done
    return bool(done)


def surface_metadata(metadata: Any, surface: str) -> dict[str, str] | Any:
    """The call's ledger tags with ``surface`` added: the ledger row's ``kind`` is then the
    surface (``"responses"``/``"messages"``), and ``meta:surface`` groups by it too."""
    if metadata is None:
        return {"surface": surface}
    if isinstance(metadata, Mapping):
        return {"surface": surface, **metadata}
    return metadata  # not a dict: the chat call's validation names the field


def _strip_part(part: Any) -> Any:
    if isinstance(part, Mapping) and "cache_control" in part:
        return {k: v for k, v in part.items() if k != "cache_control"}
    return part


def fit_messages(messages: list[dict[str, Any]], carry: Carriage) -> list[dict[str, Any]]:
    """``messages`` without what the route's targets cannot take.

    ``reasoning_content`` on an input message is never sent: no codec reads it back, and
    some servers refuse it (DeepSeek answers 400). Signed ``thinking_blocks`` and
    ``cache_control`` go only to routes whose every target carries them.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        if "reasoning_content" in message or (
            "thinking_blocks" in message and not carry.thinking_blocks
        ):
            message = {
                k: v
                for k, v in message.items()
                if k != "reasoning_content" and (carry.thinking_blocks or k != "thinking_blocks")
            }
        content = message.get("content")
        if (
            not carry.cache_control
            and isinstance(content, list)
            and any(isinstance(p, Mapping) and "cache_control" in p for p in content)
        ):
            message = {**message, "content": [_strip_part(p) for p in content]}
        out.append(message)
    return out
