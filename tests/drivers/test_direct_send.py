"""A client the gateway made sends straight to its transport; an injected client keeps its
own layers (drivers/_httpx_like.py). Sync and async, on httpx and httpx2."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import httpx2
import pytest

import aigate

HI = [{"role": "user", "content": "Hi"}]
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}  # fmt: skip

CASES = [
    pytest.param(lib, asynchronous, id=f"{lib.__name__}-{'async' if asynchronous else 'sync'}")
    for lib in (httpx, httpx2)
    for asynchronous in (False, True)
]


def _mock(lib: Any, seen: list[Any]) -> Any:
    def handler(request: Any) -> Any:
        seen.append(request)
        return lib.Response(
            200,
            json=ANSWER,
            headers={"set-cookie": "session=tenant-a; Path=/"},
        )

    return lib.MockTransport(handler)


def _call(asynchronous: bool, make: Callable[[], Any], times: int) -> None:
    if not asynchronous:
        with make() as gw:
            for _ in range(times):
                gw.chat.completions.create(model="openai/gpt-4o-mini", messages=HI)
        return

    async def run() -> None:
        gw = make()
        try:
            for _ in range(times):
                await gw.chat.completions.create(model="openai/gpt-4o-mini", messages=HI)
        finally:
            await gw.aclose()

    asyncio.run(run())


@pytest.mark.parametrize(("lib", "asynchronous"), CASES)
def test_no_cookie_is_carried_from_one_call_to_the_next(lib: Any, asynchronous: bool) -> None:
    """A provider's Set-Cookie must not ride along on later calls (maybe another tenant's).
    A guard, not a fix: Client.send never added the jar's cookies to a request built
    outside the client either; sending direct must keep it so."""
    seen: list[Any] = []
    cls = aigate.AsyncGateway if asynchronous else aigate.Gateway
    providers = {"openai": {"api_keys": ["sk-test"]}}
    _call(asynchronous, lambda: cls(providers=providers, transport=_mock(lib, seen)), 2)
    assert len(seen) == 2
    assert "cookie" not in seen[1].headers


@pytest.mark.parametrize(("lib", "asynchronous"), CASES)
def test_an_injected_client_keeps_its_hooks_and_headers(lib: Any, asynchronous: bool) -> None:
    seen: list[Any] = []
    hooked: list[str] = []
    kind = lib.AsyncClient if asynchronous else lib.Client

    def hook(request: Any) -> None:
        hooked.append(str(request.url))

    async def ahook(request: Any) -> None:
        hook(request)

    client = kind(
        transport=_mock(lib, seen), event_hooks={"request": [ahook if asynchronous else hook]}
    )
    cls = aigate.AsyncGateway if asynchronous else aigate.Gateway
    providers = {"openai": {"api_keys": ["sk-test"]}}
    _call(asynchronous, lambda: cls(providers=providers, http_client=client), 1)
    assert hooked == ["https://api.openai.com/v1/chat/completions"]
    assert json.loads(seen[0].content)["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("lib", [httpx, httpx2])
def test_a_closed_gateway_refuses_to_send(lib: Any) -> None:
    gw = aigate.Gateway(providers={"openai": {"api_keys": ["sk"]}}, transport=_mock(lib, []))
    gw.chat.completions.create(model="openai/gpt-4o-mini", messages=HI)
    gw.close()
    with pytest.raises(RuntimeError, match="closed"):
        gw.chat.completions.create(model="openai/gpt-4o-mini", messages=HI)


@pytest.mark.parametrize("lib", [httpx, httpx2])
def test_mounts_still_route_by_origin(lib: Any) -> None:
    """The transport is the client's own pick: a mounted origin (a fake provider's own
    transport) is served by its mount, every other origin by the client's transport."""
    main: list[Any] = []
    mounted: list[Any] = []
    providers = {
        "openai": {"api_keys": ["sk"]},
        "local": {"kind": "fake", "options": {"transport": _mock(lib, mounted)}},
    }
    with aigate.Gateway(providers=providers, transport=_mock(lib, main)) as gw:
        gw.chat.completions.create(model="openai/gpt-4o-mini", messages=HI)
        gw.chat.completions.create(model="local/gpt-4o-mini", messages=HI)
    assert len(main) == 1 and len(mounted) == 1
