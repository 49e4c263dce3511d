"""The request flow, written once, without I/O.

Each call is a generator that yields *effects* (send this request, read the next bytes of
that stream, sleep, call this store) and receives their results, the way httpx's
``Auth.auth_flow`` and tenacity's ``iter()`` work. :class:`~aigate.Gateway` and
:class:`~aigate.AsyncGateway` each drive it with a loop of a few lines, so routing,
failover, pricing and recording exist once for both.

Results come back as values: an effect that failed returns its exception instead of
raising it, and the flow decides what the failure means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ._context import CallContext, Core
from ._effects import Call, Close, Effect, Flow, Read, Send, Sleep, StreamHandle
from ._exceptions import (
    AigateError,
    APIResponseValidationError,
    StreamInterrupted,
)
from ._models import ChatCompletion, ChatCompletionChunk, GatewayInfo, Usage, set_gateway
from ._stream import StreamState
from ._wire import Response
from .providers._errors import scrub_error

if TYPE_CHECKING:
    from ._caching import CacheDecision
    from .providers._base import ApiKey, ChatCall, Target

__all__ = [
    "Call",
    "CallContext",
    "Close",
    "Effect",
    "Read",
    "Send",
    "Sleep",
    "StreamHandle",
    "StreamStart",
]

T = TypeVar("T")


@dataclass(slots=True)
class StreamStart:
    """A stream that produced visible content and is now committed to one target."""

    handle: StreamHandle
    state: StreamState
    buffered: list[ChatCompletionChunk]
    target: Target
    key: ApiKey | None
    ctx: CallContext
    ttft_ms: float | None
    call: ChatCall
    cache: CacheDecision | None = None


class StreamCancelled(Exception):
    """Recorded (never raised) when the caller closes a stream before its end."""


def accept_chat(core: Core, ctx: CallContext, call: ChatCall) -> Callable[..., Flow[Any]]:
    """The accept step of a non-streamed chat: parse, price, record."""

    def accept(
        target: Target, key: ApiKey | None, response: Response, started: float
    ) -> Flow[ChatCompletion]:
        try:
            completion = target.provider.codec.chat_response(response.content, target)
        except AigateError as exc:  # a 200 that does not parse: its text may quote the key
            raise scrub_error(exc, _secrets(response)) from exc.__cause__
        set_gateway(completion, core.info(ctx, target, key, response, completion.usage, None))
        return completion
        yield  # a flow with no effects of its own; the gateway records after the loop

    return accept


def _secrets(response: Response) -> list[str]:
    return response.request.secrets() if response.request is not None else []


#: Chunks handed to the caller per step of a stream: small, so that a read bringing many
#: events never holds them all as chunks at once (see `StreamState`).
EMIT_BATCH = 16


def accept_stream(
    core: Core, ctx: CallContext, call: ChatCall, cache: CacheDecision | None = None
) -> Callable[..., Flow[Any]]:
    """The accept step of a stream: read until the first visible content, so that a stream
    that fails before it can still move to another target."""

    def accept(
        target: Target, key: ApiKey | None, handle: StreamHandle, started: float
    ) -> Flow[StreamStart]:
        state = StreamState(
            target.provider.codec.stream_decoder(call, target), keep=cache is not None
        )
        buffered: list[ChatCompletionChunk] = []
        try:
            while state.first_visible_at is None:
                data = yield Read(handle)
                if isinstance(data, BaseException):
                    raise data  # already an aigate error: the driver mapped it
                if not data:
                    buffered.extend(state.end())
                    if not state.complete:
                        raise closed_early(target)
                    break
                state.push(data)
                buffered.extend(state.drain(until_visible=True))
            # A batch more of the same read: an error event right behind the first content
            # (in the same read) still fails the call over, as nothing was shown yet. The
            # rest of the read waits in the state.
            buffered.extend(state.drain(EMIT_BATCH))
        except BaseException as exc:
            yield Close(handle)
            if isinstance(exc, AigateError):  # an error event before content: provider text
                raise scrub_error(exc, _secrets(handle.response)) from exc.__cause__
            raise
        ttft = state.first_visible_at
        return StreamStart(
            handle,
            state,
            buffered,
            target,
            key,
            ctx,
            (ttft - ctx.started) * 1000.0 if ttft is not None else None,
            call,
            cache,
        )

    return accept


def closed_early(target: Target) -> APIResponseValidationError:
    """A stream that closed before its first visible content (and without its end)."""
    return APIResponseValidationError(
        f"{target.provider.name} closed the stream before any content",
        provider=target.provider.name,
        model=target.model,
    )


def unfinished(target: Target) -> APIResponseValidationError:
    """A stream that ended, after content, without the format's end."""
    return APIResponseValidationError(
        f"{target.provider.name} ended the stream without finishing it",
        provider=target.provider.name,
        model=target.model,
    )


