"""The official ``openai`` SDK (httpx2 line, openai >= 3) over aigate's in-process transport.

The upstream is aigate's fake provider, which answers in OpenAI's documented wire format
(Chat Completions, streaming chunks, Embeddings, Audio transcriptions: the OpenAI API
reference); every result is checked with openai's own types.
"""

from __future__ import annotations

import base64
import struct
from decimal import Decimal
from typing import Any

import openai
import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import aigate
from aigate.testing import FakeTransport, error, reply, timeout

from .conftest import HI, MODEL

CHAT = {"model": "fast", "messages": HI}


class TestChat:
    def test_a_real_openai_completion_through_the_gateway_flow(self, make_sdk: Any) -> None:
        sdk = make_sdk(fake=FakeTransport(["Hello there"]), ledger="memory://")
        r = sdk.run(lambda c: c.chat.completions.create(**CHAT, temperature=0.2))
        assert isinstance(r, ChatCompletion)
        assert r.choices[0].message.content == "Hello there"
        assert r.usage is not None and r.usage.total_tokens > 0
        # the provider got aigate's request (the gateway's key), not the SDK's
        sent = sdk.fake.last_request
        assert sent.json["model"] == "gpt-4o-mini" and sent.json["temperature"] == 0.2
        assert sent.request.headers["authorization"] == "Bearer sk-test"
        [record] = sdk.records()
        assert record.route == "fast" and record.cost_nano is not None

    def test_raw_response_carries_aigate_headers(self, make_sdk: Any) -> None:
        sdk = make_sdk(ledger="memory://")
        raw = sdk.run(lambda c: c.chat.completions.with_raw_response.create(**CHAT))
        headers = raw.headers
        [record] = sdk.records()
        assert headers["x-should-retry"] == "false"
        assert headers["x-aigate-call-id"] == record.id
        assert headers["x-aigate-provider"] == "openai"
        assert headers["x-aigate-route"] == "fast"
        assert headers["x-aigate-attempts"] == "openai/gpt-4o-mini:200"
        assert Decimal(headers["x-aigate-cost-usd"]) == Decimal(record.cost_nano) / 10**9
        assert raw.parse().choices[0].message.content

    def test_tools_and_extra_body_reach_the_provider(self, make_sdk: Any) -> None:
        call = {"name": "get_weather", "arguments": {"city": "Paris"}}
        sdk = make_sdk(fake=FakeTransport([reply(None, tool_calls=[call])]))
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
        r = sdk.run(
            lambda c: c.chat.completions.create(
                **CHAT, tools=tools, extra_body={"provider_flag": True}
            )
        )
        assert r.choices[0].finish_reason == "tool_calls"
        assert r.choices[0].message.tool_calls[0].function.name == "get_weather"
        assert sdk.fake.last_request.json["provider_flag"] is True
        assert sdk.fake.last_request.json["tools"] == tools

    def test_cache_hits_are_served_by_the_gateway(self, make_sdk: Any) -> None:
        sdk = make_sdk(cache={"url": "memory://", "default": "always"})
        first = sdk.run(lambda c: c.chat.completions.with_raw_response.create(**CHAT))
        second = sdk.run(lambda c: c.chat.completions.with_raw_response.create(**CHAT))
        assert first.headers["x-aigate-cached"] == "false"
        assert second.headers["x-aigate-cached"] == "true"
        assert len(sdk.fake.calls) == 1
        assert first.parse().choices[0].message.content == second.parse().choices[0].message.content


