"""The fake engine: a scripted in-process provider, with no network.

This is a driver module (it imports httpx and builds httpx2 objects on demand); the public
names are re-exported by :mod:`aigate.testing`, where users import them from.

It answers from a script in each provider's own wire format, so routing, failover,
streaming, pricing and recording run for real with no socket opened; a provider of
``kind = "fake"`` gets one automatically. How to script it: :mod:`aigate.testing`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx

from .._fake_formats import last_user_text, prompt_words, render_chat, render_error, wire_format

__all__ = [
    "FakeCall",
    "FakeMalformed",
    "FakeReset",
    "FakeStall",
    "Script",
    "malformed",
    "reset",
    "stall",
    "FakeError",
    "FakeReply",
    "FakeTimeout",
    "FakeTransport",
    "error",
    "reply",
    "timeout",
]


@dataclass
class FakeReply:
    """A successful answer. ``chunks`` splits a streamed answer (default: word by word);
    ``cut_after`` breaks a stream after that many chunks (a dropped connection);
    ``usage`` overrides the word-count usage; ``send_usage=False`` omits it."""

    text: str | None = "Hello from the fake provider."
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    chunks: list[str] | None = None
    cut_after: int | None = None
    send_usage: bool = True
    latency: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    model: str | None = None


@dataclass
class FakeError:
    """An error answer: any status, an OpenAI-style error body, optional headers."""

    status: int = 500
    message: str = "fake error"
    type: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass
class FakeTimeout:
    """The request times out (``httpx.ReadTimeout``) or the connection fails."""

    connect: bool = False


Script = FakeReply | FakeError | FakeTimeout


def reply(text: str | None = "Hello from the fake provider.", **kwargs: Any) -> FakeReply:
    """A successful reply (see :class:`FakeReply` for the options)."""
    return FakeReply(text=text, **kwargs)


def error(status: int = 500, message: str = "fake error", **kwargs: Any) -> FakeError:
    """An error reply with this status."""
    return FakeError(status=status, message=message, **kwargs)


def timeout(*, connect: bool = False) -> FakeTimeout:
    """A timeout (or, with ``connect=True``, a refused connection)."""
    return FakeTimeout(connect=connect)


@dataclass
class FakeCall:
    """One request the fake received."""

    request: httpx.Request
    json: Any
    path: str

    @property
    def model(self) -> str | None:
        return self.json.get("model") if isinstance(self.json, dict) else None


#: Formats whose errors are OpenAI's ``{"error": {...}}`` (chat completions, Responses).
_OPENAI_FORMATS = frozenset({"openai", "responses"})


def _words(text: str) -> int:
    return max(1, len(text.split()))


def _lib(request: Any) -> ModuleType:
    """The HTTP library a request belongs to (httpx or httpx2): the fake answers in kind."""
    if type(request).__module__.startswith("httpx2"):
        import httpx2

        return httpx2
    return httpx


_STREAM_TYPES: dict[tuple[type, str], type] = {}


def _stream_for(cls: type, lib: ModuleType) -> type:
    """``cls`` (an httpx byte stream) made an httpx2 one too, when ``lib`` is httpx2."""
    if lib is httpx:
        return cls
    key = (cls, lib.__name__)
    made = _STREAM_TYPES.get(key)
    if made is None:
        made = _STREAM_TYPES[key] = type(
            cls.__name__, (cls, lib.SyncByteStream, lib.AsyncByteStream), {}
        )
    return made


class _CutStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that yields its parts, then (optionally) drops the connection."""

    def __init__(self, parts: list[bytes], cut: bool, lib: ModuleType = httpx) -> None:
        self._parts = parts
        self._cut = cut
        self._lib = lib

    def __iter__(self) -> Iterator[bytes]:
        yield from self._parts
        if self._cut:
            raise self._lib.RemoteProtocolError(
                "peer closed connection without sending complete body"
            )

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self._parts:
            yield part
        if self._cut:
            raise self._lib.RemoteProtocolError(
                "peer closed connection without sending complete body"
            )


