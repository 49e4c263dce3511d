"""The SDK edge without I/O: an SDK's request in, an invocation of the gateway, wire bytes out.

An official SDK (``openai``, ``anthropic``) talks HTTP to a server. Here the "server" is
a table of endpoints (:data:`ENDPOINTS`, path -> handler). A handler reads the request
(JSON or multipart) and returns an :class:`Invocation`: which of the gateway's own resources
to call with which arguments (so routing, failover, keys, cache, budgets, rate limits,
ledger and tracing are the gateway's, never redone here), and how to render its result as
the body or SSE events the SDK expects. Errors become the status and body the provider
would send (:func:`error_answer`). The transports in :mod:`aigate.sdk._transport` only move
these bytes in and out of httpx / httpx2.
"""

from __future__ import annotations

import base64
import inspect
import json
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Literal

from pydantic_core import from_json

from .._exceptions import (
    AigateError,
    AllTargetsFailed,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BudgetExceeded,
    ConfigurationError,
    InvalidRequestError,
    RateLimited,
    StreamError,
    StreamInterrupted,
)
from .._models import GatewayInfo
from .._validate import CHAT_PARAMS, EMBEDDING_PARAMS, TRANSCRIPTION_PARAMS

__all__ = [
    "ENDPOINTS",
    "Answer",
    "Dialect",
    "Endpoint",
    "Invocation",
    "SdkRequest",
    "error_answer",
    "events_endpoint",
    "find_endpoint",
    "info_headers",
]

Dialect = Literal["openai", "anthropic"]
_JSON = "application/json"
_SSE = "text/event-stream"
#: The SDKs honour this header: aigate already retried and failed over, so they must not.
NO_RETRY = ("x-should-retry", "false")
STREAM_HEADERS = {"content-type": _SSE, "cache-control": "no-cache", NO_RETRY[0]: NO_RETRY[1]}
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SdkRequest:
    """What an SDK sent: method, path, headers (a mapping whose ``get`` takes lower-case
    names, as httpx's and httpx2's headers do), the body bytes."""

    method: str
    path: str
    headers: Mapping[str, str] = field(repr=False)  # holds the SDK's api_key: never shown
    body: bytes = field(repr=False)

    @property
    def virtual_key(self) -> str | None:
        """The SDK's ``api_key`` when it is an aigate virtual key (``gk_...``), else None.

        openai sends it as ``Authorization: Bearer``, anthropic as ``x-api-key``. Any
        other key (a placeholder, a real provider key) is ignored: aigate uses its own."""
        auth = self.headers.get("authorization", "")
        secret = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if not secret:
            secret = self.headers.get("x-api-key")
        return secret if secret and secret.startswith("gk_") else None

    def json(self) -> dict[str, Any]:
        body = self.body
        try:
            data = from_json(body) if body else None  # pydantic's Rust parser: ~5x json.loads
        except ValueError:
            # what it refuses and the stdlib reads (a BOM, UTF-16, a lone surrogate escape)
            # is read as before; what neither reads is a bad body
            try:
                data = json.loads(body)
            except ValueError:
                raise InvalidRequestError(
                    "body: expected a JSON object", field="body", expected="a JSON object"
                ) from None
        if not isinstance(data, dict):
            raise InvalidRequestError(
                "body: expected a JSON object", field="body", expected="a JSON object"
            )
        return data


@dataclass(frozen=True, slots=True)
class Options:
    """How a transport resolves what an SDK sends (see :func:`aigate.sdk.transport`)."""

    default_provider: str | None = None


