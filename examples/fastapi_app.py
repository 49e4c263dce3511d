"""A web service that calls models through aigate: one gateway per process, shared by all
requests, with per-user cost in the ledger and budget errors mapped to HTTP statuses.

Uses FastAPI when it is installed (``pip install fastapi uvicorn``); otherwise the same
endpoints as a plain ASGI app with no dependency, so this file always runs. Serve it with
``uvicorn examples.fastapi_app:app``; ``python examples/fastapi_app.py`` exercises it
in-process through httpx (no socket), offline with the fake provider unless OPENAI_API_KEY
is set.

    POST /chat          {"prompt": "...", "user": "u1"} -> {"answer", "cost_usd", "model"}
    POST /chat/stream   the same, answered as server-sent events
    GET  /usage         spend per user, from the ledger
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

import aigate

MODEL = "openai/gpt-4o-mini"
_gateway: aigate.AsyncGateway | None = None


def gateway() -> aigate.AsyncGateway:
    """The process's gateway, built on first use (one HTTP pool for every request)."""
    global _gateway
    if _gateway is None:
        real = bool(os.environ.get("OPENAI_API_KEY"))
        _gateway = aigate.AsyncGateway(
            providers={"openai": {} if real else {"kind": "fake"}},
            ledger="memory://",  # sqlite:///aigate.db to keep it
            budget={"limits": [{"scope": "user:*", "amount": "0.00007", "window": "day"}]},
        )
    return _gateway


async def close_gateway() -> None:
    global _gateway
    if _gateway is not None:
        await _gateway.aclose()
        _gateway = None


def status_for(exc: aigate.AigateError) -> int:
    """HTTP status for an aigate error: the caller's fault, their budget, or upstream."""
    if isinstance(exc, (aigate.BudgetExceeded, aigate.RateLimited)):
        return 429
    if isinstance(exc, aigate.InvalidRequestError):
        return 400
    return 502


async def chat(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    try:
        r = await gateway().chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": str(body.get("prompt", ""))}],
            user=body.get("user"),
            max_tokens=100,
        )
    except aigate.AigateError as exc:
        return status_for(exc), {"error": type(exc).__name__, "detail": str(exc)}
    info = r.gateway
    return 200, {
        "answer": r.choices[0].message.content,
        "model": f"{info.provider}/{info.model}" if info else MODEL,
        "cost_usd": str(info.cost_usd) if info and info.cost_usd is not None else None,
    }


async def chat_events(body: dict[str, Any]) -> AsyncIterator[bytes]:
    stream = await gateway().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": str(body.get("prompt", ""))}],
        user=body.get("user"),
        stream=True,
    )
    async with stream:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield f"data: {json.dumps(chunk.choices[0].delta.content)}\n\n".encode()
    yield b"data: [DONE]\n\n"


async def usage() -> dict[str, Any]:
    rows = await gateway().usage.summary(group_by=["user"])
    return {(r.group["user"] or "-"): {"calls": r.requests, "usd": str(r.cost_usd)} for r in rows}


# -- the app: FastAPI when available, else plain ASGI --------------------------------------

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse
except ImportError:
    FastAPI = None  # type: ignore[assignment,misc]


if FastAPI is not None:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        await close_gateway()

    app: Any = FastAPI(title="aigate example", lifespan=lifespan)

    @app.post("/chat")
    async def chat_endpoint(request: Request) -> JSONResponse:
        status, payload = await chat(await request.json())
        return JSONResponse(payload, status_code=status)

    @app.post("/chat/stream")
    async def chat_stream_endpoint(request: Request) -> StreamingResponse:
        return StreamingResponse(chat_events(await request.json()), media_type="text/event-stream")

    @app.get("/usage")
    async def usage_endpoint() -> dict[str, Any]:
        return await usage()

else:
    Send = Callable[[dict[str, Any]], Awaitable[None]]
    Receive = Callable[[], Awaitable[dict[str, Any]]]

    async def _reply(send: Send, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _json_body(receive: Receive) -> dict[str, Any]:
        data = b""
        while True:
            message = await receive()
            data += message.get("body", b"")
            if not message.get("more_body"):
                break
        return json.loads(data or b"{}")  # type: ignore[no-any-return]

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """The same three endpoints as a bare ASGI callable (no framework)."""
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await close_gateway()
            await send({"type": "lifespan.shutdown.complete"})
            return
        route = (scope["method"], scope["path"])
        if route == ("POST", "/chat"):
            status, payload = await chat(await _json_body(receive))
            await _reply(send, status, payload)
        elif route == ("POST", "/chat/stream"):
            events = chat_events(await _json_body(receive))
            headers = [(b"content-type", b"text/event-stream")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            async for event in events:
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        elif route == ("GET", "/usage"):
            await _reply(send, 200, await usage())
        else:
            await _reply(send, 404, {"error": "not found"})


async def main() -> None:
    """Call the app in-process, as a test client would."""
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            print("framework:", "FastAPI" if FastAPI is not None else "plain ASGI")
            for user in ("ana", "ana", "ana", "ana", "bo"):
                r = await client.post("/chat", json={"prompt": "Hello there", "user": user})
                print(f"POST /chat as {user}: {r.status_code} {r.json()}")
            async with client.stream("POST", "/chat/stream", json={"prompt": "a b c"}) as r:
                events = [line async for line in r.aiter_lines() if line.startswith("data:")]
            print(f"POST /chat/stream: {r.status_code}, {len(events)} events")
            print("GET /usage:", (await client.get("/usage")).json())
    finally:
        await close_gateway()


if __name__ == "__main__":
    asyncio.run(main())
