"""The Google Gemini API wire format (``models/{model}:generateContent``), translated both ways.

Requests go out in Gemini's shape, answers come back in OpenAI's. The mapping:

- ``system``/``developer`` messages -> ``systemInstruction``; ``user`` -> role ``user``,
  ``assistant`` -> role ``model``; consecutive turns of one role are merged.
- Parts: text -> ``text``; ``image_url`` data URLs -> ``inlineData``, http(s) URLs ->
  ``fileData`` (MIME type guessed from the URL, ``image/jpeg`` when it says nothing);
  ``input_audio`` -> ``inlineData`` (``audio/<format>``); ``file`` parts with data ->
  ``inlineData``.
- Assistant ``tool_calls`` -> ``functionCall`` parts (arguments parsed into ``args``);
  ``role: tool`` messages -> ``functionResponse`` parts in a user turn, the function name
  found from the ``tool_call_id`` among the conversation's earlier tool calls. A tool
  result that is a JSON object is the ``response``; anything else is ``{"output": ...}``.
- Gemini sends no tool-call ids: aigate makes them (``call_`` + a hash of the response id,
  candidate, position, name and arguments). A Gemini 3 ``thoughtSignature`` on a function
  call rides in the id after ``__thought__`` and goes back on the ``functionCall`` part
  when the conversation is sent again, as Gemini requires.
- ``generationConfig``: ``temperature``, ``top_p`` -> ``topP``, ``max_completion_tokens``/
  ``max_tokens`` -> ``maxOutputTokens``, ``stop`` -> ``stopSequences``, ``n`` ->
  ``candidateCount``, ``seed``, ``presence_penalty``/``frequency_penalty``;
  ``response_format`` json_object -> ``responseMimeType: application/json``, json_schema ->
  also ``responseSchema`` when the schema uses only what Gemini's OpenAPI subset knows, else
  ``responseJsonSchema`` (full JSON Schema); tool ``parameters`` follow the same rule
  (``parameters`` or ``parametersJsonSchema``).
- ``reasoning_effort`` -> ``thinkingConfig`` with ``includeThoughts: true``: Gemini 3 models
  get ``thinkingLevel`` (the effort's name; ``none`` -> ``minimal``, ``xhigh`` -> ``high``),
  others a ``thinkingBudget`` from :data:`THINKING_BUDGETS` (``none`` -> 0).
- ``tools`` -> ``functionDeclarations``; ``tool_choice`` auto/none/required/named ->
  ``toolConfig.functionCallingConfig.mode`` AUTO/NONE/ANY/ANY + ``allowedFunctionNames``.
- ``extra_body`` is merged last, objects one level deep (``safetySettings``,
  ``generationConfig.topK``, ``cachedContent``...). Other OpenAI parameters are dropped.

Responses: each candidate is a choice; text parts -> ``content``, ``thought: true`` parts ->
``reasoning_content`` (never content), ``functionCall`` parts -> ``tool_calls``. Finish
reasons: STOP -> stop (tool_calls when the candidate called a function), MAX_TOKENS ->
length, SAFETY/RECITATION/BLOCKLIST/PROHIBITED_CONTENT/SPII/IMAGE_SAFETY/OTHER (and the
other blocking reasons) -> content_filter; a prompt blocked before any candidate gives one
choice with ``content_filter``. Usage via :func:`~aigate.providers._usage.usage_from_gemini`.
An answer with no candidates that is not such a blocked prompt (another provider's body, say)
raises :class:`~aigate.APIResponseValidationError`, never a success with no choices; so does
an embeddings answer without an ``embeddings`` list.

Streams (``:streamGenerateContent?alt=sse``): every event is a whole GenerateContentResponse
with the new text; there is no ``[DONE]``, so ``finished`` becomes true only once every
candidate has sent a ``finishReason`` (a stream that ends without one was cut).

Embeddings always use ``models/{model}:batchEmbedContents`` (index order kept). Gemini
reports no token usage for embeddings, so the usage is 0 unless the answer carries
``usageMetadata``. ``dimensions`` -> ``outputDimensionality``; ``extra_body`` (``taskType``,
``title``...) is merged into every request of the batch. Only text input and
``encoding_format="float"`` are accepted (the answer is parsed without the call, so it
cannot be re-encoded as base64).

The key travels only in the ``x-goog-api-key`` header, never in the URL (URLs end up in logs
and errors). Google sends no request-id header; ``request_id_header`` is ``x-request-id``
(set by proxies in front of Google, if any) and the completion ``id`` is Gemini's
``responseId``.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import from_json

from .._exceptions import (
    APIStatusError,
    AuthenticationError,
    InvalidRequestError,
)
from .._models import (
    ChatCompletion,
    ChatCompletionChunk,
    CreateEmbeddingResponse,
    Transcription,
)
from .._wire import Request, Response
from ._base import ChatCall, EmbeddingsCall, Target, TranscriptionCall
from ._common import (
    build_request,
    chunk,
    dumps,
    invalid_response,
    load_object,
    merge_extra,
    parse_data_url,
    stream_error,
    wrong_shape,
)
from ._errors import guard_error, guard_parse, target_error
from ._sse import ServerSentEvent
from ._usage import usage_from_gemini

__all__ = ["THINKING_BUDGETS", "GeminiCodec", "GeminiStreamDecoder"]

#: ``reasoning_effort`` -> ``thinkingBudget`` for models before Gemini 3.
THINKING_BUDGETS = {
    "none": 0,
    "minimal": 512,
    "low": 1024,
    "medium": 8192,
    "high": 24576,
    "xhigh": 32768,
}
_THINKING_LEVELS = {"none": "minimal", "xhigh": "high"}
_THOUGHT = "__thought__"

_FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "FINISH_REASON_UNSPECIFIED": "stop",
    "MALFORMED_FUNCTION_CALL": "stop",
    "UNEXPECTED_TOOL_CALL": "stop",
}
# Every other finish reason Gemini documents is a block of some kind.
_BLOCKED = frozenset(
    (
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "NO_IMAGE",
        "LANGUAGE",
        "OTHER",
    )
)
# Keys of Gemini's OpenAPI-subset Schema; a JSON schema using only these is sent as is.
_SCHEMA_KEYS = frozenset(
    (
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    )
)
_VERSION = re.compile(r"/v\d+(?:alpha|beta)?\d*$")


def _finish(reason: str | None, called: bool) -> str | None:
    if reason is None:
        return None
    if reason in _BLOCKED:
        return "content_filter"
    finish = _FINISH_REASONS.get(reason, "stop")
    return "tool_calls" if called and finish == "stop" else finish


def _openapi_subset(schema: Any) -> bool:
    """Whether ``schema`` uses only keys (and single string types) Gemini's Schema has."""
    if isinstance(schema, list):
        return all(_openapi_subset(s) for s in schema)
    if not isinstance(schema, Mapping):
        return True
    for key, value in schema.items():
        if key not in _SCHEMA_KEYS or (key == "type" and not isinstance(value, str)):
            return False
        if key == "properties":
            if not isinstance(value, Mapping) or not all(
                _openapi_subset(v) for v in value.values()
            ):
                return False
        elif key in ("items", "anyOf") and not _openapi_subset(value):
            return False
    return True


