"""The router: routes built once from config, and the per-call plan of which targets to try.

Everything a call needs is precomputed at ``Gateway(...)``: each route's candidates with
their catalog facts (context window, capabilities, prices), its strategy object, its rules,
its retry settings, and one key pool per provider. Per call, :meth:`Route.plan` picks the
branch whose rule matches, drops the targets that cannot serve the request and orders the
rest; a route with the default strategy and nothing to check does no work at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import ValidationError

from .._exceptions import AigateError, ConfigurationError, InvalidRequestError
from ..config import (
    BreakerConfig,
    KeyPoolConfig,
    RetryConfig,
    RouteConfig,
    RouterConfig,
    config_error,
)
from ._features import CallFacts, Features, compile_condition
from ._health import BreakerSettings, BreakerState, HealthStore, MemoryHealthStore
from ._keys import KeyPool
from ._policies import Candidate, KeyStrategy, Strategy, TargetStats, make_strategy

if TYPE_CHECKING:
    from ..providers._base import ProviderRuntime, Target

__all__ = [
    "Branch",
    "Health",
    "KeyHealth",
    "Plan",
    "RetrySettings",
    "Route",
    "Router",
    "TargetHealth",
    "open_health_store",
]

# Kinds of catalog model that cannot answer each kind of call (unknown modes pass).
_CHAT_EXCLUDED = frozenset(
    {"embedding", "audio_transcription", "audio_speech", "moderation", "image_generation"}
)


def _serves(mode: str | None, kind: str) -> bool:
    if mode is None:
        return True
    if kind == "chat":
        return mode not in _CHAT_EXCLUDED
    if kind == "embedding":
        return mode == "embedding"
    if kind == "transcription":
        return mode == "audio_transcription"
    return True


class RetrySettings:
    """A route's retry settings, resolved once (route ``retry`` over ``router.retry``)."""

    __slots__ = (
        "_wait",
        "backoff_max_s",
        "backoff_s",
        "deadline_s",
        "first_token_timeout_s",
        "idle_timeout_s",
        "key_cooldown_s",
        "max_attempts",
        "retries",
        "retry_after_cap_s",
        "wait",
    )

    def __init__(self, config: RetryConfig, key_cooldown_s: float = 5.0) -> None:
        self.retries = config.retries
        self.max_attempts = config.max_attempts
        self.backoff_s = config.backoff_s
        self.backoff_max_s = config.backoff_max_s
        self.retry_after_cap_s = config.retry_after_cap_s
        self.deadline_s = config.deadline_s
        self.first_token_timeout_s = config.first_token_timeout_s
        # a stream with a first-token timeout and no idle timeout: no read may wait longer
        self.idle_timeout_s = config.idle_timeout_s or config.first_token_timeout_s
        self.wait = config.wait
        self.key_cooldown_s = key_cooldown_s
        self._wait: Any = config.wait

    @property
    def bounds_requests(self) -> bool:
        return self.deadline_s is not None or self.idle_timeout_s is not None

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based): tenacity's full-jitter
        exponential wait, uniform in [0, min(backoff_max_s, backoff_s * 2 ** (retry - 1))]."""
        wait = self._wait
        if wait is None:
            import tenacity  # lazily: it costs ~50 ms of import time; only failures need it

            wait = self._wait = tenacity.wait_random_exponential(
                multiplier=self.backoff_s, max=self.backoff_max_s
            )
        import tenacity

        state = tenacity.RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = retry
        return float(wait(state))


class _Limits:
    """The tightest catalog facts of a set of candidates: when a call fits these, every
    candidate can serve it and the per-target checks are skipped (the common case)."""

    __slots__ = ("caps", "min_output", "min_window")

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        known = [c.capabilities for c in candidates if c.capabilities is not None]
        self.caps: frozenset[str] | None = frozenset.intersection(*known) if known else None
        outputs = [c.max_output for c in candidates if c.max_output]
        self.min_output = min(outputs) if outputs else None
        windows = [c.window for c in candidates if c.window]
        self.min_window = min(windows) if windows else None

    def all_fit(self, f: Features) -> bool:
        if self.caps is not None:
            needs = f.needs
            if needs and not needs <= self.caps:
                return False
        out = f.max_output_tokens
        if out and self.min_output is not None and out > self.min_output:
            return False
        if self.min_window is not None and f.kind == "chat":
            if f.has_images or f.has_audio or f.has_files:
                return False
            return f.size_bound + out <= self.min_window
        return True


class Branch:
    """One set of targets of a route (its main targets, a rule's targets, its fallbacks)
    and how to order them."""

    def __init__(
        self, candidates: Sequence[Candidate], strategy: Strategy | None, checks: bool
    ) -> None:
        self.candidates = tuple(candidates)
        self.strategy = strategy  # None: the declared order by tier, computed here once
        ordered = (
            sorted(self.candidates, key=lambda c: (c.priority, c.index))
            if strategy is None
            else self.candidates
        )
        self.by_kind = {
            kind: tuple(c for c in ordered if _serves(c.mode, kind))
            for kind in ("chat", "embedding", "transcription")
        }
        # whether any target has catalog facts a call could fail to fit
        self.checks = checks and any(
            c.window or c.max_output or c.capabilities is not None for c in self.candidates
        )
        self.limits = {kind: _Limits(cands) for kind, cands in self.by_kind.items()}
        self.tiered = len({c.priority for c in self.candidates}) > 1
        self.uses_features = self.checks or (
            strategy is not None
            and (not isinstance(strategy, KeyStrategy) or strategy.uses_features)
        )

    def order(self, kind: str, features: Features | None) -> Sequence[Candidate]:
        candidates: Sequence[Candidate] = self.by_kind.get(kind, self.candidates)
        if (
            self.checks
            and features is not None
            and candidates
            and not self.limits[kind].all_fit(features)
        ):
            candidates = [c for c in candidates if unfit(c, features) is None]
        strategy = self.strategy
        if strategy is None or len(candidates) < 2:
            return candidates
        if isinstance(strategy, KeyStrategy):
            return strategy(candidates, features, self.tiered)  # type: ignore[arg-type]
        return strategy(candidates, features)  # type: ignore[arg-type]


def unfit(c: Candidate, f: Features) -> str | None:
    """Why ``c`` cannot serve the call (from the catalog), or None when it can (or the
    catalog does not know)."""
    if c.capabilities is not None:
        needs = f.needs
        if needs and not needs <= c.capabilities:
            return f"no {', '.join(sorted(needs - c.capabilities))} support"
    out = f.max_output_tokens
    if out and c.max_output and out > c.max_output:
        return f"max_tokens {out} is over its {c.max_output}-token output limit"
    window = c.window
    if window and f.kind == "chat":
        exact = f.has_images or f.has_audio or f.has_files
        if exact or f.size_bound + out > window:
            tokens = f.tokens_for(c.target)
            if tokens + out > window:
                return (
                    f"prompt (~{tokens} tokens) + max_tokens {out} is over its "
                    f"{window}-token window"
                )
    return None


class Route:
    """A route at run time: branches, rules, fallbacks, retry settings."""

    def __init__(
        self,
        name: str | None,
        router: Router,
        default: Branch,
        *,
        conditions: Sequence[tuple[Callable[[Features], bool], Branch]] = (),
        fallbacks: Branch | None = None,
        retry: RetrySettings,
    ) -> None:
        self.name = name
        self.router = router
        self.default = default
        self.conditions = tuple(conditions)
        self.fallbacks = fallbacks
        self.retry = retry
        branches = [default, *(b for _, b in self.conditions)]
        if fallbacks is not None:
            branches.append(fallbacks)
        self.first: Target | None = default.candidates[0].target if default.candidates else None
        self.needs_features = (
            bool(self.conditions)
            or any(b.uses_features for b in branches)
            or any(c.pool.counts_tokens for b in branches for c in b.candidates)
        )

    def plan(self, ctx: CallFacts, call: Any = None) -> tuple[Sequence[Candidate], Features | None]:
        """The candidates to try for this call, in order, and the call's features."""
        features = Features(ctx, call, self.first) if self.needs_features else None
        branch = self.default
        for matches, candidate_branch in self.conditions:
            if matches(features):  # type: ignore[arg-type]
                branch = candidate_branch
                break
        order = branch.order(ctx.kind, features)
        if self.fallbacks is not None:
            extra = self.fallbacks.order(ctx.kind, features)
            if extra:
                seen = {c.name for c in order}
                order = [*order, *(c for c in extra if c.name not in seen)]
        if not order:
            raise self._unservable(ctx.kind, branch, features)
        return order, features

    def _unservable(self, kind: str, branch: Branch, features: Features | None) -> AigateError:
        reasons = []
        fields = []
        branches = [branch] if self.fallbacks is None else [branch, self.fallbacks]
        for b in branches:
            for c in b.candidates:
                if not _serves(c.mode, kind):
                    reasons.append(f"{c.name}: a {c.mode} model")
                    fields.append("model")
                elif features is not None and (why := unfit(c, features)) is not None:
                    reasons.append(f"{c.name}: {why}")
                    fields.append("tools" if "tools support" in why else "messages")
        return InvalidRequestError(
            f"route {self.name!r} has no target that can serve this {kind} call "
            f"({'; '.join(reasons)})",
            field=fields[0] if fields else "model",
            expected="a route with a target that supports this request",
        )

    def __repr__(self) -> str:
        return f"Route({self.name!r}, targets={[c.name for c in self.default.candidates]})"


class Plan(tuple["Target", ...]):
    """Every target a route may use (``gw.routes[alias]``, ``ctx.targets``): its targets,
    fallbacks and rules' targets, carrying the :class:`Route` that picks and orders them per
    call."""

    route: Route

    def __new__(cls, targets: Iterable[Target], route: Route) -> Plan:
        plan = super().__new__(cls, targets)
        plan.route = route
        return plan


# -- health report -----------------------------------------------------------------------------


class TargetHealth(NamedTuple):
    """A target's breaker and what this process observed of it."""

    name: str
    state: str
    failures: int = 0
    open_until: float | None = None  # epoch seconds
    reason: str | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    in_flight: int = 0


class KeyHealth(NamedTuple):
    """A provider key's breaker (``dead`` when the provider refused it) and its use here."""

    provider: str
    key_id: str
    state: str
    failures: int = 0
    open_until: float | None = None
    reason: str | None = None
    uses: int = 0


class Health:
    """``gw.health()``: every known target and key with its breaker state."""

    __slots__ = ("keys", "targets")

    def __init__(self, targets: dict[str, TargetHealth], keys: list[KeyHealth]) -> None:
        self.targets = targets
        self.keys = keys

    @property
    def dead_keys(self) -> list[KeyHealth]:
        return [k for k in self.keys if k.state == "dead"]

    @property
    def open_targets(self) -> list[TargetHealth]:
        return [t for t in self.targets.values() if t.state != "closed"]

    def __repr__(self) -> str:
        return f"Health(targets={list(self.targets.values())!r}, keys={self.keys!r})"


# -- the router ------------------------------------------------------------------------------


def open_health_store(url: str, settings: BreakerSettings) -> HealthStore:
    """A health store from its URL: ``memory://`` or ``redis://...``."""
    if url in ("memory", "memory://"):
        return MemoryHealthStore(settings)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .._urls import require_package
        from ._redis import RedisHealthStore

        require_package("redis", field="router.health", url=url)

        return RedisHealthStore(url, settings=settings)
    raise ConfigurationError(
        "router.health: expected memory:// or a redis:// URL", field="router.health"
    )


def _breaker_settings(config: BreakerConfig) -> BreakerSettings:
    return BreakerSettings(
        failures=config.failures,
        window_s=config.window_s,
        cooldown_s=config.cooldown_s,
        probe_timeout_s=config.probe_timeout_s,
        dead_s=config.dead_key_s,
    )


class Router:
    """Routes, key pools, target stats and the health store of one gateway.

    ``clock`` (epoch seconds) times breakers, waits and deadlines; tests replace it.
    """

    def __init__(
        self,
        config: RouterConfig | None = None,
        *,
        store: HealthStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config = config or RouterConfig()
        self.store: HealthStore = store or open_health_store(
            config.health, _breaker_settings(config.breaker)
        )
        self.clock = clock
        self.retry = RetrySettings(config.retry, config.breaker.key_cooldown_s)
        self.stats: dict[str, TargetStats] = {}
        self.pools: dict[str, KeyPool] = {}
        self.routes: dict[str, Route] = {}

    # -- construction ---------------------------------------------------------------------

    def add_providers(self, providers: Mapping[str, ProviderRuntime]) -> None:
        """One key pool per provider, as ``router.keys`` / ``router.key_pools`` say."""
        unknown = set(self.config.key_pools) - set(providers)
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigurationError(
                f"router.key_pools.{name}: no provider of that name",
                field=f"router.key_pools.{name}",
            )
        for name, provider in providers.items():
            pc: KeyPoolConfig = self.config.key_pools.get(name, self.config.keys)
            rng = None
            if pc.strategy == "weighted" and self.config.seed is not None:
                import random

                rng = random.Random(self.config.seed)
            try:
                self.pools[name] = KeyPool(
                    provider, pc.strategy, weights=pc.weights, rpm=pc.rpm, tpm=pc.tpm, rng=rng
                )
            except ValueError as exc:
                where = (
                    f"router.key_pools.{name}" if name in self.config.key_pools else "router.keys"
                )
                raise ConfigurationError(f"{where}.{exc}", field=where) from None

    def _candidate(self, target: Target, index: int, info: Any, spec: Any = None) -> Candidate:
        stats = self.stats.get(target.name)
        if stats is None:
            stats = self.stats[target.name] = TargetStats(self.config.latency_alpha)
        pool = self.pools.get(target.provider.name)
        if pool is None:
            pool = self.pools[target.provider.name] = KeyPool(target.provider)
        return Candidate(
            target,
            index,
            stats,
            pool,
            weight=getattr(spec, "weight", 1.0),
            priority=getattr(spec, "priority", 0),
            info=info,
        )

    def add_route(
        self,
        alias: str,
        config: RouteConfig | list[str],
        resolve: Callable[[str, str], Target],
        info: Callable[[Target], Any],
    ) -> Plan:
        """Build route ``alias``; ``resolve(spec, field)`` turns ``"provider/model"`` into a
        target (raising a ConfigurationError naming ``field``); ``info(target)`` is its
        catalog entry or None."""
        if isinstance(config, list):
            try:
                config = RouteConfig.model_validate({"targets": config})
            except ValidationError as exc:
                raise config_error(exc, prefix=f"routes.{alias}.") from None
        checks = self.config.filter_capabilities
        where = f"routes.{alias}"

        def branch(specs: Sequence[Any], strategy: Any, field: str) -> Branch:
            candidates = []
            for i, spec in enumerate(specs):
                name = spec if isinstance(spec, str) else spec.target
                target = resolve(name, f"{field}.{i}")
                try:
                    facts = info(target)
                except (ValueError, TypeError) as exc:  # a bad price override, read here first
                    raise ConfigurationError(f"prices: {exc}", field="prices") from None
                candidates.append(self._candidate(target, i, facts, spec))
            if strategy in (None, "priority", "failover"):
                return Branch(candidates, None, checks)
            return Branch(candidates, self._strategy(strategy, f"{where}.strategy"), checks)

        if not config.targets:
            raise ConfigurationError(f"{where}: no targets", field=where)
        default = branch(config.targets, config.strategy, f"{where}.targets")
        conditions = []
        for i, rule in enumerate(config.conditions):
            field_ = f"{where}.conditions.{i}"
            matches = compile_condition(rule.when, field_)
            strategy = rule.strategy if rule.strategy is not None else config.strategy
            conditions.append((matches, branch(rule.targets, strategy, f"{field_}.targets")))
        fallbacks = (
            branch(config.fallbacks, None, f"{where}.fallbacks") if config.fallbacks else None
        )
        retry = self.retry
        if config.retry is not None:
            merged = self.config.retry.model_copy(
                update={k: getattr(config.retry, k) for k in config.retry.model_fields_set}
            )
            retry = RetrySettings(merged, self.config.breaker.key_cooldown_s)
        route = Route(alias, self, default, conditions=conditions, fallbacks=fallbacks, retry=retry)
        self.routes[alias] = route
        # The plan lists every target the route may use (the budget reserves on each):
        # its targets, its fallbacks, then its rules' targets.
        targets: dict[str, Target] = {}
        for b in (default, fallbacks, *(b for _, b in conditions)):
            for c in b.candidates if b is not None else ():
                targets.setdefault(c.name, c.target)
        return Plan(targets.values(), route)

    def _strategy(self, spec: Any, field: str) -> Strategy:
        try:
            return make_strategy(spec, self.config.seed)
        except KeyError:
            raise ConfigurationError(
                f"{field}: unknown strategy {spec!r}; expected priority, failover, weighted, "
                "round_robin, least_latency, cheapest, least_busy or a callable",
                field=field,
            ) from None

    def direct(self, target: Target) -> Plan:
        """The plan of a direct ``"provider/model"`` call: that target alone, no catalog
        checks (the provider decides), the gateway's retry settings."""
        candidate = self._candidate(target, 0, None)
        route = Route(None, self, Branch([candidate], None, False), retry=self.retry)
        return Plan((target,), route)

    # -- inspection -----------------------------------------------------------------------

    def _health_names(self) -> list[str]:
        return [*self.stats, *(n for pool in self.pools.values() for n in pool.names)]

    def health(self) -> Health:
        """Every target this router has seen and every key, with breaker states."""
        return self._health(self.store.states(self._health_names()))

    async def ahealth(self) -> Health:
        """`health`, reading a shared (Redis) store without blocking the event loop."""
        astates = getattr(self.store, "astates", None)
        names = self._health_names()
        states = await astates(names) if astates is not None else self.store.states(names)
        return self._health(states)

    def _health(self, states: Mapping[str, BreakerState]) -> Health:
        """The health report from the breakers' ``states`` (a pure assembly)."""
        names = list(self.stats)
        targets = {}
        for name in names:
            b = states.get(name)
            stats = self.stats[name]
            targets[name] = TargetHealth(
                name,
                b.state if b is not None else "closed",
                b.failures if b is not None else 0,
                b.open_until if b is not None and b.state != "closed" else None,
                b.reason if b is not None else None,
                stats.latency_ms,
                stats.ttft_ms,
                stats.in_flight,
            )
        keys = []
        for pool in self.pools.values():
            for i, (key, name) in enumerate(zip(pool.keys, pool.names, strict=True)):
                b = states.get(name)
                keys.append(
                    KeyHealth(
                        pool.provider,
                        key.id,
                        b.state if b is not None else "closed",
                        b.failures if b is not None else 0,
                        b.open_until if b is not None and b.state != "closed" else None,
                        b.reason if b is not None else None,
                        pool.uses[i],
                    )
                )
        return Health(targets, keys)

    def close(self) -> None:
        """Close the health store's connections (a Redis store)."""
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    async def aclose(self) -> None:
        aclose = getattr(self.store, "aclose", None)
        if aclose is not None:
            await aclose()
        else:
            self.close()

    def __repr__(self) -> str:
        return f"Router(routes={sorted(self.routes)}, store={self.store!r})"
