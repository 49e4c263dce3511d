"""The byte format of a cache entry: a small header, then UTF-8 JSON.

``magic (2 bytes) | format version (1 byte) | BLAKE2b-64 of the payload (8 bytes) | payload``

The checksum makes a truncated, bit-flipped or foreign value (another program's key in a
shared Redis, an entry written by a newer aigate) decode to ``None``, a miss, never to
garbage. It guards against accidents, not against an attacker who can write to the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["ENTRY_VERSION", "decode_entry", "encode_entry"]

#: Bumped when the entry format changes; entries of another version decode to ``None``.
ENTRY_VERSION = 1

_MAGIC = b"\xa6g"
_HEADER = _MAGIC + bytes((ENTRY_VERSION,))
_HEADER_LEN = len(_HEADER) + 8
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=8).digest()


def encode_entry(obj: Mapping[str, Any]) -> bytes:
    """Serialise a JSON-compatible mapping to entry bytes (``TypeError`` if it is not)."""
    if not isinstance(obj, Mapping):
        raise TypeError(f"a cache entry is a mapping, not {type(obj).__name__}")
    payload = _dumps(obj if isinstance(obj, dict) else dict(obj)).encode("utf-8", "surrogatepass")
    return _HEADER + _checksum(payload) + payload


def decode_entry(data: bytes | bytearray | memoryview | None) -> dict[str, Any] | None:
    """The mapping ``encode_entry`` stored, or ``None`` for anything else; never raises."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return None
    data = bytes(data)
    if len(data) < _HEADER_LEN or data[:3] != _HEADER:
        return None
    payload = data[_HEADER_LEN:]
    if _checksum(payload) != data[3:_HEADER_LEN]:
        return None
    try:
        obj = json.loads(payload.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return None
    return obj if type(obj) is dict else None