def tool_call_id(response_id: str, candidate: int, position: int, call: Mapping[str, Any]) -> str:
    """The id of a Gemini function call: its own ``id`` when Gemini sent one, else ``call_``
    and a hash of where it appeared and what it says (stable across stream and not)."""
    if isinstance(call.get("id"), str) and call["id"]:
        base = str(call["id"])
    else:
        seed = json.dumps(
            [response_id, candidate, position, call.get("name"), call.get("args")],
            sort_keys=True,
            ensure_ascii=False,
        )
        base = "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]
    return base


# -- request translation ------------------------------------------------------------------


def _media_part(url: str, field: str, default_mime: str) -> dict[str, Any]:
    if url.startswith(("http://", "https://")):
        mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or default_mime
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    mime, data = parse_data_url(url, field)
    return {"inlineData": {"mimeType": mime, "data": data}}


def _parts(content: Any, field: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content or ()):
        kind = part.get("type")
        where = f"{field}.{j}"
        if kind in ("text", "refusal"):
            text = part.get("text", part.get("refusal"))
            if text:
                parts.append({"text": text})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            if not isinstance(url, str):
                raise InvalidRequestError(f"{where}.image_url.url: expected a string", field=where)
            parts.append(_media_part(url, f"{where}.image_url.url", "image/jpeg"))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            mime = f"audio/{audio.get('format', 'wav')}"
            parts.append({"inlineData": {"mimeType": mime, "data": audio.get("data", "")}})
        elif kind == "file":
            file = part.get("file") or {}
            data_url = file.get("file_data") if isinstance(file, Mapping) else None
            if not isinstance(data_url, str):
                raise InvalidRequestError(
                    f"{where}: Gemini needs the file's data (file.file_data), not a file id",
                    field=where,
                )
            parts.append(_media_part(data_url, f"{where}.file.file_data", "application/pdf"))
        else:
            raise InvalidRequestError(
                f"{where}: content parts of type {kind!r} are not supported by Gemini",
                field=where,
            )
    return parts


