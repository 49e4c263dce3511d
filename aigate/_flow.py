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

import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from ._exceptions import (
    AigateError,
    AllTargetsFailed,
    APIError,
    APIResponseValidationError,
    StreamInterrupted,
)
from ._models import Attempt, ChatCompletion, ChatCompletionChunk, GatewayInfo
from ._stream import StreamState
from .providers._errors import error_from_transport

if TYPE_CHECKING:
    from ._gateway import GatewayCore
    from .providers._base import ApiKey, ChatCall, Target

__all__ = [
    "Call",
    "Close",
    "Effect",
    "Read",
    "Send",
    "Sleep",
    "StreamHandle",
    "StreamStart",
]

T = TypeVar("T")


# -- effects -------------------------------------------------------------------------------


@dataclass(slots=True)
class Send:
    """Send ``request``; the result is the ``httpx.Response`` (body read unless ``stream``,
    in which case a :class:`StreamHandle`) or the ``httpx.HTTPError`` raised."""

    request: httpx.Request
    stream: bool = False


@dataclass(slots=True)
class StreamHandle:
    """An open streaming response and the driver's iterator over its body."""

    response: httpx.Response
    iterator: Any  # Iterator[bytes] or AsyncIterator[bytes], owned by the driver


@dataclass(slots=True)
class Read:
    """Read the next bytes of a stream: ``bytes`` (``b""`` at the end) or the error."""

    handle: StreamHandle
    whole: bool = False  # read everything that is left (an error body)


@dataclass(slots=True)
class Close:
    handle: StreamHandle


@dataclass(slots=True)
class Sleep:
    seconds: float


@dataclass(slots=True)
class Call(Generic[T]):
    """Call a state store: ``sync(*args)`` in Gateway, ``await async_(*args)`` in
    AsyncGateway. The result is the return value or the exception."""

    sync: Callable[..., T]
    async_: Callable[..., Any]
    args: tuple[Any, ...] = ()


Effect = Send | Read | Close | Sleep | Call[Any]
Flow = Generator[Effect, Any, T]


# -- the call context ----------------------------------------------------------------------


@dataclass(slots=True)
class CallContext:
    """What one logical call carries from start to record."""

    kind: str  # "chat", "embedding", "transcription"
    targets: tuple[Target, ...]
    route: str | None
    metadata: dict[str, str]
    user: str | None
    stream: bool = False
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.perf_counter)
    attempts: list[Attempt] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


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


class StreamCancelled(Exception):
    """Recorded (never raised) when the caller closes a stream before its end."""


# -- failover ------------------------------------------------------------------------------


def worth_another_target(error: BaseException) -> bool:
    """Whether another target may succeed where this one failed.

    Transient errors (429, 5xx, timeouts, broken connections, unreadable answers) and key
    errors (401/402/403: this provider's key, not the request) move on; request errors
    (400, 404, 422, context length, content policy) would fail anywhere and surface at once.
    """
    return isinstance(error, APIError) and error.error_class != "request"


def _attempt(
    target: Target,
    key: ApiKey | None,
    started: float,
    status: int | None,
    error: BaseException | None,
) -> Attempt:
    return Attempt(
        provider=target.provider.name,
        model=target.model,
        key_id=key.id if key is not None else None,
        status_code=status,
        error=type(error).__name__ if error is not None else None,
        error_class=getattr(error, "error_class", None) if error is not None else None,
        latency_ms=(time.perf_counter() - started) * 1000.0,
    )


def _give_up(ctx: CallContext) -> AigateError:
    last = ctx.errors[-1]
    if len(ctx.attempts) == 1 and isinstance(last, AigateError):
        return last
    names = ", ".join(f"{a.provider}/{a.model}: {a.error}" for a in ctx.attempts)
    failed = AllTargetsFailed(
        f"all {len(ctx.attempts)} attempts failed ({names})",
        attempts=ctx.attempts,
        errors=ctx.errors,
    )
    failed.__cause__ = last
    return failed


# -- one attempt loop for every kind of call -----------------------------------------------


