"""The Responses and Messages surfaces are recorded as themselves, budgeted and rate
limited like chat calls (issue 16: "recorded (one ledger row per call, `kind` says which
surface)", "budgeted (reserve -> settle), rate limited").
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import aigate

PROVIDERS = {"openai": {"kind": "fake"}, "anthropic": {"kind": "fake"}}
MODEL = "openai/gpt-4o-mini"


def _call(gw: Any, surface: str, stream: bool) -> Any:
    """One call on ``surface``; a stream is read to its end."""
    if surface == "responses":
        result = gw.responses.create(model=MODEL, input="Say hi", stream=stream)
    else:
        result = gw.messages.create(
            model=MODEL,
            max_tokens=32,
            messages=[{"role": "user", "content": "Say hi"}],
            stream=stream,
        )
    return list(result) if stream else result


async def _acall(gw: Any, surface: str, stream: bool) -> Any:
    if surface == "responses":
        result = await gw.responses.create(model=MODEL, input="Say hi", stream=stream)
    else:
        result = await gw.messages.create(
            model=MODEL,
            max_tokens=32,
            messages=[{"role": "user", "content": "Say hi"}],
            stream=stream,
        )
    return [event async for event in result] if stream else result


def _run(
    mode: str, settings: dict[str, Any], calls: list[tuple[str, bool]]
) -> tuple[list[Any], Any]:
    """Make ``calls`` ((surface, stream) pairs) on a fresh gateway; each result or the
    AigateError it raised, and the gateway's ledger rows."""
    if mode == "sync":
        with aigate.Gateway(providers=PROVIDERS, ledger="memory://", **settings) as gw:
            out: list[Any] = []
            for surface, stream in calls:
                try:
                    out.append(_call(gw, surface, stream))
                except aigate.AigateError as exc:
                    out.append(exc)
            return out, gw._core.ledger.query()

    async def main() -> tuple[list[Any], Any]:
        async with aigate.AsyncGateway(providers=PROVIDERS, ledger="memory://", **settings) as gw:
            out: list[Any] = []
            for surface, stream in calls:
                try:
                    out.append(await _acall(gw, surface, stream))
                except aigate.AigateError as exc:
                    out.append(exc)
            return out, gw._core.ledger.query()

    return asyncio.run(main())


@pytest.mark.parametrize("surface", ["responses", "messages"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_the_ledger_kind_names_the_surface(mode: str, surface: str, stream: bool) -> None:
    results, rows = _run(mode, {}, [(surface, stream)])
    assert not isinstance(results[0], Exception)
    assert [row.kind for row in rows] == [surface]
    assert rows[0].cost_nano and rows[0].metadata["surface"] == surface


@pytest.mark.parametrize("surface", ["responses", "messages"])
def test_a_hard_budget_refuses_before_sending(mode: str, surface: str) -> None:
    budget = {
        "store": "memory://",
        "limits": [{"scope": "global", "amount": "0.0000001", "window": "day"}],
    }
    results, rows = _run(mode, {"budget": budget}, [(surface, False), (surface, True)])
    assert all(isinstance(r, aigate.BudgetExceeded) for r in results)
    assert [(row.kind, row.status) for row in rows] == [(surface, "refused")] * 2


@pytest.mark.parametrize("surface", ["responses", "messages"])
def test_a_rate_limit_holds_on_the_surface(mode: str, surface: str) -> None:
    budget = {"rate_limits": [{"scope": "global", "rpm": 1}], "wait_s": 0}
    results, rows = _run(mode, {"budget": budget}, [(surface, False), (surface, True)])
    assert not isinstance(results[0], Exception)
    assert isinstance(results[1], aigate.RateLimited)
    assert [row.status for row in rows] == ["ok", "refused"]


@pytest.mark.parametrize("surface", ["responses", "messages"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_failure_before_the_first_event_fails_over(mode: str, surface: str, stream: bool) -> None:
    """Issue 16: "failover before the first visible event" on both surfaces: the first
    target answers 503, the second answers, and the caller sees only the second."""
    from aigate.testing import FakeTransport, error

    providers = {
        "down": {"kind": "fake", "options": {"transport": FakeTransport([error(503)] * 4)}},
        "up": {"kind": "fake"},
    }
    settings = {"providers": providers, "routes": {"r": ["down/gpt-4o-mini", "up/gpt-4o-mini"]}}

    def call(gw: Any) -> Any:
        if surface == "responses":
            return gw.responses.create(model="r", input="Say hi", stream=stream)
        return gw.messages.create(
            model="r",
            max_tokens=32,
            messages=[{"role": "user", "content": "Say hi"}],
            stream=stream,
        )

    if mode == "sync":
        with aigate.Gateway(ledger="memory://", **settings) as gw:
            result = call(gw)
            events = list(result) if stream else []
            rows = gw._core.ledger.query()
    else:

        async def main() -> tuple[Any, list[Any], Any]:
            async with aigate.AsyncGateway(ledger="memory://", **settings) as gw:
                result = await call(gw)
                events = [e async for e in result] if stream else []
                return result, events, gw._core.ledger.query()

        result, events, rows = asyncio.run(main())
    if stream:
        assert events and not any(
            getattr(e, "type", "") in ("error", "response.failed") for e in events
        )
    (row,) = rows
    assert row.status == "ok" and row.provider == "up"
    assert [a["provider"] for a in row.attempts] == ["down", "up"]
