"""`RedisLedger`: a minimal ledger in Redis, for deployments that have Redis and nothing else.

Records are JSON in one hash (field = id) and their ids sit in a sorted set scored by
timestamp, written together by one Lua script, so a record is atomic and idempotent.
Redis cannot aggregate, so `query` and the reports fetch every record in the time range
and compute in Python; keep ranges short, or use PostgreSQL for reports over many rows.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from ._base import BaseLedger, counted
from ._record import UTC, LedgerRecord, SummaryRow
from ._spec import Spec, matches, summarize

__all__ = ["RedisLedger"]

# HSETNX makes the write idempotent: the index is only touched by the first writer of an id.
_RECORD_LUA = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 0
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_CHUNK = 1000  # ids per HMGET


def _score(ts: datetime) -> int:
    # Integer microseconds: exact in a double until the year 2255.
    return (ts - _EPOCH) // _MICRO


def _range(spec: Spec) -> tuple[int | str, str]:
    low: int | str = "-inf" if spec.since is None else _score(spec.since)
    high = "+inf" if spec.until is None else f"({_score(spec.until)}"  # exclusive
    return low, high


def _finish(
    blobs: list[Any], spec: Spec, limit: int | None, newest_first: bool
) -> list[LedgerRecord]:
    found = [LedgerRecord.from_dict(json.loads(b)) for b in blobs if b is not None]
    found = [r for r in found if matches(r, spec)]
    found.sort(key=lambda r: (r.ts, r.id), reverse=newest_first)
    return found if limit is None else found[:limit]


class RedisLedger(BaseLedger):
    """A ledger in Redis under ``prefix`` (keys ``{prefix}:records`` and ``{prefix}:ts``).

    The braces are a Redis Cluster hash tag, so the script's two keys share a slot.
    Reports run in Python over the records in range (see the module docstring). Use the
    async methods from one event loop at a time and `aclose` in it.
    """

    def __init__(self, url: str, *, prefix: str = "aigate:ledger") -> None:
        self._url = url
        self._keys = [f"{{{prefix}}}:records", f"{{{prefix}}}:ts"]
        self._client: Any = None
        self._script: Any = None
        self._aclient: Any = None
        self._ascript: Any = None
        self._aloop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"RedisLedger(prefix={self._keys[0].split('}')[0][1:]!r})"

    def _sync(self) -> Any:
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self._url)
            self._script = self._client.register_script(_RECORD_LUA)
        return self._client

    def _async(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aloop is not loop:
            import redis.asyncio

            # A client from an earlier loop cannot be used (nor closed) in this one.
            self._aclient = redis.asyncio.Redis.from_url(self._url)
            self._ascript = self._aclient.register_script(_RECORD_LUA)
            self._aloop = loop
        return self._aclient

    def _args(self, rec: LedgerRecord) -> list[Any]:
        return [rec.id, json.dumps(rec.to_dict(), separators=(",", ":")), _score(rec.ts)]

    def record(self, rec: LedgerRecord) -> None:
        """Store ``rec`` (ignored if its id exists)."""
        self._sync()
        self._script(keys=self._keys, args=self._args(rec))

    async def arecord(self, rec: LedgerRecord) -> None:
        """Async `record`."""
        self._async()
        await self._ascript(keys=self._keys, args=self._args(rec))

    # -- reads -----------------------------------------------------------------------------

    def _ids_args(self, spec: Spec, limit: int | None) -> dict[str, Any]:
        low, high = _range(spec)
        args: dict[str, Any] = {"name": self._keys[1], "min": low, "max": high}
        if limit is not None and not spec.where:  # without filters Redis can stop early
            args.update(start=0, num=limit)
        return args

    def _fetch(self, id: str) -> LedgerRecord | None:
        blob = self._sync().hget(self._keys[0], id)
        return None if blob is None else LedgerRecord.from_dict(json.loads(blob))

    async def _afetch(self, id: str) -> LedgerRecord | None:
        blob = await self._async().hget(self._keys[0], id)
        return None if blob is None else LedgerRecord.from_dict(json.loads(blob))

    def _select(self, spec: Spec, limit: int | None, newest_first: bool) -> list[LedgerRecord]:
        client = self._sync()
        args = self._ids_args(spec, limit)
        fn = client.zrevrangebyscore if newest_first else client.zrangebyscore
        ids = fn(**args)
        blobs: list[Any] = []
        for i in range(0, len(ids), _CHUNK):
            blobs += client.hmget(self._keys[0], ids[i : i + _CHUNK])
        return _finish(blobs, spec, limit, newest_first)

    async def _aselect(
        self, spec: Spec, limit: int | None, newest_first: bool
    ) -> list[LedgerRecord]:
        client = self._async()
        args = self._ids_args(spec, limit)
        fn = client.zrevrangebyscore if newest_first else client.zrangebyscore
        ids = await fn(**args)
        blobs: list[Any] = []
        for i in range(0, len(ids), _CHUNK):
            blobs += await client.hmget(self._keys[0], ids[i : i + _CHUNK])
        return _finish(blobs, spec, limit, newest_first)

    def _summarize(self, spec: Spec) -> list[SummaryRow]:
        return summarize(counted(self._select(spec, None, False), spec), spec)

    async def _asummarize(self, spec: Spec) -> list[SummaryRow]:
        return summarize(counted(await self._aselect(spec, None, False), spec), spec)

    # -- closing ---------------------------------------------------------------------------

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        self._aclient = None  # an async client can only be closed by `aclose`, in its loop

    async def _aclose(self) -> None:
        client, self._aclient = self._aclient, None
        if client is not None and self._aloop is asyncio.get_running_loop():
            await client.aclose()
        self._close()
