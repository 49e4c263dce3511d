"""The Anthropic Messages wire format (``POST {base_url}/messages``), translated both ways.

Requests go out in Anthropic's shape and answers come back in OpenAI's, so a caller cannot
tell from a :class:`~aigate.ChatCompletion` (or its chunks) that Claude answered. The
mapping, in short:

- ``system``/``developer`` messages (wherever they are) -> the top-level ``system``;
  consecutive turns of one role are merged (Anthropic wants user/assistant alternation);
  ``role: tool`` messages -> ``tool_result`` blocks in one user turn; assistant
  ``tool_calls`` -> ``tool_use`` blocks (arguments parsed into ``input``).
- ``image_url`` parts -> ``image`` blocks (data URLs as ``base64``, http(s) URLs as ``url``
  sources); ``file`` parts with PDF data -> ``document`` blocks; ``cache_control`` on a part
  is kept, so prompt caching works through the OpenAI shape.
- ``max_tokens`` (required by Anthropic) is ``max_completion_tokens`` / ``max_tokens``, else
  the ``max_tokens_default`` option, else the catalog's max output for the model, else 4096.
- ``stop`` -> ``stop_sequences`` (whitespace-only sequences such as ``"\\n"`` dropped:
  Anthropic refuses them); ``temperature`` (clamped to Anthropic's 0..1) and ``top_p`` (both
  left out when thinking is on: Anthropic then refuses other values; given both, Claude
  Opus 4.1, 4.5 and later models get ``temperature`` only, as they accept one of the two);
  ``user`` -> ``metadata.user_id``; ``n`` > 1 is refused (Anthropic has no ``n``);
  other OpenAI-only sampling parameters (penalties, seed, logprobs...) are dropped, and
  ``extra_body`` reaches Anthropic as is (``top_k``, ``thinking``, ``service_tier``...).
- ``tools`` -> ``{name, description, input_schema, strict}``; ``tool_choice`` auto/none/required/
  named -> auto/none/any/tool; ``parallel_tool_calls=False`` -> ``disable_parallel_tool_use``.
- ``response_format``: ``json_schema`` (and ``json_object``, as ``{"type": "object"}``) by
  default through a forced tool named :data:`JSON_TOOL`, whose ``input`` comes back as the
  message ``content`` (``finish_reason`` "stop"; any text the model wrote before it is
  dropped so the content parses). With the option ``structured_output = "native"``, or when
  thinking is on (Anthropic refuses a forced tool with thinking), a ``json_schema`` goes in
  ``output_config.format`` instead; a ``json_object`` with thinking offers the JSON tool
  without forcing it. Tool call ids Anthropic would refuse (another provider's) are
  replaced by a stable hash on both the ``tool_use`` and its ``tool_result``.
- ``reasoning_effort`` -> ``thinking: {"type": "enabled", "budget_tokens": N}`` with N from
  :data:`THINKING_BUDGETS` (capped below ``max_tokens``, which includes thinking, as
  OpenAI's ``max_completion_tokens`` includes reasoning); ``"none"`` sends nothing. A
  ``thinking`` object in ``extra_body`` wins.

Responses: text blocks joined into ``content``; ``tool_use`` -> ``tool_calls`` (arguments as
a JSON string); ``thinking`` -> ``message.reasoning_content``, and every thinking block with
its ``signature`` (and ``redacted_thinking`` blocks) in ``message.thinking_blocks`` (an
extra field, LiteLLM's name). An assistant message sent back with ``thinking_blocks``
replays them, as Anthropic requires in tool loops with thinking. ``stop_reason``:
end_turn/stop_sequence/pause_turn -> stop, max_tokens/model_context_window_exceeded ->
length, tool_use -> tool_calls, refusal -> content_filter. Usage via
:func:`~aigate.providers._usage.usage_from_anthropic`. A body that is not a Messages response
(no ``content`` list, or a ``type`` other than ``"message"``: another provider's answer, an
error sent with status 200) raises :class:`~aigate.APIResponseValidationError`, never an empty
success; an empty ``content`` list is a valid (empty) answer.

Streams become OpenAI chunks: a role chunk, content / reasoning / tool-call deltas (id and
name first, then argument fragments), a ``finish_reason`` chunk, a usage chunk with
``choices: []``; a finished thinking block also yields a chunk whose delta carries
``thinking_blocks``. ``ping`` and unknown events are skipped; an ``error`` event raises
:class:`~aigate.StreamError`.

Anthropic has no embeddings or transcription API: those calls raise
:class:`~aigate.InvalidRequestError` before anything is sent.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import from_json

from .._exceptions import APIStatusError, InvalidRequestError
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
from ._usage import usage_from_anthropic
from .native import messages_headers

__all__ = [
    "JSON_TOOL",
    "THINKING_BUDGETS",
    "AnthropicCodec",
    "AnthropicStreamDecoder",
]

#: Name of the forced tool that carries a ``response_format`` JSON answer.
JSON_TOOL = "aigate_json_response"
#: ``reasoning_effort`` -> thinking budget in tokens (1024 is Anthropic's minimum).
THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768}
FALLBACK_MAX_TOKENS = 4096

_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# A 400/429 that says the organisation cannot pay: another key or provider may still work.
_KEY_PROBLEMS = ("credit balance is too low", "specified api usage limits")
_TOOL_ID = re.compile(r"[A-Za-z0-9_-]+")  # what Anthropic accepts as a tool_use id


# -- request translation ------------------------------------------------------------------


def _image_block(part: Mapping[str, Any], field: str) -> dict[str, Any]:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str):
        raise InvalidRequestError(f"{field}.image_url.url: expected a string", field=field)
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    mime, data = parse_data_url(url, f"{field}.image_url.url")
    return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}


def _blocks(content: Any, field: str) -> list[dict[str, Any]]:
    """OpenAI content (string or parts) -> Anthropic content blocks."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content or ()):
        kind = part.get("type")
        where = f"{field}.{j}"
        if kind == "text" or kind == "refusal":
            text = part.get("text", part.get("refusal", ""))
            if not text:
                continue
            block: dict[str, Any] = {"type": "text", "text": text}
        elif kind == "image_url":
            block = _image_block(part, where)
        elif kind == "file":
            file = part.get("file") or {}
            data_url = file.get("file_data") if isinstance(file, Mapping) else None
            if not isinstance(data_url, str):
                raise InvalidRequestError(
                    f"{where}: Anthropic needs the file's data (file.file_data), not a file id",
                    field=where,
                )
            mime, data = parse_data_url(data_url, f"{where}.file.file_data")
            block = {
                "type": "document",
                "source": {"type": "base64", "media_type": mime, "data": data},
            }
        else:
            raise InvalidRequestError(
                f"{where}: content parts of type {kind!r} are not supported by Anthropic",
                field=where,
                expected="text, image_url or file parts",
            )
        if "cache_control" in part:
            block["cache_control"] = part["cache_control"]
        blocks.append(block)
    return blocks


