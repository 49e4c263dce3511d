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
    "ON_EXCEED",
    "SCOPE_KINDS",
    "UNITS",
    "Limit",
    "RateLimit",
    "check_scope",
    "parse_window",
    "window_bounds",
]

UTC = timezone.utc
UNITS = ("usd", "tokens", "requests")
#: What a hard limit does with a call whose worst case does not fit: refuse it, or lower
#: its ``max_tokens`` to what fits (refusing only when not even a minimal answer fits).
ON_EXCEED = ("refuse", "clamp")
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


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_scope(scope: object, field: str = "budget.scope", what: str = "budget") -> str:
    """``scope`` normalised, or a `ConfigurationError` naming ``field`` (with a suggestion
    for a mistyped kind: ``"usr:*"`` -> did you mean ``'user'``)."""
    if not isinstance(scope, str):
        raise _config_error(
            f"{field}: expected a string such as 'global' or 'user:*', not {type(scope).__name__}",
            field,
        )
    scope = scope.strip()
    if scope == "global":
        return scope
    kind, sep, value = scope.partition(":")
    if not sep or kind not in SCOPE_KINDS or not value:
        hint = _did_you_mean(kind, (*SCOPE_KINDS, "global")) if kind else ""
        raise _config_error(
            f"{field}: {what} scope {scope!r} is not 'global' or '<kind>:<value>' with kind "
            f"one of {', '.join(SCOPE_KINDS)} ('*' as the value means one per value){hint}",
            field,
        )
    if kind == "meta":
        name, eq, tag = value.partition("=")
        if not eq or not name or not tag:
            raise _config_error(
                f"{field}: {what} scope {scope!r}: a metadata scope is 'meta:<name>=<value>'",
                field,
            )
    return scope


def _check_scope(scope: object) -> str:
    return check_scope(scope)


def _strict_bool(value: object, field: str) -> bool:
    # "false" is a true string: a config that says fail_open = "false" must not fail open.
    if not isinstance(value, bool):
        raise _config_error(
            f"{field}: expected true or false (a boolean), not {type(value).__name__}", field
        )
    return value


def _thresholds(value: object) -> tuple[float, ...]:
    field = "budget.thresholds"
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise _config_error(
            f"{field}: expected a list of fractions in (0, 1] such as [0.5, 0.8, 1.0], "
            f"not {type(value).__name__}",
            field,
        )
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float, Decimal)):
            raise _config_error(
                f"{field}: expected numbers (fractions in (0, 1]), not {type(item).__name__}",
                field,
            )
        number = float(item)
        if not 0 < number <= 1:  # also rejects NaN
            raise _config_error(
                f"{field}: budget thresholds must be fractions in (0, 1], not {tuple(value)!r}",
                field,
            )
        out.append(number)
    return tuple(sorted(set(out)))


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
    is unreachable; by default they are rejected. ``on_exceed`` is what a hard limit does
    with a call whose worst case does not fit: ``"refuse"`` (the default) raises
    `BudgetExceeded`; ``"clamp"`` lowers the call's ``max_tokens`` to what the room left
    allows and refuses only when not even a minimal answer fits. A USD limit refuses a
    model with no known price (its cost could not be bounded) unless ``allow_unpriced``.
    Booleans must be booleans: the string ``"false"`` is an error, not true.
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
    on_exceed: str = "refuse"
    allow_unpriced: bool = False
    name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "scope", _check_scope(self.scope))
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
        if not isinstance(self.window, str):
            raise _config_error(
                f"budget.window: expected a string such as 'day' or '1h', not "
                f"{type(self.window).__name__}",
                "budget.window",
            )
        set_(self, "window", _window_name(*parse_window(self.window)))
        if not isinstance(self.tz, str):
            raise _config_error(
                f"budget.tz: expected an IANA time zone name such as 'Europe/Paris', not "
                f"{type(self.tz).__name__}",
                "budget.tz",
            )
        _zone(self.tz)
        set_(self, "thresholds", _thresholds(self.thresholds))
        _strict_bool(self.hard, "budget.hard")
        _strict_bool(self.fail_open, "budget.fail_open")
        _strict_bool(self.allow_unpriced, "budget.allow_unpriced")
        if self.on_exceed not in ON_EXCEED:
            raise _config_error(
                f"budget.on_exceed: expected one of {', '.join(map(repr, ON_EXCEED))}, not "
                f"{self.on_exceed!r}{_did_you_mean(str(self.on_exceed), ON_EXCEED)}",
                "budget.on_exceed",
            )
        if self.on_exceed == "clamp" and self.unit == "requests":
            raise _config_error(
                "budget.on_exceed: 'clamp' lowers max_tokens, which cannot make room in a "
                "requests budget; use on_exceed = 'refuse' there",
                "budget.on_exceed",
            )

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
            "on_exceed",
            "allow_unpriced",
            "name",
        }
        if unknown:
            raise _config_error(f"unknown budget field(s): {', '.join(sorted(unknown))}", "budget")
        for required in ("amount", "window"):
            if required not in data:
                raise _config_error(f"a budget limit needs {required!r}", f"budget.{required}")
        if scope is not None:
            data["scope"] = scope
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
            "on_exceed": self.on_exceed,
            "allow_unpriced": self.allow_unpriced,
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
