"""Health: a circuit breaker per target and per key, kept in a :class:`HealthStore`.

A breaker is *closed* (calls go), *open* (calls skip it until ``open_until``), *half-open*
(one call, the probe, may go; its outcome closes or reopens the breaker) or *dead* (a key
the provider refused: open for a long time, reported by ``gw.health()``).

The transitions live in two pure functions, :func:`check_breaker` and
:func:`record_breaker`; :class:`MemoryHealthStore` applies them under a lock, and the Redis
store runs the same rules as Lua scripts so every process shares one state.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Literal, NamedTuple, Protocol

__all__ = [
    "BreakerSettings",
    "BreakerState",
    "HealthStore",
    "MemoryHealthStore",
    "Outcome",
    "RemoteHealthStore",
    "check_breaker",
    "record_breaker",
]

Outcome = Literal["ok", "fail", "cool", "dead"]
"""What an attempt says about a breaker: ``ok`` (it answered: success or a request error),
``fail`` (a transient failure: counts toward opening), ``cool`` (open it now for the given
time: a rate-limited key), ``dead`` (a key the provider refused)."""


# NamedTuples and plain classes rather than dataclasses: each dataclass costs about a
# millisecond of import time, and every Gateway imports this module.


class BreakerSettings(NamedTuple):
    """When a breaker opens and for how long (see :class:`aigate.config.BreakerConfig`)."""

    failures: int = 5
    window_s: float = 60.0
    cooldown_s: float = 30.0
    probe_timeout_s: float = 30.0
    dead_s: float = 3600.0


class BreakerState:
    """One breaker. Times are epoch seconds; ``open_until`` is 0 when closed, and for a
    half-open breaker it is when the probe's lease runs out. ``state`` is ``closed``,
    ``open``, ``half_open`` or ``dead``."""

    __slots__ = ("failures", "first_failure_at", "open_until", "reason", "state")

    def __init__(
        self,
        state: str = "closed",
        failures: int = 0,
        first_failure_at: float = 0.0,
        open_until: float = 0.0,
        reason: str | None = None,
    ) -> None:
        self.state = state
        self.failures = failures
        self.first_failure_at = first_failure_at
        self.open_until = open_until
        self.reason = reason

    def _fields(self) -> tuple[str, int, float, float, str | None]:
        return (self.state, self.failures, self.first_failure_at, self.open_until, self.reason)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BreakerState):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"BreakerState(state={self.state!r}, failures={self.failures}, "
            f"open_until={self.open_until}, reason={self.reason!r})"
        )


def check_breaker(b: BreakerState, now: float, settings: BreakerSettings) -> float:
    """0.0 when a call may go now (claiming the probe of a breaker due for one), else the
    time it may be tried again. Mutates ``b``."""
    if b.state == "closed":
        return 0.0
    if now < b.open_until:
        return b.open_until
    # Due for a probe (or the last probe's lease ran out): this call is the probe.
    b.state = "half_open"
    b.open_until = now + settings.probe_timeout_s
    return 0.0


def record_breaker(
    b: BreakerState,
    outcome: Outcome,
    now: float,
    settings: BreakerSettings,
    cooldown: float = 0.0,
    reason: str | None = None,
) -> None:
    """Apply one attempt's ``outcome``. ``cooldown`` is how long the provider asked to be
    left alone (Retry-After): it can lengthen an open period, never shorten it."""
    if outcome == "ok":
        b.state, b.failures, b.open_until, b.reason = "closed", 0, 0.0, None
        return
    if reason is not None:
        b.reason = reason
    if outcome == "dead":
        b.state = "dead"
        b.open_until = max(b.open_until, now + settings.dead_s)
        return
    if outcome == "cool":
        if b.state != "dead":
            b.state = "open"
        b.failures += 1
        b.open_until = max(b.open_until, now + cooldown)
        return
    # "fail"
    if b.state == "half_open":  # the probe failed: open again
        b.state = "open"
        b.failures += 1
        b.open_until = now + max(settings.cooldown_s, cooldown)
        return
    if b.state in ("open", "dead"):  # a call that started before the breaker opened
        b.open_until = max(b.open_until, now + cooldown)
        return
    if b.failures == 0 or now - b.first_failure_at > settings.window_s:
        b.failures, b.first_failure_at = 1, now
    else:
        b.failures += 1
    if b.failures >= settings.failures:
        b.state = "open"
        b.open_until = max(b.open_until, now + max(settings.cooldown_s, cooldown))


class HealthStore(Protocol):
    """Where breakers live. ``remote`` stores do I/O: the router then calls them through the
    gateway's driver (``check`` in :class:`~aigate.Gateway`, ``await acheck`` in
    :class:`~aigate.AsyncGateway`); local stores are called inline and need no ``a``-twins.

    A store that fails is read as healthy: an outage of the health store never blocks calls.
    """

    remote: bool
    settings: BreakerSettings

    def check(self, name: str, now: float) -> float:
        """0.0 when a call may use ``name`` now (claiming a half-open probe), else the epoch
        time it may be tried again."""
        ...

    def record(
        self,
        name: str,
        outcome: Outcome,
        now: float,
        cooldown: float = 0.0,
        reason: str | None = None,
    ) -> None:
        """Apply one attempt's outcome (see :data:`Outcome`)."""
        ...

    def states(self, names: Iterable[str]) -> dict[str, BreakerState]:
        """Current state of each known breaker among ``names`` (for ``gw.health()``)."""
        ...


class RemoteHealthStore(HealthStore, Protocol):
    """A `HealthStore` that does I/O (``remote`` is true): the async twins the
    :class:`~aigate.AsyncGateway` awaits (:class:`~aigate.routing.RedisHealthStore`)."""

    async def acheck(self, name: str, now: float) -> float: ...

    async def arecord(
        self,
        name: str,
        outcome: Outcome,
        now: float,
        cooldown: float = 0.0,
        reason: str | None = None,
    ) -> None: ...

    async def astates(self, names: Iterable[str]) -> dict[str, BreakerState]: ...


class MemoryHealthStore:
    """Breakers in this process (the default)."""

    remote = False

    def __init__(self, settings: BreakerSettings | None = None) -> None:
        self.settings = settings or BreakerSettings()
        self._breakers: dict[str, BreakerState] = {}
        self._lock = threading.Lock()

    def check(self, name: str, now: float) -> float:
        b = self._breakers.get(name)
        if b is None or b.state == "closed":  # the common case needs no lock
            return 0.0
        with self._lock:
            return check_breaker(b, now, self.settings)

    def record(
        self,
        name: str,
        outcome: Outcome,
        now: float,
        cooldown: float = 0.0,
        reason: str | None = None,
    ) -> None:
        b = self._breakers.get(name)
        if outcome == "ok" and (b is None or (b.state == "closed" and b.failures == 0)):
            return  # nothing to reset: a success on a healthy breaker costs one lookup
        with self._lock:
            if b is None:
                b = self._breakers.setdefault(name, BreakerState())
            record_breaker(b, outcome, now, self.settings, cooldown, reason)

    def states(self, names: Iterable[str]) -> dict[str, BreakerState]:
        with self._lock:
            return {
                n: BreakerState(b.state, b.failures, b.first_failure_at, b.open_until, b.reason)
                for n in names
                if (b := self._breakers.get(n)) is not None
            }

    def reset(self) -> None:
        """Forget every breaker (all closed)."""
        with self._lock:
            self._breakers.clear()

    def __repr__(self) -> str:
        return f"MemoryHealthStore({self.settings})"
