"""Routing strategies: which of a route's targets to try first.

A strategy is any callable ``(candidates, features) -> candidates in the order to try``
(tenacity style: a plain function is fine). The built-in ones sort by a key and keep the
route's tiers (``priority``: lower tiers first); ``a.then(b)`` breaks ``a``'s ties with
``b``::

    routes={"smart": {"targets": [...], "strategy": "least_latency"}}
    routes={"smart": RouteConfig(targets=[...], strategy=cheapest().then(least_latency()))}
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    import random

    from ..providers._base import Target
    from ._features import Features
    from ._keys import KeyPool

__all__ = [
    "STRATEGIES",
    "Candidate",
    "KeyStrategy",
    "Ordered",
    "Strategy",
    "TargetStats",
    "cheapest",
    "least_busy",
    "least_latency",
    "make_strategy",
    "priority",
    "round_robin",
    "weighted",
]

# Output tokens assumed by ``cheapest`` when a call sets no max_tokens.
DEFAULT_OUTPUT_TOKENS = 256


class TargetStats:
    """What this process observed of one target: latency and time to first token
    (exponentially weighted moving averages, milliseconds) and calls in flight."""

    __slots__ = ("alpha", "in_flight", "latency_ms", "ttft_ms")

    def __init__(self, alpha: float = 0.3) -> None:
        self.alpha = alpha
        self.latency_ms: float | None = None
        self.ttft_ms: float | None = None
        self.in_flight = 0

    def observe(self, ms: float, stream: bool) -> None:
        a = self.alpha
        if stream:
            old = self.ttft_ms
            self.ttft_ms = ms if old is None else old + a * (ms - old)
        else:
            old = self.latency_ms
            self.latency_ms = ms if old is None else old + a * (ms - old)


class Candidate:
    """One target of a route as the router sees it: the catalog's facts about it (``None``
    when unknown), its weight and tier in the route, its live stats and its key pool."""

    __slots__ = (
        "capabilities",
        "cost_in",
        "cost_out",
        "index",
        "input_price",
        "max_output",
        "mode",
        "name",
        "output_price",
        "pool",
        "priority",
        "stats",
        "target",
        "weight",
        "window",
    )

    def __init__(
        self,
        target: Target,
        index: int,
        stats: TargetStats,
        pool: KeyPool,
        *,
        weight: float = 1.0,
        priority: int = 0,
        info: Any = None,
    ) -> None:
        self.target = target
        self.name = target.name
        self.index = index
        self.stats = stats
        self.pool = pool
        self.weight = weight
        self.priority = priority
        self.window: int | None = getattr(info, "context_window", None)
        self.max_output: int | None = getattr(info, "max_output_tokens", None)
        self.capabilities: frozenset[str] | None = getattr(info, "capabilities", None)
        self.mode: str | None = getattr(info, "mode", None)
        price = getattr(info, "price", None)
        self.input_price = _float(getattr(price, "input", None))
        self.output_price = _float(getattr(price, "output", None))
        # per-token prices for ordering by cost; an unpriced target sorts last
        self.cost_in, self.cost_out = math.inf, math.inf
        if self.input_price is not None and self.output_price is not None:
            self.cost_in, self.cost_out = self.input_price, self.output_price

    def __repr__(self) -> str:
        return f"Candidate({self.name!r}, priority={self.priority}, weight={self.weight})"


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


Strategy = Callable[[Sequence[Candidate], "Features"], Sequence[Candidate]]
"""Orders a route's candidates for one call (a plain callable or a :class:`KeyStrategy`)."""


