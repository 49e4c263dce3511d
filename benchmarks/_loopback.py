"""Shared by throughput.py, memory.py and peers.py: the OpenAI-shaped answers, a loopback
HTTP server that sends them from memory, and interleaved timing.

The server is stdlib only (an ``asyncio.Protocol`` speaking just enough HTTP/1.1: keep-alive,
``Content-Length`` bodies) and runs in its own process, so it never shares an event loop or
a core's time slice with the client being measured. It answers every POST with the same
chat completion (an SSE stream when the body asks for one) and ``GET /__cpu`` with its own
CPU seconds, so a benchmark can tell whether the server was the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "CHAT_BODY",
    "MESSAGES",
    "STREAM_BODY",
    "LoopbackServer",
    "atimed",
    "interleaved",
    "loopback",
    "mock_handler",
    "timed",
]

MESSAGES = [{"role": "user", "content": "Say hello in one short sentence."}]
CHAT_BODY = json.dumps(
    {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1677652288,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there, how may I help?"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
    }
).encode()


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    payload = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if finish is not None or delta
        else [],
        **extra,
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def stream_body(chunks: int) -> bytes:
    """A stream of ``chunks`` content chunks, a finish chunk, usage and ``[DONE]``."""
    usage = {"prompt_tokens": 9, "completion_tokens": chunks, "total_tokens": 9 + chunks}
    return (
        _chunk({"role": "assistant", "content": ""})
        + b"".join(_chunk({"content": f"tok{i} "}) for i in range(chunks))
        + _chunk({}, "stop")
        + _chunk({}, usage=usage)
        + b"data: [DONE]\n\n"
    )


STREAM_BODY = stream_body(200)


def mock_handler(request: Any) -> Any:
    """An ``httpx.MockTransport`` handler with the same answers as the loopback server."""
    import httpx

    if b'"stream":true' in request.content or b'"stream": true' in request.content:
        return httpx.Response(
            200, content=STREAM_BODY, headers={"content-type": "text/event-stream"}
        )
    return httpx.Response(200, content=CHAT_BODY, headers={"content-type": "application/json"})


# -- the loopback server (runs in a child process) ----------------------------------------


def _response(body: bytes, content_type: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: "
        + content_type
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\nx-request-id: req_loopback\r\n\r\n"
        + body
    )


_CHAT_RESPONSE = _response(CHAT_BODY, b"application/json")
_STREAM_RESPONSE = _response(STREAM_BODY, b"text/event-stream")


class _Connection(asyncio.Protocol):
    """One keep-alive connection: parse requests as they complete, answer each at once."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(buffer) < total:
                return
            body = bytes(buffer[end + 4 : total])
            del buffer[:total]
            assert self.transport is not None
            if head.startswith(b"get /__cpu"):
                cpu = json.dumps({"cpu": time.process_time()}).encode()
                self.transport.write(_response(cpu, b"application/json"))
            elif b'"stream":true' in body or b'"stream": true' in body:
                self.transport.write(_STREAM_RESPONSE)
            else:
                self.transport.write(_CHAT_RESPONSE)
            if b"connection: close" in head:
                self.transport.close()
                return


def _serve(port_out: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Connection, "127.0.0.1", 0, backlog=1024)
        port_out.send(server.sockets[0].getsockname()[1])
        port_out.close()
        await server.serve_forever()

    asyncio.run(main())


class LoopbackServer:
    """A running server: ``url`` is an OpenAI-style base URL (``.../v1``)."""

    def __init__(self, process: Any, port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}/v1"

    def cpu_seconds(self) -> float:
        """The server process's CPU time so far (from the server itself)."""
        import socket

        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"GET /__cpu HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        return float(json.loads(data.split(b"\r\n\r\n", 1)[1])["cpu"])


@contextmanager
def loopback() -> Iterator[LoopbackServer]:
    """Start the server in a child process on an ephemeral port; stop it on exit."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_serve, args=(send,), daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(30):
            raise RuntimeError("the loopback server did not start within 30 s")
        yield LoopbackServer(process, receive.recv())
    finally:
        receive.close()
        process.terminate()
        process.join(10)


# -- timing ----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], rounds: int, number: int) -> float:
    """Median seconds per call over ``rounds`` batches of ``number`` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def atimed(fn: Callable[[], Coroutine[Any, Any, Any]], rounds: int, number: int) -> float:
    """:func:`timed` for a coroutine function (one event loop for all its rounds)."""

    async def run() -> float:
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(number):
                await fn()
            samples.append((time.perf_counter() - start) / number)
        return statistics.median(samples)

    return asyncio.run(run())


def interleaved(cases: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Measure each case ``repeats`` times, interleaved, and keep each case's median: the
    machine's background noise then hits every case alike."""
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            results[name].append(fn())
    return {name: statistics.median(values) for name, values in results.items()}
