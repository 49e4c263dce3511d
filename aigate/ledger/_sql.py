"""SQL shared by the SQLite and PostgreSQL ledgers: schema migrations, statements, row codecs.

Pure text and data; the backends only execute. The two dialects differ in placeholders,
types, time buckets, JSON access and percentiles; everything else is one string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .._exceptions import ConfigurationError
from .._sqlsteps import Dialect as BaseDialect
from .._sqlsteps import Program
from ._record import TOKEN_FIELDS, LedgerRecord, SummaryRow
from ._spec import ATTRIBUTES, Spec, meta_name

__all__ = ["POSTGRES", "SQLITE", "Dialect", "Statements", "check_table", "migrate"]

COLUMNS = (
    "id",
    "ts",
    "kind",
    "org",
    "project",
    "user",
    "virtual_key",
    "route",
    "provider",
    "model",
    "provider_key_id",
    *TOKEN_FIELDS,
    "cost_nano",
    "saved_nano",
    "latency_ms",
    "ttft_ms",
    "status",
    "error_class",
    "error_type",
    "cached",
    "estimated",
    "stream",
    "reason",
    "max_tokens",
    "attempts",
    "metadata",
)
_BOOLS = ("cached", "estimated", "stream")
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,47}\Z")
VERSION_TABLE = "aigate_schema_version"


def col(name: str) -> str:
    """A column as SQL: ``user`` is reserved in PostgreSQL, so it is always quoted."""
    return '"user"' if name == "user" else name


COLUMN_LIST = ", ".join(col(c) for c in COLUMNS)


def check_table(table: str) -> str:
    """Refuse a table name that is not a plain identifier (it is spliced into SQL)."""
    if not _TABLE_NAME.match(table):
        raise ConfigurationError(
            f"ledger.table: table name {table!r} must be a plain SQL identifier "
            "(letters, digits, underscore; at most 48 characters)",
            field="ledger.table",
        )
    return table


@dataclass(frozen=True, slots=True)
class Dialect(BaseDialect):
    """What differs between SQLite and PostgreSQL, beyond the name and the placeholder."""

    json_ph: str  # placeholder for a JSON text parameter
    buckets: Mapping[str, str]  # day / hour / month expressions over ts, in UTC
    migrations: tuple[tuple[str, ...], ...]  # migrations[v - 1] brings a table to version v

    def ts(self, value: datetime) -> Any:
        """A UTC datetime as this dialect stores it (SQLite: fixed-width ISO text)."""
        if self.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(timespec="microseconds")
        return value

    def dimension(self, item: str) -> tuple[str, list[Any]]:
        """SQL expression (and parameters) for one ``group_by`` item."""
        if item in self.buckets:
            return self.buckets[item], []
        name = meta_name(item)
        if name is None:
            return col(ATTRIBUTES[item]), []
        if self.name == "sqlite":
            return "json_extract(metadata, ?)", [f'$."{name}"']
        return "(metadata ->> %s)", [name]

    def condition(self, key: str, value: str) -> tuple[str, list[Any]]:
        """SQL condition (and parameters) for one ``where`` pair."""
        name = meta_name(key)
        if name is not None and self.name == "postgres":
            # Containment can use the GIN index on metadata; ->> could not.
            return "metadata @> %s::jsonb", [json.dumps({name: value})]
        expr, params = self.dimension(key)
        return f"{expr} = {self.ph}", [*params, value]


_V1_COLUMNS = """(
    id {text} PRIMARY KEY,
    ts {ts} NOT NULL,
    kind {text} NOT NULL,
    org {text},
    project {text},
    "user" {text},
    virtual_key {text},
    route {text},
    provider {text},
    model {text},
    provider_key_id {text},
    prompt_tokens {int} NOT NULL DEFAULT 0,
    completion_tokens {int} NOT NULL DEFAULT 0,
    cached_tokens {int} NOT NULL DEFAULT 0,
    cache_write_tokens {int} NOT NULL DEFAULT 0,
    reasoning_tokens {int} NOT NULL DEFAULT 0,
    cost_nano {int},
    saved_nano {int},
    latency_ms {real} NOT NULL,
    ttft_ms {real},
    status {text} NOT NULL,
    error_class {text},
    error_type {text},
    cached {bool} NOT NULL,
    estimated {bool} NOT NULL,
    stream {bool} NOT NULL,
    attempts {json} NOT NULL DEFAULT '[]',
    metadata {json} NOT NULL DEFAULT '{{}}'
)"""


def _migrations(types: Mapping[str, str], extra_v2: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    # Statements are templates over {t}, the table name. Never edit a released version:
    # append a new one, so every existing file or database can be brought forward.
    v1 = (
        "CREATE TABLE {t} " + _V1_COLUMNS.format(**types).replace("{", "{{").replace("}", "}}"),
        "CREATE INDEX {t}_ts_idx ON {t} (ts)",
    )
    int_ = types["int"]
    v2 = (
        # Anthropic's 1-hour cache writes and audio tokens are priced separately.
        f"ALTER TABLE {{t}} ADD COLUMN cache_write_1h_tokens {int_} NOT NULL DEFAULT 0",
        f"ALTER TABLE {{t}} ADD COLUMN audio_input_tokens {int_} NOT NULL DEFAULT 0",
        f"ALTER TABLE {{t}} ADD COLUMN audio_output_tokens {int_} NOT NULL DEFAULT 0",
        # The usual report filters: who spent what, over time.
        'CREATE INDEX {t}_user_ts_idx ON {t} ("user", ts)',
        "CREATE INDEX {t}_project_ts_idx ON {t} (project, ts)",
        "CREATE INDEX {t}_key_ts_idx ON {t} (virtual_key, ts)",
        *extra_v2,
    )
    v3 = (
        # Calls refused before sending are rows too (status 'refused'), with their reason;
        # a clamp limit's lowered max_tokens is kept with the call.
        f"ALTER TABLE {{t}} ADD COLUMN reason {types['text']}",
        f"ALTER TABLE {{t}} ADD COLUMN max_tokens {int_}",
    )
    return (v1, v2, v3)


SQLITE = Dialect(
    name="sqlite",
    ph="?",
    json_ph="?",
    # ts is stored as 'YYYY-MM-DDTHH:MM:SS.ffffff' in UTC, so buckets are prefixes.
    buckets={
        "day": "substr(ts, 1, 10)",
        "hour": "substr(ts, 1, 13) || ':00'",
        "month": "substr(ts, 1, 7)",
    },
    migrations=_migrations(
        {
            "text": "TEXT",
            "ts": "TEXT",
            "int": "INTEGER",
            "real": "REAL",
            "bool": "INTEGER",
            "json": "TEXT",
        },
        (),
    ),
)

POSTGRES = Dialect(
    name="postgres",
    ph="%s",
    json_ph="%s::jsonb",
    buckets={
        "day": "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        "hour": "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:00')",
        "month": "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM')",
    },
    migrations=_migrations(
        {
            "text": "text",
            "ts": "timestamptz",
            "int": "bigint",
            "real": "double precision",
            "bool": "boolean",
            "json": "jsonb",
        },
        ("CREATE INDEX {t}_metadata_idx ON {t} USING gin (metadata jsonb_path_ops)",),
    ),
)


def migrate(d: Dialect, table: str) -> Program[None]:
    """Bring ``table`` to the latest schema version, as SQL steps for a driver to execute.

    The driver (`aigate._sqlsteps.run_steps`) runs every step in one transaction and sends
    back each step's rows. The
    version lives in ``aigate_schema_version`` (one row per table); a table newer than this
    code raises `ConfigurationError` rather than being written with a schema it does not know.
    """
    if d.name == "postgres":
        # Serialises concurrent first opens; CREATE ... IF NOT EXISTS alone races on catalogs.
        yield "SELECT pg_advisory_xact_lock(hashtext(%s || current_schema()))", [f"aigate:{table}:"]
    yield (
        f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} "
        "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
        (),
    )
    rows = yield f"SELECT version FROM {VERSION_TABLE} WHERE component = {d.ph}", [table]
    current = int(rows[0][0]) if rows else 0
    latest = len(d.migrations)
    if current > latest:
        raise ConfigurationError(
            f"ledger table {table!r} has schema version {current}, newer than this aigate "
            f"understands ({latest}); upgrade aigate",
            field="ledger",
        )
    for version in range(current + 1, latest + 1):
        for statement in d.migrations[version - 1]:
            yield statement.format(t=table), ()
    if current != latest:
        yield (
            f"INSERT INTO {VERSION_TABLE} (component, version) VALUES ({d.ph}, {d.ph}) "
            "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            [table, latest],
        )


# -- statements ----------------------------------------------------------------------------

_BASE_COLUMNS = (
    "status, cached, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, "
    "cost_nano, saved_nano, estimated, latency_ms"
)
_AGGREGATES = (
    "COUNT(*) AS s_requests",
    "COALESCE(SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), 0) AS s_errors",
    "COALESCE(SUM(CASE WHEN cached THEN 1 ELSE 0 END), 0) AS s_cache_hits",
    "COALESCE(SUM(prompt_tokens), 0) AS s_prompt_tokens",
    "COALESCE(SUM(completion_tokens), 0) AS s_completion_tokens",
    "COALESCE(SUM(cached_tokens), 0) AS s_cached_tokens",
    "COALESCE(SUM(reasoning_tokens), 0) AS s_reasoning_tokens",
    "COALESCE(SUM(cost_nano), 0) AS s_cost_nano",
    "COALESCE(SUM(saved_nano), 0) AS s_saved_nano",
    "COALESCE(SUM(CASE WHEN cost_nano IS NULL AND status = 'ok' THEN 1 ELSE 0 END), 0)"
    " AS s_unpriced",
    "COALESCE(SUM(CASE WHEN estimated THEN 1 ELSE 0 END), 0) AS s_estimated",
)
_AGGREGATE_NAMES = tuple(a.rsplit(" AS ", 1)[1] for a in _AGGREGATES)
_SUMMARY_COUNTS = tuple(name[2:] for name in _AGGREGATE_NAMES)  # SummaryRow fields
_PERCENTILES = (("50", 0.5), ("95", 0.95))


class Statements:
    """The SQL text of one ledger table in one dialect, built once per ledger."""

    def __init__(self, d: Dialect, table: str) -> None:
        self.d = d
        self.table = check_table(table)
        values = ", ".join([d.ph] * (len(COLUMNS) - 2) + [d.json_ph] * 2)
        self.insert = (
            f"INSERT INTO {table} ({COLUMN_LIST}) VALUES ({values}) ON CONFLICT (id) DO NOTHING"
        )
        self.get = f"SELECT {COLUMN_LIST} FROM {table} WHERE id = {d.ph}"
        # A repriced row: only one still without a cost (a priced row is never re-priced).
        self.update_cost = (
            f"UPDATE {table} SET cost_nano = {d.ph} WHERE id = {d.ph} AND cost_nano IS NULL"
        )

    def _where(self, spec: Spec, report: bool = False) -> tuple[str, list[Any]]:
        conds: list[str] = []
        if report and not any(key == "status" for key, _ in spec.where):
            conds.append("status <> 'refused'")  # refused calls were never made
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
        return (" WHERE " + " AND ".join(conds) if conds else ""), params

    def select(self, spec: Spec, limit: int | None, newest_first: bool) -> tuple[str, list[Any]]:
        """Records in range, ordered by (ts, id)."""
        where, params = self._where(spec)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {COLUMN_LIST} FROM {self.table}{where} ORDER BY ts {order}, id {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql, params

    def summary(self, spec: Spec) -> tuple[str, list[Any]]:
        """One row per group: group values, the aggregates, then p50 and p95 latency.

        PostgreSQL has ``percentile_cont``. SQLite has no ordered-set aggregates, so a
        second, narrow pass (group values and latency only) ranks each row in its group
        with window functions; the two ranks around ``p * (n - 1)`` are picked out and
        interpolated (the same formula, in SQL), then joined to the plain aggregates.
        Sorting only narrow rows is what makes this affordable (200k rows: ~0.5-0.9 s).
        """
        params: list[Any] = []
        groups: list[str] = []
        selected: list[str] = []
        for i, item in enumerate(spec.group_by):
            expr, expr_params = self.d.dimension(item)
            params += expr_params
            groups.append(f"g{i}")
            selected.append(f"{expr} AS g{i}")
        where, where_params = self._where(spec, report=True)
        params += where_params
        base = f"SELECT {', '.join([*selected, _BASE_COLUMNS])} FROM {self.table}{where}"
        group_by = f" GROUP BY {', '.join(groups)}" if groups else ""
        if self.d.name == "postgres":
            pcts = [
                f"percentile_cont({p}) WITHIN GROUP (ORDER BY latency_ms)" for _, p in _PERCENTILES
            ]
            sql = (
                f"WITH base AS ({base}) SELECT {', '.join([*groups, *_AGGREGATES, *pcts])} "
                f"FROM base{group_by}"
            )
            names = groups
        else:
            partition = f"PARTITION BY {', '.join(groups)} " if groups else ""
            positions = ", ".join(
                f"{p} * (n - 1) AS x{k}, CAST({p} * (n - 1) AS INTEGER) AS i{k}"
                for k, p in _PERCENTILES
            )
            picks = ", ".join(
                f"MAX(CASE WHEN rn = i{k} THEN latency_ms END) AS lo{k}, "
                f"MAX(CASE WHEN rn = i{k} + 1 THEN latency_ms END) AS hi{k}, "
                f"MAX(x{k} - i{k}) AS f{k}"
                for k, _ in _PERCENTILES
            )
            pcts = [f"lo{k} + f{k} * (COALESCE(hi{k}, lo{k}) - lo{k})" for k, _ in _PERCENTILES]
            names = [f"agg.{g}" for g in groups]
            # IS, not =: a NULL group (no user, no tag) must join to itself.
            join = " AND ".join(f"agg.{g} IS pct.{g}" for g in groups) or "1 = 1"
            sql = (
                f"WITH base AS ({base}), "
                f"agg AS (SELECT {', '.join([*groups, *_AGGREGATES])} FROM base{group_by}), "
                f"ranked AS (SELECT {', '.join([*groups, 'latency_ms'])}, "
                f"ROW_NUMBER() OVER ({partition}ORDER BY latency_ms) - 1 AS rn, "
                f"COUNT(*) OVER ({partition.strip()}) AS n FROM base), "
                f"pos AS (SELECT *, {positions} FROM ranked), "
                f"pct AS (SELECT {', '.join([*groups, picks])} FROM pos{group_by}) "
                f"SELECT {', '.join([*names, *_AGGREGATE_NAMES, *pcts])} "
                f"FROM agg JOIN pct ON {join}"
            )
        if spec.top is not None:
            order = [f"{g} NULLS FIRST" for g in names]
            sql += (
                f" ORDER BY {', '.join(['s_cost_nano DESC', 's_requests DESC', *order])}"
                f" LIMIT {int(spec.top)}"
            )
        return sql, params


# -- row codecs ----------------------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def encode(rec: LedgerRecord, ts: Any) -> tuple[Any, ...]:
    """A record as INSERT parameters, in `COLUMNS` order (``ts`` already in dialect form)."""
    return (
        rec.id,
        ts,
        rec.kind,
        rec.org,
        rec.project,
        rec.user,
        rec.virtual_key,
        rec.route,
        rec.provider,
        rec.model,
        rec.provider_key_id,
        rec.prompt_tokens,
        rec.completion_tokens,
        rec.cached_tokens,
        rec.cache_write_tokens,
        rec.cache_write_1h_tokens,
        rec.reasoning_tokens,
        rec.audio_input_tokens,
        rec.audio_output_tokens,
        rec.cost_nano,
        rec.saved_nano,
        rec.latency_ms,
        rec.ttft_ms,
        rec.status,
        rec.error_class,
        rec.error_type,
        rec.cached,
        rec.estimated,
        rec.stream,
        rec.reason,
        rec.max_tokens,
        _json([dict(a) for a in rec.attempts]) if rec.attempts else "[]",
        _json(rec.metadata) if rec.metadata else "{}",
    )


def decode(row: Sequence[Any], *, text: bool) -> LedgerRecord:
    """A selected row as a record; ``text``: ts and JSON come back as text (SQLite)."""
    data = dict(zip(COLUMNS, row, strict=True))
    if text:
        data["ts"] = datetime.fromisoformat(data["ts"] + "+00:00")
        data["attempts"] = json.loads(data["attempts"])
        data["metadata"] = json.loads(data["metadata"])
    for name in _BOOLS:
        data[name] = bool(data[name])
    return LedgerRecord(**data)


def decode_summary(row: Sequence[Any], group_by: Sequence[str]) -> SummaryRow:
    """A summary row: group values, eleven aggregates, two percentiles."""
    k = len(group_by)
    counts = [int(v) for v in row[k : k + len(_AGGREGATES)]]  # PostgreSQL sums are numeric
    p50, p95 = row[k + len(_AGGREGATES) :]
    return SummaryRow(
        dict(zip(group_by, row[:k], strict=True)),
        **dict(zip(_SUMMARY_COUNTS, counts, strict=True)),
        latency_p50_ms=None if p50 is None else float(p50),
        latency_p95_ms=None if p95 is None else float(p95),
    )
