"""The attempt loop: one call's tries over its route's targets and keys (a step of the core).

It is a sans-I/O sub-flow of :mod:`aigate._flow`: it yields the same effects (``Send``,
``Read``, ``Close``, ``Sleep``, and ``Call`` for a remote health store) and is driven by the
same two drivers. What it decides, per error class:

- *request* (400, 404, 422, content policy): surfaces at once, never retried; a context
  length error moves only to a target with a larger window;
- *key* (401, 402, 403, ``insufficient_quota``): that key is marked dead and the next key
  of the same provider is tried at once;
- *transient* (429, 5xx, 529, timeouts, resets, unreadable answers): the target is retried
  ``retries`` times with full-jitter backoff (or the provider's Retry-After, up to a cap),
  then the call fails over. A 429 cools only its key, so a retry uses another key.

Targets and keys whose breaker is open are skipped; when nothing else is left, the loop
waits for the earliest recovery if the call's deadline (or the retry cap) allows it, else
raises :class:`~aigate.AllTargetsFailed` with ``retry_at``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ._effects import Call, Close, Read, Send, Sleep
from ._exceptions import (
    AigateError,
    AllTargetsFailed,
    APIError,
    APITimeoutError,
    ContextLengthExceededError,
    RateLimitError,
)
from ._models import Attempt
from ._wire import Request
from .routing._decisions import retry_after
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


def _give_up(
    ctx: CallContext,
    route: Route,
    retry_at: float | None,
    untried: bool,
    now: float,
    waits: str = "",
) -> AigateError:
    errors = ctx.errors
    last = errors[-1] if errors else None
    if (
        len(ctx.attempts) == 1
        and isinstance(last, AigateError)
        and (not untried or getattr(last, "error_class", None) == "request")
    ):
        return last  # one attempt: its own error (a request error would fail anywhere)
    what = f"route {route.name!r}" if route.name else "the target"
    if ctx.attempts:
        names = ", ".join(f"{a.provider}/{a.model}: {a.error}" for a in ctx.attempts)
        message = f"all {len(ctx.attempts)} attempts failed ({names})"
    else:
        message = f"no target of {what} could be tried now"
    if retry_at is not None:
        message += f"; the first one may accept calls again in {max(retry_at - now, 0):.1f}s"
        if waits:
            message += f" ({waits})"
    failed = AllTargetsFailed(message, attempts=ctx.attempts, errors=errors, retry_at=retry_at)
    if errors:
        failed.__cause__ = errors[-1]
    return failed


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
    """
    plan = ctx.targets
    route = plan.route if isinstance(plan, Plan) else adhoc_route(plan)
    if call is None and route.needs_features:
        call = _call_of(build)
    order, features = route.plan(ctx, call)
    router = route.router
    settings = route.retry
    store = router.store
    local = not store.remote  # a local store is called inline, not through effects
    clock = router.clock
    user = ctx.user
    max_attempts = settings.max_attempts
    bounds = settings.bounds_requests
    deadline = clock() + settings.deadline_s if settings.deadline_s is not None else None

    queue: Sequence[Candidate] = order
    pos = 0
    sent = 0
    slept = 0.0  # seconds slept since the last attempt (Attempt.wait_ms)
    tries: dict[str, int] = {}  # transient failures per target in this call
    tried: set[str] = set()
    blocked: dict[str, tuple[Candidate, float]] = {}  # skipped now, and when they recover
    cooling: set[str] = set()  # blocked because every key is cooling after a 429
    keyed: dict[str, str] = {}  # blocked by their keys: the key ids (for the message)
    waits = 0

    while True:
        if pos >= len(queue):
            # Every target was tried or skipped. Wait for the earliest skipped one to
            # recover, when the deadline (or the retry cap) allows it.
            if not blocked or sent >= max_attempts or waits >= max_attempts:
                break
            until = min(u for _, u in blocked.values())
            now = clock()
            wait = max(until - now, 0.0)
            patient = deadline is not None or settings.retries > 0
            if not _may_wait(wait, now, settings, deadline, patient):
                break
            if wait > 0:
                yield Sleep(wait)
                slept += wait
            waits += 1
            queue = [c for c in queue if c.name in blocked]
            blocked = {}
            pos = 0
            continue

        cand = queue[pos]
        now = clock()
        if sent >= max_attempts or (deadline is not None and now >= deadline):
            break
        until = (
            store.check(cand.name, now)
            if local
            else (yield from check_health(store, cand.name, now))
        )
        if until:
            blocked[cand.name] = (cand, until)
            pos += 1
            continue

        pool = cand.pool
        key: ApiKey | None = None
        ticket: list[float] | None = None
        if pool.keys:
            tokens = 0
            if pool.counts_tokens and features is not None:
                tokens = features.prompt_tokens + features.max_output_tokens
            index, until = yield from pick_key(cand, store, now, user, tokens)
            if index < 0:
                # Every key is cooling, dead or at its cap. A retry may wait for one.
                wait = until - now
                if (
                    cand.name in tries
                    and waits < max_attempts
                    and _may_wait(wait, now, settings, deadline, patient=True)
                ):
                    yield Sleep(wait)
                    slept += wait
                    waits += 1
                    continue
                blocked[cand.name] = (cand, until)
                keyed[cand.name] = ", ".join(k.id for k in pool.keys)
                if local and _rate_limited(store, pool.names):
                    cooling.add(cand.name)
                pos += 1
                continue
            key = pool.keys[index]
            ticket = pool.take(index, now, tokens)

        target = cand.target
        request = build(target, key.get() if key is not None else None)
        if bounds:
            _bound_timeouts(request, stream, settings, None if deadline is None else deadline - now)
        first_token = None
        if stream and settings.first_token_timeout_s is not None:
            first_token = (clock, clock() + settings.first_token_timeout_s)
        value, error, status, started = yield from _send(
            cand, key, request, accept, stream, first_token
        )
        sent += 1
        tried.add(cand.name)
        key_name = pool.names[index] if key is not None else None

        if error is None:
            ctx.attempts.append(_attempt(target, key, started, status, None, slept))
            cand.stats.observe((time.perf_counter() - started) * 1000.0, stream)
            now = clock()
            if local:
                store.record(cand.name, "ok", now)
                if key_name is not None:
                    store.record(key_name, "ok", now)
            else:
                yield from record_health(store, cand.name, "ok", now)
                if key_name is not None:
                    yield from record_health(store, key_name, "ok", now)
            if ticket is not None:
                usage = getattr(value, "usage", None)
                total = getattr(usage, "total_tokens", None)
                if isinstance(total, int):
                    ticket[1] = float(total)
            return value  # type: ignore[return-value]

        ctx.attempts.append(_attempt(target, key, started, status, error, slept))
        ctx.errors.append(error)
        slept = 0.0
        now = clock()
        error_class = getattr(error, "error_class", "transient")
        reason = type(error).__name__

        if error_class == "request":
            yield from record_health(store, cand.name, "ok", now)  # it answered: the target is up
            if isinstance(error, ContextLengthExceededError) and cand.window:
                window = cand.window
                larger = [c for c in queue[pos + 1 :] if c.window and c.window > window]
                blocked = {n: b for n, b in blocked.items() if (b[0].window or 0) > window}
                if larger or blocked:
                    queue, pos = larger, 0
                    continue
            break

        if error_class == "key":
            yield from record_health(store, cand.name, "ok", now)
            if key_name is not None:
                yield from record_health(store, key_name, "dead", now, reason=reason)
                continue  # the next key of the same provider, at once
            pos += 1
            continue

        # transient
        delay = retry_after(error)
        rate_limited = isinstance(error, RateLimitError) and key_name is not None
        if rate_limited:
            # a 429 is about the key (its org's limits): cool it, leave the target alone
            delay = delay if delay is not None else settings.key_cooldown_s
            yield from record_health(store, key_name, "cool", now, delay, reason)  # type: ignore[arg-type]
        else:
            yield from record_health(store, cand.name, "fail", now, delay or 0.0, reason)
            cand.stats.observe(
                (time.perf_counter() - started) * 1000.0 + _FAILURE_PENALTY_MS, stream
            )
        n = tries[cand.name] = tries.get(cand.name, 0) + 1
        # Retry here unless retries are spent, or the provider asked for a longer pause than
        # the cap or the deadline allows (then another target is the better bet).
        if n <= settings.retries and sent < max_attempts:
            if rate_limited and len(pool.keys) > 1:
                wait = 0.0  # the retry goes to another key (or waits for one to cool)
            else:
                wait = max(settings.backoff(n), delay or 0.0)
            if _may_wait(wait, now, settings, deadline, patient=True):
                if wait > 0:
                    yield Sleep(wait)
                    slept += wait
                continue
        pos += 1

    retry_at = min((u for _, u in blocked.values()), default=None)
    untried = any(name not in tried for name in blocked)
    now = clock()
    if route.name is None and not ctx.attempts and blocked and set(blocked) <= cooling:
        raise _still_limited(next(iter(blocked.values()))[0].target, (retry_at or now) - now)
    raise _give_up(ctx, route, retry_at, untried, now, describe_waits(blocked, keyed, now))


