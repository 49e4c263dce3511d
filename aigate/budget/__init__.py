"""Budgets and rate limits that hold under concurrency, across processes and hosts.

Admission is reserve -> call -> settle. `Budgets` turns the configured `Limit` s into the
`Charge` s a call makes (one counter per scope, unit and window); a `BudgetStore`
reserves them all or none, atomically; after the call, ``settle`` charges the real amount
and releases the rest.

```python
budgets = Budgets([Limit(scope="org:acme", amount="100", window="month", tz="Europe/Paris",
                         thresholds=(0.5, 0.8, 1.0)),
                   Limit(scope="user:*", amount="5", window="day")])
store = open_budget_store("sqlite:///.aigate/budget.db")   # memory://, redis://, postgresql://
charges = budgets.plan({"org": "acme", "user": "u1", "provider": "openai", "model": "gpt-4o"},
                       estimate_nano=worst_case_nano, tokens=prompt_tokens + max_tokens)
result = store.reserve("call-1", charges, ttl_s=budgets.ttl_s)
if not result.ok:
    raise budgets.exceeded(result, charges)              # BudgetExceeded(scope, limit, ...)
crossed = store.settle("call-1", budgets.actual(charges, cost_nano=real, tokens=used))
for event in budgets.events(crossed, charges): ...       # thresholds, once per window
```

**What is guaranteed.** A hard limit's counter never holds more than its cap in
``spent + reserved`` after a reserve: concurrent reserves against one store cannot
overshoot it. Spend settles to the real cost; it exceeds the cap only if a call costs
more than its reserved worst case (so the overspend is bounded by the sum of those
underestimates, zero when estimates are true upper bounds), or when a settle arrives for
a reservation that already expired (its TTL should exceed the call's timeout).

**Windows.** ``day``, ``week`` and ``month`` are calendar windows in the limit's ``tz``
(an IANA name; DST days have 23 or 25 hours). The counter key carries the window's start,
so a new window is simply a new counter: nothing is reset, and concurrent calls at the
boundary cannot overwrite each other. A reservation is settled into the window it was
reserved in, even when the call ends after midnight. ``rolling:N`` (or ``1h``, ``30m``,
``7d``) windows are fixed N-second buckets aligned to the Unix epoch: inside a bucket the
cap holds exactly; any N-second span straddling two buckets may see up to twice the cap.
(For smooth limits use the rate limiter below, whose window slides exactly.)

**Crashed callers.** A reservation not settled within its TTL is released by a later
reserve (lazily: at once when it stands in the way of one) or by ``sweep()``. A settle
that arrives later still charges what was spent, for ``keep_s`` (a day by default).

**Counters** of a window are dropped ``keep_s`` (a day) after it ends: the ledger, not the
budget store, is the history of spend.

**Thresholds** fire once per counter and threshold, across all processes: the fired level
is stored in the counter itself, and ``settle`` returns the crossings that are new.

**Outages.** `FailSafeBudgetStore` applies each limit's ``fail_open``: admit against a
per-process limit and log, or reject with `BudgetStoreUnavailable` (the default).

**Rate limits.** `MemoryRateLimiter` and `RedisRateLimiter` keep an exact sliding-window
log per key (rpm and tpm); ``acquire`` says 0 (admitted) or how long to wait.

Backends: `MemoryBudgetStore` (a lock), `SQLiteBudgetStore` (one ``BEGIN IMMEDIATE``
transaction per reserve/settle), `RedisBudgetStore` (one Lua script each),
`PostgresBudgetStore` (one transaction with row locks taken in key order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigurationError
from .._urls import require_package
from ._failsafe import FailSafeBudgetStore
from ._limits import (
    ON_EXCEED,
    SCOPE_KINDS,
    UNITS,
    Limit,
    RateLimit,
    check_scope,
    parse_limits,
    parse_window,
    window_bounds,
)
from ._memory import MemoryBudgetStore
from ._plan import Budgets, ThresholdEvent, scope_of
from ._rate import MemoryRateLimiter, RateLimiter
from ._sqlite import SQLiteBudgetStore
from ._store import (
    BaseBudgetStore,
    Breach,
    BudgetStore,
    BudgetStoreUnavailable,
    Charge,
    Counter,
    Crossing,
    ReserveResult,
    UnpricedModelRefused,
)

if TYPE_CHECKING:
    from ._postgres import PostgresBudgetStore
    from ._rate import RedisRateLimiter
    from ._redis import RedisBudgetStore

__all__ = [
    "ON_EXCEED",
    "SCOPE_KINDS",
    "UNITS",
    "BaseBudgetStore",
    "Breach",
    "BudgetStore",
    "BudgetStoreUnavailable",
    "Budgets",
    "Charge",
    "Counter",
    "Crossing",
    "FailSafeBudgetStore",
    "Limit",
    "MemoryBudgetStore",
    "MemoryRateLimiter",
    "PostgresBudgetStore",
    "RateLimit",
    "RateLimiter",
    "RedisBudgetStore",
    "RedisRateLimiter",
    "ReserveResult",
    "SQLiteBudgetStore",
    "ThresholdEvent",
    "UnpricedModelRefused",
    "open_budget_store",
    "open_rate_limiter",
    "parse_limits",
    "parse_window",
    "check_scope",
    "scope_of",
    "split_options",
    "window_bounds",
]

SCHEMES = ("memory://", "sqlite:///<path>", "redis://", "rediss://", "postgresql://")


def __getattr__(name: str) -> Any:
    # redis and psycopg are optional: their backends load on first use.
    if name == "RedisBudgetStore":
        from ._redis import RedisBudgetStore

        return RedisBudgetStore
    if name == "PostgresBudgetStore":
        from ._postgres import PostgresBudgetStore

        return PostgresBudgetStore
    if name == "RedisRateLimiter":
        from ._rate import RedisRateLimiter

        return RedisRateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _shown(url: str) -> str:
    from .._urls import describe_url

    return describe_url(url)


def split_options(url: str, names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Remove aigate's own options (``?prefix=``, ``?table=``) from a URL's query; the rest
    (libpq or redis-py options) stays for the driver."""
    from urllib.parse import parse_qsl, urlencode

    base, sep, query = url.partition("?")
    if not sep:
        return url, {}
    pairs = parse_qsl(query, keep_blank_values=True)
    taken = {k: v for k, v in pairs if k in names}
    rest = urlencode([(k, v) for k, v in pairs if k not in names])
    return (f"{base}?{rest}" if rest else base), taken


