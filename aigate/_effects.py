"""The effects a flow yields, and what a driver hands back for each.

An effect is everything that waits: an HTTP send, reading a stream, a sleep, a call to a
state store. Flows yield them; :class:`~aigate.Gateway` performs them with blocking calls
and :class:`~aigate.AsyncGateway` awaits them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ._wire import Request, Response

__all__ = ["Call", "Close", "Effect", "Flight", "Flow", "Read", "Send", "Sleep", "StreamHandle"]

T = TypeVar("T")


@dataclass(slots=True)
class Send:
    """Send ``request``; the result is the :class:`~aigate._wire.Response` (body read unless
    ``stream``, in which case a :class:`StreamHandle`) or the aigate error the driver mapped
    the failure to (:class:`~aigate.APITimeoutError`, :class:`~aigate.APIConnectionError`)."""

    request: Request
    stream: bool = False


@dataclass(slots=True)
class StreamHandle:
    """An open streaming response and the driver's iterator over its body.

    The iterator yields ``bytes`` and raises only aigate errors (the driver maps its
    library's, and enforces the call's deadline between reads); ``response.close()`` /
    ``await response.aclose()`` release the connection."""

    response: Response
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
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Flight:
    """Run ``flow`` once for all concurrent callers with the same ``key`` in this process
    (single flight). The result is ``(value, shared)`` or the exception; a follower waits at
    most ``timeout`` seconds, then runs its own ``flow``."""

    key: str
    flow: Generator[Any, Any, Any]
    timeout: float | None = None


Effect = Send | Read | Close | Sleep | Call[Any] | Flight
Flow = Generator[Effect, Any, T]
