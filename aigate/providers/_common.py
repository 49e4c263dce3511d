"""What the codecs share: request building, JSON bodies, response and stream errors, the
OpenAI chunk every translated stream produces, and Anthropic/Gemini request helpers.

Public names in a private module: a codec imports them from here, never another codec's
private helpers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from json.encoder import JSONEncoder, c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from pydantic import ValidationError

from .._exceptions import APIResponseValidationError, InvalidRequestError, StreamError
from .._models import ChatCompletionChunk
from .._wire import Headers, Request, Timeout, TimeoutLike, add_query
from ._base import Target

__all__ = [
    "build_request",
    "chunk",
    "dumps",
    "invalid_response",
    "load_object",
    "merge_extra",
    "parse_data_url",
    "stream_error",
    "wrong_shape",
]


# The C encoder `json.dumps(payload, separators=(",", ":"), ensure_ascii=False)` builds,
# made once: dumps runs on every request, and building the encoder per call cost more than
# encoding a short chat. Without a circular-reference check (a shared check would keep a
# failed call's marks): a cycle ends in RecursionError, and dumps then encodes again the
# checked way, so it fails exactly as before. Same bytes as json.dumps with those options.
_ENCODE: Callable[[Any, int], Any] | None = None
if c_make_encoder is not None:
    _ENCODE = c_make_encoder(
        None, JSONEncoder().default, encode_basestring, None, ":", ",", False, False, True
    )


def dumps(payload: Any) -> bytes:
    """Compact JSON bytes, UTF-8 kept as is (smaller bodies, same meaning). A value JSON
    cannot carry (bytes, a set, an object) is the caller's error, raised before sending."""
    try:
        if _ENCODE is not None:
            try:
                return "".join(_ENCODE(payload, 0)).encode()
            except RecursionError:
                pass  # a cycle, or nesting too deep: the checked way says which
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(
            f"the request body is not JSON-serialisable: {exc}",
            expected="JSON values (str, int, float, bool, None, lists, dicts)",
        ) from None


def build_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    target: Target,
    extra_headers: Mapping[str, str] | None,
    extra_query: Mapping[str, Any] | None,
    timeout: TimeoutLike | None,
    content: bytes = b"",
    stream: bool = False,
    lower: bool = False,
) -> Request:
    """A neutral :class:`~aigate._wire.Request` with the provider's headers, the call's
    extras and its timeout (the call's, else the provider's). ``lower``: ``headers`` is a
    new dict of lower-case names and string values (see :meth:`Headers.of_lower`)."""
    provider = target.provider
    if provider.headers:
        headers = {**provider.headers, **headers}
        lower = False
    if extra_headers:
        headers.update(extra_headers)
        lower = False
    return Request(
        method,
        add_query(url, extra_query),
        headers=Headers.of_lower(headers) if lower else headers,
        content=content,
        timeout=Timeout.of(timeout) if timeout is not None else provider.timeout,
        stream=stream,
        provider=provider.name,
        model=target.model,
    )


def load_object(content: bytes, target: Target) -> dict[str, Any]:
    """A JSON object body, or `APIResponseValidationError` naming the provider."""
    try:
        payload = json.loads(content)
    except ValueError as exc:
        raise APIResponseValidationError(
            f"{target.provider.name} sent a body that is not JSON",
            provider=target.provider.name,
            model=target.model,
        ) from exc
    if not isinstance(payload, dict):
        raise APIResponseValidationError(
            f"{target.provider.name} sent JSON that is not an object",
            provider=target.provider.name,
            model=target.model,
        )
    return payload


def invalid_response(target: Target, exc: ValidationError) -> APIResponseValidationError:
    """A response that fails its model: the first three problems, by field."""
    where = ", ".join(
        ".".join(str(p) for p in err["loc"]) + f" ({err['msg']})" for err in exc.errors()[:3]
    )
    return APIResponseValidationError(
        f"{target.provider.name} sent a response aigate cannot read: {where}",
        provider=target.provider.name,
        model=target.model,
    )


# A top-level list that gives away which format a body is in, for `wrong_shape`'s hint.
_FORMATS = (
    ("choices", "an OpenAI chat completion"),
    ("data", "an OpenAI embeddings response"),
    ("candidates", "a Gemini GenerateContentResponse"),
    ("embeddings", "a Gemini embeddings response"),
    ("content", "an Anthropic Messages response"),
)


def wrong_shape(
    target: Target,
    what: str,
    problem: str,
    payload: Mapping[str, Any] | None = None,
    own: str = "",
) -> APIResponseValidationError:
    """A JSON object that is not the provider's format (another provider's answer, an error
    body sent with 200): ``"<provider> sent a body that is not <what>: <problem>"``, with a
    hint when ``payload`` has another format's list (``own``, the codec's own key, aside).
    Never read as an empty success: that would be a $0 call with no tokens."""
    hint = ""
    others = (
        label
        for key, label in _FORMATS
        if key != own and payload is not None and isinstance(payload.get(key), list)
    )
    looks_like = next(others, None)
    if looks_like is not None:
        hint = (
            f"; it looks like {looks_like}: check the kind and base_url of provider "
            f"{target.provider.name!r}"
        )
    return APIResponseValidationError(
        f"{target.provider.name} sent a body that is not {what}: {problem}{hint}",
        provider=target.provider.name,
        model=target.model,
    )


def stream_error(payload: Mapping[str, Any], target: Target) -> StreamError:
    """An error event (OpenAI's, Anthropic's or Gemini's shape) as a `StreamError`."""
    error = payload.get("error", payload)
    message = "stream error"
    code = type_ = None
    if isinstance(error, Mapping):
        message = str(error.get("message", message))
        code = str(error["code"]) if error.get("code") is not None else None
        type_ = str(error["type"]) if error.get("type") is not None else None
    elif isinstance(error, str):
        message = error
    return StreamError(
        f"{target.provider.name} sent an error mid-stream: {message}",
        body=error,
        provider=target.provider.name,
        model=target.model,
        code=code,
        type=type_,
    )


def parse_data_url(url: str, field: str) -> tuple[str, str]:
    """``data:<mime>;base64,<data>`` -> ``(mime, data)``; anything else is refused."""
    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise InvalidRequestError(
            f"{field}: expected an http(s) URL or a base64 data URL",
            field=field,
            expected="data:<mime type>;base64,<data>",
        )
    return head[5:-7] or "application/octet-stream", data


def merge_extra(payload: dict[str, Any], extra: Mapping[str, Any] | None) -> None:
    """``extra_body`` over the payload; objects merge one level deep, so an extra
    ``generationConfig``/``metadata`` adds to the translated one instead of replacing it."""
    if not extra:
        return
    for name, value in extra.items():
        current = payload.get(name)
        if isinstance(current, dict) and isinstance(value, Mapping):
            payload[name] = {**current, **value}
        else:
            payload[name] = value


@cache
def _chunk_validator() -> Callable[[dict[str, Any]], ChatCompletionChunk]:
    """``ChatCompletionChunk``'s validator, bound once: calling it directly skips pydantic's
    per-call wrapper (a fifth of the time a translated stream spends per chunk)."""
    if not ChatCompletionChunk.__pydantic_complete__:
        ChatCompletionChunk.model_rebuild()
    return ChatCompletionChunk.__pydantic_validator__.validate_python


def chunk(
    id: str,
    created: int,
    model: str,
    choices: list[dict[str, Any]],
    usage: Any = None,
) -> ChatCompletionChunk:
    """An OpenAI-shaped chunk from plain dicts (validated, so it is exactly openai's)."""
    return _chunk_validator()(
        {
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": usage,
        }
    )