def _tool_id(value: Any) -> str:
    """A tool call id Anthropic accepts: ids from other providers (a Gemini id carrying a
    thought signature has ``+/=``) are replaced by a stable hash, the same on both the
    ``tool_use`` and its ``tool_result``."""
    text = str(value)
    if _TOOL_ID.fullmatch(text):
        return text
    return "toolu_" + hashlib.sha256(text.encode()).hexdigest()[:24]


def _tool_input(arguments: Any, field: str) -> Any:
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if arguments is None or arguments == "":
        return {}
    try:
        return json.loads(arguments)
    except (TypeError, ValueError):
        raise InvalidRequestError(
            f"{field}: tool call arguments must be a JSON object string",
            field=field,
            expected="a JSON object string",
        ) from None


def _assistant_blocks(message: Mapping[str, Any], field: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for thought in message.get("thinking_blocks") or ():
        if isinstance(thought, Mapping) and thought.get("type") in (
            "thinking",
            "redacted_thinking",
        ):
            blocks.append(dict(thought))
    blocks.extend(_blocks(message.get("content"), f"{field}.content"))
    for j, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": _tool_id(call.get("id") or f"toolu_aigate_{j}"),
                "name": function.get("name"),
                "input": _tool_input(function.get("arguments"), f"{field}.tool_calls.{j}"),
            }
        )
    return blocks


def _tool_result(message: Mapping[str, Any], field: str) -> dict[str, Any]:
    content = message.get("content")
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": _tool_id(message["tool_call_id"]),
    }
    if isinstance(content, str):
        if content:
            block["content"] = content
    elif content:
        block["content"] = _blocks(content, f"{field}.content")
    return block


