"""Budgets and rate limits in the request flow: reserve -> call -> settle.

Before a call that reaches a provider (never for a cache hit), :class:`Admission`:

1. reads what the call will put on the wire, ``extra_body`` included (:func:`wire_shape`):
   the output ceiling (``max_tokens`` / ``max_completion_tokens`` / ``max_output_tokens``,
   Gemini's ``generationConfig.maxOutputTokens``, else the model's maximum output, else
   ``default_max_output``) and the fan-out (``n``, ``best_of``, ``candidateCount``: each
   choice is billed); a cost-changing value aigate cannot price (``service_tier="priority"``)
   is refused with :class:`~aigate.InvalidRequestError` when a USD budget applies;
2. counts the prompt (:mod:`aigate.tokens`, an estimate that never undercounts for other
   providers' models);
3. waits for (bounded) or refuses with :class:`~aigate.RateLimited` any rate limit
   without room;
4. reserves the worst case (prompt x input price + ceiling x fan-out x output price, the
   dearest target of the route) against every budget that applies, atomically, or raises
   :class:`~aigate.BudgetExceeded` with nothing sent. A limit with ``on_exceed="clamp"``
   lowers ``max_tokens`` to what its room allows instead (:func:`clamp_ceiling`), refusing
   only when not even ``CLAMP_MIN_TOKENS`` fit.

A refused call is recorded in the ledger as a row with ``status="refused"``, its reason,
no cost and no tokens.

After the call, :meth:`Admission.settle` charges the real cost (0 for a failed call) and
releases the rest; a stream settles when it ends, however it ends. A caller that dies
leaves a reservation that expires after ``ttl_s``. Threshold crossings are reported once
per window.

A model with no known price cannot be bounded in USD: a hard USD limit that covers it
refuses it with :class:`UnpricedModelRefused` (naming the two fixes) unless the limit says
``allow_unpriced = true`` or the provider is marked free (``options = {free = true}``, for
local servers) or priced at 0. Token and request limits apply to every model.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from ._effects import Call, Flow, Sleep
from ._exceptions import AigateError, InvalidRequestError, RateLimited

if TYPE_CHECKING:
    from ._context import CallContext, Core
    from ._models import Usage
    from .budget import RateLimiter
    from .config import BudgetConfig
    from .ledger import LedgerRecord, SharedLedger
    from .providers._base import Target

__all__ = [
    "CLAMP_MIN_TOKENS",
    "Admission",
    "Estimate",
    "Reservation",
    "WireShape",
    "wire_shape",
]

logger = logging.getLogger("aigate.budget")

#: The least output a clamped call may be given: below it the call is refused instead.
CLAMP_MIN_TOKENS = 16
_CLAMP_TRIES = 3  # concurrent spenders may take the room between two reserves
_OUTPUT_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
_FANOUT_KEYS = ("n", "best_of")
# Tiers billed at the catalog's price (or below it); others ("priority", "scale") cost more.
_PRICED_TIERS = frozenset({"auto", "default", "flex", "standard_only"})


@dataclass(frozen=True, slots=True)
class WireShape:
    """What of a call's parameters changes its cost, as it will reach the wire."""

    ceiling: int | None  # the output tokens the call asks for (None: the model's maximum)
    fanout: int  # choices billed (n, best_of, candidateCount)
    thinking: int  # thinking tokens asked on top of the ceiling (Gemini's thinkingBudget)
    tier: str | None  # a service tier aigate has no price for
    keys: tuple[str, ...]  # where the ceiling was given ("max_tokens", "extra_body.max_tokens")


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(
            f"{where}: expected an integer >= 1, got {type(value).__name__}",
            field=where,
            expected="an integer >= 1",
        )
    return value


