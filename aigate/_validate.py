"""Checks on call arguments, done before anything is sent.

Hand-written rather than a pydantic model of the whole request: the checks run on every call
and cost a few microseconds this way. Each failure is an :class:`InvalidRequestError` naming
the field (``messages.2.content``) and what was expected there.
"""

from __future__ import annotations

import io
import math
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from ._exceptions import APIResponseValidationError, InvalidRequestError
from ._wire import Timeout, TimeoutLike
from .providers._base import ChatCall, EmbeddingsCall, TranscriptionCall

if TYPE_CHECKING:
    from ._models import CreateEmbeddingResponse

__all__ = [
    "CHAT_PARAMS",
    "chat_call",
    "check_embeddings",
    "check_json",
    "embeddings_call",
    "embeddings_count",
    "given",
    "is_sentinel",
    "timeout_of",
    "transcription_call",
]

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
#: Deeper request JSON than this is refused: JSON schemas and messages nest a few levels,
#: and 100,000 levels would fail deep in encoding (RecursionError) instead.
MAX_DEPTH = 64
#: The largest integer a request carries: providers read 64-bit integers, and Decimal
#: pricing of ``max_tokens=10**30`` would fail far from the argument.
_MAX_INT = 2**63 - 1
_MAX_TOKENS = 2**31 - 1
_STR_PARAMS = (
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
    "reasoning_effort",
    "verbosity",
)
_BOOL_PARAMS = ("logprobs", "parallel_tool_calls", "store")

# -- openai's "argument not given" sentinels ------------------------------------------------

_sentinels: frozenset[type] = frozenset()
_sentinels_loaded = False


def _load_sentinels() -> frozenset[type]:
    """openai's ``NotGiven``/``Omit`` types (and anthropic's, if imported by then), found
    once by identity.

    Never imports an SDK: an instance of a sentinel can only exist once its SDK is
    imported, so until openai is, the set stays empty and costs one dict lookup per call.
    """
    global _sentinels, _sentinels_loaded
    if "openai" not in sys.modules:
        return _sentinels
    found = set()
    for name in ("openai", "anthropic"):
        module = sys.modules.get(name)
        for attr in ("NotGiven", "Omit"):
            kind = getattr(module, attr, None)
            if isinstance(kind, type):
                found.add(kind)
    _sentinels = frozenset(found)
    _sentinels_loaded = True
    return _sentinels


def is_sentinel(value: object) -> bool:
    """Whether ``value`` is openai's ``NOT_GIVEN`` or ``omit`` (an argument not given)."""
    sentinels = _sentinels if _sentinels_loaded else _load_sentinels()
    return type(value) in sentinels


