"""Realtime sessions through the gateway, against a loopback websocket server that plays
scripted OpenAI Realtime sessions (aigate.realtime.testing)."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from typing import Any

import pytest

import aigate
from aigate.pricing import Catalog, cost
from aigate.realtime import HandshakeError, Realtime, realtime_usage
from aigate.realtime.testing import RealtimeTestServer, ScriptedResponse, usage

MODEL = "gpt-realtime"
KEY = "sk-live-canary-realtime-0123456789"


def gateway(base_url: str, **extra: Any) -> aigate.AsyncGateway:
    providers = extra.pop("providers", {"openai": {"api_keys": [KEY], "base_url": base_url}})
    return aigate.AsyncGateway(providers=providers, ledger="memory://", **extra)


def price_of(u: dict[str, Any]) -> Decimal:
    entry = Catalog.default().get("openai", MODEL)
    assert entry is not None
    result = cost(realtime_usage(u), entry.price)  # type: ignore[arg-type]
    assert result is not None
    return result


async def talk(session: Any, turns: int) -> list[dict[str, Any]]:
    """Send ``turns`` response.create events, reading each response to its end."""
    events: list[dict[str, Any]] = []
    for _ in range(turns):
        await session.send({"type": "response.create"})
        async for event in session:
            events.append(event)
            if event["type"] in ("response.done", "error"):
                break
    return events


def rows(agw: aigate.AsyncGateway, kind: str) -> list[Any]:
    return agw._core.ledger.query(where={"kind": kind})  # type: ignore[no-any-return]


def test_usage_maps_every_category_once() -> None:
    u = realtime_usage(
        usage(input_text=20, input_audio=80, cached=10, output_text=5, output_audio=40)
    )
    assert u is not None
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (100, 45, 145)
    assert u.prompt_tokens_details is not None and u.completion_tokens_details is not None
    assert u.prompt_tokens_details.cached_tokens == 10
    assert u.prompt_tokens_details.audio_tokens == 80  # the cached tokens were text
    assert u.completion_tokens_details.audio_tokens == 40
    # priced by hand: 10 uncached text + 10 cached + 80 audio in, 5 text + 40 audio out
    entry = Catalog.default().get("openai", MODEL)
    assert entry is not None
    p = entry.price
    assert p.input and p.cached_input and p.audio_input and p.output and p.audio_output
    expected = (
        10 * p.input + 10 * p.cached_input + 80 * p.audio_input + 5 * p.output + 40 * p.audio_output
    )
    assert cost(u, p) == expected
    assert realtime_usage(None) is None


def test_session_prices_and_records_each_response() -> None:
    scripts = [
        ScriptedResponse(usage=usage(output_audio=40)),
        ScriptedResponse(usage=usage(output_audio=90)),
    ]

    async def main() -> None:
        async with RealtimeTestServer(scripts) as server:
            agw = gateway(server.base_url)
            async with agw.realtime.connect(
                model=f"openai/{MODEL}", user="u-42", metadata={"project": "acme"}
            ) as s:
                await s.send({"type": "session.update", "session": {"instructions": "Be brief"}})
                events = await talk(s, 2)
                info = s.gateway
                assert info.responses == 2
                assert info.provider == "openai" and info.model == MODEL
                assert info.cost_usd == price_of(usage(output_audio=40)) + price_of(
                    usage(output_audio=90)
                )
                assert info.usage is not None and info.usage.completion_tokens == 50 + 100
            types = [e["type"] for e in events]
            assert "session.created" in types and types.count("response.done") == 2
            assert "response.output_audio.delta" in types
            assert server.authorizations == [f"Bearer {KEY}"]
            assert server.models == [MODEL]
            responses = rows(agw, "realtime")
            assert len(responses) == 2
            assert sum(r.cost_nano for r in responses) == aigate.pricing.to_nano(info.cost_usd)
            assert {r.user for r in responses} == {"u-42"}
            assert {r.project for r in responses} == {"acme"}
            assert sorted(r.audio_output_tokens for r in responses) == [40, 90]
            (session_row,) = rows(agw, "realtime_session")
            assert session_row.cost_nano == 0 and session_row.status == "ok"
            assert session_row.metadata["realtime_responses"] == "2"
            assert {r.metadata["realtime_session"] for r in responses} == {session_row.id}
            await agw.aclose()

    asyncio.run(main())


def test_function_calls_pass_through() -> None:
    scripts = [ScriptedResponse(function_call=("get_weather", '{"city":"Paris"}'))]

    async def main() -> None:
        async with RealtimeTestServer(scripts) as server:
            agw = gateway(server.base_url)
            async with agw.realtime.connect(model=f"openai/{MODEL}") as s:
                events = await talk(s, 1)
            done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
            assert done and done[0]["name"] == "get_weather"
            assert json.loads(done[0]["arguments"]) == {"city": "Paris"}
            await agw.aclose()

    asyncio.run(main())


def test_budget_stops_the_session_with_an_error_event() -> None:
    one = price_of(usage())
    # room for the first response's worst case, not for a second one after it is charged
    many = [ScriptedResponse() for _ in range(5)]

    async def main() -> None:
        async with RealtimeTestServer(many) as server:
            agw = gateway(server.base_url)
            probe = agw.realtime.connect(model=f"openai/{MODEL}")
            worst = Decimal(probe._estimate(probe._ctx.targets)[0]) / Decimal(10**9)
            cap = worst + one / 2
            await agw.aclose()
            agw = gateway(
                server.base_url,
                budget={"limits": [{"scope": "user:*", "amount": str(cap), "window": "day"}]},
            )
            async with agw.realtime.connect(model=f"openai/{MODEL}", user="u-1") as s:
                events = await talk(s, 1)
                last = []
                async for event in s:
                    last.append(event)
                assert last and last[-1]["type"] == "error"
                assert last[-1]["error"]["type"] == "budget_exceeded"
                assert s.gateway.closed_reason == "budget"
                with pytest.raises(aigate.realtime.RealtimeSessionClosed):
                    await s.send({"type": "response.create"})
            assert [e["type"] for e in events].count("response.done") == 1
            responses = [r for r in rows(agw, "realtime") if r.status == "ok"]
            assert len(responses) == 1
            # the refused reservation for the next response is recorded as a refusal
            refused = [r for r in rows(agw, "realtime") if r.status == "refused"]
            assert len(refused) == 1 and refused[0].cost_nano in (None, 0)
            spent = sum(Decimal(r.cost_nano) for r in responses) / Decimal(10**9)
            assert spent <= cap  # never over: the overspend bound is one response
            # nothing left reserved
            assert agw._core.admission.store.pending() == []  # type: ignore[union-attr]
            await agw.aclose()

    asyncio.run(main())


def test_a_budget_without_room_refuses_before_connecting() -> None:
    async def main() -> None:
        async with RealtimeTestServer([ScriptedResponse()]) as server:
            agw = gateway(
                server.base_url,
                budget={"limits": [{"scope": "global", "amount": "0.000001", "window": "day"}]},
            )
            with pytest.raises(aigate.BudgetExceeded):
                async with agw.realtime.connect(model=f"openai/{MODEL}"):
                    pass
            assert server.connections == 0
            assert rows(agw, "realtime_session") == []
            await agw.aclose()

    asyncio.run(main())


def test_dropped_socket_raises_and_records_totals() -> None:
    scripts = [ScriptedResponse(), ScriptedResponse(drop=True)]

    async def main() -> None:
        async with RealtimeTestServer(scripts) as server:
            agw = gateway(server.base_url)
            s = agw.realtime.connect(model=f"openai/{MODEL}")
            await s.open()
            await talk(s, 1)
            await s.send({"type": "response.create"})
            with pytest.raises(aigate.APIConnectionError):
                async for _ in s:
                    pass
            assert s.gateway.closed_reason == "dropped"
            responses = rows(agw, "realtime")
            # the finished response at its price, the cut one at its reservation, marked
            assert len(responses) == 2
            assert sorted(r.estimated for r in responses) == [False, True]
            (session_row,) = rows(agw, "realtime_session")
            assert session_row.status == "error"
            assert session_row.metadata["realtime_closed"] == "dropped"
            await s.close()  # closing twice is harmless and records nothing more
            assert len(rows(agw, "realtime_session")) == 1
            await agw.aclose()

    asyncio.run(main())


def test_caller_cancel_records_the_session() -> None:
    async def main() -> None:
        async with RealtimeTestServer([ScriptedResponse(audio_chunks=1)]) as server:
            agw = gateway(server.base_url)

            async def voice() -> None:
                async with agw.realtime.connect(model=f"openai/{MODEL}") as s:
                    await talk(s, 1)
                    await asyncio.sleep(30)  # the caller's task is cancelled here

            task = asyncio.create_task(voice())
            for _ in range(500):  # until the first response is recorded
                if rows(agw, "realtime"):
                    break
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            (session_row,) = rows(agw, "realtime_session")
            assert session_row.metadata["realtime_responses"] == "1"
            await agw.aclose()

    asyncio.run(main())


def test_connect_fails_over_keys_then_targets() -> None:
    async def main() -> None:
        async with (
            RealtimeTestServer([], refuse=[401, 429]) as first,
            RealtimeTestServer([ScriptedResponse()]) as second,
        ):
            providers = {
                "openai": {"api_keys": ["sk-bad-1", "sk-bad-2"], "base_url": first.base_url},
                "backup": {"kind": "openai", "api_keys": ["sk-good"], "base_url": second.base_url},
            }
            agw = gateway(
                "", providers=providers, routes={"voice": [f"openai/{MODEL}", f"backup/{MODEL}"]}
            )
            async with agw.realtime.connect(model="voice") as s:
                await talk(s, 1)
                info = s.gateway
            assert info.provider == "backup" and info.route == "voice"
            assert [a.status_code for a in info.attempts] == [401, 429, 101]
            assert first.connections == 2 and second.connections == 1
            assert rows(agw, "realtime")[0].provider == "backup"
            await agw.aclose()

    asyncio.run(main())


def test_all_targets_refusing_is_all_targets_failed() -> None:
    async def main() -> None:
        async with RealtimeTestServer([], refuse=[500]) as server:
            agw = gateway(server.base_url)
            with pytest.raises(aigate.AllTargetsFailed) as info:
                await agw.realtime.connect(model=f"openai/{MODEL}").open()
            assert isinstance(info.value.errors[0], HandshakeError)
            assert info.value.errors[0].status_code == 500
            await agw.aclose()

    asyncio.run(main())


def test_no_key_in_any_event_error_or_log(caplog: pytest.LogCaptureFixture) -> None:
    echo = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": f"Incorrect API key provided: {KEY}"},
    }
    scripts = [ScriptedResponse(extra_events=[echo])]
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with (
            RealtimeTestServer(scripts) as server,
            RealtimeTestServer([], refuse=[401]) as bad,
        ):
            agw = gateway(server.base_url)
            async with agw.realtime.connect(model=f"openai/{MODEL}") as s:
                events = await talk(s, 1)
                assert KEY not in repr(s.gateway)
            text = json.dumps(events)
            assert KEY not in text and "[REDACTED]" in text
            for row in agw._core.ledger.query():  # type: ignore[union-attr]
                assert KEY not in json.dumps(row.to_dict())
            await agw.aclose()
            agw = gateway(bad.base_url)
            with pytest.raises(aigate.AllTargetsFailed) as failed:
                await agw.realtime.connect(model=f"openai/{MODEL}").open()
            seen = repr(failed.value) + str(failed.value) + repr(failed.value.errors)
            seen += repr(failed.value.errors[0].__cause__) + repr(
                failed.value.errors[0].__context__
            )
            assert KEY not in seen
            await agw.aclose()

    asyncio.run(main())
    assert KEY not in caplog.text


def test_unsupported_provider_kind_is_named() -> None:
    async def main() -> None:
        agw = aigate.AsyncGateway(providers={"anthropic": {"api_keys": ["sk-ant"]}})
        with pytest.raises(aigate.AllTargetsFailed) as failed:
            await agw.realtime.connect(model="anthropic/claude-haiku-4-5").open()
        assert "no realtime API" in str(failed.value.errors[0])
        await agw.aclose()

    asyncio.run(main())


def test_bad_events_are_typed_errors() -> None:
    async def main() -> None:
        async with RealtimeTestServer([]) as server:
            agw = gateway(server.base_url)
            async with agw.realtime.connect(model=f"openai/{MODEL}") as s:
                with pytest.raises(aigate.InvalidRequestError, match="type"):
                    await s.send({"no": "type"})
                with pytest.raises(aigate.InvalidRequestError, match="JSON"):
                    await s.send({"type": "x", "v": float("nan")})
            await agw.aclose()

    asyncio.run(main())


def test_realtime_is_a_resource_of_the_async_gateway() -> None:
    agw = aigate.AsyncGateway(providers={"openai": {"api_keys": ["sk"]}})
    assert isinstance(agw.realtime, Realtime)


def test_max_output_tokens_sizes_the_reservation_and_is_sent() -> None:
    async def main() -> None:
        async with RealtimeTestServer([ScriptedResponse()]) as server:
            agw = gateway(server.base_url)
            wide = agw.realtime.connect(model=f"openai/{MODEL}")
            narrow = agw.realtime.connect(model=f"openai/{MODEL}", max_output_tokens=100)
            assert narrow._estimate(narrow._ctx.targets) < wide._estimate(wide._ctx.targets)
            async with narrow as s:
                await talk(s, 1)
            update = server.received[0]
            assert update == {
                "type": "session.update",
                "session": {"type": "realtime", "max_output_tokens": 100},
            }
            with pytest.raises(aigate.InvalidRequestError, match="max_output_tokens"):
                agw.realtime.connect(model=f"openai/{MODEL}", max_output_tokens=0)
            await agw.aclose()

    asyncio.run(main())


GEMINI = "gemini-live-2.5-flash-preview-native-audio-09-2025"


def test_gemini_live_speaks_openai_events_and_is_priced() -> None:
    scripts = [
        ScriptedResponse("Bonjour", usage=usage(output_audio=60)),
        ScriptedResponse(function_call=("get_weather", '{"city":"Paris"}')),
    ]

    async def main() -> None:
        async with RealtimeTestServer(scripts, protocol="gemini") as server:
            agw = aigate.AsyncGateway(
                providers={"gemini": {"api_keys": [KEY], "base_url": server.base_url}},
                ledger="memory://",
            )
            async with agw.realtime.connect(model=f"gemini/{GEMINI}", max_output_tokens=500) as s:
                await s.send({"type": "session.update", "session": {"instructions": "Be brief"}})
                await s.send({"type": "input_audio_buffer.append", "audio": "AAAA"})
                events = await talk(s, 2)
                info = s.gateway
            setup = server.received[0]["setup"]
            assert setup["model"] == f"models/{GEMINI}"
            assert setup["generationConfig"]["maxOutputTokens"] == 500
            assert setup["systemInstruction"] == {"parts": [{"text": "Be brief"}]}
            assert server.received[1] == {
                "realtimeInput": {"audio": {"data": "AAAA", "mimeType": "audio/pcm;rate=24000"}}
            }
            assert server.authorizations == [KEY]
            types = [e["type"] for e in events]
            assert types[0] == "session.created"
            assert types.count("response.done") == 2 and "response.output_audio.delta" in types
            transcript = [
                e for e in events if e["type"] == "response.output_audio_transcript.delta"
            ]
            assert transcript[0]["delta"] == "Bonjour"
            call = [e for e in events if e["type"] == "response.function_call_arguments.done"]
            assert call[0]["name"] == "get_weather" and call[0]["call_id"] == "fc_1"
            entry = Catalog.default().get("gemini", GEMINI)
            assert entry is not None
            expected = cost(realtime_usage(usage(output_audio=60)), entry.price)  # type: ignore[arg-type]
            expected2 = cost(realtime_usage(usage()), entry.price)  # type: ignore[arg-type]
            assert expected is not None and expected2 is not None
            assert info.cost_usd == expected + expected2
            assert len(rows(agw, "realtime")) == 2
            await agw.aclose()

    asyncio.run(main())


def test_gemini_setup_is_once() -> None:
    from aigate.realtime._gemini import GeminiLiveTranslator

    t = GeminiLiveTranslator(GEMINI)
    assert t.client_event({"type": "session.update", "session": {"instructions": "a"}}) == []
    first = t.client_event({"type": "response.create"})
    assert "setup" in first[0] and first[1] == {"clientContent": {"turnComplete": True}}
    with pytest.raises(aigate.InvalidRequestError, match="once"):
        t.client_event({"type": "session.update", "session": {}})
    out = t.client_event(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "c1", "output": '{"t": 21}'},
        }
    )
    assert out == [
        {"toolResponse": {"functionResponses": [{"id": "c1", "name": "", "response": {"t": 21}}]}}
    ]


# -- virtual keys and client-side rate limits (issue 19) -------------------------------------


def test_a_virtual_key_scopes_the_session_to_its_tenant_and_models() -> None:
    async def main() -> None:
        async with RealtimeTestServer([ScriptedResponse()]) as server:
            agw = gateway(server.base_url, keys="memory://")
            secret, vkey = agw.keys.create(project="acme", models=[f"openai/{MODEL}"])
            async with agw.realtime.connect(model=f"openai/{MODEL}", api_key=secret) as s:
                await talk(s, 1)
            assert server.connections == 1
            (response,) = rows(agw, "realtime")
            (session_row,) = rows(agw, "realtime_session")
            for row in (response, session_row):
                assert row.project == "acme" and row.virtual_key == vkey.id
            # a model outside the key's allow-list, and an unknown key: refused before any
            # socket is opened, nothing recorded as a session
            with pytest.raises(aigate.ModelNotAllowedError):
                async with agw.realtime.connect(
                    model="openai/gpt-4o-realtime-preview", api_key=secret
                ):
                    pass
            with pytest.raises(aigate.InvalidKeyError):
                async with agw.realtime.connect(model=f"openai/{MODEL}", api_key="gk_" + "z" * 43):
                    pass
            assert server.connections == 1
            assert len(rows(agw, "realtime_session")) == 1
            await agw.aclose()

    asyncio.run(main())


def test_a_rate_limit_ends_the_session_with_a_rate_limited_error() -> None:
    async def main() -> None:
        async with RealtimeTestServer([ScriptedResponse() for _ in range(3)]) as server:
            agw = gateway(server.base_url, budget={"rate_limits": [{"scope": "global", "rpm": 1}]})
            async with agw.realtime.connect(model=f"openai/{MODEL}") as s:
                events = await talk(s, 1)  # the one request the minute allows
                rest = [event async for event in s]
                assert rest and rest[-1]["type"] == "error"
                assert rest[-1]["error"]["type"] == "rate_limited"
                assert rest[-1]["error"]["code"] == "aigate_limit_reached"
                assert s.gateway.closed_reason == "rate_limit"
                with pytest.raises(aigate.realtime.RealtimeSessionClosed, match="rate_limit"):
                    await s.send({"type": "response.create"})
            assert [e["type"] for e in events].count("response.done") == 1
            (session_row,) = rows(agw, "realtime_session")
            assert session_row.metadata["realtime_closed"] == "rate_limit"
            assert len([r for r in rows(agw, "realtime") if r.status == "ok"]) == 1
            await agw.aclose()

    asyncio.run(main())


def test_a_virtual_keys_rate_limit_applies_to_its_sessions() -> None:
    async def main() -> None:
        async with RealtimeTestServer([ScriptedResponse() for _ in range(3)]) as server:
            agw = gateway(server.base_url, keys="memory://", budget={"store": "memory://"})
            secret, _ = agw.keys.create(project="acme", rate_limit={"rpm": 1})
            async with agw.realtime.connect(model=f"openai/{MODEL}", api_key=secret) as s:
                await talk(s, 1)
                rest = [event async for event in s]
                assert rest[-1]["error"]["type"] == "rate_limited"
                assert s.gateway.closed_reason == "rate_limit"
            # the minute's one request is spent: the next session is refused before connecting
            with pytest.raises(aigate.RateLimited):
                async with agw.realtime.connect(model=f"openai/{MODEL}", api_key=secret):
                    pass
            assert server.connections == 1
            await agw.aclose()

    asyncio.run(main())


# -- per-key cooling from the router's health store (issue 19) ---------------------------------


def key_health(agw: aigate.AsyncGateway, provider: str = "openai") -> list[Any]:
    """The provider's keys' breakers, in the order of its api_keys."""
    return [k for k in agw.health().keys if k.provider == provider]


def test_a_rate_limited_key_cools_and_the_next_key_serves() -> None:
    async def main() -> None:
        scripts = [ScriptedResponse() for _ in range(4)]
        async with RealtimeTestServer(scripts, refuse_keys={"sk-limited": 429}) as server:
            providers = {
                "openai": {"api_keys": ["sk-limited", "sk-ok"], "base_url": server.base_url}
            }
            agw = gateway("", providers=providers)
            statuses = []
            for _ in range(4):  # round robin would give each key two sessions
                async with agw.realtime.connect(model=f"openai/{MODEL}") as s:
                    await talk(s, 1)
                    statuses.append([a.status_code for a in s.gateway.attempts])
            # refused once, then skipped while it cools; the other key served every session
            assert server.keys.count("sk-limited") == 1
            assert sorted(statuses) == [[101], [101], [101], [429, 101]]
            limited, ok = key_health(agw)
            assert limited.state == "open" and limited.reason == "RateLimitError"
            assert limited.open_until is not None and ok.state == "closed"
            assert len(rows(agw, "realtime")) == 4
            await agw.aclose()

    asyncio.run(main())


def test_a_refused_key_is_marked_dead_and_skipped() -> None:
    async def main() -> None:
        scripts = [ScriptedResponse() for _ in range(4)]
        async with RealtimeTestServer(scripts, refuse_keys={"sk-revoked": 401}) as server:
            providers = {
                "openai": {"api_keys": ["sk-revoked", "sk-ok"], "base_url": server.base_url}
            }
            agw = gateway("", providers=providers)
            for _ in range(4):
                async with agw.realtime.connect(model=f"openai/{MODEL}") as s:
                    await talk(s, 1)
            assert server.keys.count("sk-revoked") == 1
            assert [k.key_id for k in agw.health().dead_keys] == [key_health(agw)[0].key_id]
            await agw.aclose()

    asyncio.run(main())


def test_a_key_cooled_by_an_http_call_is_skipped_by_a_session() -> None:
    """One health store for both: a key the HTTP router cooled after a 429 is not used for a
    handshake until it recovers."""

    async def main() -> None:
        scripts = [ScriptedResponse() for _ in range(2)]
        async with RealtimeTestServer(scripts) as server:
            providers = {"openai": {"api_keys": ["sk-hot", "sk-cool"], "base_url": server.base_url}}
            agw = gateway("", providers=providers)
            router = agw._core.router
            hot = router.pools["openai"].names[0]
            router.store.record(hot, "cool", router.clock(), 60.0, "RateLimitError")
            for _ in range(2):
                async with agw.realtime.connect(model=f"openai/{MODEL}") as s:
                    await talk(s, 1)
            assert server.keys == ["sk-cool", "sk-cool"]
            await agw.aclose()

    asyncio.run(main())


def test_cooling_fails_over_to_the_next_target_and_holds_across_sessions() -> None:
    async def main() -> None:
        async with (
            RealtimeTestServer([], refuse_keys={"sk-limited": 429}) as first,
            RealtimeTestServer([ScriptedResponse() for _ in range(2)]) as second,
        ):
            providers = {
                "openai": {"api_keys": ["sk-limited"], "base_url": first.base_url},
                "backup": {"kind": "openai", "api_keys": ["sk-good"], "base_url": second.base_url},
            }
            agw = gateway(
                "", providers=providers, routes={"voice": [f"openai/{MODEL}", f"backup/{MODEL}"]}
            )
            attempts = []
            for _ in range(2):
                async with agw.realtime.connect(model="voice") as s:
                    await talk(s, 1)
                    attempts.append([(a.provider, a.status_code) for a in s.gateway.attempts])
                    assert s.gateway.provider == "backup"
            # the second session skips the cooling key without a handshake
            assert attempts == [[("openai", 429), ("backup", 101)], [("backup", 101)]]
            assert first.connections == 1 and second.connections == 2
            await agw.aclose()

    asyncio.run(main())


def test_every_key_cooling_fails_before_any_handshake_with_retry_at() -> None:
    async def main() -> None:
        async with RealtimeTestServer([], refuse_keys={"sk-limited": 429}) as server:
            providers = {"openai": {"api_keys": ["sk-limited"], "base_url": server.base_url}}
            agw = gateway("", providers=providers)
            with pytest.raises(aigate.AllTargetsFailed) as first:
                await agw.realtime.connect(model=f"openai/{MODEL}").open()
            assert [a.status_code for a in first.value.attempts] == [429]
            with pytest.raises(aigate.AllTargetsFailed, match="cooling") as second:
                await agw.realtime.connect(model=f"openai/{MODEL}").open()
            assert second.value.attempts == [] and server.connections == 1
            assert second.value.retry_at is not None
            assert second.value.retry_at > agw._core.router.clock()
            # nothing stays reserved, no session row for a session that never opened
            assert rows(agw, "realtime_session") == []
            await agw.aclose()

    asyncio.run(main())


def test_a_failing_target_opens_its_breaker_for_sessions() -> None:
    async def main() -> None:
        async with (
            RealtimeTestServer([], refuse=[503]) as first,
            RealtimeTestServer([ScriptedResponse() for _ in range(2)]) as second,
        ):
            providers = {
                "openai": {"api_keys": ["sk-a"], "base_url": first.base_url},
                "backup": {"kind": "openai", "api_keys": ["sk-b"], "base_url": second.base_url},
            }
            agw = gateway(
                "",
                providers=providers,
                routes={"voice": [f"openai/{MODEL}", f"backup/{MODEL}"]},
                router={"breaker": {"failures": 1}},
            )
            for _ in range(2):
                async with agw.realtime.connect(model="voice") as s:
                    await talk(s, 1)
            assert first.connections == 1 and second.connections == 2
            assert agw.health().targets[f"openai/{MODEL}"].state == "open"
            await agw.aclose()

    asyncio.run(main())
