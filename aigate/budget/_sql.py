"""The SQL budget store's logic, written once as step programs for SQLite and PostgreSQL.

A program (see `aigate._sqlsteps`) is a generator that yields ``(sql, params)`` and
receives the rows each statement returned; the runners of ``_conn`` drive the same steps
on a blocking or an async connection, so the logic exists once. Every program runs inside
one transaction that its driver opens (``BEGIN IMMEDIATE`` in SQLite; row locks taken in
key order in PostgreSQL, so two transactions never wait on each other in a cycle).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .._sqlsteps import Dialect as BaseDialect
from .._sqlsteps import Program, Step
from ._store import (
    Breach,
    Charge,
    Counter,
    Crossing,
    ReserveResult,
    crossings,
    decode_marks,
    encode_marks,
)

__all__ = ["Dialect", "Duplicate", "Program", "Statements", "Step"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
OK = ReserveResult(ok=True)
_CHUNK = 256  # hold lines released per statement


class Duplicate(Exception):
    """The reservation id is already held: roll back, and report success."""


@dataclass(frozen=True, slots=True)
class Dialect(BaseDialect):
    """The budget store's dialect: how it locks rows, and whether it has RETURNING."""

    lock: str  # suffix that locks selected rows
    skip_locked: str
    returning: bool  # INSERT/UPDATE/DELETE ... RETURNING (SQLite only from 3.35: not used)


SQLITE = Dialect("sqlite", "?", "", "", returning=False)
POSTGRES = Dialect("postgresql", "%s", " FOR UPDATE", " FOR UPDATE SKIP LOCKED", returning=True)


