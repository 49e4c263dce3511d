"""`Budgets`: which limits apply to a call, as charges a store can reserve (pure, no I/O)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from .._exceptions import BudgetExceeded
from ._limits import Limit, parse_limits, parse_window, window_bounds
from ._store import Charge, Crossing, ReserveResult

__all__ = ["Budgets", "ThresholdEvent"]

_CONTEXT = ("org", "project", "user", "key", "provider")


@dataclass(frozen=True, slots=True)
class ThresholdEvent:
    """A soft threshold crossed: ``scope`` (e.g. ``user:u1``) has spent ``spent`` (USD, or
    tokens/requests as ``unit`` says), at least ``threshold`` of ``limit``, in the window
    that ends at ``resets_at``. Fired once per window and threshold."""

    scope: str
    threshold: float
    limit: Limit
    spent: Decimal
    unit: str
    resets_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    limit: Limit
    kind: str  # global, org, ..., meta
    value: str  # the scope value ("*" for every value); for meta, the tag value
    meta: str  # the metadata name, for meta scopes
    cap: int
    marks: tuple[int, ...]
    calendar: bool
    lifetime: bool


@lru_cache(maxsize=1024)
def _compile(limit: Limit) -> _Compiled:
    kind, _, value = limit.scope.partition(":")
    meta = ""
    if kind == "meta":
        meta, _, value = value.partition("=")
    cap = limit.cap
    marks = tuple(sorted({math.ceil(Decimal(str(t)) * cap) for t in limit.thresholds}))
    marks = marks if cap > 0 else ()  # a zero budget has nothing to warn about
    window_kind, _ = parse_window(limit.window)
    return _Compiled(
        limit,
        kind,
        value,
        meta,
        cap,
        marks,
        calendar=window_kind in ("day", "week", "month"),
        lifetime=window_kind == "lifetime",
    )


def _amount(unit: str, cost_nano: int, tokens: int, requests: int) -> int:
    if unit == "usd":
        return cost_nano
    return tokens if unit == "tokens" else requests


def _to_units(unit: str, value: int) -> Decimal:
    if unit == "usd":
        from ..pricing import from_nano

        return from_nano(value)
    return Decimal(value)


def _show(unit: str, value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return f"${text}" if unit == "usd" else f"{text} {unit}"


def scope_of(charge: Charge | str) -> str:
    """The concrete scope a charge (or a counter key) counts against: ``user:u1`` for
    ``user:u1|usd|day|UTC|...``. Prefer passing the charge: a scope value may contain
    ``|``, which only the charge knows for sure."""
    if isinstance(charge, str):
        return charge.split("|", 1)[0]
    return charge.scope or charge.key.split("|", 1)[0]


class Budgets:
    """The configured limits, and the charges each call makes against them.

    ```python
    budgets = Budgets([Limit(scope="user:*", amount="5", window="day"), ...])
    charges = budgets.plan({"user": "u1", "provider": "openai", "model": "gpt-4o"},
                           estimate_nano=worst_case, tokens=prompt + max_output)
    result = store.reserve(call_id, charges, budgets.ttl_s)        # one Call effect
    if not result.ok:
        raise budgets.exceeded(result, charges)
    ...                                                           # the provider call
    crossed = store.settle(call_id, budgets.actual(charges, cost_nano=c, tokens=t))
    events = budgets.events(crossed, charges)                     # on_budget_threshold
    ```

    ``plan`` does no I/O and no parsing: limits are compiled once, window bounds are
    cached until the window ends.
    """

    def __init__(
        self, limits: Iterable[Limit | Mapping[str, Any]] = (), *, ttl_s: float = 600.0
    ) -> None:
        self.limits = parse_limits(list(limits))
        self.ttl_s = ttl_s
        self._compiled = [_compile(limit) for limit in self.limits]
        self._bounds: dict[tuple[str, str], tuple[float, float, datetime, datetime]] = {}

    def __repr__(self) -> str:
        return f"Budgets({len(self.limits)} limits, ttl_s={self.ttl_s})"

    def _window(self, limit: Limit, at: float) -> tuple[float, float, datetime, datetime]:
        cache_key = (limit.window, limit.tz)
        cached = self._bounds.get(cache_key)
        if cached is not None and cached[0] <= at < cached[1]:
            return cached
        start, end = window_bounds(limit.window, at, limit.tz)
        assert start is not None and end is not None
        entry = (start.timestamp(), end.timestamp(), start, end)
        self._bounds[cache_key] = entry
        return entry

    def plan(
        self,
        scope: Mapping[str, str | None] | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        estimate_nano: int,
        tokens: int = 0,
        requests: int = 1,
        now: float | datetime | None = None,
        extra: Iterable[Limit] = (),
    ) -> list[Charge]:
        """The charges for a call: one per limit that applies, in this window.

        ``scope`` holds the caller's ``org``, ``project``, ``user`` and virtual ``key`` and
        the target's ``provider`` and ``model``; ``metadata`` matches ``meta:`` scopes.
        ``estimate_nano`` (worst-case cost), ``tokens`` (prompt + max output) and
        ``requests`` are the amounts reserved for usd, tokens and requests limits.
        ``extra`` adds limits for this call only (a virtual key's, a tenant's quotas).
        Two limits on the same counter keep the stricter one.
        """
        ctx = scope or {}
        at = (
            time.time()
            if now is None
            else now.timestamp()
            if isinstance(now, datetime)
            else float(now)
        )
        compiled = self._compiled
        if extra:
            compiled = compiled + [_compile(limit) for limit in extra]
        provider, model = ctx.get("provider"), ctx.get("model")
        charges: dict[str, Charge] = {}
        for c in compiled:
            concrete = _concrete(c, ctx, metadata, provider, model)
            if concrete is None:
                continue
            limit = c.limit
            if c.lifetime:
                key = f"{concrete}|{limit.unit}|lifetime"
                expires_at, resets_at = None, None
            else:
                start, end, _, end_dt = self._window(limit, at)
                zone = f"|{limit.tz}" if c.calendar else ""
                key = f"{concrete}|{limit.unit}|{limit.window}{zone}|{int(start)}"
                expires_at, resets_at = end, end_dt
            charge = Charge(
                key,
                _amount(limit.unit, estimate_nano, tokens, requests),
                c.cap,
                hard=limit.hard,
                marks=c.marks,
                expires_at=expires_at,
                fail_open=limit.fail_open,
                scope=concrete,
                limit=limit,
                resets_at=resets_at,
            )
            seen = charges.get(key)
            if seen is None or (charge.cap, not charge.hard) < (seen.cap, not seen.hard):
                charges[key] = charge
        return list(charges.values())

    @staticmethod
    def actual(
        charges: Sequence[Charge], *, cost_nano: int, tokens: int, requests: int = 1
    ) -> dict[str, int]:
        """The real amounts to settle, per counter key: cost, tokens or requests by unit."""
        return {
            c.key: _amount(c.limit.unit if c.limit else "usd", cost_nano, tokens, requests)
            for c in charges
        }

    @staticmethod
    def exceeded(result: ReserveResult, charges: Sequence[Charge]) -> BudgetExceeded:
        """The `BudgetExceeded` for a refused reservation (its first breach)."""
        if not result.breaches:
            raise ValueError("the reservation was not refused")
        breach = result.breaches[0]
        charge = next(c for c in charges if c.key == breach.key)
        unit = charge.limit.unit if charge.limit else "usd"
        window = charge.limit.window if charge.limit else "?"
        scope = scope_of(charge)
        spent, reserved = _to_units(unit, breach.spent), _to_units(unit, breach.reserved)
        limit, estimate = _to_units(unit, breach.cap), _to_units(unit, breach.amount)
        resets = f"; resets at {charge.resets_at.isoformat()}" if charge.resets_at else ""
        shown = [_show(unit, v) for v in (spent, reserved, estimate, limit)]
        return BudgetExceeded(
            f"budget for {scope} ({window}) has no room: spent {shown[0]} + reserved "
            f"{shown[1]} + this call's worst case {shown[2]} > limit {shown[3]}{resets}",
            scope=scope,
            limit=limit,
            spent=spent,
            reserved=reserved,
            estimate=estimate,
            resets_at=charge.resets_at,
            unit=unit,
        )

    @staticmethod
    def events(crossed: Iterable[Crossing], charges: Sequence[Charge]) -> list[ThresholdEvent]:
        """Threshold events for the crossings a settle reported."""
        by_key = {c.key: c for c in charges}
        found = []
        for crossing in crossed:
            charge = by_key.get(crossing.key)
            if charge is None or charge.limit is None:
                continue
            limit = charge.limit
            found.append(
                ThresholdEvent(
                    scope=scope_of(charge),
                    threshold=limit.thresholds[crossing.index],
                    limit=limit,
                    spent=_to_units(limit.unit, crossing.spent),
                    unit=limit.unit,
                    resets_at=charge.resets_at,
                )
            )
        return found


def _concrete(
    c: _Compiled,
    ctx: Mapping[str, str | None],
    metadata: Mapping[str, Any] | None,
    provider: str | None,
    model: str | None,
) -> str | None:
    """The concrete scope ``c`` counts against for this call, or None if it does not apply."""
    kind = c.kind
    if kind == "global":
        return "global"
    if kind in _CONTEXT:
        value = ctx.get(kind)
        if value is None or (c.value != "*" and c.value != value):
            return None
        return f"{kind}:{value}"
    if kind == "model":
        if model is None:
            return None
        full = f"{provider}/{model}" if provider and not model.startswith(f"{provider}/") else model
        if c.value == "*":
            return f"model:{full}"
        return f"model:{c.value}" if c.value in (model, full) else None
    # meta
    if metadata is None or c.meta not in metadata:
        return None
    tag = str(metadata[c.meta])
    if c.value != "*" and c.value != tag:
        return None
    return f"meta:{c.meta}={tag}"