def translate_messages(
    messages: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OpenAI messages -> ``(system blocks, Anthropic messages)``."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        role = message["role"]
        field = f"messages.{i}"
        if role in ("system", "developer"):
            system.extend(_blocks(message.get("content"), f"{field}.content"))
            continue
        if role == "user":
            content: Any = message.get("content")
            if not isinstance(content, str):
                content = _blocks(content, f"{field}.content")
        elif role == "assistant":
            content = _assistant_blocks(message, field)
            if not content:
                continue  # an empty assistant turn says nothing; Anthropic refuses it
        elif role == "tool":
            role, content = "user", [_tool_result(message, field)]
        else:
            raise InvalidRequestError(
                f"{field}.role: {role!r} messages are not supported by Anthropic; "
                "use tool_calls and role 'tool'",
                field=f"{field}.role",
            )
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]
            if isinstance(previous["content"], str):
                previous["content"] = _blocks(previous["content"], field)
            if isinstance(content, str):
                content = _blocks(content, field)
            previous["content"].extend(content)
        else:
            turns.append({"role": role, "content": content})
    return system, turns


def _tool(tool: Mapping[str, Any], field: str) -> dict[str, Any]:
    function = tool.get("function") if tool.get("type", "function") == "function" else None
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise InvalidRequestError(
            f"{field}: only function tools can be sent to Anthropic", field=field
        )
    out: dict[str, Any] = {
        "name": function["name"],
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    if isinstance(function.get("strict"), bool):
        out["strict"] = function["strict"]  # Anthropic's strict tool use (structured outputs)
    return out


_GENERATION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?\b")


def one_sampler(model: str) -> bool:
    """Whether ``model`` takes only one of ``temperature`` and ``top_p`` (Claude Opus 4.1,
    the 4.5 models and every later one answer 400 "cannot both be specified")."""
    found = _GENERATION.search(model)
    if found is None:
        return False
    major, minor = int(found.group(1)), int(found.group(2) or 0)
    return (major, minor) >= (4, 1)


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice in ("auto", None):
        return {"type": "auto"} if choice else None
    if choice == "none":
        return {"type": "none"}
    if choice == "required":
        return {"type": "any"}
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            return {"type": "tool", "name": function["name"]}
    raise InvalidRequestError(
        "tool_choice: expected 'auto', 'none', 'required' or {type: 'function', function: {name}}",
        field="tool_choice",
    )


_MESSAGES = "a Messages response"


def _message_object(content: bytes, target: Target) -> dict[str, Any]:
    """The body as a Messages response: an object whose ``content`` is a list of blocks
    (possibly empty: Claude may have nothing to add) and whose ``type``, when sent, is
    ``"message"``. Anything else (an OpenAI-shaped answer from a misconfigured base URL, an
    error body with status 200) is `APIResponseValidationError`, never an empty success."""
    payload = load_object(content, target)
    kind = payload.get("type", "message")
    if kind != "message":
        problem = f"type {kind!r}, not 'message'"
        error = payload.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            problem += f" ({error['message']})"
        raise wrong_shape(target, _MESSAGES, problem)
    if not isinstance(payload.get("content"), list):
        raise wrong_shape(target, _MESSAGES, "no 'content' list", payload, own="content")
    return payload


# -- the codec ----------------------------------------------------------------------------


class AnthropicCodec:
    """Codec for Anthropic's Messages API.

    Options (``ProviderConfig.options``):

    - ``anthropic_version``: the ``anthropic-version`` header (default ``"2023-06-01"``).
    - ``auth``: ``"x-api-key"`` (default) or ``"bearer"`` (``Authorization: Bearer``, for
      gateways and deployments that expect it).
    - ``beta``: a string or list of strings sent as ``anthropic-beta``.
    - ``max_tokens_default``: ``max_tokens`` when the call gives none (before the catalog).
    - ``structured_output``: ``"tool"`` (default: a forced tool, every model) or
      ``"native"`` (``output_config.format``, newer models) for ``json_schema``.
    """

    request_id_header = "request-id"

    def __init__(self, kind: str = "anthropic") -> None:
        self.kind = kind
        self._catalog_max: dict[str, int | None] = {}

    # -- chat ------------------------------------------------------------------------------

    _headers = staticmethod(messages_headers)

    def _max_tokens(self, params: Mapping[str, Any], target: Target) -> int:
        value = params.get("max_completion_tokens") or params.get("max_tokens")
        if value:
            return int(value)
        configured = target.provider.options.get("max_tokens_default")
        if configured:
            return int(configured)
        model = target.model
        if model not in self._catalog_max:
            from ..pricing import Catalog

            info = Catalog.default().get("anthropic", model)
            self._catalog_max[model] = info.max_output_tokens if info is not None else None
        return self._catalog_max[model] or FALLBACK_MAX_TOKENS

    def build_payload(self, call: ChatCall, target: Target) -> dict[str, Any]:
        """The Messages API body for ``call`` (see the module docstring for the mapping)."""
        params = call.params
        system, messages = translate_messages(call.messages)
        payload: dict[str, Any] = {
            "model": target.model,
            "max_tokens": self._max_tokens(params, target),
            "messages": messages,
        }
        if system:
            if len(system) == 1 and set(system[0]) == {"type", "text"}:
                payload["system"] = system[0]["text"]
            else:
                payload["system"] = system
        if (n := params.get("n")) is not None and n > 1:
            raise InvalidRequestError(
                "n: Anthropic returns one choice per call; n > 1 is not supported",
                field="n",
                expected="1",
            )
        if (stop := params.get("stop")) is not None:
            # Anthropic refuses the whole request over one whitespace-only sequence ("each
            # stop sequence must contain non-whitespace"); OpenAI accepts "\n": drop those.
            kept = [s for s in ([stop] if isinstance(stop, str) else stop) if str(s).strip()]
            if kept:
                payload["stop_sequences"] = kept
        if params.get("user"):
            payload["metadata"] = {"user_id": params["user"]}

        tools = [_tool(t, f"tools.{i}") for i, t in enumerate(params.get("tools") or ())]
        choice = _tool_choice(params.get("tool_choice")) if tools else None
        if params.get("parallel_tool_calls") is False and tools:
            choice = choice or {"type": "auto"}
            if choice["type"] != "none":
                choice["disable_parallel_tool_use"] = True

        extra = call.extra_body or {}
        thinking = extra.get("thinking")
        effort = params.get("reasoning_effort")
        if thinking is None and effort and effort != "none":
            budget = THINKING_BUDGETS.get(str(effort))
            if budget is None:
                raise InvalidRequestError(
                    f"reasoning_effort: expected one of {sorted(THINKING_BUDGETS)} or 'none'",
                    field="reasoning_effort",
                )
            budget = min(budget, payload["max_tokens"] - 1)
            if budget < 1024:
                raise InvalidRequestError(
                    "reasoning_effort: Anthropic needs at least 1024 thinking tokens inside "
                    "max_completion_tokens; raise max_completion_tokens above 1024",
                    field="reasoning_effort",
                )
            thinking = payload["thinking"] = {"type": "enabled", "budget_tokens": budget}
        thinking_on = isinstance(thinking, Mapping) and thinking.get("type") != "disabled"
        if not thinking_on:  # with thinking, Anthropic takes only its default sampling
            if (temperature := params.get("temperature")) is not None:
                payload["temperature"] = min(float(temperature), 1.0)
            if params.get("top_p") is not None and not (
                "temperature" in payload and one_sampler(target.model)
            ):
                payload["top_p"] = params["top_p"]

        response_format = params.get("response_format")
        kind = response_format.get("type") if isinstance(response_format, Mapping) else None
        if isinstance(response_format, Mapping) and kind in ("json_schema", "json_object"):
            spec = response_format.get("json_schema") or {}
            schema = spec.get("schema") or {"type": "object"}
            native = target.provider.options.get("structured_output") == "native" or thinking_on
            if kind == "json_schema" and native:
                payload["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
            else:
                tools.append(
                    {
                        "name": JSON_TOOL,
                        "description": spec.get("description")
                        or f"Give the answer as JSON ({spec.get('name', 'response')}).",
                        "input_schema": schema,
                    }
                )
                if thinking_on:
                    pass  # a forced tool is refused with thinking: the model picks it itself
                elif len(tools) == 1:
                    choice = {"type": "tool", "name": JSON_TOOL}
                elif choice is None or choice["type"] == "auto":
                    choice = {**(choice or {}), "type": "any"}
        if tools:
            payload["tools"] = tools
            if choice is not None:
                payload["tool_choice"] = choice
        if call.stream:
            payload["stream"] = True
        merge_extra(payload, extra)
        return payload

    def chat_request(self, call: ChatCall, target: Target, key: str | None) -> Request:
        return build_request(
            "POST",
            target.provider.base_url + "/messages",
            headers=self._headers(target, key, call.stream),
            target=target,
            extra_headers=call.extra_headers,
            extra_query=call.extra_query,
            timeout=call.timeout,
            content=dumps(self.build_payload(call, target)),
            stream=call.stream,
        )

    @guard_parse
    def chat_response(self, content: bytes, target: Target) -> ChatCompletion:
        payload = _message_object(content, target)
        message: dict[str, Any] = {"role": "assistant", "content": None}
        texts: list[str] = []
        reasoning: list[str] = []
        thoughts: list[dict[str, Any]] = []
        tool_calls: list[dict[str, Any]] = []
        json_answer: str | None = None
        for block in payload["content"]:
            kind = block.get("type") if isinstance(block, Mapping) else None
            if kind == "text":
                texts.append(str(block.get("text", "")))
            elif kind == "tool_use":
                arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
                if block.get("name") == JSON_TOOL:
                    json_answer = arguments
                else:
                    tool_calls.append(
                        {
                            "id": block.get("id"),
                            "type": "function",
                            "function": {"name": block.get("name"), "arguments": arguments},
                        }
                    )
            elif kind == "thinking":
                reasoning.append(str(block.get("thinking", "")))
                thoughts.append(
                    {
                        "type": "thinking",
                        "thinking": block.get("thinking", ""),
                        "signature": block.get("signature"),
                    }
                )
            elif kind == "redacted_thinking":
                thoughts.append({"type": "redacted_thinking", "data": block.get("data")})
        reason = _STOP_REASONS.get(str(payload.get("stop_reason")), "stop")
        if json_answer is not None:
            message["content"] = json_answer
            if reason == "tool_calls" and not tool_calls:
                reason = "stop"
        elif texts or not tool_calls:
            message["content"] = "".join(texts)
        if tool_calls:
            message["tool_calls"] = tool_calls
        if reasoning:
            message["reasoning_content"] = "".join(reasoning)
        if thoughts:
            message["thinking_blocks"] = thoughts
        usage = payload.get("usage")
        try:
            return ChatCompletion.model_validate(
                {
                    "id": payload.get("id") or "msg_aigate",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": payload.get("model") or target.model,
                    "choices": [{"index": 0, "message": message, "finish_reason": reason}],
                    "usage": usage_from_anthropic(usage) if isinstance(usage, Mapping) else None,
                }
            )
        except ValidationError as exc:
            raise invalid_response(target, exc) from exc

    def stream_decoder(self, call: ChatCall, target: Target) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(target)

    @guard_error
    def error(self, response: Response, content: bytes, target: Target) -> APIStatusError:
        err = target_error(response, content, target, self.request_id_header)
        body = err.body if isinstance(err.body, Mapping) else {}
        details = body.get("details")
        if (
            isinstance(details, Mapping)
            and details.get("error_code") == "enforced_spend_limit_reached"
        ):
            err.error_class = "key"  # the tier's monthly spend cap: no retry helps this key
        elif err.status_code in (400, 429) and any(
            phrase in err.message.lower() for phrase in _KEY_PROBLEMS
        ):
            err.error_class = "key"  # no credit / spend limit: the account, not the request
        return err

    # -- no embeddings or audio at Anthropic -------------------------------------------------

    def _unsupported(self, what: str, target: Target) -> InvalidRequestError:
        return InvalidRequestError(
            f"model: {target.name} is an Anthropic model and Anthropic has no {what} API; "
            f"send {what} requests to another provider",
            field="model",
            expected=f"a provider with a {what} API",
        )

    def embeddings_request(self, call: EmbeddingsCall, target: Target, key: str | None) -> Request:
        raise self._unsupported("embeddings", target)

    @guard_parse
    def embeddings_response(self, content: bytes, target: Target) -> CreateEmbeddingResponse:
        raise self._unsupported("embeddings", target)

    def transcription_request(
        self, call: TranscriptionCall, target: Target, key: str | None
    ) -> Request:
        raise self._unsupported("transcription", target)

    def transcription_response(
        self, response: Response, content: bytes, target: Target
    ) -> Transcription:
        raise self._unsupported("transcription", target)


class AnthropicStreamDecoder:
    """Anthropic stream events -> OpenAI chunks. ``finished`` is set by ``message_stop``."""

    __slots__ = (
        "_blocks",
        "_created",
        "_id",
        "_json",
        "_model",
        "_signatures",
        "_thinking",
        "_tools",
        "_usage",
        "finished",
        "target",
    )

    def __init__(self, target: Target) -> None:
        self.target = target
        self.finished = False
        self._id = "msg_aigate"
        self._model = target.model
        self._created = int(time.time())
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, str] = {}  # content block index -> kind
        self._tools: dict[int, int] = {}  # content block index -> OpenAI tool call index
        self._json = False  # the JSON_TOOL was called: its input streams as content
        self._thinking: dict[int, list[str]] = {}
        self._signatures: dict[int, str] = {}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> ChatCompletionChunk:
        return chunk(
            self._id,
            self._created,
            self._model,
            [{"index": 0, "delta": delta, "finish_reason": finish}],
        )

    @guard_parse
    def decode(self, event: ServerSentEvent) -> list[ChatCompletionChunk]:
        name = event.event
        if name == "ping":
            return []
        try:
            data = from_json(event.data)  # pydantic-core's parser: ~4x json.loads per event
        except ValueError:
            data = load_object(event.data.encode(), self.target)  # raises, naming the provider
        if not isinstance(data, dict):
            return []
        kind = data.get("type", name)
        if kind == "content_block_delta":
            return self._delta(data)
        if kind == "content_block_start":
            return self._start_block(data)
        if kind == "content_block_stop":
            return self._stop_block(data)
        if kind == "message_start":
            message = data.get("message") or {}
            self._id = message.get("id") or self._id
            self._model = message.get("model") or self._model
            self._usage = dict(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "message_delta":
            return self._message_delta(data)
        if kind == "message_stop":
            self.finished = True
            return []
        if kind == "error" or name == "error":
            raise stream_error(data, self.target)
        return []  # ping, and event types newer than this decoder

    def _start_block(self, data: dict[str, Any]) -> list[ChatCompletionChunk]:
        index = int(data.get("index", 0))
        block = data.get("content_block") or {}
        kind = block.get("type")
        if kind == "tool_use":
            if block.get("name") == JSON_TOOL:
                self._json = True
                self._blocks[index] = "json"
                return []
            position = self._tools[index] = len(self._tools)
            self._blocks[index] = "tool"
            call = {
                "index": position,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        self._blocks[index] = kind or "other"
        if kind == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if kind == "thinking":
            self._thinking[index] = [block.get("thinking") or ""]
            if block.get("signature"):
                self._signatures[index] = block["signature"]
            if block.get("thinking"):
                return [self._chunk({"reasoning_content": block["thinking"]})]
        if kind == "redacted_thinking":
            redacted = {"type": "redacted_thinking", "data": block.get("data")}
            return [self._chunk({"thinking_blocks": [redacted]})]
        return []

    def _delta(self, data: dict[str, Any]) -> list[ChatCompletionChunk]:
        index = int(data.get("index", 0))
        delta = data.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            return [self._chunk({"content": text})] if text else []
        if kind == "input_json_delta":
            part = delta.get("partial_json")
            if not part:
                return []
            if self._blocks.get(index) == "json":
                return [self._chunk({"content": part})]
            position = self._tools.get(index)
            if position is None:
                return []
            return [
                self._chunk({"tool_calls": [{"index": position, "function": {"arguments": part}}]})
            ]
        if kind == "thinking_delta":
            text = delta.get("thinking")
            if not text:
                return []
            self._thinking.setdefault(index, []).append(text)
            return [self._chunk({"reasoning_content": text})]
        if kind == "signature_delta":
            self._signatures[index] = self._signatures.get(index, "") + str(
                delta.get("signature", "")
            )
        return []  # citations_delta and newer delta types carry nothing OpenAI-shaped

    def _stop_block(self, data: dict[str, Any]) -> list[ChatCompletionChunk]:
        index = int(data.get("index", 0))
        if self._blocks.get(index) != "thinking":
            return []
        block = {
            "type": "thinking",
            "thinking": "".join(self._thinking.pop(index, ())),
            "signature": self._signatures.pop(index, None),
        }
        return [self._chunk({"thinking_blocks": [block]})]

    def _message_delta(self, data: dict[str, Any]) -> list[ChatCompletionChunk]:
        chunks = []
        reason = (data.get("delta") or {}).get("stop_reason")
        if reason is not None:
            finish = _STOP_REASONS.get(reason, "stop")
            if finish == "tool_calls" and self._json and not self._tools:
                finish = "stop"
            chunks.append(self._chunk({}, finish))
        usage = data.get("usage")
        if isinstance(usage, Mapping):
            # message_delta usage is cumulative; it may also restate the input counts
            self._usage.update({k: v for k, v in usage.items() if v is not None})
            chunks.append(
                chunk(self._id, self._created, self._model, [], usage_from_anthropic(self._usage))
            )
        return chunks
