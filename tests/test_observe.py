"""aigate.observe: hooks, structured logging with redaction, and GenAI spans, fed by a fake
event stream (no gateway needed)."""

from __future__ import annotations

import dataclasses
import io
import logging
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode

from aigate import ConfigurationError
from aigate.observe import (
    BudgetThresholdEvent,
    CacheHitEvent,
    ErrorEvent,
    FallbackEvent,
    Hooks,
    Observer,
    RedactingFilter,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    redact,
)


@pytest.fixture(name="exporter")
def _exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(name="tracer")
def _tracer(exporter: InMemorySpanExporter) -> Any:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("aigate-test")


@pytest.fixture(name="logger")
def _logger() -> Iterator[logging.Logger]:
    """A private logger per test, so filters and handlers never leak between tests."""
    logger = logging.getLogger(f"aigate.test.{uuid.uuid4().hex}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    for f in list(logger.filters):
        logger.removeFilter(f)


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.stream = io.StringIO()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.stream.write(self.format(record) + "\n")

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture(name="capture")
def _capture(logger: logging.Logger) -> Capture:
    handler = Capture()
    logger.addHandler(handler)
    return handler


def fake_call(observer: Observer) -> None:
    """The events of one call that fails over from groq to openai and succeeds."""
    span = observer.start_span(
        RequestEvent(call_id="c1", route="fast", provider="groq", system="groq", model="llama")
    )
    observer.request(
        RequestEvent(call_id="c1", route="fast", provider="groq", system="groq", model="llama")
    )
    observer.error(
        ErrorEvent(
            call_id="c1",
            route="fast",
            provider="groq",
            model="llama",
            status=503,
            error_type="InternalServerError",
            error_class="transient",
            final=False,
        )
    )
    observer.fallback(
        FallbackEvent(
            call_id="c1",
            route="fast",
            provider="openai",
            system="openai",
            model="gpt-4o-mini",
            attempt=2,
            from_provider="groq",
            from_model="llama",
            status=503,
            error_type="InternalServerError",
        ),
        span=span,
    )
    observer.request(
        RequestEvent(
            call_id="c1", route="fast", provider="openai", system="openai", model="gpt-4o-mini"
        )
    )
    response = ResponseEvent(
        call_id="c1",
        route="fast",
        provider="openai",
        system="openai",
        model="gpt-4o-mini",
        attempt=2,
        response_model="gpt-4o-mini-2024-07-18",
        response_id="chatcmpl-1",
        input_tokens=12,
        output_tokens=5,
        finish_reasons=("stop",),
        cost_usd=Decimal("0.0000048"),
        latency_ms=31.5,
    )
    observer.response(response)
    observer.end_span(span, response=response)


class TestHooks:
    def test_every_hook_receives_its_events_in_order(self, logger: logging.Logger) -> None:
        """Each hook gets the events of its kind, in the order the flow reports them."""
        seen: list[tuple[str, Any]] = []
        hooks = Hooks(
            on_request=lambda e: seen.append(("request", e)),
            on_response=lambda e: seen.append(("response", e)),
            on_error=lambda e: seen.append(("error", e)),
            on_fallback=lambda e: seen.append(("fallback", e)),
        )
        fake_call(Observer(hooks, logger=logger))
        assert [name for name, _ in seen] == ["request", "error", "fallback", "request", "response"]
        assert seen[2][1].from_provider == "groq" and seen[2][1].provider == "openai"
        assert seen[-1][1].cost_usd == Decimal("0.0000048")

    def test_retry_cache_and_budget_hooks(self, logger: logging.Logger) -> None:
        """The remaining hooks fire with their own event types."""
        seen: list[Any] = []
        observer = Observer(
            Hooks(on_retry=seen.append, on_cache_hit=seen.append, on_budget_threshold=seen.append),
            logger=logger,
        )
        observer.retry(RetryEvent(call_id="c", provider="openai", model="m", wait_s=0.5))
        observer.cache_hit(CacheHitEvent(call_id="c", saved_usd=Decimal("0.01")))
        observer.budget_threshold(BudgetThresholdEvent(scope="user:u1", threshold=0.8))
        assert [type(e) for e in seen] == [RetryEvent, CacheHitEvent, BudgetThresholdEvent]

    def test_a_failing_hook_is_logged_and_never_breaks_the_call(
        self, logger: logging.Logger, capture: Capture
    ) -> None:
        """A hook that raises is logged with its traceback; the next event still flows."""
        calls: list[str] = []

        def broken(event: Any) -> None:
            calls.append(event.call_id)
            raise RuntimeError("hook bug")

        observer = Observer(Hooks(on_request=broken, on_response=broken), logger=logger)
        fake_call(observer)  # must not raise
        assert calls == ["c1", "c1", "c1"]
        failures = [r for r in capture.records if getattr(r, "aigate_event", "") == "hook_error"]
        assert len(failures) == 3
        assert failures[0].levelno == logging.WARNING
        assert "RuntimeError: hook bug" in capture.text  # the traceback is there

    def test_a_base_exception_in_a_hook_still_propagates(self, logger: logging.Logger) -> None:
        """KeyboardInterrupt and friends are not swallowed."""

        def interrupt(event: Any) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            Observer(Hooks(on_request=interrupt), logger=logger).request(RequestEvent(call_id="c"))

    def test_async_and_non_callable_hooks_are_refused(self) -> None:
        """A coroutine function would silently never run; a non-callable is a typo."""

        async def later(event: Any) -> None:
            return None

        with pytest.raises(ConfigurationError) as info:
            Hooks(on_response=later)
        assert info.value.field == "hooks.on_response"
        with pytest.raises(ConfigurationError):
            Hooks(on_error="print")  # type: ignore[arg-type]

    def test_events_are_frozen(self) -> None:
        event = RequestEvent(call_id="c")
        with pytest.raises(AttributeError):
            event.call_id = "other"  # type: ignore[misc]


class TestLogging:
    def test_structured_extra_fields(self, logger: logging.Logger, capture: Capture) -> None:
        """Every record carries aigate_* fields; costs are exact decimal strings."""
        fake_call(Observer(logger=logger))
        events = [r.aigate_event for r in capture.records]  # type: ignore[attr-defined]
        assert events == ["request", "error", "fallback", "request", "response"]
        response = capture.records[-1]
        assert response.aigate_cost_usd == "0.0000048"  # type: ignore[attr-defined]
        assert response.aigate_input_tokens == 12  # type: ignore[attr-defined]
        assert response.aigate_finish_reasons == ["stop"]  # type: ignore[attr-defined]
        assert response.aigate_call_id == "c1"  # type: ignore[attr-defined]
        fallback = capture.records[2]
        assert fallback.levelno == logging.WARNING
        assert "falling back from groq/llama to openai/gpt-4o-mini" in fallback.getMessage()

    def test_levels_follow_severity(self, logger: logging.Logger, capture: Capture) -> None:
        """A failed attempt is INFO, a failed call WARNING; nothing is built when disabled."""
        logger.setLevel(logging.INFO)
        observer = Observer(logger=logger)
        observer.request(RequestEvent(call_id="c"))  # DEBUG: dropped
        observer.error(ErrorEvent(call_id="c", error_type="APITimeoutError", final=False))
        observer.error(ErrorEvent(call_id="c", error_type="AllTargetsFailed", final=True))
        assert [r.levelno for r in capture.records] == [logging.INFO, logging.WARNING]

    def test_budget_threshold_message(self, logger: logging.Logger, capture: Capture) -> None:
        observer = Observer(logger=logger)
        observer.budget_threshold(
            BudgetThresholdEvent(
                scope="project:acme",
                window="month",
                threshold=0.8,
                spent=8_000_000_000,
                cap=10_000_000_000,
            )
        )
        observer.budget_threshold(
            BudgetThresholdEvent(scope="user:u", unit="tokens", threshold=0.5, spent=50, cap=100)
        )
        assert "budget project:acme (month) reached 80%: $8.000000000 of $10.000000000" in (
            capture.text
        )
        assert "reached 50%: 50 of 100 tokens" in capture.text

    def test_the_filter_is_installed_once(self, logger: logging.Logger) -> None:
        Observer(logger=logger)
        Observer(logger=logger, secrets=["s3cret-value"])
        filters = [f for f in logger.filters if isinstance(f, RedactingFilter)]
        assert len(filters) == 1
        assert filters[0].secrets == ("s3cret-value",)


class TestRedaction:
    @pytest.mark.parametrize(
        ("text", "leak"),
        [
            ("key sk-proj-abcdefghijklmnop used", "abcdefghijklmnop"),
            ("anthropic sk-ant-api03-ZZZZZZZZZZZZ", "ZZZZZZZZZZZZ"),
            ("virtual gk_live_0123456789abcdef", "0123456789abcdef"),
            ("groq gsk_9876543210fedcba", "9876543210fedcba"),
            ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", "eyJhbGciOiJIUzI1NiJ9"),
            ("headers {'x-api-key': 'plainsecret1234'}", "plainsecret1234"),
            ('{"x-goog-api-key": "goog-secret-777"}', "goog-secret-777"),
            ("api-key=azure-secret-xyz", "azure-secret-xyz"),
            ("GET https://g.example/v1/models?alt=sse&key=AIzaSyA-1234567890abcdefghij", "AIzaSy"),
            ("url ?key=querysecret99&x=1", "querysecret99"),
        ],
    )
    def test_key_shapes_are_masked(self, text: str, leak: str) -> None:
        masked = redact(text)
        assert leak not in masked
        assert "[REDACTED]" in masked

    def test_ordinary_text_is_untouched(self) -> None:
        text = "gpt-4o-mini answered in 31 ms; task-runner ok; monkey=banana"
        assert redact(text) == text

    def test_canary_key_appears_in_no_log_output(
        self, logger: logging.Logger, capture: Capture
    ) -> None:
        """A unique fake key, logged every way a library might (message, args, extra,
        a traceback, stack info, a hook failure): it shows up nowhere in the output."""
        canary = f"sk-canary-{uuid.uuid4().hex}"
        odd = f"odd-shaped-{uuid.uuid4().hex}"  # no known shape: masked as an exact secret
        observer = Observer(logger=logger, secrets=[odd])

        def leaky_hook(event: Any) -> None:
            raise ValueError(f"hook saw {canary} and {odd}")

        observer = Observer(Hooks(on_request=leaky_hook), logger=logger, secrets=[odd])
        observer.request(RequestEvent(call_id="c"))
        logger.debug("sending with key %s", canary)
        logger.debug(f"inline {canary} {odd}")
        logger.info("headers %r", {"Authorization": f"Bearer {canary}", "x-api-key": canary})
        logger.info("extra", extra={"aigate_header": f"Bearer {canary}", "aigate_obj": [canary]})
        logger.info("url https://x.example/v1?key=%s", canary)
        try:
            raise RuntimeError(f"provider said: invalid key {canary}")
        except RuntimeError:
            logger.exception("failed")
        logger.warning("with stack %s", odd, stack_info=True)
        assert len(capture.records) == 9
        out = capture.text
        assert canary not in out and canary[3:] not in out
        assert odd not in out
        assert "RuntimeError" in out and "[REDACTED]" in out
        for record in capture.records:
            assert canary not in repr(record.__dict__)
            assert odd not in repr(record.__dict__)

    def test_filter_on_a_handler_covers_child_loggers(self) -> None:
        """Added to a handler, the filter masks records from any logger."""
        canary = f"sk-canary-{uuid.uuid4().hex}"
        handler = Capture()
        handler.addFilter(RedactingFilter())
        child = logging.getLogger(f"aigate.ledger.test{uuid.uuid4().hex}")
        child.propagate = False
        child.addHandler(handler)
        try:
            child.error("write failed for %s", canary)
        finally:
            child.removeHandler(handler)
        assert canary not in handler.text and "sk-[REDACTED]" in handler.text

    def test_a_broken_format_string_is_still_logged(self, capture: Capture) -> None:
        record = logging.LogRecord("aigate", logging.INFO, __file__, 1, "%s %s", ("one",), None)
        assert RedactingFilter().filter(record)
        assert "one" in record.getMessage()


class TestSpans:
    def test_call_span_follows_genai_conventions(
        self, tracer: Any, exporter: InMemorySpanExporter, logger: logging.Logger
    ) -> None:
        """One CLIENT span per call, named '<operation> <model>', with usage and cost."""
        fake_call(Observer(logger=logger, tracer=tracer))
        (span,) = exporter.get_finished_spans()
        assert span.name == "chat llama"
        attrs = dict(span.attributes or {})
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.request.model"] == "llama"
        assert attrs["gen_ai.system"] == "openai"  # the target that answered
        assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
        assert attrs["gen_ai.response.id"] == "chatcmpl-1"
        assert attrs["gen_ai.usage.input_tokens"] == 12
        assert attrs["gen_ai.usage.output_tokens"] == 5
        assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)  # type: ignore[arg-type]
        assert attrs["aigate.cost_usd"] == pytest.approx(0.0000048)
        assert attrs["aigate.cost_usd_exact"] == "0.0000048"
        assert attrs["aigate.route"] == "fast"
        assert attrs["aigate.attempts"] == 2
        assert span.status.status_code == StatusCode.UNSET
        (event,) = span.events
        assert event.name == "aigate.fallback"
        assert (event.attributes or {})["aigate.from_provider"] == "groq"

    def test_gemini_system_name(self, tracer: Any, exporter: InMemorySpanExporter) -> None:
        observer = Observer(tracer=tracer)
        handle = observer.start_span(
            RequestEvent(call_id="g", provider="google", system="gemini", model="gemini-2.5-flash")
        )
        observer.end_span(handle)
        (span,) = exporter.get_finished_spans()
        assert (span.attributes or {})["gen_ai.system"] == "gcp.gemini"

    def test_error_span_has_type_and_status_but_no_message(
        self, tracer: Any, exporter: InMemorySpanExporter
    ) -> None:
        """An exception ends the span in error with its type; its text (which could quote
        a provider's answer, or worse) is not copied."""
        canary = f"sk-canary-{uuid.uuid4().hex}"
        observer = Observer(tracer=tracer)
        handle = observer.start_span(RequestEvent(call_id="e", provider="openai", model="m"))
        error = RuntimeError(f"bad key {canary}")
        error.status_code = 401  # type: ignore[attr-defined]
        observer.end_span(handle, error=error)
        observer.end_span(handle, error=error)  # ending twice does nothing
        (span,) = exporter.get_finished_spans()
        assert span.status.status_code == StatusCode.ERROR
        attrs = dict(span.attributes or {})
        assert attrs["error.type"] == "RuntimeError"
        assert attrs["http.response.status_code"] == 401
        assert canary not in repr(attrs) and canary not in str(span.status.description)

    def test_error_event_span(self, tracer: Any, exporter: InMemorySpanExporter) -> None:
        observer = Observer(tracer=tracer)
        handle = observer.start_span(RequestEvent(call_id="e", model="m", kind="embedding"))
        observer.end_span(
            handle,
            error=ErrorEvent(
                call_id="e", error_type="AllTargetsFailed", error_class="transient", attempt=3
            ),
        )
        (span,) = exporter.get_finished_spans()
        assert span.name == "embeddings m"
        assert (span.attributes or {})["aigate.attempts"] == 3
        assert (span.attributes or {})["aigate.error_class"] == "transient"

    def test_tracing_off_is_a_no_op(self) -> None:
        observer = Observer()
        handle = observer.start_span(RequestEvent(call_id="c"))
        assert handle.span is None
        observer.retry(RetryEvent(call_id="c"), span=handle)
        observer.end_span(handle, response=ResponseEvent(call_id="c"))
        assert "tracing=False" in repr(observer)

    def test_tracing_true_uses_the_global_tracer(self) -> None:
        """With no tracer given, tracing=True takes opentelemetry's global one (a no-op
        tracer until the application installs a provider)."""
        observer = Observer(tracing=True)
        handle = observer.start_span(RequestEvent(call_id="c", model="m"))
        assert handle.span is not None
        observer.end_span(handle, response=ResponseEvent(call_id="c"))

    def test_a_broken_tracer_never_breaks_the_call(self, logger: logging.Logger) -> None:
        class Broken:
            def start_span(self, *args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("exporter down")

        observer = Observer(logger=logger, tracer=Broken())
        handle = observer.start_span(RequestEvent(call_id="c"))
        assert handle.span is None


class TestGatewayCanary:
    """Through a real gateway: a unique fake key, every error path, DEBUG logging, hooks,
    tracing and a ledger on. The key shows up in no log line, no str/repr of an error or
    the config, no traceback, no span attribute, no event and no ledger row."""

    def test_key_never_leaks(
        self, tracer: Any, exporter: InMemorySpanExporter, capture: Capture, logger: Any
    ) -> None:
        self.check(tracer, exporter, capture, echo=False)

    def test_key_echoed_by_the_provider_never_leaks(
        self, tracer: Any, exporter: InMemorySpanExporter, capture: Capture, logger: Any
    ) -> None:
        self.check(tracer, exporter, capture, echo=True)

    def check(
        self, tracer: Any, exporter: InMemorySpanExporter, capture: Capture, *, echo: bool
    ) -> None:
        import traceback

        import aigate
        from aigate.testing import FakeTransport, error, reply, timeout

        key = f"sk-canary{uuid.uuid4().hex}"
        message = f"Incorrect API key provided: {key}" if echo else "Incorrect API key provided"
        events: list[Any] = []
        hooks = Hooks(**{f.name: events.append for f in dataclasses.fields(Hooks)})
        # the gateway logs to "aigate": route it to the capturing handler too
        aigate_logger = logging.getLogger("aigate")
        old_level = aigate_logger.level
        aigate_logger.setLevel(logging.DEBUG)
        aigate_logger.addHandler(capture)
        capture.addFilter(RedactingFilter())
        failures: list[BaseException] = []
        texts: list[str] = []
        records: list[Any] = []
        messages = [{"role": "user", "content": "hi"}]

        def gateway(*script: Any) -> aigate.Gateway:
            return aigate.Gateway(
                providers={"openai": {"api_keys": [key]}, "backup": {"kind": "fake"}},
                routes={"one": ["openai/gpt-4o-mini"], "two": ["openai/gpt-4o", "backup/m"]},
                ledger="memory://",
                budget={"limits": [{"scope": "user:poor", "amount": "0", "window": "day"}]},
                transport=FakeTransport(script),
                observer=Observer(hooks, logger=aigate_logger, tracer=tracer),
            )

        scenarios: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
            ((error(401, message),), {}),
            ((error(503),), {}),
            ((timeout(),), {}),
            ((), {"user": "poor"}),  # budget exceeded, before sending
            ((), {"messages": "not a list"}),  # validation error
            ((error(500), reply("ok")), {"model": "two"}),  # a fallback, then success
        ]
        try:
            for script, kwargs in scenarios:
                with gateway(*script) as gw:
                    try:
                        gw.chat.completions.create(
                            **{"model": "one", "messages": messages, **kwargs}
                        )
                    except aigate.AigateError as exc:
                        failures.append(exc)
                    records += [r.to_dict() for r in gw.usage.query()]
                    texts += [repr(gw), repr(gw.config), str(gw.config), repr(gw.providers)]
            try:
                aigate.Gateway(providers={"openai": {"api_keys": [key], "api_kez": key}})
            except aigate.ConfigurationError as exc:
                failures.append(exc)
        finally:
            aigate_logger.removeHandler(capture)
            aigate_logger.setLevel(old_level)
        kinds = [type(e).__name__ for e in failures]
        assert kinds == [
            "AuthenticationError",
            "InternalServerError",
            "APITimeoutError",
            "BudgetExceeded",
            "InvalidRequestError",
            "ConfigurationError",
        ]
        for exc in failures:
            texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
            texts += [repr(vars(exc))]
        texts.append(capture.text)
        texts += [repr(e) for e in events]
        texts += [repr(records)]
        assert len(records) >= 4
        for span in exporter.get_finished_spans():
            texts += [repr(dict(span.attributes or {})), repr(span.events), str(span.status)]
        assert len(exporter.get_finished_spans()) >= 4
        assert any(isinstance(e, FallbackEvent) for e in events)
        blob = "\n".join(texts)
        assert key not in blob
        assert key[3:] not in blob  # not even without its prefix
