"""Observability: hooks, logging with redaction, and OpenTelemetry spans for each call.

The request flow reports what happens through one :class:`Observer`::

    observer = Observer(
        Hooks(on_response=lambda e: metrics.add(e.cost_usd), on_fallback=alert),
        tracing=True,                       # spans through opentelemetry-api, when installed
    )

- **Hooks** are plain callables taking one event (a small frozen dataclass). An exception
  in a hook is logged and swallowed: observing a call never breaks it.
- **Logging** goes to the stdlib logger ``aigate`` with structured ``extra`` fields
  (``aigate_call_id``, ``aigate_provider``, ``aigate_cost_usd``, ...) and a
  :class:`RedactingFilter` that masks anything shaped like a key. Add that filter to your
  own handlers to cover every ``aigate.*`` logger (a logger's filters only see records
  logged to that very logger).
- **Spans** follow OpenTelemetry's GenAI semantic conventions (``gen_ai.system``,
  ``gen_ai.request.model``, ``gen_ai.usage.input_tokens``, ...) plus ``aigate.cost_usd``.
  ``opentelemetry`` is imported only when tracing is on.

Events carry ids, names, counts, costs and timings: never keys, prompts or completions.
"""

from __future__ import annotations

import inspect
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, Final

from ._exceptions import ConfigurationError

__all__ = [
    "BudgetThresholdEvent",
    "CacheHitEvent",
    "CallEvent",
    "ErrorEvent",
    "FallbackEvent",
    "Hooks",
    "Observer",
    "RedactingFilter",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "SpanHandle",
    "redact",
]

LOGGER_NAME: Final = "aigate"

# -- events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    """What every call event shares. ``system`` is the provider's kind (its wire format:
    ``openai``, ``anthropic``, ``gemini``, ...), ``provider`` its configured name."""

    call_id: str
    kind: str = "chat"  # "chat" | "embedding" | "transcription"
    route: str | None = None
    provider: str | None = None
    system: str | None = None
    model: str | None = None
    attempt: int = 1  # 1-based: the n-th HTTP attempt of this call
    stream: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestEvent(CallEvent):
    """A call starts; ``provider``/``model`` are its first target (attempts are reported
    as they end, through errors, retries and fallbacks)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseEvent(CallEvent):
    """A call succeeded (for a stream: when it ended). ``response_model`` is the model the
    provider says answered; ``cost_usd`` is ``None`` when the price is unknown."""

    status: int | None = 200
    response_model: str | None = None
    response_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reasons: tuple[str, ...] = ()
    cost_usd: Decimal | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    cached: bool = False
    estimated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorEvent(CallEvent):
    """An attempt or a whole call failed. ``final`` is True when the call gives up (the
    error reaches the caller), False for a failed attempt that will be followed by
    another. ``error_class`` is aigate's ``transient``/``key``/``request`` when known."""

    status: int | None = None
    error_type: str = "Exception"
    error_class: str | None = None
    latency_ms: float | None = None
    final: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryEvent(CallEvent):
    """The same target is tried again after ``wait_s`` seconds (``attempt`` is the next)."""

    wait_s: float = 0.0
    status: int | None = None
    error_type: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackEvent(CallEvent):
    """The call moves from one target to the next (``provider``/``model`` are the new
    target, ``from_provider``/``from_model`` the one that failed)."""

    from_provider: str | None = None
    from_model: str | None = None
    status: int | None = None
    error_type: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheHitEvent(CallEvent):
    """The answer came from the response cache; ``saved_usd`` is what it would have cost."""

    saved_usd: Decimal | None = None
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetThresholdEvent:
    """A budget's spend crossed one of its ``thresholds`` (reported once per window).

    ``spent`` and ``cap`` are in the limit's unit as stored: nano-USD for ``usd``, else a
    count of tokens or requests. ``threshold`` is the fraction of the cap (0.8 = 80%).
    """

    scope: str
    unit: str = "usd"
    window: str = "day"
    threshold: float = 1.0
    spent: int = 0
    cap: int = 0
    call_id: str | None = None
    name: str | None = None

    @property
    def spent_usd(self) -> Decimal | None:
        return Decimal(self.spent).scaleb(-9) if self.unit == "usd" else None

    @property
    def cap_usd(self) -> Decimal | None:
        return Decimal(self.cap).scaleb(-9) if self.unit == "usd" else None