def _function_call_part(call: Mapping[str, Any], field: str) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, Mapping):
        args: Any = dict(arguments)
    elif not arguments:
        args = {}
    else:
        try:
            args = json.loads(arguments)
        except (TypeError, ValueError):
            raise InvalidRequestError(
                f"{field}: tool call arguments must be a JSON object string", field=field
            ) from None
    part: dict[str, Any] = {"functionCall": {"name": function.get("name"), "args": args}}
    _, sep, signature = str(call.get("id") or "").partition(_THOUGHT)
    if sep and signature:
        part["thoughtSignature"] = signature
    return part


def _function_response(message: Mapping[str, Any], names: Mapping[str, Any], field: str) -> Any:
    call_id = message["tool_call_id"]
    name = names.get(call_id)
    if not isinstance(name, str):
        raise InvalidRequestError(
            f"{field}.tool_call_id: {call_id!r} matches no tool call of an earlier assistant "
            "message; Gemini needs the function's name",
            field=f"{field}.tool_call_id",
        )
    content = message.get("content")
    text = (
        content
        if isinstance(content, str)
        else "".join(str(p.get("text", "")) for p in content or () if isinstance(p, Mapping))
    )
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = text
    response = value if isinstance(value, dict) else {"output": value}
    return {"functionResponse": {"name": name, "response": response}}


