"""Client-side rate limits (requests and tokens per minute) as exact sliding-window logs.

Each key keeps a log of what it admitted in the last ``window_s`` seconds (one entry per
call: time, requests, tokens). A call is admitted only if the log plus the call fits
both limits, so over *every* interval of ``window_s`` seconds a key never admits more
than ``rpm`` requests or ``tpm`` tokens (as recorded: estimates, reconciled with `adjust`
when the call carries a ``ticket``). When it does not fit, the answer is how long until
enough of the log has aged out. The cost is one entry per admitted call in the window
(``rpm`` entries at most). Times come from the caller (``now``, default the store's
clock) and are made monotonic per key, so hosts with skewed clocks stay consistent; the
skew itself is the only imprecision.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["MemoryRateLimiter", "RateLimiter", "RedisRateLimiter"]


@runtime_checkable
class RateLimiter(Protocol):
    """Admits calls under rpm/tpm limits per key; shared by processes when the backend is.

    ``acquire`` returns 0 when the call is admitted (and counted), otherwise the seconds
    to wait before it could be (``math.inf`` if it never fits: more tokens than ``tpm``).
    ``adjust`` reconciles the tokens of an admitted call: with the ``ticket`` it was
    acquired with, exactly; without, a positive delta is counted now and a negative one
    is ignored (both err on the safe side).
    """

    def acquire(
        self,
        key: str,
        *,
        requests: int = 1,
        tokens: int = 0,
        rpm: int | None = None,
        tpm: int | None = None,
        ticket: str | None = None,
        now: float | None = None,
    ) -> float: ...

    def adjust(
        self, key: str, token_delta: int, *, ticket: str | None = None, now: float | None = None
    ) -> None: ...

    def release(self, key: str, ticket: str, *, now: float | None = None) -> None:
        """Undo an admitted acquire (the call was not made after all)."""
        ...

    # The async twins the AsyncGateway awaits (a local limiter runs the sync method).

    async def aacquire(
        self,
        key: str,
        *,
        requests: int = 1,
        tokens: int = 0,
        rpm: int | None = None,
        tpm: int | None = None,
        ticket: str | None = None,
        now: float | None = None,
    ) -> float: ...

    async def aadjust(
        self, key: str, token_delta: int, *, ticket: str | None = None, now: float | None = None
    ) -> None: ...

    async def arelease(self, key: str, ticket: str, *, now: float | None = None) -> None: ...


def _never_fits(requests: int, tokens: int, rpm: int | None, tpm: int | None) -> bool:
    return (rpm is not None and requests > rpm) or (tpm is not None and tokens > tpm)


@dataclass(slots=True)
class _Entry:
    at: float
    requests: int
    tokens: int
    ticket: str | None


@dataclass(slots=True)
class _Log:
    entries: deque[_Entry] = field(default_factory=deque)
    tickets: dict[str, _Entry] = field(default_factory=dict)
    requests: int = 0
    tokens: int = 0
    last: float = -math.inf


class MemoryRateLimiter:
    """A process-local sliding-window rate limiter (thread-safe)."""

    def __init__(self, *, window_s: float = 60.0, clock: Callable[[], float] = time.time):
        self.window_s = window_s
        self.clock = clock
        self._logs: dict[str, _Log] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def __repr__(self) -> str:
        return f"MemoryRateLimiter(window_s={self.window_s}, keys={len(self._logs)})"

    def _log(self, key: str, now: float | None) -> tuple[_Log, float]:
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _Log()
        at = max(self.clock() if now is None else now, log.last)
        log.last = at
        cutoff = at - self.window_s
        entries = log.entries
        while entries and entries[0].at <= cutoff:
            old = entries.popleft()
            log.requests -= old.requests
            log.tokens -= old.tokens
            if old.ticket is not None:
                log.tickets.pop(old.ticket, None)
        return log, at

    def _prune(self, at: float) -> None:
        # Forget keys idle for a whole window (their logs are empty by then).
        self._calls += 1
        if self._calls % 1024 == 0:
            idle = at - self.window_s
            for key in [k for k, log in self._logs.items() if log.last <= idle]:
                del self._logs[key]

    def acquire(
        self,
        key: str,
        *,
        requests: int = 1,
        tokens: int = 0,
        rpm: int | None = None,
        tpm: int | None = None,
        ticket: str | None = None,
        now: float | None = None,
    ) -> float:
        """0 if admitted (and counted), else seconds until it could be (see `RateLimiter`)."""
        if _never_fits(requests, tokens, rpm, tpm):
            return math.inf
        with self._lock:
            log, at = self._log(key, now)
            self._prune(at)
            if ticket is not None and ticket in log.tickets:
                return 0.0  # already admitted: a retried acquire counts once
            need_r = 0 if rpm is None else log.requests + requests - rpm
            need_t = 0 if tpm is None else log.tokens + tokens - tpm
            if need_r > 0 or need_t > 0:
                freed_r = freed_t = 0
                for old in log.entries:
                    freed_r += old.requests
                    freed_t += old.tokens
                    if freed_r >= need_r and freed_t >= need_t:
                        return old.at + self.window_s - at
                return self.window_s  # pragma: no cover - the log always covers the need
            entry = _Entry(at, requests, tokens, ticket)
            log.entries.append(entry)
            log.requests += requests
            log.tokens += tokens
            if ticket is not None:
                log.tickets[ticket] = entry
            return 0.0

    def adjust(
        self, key: str, token_delta: int, *, ticket: str | None = None, now: float | None = None
    ) -> None:
        """Reconcile an admitted call's tokens with what it really used."""
        with self._lock:
            log, at = self._log(key, now)
            entry = log.tickets.get(ticket) if ticket is not None else None
            if entry is not None:
                tokens = max(0, entry.tokens + token_delta)
                log.tokens += tokens - entry.tokens
                entry.tokens = tokens
            elif token_delta > 0:
                log.entries.append(_Entry(at, 0, token_delta, None))
                log.tokens += token_delta

    def release(self, key: str, ticket: str, *, now: float | None = None) -> None:
        """Undo an admitted acquire (the call was not made after all)."""
        with self._lock:
            log, _ = self._log(key, now)
            entry = log.tickets.pop(ticket, None)
            if entry is not None:
                log.requests -= entry.requests
                log.tokens -= entry.tokens
                entry.requests = entry.tokens = 0

    async def aacquire(self, key: str, **kwargs: Any) -> float:
        """Async `acquire`."""
        return self.acquire(key, **kwargs)

    async def aadjust(self, key: str, token_delta: int, **kwargs: Any) -> None:
        """Async `adjust`."""
        self.adjust(key, token_delta, **kwargs)

    async def arelease(self, key: str, ticket: str, *, now: float | None = None) -> None:
        """Async `release`."""
        self.release(key, ticket, now=now)


