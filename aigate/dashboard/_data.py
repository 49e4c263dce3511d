"""What each dashboard page shows, as JSON-ready dicts: pure functions over the stores.

No web framework here: the ASGI app (`aigate.dashboard._app`) only parses requests and
calls these. Every number comes from the report views of `aigate.ledger._reports` (the
same query layer as ``gw.usage.*`` and ``aigate report``), the key store's and budget
store's public APIs, and the catalog. Nothing returned ever holds a key secret or digest.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ..ledger import LedgerRecord, SummaryRow
from ..ledger import _reports as views

__all__ = ["BREAKDOWNS", "FILTER_KEYS", "WINDOWS", "Sources", "Window", "parse_window"]

UTC = timezone.utc
#: The window selector's choices.
WINDOWS: Mapping[str, timedelta] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
#: Dimensions offered by the breakdowns page (plus ``meta:<name>``).
BREAKDOWNS = ("provider", "model", "route", "org", "project", "user", "key", "status", "kind")
#: Request log filters (query parameter -> ledger ``where`` key).
FILTER_KEYS = (
    "model",
    "provider",
    "status",
    "user",
    "project",
    "org",
    "route",
    "key",
    "error_class",
    "kind",
)
_DURATION = re.compile(r"(\d+)([mhd])\Z")


class BadRequest(ValueError):
    """A query parameter that is wrong: the app answers 400 with this message."""


@dataclass(frozen=True, slots=True)
class Window:
    """A report window: ``[since, until)``, ``until`` None for "up to now"."""

    since: datetime | None
    until: datetime | None
    label: str

    def kwargs(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until}

    def bucket(self) -> str:
        """Hours up to two days, days beyond."""
        start = self.since or datetime.now(UTC) - timedelta(days=90)
        end = self.until or datetime.now(UTC)
        return "hour" if end - start <= timedelta(days=2) else "day"


def _when(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: expected an ISO-8601 time, got {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_window(params: Mapping[str, str], now: datetime | None = None) -> Window:
    """``window=1h|6h|24h|7d|30d|90d|all`` (or ``<n>m|h|d``), or ``since``/``until`` ISO
    times; the default is the last 24 hours."""
    now = now or datetime.now(UTC)
    since, until = params.get("since"), params.get("until")
    if since or until:
        return Window(
            _when(since, "since") if since else None,
            _when(until, "until") if until else None,
            "custom",
        )
    label = params.get("window") or "24h"
    if label == "all":
        return Window(None, None, label)
    span = WINDOWS.get(label)
    if span is None:
        match = _DURATION.match(label)
        if match is None:
            raise BadRequest(f"window: expected one of {', '.join(WINDOWS)}, all, or <n>m/h/d")
        n, unit = int(match.group(1)), match.group(2)
        span = timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: n})
    return Window(now - span, None, label)


def where_of(params: Mapping[str, str]) -> dict[str, str]:
    """The ledger filters in a request's query (empty values are ignored)."""
    where = {k: params[k] for k in FILTER_KEYS if params.get(k)}
    for key, value in params.items():
        if key.startswith("meta:") and value:
            where[key] = value
    return where


def usd(nano: int | None) -> str | None:
    """Exact USD as a decimal string (None stays None)."""
    return None if nano is None else format(Decimal(nano).scaleb(-9), "f")


def record_row(rec: LedgerRecord) -> dict[str, Any]:
    """One request log line."""
    return {
        "id": rec.id,
        "ts": rec.ts.isoformat(),
        "kind": rec.kind,
        "route": rec.route,
        "provider": rec.provider,
        "model": rec.model,
        "user": rec.user,
        "project": rec.project,
        "key": rec.virtual_key,
        "status": rec.status,
        "error_class": rec.error_class,
        "cached": rec.cached,
        "stream": rec.stream,
        "attempts": len(rec.attempts),
        "prompt_tokens": rec.prompt_tokens,
        "completion_tokens": rec.completion_tokens,
        "cost_usd": usd(rec.cost_nano),
        "latency_ms": rec.latency_ms,
        "ttft_ms": rec.ttft_ms,
    }


def record_detail(rec: LedgerRecord, catalog: Any = None) -> dict[str, Any]:
    """One call: every field, its attempts trace, and what each token category cost."""
    out = rec.to_dict()
    out["cost_usd"] = usd(rec.cost_nano)
    out["saved_usd"] = usd(rec.saved_nano)
    out["cost_breakdown"] = _cost_breakdown(rec, catalog)
    return out


