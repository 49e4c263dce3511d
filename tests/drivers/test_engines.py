"""Engine selection, the fake transport on httpx2, 4,096 concurrent calls, and a canary key
searched for in every error's attribute graph (issue 13.7)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import httpx2
import pytest

import aigate
from aigate.testing import FakeTransport, error, reply, timeout

from .conftest import Server

KEY = "sk-canary-0123456789abcdef"
HI = [{"role": "user", "content": "Hi"}]
OPENAI = {"openai": {"api_keys": [KEY]}}


def test_default_engines() -> None:
    with aigate.Gateway(providers=OPENAI) as gw:
        assert gw.http_engine == "httpx"
    agw = aigate.AsyncGateway(providers=OPENAI)
    assert agw.http_engine == "aiohttp"
    asyncio.run(agw.aclose())


def test_injected_transport_selects_its_engine() -> None:
    with aigate.Gateway(providers=OPENAI, transport=httpx2.MockTransport(lambda r: None)) as gw:
        assert gw.http_engine == "httpx2"
    with aigate.Gateway(providers=OPENAI, transport=FakeTransport()) as gw:
        assert gw.http_engine == "httpx"
    with aigate.Gateway(providers=OPENAI, http_client=httpx2.Client()) as gw:
        assert gw.http_engine == "httpx2"


def test_bad_engine_choices_are_configuration_errors() -> None:
    with pytest.raises(aigate.ConfigurationError, match="async only"):
        aigate.Gateway(providers=OPENAI, http="aiohttp")
    with pytest.raises(aigate.ConfigurationError, match="injected"):
        aigate.Gateway(providers=OPENAI, http="httpx2", transport=FakeTransport())
    with pytest.raises(aigate.ConfigurationError, match="http"):
        aigate.Gateway(providers=OPENAI, http="requests")


@pytest.mark.parametrize("lib", [httpx, httpx2])
def test_fake_transport_serves_httpx_and_httpx2_clients(lib: Any) -> None:
    fake = FakeTransport([reply("Hello!")])
    with lib.Client(transport=fake) as client:
        r = client.post(
            "https://api.openai.com/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": HI, "stream": True},
        )
        assert r.status_code == 200 and b"Hello!" in r.read()
    with aigate.Gateway(providers=OPENAI, http_client=lib.Client(transport=fake)) as gw:
        assert gw.chat.completions.create(model="openai/gpt-4o-mini", messages=HI).choices


def test_fake_provider_answers_on_aiohttp() -> None:
    async def run() -> str:
        async with aigate.AsyncGateway(providers={"demo": {"kind": "fake"}}) as agw:
            assert agw.http_engine == "aiohttp"
            r = await agw.chat.completions.create(model="demo/any", messages=HI)
            return str(r.choices[0].message.content)

    assert asyncio.run(run()) == "You said: Hi"


def test_4096_concurrent_calls_queue_and_complete(server: Server) -> None:
    """Issue 12: a batch of 4,096 calls on the default async engine: zero errors."""

    async def run() -> list[Any]:
        agw = aigate.AsyncGateway(
            providers={
                "local": {"kind": "openai", "base_url": server.url("plain"), "api_keys": ["k"]}
            },
            max_connections=64,
        )
        try:
            return await asyncio.gather(
                *(
                    agw.chat.completions.create(model="local/gpt-4o-mini", messages=HI)
                    for _ in range(4096)
                ),
                return_exceptions=True,
            )
        finally:
            await agw.aclose()

    results = asyncio.run(run())
    assert len(results) == 4096
    assert [type(r).__name__ for r in results if isinstance(r, BaseException)] == []


# -- no key in any error ------------------------------------------------------------------


def _walk(value: Any, path: str, seen: set[int], found: list[str]) -> None:
    """Every string reachable from ``value`` (attributes, slots, mappings, sequences,
    ``__cause__``/``__context__``), collecting the paths where the canary appears."""
    if id(value) in seen or len(seen) > 20000:
        return
    seen.add(id(value))
    if isinstance(value, (str, bytes)):
        raw = value.encode() if isinstance(value, str) else value
        if KEY.encode() in raw:
            found.append(path)
        return
    if isinstance(value, (int, float, bool, type(None))):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(k, f"{path}[key]", seen, found)
            _walk(v, f"{path}[{k!r}]", seen, found)
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for i, v in enumerate(value):
            _walk(v, f"{path}[{i}]", seen, found)
        return
    if isinstance(value, BaseException):
        _walk(value.__cause__, f"{path}.__cause__", seen, found)
        _walk(value.__context__, f"{path}.__context__", seen, found)
        _walk(value.args, f"{path}.args", seen, found)
    names = set(getattr(value, "__dict__", {}))
    for cls in type(value).__mro__:
        names.update(getattr(cls, "__slots__", ()))
    for name in ("headers", "url", "content", "request", "response", "_request"):
        if hasattr(value, name):
            names.add(name)
    for name in names:
        try:
            attr = getattr(value, name)
        except Exception:
            continue
        if callable(attr) and not hasattr(attr, "items"):
            continue
        if name == "headers" and hasattr(attr, "items"):
            attr = dict(attr.items())
        elif name == "url":
            attr = str(attr)
        _walk(attr, f"{path}.{name}", seen, found)
    try:
        _walk(repr(value), f"repr({path})", seen, found)
        _walk(str(value), f"str({path})", seen, found)
    except Exception:
        pass


SCRIPTS = {
    "status": [error(401, "bad key " + KEY)],
    "rate-limit": [error(429, headers={"retry-after": "0"})],
    "timeout": [timeout()],
    "connect": [timeout(connect=True)],
    "failover": [error(500), error(503)],
}


@pytest.mark.parametrize("case", sorted(SCRIPTS))
@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
def test_no_error_carries_the_key(case: str, lib: str) -> None:
    fake = FakeTransport(SCRIPTS[case])
    client = (httpx if lib == "httpx" else httpx2).Client(transport=fake)
    providers = {
        "a": {"kind": "openai", "api_keys": [KEY], "base_url": "https://a.test/v1"},
        "g": {"kind": "gemini", "api_keys": [KEY], "base_url": "https://g.test/v1beta"},
    }
    routes = {"r": ["a/gpt-4o-mini", "g/gemini-2.0-flash"]}
    model = "r" if case == "failover" else "a/gpt-4o-mini"
    with (
        aigate.Gateway(providers=providers, routes=routes, http_client=client) as gw,
        pytest.raises(aigate.AigateError) as info,
    ):
        gw.chat.completions.create(model=model, messages=HI)
    found: list[str] = []
    _walk(info.value, "error", set(), found)
    assert found == []
    assert fake.calls  # the key was really sent
    client.close()