def given(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` without the arguments not given: ``None`` and openai's sentinels."""
    sentinels = _sentinels if _sentinels_loaded else _load_sentinels()
    if not sentinels:
        return {k: v for k, v in kwargs.items() if v is not None}
    return {k: v for k, v in kwargs.items() if v is not None and type(v) not in sentinels}


# -- JSON values ----------------------------------------------------------------------------


def check_json(value: object, field: str) -> None:
    """Refuse what cannot be sent as JSON: sets, bytes, objects, NaN/Infinity, integers
    beyond 64 bits, nesting deeper than :data:`MAX_DEPTH`; the error names the path."""
    found = _find_bad(value, 0)
    if found is None:
        return
    path, problem, bad = found
    where = ".".join([field, *reversed(path)])
    if problem == "depth":
        raise InvalidRequestError(
            f"{where}: nested deeper than {MAX_DEPTH} levels",
            field=where,
            expected=f"JSON nested at most {MAX_DEPTH} levels",
        )
    if problem == "int":
        raise InvalidRequestError(
            f"{where}: expected a 64-bit integer, got {_show(bad)}",
            field=where,
            expected="a 64-bit integer",
        )
    if problem == "float":
        raise InvalidRequestError(
            f"{where}: expected a finite number, got {bad!r} (not valid JSON)",
            field=where,
            expected="a finite number",
        )
    if problem == "key":
        raise _bad(where, "string keys", bad)
    raise _bad(where, "a JSON value (str, number, bool, None, dict or list)", bad)


def _find_bad(value: object, depth: int) -> tuple[list[str], str, object] | None:
    """(reversed path, problem, value) of the first non-JSON value in ``value``, else None.

    Exact type checks first: this runs on every call, over every message.
    """
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return None
    if kind is dict:
        if depth >= MAX_DEPTH:
            return [], "depth", value
        for key, item in value.items():  # type: ignore[attr-defined]
            item_kind = type(item)
            if item_kind is str or item is None:
                continue
            if type(key) is not str and (not isinstance(key, (str, int)) or isinstance(key, bool)):
                return [str(_show(key))], "key", key
            found = _find_bad(item, depth + 1)
            if found is not None:
                found[0].append(str(key))
                return found
        return None
    if kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            return [], "depth", value
        for i, item in enumerate(value):  # type: ignore[arg-type]
            if type(item) is str:
                continue
            found = _find_bad(item, depth + 1)
            if found is not None:
                found[0].append(str(i))
                return found
        return None
    if kind is int:
        return None if -_MAX_INT - 1 <= value <= _MAX_INT else ([], "int", value)  # type: ignore[operator]
    if kind is float:
        return None if math.isfinite(value) else ([], "float", value)  # type: ignore[arg-type]
    # subclasses: str/int enums, mapping and sequence types
    if isinstance(value, str):
        return None
    if isinstance(value, int):
        return _find_bad(int(value), depth)
    if isinstance(value, float):
        return _find_bad(float(value), depth)
    if isinstance(value, Mapping):
        return _find_bad(dict(value), depth)
    if isinstance(value, (list, tuple)):
        return _find_bad(list(value), depth)
    return [], "type", value


def _bad(field: str, expected: str, got: object) -> InvalidRequestError:
    return InvalidRequestError(
        f"{field}: expected {expected}, got {type(got).__name__}", field=field, expected=expected
    )


def _show(value: object) -> str:
    """A short, safe rendering of a bad value: a number or a short string, else its type
    (a repr could be huge, recurse without end, or quote a secret)."""
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
        return text if len(text) <= 24 else f"an int of {len(text)} digits"
    if isinstance(value, str) and len(value) <= 24:
        return repr(value)
    return type(value).__name__


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_PHASES = ("connect", "read", "write", "pool")


def timeout_of(value: object, field: str = "timeout") -> Timeout | None:
    """A per-call timeout: seconds, anything with httpx's four phases (``httpx.Timeout``,
    ``httpx2.Timeout``, :class:`aigate.Timeout`), or None for the provider's."""
    if value is None:
        return None
    if isinstance(value, Timeout):
        return value
    if all(hasattr(value, phase) for phase in _PHASES):
        return Timeout.of(cast(TimeoutLike, value))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        seconds = float(value)
        return Timeout(connect=seconds, read=seconds, write=seconds, pool=seconds)
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
            from ._suggest import did_you_mean

            hint = did_you_mean(role, _ROLES) if isinstance(role, str) else ""
            raise InvalidRequestError(
                f"messages.{i}.role: expected one of {sorted(_ROLES)}, got {_show(role)}{hint}",
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
        elif isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
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
    check_json(messages, "messages")
    return messages if isinstance(messages, list) else list(messages)


def _check_params(params: dict[str, Any]) -> None:
    for name in ("max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs"):
        value = params.get(name)
        if value is not None and not _is_int(value):
            raise _bad(name, "an integer", value)
    for name, top in (
        ("max_tokens", _MAX_TOKENS),
        ("max_completion_tokens", _MAX_TOKENS),
        ("n", 128),
    ):
        value = params.get(name)
        if value is not None and not 1 <= value <= top:
            raise InvalidRequestError(
                f"{name}: expected an integer from 1 to {top}, got {_show(value)}",
                field=name,
                expected=f"1..{top}",
            )
    for name in _STR_PARAMS:
        value = params.get(name)
        if value is not None and not isinstance(value, str):
            raise _bad(name, "a string", value)
    for name in _BOOL_PARAMS:
        value = params.get(name)
        if value is not None and not isinstance(value, bool):
            raise _bad(name, "a bool", value)
    logit_bias = params.get("logit_bias")
    if logit_bias is not None:
        if not isinstance(logit_bias, Mapping):
            raise _bad("logit_bias", "a dict of token ids to numbers from -100 to 100", logit_bias)
        for token, bias in logit_bias.items():
            if not _is_number(bias) or not -100 <= bias <= 100:
                where = f"logit_bias.{_show(token).strip(chr(39))}"
                raise InvalidRequestError(
                    f"{where}: expected a number from -100 to 100, got {_show(bias)}",
                    field=where,
                    expected="-100..100",
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
                f"{name}: expected a number from {low} to {high}, got {_show(value)}",
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
            schema = function.get("parameters")
            if schema is not None and not isinstance(schema, Mapping):
                raise _bad(f"tools.{i}.function.parameters", "a JSON schema object (dict)", schema)
    metadata = params.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise _bad("metadata", "a dict of strings to strings", metadata)
    response_format = params.get("response_format")
    if response_format is not None and not isinstance(response_format, Mapping):
        raise _bad("response_format", "an object like {'type': 'json_object'}", response_format)
    for name, value in params.items():
        if type(value) is not str:
            check_json(value, name)


def _extras(kwargs: dict[str, Any]) -> tuple[Any, Any, Any, Timeout | None]:
    sentinels = _sentinels if _sentinels_loaded else _load_sentinels()
    if sentinels:
        for name in ("extra_headers", "extra_query", "extra_body", "timeout"):
            if type(kwargs.get(name)) in sentinels:
                del kwargs[name]
    extra_headers = kwargs.pop("extra_headers", None)
    extra_query = kwargs.pop("extra_query", None)
    extra_body = kwargs.pop("extra_body", None)
    if extra_body is not None:
        check_json(extra_body, "extra_body")
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
            from ._suggest import did_you_mean

            raise InvalidRequestError(
                f"{name}: not a parameter of {what}{did_you_mean(name, known)}; put "
                "provider-specific fields in extra_body",
                field=name,
                expected=f"one of {sorted(known)}",
            )


# -- the fast path -------------------------------------------------------------------------
#
# Most calls are a list of plain messages and a few scalar parameters. Checking those with
# exact type tests takes a fraction of the full checks below; anything else (an unusual
# type, a subclass, a value out of range, a nested parameter, an extra) goes to the full
# checks, so every error is raised by the same code, with the same message, as before.
# A shape accepted here must be one the full checks accept unchanged.

_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})
_INT64 = (-_MAX_INT - 1, _MAX_INT)


def _plain_messages(messages: object) -> bool:
    """A non-empty list of ``{"role", "content"[, "name"]}`` dicts of plain strings."""
    if type(messages) is not list or not messages:
        return False
    roles = _PLAIN_ROLES
    for message in messages:
        if type(message) is not dict:
            return False
        role = message.get("role")
        if type(role) is not str or role not in roles or type(message.get("content")) is not str:
            return False
        size = len(message)
        if size != 2 and (size != 3 or type(message.get("name")) is not str):
            return False
    return True


def _ranged(low: float, high: float, types: tuple[type, ...]) -> Any:
    return lambda value: type(value) in types and low <= value <= high


def _metadata(value: object) -> bool:
    return type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items())


def _stop(value: object) -> bool:
    return type(value) is str or (type(value) is list and all(type(s) is str for s in value))


_INT, _NUMBER = (int,), (int, float)
#: Per parameter, a quick test that passes only values the full checks accept as they are.
_PLAIN_PARAMS: dict[str, Any] = {
    "max_tokens": _ranged(1, _MAX_TOKENS, _INT),
    "max_completion_tokens": _ranged(1, _MAX_TOKENS, _INT),
    "n": _ranged(1, 128, _INT),
    "seed": _ranged(*_INT64, _INT),
    "top_logprobs": _ranged(*_INT64, _INT),
    "temperature": _ranged(0.0, 2.0, _NUMBER),
    "top_p": _ranged(0.0, 1.0, _NUMBER),
    "presence_penalty": _ranged(-2.0, 2.0, _NUMBER),
    "frequency_penalty": _ranged(-2.0, 2.0, _NUMBER),
    "metadata": _metadata,
    "stop": _stop,
    **{name: lambda value: type(value) is str for name in _STR_PARAMS},
    **{name: lambda value: type(value) is bool for name in _BOOL_PARAMS},
}


def _plain_params(kwargs: dict[str, Any]) -> bool:
    checks = _PLAIN_PARAMS
    for name, value in kwargs.items():
        check = checks.get(name)
        if check is None or not check(value):
            return False
    return True


def chat_call(messages: object, stream: object, kwargs: dict[str, Any]) -> ChatCall:
    """A validated :class:`ChatCall`; ``kwargs`` is consumed (the call's own dict: it
    becomes the call's ``params``). Parameters passed as ``None`` are treated as not given
    (never sent)."""
    if not isinstance(stream, bool):
        if not is_sentinel(stream):
            raise _bad("stream", "a bool", stream)
        stream = False
    if _plain_params(kwargs) and _plain_messages(messages):
        return ChatCall(messages, kwargs, stream)  # type: ignore[arg-type]
    extra_headers, extra_query, extra_body, timeout = _extras(kwargs)
    params = given(kwargs)
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
    params = given(kwargs)
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
    for name in ("user", "encoding_format"):
        value = params.get(name)
        if value is not None and not isinstance(value, str):
            raise _bad(name, "a string", value)
    for name, value in params.items():
        if type(value) is not str:
            check_json(value, name)
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


def embeddings_count(inputs: object) -> int:
    """How many vectors an embeddings ``input`` asks for (a token list is one input)."""
    if isinstance(inputs, str):
        return 1
    items = list(inputs) if isinstance(inputs, Sequence) else []
    return 1 if items and _is_int(items[0]) else len(items)


def check_embeddings(
    result: CreateEmbeddingResponse, expected: int, provider: str, model: str
) -> None:
    """A provider's embeddings answer must hold one vector per input (issue 13.13: a short
    answer was handed to the caller, or broke the cache with a raw pydantic error)."""
    got = len(result.data)
    if got != expected or any(not item.embedding for item in result.data):
        raise APIResponseValidationError(
            f"{provider} sent {got} embedding vector(s) for {expected} input(s)"
            if got != expected
            else f"{provider} sent an empty embedding vector",
            provider=provider,
            model=model,
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
    params = given(kwargs)
    _unknown(params, TRANSCRIPTION_PARAMS, "audio.transcriptions.create")
    for name, value in params.items():
        if type(value) is not str:
            check_json(value, name)
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
