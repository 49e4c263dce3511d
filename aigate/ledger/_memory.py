"""`MemoryLedger`: records in a list, for tests and short-lived scripts."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace

from ._base import BaseLedger, counted
from ._record import LedgerRecord, SummaryRow
from ._spec import Spec, matches, summarize

__all__ = ["MemoryLedger"]


class MemoryLedger(BaseLedger):
    """A process-local ledger (thread-safe); reports are computed in Python."""

    def __init__(self) -> None:
        self._records: dict[str, LedgerRecord] = {}  # by id, in recording order
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryLedger(records={len(self._records)})"

    def record(self, rec: LedgerRecord) -> None:
        """Keep ``rec`` unless its id is already recorded."""
        with self._lock:
            self._records.setdefault(rec.id, rec)

    def update_costs(self, costs: Mapping[str, int]) -> int:
        """Set the cost (nano-USD) of records kept without one, by id; returns how many."""
        changed = 0
        with self._lock:
            for id, nano in costs.items():
                rec = self._records.get(id)
                if rec is not None and rec.cost_nano is None:
                    self._records[id] = replace(rec, cost_nano=int(nano))
                    changed += 1
        return changed

    def _snapshot(self) -> list[LedgerRecord]:
        with self._lock:
            return list(self._records.values())

    def _fetch(self, id: str) -> LedgerRecord | None:
        with self._lock:
            return self._records.get(id)

    def _select(self, spec: Spec, limit: int | None, newest_first: bool) -> list[LedgerRecord]:
        found = [r for r in self._snapshot() if matches(r, spec)]
        found.sort(key=lambda r: (r.ts, r.id), reverse=newest_first)
        return found if limit is None else found[:limit]

    def _summarize(self, spec: Spec) -> list[SummaryRow]:
        return summarize(counted(self._snapshot(), spec), spec)
