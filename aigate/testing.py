"""Test aigate, and code that uses it, with no network: a scripted fake provider.

:class:`FakeTransport` is an ``httpx`` (and ``httpx2``) transport that answers in the OpenAI
wire format from a script, so every part of aigate (routing, failover, streaming, pricing,
recording) runs for real, with no socket opened::

    fake = FakeTransport([reply("Hello!"), error(429), reply("Again")])
    gw = Gateway(providers={"openai": {"api_keys": ["sk-test"]}}, transport=fake)
    gw.chat.completions.create(model="openai/gpt-4o-mini", messages=[...])
    fake.calls[-1].json["messages"]

Replies are taken in call order; :meth:`FakeTransport.when` adds rules that match a request
(by model or a predicate) before the script is consulted; with neither, the fake echoes.
A provider of ``kind = "fake"`` gets its own FakeTransport automatically (the demo uses it).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator
from types import ModuleType
from typing import Any

import httpx

from ._fake_formats import wire_format
from .drivers.fake import (
    FakeCall,
    FakeError,
    FakeMalformed,
    FakeReply,
    FakeReset,
    FakeStall,
    FakeTimeout,
    FakeTransport,
    Script,
    _CutStream,
    _lib,
    _stream_for,
    error,
    malformed,
    reply,
    reset,
    stall,
    timeout,
)

__all__ = [
    "FakeCall",
    "FakeError",
    "FakeReply",
    "FakeTimeout",
    "FakeTransport",
    "error",
    "reply",
    "timeout",
]


class _Done:
    """An awaitable that is already done, so one ``sleep`` serves both gateways."""

    __slots__ = ()

    def __await__(self) -> Iterator[None]:
        return iter(())


class FakeClock:
    """Time for tests: ``time()`` reads it, ``sleep()`` records and advances it at once.

    Hand it to a Gateway or AsyncGateway as its ``sleep`` and ``clock`` and retries,
    backoff, breakers and cooldowns run in no real time::

        clock = FakeClock()
        gw = aigate.Gateway(..., sleep=clock.sleep, clock=clock)
        gw.chat.completions.create(...)
        clock.sleeps  # [2.0]: the Retry-After it honoured

    ``clock.install(gw)`` does the same to a gateway that already exists.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    __call__ = time

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> Any:
        """Record and advance; the result may be awaited (AsyncGateway) or ignored."""
        self.sleeps.append(seconds)
        self.now += seconds
        return _Done()

    def install(self, gateway: Any) -> FakeClock:
        gateway._sleep = self.sleep
        gateway._core.router.clock = self.time
        return self


class _FaultStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A stream body that can stall (or time out) after some parts."""

    def __init__(
        self,
        parts: list[bytes],
        at: int | None,
        seconds: float,
        timeout: float | None,
        clock: Any,
        lib: ModuleType = httpx,
    ) -> None:
        self._lib = lib
        self._parts = parts
        self._at = at
        self._seconds = seconds
        self._timeout = timeout
        self._clock = clock

    def _stall(self) -> None:
        if self._timeout is not None and self._timeout < self._seconds:
            raise self._lib.ReadTimeout("fake stall: no bytes within the read timeout")
        if self._clock is not None:
            self._clock.advance(self._seconds)
        else:
            time.sleep(self._seconds)

    def __iter__(self) -> Iterator[bytes]:
        for i, part in enumerate(self._parts):
            if i == self._at:
                self._stall()
                yield b": keep-alive\n\n"
            yield part

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i, part in enumerate(self._parts):
            if i == self._at:
                self._stall()
                yield b": keep-alive\n\n"
            yield part


FaultScript = Script | FakeReset | FakeMalformed | FakeStall


class FaultTransport(FakeTransport):
    """A :class:`FakeTransport` that also plays faults (:func:`reset`, :func:`malformed`,
    :func:`stall`), with one script per model::

        fault = FaultTransport(
            {"gpt-4o-mini": [error(429, headers={"retry-after": "2"}), "ok"],
             "llama-3.1-8b-instant": [stall(30, after=2), "late"]},
            clock=clock,
        )

    ``clock`` (a :class:`FakeClock`) is what a stall that does not time out advances.
    """

    def __init__(
        self,
        scripts: dict[str, Iterable[FaultScript | str]] | None = None,
        *,
        script: Iterable[FaultScript | str] = (),
        default: Script | None = None,
        clock: FakeClock | None = None,
    ) -> None:
        super().__init__(script, default=default)  # type: ignore[arg-type]
        self.clock = clock
        for model, items in (scripts or {}).items():
            self.when(model, *items)  # type: ignore[arg-type]

    def _answer(self, call: FakeCall, item: Any) -> httpx.Response:
        request = call.request
        lib = _lib(request)
        if isinstance(item, FakeReset):
            raise lib.ReadError("fake connection reset by peer", request=request)
        timeouts = request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read")
        streamed = isinstance(call.json, dict) and bool(call.json.get("stream"))
        if isinstance(item, FakeStall) and (item.after is None or not streamed):
            if read_timeout is not None and read_timeout < item.seconds:
                raise lib.ReadTimeout("fake stall before the headers", request=request)
            if self.clock is not None:
                self.clock.advance(item.seconds)
            return super()._answer(call, reply(item.text))
        if isinstance(item, FakeMalformed):
            if not streamed:
                return lib.Response(  # type: ignore[no-any-return]
                    200,
                    content=b'{"id": "chatcmpl-broken", "choices": [',
                    headers={"content-type": "application/json"},
                )
            parts = self._parts(call, item.text)
            cut = min(item.after + 1, len(parts))  # the role event, then `after` events
            parts = [*parts[:cut], b"data: {not json\n\n"]
            return self._stream(parts, None, 0.0, None, lib)
        if isinstance(item, FakeStall):
            parts = self._parts(call, item.text)
            return self._stream(parts, item.after, item.seconds, read_timeout, lib)
        return super()._answer(call, item)

    def _parts(self, call: FakeCall, text: str) -> list[bytes]:
        """The stream a plain reply of ``text`` would send, in the endpoint's own format."""
        fmt = wire_format(call.path)
        response = (
            self._chat(call, reply(text))
            if fmt == "openai"
            else self._native(call, reply(text), fmt)
        )
        stream = response.stream
        assert isinstance(stream, _CutStream)
        return list(stream._parts)

    def _stream(
        self,
        parts: list[bytes],
        at: int | None,
        seconds: float,
        timeout: float | None,
        lib: ModuleType = httpx,
    ) -> httpx.Response:
        stream = _stream_for(_FaultStream, lib)(parts, at, seconds, timeout, self.clock, lib)
        return lib.Response(  # type: ignore[no-any-return]
            200, headers={"content-type": "text/event-stream"}, stream=stream
        )


__all__ += [
    "FakeClock",
    "FakeMalformed",
    "FakeReset",
    "FakeStall",
    "FaultScript",
    "FaultTransport",
    "malformed",
    "reset",
    "stall",
]