class FakeTransport(httpx.MockTransport):
    """An in-process OpenAI-compatible provider for tests and demos (sync and async).

    It serves ``httpx`` and ``httpx2`` clients alike: each answer (and each simulated
    failure) is made with the library of the request it answers."""

    def __init__(self, script: Iterable[Script | str] = (), *, default: Script | None = None):
        super().__init__(self._handle)
        self._script: deque[Script] = deque(
            reply(item) if isinstance(item, str) else item for item in script
        )
        self._rules: list[tuple[Callable[[FakeCall], bool], deque[Script], bool]] = []
        self.default = default
        self.calls: list[FakeCall] = []
        self._lock = threading.Lock()
        self._counter = 0

    # -- scripting -------------------------------------------------------------------------

    def add(self, *items: Script | str) -> FakeTransport:
        """Append replies to the script (taken in call order)."""
        self._script.extend(reply(i) if isinstance(i, str) else i for i in items)
        return self

    def when(
        self,
        match: str | Callable[[FakeCall], bool],
        *items: Script | str,
        repeat: bool = False,
    ) -> FakeTransport:
        """Answer requests for model ``match`` (or where ``match(call)`` is true) with
        ``items`` in order; with ``repeat`` the last one answers forever."""
        predicate = (lambda call: call.model == match) if isinstance(match, str) else match
        queue = deque(reply(i) if isinstance(i, str) else i for i in items)
        self._rules.append((predicate, queue, repeat))
        return self

    @property
    def last_request(self) -> FakeCall:
        return self.calls[-1]

    # -- answering -------------------------------------------------------------------------

    def _next(self, call: FakeCall) -> Script | None:
        with self._lock:
            self.calls.append(call)
            self._counter += 1
            for predicate, queue, repeat in self._rules:
                if predicate(call) and queue:
                    return queue[0] if repeat and len(queue) == 1 else queue.popleft()
            if self._script:
                return self._script.popleft()
            return self.default

    def _call(self, request: httpx.Request) -> FakeCall:
        body: Any = None
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = json.loads(request.content or b"null")
        elif content_type.startswith("multipart/form-data"):
            body = {"model": _multipart_field(request.content, "model")}
        return FakeCall(request=request, json=body, path=request.url.path)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._handle(request)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        call = self._call(request)
        item = self._next(call)
        if isinstance(item, FakeReply) and item.latency:
            time.sleep(item.latency)
        return self._answer(call, item)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        call = self._call(request)
        item = self._next(call)
        if isinstance(item, FakeReply) and item.latency:
            await asyncio.sleep(item.latency)
        return self._answer(call, item)

    def _answer(self, call: FakeCall, item: Script | None) -> httpx.Response:
        request = call.request
        lib = _lib(request)
        if isinstance(item, FakeTimeout):
            if item.connect:
                raise lib.ConnectError("fake connection refused", request=request)
            raise lib.ReadTimeout("fake read timeout", request=request)
        fmt = wire_format(call.path)
        if isinstance(item, FakeError):
            body = item.body
            if body is None and fmt not in _OPENAI_FORMATS:
                body = render_error(fmt, item.status, item.message, item.type)
            if body is None:
                body = {
                    "error": {
                        "message": item.message,
                        "type": item.type or "fake_error",
                        "param": None,
                        "code": item.code,
                    }
                }
            return lib.Response(  # type: ignore[no-any-return]
                item.status, json=body, headers={"x-request-id": "req_fake", **item.headers}
            )
        answer = item or FakeReply(text=None)
        if call.path.endswith("/embeddings"):
            return self._embeddings(call)
        if call.path.endswith("/audio/transcriptions"):
            return lib.Response(200, json={"text": answer.text or "fake transcription"})  # type: ignore[no-any-return]
        if fmt != "openai":
            return self._native(call, answer, fmt)
        return self._chat(call, answer)

    def _native(self, call: FakeCall, answer: FakeReply, fmt: str) -> httpx.Response:
        """A chat answer in Anthropic's, Gemini's or OpenAI's Responses API's own wire
        format (see aigate._fake_formats)."""
        body = call.json if isinstance(call.json, dict) else {}
        text = answer.text
        if text is None and answer.tool_calls is None:
            text = f"You said: {last_user_text(fmt, body)}"
        prompt = prompt_words(fmt, body)
        completion = _words(text or "") + sum(
            _words(json.dumps(t)) for t in answer.tool_calls or ()
        )
        usage = answer.usage or {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        pieces = answer.chunks
        if pieces is None:
            words = (text or "").split(" ")
            pieces = [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []
        stream = fmt == "gemini" and ":streamGenerateContent" in call.path
        stream = stream or (fmt in ("anthropic", "responses") and bool(body.get("stream")))
        status, headers, parts = render_chat(
            fmt,
            body,
            text=text,
            tool_calls=answer.tool_calls or (),
            finish_reason=answer.finish_reason,
            usage=usage if answer.send_usage else None,
            pieces=pieces,
            model=answer.model
            or str(body.get("model") or call.path.rpartition("/")[2].split(":")[0]),
            ident=f"fake{self._counter}",
            stream=stream,
        )
        headers.update(answer.headers)
        lib = _lib(call.request)
        if not stream:
            return lib.Response(status, headers=headers, content=b"".join(parts))  # type: ignore[no-any-return]
        cut = answer.cut_after is not None
        if cut:
            parts = parts[: answer.cut_after]
        return lib.Response(  # type: ignore[no-any-return]
            status, headers=headers, stream=_stream_for(_CutStream, lib)(parts, cut, lib)
        )

    def _chat(self, call: FakeCall, answer: FakeReply) -> httpx.Response:
        body = call.json if isinstance(call.json, dict) else {}
        lib = _lib(call.request)
        text = answer.text
        if text is None and answer.tool_calls is None:
            last = next(
                (m for m in reversed(body.get("messages", [])) if m.get("role") == "user"), None
            )
            content = last.get("content") if last else ""
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            text = f"You said: {content}"
        model = answer.model or body.get("model", "fake-model")
        prompt = sum(_words(json.dumps(m.get("content"))) + 3 for m in body.get("messages", []))
        completion = _words(text or "") + sum(
            _words(json.dumps(t)) for t in answer.tool_calls or ()
        )
        usage = answer.usage or {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        tool_calls = [
            {
                "id": t.get("id", f"call_fake_{i}"),
                "type": "function",
                "function": {
                    "name": t["name"],
                    "arguments": t["arguments"]
                    if isinstance(t.get("arguments"), str)
                    else json.dumps(t.get("arguments", {})),
                },
            }
            for i, t in enumerate(answer.tool_calls or ())
        ]
        finish = answer.finish_reason or ("tool_calls" if tool_calls else "stop")
        ident = f"chatcmpl-fake{self._counter}"
        created = int(time.time())
        headers = {"x-request-id": f"req_fake{self._counter}", **answer.headers}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if tool_calls:
                message["tool_calls"] = tool_calls
            payload = {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            }
            if answer.send_usage:
                payload["usage"] = usage
            return lib.Response(200, json=payload, headers=headers)  # type: ignore[no-any-return]

        def event(choices: list[Any], **extra: Any) -> bytes:
            chunk = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                **extra,
            }
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        pieces = answer.chunks
        if pieces is None:
            words = (text or "").split(" ")
            pieces = [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []
        parts = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}}])]
        parts += [
            event([{"index": 0, "delta": {"content": p}, "finish_reason": None}]) for p in pieces
        ]
        for i, t in enumerate(tool_calls):
            parts.append(
                event(
                    [
                        {
                            "index": 0,
                            "delta": {"tool_calls": [{"index": i, **t}]},
                            "finish_reason": None,
                        }
                    ]
                )
            )
        parts.append(event([{"index": 0, "delta": {}, "finish_reason": finish}]))
        include_usage = (body.get("stream_options") or {}).get("include_usage")
        if include_usage and answer.send_usage:
            parts.append(event([], usage=usage))
        parts.append(b"data: [DONE]\n\n")
        cut = answer.cut_after is not None
        if cut:
            parts = parts[: answer.cut_after]
        return lib.Response(  # type: ignore[no-any-return]
            200,
            headers={"content-type": "text/event-stream", **headers},
            stream=_stream_for(_CutStream, lib)(parts, cut, lib),
        )

    def _embeddings(self, call: FakeCall) -> httpx.Response:
        body = call.json if isinstance(call.json, dict) else {}
        inputs = body.get("input", [])
        if isinstance(inputs, str) or (inputs and isinstance(inputs[0], int)):
            inputs = [inputs]
        dims = int(body.get("dimensions") or 8)
        data = []
        tokens = 0
        for index, item in enumerate(inputs):
            text = item if isinstance(item, str) else " ".join(map(str, item))
            tokens += _words(text)
            data.append({"object": "embedding", "index": index, "embedding": _vector(text, dims)})
        return _lib(call.request).Response(  # type: ignore[no-any-return]
            200,
            json={
                "object": "list",
                "data": data,
                "model": body.get("model", "fake-embedding"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


def _vector(text: str, dims: int) -> list[float]:
    """A deterministic unit-ish vector for ``text`` (same text, same vector)."""
    out: list[float] = []
    seed = hashlib.sha256(text.encode()).digest()
    while len(out) < dims:
        for (value,) in struct.iter_unpack(">I", seed):
            out.append(value / 2**32 - 0.5)
        seed = hashlib.sha256(seed).digest()
    return out[:dims]


def _multipart_field(content: bytes, name: str) -> str | None:
    marker = f'name="{name}"'.encode()
    at = content.find(marker)
    if at < 0:
        return None
    start = content.find(b"\r\n\r\n", at) + 4
    end = content.find(b"\r\n", start)
    return content[start:end].decode()


# -- fault injection -------------------------------------------------------------------------


@dataclass
class FakeReset:
    """The connection is reset before any answer (``httpx.ReadError``)."""


@dataclass
class FakeMalformed:
    """A 200 that cannot be parsed: a truncated JSON body, or for a stream an unparsable
    event after ``after`` well-formed ones (0: before any content)."""

    after: int = 0
    text: str = "Hello from the fake provider."


@dataclass
class FakeStall:
    """The provider goes silent for ``seconds``: before the headers (``after=None``) or in
    a stream after ``after`` events. When the request's read timeout is shorter the read
    times out (``httpx.ReadTimeout``), as httpx would; otherwise the transport's clock moves
    on by ``seconds`` (a :class:`FakeClock`: no real waiting), a stream sends an SSE
    keep-alive comment, and the answer continues."""

    seconds: float
    after: int | None = None
    text: str = "Hello from the fake provider."


def reset() -> FakeReset:
    """A connection reset before the answer."""
    return FakeReset()


def malformed(after: int = 0, text: str = "Hello from the fake provider.") -> FakeMalformed:
    """An unparsable 200 (see :class:`FakeMalformed`)."""
    return FakeMalformed(after, text)


def stall(
    seconds: float, *, after: int | None = None, text: str = "Hello from the fake provider."
) -> FakeStall:
    """A silent provider (see :class:`FakeStall`)."""
    return FakeStall(seconds, after, text)
