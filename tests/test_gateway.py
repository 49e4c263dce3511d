"""The core gateway: OpenAI surface, OpenAI wire format, failover, streaming, errors.

Every test that calls a gateway runs twice, on Gateway and AsyncGateway (``make_gateway``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai.types as oai
import openai.types.audio as oai_audio
import openai.types.chat as oai_chat
import pytest
import respx  # it mocks httpx only: the tests that use it pick http="httpx"

import aigate
from aigate.testing import FakeTransport, error, reply, timeout

FIXTURES = Path(__file__).parent / "fixtures" / "openai"
HI = [{"role": "user", "content": "Hi"}]
OPENAI = {"openai": {"api_keys": ["sk-test-a"]}}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def two_providers(**extra: Any) -> dict[str, Any]:
    return {
        "providers": {
            "openai": {"api_keys": ["sk-test-a", "sk-test-b"]},
            "groq": {"api_keys": ["gsk-test"]},
        },
        "routes": {"fast": ["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"]},
        **extra,
    }


class TestChat:
    def test_documented_response_is_returned_in_openai_shape(self, make_gateway: Any) -> None:
        """The OpenAI reference response comes back field for field, plus r.gateway."""
        with respx.mock(assert_all_called=True) as router:
            router.post("https://api.openai.com/v1/chat/completions").respond(
                200, content=fixture("chat_completion.json"), headers={"x-request-id": "req_1"}
            )
            gw = make_gateway(http="httpx", providers=OPENAI)
            r = gw.chat(model="openai/gpt-4o-mini", messages=HI)
        assert r.choices[0].message.content == "\n\nHello there, how may I assist you today?"
        assert r.usage.prompt_tokens == 9 and r.usage.completion_tokens == 12
        oai_chat.ChatCompletion.model_validate(r.model_dump())
        assert "gateway" not in r.model_dump()
        info = r.gateway
        assert (info.provider, info.model, info.route, info.cached) == (
            "openai",
            "gpt-4o-mini",
            None,
            False,
        )
        assert info.request_id == "req_1"
        assert info.cost_usd is not None and info.cost_usd > 0
        assert info.latency_ms > 0
        assert [a.status_code for a in info.attempts] == [200]

    def test_request_body_sends_only_what_was_given(self, make_gateway: Any) -> None:
        """Absent parameters are not sent; given ones are; extras are merged."""
        fake = FakeTransport()
        gw = make_gateway(providers=OPENAI, transport=fake)
        gw.chat(
            model="openai/gpt-4o-mini",
            messages=HI,
            temperature=0,
            seed=7,
            max_tokens=None,
            metadata={"project": "acme"},
            extra_headers={"x-trace": "t1"},
            extra_query={"api-version": "2"},
            extra_body={"custom_field": True},
        )
        call = fake.last_request
        assert call.json == {
            "model": "gpt-4o-mini",
            "messages": HI,
            "temperature": 0,
            "seed": 7,
            "custom_field": True,
        }
        assert call.request.headers["authorization"] == "Bearer sk-test-a"
        assert call.request.headers["x-trace"] == "t1"
        assert call.request.url.params["api-version"] == "2"

    def test_metadata_is_forwarded_only_with_store(self, make_gateway: Any) -> None:
        fake = FakeTransport()
        gw = make_gateway(providers=OPENAI, transport=fake)
        gw.chat(model="openai/gpt-4o", messages=HI, store=True, metadata={"a": "b"})
        assert fake.last_request.json["metadata"] == {"a": "b"}

    def test_tool_calls_fixture(self, make_gateway: Any) -> None:
        with respx.mock() as router:
            router.post("https://api.openai.com/v1/chat/completions").respond(
                200, content=fixture("chat_tool_calls.json")
            )
            gw = make_gateway(http="httpx", providers=OPENAI)
            r = gw.chat(
                model="openai/gpt-4o-mini",
                messages=HI,
                tools=[{"type": "function", "function": {"name": "get_current_weather"}}],
            )
        call = r.choices[0].message.tool_calls[0]
        assert call.function.name == "get_current_weather"
        assert json.loads(call.function.arguments) == {"location": "Boston, MA"}
        assert r.choices[0].finish_reason == "tool_calls"

    def test_keys_are_used_in_turn(self, make_gateway: Any) -> None:
        fake = FakeTransport()
        gw = make_gateway(providers={"openai": {"api_keys": ["sk-1", "sk-2"]}}, transport=fake)
        for _ in range(4):
            gw.chat(model="openai/gpt-4o-mini", messages=HI)
        used = [c.request.headers["authorization"] for c in fake.calls]
        assert used == ["Bearer sk-2", "Bearer sk-1", "Bearer sk-2", "Bearer sk-1"]

    def test_key_from_environment_and_callable(
        self, make_gateway: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("GROQ_API_KEY", "gsk-env")
        fake = FakeTransport()
        gw = make_gateway(
            providers={"groq": {}, "openai": {"api_key": lambda: "sk-from-callable"}},
            transport=fake,
        )
        gw.chat(model="groq/llama-3.1-8b-instant", messages=HI)
        gw.chat(model="openai/gpt-4o-mini", messages=HI)
        assert fake.calls[0].request.url.host == "api.groq.com"
        assert fake.calls[0].request.headers["authorization"] == "Bearer gsk-env"
        assert fake.calls[1].request.headers["authorization"] == "Bearer sk-from-callable"

    def test_local_server_needs_no_key(self, make_gateway: Any) -> None:
        fake = FakeTransport()
        gw = make_gateway(
            providers={"local": {"kind": "openai", "base_url": "http://127.0.0.1:8080/v1/"}},
            transport=fake,
        )
        gw.chat(model="local/llama3", messages=HI)
        request = fake.last_request.request
        assert str(request.url) == "http://127.0.0.1:8080/v1/chat/completions"
        assert "authorization" not in request.headers

    def test_model_split_on_first_slash(self, make_gateway: Any) -> None:
        fake = FakeTransport()
        gw = make_gateway(providers={"openrouter": {"api_keys": ["or-key"]}}, transport=fake)
        r = gw.chat(model="openrouter/anthropic/claude-3-haiku", messages=HI)
        assert fake.last_request.json["model"] == "anthropic/claude-3-haiku"
        assert fake.last_request.request.url.host == "openrouter.ai"
        assert r.gateway.model == "anthropic/claude-3-haiku"

    def test_openrouter_headers_and_reported_cost(self, make_gateway: Any) -> None:
        """OpenRouter's own usage.cost is the cost; its attribution headers are sent."""
        with respx.mock() as router:
            route = router.post("https://openrouter.ai/api/v1/chat/completions").respond(
                200, content=fixture("openrouter_chat.json")
            )
            gw = make_gateway(http="httpx", 
                providers={
                    "openrouter": {
                        "api_keys": ["or-key"],
                        "options": {"site_url": "https://acme.test", "app_name": "Acme"},
                    }
                }
            )
            r = gw.chat(model="openrouter/anthropic/claude-3-haiku", messages=HI)
        sent = route.calls.last.request
        assert sent.headers["http-referer"] == "https://acme.test"
        assert sent.headers["x-title"] == "Acme"
        assert str(r.gateway.cost_usd) == "0.0000245"

    def test_per_provider_timeout_is_applied(self, make_gateway: Any) -> None:
        fake = FakeTransport()
        gw = make_gateway(
            providers={"openai": {"api_keys": ["sk"], "timeout": {"total": 12, "connect": 2}}},
            transport=fake,
        )
        gw.chat(model="openai/gpt-4o-mini", messages=HI)
        assert fake.last_request.request.extensions["timeout"] == {
            "connect": 2.0,
            "read": 12.0,
            "write": 12.0,
            "pool": 12.0,
        }
        gw.chat(model="openai/gpt-4o-mini", messages=HI, timeout=3.5)
        assert fake.last_request.request.extensions["timeout"]["read"] == 3.5


