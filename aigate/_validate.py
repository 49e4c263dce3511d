"""Checks on call arguments, done before anything is sent.

Hand-written rather than a pydantic model of the whole request: the checks run on every call
and cost a few microseconds this way. Each failure is an :class:`InvalidRequestError` naming
the field (``messages.2.content``) and what was expected there.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ._exceptions import InvalidRequestError
from .providers._base import ChatCall, EmbeddingsCall, TranscriptionCall

__all__ = ["CHAT_PARAMS", "chat_call", "embeddings_call", "timeout_of", "transcription_call"]

#: Every parameter of openai's ``chat.completions.create`` besides model/messages/stream.
CHAT_PARAMS = frozenset(
    {
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "moderation",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)
EMBEDDING_PARAMS = frozenset({"dimensions", "encoding_format", "user"})
TRANSCRIPTION_PARAMS = frozenset(
    {
        "chunking_strategy",
        "include",
        "language",
        "prompt",
        "response_format",
        "temperature",
        "timestamp_granularities",
    }
)
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "refusal"})
_NOT_GIVEN = object()


def _bad(field: str, expected: str, got: object) -> InvalidRequestError:
    return InvalidRequestError(
        f"{field}: expected {expected}, got {type(got).__name__}", field=field, expected=expected
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def timeout_of(value: object, field: str = "timeout") -> httpx.Timeout | None:
    """A per-call timeout: seconds, an ``httpx.Timeout``, or None for the provider's."""
    if value is None:
        return None
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return httpx.Timeout(float(value))
    raise _bad(field, "a positive number of seconds or an httpx.Timeout", value)


def _check_messages(messages: object) -> list[dict[str, Any]]:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise _bad("messages", "a list of message objects", messages)
    if not messages:
        raise InvalidRequestError(
            "messages: expected at least one message", field="messages", expected="non-empty list"
        )
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise _bad(f"messages.{i}", "a message object (dict)", message)
        role = message.get("role")
        if not isinstance(role, str) or role not in _ROLES:
            raise InvalidRequestError(
                f"messages.{i}.role: expected one of {sorted(_ROLES)}, got {role!r}",
                field=f"messages.{i}.role",
                expected=f"one of {sorted(_ROLES)}",
            )
        content = message.get("content", _NOT_GIVEN)
        if isinstance(content, str):
            pass
        elif content is None or content is _NOT_GIVEN:
            # only an assistant turn may omit content (it carries tool calls or audio)
            if role != "assistant":
                raise InvalidRequestError(
                    f"messages.{i}.content: required for role {role!r}",
                    field=f"messages.{i}.content",
                    expected="a string or a list of content parts",
                )
        elif isinstance(content, Sequence):
            for j, part in enumerate(content):
                if not isinstance(part, Mapping) or part.get("type") not in _PART_TYPES:
                    raise InvalidRequestError(
                        f"messages.{i}.content.{j}: expected a content part with type in "
                        f"{sorted(_PART_TYPES)}",
                        field=f"messages.{i}.content.{j}",
                        expected=f"a content part with type in {sorted(_PART_TYPES)}",
                    )
        else:
            raise _bad(f"messages.{i}.content", "a string or a list of content parts", content)
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise InvalidRequestError(
                f"messages.{i}.tool_call_id: required (a string) for role 'tool'",
                field=f"messages.{i}.tool_call_id",
                expected="a string",
            )
        tool_calls = message.get("tool_calls")
        if tool_calls is not None:
            if role != "assistant" or not isinstance(tool_calls, Sequence):
                raise _bad(f"messages.{i}.tool_calls", "a list on an assistant message", tool_calls)
            for j, call in enumerate(tool_calls):
                function = call.get("function") if isinstance(call, Mapping) else None
                if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
                    raise InvalidRequestError(
                        f"messages.{i}.tool_calls.{j}: expected "
                        "{id, type, function: {name, arguments}}",
                        field=f"messages.{i}.tool_calls.{j}",
                        expected="a tool call object",
                    )
    return messages if isinstance(messages, list) else list(messages)


