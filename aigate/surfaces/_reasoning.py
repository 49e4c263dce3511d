"""Signed thinking blocks in a Responses reasoning item's ``encrypted_content``.

A reasoning item's ``encrypted_content`` is opaque to the client and is sent back as is,
which is exactly what a signed thinking block needs. aigate puts the chat models'
``thinking_blocks`` there (Anthropic's ``thinking`` with its ``signature``, and
``redacted_thinking`` with its ``data``), so a Responses client that replays its output
items replays the signatures too, even with ``store=False``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["PREFIX", "decode_blocks", "encode_blocks"]

PREFIX = "aigate.thinking.v1:"
_KINDS = ("thinking", "redacted_thinking")


def encode_blocks(blocks: list[dict[str, Any]]) -> str | None:
    """``encrypted_content`` for ``blocks`` (None when there is nothing to carry)."""
    kept = [dict(b) for b in blocks if isinstance(b, Mapping) and b.get("type") in _KINDS]
    if not kept:
        return None
    raw = json.dumps(kept, separators=(",", ":"), ensure_ascii=False).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).decode("ascii")


def decode_blocks(value: Any) -> list[dict[str, Any]]:
    """The thinking blocks in an ``encrypted_content`` aigate wrote; [] for anything else
    (another server's encrypted reasoning cannot be carried by a chat request)."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return []
    try:
        blocks = json.loads(base64.urlsafe_b64decode(value[len(PREFIX) :].encode("ascii")))
    except (ValueError, UnicodeError):
        return []
    if not isinstance(blocks, list):
        return []
    return [b for b in blocks if isinstance(b, dict) and b.get("type") in _KINDS]