def interrupted(
    target: Target, error: BaseException, partial: ChatCompletion, usage: Usage | None
) -> StreamInterrupted:
    """What a stream cut after content raises (``error`` its cause), carrying ``partial``."""
    exc = StreamInterrupted(
        f"the stream from {target.name} broke after content was delivered: {error}",
        partial=partial,
        usage=usage,
    )
    exc.__cause__ = error
    return exc


def finish_stream(
    core: Core, start: StreamStart, error: BaseException | None, cancelled: bool = False
) -> Flow[GatewayInfo]:
    """After a stream ends (completely or not): price what was used and record it.

    A stream cut after content raises :class:`StreamInterrupted` carrying the partial
    completion; it is recorded first, so no used tokens go unaccounted. A stream the caller
    closed early (``cancelled``) is recorded as such and raises nothing.
    """
    state, ctx, target, call = start.state, start.ctx, start.target, start.call
    if cancelled and not state.complete:
        error = StreamCancelled("the caller closed the stream before its end")
    elif error is None and not state.complete:
        error = unfinished(target)
    usage = state.acc.usage
    estimated = False
    if usage is None:
        usage = core.estimate_usage(target, call, state.acc.text())
        estimated = True
    info = core.info(ctx, target, start.key, start.handle.response, usage, ttft_ms=start.ttft_ms)
    info.estimated = estimated
    result = state.acc.completion() if core.observer is not None else None
    yield from core.record(ctx, info, usage, call, error=error, result=result)
    if error is None and start.cache is not None and core.cache is not None and not estimated:
        completion = state.acc.completion()
        completion.gateway = info  # the entry names the provider and model that answered
        entry = core.cache.stream_entry(completion, state.kept, info.cost_usd)
        yield from core.cache.store_result(start.cache, entry)
    if error is not None and not cancelled:
        partial = state.acc.completion()
        partial.gateway = info
        raise interrupted(target, error, partial, state.acc.usage)
    return info


# -- a started stream, read to its end inside the flow ---------------------------------------


@dataclass(slots=True)
class Emit:
    """Chunks for the caller. Not an effect: the stream object that drives
    :func:`stream_flow` hands them out, and replies :data:`STOP` when the caller stopped
    reading (``close``, garbage collection, interpreter exit, a cancelled task)."""

    chunks: list[ChatCompletionChunk]


#: Sent into :func:`stream_flow` (for an :class:`Emit`, or instead of a ``Read`` result)
#: when the caller stopped reading: the flow closes the response and records what was used.
STOP: Any = object()

if TYPE_CHECKING:
    from collections.abc import Generator as _Generator

    StreamFlow = _Generator[Effect | Emit, Any, GatewayInfo]


def stream_flow(core: Core, start: StreamStart) -> StreamFlow:
    """A stream from its first buffered chunks to its record, exactly once however it ends.

    Yields ``Read`` / ``Close`` / store effects and :class:`Emit` (chunks for the caller).
    It ends by :func:`finish_stream`: the usage read so far is priced (counted locally and
    marked ``estimated`` when the provider's usage never came), the budget settles, the
    ledger records. A read that fails (the exception a ``Read`` returns, or an error event
    the codec raises) ends it with :class:`~aigate.StreamInterrupted`; :data:`STOP` ends it
    as cancelled. A ``BaseException`` handed back as a read (a cancelled task, Ctrl-C) is
    a stop too: the caller is going away, the tokens it was sent are still recorded.
    """
    state, handle = start.state, start.handle
    error: BaseException | None = None
    stopped = False
    chunks, start.buffered = start.buffered, []
    if chunks:
        stopped = (yield Emit(chunks)) is STOP
    while not stopped:
        data = b"-"  # events already read come first; a read only when none is left
        if not state.pending:
            data = yield Read(handle)
            if data is STOP or (
                isinstance(data, BaseException) and not isinstance(data, Exception)
            ):
                stopped = True
                break
            if isinstance(data, BaseException):
                error = data
                break
            if data:
                state.push(data)
        try:
            chunks = state.drain(EMIT_BATCH) if data else [] if state.complete else state.end()
        except AigateError as exc:  # an error event, a chunk that does not parse
            error = scrub_error(exc, _secrets(handle.response))
            break
        if chunks:
            stopped = (yield Emit(chunks)) is STOP
        if not data:
            break
    if stopped and error is None:
        # The caller left with events read but not shown: their usage was still sent.
        try:
            state.drain()
        except AigateError:
            pass
    yield Close(handle)
    return (yield from finish_stream(core, start, error, cancelled=stopped))