class TestFailover:
    @pytest.mark.parametrize(
        "failure",
        [error(429), error(500), error(503), error(529), timeout(), timeout(connect=True)],
        ids=["429", "500", "503", "529", "timeout", "connect"],
    )
    def test_route_moves_on_after_transient_errors(self, make_gateway: Any, failure: Any) -> None:
        fake = FakeTransport([failure, reply("from openai")])
        gw = make_gateway(**two_providers(), transport=fake)
        r = gw.chat(model="fast", messages=HI)
        assert r.choices[0].message.content == "from openai"
        assert r.gateway.route == "fast"
        assert [a.provider for a in r.gateway.attempts] == ["groq", "openai"]
        assert r.gateway.attempts[0].error_class == "transient"

    @pytest.mark.parametrize("status", [400, 404, 422])
    def test_request_errors_surface_at_once(self, make_gateway: Any, status: int) -> None:
        fake = FakeTransport([error(status, "bad request"), reply("never")])
        gw = make_gateway(**two_providers(), transport=fake)
        with pytest.raises(aigate.APIStatusError) as info:
            gw.chat(model="fast", messages=HI)
        assert info.value.status_code == status
        assert len(fake.calls) == 1

    def test_context_length_is_typed_and_not_failed_over(self, make_gateway: Any) -> None:
        body = json.loads(fixture("error_context_length.json"))
        fake = FakeTransport([error(400, body=body), reply("never")])
        gw = make_gateway(**two_providers(), transport=fake)
        with pytest.raises(aigate.ContextLengthExceededError) as info:
            gw.chat(model="fast", messages=HI)
        assert info.value.code == "context_length_exceeded"
        assert info.value.param == "messages"
        assert len(fake.calls) == 1

    def test_all_targets_failed_carries_every_attempt(self, make_gateway: Any) -> None:
        fake = FakeTransport([error(503), error(429, headers={"retry-after": "7"})])
        gw = make_gateway(**two_providers(), transport=fake)
        with pytest.raises(aigate.AllTargetsFailed) as info:
            gw.chat(model="fast", messages=HI)
        failed = info.value
        assert [(a.provider, a.status_code) for a in failed.attempts] == [
            ("groq", 503),
            ("openai", 429),
        ]
        assert isinstance(failed.errors[0], aigate.InternalServerError)
        assert isinstance(failed.last_error, aigate.RateLimitError)
        assert failed.last_error.rate_limit.retry_after_s == 7.0
        assert isinstance(failed.__cause__, aigate.RateLimitError)

    def test_single_target_raises_the_specific_error(self, make_gateway: Any) -> None:
        body = json.loads(fixture("error_insufficient_quota.json"))
        fake = FakeTransport(
            [error(429, body=body, headers={"retry-after-ms": "1500", "x-request-id": "req_9"})]
        )
        gw = make_gateway(providers=OPENAI, transport=fake)
        with pytest.raises(aigate.RateLimitError) as info:
            gw.chat(model="openai/gpt-4o-mini", messages=HI)
        err = info.value
        assert err.status_code == 429
        assert err.code == "insufficient_quota"
        assert err.error_class == "key"
        assert err.rate_limit.retry_after_s == 1.5
        assert err.request_id == "req_9"
        assert "exceeded your current quota" in str(err)

    def test_unreadable_body_is_a_typed_error(self, make_gateway: Any) -> None:
        with respx.mock() as router:
            router.post("https://api.openai.com/v1/chat/completions").respond(
                200, content=b"<html>gateway</html>"
            )
            gw = make_gateway(http="httpx", providers=OPENAI)
            with pytest.raises(aigate.APIResponseValidationError):
                gw.chat(model="openai/gpt-4o-mini", messages=HI)

    def test_unknown_finish_reason_is_normalised(self, make_gateway: Any) -> None:
        body = json.loads(fixture("chat_completion.json"))
        body["choices"][0]["finish_reason"] = "eos"
        with respx.mock() as router:
            router.post("https://api.openai.com/v1/chat/completions").respond(200, json=body)
            gw = make_gateway(http="httpx", providers=OPENAI)
            r = gw.chat(model="openai/gpt-4o-mini", messages=HI)
        assert r.choices[0].finish_reason == "stop"


