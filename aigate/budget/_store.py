"""The budget store protocol, the values it exchanges, and the base every backend shares."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .._closing import Closing
from .._exceptions import AigateError

if TYPE_CHECKING:
    from ._limits import Limit

__all__ = [
    "BaseBudgetStore",
    "Breach",
    "BudgetStore",
    "BudgetStoreUnavailable",
    "Charge",
    "Counter",
    "Crossing",
    "ReserveResult",
    "UnpricedModelRefused",
]

#: How long a released (expired) reservation is remembered, so that a late `settle` from a
#: slow caller still charges what was really spent.
DEFAULT_KEEP_S = 86_400.0


class BudgetStoreUnavailable(AigateError):
    """The budget store could not be reached and a fail-closed limit applies to the call."""

    def __init__(self, message: str, *, scope: str) -> None:
        super().__init__(message)
        self.scope = scope


class UnpricedModelRefused(AigateError):
    """A hard USD budget covers a model with no known price, so the call's cost cannot be
    bounded; nothing was sent. ``model`` is ``provider/model``, ``scope`` the budget's.
    Fix it with a price for the model (0 for a free one) or ``allow_unpriced`` on the limit.
    """

    def __init__(self, message: str, *, model: str, scope: str) -> None:
        super().__init__(message)
        self.model = model
        self.scope = scope


@dataclass(frozen=True, slots=True)
class Charge:
    """One counter a reservation touches: ``amount`` against ``cap`` on counter ``key``.

    ``key`` names the scope, unit, window and window start (``user:u1|usd|day|UTC|1714521600``)
    so a new window is a new counter: windows roll without resetting anything, and a
    reservation is always settled into the window it was made in. ``hard=False`` counts
    without ever refusing. ``marks`` are the absolute amounts at which thresholds fire.
    ``expires_at`` (epoch seconds, the window's end) lets stores drop old counters.
    ``scope`` (e.g. ``user:u1``), ``limit`` and ``resets_at`` are for error messages and
    events; stores ignore them.
    """

    key: str
    amount: int
    cap: int
    hard: bool = True
    marks: tuple[int, ...] = ()
    expires_at: float | None = None
    fail_open: bool = False
    scope: str = field(default="", compare=False, repr=False)
    limit: Limit | None = field(default=None, compare=False, repr=False)
    resets_at: datetime | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Breach:
    """A hard limit with no room: ``spent + reserved + amount > cap`` on counter ``key``."""

    key: str
    cap: int
    spent: int
    reserved: int
    amount: int


@dataclass(frozen=True, slots=True)
class ReserveResult:
    """What `BudgetStore.reserve` decided. Nothing was reserved unless ``ok``.

    ``breaches`` lists every hard limit that had no room. ``degraded`` is True when the
    store was unreachable and the call was admitted against a per-process fallback.
    """

    ok: bool
    breaches: tuple[Breach, ...] = ()
    degraded: bool = False


@dataclass(frozen=True, slots=True)
class Crossing:
    """Threshold ``index`` (into the charge's ``marks``) of counter ``key`` was crossed by a
    settle that brought the spend to ``spent``. Reported once per counter and threshold,
    across every process sharing the store."""

    key: str
    index: int
    spent: int


@dataclass(frozen=True, slots=True)
class Counter:
    """A counter's settled ``spent`` and in-flight ``reserved`` amounts."""

    spent: int = 0
    reserved: int = 0


@runtime_checkable
class BudgetStore(Protocol):
    """Where reservations are held and spend is counted; shared by every process.

    ``reserve`` is all-or-nothing and atomic across all ``charges``: if any hard charge
    would pass its cap, nothing is reserved and the result lists the breaches. Reserving
    an id that is already held is a no-op. ``settle`` moves the reservation into
    ``spent`` at the real amounts (keyed by counter key; a missing key settles at 0),
    releases the rest and returns the thresholds newly crossed; settling twice, or an
    unknown id, does nothing. A reservation not settled within ``ttl_s`` is released by
    a later reserve or by ``sweep``; a settle that arrives after that still charges the
    real amount (for ``keep_s``).
    """

    def reserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult: ...

    def settle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]: ...


def check_charges(charges: Sequence[Charge]) -> list[Charge]:
    """Charges sorted by key (lock order), rejecting duplicates and negative amounts."""
    ordered = sorted(charges, key=lambda c: c.key)
    for i, charge in enumerate(ordered):
        if charge.amount < 0 or charge.cap < 0:
            raise ValueError(f"negative amount or cap on counter {charge.key!r}")
        if i and ordered[i - 1].key == charge.key:
            raise ValueError(f"counter {charge.key!r} is charged twice in one reservation")
    return ordered


def crossings(key: str, marks: Sequence[int], spent: int, fired: int) -> tuple[int, list[Crossing]]:
    """The new fired level for a counter at ``spent`` and the crossings it adds."""
    level = sum(1 for mark in marks if spent >= mark)
    if level <= fired:
        return fired, []
    return level, [Crossing(key, i, spent) for i in range(fired, level)]


def encode_marks(marks: Sequence[int]) -> str:
    return ",".join(str(m) for m in marks)


def decode_marks(text: str | None) -> tuple[int, ...]:
    return tuple(int(m) for m in text.split(",")) if text else ()


class BaseBudgetStore(Closing):
    """Shared surface of the backends: async twins that call the sync methods (local
    stores), ``close``, context managers, and the clock used when ``now`` is omitted."""

    keep_s: float = DEFAULT_KEEP_S

    def __init__(self, *, clock: Callable[[], float] = time.time, keep_s: float = DEFAULT_KEEP_S):
        self.clock = clock
        self.keep_s = keep_s

    def _now(self, now: float | None) -> float:
        return self.clock() if now is None else now

    # -- sync API, implemented by each backend ------------------------------------------

    def reserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult:
        """Reserve every charge, or none (see `BudgetStore`)."""
        raise NotImplementedError

    def settle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Charge the real amounts, release the rest; idempotent (see `BudgetStore`)."""
        raise NotImplementedError

    def release(self, reservation_id: str, *, now: float | None = None) -> None:
        """Give the whole reservation back (the call was never made); idempotent."""
        self.settle(reservation_id, {}, now=now)

    def status(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Spent and reserved for each counter key (zeros for unknown keys)."""
        raise NotImplementedError

    def sweep(self, *, now: float | None = None) -> int:
        """Release reservations whose TTL has passed; returns how many were released."""
        raise NotImplementedError

    def pending(self) -> list[str]:
        """Ids of the reservations currently held (not settled, not expired)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; a later call opens them again."""

    # -- async twins: local backends run the sync method (microseconds, no I/O wait) ----

    async def areserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult:
        """Async `reserve`."""
        return self.reserve(reservation_id, charges, ttl_s, now=now)

    async def asettle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Async `settle`."""
        return self.settle(reservation_id, actual, now=now)

    async def arelease(self, reservation_id: str, *, now: float | None = None) -> None:
        """Async `release`."""
        await self.asettle(reservation_id, {}, now=now)

    async def astatus(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Async `status`."""
        return self.status(keys)

    async def asweep(self, *, now: float | None = None) -> int:
        """Async `sweep`."""
        return self.sweep(now=now)

    async def aclose(self) -> None:
        """Async `close`."""
        self.close()