def translate_messages(
    messages: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OpenAI messages -> ``(systemInstruction parts, contents)``."""
    names = {
        str(call.get("id")): (call.get("function") or {}).get("name")
        for message in messages
        if message.get("role") == "assistant"
        for call in message.get("tool_calls") or ()
        if isinstance(call, Mapping)
    }
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        role = message["role"]
        field = f"messages.{i}"
        if role in ("system", "developer"):
            system.extend(_parts(message.get("content"), f"{field}.content"))
            continue
        if role == "user":
            parts = _parts(message.get("content"), f"{field}.content")
        elif role == "assistant":
            role = "model"
            parts = _parts(message.get("content"), f"{field}.content")
            parts.extend(
                _function_call_part(call, f"{field}.tool_calls.{j}")
                for j, call in enumerate(message.get("tool_calls") or ())
            )
        elif role == "tool":
            role, parts = "user", [_function_response(message, names, field)]
        else:
            raise InvalidRequestError(
                f"{field}.role: {role!r} messages are not supported by Gemini; "
                "use tool_calls and role 'tool'",
                field=f"{field}.role",
            )
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _declaration(tool: Mapping[str, Any], field: str) -> dict[str, Any]:
    function = tool.get("function") if tool.get("type", "function") == "function" else None
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise InvalidRequestError(
            f"{field}: only function tools can be sent to Gemini", field=field
        )
    out: dict[str, Any] = {"name": function["name"]}
    if function.get("description"):
        out["description"] = function["description"]
    parameters = function.get("parameters")
    if parameters:
        key = "parameters" if _openapi_subset(parameters) else "parametersJsonSchema"
        out[key] = parameters
    return out


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
    if isinstance(choice, str) and choice in modes:
        return {"functionCallingConfig": {"mode": modes[choice]}}
    function = choice.get("function") if isinstance(choice, Mapping) else None
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return {
            "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [function["name"]]}
        }
    raise InvalidRequestError(
        "tool_choice: expected 'auto', 'none', 'required' or {type: 'function', function: {name}}",
        field="tool_choice",
    )


def _thinking(effort: Any, model: str) -> dict[str, Any]:
    effort = str(effort)
    if effort not in THINKING_BUDGETS:
        raise InvalidRequestError(
            f"reasoning_effort: expected one of {sorted(THINKING_BUDGETS)}",
            field="reasoning_effort",
        )
    if model.removeprefix("models/").startswith("gemini-3"):
        return {"thinkingLevel": _THINKING_LEVELS.get(effort, effort), "includeThoughts": True}
    budget = THINKING_BUDGETS[effort]
    return {"thinkingBudget": budget, "includeThoughts": budget > 0}


def build_payload(call: ChatCall, target: Target) -> dict[str, Any]:
    """The generateContent body for ``call`` (see the module docstring for the mapping)."""
    params = call.params
    system, contents = translate_messages(call.messages)
    payload: dict[str, Any] = {"contents": contents}
    if system:
        payload["systemInstruction"] = {"parts": system}
    config: dict[str, Any] = {}
    for name, key in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("seed", "seed"),
        ("n", "candidateCount"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        if params.get(name) is not None:
            config[key] = params[name]
    max_tokens = params.get("max_completion_tokens") or params.get("max_tokens")
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    if (stop := params.get("stop")) is not None:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    response_format = params.get("response_format")
    if isinstance(response_format, Mapping):
        kind = response_format.get("type")
        if kind in ("json_object", "json_schema"):
            config["responseMimeType"] = "application/json"
        schema = (response_format.get("json_schema") or {}).get("schema")
        if kind == "json_schema" and schema:
            config["responseSchema" if _openapi_subset(schema) else "responseJsonSchema"] = schema
    if params.get("reasoning_effort"):
        config["thinkingConfig"] = _thinking(params["reasoning_effort"], target.model)
    if config:
        payload["generationConfig"] = config
    tools = params.get("tools")
    if tools:
        payload["tools"] = [
            {"functionDeclarations": [_declaration(t, f"tools.{i}") for i, t in enumerate(tools)]}
        ]
        tool_config = _tool_config(params.get("tool_choice"))
        if tool_config:
            payload["toolConfig"] = tool_config
    merge_extra(payload, call.extra_body)
    return payload


# -- response translation -----------------------------------------------------------------


def _candidate_delta(
    candidate: Mapping[str, Any], response_id: str, index: int, first_call: int
) -> tuple[dict[str, Any], int]:
    """A candidate's parts -> ``({content, reasoning_content, tool_calls}, calls made)``."""
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        if not isinstance(part, Mapping):
            continue
        if "text" in part:
            (thoughts if part.get("thought") else texts).append(str(part["text"]))
        elif isinstance(part.get("functionCall"), Mapping):
            function = part["functionCall"]
            position = first_call + len(calls)
            call_id = tool_call_id(response_id, index, position, function)
            if part.get("thoughtSignature"):
                call_id += _THOUGHT + str(part["thoughtSignature"])
            calls.append(
                {
                    "index": position,
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": function.get("name"),
                        "arguments": json.dumps(function.get("args") or {}, ensure_ascii=False),
                    },
                }
            )
    delta: dict[str, Any] = {}
    if texts:
        delta["content"] = "".join(texts)
    if thoughts:
        delta["reasoning_content"] = "".join(thoughts)
    if calls:
        delta["tool_calls"] = calls
    return delta, len(calls)


def _blocked(payload: Mapping[str, Any]) -> bool:
    feedback = payload.get("promptFeedback")
    return isinstance(feedback, Mapping) and bool(feedback.get("blockReason"))


def _candidates(payload: Mapping[str, Any], target: Target) -> list[Any]:
    """A GenerateContentResponse's candidates: a non-empty list, or none at all only when
    ``promptFeedback.blockReason`` says the prompt was blocked. Anything else (an
    OpenAI-shaped answer, an object with no candidates) is `APIResponseValidationError`,
    never an answer with no choices priced $0."""
    candidates = payload.get("candidates")
    if isinstance(candidates, list) and (candidates or _blocked(payload)):
        return candidates
    if candidates is None and _blocked(payload):
        return []
    what = "a GenerateContentResponse"
    if candidates is not None and not isinstance(candidates, list):
        raise wrong_shape(target, what, f"'candidates' is a {type(candidates).__name__}")
    problem = "no 'candidates' list" if candidates is None else "an empty 'candidates' list"
    problem += " and no promptFeedback.blockReason"
    raise wrong_shape(target, what, problem, payload, own="candidates")


def _embeddings(payload: Mapping[str, Any], target: Target) -> list[Any]:
    """A batchEmbedContents answer's ``embeddings`` list (an embedContent answer's single
    ``embedding`` object counts as a list of one)."""
    embeddings = payload.get("embeddings")
    if isinstance(embeddings, list):
        return embeddings
    if embeddings is None and isinstance(payload.get("embedding"), Mapping):
        return [payload["embedding"]]
    what = "a batchEmbedContents response"
    if embeddings is not None:
        raise wrong_shape(target, what, f"'embeddings' is a {type(embeddings).__name__}")
    raise wrong_shape(target, what, "no 'embeddings' list", payload, own="embeddings")


