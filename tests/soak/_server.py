"""A fault-injecting OpenAI-compatible HTTP server for the chaos soak (stdlib only).

Run as a script: ``python _server.py --seed 7`` binds 127.0.0.1 on an ephemeral port, prints
``PORT <n>`` on its first line of output and serves until SIGTERM. Three providers live
under ``/p1/v1``, ``/p2/v1`` and ``/p3/v1`` (``POST .../chat/completions``, plain and
streamed with ``stream_options.include_usage``); ``GET /stats`` returns what was served.

Each request draws its fate from a seeded schedule (request ``n`` of provider ``p`` always
gets the same fate): a success, or a 429 with a short Retry-After, a 500, a 529, a reset
connection (before or in the middle of the answer), a stall longer than the client's read
timeout, a stream cut after some chunks, or a malformed JSON body / stream event.

The answer to a prompt is a pure function of the provider and the prompt
(:func:`answer_text`), and so is the usage every successful answer reports
(:func:`usage_of`): the worker checks that what it got is exactly what was sent, and what
it was charged is exactly the provider's price of that usage.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import signal
import sys
from collections import Counter
from decimal import Decimal
from typing import Any

PROVIDERS = ("p1", "p2", "p3")
MODEL = "soak-model"
#: USD per million tokens (input, output), per provider: every cost is a whole nano-dollar.
PRICES = {"p1": ("1", "4"), "p2": ("2", "8"), "p3": ("0.5", "2")}
#: Share of requests that fail, per provider: p1 is the flakiest, so failover is common.
FAULT_RATE = {"p1": 0.40, "p2": 0.25, "p3": 0.12}
#: Fault kinds and their weights (for a plain request, "cut" is a mid-body reset).
FAULTS = (
    ("429", 24),
    ("500", 14),
    ("529", 10),
    ("reset", 16),
    ("stall", 4),
    ("cut", 16),
    ("malformed", 16),
)
STALL_S = 1.6  # longer than the client's read timeout (1 s)
_WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "yankee",
    "zulu",
    "red",
    "green",
    "blue",
    "black",
    "white",
    "gold",
    "silver",
    "river",
    "stone",
    "cloud",
    "light",
    "sound",
    "water",
    "fire",
)


def answer_text(provider: str, prompt: str) -> str:
    """What ``provider`` answers to ``prompt``: 12 to 40 common words (one token each)."""
    digest = hashlib.sha256(f"{provider}|{prompt}".encode()).digest()
    count = 12 + digest[0] % 29
    return " ".join(_WORDS[digest[1 + i % 31] % len(_WORDS)] for i in range(count))


def usage_of(provider: str, messages: list[dict[str, Any]]) -> dict[str, int]:
    """The usage a successful answer reports: prompt words, answer words.

    Both are at most what aigate's worst-case estimate counts (a word is at least one
    token, and every answer word is one token), so a reservation always covers the cost.
    """
    prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
    last = str(messages[-1].get("content", "")) if messages else ""
    completion = len(answer_text(provider, last).split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def cost_nano(provider: str, usage: dict[str, int]) -> int:
    """The exact cost of ``usage`` at ``provider``, in nano-USD."""
    price_in, price_out = (Decimal(p) for p in PRICES[provider])
    usd = (usage["prompt_tokens"] * price_in + usage["completion_tokens"] * price_out) / 10**6
    nano = usd * 10**9
    assert nano == nano.to_integral_value()
    return int(nano)


def fate(seed: int, provider: str, n: int) -> tuple[str, random.Random]:
    """The schedule: what request ``n`` of ``provider`` gets, and a generator for its details."""
    rng = random.Random(f"{seed}:{provider}:{n}")
    if rng.random() >= FAULT_RATE[provider]:
        return "ok", rng
    kinds, weights = zip(*FAULTS, strict=True)
    return rng.choices(kinds, weights)[0], rng


class Server:
    """The HTTP/1.1 loopback server (keep-alive, Content-Length requests, chunked streams)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.requests: Counter[str] = Counter()  # per provider
        self.served: Counter[str] = Counter()  # "<provider>:<fate>[:stream]"
        self.keys: Counter[str] = Counter()  # requests per API key
        self.billed_nano = 0  # cost of the usage reported in complete answers

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    raw = await reader.readline()
                    if raw in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = raw.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                if not await self.respond(method, path, headers, body, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        except asyncio.CancelledError:  # shutting down: nothing more to serve
            return
        finally:
            writer.close()

    async def respond(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Answer one request; False when the connection must be dropped."""
        if method == "GET" and path == "/stats":
            stats = {
                "requests": dict(self.requests),
                "served": dict(self.served),
                "keys": dict(self.keys),
                "billed_nano": self.billed_nano,
            }
            await _send(writer, 200, json.dumps(stats).encode())
            return True
        parts = path.strip("/").split("/")
        provider = parts[0] if parts else ""
        if provider not in PROVIDERS or parts[1:] != ["v1", "chat", "completions"]:
            await _send(writer, 404, _error("no such route", "not_found"))
            return True
        request = json.loads(body)
        n = self.requests[provider]
        self.requests[provider] += 1
        self.keys[headers.get("authorization", "").removeprefix("Bearer ")] += 1
        kind, rng = fate(self.seed, provider, n)
        stream = bool(request.get("stream"))
        self.served[f"{provider}:{kind}{':stream' if stream else ''}"] += 1
        await asyncio.sleep(rng.uniform(0.002, 0.02))  # the model thinking
        if kind == "429":
            delay = rng.choice((0.05, 0.1, 0.2))
            extra = {"retry-after-ms": str(int(delay * 1000)), "retry-after": str(delay)}
            await _send(writer, 429, _error("slow down", "rate_limit_exceeded"), extra)
            return True
        if kind in ("500", "529"):
            await _send(writer, int(kind), _error("the provider is having a bad day", "server"))
            return True
        if kind == "stall":
            await asyncio.sleep(STALL_S)
            return False
        messages = request.get("messages") or []
        prompt = str(messages[-1].get("content", "")) if messages else ""
        text = answer_text(provider, prompt)
        usage = usage_of(provider, messages)
        if stream:
            return await self._stream(writer, provider, kind, rng, text, usage, request)
        payload = json.dumps(
            {
                "id": f"chatcmpl-{provider}-{n}",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
        ).encode()
        if kind == "malformed":
            await _send(writer, 200, payload[: len(payload) // 2])
            return True
        if kind in ("reset", "cut"):
            if rng.random() < 0.5:  # before the answer
                writer.transport.abort()
                return False
            head = _head(200, len(payload), {"content-type": "application/json"})
            writer.write(head + payload[: rng.randrange(1, len(payload))])
            await writer.drain()
            writer.transport.abort()
            return False
        self.billed_nano += cost_nano(provider, usage)
        await _send(writer, 200, payload)
        return True

    async def _stream(
        self,
        writer: asyncio.StreamWriter,
        provider: str,
        kind: str,
        rng: random.Random,
        text: str,
        usage: dict[str, int],
        request: dict[str, Any],
    ) -> bool:
        ident = f"chatcmpl-{provider}-s"

        def event(choices: list[Any], **extra: Any) -> bytes:
            chunk = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": MODEL,
                "choices": choices,
                **extra,
            }
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        words = text.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        events = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}}])]
        events += [event([{"index": 0, "delta": {"content": p}}]) for p in pieces]
        events.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        if (request.get("stream_options") or {}).get("include_usage"):
            events.append(event([], usage=usage))
        events.append(b"data: [DONE]\n\n")
        if kind == "reset":
            writer.transport.abort()
            return False
        stop_at = len(events)
        if kind in ("cut", "stall", "malformed"):
            stop_at = rng.randrange(0, len(events))
        if kind == "malformed":
            events[stop_at] = b'data: {"id": "chatcmpl-broken", "choices": [\n\n'
        head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        writer.write(head)
        for i, data in enumerate(events):
            if i == stop_at and kind != "malformed":
                break
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            if i % 8 == 7:
                await writer.drain()
                await asyncio.sleep(0.001)
            if i == stop_at:  # the malformed event is out: then the connection dies
                break
        await writer.drain()
        if kind == "stall":
            await asyncio.sleep(STALL_S)
        if kind != "ok":
            writer.transport.abort()
            return False
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        self.billed_nano += cost_nano(provider, usage)
        return True


def _error(message: str, code: str) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": code, "param": None, "code": code}}
    ).encode()


def _head(status: int, length: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"content-length: {length}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send(
    writer: asyncio.StreamWriter, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    extra = {"content-type": "application/json", **(headers or {})}
    writer.write(_head(status, len(body), extra) + body)
    await writer.drain()


async def serve(seed: int) -> None:
    server = Server(seed)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, backlog=1024)
    port = listener.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with listener:
        await stop.wait()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.seed))


if __name__ == "__main__":
    main(sys.argv[1:])