def wire_shape(params: Mapping[str, Any], extra_body: Mapping[str, Any] | None) -> WireShape:
    """The ceiling, fan-out and tier a call puts on the wire: its parameters and the keys of
    ``extra_body`` that override them (a bad value is :class:`~aigate.InvalidRequestError`)."""
    ceilings: list[int] = []
    keys: list[str] = []
    fanout = 1
    thinking = 0
    tier: str | None = None
    sources: list[tuple[str, Mapping[str, Any]]] = [("", params)]
    if extra_body:
        sources.append(("extra_body.", extra_body))
        config = extra_body.get("generationConfig")
        if isinstance(config, Mapping):  # Gemini's own names, merged into its payload
            where = "extra_body.generationConfig."
            if config.get("maxOutputTokens") is not None:
                ceilings.append(_count(config["maxOutputTokens"], where + "maxOutputTokens"))
                keys.append(where + "maxOutputTokens")
            if config.get("candidateCount") is not None:
                fanout = max(fanout, _count(config["candidateCount"], where + "candidateCount"))
            budget = config.get("thinkingConfig")
            if isinstance(budget, Mapping) and isinstance(budget.get("thinkingBudget"), int):
                thinking = max(0, int(budget["thinkingBudget"]))
    for prefix, source in sources:
        for name in _OUTPUT_KEYS:
            if source.get(name) is not None:
                ceilings.append(_count(source[name], prefix + name))
                keys.append(prefix + name)
        for name in _FANOUT_KEYS:
            if source.get(name) is not None:
                fanout = max(fanout, _count(source[name], prefix + name))
        value = source.get("service_tier")
        if value is not None and value not in _PRICED_TIERS:
            tier = str(value)
    # Several ceilings: the provider honours one of them, so reserve for the largest.
    return WireShape(max(ceilings) if ceilings else None, fanout, thinking, tier, tuple(keys))


@dataclass(slots=True)
class Estimate:
    """The worst case of one call over its targets, and what clamping needs to redo it."""

    nano: int
    tokens: int
    shape: WireShape
    # per target: (target, prompt tokens, output ceiling, price or None, free)
    parts: list[tuple[Any, int, int, Any, bool]] = field(default_factory=list)

    def __iter__(self) -> Iterator[int]:
        """``worst_nano, tokens = admission.estimate(...)`` (the form callers unpack)."""
        return iter((self.nano, self.tokens))

    def unpriced(self) -> list[Any]:
        return [t for t, _, _, price, free in self.parts if price is None and not free]


@dataclass(slots=True)
class Reservation:
    """What one call holds: its budget charges and its rate-limit tickets."""

    charges: list[Any]
    estimate_nano: int
    tokens: int
    limits: list[tuple[str, str]] = field(default_factory=list)  # (limiter key, ticket)
    settled: bool = False
    clamped: int | None = None  # the max_tokens a clamp limit lowered the call to