class TestStreaming:
    def test_documented_stream(self, make_gateway: Any) -> None:
        with respx.mock() as router:
            route = router.post("https://api.openai.com/v1/chat/completions").respond(
                200,
                content=fixture("chat_stream.sse"),
                headers={"content-type": "text/event-stream"},
            )
            gw = make_gateway(http="httpx", providers=OPENAI)
            chunks, stream = gw.stream(model="openai/gpt-4o-mini", messages=HI)
        sent = json.loads(route.calls.last.request.content)
        assert sent["stream"] is True
        assert sent["stream_options"] == {"include_usage": True}
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "Hello!"
        for chunk in chunks:
            oai_chat.ChatCompletionChunk.model_validate(chunk.model_dump())
        assert chunks[-1].usage.total_tokens == 11
        assert stream.gateway.provider == "openai"
        assert stream.gateway.cost_usd is not None
        assert stream.gateway.ttft_ms is not None
        assert stream.completion().choices[0].message.content == "Hello!"
        assert stream.completion().choices[0].finish_reason == "stop"

    def test_stream_options_are_merged_not_replaced(self, make_gateway: Any) -> None:
        fake = FakeTransport()
        gw = make_gateway(providers=OPENAI, transport=fake)
        gw.stream(
            model="openai/gpt-4o-mini", messages=HI, stream_options={"include_obfuscation": False}
        )
        assert fake.last_request.json["stream_options"] == {
            "include_obfuscation": False,
            "include_usage": True,
        }

    def test_failover_before_first_chunk(self, make_gateway: Any) -> None:
        fake = FakeTransport([error(500), reply("streamed from openai")])
        gw = make_gateway(**two_providers(), transport=fake)
        chunks, stream = gw.stream(model="fast", messages=HI)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "streamed from openai"
        assert [a.provider for a in stream.gateway.attempts] == ["groq", "openai"]

    def test_stream_cut_before_content_fails_over(self, make_gateway: Any) -> None:
        fake = FakeTransport([reply("lost", cut_after=1), reply("whole answer")])
        gw = make_gateway(**two_providers(), transport=fake)
        chunks, _ = gw.stream(model="fast", messages=HI)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
            "whole answer"
        )

    def test_stream_cut_after_content_raises_with_partial(self, make_gateway: Any) -> None:
        fake = FakeTransport([reply("one two three four five", cut_after=3)])
        gw = make_gateway(**two_providers(), transport=fake)
        with pytest.raises(aigate.StreamInterrupted) as info:
            gw.stream(model="fast", messages=HI)
        partial = info.value.partial
        assert partial.choices[0].message.content == "one two"
        assert partial.gateway.estimated is True  # usage never arrived: counted locally
        assert isinstance(info.value.__cause__, aigate.APIConnectionError)

    def test_error_event_mid_stream(self, make_gateway: Any) -> None:
        """An error event after delivered content: StreamInterrupted with the partial text."""
        from aigate.testing import _CutStream

        events = [e + b"\n\n" for e in fixture("openrouter_stream_error.sse").split(b"\n\n")]
        with respx.mock() as router:
            router.post("https://openrouter.ai/api/v1/chat/completions").mock(
                return_value=httpx.Response(
                    200,
                    headers={"content-type": "text/event-stream"},
                    stream=_CutStream(events, cut=False),  # one network read per event
                )
            )
            gw = make_gateway(http="httpx", providers={"openrouter": {"api_keys": ["or"]}})
            with pytest.raises(aigate.StreamInterrupted) as info:
                gw.stream(model="openrouter/anthropic/claude-3-haiku", messages=HI)
        assert info.value.partial.choices[0].message.content == "Partial"
        cause = info.value.__cause__
        assert isinstance(cause, aigate.StreamError)
        assert cause.code == "server_error"

    def test_error_event_before_content_delivered_raises_stream_error(
        self, make_gateway: Any
    ) -> None:
        """Nothing reached the caller yet, so the error is the call's error (or a failover)."""
        with respx.mock() as router:
            router.post("https://openrouter.ai/api/v1/chat/completions").respond(
                200,
                content=fixture("openrouter_stream_error.sse"),
                headers={"content-type": "text/event-stream"},
            )
            gw = make_gateway(http="httpx", providers={"openrouter": {"api_keys": ["or"]}})
            with pytest.raises(aigate.StreamError, match="Provider disconnected"):
                gw.stream(model="openrouter/anthropic/claude-3-haiku", messages=HI)

    def test_stream_without_usage_is_estimated(self, make_gateway: Any) -> None:
        fake = FakeTransport([reply("no usage here", send_usage=False)])
        gw = make_gateway(providers=OPENAI, transport=fake)
        _, stream = gw.stream(model="openai/gpt-4o-mini", messages=HI)
        assert stream.gateway.estimated is True
        assert stream.gateway.cost_usd is not None and stream.gateway.cost_usd > 0

    def test_close_early_stops_reading(self, make_gateway: Any) -> None:
        fake = FakeTransport([reply("a b c d e f g h")])
        gw = make_gateway(providers=OPENAI, transport=fake)
        chunks, stream = gw.stream(model="openai/gpt-4o-mini", messages=HI, limit=3)
        assert len(chunks) == 3
        assert stream.gateway is not None  # recorded even though the caller stopped

    def test_groq_usage_in_x_groq(self, make_gateway: Any) -> None:
        events = [
            {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}]},
            {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
             "x_groq": {"id": "req_x", "usage": {"prompt_tokens": 5, "completion_tokens": 1,
                                                 "total_tokens": 6}}},
        ]  # fmt: skip
        body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
        body += b"data: [DONE]\n\n"
        with respx.mock() as router:
            router.post("https://api.groq.com/openai/v1/chat/completions").respond(
                200, content=body, headers={"content-type": "text/event-stream"}
            )
            gw = make_gateway(http="httpx", providers={"groq": {"api_keys": ["g"]}})
            _, stream = gw.stream(model="groq/llama-3.1-8b-instant", messages=HI)
        assert stream.usage.total_tokens == 6
        assert stream.gateway.estimated is False


