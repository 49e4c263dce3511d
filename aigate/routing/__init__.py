"""Routing: which target and key a call goes to, and what happens when one fails.

- **Strategies** order a route's targets per call: :func:`priority` (failover, the
  default), :func:`weighted`, :func:`round_robin`, :func:`least_latency`, :func:`cheapest`,
  :func:`least_busy`, or any callable ``(candidates, features) -> candidates``.
- **Rules** (``conditions``) send calls with some :class:`Features` (images, audio, tools,
  JSON mode, prompt size, metadata, user) to other targets; the catalog's capabilities and
  context windows drop targets that cannot serve a call before anything is sent.
- **Retries** follow the error class (see :mod:`aigate._attempts`), honour Retry-After
  up to a cap, and stay within one deadline and a maximum number of attempts.
- **Health**: a circuit breaker per target and per key in a :class:`HealthStore`
  (in-process, or Redis to share it); ``gw.health()`` shows it.
- **Key pools** share a provider's keys: round robin, least used, weighted, sticky per user,
  with optional per-key rpm/tpm caps.

Everything is built once at ``Gateway(...)`` from :class:`aigate.config.RouterConfig` and
each route's :class:`aigate.config.RouteConfig`.
"""

from typing import TYPE_CHECKING

from ._decisions import retry_after, worth_another_target
from ._features import FEATURES, Features, compile_condition
from ._health import (
    BreakerSettings,
    BreakerState,
    HealthStore,
    MemoryHealthStore,
    Outcome,
    check_breaker,
    record_breaker,
)
from ._keys import KeyPool, KeyWindow
from ._policies import (
    STRATEGIES,
    Candidate,
    KeyStrategy,
    Strategy,
    TargetStats,
    cheapest,
    least_busy,
    least_latency,
    make_strategy,
    priority,
    round_robin,
    weighted,
)
from ._router import (
    Branch,
    Health,
    KeyHealth,
    Plan,
    RetrySettings,
    Route,
    Router,
    TargetHealth,
    open_health_store,
)

__all__ = [
    "FEATURES",
    "STRATEGIES",
    "BreakerSettings",
    "BreakerState",
    "Branch",
    "Candidate",
    "Features",
    "Health",
    "HealthStore",
    "KeyHealth",
    "KeyPool",
    "KeyStrategy",
    "KeyWindow",
    "MemoryHealthStore",
    "Outcome",
    "Plan",
    "RedisHealthStore",
    "RetrySettings",
    "Route",
    "Router",
    "Strategy",
    "TargetHealth",
    "TargetStats",
    "check_breaker",
    "cheapest",
    "compile_condition",
    "least_busy",
    "least_latency",
    "make_strategy",
    "open_health_store",
    "priority",
    "record_breaker",
    "retry_after",
    "round_robin",
    "weighted",
    "worth_another_target",
]

if TYPE_CHECKING:  # typed for mypy; loaded (with the redis package) on first use
    from ._redis import RedisHealthStore


def __getattr__(name: str) -> object:
    if name == "RedisHealthStore":  # the redis package is imported only when used
        from ._redis import RedisHealthStore

        return RedisHealthStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
