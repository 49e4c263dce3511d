"""Hooks, logging and spans through a real gateway, and the secret canary on every path."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import aigate
from aigate.observe import Hooks, Observer
from aigate.testing import FakeTransport, error, reply, timeout

CANARY = "sk-canary-2f9d41c7e0b8a6d3"
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(name="spans")
def _spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def observed(
    make_gateway: Any, script: list[Any], spans: InMemorySpanExporter, events: list[Any]
) -> Any:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    hooks = Hooks(
        on_request=events.append,
        on_response=events.append,
        on_error=events.append,
        on_retry=events.append,
        on_fallback=events.append,
        on_cache_hit=events.append,
    )
    observer = Observer(hooks, tracer=provider.get_tracer("test"))
    return make_gateway(
        providers={"openai": {"api_keys": [CANARY]}, "groq": {"api_keys": [CANARY + "-g"]}},
        routes={"r": ["groq/openai/gpt-oss-20b", "openai/gpt-4o-mini"]},
        cache="memory://",
        transport=FakeTransport(script),
        observer=observer,
    )


class TestEvents:
    def test_fallback_then_success(self, make_gateway: Any, spans: Any) -> None:
        events: list[Any] = []
        gw = observed(make_gateway, [error(503), reply("ok")], spans, events)
        r = gw.chat(model="r", messages=HI)
        names = [type(e).__name__ for e in events]
        assert names == ["RequestEvent", "ErrorEvent", "FallbackEvent", "ResponseEvent"]
        response = events[-1]
        assert response.cost_usd == r.gateway.cost_usd
        assert response.call_id == r.gateway.call_id
        (span,) = spans.get_finished_spans()
        assert (
            span.attributes["gen_ai.request.model"] == "openai/gpt-oss-20b"
            or span.attributes["gen_ai.request.model"]
        )
        assert span.attributes["gen_ai.usage.input_tokens"] == r.usage.prompt_tokens

    def test_cache_hit_event(self, make_gateway: Any, spans: Any) -> None:
        events: list[Any] = []
        gw = observed(make_gateway, [], spans, events)
        gw.chat(model="openai/gpt-4o-mini", messages=HI, temperature=0)
        gw.chat(model="openai/gpt-4o-mini", messages=HI, temperature=0)
        assert "CacheHitEvent" in [type(e).__name__ for e in events]

    def test_a_failing_hook_never_breaks_the_call(self, make_gateway: Any) -> None:
        def boom(event: Any) -> None:
            raise RuntimeError("hook failed")

        gw = make_gateway(
            providers={"openai": {"api_keys": ["k"]}},
            transport=FakeTransport(),
            hooks=Hooks(on_request=boom, on_response=boom),
        )
        assert gw.chat(model="openai/gpt-4o-mini", messages=HI).choices[0].message.content


class TestCanary:
    def test_key_appears_nowhere(
        self, make_gateway: Any, spans: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        """401, 5xx, timeout, stream cut, validation and config errors with DEBUG logging,
        hooks and tracing on: the key is in no log line, error, traceback or span."""
        caplog.set_level(logging.DEBUG)
        events: list[Any] = []
        script = [
            error(401, f"Incorrect API key provided: {CANARY[:7]}***"),
            error(500),
            timeout(),
            timeout(connect=True),
            reply("a b c d", cut_after=3),
        ]
        gw = observed(make_gateway, script, spans, events)
        texts: list[str] = []
        calls: list[dict[str, Any]] = [
            {"model": "openai/gpt-4o-mini", "messages": HI},
            {"model": "openai/gpt-4o-mini", "messages": HI},
            {"model": "r", "messages": HI},
            {"model": "openai/gpt-4o-mini", "messages": HI, "stream": True},
            {"model": "openai/gpt-4o-mini", "messages": "not a list"},
            {"model": "nope/x", "messages": HI},
        ]
        for kwargs in calls:
            try:
                if kwargs.get("stream"):
                    kwargs.pop("stream")
                    gw.stream(**kwargs)
                else:
                    gw.chat(**kwargs)
            except aigate.AigateError as exc:
                texts += [str(exc), repr(exc)]
                texts.append("".join(traceback.format_exception(exc)))
                for inner in getattr(exc, "errors", ()):
                    texts += [str(inner), repr(inner), repr(getattr(inner, "body", None))]
        with pytest.raises(aigate.ConfigurationError) as bad:
            aigate.Gateway(providers={"openai": {"api_keys": [CANARY], "bogus": CANARY}})
        texts += [str(bad.value), "".join(traceback.format_exception(bad.value))]
        texts += [record.getMessage() for record in caplog.records]
        texts += [repr(record.__dict__) for record in caplog.records]
        texts += [repr(e) for e in events]
        for span in spans.get_finished_spans():
            texts.append(repr(dict(span.attributes or {})))
            texts += [repr(dict(ev.attributes or {})) for ev in span.events]
        assert len(spans.get_finished_spans()) >= 4
        assert any("ErrorEvent" in t for t in texts)
        for text in texts:
            assert CANARY not in text