class GeminiCodec:
    """Codec for the Gemini API (Google AI Studio keys).

    Options (``ProviderConfig.options``): ``api_version`` replaces the version at the end of
    ``base_url`` (``"v1"`` for ``.../v1beta``), or is appended when the URL has none.
    """

    request_id_header = "x-request-id"

    def __init__(self, kind: str = "gemini") -> None:
        self.kind = kind

    def _url(self, target: Target, method: str) -> str:
        base = target.provider.base_url
        version = target.provider.options.get("api_version")
        if version:
            base = _VERSION.sub("", base) + "/" + str(version).strip("/")
        model = target.model.removeprefix("models/")
        return f"{base}/models/{model}:{method}"

    def _headers(self, key: str | None, stream: bool = False) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        if key:
            headers["x-goog-api-key"] = key
        return headers

    # -- chat ------------------------------------------------------------------------------

    def chat_request(self, call: ChatCall, target: Target, key: str | None) -> Request:
        method = "streamGenerateContent?alt=sse" if call.stream else "generateContent"
        return build_request(
            "POST",
            self._url(target, method),
            headers=self._headers(key, call.stream),
            target=target,
            extra_headers=call.extra_headers,
            extra_query=call.extra_query,
            timeout=call.timeout,
            content=dumps(build_payload(call, target)),
            stream=call.stream,
        )

    @guard_parse
    def chat_response(self, content: bytes, target: Target) -> ChatCompletion:
        payload = load_object(content, target)
        response_id = str(payload.get("responseId") or f"gemini-{uuid.uuid4().hex}")
        choices = []
        for position, candidate in enumerate(_candidates(payload, target)):
            index = int(candidate.get("index", position))
            delta, calls = _candidate_delta(candidate, response_id, index, 0)
            message: dict[str, Any] = {"role": "assistant", "content": delta.get("content")}
            if "content" not in delta and not calls:
                message["content"] = ""
            if calls:
                message["tool_calls"] = [
                    {k: v for k, v in c.items() if k != "index"} for c in delta["tool_calls"]
                ]
            if "reasoning_content" in delta:
                message["reasoning_content"] = delta["reasoning_content"]
            reason = _finish(candidate.get("finishReason"), calls > 0)
            choices.append({"index": index, "message": message, "finish_reason": reason})
        if not choices and _blocked(payload):
            message = {"role": "assistant", "content": None}
            choices.append({"index": 0, "message": message, "finish_reason": "content_filter"})
        usage = payload.get("usageMetadata")
        try:
            return ChatCompletion.model_validate(
                {
                    "id": response_id,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": payload.get("modelVersion") or target.model,
                    "choices": choices,
                    "usage": usage_from_gemini(usage) if isinstance(usage, Mapping) else None,
                }
            )
        except ValidationError as exc:
            raise invalid_response(target, exc) from exc

    def stream_decoder(self, call: ChatCall, target: Target) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(target)

    @guard_error
    def error(self, response: Response, content: bytes, target: Target) -> APIStatusError:
        err = target_error(response, content, target, self.request_id_header)
        details = err.body.get("details") if isinstance(err.body, Mapping) else None
        reasons = {
            d.get("reason") for d in details or () if isinstance(d, Mapping) and d.get("reason")
        }
        if err.status_code == 400 and reasons & {"API_KEY_INVALID", "API_KEY_EXPIRED"}:
            # Google answers a bad key with 400 INVALID_ARGUMENT: it is the key, not the request
            err = AuthenticationError(
                err.message,
                response=err.response,
                status_code=err.status_code,
                rate_limit=err.rate_limit,
                request_id=err.request_id,
                body=err.body,
                provider=err.provider,
                model=err.model,
                code=err.code,
                type=err.type,
            )
        return err

    # -- embeddings ------------------------------------------------------------------------

    def embeddings_request(self, call: EmbeddingsCall, target: Target, key: str | None) -> Request:
        texts = [call.input] if isinstance(call.input, str) else call.input
        if not all(isinstance(t, str) for t in texts):
            raise InvalidRequestError(
                "input: Gemini embeds text only, not token arrays", field="input", expected="str"
            )
        if call.params.get("encoding_format", "float") != "float":
            # the answer is parsed without the call, so it cannot be re-encoded as asked
            raise InvalidRequestError(
                "encoding_format: Gemini returns floats; omit encoding_format or use 'float'",
                field="encoding_format",
                expected="float",
            )
        model = "models/" + target.model.removeprefix("models/")
        requests = []
        for text in texts:
            item: dict[str, Any] = {"model": model, "content": {"parts": [{"text": text}]}}
            if call.params.get("dimensions"):
                item["outputDimensionality"] = call.params["dimensions"]
            merge_extra(item, call.extra_body)
            requests.append(item)
        return build_request(
            "POST",
            self._url(target, "batchEmbedContents"),
            headers=self._headers(key),
            target=target,
            extra_headers=call.extra_headers,
            extra_query=call.extra_query,
            timeout=call.timeout,
            content=dumps({"requests": requests}),
        )

    @guard_parse
    def embeddings_response(self, content: bytes, target: Target) -> CreateEmbeddingResponse:
        payload = load_object(content, target)
        data = []
        for i, embedding in enumerate(_embeddings(payload, target)):
            values = embedding.get("values") if isinstance(embedding, Mapping) else None
            data.append({"object": "embedding", "index": i, "embedding": values})
        usage = payload.get("usageMetadata") or {}
        tokens = int(usage.get("promptTokenCount") or 0) if isinstance(usage, Mapping) else 0
        try:
            return CreateEmbeddingResponse.model_validate(
                {
                    "object": "list",
                    "model": target.model,
                    "data": data,
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                }
            )
        except ValidationError as exc:
            raise invalid_response(target, exc) from exc

    # -- audio -----------------------------------------------------------------------------

    def _no_transcription(self, target: Target) -> InvalidRequestError:
        return InvalidRequestError(
            f"model: {target.name} is a Gemini model; aigate has no Gemini transcription "
            "translation (send audio as an input_audio chat part instead)",
            field="model",
        )

    def transcription_request(
        self, call: TranscriptionCall, target: Target, key: str | None
    ) -> Request:
        raise self._no_transcription(target)

    def transcription_response(
        self, response: Response, content: bytes, target: Target
    ) -> Transcription:
        raise self._no_transcription(target)


