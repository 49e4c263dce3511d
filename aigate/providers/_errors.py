"""Error mapping shared by every codec: status -> error class, body -> message, headers ->
:class:`~aigate.RateLimitInfo`, all read from the neutral :class:`~aigate._wire.Response`;
and the one constructor drivers use for a failed exchange (:func:`transport_error`).

Every error made here carries the request with its credentials masked
(:meth:`~aigate._wire.Request.redacted`), never the live one."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, cast

from .._exceptions import (
    AigateError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContentPolicyError,
    ContextLengthExceededError,
    InternalServerError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from .._models import RateLimitInfo
from .._wire import Request, Response, TransportCause

__all__ = [
    "error_from_response",
    "error_from_transport",
    "guard_error",
    "guard_parse",
    "parse_duration",
    "parse_rate_limit",
    "target_error",
    "transport_error",
]

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

# Phrases providers use for an over-long prompt (OpenAI code, Anthropic and Gemini messages).
_CONTEXT_LENGTH = re.compile(
    r"context_length_exceeded|context length|context window|maximum context|prompt is too long"
    r"|input token count.*exceeds|too many tokens",
    re.IGNORECASE,
)
_CONTENT_POLICY = re.compile(r"content_policy|content management policy|safety system", re.I)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(value: str | None) -> float | None:
    """Seconds from a provider's duration: ``"1.5"``, ``"12ms"``, ``"1m30.5s"``, ``"27.4s"``,
    an RFC 3339 time (Anthropic resets) or an HTTP date (``Retry-After``)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if parts and "".join(n + u for n, u in parts) == value:
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        return sum(float(n) * scale[u] for n, u in parts)
    when: datetime | None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except (ValueError, OverflowError):  # "abc", "inf", "1e400"
        return None


def parse_rate_limit(headers: Mapping[str, str], body: object = None) -> RateLimitInfo | None:
    """One :class:`RateLimitInfo` from OpenAI/Groq ``x-ratelimit-*``, Anthropic
    ``anthropic-ratelimit-*``, ``retry-after(-ms)`` and Gemini's ``RetryInfo.retryDelay``."""
    get = headers.get
    retry_after: float | None = None
    if (ms := get("retry-after-ms")) is not None:
        try:
            retry_after = max(float(ms) / 1000.0, 0.0)
        except ValueError:
            retry_after = None
    if retry_after is None:
        retry_after = parse_duration(get("retry-after"))
    if retry_after is None and isinstance(body, Mapping):
        retry_after = _gemini_retry_delay(body)
    if get("x-ratelimit-limit-requests") or get("x-ratelimit-remaining-tokens"):
        info = RateLimitInfo(
            limit_requests=_int(get("x-ratelimit-limit-requests")),
            remaining_requests=_int(get("x-ratelimit-remaining-requests")),
            reset_requests_s=parse_duration(get("x-ratelimit-reset-requests")),
            limit_tokens=_int(get("x-ratelimit-limit-tokens")),
            remaining_tokens=_int(get("x-ratelimit-remaining-tokens")),
            reset_tokens_s=parse_duration(get("x-ratelimit-reset-tokens")),
            retry_after_s=retry_after,
        )
    elif get("anthropic-ratelimit-requests-limit") or get("anthropic-ratelimit-tokens-limit"):
        info = RateLimitInfo(
            limit_requests=_int(get("anthropic-ratelimit-requests-limit")),
            remaining_requests=_int(get("anthropic-ratelimit-requests-remaining")),
            reset_requests_s=parse_duration(get("anthropic-ratelimit-requests-reset")),
            limit_tokens=_int(get("anthropic-ratelimit-tokens-limit")),
            remaining_tokens=_int(get("anthropic-ratelimit-tokens-remaining")),
            reset_tokens_s=parse_duration(get("anthropic-ratelimit-tokens-reset")),
            retry_after_s=retry_after,
        )
    elif retry_after is not None:
        info = RateLimitInfo(retry_after_s=retry_after)
    else:
        return None
    return info


def _gemini_retry_delay(body: Mapping[str, Any]) -> float | None:
    error = body.get("error", body)
    details = error.get("details") if isinstance(error, Mapping) else None
    if not isinstance(details, list):
        return None
    for detail in details:
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("RetryInfo"):
            delay = detail.get("retryDelay")
            return parse_duration(delay) if isinstance(delay, str) else None
    return None