@dataclass(slots=True)
class Answer:
    """A complete HTTP answer, or (``fail`` set) a transport failure to raise instead:
    ``"timeout"`` or ``"connect"``, so the SDK raises its own timeout/connection error."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    fail: Literal["timeout", "connect"] | None = None


@dataclass(slots=True)
class Invocation:
    """One call of a gateway resource and how to render what it returns.

    ``call(gateway)`` returns the result (an awaitable on an AsyncGateway). A plain result
    goes through ``render`` (to body bytes and a content type); a stream's items go
    through ``event`` (each to SSE bytes), then ``done`` ends the stream."""

    call: Callable[[Any], Any]
    stream: bool = False
    render: Callable[[Any], tuple[bytes, str]] = field(default=lambda r: (_dump(r), _JSON))
    event: Callable[[Any], bytes | None] = field(default=lambda item: _data_event(item))
    done: bytes = b"data: [DONE]\n\n"
    dialect: Dialect = "openai"


#: A handler: the SDK's request (and the transport's options) -> what to call, or an answer.
Endpoint = Callable[[SdkRequest, Options], "Invocation | Answer"]


# -- rendering ------------------------------------------------------------------------------


def _dump(result: Any) -> bytes:
    if isinstance(result, (bytes, bytearray)):
        return bytes(result)
    dump = getattr(result, "model_dump_json", None)
    if dump is not None:
        return dump().encode()  # type: ignore[no-any-return]
    plain = getattr(result, "model_dump", None)  # the surfaces' stream events: plain views
    if plain is not None:
        result = plain(mode="json")
    return json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()


def _data_event(item: Any) -> bytes:
    return b"data: " + _dump(item) + b"\n\n"


def _typed_event(item: Any) -> bytes:
    """``event: <type>`` then ``data: <json>``: the Responses and Messages stream format."""
    kind = item.get("type") if isinstance(item, Mapping) else getattr(item, "type", None)
    head = f"event: {kind}\n".encode() if isinstance(kind, str) else b""
    return head + b"data: " + _dump(item) + b"\n\n"


def _decimal(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def info_headers(info: GatewayInfo | None) -> dict[str, str]:
    """aigate's account of a call as ``x-aigate-*`` headers (read them from the SDK's
    ``with_raw_response``). Never a key: key ids are short hashes."""
    if info is None:
        return {}
    headers = {
        "x-aigate-provider": info.provider,
        "x-aigate-model": info.model,
        "x-aigate-cached": "true" if info.cached else "false",
        "x-aigate-latency-ms": f"{info.latency_ms:.1f}",
        "x-aigate-attempts": _attempts(info.attempts),
    }
    if info.call_id:
        headers["x-aigate-call-id"] = info.call_id
    if info.route:
        headers["x-aigate-route"] = info.route
    if info.cost_usd is not None:
        headers["x-aigate-cost-usd"] = _decimal(info.cost_usd)
    if info.saved_cost_usd is not None:
        headers["x-aigate-saved-cost-usd"] = _decimal(info.saved_cost_usd)
    if info.key_id:
        headers["x-aigate-key-id"] = info.key_id
    if info.request_id:
        headers["x-request-id"] = info.request_id  # the upstream's: openai's _request_id
    return headers


def _attempts(attempts: Any) -> str:
    """``provider/model:status`` per attempt, in order (``err`` when no status came back)."""
    return ",".join(
        f"{a.provider}/{a.model}:{a.status_code if a.status_code is not None else 'err'}"
        for a in attempts
    )


def stream_headers(stream: Any) -> dict[str, str]:
    """The SSE response's headers: what is known when a stream starts (who answers, the
    call id, the attempts so far; all of it for a cache replay). Cost comes at the end."""
    headers = dict(STREAM_HEADERS)
    info = getattr(stream, "gateway", None)
    if info is not None:  # a replayed (cached) stream is complete from the start
        headers.update(info_headers(info))
        return headers
    # A live stream's start is aigate's own StreamStart; read defensively, so a change
    # there costs these headers, never the stream.
    start = getattr(stream, "_start", None)
    target: Any = getattr(start, "target", None)
    ctx: Any = getattr(start, "ctx", None)
    try:
        headers["x-aigate-provider"] = target.provider.name
        headers["x-aigate-model"] = target.model
        headers["x-aigate-call-id"] = ctx.request_id
        if ctx.route:
            headers["x-aigate-route"] = ctx.route
    except AttributeError:
        pass
    return headers


def trailer(info: GatewayInfo | None) -> bytes:
    """An SSE comment with the stream's final account (SDKs skip comments)."""
    if info is None:
        return b""
    return b": x-aigate " + json.dumps(info_headers(info), separators=(",", ":")).encode() + b"\n\n"


