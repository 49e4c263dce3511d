"""The transports themselves: httpx and httpx2, sync and async, bare clients and the
endpoint table."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest

try:  # absent on the openai 2.x line (.ci/sdk-matrix), which runs on httpx alone
    import httpx2
except ImportError:
    httpx2 = None

import aigate
from aigate.sdk import ENDPOINTS, GatewayTransport, async_openai_client, async_transport, transport
from aigate.testing import FakeTransport

from .conftest import HI, MODEL

LIBS = [httpx] if httpx2 is None else [httpx, httpx2]
SDK_LIB = httpx2 or httpx  # the library this openai SDK runs on
URL = "http://aigate/v1/chat/completions"


def _gateway(mode: str) -> Any:
    settings: dict[str, Any] = {
        "providers": {"openai": {"api_keys": ["sk"]}},
        "transport": FakeTransport(["one two three"]),
    }
    return aigate.Gateway(**settings) if mode == "sync" else aigate.AsyncGateway(**settings)


def _exchange(mode: str, lib: Any, body: dict[str, Any], stream: bool = False) -> Any:
    """POST ``body`` with a bare ``lib`` client; returns (status, headers, bytes)."""
    gw = _gateway(mode)
    if mode == "sync":
        with lib.Client(transport=transport(gw)) as client:
            if stream:
                with client.stream("POST", URL, json=body) as r:
                    return r.status_code, r.headers, b"".join(r.iter_bytes()), type(r)
            r = client.post(URL, json=body)
            return r.status_code, r.headers, r.content, type(r)

    async def run() -> Any:
        async with lib.AsyncClient(transport=async_transport(gw)) as client:
            if stream:
                async with client.stream("POST", URL, json=body) as r:
                    return (
                        r.status_code,
                        r.headers,
                        b"".join([p async for p in r.aiter_bytes()]),
                        type(r),
                    )
            r = await client.post(URL, json=body)
            return r.status_code, r.headers, r.content, type(r)

    return asyncio.run(run())


@pytest.mark.parametrize("lib", LIBS, ids=lambda m: m.__name__)
def test_each_library_gets_its_own_response(mode: str, lib: Any) -> None:
    status, headers, content, cls = _exchange(mode, lib, {"model": MODEL, "messages": HI})
    assert cls is lib.Response
    assert status == 200 and headers["x-should-retry"] == "false"
    openai.types.chat.ChatCompletion.model_validate(json.loads(content))


@pytest.mark.parametrize("lib", LIBS, ids=lambda m: m.__name__)
def test_sse_stream_ends_with_done(mode: str, lib: Any) -> None:
    status, headers, content, _ = _exchange(
        mode, lib, {"model": MODEL, "messages": HI, "stream": True}, stream=True
    )
    assert status == 200 and headers["content-type"] == "text/event-stream"
    events = [e for e in content.decode().split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    assert events[-2].startswith(": x-aigate ")  # the final account, as an SSE comment
    trailer = json.loads(events[-2][len(": x-aigate ") :])
    assert trailer["x-aigate-provider"] == "openai" and "x-aigate-call-id" in trailer
    chunks = [json.loads(e[len("data: ") :]) for e in events[:-2]]
    for chunk in chunks:
        openai.types.chat.ChatCompletionChunk.model_validate(chunk)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "one two three"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/nope", 404),
        ("GET", "/v1/chat/completions", 405),
        ("POST", "/v1/chat/completions", 400),
    ],
)
def test_unknown_paths_methods_and_bodies(method: str, path: str, status: int) -> None:
    gw = _gateway("sync")
    with SDK_LIB.Client(transport=transport(gw)) as client:
        r = client.request(method, "http://aigate" + path, content=b"not json")
    assert r.status_code == status
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_any_base_path_before_v1() -> None:
    gw = _gateway("sync")
    c = openai.OpenAI(
        api_key="x",
        base_url="http://aigate/some/prefix/v1",
        http_client=SDK_LIB.Client(transport=transport(gw)),
    )
    assert c.chat.completions.create(model=MODEL, messages=HI).choices[0].message.content


def test_the_wrong_gateway_kind_is_a_configuration_error() -> None:
    with pytest.raises(aigate.ConfigurationError, match="AsyncGateway or a Gateway"):
        async_transport(object())  # type: ignore[arg-type]
    with pytest.raises(aigate.ConfigurationError, match="a Gateway"):
        transport(_gateway("async"))


def test_an_async_client_over_a_sync_gateway_runs_it_in_threads() -> None:
    gw = aigate.Gateway(
        providers={"openai": {"api_keys": ["sk"]}},
        transport=FakeTransport(["one two three", "four five"]),
        ledger="memory://",
    )
    client = async_openai_client(gw)

    async def run() -> tuple[str, str]:
        r = await client.chat.completions.create(model=MODEL, messages=HI)
        stream = await client.chat.completions.create(model=MODEL, messages=HI, stream=True)
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        await client.close()
        return r.choices[0].message.content or "", "".join(parts)

    assert asyncio.run(run()) == ("one two three", "four five")
    assert len(gw.usage.query()) == 2
    gw.close()


def test_the_endpoint_table_names_every_surface() -> None:
    assert {
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/audio/transcriptions",
        "/v1/models",
        "/v1/responses",
        "/v1/messages",
    } <= set(ENDPOINTS)


def test_repr_holds_no_secret() -> None:
    gw = aigate.Gateway(providers={"openai": {"api_keys": ["sk-very-secret"]}})
    t = GatewayTransport(gw)
    assert "sk-very-secret" not in repr(t)


def test_a_request_repr_holds_no_key() -> None:
    from aigate.sdk import SdkRequest

    secret = "gk_" + "s" * 43
    request = SdkRequest(
        "POST", "/v1/chat/completions", {"authorization": f"Bearer {secret}"}, b"{}"
    )
    assert request.virtual_key == secret
    assert secret not in repr(request)
