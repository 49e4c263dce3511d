"""The dashboard's report views: overview, breakdown, time series, request log, one call.

Each runs as one SQL statement on a SQL ledger and in Python (with the same rules, from
`aigate.ledger._spec`) on the memory and Redis ledgers.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

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


def _sent(spec: Spec) -> str:
    return "1 = 1" if counts_refused(spec) else f"status <> '{REFUSED}'"


def _aggregates(d: Any, spec: Spec) -> list[tuple[str, str]]:
    """(name, SQL) of every counted figure; sent calls only, except ``refused``."""
    sent = _sent(spec)
    attempts = (
        "json_array_length(attempts)" if d.name == "sqlite" else "jsonb_array_length(attempts)"
    )
    true = "1" if d.name == "sqlite" else "TRUE"

    def count(cond: str) -> str:
        return f"COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0)"

    out = [
        ("requests", count(sent)),
        ("errors", count("status = 'error'")),
        ("cache_hits", count(f"cached = {true}")),
        *[(name, f"COALESCE(SUM({name}), 0)") for name in TOKEN_FIELDS],
        ("cost_nano", "COALESCE(SUM(cost_nano), 0)"),
        ("saved_nano", "COALESCE(SUM(saved_nano), 0)"),
        ("unpriced", count(f"cost_nano IS NULL AND {sent}")),
        ("estimated", count(f"estimated = {true}")),
        ("refused", count(f"status = '{REFUSED}'")),
        ("failovers", count(f"{attempts} > 1")),
        ("streams", count(f"stream = {true} AND {sent}")),
    ]
    return out


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


_Pick = tuple[str, str, list[Any], int, "str | None"]


def _sqlite_picks(b: _Backend, picks: Sequence[_Pick]) -> list[tuple[Any, Any]]:
    """(lo, hi) of each pick, in one statement. A pick is (column, WHERE sql, its params,
    rank k, index to walk or None) and reads the samples at ranks k and k + 1. A walked
    pick is one ordered walk of the named index (``LIMIT 2 OFFSET k``; named, since with a
    two-sided range the planner would rather sort the whole range); picks that sort share
    one sort per filter (``ROW_NUMBER()`` over the filtered rows, every wanted rank read
    from it)."""
    parts: list[str] = []
    params: list[Any] = []
    sorted_groups: dict[tuple[str, str, tuple[Any, ...]], list[int]] = {}
    for i, (column, where, where_params, k, walk) in enumerate(picks):
        if walk is None:
            sorted_groups.setdefault((column, where, tuple(where_params)), []).append(i)
            continue
        cond = f"{where} AND {column} IS NOT NULL" if where else f" WHERE {column} IS NOT NULL"
        parts.append(
            f"SELECT {i} AS part, {int(k)} AS rn, MIN({column}) AS lo, MAX({column}) AS hi "
            f"FROM (SELECT {column} FROM {b.table} INDEXED BY {b.table}_{walk}{cond} "
            f"ORDER BY {column} "
            f"LIMIT 2 OFFSET {int(k)})"
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
            picks.append((column, where, where_params, k, walk))
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
        "unpriced": sum(r.cost_nano is None for r in sent),
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
    expr, expr_params = b.d.dimension(by)
    where_sql, params = b.where(spec)
    aggs = [
        (n, s) for n, s in _aggregates(b.d, spec) if n not in ("refused", "failovers", "streams")
    ]
    select = [f"{expr} AS g0", *(f"{s} AS {n}" for n, s in aggs)]
    names = [n for n, _ in aggs]
    if b.d.name == "postgres" and latency:
        select.append(
            "percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms) "
            f"FILTER (WHERE {_sent(spec)})"
        )
    having = f" HAVING {aggs[0][1]} > 0"
    sql = f"SELECT {', '.join(select)} FROM {b.scan(spec)}{where_sql} GROUP BY g0{having}"
    if top is not None:
        sql += f" ORDER BY cost_nano DESC, requests DESC, g0 NULLS FIRST LIMIT {int(top)}"
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
        for g, _ in out:
            cond = "model IS NULL" if g is None else f"model = {b.d.ph}"
            group_where = f"{where_sql} AND {cond}" if where_sql else f" WHERE {cond}"
            group_params = params if g is None else [*params, g]
            picks += [
                ("latency_ms", group_where, group_params, k, "model_latency_idx")
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
        rows = summarize(ledger.query(since=spec.since, until=spec.until, where=where), spec)
        return [_strip_percentiles(r) for r in rows]
    groups: list[str] = []
    params: list[Any] = []
    for i, item in enumerate(group_by):
        expr, expr_params = b.d.dimension(item)
        groups.append(f"{expr} AS g{i}")
        params += expr_params
    where_sql, where_params = b.where(spec)
    aggs = [
        (n, s) for n, s in _aggregates(b.d, spec) if n not in ("refused", "failovers", "streams")
    ]
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
    window's data when None: hours for one day, months past 92 days, else days."""
    window: dict[str, Any] = {"since": since, "until": until, "where": where}
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
