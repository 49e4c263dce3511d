"""Responses API request -> aigate chat call (``gw.chat.completions.create`` arguments).

Pure functions: no I/O, no gateway state beyond the :class:`~aigate.surfaces._common.Carriage`
the caller computed for the route. See docs/responses.md for the table of what maps and
what is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._common import Carriage, bad
from .._reasoning import decode_blocks

__all__ = ["RESPONSES_PARAMS", "ResponsesRequest", "translate_request"]

#: Parameters of openai's ``responses.create`` that aigate reads.
RESPONSES_PARAMS = frozenset(
    {
        "background",
        "conversation",
        "include",
        "input",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "model",
        "parallel_tool_calls",
        "previous_response_id",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_retention",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
    }
)
#: aigate's own per-call arguments, passed to the chat call unchanged.
GATEWAY_ARGS = frozenset(
    {"api_key", "cache", "extra_headers", "extra_query", "extra_body", "timeout"}
)
_PASSED = ("temperature", "top_p", "parallel_tool_calls", "user", "safety_identifier")
_PASSED_OPENAI = ("prompt_cache_key", "prompt_cache_retention", "service_tier")
_REFUSED = {
    "background": "background responses need OpenAI's servers; aigate answers in-process",
    "conversation": "conversations objects are OpenAI's; use previous_response_id",
    "prompt": "prompt templates live on OpenAI's servers",
}


class ResponsesRequest:
    """A validated Responses request: the chat arguments and what the response echoes."""

    __slots__ = ("chat", "echo", "input_messages", "previous_response_id", "store", "stream")

    def __init__(
        self,
        chat: dict[str, Any],
        input_messages: list[dict[str, Any]],
        echo: dict[str, Any],
        previous_response_id: str | None,
        store: bool,
        stream: bool,
    ) -> None:
        self.chat = chat  # every argument of the chat call but `messages`
        self.input_messages = input_messages  # this turn's input, in chat form
        self.echo = echo  # request fields the Response object repeats
        self.previous_response_id = previous_response_id
        self.store = store
        self.stream = stream

    def messages(
        self, instructions: list[dict[str, Any]], history: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        return [*instructions, *history, *self.input_messages]


def _text_of(content: Any, field: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        texts = []
        for j, part in enumerate(content):
            if not isinstance(part, Mapping):
                raise bad(f"{field}.{j}", "a content part object", part)
            texts.append(str(part.get("text", "")))
        return "".join(texts)
    raise bad(field, "a string or a list of content parts", content)


def _part(part: Any, field: str, carry: Carriage) -> dict[str, Any] | None:
    if not isinstance(part, Mapping):
        raise bad(field, "a content part object", part)
    kind = part.get("type")
    out: dict[str, Any]
    if kind in ("input_text", "output_text", "text"):
        text = part.get("text")
        if not isinstance(text, str):
            raise bad(f"{field}.text", "a string", text)
        out = {"type": "text", "text": text}
    elif kind == "refusal":
        out = {"type": "text", "text": str(part.get("refusal", ""))}
    elif kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str):
            raise bad(
                f"{field}.image_url",
                "an image URL or data URL (file_id images live on OpenAI's servers)",
                url,
            )
        image: dict[str, Any] = {"url": url}
        if part.get("detail") in ("low", "high", "auto"):
            image["detail"] = part["detail"]
        out = {"type": "image_url", "image_url": image}
    elif kind == "input_file":
        data = part.get("file_data")
        if not isinstance(data, str):
            raise bad(
                f"{field}.file_data",
                "the file's data as a data URL (file_id and file_url files live on "
                "OpenAI's servers)",
                data,
            )
        if not data.startswith("data:"):
            data = f"data:application/pdf;base64,{data}"  # openai's SDK sends bare base64
        file: dict[str, Any] = {"file_data": data}
        if isinstance(part.get("filename"), str):
            file["filename"] = part["filename"]
        out = {"type": "file", "file": file}
    else:
        raise bad(f"{field}.type", "input_text, input_image, input_file or output_text", kind)
    if carry.cache_control and isinstance(part.get("cache_control"), Mapping):
        out["cache_control"] = dict(part["cache_control"])
    return out


def _content(content: Any, field: str, carry: Carriage) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, Sequence):
        raise bad(field, "a string or a list of content parts", content)
    parts = [_part(p, f"{field}.{j}", carry) for j, p in enumerate(content)]
    return [p for p in parts if p is not None]


class _Turns:
    """Builds chat messages from input items, merging an assistant's items into one turn."""

    def __init__(self, carry: Carriage) -> None:
        self.carry = carry
        self.messages: list[dict[str, Any]] = []
        self.pending: dict[str, Any] | None = None

    def flush(self) -> None:
        if self.pending is not None:
            self.messages.append(self.pending)
            self.pending = None

    def assistant(self) -> dict[str, Any]:
        if self.pending is None:
            self.pending = {"role": "assistant", "content": None}
        return self.pending

    def reasoning(self, item: Mapping[str, Any], field: str) -> None:
        pending = self.pending
        if pending is not None and (pending.get("content") or pending.get("tool_calls")):
            self.flush()  # reasoning opens a new step of the assistant's turn
        turn = self.assistant()
        texts = [
            str(p.get("text", ""))
            for p in (item.get("content") or item.get("summary") or ())
            if isinstance(p, Mapping)
        ]
        if texts:
            turn["reasoning_content"] = (turn.get("reasoning_content") or "") + "".join(texts)
        blocks = decode_blocks(item.get("encrypted_content"))
        if blocks and self.carry.thinking_blocks:
            turn.setdefault("thinking_blocks", []).extend(blocks)

    def message(self, item: Mapping[str, Any], field: str) -> None:
        role = item.get("role")
        if role not in ("user", "system", "developer", "assistant"):
            raise bad(f"{field}.role", "one of 'user', 'system', 'developer', 'assistant'", role)
        if "content" not in item:
            raise bad(f"{field}.content", "a string or a list of content parts")
        if role == "assistant":
            turn = self.assistant()
            if turn.get("tool_calls"):
                self.flush()
                turn = self.assistant()
            text = _text_of(item["content"], f"{field}.content")
            turn["content"] = (turn.get("content") or "") + text
            return
        self.flush()
        self.messages.append(
            {"role": role, "content": _content(item["content"], field, self.carry)}
        )

    def function_call(self, item: Mapping[str, Any], field: str) -> None:
        call_id, name = item.get("call_id"), item.get("name")
        if not isinstance(call_id, str) or not call_id:
            raise bad(f"{field}.call_id", "the call's id (a string)", call_id)
        if not isinstance(name, str) or not name:
            raise bad(f"{field}.name", "the function's name (a string)", name)
        arguments = item.get("arguments")
        if not isinstance(arguments, str):
            raise bad(f"{field}.arguments", "a JSON string", arguments)
        turn = self.assistant()
        turn.setdefault("tool_calls", []).append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": arguments or "{}"},
            }
        )

    def function_call_output(self, item: Mapping[str, Any], field: str) -> None:
        call_id = item.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise bad(f"{field}.call_id", "the id of the call this answers (a string)", call_id)
        output = item.get("output")
        if isinstance(output, str):
            content: Any = output
        elif isinstance(output, Sequence):
            content = _content(output, f"{field}.output", self.carry)
        else:
            raise bad(f"{field}.output", "a string or a list of content parts", output)
        self.flush()
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": content})


