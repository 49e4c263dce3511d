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


# -- no key in provider text that came with a 200 (issue 13.11) -----------------------------

_CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n'
)
# OpenAI-format error event (OpenRouter documents `data: {"error": {...}}` mid-stream)
_OPENAI_ERROR = b'data: {"error":{"message":"invalid key ' + KEY.encode() + b'","code":502}}\n\n'
# Anthropic's documented `event: error` (Messages streaming: "overloaded_error")
_ANTHROPIC_START = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":'
    b'"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,'
    b'"usage":{"input_tokens":5,"output_tokens":1}}}\n\n'
)
_ANTHROPIC_ERROR = (
    b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"key '
    + KEY.encode()
    + b' is overloaded"}}\n\n'
)
_ANTHROPIC_TEXT = (
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"Hi"}}\n\n'
)
TWO_HUNDREDS = {
    "openai-event-first": ("openai", "gpt-4o-mini", _OPENAI_ERROR, True),
    "openai-event-after-content": ("openai", "gpt-4o-mini", _CHUNK + _OPENAI_ERROR, True),
    "anthropic-event-first": (
        "anthropic",
        "claude-sonnet-4-5",
        _ANTHROPIC_START + _ANTHROPIC_ERROR,
        True,
    ),
    "anthropic-event-after-content": (
        "anthropic",
        "claude-sonnet-4-5",
        _ANTHROPIC_START + _ANTHROPIC_TEXT + _ANTHROPIC_ERROR,
        True,
    ),
    "openai-unparsable-200": (
        "openai",
        "gpt-4o-mini",
        b'{"id": "' + KEY.encode() + b'", "choices": 5}',
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(TWO_HUNDREDS))
def test_provider_text_in_a_200_is_scrubbed(case: str, mode: str) -> None:
    kind, model, body, stream = TWO_HUNDREDS[case]
    kind_type = "text/event-stream" if stream else "application/json"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": kind_type}, content=body)

    config: dict[str, Any] = {
        "providers": {kind: {"api_keys": [KEY]}},
        "transport": httpx.MockTransport(answer),
    }
    kwargs: dict[str, Any] = {"model": f"{kind}/{model}", "messages": HI}

    async def run_async() -> None:
        async with aigate.AsyncGateway(**config) as agw:
            if stream:
                async for _ in await agw.chat.completions.create(stream=True, **kwargs):
                    pass
            else:
                await agw.chat.completions.create(**kwargs)

    with pytest.raises(aigate.AigateError) as info:
        if mode == "async":
            asyncio.run(run_async())
        else:
            with aigate.Gateway(**config) as gw:
                if stream:
                    for _ in gw.chat.completions.create(stream=True, **kwargs):
                        pass
                else:
                    gw.chat.completions.create(**kwargs)
    found: list[str] = []
    _walk(info.value, "error", set(), found)
    assert found == []
    assert "***" in str(info.value) or not stream


def test_a_read_timeout_before_content_keeps_its_transport_cause(mode: str) -> None:
    """Scrubbing provider text must not cut what a driver says about the connection: its
    TransportCause is already redacted."""
    from aigate._wire import TransportCause
    from aigate.testing import FaultTransport, stall

    config: dict[str, Any] = {
        "providers": OPENAI,
        "transport": FaultTransport({"gpt-4o-mini": [stall(30, after=1)]}),
        "router": {"retry": {"retries": 0, "idle_timeout_s": 10}},
    }
    kwargs: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": HI, "stream": True}

    async def run_async() -> None:
        async with aigate.AsyncGateway(**config) as agw:
            async for _ in await agw.chat.completions.create(**kwargs):
                pass

    with pytest.raises(aigate.APITimeoutError) as info:
        if mode == "async":
            asyncio.run(run_async())
        else:
            with aigate.Gateway(**config) as gw:
                for _ in gw.chat.completions.create(**kwargs):
                    pass
    assert isinstance(info.value.__cause__, TransportCause)
    assert KEY not in str(info.value.__cause__)