_CATEGORY_PRICES = (
    ("prompt_tokens", "input"),
    ("cached_tokens", "cached_input"),
    ("cache_write_tokens", "cache_write"),
    ("cache_write_1h_tokens", "cache_write_1h"),
    ("completion_tokens", "output"),
    ("reasoning_tokens", "reasoning"),
    ("audio_input_tokens", "audio_input"),
    ("audio_output_tokens", "audio_output"),
)


def _cost_breakdown(rec: LedgerRecord, catalog: Any) -> list[dict[str, Any]]:
    """Tokens per category with the catalog's current unit price (for reading, the
    recorded ``cost_usd`` is what was charged)."""
    info = None
    if catalog is not None and rec.provider and rec.model:
        info = catalog.get(rec.provider, rec.model)
    rows = []
    for name, price_name in _CATEGORY_PRICES:
        tokens = getattr(rec, name)
        if not tokens:
            continue
        price = getattr(info.price, price_name) if info is not None else None
        rows.append(
            {
                "category": name,
                "tokens": tokens,
                "usd_per_million": None if price is None else format(price * 1_000_000, "f"),
            }
        )
    return rows


def summary_rows(rows: Sequence[SummaryRow]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in rows]


# -- the sources a dashboard reads ---------------------------------------------------------


@dataclass
class Sources:
    """What a dashboard reads: a ledger (required), and optionally a key store, a budget
    store with its limits, a health store with the breaker names to show, and a catalog.
    ``read_only`` refuses key actions."""

    ledger: Any
    keys: Any = None
    budget_store: Any = None
    limits: Sequence[Any] = ()
    health: Any = None
    health_names: Sequence[str] = ()
    catalog: Any = None
    read_only: bool = False
    closers: list[Callable[[], object]] = field(default_factory=list)

    def close(self) -> None:
        for close in self.closers:
            close()

    # -- overview and breakdowns ---------------------------------------------------------

    def overview(self, params: Mapping[str, str]) -> dict[str, Any]:
        window = parse_window(params)
        where = where_of(params)
        bucket = window.bucket()
        data, series = views.overview_over_time(self.ledger, bucket, where=where, **window.kwargs())
        return {
            "window": _window_dict(window),
            "overview": data.to_dict(),
            "bucket": bucket,
            "series": [
                {
                    "t": r.group[bucket],
                    "requests": r.requests,
                    "errors": r.errors,
                    "cost_usd": usd(r.cost_nano),
                    "cache_hits": r.cache_hits,
                }
                for r in series
            ],
        }

    def breakdown(self, params: Mapping[str, str]) -> tuple[list[SummaryRow], dict[str, Any]]:
        by = params.get("by") or "model"
        if (
            by not in BREAKDOWNS
            and by not in ("day", "hour", "month")
            and not by.startswith("meta:")
        ):
            raise BadRequest(f"by: expected one of {', '.join(BREAKDOWNS)}, day or meta:<name>")
        top = params.get("top")
        try:
            n = int(top) if top else None
        except ValueError:
            raise BadRequest(f"top: expected a whole number, got {top!r}") from None
        window = parse_window(params)
        try:
            rows = views.breakdown(
                self.ledger, by, where=where_of(params), top=n, **window.kwargs()
            )
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return rows, {"by": by, "top": n, "window": _window_dict(window)}

    def days(self, params: Mapping[str, str]) -> list[SummaryRow]:
        window = parse_window({"window": "30d", **params})
        return views.timeseries(self.ledger, "day", where=where_of(params), **window.kwargs())

    # -- request log -----------------------------------------------------------------------

    def requests(self, params: Mapping[str, str]) -> dict[str, Any]:
        window = parse_window({"window": "all", **params})
        try:
            limit = int(params.get("limit") or 50)
            page = views.requests_page(
                self.ledger,
                where=where_of(params),
                limit=limit,
                cursor=params.get("cursor") or None,
                **window.kwargs(),
            )
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return {"rows": [record_row(r) for r in page.records], "next": page.next}

    def call(self, call_id: str) -> dict[str, Any] | None:
        rec = views.call(self.ledger, call_id)
        return None if rec is None else record_detail(rec, self.catalog)

    # -- budgets -----------------------------------------------------------------------------

    def budgets(self) -> dict[str, Any]:
        from ..budget import Budgets

        if self.budget_store is None:
            return {"configured": False, "budgets": []}
        planned: list[tuple[Any, Any]] = []
        for limit in self.limits:
            for scope, metadata in self._scopes(limit):
                charges = Budgets([limit]).plan(
                    scope, metadata=metadata, estimate_nano=0, tokens=0, requests=0
                )
                planned.extend((limit, c) for c in charges)
        if self.keys is not None:
            for key in self.keys.list(include_revoked=False):
                for limit in key.limits:
                    charges = Budgets([limit]).plan(
                        key.scope(), estimate_nano=0, tokens=0, requests=0
                    )
                    planned.extend((limit, c) for c in charges)
        counters = self.budget_store.status([c.key for _, c in planned]) if planned else {}
        out = []
        seen: set[str] = set()
        for limit, charge in planned:
            if charge.key in seen:
                continue
            seen.add(charge.key)
            counter = counters[charge.key]
            cap = charge.cap
            used = counter.spent / cap if cap else 0.0
            out.append(
                {
                    "scope": charge.scope,
                    "window": limit.window,
                    "unit": limit.unit,
                    "limit": _units(limit.unit, cap),
                    "spent": _units(limit.unit, counter.spent),
                    "reserved": _units(limit.unit, counter.reserved),
                    "remaining": _units(limit.unit, max(cap - counter.spent - counter.reserved, 0)),
                    "used": used,
                    "hard": limit.hard,
                    "thresholds": list(limit.thresholds),
                    "crossed": [t for t in limit.thresholds if used >= t],
                    "resets_at": charge.resets_at.isoformat() if charge.resets_at else None,
                }
            )
        return {"configured": True, "budgets": out}

    def _scopes(self, limit: Any) -> list[tuple[dict[str, str], dict[str, str]]]:
        """The concrete scopes a limit is shown for: itself, or for a ``kind:*`` limit the
        20 biggest spenders of that kind in its window's ledger rows."""
        kind, _, value = limit.scope.partition(":")
        if kind == "global":
            return [({}, {})]
        if kind == "meta":
            name, _, tag = value.partition("=")
            if tag != "*":
                return [({}, {name: tag})]
            top = views.breakdown(self.ledger, f"meta:{name}", top=20, since=_month_ago())
            return [
                ({}, {name: str(r.group[f"meta:{name}"])}) for r in top if r.group[f"meta:{name}"]
            ]
        if value != "*":
            return [({kind: value}, {})]
        top = views.breakdown(self.ledger, kind, top=20, since=_month_ago())
        return [({kind: str(r.group[kind])}, {}) for r in top if r.group[kind] is not None]

    # -- keys ----------------------------------------------------------------------------------

    def key_list(self) -> dict[str, Any]:
        if self.keys is None:
            return {"configured": False, "read_only": self.read_only, "keys": []}
        out = []
        for key in self.keys.list(include_revoked=True):
            last = views.requests_page(self.ledger, where={"key": key.id}, limit=1).records
            out.append({**key_dict(key), "last_used": last[0].ts.isoformat() if last else None})
        return {"configured": True, "read_only": self.read_only, "keys": out}

    def _key_store(self) -> Any:
        if self.keys is None:
            raise BadRequest("no key store: start the dashboard with --keys URL")
        if self.read_only:
            raise PermissionError("the dashboard is read-only (--read-only)")
        return self.keys

    def create_key(self, body: Mapping[str, Any]) -> dict[str, Any]:
        store = self._key_store()
        models = body.get("models")
        if isinstance(models, str):
            models = [m.strip() for m in models.split(",") if m.strip()] or None
        budget = body.get("budget")
        if isinstance(budget, str) and budget:
            amount, _, rest = budget.partition("/")
            window, _, unit = rest.partition("/")
            budget = [{"amount": amount, "window": window or "day", "unit": unit or "usd"}]
        try:
            secret, key = store.create(
                name=_text(body, "name"),
                org=_text(body, "org"),
                project=_text(body, "project"),
                user=_text(body, "user"),
                models=models or None,
                budget=budget or None,
            )
        except ValueError as exc:  # ConfigurationError is a ValueError
            raise BadRequest(str(exc)) from None
        return {"secret": secret, "key": key_dict(key)}

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return {"key": key_dict(self._key_store().revoke(key_id))}

    def rotate_key(self, key_id: str) -> dict[str, Any]:
        secret, key = self._key_store().rotate(key_id)
        return {"secret": secret, "key": key_dict(key)}

    # -- models and health ---------------------------------------------------------------------

    def models(self, params: Mapping[str, str]) -> dict[str, Any]:
        from ..pricing import Catalog

        catalog = self.catalog or Catalog.default()
        min_context = params.get("min_context")
        try:
            found = catalog.search(
                provider=params.get("provider") or None,
                capability=params.get("capability") or None,
                text=params.get("q") or None,
                mode=params.get("mode") or None,
                min_context=int(min_context) if min_context else None,
            )
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        providers = sorted({m.provider for m in catalog})
        capabilities = sorted({c for m in catalog for c in m.capabilities})
        limit = 500
        return {
            "catalog": catalog_meta() if self.catalog is None else {"source": "custom catalog"},
            "count": len(found),
            "providers": providers,
            "capabilities": capabilities,
            "models": [model_dict(m) for m in found[:limit]],
        }

    def health_states(self) -> dict[str, Any]:
        if self.health is None:
            return {"configured": False, "targets": [], "keys": []}
        names = list(dict.fromkeys([*self.health_names, *self._seen_names()]))
        states = self.health.states(names)
        now = time.time()
        targets: list[dict[str, Any]] = []
        keys: list[dict[str, Any]] = []
        for name in names:
            b = states.get(name)
            row = {
                "name": name,
                "state": b.state if b is not None else "closed",
                "failures": b.failures if b is not None else 0,
                "reason": b.reason if b is not None else None,
                "retry_in_s": max(b.open_until - now, 0.0)
                if b is not None and b.state != "closed"
                else None,
            }
            (keys if name.startswith("key:") else targets).append(row)
        return {"configured": True, "targets": targets, "keys": keys}

    def _seen_names(self) -> list[str]:
        """Targets and provider keys seen in the ledger's last 500 calls."""
        recent = views.requests_page(self.ledger, limit=500).records
        names: list[str] = []
        for rec in recent:
            if rec.provider and rec.model:
                names.append(f"{rec.provider}/{rec.model}")
            if rec.provider and rec.provider_key_id:
                names.append(f"key:{rec.provider}:{rec.provider_key_id}")
        return sorted(set(names))