class TestStreams:
    def test_stream_chunks_are_openai_chunks(self, make_sdk: Any) -> None:
        sdk = make_sdk(fake=FakeTransport(["one two three"]), ledger="memory://")
        chunks = sdk.stream(**CHAT, stream_options={"include_usage": True})
        assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "one two three"
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        [record] = sdk.records()  # recorded when the stream ended
        assert record.completion_tokens == chunks[-1].usage.completion_tokens

    def test_no_usage_chunk_unless_asked(self, make_sdk: Any) -> None:
        sdk = make_sdk(fake=FakeTransport(["one two"]))
        chunks = sdk.stream(**CHAT)
        assert all(c.choices for c in chunks)
        # aigate still asked the provider for usage, to price the call
        assert sdk.fake.last_request.json["stream_options"] == {"include_usage": True}

    def test_closing_early_still_records(self, make_sdk: Any) -> None:
        sdk = make_sdk(fake=FakeTransport(["a b c d e f g"]), ledger="memory://")
        chunks = sdk.stream(limit=2, **CHAT)
        assert len(chunks) == 2
        assert len(sdk.records()) == 1

    def test_raw_stream_headers(self, make_sdk: Any) -> None:
        sdk = make_sdk(ledger="memory://")
        _, headers = sdk.stream(raw=True, **CHAT)
        assert headers["content-type"] == "text/event-stream"
        assert headers["x-should-retry"] == "false"
        # who answers and the call id are known when the stream starts
        [record] = sdk.records()
        assert headers["x-aigate-call-id"] == record.id
        assert headers["x-aigate-provider"] == "openai" and headers["x-aigate-route"] == "fast"

    def test_a_cached_stream_has_its_whole_account_up_front(self, make_sdk: Any) -> None:
        sdk = make_sdk(cache={"url": "memory://", "default": "always"})
        first = sdk.stream(**CHAT)
        again, headers = sdk.stream(raw=True, **CHAT)
        assert headers["x-aigate-cached"] == "true"
        assert [c.choices[0].delta.content for c in again if c.choices] == [
            c.choices[0].delta.content for c in first if c.choices
        ]
        assert len(sdk.fake.calls) == 1

    def test_interrupted_stream_raises_the_sdks_api_error(self, make_sdk: Any) -> None:
        sdk = make_sdk(fake=FakeTransport([reply("a b c d e f", cut_after=3)]))
        with pytest.raises(openai.APIError) as info:
            sdk.stream(**CHAT)
        assert not isinstance(info.value, openai.APIStatusError)
        assert "interrupted" in info.value.message or "broke" in info.value.message


class TestErrors:
    @pytest.mark.parametrize(
        ("status", "cls"),
        [
            (400, openai.BadRequestError),
            (401, openai.AuthenticationError),
            (403, openai.PermissionDeniedError),
            (404, openai.NotFoundError),
            (422, openai.UnprocessableEntityError),
            (429, openai.RateLimitError),
            (500, openai.InternalServerError),
        ],
    )
    def test_provider_errors_are_the_sdks_own(self, make_sdk: Any, status: int, cls: Any) -> None:
        fake = FakeTransport(default=error(status, "nope", type="some_error", code="c1"))
        sdk = make_sdk(fake=fake)
        with pytest.raises(cls) as info:
            sdk.run(lambda c: c.chat.completions.create(**CHAT))
        err = info.value
        assert err.status_code == status
        assert err.body == {"message": "nope", "type": "some_error", "param": None, "code": "c1"}
        assert err.response.headers["x-should-retry"] == "false"
        assert err.response.headers["x-aigate-provider"] == "openai"
        assert err.response.headers["x-aigate-attempts"] == f"openai/gpt-4o-mini:{status}"

    def test_the_sdk_does_not_retry_what_aigate_retried(self, make_sdk: Any) -> None:
        # a client built with the SDK's default retries (2) still makes one gateway call
        fake = FakeTransport(default=error(503, "busy"))
        sdk = make_sdk(
            fake=fake,
            client={"max_retries": 2},
            router={"retry": {"retries": 1, "backoff_s": 0.001}},
        )
        with pytest.raises(openai.InternalServerError):
            sdk.run(lambda c: c.chat.completions.create(**CHAT))
        direct = FakeTransport(default=error(503, "busy"))
        alone = aigate.Gateway(
            providers={"openai": {"api_keys": ["sk"]}},
            transport=direct,
            router={"retry": {"retries": 1, "backoff_s": 0.001}},
        )
        with pytest.raises(aigate.AllTargetsFailed):
            alone.chat.completions.create(model=MODEL, messages=HI)
        alone.close()
        assert len(fake.calls) == len(direct.calls) == 2

    def test_clients_aigate_builds_do_not_retry(self, make_sdk: Any) -> None:
        assert make_sdk().client.max_retries == 0

    def test_failover_attempts_in_headers(self, make_sdk: Any) -> None:
        fake = FakeTransport().when("llama-3.1-8b-instant", error(429, "slow"), repeat=True)
        fake.when("gpt-4o-mini", error(500, "down"), repeat=True)
        providers = {"groq": {"api_keys": ["gsk"]}, "openai": {"api_keys": ["sk"]}}
        route = ["groq/llama-3.1-8b-instant", MODEL]
        sdk = make_sdk(fake=fake, providers=providers, routes={"r": route})
        with pytest.raises(openai.InternalServerError) as info:
            sdk.run(lambda c: c.chat.completions.create(model="r", messages=HI))
        attempts = info.value.response.headers["x-aigate-attempts"]
        assert attempts == "groq/llama-3.1-8b-instant:429,openai/gpt-4o-mini:500"

    def test_bad_arguments_are_a_bad_request_naming_the_field(self, make_sdk: Any) -> None:
        sdk = make_sdk()
        with pytest.raises(openai.BadRequestError) as info:
            sdk.run(
                lambda c: c.chat.completions.create(
                    model="fast", messages=[{"role": "usr", "content": "x"}]
                )
            )
        assert info.value.body["param"] == "messages.0.role"
        assert sdk.fake.calls == []

    def test_unknown_model_is_not_found(self, make_sdk: Any) -> None:
        sdk = make_sdk()
        with pytest.raises(openai.NotFoundError) as info:
            sdk.run(lambda c: c.chat.completions.create(model="gpt-4o-mini", messages=HI))
        assert info.value.body["code"] == "model_not_found"

    def test_timeouts_and_refused_connections(self, make_sdk: Any) -> None:
        sdk = make_sdk(fake=FakeTransport([timeout(), timeout(connect=True)]))
        with pytest.raises(openai.APITimeoutError):
            sdk.run(lambda c: c.chat.completions.create(**CHAT))
        with pytest.raises(openai.APIConnectionError) as info:
            sdk.run(lambda c: c.chat.completions.create(**CHAT))
        assert not isinstance(info.value, openai.APITimeoutError)

    def test_budget_exceeded_is_openais_quota_answer(self, make_sdk: Any) -> None:
        limit = {"scope": "global", "amount": "0.000001", "window": "day"}
        sdk = make_sdk(budget={"limits": [limit]})
        with pytest.raises(openai.RateLimitError) as info:
            sdk.run(lambda c: c.chat.completions.create(**CHAT, max_tokens=1000))
        assert info.value.body["type"] == "insufficient_quota"
        assert info.value.body["code"] == "budget_exceeded"
        assert sdk.fake.calls == []

    def test_client_side_rate_limit_says_when(self, make_sdk: Any) -> None:
        sdk = make_sdk(budget={"rate_limits": [{"scope": "global", "rpm": 1}]})
        sdk.run(lambda c: c.chat.completions.create(**CHAT))
        with pytest.raises(openai.RateLimitError) as info:
            sdk.run(lambda c: c.chat.completions.create(**CHAT))
        assert int(info.value.response.headers["retry-after"]) >= 1


