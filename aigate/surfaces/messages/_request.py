"""Anthropic Messages request -> aigate chat call (``gw.chat.completions.create`` arguments).

Pure functions; see docs/messages.md for the table of what maps and what is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._common import Carriage, bad

__all__ = ["MESSAGES_PARAMS", "effort_of", "translate_request"]

MESSAGES_PARAMS = frozenset(
    {
        "max_tokens",
        "messages",
        "metadata",
        "model",
        "output_config",
        "output_format",
        "service_tier",
        "stop_sequences",
        "stream",
        "system",
        "temperature",
        "thinking",
        "tool_choice",
        "tools",
        "top_k",
        "top_p",
    }
)
GATEWAY_ARGS = frozenset(
    {"api_key", "cache", "extra_headers", "extra_query", "extra_body", "timeout", "user"}
)


def effort_of(budget: int) -> str:
    """A thinking budget as the ``reasoning_effort`` that comes closest (for targets that
    take an effort, not a budget)."""
    if budget <= 1024:
        return "minimal"
    if budget <= 4096:
        return "low"
    if budget <= 12288:
        return "medium"
    return "high"


def _data_url(source: Mapping[str, Any], field: str) -> str:
    kind = source.get("type")
    if kind == "base64":
        media, data = source.get("media_type"), source.get("data")
        if not isinstance(media, str) or not isinstance(data, str):
            raise bad(field, "a base64 source with media_type and data")
        return f"data:{media};base64,{data}"
    if kind == "url" and isinstance(source.get("url"), str):
        return str(source["url"])
    raise bad(f"{field}.type", "'base64' or 'url' (file sources live on Anthropic's servers)", kind)


def _user_part(block: Mapping[str, Any], field: str, carry: Carriage) -> dict[str, Any]:
    kind = block.get("type")
    part: dict[str, Any]
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str):
            raise bad(f"{field}.text", "a string", text)
        part = {"type": "text", "text": text}
    elif kind == "image":
        source = block.get("source")
        if not isinstance(source, Mapping):
            raise bad(f"{field}.source", "an image source object", source)
        part = {"type": "image_url", "image_url": {"url": _data_url(source, f"{field}.source")}}
    elif kind == "document":
        source = block.get("source")
        if not isinstance(source, Mapping):
            raise bad(f"{field}.source", "a document source object", source)
        if source.get("type") == "text":
            part = {"type": "text", "text": str(source.get("data", ""))}
        else:
            url = _data_url(source, f"{field}.source")
            if not url.startswith("data:"):
                raise bad(
                    f"{field}.source",
                    "a base64 or text document (URL documents are fetched by Anthropic's servers)",
                )
            file: dict[str, Any] = {"file_data": url}
            if isinstance(block.get("title"), str):
                file["filename"] = block["title"]
            part = {"type": "file", "file": file}
    else:
        raise bad(f"{field}.type", "text, image, document or tool_result", kind)
    if carry.cache_control and isinstance(block.get("cache_control"), Mapping):
        part["cache_control"] = dict(block["cache_control"])
    return part


def _blocks(content: Any, field: str) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, Sequence):
        raise bad(field, "a string or a list of content blocks", content)
    for j, block in enumerate(content):
        if not isinstance(block, Mapping):
            raise bad(f"{field}.{j}", "a content block object", block)
    return list(content)


def _tool_result(block: Mapping[str, Any], field: str, carry: Carriage) -> dict[str, Any]:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str) or not call_id:
        raise bad(f"{field}.tool_use_id", "the id of the tool_use this answers", call_id)
    content = block.get("content", "")
    if isinstance(content, str):
        out: Any = content
    else:
        parts = [
            _user_part(b, f"{field}.content.{k}", carry)
            for k, b in enumerate(_blocks(content, f"{field}.content"))
        ]
        # A chat tool message takes text; an image in a tool result has nowhere to go.
        texts = [p for p in parts if p["type"] == "text"]
        if len(texts) != len(parts):
            raise bad(f"{field}.content", "text blocks (a chat tool result carries only text)")
        out = texts
    if block.get("is_error"):
        text = out if isinstance(out, str) else "".join(p["text"] for p in out)
        out = f"Error: {text}"
    return {"role": "tool", "tool_call_id": call_id, "content": out}


def _user(content: Any, field: str, carry: Carriage) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(_blocks(content, field)):
        where = f"{field}.{j}"
        if block.get("type") == "tool_result":
            tools.append(_tool_result(block, where, carry))
        else:
            parts.append(_user_part(block, where, carry))
    # Tool results first: a chat tool message must follow the assistant's tool calls.
    return [*tools, *([{"role": "user", "content": parts}] if parts else [])]


def _assistant(content: Any, field: str, carry: Carriage) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if isinstance(content, str):
        message["content"] = content
        return message
    texts: list[str] = []
    thoughts: list[dict[str, Any]] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(_blocks(content, field)):
        where = f"{field}.{j}"
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "thinking":
            reasoning.append(str(block.get("thinking", "")))
            if block.get("signature"):  # an unsigned block (another model's) is refused
                thoughts.append(
                    {
                        "type": "thinking",
                        "thinking": block.get("thinking", ""),
                        "signature": block["signature"],
                    }
                )
        elif kind == "redacted_thinking":
            thoughts.append({"type": "redacted_thinking", "data": block.get("data")})
        elif kind == "tool_use":
            call_id, name = block.get("id"), block.get("name")
            if not isinstance(call_id, str) or not isinstance(name, str):
                raise bad(where, "a tool_use block with id and name")
            arguments = block.get("input")
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": json.dumps(
                            arguments if arguments is not None else {}, ensure_ascii=False
                        ),
                    },
                }
            )
        else:
            raise bad(f"{where}.type", "text, thinking, redacted_thinking or tool_use", kind)
    if texts:
        message["content"] = "".join(texts)
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if thoughts and carry.thinking_blocks:
        message["thinking_blocks"] = thoughts
    return message


def _system(system: Any, carry: Carriage) -> list[dict[str, Any]]:
    if system is None:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    parts = [_user_part(b, f"system.{j}", carry) for j, b in enumerate(_blocks(system, "system"))]
    if any(p["type"] != "text" for p in parts):
        raise bad("system", "text blocks")
    return [{"role": "system", "content": parts}] if parts else []


def _tool(tool: Any, field: str) -> dict[str, Any]:
    if not isinstance(tool, Mapping):
        raise bad(field, "a tool object", tool)
    if tool.get("type") not in (None, "custom"):
        raise bad(
            f"{field}.type",
            "a client tool ({name, input_schema}); server tools run on Anthropic's servers",
            tool.get("type"),
        )
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise bad(f"{field}.name", "the tool's name (a string)", name)
    schema = tool.get("input_schema")
    if not isinstance(schema, Mapping):
        raise bad(f"{field}.input_schema", "a JSON schema object", schema)
    function: dict[str, Any] = {"name": name, "parameters": dict(schema)}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any, chat: dict[str, Any]) -> None:
    if not isinstance(choice, Mapping):
        raise bad("tool_choice", "an object ({type: auto|any|tool|none})", choice)
    kind = choice.get("type")
    if kind == "auto":
        chat["tool_choice"] = "auto"
    elif kind == "any":
        chat["tool_choice"] = "required"
    elif kind == "none":
        chat["tool_choice"] = "none"
    elif kind == "tool" and isinstance(choice.get("name"), str):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        raise bad("tool_choice.type", "'auto', 'any', 'tool' (with name) or 'none'", kind)
    if choice.get("disable_parallel_tool_use"):
        chat["parallel_tool_calls"] = False


def _output_format(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    spec = kwargs.get("output_format")
    config = kwargs.get("output_config")
    if spec is None and isinstance(config, Mapping):
        spec = config.get("format")
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or spec.get("type") != "json_schema":
        raise bad("output_config.format", "{type: 'json_schema', schema}", spec)
    schema = spec.get("schema")
    if not isinstance(schema, Mapping):
        raise bad("output_config.format.schema", "a JSON schema object", schema)
    return {"type": "json_schema", "json_schema": {"name": "response", "schema": dict(schema)}}


def translate_messages(system: Any, messages: Any, carry: Carriage) -> list[dict[str, Any]]:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence) or not messages:
        raise bad("messages", "a non-empty list of messages", messages)
    out = _system(system, carry)
    for i, message in enumerate(messages):
        field = f"messages.{i}"
        if not isinstance(message, Mapping):
            raise bad(field, "a message object", message)
        role = message.get("role")
        if role == "user":
            out.extend(_user(message.get("content"), f"{field}.content", carry))
        elif role == "assistant":
            out.append(_assistant(message.get("content"), f"{field}.content", carry))
        else:
            raise bad(f"{field}.role", "'user' or 'assistant'", role)
    return out


def translate_request(kwargs: Mapping[str, Any], carry: Carriage) -> dict[str, Any]:
    """Check ``kwargs`` (anthropic's ``messages.create`` arguments) and translate them."""
    unknown = sorted(set(kwargs) - MESSAGES_PARAMS - GATEWAY_ARGS)
    if unknown:
        raise bad(unknown[0], f"a parameter of messages.create, not {unknown[0]!r}")
    max_tokens = kwargs.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise bad("max_tokens", "an integer >= 1 (Anthropic requires it)", max_tokens)
    stream = kwargs.get("stream", False)
    if not isinstance(stream, bool):
        raise bad("stream", "a bool", stream)
    chat: dict[str, Any] = {
        "model": kwargs.get("model"),
        "messages": translate_messages(kwargs.get("system"), kwargs.get("messages"), carry),
        "max_completion_tokens": max_tokens,
        "stream": stream,
    }
    for name in GATEWAY_ARGS:
        if kwargs.get(name) is not None:
            chat[name] = kwargs[name]
    for name in ("temperature", "top_p"):
        if kwargs.get(name) is not None:
            chat[name] = kwargs[name]
    if (stop := kwargs.get("stop_sequences")) is not None:
        chat["stop"] = list(stop)
    metadata = kwargs.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("user_id"), str):
        chat.setdefault("user", metadata["user_id"])
    tools = kwargs.get("tools")
    if tools:
        chat["tools"] = [_tool(t, f"tools.{i}") for i, t in enumerate(tools)]
        if kwargs.get("tool_choice") is not None:
            _tool_choice(kwargs["tool_choice"], chat)
    response_format = _output_format(kwargs)
    if response_format is not None:
        chat["response_format"] = response_format
    extra: dict[str, Any] = dict(kwargs.get("extra_body") or {})
    thinking = kwargs.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, Mapping):
            raise bad("thinking", "an object ({type: 'enabled', budget_tokens})", thinking)
        if carry.thinking:
            extra["thinking"] = dict(thinking)  # Anthropic: passed through unchanged
        elif thinking.get("type") == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or isinstance(budget, bool):
                raise bad("thinking.budget_tokens", "an integer", budget)
            chat["reasoning_effort"] = effort_of(budget)
        elif thinking.get("type") == "adaptive":
            chat["reasoning_effort"] = "medium"
    if kwargs.get("top_k") is not None and carry.thinking:
        extra["top_k"] = kwargs["top_k"]  # only Anthropic's wire format has top_k
    if extra:
        chat["extra_body"] = extra
    return chat
