"""The dashboard's report views: overview, breakdown, time series, request log, one call.

Each runs as one SQL statement on a SQL ledger and in Python (with the same rules, from
`aigate.ledger._spec`) on the memory and Redis ledgers.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import math
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, TypeVar

from ._base import counted
from ._record import TOKEN_FIELDS, UTC, LedgerRecord, SummaryRow
from ._spec import (
    TIME_DIMENSIONS,
    Spec,
    finish,
    make_spec,
    percentile,
    summarize,
)
from ._sql import COLUMN_LIST, decode
from ._sqlite import SQLiteLedger

logger = logging.getLogger("aigate.ledger")
_T = TypeVar("_T")

# -- the dashboard's views: one SQL statement each on SQLite and PostgreSQL ----------------
#
# Each view below runs as SQL on a SQL ledger (aggregation in the database, never a Python
# loop over rows) and, for the memory and Redis ledgers, over records in Python with the
# same rules. ``requests`` counts calls that were sent (or answered from the cache): a
# call refused before sending (``status="refused"``: budget, rate limit, cooldown) is
# counted in ``refused`` only, never as a call or an error, and has no latency sample.

#: Percentiles of the overview (latency and time to first token).
OVERVIEW_PERCENTILES = (0.5, 0.9, 0.95, 0.99)
REFUSED = "refused"
#: Indexes the views rely on, created once per ledger table (``CREATE INDEX IF NOT
#: EXISTS``) when a view first runs: ordered walks for exact percentiles, and the request
#: log's filters. ``{t}`` is the table name.
INDEXES = (
    "CREATE INDEX IF NOT EXISTS {t}_latency_ts_idx ON {t} (latency_ms, ts, status)",
    "CREATE INDEX IF NOT EXISTS {t}_ttft_ts_idx ON {t} (ttft_ms, ts)",
    "CREATE INDEX IF NOT EXISTS {t}_model_latency_idx ON {t} (model, latency_ms, ts, status)",
    "CREATE INDEX IF NOT EXISTS {t}_status_ts_idx ON {t} (status, ts)",
)


@dataclass(frozen=True, slots=True)
class Overview:
    """The headline numbers of a window.

    ``totals`` equals ``ledger.totals()`` for the same window (calls, errors, tokens, cost,
    cache savings, p50/p95 latency). The rest is what a live page adds: refusals, calls
    that needed more than one attempt (retries and failovers), streams, every token
    category, and latency / time-to-first-token percentiles keyed by ``"p50"``, ``"p90"``,
    ``"p95"``, ``"p99"`` (``None`` without samples).
    """

    totals: SummaryRow
    refused: int = 0
    failovers: int = 0
    streams: int = 0
    tokens: Mapping[str, int] = field(default_factory=dict)
    latency_ms: Mapping[str, float | None] = field(default_factory=dict)
    ttft_ms: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def cache_hit_rate(self) -> float:
        """Share of calls answered from the cache."""
        t = self.totals
        return t.cache_hits / t.requests if t.requests else 0.0

    @property
    def failover_rate(self) -> float:
        """Share of calls that took more than one attempt."""
        t = self.totals
        return self.failovers / t.requests if t.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the totals as `SummaryRow.to_dict`, then the live figures."""
        return {
            "totals": self.totals.to_dict(),
            "refused": self.refused,
            "failovers": self.failovers,
            "failover_rate": self.failover_rate,
            "cache_hit_rate": self.cache_hit_rate,
            "streams": self.streams,
            "tokens": dict(self.tokens),
            "latency_ms": dict(self.latency_ms),
            "ttft_ms": dict(self.ttft_ms),
        }


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the request log, newest first; ``next`` is the cursor of the next page
    (``None`` on the last one)."""

    records: list[LedgerRecord]
    next: str | None = None


def _pkey(p: float) -> str:
    return f"p{round(p * 100)}"


class _Backend:
    """How to run SQL on one ledger: its dialect, table, a row fetcher and a DDL runner."""

    def __init__(self, dialect: Any, table: str, rows: Any, execute: Any) -> None:
        self.d = dialect
        self.table = table
        self.rows = rows
        self.execute = execute
        self.indexed = False  # the INDEXES exist (a read-only file may lack them)
        #: Opens a second connection to the same database, as (backend, close), for a
        #: statement run alongside another (a SQLite file); None: one at a time.
        self.side: Callable[[], tuple[_Backend, Callable[[], None]]] | None = None

    def scan(self, spec: Spec) -> str:
        """The table for an aggregate over a range. SQLite's planner, left alone, may walk
        an index that merely matches a GROUP BY (``model``) and look up every row from it;
        a range goes through the ``ts`` index, a whole table is read straight. Filters are
        left to the planner (``user = ?`` has its own index)."""
        if self.d.name != "sqlite" or spec.where:
            return self.table
        if spec.since is not None or spec.until is not None:
            return f"{self.table} INDEXED BY {self.table}_ts_idx"
        return f"{self.table} NOT INDEXED"

    def where(self, spec: Spec, *, sent: bool | None = None) -> tuple[str, list[Any]]:
        conds: list[str] = []
        params: list[Any] = []
        if spec.since is not None:
            conds.append(f"ts >= {self.d.ph}")
            params.append(self.d.ts(spec.since))
        if spec.until is not None:
            conds.append(f"ts < {self.d.ph}")
            params.append(self.d.ts(spec.until))
        for key, value in spec.where:
            cond, cond_params = self.d.condition(key, value)
            conds.append(cond)
            params += cond_params
        if sent and not counts_refused(spec):
            conds.append(f"status <> '{REFUSED}'")
        return (" WHERE " + " AND ".join(conds) if conds else ""), params


def _unwrap(ledger: Any) -> Any:
    inner = getattr(ledger, "inner", None)  # SafeLedger
    return _unwrap(inner) if inner is not None and hasattr(inner, "record") else ledger


_ENSURED: set[tuple[str, str, str]] = set()
_ENSURE_LOCK = threading.Lock()


def _backend(ledger: Any) -> _Backend | None:
    """The SQL side of a ledger, or None for one that reports in Python (memory, Redis)."""
    ledger = _unwrap(ledger)
    if isinstance(ledger, SQLiteLedger):
        lite = ledger

        def lite_rows(sql: str, params: Sequence[Any]) -> list[Any]:
            with lite._lock:
                rows: list[Any] = lite._connection().execute(sql, params).fetchall()
            return rows

        backend = _Backend(lite._sql.d, lite._sql.table, lite_rows, lite_rows)
        _ensure(backend, ("sqlite", lite.path, lite._sql.table))
        if lite.path != ":memory:" and not lite.path.startswith("file:"):

            def side() -> tuple[_Backend, Callable[[], None]]:
                conn = sqlite3.connect(
                    lite.path, timeout=5.0, isolation_level=None, check_same_thread=False
                )

                def side_rows(sql: str, params: Sequence[Any]) -> list[Any]:
                    rows: list[Any] = conn.execute(sql, params).fetchall()
                    return rows

                other = _Backend(lite._sql.d, lite._sql.table, side_rows, side_rows)
                other.indexed = backend.indexed
                return other, conn.close

            backend.side = side
        return backend
    if type(ledger).__name__ == "PostgresLedger" and hasattr(ledger, "_rows"):
        pg = ledger

        def pg_rows(sql: str, params: Sequence[Any]) -> list[Any]:
            rows: list[Any] = pg._rows(sql, params)
            return rows

        def pg_execute(sql: str, params: Sequence[Any]) -> None:
            pg._connection().execute(sql, params)

        backend = _Backend(pg._sql.d, pg._sql.table, pg_rows, pg_execute)
        _ensure(backend, ("postgres", str(id(pg)), pg._sql.table))
        return backend
    return None


def _ensure(backend: _Backend, key: tuple[str, str, str]) -> None:
    with _ENSURE_LOCK:
        if key in _ENSURED:
            backend.indexed = True
            return
        try:
            for ddl in INDEXES:
                backend.execute(ddl.format(t=backend.table), ())
        except Exception:
            # A read-only database, or a racing creator: the views still answer, by sorts.
            logger.debug("could not create the report indexes on %s", backend.table, exc_info=True)
            return
        _ENSURED.add(key)
        backend.indexed = True


def ensure_indexes(ledger: Any) -> None:
    """Create the indexes the views use (idempotent; the first view does it anyway)."""
    _backend(ledger)


# -- SQL fragments ------------------------------------------------------------------------


def counts_refused(spec: Spec) -> bool:
    """Whether refused rows count as calls: only in a report that filters on ``status``
    (``where={"status": "refused"}`` reports the refusals themselves), as in `summary`."""
    return any(key == "status" for key, _ in spec.where)


#: The figures of a `SummaryRow`, in order (`_figures` computes them so).
_FIGURES = (
    "requests",
    "errors",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_nano",
    "saved_nano",
    "unpriced",
    "estimated",
)


def _sent(spec: Spec) -> str:
    return "1 = 1" if counts_refused(spec) else f"status <> '{REFUSED}'"


def _aggregates(d: Any, spec: Spec) -> list[tuple[str, str]]:
    """(name, SQL) of every counted figure; sent calls only, except ``refused``. A count is
    a sum of SQLite's 0/1 comparison (PostgreSQL: ``COUNT(*) FILTER``), not a CASE per row:
    over a large window the per-row expressions are much of a scan's cost."""
    sent = _sent(spec)
    if d.name == "sqlite":
        attempts = "json_array_length(attempts)"

        def count(cond: str) -> str:
            return f"COALESCE(SUM({cond}), 0)"

    else:
        attempts = "jsonb_array_length(attempts)"

        def count(cond: str) -> str:
            return f"COUNT(*) FILTER (WHERE {cond})"

    out = [
        ("requests", "COUNT(*)" if counts_refused(spec) else count(sent)),
        ("errors", count("status = 'error'")),
        ("cache_hits", count("cached")),
        *[(name, f"COALESCE(SUM({name}), 0)") for name in TOKEN_FIELDS],
        ("cost_nano", "COALESCE(SUM(cost_nano), 0)"),
        ("saved_nano", "COALESCE(SUM(saved_nano), 0)"),
        ("unpriced", count("cost_nano IS NULL AND status = 'ok'")),
        ("estimated", count("estimated")),
        ("refused", count(f"status = '{REFUSED}'")),
        ("failovers", count(f"{attempts} > 1")),
        ("streams", count(f"stream AND {sent}")),
    ]
    return out


