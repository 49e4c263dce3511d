"""`RedisBudgetStore`: counters shared by every process and host, one Lua script per step."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._store import (
    DEFAULT_KEEP_S,
    BaseBudgetStore,
    Breach,
    Charge,
    Counter,
    Crossing,
    ReserveResult,
    check_charges,
    encode_marks,
)

__all__ = ["RedisBudgetStore"]

# A hold is JSON in the holds hash: {"h": 1 while held / 0 once released, "e": expiry,
# "l": [[counter key, amount, marks, counter expiry (epoch s) or ""], ...]}. Amounts travel as
# strings and counters change with HINCRBY (exact 64-bit integers on the server); Lua
# compares them as doubles, exact below 2^53 nano-USD (9 million USD).
_PRELUDE = """
local holds, live, dead = KEYS[1], KEYS[2], KEYS[3]
-- Counter expiry relative to the caller's clock (tests run in simulated time).
local function ttl_ms(at, now)
  return math.max(1000, math.floor((tonumber(at) - now) * 1000))
end
local function sweep(now, keep, cprefix, limit)
  local ids = redis.call('ZRANGEBYSCORE', live, '-inf', now, 'LIMIT', 0, limit)
  for _, rid in ipairs(ids) do
    local blob = redis.call('HGET', holds, rid)
    if blob then
      local hold = cjson.decode(blob)
      for _, line in ipairs(hold.l) do
        if line[2] ~= '0' then
          redis.call('HINCRBY', cprefix .. line[1], 'reserved', '-' .. line[2])
        end
      end
      hold.h = 0
      redis.call('HSET', holds, rid, cjson.encode(hold))
      redis.call('ZADD', dead, hold.e, rid)
    end
    redis.call('ZREM', live, rid)
  end
  local old = redis.call('ZRANGEBYSCORE', dead, '-inf', now - keep, 'LIMIT', 0, limit)
  for _, rid in ipairs(old) do
    redis.call('HDEL', holds, rid)
    redis.call('ZREM', dead, rid)
  end
  return #ids
end
"""

# KEYS: holds, live, dead, counter 1..n. ARGV: id, now, hold expiry, keep, counter prefix,
# n, then per charge amount, cap, hard, counter expiry (epoch s or ""), then the hold's JSON.
_RESERVE = (
    _PRELUDE
    + """
local id, now, exp, keep, cprefix = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local n = tonumber(ARGV[6])
if redis.call('HEXISTS', holds, id) == 1 then return {1} end
sweep(now, keep, cprefix, 16)
local function check()
  local out = {}
  for i = 1, n do
    local b = 6 + (i - 1) * 4
    if ARGV[b + 3] == '1' then
      local v = redis.call('HMGET', KEYS[3 + i], 'spent', 'reserved')
      local spent, reserved = v[1] or '0', v[2] or '0'
      if tonumber(spent) + tonumber(reserved) + tonumber(ARGV[b + 1]) > tonumber(ARGV[b + 2]) then
        table.insert(out, i)
        table.insert(out, spent)
        table.insert(out, reserved)
      end
    end
  end
  return out
end
local breaches = check()
if #breaches > 0 and sweep(now, keep, cprefix, 100000) > 0 then breaches = check() end
if #breaches > 0 then
  table.insert(breaches, 1, 0)
  return breaches
end
for i = 1, n do
  local b = 6 + (i - 1) * 4
  redis.call('HINCRBY', KEYS[3 + i], 'reserved', ARGV[b + 1])
  if ARGV[b + 4] ~= '' then redis.call('PEXPIRE', KEYS[3 + i], ttl_ms(ARGV[b + 4], now)) end
end
redis.call('HSET', holds, id, ARGV[7 + 4 * n])
redis.call('ZADD', live, exp, id)
return {1}
"""
)

# KEYS: holds, live, dead. ARGV: id, counter prefix, now, n, then n pairs (counter key,
# actual).
# Returns crossings flat: key, threshold index, spent, ...
_SETTLE = (
    _PRELUDE
    + """
