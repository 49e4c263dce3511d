"""`PostgresBudgetStore`: counters in PostgreSQL tables, shared by every process and host."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from .._sqlsteps import Program, Step
from ._conn import Flow, PostgresRunner, one
from ._sql import OK, POSTGRES, Duplicate, Statements
from ._store import (
    DEFAULT_KEEP_S,
    BaseBudgetStore,
    Charge,
    Counter,
    Crossing,
    ReserveResult,
    check_charges,
)

__all__ = ["PostgresBudgetStore"]


class PostgresBudgetStore(BaseBudgetStore):
    """Budget counters in PostgreSQL (psycopg 3); tables ``{table}_counters`` / ``_holds``.

    A reserve is one transaction that locks the counter rows (``SELECT ... FOR UPDATE``,
    in key order), checks them and adds the reservation, so concurrent reserves on the
    same counters queue and never deadlock. A settle is one transaction that deletes the
    hold (``DELETE ... RETURNING``) and applies the amounts with one upsert. Expired
    holds are released by a short transaction (``FOR UPDATE SKIP LOCKED``) when they
    stand in the way, and at most every ``sweep_interval_s`` on the next reserve.
    Sync methods share one connection (a lock serialises transactions), ``a*`` methods
    one ``AsyncConnection`` per event loop. The DSN never appears in ``repr``.

    Each reserve and settle commits, so each waits for a WAL flush; where losing the last
    few hundred milliseconds of counters in a server crash is acceptable, adding
    ``?options=-csynchronous_commit%3Doff`` to the DSN makes them several times faster.
    """

    def __init__(
        self,
        dsn: str,
        *,
        table: str = "aigate_budget",
        clock: Callable[[], float] = time.time,
        keep_s: float = DEFAULT_KEEP_S,
        sweep_interval_s: float = 1.0,
    ) -> None:
        super().__init__(clock=clock, keep_s=keep_s)
        self._sql = Statements(POSTGRES, table)
        self._sweep_interval = sweep_interval_s
        self._next_sweep = float("-inf")
        self._db = PostgresRunner(dsn, schema=self._sql.create, lock_name=self._sql.c)
        self._dsn_hash = hashlib.sha256(dsn.encode()).hexdigest()  # identity, not the secret

    def __repr__(self) -> str:
        return f"PostgresBudgetStore(table={self._sql.table!r})"

    # -- flows: the decisions, shared by the sync and async methods ------------------------

    def _ensure(self, ordered: Sequence[Charge]) -> Program[None]:
        yield (
            self._sql.ensure_counters(len(ordered)),
            [v for c in ordered for v in (c.key, c.expires_at)],
        )

    def _reserve_flow(
        self, rid: str, ordered: Sequence[Charge], ttl_s: float, now: float | None
    ) -> Flow[ReserveResult]:
        at = self._now(now)
        if at >= self._next_sweep:
            self._next_sweep = at + self._sweep_interval
            yield ("tx", partial(self._sql.sweep, at, 64))
        swept = False
        while True:
            try:
                result = yield ("tx", partial(self._sql.reserve, rid, ordered, at + ttl_s))
            except Duplicate:
                return OK
            if result is None:  # a new counter: create it outside the locking transaction
                yield ("auto", partial(self._ensure, ordered))
                continue
            if not result.ok and not swept:
                swept = True
                if (yield ("tx", partial(self._sql.sweep, at, 1_000_000))):
                    continue
            return result  # type: ignore[no-any-return]

    def _sweep_flow(self, now: float | None) -> Flow[int]:
        at = self._now(now)
        released = yield ("tx", partial(self._sql.sweep, at, 1_000_000))
        yield ("auto", partial(self._sql.purge, at, self.keep_s))
        return int(released)

    # -- sync ----------------------------------------------------------------------------

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
            return OK
        return self._db.drive(self._reserve_flow(reservation_id, ordered, ttl_s, now))

    def settle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Charge the real amounts, release the rest; idempotent (see `BudgetStore`)."""
        return self._db.run(partial(self._sql.settle, reservation_id, actual))

    @property
    def database(self) -> tuple[str, ...]:
        """Which database this store commits to: a ledger with the same identity can
        commit its row in the settle's transaction (`settle_with`)."""
        return ("postgresql", self._dsn_hash)

    def settle_with(
        self, reservation_id: str, actual: Mapping[str, int], also: Sequence[Step]
    ) -> list[Crossing]:
        """`settle` and the statements ``also`` in one transaction (see `database`)."""
        return self._db.run(partial(self._sql.settle_with, reservation_id, actual, also))

    def status(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Spent and reserved for each counter key (zeros for unknown keys)."""
        return self._db.run(partial(self._sql.status, keys))

    def sweep(self, *, now: float | None = None) -> int:
        """Release expired reservations, then forget what is older than ``keep_s``."""
        return self._db.drive(self._sweep_flow(now))

    def pending(self) -> list[str]:
        """Ids of the reservations held (not settled, not yet released)."""
        return self._db.drive(one(self._sql.pending_ids))

    def close(self) -> None:
        self._db.close()

    # -- async ---------------------------------------------------------------------------

    async def areserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult:
        """Async `reserve`."""
        ordered = check_charges(charges)
        if not ordered:
            return OK
        return await self._db.adrive(self._reserve_flow(reservation_id, ordered, ttl_s, now))

    async def asettle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Async `settle`."""
        return await self._db.arun(partial(self._sql.settle, reservation_id, actual))

    async def asettle_with(
        self, reservation_id: str, actual: Mapping[str, int], also: Sequence[Step]
    ) -> list[Crossing]:
        """Async `settle_with`."""
        return await self._db.arun(partial(self._sql.settle_with, reservation_id, actual, also))

    async def astatus(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Async `status`."""
        return await self._db.arun(partial(self._sql.status, keys))

    async def asweep(self, *, now: float | None = None) -> int:
        """Async `sweep`."""
        return await self._db.adrive(self._sweep_flow(now))

    async def aclose(self) -> None:
        await self._db.aclose()