class TestEmbeddingsAndAudio:
    def test_embeddings_fixture(self, make_gateway: Any) -> None:
        with respx.mock() as router:
            route = router.post("https://api.openai.com/v1/embeddings").respond(
                200, content=fixture("embeddings.json")
            )
            gw = make_gateway(http="httpx", providers=OPENAI)
            # one input: the documented answer holds one vector (13.13 refuses a short one)
            r = gw.embeddings(model="openai/text-embedding-3-small", input=["a"])
        assert json.loads(route.calls.last.request.content) == {
            "model": "text-embedding-3-small",
            "input": ["a"],
        }
        oai.CreateEmbeddingResponse.model_validate(r.model_dump())
        assert r.data[0].embedding[0] == 0.0023064255
        assert r.gateway.provider == "openai"
        assert r.gateway.cost_usd is not None

    @pytest.mark.parametrize("kind", ["bytes", "file", "path", "tuple"])
    def test_transcription_file_forms(self, make_gateway: Any, tmp_path: Path, kind: str) -> None:
        audio = tmp_path / "a.mp3"
        audio.write_bytes(b"ID3fake-audio")
        forms = {
            "bytes": lambda: b"ID3fake-audio",
            "file": lambda: audio.open("rb"),
            "path": lambda: audio,
            "tuple": lambda: ("a.mp3", b"ID3fake-audio", "audio/mpeg"),
        }
        with respx.mock() as router:
            route = router.post("https://api.groq.com/openai/v1/audio/transcriptions").respond(
                200, json={"text": "hello world", "x_groq": {"id": "req_1"}}
            )
            gw = make_gateway(http="httpx", providers={"groq": {"api_keys": ["g"]}})
            upload = forms[kind]()
            try:
                r = gw.transcribe(model="groq/whisper-large-v3", file=upload, language="en")
            finally:
                if hasattr(upload, "close"):
                    upload.close()
        sent = route.calls.last.request
        assert sent.headers["content-type"].startswith("multipart/form-data")
        assert b"ID3fake-audio" in sent.content
        assert b'name="language"' in sent.content
        assert r.text == "hello world"
        oai_audio.Transcription.model_validate(r.model_dump())

    def test_text_transcription_format(self, make_gateway: Any) -> None:
        with respx.mock() as router:
            router.post("https://api.openai.com/v1/audio/transcriptions").respond(
                200, text="plain words", headers={"content-type": "text/plain"}
            )
            gw = make_gateway(http="httpx", providers=OPENAI)
            r = gw.transcribe(model="openai/whisper-1", file=b"x", response_format="text")
        assert r.text == "plain words"


