"""The attempt loop: one call's tries over its route's targets and keys (a step of the core).

It is a sans-I/O sub-flow of :mod:`aigate._flow`: it yields the same effects (``Send``,
``Read``, ``Close``, ``Sleep``, and ``Call`` for a remote health store) and is driven by the
same two drivers. It decides nothing itself: :class:`~aigate.routing._attempt_plan.AttemptPlan`
answers what to try, when to wait and when to give up (see its module for the rules per
error class); this loop performs each decision and reports what the attempt did.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ._effects import Call, Close, Read, Send, Sleep
from ._exceptions import APIError, APITimeoutError
from ._models import Attempt
from ._wire import Request
from .routing._attempt_plan import AttemptPlan, Check, Try, Wait, describe_waits
from .routing._router import Branch, Plan, RetrySettings, Route, Router

if TYPE_CHECKING:
    from ._context import CallContext
    from ._effects import Flow
    from .providers._base import ApiKey, Target
    from .routing._health import HealthStore, Outcome, RemoteHealthStore
    from .routing._policies import Candidate

__all__ = [
    "adhoc_route",
    "attempts",
    "check_health",
    "describe_waits",
    "pick_key",
    "record_health",
]

T = TypeVar("T")
logger = logging.getLogger("aigate")

# A failed attempt counts this much slower than it took, for least_latency.
_FAILURE_PENALTY_MS = 1000.0


# -- health store access (inline for a local store, an effect for a remote one) ------------


def check_health(store: HealthStore, name: str, now: float) -> Flow[float]:
    if not store.remote:
        return store.check(name, now)
    shared = cast("RemoteHealthStore", store)
    result = yield Call(shared.check, shared.acheck, (name, now))
    if isinstance(result, BaseException):
        _store_down(store, result)
        return 0.0  # an outage of the health store reads healthy: it never blocks calls
    return float(result)


_warned: set[int] = set()


def _store_down(store: HealthStore, error: BaseException) -> None:
    if id(store) not in _warned:  # once per store, not once per call
        _warned.add(id(store))
        logger.warning(
            "health store %r failed (%s: %s); routing as if every breaker were closed",
            store,
            type(error).__name__,
            error,
        )


def record_health(
    store: HealthStore,
    name: str,
    outcome: Outcome,
    now: float,
    cooldown: float = 0.0,
    reason: str | None = None,
) -> Flow[None]:
    if not store.remote:
        store.record(name, outcome, now, cooldown, reason)
        return
    shared = cast("RemoteHealthStore", store)
    result = yield Call(shared.record, shared.arecord, (name, outcome, now, cooldown, reason))
    if isinstance(result, BaseException):
        _store_down(store, result)


def pick_key(
    cand: Candidate, store: HealthStore, now: float, user: str | None, tokens: int
) -> Flow[tuple[int, float]]:
    """(index of the key to use, 0.0), or (-1, when the first key frees up). A local store
    is read inline (no sub-generator per key: this runs on every call); a remote one's
    checks are effects (:func:`check_health`)."""
    pool = cand.pool
    earliest = float("inf")
    local, check = not store.remote, store.check
    for i in pool.order(user):
        name = pool.names[i]
        until = check(name, now) if local else (yield from check_health(store, name, now))
        if not until and pool.limited:
            until = pool.limit_wait(i, now, tokens)
        if not until:
            return i, 0.0
        earliest = min(earliest, until)
    return -1, earliest


# -- one attempt ---------------------------------------------------------------------------


def _first_token(
    flow: Flow[T], clock: Callable[[], float], until: float, target: Target
) -> Flow[T]:
    """Run a stream's accept step, abandoning it once ``until`` passes without visible
    content: its next read is answered with a timeout instead of being performed."""
    value: Any = None
    while True:
        try:
            effect = flow.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if isinstance(effect, Read) and not effect.whole and clock() >= until:
            value = APITimeoutError(
                f"{target.provider.name} timed out (no content before the first-token timeout)",
                provider=target.provider.name,
                model=target.model,
            )
            continue
        value = yield effect


def _send(
    cand: Candidate,
    key: ApiKey | None,
    request: Request,
    accept: Callable[[Target, ApiKey | None, Any, float], Flow[T]],
    stream: bool,
    first_token: tuple[Callable[[], float], float] | None,
) -> Flow[tuple[T | None, BaseException | None, int | None, float]]:
    """Send one request and accept its answer: (value, None, status, started) on success,
    (None, error, status, started) on a failure worth classifying."""
    target = cand.target
    provider = target.provider
    stats = cand.stats
    stats.in_flight += 1
    try:
        started = time.perf_counter()
        result = yield Send(request, stream)
        if isinstance(result, APIError):  # the driver's mapping of a transport failure
            return None, result, None, started
        if isinstance(result, BaseException):
            raise result
        response = result.response if stream else result
        status = response.status_code
        if status < 300:
            try:
                if first_token is not None:
                    clock, until = first_token
                    value = yield from _first_token(
                        accept(target, key, result, started), clock, until, target
                    )
                else:
                    value = yield from accept(target, key, result, started)
            except APIError as exc:
                return None, exc, status, started
            return value, None, status, started
        if stream:
            content = yield Read(result, whole=True)
            yield Close(result)
            if isinstance(content, BaseException):
                content = b""
        else:
            content = response.content
        return None, provider.codec.error(response, content, target), status, started
    finally:
        stats.in_flight -= 1


def _attempt(
    target: Target,
    key: ApiKey | None,
    started: float,
    status: int | None,
    error: BaseException | None,
    waited: float,
) -> Attempt:
    return Attempt(
        provider=target.provider.name,
        model=target.model,
        key_id=key.id if key is not None else None,
        status_code=status,
        error=type(error).__name__ if error is not None else None,
        error_class=getattr(error, "error_class", None) if error is not None else None,
        latency_ms=(time.perf_counter() - started) * 1000.0,
        wait_ms=waited * 1000.0,
    )


def _bound_timeouts(
    request: Request, stream: bool, settings: RetrySettings, left: float | None
) -> None:
    """Cap the request's timeouts (reads of a stream by the idle timeout, every phase by
    what is left of the call's deadline) and hand the driver the deadline itself, which it
    enforces as wall-clock time over the whole exchange (a stream's body included)."""
    if not isinstance(request, Request):
        return  # a library's own request (the routing API used directly): sent as built
    timeout = request.timeout
    idle = settings.idle_timeout_s if stream else None
    if timeout is not None:
        request.timeout = timeout.capped(read=idle, left=left)
    if left is not None:
        request.deadline_s = max(left, 0.001)


def _call_of(build: Callable[..., Any]) -> Any:
    """The validated call a flow's ``build`` closure holds (the flows do not pass it to the
    loop), for routes whose rules and checks look at the request."""
    code = getattr(build, "__code__", None)
    closure = getattr(build, "__closure__", None)
    if code is None or closure is None or "call" not in code.co_freevars:
        return None
    return closure[code.co_freevars.index("call")].cell_contents


_adhoc_router: Router | None = None


def adhoc_route(targets: Sequence[Target]) -> Route:
    """A route for a plain tuple of targets (a context built without a gateway)."""
    global _adhoc_router
    if _adhoc_router is None:
        _adhoc_router = Router()
    router = _adhoc_router
    candidates = [router._candidate(t, i, None) for i, t in enumerate(targets)]
    return Route(None, router, Branch(candidates, None, False), retry=router.retry)


# -- the loop ------------------------------------------------------------------------------


def attempts(
    ctx: CallContext,
    build: Callable[[Target, str | None], Request],
    accept: Callable[[Target, ApiKey | None, Any, float], Flow[T]],
    stream: bool = False,
    *,
    call: Any = None,
) -> Flow[T]:
    """Try the call's targets in the route's order until one is accepted.

    ``build`` makes the request for a target and key; ``accept`` is a sub-flow that turns a
    2xx answer into the result or raises an :class:`~aigate.APIError` to move on. ``call``
    (the validated call) lets rules and capability checks look at the request.

    What to try, when to wait and when to give up is :class:`AttemptPlan`'s (pure
    decisions); this loop only performs them: it yields the sends, reads, sleeps and remote
    breaker reads and writes as effects, and tells the plan what each attempt did.
    """
    targets = ctx.targets
    route = targets.route if isinstance(targets, Plan) else adhoc_route(targets)
    if call is None and route.needs_features:
        call = _call_of(build)
    order, features = route.plan(ctx, call)
    router = route.router
    settings = route.retry
    store = router.store
    local = not store.remote  # a local store is called inline, not through effects
    clock = router.clock
    tokens = 0
    if features is not None and any(c.pool.counts_tokens for c in order):
        tokens = features.prompt_tokens + features.max_output_tokens
    plan = AttemptPlan(
        route,
        order,
        store=store,
        now=clock(),
        user=ctx.user,
        tokens=tokens,
        attempts=ctx.attempts,
        errors=ctx.errors,
    )
    bounds = settings.bounds_requests
    first_token_s = settings.first_token_timeout_s if stream else None

    while True:
        decision = plan.decide(clock())
        if type(decision) is not Try:
            if type(decision) is Wait:
                yield Sleep(decision.seconds)
            elif type(decision) is Check:
                name, now = decision
                plan.known(name, (yield from check_health(store, name, now)))
            else:
                raise decision.error  # type: ignore[union-attr]
            continue

        cand = decision.cand
        key = cand.pool.keys[decision.key] if decision.key >= 0 else None
        target = cand.target
        request = build(target, key.get() if key is not None else None)
        if bounds:
            deadline = plan.deadline
            left = None if deadline is None else deadline - decision.now
            _bound_timeouts(request, stream, settings, left)
        first_token = None
        if first_token_s is not None:
            first_token = (clock, clock() + first_token_s)
        value, error, status, started = yield from _send(
            cand, key, request, accept, stream, first_token
        )
        ctx.attempts.append(_attempt(target, key, started, status, error, plan.slept))
        if error is None:
            cand.stats.observe((time.perf_counter() - started) * 1000.0, stream)
            marks = plan.succeeded(decision, clock())
        else:
            ctx.errors.append(error)
            marks = plan.failed(decision, error, clock())
            if marks[0].outcome == "fail":  # least_latency counts a failure as slow
                cand.stats.observe(
                    (time.perf_counter() - started) * 1000.0 + _FAILURE_PENALTY_MS, stream
                )
        if local:
            record = store.record
            for name, outcome, at, cooldown, reason in marks:
                record(name, outcome, at, cooldown, reason)
        else:
            for mark in marks:
                yield from record_health(store, *mark)
        if error is None:
            ticket = decision.ticket
            if ticket is not None:
                usage = getattr(value, "usage", None)
                total = getattr(usage, "total_tokens", None)
                if isinstance(total, int):
                    ticket[1] = float(total)
            return value  # type: ignore[return-value]
