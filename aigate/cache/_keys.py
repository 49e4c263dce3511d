"""Canonical cache keys: equal keys iff the upstream call would mean the same thing.

A key is ``"<namespace hash, 16 hex>:<SHA-256 hex>"``. The digest covers a canonical JSON
document of the key format version, the endpoint, the tenant namespace, the resolved target
(``"provider/model@base_url"``) and the request without the fields in ``IGNORED_FIELDS``.

Canonical JSON: keys sorted at every depth, no spaces, UTF-8 (``ensure_ascii=False``).
Decisions, each made so that a wrong *hit* is impossible and a needless *miss* is rare:

- A float with an integral value is written as the int (``1.0`` keys like ``1``): JSON does
  not tell them apart and providers read the same number. ``True`` stays distinct from ``1``.
- An omitted field keys differently from any present value, including ``None``/null and
  ``0`` (an omitted temperature means "provider default", not 0). openai's ``NOT_GIVEN`` and
  ``omit`` sentinels count as omitted.
- Tuples key like lists; mapping keys that are ints key like their JSON strings
  (``logit_bias={50256: -100}`` == ``{"50256": -100}``).
- ``function.arguments`` of an assistant message's tool calls (and the legacy
  ``function_call.arguments``) that parse as JSON are re-serialised canonically, so
  whitespace and key order inside them do not matter. Message text is kept byte for byte.
- ``extra_body`` and ``extra_query`` are hashed as nested objects, as given.
- ``model`` is kept even though ``target`` is resolved from it: two aliases of one target
  then miss each other, which is cheap, rather than risk two targets sharing an entry.
- pydantic models are dumped with ``exclude_unset=True`` (unset stays omitted); bytes are
  hashed; any other type raises ``TypeError`` rather than key by an unstable ``repr``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "IGNORED_FIELDS",
    "KEYED_HEADERS",
    "KEY_VERSION",
    "USER_FIELDS",
    "cache_key",
    "canonical_json",
    "embedding_item_key",
    "namespace_prefix",
    "tenant_namespace",
]

#: Bumped when the canonical form changes, so old entries simply stop matching.
KEY_VERSION = 1

#: Who is asking, not what is asked; kept in the key only with ``include_user=True``.
USER_FIELDS: frozenset[str] = frozenset({"user", "safety_identifier"})

#: Top-level request fields that cannot change the answer and are dropped before hashing:
#: who asked (``user``, ``safety_identifier``), bookkeeping (``metadata``, ``store``),
#: transport (``stream``, ``stream_options``, ``extra_headers``, ``timeout``), speed/price
#: tier (``service_tier``) and provider prompt-cache hints (``prompt_cache_key``,
#: ``prompt_cache_retention``). A stream and a non-stream call therefore share an entry.
#: Of ``extra_headers``, the ones in ``KEYED_HEADERS`` are kept.
IGNORED_FIELDS: frozenset[str] = USER_FIELDS | frozenset(
    {
        "metadata",
        "stream",
        "stream_options",
        "extra_headers",
        "timeout",
        "store",
        "service_tier",
        "prompt_cache_key",
        "prompt_cache_retention",
    }
)

#: Headers that switch provider features on (betas, API versions), so they do change the
#: answer: kept in the key (names lower-cased) when given in ``extra_headers``.
KEYED_HEADERS: frozenset[str] = frozenset({"anthropic-beta", "anthropic-version", "openai-beta"})

_SENTINEL_TYPES = frozenset({"NotGiven", "Omit"})  # openai's "argument not given" markers
_BYTES_TAG = "\x00bytes-sha256"  # a NUL-led key no JSON request uses
_OMITTED: Any = object()
_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True
).encode


def tenant_namespace(*parts: object) -> str:
    """The namespace of a tenant scope: the canonical JSON array of its parts.

    ``tenant_namespace("vk", key_id, org, project, extra)``: each part is encoded on its own
    (a JSON string, escaped), so no value can forge another scope's namespace the way joined
    strings could (a project ``"acme|ns=reports"`` read what project ``acme`` cached under
    namespace ``reports``). ``None`` and ``""`` are distinct parts.
    """
    return _dumps([_canon(part) for part in parts])


def namespace_prefix(namespace: str) -> str:
    """The readable key prefix of a tenant namespace: 16 hex of its hash, then ``:``.

    The raw namespace never appears in a key (it may be a user id or an API key's name);
    ``cache.clear(namespace_prefix(ns))`` clears that tenant only.
    """
    if type(namespace) is not str or not namespace:
        raise ValueError("a cache namespace is a non-empty str (the tenant scope)")
    return hashlib.sha256(b"aigate:ns\x00" + _utf8(namespace)).hexdigest()[:16] + ":"


def cache_key(
    *,
    namespace: str,
    target: str,
    request: Mapping[str, Any],
    include_user: bool = False,
    endpoint: str = "chat.completions",
) -> str:
    """The cache key of one request to one resolved target, scoped to ``namespace``."""
    return _key(namespace, endpoint, target, _request_body(request, include_user))


def embedding_item_key(
    namespace: str,
    target: str,
    input_item: str | list[int],
    params: Mapping[str, Any] | None = None,
) -> str:
    """The key of one embedding input (a string or a token list) under ``params``.

    ``params`` holds what shapes the vector: ``dimensions``, ``encoding_format`` (and any
    provider extras); ``input`` and the fields in ``IGNORED_FIELDS`` are dropped from it.
    """
    body: dict[str, Any] = {}
    if params:
        body = {k: v for k, v in _request_body(params, False).items() if k != "input"}
    return _key(namespace, "embeddings.item", target, {"input": _canon(input_item), "params": body})


def canonical_json(value: Any) -> str:
    """``value`` in the canonical JSON form the keys hash (see the module docstring)."""
    return _dumps(_canon(value))


def _key(namespace: str, endpoint: str, target: str, body: Any) -> str:
    prefix = namespace_prefix(namespace)
    if type(target) is not str or not target:
        raise ValueError("a cache key needs the resolved target ('provider/model@base_url')")
    doc = {"v": KEY_VERSION, "endpoint": endpoint, "ns": namespace, "target": target, "req": body}
    return prefix + hashlib.sha256(_utf8(_dumps(doc))).hexdigest()


def _utf8(text: str) -> bytes:
    # surrogatepass: a lone surrogate in user text must key, not crash the call.
    return text.encode("utf-8", "surrogatepass")


def _request_body(request: Mapping[str, Any], include_user: bool) -> dict[str, Any]:
    if not isinstance(request, Mapping):
        request = _canon(request)
        if not isinstance(request, dict):
            raise TypeError(f"a request is a mapping, not {type(request).__name__}")
    body: dict[str, Any] = {}
    for name, value in request.items():
        if name in IGNORED_FIELDS:
            if name == "extra_headers":
                value = _keyed_headers(value)
                if not value:
                    continue
            elif not (include_user and name in USER_FIELDS):
                continue
        canon = _canon(value)
        if canon is not _OMITTED:
            body[_canon_key(name)] = canon
    messages = body.get("messages")
    if type(messages) is list:
        for message in messages:
            if type(message) is dict:
                _normalise_tool_arguments(message)
    return body


def _keyed_headers(headers: Any) -> dict[str, Any] | None:
    if not isinstance(headers, Mapping):
        return None
    return {
        name.lower(): value
        for name, value in headers.items()
        if isinstance(name, str) and name.lower() in KEYED_HEADERS
    }


def _normalise_tool_arguments(message: dict[str, Any]) -> None:
    calls = message.get("tool_calls")
    if type(calls) is list:
        for call in calls:
            if type(call) is dict:
                _normalise_arguments(call.get("function"))
    _normalise_arguments(message.get("function_call"))


def _normalise_arguments(function: Any) -> None:
    if type(function) is dict and type(function.get("arguments")) is str:
        try:
            parsed = json.loads(function["arguments"])
        except (ValueError, RecursionError):
            return  # not JSON (a model can emit that): hash the text as is
        function["arguments"] = _dumps(_canon(parsed))


def _canon(value: Any) -> Any:
    """A fresh JSON-ready copy of ``value`` in canonical form (see the module docstring)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is dict or isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            canon = _canon(v)
            if canon is not _OMITTED:
                out[_canon_key(k)] = canon
        return out
    if kind is list or kind is tuple:
        items = [_canon(v) for v in value]
        if any(item is _OMITTED for item in items):
            raise TypeError("an 'argument not given' sentinel cannot stand in a list")
        return items
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {_BYTES_TAG: hashlib.sha256(value).hexdigest()}
    if kind.__name__ in _SENTINEL_TYPES:
        return _OMITTED
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):  # IntEnum and friends key as their number
        return int(value)
    if isinstance(value, float):
        return _canon(float(value))
    if isinstance(value, str):  # str enums key as their value
        return str.__str__(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _canon(dump(mode="json", exclude_unset=True))
    raise TypeError(f"cannot build a cache key from a {kind.__name__} value")


def _canon_key(key: Any) -> str:
    if type(key) is str:
        return key
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, (int, float)) or key is None:
        return _dumps(_canon(key))  # the name json.dumps would give it: 1 -> "1", True -> "true"
    raise TypeError(f"cannot build a cache key from a {type(key).__name__} mapping key")
