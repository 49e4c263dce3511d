"""`SQLiteBudgetStore`: one file shared by every process on a host."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence

from .._sqlsteps import Program, SQLiteRunner, Step
from ._sql import SQLITE, Statements
from ._store import (
    DEFAULT_KEEP_S,
    BaseBudgetStore,
    Charge,
    Counter,
    Crossing,
    ReserveResult,
    check_charges,
)

__all__ = ["SQLiteBudgetStore"]


class SQLiteBudgetStore(BaseBudgetStore):
    """Budget counters in a SQLite file (WAL), atomic across threads and processes.

    Each reserve and each settle is one ``BEGIN IMMEDIATE`` transaction: SQLite lets one
    writer in at a time, so the check and the increments of every counter happen with
    nobody in between. Writers queue for up to ``timeout`` seconds. Expired reservations
    are released in the reserve's own transaction when they stand in the way, and at most
    every ``sweep_interval_s`` otherwise.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = "aigate_budget",
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        keep_s: float = DEFAULT_KEEP_S,
        sweep_interval_s: float = 1.0,
    ) -> None:
        super().__init__(clock=clock, keep_s=keep_s)
        self.path = os.fspath(path)
        self._sql = Statements(SQLITE, table)
        self._sweep_interval = sweep_interval_s
        self._next_sweep = float("-inf")
        self._db = SQLiteRunner(self.path, timeout=timeout, schema=self._sql.create)
        self._db.open()

    def __repr__(self) -> str:
        return f"SQLiteBudgetStore({self.path!r})"

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
        sweep = at >= self._next_sweep
        if sweep:
            self._next_sweep = at + self._sweep_interval
        result = self._db.run(self._reserve(reservation_id, ordered, at, ttl_s, sweep))
        assert result is not None  # SQLite creates missing counters inside the transaction
        return result

    def _reserve(
        self, rid: str, ordered: Sequence[Charge], at: float, ttl_s: float, sweep: bool
    ) -> Program[ReserveResult | None]:
        if sweep:
            yield from self._sql.sweep(at, 64)
        return (yield from self._sql.reserve(rid, ordered, at + ttl_s, sweep_at=at))

    def settle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Charge the real amounts, release the rest; idempotent (see `BudgetStore`)."""
        return self._db.run(self._sql.settle(reservation_id, actual))

    @property
    def database(self) -> tuple[str, ...] | None:
        """Which database this store commits to, and how durably: a ledger with the same
        identity can commit its row in the settle's transaction (`settle_with`)."""
        if self.path == ":memory:" or self.path.startswith("file:"):
            return None  # a private database per connection, or a URI we do not resolve
        return ("sqlite", os.path.realpath(self.path), "NORMAL")

    def settle_with(
        self, reservation_id: str, actual: Mapping[str, int], also: Sequence[Step]
    ) -> list[Crossing]:
        """`settle` and the statements ``also`` in one transaction (see `database`)."""
        return self._db.run(self._sql.settle_with(reservation_id, actual, also))

    async def asettle_with(
        self, reservation_id: str, actual: Mapping[str, int], also: Sequence[Step]
    ) -> list[Crossing]:
        """Async `settle_with` (a local write: runs in place, like `asettle`)."""
        return self.settle_with(reservation_id, actual, also)

    def status(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Spent and reserved for each counter key (zeros for unknown keys)."""
        return self._db.run(self._sql.status(keys))

    def sweep(self, *, now: float | None = None) -> int:
        """Release expired reservations, then forget what is older than ``keep_s``."""
        at = self._now(now)
        released = self._db.run(self._sql.sweep(at, 1_000_000))
        self._db.run(self._sql.purge(at, self.keep_s))
        return released

    def pending(self) -> list[str]:
        """Ids of the reservations held (not settled, not yet released)."""
        return self._db.run(self._sql.pending_ids())

    def close(self) -> None:
        self._db.close()
