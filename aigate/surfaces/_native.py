"""A surface's own body sent as is to targets that speak its format (OpenAI's
``/v1/responses``, Anthropic's ``/v1/messages``), through the same core steps as every call.

The flow is the chat flow's, composed from the core's steps with a native codec
(:mod:`aigate.providers.native`) in place of a chat codec: the virtual key
(:meth:`~aigate._core.GatewayCore.keyed`), budgets and rate limits (``admitted``: reserve
from the input and the output ceiling, settle to the priced usage), the attempt loop
(routing, failover, key rotation, retries), and the record (``recorded``: one ledger row;
a stream records at its end). Routing and admission see the call through ``shape``, a
chat-shaped :class:`~aigate.providers.ChatCall` made from the body for that purpose only.

A stream reads until its first visible event (anything after the format's preamble), so a
target that fails before it moves to the next; after it, a broken upstream raises
:class:`~aigate.StreamInterrupted`, recorded first. Each event is parsed once
(``json.loads``) and handed out as a plain dict; only the events that carry usage or end
the stream are looked at.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._effects import Close, Effect, Flow, Read, StreamHandle
from .._exceptions import AigateError
from .._flow import STOP, Emit, StreamCancelled, _secrets, closed_early, interrupted, unfinished
from .._models import ChatCompletion, GatewayInfo, Usage
from .._resources import _AsyncRunner, _SyncRunner
from ..providers import ChatCall, Target
from ..providers._errors import scrub_error
from ..providers.native import NativeEvents

if TYPE_CHECKING:
    from .._context import CallContext
    from .._core import GatewayCore
    from .._wire import Request, Response
    from ..providers import ApiKey

__all__ = ["NativeAnswer", "NativeCall", "NativeStart", "cache_applies", "native_flow"]


@dataclass(slots=True)
class NativeCall:
    """One native call: the body as it goes on the wire (the model replaced per target),
    and how the core sees it."""

    body: dict[str, Any]
    stream: bool
    shape: ChatCall  # what routing and admission read (messages for counting, the ceiling)
    request: Callable[..., Request]  # providers.native.responses_request / messages_request
    parse: Callable[[bytes, Target], tuple[dict[str, Any], Usage | None]]
    events: type[NativeEvents]
    ceiling_key: str  # where a budget clamp puts the output ceiling in the body
    text_of: Callable[[list[dict[str, Any]]], str]  # the text of events (a cut stream)
    options: dict[str, Any] = field(default_factory=dict)  # extra_headers, timeout...
    # After a stream's successful end (its final object), e.g. storing the turn: a flow.
    after: Callable[[dict[str, Any] | None], Flow[None]] | None = None


@dataclass(slots=True)
class NativeAnswer:
    """A non-streamed native answer: the provider's object, its usage, what aigate did."""

    payload: dict[str, Any]
    usage: Usage | None
    gateway: GatewayInfo

    @property
    def model(self) -> Any:
        return self.payload.get("model")


@dataclass(slots=True)
class NativeStart:
    """A native stream past its first visible event, committed to one target."""

    handle: StreamHandle
    reader: NativeEvents
    buffered: list[dict[str, Any]]
    target: Target
    key: ApiKey | None
    ctx: CallContext
    ttft_ms: float | None
    call: NativeCall
    seen: list[dict[str, Any]] = field(default_factory=list)


def cache_applies(core: GatewayCore, kwargs: Mapping[str, Any], tags: Any, user: Any) -> bool:
    """Whether the gateway's cache would serve or store this call (``cache=``, the cache's
    default and its route settings): such a call is translated, and cached as a chat call."""
    from .._caching import parse_option

    cache = core.cache
    if cache is None:
        return False
    option = parse_option(kwargs.get("cache"))
    ctx = core.context("chat", kwargs.get("model"), {"metadata": tags, "user": user})
    return cache.decide(ctx, option, {"temperature": kwargs.get("temperature")}) is not None


