"""The attempt loop's decisions for one call: pure, with no effects (tenacity's shape).

:class:`AttemptPlan` holds what a call has tried, what is blocked and for how long, and
what the retry settings allow; it answers "what now?" with one decision at a time:

- :class:`Try`: send to this candidate, with this key (``key`` -1: the provider has none);
- :class:`Check`: read this breaker first (only for a remote health store, whose reads are
  effects: the driver reads it and hands the value to :meth:`AttemptPlan.known`);
- :class:`Wait`: sleep this long, then ask again;
- :class:`Stop`: give up with this error.

After a :class:`Try` the driver reports what happened (:meth:`AttemptPlan.failed` answers
with the breaker :class:`Mark`\\ s to write). The plan never sends, sleeps or writes a store
itself: :func:`aigate._attempts.attempts` drives it, yielding the effects. A local health
store is read inline (``check``), since a read of process memory is no effect.

What it decides, per error class:

- *request* (400, 404, 422, content policy): surfaces at once, never retried; a context
  length error moves only to a target with a larger window;
- *key* (401, 402, 403, ``insufficient_quota``): that key is marked dead and the next key
  of the same provider is tried at once;
- *transient* (429, 5xx, 529, timeouts, resets, unreadable answers): the target is retried
  ``retries`` times with full-jitter backoff (or the provider's Retry-After, up to a cap),
  then the call fails over. A 429 cools only its key, so a retry uses another key.

Targets and keys whose breaker is open are skipped; when nothing else is left, the plan
waits for the earliest recovery if the call's deadline (or the retry cap) allows it, else
stops with :class:`~aigate.AllTargetsFailed` and its ``retry_at``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from .._exceptions import (
    AigateError,
    AllTargetsFailed,
    ContextLengthExceededError,
    RateLimitError,
)
from ._decisions import retry_after

if TYPE_CHECKING:
    from .._models import Attempt
    from ..providers._base import ApiKey, Target
    from ._health import HealthStore, Outcome
    from ._keys import KeyPool
    from ._policies import Candidate
    from ._router import Route

__all__ = [
    "AttemptPlan",
    "Check",
    "Mark",
    "Stop",
    "Try",
    "Wait",
    "describe_waits",
]


class Try(NamedTuple):
    """Send to ``cand`` with key number ``key`` of its pool (-1: no key); ``ticket`` is the
    key's rate-limit reservation, corrected to the call's real tokens after a success."""

    cand: Candidate
    key: int
    ticket: list[float] | None
    now: float

    @property
    def api_key(self) -> ApiKey | None:
        return self.cand.pool.keys[self.key] if self.key >= 0 else None

    @property
    def key_name(self) -> str | None:
        return self.cand.pool.names[self.key] if self.key >= 0 else None


class Check(NamedTuple):
    """Read breaker ``name`` at ``now`` (a remote store's read is an effect), then ask again."""

    name: str
    now: float


class Wait(NamedTuple):
    """Sleep ``seconds``, then ask again."""

    seconds: float


class Stop(NamedTuple):
    """Give up: raise ``error``."""

    error: AigateError


class Mark(NamedTuple):
    """Write one attempt's outcome to breaker ``name`` (``cooldown``: the wait a 429 or a
    Retry-After asked for)."""

    name: str
    outcome: Outcome
    now: float
    cooldown: float = 0.0
    reason: str | None = None


Decision = Try | Check | Wait | Stop

# A NamedTuple's own __new__ is a Python function; the two built on every call (a Try and
# its success Marks) are made with tuple's, in C.
_new = tuple.__new__


class AttemptPlan:
    """One call's attempts over ``order`` (the route's candidates for it), as decisions.

    ``attempts`` and ``errors`` are the call's lists (the driver appends to them; the plan
    reads them to word its final error). ``check`` reads a local store's breaker inline;
    None makes every read a :class:`Check` decision.
    """

    __slots__ = (
        "_ask",
        "_backoff",
        "_check",
        "_halted",
        "_known",
        "_order",
        "attempts",
        "blocked",
        "cooling",
        "deadline",
        "errors",
        "keyed",
        "pos",
        "queue",
        "route",
        "sent",
        "settings",
        "slept",
        "store",
        "tokens",
        "tried",
        "tries",
        "user",
        "waits",
    )

    def __init__(
        self,
        route: Route,
        order: Sequence[Candidate],
        *,
        store: HealthStore,
        now: float,
        user: str | None = None,
        tokens: int = 0,
        attempts: list[Attempt],
        errors: list[BaseException],
    ) -> None:
        settings = route.retry
        self.route = route
        self.settings = settings
        self.store = store
        self._check: Callable[[str, float], float] | None = None if store.remote else store.check
        self.user = user
        self.tokens = tokens  # prompt + most output tokens: what a key's tpm cap counts
        self.attempts = attempts
        self.errors = errors
        self.deadline = now + settings.deadline_s if settings.deadline_s is not None else None
        self.queue: Sequence[Candidate] = order
        self.pos = 0
        self.sent = 0
        self.waits = 0
        self.slept = 0.0  # seconds slept since the last attempt (Attempt.wait_ms)
        # Made when first needed (most calls succeed at once and need none of them):
        self.tries: dict[str, int] | None = None  # transient failures per target
        self.tried: set[str] | None = None  # targets that failed
        self.blocked: dict[str, tuple[Candidate, float]] | None = None  # skipped; recover at
        self.cooling: set[str] | None = None  # blocked because every key cools after a 429
        self.keyed: dict[str, str] | None = None  # blocked by their keys: the key ids
        # a remote store's reads in this decision, and the key order drawn for it (drawing
        # again would turn the round robin a second time)
        self._known: dict[str, float] | None = None
        self._order: Sequence[int] | None = None
        self._ask = ""  # the breaker a Check asks for
        self._backoff = 0.0  # a retry's wait, taken by the next decision
        self._halted = False  # a request error: no other target can help

    # -- deciding -------------------------------------------------------------------------

    def decide(self, now: float) -> Decision:
        """The next step. Safe to ask again after a :class:`Check` was answered: what was
        settled before it stays settled, and the read is not repeated."""
        settings = self.settings
        max_attempts = settings.max_attempts
        deadline = self.deadline
        if self._halted:
            return self._stop(now)
        if self._backoff:
            wait, self._backoff = self._backoff, 0.0
            return self._wait(wait)
        while True:
            queue = self.queue
            if self.pos >= len(queue):
                # Every target was tried or skipped. Wait for the earliest skipped one to
                # recover, when the deadline (or the retry cap) allows it.
                blocked = self.blocked
                if not blocked or self.sent >= max_attempts or self.waits >= max_attempts:
                    return self._stop(now)
                wait = max(min(u for _, u in blocked.values()) - now, 0.0)
                patient = deadline is not None or settings.retries > 0
                if not self._may_wait(wait, now, patient):
                    return self._stop(now)
                self.waits += 1
                self.queue = [c for c in queue if c.name in blocked]
                self.blocked = None
                self.pos = 0
                if wait > 0:
                    return self._wait(wait)
                continue

            cand = queue[self.pos]
            if self.sent >= max_attempts or (deadline is not None and now >= deadline):
                return self._stop(now)
            check = self._check  # inline for a local store: this runs on every call
            until = check(cand.name, now) if check is not None else self._read(cand.name, now)
            if until is None:
                return Check(self._ask, now)
            if until:
                self._block(cand, until)
                self.pos += 1
                continue

            pool = cand.pool
            if not pool.keys:
                return self._try(cand, -1, None, now)
            index, until = self._pick_key(cand, now)
            if index == -2:
                return Check(self._ask, now)
            if index >= 0:
                tokens = self.tokens if pool.counts_tokens else 0
                return self._try(cand, index, pool.take(index, now, tokens), now)
            # Every key is cooling, dead or at its cap. A retry may wait for one.
            wait = until - now
            if (
                self.tries is not None
                and cand.name in self.tries
                and self.waits < max_attempts
                and self._may_wait(wait, now, patient=True)
            ):
                self.waits += 1
                return self._wait(wait)
            self._block(cand, until)
            if self.keyed is None:
                self.keyed = {}
            self.keyed[cand.name] = ", ".join(k.id for k in pool.keys)
            if self._check is not None and _rate_limited(self.store, pool.names):
                if self.cooling is None:
                    self.cooling = set()
                self.cooling.add(cand.name)
            self.pos += 1
            self._order = None

    def known(self, name: str, until: float) -> None:
        """The answer to a :class:`Check`."""
        if self._known is None:
            self._known = {}
        self._known[name] = until

    def _read(self, name: str, now: float) -> float | None:
        """A remote store's breaker as a Check answered it, or None (then ``_ask`` names it)."""
        until = self._known.get(name) if self._known is not None else None
        if until is None:
            self._ask = name
        return until

    def _pick_key(self, cand: Candidate, now: float) -> tuple[int, float]:
        """(index of the key to use, 0.0), (-1, when the first key frees up), or (-2, 0.0)
        when a key's breaker must be read first (``_ask``)."""
        pool = cand.pool
        order = self._order
        if order is None:
            order = self._order = pool.order(self.user)
        earliest = float("inf")
        check, names = self._check, pool.names
        for i in order:
            until = check(names[i], now) if check is not None else self._read(names[i], now)
            if until is None:
                return -2, 0.0
            if not until and pool.limited:
                until = pool.limit_wait(i, now, self._tokens(pool))
            if not until:
                return i, 0.0
            earliest = min(earliest, until)
        return -1, earliest

    def _tokens(self, pool: KeyPool) -> int:
        return self.tokens if pool.counts_tokens else 0

    def _try(self, cand: Candidate, key: int, ticket: list[float] | None, now: float) -> Try:
        self._known = self._order = None
        self.sent += 1
        return _new(Try, (cand, key, ticket, now))

    def _block(self, cand: Candidate, until: float) -> None:
        if self.blocked is None:
            self.blocked = {}
        self.blocked[cand.name] = (cand, until)

    def _wait(self, seconds: float) -> Wait:
        self._known = self._order = None
        self.slept += seconds
        return Wait(seconds)

    def _may_wait(self, wait: float, now: float, patient: bool) -> bool:
        """Whether the call may sleep ``wait`` seconds: within the retry cap, before the
        deadline, and only when it has a reason to be patient (a retry, or a deadline)."""
        if not patient or wait > self.settings.retry_after_cap_s:
            return False
        return self.deadline is None or now + wait < self.deadline

    # -- outcomes -------------------------------------------------------------------------

    def succeeded(self, attempt: Try, now: float) -> tuple[Mark, ...]:
        """A 2xx accepted: the target's breaker (and its key's) close."""
        self.slept = 0.0
        cand, key = attempt.cand, attempt.key
        target = _new(Mark, (cand.name, "ok", now, 0.0, None))
        if key < 0:
            return (target,)
        return target, _new(Mark, (cand.pool.names[key], "ok", now, 0.0, None))

    def failed(self, attempt: Try, error: BaseException, now: float) -> tuple[Mark, ...]:
        """What ``error`` means for the breakers, and for the next decision: a retry here
        (after a backoff), another key, another target, or the end."""
        self.slept = 0.0
        cand, key_name = attempt.cand, attempt.key_name
        if self.tried is None:
            self.tried = set()
        self.tried.add(cand.name)
        error_class = getattr(error, "error_class", "transient")
        reason = type(error).__name__

        if error_class == "request":
            # It answered, so the target is up; the request would fail anywhere, unless a
            # larger context window can take it.
            up = (Mark(cand.name, "ok", now),)
            if isinstance(error, ContextLengthExceededError) and cand.window:
                window = cand.window
                larger = [c for c in self.queue[self.pos + 1 :] if c.window and c.window > window]
                self.blocked = {
                    n: b for n, b in (self.blocked or {}).items() if (b[0].window or 0) > window
                }
                if larger or self.blocked:
                    self.queue, self.pos = larger, 0
                    return up
            self._halted = True
            return up

        if error_class == "key":
            if key_name is not None:  # the next key of the same provider, at once
                return Mark(cand.name, "ok", now), Mark(key_name, "dead", now, reason=reason)
            self.pos += 1
            return (Mark(cand.name, "ok", now),)

        # transient
        settings = self.settings
        delay = retry_after(error)
        if isinstance(error, RateLimitError) and key_name is not None:
            # a 429 is about the key (its org's limits): cool it, leave the target alone
            delay = delay if delay is not None else settings.key_cooldown_s
            marks = (Mark(key_name, "cool", now, delay, reason),)
            other_key = len(cand.pool.keys) > 1
        else:
            marks = (Mark(cand.name, "fail", now, delay or 0.0, reason),)
            other_key = False
        tries = self.tries
        if tries is None:
            tries = self.tries = {}
        n = tries[cand.name] = tries.get(cand.name, 0) + 1
        # Retry here unless retries are spent, or the provider asked for a longer pause than
        # the cap or the deadline allows (then another target is the better bet).
        if n <= settings.retries and self.sent < settings.max_attempts:
            # a 429 with another key: the retry goes to that key (or waits for one to cool)
            wait = 0.0 if other_key else max(settings.backoff(n), delay or 0.0)
            if self._may_wait(wait, now, patient=True):
                self._backoff = wait
                return marks
        self.pos += 1
        return marks

    # -- giving up ------------------------------------------------------------------------

    def _stop(self, now: float) -> Stop:
        self._known = None
        blocked = self.blocked or {}
        tried = self.tried or set()
        retry_at = min((u for _, u in blocked.values()), default=None)
        untried = any(name not in tried for name in blocked)
        route = self.route
        cooling = self.cooling or set()
        if route.name is None and not self.attempts and blocked and set(blocked) <= cooling:
            cand = next(iter(blocked.values()))[0]
            return Stop(_still_limited(cand.target, (retry_at or now) - now))
        waits = describe_waits(blocked, self.keyed or {}, now)
        return Stop(self._give_up(retry_at, untried, now, waits))

    def _give_up(
        self, retry_at: float | None, untried: bool, now: float, waits: str
    ) -> AigateError:
        errors, attempts = self.errors, self.attempts
        last = errors[-1] if errors else None
        if (
            len(attempts) == 1
            and isinstance(last, AigateError)
            and (not untried or getattr(last, "error_class", None) == "request")
        ):
            return last  # one attempt: its own error (a request error would fail anywhere)
        route = self.route
        what = f"route {route.name!r}" if route.name else "the target"
        if attempts:
            names = ", ".join(f"{a.provider}/{a.model}: {a.error}" for a in attempts)
            message = f"all {len(attempts)} attempts failed ({names})"
        else:
            message = f"no target of {what} could be tried now"
        if retry_at is not None:
            message += f"; the first one may accept calls again in {max(retry_at - now, 0):.1f}s"
            if waits:
                message += f" ({waits})"
        failed = AllTargetsFailed(message, attempts=attempts, errors=errors, retry_at=retry_at)
        if errors:
            failed.__cause__ = errors[-1]
        return failed


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
    from .._models import RateLimitInfo
    from .._wire import Response

    wait = max(wait, 0.0)
    return RateLimitError(
        f"{target.name} is rate limited (429): every key is cooling; retry in {wait:.1f}s "
        "(or set retry.deadline_s to let the call wait)",
        response=Response(429),
        rate_limit=RateLimitInfo(retry_after_s=wait),
        provider=target.provider.name,
        model=target.model,
    )
