"""Report arguments, the Python reference implementation of reports, and CSV/JSON export.

A leaf of the ledger package: every backend imports it, and it imports none of them.

A report request is validated once into a `Spec`; SQL backends turn it into SQL
(`aigate.ledger._sql`), the memory and Redis backends run `summarize` over records. Both
follow the same rules, and the conformance tests hold them to it:

- ``since`` is inclusive, ``until`` exclusive; a ``date`` means midnight UTC; naive
  datetimes are refused (they are how reports end up a timezone off).
- time buckets are UTC strings: day ``2024-05-01``, hour ``2024-05-01T13:00``, month
  ``2024-05``.
- percentiles interpolate linearly between the closest ranks (``percentile_cont``).
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, Any

from ._record import UTC, LedgerRecord, SummaryRow

logger = logging.getLogger("aigate.ledger")

__all__ = ["DIMENSIONS", "FILTERS", "Spec", "make_spec", "summarize", "to_csv", "to_json"]

#: Accepted ``group_by`` items (plus ``"meta:<name>"`` for a metadata tag).
DIMENSIONS = (
    "day",
    "hour",
    "month",
    "model",
    "provider",
    "project",
    "user",
    "org",
    "key",
    "route",
    "status",
    "kind",
)
TIME_DIMENSIONS = frozenset({"day", "hour", "month"})
#: Record attribute (and column) behind each non-time dimension and extra filter.
ATTRIBUTES: Mapping[str, str] = {
    "model": "model",
    "provider": "provider",
    "project": "project",
    "user": "user",
    "org": "org",
    "key": "virtual_key",
    "virtual_key": "virtual_key",
    "route": "route",
    "status": "status",
    "kind": "kind",
    "provider_key_id": "provider_key_id",
    "error_class": "error_class",
    "error_type": "error_type",
}
#: Accepted ``where`` keys (plus ``"meta:<name>"``).
FILTERS = tuple(ATTRIBUTES)
_TIME_FORMATS = {"day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H:00", "month": "%Y-%m"}
META = "meta:"


@dataclass(frozen=True, slots=True)
class Spec:
    """A validated report request. ``top`` asks for the n highest-cost groups only."""

    since: datetime | None = None
    until: datetime | None = None
    group_by: tuple[str, ...] = ()
    where: tuple[tuple[str, str], ...] = ()
    top: int | None = None


def meta_name(item: str) -> str | None:
    """``"team"`` for ``"meta:team"``; None for a plain dimension."""
    if not item.startswith(META):
        return None
    name = item[len(META) :]
    # Quotes and backslashes would need escaping inside SQLite's JSON path; refuse them.
    if not name or '"' in name or "\\" in name:
        raise ValueError(f"bad metadata tag name in {item!r}")
    return name


def _bound(value: datetime | date | None, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), UTC)
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (reports are in UTC)")
    return value.astimezone(UTC)


def make_spec(
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    group_by: Sequence[str] = (),
    where: Mapping[str, str] | None = None,
    top: int | None = None,
) -> Spec:
    """Validate report arguments; raises ``ValueError`` naming what is wrong."""
    if isinstance(group_by, str):
        group_by = (group_by,)
    for item in group_by:
        if item not in DIMENSIONS and meta_name(item) is None:
            raise ValueError(
                f"unknown group_by item {item!r}; expected one of {', '.join(DIMENSIONS)} "
                "or 'meta:<name>'"
            )
    if len(set(group_by)) != len(group_by):
        raise ValueError(f"group_by repeats an item: {list(group_by)!r}")
    pairs = tuple((where or {}).items())
    for key, value in pairs:
        if key not in ATTRIBUTES and meta_name(key) is None:
            raise ValueError(
                f"unknown where key {key!r}; expected one of {', '.join(FILTERS)} or 'meta:<name>'"
            )
        if not isinstance(value, str):
            raise ValueError(f"where[{key!r}] must be a string, not {type(value).__name__}")
    if top is not None and top < 1:
        raise ValueError(f"n must be at least 1, not {top}")
    return Spec(_bound(since, "since"), _bound(until, "until"), tuple(group_by), pairs, top)


# -- the Python implementation (memory and Redis backends) ---------------------------------


def group_value(rec: LedgerRecord, item: str) -> str | None:
    """The value of one ``group_by`` item for a record."""
    fmt = _TIME_FORMATS.get(item)
    if fmt is not None:
        return rec.ts.strftime(fmt)
    name = meta_name(item)
    if name is not None:
        return rec.metadata.get(name)
    value: str | None = getattr(rec, ATTRIBUTES[item])
    return value


def matches(rec: LedgerRecord, spec: Spec) -> bool:
    """Whether a record falls inside the spec's time range and filters."""
    if spec.since is not None and rec.ts < spec.since:
        return False
    if spec.until is not None and rec.ts >= spec.until:
        return False
    return all(group_value(rec, key) == value for key, value in spec.where)


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks, as ``percentile_cont(p)``."""
    if not ordered:
        return None
    pos = p * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])


def _row(group: dict[str, str | None], recs: list[LedgerRecord]) -> SummaryRow:
    latencies = sorted(r.latency_ms for r in recs)
    return SummaryRow(
        group=group,
        requests=len(recs),
        errors=sum(r.status == "error" for r in recs),
        cache_hits=sum(r.cached for r in recs),
        prompt_tokens=sum(r.prompt_tokens for r in recs),
        completion_tokens=sum(r.completion_tokens for r in recs),
        cached_tokens=sum(r.cached_tokens for r in recs),
        reasoning_tokens=sum(r.reasoning_tokens for r in recs),
        cost_nano=sum(r.cost_nano for r in recs if r.cost_nano is not None),
        saved_nano=sum(r.saved_nano for r in recs if r.saved_nano is not None),
        unpriced=sum(r.cost_nano is None and r.status == "ok" for r in recs),
        estimated=sum(r.estimated for r in recs),
        latency_p50_ms=percentile(latencies, 0.5),
        latency_p95_ms=percentile(latencies, 0.95),
    )


def summarize(records: Iterable[LedgerRecord], spec: Spec) -> list[SummaryRow]:
    """Group and total records in Python (the reference the SQL backends must match)."""
    groups: dict[tuple[str | None, ...], list[LedgerRecord]] = {}
    for rec in records:
        if matches(rec, spec):
            key = tuple(group_value(rec, item) for item in spec.group_by)
            groups.setdefault(key, []).append(rec)
    rows = [_row(dict(zip(spec.group_by, key, strict=True)), recs) for key, recs in groups.items()]
    return finish(rows, spec)


def _group_key(row: SummaryRow) -> tuple[tuple[bool, str], ...]:
    # None sorts first, then code-point order (SQLite's BINARY collation, not the locale's).
    return tuple((v is not None, v or "") for v in row.group.values())


def finish(rows: Iterable[SummaryRow], spec: Spec) -> list[SummaryRow]:
    """Drop empty groups and order rows: by group, or by cost (highest first) for ``top``."""
    rows = [r for r in rows if r.requests]
    if spec.top is None:
        return sorted(rows, key=_group_key)
    rows.sort(key=_group_key)
    rows.sort(key=lambda r: (r.cost_nano, r.requests), reverse=True)  # stable: ties by group
    return rows[: spec.top]


# -- export -------------------------------------------------------------------------------


def _flat(row: SummaryRow | LedgerRecord) -> dict[str, Any]:
    if isinstance(row, LedgerRecord):
        out = row.to_dict()
        out["attempts"] = json.dumps(out["attempts"], separators=(",", ":"), default=str)
        out["metadata"] = json.dumps(out["metadata"], separators=(",", ":"))
        return out
    data = row.to_dict()
    return {**data.pop("group"), **data}


def to_csv(rows: Iterable[SummaryRow | LedgerRecord], file: IO[str]) -> None:
    """Write summary rows (group columns first) or records as CSV; ``None`` is an empty cell.

    Open ``file`` with ``newline=""``, as the ``csv`` module asks.
    """
    flat = [_flat(r) for r in rows]
    header: dict[str, None] = {}
    for item in flat:
        header.update(dict.fromkeys(item))
    writer = csv.DictWriter(file, fieldnames=list(header))
    writer.writeheader()
    writer.writerows(flat)


def to_json(rows: Iterable[SummaryRow | LedgerRecord]) -> str:
    """A JSON array of `to_dict()` objects; USD amounts are decimal strings."""
    return json.dumps([r.to_dict() for r in rows], default=str)