def native_flow(
    core: GatewayCore,
    call: NativeCall,
    model: object,
    metadata: Mapping[str, str],
    user: str | None,
    api_key: object = None,
) -> Flow[NativeAnswer | NativeStart]:
    """The whole call: (virtual key) -> admission -> attempts -> record."""
    from .._attempts import attempts

    ctx = core.context("chat", model, {"metadata": metadata, "user": user}, stream=call.stream)

    def build(target: Target, key: str | None) -> Request:
        body = call.body
        clamped = getattr(ctx.reservation, "clamped", None)
        if clamped is not None:
            body = {**body, call.ceiling_key: clamped}
        return call.request(body, target, key, call.stream, **call.options)

    def accept(
        target: Target, key: ApiKey | None, response: Response, started: float
    ) -> Flow[NativeAnswer]:
        try:
            payload, usage = call.parse(response.content, target)
        except AigateError as exc:  # a 200 that does not parse: its text may quote the key
            raise scrub_error(exc, _secrets(response)) from exc.__cause__
        info = core.info(ctx, target, key, response, usage, ttft_ms=None)
        return NativeAnswer(payload, usage, info)
        yield  # a flow with no effects of its own; the surface stores the turn after

    def accept_stream(
        target: Target, key: ApiKey | None, handle: StreamHandle, started: float
    ) -> Flow[NativeStart]:
        reader = call.events(target)
        buffered: list[dict[str, Any]] = []
        try:
            while not reader.visible:
                data = yield Read(handle)
                if isinstance(data, BaseException):
                    raise data  # already an aigate error: the driver mapped it
                if not data:
                    buffered.extend(reader.end())
                    if not reader.finished:
                        raise closed_early(target)
                    break
                buffered.extend(reader.feed(data))
        except BaseException as exc:
            yield Close(handle)
            if isinstance(exc, AigateError):  # an error event before content: provider text
                raise scrub_error(exc, _secrets(handle.response)) from exc.__cause__
            raise
        ttft = (time.perf_counter() - ctx.started) * 1000.0
        return NativeStart(handle, reader, buffered, target, key, ctx, ttft, call)

    def run() -> Flow[Any]:
        flow: Flow[Any]
        if call.stream:
            flow = attempts(ctx, build, accept_stream, stream=True, call=call.shape)
        else:
            flow = attempts(ctx, build, accept, call=call.shape)
        if core.admission is not None:
            shape = call.shape
            flow = core.admitted(ctx, flow, shape.messages, shape.params, call=shape)
        return core.recorded(ctx, flow)

    if api_key is not None:
        return core.keyed(api_key, ctx, run)
    return run()


# -- a started stream, read to its end inside the flow ---------------------------------------

StreamFlow = Generator[Effect | Emit, Any, GatewayInfo]


def stream_flow(core: GatewayCore, start: NativeStart) -> StreamFlow:
    """From the buffered events to the record, exactly once however the stream ends
    (as :func:`aigate._flow.stream_flow`, with events instead of chunks)."""
    reader, handle, seen = start.reader, start.handle, start.seen
    error: BaseException | None = None
    stopped = False
    events, start.buffered = start.buffered, []
    if events:
        seen.extend(events)
        stopped = (yield Emit(events)) is STOP  # type: ignore[arg-type]
    while not stopped:
        data = yield Read(handle)
        if data is STOP or (isinstance(data, BaseException) and not isinstance(data, Exception)):
            stopped = True
            break
        if isinstance(data, BaseException):
            error = data
            break
        try:
            events = reader.feed(data) if data else reader.end()
        except AigateError as exc:  # an error event, an event that does not parse
            error = scrub_error(exc, _secrets(handle.response))
            break
        if events:
            seen.extend(events)
            stopped = (yield Emit(events)) is STOP  # type: ignore[arg-type]
        if not data:
            break
    yield Close(handle)
    return (yield from _finish(core, start, error, cancelled=stopped))


def _finish(
    core: GatewayCore, start: NativeStart, error: BaseException | None, cancelled: bool
) -> Flow[GatewayInfo]:
    reader, ctx, target, call = start.reader, start.ctx, start.target, start.call
    if cancelled and not reader.finished:
        error = StreamCancelled("the caller closed the stream before its end")
    elif error is None and not reader.finished:
        error = unfinished(target)
    usage = reader.usage
    estimated = False
    if usage is None:
        usage = core.estimate_usage(target, call.shape, call.text_of(start.seen))
        estimated = True
    info = core.info(ctx, target, start.key, start.handle.response, usage, ttft_ms=start.ttft_ms)
    info.estimated = estimated
    yield from core.record(ctx, info, usage, None, error=error)
    if error is None and call.after is not None:
        yield from call.after(reader.final)
    if error is not None and not cancelled:
        partial = _partial(target, call.text_of(start.seen), reader.usage)
        partial.gateway = info
        raise interrupted(target, error, partial, reader.usage)
    return info


def _partial(target: Target, text: str, usage: Usage | None) -> ChatCompletion:
    """What a cut native stream delivered, as the chat completion StreamInterrupted carries."""
    return ChatCompletion.model_validate(
        {
            "id": "native-partial",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": target.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "length",
                }
            ],
            "usage": usage.model_dump() if usage is not None else None,
        }
    )


# -- driving a stream flow, sync and async: the chat streams' runners, with a view per event


class NativeStream(_SyncRunner[Any]):
    """A native stream on a sync gateway: iterate it for the provider's events (``wrap``
    makes each one's view); ``close()`` / ``with`` stop early, still recorded."""

    def __init__(self, host: Any, start: NativeStart, wrap: Callable[[Any], Any]) -> None:
        self._start = start
        super().__init__(host._perform, stream_flow(host._core, start), wrap)


class AsyncNativeStream(_AsyncRunner[Any]):
    """The async twin of :class:`NativeStream`: ``async for event in stream``;
    ``await stream.close()`` (or ``aclose()``) stops early."""

    def __init__(self, host: Any, start: NativeStart, wrap: Callable[[Any], Any]) -> None:
        self._start = start
        super().__init__(host._perform, stream_flow(host._core, start), wrap)