def input_messages(value: Any, carry: Carriage) -> list[dict[str, Any]]:
    """The ``input`` of a Responses request as chat messages."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, Sequence) or isinstance(value, (bytes, bytearray)):
        raise bad("input", "a string or a list of input items", value)
    turns = _Turns(carry)
    for i, item in enumerate(value):
        field = f"input.{i}"
        if not isinstance(item, Mapping):
            raise bad(field, "an input item object", item)
        kind = item.get("type", "message")
        if kind == "message":
            turns.message(item, field)
        elif kind == "function_call":
            turns.function_call(item, field)
        elif kind == "function_call_output":
            turns.function_call_output(item, field)
        elif kind == "reasoning":
            turns.reasoning(item, field)
        else:
            raise bad(
                f"{field}.type",
                "message, function_call, function_call_output or reasoning "
                "(hosted tool items and item_reference need OpenAI's servers)",
                kind,
            )
    turns.flush()
    return turns.messages


def _tool(tool: Any, field: str) -> dict[str, Any]:
    if not isinstance(tool, Mapping) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, Mapping) else tool
        raise bad(
            f"{field}.type",
            "'function' (hosted tools such as web_search run on OpenAI's servers)",
            kind,
        )
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise bad(f"{field}.name", "the function's name (a string)", name)
    function: dict[str, Any] = {"name": name}
    if tool.get("description"):
        function["description"] = tool["description"]
    function["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
    if tool.get("strict") is not None:
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        name = choice.get("name")
        if isinstance(name, str):
            return {"type": "function", "function": {"name": name}}
    raise bad("tool_choice", "'auto', 'none', 'required' or {type: 'function', name}", choice)


def _response_format(text: Any) -> dict[str, Any] | None:
    if text is None:
        return None
    if not isinstance(text, Mapping):
        raise bad("text", "an object ({format: {...}})", text)
    spec = text.get("format")
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise bad("text.format", "an object", spec)
    kind = spec.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = spec.get("schema")
        if not isinstance(schema, Mapping):
            raise bad("text.format.schema", "a JSON schema object", schema)
        json_schema: dict[str, Any] = {"name": spec.get("name") or "response", "schema": schema}
        for name in ("strict", "description"):
            if spec.get(name) is not None:
                json_schema[name] = spec[name]
        return {"type": "json_schema", "json_schema": json_schema}
    raise bad("text.format.type", "'text', 'json_object' or 'json_schema'", kind)


def translate_request(kwargs: Mapping[str, Any], carry: Carriage) -> ResponsesRequest:
    """Check ``kwargs`` (openai's ``responses.create`` arguments) and translate them."""
    unknown = sorted(set(kwargs) - RESPONSES_PARAMS - GATEWAY_ARGS)
    if unknown:
        raise bad(unknown[0], f"a parameter of responses.create, not {unknown[0]!r}")
    for name, reason in _REFUSED.items():
        if kwargs.get(name):
            raise bad(name, f"not given ({reason})", kwargs[name])
    if "input" not in kwargs and not kwargs.get("previous_response_id"):
        raise bad("input", "a string or a list of input items")
    stream = kwargs.get("stream", False)
    if not isinstance(stream, bool):
        raise bad("stream", "a bool", stream)
    store = kwargs.get("store", True)
    if store is None:
        store = True
    if not isinstance(store, bool):
        raise bad("store", "a bool", store)
    previous = kwargs.get("previous_response_id")
    if previous is not None and (not isinstance(previous, str) or not previous):
        raise bad("previous_response_id", "the id of a stored response (a string)", previous)

    chat: dict[str, Any] = {"model": kwargs.get("model")}
    for name in (*_PASSED, *_PASSED_OPENAI):
        if kwargs.get(name) is not None:
            chat[name] = kwargs[name]
    for name in GATEWAY_ARGS:
        if kwargs.get(name) is not None:
            chat[name] = kwargs[name]
    if kwargs.get("metadata") is not None:
        chat["metadata"] = kwargs["metadata"]
    if (limit := kwargs.get("max_output_tokens")) is not None:
        chat["max_completion_tokens"] = limit
    if (top := kwargs.get("top_logprobs")) is not None:
        chat["logprobs"] = True
        chat["top_logprobs"] = top
    tools = kwargs.get("tools")
    if tools is not None:
        if not isinstance(tools, Sequence) or isinstance(tools, str):
            raise bad("tools", "a list of tool objects", tools)
        if tools:
            chat["tools"] = [_tool(t, f"tools.{i}") for i, t in enumerate(tools)]
    if kwargs.get("tool_choice") is not None and chat.get("tools"):
        chat["tool_choice"] = _tool_choice(kwargs["tool_choice"])
    response_format = _response_format(kwargs.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    reasoning = kwargs.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, Mapping):
            raise bad("reasoning", "an object ({effort, summary})", reasoning)
        if reasoning.get("effort") is not None:
            chat["reasoning_effort"] = reasoning["effort"]

    messages = input_messages(kwargs["input"], carry) if "input" in kwargs else []
    echo = {
        "instructions": kwargs.get("instructions"),
        "metadata": kwargs.get("metadata"),
        "parallel_tool_calls": kwargs.get("parallel_tool_calls", True),
        "temperature": kwargs.get("temperature"),
        "top_p": kwargs.get("top_p"),
        "tool_choice": kwargs.get("tool_choice") or "auto",
        "tools": [dict(t) for t in tools or ()],
        "max_output_tokens": kwargs.get("max_output_tokens"),
        "previous_response_id": previous,
        "reasoning": dict(reasoning) if isinstance(reasoning, Mapping) else None,
        "store": store,
        "text": dict(kwargs["text"]) if isinstance(kwargs.get("text"), Mapping) else None,
        "truncation": kwargs.get("truncation") or "disabled",
        "user": kwargs.get("user"),
    }
    return ResponsesRequest(chat, messages, echo, previous, store, stream)


def instruction_messages(instructions: Any) -> list[dict[str, Any]]:
    """``instructions`` as a system message (not stored: OpenAI does not carry a turn's
    instructions over to the next one through ``previous_response_id``)."""
    if instructions is None:
        return []
    if isinstance(instructions, str):
        return [{"role": "system", "content": instructions}] if instructions else []
    if isinstance(instructions, Sequence):
        return [{"role": "system", "content": _text_of_items(instructions)}]
    raise bad("instructions", "a string", instructions)


def _text_of_items(items: Sequence[Any]) -> str:
    texts = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise bad(f"instructions.{i}", "an input message", item)
        texts.append(_text_of(item.get("content", ""), f"instructions.{i}.content"))
    return "\n".join(texts)


def dumps_arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
