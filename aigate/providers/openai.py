"""The OpenAI chat-completions wire format: OpenAI itself, Groq, OpenRouter, Mistral,
DeepSeek, and any OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from pydantic import ValidationError

from .._exceptions import (
    APIResponseValidationError,
    APIStatusError,
    InvalidRequestError,
)
from .._models import (
    ChatCompletion,
    ChatCompletionChunk,
    CreateEmbeddingResponse,
    Transcription,
    Usage,
)
from .._wire import Request, Response, multipart
from ._base import ChatCall, EmbeddingsCall, Target, TranscriptionCall
from ._common import (
    build_request,
    dumps,
    invalid_response,
    load_object,
    stream_error,
)
from ._errors import guard_error, guard_parse, target_error
from ._sse import ServerSentEvent

__all__ = ["OpenAICodec"]

_FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter", "function_call"}
# What some OpenAI-compatible servers send instead of OpenAI's finish reasons.
_FINISH_ALIASES = {
    "eos": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "error": "stop",
}
_JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}


def _fix_finish_reasons(payload: Any) -> Any:
    choices = payload.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        if isinstance(choice, dict):
            reason = choice.get("finish_reason")
            if reason is not None and not (isinstance(reason, str) and reason in _FINISH_REASONS):
                choice["finish_reason"] = _FINISH_ALIASES.get(str(reason).lower(), "stop")
    return payload


class OpenAICodec:
    """Codec for ``POST {base_url}/chat/completions`` and friends.

    Options (``ProviderConfig.options``): ``organization``/``project`` (OpenAI headers),
    ``site_url``/``app_name`` (OpenRouter's ``HTTP-Referer``/``X-Title``).
    """

    request_id_header = "x-request-id"

    def __init__(self, kind: str = "openai") -> None:
        self.kind = kind

    # -- chat ------------------------------------------------------------------------------

    def _headers(self, target: Target, key: str | None) -> dict[str, str]:
        headers = dict(_JSON_HEADERS)
        if key:
            headers["authorization"] = f"Bearer {key}"
        options = target.provider.options
        if options:
            if org := options.get("organization"):
                headers["openai-organization"] = org
            if project := options.get("project"):
                headers["openai-project"] = project
            if site := options.get("site_url"):
                headers["http-referer"] = site
            if app := options.get("app_name"):
                headers["x-title"] = app
        return headers

    def chat_request(self, call: ChatCall, target: Target, key: str | None) -> Request:
        payload: dict[str, Any] = {"model": target.model, "messages": _short_ids(call.messages)}
        params = call.params
        if params:
            payload.update(params)
            if "metadata" in params and not params.get("store"):
                # aigate consumes `metadata` as ledger tags; OpenAI only accepts it with store
                del payload["metadata"]
        if call.stream:
            payload["stream"] = True
            options = dict(payload.get("stream_options") or {})
            options.setdefault("include_usage", True)
            payload["stream_options"] = options
        if call.extra_body:
            payload.update(call.extra_body)
        headers = self._headers(target, key)
        if call.stream:
            headers["accept"] = "text/event-stream"
        return build_request(
            "POST",
            target.provider.base_url + "/chat/completions",
            headers=headers,
            target=target,
            extra_headers=call.extra_headers,
            extra_query=call.extra_query,
            timeout=call.timeout,
            content=dumps(payload),
            stream=call.stream,
            # the headers are our constants and the key (options may hold anything)
            lower=not target.provider.options,
        )

    @guard_parse
    def chat_response(self, content: bytes, target: Target) -> ChatCompletion:
        try:
            return completion_validator()(content)
        except ValidationError as exc:
            payload = load_object(content, target)
            try:
                return ChatCompletion.model_validate(_fix_finish_reasons(payload))
            except ValidationError:
                raise invalid_response(target, exc) from exc

    def stream_decoder(self, call: ChatCall, target: Target) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder(target)

    @guard_error
    def error(self, response: Response, content: bytes, target: Target) -> APIStatusError:
        return target_error(response, content, target, self.request_id_header)

    # -- embeddings ------------------------------------------------------------------------

    def embeddings_request(self, call: EmbeddingsCall, target: Target, key: str | None) -> Request:
        payload: dict[str, Any] = {"model": target.model, "input": call.input, **call.params}
        if call.extra_body:
            payload.update(call.extra_body)
        return build_request(
            "POST",
            target.provider.base_url + "/embeddings",
            headers=self._headers(target, key),
            target=target,
            extra_headers=call.extra_headers,
            extra_query=call.extra_query,
            timeout=call.timeout,
            content=dumps(payload),
        )

    @guard_parse
    def embeddings_response(self, content: bytes, target: Target) -> CreateEmbeddingResponse:
        try:
            result = CreateEmbeddingResponse.model_validate_json(content)
        except ValidationError as exc:
            raise invalid_response(target, exc) from exc
        # One vector per input, indexed 0..n-1 (the count itself is checked against the
        # request by aigate._validate.check_embeddings).
        if sorted(item.index for item in result.data) != list(range(len(result.data))):
            raise APIResponseValidationError(
                f"{target.provider.name} sent embeddings whose indices are not 0..n-1",
                provider=target.provider.name,
                model=target.model,
            )
        return result

    # -- audio -----------------------------------------------------------------------------

    def transcription_request(
        self, call: TranscriptionCall, target: Target, key: str | None
    ) -> Request:
        data: dict[str, str | list[str]] = {"model": target.model}
        for name, value in call.params.items():
            if name == "timestamp_granularities":
                if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, str) for v in value
                ):
                    raise InvalidRequestError(
                        f"{name}: expected a list of strings", field=name, expected="list[str]"
                    )
                data["timestamp_granularities[]"] = list(value)
            elif isinstance(value, (dict, list)):
                data[name] = dumps(value).decode()
            elif isinstance(value, (str, int, float, bool)):
                data[name] = str(value)
            else:
                raise InvalidRequestError(
                    f"{name}: expected a string or a number, got {type(value).__name__}",
                    field=name,
                    expected="a string or a number",
                )
        if call.extra_body:
            data.update({k: str(v) for k, v in call.extra_body.items()})
        headers = self._headers(target, key)
        content, headers["content-type"] = multipart(data, {"file": call.file})
        return build_request(
            "POST",
            target.provider.base_url + "/audio/transcriptions",
            headers=headers,
            target=target,
            extra_headers=call.extra_headers,
            extra_query=call.extra_query,
            timeout=call.timeout,
            content=content,
        )

    @guard_parse
    def transcription_response(
        self, response: Response, content: bytes, target: Target
    ) -> Transcription:
        if response.headers.get("content-type", "").startswith("application/json"):
            try:
                return Transcription.model_validate_json(content)
            except ValidationError as exc:
                raise invalid_response(target, exc) from exc
        return Transcription(text=content.decode("utf-8", errors="replace"))


@cache
def completion_validator() -> Callable[[str | bytes], ChatCompletion]:
    """``ChatCompletion``'s JSON validator, bound once: ``model_validate_json``'s wrapper
    costs a third of parsing a short completion."""
    if not ChatCompletion.__pydantic_complete__:
        ChatCompletion.model_rebuild()
    return ChatCompletion.__pydantic_validator__.validate_json


def chunk_validator() -> Callable[[str | bytes], ChatCompletionChunk]:
    """``ChatCompletionChunk``'s JSON validator, bound once: calling it directly skips
    pydantic's per-call wrapper, which costs about a fifth of a chunk's parse time."""
    if not ChatCompletionChunk.__pydantic_complete__:
        ChatCompletionChunk.model_rebuild()
    return ChatCompletionChunk.__pydantic_validator__.validate_json


class OpenAIStreamDecoder:
    """Chunks from ``data:`` events; ``[DONE]`` ends the stream; an ``{"error": ...}`` object
    mid-stream (OpenRouter, vLLM) raises :class:`~aigate.StreamError`."""

    __slots__ = ("_validate", "finished", "target")

    def __init__(self, target: Target) -> None:
        self.target = target
        self.finished = False
        self._validate = chunk_validator()

    def decode(self, event: ServerSentEvent) -> list[ChatCompletionChunk]:
        if event.event == "error":
            raise stream_error(load_object(event.data.encode(), self.target), self.target)
        return self.decode_data(event.data)

    def decode_data(self, data: str | bytes) -> list[ChatCompletionChunk]:
        """Chunks from one event's data."""
        chunk = self.decode_one(data)
        return [] if chunk is None else [chunk]

    def decode_one(self, data: str | bytes) -> ChatCompletionChunk | None:
        """The chunk in one event's data (the raw bytes on the fast path); None for the
        end-of-stream marker."""
        if data[:1] in ("[", b"[") and data[:6] in ("[DONE]", b"[DONE]"):
            self.finished = True
            return None
        try:
            chunk = self._validate(data)
        except ValidationError as exc:
            raw = data.encode() if isinstance(data, str) else data
            payload = load_object(raw, self.target)
            if isinstance(payload.get("error"), Mapping):  # a bare {"error": {...}} event
                raise stream_error(payload, self.target) from None
            try:
                chunk = ChatCompletionChunk.model_validate(_fix_finish_reasons(payload))
            except ValidationError:
                raise invalid_response(self.target, exc) from exc
        extra = chunk.__pydantic_extra__
        if extra:
            if isinstance(extra.get("error"), Mapping):  # OpenRouter: an error in a chunk
                raise stream_error(extra, self.target)
            # Groq's older streams put the usage in the last chunk's `x_groq`
            groq = extra.get("x_groq")
            if (
                chunk.usage is None
                and isinstance(groq, Mapping)
                and isinstance(groq.get("usage"), Mapping)
            ):
                try:
                    chunk.usage = Usage.model_validate(groq["usage"])
                except ValidationError as exc:
                    raise invalid_response(self.target, exc) from exc
        return chunk


_MAX_ID = 40  # OpenAI refuses longer tool call ids ("string too long ... maximum length 40")


def _short_id(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_ID:
        import hashlib

        return "call_" + hashlib.sha256(value.encode()).hexdigest()[:32]
    return value


def _short_ids(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with tool call ids over 40 characters (from another provider's turns,
    e.g. Gemini's signed ids) replaced by a stable hash, the same on a call and its result.
    The list is returned as is when no id is too long (the common case: no copy)."""
    for m in messages:  # a loop, not any(<genexpr>): this runs on every call
        if isinstance(m, dict) and (m.get("tool_calls") or m.get("tool_call_id")):
            break
    else:
        return messages
    if not any(
        (len(m.get("tool_call_id") or "") > _MAX_ID)
        or any(len(c.get("id") or "") > _MAX_ID for c in m.get("tool_calls") or ())
        for m in messages
        if isinstance(m, dict) and (m.get("tool_calls") or m.get("tool_call_id"))
    ):
        return messages
    fixed = []
    for message in messages:
        if message.get("tool_call_id"):
            message = {**message, "tool_call_id": _short_id(message["tool_call_id"])}
        if message.get("tool_calls"):
            message = {
                **message,
                "tool_calls": [
                    {**c, "id": _short_id(c.get("id"))} if isinstance(c, dict) else c
                    for c in message["tool_calls"]
                ],
            }
        fixed.append(message)
    return fixed
