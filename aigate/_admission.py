"""Budgets and rate limits in the request flow: reserve -> call -> settle.

Before a call that reaches a provider (never for a cache hit), :class:`Admission`:

1. counts the prompt (:mod:`aigate.tokens`, an estimate that never undercounts for other
   providers' models) and takes the output ceiling (``max_tokens``, else the model's
   maximum output, else ``default_max_output``);
2. waits for (bounded) or refuses with :class:`~aigate.RateLimited` any rate limit
   without room;
3. reserves the worst case (prompt x input price + output ceiling x output price, the
   dearest target of the route) against every budget that applies, atomically, or raises
   :class:`~aigate.BudgetExceeded` with nothing sent and nothing recorded.

After the call, :meth:`Admission.settle` charges the real cost (0 for a failed call) and
releases the rest; a stream settles when it ends. A caller that dies leaves a reservation
that expires after ``ttl_s``. Threshold crossings are reported once per window.

Unpriced models reserve and settle 0 USD (their cost is unknown, never guessed); token
and request limits still apply to them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._effects import Call, Flow, Sleep
from ._exceptions import RateLimited

if TYPE_CHECKING:
    from ._flow import CallContext
    from ._gateway import GatewayCore
    from ._models import Usage
    from .config import BudgetConfig
    from .providers._base import Target

__all__ = ["Admission", "Reservation"]

logger = logging.getLogger("aigate.budget")


@dataclass(slots=True)
class Reservation:
    """What one call holds: its budget charges and its rate-limit tickets."""

    charges: list[Any]
    estimate_nano: int
    tokens: int
    limits: list[tuple[str, str]] = field(default_factory=list)  # (limiter key, ticket)
    settled: bool = False


class Admission:
    """The gateway's budgets and rate limits, from :class:`~aigate.config.BudgetConfig`."""

    def __init__(self, config: BudgetConfig, core: GatewayCore) -> None:
        from .budget import Budgets, FailSafeBudgetStore, MemoryRateLimiter, open_budget_store

        self.config = config
        self.core = core
        self.budgets = Budgets(config.limits, ttl_s=config.ttl_s)
        # An unreachable store follows each limit's fail_open: admit against a per-process
        # budget and log, or refuse with BudgetStoreUnavailable (the default).
        self.store = FailSafeBudgetStore(open_budget_store(config.store))
        self.limiter: Any = None
        if config.rate_limits or core.config.keys is not None:  # keys may carry rate limits
            if config.rate_store and config.rate_store.startswith(("redis://", "rediss://")):
                from .budget import RedisRateLimiter

                self.limiter = RedisRateLimiter(config.rate_store)
            else:
                self.limiter = MemoryRateLimiter()
        self._unpriced_warned: set[str] = set()

    def close(self) -> None:
        self.store.close()
        if self.limiter is not None and hasattr(self.limiter, "close"):
            self.limiter.close()

    async def aclose(self) -> None:
        await self.store.aclose()
        if self.limiter is not None and hasattr(self.limiter, "aclose"):
            await self.limiter.aclose()

    # -- estimating --------------------------------------------------------------------------

    def _ceiling(self, target: Target, params: Mapping[str, Any]) -> int:
        for name in ("max_completion_tokens", "max_tokens"):
            value = params.get(name)
            if isinstance(value, int):
                return value
        entry = self.core.catalog_entry(target)
        if entry is not None and entry.max_output_tokens:
            return int(entry.max_output_tokens)
        return self.config.default_max_output

    def estimate(
        self,
        targets: tuple[Target, ...],
        messages: Any,
        params: Mapping[str, Any],
        prompt_tokens: int | None = None,
    ) -> tuple[int, int]:
        """(worst-case nano-USD, prompt + output tokens) over every target of the route.
        ``prompt_tokens`` is given for embeddings (whose input is the whole prompt)."""
        from .pricing import estimate_cost, to_nano
        from .tokens import estimate_prompt_tokens

        worst_nano = 0
        worst_tokens = 0
        for target in targets:
            kind, model = target.provider.kind, target.model
            if prompt_tokens is not None:  # embeddings: no output
                prompt, ceiling = prompt_tokens, 0
            else:
                prompt = estimate_prompt_tokens(
                    messages, provider=kind, model=model, tools=params.get("tools")
                )
                ceiling = self._ceiling(target, params)
            worst_tokens = max(worst_tokens, prompt + ceiling)
            entry = self.core.catalog_entry(target)
            cost = estimate_cost(prompt, ceiling, entry.price) if entry is not None else None
            if cost is None:
                if target.name not in self._unpriced_warned:
                    self._unpriced_warned.add(target.name)
                    logger.warning(
                        "no price known for %s: USD budgets reserve 0 for it", target.name
                    )
                continue
            worst_nano = max(worst_nano, to_nano(cost))
        return worst_nano, worst_tokens

    # -- the flow ----------------------------------------------------------------------------

    def _scopes(self, ctx: CallContext, target: Target) -> dict[str, str | None]:
        meta = ctx.metadata
        return {
            "org": meta.get("org"),
            "project": meta.get("project"),
            "user": ctx.user,
            "key": ctx.virtual_key,
            "provider": target.provider.name,
            "model": target.name,
        }

    def admit(
        self,
        ctx: CallContext,
        messages: Any,
        params: Mapping[str, Any],
        prompt_tokens: int | None = None,
        estimate: tuple[int, int] | None = None,
    ) -> Flow[Reservation]:
        """Rate limits, then the all-or-nothing budget reservation. ``estimate`` (nano-USD,
        tokens) is given by callers that price their own worst case (realtime sessions)."""
        if estimate is None:
            estimate = self.estimate(ctx.targets, messages, params, prompt_tokens)
        estimate_nano, tokens = estimate
        reservation = Reservation([], estimate_nano, tokens)
        if self.limiter is not None or ctx.rate_limits:
            yield from self._rate_limits(ctx, reservation)
        charges: dict[str, Any] = {}
        extra = ctx.limits
        for target in ctx.targets:  # any target may answer: reserve on each one's scopes
            for charge in self.budgets.plan(
                self._scopes(ctx, target),
                metadata=ctx.metadata,
                estimate_nano=estimate_nano,
                tokens=tokens,
                extra=extra,
            ):
                charges.setdefault(charge.key, charge)
        reservation.charges = list(charges.values())
        if not reservation.charges:
            return reservation
        result = yield Call(
            self.store.reserve,
            self.store.areserve,
            (ctx.request_id, reservation.charges, self.budgets.ttl_s),
        )
        if isinstance(result, BaseException):
            yield from self._release_limits(reservation)
            raise result
        if not result.ok:
            yield from self._release_limits(reservation)
            raise self.budgets.exceeded(result, reservation.charges)
        return reservation

    def _rate_limits(self, ctx: CallContext, reservation: Reservation) -> Flow[None]:
        limiter = self.limiter
        waited = 0.0
        rules = [(r.scope, r.rpm, r.tpm) for r in self.config.rate_limits]
        for scope, rpm, tpm in [*rules, *ctx.rate_limits]:
            key = _rate_key(scope, ctx)
            if key is None:
                continue
            ticket = f"{ctx.request_id}:{len(reservation.limits)}"
            while True:
                wait = yield Call(
                    limiter.acquire,
                    limiter.aacquire,
                    (key,),
                    {
                        "requests": 1,
                        "tokens": reservation.tokens if tpm else 0,
                        "rpm": rpm,
                        "tpm": tpm,
                        "ticket": ticket,
                    },
                )
                if isinstance(wait, BaseException):
                    yield from self._release_limits(reservation)
                    raise wait
                if wait <= 0:
                    reservation.limits.append((key, ticket))
                    break
                if math.isinf(wait) or waited + wait > self.config.wait_s:
                    yield from self._release_limits(reservation)
                    raise RateLimited(
                        f"rate limit for {key} has no room for {math.ceil(wait * 1000)} ms",
                        scope=key,
                        retry_after_s=wait,
                    )
                waited += wait
                yield Sleep(wait)

    def _release_limits(self, reservation: Reservation) -> Flow[None]:
        limiter = self.limiter
        for key, ticket in reservation.limits:
            yield Call(limiter.release, limiter.arelease, (key, ticket))
        reservation.limits = []

    def settle(
        self,
        ctx: CallContext,
        reservation: Reservation | None,
        cost: Decimal | None,
        usage: Usage | None,
        target_name: str | None,
    ) -> Flow[None]:
        """Charge what the call really cost (0 when it failed) and release the rest."""
        if reservation is None or reservation.settled:
            return
        reservation.settled = True
        from .budget import scope_of
        from .pricing import to_nano

        used = usage.total_tokens if usage is not None else 0
        if self.limiter is not None:
            for key, ticket in reservation.limits:
                yield Call(
                    self.limiter.adjust,
                    self.limiter.aadjust,
                    (key, used - reservation.tokens),
                    {"ticket": ticket},
                )
        if not reservation.charges:
            return
        cost_nano = to_nano(cost) if cost is not None else 0
        actual = self.budgets.actual(reservation.charges, cost_nano=cost_nano, tokens=used)
        requests = 1 if target_name is not None else 0
        answering_provider = target_name.partition("/")[0] if target_name else None
        for charge in reservation.charges:
            scope = scope_of(charge.key)
            kind, _, value = scope.partition(":")
            # provider/model scopes of targets that did not answer get nothing
            if (kind == "provider" and value != answering_provider) or (
                kind == "model" and value != target_name
            ):
                actual[charge.key] = 0
            elif charge.limit is not None and charge.limit.unit == "requests":
                actual[charge.key] = requests
        crossed = yield Call(self.store.settle, self.store.asettle, (ctx.request_id, actual))
        if isinstance(crossed, BaseException):
            logger.error(
                "budget settle failed for call %s (%s); the reservation expires after its ttl",
                ctx.request_id,
                type(crossed).__name__,
            )
            return
        observer = self.core.observer
        if observer is not None and crossed:
            from .observe import BudgetThresholdEvent

            for event in self.budgets.events(crossed, reservation.charges):
                limit = event.limit
                cap = limit.cap
                observer.budget_threshold(
                    BudgetThresholdEvent(
                        scope=event.scope,
                        unit=limit.unit,
                        window=limit.window,
                        threshold=event.threshold,
                        spent=_nano_or_count(limit.unit, event.spent),
                        cap=cap,
                        call_id=ctx.request_id,
                        name=limit.name,
                    )
                )


def _nano_or_count(unit: str, value: Decimal | int) -> int:
    if unit == "usd":
        from .pricing import to_nano

        return to_nano(Decimal(value))
    return int(value)


def _rate_key(scope: str, ctx: CallContext) -> str | None:
    """The limiter key a rule applies to for this call (None: the rule does not apply)."""
    if scope == "global":
        return "global"
    kind, _, value = scope.partition(":")
    meta = ctx.metadata
    actual = {
        "org": meta.get("org"),
        "project": meta.get("project"),
        "user": ctx.user,
        "key": ctx.virtual_key,
        "provider": ctx.targets[0].provider.name,
        "model": ctx.targets[0].name,
    }.get(kind)
    if kind == "meta":
        name, _, wanted = value.partition("=")
        actual = meta.get(name)
        return f"meta:{name}={actual}" if actual is not None and wanted in ("*", actual) else None
    if actual is None:
        return None
    if value in ("*", actual):
        return f"{kind}:{actual}"
    return None
