"""Caching in the gateway: exact hits, tenant isolation, streams, embeddings, single flight."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import aigate
from aigate.testing import FakeTransport, error, reply

HI = [{"role": "user", "content": "Hi"}]
MODEL = "openai/gpt-4o-mini"


def make(make_gateway: Any, script: list[Any] = (), cache: Any = "memory://", **extra: Any) -> Any:
    fake = FakeTransport(list(script))
    gw = make_gateway(
        providers={"openai": {"api_keys": ["sk-test"]}},
        cache=cache,
        ledger="memory://",
        transport=fake,
        **extra,
    )
    return gw, fake


def text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


class TestPolicy:
    def test_temperature_zero_is_cached_and_priced_at_zero(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway)
        first = gw.chat(model=MODEL, messages=HI, temperature=0)
        second = gw.chat(model=MODEL, messages=HI, temperature=0)
        assert len(fake.calls) == 1
        assert second.choices[0].message.content == first.choices[0].message.content
        assert second.model_dump() == first.model_dump()
        assert (first.gateway.cached, second.gateway.cached) == (False, True)
        assert second.gateway.cost_usd == Decimal(0)
        assert second.gateway.saved_cost_usd == first.gateway.cost_usd
        rec = gw.gw._core.ledger.get(second.gateway.call_id)
        assert rec.cached and rec.cost_nano == 0 and rec.saved_nano and rec.saved_nano > 0

    def test_sampling_calls_are_not_cached_unless_asked(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway)
        gw.chat(model=MODEL, messages=HI)
        gw.chat(model=MODEL, messages=HI)
        assert len(fake.calls) == 2
        gw.chat(model=MODEL, messages=HI, cache=True)
        hit = gw.chat(model=MODEL, messages=HI, cache=True)
        assert len(fake.calls) == 3 and hit.gateway.cached

    def test_omitted_temperature_is_not_temperature_zero(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway)
        gw.chat(model=MODEL, messages=HI, temperature=0)
        gw.chat(model=MODEL, messages=HI, cache=True)
        assert len(fake.calls) == 2

    def test_cache_false_refresh_and_modes(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway)
        gw.chat(model=MODEL, messages=HI, temperature=0, cache=False)
        gw.chat(model=MODEL, messages=HI, temperature=0, cache={"mode": "read_only"})
        assert len(fake.calls) == 2  # nothing was written by either
        gw.chat(model=MODEL, messages=HI, temperature=0, cache={"mode": "write_only"})
        gw.chat(model=MODEL, messages=HI, temperature=0, cache={"refresh": True})
        assert len(fake.calls) == 4
        assert gw.chat(model=MODEL, messages=HI, temperature=0).gateway.cached
        assert len(fake.calls) == 4

    def test_bad_cache_option(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway)
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat(model=MODEL, messages=HI, cache={"ttl": 5, "forever": True})
        assert info.value.field == "cache"
        assert fake.calls == []

    def test_errors_are_never_stored(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway, [error(400)])
        with pytest.raises(aigate.BadRequestError):
            gw.chat(model=MODEL, messages=HI, temperature=0)
        assert not gw.chat(model=MODEL, messages=HI, temperature=0).gateway.cached
        assert len(fake.calls) == 2


class TestIsolation:
    def test_tenants_never_share(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway)
        for project in ("alpha", "beta", "alpha"):
            gw.chat(model=MODEL, messages=HI, temperature=0, metadata={"project": project})
        assert len(fake.calls) == 2

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            # issue 13.10: a separator inside a tenant name forged another tenant's namespace
            (
                ({"project": "acme"}, {"namespace": "reports"}),
                ({"project": "acme|ns=reports"}, None),
            ),
            (
                ({"org": "acme|project=x", "project": "y"}, None),
                ({"org": "acme", "project": "x|project=y"}, None),
            ),
            (({"project": "acme"}, None), ({"org": "", "project": "acme"}, {"namespace": ""})),
        ],
    )
    def test_namespaces_cannot_be_forged(
        self, make_gateway: Any, first: tuple[Any, Any], second: tuple[Any, Any]
    ) -> None:
        gw, fake = make(make_gateway)
        for metadata, option in (first, second):
            extra = {"cache": option} if option is not None else {}
            r = gw.chat(model=MODEL, messages=HI, temperature=0, metadata=metadata, **extra)
            assert not r.gateway.cached
        assert len(fake.calls) == 2

    def test_namespace_option_must_be_a_string(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway)
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat(model=MODEL, messages=HI, temperature=0, cache={"namespace": ["a"]})
        assert info.value.field == "cache.namespace" and fake.calls == []

    def test_shared_route_is_explicit(self, make_gateway: Any) -> None:
        gw, fake = make(
            make_gateway,
            cache={"url": "memory://", "routes": {"faq": {"shared": True}}},
            routes={"faq": [MODEL]},
        )
        for project in ("alpha", "beta"):
            gw.chat(model="faq", messages=HI, temperature=0, metadata={"project": project})
        assert len(fake.calls) == 1


class TestStreams:
    def test_stream_is_stored_and_replayed_exactly(self, make_gateway: Any) -> None:
        tool = {"id": "call_1", "name": "lookup", "arguments": {"q": "x"}}
        gw, fake = make(make_gateway, [reply("one two three", tool_calls=[tool])])
        chunks, stream = gw.stream(model=MODEL, messages=HI, temperature=0)
        again, replay = gw.stream(model=MODEL, messages=HI, temperature=0)
        assert len(fake.calls) == 1
        assert [c.model_dump() for c in again] == [c.model_dump() for c in chunks]
        assert replay.gateway.cached and not stream.gateway.cached
        assert replay.completion().model_dump() == stream.completion().model_dump()
        # a non-streamed call is served by the streamed entry too
        whole = gw.chat(model=MODEL, messages=HI, temperature=0)
        assert whole.gateway.cached and whole.choices[0].message.content == "one two three"
        assert whole.choices[0].message.tool_calls[0].function.name == "lookup"

    def test_non_streamed_entry_replays_as_chunks(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway, [reply("hello world")])
        whole = gw.chat(model=MODEL, messages=HI, temperature=0)
        chunks, replay = gw.stream(model=MODEL, messages=HI, temperature=0)
        assert len(fake.calls) == 1
        assert text(chunks) == "hello world"
        assert chunks[-1].usage == whole.usage
        assert replay.completion().choices[0].finish_reason == "stop"

    def test_interrupted_or_cancelled_streams_are_not_stored(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway, [reply("a b c d", cut_after=3), reply("e f g h i j")])
        with pytest.raises(aigate.StreamInterrupted):
            gw.stream(model=MODEL, messages=HI, temperature=0)
        gw.stream(model=MODEL, messages=HI, temperature=0, limit=2)  # closed early
        gw.stream(model=MODEL, messages=HI, temperature=0)
        assert len(fake.calls) == 3


class TestEmbeddings:
    def test_per_item(self, make_gateway: Any) -> None:
        gw, fake = make(make_gateway)
        first = gw.embeddings(model="openai/text-embedding-3-small", input=["a", "b"])
        second = gw.embeddings(model="openai/text-embedding-3-small", input=["b", "c", "a"])
        assert fake.calls[-1].json["input"] == ["c"]
        assert [d.index for d in second.data] == [0, 1, 2]
        assert second.data[0].embedding == first.data[1].embedding
        assert second.data[2].embedding == first.data[0].embedding
        third = gw.embeddings(model="openai/text-embedding-3-small", input=["c", "a"])
        assert len(fake.calls) == 2 and third.gateway.cached
        assert third.gateway.cost_usd == Decimal(0)


class TestSingleFlight:
    def test_concurrent_identical_misses_make_one_call(self, mode: str) -> None:
        fake = FakeTransport(default=reply("shared answer", latency=0.2))
        kwargs: dict[str, Any] = {
            "providers": {"openai": {"api_keys": ["sk"]}},
            "cache": "memory://",
            "transport": fake,
        }
        if mode == "sync":
            gw = aigate.Gateway(**kwargs)
            results: list[Any] = []

            def call() -> None:
                results.append(gw.chat.completions.create(model=MODEL, messages=HI, temperature=0))

            threads = [threading.Thread(target=call) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            gw.close()
        else:

            async def run() -> list[Any]:
                async with aigate.AsyncGateway(**kwargs) as agw:
                    calls = [
                        agw.chat.completions.create(model=MODEL, messages=HI, temperature=0)
                        for _ in range(8)
                    ]
                    return list(await asyncio.gather(*calls))

            results = asyncio.run(run())
        assert len(fake.calls) == 1
        assert sum(not r.gateway.cached for r in results) == 1
        assert {r.choices[0].message.content for r in results} == {"shared answer"}


class TestBackends:
    def test_disk_cache_outlives_the_gateway(self, make_gateway: Any, tmp_path: Path) -> None:
        url = f"disk:///{tmp_path}/cache"
        gw, _fake = make(make_gateway, cache=url)
        gw.chat(model=MODEL, messages=HI, temperature=0)
        gw.close()
        again, fake2 = make(make_gateway, cache=url)
        assert again.chat(model=MODEL, messages=HI, temperature=0).gateway.cached
        assert fake2.calls == []

    @pytest.mark.redis
    def test_redis_cache(self, mode: str, redis_url: str) -> None:
        """Redis clients belong to one event loop, so the async case runs in one loop."""
        fake = FakeTransport()
        kwargs: dict[str, Any] = {
            "providers": {"openai": {"api_keys": ["sk"]}},
            "cache": redis_url,
            "transport": fake,
        }
        if mode == "sync":
            with aigate.Gateway(**kwargs) as gw:
                gw.chat.completions.create(model=MODEL, messages=HI, temperature=0)
                hit = gw.chat.completions.create(model=MODEL, messages=HI, temperature=0)
        else:

            async def run() -> Any:
                async with aigate.AsyncGateway(**kwargs) as agw:
                    await agw.chat.completions.create(model=MODEL, messages=HI, temperature=0)
                    return await agw.chat.completions.create(
                        model=MODEL, messages=HI, temperature=0
                    )

            hit = asyncio.run(run())
        assert hit.gateway.cached
        assert len(fake.calls) == 1

    def test_dead_cache_never_fails_a_call(self, make_gateway: Any) -> None:
        gw, _fake = make(make_gateway, cache="redis://127.0.0.1:1/0")
        r = gw.chat(model=MODEL, messages=HI, temperature=0)
        assert r.choices[0].message.content and not r.gateway.cached


def _bag_of_words(request: Any) -> Any:
    """An embeddings server whose vectors are word counts: similar prompts, close vectors."""
    import json as _json
    import re

    import httpx

    body = _json.loads(request.content)
    data = []
    for index, text in enumerate(body["input"]):
        vector = [0.0] * 64
        for word in re.findall(r"[a-z]+", text.lower()):
            vector[sum(map(ord, word)) % 64] += 1.0
        data.append({"object": "embedding", "index": index, "embedding": vector})
    usage = {"prompt_tokens": 5, "total_tokens": 5}
    return httpx.Response(
        200, json={"object": "list", "data": data, "model": "bow", "usage": usage}
    )


class TestSemantic:
    def gateway(self, make_gateway: Any) -> tuple[Any, FakeTransport]:
        import httpx

        fake = FakeTransport()
        gw = make_gateway(
            providers={
                "openai": {"api_keys": ["sk"]},
                "emb": {
                    "kind": "fake",
                    "options": {"transport": httpx.MockTransport(_bag_of_words)},
                },
            },
            cache={"url": "memory://", "semantic": {"model": "emb/bow", "threshold": 0.9}},
            transport=fake,
        )
        return gw, fake

    def test_close_prompt_hits(self, make_gateway: Any) -> None:
        gw, fake = self.gateway(make_gateway)
        ask = [{"role": "user", "content": "What is the capital of France?"}]
        again = [{"role": "user", "content": "what is the capital of france"}]
        first = gw.chat(model=MODEL, messages=ask, temperature=0)
        second = gw.chat(model=MODEL, messages=again, temperature=0)
        assert len(fake.calls) == 1
        assert second.gateway.cached and second.gateway.cache_similarity >= 0.9
        assert second.choices[0].message.content == first.choices[0].message.content

    def test_isolated_by_tenant_and_fields(self, make_gateway: Any) -> None:
        gw, fake = self.gateway(make_gateway)
        ask = [{"role": "user", "content": "What is the capital of France?"}]
        again = [{"role": "user", "content": "what is the capital of france"}]
        gw.chat(model=MODEL, messages=ask, temperature=0, metadata={"project": "a"})
        gw.chat(model=MODEL, messages=again, temperature=0, metadata={"project": "b"})
        gw.chat(model=MODEL, messages=again, temperature=0, metadata={"project": "a"}, seed=1)
        unrelated = [{"role": "user", "content": "Tell me a joke about cats"}]
        gw.chat(model=MODEL, messages=unrelated, temperature=0, metadata={"project": "a"})
        assert len(fake.calls) == 4