@functools.lru_cache(maxsize=1)
def catalog_meta() -> dict[str, Any]:
    """Where the packaged catalog's prices come from (its ``_meta``: source, licence,
    SHA-256 of the source table)."""
    from importlib import resources

    raw = resources.files("aigate").joinpath("_data").joinpath("catalog.json").read_bytes()
    meta = json.loads(raw).get("_meta", {})
    return {k: meta[k] for k in ("source", "source_sha256", "license") if k in meta}


def _month_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=31)


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name}: expected a string")
    return value


def _units(unit: str, value: int) -> str:
    """An exact amount in a limit's unit, as ``aigate budget --json`` shows it."""
    if unit == "usd":
        return format(Decimal(value).scaleb(-9).normalize(), "f")
    return str(value)


def _window_dict(window: Window) -> dict[str, Any]:
    return {
        "label": window.label,
        "since": window.since.isoformat() if window.since else None,
        "until": window.until.isoformat() if window.until else None,
    }


def key_dict(key: Any) -> dict[str, Any]:
    """A virtual key for a page: id, tenant, limits, dates, status (never a secret)."""
    now = datetime.now(UTC)
    status = (
        "revoked"
        if key.revoked_at is not None
        else "expired"
        if key.expires_at is not None and key.expires_at <= now
        else "active"
    )
    return {
        "id": key.id,
        "name": key.name,
        "org": key.org,
        "project": key.project,
        "user": key.user,
        "models": list(key.models) if key.models is not None else None,
        "limits": [
            {k: str(v) if isinstance(v, Decimal) else v for k, v in limit.to_dict().items()}
            for limit in key.limits
        ],
        "rate_limit": key.rate_limit.to_dict() if key.rate_limit is not None else None,
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "status": status,
    }


def _per_million(price: Decimal | None) -> str | None:
    return None if price is None else format((price * 1_000_000).normalize(), "f")


def model_dict(info: Any) -> dict[str, Any]:
    p = info.price
    return {
        "model": f"{info.provider}/{info.model}",
        "provider": info.provider,
        "mode": info.mode,
        "context_window": info.context_window,
        "max_output_tokens": info.max_output_tokens,
        "capabilities": sorted(info.capabilities),
        "deprecation_date": info.deprecation_date,
        "prices_per_million": {
            name: _per_million(getattr(p, name))
            for name in (
                "input",
                "cached_input",
                "cache_write",
                "cache_write_1h",
                "output",
                "reasoning",
                "audio_input",
                "audio_output",
            )
        },
    }