def _request_of(response: Any) -> Any:
    try:
        return response.request
    except RuntimeError:  # an httpx.Response built without one
        return None


def _request_secrets(response: Any) -> list[str]:
    """The secrets the request carried: its key headers and a ``key=`` query parameter."""
    request = _request_of(response)
    if request is None:
        return []
    if isinstance(request, Request):
        return request.secrets()
    return _wire_of(request).secrets()


def _wire_of(request: Any) -> Request:
    """A neutral copy of an HTTP library's request (tests hand codecs ``httpx`` objects)."""
    return Request(str(request.method), str(request.url), headers=dict(request.headers.items()))


def _safe(response: Any) -> Response:
    """The response an error keeps: neutral, its request's credentials masked."""
    if isinstance(response, Response):
        return response.redacted()
    request = _request_of(response)
    return Response(
        int(response.status_code),
        headers=list(response.headers.items()),
        content=bytes(getattr(response, "content", b"") or b""),
        request=_wire_of(request) if request is not None else None,
    ).redacted()


def _scrub(value: object, secrets: list[str]) -> object:
    """``value`` with every secret masked, through dicts and lists (provider error bodies
    sometimes quote the key they refused)."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


def _decode_body(content: bytes) -> object:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return content.decode("utf-8", errors="replace")[:2000] or None


def error_from_response(
    response: Response,
    content: bytes,
    *,
    provider: str,
    model: str,
    request_id_header: str = "x-request-id",
) -> APIStatusError:
    """Map a non-2xx response to the most specific aigate error.

    The body is unwrapped the way openai's client does (``body["error"]`` when present) and
    the message taken from ``error.message``; Anthropic's ``{"type": "error", "error": ...}``
    and Google's ``google.rpc.Status`` fit the same rule.
    """
    status = response.status_code
    body = _decode_body(content)
    secrets = _request_secrets(response)
    if secrets:
        body = _scrub(body, secrets)
    error: object = body
    if isinstance(body, Mapping) and "error" in body:
        error = body["error"]
    message = f"{provider} returned HTTP {status}"
    code = type_ = param = None
    if isinstance(error, Mapping):
        if isinstance(error.get("message"), str):
            message = f"{message}: {error['message']}"
        raw_code = error.get("code", error.get("status"))
        code = str(raw_code) if raw_code is not None else None
        type_ = error.get("type") if isinstance(error.get("type"), str) else None
        if type_ is None and isinstance(error.get("status"), str):
            type_ = error["status"]
        param = error.get("param") if isinstance(error.get("param"), str) else None
    elif isinstance(error, str):
        message = f"{message}: {error[:500]}"

    cls: type[APIStatusError]
    cls = InternalServerError if status >= 500 else _STATUS_ERRORS.get(status, APIStatusError)
    text = f"{code} {type_} {message}"
    if cls is BadRequestError or (status == 400 and cls is APIStatusError):
        if _CONTEXT_LENGTH.search(text):
            cls = ContextLengthExceededError
        elif _CONTENT_POLICY.search(text):
            cls = ContentPolicyError
    safe = _safe(response)
    err = cls(
        message,
        response=safe,
        request=safe.request,
        status_code=status,
        rate_limit=parse_rate_limit(response.headers, body),
        request_id=response.headers.get(request_id_header),
        body=error,
        provider=provider,
        model=model,
        code=code,
        type=type_,
        param=param,
    )
    if status == 429 and (code == "insufficient_quota" or type_ == "insufficient_quota"):
        err.error_class = "key"  # the key's quota is gone: retrying it cannot help
    elif status == 408:
        err.error_class = "transient"
    elif cls is APIStatusError and 400 <= status < 500:
        err.error_class = "request"
    return err


def target_error(
    response: Response, content: bytes, target: Any, request_id_header: str
) -> APIStatusError:
    """:func:`error_from_response` for a codec's target (its provider and model)."""
    return error_from_response(
        response,
        content,
        provider=target.provider.name,
        model=target.model,
        request_id_header=request_id_header,
    )