def _row_aggregates(d: Any, spec: Spec) -> list[tuple[str, str]]:
    """The `_aggregates` a `SummaryRow` shows (its four token categories of eight)."""
    return [(n, s) for n, s in _aggregates(d, spec) if n in _FIGURES]


def _summary_row(group: Mapping[str, str | None], data: Mapping[str, Any]) -> SummaryRow:
    return SummaryRow(
        group=dict(group),
        requests=int(data["requests"]),
        errors=int(data["errors"]),
        cache_hits=int(data["cache_hits"]),
        prompt_tokens=int(data["prompt_tokens"]),
        completion_tokens=int(data["completion_tokens"]),
        cached_tokens=int(data["cached_tokens"]),
        reasoning_tokens=int(data["reasoning_tokens"]),
        cost_nano=int(data["cost_nano"]),
        saved_nano=int(data["saved_nano"]),
        unpriced=int(data["unpriced"]),
        estimated=int(data["estimated"]),
        latency_p50_ms=_float(data.get("p50")),
        latency_p95_ms=_float(data.get("p95")),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


#: SQLite walks a ``(column, ts, ...)`` index in order when a window holds at least this
#: share of the table (a rank k costs k / share index entries); a narrower window, or one
#: with filters, sorts its own rows instead (``ORDER BY +column`` keeps the planner off the
#: walk).
_WALK_SHARE = 0.25


def _ranks(n: int, p: float) -> tuple[int, float]:
    """The lower rank and the fraction of ``percentile_cont(p)`` over ``n`` samples."""
    x = p * (n - 1)
    k = math.floor(x)
    return k, x - k


_Pick = tuple[str, str, list[Any], int, "str | None", int]


def _sqlite_picks(b: _Backend, picks: Sequence[_Pick]) -> list[tuple[Any, Any]]:
    """(lo, hi) of each pick, in one statement. A pick is (column, WHERE sql, its params,
    rank k, index to walk or None, number n of samples the WHERE keeps) and reads the
    samples at ranks k and k + 1. A walked pick is one ordered walk of the named index
    (``LIMIT 2 OFFSET k``; named, since with a two-sided range the planner would rather
    sort the whole range), from the far end for a rank past the middle (a p99 walks 1% of
    the samples, not 99%); picks that sort share one sort per filter (``ROW_NUMBER()`` over
    the filtered rows, every wanted rank read from it)."""
    parts: list[str] = []
    params: list[Any] = []
    sorted_groups: dict[tuple[str, str, tuple[Any, ...]], list[int]] = {}
    for i, (column, where, where_params, k, walk, n) in enumerate(picks):
        if walk is None:
            sorted_groups.setdefault((column, where, tuple(where_params)), []).append(i)
            continue
        cond = f"{where} AND {column} IS NOT NULL" if where else f" WHERE {column} IS NOT NULL"
        if 2 * k < n - 1:
            order, limit = column, f"LIMIT 2 OFFSET {int(k)}"
        else:  # ranks n - 1 - k - 1 and n - 1 - k counting from the top
            order = f"{column} DESC"
            limit = f"LIMIT 2 OFFSET {int(n - 2 - k)}" if k < n - 1 else "LIMIT 1"
        parts.append(
            f"SELECT {i} AS part, {int(k)} AS rn, MIN({column}) AS lo, MAX({column}) AS hi "
            f"FROM (SELECT {column} FROM {b.table} INDEXED BY {b.table}_{walk}{cond} "
            f"ORDER BY {order} {limit})"
        )
        params += where_params
    for g, ((column, where, shared_params), members) in enumerate(sorted_groups.items()):
        cond = f"{where} AND {column} IS NOT NULL" if where else f" WHERE {column} IS NOT NULL"
        ranks = sorted({r for i in members for r in (picks[i][3], picks[i][3] + 1)})
        parts.append(
            f"SELECT {-1 - g} AS part, rn, v AS lo, NULL AS hi FROM "
            f"(SELECT {column} AS v, ROW_NUMBER() OVER (ORDER BY +{column}) - 1 AS rn "
            f"FROM {b.table}{cond}) WHERE rn IN ({', '.join(str(int(r)) for r in ranks)})"
        )
        params += list(shared_params)
    walked: dict[int, tuple[Any, Any]] = {}
    ranked: dict[int, dict[int, Any]] = {}
    for part, rn, lo, hi in b.rows(" UNION ALL ".join(parts), params) if parts else ():
        if part >= 0:
            walked[int(part)] = (lo, hi)
        else:
            ranked.setdefault(-1 - int(part), {})[int(rn)] = lo
    out: list[tuple[Any, Any]] = [(None, None)] * len(picks)
    for i in walked:
        out[i] = walked[i]
    for g, members in enumerate(sorted_groups.values()):
        values = ranked.get(g, {})
        for i in members:
            k = picks[i][3]
            out[i] = (values.get(k), values.get(k + 1))
    return out


def _interpolate(lo: Any, hi: Any, frac: float) -> float | None:
    if lo is None:
        return None
    low = float(lo)
    high = float(hi) if hi is not None else low
    return low + frac * (high - low)


# -- overview -----------------------------------------------------------------------------


def refusals(
    ledger: Any,
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
) -> int:
    """How many calls of the window were refused before sending (budget, rate limit): one
    count on the status index of a SQL ledger; they are rows, not calls, in the reports."""
    only = {**(where or {}), "status": REFUSED}
    b = _backend(ledger)
    if b is None:
        return len(ledger.query(since=since, until=until, where=only))
    where_sql, params = b.where(make_spec(since=since, until=until, where=only))
    return int(b.rows(f"SELECT COUNT(*) FROM {b.table}{where_sql}", params)[0][0])


def overview(
    ledger: Any,
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
) -> Overview:
    """The headline numbers of a window, as one SQL statement on a SQL ledger."""
    spec = make_spec(since=since, until=until, where=where)
    b = _backend(ledger)
    if b is None:
        recs = ledger.query(since=spec.since, until=spec.until, where=where)
        return _py_overview(recs, spec)
    spec = _unbounded(b, spec)
    aggs = _aggregates(b.d, spec)
    where_sql, params = b.where(spec)
    names = [name for name, _ in aggs]
    select = [f"{sql} AS {name}" for name, sql in aggs]
    sql_params: list[Any] = []
    keys = [_pkey(p) for p in OVERVIEW_PERCENTILES]
    if b.d.name == "postgres":
        # The array form: one sort per column for every percentile.
        ps = ", ".join(str(p) for p in OVERVIEW_PERCENTILES)
        select.append(
            f"percentile_cont(ARRAY[{ps}]) WITHIN GROUP (ORDER BY latency_ms) "
            f"FILTER (WHERE {_sent(spec)})"
        )
        select.append(f"percentile_cont(ARRAY[{ps}]) WITHIN GROUP (ORDER BY ttft_ms)")
        sql = f"SELECT {', '.join(select)} FROM {b.table}{where_sql}"
        sql_params = params
    else:
        # Sample counts and the table's size come with the aggregates; the percentiles are
        # then read at constant ranks by a second statement (see `_sqlite_picks`).
        select += ["COUNT(ttft_ms) AS ttft_n", f"(SELECT MAX(rowid) FROM {b.table}) AS size"]
        sql = f"SELECT {', '.join(select)} FROM {b.scan(spec)}{where_sql}"
        sql_params = params
        if _PARTS > 1 and b.side is not None and spec == Spec():
            return _sqlite_split_overview(b, spec, names, select)
    row = b.rows(sql, sql_params)[0]
    data = dict(zip(names, row[: len(names)], strict=True))
    rest = row[len(names) :]
    if b.d.name == "postgres":
        lat_values = rest[0] or [None] * len(keys)
        ttft_values = rest[1] or [None] * len(keys)
        latency = {k: _float(v) for k, v in zip(keys, lat_values, strict=True)}
        ttft = {k: _float(v) for k, v in zip(keys, ttft_values, strict=True)}
    else:
        latency, ttft = _sqlite_overview_percentiles(
            b, spec, int(data["requests"]), int(rest[0]), int(rest[1] or 0)
        )
    return _overview(data, latency, ttft)


def _sqlite_split_overview(
    b: _Backend, spec: Spec, names: Sequence[str], select: Sequence[str]
) -> Overview:
    """`overview` of a whole SQLite file in two halves of its rowids, one on a second
    connection (and core): every figure but the table's size is a sum or a count."""
    t = b.table
    mid = f"((SELECT MIN(rowid) FROM {t}) + (SELECT MAX(rowid) FROM {t})) / 2"
    head = f"SELECT {', '.join(select)} FROM {t} NOT INDEXED WHERE rowid "
    upper = _aside(b, lambda side: list(side.rows(f"{head}>= {mid}", ())[0]))
    lower = _waiting([upper], lambda: list(b.rows(f"{head}< {mid}", ())[0]))
    row = [int(x or 0) + int(y or 0) for x, y in zip(lower[:-1], upper()[:-1], strict=True)]
    data = dict(zip(names, row[: len(names)], strict=True))
    ttft_n, size = row[len(names)], int(lower[-1] or 0)
    latency, ttft = _sqlite_overview_percentiles(b, spec, int(data["requests"]), ttft_n, size)
    return _overview(data, latency, ttft)


def _sqlite_overview_percentiles(
    b: _Backend, spec: Spec, n_lat: int, n_ttft: int, size: int
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    keys = [_pkey(p) for p in OVERVIEW_PERCENTILES]
    none: dict[str, float | None] = dict.fromkeys(keys)
    sent_where, sent_params = b.where(spec, sent=True)
    where_sql, params = b.where(spec)
    picks: list[_Pick] = []
    fracs: list[float] = []
    for column, n, where, where_params, index in (
        ("latency_ms", n_lat, sent_where, sent_params, "latency_ts_idx"),
        ("ttft_ms", n_ttft, where_sql, params, "ttft_ts_idx"),
    ):
        wide = b.indexed and not spec.where and n >= _WALK_SHARE * size
        walk = index if wide else None
        for p in OVERVIEW_PERCENTILES:
            k, frac = _ranks(max(n, 1), p)
            picks.append((column, where, where_params, k, walk, n))
            fracs.append(frac)
    found = _sqlite_picks(b, picks) if n_lat or n_ttft else [(None, None)] * len(picks)
    values = [_interpolate(lo, hi, f) for (lo, hi), f in zip(found, fracs, strict=True)]
    m = len(OVERVIEW_PERCENTILES)
    latency = dict(zip(keys, values[:m], strict=True)) if n_lat else none
    ttft = dict(zip(keys, values[m:], strict=True)) if n_ttft else dict(none)
    return latency, ttft


def _overview(
    data: Mapping[str, Any], latency: Mapping[str, float | None], ttft: Mapping[str, float | None]
) -> Overview:
    totals = _summary_row({}, {**data, "p50": latency["p50"], "p95": latency["p95"]})
    return Overview(
        totals=totals,
        refused=int(data["refused"]),
        failovers=int(data["failovers"]),
        streams=int(data["streams"]),
        tokens={name: int(data[name]) for name in TOKEN_FIELDS},
        latency_ms=dict(latency),
        ttft_ms=dict(ttft),
    )


def _py_counts(recs: Sequence[LedgerRecord], spec: Spec) -> dict[str, Any]:
    sent = list(recs) if counts_refused(spec) else [r for r in recs if r.status != REFUSED]
    out: dict[str, Any] = {
        "requests": len(sent),
        "errors": sum(r.status == "error" for r in recs),
        "cache_hits": sum(r.cached for r in recs),
        "cost_nano": sum(r.cost_nano for r in recs if r.cost_nano is not None),
        "saved_nano": sum(r.saved_nano for r in recs if r.saved_nano is not None),
        "unpriced": sum(r.cost_nano is None and r.status == "ok" for r in sent),
        "estimated": sum(r.estimated for r in recs),
        "refused": sum(r.status == REFUSED for r in recs),
        "failovers": sum(len(r.attempts) > 1 for r in recs),
        "streams": sum(r.stream for r in sent),
    }
    for name in TOKEN_FIELDS:
        out[name] = sum(getattr(r, name) for r in recs)
    return out


def _py_overview(recs: Sequence[LedgerRecord], spec: Spec) -> Overview:
    refused = () if counts_refused(spec) else (REFUSED,)
    latencies = sorted(r.latency_ms for r in recs if r.status not in refused)
    ttfts = sorted(r.ttft_ms for r in recs if r.ttft_ms is not None)
    latency = {_pkey(p): percentile(latencies, p) for p in OVERVIEW_PERCENTILES}
    ttft = {_pkey(p): percentile(ttfts, p) for p in OVERVIEW_PERCENTILES}
    return _overview(_py_counts(recs, spec), latency, ttft)


# -- breakdowns and time series -----------------------------------------------------------


def breakdown(
    ledger: Any,
    by: str,
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
    top: int | None = None,
    latency: bool = True,
) -> list[SummaryRow]:
    """Rows per value of ``by`` (any ``group_by`` item): the same rows as
    ``ledger.summary(group_by=[by])``, or as ``ledger.top_spenders(by, top)`` with ``top``.
    ``latency=False`` skips the percentiles (``None``), for views that show none."""
    spec = make_spec(since=since, until=until, group_by=(by,), where=where, top=top)
    b = _backend(ledger)
    if b is None:
        if top is not None:
            rows: list[SummaryRow] = ledger.top_spenders(
                by, top, since=spec.since, until=spec.until, where=where
            )
        else:
            rows = ledger.summary(since=spec.since, until=spec.until, group_by=[by], where=where)
        return rows if latency else [_strip_percentiles(r) for r in rows]
    if top is not None:
        # Ranked on cost alone, then the winners' figures and percentiles from their rows.
        groups = _top_groups(b, spec, by, top)
        rows = finish(_top_rows(b, spec, by, groups), spec) if groups else []
        return rows if latency else [_strip_percentiles(r) for r in rows]
    expr, expr_params = b.d.dimension(by)
    where_sql, params = b.where(spec)
    aggs = _row_aggregates(b.d, spec)
    select = [f"{expr} AS g0", *(f"{s} AS {n}" for n, s in aggs)]
    names = [n for n, _ in aggs]
    if b.d.name == "postgres" and latency:
        select.append(
            "percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms) "
            f"FILTER (WHERE {_sent(spec)})"
        )
    having = f" HAVING {aggs[0][1]} > 0"
    sql = f"SELECT {', '.join(select)} FROM {b.scan(spec)}{where_sql} GROUP BY g0{having}"
    raw = b.rows(sql, [*expr_params, *params])
    out = []
    for row in raw:
        data = dict(zip(names, row[1 : 1 + len(names)], strict=True))
        if b.d.name == "postgres" and latency:
            data["p50"], data["p95"] = row[1 + len(names)] or (None, None)
        out.append((row[0], data))
    if b.d.name == "sqlite" and out and latency:
        _sqlite_group_percentiles(ledger, b, spec, by, out)
    return finish([_summary_row({by: g}, data) for g, data in out], spec)


def _sqlite_group_percentiles(
    ledger: Any, b: _Backend, spec: Spec, by: str, out: list[tuple[Any, dict[str, Any]]]
) -> None:
    """p50 and p95 per group. Over a wide unfiltered window by model: two ordered walks of
    the ``(model, latency_ms, ts, status)`` index per model. Otherwise one pass: the
    window's rows ranked within their group (``ROW_NUMBER() OVER (PARTITION BY ...)``, one
    sort), keeping only the ranks wanted."""
    where_sql, params = b.where(spec, sent=True)
    size = int(b.rows(f"SELECT MAX(rowid) FROM {b.table}", ())[0][0] or 0)
    total = sum(int(data["requests"]) for _, data in out)
    wanted = {g: [_ranks(max(int(data["requests"]), 1), p) for p in (0.5, 0.95)] for g, data in out}
    wide = b.indexed and not spec.where and total >= _WALK_SHARE * size
    if by == "model" and wide and len(out) <= 64:
        picks: list[_Pick] = []
        for g, data in out:
            cond = "model IS NULL" if g is None else f"model = {b.d.ph}"
            group_where = f"{where_sql} AND {cond}" if where_sql else f" WHERE {cond}"
            group_params = params if g is None else [*params, g]
            n = int(data["requests"])
            picks += [
                ("latency_ms", group_where, group_params, k, "model_latency_idx", n)
                for k, _ in wanted[g]
            ]
        found = iter(_sqlite_picks(b, picks))
        for g, data in out:
            values = [_interpolate(*next(found), frac) for _, frac in wanted[g]]
            data["p50"], data["p95"] = values
        return
    expr, expr_params = b.d.dimension(by)
    ranks = sorted({r for pairs in wanted.values() for k, _ in pairs for r in (k, k + 1)})
    sql = (
        f"SELECT g, rn, v FROM (SELECT {expr} AS g, latency_ms AS v, "
        f"ROW_NUMBER() OVER (PARTITION BY {expr} ORDER BY +latency_ms) - 1 AS rn "
        f"FROM {b.scan(spec)}{where_sql}) WHERE rn IN ({', '.join(str(r) for r in ranks)})"
    )
    found_by: dict[Any, dict[int, Any]] = {}
    for g, rn, v in b.rows(sql, [*expr_params, *expr_params, *params]):
        found_by.setdefault(g, {})[int(rn)] = v
    for g, data in out:
        ranked = found_by.get(g, {})
        data["p50"], data["p95"] = (
            _interpolate(ranked.get(k), ranked.get(k + 1), frac) for k, frac in wanted[g]
        )


def timeseries(
    ledger: Any,
    bucket: str = "day",
    *,
    by: str | None = None,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
) -> list[SummaryRow]:
    """Rows per time ``bucket`` (hour, day, month; and per ``by`` value when given), ordered
    by bucket: every count and sum of `summary`, without latency percentiles (``None``)."""
    if bucket not in TIME_DIMENSIONS:
        raise ValueError(f"bucket must be one of hour, day, month, not {bucket!r}")
    group_by = (bucket,) if by is None else (bucket, by)
    spec = make_spec(since=since, until=until, group_by=group_by, where=where)
    b = _backend(ledger)
    if b is None:
        recs = ledger.query(since=spec.since, until=spec.until, where=where)
        rows = summarize(counted(list(recs), spec), spec)  # refusals are not calls
        return [_strip_percentiles(r) for r in rows]
    return _timeseries(b, spec)


def _unbounded(b: _Backend, spec: Spec) -> Spec:
    """``spec`` without its time bounds when every row of the table lies inside them (a
    "90 days" window over a ledger 90 days old): the same rows, but the table is then read
    straight, not row by row through the ``ts`` index (1M rows: ~2x faster). Two index
    lookups (the oldest and newest ``ts``) decide it."""
    if spec.since is None and spec.until is None:
        return spec
    # Two subqueries: SQLite answers a lone MIN or MAX from the index, both at once by a scan.
    oldest, newest = b.rows(
        f"SELECT (SELECT MIN(ts) FROM {b.table}), (SELECT MAX(ts) FROM {b.table})", ()
    )[0]
    if oldest is None:
        return spec
    inside = (spec.since is None or b.d.ts(spec.since) <= oldest) and (
        spec.until is None or newest < b.d.ts(spec.until)
    )
    return replace(spec, since=None, until=None) if inside else spec


def _timeseries(b: _Backend, spec: Spec) -> list[SummaryRow]:
    spec = _unbounded(b, spec)
    group_by = spec.group_by
    groups: list[str] = []
    params: list[Any] = []
    for i, item in enumerate(group_by):
        expr, expr_params = b.d.dimension(item)
        groups.append(f"{expr} AS g{i}")
        params += expr_params
    where_sql, where_params = b.where(spec)
    aggs = _row_aggregates(b.d, spec)
    names = [n for n, _ in aggs]
    keys = ", ".join(f"g{i}" for i in range(len(group_by)))
    sql = (
        f"SELECT {', '.join([*groups, *(f'{s} AS {n}' for n, s in aggs)])} "
        f"FROM {b.scan(spec)}{where_sql} GROUP BY {keys} HAVING {aggs[0][1]} > 0"
    )
    raw = b.rows(sql, [*params, *where_params])
    k = len(group_by)
    out = [
        _summary_row(
            dict(zip(group_by, row[:k], strict=True)),
            dict(zip(names, row[k : k + len(names)], strict=True)),
        )
        for row in raw
    ]
    return finish(out, spec)


def overview_over_time(
    ledger: Any,
    bucket: str = "day",
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
) -> tuple[Overview, list[SummaryRow]]:
    """`overview` and `timeseries` of one window (the dashboard's first page): on a SQLite
    file the series is read on a second connection while the overview runs (SQLite steps
    a statement without Python's lock held: the two use two cores)."""
    b = _backend(ledger)
    if b is None or b.side is None:
        return (
            overview(ledger, since=since, until=until, where=where),
            timeseries(ledger, bucket, since=since, until=until, where=where),
        )
    if bucket not in TIME_DIMENSIONS:
        raise ValueError(f"bucket must be one of hour, day, month, not {bucket!r}")
    spec = make_spec(since=since, until=until, group_by=(bucket,), where=where)
    series = _aside(b, lambda side: _timeseries(side, spec))
    data = overview(ledger, since=since, until=until, where=where)
    return data, series()


def _strip_percentiles(row: SummaryRow) -> SummaryRow:
    data = row.to_dict()
    data.update(latency_p50_ms=None, latency_p95_ms=None)
    return SummaryRow.from_dict(data)


# -- the request log ----------------------------------------------------------------------


def _cursor(rec: LedgerRecord) -> str:
    raw = json.dumps([rec.ts.isoformat(), rec.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _uncursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts, id_ = json.loads(raw)
        when = datetime.fromisoformat(ts)
        if when.tzinfo is None or not isinstance(id_, str):
            raise ValueError
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cursor {cursor!r} is not one this ledger returned") from exc
    return when.astimezone(UTC), id_


def requests_page(
    ledger: Any,
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """One page of records, newest first, matching every ``where`` pair; pass the returned
    ``next`` as ``cursor`` for the following page (keyset paging on (ts, id): a page costs
    the same on row 10 and row 1,000,000)."""
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit must be between 1 and 1000, not {limit}")
    spec = make_spec(since=since, until=until, where=where)
    after = _uncursor(cursor) if cursor else None
    b = _backend(ledger)
    if b is None:
        recs: list[LedgerRecord] = ledger.query(
            since=spec.since, until=spec.until, where=where, newest_first=True
        )
        if after is not None:
            recs = [r for r in recs if (r.ts, r.id) < after]
        recs = recs[: limit + 1]
    else:
        where_sql, params = b.where(spec)
        if after is not None:
            ph = b.d.ph
            cond = f"(ts < {ph} OR (ts = {ph} AND id < {ph}))"
            where_sql = f"{where_sql} AND {cond}" if where_sql else f" WHERE {cond}"
            ts = b.d.ts(after[0])
            params = [*params, ts, ts, after[1]]
        sql = (
            f"SELECT {COLUMN_LIST} FROM {b.table}{where_sql} "
            f"ORDER BY ts DESC, id DESC LIMIT {limit + 1}"
        )
        recs = [decode(row, text=b.d.name == "sqlite") for row in b.rows(sql, params)]
    more = len(recs) > limit
    recs = recs[:limit]
    return Page(recs, _cursor(recs[-1]) if more and recs else None)


def call(ledger: Any, call_id: str) -> LedgerRecord | None:
    """The record of one call (its attempts, cost and cache status), or None."""
    rec: LedgerRecord | None = ledger.get(call_id)
    return rec


# -- the usage report's views --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportViews:
    """What ``aigate report --html`` draws, each view one query: the window's overview,
    cost over time per provider, models (with latency), providers, projects (without) and
    the top spenders by ``top_by``."""

    overview: Overview
    bucket: str
    over_time: list[SummaryRow]
    by_model: list[SummaryRow]
    by_provider: list[SummaryRow]
    by_project: list[SummaryRow]
    top: list[SummaryRow]
    top_by: str


def report_views(
    ledger: Any,
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
    top_by: str = "user",
    top_n: int = 10,
    bucket: str | None = None,
) -> ReportViews:
    """The views of the usage report. ``bucket`` (hour, day, month) is chosen from the
    window's data when None: hours for one day, months past 92 days, else days. On a SQL
    ledger the over-time, model, provider and project views come from one grouped
    statement (see `usage_report`), the top spenders from a ranking and their own rows."""
    window: dict[str, Any] = {"since": since, "until": until, "where": where}
    spec = make_spec(since=since, until=until, where=where)
    b = _backend(ledger)
    if b is None:
        if bucket is None:
            days = timeseries(ledger, "day", **window)
            bucket = "hour" if len(days) <= 1 else "month" if len(days) > 92 else "day"
        return ReportViews(
            overview=overview(ledger, **window),
            bucket=bucket,
            over_time=timeseries(ledger, bucket, by="provider", **window),
            by_model=breakdown(ledger, "model", **window),
            by_provider=breakdown(ledger, "provider", latency=False, **window),
            by_project=breakdown(ledger, "project", latency=False, **window),
            top=breakdown(ledger, top_by, top=top_n, latency=False, **window) if top_n else [],
            top_by=top_by,
        )
    make_spec(group_by=(top_by,))  # a bad top_by fails before any reading
    cells, _, bucket = _bucket_cells(b, spec, bucket)
    by_model = _rollup(cells, ("model",), (2,))
    if by_model:
        out: list[tuple[Any, dict[str, Any]]] = [
            (r.group["model"], {"requests": r.requests}) for r in by_model
        ]
        if b.d.name == "sqlite":
            _sqlite_group_percentiles(ledger, b, spec, "model", out)
        else:
            _pg_group_percentiles(b, spec, "model", out)
        by_model = [
            replace(
                r, latency_p50_ms=_float(data.get("p50")), latency_p95_ms=_float(data.get("p95"))
            )
            for r, (_, data) in zip(by_model, out, strict=True)
        ]
    top: list[SummaryRow] = []
    groups = _top_groups(b, spec, top_by, top_n) if top_n else []
    if groups:
        ranked = finish(_top_rows(b, spec, top_by, groups), Spec(top=top_n))
        top = [_strip_percentiles(r) for r in ranked]
    return ReportViews(
        overview=overview(ledger, **window),
        bucket=bucket,
        over_time=_rollup(cells, (bucket, "provider"), (0, 1)),
        by_model=by_model,
        by_provider=_rollup(cells, ("provider",), (1,)),
        by_project=_rollup(cells, ("project",), (3,)),
        top=top,
        top_by=top_by,
    )


def _pg_group_percentiles(
    b: _Backend, spec: Spec, by: str, out: list[tuple[Any, dict[str, Any]]]
) -> None:
    """p50 and p95 per value of ``by`` (PostgreSQL's ``percentile_cont``), into ``out``."""
    expr, expr_params = b.d.dimension(by)
    where_sql, params = b.where(spec, sent=True)
    sql = (
        f"SELECT {expr} AS g0, percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP "
        f"(ORDER BY latency_ms) FROM {b.table}{where_sql} GROUP BY g0"
    )
    found = dict(b.rows(sql, [*expr_params, *params]))
    for g, data in out:
        data["p50"], data["p95"] = found.get(g) or (None, None)


# -- the usage report: totals and every breakdown from one grouped statement ----------------
#
# ``aigate report --html`` draws the totals, spend per time bucket and provider, the models
# (with their latency), the providers, the projects and the top spenders (with theirs). On
# a SQL ledger: one statement groups the window by (bucket, provider, model, project), a
# few thousand rows that Python rolls up into the totals and every breakdown; one ranks the
# top spenders and one reads their figures and latency from their own rows (an index finds
# them); the window's and the models' latency percentiles are index walks to constant
# ranks. Never a window pass per view, as the per-view ``summary()`` calls made.

#: The columns `_figures` reads.
_FIGURE_COLUMNS = (
    "status, cached, estimated, prompt_tokens, completion_tokens, cached_tokens, "
    "reasoning_tokens, cost_nano, saved_nano, latency_ms"
)
#: The percentiles of a `SummaryRow` (p50, p95).
_ROW_PERCENTILES = (0.5, 0.95)
#: What the grouped statement groups by, after the time bucket.
_CELL = ("provider", "model", "project")
#: SQLite groups a whole-table window block by block: runs of at least this many rowids,
#: at most `_MAX_BLOCKS` of them.
_BLOCK = 2048
_MAX_BLOCKS = 4096
#: Into how many parts, each on its own connection (and core), a SQLite file's grouping
#: is split.
_PARTS = 2 if (os.cpu_count() or 1) > 1 else 1

_Cells = dict[tuple[Any, ...], list[int]]
_Pair = tuple[float | None, float | None]


def _figures(d: Any) -> list[str]:
    """The SQL of each of `_FIGURES` over the rows a WHERE with ``sent=True`` keeps (sent
    calls, unless the report filters on status: the rows `summary` counts). A flag is
    summed as SQLite's 0/1 rather than through a CASE per row: on a large window the
    per-row expressions are much of a scan's cost."""
    if d.name == "sqlite":

        def flag(cond: str) -> str:
            return f"SUM({cond})"

    else:

        def flag(cond: str) -> str:
            return f"COUNT(*) FILTER (WHERE {cond})"

    return [
        "COUNT(*)",
        flag("status = 'error'"),
        flag("cached"),
        "SUM(prompt_tokens)",
        "SUM(completion_tokens)",
        "SUM(cached_tokens)",
        "SUM(reasoning_tokens)",
        "SUM(cost_nano)",
        "SUM(saved_nano)",
        flag("cost_nano IS NULL AND status = 'ok'"),  # unpriced: answered, no known cost
        flag("estimated"),
    ]


def _add(cells: _Cells, key: tuple[Any, ...], figures: Sequence[Any]) -> None:
    acc = cells.get(key)
    if acc is None:
        cells[key] = [int(v or 0) for v in figures]
    else:
        for j, value in enumerate(figures):
            if value:
                acc[j] += int(value)


def _cells(b: _Backend, spec: Spec, dims: Sequence[str]) -> tuple[_Cells, int]:
    """The figures per value of ``dims`` over the window's sent calls, in one statement,
    and (SQLite) the table's size, for the percentiles' walk-or-sort choice."""
    if b.d.name == "sqlite" and not spec.where:
        # Two halves (alternate blocks) on two connections, when there are two cores.
        parts = _PARTS if b.side is not None else 1

        def half(i: int) -> Callable[[_Backend], tuple[_Cells, int]]:
            return lambda side: _sqlite_block_cells(side, spec, dims, i, parts)

        halves = [_aside(b, half(i)) for i in range(1, parts)]
        cells, size = _waiting(halves, lambda: _sqlite_block_cells(b, spec, dims, 0, parts))
        for wait in halves:
            for key, figures in wait()[0].items():
                _add(cells, key, figures)
        return cells, size
    select: list[str] = []
    params: list[Any] = []
    for i, item in enumerate(dims):
        expr, expr_params = b.d.dimension(item)
        select.append(f"{expr} AS g{i}")
        params += expr_params
    select += _figures(b.d)
    if b.d.name == "sqlite":
        select.append(f"(SELECT MAX(rowid) FROM {b.table})")
    where_sql, where_params = b.where(spec, sent=True)
    keys = ", ".join(f"g{i}" for i in range(len(dims)))
    sql = f"SELECT {', '.join(select)} FROM {b.scan(spec)}{where_sql} GROUP BY {keys}"
    found: _Cells = {}
    table_size = 0
    k = len(dims)
    for row in b.rows(sql, [*params, *where_params]):
        _add(found, tuple(row[:k]), row[k : k + len(_FIGURES)])
        table_size = int(row[-1] or 0) if b.d.name == "sqlite" else 0
    return found, table_size


def _sqlite_block_cells(
    b: _Backend, spec: Spec, dims: Sequence[str], part: int = 0, parts: int = 1
) -> tuple[_Cells, int]:
    """`_cells` on SQLite without filters, grouped within blocks of consecutive rowids
    (each block's groups come back as one JSON array; Python adds them up). SQLite groups
    by sorting, and a million rows with a four-column key sort slowly; a block's couple of
    thousand sort in the CPU's cache, about a third faster over the table. A time window
    bounds the blocks by the lowest and highest rowid in it (the ``ts`` index knows them)
    and each block keeps only the window's rows. ``part`` of ``parts``: every
    ``parts``-th block from the ``part``-th (the others are read on other connections)."""
    t = b.table
    exprs = [b.d.dimension(item)[0] for item in dims]  # bucket, provider, model, project
    keys = [f"g{i}" for i in range(len(dims))]
    figures = [f"{sql} AS f{j}" for j, sql in enumerate(_figures(b.d))]
    window_sql, window_params = b.where(spec)
    # (two subqueries: SQLite finds a lone MIN or MAX of the rowid without a scan)
    bounds = f"SELECT (SELECT MIN(rowid) FROM {t}) AS lo, (SELECT MAX(rowid) FROM {t}) AS hi"
    if window_sql:
        bounds = f"SELECT MIN(rowid) AS lo, MAX(rowid) AS hi FROM {t} INDEXED BY {t}_ts_idx"
        bounds += window_sql
    sent_sql, sent_params = b.where(spec, sent=True)
    block = "rowid >= blocks.lo AND rowid < blocks.lo + r.step"
    sent_sql = f"{sent_sql} AND {block}" if sent_sql else f" WHERE {block}"
    cols = [*keys, *(f"f{j}" for j in range(len(_FIGURES)))]
    sql = (
        f"WITH RECURSIVE r(lo, hi, step) AS (SELECT lo, hi, "
        f"MAX({_BLOCK}, (hi - lo) / {_MAX_BLOCKS} + 1) FROM ({bounds})), "
        "blocks(lo) AS (SELECT lo FROM r WHERE lo IS NOT NULL UNION ALL "
        "SELECT blocks.lo + r.step FROM blocks, r WHERE blocks.lo + r.step <= r.hi) "
        f"SELECT (SELECT json_group_array(json_array({', '.join(cols)})) FROM "
        f"(SELECT {', '.join(f'{e} AS {k}' for e, k in zip(exprs, keys, strict=True))}, "
        f"{', '.join(figures)} FROM {t} NOT INDEXED{sent_sql} GROUP BY {', '.join(keys)})), "
        f"(SELECT MAX(rowid) FROM {t}) FROM blocks, r"
    )
    if parts > 1:
        sql += f" WHERE (blocks.lo - r.lo) / r.step % {int(parts)} = {int(part)}"
    cells: _Cells = {}
    size = 0
    k = len(dims)
    for blob, table_size in b.rows(sql, [*window_params, *sent_params]):
        size = int(table_size or 0)
        for item in json.loads(blob):
            _add(cells, tuple(item[:k]), item[k:])
    return cells, size


def _waiting(waits: Sequence[Callable[[], Any]], fn: Callable[[], _T]) -> _T:
    """``fn()``; if it raises, the statements started aside are waited for first (each
    closes its connection), their own errors dropped for ``fn``'s."""
    try:
        return fn()
    except BaseException:
        for wait in waits:
            with contextlib.suppress(Exception):
                wait()
        raise


def _aside(b: _Backend, fn: Callable[[_Backend], _T]) -> Callable[[], _T]:
    """Start ``fn`` on a second connection to the ledger's database, in a thread (SQLite
    steps a statement without Python's lock held: two statements use two cores); the
    returned callable waits for its answer. Without a second connection (an in-memory
    database) or if one cannot be opened, ``fn`` runs on the ledger's own, when called."""
    open_side = b.side
    if open_side is None:
        return lambda: fn(b)
    done: list[Any] = []

    def run() -> None:
        try:
            side, close = open_side()
        except sqlite3.Error as exc:
            done.append(exc)
            return
        try:
            done.append(("ok", fn(side)))
        except BaseException as exc:  # re-raised by the waiter
            done.append(("error", exc))
        finally:
            close()

    thread = threading.Thread(target=run, name="aigate-report", daemon=True)
    thread.start()

    def wait() -> _T:
        thread.join()
        outcome = done[0]
        if isinstance(outcome, sqlite3.Error):
            logger.debug("no second connection for the report; one at a time", exc_info=outcome)
            return fn(b)
        kind, value = outcome
        if kind == "error":
            raise value
        result: _T = value
        return result

    return wait


def _bucket_cells(b: _Backend, spec: Spec, bucket: str | None) -> tuple[_Cells, int, str]:
    """`_cells` by (bucket, provider, model, project), and the bucket: when None, chosen
    from the data (hours for one day, months past 92 days, else days)."""
    cells, size = _cells(b, spec, (bucket or "day", *_CELL))
    if bucket is None:
        days = len({key[0] for key in cells})
        bucket = "hour" if days <= 1 else "month" if days > 92 else "day"
        if bucket == "hour" and cells:
            cells, size = _cells(b, spec, ("hour", *_CELL))
        elif bucket == "month":  # a month is its days' prefix: 2024-05-01 -> 2024-05
            months: _Cells = {}
            for key, figures in cells.items():
                _add(months, (key[0][:7], *key[1:]), figures)
            cells = months
    return cells, size, bucket


def _row(
    group: Mapping[str, Any], figures: Sequence[int], pair: _Pair = (None, None)
) -> SummaryRow:
    return SummaryRow(
        dict(group),
        **dict(zip(_FIGURES, figures, strict=True)),
        latency_p50_ms=pair[0],
        latency_p95_ms=pair[1],
    )


def _rollup(
    cells: _Cells, names: Sequence[str], pick: Sequence[int], *, top: int | None = None
) -> list[SummaryRow]:
    """Rows per ``names`` (the cells' key items at ``pick``), summing the cells' figures,
    in `summary`'s order (or `top_spenders`' with ``top``)."""
    sums: _Cells = {}
    for key, figures in cells.items():
        _add(sums, tuple(key[i] for i in pick), figures)
    rows = [_row(dict(zip(names, g, strict=True)), f) for g, f in sums.items()]
    return finish(rows, Spec(top=top))


@dataclass(frozen=True, slots=True)
class UsageReport:
    """What ``aigate report --html`` draws, with the numbers of `summary`: ``totals`` as
    ``ledger.totals()``; ``over_time`` per (bucket, provider), ``by_provider`` and
    ``by_project`` as ``summary()`` but without latency percentiles (``None``: the page
    draws their spend only); ``by_model`` per (provider, model) and ``top``
    (``top_spenders`` by ``top_by``) with them."""

    totals: SummaryRow
    bucket: str
    over_time: list[SummaryRow]
    by_model: list[SummaryRow]
    by_provider: list[SummaryRow]
    by_project: list[SummaryRow]
    top: list[SummaryRow]
    top_by: str


def usage_report(
    ledger: Any,
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, str] | None = None,
    top_by: str = "user",
    top_n: int = 10,
    bucket: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> UsageReport:
    """The usage report's views. ``bucket`` (hour, day, month) is chosen from the data when
    None: hours for one day, months past 92 days, else days. ``progress`` is called with
    what is read before each statement. A ledger without SQL (memory, Redis, any object
    with ``summary``/``totals``/``top_spenders``) is read through those."""
    spec = make_spec(since=since, until=until, where=where)
    make_spec(group_by=(top_by,))  # a bad top_by fails before any reading
    if bucket is not None and bucket not in TIME_DIMENSIONS:
        raise ValueError(f"bucket must be one of hour, day, month, not {bucket!r}")

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    b = _backend(ledger)
    if b is None:
        return _summary_usage_report(ledger, spec, where, top_by, top_n, bucket, step)
    ranking: Callable[[], list[tuple[Any, int]]] | None = None
    if top_n > 0 and top_by not in _CELL:
        step("top spenders")  # ranked alongside the grouping, on a second connection
        ranking = _aside(b, lambda side: _top_groups(side, spec, top_by, top_n))
    step(f"totals, spend per {bucket or 'day'}, models, providers, projects")
    waits = [ranking] if ranking is not None else []
    cells, size, bucket = _waiting(waits, lambda: _bucket_cells(b, spec, bucket))
    groups = ranking() if ranking is not None else []
    totals = _rollup(cells, (), ())
    total = totals[0] if totals else SummaryRow(group={})
    by_model = _rollup(cells, ("provider", "model"), (1, 2))
    if top_n > 0 and top_by in _CELL:
        ranked = _rollup(cells, (top_by,), (1 + _CELL.index(top_by),), top=top_n)
        groups = [(r.group[top_by], r.requests) for r in ranked]
    top: list[SummaryRow] = []
    if groups:
        step("top spenders' calls")
        top = finish(_top_rows(b, spec, top_by, groups), Spec(top=top_n))
    if total.requests:
        step("latency percentiles")
        window, models = _report_percentiles(b, spec, size, total, by_model)
        total = replace(total, latency_p50_ms=window[0], latency_p95_ms=window[1])
        by_model = [
            replace(r, latency_p50_ms=p[0], latency_p95_ms=p[1])
            for r, p in zip(by_model, models, strict=True)
        ]
    return UsageReport(
        totals=total,
        bucket=bucket,
        over_time=_rollup(cells, (bucket, "provider"), (0, 1)),
        by_model=by_model,
        by_provider=_rollup(cells, ("provider",), (1,)),
        by_project=_rollup(cells, ("project",), (3,)),
        top=top,
        top_by=top_by,
    )


def _summary_usage_report(
    ledger: Any,
    spec: Spec,
    where: Mapping[str, str] | None,
    top_by: str,
    top_n: int,
    bucket: str | None,
    step: Callable[[str], None],
) -> UsageReport:
    """`usage_report` through the ledger's own ``summary``/``totals``/``top_spenders``."""
    window: dict[str, Any] = {"since": spec.since, "until": spec.until, "where": where}

    def counts(group_by: list[str]) -> list[SummaryRow]:
        return [_strip_percentiles(r) for r in ledger.summary(group_by=group_by, **window)]

    if bucket is None:
        step("days")
        days = len(ledger.summary(group_by=["day"], **window))
        bucket = "hour" if days <= 1 else "month" if days > 92 else "day"
    step("totals")
    totals: SummaryRow = ledger.totals(**window)
    step(f"spend per {bucket}")
    over_time = counts([bucket, "provider"])
    step("models")
    by_model: list[SummaryRow] = ledger.summary(group_by=["provider", "model"], **window)
    step("providers")
    by_provider = counts(["provider"])
    step("projects")
    by_project = counts(["project"])
    top: list[SummaryRow] = []
    if top_n > 0:
        step("top spenders")
        top = ledger.top_spenders(top_by, top_n, **window)
    return UsageReport(totals, bucket, over_time, by_model, by_provider, by_project, top, top_by)


def _in(b: _Backend, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``(g0 IN (...) OR g0 IS NULL)`` for ``values`` (None among them: the NULL group)."""
    present = [v for v in values if v is not None]
    conds = [f"g0 IN ({', '.join([b.d.ph] * len(present))})"] if present else []
    if len(present) < len(values):
        conds.append("g0 IS NULL")
    return f"({' OR '.join(conds)})", present


def _top_groups(b: _Backend, spec: Spec, by: str, n: int) -> list[tuple[Any, int]]:
    """The ``n`` values of ``by`` with the highest cost (then more calls, then the value,
    NULL first), as `top_spenders` ranks them, with their number of calls: one statement,
    summing the cost alone (the rest is read from the winners' rows, `_top_rows`)."""
    expr, expr_params = b.d.dimension(by)
    if b.d.name == "sqlite":
        # Not an index's order for the GROUP BY: walking ("user", ts) to look every row up
        # costs three times a scan and a sort. A filter may still use its index.
        expr = f"+{expr}"
    where_sql, params = b.where(spec, sent=True)
    sql = (
        f"SELECT {expr} AS g0, COUNT(*) FROM {b.scan(spec)}{where_sql} GROUP BY g0 "
        f"ORDER BY COALESCE(SUM(cost_nano), 0) DESC, COUNT(*) DESC, g0 NULLS FIRST "
        f"LIMIT {int(n)}"
    )
    return [(g, int(count)) for g, count in b.rows(sql, [*expr_params, *params])]


def _top_rows(
    b: _Backend, spec: Spec, by: str, groups: Sequence[tuple[Any, int]]
) -> list[SummaryRow]:
    """The figures and latency percentiles of the top ``groups`` (value, calls) of ``by``,
    in one statement over their rows alone: the dimension's index, if it has one, finds
    them. PostgreSQL has ``percentile_cont``; SQLite ranks each group's latencies
    (``ROW_NUMBER() OVER (PARTITION BY ...)``) and keeps the ranks wanted."""
    expr, expr_params = b.d.dimension(by)
    where_sql, where_params = b.where(spec, sent=True)
    only, values = _in(b, [g for g, _ in groups])
    rows = (
        f"SELECT * FROM (SELECT {expr} AS g0, {_FIGURE_COLUMNS} FROM {b.table}{where_sql}) "
        f"AS s WHERE {only}"
    )
    params = [*expr_params, *where_params, *values]
    figures = _figures(b.d)
    m = len(figures)
    if b.d.name == "postgres":
        pct = "percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms)"
        sql = f"SELECT g0, {', '.join(figures)}, {pct} FROM ({rows}) AS t GROUP BY g0"
        out = []
        for row in b.rows(sql, params):
            p50, p95 = row[1 + m] or (None, None)
            out.append(_row({by: row[0]}, [int(v or 0) for v in row[1 : 1 + m]], (p50, p95)))
        return out
    wanted = {g: [_ranks(n, p) for p in _ROW_PERCENTILES] for g, n in groups}
    ranks = sorted({r for pairs in wanted.values() for k, _ in pairs for r in (k, k + 1)})
    nulls = ", ".join(["NULL"] * m)
    sql = (
        f"WITH rows AS ({rows}) "
        f"SELECT g0, -1, NULL, {', '.join(figures)} FROM rows GROUP BY g0 "
        f"UNION ALL SELECT g0, rn, v, {nulls} FROM (SELECT g0, latency_ms AS v, "
        "ROW_NUMBER() OVER (PARTITION BY g0 ORDER BY +latency_ms) - 1 AS rn FROM rows) "
        f"WHERE rn IN ({', '.join(str(r) for r in ranks)})"
    )
    sums: dict[Any, list[int]] = {}
    at: dict[Any, dict[int, Any]] = {}
    for row in b.rows(sql, params):
        if row[1] < 0:
            sums[row[0]] = [int(v or 0) for v in row[3:]]
        else:
            at.setdefault(row[0], {})[int(row[1])] = row[2]
    out = []
    for g, pairs in wanted.items():
        if g in sums:
            found = at.get(g, {})
            p50, p95 = (_interpolate(found.get(k), found.get(k + 1), f) for k, f in pairs)
            out.append(_row({by: g}, sums[g], (p50, p95)))
    return out


def _report_percentiles(
    b: _Backend, spec: Spec, size: int, total: SummaryRow, by_model: Sequence[SummaryRow]
) -> tuple[_Pair, list[_Pair]]:
    """p50 and p95 latency of the window and of each (provider, model), in one statement
    (SQLite: index walks at constant ranks; one sort when the window is narrow or
    filtered, or a model name has two providers)."""
    models = [((r.group["provider"], r.group["model"]), r.requests) for r in by_model]
    sent_where, sent_params = b.where(spec, sent=True)
    if b.d.name == "postgres":
        pct = "percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms)"
        sql = (
            f"SELECT provider, model, GROUPING(provider, model), {pct} "
            f"FROM {b.table}{sent_where} GROUP BY GROUPING SETS ((provider, model), ())"
        )
        window: _Pair = (None, None)
        found: dict[tuple[Any, ...], _Pair] = {}
        for provider, model, grouping, values in b.rows(sql, sent_params):
            pair = (_float(values[0]), _float(values[1])) if values else (None, None)
            if grouping:
                window = pair
            else:
                found[(provider, model)] = pair
        return window, [found.get(g, (None, None)) for g, _ in models]
    wide = b.indexed and not spec.where and total.requests >= _WALK_SHARE * size
    # Each model's calls in latency order are a range of the (model, latency_ms, ...)
    # index: walked when every model name has one provider (else a walk would mix two
    # providers' calls) and the window is most of the table.
    names = [model for (_, model), _ in models]
    walk_models = wide and len(set(names)) == len(names) and len(models) <= 64
    sets = [(sent_where, sent_params, total.requests, "latency_ts_idx" if wide else None)]
    for (_, model), n in models if walk_models else ():
        cond = "model IS NULL" if model is None else f"model = {b.d.ph}"
        where_sql = f"{sent_where} AND {cond}" if sent_where else f" WHERE {cond}"
        params = sent_params if model is None else [*sent_params, model]
        sets.append((where_sql, params, n, "model_latency_idx"))
    picks: list[_Pick] = []
    fracs: list[float] = []
    for where_sql, params, n, walk in sets:
        for p in _ROW_PERCENTILES:
            k, frac = _ranks(n, p)
            picks.append(("latency_ms", where_sql, params, k, walk, n))
            fracs.append(frac)
    values = [
        _interpolate(lo, hi, f) for (lo, hi), f in zip(_sqlite_picks(b, picks), fracs, strict=True)
    ]
    pairs = [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    if walk_models:
        return pairs[0], pairs[1:]
    return pairs[0], _sqlite_ranked_models(b, spec, models)


def _sqlite_ranked_models(
    b: _Backend, spec: Spec, models: Sequence[tuple[tuple[Any, ...], int]]
) -> list[_Pair]:
    """p50 and p95 latency per (provider, model) in one sort: the window's sent calls
    ranked within their group (``ROW_NUMBER() OVER (PARTITION BY ...)``), keeping only the
    ranks wanted."""
    wanted = [[_ranks(n, p) for p in _ROW_PERCENTILES] for _, n in models]
    ranks = sorted({r for pairs in wanted for k, _ in pairs for r in (k, k + 1)})
    where_sql, params = b.where(spec, sent=True)
    sql = (
        "SELECT provider, model, rn, latency_ms FROM (SELECT provider, model, latency_ms, "
        "ROW_NUMBER() OVER (PARTITION BY provider, model ORDER BY +latency_ms) - 1 AS rn "
        f"FROM {b.scan(spec)}{where_sql}) WHERE rn IN ({', '.join(str(r) for r in ranks)})"
    )
    found: dict[tuple[Any, ...], dict[int, Any]] = {}
    for provider, model, rn, v in b.rows(sql, params):
        found.setdefault((provider, model), {})[int(rn)] = v
    out: list[_Pair] = []
    for (g, _), pairs in zip(models, wanted, strict=True):
        at = found.get(g, {})
        p50, p95 = (_interpolate(at.get(k), at.get(k + 1), f) for k, f in pairs)
        out.append((p50, p95))
    return out