class KeyStrategy:
    """A strategy that sorts by one number per candidate (lower first), within tiers."""

    #: whether the key needs the call's :class:`Features` (else ``None`` may be passed)
    uses_features = False

    def keys(self, candidates: Sequence[Candidate], features: Features) -> list[Any]:
        raise NotImplementedError

    def __call__(
        self, candidates: Sequence[Candidate], features: Features, tiered: bool = True
    ) -> Sequence[Candidate]:
        """Order ``candidates`` (``tiered=False``: the caller knows they share one tier)."""
        if len(candidates) < 2:
            return candidates
        keys = self.keys(candidates, features)
        if tiered and any(c.priority != candidates[0].priority for c in candidates):
            keys = [(c.priority, k) for c, k in zip(candidates, keys, strict=True)]
        return Ordered(candidates, keys)

    def then(self, other: KeyStrategy) -> KeyStrategy:
        """This strategy, its ties broken by ``other``."""
        return _Then(self, other)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Ordered(Sequence[Candidate]):
    """Candidates in key order, sorted lazily: a call that succeeds on its first target
    costs one pass (``min``), the full sort happens only when it fails over."""

    __slots__ = ("_candidates", "_keys", "_order")

    def __init__(self, candidates: Sequence[Candidate], keys: list[Any]) -> None:
        self._candidates = candidates
        self._keys = keys
        self._order: list[Candidate] | None = None

    def __len__(self) -> int:
        return len(self._candidates)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Candidate]: ...

    def __getitem__(self, index: int | slice) -> Candidate | Sequence[Candidate]:
        if index == 0 and self._order is None:
            keys = self._keys
            return self._candidates[keys.index(min(keys))]  # the first of the lowest, as sorted
        return self._sorted()[index]

    def _sorted(self) -> list[Candidate]:
        if self._order is None:
            keys, candidates = self._keys, self._candidates
            self._order = [candidates[i] for i in sorted(range(len(keys)), key=keys.__getitem__)]
        return self._order

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self._sorted())

    def __repr__(self) -> str:
        return f"Ordered({self._sorted()!r})"


class _Then(KeyStrategy):
    def __init__(self, first: KeyStrategy, second: KeyStrategy) -> None:
        self.first, self.second = first, second
        self.uses_features = first.uses_features or second.uses_features

    def keys(self, candidates: Sequence[Candidate], features: Features) -> list[Any]:
        a = self.first.keys(candidates, features)
        b = self.second.keys(candidates, features)
        return list(zip(a, b, strict=True))

    def __repr__(self) -> str:
        return f"{self.first!r}.then({self.second!r})"


class _Priority(KeyStrategy):
    def keys(self, candidates: Sequence[Candidate], features: Features) -> list[Any]:
        return [c.index for c in candidates]


class _Weighted(KeyStrategy):
    """A random order where each target leads with probability weight / total: keys are
    exponential draws scaled by weight (Efraimidis-Spirakis), so the whole failover order
    is weighted too. A weight of 0 puts a target last."""

    def __init__(self, seed: int | None = None, rng: random.Random | None = None) -> None:
        if rng is None:
            import random

            rng = random.Random(seed)
        self.rng = rng

    def keys(self, candidates: Sequence[Candidate], features: Features) -> list[Any]:
        draw = self.rng.random
        return [
            -math.log(1.0 - draw()) / c.weight if c.weight > 0 else math.inf for c in candidates
        ]

    def __call__(
        self, candidates: Sequence[Candidate], features: Features, tiered: bool = True
    ) -> Sequence[Candidate]:
        if tiered or len(candidates) < 2:
            return super().__call__(candidates, features, tiered)
        return _WeightedOrder(candidates, self)


class _WeightedOrder(Ordered):
    """A weighted order whose first target costs one draw; the rest are drawn (weighted,
    without replacement) only when the call fails over."""

    __slots__ = ("_first", "_strategy")

    def __init__(self, candidates: Sequence[Candidate], strategy: _Weighted) -> None:
        super().__init__(candidates, [])
        self._strategy = strategy
        total = 0.0
        for c in candidates:
            total += c.weight
        point = strategy.rng.random() * total
        first = len(candidates) - 1
        for i, c in enumerate(candidates):
            point -= c.weight
            if point < 0:
                first = i
                break
        self._first = first

    def __getitem__(self, index: Any) -> Any:
        if index == 0 and self._order is None:
            return self._candidates[self._first]
        return self._sorted()[index]

    def _sorted(self) -> list[Candidate]:
        if self._order is None:
            keys = self._strategy.keys(self._candidates, None)  # type: ignore[arg-type]
            keys[self._first] = -math.inf
            self._keys = keys
            return super()._sorted()
        return self._order