# Per key: {tag}:log (sorted set: entry -> time), {tag}:e (hash: entry -> "requests:tokens"),
# {tag}:s (hash: requests, tokens, last, seq). The tag is per key: keys spread over a cluster.
_RL_PRELUDE = """
local log, ent, st = KEYS[1], KEYS[2], KEYS[3]
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[1])
local last = redis.call('HGET', st, 'last')
if last and tonumber(last) > now then now = tonumber(last) end
local stamp = string.format('%.6f', now)
-- Integers as text for HINCRBY: a Lua number could print as "-0" or "1e+15".
local function int(x)
  return string.format('%d', x)
end
local function parse(v)
  local r, t = string.match(v, '^(%-?%d+):(%-?%d+)$')
  return tonumber(r), tonumber(t)
end
local cutoff = string.format('%.6f', now - window)
while true do
  local old = redis.call('ZRANGEBYSCORE', log, '-inf', cutoff, 'LIMIT', 0, 500)
  if #old == 0 then break end
  local vals = redis.call('HMGET', ent, unpack(old))
  local dr, dt = 0, 0
  for _, v in ipairs(vals) do
    if v then
      local r, t = parse(v)
      dr, dt = dr + r, dt + t
    end
  end
  redis.call('ZREM', log, unpack(old))
  redis.call('HDEL', ent, unpack(old))
  redis.call('HINCRBY', st, 'req', int(-dr))
  redis.call('HINCRBY', st, 'tok', int(-dt))
end
redis.call('HSET', st, 'last', stamp)
local ttl = math.ceil(window * 1000) + 60000
local function touch()
  redis.call('PEXPIRE', log, ttl)
  redis.call('PEXPIRE', ent, ttl)
  redis.call('PEXPIRE', st, ttl)
end
"""

