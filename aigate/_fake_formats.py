"""The fake provider's answers in each provider's own wire format (testing kit, no I/O).

:class:`aigate.testing.FakeTransport` scripts one answer (text, tool calls, usage, an error)
and renders it in the format of the endpoint the request went to, so a route whose targets
are ``anthropic/...`` or ``gemini/...`` is tested on the bytes those providers send:

- OpenAI-compatible ``/chat/completions``: rendered by the transport itself;
- OpenAI's Responses API ``/responses``: a Response object, or the ``response.created`` ...
  ``response.completed`` event stream, each event with its ``sequence_number``
  (platform.openai.com/docs/api-reference/responses, /responses-streaming); errors are
  OpenAI's ``{"error": {"message", "type", "param", "code"}}``, as for chat;
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
import time
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Rendered", "render_chat", "render_error", "wire_format"]

Rendered = tuple[int, dict[str, str], list[bytes]]


def wire_format(path: str) -> str:
    """``"anthropic"``, ``"gemini"``, ``"responses"`` (OpenAI's Responses API) or
    ``"openai"`` (chat completions and the rest): the format of the endpoint at ``path``."""
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/responses"):
        return "responses"
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return "gemini"
    return "openai"


def _words(text: str) -> int:
    return max(1, len(text.split()))


def _responses_messages(body: Mapping[str, Any]) -> list[Any]:
    """A Responses request's input as messages: the instructions, then each input item
    (a string input is one user message)."""
    items = body.get("input")
    messages: list[Any] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    if isinstance(items, str):
        return [*messages, {"role": "user", "content": items}]
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and "content" not in item:  # function_call(_output), ...
            item = {"content": {k: v for k, v in item.items() if k not in ("type", "id")}}
        messages.append(item)
    return messages


def prompt_words(fmt: str, body: Mapping[str, Any]) -> int:
    """The fake's token count of a request's prompt (words, plus 3 per message)."""
    if fmt == "responses":
        body = {"messages": _responses_messages(body)}
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
    messages = _responses_messages(body) if fmt == "responses" else body.get("messages") or ()
    for message in reversed(list(messages)):
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
    """A chat answer in ``fmt`` ("anthropic", "gemini" or "responses"). ``usage`` is
    OpenAI-shaped (``prompt_tokens``, ``completion_tokens``, optional details); ``None``
    sends none."""
    if fmt == "responses":
        return _responses(
            body, text, tool_calls, finish_reason, usage, pieces, model, ident, stream
        )
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


# -- OpenAI Responses ----------------------------------------------------------------------

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def _responses_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Chat usage as the Responses API counts it (the same numbers, other names)."""
    if "input_tokens" in usage:  # already the Responses shape
        return {
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
            **usage,
        }
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": int(prompt_details.get("cached_tokens") or 0),
            "cache_write_tokens": int(prompt_details.get("cache_write_tokens") or 0),
        },
        "output_tokens": completion,
        "output_tokens_details": {
            "reasoning_tokens": int(completion_details.get("reasoning_tokens") or 0)
        },
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }


def _arguments(call: Mapping[str, Any]) -> str:
    args = call.get("arguments", {})
    return args if isinstance(args, str) else json.dumps(args)


def _responses(
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
    incomplete = _INCOMPLETE.get(finish_reason or "")
    done = "incomplete" if incomplete else "completed"
    message_id = f"msg_{ident}"
    items: list[dict[str, Any]] = []
    if text or not tool_calls:
        text = text or ""
        items.append(
            {
                "type": "message",
                "id": message_id,
                "status": done,
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
    for i, call in enumerate(tool_calls):
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{ident}_{i}",
                "call_id": call.get("id", f"call_fake_{i}"),
                "name": call["name"],
                "arguments": _arguments(call),
                "status": "completed",
            }
        )
    tools = body.get("tools")
    response: dict[str, Any] = {
        # the request's settings come back, as OpenAI sends them
        "id": f"resp_{ident}",
        "object": "response",
        "created_at": int(time.time()),
        "status": done,
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": items,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": tools if isinstance(tools, list) else [],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": _responses_usage(usage) if usage is not None else None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
    headers = {"x-request-id": f"req_{ident}"}
    if not stream:
        return 200, {"content-type": "application/json", **headers}, [json.dumps(response).encode()]
    events: list[dict[str, Any]] = []
    start = {**response, "status": "in_progress", "output": [], "usage": None}
    start["incomplete_details"] = None
    events.append({"type": "response.created", "response": start})
    events.append({"type": "response.in_progress", "response": start})
    for index, item in enumerate(items):
        if item["type"] == "message":
            events.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {**item, "status": "in_progress", "content": []},
                }
            )
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            part = {"type": "output_text", "text": "", "annotations": []}
            events.append({"type": "response.content_part.added", **where, "part": part})
            for piece in pieces:
                events.append(
                    {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
                )
            events.append(
                {"type": "response.output_text.done", **where, "text": text, "logprobs": []}
            )
            events.append(
                {"type": "response.content_part.done", **where, "part": item["content"][0]}
            )
        else:
            events.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {**item, "arguments": "", "status": "in_progress"},
                }
            )
            where = {"item_id": item["id"], "output_index": index}
            events.append(
                {
                    "type": "response.function_call_arguments.delta",
                    **where,
                    "delta": item["arguments"],
                }
            )
            events.append(
                {
                    "type": "response.function_call_arguments.done",
                    **where,
                    "name": item["name"],
                    "arguments": item["arguments"],
                }
            )
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": f"response.{done}", "response": response})
    parts = [
        _sse(event["type"], {"type": event["type"], "sequence_number": number, **event})
        for number, event in enumerate(events)
    ]
    return 200, {"content-type": "text/event-stream", **headers}, parts


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
