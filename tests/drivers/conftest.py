"""A real loopback HTTP/1.1 server for the engines' conformance suite (stdlib asyncio, in a
thread): each base path plays one provider behaviour.

- ``/plain``: a chat completion (OpenAI's documented example body, as benchmarks/_loopback.py)
- ``/stream``: the same as an SSE stream when the request asks for one
- ``/stall``: waits 5 s before the headers
- ``/trickle``: a 200 whose body arrives one byte every 50 ms
- ``/keepalive``: a 200 SSE stream that only ever sends ``: keep-alive`` comments
- ``/reset``: closes the connection without answering
- ``/echo-key``: 401 whose body quotes the request's Authorization header (providers do)
- ``/cookie``: a chat completion that sets a cookie and whose content quotes the Cookie
  header the request carried
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from _loopback import CHAT_BODY, stream_body

ENGINES = [
    ("httpx", "sync"),
    ("httpx", "async"),
    ("httpx2", "sync"),
    ("httpx2", "async"),
    ("aiohttp", "async"),
]


def _head(status: int, content_type: str, length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"content-type: {content_type}", "x-request-id: req_loop"]
    lines.append(f"content-length: {length}" if length is not None else "connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


_OPEN: set[asyncio.StreamWriter] = set()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    _OPEN.add(writer)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            pairs = (x.partition(":") for x in lines[1:] if x)
            headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            streamed = b'"stream":true' in body
            if path.startswith("/reset"):
                writer.close()
                return
            if path.startswith("/stall"):
                await asyncio.sleep(5)
            if path.startswith("/echo-key"):
                payload = json.dumps(
                    {"error": {"message": f"bad key {headers.get('authorization')}"}}
                ).encode()
                writer.write(_head(401, "application/json", len(payload)) + payload)
            elif path.startswith("/cookie"):
                answer = json.loads(CHAT_BODY)
                answer["choices"][0]["message"]["content"] = f"cookie={headers.get('cookie')}"
                payload = json.dumps(answer).encode()
                head = _head(200, "application/json", len(payload))
                head = head[:-2] + b"set-cookie: session=tenant-a; Path=/\r\n\r\n"
                writer.write(head + payload)
            elif path.startswith("/trickle"):
                writer.write(_head(200, "application/json", len(CHAT_BODY)))
                for i in range(len(CHAT_BODY)):
                    writer.write(CHAT_BODY[i : i + 1])
                    await writer.drain()
                    await asyncio.sleep(0.05)
            elif path.startswith("/keepalive"):
                writer.write(_head(200, "text/event-stream", None))
                while True:
                    writer.write(b": keep-alive\n\n")
                    await writer.drain()
                    await asyncio.sleep(0.05)
            elif streamed:
                data = stream_body(20)
                writer.write(_head(200, "text/event-stream", len(data)) + data)
            else:
                writer.write(_head(200, "application/json", len(CHAT_BODY)) + CHAT_BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        _OPEN.discard(writer)
        writer.transport.abort()


class Server:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)

            async def start() -> None:
                server = self.server = await asyncio.start_server(
                    _handle, "127.0.0.1", 0, backlog=4096
                )
                self.port = server.sockets[0].getsockname()[1]
                ready.set()

            self.loop.run_until_complete(start())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)

    def url(self, behaviour: str) -> str:
        return f"http://127.0.0.1:{self.port}/{behaviour}"

    def stop(self) -> None:
        async def shutdown() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            await asyncio.sleep(0.05)
            for writer in list(_OPEN):
                writer.transport.abort()
            await asyncio.sleep(0.05)

        self.loop.call_soon_threadsafe(self.server.close)
        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.stop()