class Admission:
    """The gateway's budgets and rate limits, from :class:`~aigate.config.BudgetConfig`."""

    def __init__(self, config: BudgetConfig, core: Core) -> None:
        from .budget import (
            Budgets,
            FailSafeBudgetStore,
            MemoryRateLimiter,
            check_scope,
            open_budget_store,
        )

        for i, rule in enumerate(config.rate_limits):  # a mistyped scope would never apply
            check_scope(rule.scope, field=f"budget.rate_limits.{i}.scope", what="rate limit")
        self.config = config
        self.core = core
        self.budgets = Budgets(config.limits, ttl_s=config.ttl_s)
        # An unreachable store follows each limit's fail_open: admit against a per-process
        # budget and log, or refuse with BudgetStoreUnavailable (the default).
        self.store = FailSafeBudgetStore(open_budget_store(config.store))
        self.limiter: RateLimiter | None = None
        if config.rate_limits or core.config.keys is not None:  # keys may carry rate limits
            if config.rate_store and config.rate_store.startswith(("redis://", "rediss://")):
                from .budget import RedisRateLimiter

                self.limiter = RedisRateLimiter(config.rate_store)
            else:
                self.limiter = MemoryRateLimiter()
        self._unpriced_warned: set[str] = set()
        self.joint: SharedLedger | None = None  # its rows commit with the settle (see join)

    def join(self, ledger: object) -> bool:
        """Commit ``ledger``'s row of each call in the transaction that settles the call's
        budget, when the two share one database (the same SQLite file at the same
        durability, or the same PostgreSQL DSN): a crash then leaves both or neither,
        never a charge without its row. True when they do."""
        inner = getattr(ledger, "inner", ledger)  # a SafeLedger's wrapped ledger
        database = self.store.database
        if database is None or database != getattr(inner, "database", None):
            return False
        prepare = getattr(inner, "prepare", None)  # PostgreSQL makes its table on first use
        if prepare is not None:
            try:
                prepare()
            except Exception as err:  # unreachable now: two commits, and its own errors later
                logger.warning(
                    "the ledger's table could not be prepared (%s); its rows commit apart "
                    "from the budget's settle",
                    type(err).__name__,
                )
                return False
        self.joint = cast("SharedLedger", inner)  # same database: it has insert_step
        return True

    def close(self) -> None:
        self.store.close()
        if self.limiter is not None and hasattr(self.limiter, "close"):
            self.limiter.close()

    async def aclose(self) -> None:
        await self.store.aclose()
        if self.limiter is not None and hasattr(self.limiter, "aclose"):
            await self.limiter.aclose()

    # -- estimating --------------------------------------------------------------------------

    def _ceiling(self, target: Target, shape: WireShape) -> int:
        if shape.ceiling is not None:
            return shape.ceiling + shape.thinking
        entry = self.core.catalog_entry(target)
        if entry is not None and entry.max_output_tokens:
            return int(entry.max_output_tokens) + shape.thinking
        return self.config.default_max_output + shape.thinking

    def estimate(
        self,
        targets: tuple[Target, ...],
        messages: Any,
        params: Mapping[str, Any],
        prompt_tokens: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
        ceiling: int | None = None,
    ) -> Estimate:
        """The worst case over every target of the route: nano-USD, and prompt + output
        tokens. ``prompt_tokens`` is given for embeddings (whose input is the whole prompt);
        ``ceiling`` replaces the call's own (a clamp)."""
        from .pricing import estimate_cost, to_nano
        from .tokens import estimate_prompt_tokens

        shape = wire_shape(params, extra_body)
        result = Estimate(0, 0, shape)
        for target in targets:
            kind, model = target.provider.kind, target.model
            if prompt_tokens is not None:  # embeddings: no output
                prompt, out = prompt_tokens, 0
            else:
                prompt = estimate_prompt_tokens(
                    messages, provider=kind, model=model, tools=params.get("tools")
                )
                out = ceiling if ceiling is not None else self._ceiling(target, shape)
            billed = out * shape.fanout
            result.tokens = max(result.tokens, prompt + billed)
            free = target.provider.options.get("free") is True
            entry = self.core.catalog_entry(target)
            price = entry.price if entry is not None else None
            cost = estimate_cost(prompt, billed, price) if price is not None else None
            if cost is None:
                price = None
            result.parts.append((target, prompt, out, price, free))
            if cost is None:
                if not free and target.name not in self._unpriced_warned:
                    self._unpriced_warned.add(target.name)
                    logger.warning("no price known for %s", target.name)
                continue
            result.nano = max(result.nano, to_nano(cost))
        return result

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

    def _plan(self, ctx: CallContext, estimate: Estimate) -> list[Any]:
        charges: dict[str, Any] = {}
        unpriced = {t.name for t in estimate.unpriced()}
        for target in ctx.targets:  # any target may answer: reserve on each one's scopes
            for charge in self.budgets.plan(
                self._scopes(ctx, target),
                metadata=ctx.metadata,
                estimate_nano=estimate.nano,
                tokens=estimate.tokens,
                extra=ctx.limits,
            ):
                limit = charge.limit
                usd_hard = limit is not None and limit.unit == "usd" and limit.hard
                allowed = limit is not None and limit.allow_unpriced
                if usd_hard and target.name in unpriced and not allowed:
                    from .budget import UnpricedModelRefused

                    raise UnpricedModelRefused(
                        f"no price is known for {target.name}, so the USD budget for "
                        f"{charge.scope} cannot bound its cost; add its price (prices = "
                        f'{{"{target.name}" = {{input_per_million = ..., output_per_million'
                        f" = ...}}}}, or 0 for a free model; a local server's provider can say "
                        f"options = {{free = true}}) or set allow_unpriced = true on that limit",
                        model=target.name,
                        scope=charge.scope,
                    )
                if usd_hard and estimate.shape.tier is not None:
                    raise InvalidRequestError(
                        f"service_tier: {estimate.shape.tier!r} is billed above the catalog's "
                        f"price, so the USD budget for {charge.scope} cannot bound it; use "
                        "'auto', 'default' or 'flex', or drop the budget for this call",
                        field="service_tier",
                        expected="'auto', 'default' or 'flex' under a USD budget",
                    )
                charges.setdefault(charge.key, charge)
        return list(charges.values())

    def admit(
        self,
        ctx: CallContext,
        messages: Any,
        params: Mapping[str, Any],
        prompt_tokens: int | None = None,
        call: Any = None,
        estimate: tuple[int, int] | None = None,
    ) -> Flow[Reservation]:
        """Rate limits, then the all-or-nothing budget reservation (clamped where a limit
        says so). ``call`` (a chat call) gives ``extra_body``, read for what changes the
        cost, and takes a clamped ``max_tokens``. ``estimate`` (nano-USD, tokens) is given by
        callers that price their own worst case (realtime sessions). A refusal is recorded,
        then raised."""
        try:
            return (yield from self._admit(ctx, messages, params, prompt_tokens, call, estimate))
        except AigateError as exc:
            if _refusal_reason(exc) is not None:
                yield from self._record_refusal(ctx, exc)
            raise

    def _admit(
        self,
        ctx: CallContext,
        messages: Any,
        params: Mapping[str, Any],
        prompt_tokens: int | None,
        call: Any,
        given: tuple[int, int] | None = None,
    ) -> Flow[Reservation]:
        extra_body = getattr(call, "extra_body", None)
        if given is not None:
            estimate = Estimate(given[0], given[1], wire_shape(params, extra_body))
        else:
            estimate = self.estimate(ctx.targets, messages, params, prompt_tokens, extra_body)
        charges = self._plan(ctx, estimate)
        reservation = Reservation([], estimate.nano, estimate.tokens)
        if self.limiter is not None or ctx.rate_limits:
            yield from self._rate_limits(ctx, reservation)
        reservation.charges = charges
        if not charges:
            return reservation
        for _ in range(_CLAMP_TRIES):
            result = yield Call(
                self.store.reserve,
                self.store.areserve,
                (ctx.request_id, reservation.charges, self.budgets.ttl_s),
            )
            if isinstance(result, BaseException):
                yield from self._release_limits(reservation)
                raise result
            if result.ok:
                if reservation.clamped is not None:
                    _apply_clamp(params, call, estimate.shape, reservation.clamped)
                return reservation
            ceiling = clamp_ceiling(estimate, result.breaches, reservation.charges)
            if ceiling is None or (
                reservation.clamped is not None and ceiling >= reservation.clamped
            ):
                break
            estimate = self.estimate(
                ctx.targets, messages, params, prompt_tokens, extra_body, ceiling=ceiling
            )
            reservation.charges = self._plan(ctx, estimate)
            reservation.estimate_nano, reservation.tokens = estimate.nano, estimate.tokens
            reservation.clamped = ceiling
        yield from self._release_limits(reservation)
        raise self.budgets.exceeded(result, reservation.charges)

    def _record_refusal(self, ctx: CallContext, error: BaseException) -> Flow[None]:
        ledger = self.core.ledger
        if ledger is None:
            return
        from ._recording import refusal_record

        record = refusal_record(ctx, error, _refusal_reason(error) or "refused")
        yield Call(ledger.record, ledger.arecord, (record,))

    def _rate_limits(self, ctx: CallContext, reservation: Reservation) -> Flow[None]:
        limiter = self.limiter
        assert limiter is not None  # made whenever rules or virtual keys (their limits) exist
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
        if limiter is None:
            return
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
        record: LedgerRecord | None = None,
    ) -> Flow[bool]:
        """Charge what the call really cost (0 when it failed) and release the rest. With
        the call's ledger ``record`` and a joined ledger (`join`), the row commits in the
        same transaction; True when it did (the caller writes it otherwise)."""
        if reservation is None or reservation.settled:
            return False
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
            return False
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
        written = False
        if record is not None and self.joint is not None:
            also = [self.joint.insert_step(record)]
            store = self.store
            result = yield Call(
                store.settle_with, store.asettle_with, (ctx.request_id, actual, also)
            )
            crossed, written = (result, False) if isinstance(result, BaseException) else result
        else:
            crossed = yield Call(self.store.settle, self.store.asettle, (ctx.request_id, actual))
        if isinstance(crossed, BaseException):
            logger.error(
                "budget settle failed for call %s (%s); the reservation expires after its ttl",
                ctx.request_id,
                type(crossed).__name__,
            )
            return False
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
        return written