def open_budget_store(url: str, *, field: str = "budget.store", **options: Any) -> BaseBudgetStore:
    """A budget store from a URL; ``options`` go to the backend (``table=``, ``prefix=``...).

    ``memory://``, ``sqlite:///relative.db`` or ``sqlite:////abs/path.db`` (``?table=``),
    ``redis://host:6379/0`` or ``rediss://`` (``?prefix=``), ``postgresql://user@host/db``
    or ``postgres://`` (``?table=``; other query parameters go to libpq).
    Anything else raises `ConfigurationError` naming ``field``; a password never appears.
    """
    if url == "memory://":
        return MemoryBudgetStore(**options)
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        url, taken = split_options(url, ("table",))
        return SQLiteBudgetStore(url[len("sqlite:///") :], **{**taken, **options})
    if url.startswith(("redis://", "rediss://")):
        require_package("redis", field=field, url=url)
        from ._redis import RedisBudgetStore

        url, taken = split_options(url, ("prefix",))
        return RedisBudgetStore(url, **{**taken, **options})
    if url.startswith(("postgresql://", "postgres://")):
        require_package("psycopg", field=field, url=url)
        from ._postgres import PostgresBudgetStore

        url, taken = split_options(url, ("table",))
        return PostgresBudgetStore(url, **{**taken, **options})
    raise ConfigurationError(
        f"budget store URL {_shown(url)} is not supported; use one of {', '.join(SCHEMES)}",
        field=field,
    )


def open_rate_limiter(
    url: str, *, field: str = "rate_limit.store", **options: Any
) -> MemoryRateLimiter | RedisRateLimiter:
    """A rate limiter from a URL: ``memory://`` (one process) or ``redis://`` (shared;
    ``?prefix=`` sets the key prefix)."""
    if url == "memory://":
        return MemoryRateLimiter(**options)
    if url.startswith(("redis://", "rediss://")):
        require_package("redis", field=field, url=url)
        from ._rate import RedisRateLimiter

        url, taken = split_options(url, ("prefix",))
        return RedisRateLimiter(url, **{**taken, **options})
    raise ConfigurationError(
        f"rate limiter URL {_shown(url)} is not supported; use memory:// or redis://",
        field=field,
    )