def attempts(
    ctx: CallContext,
    build: Callable[[Target, str | None], httpx.Request],
    accept: Callable[[Target, ApiKey | None, Any, float], Flow[T]],
    stream: bool = False,
) -> Flow[T]:
    """Try each target in order until one is accepted; fail over on errors worth it.

    ``build`` makes the request for a target and key; ``accept`` is a sub-flow that turns a
    2xx answer into the result or raises an :class:`APIError` to move on.
    """
    for target in ctx.targets:
        provider = target.provider
        key = provider.next_key()
        request = build(target, key.get() if key is not None else None)
        started = time.perf_counter()
        result = yield Send(request, stream)
        status: int | None = None
        error: BaseException
        if isinstance(result, httpx.HTTPError):
            error = error_from_transport(result, provider=provider.name, model=target.model)
        elif isinstance(result, BaseException):
            raise result
        else:
            response: httpx.Response = result.response if stream else result
            status = response.status_code
            if status < 300:
                try:
                    value = yield from accept(target, key, result, started)
                except APIError as exc:
                    error = exc
                else:
                    ctx.attempts.append(_attempt(target, key, started, status, None))
                    return value
            else:
                if stream:
                    content = yield Read(result, whole=True)
                    yield Close(result)
                    if isinstance(content, BaseException):
                        content = b""
                else:
                    content = response.content
                error = provider.codec.error(response, content, target)
        ctx.attempts.append(_attempt(target, key, started, status, error))
        ctx.errors.append(error)
        if not worth_another_target(error):
            break
    raise _give_up(ctx)


def accept_chat(core: GatewayCore, ctx: CallContext, call: ChatCall) -> Callable[..., Flow[Any]]:
    """The accept step of a non-streamed chat: parse, price, record."""

    def accept(
        target: Target, key: ApiKey | None, response: httpx.Response, started: float
    ) -> Flow[ChatCompletion]:
        completion = target.provider.codec.chat_response(response.content, target)
        info = core.info(ctx, target, key, response, completion.usage, ttft_ms=None)
        completion.gateway = info
        yield from core.record(ctx, info, completion.usage, call)
        return completion

    return accept


def accept_stream(core: GatewayCore, ctx: CallContext, call: ChatCall) -> Callable[..., Flow[Any]]:
    """The accept step of a stream: read until the first visible content, so that a stream
    that fails before it can still move to another target."""

    def accept(
        target: Target, key: ApiKey | None, handle: StreamHandle, started: float
    ) -> Flow[StreamStart]:
        state = StreamState(target.provider.codec.stream_decoder(call, target))
        buffered: list[ChatCompletionChunk] = []
        try:
            while state.first_visible_at is None:
                data = yield Read(handle)
                if isinstance(data, BaseException):
                    if isinstance(data, httpx.HTTPError):
                        raise error_from_transport(
                            data, provider=target.provider.name, model=target.model
                        )
                    raise data
                if not data:
                    buffered.extend(state.end())
                    if not state.complete:
                        raise APIResponseValidationError(
                            f"{target.provider.name} closed the stream before any content",
                            provider=target.provider.name,
                            model=target.model,
                        )
                    break
                buffered.extend(state.feed(data))
        except BaseException:
            yield Close(handle)
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
        )

    return accept


def finish_stream(
    core: GatewayCore, start: StreamStart, error: BaseException | None, cancelled: bool = False
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
        error = APIResponseValidationError(
            f"{target.provider.name} ended the stream without finishing it",
            provider=target.provider.name,
            model=target.model,
        )
    usage = state.acc.usage
    estimated = False
    if usage is None:
        usage = core.estimate_usage(target, call, state.acc.text())
        estimated = True
    info = core.info(ctx, target, start.key, start.handle.response, usage, ttft_ms=start.ttft_ms)
    info.estimated = estimated
    yield from core.record(ctx, info, usage, call, error=error)
    if error is not None and not cancelled:
        if isinstance(error, httpx.HTTPError):
            error = error_from_transport(error, provider=target.provider.name, model=target.model)
        partial = state.acc.completion()
        partial.gateway = info
        interrupted = StreamInterrupted(
            f"the stream from {target.name} broke after content was delivered: {error}",
            partial=partial,
            usage=state.acc.usage,
        )
        interrupted.__cause__ = error
        raise interrupted
    return info