# -- errors ---------------------------------------------------------------------------------

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error_body(
    status: int,
    message: str,
    dialect: Dialect,
    *,
    type: str | None = None,
    code: str | None = None,
    param: str | None = None,
) -> bytes:
    """An error body in the dialect's documented shape: OpenAI's ``{"error": {message, type,
    param, code}}``, Anthropic's ``{"type": "error", "error": {type, message}}``."""
    if dialect == "anthropic":
        kind = type or _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "error")
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        kind = type or _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "error")
        body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return json.dumps(body, separators=(",", ":")).encode()


def not_found(path: str, dialect: Dialect, why: str | None = None) -> Answer:
    message = why or f"aigate has no endpoint {path}"
    return _error(404, message, dialect, code="not_found")


def _error(
    status: int, message: str, dialect: Dialect, headers: dict[str, str] | None = None, **kw: Any
) -> Answer:
    all_headers = {"content-type": _JSON, NO_RETRY[0]: NO_RETRY[1], **(headers or {})}
    return Answer(status, all_headers, error_body(status, message, dialect, **kw))


def _provider_message(exc: APIStatusError) -> str:
    body = exc.body
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message


def error_answer(exc: BaseException, dialect: Dialect = "openai") -> Answer:
    """The answer a provider (or a hosted gateway) would give for ``exc``."""
    headers: dict[str, str] = {}
    if isinstance(exc, AllTargetsFailed):
        headers["x-aigate-attempts"] = _attempts(exc.attempts)
        last = exc.last_error
        if isinstance(last, APIStatusError):
            answer = error_answer(last, dialect)
            answer.headers.update(headers)
            return answer
        if isinstance(last, APIConnectionError):
            return Answer(
                0, headers, fail="timeout" if isinstance(last, APITimeoutError) else "connect"
            )
        if exc.retry_at is not None:
            import time

            headers["retry-after"] = str(max(int(exc.retry_at - time.time() + 0.999), 1))
        return _error(503, exc.message, dialect, headers, type=None, code="all_targets_failed")
    if isinstance(exc, APIStatusError):
        if exc.provider and exc.model:
            headers["x-aigate-provider"] = exc.provider
            headers["x-aigate-model"] = exc.model
            # aigate raises a provider's error bare only after a single attempt
            headers.setdefault("x-aigate-attempts", f"{exc.provider}/{exc.model}:{exc.status_code}")
        if exc.request_id:
            headers["x-request-id"] = exc.request_id
        retry = exc.rate_limit.retry_after_s if exc.rate_limit is not None else None
        if retry is not None:
            headers["retry-after"] = str(max(int(retry + 0.999), 0))
        status = exc.status_code or 500
        return _error(
            status,
            _provider_message(exc),
            dialect,
            headers,
            type=exc.type,
            code=exc.code,
            param=exc.param,
        )
    if isinstance(exc, APIConnectionError):
        return Answer(0, headers, fail="timeout" if isinstance(exc, APITimeoutError) else "connect")
    if isinstance(exc, BudgetExceeded):
        # OpenAI's own answer when a quota is spent: 429 insufficient_quota
        return _error(
            429, exc.message, dialect, headers, type="insufficient_quota", code="budget_exceeded"
        )
    if isinstance(exc, RateLimited):
        headers["retry-after"] = str(max(int(exc.retry_after_s + 0.999), 1))
        return _error(429, exc.message, dialect, headers, code="rate_limit_exceeded")
    from ..tenancy import ModelNotAllowedError, VirtualKeyError

    if isinstance(exc, ModelNotAllowedError):
        return _error(403, exc.message, dialect, headers, code="model_not_allowed")
    if isinstance(exc, VirtualKeyError):
        return _error(401, exc.message, dialect, headers, code="invalid_api_key")
    if isinstance(exc, InvalidRequestError):
        if exc.field == "model" and "unknown model" in exc.message:
            return _error(404, exc.message, dialect, headers, code="model_not_found", param="model")
        return _error(400, exc.message, dialect, headers, param=exc.field)
    if isinstance(exc, StreamError):
        return _error(500, exc.message, dialect, headers, type=exc.type, code=exc.code)
    if isinstance(exc, ConfigurationError):
        return _error(500, exc.message, dialect, headers, code="gateway_configuration")
    if isinstance(exc, AigateError):
        return _error(500, exc.message, dialect, headers)
    raise exc