def _bad_calls() -> list[tuple[str, dict[str, Any], str]]:
    ok = {"model": "openai/gpt-4o-mini", "messages": HI}
    return [
        ("messages-not-list", {**ok, "messages": "Hi"}, "messages"),
        ("messages-empty", {**ok, "messages": []}, "messages"),
        ("message-not-dict", {**ok, "messages": ["Hi"]}, "messages.0"),
        ("bad-role", {**ok, "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ("no-content", {**ok, "messages": [{"role": "user"}]}, "messages.0.content"),
        (
            "content-type",
            {**ok, "messages": [{"role": "user", "content": 42}]},
            "messages.0.content",
        ),
        (
            "bad-part",
            {**ok, "messages": [{"role": "user", "content": [{"type": "video"}]}]},
            "messages.0.content.0",
        ),
        (
            "tool-without-id",
            {**ok, "messages": [{"role": "tool", "content": "42"}]},
            "messages.0.tool_call_id",
        ),
        ("negative-max-tokens", {**ok, "max_tokens": -5}, "max_tokens"),
        ("float-max-tokens", {**ok, "max_tokens": 1.5}, "max_tokens"),
        ("temperature-range", {**ok, "temperature": 3}, "temperature"),
        ("stop-type", {**ok, "stop": 5}, "stop"),
        ("tools-shape", {**ok, "tools": [{"type": "function"}]}, "tools.0"),
        ("unknown-param", {**ok, "temprature": 0.2}, "temprature"),
        ("unknown-model", {**ok, "model": "gpt-4o"}, "model"),
        ("unknown-provider", {**ok, "model": "nope/gpt-4o"}, "model"),
        ("model-type", {**ok, "model": 4}, "model"),
        ("metadata-type", {**ok, "metadata": {"a": 1}}, "metadata"),
        ("stream-type", {**ok, "stream": "yes"}, "stream"),
        ("timeout", {**ok, "timeout": -1}, "timeout"),
    ]


class TestBadInput:
    @pytest.mark.parametrize(
        ("kwargs", "field"), [c[1:] for c in _bad_calls()], ids=[c[0] for c in _bad_calls()]
    )
    def test_bad_chat_arguments(self, make_gateway: Any, kwargs: Any, field: str) -> None:
        """Each bad argument is a typed error naming its field; nothing is sent."""
        fake = FakeTransport()
        gw = make_gateway(**two_providers(), transport=fake)
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat(**kwargs)
        assert info.value.field == field
        assert field in str(info.value)
        assert fake.calls == []

    def test_unknown_model_lists_providers_and_routes(self, make_gateway: Any) -> None:
        gw = make_gateway(**two_providers(), transport=FakeTransport())
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat(model="claude", messages=HI)
        assert "['groq', 'openai']" in str(info.value)
        assert "['fast']" in str(info.value)

    @pytest.mark.parametrize("bad", ["a string", 42, object()])
    def test_bad_file(self, make_gateway: Any, bad: Any) -> None:
        fake = FakeTransport()
        gw = make_gateway(providers=OPENAI, transport=fake)
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.transcribe(model="openai/whisper-1", file=bad)
        assert info.value.field == "file"
        assert fake.calls == []

    def test_text_mode_file_is_rejected(self, make_gateway: Any, tmp_path: Path) -> None:
        path = tmp_path / "a.txt"
        path.write_text("x")
        gw = make_gateway(providers=OPENAI, transport=FakeTransport())
        with path.open() as handle, pytest.raises(aigate.InvalidRequestError, match="binary"):
            gw.transcribe(model="openai/whisper-1", file=handle)

    def test_bad_embeddings_input(self, make_gateway: Any) -> None:
        gw = make_gateway(providers=OPENAI, transport=FakeTransport())
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.embeddings(model="openai/text-embedding-3-small", input=[1.5])
        assert info.value.field == "input"


class TestSSE:
    def _decode(self, *pieces: bytes) -> list[Any]:
        from aigate.providers._sse import SSEDecoder

        decoder = SSEDecoder()
        events = []
        for piece in pieces:
            events += decoder.feed(piece)
        return events + decoder.flush()

    def test_comments_multiline_and_names(self) -> None:
        events = self._decode(b": keepalive\n\nevent: ping\ndata: a\ndata: b\nid: 7\n\n")
        assert [(e.event, e.data, e.id) for e in events] == [("ping", "a\nb", "7")]

    def test_split_anywhere_and_crlf(self) -> None:
        raw = b'data: {"x": "\xc3\xa9"}\r\n\r\ndata: [DONE]\r\n\r\n'
        for cut in range(1, len(raw)):
            events = self._decode(raw[:cut], raw[cut:])
            assert [e.data for e in events] == ['{"x": "é"}', "[DONE]"], cut

    def test_event_without_trailing_blank_line_is_flushed(self) -> None:
        assert [e.data for e in self._decode(b"data: last")] == ["last"]

    def test_no_space_after_colon_and_empty_data(self) -> None:
        events = self._decode(b"data:x\n\ndata\n\n")
        assert [e.data for e in events] == ["x", ""]


def test_long_tool_call_ids_are_shortened_for_openai(make_gateway: Any) -> None:
    """A history from another provider (Gemini's signed ids) still fits OpenAI's 40-char ids,
    with the call and its result mapped alike."""
    long_id = "call_" + "x" * 60 + "__thought__sig"
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": long_id, "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": long_id, "content": "sunny"},
    ]
    fake = FakeTransport()
    gw = make_gateway(providers=OPENAI, transport=fake)
    gw.chat(model="openai/gpt-4o-mini", messages=messages)
    sent = fake.last_request.json["messages"]
    new_id = sent[1]["tool_calls"][0]["id"]
    assert len(new_id) <= 40 and sent[2]["tool_call_id"] == new_id
    assert messages[1]["tool_calls"][0]["id"] == long_id  # the caller's list is untouched


def test_single_target_429_stays_a_rate_limit_error(make_gateway: Any) -> None:
    """Issue 14.11: after a 429 from the only target of a direct call, the next call (its
    key still cooling) is a RateLimitError with the wait, not AllTargetsFailed."""
    fake = FakeTransport([error(429, headers={"retry-after": "30"})])
    gw = make_gateway(providers=OPENAI, transport=fake)
    with pytest.raises(aigate.RateLimitError):
        gw.chat(model="openai/gpt-4o-mini", messages=HI)
    with pytest.raises(aigate.RateLimitError) as again:
        gw.chat(model="openai/gpt-4o-mini", messages=HI)
    assert len(fake.calls) == 1  # the cooling key was not sent again
    assert again.value.rate_limit is not None
    assert 25 < again.value.rate_limit.retry_after_s <= 30


def test_all_targets_failed_names_each_wait(make_gateway: Any) -> None:
    """Issue 14.10: the message says which target (and which keys) each wait belongs to."""
    fake = FakeTransport([error(429, headers={"retry-after": "30"}), error(429)])
    gw = make_gateway(
        providers={"openai": {"api_keys": ["sk-test-a"]}, "groq": {"api_keys": ["gsk-test"]}},
        routes={"fast": ["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"]},
        transport=fake,
    )
    with pytest.raises(aigate.AllTargetsFailed):
        gw.chat(model="fast", messages=HI)
    with pytest.raises(aigate.AllTargetsFailed) as again:
        gw.chat(model="fast", messages=HI)
    message = str(again.value)
    for target in gw.gw.routes["fast"]:
        assert target.name in message
        assert target.provider.keys[0].id in message