def _check_params(params: dict[str, Any]) -> None:
    for name in ("max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs"):
        value = params.get(name)
        if value is not None and not _is_int(value):
            raise _bad(name, "an integer", value)
    for name in ("max_tokens", "max_completion_tokens", "n"):
        value = params.get(name)
        if value is not None and value < 1:
            raise InvalidRequestError(
                f"{name}: expected an integer >= 1, got {value}", field=name, expected=">= 1"
            )
    for name, low, high in (
        ("temperature", 0.0, 2.0),
        ("top_p", 0.0, 1.0),
        ("presence_penalty", -2.0, 2.0),
        ("frequency_penalty", -2.0, 2.0),
    ):
        value = params.get(name)
        if value is None:
            continue
        if not _is_number(value):
            raise _bad(name, "a number", value)
        if not low <= value <= high:
            raise InvalidRequestError(
                f"{name}: expected a number from {low} to {high}, got {value}",
                field=name,
                expected=f"{low}..{high}",
            )
    stop = params.get("stop")
    if (
        stop is not None
        and not isinstance(stop, str)
        and (not isinstance(stop, Sequence) or not all(isinstance(s, str) for s in stop))
    ):
        raise _bad("stop", "a string or a list of strings", stop)
    tools = params.get("tools")
    if tools is not None:
        if not isinstance(tools, Sequence) or isinstance(tools, str):
            raise _bad("tools", "a list of tool objects", tools)
        for i, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, Mapping) else None
            if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
                raise InvalidRequestError(
                    f"tools.{i}: expected {{type: 'function', function: {{name, parameters}}}}",
                    field=f"tools.{i}",
                    expected="a function tool",
                )
    metadata = params.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise _bad("metadata", "a dict of strings to strings", metadata)
    response_format = params.get("response_format")
    if response_format is not None and not isinstance(response_format, Mapping):
        raise _bad("response_format", "an object like {'type': 'json_object'}", response_format)