class TestVirtualKeys:
    def _keys(self, make_sdk: Any, secret: bool = True, **key: Any) -> tuple[Any, str]:
        sdk = make_sdk(keys="memory://", ledger="memory://")
        made, vk = sdk.gw.keys.create(project="acme", **key)
        return sdk, made if secret else vk

    def test_a_virtual_key_as_the_sdks_api_key_selects_the_tenant(self, make_sdk: Any) -> None:
        sdk, secret = self._keys(make_sdk)
        client = sdk.client.with_options(api_key=secret)
        sdk.run(lambda c: client.chat.completions.create(**CHAT))
        [record] = sdk.records()
        assert record.virtual_key is not None and record.project == "acme"

    def test_its_model_allow_list_applies(self, make_sdk: Any) -> None:
        sdk, secret = self._keys(make_sdk, models=["openai/gpt-4o"])
        client = sdk.client.with_options(api_key=secret)
        with pytest.raises(openai.PermissionDeniedError):
            sdk.run(lambda c: client.chat.completions.create(**CHAT))
        assert sdk.fake.calls == []

    def test_an_unknown_virtual_key_is_refused_without_echo(self, make_sdk: Any) -> None:
        sdk, _ = self._keys(make_sdk)
        bogus = "gk_" + "x" * 43
        client = sdk.client.with_options(api_key=bogus)
        with pytest.raises(openai.AuthenticationError) as info:
            sdk.run(lambda c: client.chat.completions.create(**CHAT))
        assert bogus not in str(info.value) and bogus not in info.value.response.text

    def test_a_stored_response_is_readable_by_its_own_tenant_only(self, make_sdk: Any) -> None:
        """``responses.retrieve`` / ``.delete`` through the SDK are scoped by the SDK's virtual
        key as ``create`` is: another tenant's id is a NotFoundError, and deletes nothing."""
        sdk, mine = self._keys(make_sdk)
        theirs, _ = sdk.gw.keys.create(project="other")
        me = sdk.client.with_options(api_key=mine)
        them = sdk.client.with_options(api_key=theirs)
        made = sdk.run(lambda c: me.responses.create(model="openai/gpt-4o-mini", input="Hi"))
        for attempt in (them.responses.retrieve, them.responses.delete):
            with pytest.raises(openai.NotFoundError):
                sdk.run(lambda c, attempt=attempt: attempt(made.id))
        assert sdk.run(lambda c: me.responses.retrieve(made.id)).id == made.id

    def test_other_api_keys_are_ignored(self, make_sdk: Any) -> None:
        sdk, _ = self._keys(make_sdk)
        client = sdk.client.with_options(api_key="sk-real-openai-key")
        sdk.run(lambda c: client.chat.completions.create(**CHAT))
        [record] = sdk.records()
        assert record.virtual_key is None
        assert "sk-real-openai-key" not in str(sdk.fake.last_request.request.headers)


