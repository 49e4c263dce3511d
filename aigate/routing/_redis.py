"""Breakers in Redis, shared by every process and host that routes to the same providers.

Each breaker is one hash (``state``, ``failures``, ``first``, ``until``, ``reason``) changed
only by the two Lua scripts below, so a transition is atomic across processes. The rules
are those of :func:`~aigate.routing.check_breaker` and
:func:`~aigate.routing.record_breaker`; the conformance tests run both stores.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from ._health import BreakerSettings, BreakerState, Outcome

__all__ = ["RedisHealthStore"]

# KEYS[1] breaker; ARGV now, probe_timeout. Returns {until, clean}: until "0" when a call
# may go (claiming a due probe); clean 1 when closed with no failures counted.
_CHECK = """
local h = redis.call('HMGET', KEYS[1], 'state', 'until', 'failures')
local state = h[1] or 'closed'
local now = tonumber(ARGV[1])
if state == 'closed' then
  if (tonumber(h[3]) or 0) == 0 then return {'0', 1} end
  return {'0', 0}
end
local untl = tonumber(h[2]) or 0
if now < untl then return {h[2], 0} end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'until', tostring(now + tonumber(ARGV[2])))
return {'0', 0}
"""

# KEYS[1] breaker; ARGV outcome, now, cooldown, reason, failures, window, cooldown_s, dead_s.
_RECORD = """
local key = KEYS[1]
local outcome = ARGV[1]
local now = tonumber(ARGV[2])
local hint = tonumber(ARGV[3])
local reason = ARGV[4]
local limit = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local cooldown = tonumber(ARGV[7])
local dead_s = tonumber(ARGV[8])
if outcome == 'ok' then
  redis.call('DEL', key)
  return 0
end
local h = redis.call('HMGET', key, 'state', 'failures', 'first', 'until')
local state = h[1] or 'closed'
local failures = tonumber(h[2]) or 0
local first = tonumber(h[3]) or 0
local untl = tonumber(h[4]) or 0
if outcome == 'dead' then
  state = 'dead'
  untl = math.max(untl, now + dead_s)
elseif outcome == 'cool' then
  if state ~= 'dead' then state = 'open' end
  failures = failures + 1
  untl = math.max(untl, now + hint)
elseif state == 'half_open' then
  state = 'open'
  failures = failures + 1
  untl = now + math.max(cooldown, hint)
elseif state == 'open' or state == 'dead' then
  untl = math.max(untl, now + hint)
else
  if failures == 0 or now - first > window then
    failures = 1
    first = now
  else
    failures = failures + 1
  end
  if failures >= limit then
    state = 'open'
    untl = math.max(untl, now + math.max(cooldown, hint))
  end
end
redis.call('HSET', key, 'state', state, 'failures', failures, 'first', tostring(first),
  'until', tostring(untl))