local id, cprefix, now, n = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local blob = redis.call('HGET', holds, id)
if not blob then return {} end
local hold = cjson.decode(blob)
local actual = {}
for i = 1, n do actual[ARGV[3 + 2 * i]] = ARGV[4 + 2 * i] end
local out = {}
for _, line in ipairs(hold.l) do
  local ck = cprefix .. line[1]
  if hold.h == 1 and line[2] ~= '0' then redis.call('HINCRBY', ck, 'reserved', '-' .. line[2]) end
  local spent = redis.call('HINCRBY', ck, 'spent', actual[line[1]] or '0')
  if line[4] ~= '' then redis.call('PEXPIRE', ck, ttl_ms(line[4], now)) end
  local fired = tonumber(redis.call('HGET', ck, 'fired') or '0')
  local level = 0
  for m in string.gmatch(line[3], '[^,]+') do
    if spent >= tonumber(m) then level = level + 1 end
  end
  if level > fired then
    redis.call('HSET', ck, 'fired', level)
    local exact = redis.call('HGET', ck, 'spent')
    for j = fired, level - 1 do
      table.insert(out, line[1])
      table.insert(out, j)
      table.insert(out, exact)
    end
  end
end
redis.call('HDEL', holds, id)
redis.call('ZREM', live, id)
redis.call('ZREM', dead, id)
return out
"""
)

# KEYS: holds, live, dead. ARGV: now, keep, counter prefix, limit.
_SWEEP = (
    _PRELUDE
    + """