class TestModels:
    def test_bare_names_through_default_provider(self, make_sdk: Any) -> None:
        sdk = make_sdk(client={"default_provider": "openai"})
        r = sdk.run(lambda c: c.chat.completions.create(model="gpt-4o-mini", messages=HI))
        assert r.choices[0].message.content
        # prefixed names and routes keep working
        sdk.run(lambda c: c.chat.completions.create(model=MODEL, messages=HI))
        sdk.run(lambda c: c.chat.completions.create(**CHAT))
        assert [c.json["model"] for c in sdk.fake.calls] == ["gpt-4o-mini"] * 3

    def test_unknown_default_provider_is_a_configuration_error(self, make_sdk: Any) -> None:
        with pytest.raises(aigate.ConfigurationError) as info:
            make_sdk(client={"default_provider": "nope"})
        assert info.value.field == "default_provider"

    def test_models_list_and_retrieve(self, make_sdk: Any) -> None:
        sdk = make_sdk()
        page = sdk.run(lambda c: c.models.list())
        ids = [m.id for m in page.data]
        assert ids[0] == "fast" and MODEL in ids
        assert sdk.run(lambda c: c.models.retrieve(MODEL)).id == MODEL
        with pytest.raises(openai.NotFoundError):
            sdk.run(lambda c: c.models.retrieve("openai/no-such-model"))


class TestEmbeddingsAndAudio:
    def test_embeddings(self, make_sdk: Any) -> None:
        sdk = make_sdk(ledger="memory://")
        r = sdk.run(
            lambda c: c.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"])
        )
        assert isinstance(r, CreateEmbeddingResponse)
        assert len(r.data) == 2 and isinstance(r.data[0].embedding[0], float)
        assert sdk.records()[0].kind == "embedding"

    def test_base64_embeddings_are_packed_as_openai_does(self, make_sdk: Any) -> None:
        sdk = make_sdk()
        model = "openai/text-embedding-3-small"
        floats = sdk.run(lambda c: c.embeddings.create(model=model, input="a"))
        packed = sdk.run(
            lambda c: c.embeddings.create(model=model, input="a", encoding_format="base64")
        )
        raw = base64.b64decode(packed.data[0].embedding)
        decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
        assert decoded == pytest.approx(floats.data[0].embedding, rel=1e-6)
        assert "encoding_format" not in sdk.fake.last_request.json

    def test_transcription_multipart(self, make_sdk: Any) -> None:
        sdk = make_sdk(fake=FakeTransport(["the words"]))
        r = sdk.run(
            lambda c: c.audio.transcriptions.create(
                model="openai/whisper-1",
                file=("a.wav", b"RIFF0000WAVE", "audio/wav"),
                language="en",
                temperature=0.5,
            )
        )
        assert r.text == "the words"
        sent = sdk.fake.last_request.request.content
        assert b"RIFF0000WAVE" in sent and b'name="language"' in sent

    def test_transcription_as_text(self, make_sdk: Any) -> None:
        sdk = make_sdk(fake=FakeTransport(["plain words"]))
        r = sdk.run(
            lambda c: c.audio.transcriptions.create(
                model="openai/whisper-1", file=("a.wav", b"RIFF"), response_format="text"
            )
        )
        assert isinstance(r, str) and r.strip() == "plain words"