if reason ~= '' then redis.call('HSET', key, 'reason', reason) end
redis.call('EXPIRE', key, math.ceil(math.max(untl - now, 0) + window + 60))
return 1
"""


class RedisHealthStore:
    """Breakers under ``prefix`` in Redis. Sync methods use a ``redis.Redis`` client and the
    ``a``-methods a ``redis.asyncio`` one, each made on first use; both run the same scripts.

    A success on a breaker this process last saw clean costs no round trip.
    """

    remote = True

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        settings: BreakerSettings | None = None,
        prefix: str = "aigate:health:",
        timeout: float = 1.0,
        client: Any = None,
        aclient: Any = None,
    ) -> None:
        self.settings = settings or BreakerSettings()
        self.prefix = prefix
        self._url = url
        self._timeout = timeout
        self._client = client
        self._aclient = aclient
        self._aloop: object = None
        self._owns_client = client is None
        self._owns_aclient = aclient is None
        self._scripts: tuple[Any, Any] | None = None
        self._ascripts: tuple[Any, Any] | None = None
        self._lock = threading.Lock()
        self._dirty: set[str] = set()  # breakers last seen with failures or open

    # -- shared -------------------------------------------------------------------------

    def _record_args(
        self, outcome: Outcome, now: float, cooldown: float, reason: str | None
    ) -> list[Any]:
        s = self.settings
        return [
            outcome,
            repr(now),
            repr(cooldown),
            reason or "",
            s.failures,
            repr(s.window_s),
            repr(s.cooldown_s),
            repr(s.dead_s),
        ]

    def _skip_ok(self, name: str, outcome: Outcome) -> bool:
        if outcome == "ok":
            if name not in self._dirty:
                return True
            self._dirty.discard(name)
        else:
            self._dirty.add(name)
        return False

    def _seen(self, name: str, result: Any) -> float:
        until, clean = result
        if int(clean):
            self._dirty.discard(name)
        else:
            self._dirty.add(name)
        return float(until)

    @staticmethod
    def _state(raw: dict[Any, Any]) -> BreakerState:
        def text(field: str) -> str | None:
            value = raw.get(field.encode(), raw.get(field))
            return value.decode() if isinstance(value, bytes) else value

        return BreakerState(
            state=text("state") or "closed",
            failures=int(text("failures") or 0),
            first_failure_at=float(text("first") or 0.0),
            open_until=float(text("until") or 0.0),
            reason=text("reason") or None,
        )

    # -- sync ---------------------------------------------------------------------------

    def check(self, name: str, now: float) -> float:
        client, scripts = self._sync()
        result = scripts[0](
            keys=[self.prefix + name],
            args=[repr(now), repr(self.settings.probe_timeout_s)],
            client=client,
        )
        return self._seen(name, result)

    def record(
        self,
        name: str,
        outcome: Outcome,
        now: float,
        cooldown: float = 0.0,
        reason: str | None = None,
    ) -> None:
        if self._skip_ok(name, outcome):
            return
        client, scripts = self._sync()
        scripts[1](
            keys=[self.prefix + name],
            args=self._record_args(outcome, now, cooldown, reason),
            client=client,
        )

    def states(self, names: Iterable[str]) -> dict[str, BreakerState]:
        names = list(names)
        client, _ = self._sync()
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self.prefix + name)
        return {n: self._state(raw) for n, raw in zip(names, pipe.execute(), strict=True) if raw}

    def reset(self) -> None:
        """Forget every breaker under the prefix."""
        client, _ = self._sync()
        names = list(client.scan_iter(match=self.prefix + "*", count=1000))
        if names:
            client.unlink(*names)
        self._dirty.clear()

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
            self._client = None
            self._scripts = None

    # -- async --------------------------------------------------------------------------

    async def acheck(self, name: str, now: float) -> float:
        client, scripts = self._async()
        result = await scripts[0](
            keys=[self.prefix + name],
            args=[repr(now), repr(self.settings.probe_timeout_s)],
            client=client,
        )
        return self._seen(name, result)

    async def arecord(
        self,
        name: str,
        outcome: Outcome,
        now: float,
        cooldown: float = 0.0,
        reason: str | None = None,
    ) -> None:
        if self._skip_ok(name, outcome):
            return
        client, scripts = self._async()
        await scripts[1](
            keys=[self.prefix + name],
            args=self._record_args(outcome, now, cooldown, reason),
            client=client,
        )

    async def astates(self, names: Iterable[str]) -> dict[str, BreakerState]:
        names = list(names)
        client, _ = self._async()
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self.prefix + name)
        return {
            n: self._state(raw) for n, raw in zip(names, await pipe.execute(), strict=True) if raw
        }

    async def aclose(self) -> None:
        if self._aclient is not None and self._owns_aclient:
            await self._aclient.aclose()
            self._aclient = None
            self._ascripts = None
        self.close()

    # -- clients ------------------------------------------------------------------------

    def _options(self, retry_type: Any) -> dict[str, Any]:
        from redis.backoff import NoBackoff

        return {
            "socket_timeout": self._timeout,
            "socket_connect_timeout": self._timeout,
            "retry": retry_type(NoBackoff(), 1),
        }

    def _sync(self) -> tuple[Any, tuple[Any, Any]]:
        if self._scripts is None:
            with self._lock:
                if self._client is None:
                    import redis
                    from redis.retry import Retry

                    self._client = redis.Redis.from_url(self._url, **self._options(Retry))
                client = self._client
                self._scripts = (client.register_script(_CHECK), client.register_script(_RECORD))
        return self._client, self._scripts

    def _async(self) -> tuple[Any, tuple[Any, Any]]:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._ascripts is None or (self._owns_aclient and self._aloop is not loop):
            # a redis.asyncio client belongs to the loop that made it: a new loop (a second
            # asyncio.run) gets a new client rather than a pool of dead connections
            if self._owns_aclient:
                import redis.asyncio
                from redis.asyncio.retry import Retry

                self._aclient = redis.asyncio.Redis.from_url(self._url, **self._options(Retry))
            client = self._aclient
            self._ascripts = (client.register_script(_CHECK), client.register_script(_RECORD))
            self._aloop = loop
        return self._aclient, self._ascripts

    def __repr__(self) -> str:
        from ..cache._redis import redact_url

        return f"RedisHealthStore({redact_url(self._url)!r}, prefix={self.prefix!r})"
