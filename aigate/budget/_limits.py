"""Limits and windows: what a budget is, and the pure window arithmetic behind it."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from .._exceptions import ConfigurationError

__all__ = [
    "SCOPE_KINDS",
    "UNITS",
    "Limit",
    "RateLimit",
    "parse_window",
    "window_bounds",
]

UTC = timezone.utc
UNITS = ("usd", "tokens", "requests")
#: Scope kinds a limit may name (``"global"`` has no value).
SCOPE_KINDS = ("org", "project", "user", "key", "provider", "model", "meta")
_CALENDAR = ("day", "week", "month")
_SUGAR = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_SUGAR_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _config_error(message: str, field: str) -> ConfigurationError:
    return ConfigurationError(message, field=field)


@lru_cache(maxsize=256)
def parse_window(window: str) -> tuple[str, int]:
    """``(kind, seconds)`` for a window: ``("day", 0)``, ``("rolling", 3600)``, ...

    Accepted: ``day``, ``week`` (ISO, from Monday), ``month``, ``lifetime``,
    ``rolling:<seconds>`` and the sugar ``90s``, ``30m``, ``1h``, ``7d`` (rolling).
    """
    text = window.strip().lower()
    if text in _CALENDAR or text == "lifetime":
        return text, 0
    if text.startswith("rolling:"):
        text = text[len("rolling:") :].strip()
        if text.isdigit():
            seconds = int(text)
            if seconds > 0:
                return "rolling", seconds
    match = _SUGAR.match(text)
    if match and int(match[1]) > 0:
        return "rolling", int(match[1]) * _SUGAR_SECONDS[match[2]]
    raise _config_error(
        f"budget window {window!r} is not one of day, week, month, lifetime, "
        "rolling:<seconds>, or <n>s/<n>m/<n>h/<n>d",
        "budget.window",
    )


def _window_name(kind: str, seconds: int) -> str:
    return f"rolling:{seconds}" if kind == "rolling" else kind


@lru_cache(maxsize=64)
def _zone(tz: str) -> tzinfo:
    if tz.upper() == "UTC":
        return UTC
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(tz)
    except (ValueError, LookupError, OSError) as err:  # ZoneInfoNotFoundError is a KeyError
        raise _config_error(
            f"budget tz {tz!r} is not an IANA time zone name ({type(err).__name__})",
            "budget.tz",
        ) from None


def _as_datetime(now: datetime | float) -> datetime:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (naive datetimes are ambiguous)")
        return now
    return _EPOCH + timedelta(seconds=now)


def _midnight(day: date, zone: tzinfo) -> datetime:
    # fold=0: a midnight that a DST jump skips maps to the instant of the jump, and an
    # ambiguous one to its first occurrence, so consecutive days stay contiguous.
    return datetime.combine(day, time(0), tzinfo=zone)


def window_bounds(
    window: str, now: datetime | float, tz: str | tzinfo = "UTC"
) -> tuple[datetime | None, datetime | None]:
    """``(start, end)`` of the window that contains ``now``: ``start <= now < end``.

    ``day``/``week``/``month`` are calendar-aligned in ``tz`` (a DST day lasts 23 or 25
    hours; months end on their last day). ``rolling:N`` windows are fixed N-second buckets
    aligned to the Unix epoch (see the package docstring for what that allows). A
    ``lifetime`` window has no bounds: ``(None, None)``. ``now`` is an aware datetime or
    epoch seconds; the bounds are aware datetimes in ``tz``.
    """
    kind, seconds = parse_window(window)
    zone = _zone(tz) if isinstance(tz, str) else tz
    if kind == "lifetime":
        return None, None
    # In UTC: aware datetimes that share a tzinfo compare by wall time, not by instant.
    moment = _as_datetime(now).astimezone(UTC)
    if kind == "rolling":
        epoch = (moment - _EPOCH).total_seconds()
        start = math.floor(epoch / seconds) * seconds
        return (
            (_EPOCH + timedelta(seconds=start)).astimezone(zone),
            (_EPOCH + timedelta(seconds=start + seconds)).astimezone(zone),
        )
    local = moment.astimezone(zone).date()
    if kind == "day":
        first, after = local, local + timedelta(days=1)
    elif kind == "week":
        first = local - timedelta(days=local.weekday())
        after = first + timedelta(days=7)
    else:
        first = local.replace(day=1)
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start_dt, end_dt = _midnight(first, zone), _midnight(after, zone)
    # Around a transition at midnight the local date can disagree with the instant by the
    # size of the jump; step to the neighbouring window so that start <= now < end holds.
    if moment < start_dt:
        return window_bounds(window, start_dt - timedelta(microseconds=1), zone)
    if moment >= end_dt:
        return window_bounds(window, end_dt, zone)
    return start_dt, end_dt


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise _config_error(f"{where} must be a number, not a bool", where)
    try:
        result = Decimal(str(value)) if isinstance(value, (int, float, str)) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise _config_error(f"{where} {value!r} is not a number", where) from None
    if not result.is_finite():
        raise _config_error(f"{where} must be finite, not {value!r}", where)
    return result


def _check_scope(scope: str) -> str:
    scope = scope.strip()
    if scope == "global":
        return scope
    kind, sep, value = scope.partition(":")
    if not sep or kind not in SCOPE_KINDS or not value:
        raise _config_error(
            f"budget scope {scope!r} is not 'global' or '<kind>:<value>' with kind one of "
            f"{', '.join(SCOPE_KINDS)} ('*' as the value means one budget per value)",
            "budget.scope",
        )
    if kind == "meta":
        name, eq, tag = value.partition("=")
        if not eq or not name or not tag:
            raise _config_error(
                f"budget scope {scope!r}: a metadata scope is 'meta:<name>=<value>'",
                "budget.scope",
            )
    return scope


@dataclass(frozen=True, slots=True, kw_only=True)
class Limit:
    """One budget: at most ``amount`` ``unit`` per ``window`` for ``scope``.

    ``scope`` is ``"global"`` or ``"<kind>:<value>"`` (org, project, user, key, provider,
    model, ``meta:<name>=<value>``); ``"user:*"`` gives every user their own budget of this
    size. ``amount`` is USD (a ``Decimal``, from a string, int or float) for ``unit="usd"``
    and a whole number for ``"tokens"`` and ``"requests"``. ``window`` is ``day``, ``week``,
    ``month`` (calendar, in ``tz``), ``lifetime``, ``rolling:<seconds>`` or ``1h``/``30m``/
    ``7d``. ``thresholds`` (fractions of ``amount``, e.g. ``(0.5, 0.8, 1.0)``) fire once per
    window each. A soft limit (``hard=False``) never rejects a call; it only counts and
    fires thresholds. ``fail_open`` admits calls (with a per-process limit) when the store
    is unreachable; by default they are rejected.
    """

    scope: str = "global"
    # Given as a Decimal, int, str or float; stored as a Decimal (usd) or an int.
    amount: Decimal | int | str | float
    unit: str = "usd"
    window: str
    tz: str = "UTC"
    thresholds: tuple[float, ...] = ()
    hard: bool = True
    fail_open: bool = False
    name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "scope", _check_scope(str(self.scope)))
        if self.unit not in UNITS:
            raise _config_error(
                f"budget unit {self.unit!r} is not one of {', '.join(UNITS)}", "budget.unit"
            )
        amount = _decimal(self.amount, "budget.amount")
        if amount < 0:
            raise _config_error(f"budget amount must be >= 0, not {amount}", "budget.amount")
        if self.unit == "usd":
            set_(self, "amount", amount)
        elif amount != amount.to_integral_value():
            raise _config_error(
                f"a {self.unit} budget needs a whole number, not {amount}", "budget.amount"
            )
        else:
            set_(self, "amount", int(amount))
        set_(self, "window", _window_name(*parse_window(str(self.window))))
        _zone(self.tz)
        thresholds = tuple(sorted({float(t) for t in self.thresholds}))
        if any(not 0 < t <= 1 for t in thresholds):
            raise _config_error(
                f"budget thresholds must be fractions in (0, 1], not {self.thresholds!r}",
                "budget.thresholds",
            )
        set_(self, "thresholds", thresholds)

    @classmethod
    def parse(cls, value: Limit | Mapping[str, Any], *, scope: str | None = None) -> Limit:
        """A `Limit` from a config mapping (TOML/JSON/dict) or a `Limit`.

        ``scope`` (when given) overrides the mapping's scope: a virtual key's or a tenant's
        own limits always apply to that key or tenant.
        """
        if isinstance(value, Limit):
            return value if scope is None or value.scope == scope else _replace(value, scope)
        if not isinstance(value, Mapping):
            raise _config_error(
                f"a budget limit must be a mapping or a Limit, not {type(value).__name__}",
                "budget",
            )
        data = dict(value)
        unknown = set(data) - {
            "scope",
            "amount",
            "unit",
            "window",
            "tz",
            "thresholds",
            "hard",
            "fail_open",
            "name",
        }
        if unknown:
            raise _config_error(f"unknown budget field(s): {', '.join(sorted(unknown))}", "budget")
        for required in ("amount", "window"):
            if required not in data:
                raise _config_error(f"a budget limit needs {required!r}", f"budget.{required}")
        if scope is not None:
            data["scope"] = scope
        if "thresholds" in data:
            data["thresholds"] = tuple(data["thresholds"])
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``amount`` as a string), read back by `parse`."""
        data: dict[str, Any] = {
            "scope": self.scope,
            "amount": str(self.amount),
            "unit": self.unit,
            "window": self.window,
            "tz": self.tz,
            "thresholds": list(self.thresholds),
            "hard": self.hard,
            "fail_open": self.fail_open,
        }
        if self.name is not None:
            data["name"] = self.name
        return data

    @property
    def cap(self) -> int:
        """The amount as stored: nano-USD for ``usd``, else the count."""
        if self.unit == "usd":
            from ..pricing import to_nano

            return to_nano(Decimal(self.amount))
        return int(self.amount)


