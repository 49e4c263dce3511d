"""The fake provider's answers in each provider's own wire format (testing kit, no I/O).

:class:`aigate.testing.FakeTransport` scripts one answer (text, tool calls, usage, an error)
and renders it in the format of the endpoint the request went to, so a route whose targets
are ``anthropic/...`` or ``gemini/...`` is tested on the bytes those providers send:

- OpenAI-compatible ``/chat/completions``: rendered by the transport itself;
- Anthropic ``/v1/messages``: a Message, or the ``message_start`` ... ``message_stop`` event
  stream (docs.anthropic.com/en/api/messages, /en/api/messages-streaming), errors as
  ``{"type": "error", "error": {"type": "rate_limit_error", ...}}`` (/en/api/errors);
- Gemini ``:generateContent`` / ``:streamGenerateContent?alt=sse``: GenerateContentResponse
  objects (ai.google.dev/api/generate-content), errors as Google's
  ``{"error": {"code", "message", "status"}}`` (ai.google.dev/gemini-api/docs/troubleshooting).

Each renderer returns ``(status, headers, parts)``: ``parts`` is the body, in the pieces a
stream sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Rendered", "render_chat", "render_error", "wire_format"]

Rendered = tuple[int, dict[str, str], list[bytes]]


def wire_format(path: str) -> str:
    """``"anthropic"``, ``"gemini"`` or ``"openai"``: the format of the endpoint at ``path``."""
    if path.endswith("/messages"):
        return "anthropic"
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return "gemini"
    return "openai"


def _words(text: str) -> int:
    return max(1, len(text.split()))


def prompt_words(fmt: str, body: Mapping[str, Any]) -> int:
    """The fake's token count of a request's prompt (words, plus 3 per message)."""
    if fmt == "gemini":
        contents = list(body.get("contents") or ())
        system = body.get("systemInstruction") or body.get("system_instruction")
        if system:
            contents.append(system)
        return sum(_words(json.dumps(c.get("parts"))) + 3 for c in contents if isinstance(c, dict))
    messages = list(body.get("messages") or ())
    total = sum(_words(json.dumps(m.get("content"))) + 3 for m in messages if isinstance(m, dict))
    if fmt == "anthropic" and body.get("system"):
        total += _words(json.dumps(body["system"])) + 3
    return total


def last_user_text(fmt: str, body: Mapping[str, Any]) -> str:
    """What the user said last, for the fake's echo."""
    if fmt == "gemini":
        for content in reversed(list(body.get("contents") or ())):
            if isinstance(content, dict) and content.get("role", "user") == "user":
                return " ".join(
                    p.get("text", "") for p in content.get("parts") or () if isinstance(p, dict)
                )
        return ""
    for message in reversed(list(body.get("messages") or ())):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def _sse(event: str | None, data: Mapping[str, Any]) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(data).encode() + b"\n\n"


def render_chat(
    fmt: str,
    body: Mapping[str, Any],
    *,
    text: str | None,
    tool_calls: Sequence[Mapping[str, Any]],
    finish_reason: str | None,
    usage: Mapping[str, Any] | None,
    pieces: Sequence[str],
    model: str,
    ident: str,
    stream: bool,
) -> Rendered:
    """A chat answer in ``fmt`` ("anthropic" or "gemini"). ``usage`` is OpenAI-shaped
    (``prompt_tokens``, ``completion_tokens``, optional details); ``None`` sends none."""
    if fmt == "anthropic":
        return _anthropic(
            body, text, tool_calls, finish_reason, usage, pieces, model, ident, stream
        )
    if fmt == "gemini":
        return _gemini(text, tool_calls, finish_reason, usage, pieces, model, ident, stream)
    raise ValueError(f"no fake renderer for the {fmt!r} format")


# -- Anthropic ---------------------------------------------------------------------------

_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def _anthropic_usage(usage: Mapping[str, Any] | None, *, output: bool = True) -> dict[str, Any]:
    u = usage or {}
    details = u.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    write = int(details.get("cache_write_tokens") or 0)
    out: dict[str, Any] = {
        # Anthropic's input_tokens exclude cache reads and writes (OpenAI's include them)
        "input_tokens": max(int(u.get("prompt_tokens") or 0) - cached - write, 0),
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": cached,
    }
    out["output_tokens"] = int(u.get("completion_tokens") or 0) if output else 1
    return out


def _tool_input(call: Mapping[str, Any]) -> Any:
    args = call.get("arguments", {})
    return json.loads(args) if isinstance(args, str) else args