def describe_waits(
    blocked: dict[str, tuple[Candidate, float]], keyed: dict[str, str], now: float
) -> str:
    """Each blocked target with what blocks it and for how long (issue 14.10)."""
    parts = []
    for name, (_, until) in sorted(blocked.items(), key=lambda item: item[1][1]):
        why = f"keys {keyed[name]} cooling, dead or capped" if name in keyed else "breaker open"
        parts.append(f"{name} ({why}) in {max(until - now, 0):.1f}s")
    return "; ".join(parts)


def _rate_limited(store: HealthStore, names: Sequence[str]) -> bool:
    """Whether every key of a pool is cooling after a 429 (not dead, not at a local cap)."""
    states = store.states(names)
    return bool(states) and all(
        b.state != "dead" and b.reason == "RateLimitError" for b in states.values()
    )


def _still_limited(target: Target, wait: float) -> RateLimitError:
    """A direct call whose only target's keys all cool after a 429: the provider's rate
    limit again (issue 14.11: never a different error class), with the wait it asked for."""
    from ._models import RateLimitInfo
    from ._wire import Response

    wait = max(wait, 0.0)
    return RateLimitError(
        f"{target.name} is rate limited (429): every key is cooling; retry in {wait:.1f}s "
        "(or set retry.deadline_s to let the call wait)",
        response=Response(429),
        rate_limit=RateLimitInfo(retry_after_s=wait),
        provider=target.provider.name,
        model=target.model,
    )


def _may_wait(
    wait: float, now: float, settings: RetrySettings, deadline: float | None, patient: bool
) -> bool:
    """Whether a call may sleep ``wait`` seconds: within the retry cap, before the deadline,
    and only when it has a reason to be patient (a retry, or a deadline to honour)."""
    if not patient or wait > settings.retry_after_cap_s:
        return False
    return deadline is None or now + wait < deadline