def clamp_ceiling(estimate: Estimate, breaches: Any, charges: list[Any]) -> int | None:
    """The largest output ceiling (per choice) that fits every breached limit, when each of
    them says ``on_exceed="clamp"``; None when one refuses or not even
    :data:`CLAMP_MIN_TOKENS` fit. Each target of the route must fit (any may answer)."""
    from .pricing import to_nano

    by_key = {c.key: c for c in charges}
    fanout = estimate.shape.fanout
    best: int | None = None
    for breach in breaches:
        limit = by_key[breach.key].limit
        if limit is None or limit.on_exceed != "clamp":
            return None
        room = breach.cap - breach.spent - breach.reserved
        for _, prompt, out, price, _free in estimate.parts:
            if limit.unit == "tokens":
                fits = (room - prompt) // fanout
            elif price is None:  # an unpriced model reserves 0 USD: nothing to clamp
                continue
            else:
                p = price.at(prompt)
                unit_out = p.output if p.reasoning is None else max(p.output, p.reasoning)
                per_token = to_nano(unit_out * fanout)
                left = room - to_nano(p.input * prompt)
                fits = out if per_token <= 0 else left // per_token
            fits = min(fits, out)
            best = fits if best is None else min(best, fits)
    if best is None or best < CLAMP_MIN_TOKENS:
        return None
    return int(best)