class Statements:
    """SQL text and programs for one dialect and table prefix."""

    def __init__(self, dialect: Dialect, table: str) -> None:
        if not _NAME.match(table):
            raise ValueError(f"table prefix {table!r} must be a plain SQL identifier")
        self.d = dialect
        self.table = table
        self.c = f"{table}_counters"
        self.h = f"{table}_holds"
        p = dialect.ph
        self.schema = [
            f"CREATE TABLE IF NOT EXISTS {self.c} ("
            " key TEXT PRIMARY KEY,"
            " spent BIGINT NOT NULL DEFAULT 0,"
            " reserved BIGINT NOT NULL DEFAULT 0,"
            " fired INTEGER NOT NULL DEFAULT 0,"
            " expires_at DOUBLE PRECISION)",
            f"CREATE TABLE IF NOT EXISTS {self.h} ("
            " id TEXT NOT NULL,"
            " key TEXT NOT NULL,"
            " amount BIGINT NOT NULL,"
            " marks TEXT NOT NULL,"
            " expires_at DOUBLE PRECISION NOT NULL,"
            " held INTEGER NOT NULL,"
            " PRIMARY KEY (id, key))",
            f"CREATE INDEX IF NOT EXISTS {self.h}_expiry ON {self.h} (held, expires_at)",
        ]
        self.hold_exists = f"SELECT 1 FROM {self.h} WHERE id = {p} LIMIT 1"
        self.expired = (
            f"SELECT id, key, amount FROM {self.h} WHERE held = 1 AND expires_at <= {p}"
            f" ORDER BY expires_at, id, key LIMIT {p}{dialect.skip_locked}"
        )
        self.purge_holds = f"DELETE FROM {self.h} WHERE held = 0 AND expires_at <= {p}"
        self.purge_counters = (
            f"DELETE FROM {self.c} WHERE expires_at IS NOT NULL AND expires_at <= {p}"
            " AND reserved = 0"
        )
        self.pending = f"SELECT DISTINCT id FROM {self.h} WHERE held = 1 ORDER BY id"
        self.set_fired = f"UPDATE {self.c} SET fired = {p} WHERE key = {p} AND fired < {p}"
        self.select_lines = (
            f"SELECT key, amount, marks, held FROM {self.h} WHERE id = {p} ORDER BY key"
        )
        self.delete_lines = f"DELETE FROM {self.h} WHERE id = {p}"
        self.delete_lines_returning = self.delete_lines + " RETURNING key, amount, marks, held"

    # -- statements for n keys (cached: the per-call path builds no SQL) ------------------

    @lru_cache(maxsize=64)  # noqa: B019 - one Statements per store, a handful of sizes
    def _marks(self, n: int, width: int = 1) -> str:
        if width == 1:
            return self.d.marks(n)
        return ", ".join(["(" + self.d.marks(width) + ")"] * n)

    @lru_cache(maxsize=64)  # noqa: B019
    def select_counters(self, n: int, lock: bool) -> str:
        suffix = self.d.lock if lock else ""
        return (
            f"SELECT key, spent, reserved FROM {self.c} WHERE key IN ({self._marks(n)})"
            f" ORDER BY key{suffix}"
        )

    @lru_cache(maxsize=64)  # noqa: B019
    def ensure_counters(self, n: int) -> str:
        return (
            f"INSERT INTO {self.c} (key, expires_at) VALUES {self._marks(n, 2)}"
            " ON CONFLICT (key) DO NOTHING"
        )

    @lru_cache(maxsize=64)  # noqa: B019
    def insert_lines(self, n: int) -> str:
        sql = (
            f"INSERT INTO {self.h} (id, key, amount, marks, expires_at, held)"
            f" VALUES {self._marks(n, 6)}"
        )
        return sql + " ON CONFLICT DO NOTHING RETURNING key" if self.d.returning else sql

    @lru_cache(maxsize=64)  # noqa: B019
    def add_reserved(self, n: int) -> str:
        p = self.d.ph
        cases = " ".join([f"WHEN {p} THEN CAST({p} AS BIGINT)"] * n)
        return (
            f"UPDATE {self.c} SET reserved = reserved + CASE key {cases} ELSE 0 END"
            f" WHERE key IN ({self._marks(n)})"
        )

    @lru_cache(maxsize=64)  # noqa: B019
    def apply(self, n: int) -> str:
        # spent += actual, reserved -= released. A counter dropped after its window (only
        # when nothing was reserved on it) is recreated with the late spend.
        sql = (
            f"INSERT INTO {self.c} AS c (key, spent, reserved) VALUES {self._marks(n, 3)}"
            " ON CONFLICT (key) DO UPDATE SET spent = c.spent + excluded.spent,"
            " reserved = c.reserved + excluded.reserved"
        )
        return sql + " RETURNING key, spent, fired" if self.d.returning else sql

    @lru_cache(maxsize=64)  # noqa: B019
    def select_fired(self, n: int) -> str:
        return f"SELECT key, spent, fired FROM {self.c} WHERE key IN ({self._marks(n)})"

    @lru_cache(maxsize=64)  # noqa: B019
    def release_lines(self, n: int) -> str:
        return (
            f"UPDATE {self.h} SET held = 0 WHERE held = 1 AND (id, key) IN"
            f" (VALUES {self._marks(n, 2)})"
        )

    # -- programs ----------------------------------------------------------------------------

    def create(self) -> Program[None]:
        """Create the tables and the index (each ``IF NOT EXISTS``)."""
        for statement in self.schema:
            yield (statement, ())

    def reserve(
        self,
        rid: str,
        ordered: Sequence[Charge],
        expires_at: float,
        *,
        sweep_at: float | None = None,
    ) -> Program[ReserveResult | None]:
        """Reserve ``ordered`` (sorted by key) or nothing. Returns None when a counter row
        is missing in PostgreSQL: the driver creates it outside the transaction (so row
        locks stay in key order) and runs the program again. With ``sweep_at`` (SQLite),
        expired holds are released in the same transaction when they are in the way."""
        keys = [c.key for c in ordered]
        n = len(ordered)
        sqlite = not self.d.returning
        if sqlite:
            if (yield (self.hold_exists, (rid,))):
                return OK
            rows = [(c.key, c.expires_at) for c in ordered]
            yield (self.ensure_counters(n), [v for row in rows for v in row])
        rows = yield (self.select_counters(n, lock=True), keys)
        if len(rows) < n:
            return None
        breaches = _breaches(ordered, rows)
        if breaches and sweep_at is not None and (yield from self.sweep(sweep_at, 1_000_000)):
            breaches = _breaches(ordered, (yield (self.select_counters(n, lock=True), keys)))
        if breaches:
            return ReserveResult(ok=False, breaches=tuple(breaches))
        params: list[Any] = []
        for c in ordered:
            params += (rid, c.key, c.amount, encode_marks(c.marks), expires_at, 1)
        inserted = yield (self.insert_lines(n), params)
        if not sqlite and len(inserted) < n:
            raise Duplicate
        params = [v for c in ordered for v in (c.key, c.amount)]
        yield (self.add_reserved(n), params + keys)
        return OK

    def settle(self, rid: str, actual: Mapping[str, int]) -> Program[list[Crossing]]:
        """Charge ``actual``, release the rest, delete the hold, report thresholds."""
        if self.d.returning:
            lines = yield (self.delete_lines_returning, (rid,))
        else:
            lines = yield (self.select_lines, (rid,))
            if lines:
                yield (self.delete_lines, (rid,))
        if not lines:
            return []
        lines = sorted(lines, key=lambda row: row[0])
        params: list[Any] = []
        for key, amount, _, held in lines:
            params += (key, int(actual.get(key, 0)), -int(amount) if held else 0)
        rows = yield (self.apply(len(lines)), params)
        if not self.d.returning:
            rows = yield (self.select_fired(len(lines)), [row[0] for row in lines])
        state = {row[0]: (int(row[1]), int(row[2])) for row in rows}
        found: list[Crossing] = []
        for key, _, marks, _ in lines:
            spent, fired = state[key]
            level, crossed = crossings(key, decode_marks(marks), spent, fired)
            if crossed:
                # "fired < level" keeps it monotonic; the row is locked by the upsert anyway.
                yield (self.set_fired, (level, key, level))
                found += crossed
        return found

    def settle_with(
        self, rid: str, actual: Mapping[str, int], also: Sequence[Step]
    ) -> Program[list[Crossing]]:
        """`settle`, then ``also`` (statements of another store in the same database, such
        as the call's ledger row), in the same transaction: both commit or neither does."""
        crossed = yield from self.settle(rid, actual)
        for step in also:  # noqa: UP028 (the driver sends rows back; a list cannot take them)
            yield step
        return crossed

    def sweep(self, at: float, limit: int) -> Program[int]:
        """Release up to ``limit`` expired hold lines; returns how many reservations."""
        released: set[str] = set()
        while limit > 0:
            chunk = min(limit, _CHUNK)
            rows = yield (self.expired, (at, chunk))
            if not rows:
                break
            limit -= len(rows)
            per_key: dict[str, int] = {}
            for _, key, amount in rows:
                per_key[key] = per_key.get(key, 0) + int(amount)
            keys = sorted(per_key)
            # Lock the counters in key order before changing them, as reserve does.
            yield (self.select_counters(len(keys), lock=True), keys)
            params = [v for k in keys for v in (k, -per_key[k])]
            yield (self.add_reserved(len(keys)), params + keys)
            pairs = [v for rid, key, _ in rows for v in (rid, key)]
            yield (self.release_lines(len(rows)), pairs)
            released.update(row[0] for row in rows)
            if len(rows) < chunk:
                break
        return len(released)

    def purge(self, at: float, keep_s: float) -> Program[None]:
        """Forget released holds and idle counters whose window ended ``keep_s`` ago."""
        yield (self.purge_holds, (at - keep_s,))
        yield (self.purge_counters, (at - keep_s,))

    def status(self, keys: Sequence[str]) -> Program[dict[str, Counter]]:
        found: dict[str, Counter] = dict.fromkeys(keys, Counter())
        if keys:
            rows = yield (self.select_counters(len(keys), lock=False), list(keys))
            for key, spent, reserved in rows:
                found[key] = Counter(int(spent), int(reserved))
        return found

    def pending_ids(self) -> Program[list[str]]:
        rows = yield (self.pending, ())
        return [row[0] for row in rows]


def _breaches(ordered: Sequence[Charge], rows: Sequence[Any]) -> list[Breach]:
    state = {row[0]: (int(row[1]), int(row[2])) for row in rows}
    found = []
    for c in ordered:
        spent, reserved = state.get(c.key, (0, 0))
        if c.hard and spent + reserved + c.amount > c.cap:
            found.append(Breach(c.key, c.cap, spent, reserved, c.amount))
    return found