# ARGV: now, window, requests, tokens, rpm (-1: none), tpm (-1: none), ticket ("": none).
_RL_ACQUIRE = (
    _RL_PRELUDE
    + """
local req, tok = tonumber(ARGV[3]), tonumber(ARGV[4])
local rpm, tpm, ticket = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
touch()
if ticket ~= '' and redis.call('HEXISTS', ent, ticket) == 1 then return '0' end
local cr = tonumber(redis.call('HGET', st, 'req') or '0')
local ct = tonumber(redis.call('HGET', st, 'tok') or '0')
local need_r, need_t = 0, 0
if rpm >= 0 then need_r = cr + req - rpm end
if tpm >= 0 then need_t = ct + tok - tpm end
if need_r > 0 or need_t > 0 then
  local fr, ft, start = 0, 0, 0
  while true do
    local page = redis.call('ZRANGE', log, start, start + 499, 'WITHSCORES')
    if #page == 0 then return tostring(window) end
    local names = {}
    for i = 1, #page, 2 do table.insert(names, page[i]) end
    local vals = redis.call('HMGET', ent, unpack(names))
    for i, v in ipairs(vals) do
      if v then
        local r, t = parse(v)
        fr, ft = fr + r, ft + t
      end
      if fr >= need_r and ft >= need_t then
        return tostring(tonumber(page[2 * i]) + window - now)
      end
    end
    start = start + 500
  end
end
local member = ticket
if member == '' then member = '#' .. redis.call('HINCRBY', st, 'seq', 1) end
redis.call('ZADD', log, stamp, member)
redis.call('HSET', ent, member, ARGV[3] .. ':' .. ARGV[4])
redis.call('HINCRBY', st, 'req', ARGV[3])
redis.call('HINCRBY', st, 'tok', ARGV[4])
return '0'
"""
)

# ARGV: now, window, token delta, ticket ("": none).
_RL_ADJUST = (
    _RL_PRELUDE
    + """
local delta, ticket = tonumber(ARGV[3]), ARGV[4]
local v = nil
if ticket ~= '' then v = redis.call('HGET', ent, ticket) end
if v then
  local r, t = parse(v)
  local nt = t + delta
  if nt < 0 then nt = 0 end
  redis.call('HSET', ent, ticket, int(r) .. ':' .. int(nt))
  redis.call('HINCRBY', st, 'tok', int(nt - t))
elseif delta > 0 then
  local member = '#' .. redis.call('HINCRBY', st, 'seq', 1)
  redis.call('ZADD', log, stamp, member)
  redis.call('HSET', ent, member, '0:' .. ARGV[3])
  redis.call('HINCRBY', st, 'tok', ARGV[3])
  touch()
end
return 0
"""
)

# ARGV: now, window, ticket.
_RL_RELEASE = (
    _RL_PRELUDE
    + """
local v = redis.call('HGET', ent, ARGV[3])
if v then
  local r, t = parse(v)
  redis.call('ZREM', log, ARGV[3])
  redis.call('HDEL', ent, ARGV[3])
  redis.call('HINCRBY', st, 'req', int(-r))
  redis.call('HINCRBY', st, 'tok', int(-t))
end
return 0
"""
)

_RL_SCRIPTS = {"acquire": _RL_ACQUIRE, "adjust": _RL_ADJUST, "release": _RL_RELEASE}


