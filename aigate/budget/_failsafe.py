"""`FailSafeBudgetStore`: what happens to budgets when the shared store is unreachable."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Literal

from .._exceptions import ConfigurationError
from ._memory import MemoryBudgetStore
from ._plan import scope_of
from ._sql import Step
from ._store import (
    BaseBudgetStore,
    BudgetStoreUnavailable,
    Charge,
    Counter,
    Crossing,
    ReserveResult,
)

__all__ = ["FailSafeBudgetStore"]

logger = logging.getLogger("aigate.budget")


class FailSafeBudgetStore(BaseBudgetStore):
    """Wraps a shared store so that an outage follows each limit's ``fail_open`` setting.

    When ``reserve`` raises (connection refused, timeout, locked file...): if every
    charge comes from a ``fail_open`` limit, the call is admitted against a per-process
    `MemoryBudgetStore` with each cap scaled by ``local_share`` (so N processes together
    spend at most N x share x cap per window during the outage), and the result says
    ``degraded=True``; otherwise `BudgetStoreUnavailable` is raised, naming a fail-closed
    scope. Both are logged under ``aigate.budget``. A failed ``settle`` is logged and
    counted in ``failures`` (``on_error="log"``) or re-raised (``"raise"``); the
    reservation then expires after its TTL.
    """

    def __init__(
        self,
        inner: BaseBudgetStore,
        *,
        local_share: float = 1.0,
        on_error: Literal["log", "raise"] = "log",
    ) -> None:
        if not 0 < local_share <= 1:
            raise ConfigurationError(
                f"budget local_share must be in (0, 1], not {local_share}",
                field="budget.local_share",
            )
        if on_error not in ("log", "raise"):
            raise ConfigurationError(
                f"budget on_error={on_error!r}; expected 'log' or 'raise'",
                field="budget.on_error",
            )
        super().__init__(clock=inner.clock, keep_s=inner.keep_s)
        self.inner = inner
        self.local = MemoryBudgetStore(clock=inner.clock)
        self.local_share = local_share
        self.on_error = on_error
        self.failures = 0
        self._local_ids: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FailSafeBudgetStore({self.inner!r})"

    def _fallback(
        self, rid: str, charges: Sequence[Charge], ttl_s: float, now: float | None, err: Exception
    ) -> ReserveResult:
        closed = [c for c in charges if not c.fail_open]
        if closed:
            scope = scope_of(closed[0])
            logger.error(
                "budget store unreachable (%s); rejecting the call: %s is fail-closed",
                type(err).__name__,
                scope,
            )
            raise BudgetStoreUnavailable(
                f"the budget store is unreachable ({type(err).__name__}) and the budget for "
                f"{scope} is fail-closed",
                scope=scope,
            ) from err
        logger.warning(
            "budget store unreachable (%s); admitting against per-process limits",
            type(err).__name__,
        )
        local = [replace(c, cap=int(c.cap * self.local_share)) for c in charges]
        result = self.local.reserve(rid, local, ttl_s, now=now)
        if result.ok:
            with self._lock:
                self._local_ids.add(rid)
        return replace(result, degraded=True)

    def _settle_failed(self, err: Exception) -> list[Crossing]:
        with self._lock:
            self.failures += 1
        if self.on_error == "raise":
            raise err
        logger.error("budget settle failed (%s)", type(err).__name__, exc_info=err)
        return []

    def _is_local(self, rid: str) -> bool:
        with self._lock:
            if rid in self._local_ids:
                self._local_ids.discard(rid)
                return True
        return False

    def reserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult:
        try:
            return self.inner.reserve(reservation_id, charges, ttl_s, now=now)
        except (ValueError, TypeError):
            raise  # a bad call, not an outage
        except Exception as err:
            return self._fallback(reservation_id, charges, ttl_s, now, err)

    async def areserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult:
        try:
            return await self.inner.areserve(reservation_id, charges, ttl_s, now=now)
        except (ValueError, TypeError):
            raise
        except Exception as err:
            return self._fallback(reservation_id, charges, ttl_s, now, err)

    def settle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        if self._is_local(reservation_id):
            return self.local.settle(reservation_id, actual, now=now)
        try:
            return self.inner.settle(reservation_id, actual, now=now)
        except Exception as err:
            return self._settle_failed(err)

    async def asettle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        if self._is_local(reservation_id):
            return self.local.settle(reservation_id, actual, now=now)
        try:
            return await self.inner.asettle(reservation_id, actual, now=now)
        except Exception as err:
            return self._settle_failed(err)

    @property
    def database(self) -> tuple[str, ...] | None:
        """The wrapped store's database identity (see `SQLiteBudgetStore.database`)."""
        database: tuple[str, ...] | None = getattr(self.inner, "database", None)
        return database

    def settle_with(
        self, reservation_id: str, actual: Mapping[str, int], also: Sequence[Step]
    ) -> tuple[list[Crossing], bool]:
        """`settle`, with the statements ``also`` in the same transaction when the wrapped
        store shares their database: (crossings, whether ``also`` was committed). When the
        joint commit fails the reservation settles alone, so the charge is never lost
        with the statements; the caller then writes what ``also`` held on its own."""
        if self._is_local(reservation_id):
            return self.local.settle(reservation_id, actual), False
        joint = getattr(self.inner, "settle_with", None)
        if joint is not None:
            try:
                return joint(reservation_id, actual, also), True
            except Exception as err:
                _joint_failed(err)
        try:
            return self.inner.settle(reservation_id, actual), False
        except Exception as err:
            return self._settle_failed(err), False

    async def asettle_with(
        self, reservation_id: str, actual: Mapping[str, int], also: Sequence[Step]
    ) -> tuple[list[Crossing], bool]:
        """Async `settle_with`."""
        if self._is_local(reservation_id):
            return self.local.settle(reservation_id, actual), False
        joint = getattr(self.inner, "asettle_with", None)
        if joint is not None:
            try:
                return await joint(reservation_id, actual, also), True
            except Exception as err:
                _joint_failed(err)
        try:
            return await self.inner.asettle(reservation_id, actual), False
        except Exception as err:
            return self._settle_failed(err), False

    def status(self, keys: Sequence[str]) -> dict[str, Counter]:
        return self.inner.status(keys)

    async def astatus(self, keys: Sequence[str]) -> dict[str, Counter]:
        return await self.inner.astatus(keys)

    def sweep(self, *, now: float | None = None) -> int:
        return self.inner.sweep(now=now) + self.local.sweep(now=now)

    async def asweep(self, *, now: float | None = None) -> int:
        return await self.inner.asweep(now=now) + self.local.sweep(now=now)

    def pending(self) -> list[str]:
        return self.inner.pending()

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


def _joint_failed(err: Exception) -> None:
    logger.warning(
        "settle with the ledger row in one transaction failed (%s); settling alone",
        type(err).__name__,
        exc_info=err,
    )