def stream_error_event(exc: BaseException, dialect: Dialect) -> bytes:
    """An error inside a stream that already started: the event each SDK raises on
    (openai: a ``data`` object with ``error``; anthropic: ``event: error``)."""
    cause = exc.__cause__ if isinstance(exc, StreamInterrupted) else exc
    message = str(getattr(exc, "message", exc))
    status = getattr(cause, "status_code", None) or 500
    kind = getattr(cause, "type", None)
    body = error_body(status, message, dialect, type=kind if isinstance(kind, str) else None)
    if dialect == "anthropic":
        return b"event: error\ndata: " + body + b"\n\n"
    return b"data: " + body + b"\n\n"


# -- models and parameters -------------------------------------------------------------------


def resolve_model(gateway: Any, model: object, options: Options) -> object:
    """A bare model name (``gpt-4o-mini``, what frameworks validate) as ``<provider>/<model>``
    through ``default_provider``; routes and prefixed names are kept as they are."""
    if not isinstance(model, str) or model in gateway.routes:
        return model
    head, sep, _ = model.partition("/")
    if sep and head in gateway.providers:
        return model
    if options.default_provider is not None:
        return f"{options.default_provider}/{model}"
    return model


def _split(body: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """Known parameters stay; the rest (an SDK's ``extra_body``) go in ``extra_body``."""
    unknown = [k for k in body if k not in known]
    if unknown:
        body["extra_body"] = {k: body.pop(k) for k in unknown}
    return body


_CHAT_KNOWN = CHAT_PARAMS | {"model", "messages", "stream"}
_EMBEDDING_KNOWN = EMBEDDING_PARAMS | {"model", "input"}
_TRANSCRIPTION_KNOWN = TRANSCRIPTION_PARAMS | {"model", "file"}


def _chat(request: SdkRequest, options: Options) -> Invocation:
    body = _split(request.json(), _CHAT_KNOWN)
    secret = request.virtual_key
    if secret is not None:
        body["api_key"] = secret
    stream = body.get("stream") is True
    usage_asked = bool((body.get("stream_options") or {}).get("include_usage"))

    def call(gateway: Any) -> Any:
        body["model"] = resolve_model(gateway, body.get("model"), options)
        return gateway.chat.completions.create(**body)

    def event(chunk: Any) -> bytes | None:
        # aigate always asks for usage upstream (to price the call); an SDK that did not
        # ask gets no usage-only chunk, as from the provider itself
        if not usage_asked and not chunk.choices:
            return None
        return _data_event(chunk)

    return Invocation(call, stream=stream, event=event)


def _embeddings(request: SdkRequest, options: Options) -> Invocation:
    body = _split(request.json(), _EMBEDDING_KNOWN)
    secret = request.virtual_key
    if secret is not None:
        body["api_key"] = secret
    # aigate's providers answer floats; base64 (openai 2.x's default) is packed here
    wants_base64 = body.pop("encoding_format", None) == "base64"

    def call(gateway: Any) -> Any:
        body["model"] = resolve_model(gateway, body.get("model"), options)
        return gateway.embeddings.create(**body)

    def render(result: Any) -> tuple[bytes, str]:
        if wants_base64:
            payload = result.model_dump()
            for item in payload["data"]:
                vector = item["embedding"]
                if isinstance(vector, list):
                    packed = struct.pack(f"<{len(vector)}f", *vector)
                    item["embedding"] = base64.b64encode(packed).decode("ascii")
            return _dump(payload), _JSON
        return _dump(result), _JSON

    return Invocation(call, render=render)


_TEXT_FORMATS = {"text": "text/plain", "srt": "text/plain", "vtt": "text/vtt"}


def parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """multipart/form-data fields: text fields as str (``name[]`` repeated as a list), file
    fields as ``(filename, bytes, content type)``."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise InvalidRequestError(
            "body: expected multipart/form-data", field="body", expected="multipart/form-data"
        )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        raw = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        value: Any
        if filename is not None:
            value = (filename, raw, part.get_content_type())
        else:
            value = raw.decode("utf-8")
        if name.endswith("[]"):
            fields.setdefault(name[:-2], []).append(value)
        else:
            fields[name] = value
    return fields


def _transcriptions(request: SdkRequest, options: Options) -> Invocation:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidRequestError(
            "body: expected multipart/form-data", field="body", expected="multipart/form-data"
        )
    body = parse_multipart(content_type, request.body)
    if "temperature" in body:
        try:
            body["temperature"] = float(body["temperature"])
        except ValueError:
            raise InvalidRequestError(
                "temperature: expected a number", field="temperature", expected="a number"
            ) from None
    body = _split(body, _TRANSCRIPTION_KNOWN)
    text_format = _TEXT_FORMATS.get(str(body.get("response_format")))

    def call(gateway: Any) -> Any:
        body["model"] = resolve_model(gateway, body.get("model"), options)
        return gateway.audio.transcriptions.create(**body)

    def render(result: Any) -> tuple[bytes, str]:
        if text_format is not None:
            return result.text.encode(), text_format
        return _dump(result), _JSON

    return Invocation(call, render=render)


def _model_ids(gateway: Any) -> list[tuple[str, str]]:
    """(id, owner) of every model the gateway can call: its routes, then catalog models."""
    ids = [(alias, "aigate") for alias in gateway.routes]
    seen = {i for i, _ in ids}
    try:
        entries = gateway.models.list()
    except Exception:  # a catalog that cannot load still lists the routes
        entries = []
    for entry in entries:
        for name, runtime in gateway.providers.items():
            if entry.provider in (name, runtime.kind):
                model_id = f"{name}/{entry.model}"
                if model_id not in seen:
                    seen.add(model_id)
                    ids.append((model_id, name))
    return ids


def _model(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}


def _models(request: SdkRequest, options: Options) -> Invocation:
    def call(gateway: Any) -> Any:
        data = [_model(i, owner) for i, owner in _model_ids(gateway)]
        return {"object": "list", "data": data}

    return Invocation(call)


def _model_retrieve(request: SdkRequest, options: Options) -> Invocation | Answer:
    wanted = request.path.split("/models/", 1)[1]

    def call(gateway: Any) -> Any:
        for model_id, owner in _model_ids(gateway):
            if model_id == wanted or model_id == resolve_model(gateway, wanted, options):
                return _model(wanted, owner)
        raise InvalidRequestError(
            f"model: unknown model {wanted!r}", field="model", expected="a listed model"
        )

    return Invocation(call)


def events_endpoint(
    resource: tuple[str, ...], dialect: Dialect, what: str, forward: tuple[str, ...] = ()
) -> Endpoint:
    """An endpoint for a surface whose resource takes the SDK's JSON body as keywords and
    returns a model (or, with ``stream``, typed events: ``event: <type>`` SSE): the
    Responses API (``("responses", "create")``) and Anthropic Messages
    (``("messages", "create")``). Until the gateway has the resource, it answers 404.
    The SDK's headers named in ``forward`` (lower case) go on as ``extra_headers``."""

    def handle(request: SdkRequest, options: Options) -> Invocation | Answer:
        body = request.json()
        secret = request.virtual_key
        if secret is not None:
            body["api_key"] = secret
        sent = {name: value for name in forward if (value := request.headers.get(name))}
        if sent:
            body["extra_headers"] = {**(body.get("extra_headers") or {}), **sent}

        def call(gateway: Any) -> Any:
            target: Any = gateway
            for name in resource:
                target = getattr(target, name, None)
                if target is None:
                    raise _Missing(what)
            body["model"] = resolve_model(gateway, body.get("model"), options)
            return target(**body)

        return Invocation(
            call, stream=body.get("stream") is True, event=_typed_event, done=b"", dialect=dialect
        )

    return handle


class _Missing(Exception):
    """The gateway has no resource for this surface (yet)."""


def _stored_response(request: SdkRequest, options: Options) -> Invocation | Answer:
    """``GET`` / ``DELETE /v1/responses/{id}`` (openai's ``responses.retrieve`` /
    ``.delete``), answered from the gateway's own store of responses, for this caller's
    tenant only (its virtual key, as on create)."""
    response_id = request.path.rpartition("/v1/responses/")[2]
    if not response_id or "/" in response_id:  # input_items, cancel: not kept by aigate
        return not_found(request.path, "openai")
    secret = request.virtual_key
    keys = {"api_key": secret} if secret is not None else {}
    deleting = request.method == "DELETE"

    def found(result: Any) -> Any:
        if not deleting:
            return result
        if not result:  # as retrieve says it: failure() answers OpenAI's 404
            raise InvalidRequestError(
                f"response_id: no stored response {response_id!r} for this caller",
                field="response_id",
            )
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    def call(gateway: Any) -> Any:
        resource = getattr(gateway, "responses", None)
        if resource is None:
            raise _Missing("the Responses API")
        result = (resource.delete if deleting else resource.retrieve)(response_id, **keys)
        if inspect.isawaitable(result):

            async def awaited() -> Any:
                return found(await result)

            return awaited()
        return found(result)

    return Invocation(call)


#: The endpoint table: path -> handler. A surface plugs in with one line, e.g.
#: ``ENDPOINTS["/v1/messages"] = events_endpoint(("messages", "create"), "anthropic", ...)``.
ENDPOINTS: dict[str, Endpoint] = {
    "/v1/chat/completions": _chat,
    "/v1/embeddings": _embeddings,
    "/v1/audio/transcriptions": _transcriptions,
    "/v1/models": _models,
    "/v1/responses": events_endpoint(("responses", "create"), "openai", "the Responses API"),
    "/v1/responses/input_tokens": events_endpoint(
        ("responses", "input_tokens", "count"), "openai", "the Responses API's input_tokens"
    ),
    # anthropic's ``betas=`` (``client.beta.messages``) is a header: Anthropic's to read
    "/v1/messages": events_endpoint(
        ("messages", "create"), "anthropic", "the Messages API", ("anthropic-beta",)
    ),
    "/v1/messages/count_tokens": events_endpoint(
        ("messages", "count_tokens"), "anthropic", "the Messages API's count_tokens"
    ),
}
#: Paths matched by prefix (``/v1/models/{id}``), after the exact table.
PREFIXES: dict[str, Endpoint] = {
    "/v1/models/": _model_retrieve,
    "/v1/responses/": _stored_response,
}
#: The methods a prefix answers (GET when not listed).
_PREFIX_METHODS = {"/v1/responses/": ("GET", "DELETE")}
_METHODS = {"/v1/models": "GET"}


def dialect_of(path: str) -> Dialect:
    return "anthropic" if path.startswith("/v1/messages") else "openai"


def find_endpoint(request: SdkRequest) -> Endpoint | Answer:
    """The handler for ``request.path`` (a ``/v1/...`` path under any base path), or a 404
    answer the SDK raises as its ``NotFoundError``."""
    path = request.path
    if not path.startswith("/v1/") and "/v1/" in path:
        path = path[path.index("/v1/") :]  # base_url="http://aigate/any/prefix/v1"
    handler = ENDPOINTS.get(path.rstrip("/"))
    if handler is None:
        for prefix, candidate in PREFIXES.items():
            if path.startswith(prefix) and request.method in _PREFIX_METHODS.get(prefix, ("GET",)):
                return candidate
        return not_found(path, dialect_of(path))
    method = _METHODS.get(path, "POST")
    if request.method != method:
        return _error(405, f"{request.method} {path}: expected {method}", dialect_of(path))
    return handler


def answer_missing(exc: _Missing, path: str) -> Answer:
    return not_found(
        path,
        dialect_of(path),
        f"aigate: {path} needs {exc.args[0]}, which this gateway does not have yet",
    )


def plan(request: SdkRequest, options: Options) -> Invocation | Answer:
    """The SDK request's invocation, or the answer to give right away (404, a bad body)."""
    found = find_endpoint(request)
    if isinstance(found, Answer):
        return found
    try:
        return found(request, options)
    except AigateError as exc:
        return error_answer(exc, dialect_of(request.path))


def success(invocation: Invocation, result: Any) -> Answer:
    body, content_type = invocation.render(result)
    headers = {"content-type": content_type, NO_RETRY[0]: NO_RETRY[1]}
    headers.update(info_headers(getattr(result, "gateway", None)))
    return Answer(200, headers, body)


def failure(invocation: Invocation, exc: BaseException, path: str) -> Answer:
    if isinstance(exc, _Missing):
        return answer_missing(exc, path)
    if isinstance(exc, InvalidRequestError) and exc.field == "response_id":  # not stored here
        return not_found(path, "openai", f"no stored response {path.rpartition('/')[2]!r}")
    return error_answer(exc, invocation.dialect)