def _extras(kwargs: dict[str, Any]) -> tuple[Any, Any, Any, httpx.Timeout | None]:
    extra_headers = kwargs.pop("extra_headers", None)
    extra_query = kwargs.pop("extra_query", None)
    extra_body = kwargs.pop("extra_body", None)
    for name, value in (
        ("extra_headers", extra_headers),
        ("extra_query", extra_query),
        ("extra_body", extra_body),
    ):
        if value is not None and not isinstance(value, Mapping):
            raise _bad(name, "a dict", value)
    for header, value in (extra_headers or {}).items():
        if not (isinstance(header, str) and header.isascii() and header.strip()):
            raise _bad("extra_headers", "header names that are non-empty ASCII strings", header)
        if not (isinstance(value, str) and value.isascii()):
            raise _bad(f"extra_headers.{header}", "an ASCII string", value)
    for param, value in (extra_query or {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if not isinstance(param, str) or not all(
            v is None or isinstance(v, (str, int, float, bool)) for v in values
        ):
            raise _bad(f"extra_query.{param}", "a string, number, bool or a list of them", value)
    return extra_headers, extra_query, extra_body, timeout_of(kwargs.pop("timeout", None))


def _unknown(kwargs: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    for name in kwargs:
        if name not in known:
            raise InvalidRequestError(
                f"{name}: not a parameter of {what}; put provider-specific fields in extra_body",
                field=name,
                expected=f"one of {sorted(known)}",
            )


def chat_call(messages: object, stream: object, kwargs: dict[str, Any]) -> ChatCall:
    """A validated :class:`ChatCall`; ``kwargs`` is consumed. Parameters passed as ``None``
    are treated as not given (never sent)."""
    if not isinstance(stream, bool):
        raise _bad("stream", "a bool", stream)
    extra_headers, extra_query, extra_body, timeout = _extras(kwargs)
    params = {k: v for k, v in kwargs.items() if v is not None}
    _unknown(params, CHAT_PARAMS, "chat.completions.create")
    _check_params(params)
    return ChatCall(
        messages=_check_messages(messages),
        params=params,
        stream=stream,
        extra_headers=extra_headers,
        extra_query=extra_query,
        extra_body=extra_body,
        timeout=timeout,
    )


def embeddings_call(input: object, kwargs: dict[str, Any]) -> EmbeddingsCall:
    extra_headers, extra_query, extra_body, timeout = _extras(kwargs)
    params = {k: v for k, v in kwargs.items() if v is not None}
    _unknown(params, EMBEDDING_PARAMS, "embeddings.create")
    ok = isinstance(input, str) or (
        isinstance(input, Sequence)
        and len(input) > 0
        and (
            all(isinstance(x, str) for x in input)
            or all(_is_int(x) for x in input)
            or all(isinstance(x, Sequence) and all(_is_int(t) for t in x) for x in input)
        )
    )
    if not ok:
        raise _bad("input", "a string, a non-empty list of strings, or token lists", input)
    dimensions = params.get("dimensions")
    if dimensions is not None and (not _is_int(dimensions) or dimensions < 1):
        raise _bad("dimensions", "an integer >= 1", dimensions)
    return EmbeddingsCall(
        input=input if isinstance(input, str) else list(input),  # type: ignore[call-overload]
        params=params,
        extra_headers=extra_headers,
        extra_query=extra_query,
        extra_body=extra_body,
        timeout=timeout,
    )


def _file_tuple(file: object) -> tuple[str, bytes, str | None]:
    """openai's ``FileTypes``: bytes, a binary file object, a path, or (name, content[, type])."""
    if isinstance(file, tuple) and 2 <= len(file) <= 3:
        name, content = file[0], file[1]
        ctype = file[2] if len(file) == 3 else None
        if ctype is not None and not isinstance(ctype, str):
            raise _bad("file", "(name, content, content type as a string)", ctype)
        if isinstance(content, (bytes, bytearray)):
            data = bytes(content)
        elif hasattr(content, "read"):
            data = content.read()
        else:
            raise _bad("file", "bytes, a binary file, a path, or (name, content)", file)
        return str(name or "upload"), data, ctype
    if isinstance(file, (bytes, bytearray)):
        return "upload", bytes(file), None
    if isinstance(file, os.PathLike):
        path = os.fspath(file)
        try:
            with open(path, "rb") as handle:
                return os.path.basename(str(path)), handle.read(), None
        except OSError as exc:
            raise InvalidRequestError(
                f"file: cannot read {os.path.basename(str(path))!r} ({exc.strerror})",
                field="file",
                expected="a readable file",
            ) from None
    if isinstance(file, io.TextIOBase):
        raise _bad("file", "a file opened in binary mode ('rb')", file)
    if hasattr(file, "read"):
        data = file.read()
        if not isinstance(data, bytes):
            raise _bad("file", "a file opened in binary mode ('rb')", file)
        name = os.path.basename(str(getattr(file, "name", "upload")))
        return name, data, None
    raise _bad("file", "bytes, a binary file, a path, or (name, content)", file)


def transcription_call(file: object, kwargs: dict[str, Any]) -> TranscriptionCall:
    extra_headers, extra_query, extra_body, timeout = _extras(kwargs)
    params = {k: v for k, v in kwargs.items() if v is not None}
    _unknown(params, TRANSCRIPTION_PARAMS, "audio.transcriptions.create")
    if params.get("stream"):
        raise InvalidRequestError("stream: not supported for transcriptions", field="stream")
    return TranscriptionCall(
        file=_file_tuple(file),
        params=params,
        extra_headers=extra_headers,
        extra_query=extra_query,
        extra_body=extra_body,
        timeout=timeout,
    )
