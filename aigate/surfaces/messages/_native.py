"""``gw.messages.create`` sent natively to Anthropic's ``/v1/messages``.

Used when every target the call may try is an Anthropic provider (kind ``"anthropic"``
at Anthropic's URL, or ``options.native = true``) and no cache applies to the call (a
cached call is translated, so that it is stored and replayed event for event). The body
goes as the caller wrote it (thinking blocks with their signatures, ``cache_control``,
citations, server tools, ``container``, ``metadata``...), without aigate's own arguments
(``api_key``, ``cache``, ``user``, ``extra_*``, ``timeout``); answers and events are
Anthropic's own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..._effects import Flow
from ...providers import ChatCall
from ...providers.native import MessagesEvents, messages_request, parse_message
from .._common import bad, native_route
from .._native import NativeAnswer, NativeCall, NativeStart, cache_applies, native_flow
from ._models import Message, MessageStreamEvent
from ._request import GATEWAY_ARGS

__all__ = ["NativeMessagePlan", "accumulate", "native_message_plan"]

_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")


def native_message_plan(gateway: Any, kwargs: Mapping[str, Any]) -> NativeMessagePlan | None:
    """The native plan of a ``messages.create`` call, or None to translate it."""
    model = kwargs.get("model")
    if not isinstance(model, str) or not native_route(gateway, model, "anthropic"):
        return None
    user = kwargs.get("user")
    metadata = kwargs.get("metadata")
    if user is None and isinstance(metadata, Mapping) and isinstance(metadata.get("user_id"), str):
        user = metadata["user_id"]
    tags = {"surface": "messages"}
    if cache_applies(gateway._core, kwargs, tags, user):
        return None
    return NativeMessagePlan(kwargs, tags, user)


def _block_parts(content: Any) -> Any:
    """Message content as chat parts for counting: texts, images by their allowance."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, Sequence) else ():
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind in ("image", "document"):
            source = block.get("source")
            if isinstance(source, Mapping) and source.get("type") == "text":
                parts.append({"type": "text", "text": str(source.get("data", ""))})
            else:
                parts.append({"type": "image_url", "image_url": {"url": "data:,"}})
        elif kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "thinking":
            parts.append({"type": "text", "text": str(block.get("thinking", ""))})
        elif kind == "tool_result":
            inner = _block_parts(block.get("content") or "")
            parts.extend(inner if isinstance(inner, list) else [{"type": "text", "text": inner}])
        elif kind == "redacted_thinking":
            continue
        else:  # tool_use, server tool blocks...: their JSON
            rest = {k: v for k, v in block.items() if k != "signature"}
            parts.append({"type": "text", "text": json.dumps(rest, default=str)})
    return parts


def _estimate_messages(kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    system = kwargs.get("system")
    if system:
        messages.append({"role": "system", "content": _block_parts(system)})
    for message in kwargs.get("messages") or ():
        if isinstance(message, Mapping):
            role = "assistant" if message.get("role") == "assistant" else "user"
            messages.append({"role": role, "content": _block_parts(message.get("content"))})
    tools = kwargs.get("tools")
    if tools:
        messages.append({"role": "system", "content": json.dumps(tools, default=str)})
    return messages or [{"role": "user", "content": ""}]


class NativeMessagePlan:
    """One native ``messages.create``."""

    def __init__(self, kwargs: Mapping[str, Any], tags: dict[str, str], user: Any) -> None:
        max_tokens = kwargs.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise bad("max_tokens", "an integer >= 1 (Anthropic requires it)", max_tokens)
        stream = kwargs.get("stream", False)
        if not isinstance(stream, bool):
            raise bad("stream", "a bool", stream)
        self.kwargs = kwargs
        self.stream = stream
        self.tags = tags
        self.user = user if isinstance(user, str) else None
        self.body = {k: v for k, v in kwargs.items() if k not in GATEWAY_ARGS and k != "model"}
        self.options = {k: kwargs[k] for k in _OPTIONS if kwargs.get(k) is not None}
        params: dict[str, Any] = {"max_tokens": max_tokens}
        for name in ("temperature", "service_tier"):
            if kwargs.get(name) is not None:
                params[name] = kwargs[name]
        if kwargs.get("tools"):
            params["tools"] = kwargs["tools"]
        self.shape = ChatCall(messages=_estimate_messages(kwargs), params=params, stream=stream)

    def flow(self, core: Any) -> Flow[NativeAnswer | NativeStart]:
        call = NativeCall(
            body=self.body,
            stream=self.stream,
            shape=self.shape,
            request=messages_request,
            parse=parse_message,
            events=MessagesEvents,
            ceiling_key="max_tokens",
            text_of=_text_of_events,
            options=self.options,
        )
        model = self.kwargs.get("model")
        return native_flow(core, call, model, self.tags, self.user, self.kwargs.get("api_key"))

    @staticmethod
    def message(payload: dict[str, Any], info: Any) -> Message:
        message = Message.model_validate(payload)
        message.gateway = info
        return message


def wrap(event: dict[str, Any]) -> MessageStreamEvent:
    return MessageStreamEvent(event)


def _text_of_events(events: list[dict[str, Any]]) -> str:
    texts = []
    for event in events:
        if event.get("type") == "content_block_delta":
            delta = event.get("delta")
            if isinstance(delta, Mapping) and delta.get("type") == "text_delta":
                texts.append(str(delta.get("text", "")))
    return "".join(texts)


def accumulate(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The final message of a Messages stream, assembled from its events as anthropic's
    SDK does (text, thinking and signature, tool input JSON, citations, stop, usage)."""
    message: dict[str, Any] | None = None
    json_bufs: dict[int, str] = {}
    for event in events:
        kind = event.get("type")
        if kind == "message_start":
            message = json.loads(json.dumps(event.get("message") or {}))  # a private copy
            message.setdefault("content", [])
            continue
        if message is None:
            continue
        content: list[dict[str, Any]] = message["content"]
        if kind == "content_block_start":
            block = dict(event.get("content_block") or {})
            if block.get("type") in ("tool_use", "server_tool_use", "mcp_tool_use"):
                json_bufs[len(content)] = ""
            content.append(block)
        elif kind == "content_block_delta":
            index = event.get("index", len(content) - 1)
            if not isinstance(index, int) or not 0 <= index < len(content):
                continue
            block = content[index]
            delta = event.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif dtype == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            elif dtype == "signature_delta":
                block["signature"] = delta.get("signature", "")
            elif dtype == "input_json_delta":
                json_bufs[index] = json_bufs.get(index, "") + delta.get("partial_json", "")
            elif dtype == "citations_delta":
                block.setdefault("citations", []).append(delta.get("citation"))
        elif kind == "content_block_stop":
            index = event.get("index")
            if isinstance(index, int) and index in json_bufs and 0 <= index < len(content):
                raw = json_bufs.pop(index)
                try:
                    content[index]["input"] = json.loads(raw) if raw else {}
                except ValueError:
                    content[index]["input"] = {}
        elif kind == "message_delta":
            delta = event.get("delta") or {}
            for name in ("stop_reason", "stop_sequence", "container"):
                if name in delta:
                    message[name] = delta[name]
            usage = event.get("usage")
            if isinstance(usage, Mapping):
                merged = dict(message.get("usage") or {})
                merged.update({k: v for k, v in usage.items() if v is not None})
                message["usage"] = merged
    return message