class _RoundRobin(KeyStrategy):
    """Each call starts one target further along the route."""

    def __init__(self) -> None:
        self._turn = itertools.count()

    def keys(self, candidates: Sequence[Candidate], features: Features) -> list[Any]:
        n = len(candidates)
        turn = next(self._turn) % n
        return [(i - turn) % n for i in range(n)]

    def __call__(
        self, candidates: Sequence[Candidate], features: Features, tiered: bool = True
    ) -> Sequence[Candidate]:
        if tiered or len(candidates) < 2:
            return super().__call__(candidates, features, tiered)
        turn = next(self._turn) % len(candidates)
        return [*candidates[turn:], *candidates[:turn]]


class _LeastLatency(KeyStrategy):
    """Lowest moving-average latency first (time to first token for streams). A target
    with no sample yet goes first, so every target gets measured."""

    uses_features = True

    def keys(self, candidates: Sequence[Candidate], features: Features) -> list[Any]:
        if features is not None and features.stream:
            return [c.stats.ttft_ms or 0.0 for c in candidates]
        return [c.stats.latency_ms or 0.0 for c in candidates]


class _Cheapest(KeyStrategy):
    """Lowest estimated cost of this call from the catalog's prices: prompt tokens x input
    price + max_tokens (or 256) x output price, the prompt sized roughly (a ranking needs no
    exact count; see :attr:`Features.approx_prompt_tokens`). Unpriced targets go last."""

    uses_features = True

    def keys(self, candidates: Sequence[Candidate], features: Features) -> list[Any]:
        prompt = features.approx_prompt_tokens if features is not None else 0
        output = (features.max_output_tokens if features is not None else 0) or (
            DEFAULT_OUTPUT_TOKENS
        )
        return [prompt * c.cost_in + output * c.cost_out for c in candidates]


class _LeastBusy(KeyStrategy):
    """Fewest calls in flight from this process first (a stream counts until its first
    token)."""

    def keys(self, candidates: Sequence[Candidate], features: Features) -> list[Any]:
        return [c.stats.in_flight for c in candidates]


def priority() -> KeyStrategy:
    """Failover: the route's order (the default)."""
    return _Priority()


def weighted(seed: int | None = None, *, rng: random.Random | None = None) -> KeyStrategy:
    """Random by weight (``{target = ..., weight = 3}``); ``seed`` makes it repeatable."""
    return _Weighted(seed, rng)


def round_robin() -> KeyStrategy:
    """Rotate the starting target call by call."""
    return _RoundRobin()


def least_latency() -> KeyStrategy:
    """Lowest observed latency (EWMA; time to first token for streams) first."""
    return _LeastLatency()


def cheapest() -> KeyStrategy:
    """Lowest catalog cost for the call's estimated tokens first."""
    return _Cheapest()


def least_busy() -> KeyStrategy:
    """Fewest in-flight calls first."""
    return _LeastBusy()


STRATEGIES: dict[str, Callable[..., KeyStrategy]] = {
    "priority": priority,
    "failover": priority,
    "weighted": weighted,
    "round_robin": round_robin,
    "least_latency": least_latency,
    "cheapest": cheapest,
    "least_busy": least_busy,
}


def make_strategy(spec: str | Strategy, seed: int | None = None) -> Strategy:
    """A fresh strategy for one route from its config name (or the callable itself)."""
    if callable(spec):
        return spec
    factory = STRATEGIES[spec]
    return factory(seed) if factory is weighted else factory()
