"""Routing: the attempt loop over a route's targets, and when to move on.

The loop is a sans-I/O sub-flow of :mod:`aigate._flow`: it yields the same effects
(:class:`~aigate._flow.Send`, :class:`~aigate._flow.Read`, :class:`~aigate._flow.Sleep`)
and is driven by the same two drivers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._effects import Close, Read, Send
from ._exceptions import AigateError, AllTargetsFailed, APIError
from ._models import Attempt
from .providers._errors import error_from_transport

if TYPE_CHECKING:
    from ._effects import Flow
    from ._flow import CallContext
    from .providers._base import ApiKey, Target

__all__ = ["attempts", "worth_another_target"]

T = TypeVar("T")


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