class GeminiStreamDecoder:
    """Gemini stream events (each a whole GenerateContentResponse) -> OpenAI chunks."""

    __slots__ = ("_calls", "_created", "_finished", "_id", "_model", "_seen", "finished", "target")

    def __init__(self, target: Target) -> None:
        self.target = target
        self.finished = False
        self._id = ""
        self._model = target.model
        self._created = int(time.time())
        self._seen: set[int] = set()  # candidates that have had their role chunk
        self._finished: set[int] = set()
        self._calls: dict[int, int] = {}  # candidate -> tool calls so far

    @guard_parse
    def decode(self, event: ServerSentEvent) -> list[ChatCompletionChunk]:
        try:
            payload = from_json(event.data)  # pydantic-core's parser: ~4x json.loads per event
        except ValueError:
            payload = load_object(event.data.encode(), self.target)  # raises, naming the provider
        if not isinstance(payload, dict):
            return []
        if "error" in payload or event.event == "error":
            raise stream_error(payload, self.target)
        if not self._id:
            self._id = str(payload.get("responseId") or f"gemini-{uuid.uuid4().hex}")
            self._model = payload.get("modelVersion") or self._model
        choices = []
        for position, candidate in enumerate(payload.get("candidates") or ()):
            index = int(candidate.get("index", position))
            made = self._calls.get(index, 0)
            delta, calls = _candidate_delta(candidate, self._id, index, made)
            if calls:
                self._calls[index] = made + calls
            if index not in self._seen:
                self._seen.add(index)
                delta["role"] = "assistant"
            raw = candidate.get("finishReason")
            finish = _finish(raw, self._calls.get(index, 0) > 0)
            if finish is not None:
                self._finished.add(index)
            if delta or finish:
                choices.append({"index": index, "delta": delta, "finish_reason": finish})
        if not choices and _blocked(payload):
            self._finished.add(0)
            choices.append(
                {"index": 0, "delta": {"role": "assistant"}, "finish_reason": "content_filter"}
            )
        chunks = []
        if choices:
            chunks.append(chunk(self._id, self._created, self._model, choices))
        if self._finished and self._finished >= self._seen:
            self.finished = True
            usage = payload.get("usageMetadata")
            if isinstance(usage, Mapping):
                usage_chunk = chunk(
                    self._id, self._created, self._model, [], usage_from_gemini(usage)
                )
                chunks.append(usage_chunk)
        return chunks