# -- hooks ---------------------------------------------------------------------------------

Hook = Callable[[Any], object]


@dataclass(frozen=True, slots=True)
class Hooks:
    """Optional callbacks, one event argument each, called synchronously in the caller's
    thread (or event loop: keep them quick, hand slow work to a queue). What they return
    is ignored; what they raise is logged and swallowed."""

    on_request: Callable[[RequestEvent], object] | None = None
    on_response: Callable[[ResponseEvent], object] | None = None
    on_error: Callable[[ErrorEvent], object] | None = None
    on_retry: Callable[[RetryEvent], object] | None = None
    on_fallback: Callable[[FallbackEvent], object] | None = None
    on_cache_hit: Callable[[CacheHitEvent], object] | None = None
    on_budget_threshold: Callable[[BudgetThresholdEvent], object] | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            hook = getattr(self, f.name)
            if hook is None:
                continue
            if not callable(hook):
                raise ConfigurationError(
                    f"hooks.{f.name}: expected a callable, got {type(hook).__name__}",
                    field=f"hooks.{f.name}",
                )
            if inspect.iscoroutinefunction(hook):
                # A coroutine nobody awaits would be a silent no-op (and a warning).
                raise ConfigurationError(
                    f"hooks.{f.name}: hooks are called synchronously; pass a plain function "
                    "(schedule async work from it with loop.create_task)",
                    field=f"hooks.{f.name}",
                )


# -- redaction -----------------------------------------------------------------------------

_MASK = "[REDACTED]"
# Each pattern keeps a recognisable prefix (group 1) and masks the rest: the log still says
# *which* kind of secret was there, never its value.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # header-like "name: value" / "name=value" pairs, in text, dict reprs and JSON
    re.compile(
        r"""((?:authorization|proxy-authorization|x-api-key|x-goog-api-key|api[-_]key|"""
        r"""x-aigate-key)['"]?\s*[:=]\s*['"]?)(?:Bearer\s+|Basic\s+)?[^\s'",;}&]+""",
        re.IGNORECASE,
    ),
    re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=\-]{4,}", re.IGNORECASE),
    re.compile(r"([?&;]key=)[^&\s'\"#]+"),
    re.compile(r"(\bsk-)[A-Za-z0-9_\-]{6,}"),  # OpenAI, Anthropic (sk-ant-), OpenRouter (sk-or-)
    re.compile(r"(\bgk_)[A-Za-z0-9_\-]{6,}"),  # aigate virtual keys
    re.compile(r"(\bgsk_)[A-Za-z0-9_\-]{6,}"),  # Groq
    re.compile(r"(\bxai-)[A-Za-z0-9_\-]{6,}"),  # xAI
    re.compile(r"(\bAIza)[A-Za-z0-9_\-]{20,}"),  # Google API keys
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every key-shaped substring (and each of ``secrets``) masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _MASK, text)
    return text


def _redact_value(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, (int, float, bool, Decimal)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(item, secrets) for item in value)
    if isinstance(value, dict):
        return {key: _redact_value(item, secrets) for key, item in value.items()}
    # Any other object is logged through its str(); mask that text.
    return redact(str(value), secrets)


class RedactingFilter(logging.Filter):
    """A logging filter that masks keys in the message, its arguments, ``extra`` string
    fields and the formatted traceback. It never drops a record.

    Add it to a handler to cover everything that handler emits (``aigate.*`` included)::

        handler.addFilter(RedactingFilter())

    ``secrets`` adds exact strings to mask (e.g. keys that match no known shape).
    """

    _STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def __init__(self, name: str = "", secrets: Iterable[str] = ()) -> None:
        super().__init__(name)
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw parts, masked
            message = f"{record.msg} {record.args}"
        record.msg = redact(message, secrets)
        record.args = None
        for name, value in list(record.__dict__.items()):
            if name not in self._STANDARD and not name.startswith("_"):
                record.__dict__[name] = _redact_value(value, secrets)
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, masked: formatters print exc_text as it is. The
            # exception object goes (its args may hold a key), the masked text stays.
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info), secrets)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