class RedisRateLimiter:
    """A sliding-window rate limiter in Redis, shared by every process and host.

    Each acquire, adjust and release is one Lua script (atomic). Keys live under
    ``{prefix:<key>}`` and expire a minute after the window once idle. Sync methods use
    ``redis.Redis``, the ``a*`` methods ``redis.asyncio.Redis``, both created on first use.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "aigate:rl",
        window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        **client_options: Any,
    ) -> None:
        self._url = url
        self._options = client_options
        self.prefix = prefix
        self.window_s = window_s
        self.clock = clock
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._aclient: Any = None
        self._ascripts: dict[str, Any] = {}
        self._aloop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"RedisRateLimiter(prefix={self.prefix!r}, window_s={self.window_s})"

    def _sync(self) -> dict[str, Any]:
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self._url, **self._options)
            self._scripts = {n: self._client.register_script(s) for n, s in _RL_SCRIPTS.items()}
        return self._scripts

    def _async(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aloop is not loop:
            import redis.asyncio

            self._aclient = redis.asyncio.Redis.from_url(self._url, **self._options)
            self._ascripts = {n: self._aclient.register_script(s) for n, s in _RL_SCRIPTS.items()}
            self._aloop = loop
        return self._ascripts

    def _keys(self, key: str) -> list[str]:
        tag = f"{{{self.prefix}:{key}}}"
        return [f"{tag}:log", f"{tag}:e", f"{tag}:s"]

    def _head(self, now: float | None) -> list[str]:
        return [repr(self.clock() if now is None else now), repr(self.window_s)]

    def _acquire_args(
        self,
        now: float | None,
        requests: int,
        tokens: int,
        rpm: int | None,
        tpm: int | None,
        ticket: str | None,
    ) -> list[Any]:
        return [
            *self._head(now),
            str(int(requests)),
            str(int(tokens)),
            "-1" if rpm is None else str(int(rpm)),
            "-1" if tpm is None else str(int(tpm)),
            ticket or "",
        ]

    def acquire(
        self,
        key: str,
        *,
        requests: int = 1,
        tokens: int = 0,
        rpm: int | None = None,
        tpm: int | None = None,
        ticket: str | None = None,
        now: float | None = None,
    ) -> float:
        """0 if admitted (and counted), else seconds until it could be (see `RateLimiter`)."""
        if _never_fits(requests, tokens, rpm, tpm):
            return math.inf
        args = self._acquire_args(now, requests, tokens, rpm, tpm, ticket)
        return float(self._sync()["acquire"](keys=self._keys(key), args=args))

    def adjust(
        self, key: str, token_delta: int, *, ticket: str | None = None, now: float | None = None
    ) -> None:
        """Reconcile an admitted call's tokens with what it really used."""
        args = [*self._head(now), str(int(token_delta)), ticket or ""]
        self._sync()["adjust"](keys=self._keys(key), args=args)

    def release(self, key: str, ticket: str, *, now: float | None = None) -> None:
        """Undo an admitted acquire (the call was not made after all)."""
        self._sync()["release"](keys=self._keys(key), args=[*self._head(now), ticket])

    async def aacquire(
        self,
        key: str,
        *,
        requests: int = 1,
        tokens: int = 0,
        rpm: int | None = None,
        tpm: int | None = None,
        ticket: str | None = None,
        now: float | None = None,
    ) -> float:
        """Async `acquire`."""
        if _never_fits(requests, tokens, rpm, tpm):
            return math.inf
        args = self._acquire_args(now, requests, tokens, rpm, tpm, ticket)
        return float(await self._async()["acquire"](keys=self._keys(key), args=args))

    async def aadjust(
        self, key: str, token_delta: int, *, ticket: str | None = None, now: float | None = None
    ) -> None:
        """Async `adjust`."""
        args = [*self._head(now), str(int(token_delta)), ticket or ""]
        await self._async()["adjust"](keys=self._keys(key), args=args)

    async def arelease(self, key: str, ticket: str, *, now: float | None = None) -> None:
        """Async `release`."""
        await self._async()["release"](keys=self._keys(key), args=[*self._head(now), ticket])

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        self._aclient = None

    async def aclose(self) -> None:
        client, self._aclient = self._aclient, None
        if client is not None and self._aloop is asyncio.get_running_loop():
            await client.aclose()
        self.close()