def transport_error(exc: BaseException, request: Request | None, *, timeout: bool) -> APIError:
    """The aigate error for an exchange that got no answer: :class:`APITimeoutError` when
    ``timeout``, else :class:`APIConnectionError`. Drivers call this once per library error.

    The error carries ``request`` redacted; its ``__cause__`` is a :class:`TransportCause`
    describing ``exc`` (the library's own exception holds the live request with its key).
    The URL is never in the message: some providers put keys in query strings."""
    provider = (request.provider if request is not None else None) or "the provider"
    model = request.model if request is not None else None
    name = type(exc).__name__
    safe = cast(Any, request.redacted() if request is not None else None)
    err: APIError
    if timeout:
        err = APITimeoutError(
            f"{provider} timed out ({name})", request=safe, provider=provider, model=model
        )
    else:
        err = APIConnectionError(
            f"could not reach {provider} ({name})", request=safe, provider=provider, model=model
        )
    err.__cause__ = TransportCause(exc, request.secrets() if request is not None else ())
    return err


def error_from_transport(exc: BaseException, *, provider: str, model: str) -> APIError:
    """:func:`transport_error` for an HTTP library's exception found after the fact (it is
    classified by its class names, so this module imports no HTTP library)."""
    if isinstance(exc, APIError):
        return exc
    names = {c.__name__ for c in type(exc).__mro__}
    timeout = bool(names & {"TimeoutException", "TimeoutError", "ServerTimeoutError"})
    return transport_error(
        exc, Request("POST", "", provider=provider, model=model), timeout=timeout
    )


# -- a typed boundary around codec parsers ---------------------------------------------------

_UNEXPECTED = (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError)


def _target_of(args: tuple[Any, ...]) -> Any:
    for arg in args:
        if hasattr(arg, "provider") and hasattr(arg, "model"):
            return arg
    return None


def guard_parse(method: Any) -> Any:
    """Wrap a codec's response parser: a body shaped unlike the provider's documented format
    (a list where an object belongs, a string index, ...) raises
    :class:`~aigate.APIResponseValidationError`, never a bare ``TypeError``. Already typed
    aigate errors pass through."""
    import functools

    from .._exceptions import AigateError, APIResponseValidationError

    @functools.wraps(method)
    def parse(self: Any, *args: Any) -> Any:
        try:
            return method(self, *args)
        except AigateError:
            raise
        except _UNEXPECTED as exc:
            target = _target_of(args) or getattr(self, "target", None)
            name = target.provider.name if target is not None else "the provider"
            raise APIResponseValidationError(
                f"{name} sent a response aigate cannot read ({type(exc).__name__})",
                provider=target.provider.name if target is not None else None,
                model=target.model if target is not None else None,
            ) from exc

    return parse


def guard_error(method: Any) -> Any:
    """Wrap a codec's ``error()``: an error body it cannot read still gives the generic
    status error (class from the status, message without the body)."""
    import functools

    @functools.wraps(method)
    def error(self: Any, response: Response, content: bytes, target: Any) -> Any:
        try:
            return method(self, response, content, target)
        except _UNEXPECTED:
            header = getattr(self, "request_id_header", "x-request-id")
            return target_error(response, b"", target, header)

    return error


def scrub_error(exc: AigateError, secrets: list[str]) -> AigateError:
    """``exc`` with every secret masked in its message, ``body`` and ``args``, for errors
    built from provider text that came back with a 200 (an error event in a stream, a body
    that does not parse): a provider may quote the key it was sent. A non-aigate cause (a
    pydantic error quoting the input) is cut from the chain, so ``logger.exception`` cannot
    print what it quoted; the aigate error's own message already says what was wrong."""
    cause = exc.__cause__
    # a driver's TransportCause is already redacted, and says what the connection did
    if cause is not None and not isinstance(cause, (AigateError, TransportCause)):
        exc.__cause__ = exc.__context__ = None
        exc.__suppress_context__ = True
    if not secrets:
        return exc
    exc.args = tuple(_scrub(a, secrets) for a in exc.args)
    if isinstance(getattr(exc, "message", None), str):
        exc.message = cast(str, _scrub(exc.message, secrets))
    if isinstance(exc, APIError) and exc.body is not None:
        exc.body = _scrub(exc.body, secrets)
    return exc