_FORMATTER = logging.Formatter()


# -- spans ---------------------------------------------------------------------------------

# gen_ai.system values from the GenAI semantic conventions, by aigate provider kind.
_SYSTEMS: Mapping[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "groq": "groq",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "openrouter": "openrouter",
}
_OPERATIONS: Mapping[str, str] = {
    "chat": "chat",
    "embedding": "embeddings",
    "transcription": "transcription",
}


@dataclass(slots=True)
class SpanHandle:
    """What :meth:`Observer.start_span` returns; pass it back to :meth:`Observer.end_span`.
    ``span`` is the OpenTelemetry span, or ``None`` when tracing is off."""

    span: Any = None
    started: float = field(default_factory=time.perf_counter)
    ended: bool = False


def _span_name(event: CallEvent) -> str:
    operation = _OPERATIONS.get(event.kind, event.kind)
    return f"{operation} {event.model}" if event.model else operation


def _start_attributes(event: CallEvent) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": _OPERATIONS.get(event.kind, event.kind),
        "aigate.call_id": event.call_id,
        "aigate.stream": event.stream,
    }
    system = event.system or event.provider
    if system:
        attributes["gen_ai.system"] = _SYSTEMS.get(system, system)
    if event.model:
        attributes["gen_ai.request.model"] = event.model
    if event.provider:
        attributes["aigate.provider"] = event.provider
    if event.route:
        attributes["aigate.route"] = event.route
    return attributes


def _response_attributes(event: ResponseEvent) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "aigate.attempts": event.attempt,
        "aigate.cached": event.cached,
    }
    if event.provider:
        attributes["aigate.provider"] = event.provider
    system = event.system or event.provider
    if system:
        attributes["gen_ai.system"] = _SYSTEMS.get(system, system)
    if event.response_model or event.model:
        attributes["gen_ai.response.model"] = event.response_model or event.model
    if event.response_id:
        attributes["gen_ai.response.id"] = event.response_id
    if event.input_tokens is not None:
        attributes["gen_ai.usage.input_tokens"] = event.input_tokens
    if event.output_tokens is not None:
        attributes["gen_ai.usage.output_tokens"] = event.output_tokens
    if event.finish_reasons:
        attributes["gen_ai.response.finish_reasons"] = list(event.finish_reasons)
    if event.cost_usd is not None:
        # Span attributes take no Decimal: a float for dashboards, the exact string beside it.
        attributes["aigate.cost_usd"] = float(event.cost_usd)
        attributes["aigate.cost_usd_exact"] = format(event.cost_usd, "f")
    if event.ttft_ms is not None:
        attributes["aigate.ttft_ms"] = event.ttft_ms
    if event.estimated:
        attributes["aigate.usage_estimated"] = True
    if event.status is not None:
        attributes["http.response.status_code"] = event.status
    return attributes


def _error_attributes(event: ErrorEvent) -> dict[str, Any]:
    attributes: dict[str, Any] = {"error.type": event.error_type, "aigate.attempts": event.attempt}
    if event.error_class:
        attributes["aigate.error_class"] = event.error_class
    if event.status is not None:
        attributes["http.response.status_code"] = event.status
    return attributes


# -- the observer --------------------------------------------------------------------------


def _extra(event: Any) -> dict[str, Any]:
    """``aigate_<field>`` for every set field of an event (Decimals as exact strings)."""
    out: dict[str, Any] = {"aigate_event": _EVENT_NAMES.get(type(event), type(event).__name__)}
    for f in fields(event):
        value = getattr(event, f.name)
        if value is None or value == ():
            continue
        if isinstance(value, Decimal):
            value = format(value, "f")
        elif isinstance(value, tuple):
            value = list(value)
        out[f"aigate_{f.name}"] = value
    return out


_EVENT_NAMES: dict[type, str] = {
    RequestEvent: "request",
    ResponseEvent: "response",
    ErrorEvent: "error",
    RetryEvent: "retry",
    FallbackEvent: "fallback",
    CacheHitEvent: "cache_hit",
    BudgetThresholdEvent: "budget_threshold",
}