def _replace(limit: Limit, scope: str) -> Limit:
    from dataclasses import replace

    return replace(limit, scope=scope)


def parse_limits(
    values: Iterable[Limit | Mapping[str, Any]] | Limit | Mapping[str, Any] | None,
    *,
    scope: str | None = None,
) -> tuple[Limit, ...]:
    """Limits from config: one limit, a list of them, or None (no limits)."""
    if values is None:
        return ()
    if isinstance(values, (Limit, Mapping)):
        values = [values]
    return tuple(Limit.parse(v, scope=scope) for v in values)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Requests and tokens per minute (``None``: no limit on that measure)."""

    rpm: int | None = None
    tpm: int | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value <= 0
            ):
                raise _config_error(
                    f"rate limit {name} must be a positive integer, not {value!r}",
                    f"rate_limit.{name}",
                )

    @classmethod
    def parse(cls, value: RateLimit | Mapping[str, Any] | None) -> RateLimit | None:
        """A `RateLimit` from ``{"rpm": .., "tpm": ..}``, a `RateLimit`, or None."""
        if value is None or isinstance(value, RateLimit):
            return value
        if not isinstance(value, Mapping):
            raise _config_error(
                f"a rate limit must be a mapping, not {type(value).__name__}", "rate_limit"
            )
        unknown = set(value) - {"rpm", "tpm"}
        if unknown:
            raise _config_error(
                f"unknown rate limit field(s): {', '.join(sorted(unknown))}", "rate_limit"
            )
        return cls(rpm=value.get("rpm"), tpm=value.get("tpm"))

    def to_dict(self) -> dict[str, int | None]:
        return {"rpm": self.rpm, "tpm": self.tpm}