def _apply_clamp(params: Mapping[str, Any], call: Any, shape: WireShape, ceiling: int) -> None:
    """Put the clamped ceiling on the wire: in the parameter the call used (``max_tokens``
    when it gave none) and over every ceiling key of its ``extra_body``."""
    if isinstance(params, dict):
        given = [k for k in shape.keys if not k.startswith("extra_body.")]
        for name in given or ["max_tokens"]:
            params[name] = ceiling
    extra = getattr(call, "extra_body", None)
    if extra and any(k.startswith("extra_body.") for k in shape.keys):
        body = dict(extra)
        for name in _OUTPUT_KEYS:
            if name in body:
                body[name] = ceiling
        config = body.get("generationConfig")
        if isinstance(config, Mapping) and "maxOutputTokens" in config:
            body["generationConfig"] = {**config, "maxOutputTokens": ceiling}
        call.extra_body = body  # a copy: the caller's dict is left as it was


def _refusal_reason(error: BaseException) -> str | None:
    """What a refused call's ledger row says (None: not a refusal before sending)."""
    from .budget import BudgetStoreUnavailable, UnpricedModelRefused

    if isinstance(error, UnpricedModelRefused):
        return f"unpriced:{error.model}"
    if isinstance(error, RateLimited):
        return f"rate_limit:{error.scope}"
    if isinstance(error, BudgetStoreUnavailable):
        return f"budget_store:{error.scope}"
    from ._exceptions import BudgetExceeded

    if isinstance(error, BudgetExceeded):
        return f"budget:{error.scope}"
    return None


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