return sweep(tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]))
"""
)

_SCRIPTS = {"reserve": _RESERVE, "settle": _SETTLE, "sweep": _SWEEP}


class RedisBudgetStore(BaseBudgetStore):
    """Budget counters in Redis under ``prefix``; every reserve and settle is one Lua script.

    Redis runs a script with nothing else in between, so the check and the increments of
    all counters are atomic. All keys share the hash tag ``{prefix}`` (one Redis Cluster
    slot). Counters expire ``keep_s`` after their window ends; reservations live in a hash
    with a sorted set of expiry times, and each reserve releases up to 16 expired ones
    (all of them when they stand in the way). Times are the caller's clock (``now``).
    The sync methods use a ``redis.Redis`` client, the ``a*`` methods a
    ``redis.asyncio.Redis`` one; both are created on first use.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "aigate:budget",
        clock: Callable[[], float] = time.time,
        keep_s: float = DEFAULT_KEEP_S,
        **client_options: Any,
    ) -> None:
        super().__init__(clock=clock, keep_s=keep_s)
        self._url = url
        self._options = client_options
        tag = f"{{{prefix}}}"
        self._prefix = prefix
        self._keys = [f"{tag}:holds", f"{tag}:live", f"{tag}:dead"]
        self._cprefix = f"{tag}:c:"
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._aclient: Any = None
        self._ascripts: dict[str, Any] = {}
        self._aloop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"RedisBudgetStore(prefix={self._prefix!r})"

    def _sync(self) -> dict[str, Any]:
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self._url, **self._options)
            self._scripts = {n: self._client.register_script(s) for n, s in _SCRIPTS.items()}
        return self._scripts

    def _async(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aloop is not loop:
            import redis.asyncio

            # A client made in another event loop can be neither used nor closed here.
            self._aclient = redis.asyncio.Redis.from_url(self._url, **self._options)
            self._ascripts = {n: self._aclient.register_script(s) for n, s in _SCRIPTS.items()}
            self._aloop = loop
        return self._ascripts

    # -- shared argument builders and decoders ---------------------------------------------

    def _reserve_call(
        self, rid: str, ordered: Sequence[Charge], ttl_s: float, now: float | None
    ) -> tuple[list[str], list[Any]]:
        at = self._now(now)
        expires = repr(at + ttl_s)
        args: list[Any] = [rid, repr(at), expires, repr(self.keep_s), self._cprefix, len(ordered)]
        lines = []
        for c in ordered:
            ends = "" if c.expires_at is None else repr(c.expires_at + self.keep_s)
            args += [str(c.amount), str(c.cap), "1" if c.hard else "0", ends]
            lines.append([c.key, str(c.amount), encode_marks(c.marks), ends])
        args.append(json.dumps({"h": 1, "e": expires, "l": lines}, separators=(",", ":")))
        return self._keys + [self._cprefix + c.key for c in ordered], args

    @staticmethod
    def _reserve_result(ordered: Sequence[Charge], reply: list[Any]) -> ReserveResult:
        if int(reply[0]) == 1:
            return ReserveResult(ok=True)
        breaches = []
        for i in range(1, len(reply), 3):
            c = ordered[int(reply[i]) - 1]
            breaches.append(Breach(c.key, c.cap, int(reply[i + 1]), int(reply[i + 2]), c.amount))
        return ReserveResult(ok=False, breaches=tuple(breaches))

    def _settle_args(self, rid: str, actual: Mapping[str, int], now: float | None) -> list[Any]:
        args: list[Any] = [rid, self._cprefix, repr(self._now(now)), len(actual)]
        for key, amount in actual.items():
            args += [key, str(int(amount))]
        return args

    @staticmethod
    def _crossings(reply: list[Any]) -> list[Crossing]:
        found = []
        for i in range(0, len(reply), 3):
            key = reply[i].decode() if isinstance(reply[i], bytes) else str(reply[i])
            found.append(Crossing(key, int(reply[i + 1]), int(reply[i + 2])))
        return found

    def _sweep_args(self, now: float | None) -> list[Any]:
        return [repr(self._now(now)), repr(self.keep_s), self._cprefix, 1_000_000]

    @staticmethod
    def _counters(keys: Sequence[str], replies: Sequence[Any]) -> dict[str, Counter]:
        return {
            key: Counter(int(spent or 0), int(reserved or 0))
            for key, (spent, reserved) in zip(keys, replies, strict=True)
        }

    # -- sync ----------------------------------------------------------------------------

    def reserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult:
        """Reserve every charge, or none (see `BudgetStore`)."""
        ordered = check_charges(charges)
        if not ordered:
            return ReserveResult(ok=True)
        keys, args = self._reserve_call(reservation_id, ordered, ttl_s, now)
        return self._reserve_result(ordered, self._sync()["reserve"](keys=keys, args=args))

    def settle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Charge the real amounts, release the rest; idempotent (see `BudgetStore`)."""
        args = self._settle_args(reservation_id, actual, now)
        return self._crossings(self._sync()["settle"](keys=self._keys, args=args))

    def status(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Spent and reserved for each counter key (zeros for unknown keys)."""
        self._sync()
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self._cprefix + key, "spent", "reserved")
        return self._counters(keys, pipe.execute())

    def sweep(self, *, now: float | None = None) -> int:
        """Release expired reservations, and forget those released ``keep_s`` ago."""
        return int(self._sync()["sweep"](keys=self._keys, args=self._sweep_args(now)))

    def pending(self) -> list[str]:
        """Ids of the reservations held (not settled, not yet released)."""
        self._sync()
        return sorted(m.decode() for m in self._client.zrange(self._keys[1], 0, -1))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        self._aclient = None  # an async client can only be closed by `aclose`, in its loop

    # -- async ---------------------------------------------------------------------------

    async def areserve(
        self,
        reservation_id: str,
        charges: Sequence[Charge],
        ttl_s: float,
        *,
        now: float | None = None,
    ) -> ReserveResult:
        """Async `reserve`."""
        ordered = check_charges(charges)
        if not ordered:
            return ReserveResult(ok=True)
        keys, args = self._reserve_call(reservation_id, ordered, ttl_s, now)
        reply = await self._async()["reserve"](keys=keys, args=args)
        return self._reserve_result(ordered, reply)

    async def asettle(
        self, reservation_id: str, actual: Mapping[str, int], *, now: float | None = None
    ) -> list[Crossing]:
        """Async `settle`."""
        args = self._settle_args(reservation_id, actual, now)
        return self._crossings(await self._async()["settle"](keys=self._keys, args=args))

    async def astatus(self, keys: Sequence[str]) -> dict[str, Counter]:
        """Async `status`."""
        self._async()
        pipe = self._aclient.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self._cprefix + key, "spent", "reserved")
        return self._counters(keys, await pipe.execute())

    async def asweep(self, *, now: float | None = None) -> int:
        """Async `sweep`."""
        return int(await self._async()["sweep"](keys=self._keys, args=self._sweep_args(now)))

    async def aclose(self) -> None:
        client, self._aclient = self._aclient, None
        if client is not None and self._aloop is asyncio.get_running_loop():
            await client.aclose()
        self.close()
