"""Single flight: concurrent callers with one key make one upstream call.

The first caller of a key (the leader) runs ``fn``; callers that arrive while it runs
(followers) wait for its result, at most ``timeout`` seconds. ``do`` returns
``(value, shared)``: ``shared`` is true for a follower that received the leader's value.

An error is never shared: it propagates to the leader only, and each waiting follower then
runs ``fn`` itself (the leader's failure may be its own: a cancellation, a deadline, a key).
A follower whose wait times out runs ``fn`` itself too. The key's entry is removed when the
leader finishes, however it finishes, so nothing stays behind and nothing is cached:
a later call runs ``fn`` again. Calling ``do`` for a key from inside that key's ``fn``
waits on itself (until ``timeout``).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio

__all__ = ["AsyncSingleFlight", "SingleFlight"]

T = TypeVar("T")


class _Call:
    __slots__ = ("done", "ok", "value", "waiting")

    def __init__(self, done: Any) -> None:
        self.done = done
        self.ok = False
        self.value: Any = None
        self.waiting = 0


class SingleFlight:
    """Single flight for threads (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, _Call] = {}

    def do(self, key: str, fn: Callable[[], T], timeout: float | None = None) -> tuple[T, bool]:
        """Run ``fn`` once for all concurrent callers of ``key``; ``(value, shared)``."""
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call(threading.Event())
            else:
                call.waiting += 1
        if leader:
            try:
                call.value = fn()
                call.ok = True
                return call.value, False
            finally:
                with self._lock:
                    del self._calls[key]
                call.done.set()
        try:
            call.done.wait(timeout)
        finally:
            with self._lock:
                call.waiting -= 1
        if call.ok:
            return call.value, True
        return fn(), False

    def waiting(self, key: str) -> int:
        """How many followers wait on ``key``'s flight now (for metrics and tests)."""
        with self._lock:
            call = self._calls.get(key)
            return 0 if call is None else call.waiting

    def __len__(self) -> int:
        """Keys in flight now."""
        return len(self._calls)


class AsyncSingleFlight:
    """Single flight for the tasks of one event loop (see the module docstring)."""

    def __init__(self) -> None:
        self._calls: dict[str, _Call] = {}

    async def do(
        self, key: str, fn: Callable[[], Awaitable[T]], timeout: float | None = None
    ) -> tuple[T, bool]:
        """Await ``fn()`` once for all concurrent callers of ``key``; ``(value, shared)``."""
        import asyncio

        call = self._calls.get(key)
        if call is None:
            # No await between the lookup and the insert: the loop cannot interleave them.
            call = self._calls[key] = _Call(asyncio.Event())
            try:
                call.value = await fn()
                call.ok = True
                return call.value, False
            finally:
                del self._calls[key]
                call.done.set()
        event: asyncio.Event = call.done
        call.waiting += 1
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            call.waiting -= 1
        if call.ok:
            return call.value, True
        return await fn(), False

    def waiting(self, key: str) -> int:
        """How many followers wait on ``key``'s flight now (for metrics and tests)."""
        call = self._calls.get(key)
        return 0 if call is None else call.waiting

    def __len__(self) -> int:
        """Keys in flight now."""
        return len(self._calls)