def _target(event: CallEvent) -> str:
    if event.provider and event.model:
        return f"{event.provider}/{event.model}"
    return event.model or event.provider or "?"


class Observer:
    """Receives the flow's events and fans them out to hooks, the ``aigate`` logger and,
    when tracing is on, OpenTelemetry.

    ``tracer`` is an OpenTelemetry ``Tracer``; with ``tracing=True`` and no tracer, the
    global one is used (``opentelemetry.trace.get_tracer("aigate")``). ``secrets`` are
    extra exact strings the log redaction masks. Every method is safe to call on the hot
    path: with no hooks, logging above DEBUG and no tracer, each is a few attribute checks.
    """

    def __init__(
        self,
        hooks: Hooks | None = None,
        *,
        logger: logging.Logger | str | None = None,
        tracer: Any = None,
        tracing: bool = False,
        secrets: Iterable[str] = (),
    ) -> None:
        self.hooks = hooks or Hooks()
        if logger is None or isinstance(logger, str):
            logger = logging.getLogger(logger or LOGGER_NAME)
        self.logger = logger
        self._filter = _install_filter(logger, tuple(secrets))
        if tracer is None and tracing:
            tracer = _default_tracer()
        self.tracer = tracer

    def __repr__(self) -> str:
        hooks = [f.name for f in fields(self.hooks) if getattr(self.hooks, f.name) is not None]
        return (
            f"Observer(hooks={hooks}, logger={self.logger.name!r}, "
            f"tracing={self.tracer is not None})"
        )

    # -- events ------------------------------------------------------------------------

    def request(self, event: RequestEvent) -> None:
        """A call starts."""
        self._log(logging.DEBUG, event, "request %s", _target(event))
        self._call(self.hooks.on_request, "on_request", event)

    def response(self, event: ResponseEvent) -> None:
        """A call succeeded."""
        if self.logger.isEnabledFor(logging.DEBUG):
            cost = "unpriced" if event.cost_usd is None else f"${event.cost_usd}"
            self._log(
                logging.DEBUG,
                event,
                "response %s status %s in %.0f ms, %s+%s tokens, %s",
                _target(event),
                event.status,
                event.latency_ms or 0.0,
                event.input_tokens,
                event.output_tokens,
                cost,
            )
        self._call(self.hooks.on_response, "on_response", event)

    def error(self, event: ErrorEvent) -> None:
        """An attempt failed (``final=False``) or the call failed (``final=True``)."""
        level = logging.WARNING if event.final else logging.INFO
        self._log(
            level,
            event,
            "%s %s failed: %s (status %s)",
            "call to" if event.final else "attempt on",
            _target(event),
            event.error_type,
            event.status,
        )
        self._call(self.hooks.on_error, "on_error", event)

    def retry(self, event: RetryEvent, span: SpanHandle | None = None) -> None:
        """The same target is retried after a wait."""
        self._log(
            logging.INFO,
            event,
            "retrying %s in %.2f s (attempt %d) after %s",
            _target(event),
            event.wait_s,
            event.attempt,
            event.error_type,
        )
        self._span_event(span, "aigate.retry", event)
        self._call(self.hooks.on_retry, "on_retry", event)

    def fallback(self, event: FallbackEvent, span: SpanHandle | None = None) -> None:
        """The call moves on to the next target."""
        self._log(
            logging.WARNING,
            event,
            "falling back from %s/%s to %s after %s",
            event.from_provider,
            event.from_model,
            _target(event),
            event.error_type,
        )
        self._span_event(span, "aigate.fallback", event)
        self._call(self.hooks.on_fallback, "on_fallback", event)

    def cache_hit(self, event: CacheHitEvent) -> None:
        """The answer came from the cache."""
        self._log(logging.DEBUG, event, "cache hit for %s", _target(event))
        self._call(self.hooks.on_cache_hit, "on_cache_hit", event)

    def budget_threshold(self, event: BudgetThresholdEvent) -> None:
        """A budget crossed a threshold."""
        shown = (
            f"${event.spent_usd} of ${event.cap_usd}"
            if event.unit == "usd"
            else f"{event.spent} of {event.cap} {event.unit}"
        )
        self._log(
            logging.WARNING,
            event,
            "budget %s (%s) reached %d%%: %s",
            event.name or event.scope,
            event.window,
            round(event.threshold * 100),
            shown,
        )
        self._call(self.hooks.on_budget_threshold, "on_budget_threshold", event)

    # -- spans -------------------------------------------------------------------------

    def start_span(self, event: CallEvent) -> SpanHandle:
        """Open the call's client span (a no-op handle when tracing is off)."""
        tracer = self.tracer
        if tracer is None:
            return SpanHandle()
        try:
            from opentelemetry.trace import SpanKind

            span = tracer.start_span(
                _span_name(event), kind=SpanKind.CLIENT, attributes=_start_attributes(event)
            )
        except Exception:
            self.logger.warning("aigate: could not start a span", exc_info=True)
            return SpanHandle()
        return SpanHandle(span)

    def end_span(
        self,
        handle: SpanHandle,
        *,
        response: ResponseEvent | None = None,
        error: ErrorEvent | BaseException | None = None,
    ) -> None:
        """Close the span with the call's outcome: usage, cost and finish reasons from
        ``response``, or the error's type and an error status. Ending twice does nothing."""
        span = handle.span
        if span is None or handle.ended:
            return
        handle.ended = True
        try:
            from opentelemetry.trace import Status, StatusCode

            if response is not None:
                span.set_attributes(_response_attributes(response))
            if error is not None:
                if isinstance(error, BaseException):
                    error = ErrorEvent(
                        call_id="",
                        error_type=type(error).__name__,
                        error_class=getattr(error, "error_class", None),
                        status=getattr(error, "status_code", None),
                    )
                attributes = _error_attributes(error)
                if not error.call_id:
                    attributes.pop("aigate.attempts", None)
                span.set_attributes(attributes)
                # The error's type only: messages may quote provider text.
                span.set_status(Status(StatusCode.ERROR, error.error_type))
            span.end()
        except Exception:
            self.logger.warning("aigate: could not end a span", exc_info=True)

    # -- plumbing ----------------------------------------------------------------------

    def _log(self, level: int, event: Any, message: str, *args: Any) -> None:
        logger = self.logger
        if logger.isEnabledFor(level):
            logger.log(level, message, *args, extra=_extra(event))

    def _call(self, hook: Hook | None, name: str, event: Any) -> None:
        if hook is None:
            return
        try:
            hook(event)
        except Exception as exc:  # a hook must never break the call it observes
            self.logger.warning(
                "aigate hook %s raised %s; the call goes on",
                name,
                type(exc).__name__,
                exc_info=True,
                extra={"aigate_event": "hook_error", "aigate_hook": name},
            )

    def _span_event(self, span: SpanHandle | None, name: str, event: CallEvent) -> None:
        if span is None or span.span is None or span.ended:
            return
        try:
            attributes = {
                key.removeprefix("aigate_"): value
                for key, value in _extra(event).items()
                if isinstance(value, (str, int, float, bool))
            }
            span.span.add_event(name, attributes={f"aigate.{k}": v for k, v in attributes.items()})
        except Exception:
            self.logger.warning("aigate: could not add a span event", exc_info=True)


def _install_filter(logger: logging.Logger, secrets: tuple[str, ...]) -> RedactingFilter:
    """Attach one :class:`RedactingFilter` to ``logger`` (shared by every Observer on it);
    new ``secrets`` are added to it."""
    for existing in logger.filters:
        if isinstance(existing, RedactingFilter):
            if secrets:
                existing.secrets = tuple(dict.fromkeys(existing.secrets + secrets))
            return existing
    redacting = RedactingFilter(secrets=secrets)
    logger.addFilter(redacting)
    return redacting


def _default_tracer() -> Any:
    try:
        from opentelemetry import trace
    except ImportError:
        raise ConfigurationError(
            "tracing=True needs opentelemetry-api: pip install 'aigate[otel]'", field="tracing"
        ) from None
    from ._version import __version__

    return trace.get_tracer("aigate", __version__)
