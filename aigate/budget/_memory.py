"""`MemoryBudgetStore`: counters in a dict under one lock, for one process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ._store import (
    DEFAULT_KEEP_S,
    BaseBudgetStore,
    Breach,
    Charge,
    Counter,
    Crossing,
    ReserveResult,
    check_charges,
    crossings,
)

__all__ = ["MemoryBudgetStore"]


@dataclass(slots=True)
class _Counter:
    spent: int = 0
    reserved: int = 0
    fired: int = 0
    expires_at: float | None = None


@dataclass(slots=True)
class _Hold:
    lines: list[tuple[str, int, tuple[int, ...]]]  # (key, amount, marks)
    expires_at: float
    held: bool = True  # False: expired and released, kept so a late settle still charges


class MemoryBudgetStore(BaseBudgetStore):
    """A process-local budget store (thread-safe; one lock makes every reserve atomic).

    Expired reservations are released when a reserve would otherwise fail, and at most
    every ``sweep_interval_s`` on the next reserve.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        keep_s: float = DEFAULT_KEEP_S,
        sweep_interval_s: float = 1.0,
    ) -> None:
        super().__init__(clock=clock, keep_s=keep_s)
        self._lock = threading.Lock()
        self._counters: dict[str, _Counter] = {}
        self._holds: dict[str, _Hold] = {}
        self._sweep_interval = sweep_interval_s
        self._next_sweep = float("-inf")

    def __repr__(self) -> str:
        return f"MemoryBudgetStore(counters={len(self._counters)}, holds={len(self._holds)})"

    def reserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult:
        """Reserve every charge, or none (see `BudgetStore`)."""
        ordered = check_charges(charges)
        if not ordered:
            return ReserveResult(ok=True)
        at = self._now(now)
        with self._lock:
            if reservation_id in self._holds:
                return ReserveResult(ok=True)
            if at >= self._next_sweep:
                self._sweep(at)
            breaches = self._check(ordered)
            if breaches and self._sweep(at):
                breaches = self._check(ordered)
            if breaches:
                return ReserveResult(ok=False, breaches=tuple(breaches))
            for charge in ordered:
                counter = self._counters.get(charge.key)
                if counter is None:
                    counter = self._counters[charge.key] = _Counter(expires_at=charge.expires_at)
                counter.reserved += charge.amount
            self._holds[reservation_id] = _Hold(
                [(c.key, c.amount, c.marks) for c in ordered], at + ttl_s
            )
        return ReserveResult(ok=True)

    def _check(self, ordered: Sequence[Charge]) -> list[Breach]:
        breaches = []
        for charge in ordered:
            counter = self._counters.get(charge.key) or _Counter()
            if charge.hard and counter.spent + counter.reserved + charge.amount > charge.cap:
                breaches.append(
                    Breach(charge.key, charge.cap, counter.spent, counter.reserved, charge.amount)
                )
        return breaches

    def settle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Charge the real amounts, release the rest; idempotent (see `BudgetStore`)."""
        found: list[Crossing] = []
        with self._lock:
            hold = self._holds.pop(reservation_id, None)
            if hold is None:
                return found
            for key, amount, marks in hold.lines:
                counter = self._counters.get(key)
                if counter is None:  # dropped after its window; count the late spend anyway
                    counter = self._counters[key] = _Counter()
                if hold.held:
                    counter.reserved -= amount
                counter.spent += int(actual.get(key, 0))
                counter.fired, crossed = crossings(key, marks, counter.spent, counter.fired)
                found += crossed
        return found

    def status(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Spent and reserved for each counter key (zeros for unknown keys)."""
        with self._lock:
            return {
                key: Counter(c.spent, c.reserved) if (c := self._counters.get(key)) else Counter()
                for key in keys
            }

    def sweep(self, *, now: float | None = None) -> int:
        """Release reservations whose TTL has passed; returns how many were released."""
        with self._lock:
            return self._sweep(self._now(now))

    def _sweep(self, at: float) -> int:
        self._next_sweep = at + self._sweep_interval
        released = 0
        for rid, hold in list(self._holds.items()):
            if hold.held and hold.expires_at <= at:
                for key, amount, _ in hold.lines:
                    self._counters[key].reserved -= amount
                hold.held = False
                released += 1
            elif not hold.held and hold.expires_at <= at - self.keep_s:
                del self._holds[rid]
        for key, counter in list(self._counters.items()):
            ends = counter.expires_at
            if ends is not None and ends <= at - self.keep_s and counter.reserved == 0:
                del self._counters[key]
        return released

    def pending(self) -> list[str]:
        """Ids of the reservations currently held (not settled, not expired)."""
        with self._lock:
            return sorted(rid for rid, hold in self._holds.items() if hold.held)