def _anthropic(
    body: Mapping[str, Any],
    text: str | None,
    tool_calls: Sequence[Mapping[str, Any]],
    finish_reason: str | None,
    usage: Mapping[str, Any] | None,
    pieces: Sequence[str],
    model: str,
    ident: str,
    stream: bool,
) -> Rendered:
    reason = _ANTHROPIC_STOP.get(finish_reason or ("tool_calls" if tool_calls else "stop"))
    blocks: list[dict[str, Any]] = []
    if text:
        blocks.append({"type": "text", "text": text})
    for i, call in enumerate(tool_calls):
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id", f"toolu_fake_{i}"),
                "name": call["name"],
                "input": _tool_input(call),
            }
        )
    headers = {"request-id": f"req_{ident}"}
    message: dict[str, Any] = {
        "id": f"msg_{ident}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": reason or "end_turn",
        "stop_sequence": None,
    }
    if not stream:
        message["usage"] = _anthropic_usage(usage) if usage is not None else {}
        return 200, {"content-type": "application/json", **headers}, [json.dumps(message).encode()]
    start = {**message, "content": [], "stop_reason": None}
    start["usage"] = _anthropic_usage(usage, output=False) if usage is not None else {}
    parts = [_sse("message_start", {"type": "message_start", "message": start})]
    parts.append(_sse("ping", {"type": "ping"}))
    index = 0
    if text:
        parts.append(
            _sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        for piece in pieces:
            parts.append(
                _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            )
        parts.append(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        index = 1
    for block in (b for b in blocks if b["type"] == "tool_use"):
        parts.append(
            _sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {**block, "input": {}},
                },
            )
        )
        parts.append(
            _sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {
                        "type": "input_json_delta",
                        "partial_json": json.dumps(block["input"]),
                    },
                },
            )
        )
        parts.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    delta: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": reason or "end_turn", "stop_sequence": None},
    }
    if usage is not None:
        delta["usage"] = {"output_tokens": int(usage.get("completion_tokens") or 0)}
    parts.append(_sse("message_delta", delta))
    parts.append(_sse("message_stop", {"type": "message_stop"}))
    return 200, {"content-type": "text/event-stream", **headers}, parts


# -- Gemini --------------------------------------------------------------------------------

_GEMINI_FINISH = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",
    "content_filter": "SAFETY",
}


def _gemini_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    details = usage.get("completion_tokens_details") or {}
    reasoning = int(details.get("reasoning_tokens") or 0)
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    out: dict[str, Any] = {
        "promptTokenCount": prompt,
        # Gemini counts thinking apart from the candidates (OpenAI's completion includes it)
        "candidatesTokenCount": completion - reasoning,
        "totalTokenCount": prompt + completion,
    }
    if reasoning:
        out["thoughtsTokenCount"] = reasoning
    if cached:
        out["cachedContentTokenCount"] = cached
    return out


def _gemini(
    text: str | None,
    tool_calls: Sequence[Mapping[str, Any]],
    finish_reason: str | None,
    usage: Mapping[str, Any] | None,
    pieces: Sequence[str],
    model: str,
    ident: str,
    stream: bool,
) -> Rendered:
    finish = _GEMINI_FINISH.get(finish_reason or "stop", "STOP")
    calls = [{"functionCall": {"name": c["name"], "args": _tool_input(c)}} for c in tool_calls]

    def response(parts: list[dict[str, Any]], last: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        payload: dict[str, Any] = {
            "candidates": [candidate],
            "modelVersion": model,
            "responseId": ident,
        }
        if last:
            candidate["finishReason"] = finish
            if usage is not None:
                payload["usageMetadata"] = _gemini_usage(usage)
        return payload

    headers = {"content-type": "application/json"}
    if not stream:
        parts = ([{"text": text}] if text else []) + calls
        return 200, headers, [json.dumps(response(parts, True)).encode()]
    chunks: list[list[dict[str, Any]]] = [[{"text": p}] for p in pieces] if text else []
    if calls:
        chunks.append(calls)
    if not chunks:
        chunks = [[{"text": ""}]]
    out = [
        b"data: " + json.dumps(response(c, i == len(chunks) - 1)).encode() + b"\r\n\r\n"
        for i, c in enumerate(chunks)
    ]
    return 200, {"content-type": "text/event-stream"}, out


# -- errors ------------------------------------------------------------------------------------

_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def render_error(fmt: str, status: int, message: str, type: str | None) -> dict[str, Any]:
    """The error body a provider of ``fmt`` sends with ``status``."""
    if fmt == "anthropic":
        kind = type or _ANTHROPIC_ERRORS.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        return {"type": "error", "error": {"type": kind, "message": message}}
    if fmt == "gemini":
        return {
            "error": {
                "code": status,
                "message": message,
                "status": type or _GOOGLE_STATUS.get(status, "UNKNOWN"),
            }
        }
    raise ValueError(f"no fake error format for {fmt!r}")
