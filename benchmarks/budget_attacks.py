"""Every way around a budget (issue 13), measured: each attack against one small hard USD cap
on each budget store backend, the way a user would try it through `aigate.Gateway` /
`aigate.AsyncGateway`.

    python benchmarks/budget_attacks.py [--quick] [--json PATH] [--require-all]
        [--backends memory sqlite redis postgres] [--attacks ID ...] [--redis URL]
        [--postgres DSN]

The provider is `aigate.testing.FakeTransport` billing the most the request on the wire
allows: 8 prompt tokens, and every choice runs to its output ceiling (``max_tokens`` or
``max_completion_tokens``, ``extra_body`` included, else the model's 16,384); a stream bills
the content tokens it delivered before the caller hung up. Prices are the catalog's
(openai/gpt-4o-mini, $0.15 / $0.60 per 1M tokens). Every attack gets a fresh budget of
``CAP_USD`` on ``project:attacks`` (a new SQLite file, Redis ``?prefix=`` or PostgreSQL
``?table=``). The budget store and the ledger share one database on SQLite and PostgreSQL;
Redis gets a separate SQLite ledger. Redis and PostgreSQL are skipped, saying why, when
unreachable (``--require-all``: fail instead).

Columns: spent is the budget counter's settled spend; billed what the provider billed
(billed/cap the overspend ratio); worst the most one call of the attack can bill;
rows/calls the ledger's rows for calls sent vs the calls the provider answered; refused
the calls refused before sending; pending the reservations left (for the crash, left by
the killed processes -> left once their TTL passed). The notes under the table give what
a row's figures do not: the max_tokens a clamp sent, what abandoned streams would cost
had the provider billed each whole answer, the calls that died with a killed process,
and any call whose one commit (charge + ledger row) fell back to two.

Verdicts: ``ok`` (spent <= cap + worst), ``OVER`` (spent past that), ``refused (<error>)``
(every call refused before sending, by design), ``HOLE: ...`` (a call with no ledger row,
a counter that disagrees with the ledger, a reservation left behind). The exit status is 1
when any row is OVER or HOLE.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx

import aigate
from aigate.testing import FakeTransport, reply

MODEL = "openai/gpt-4o-mini"
UNPRICED_MODEL = "selfhosted/llama-3.3-70b"  # an OpenAI-compatible server the catalog lacks
HI = [{"role": "user", "content": "Hi"}]
PROMPT_TOKENS = 8  # what the provider bills for HI
PROJECT = "attacks"
META = {"project": PROJECT}
CAP_USD = Decimal("0.05")
CAP_LIMIT: dict[str, Any] = {
    "scope": f"project:{PROJECT}",
    "amount": str(CAP_USD),
    "window": "lifetime",
}
PROVIDERS: dict[str, Any] = {
    "openai": {"api_keys": ["sk-test"]},
    "selfhosted": {
        "kind": "openai",
        "base_url": "https://llm.internal.example/v1",
        "api_keys": ["sk-test"],
    },
}
STREAM_TOKENS = 1000  # each abandoned stream's max_tokens (and its whole answer)
RACE_TOKENS = 1000  # max_tokens of each racing call: 83 fit in the cap
RACE_PROCESSES, RACE_THREADS, RACE_TASKS = 4, 8, 32
CRASH_TOKENS = 100  # max_tokens of each call of a child that is killed: 817 fit
CRASH_TASKS = 8  # concurrent callers in each child that is killed
REDIS_URL = os.environ.get("AIGATE_BENCH_REDIS", "redis://127.0.0.1:6379/15")
POSTGRES_DSN = os.environ.get("AIGATE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("memory", "sqlite", "redis", "postgres")


@dataclass(frozen=True)
class Scale:
    """How hard each attack pushes."""

    calls: int  # calls of each sequential attack
    streams: int  # streams abandoned per stream attack
    race_rounds: int  # calls per racing caller
    crash_rounds: int  # child processes killed
    crash_ttl_s: float  # the crashing children's reservation TTL


FULL = Scale(calls=60, streams=100, race_rounds=8, crash_rounds=6, crash_ttl_s=3.0)
QUICK = Scale(calls=15, streams=12, race_rounds=3, crash_rounds=2, crash_ttl_s=2.0)


class NotApplicable(Exception):
    """The attack means nothing on this backend (the reason is the message)."""


# -- pricing and the billing provider ------------------------------------------------------


@lru_cache(maxsize=1)
def _model_info() -> Any:
    from aigate.pricing import Catalog

    info = Catalog.default().get(*MODEL.split("/", 1))
    assert info is not None and info.price is not None and info.max_output_tokens
    return info


def bill_nano(prompt: int, completion: int) -> int:
    """What the provider bills for these tokens, in nano-USD."""
    from aigate.pricing import to_nano

    price = _model_info().price
    return to_nano(price.input * prompt + price.output * completion)


def max_output() -> int:
    return int(_model_info().max_output_tokens)


def _content_deltas(part: bytes) -> int:
    """Content deltas in one SSE part of an OpenAI stream (the fake sends a token each)."""
    count = 0
    for line in part.split(b"\n"):
        if not line.startswith(b"data: ") or line == b"data: [DONE]":
            continue
        for choice in json.loads(line[6:]).get("choices") or ():
            if (choice.get("delta") or {}).get("content"):
                count += 1
    return count


class _Delivered(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A stream body that bills each content token as the client pulls it."""

    def __init__(self, inner: Any, bill: Callable[[int], None]) -> None:
        self.inner = inner
        self.bill = bill

    def __iter__(self) -> Iterator[bytes]:
        for part in self.inner:
            self.bill(_content_deltas(part))
            yield part

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self.inner:
            self.bill(_content_deltas(part))
            yield part

    def close(self) -> None:
        if hasattr(self.inner, "close"):
            self.inner.close()

    async def aclose(self) -> None:
        if hasattr(self.inner, "aclose"):
            await self.inner.aclose()


class BillingProvider(FakeTransport):
    """A fake OpenAI that bills the most a request allows: 8 prompt tokens, then every
    choice to its output ceiling; a stream's tokens are billed as they are delivered.

    ``billed_nano`` is the running bill. ``log_path`` appends ``<user>\\t<nano>`` per billed
    call (written before the answer leaves, so it survives the caller's SIGKILL);
    ``latency`` is a (low, high) range of seconds each answer waits."""

    def __init__(
        self,
        *,
        latency: tuple[float, float] = (0.0, 0.0),
        seed: int = 0,
        log_path: str | None = None,
    ) -> None:
        super().__init__()
        self.billed_nano = 0
        self._latency = latency
        self._rng = random.Random(seed)
        self._bill_lock = threading.Lock()
        self._log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT) if log_path else None

    def close(self) -> None:
        if self._log is not None:
            os.close(self._log)
            self._log = None
        super().close()

    def _bill(self, prompt: int, completion: int, user: str) -> None:
        nano = bill_nano(prompt, completion)
        with self._bill_lock:
            self.billed_nano += nano
        if self._log is not None:
            os.write(self._log, f"{user}\t{nano}\n".encode())

    def _next(self, call: Any) -> Any:
        super()._next(call)  # records the call
        body = call.json if isinstance(call.json, dict) else {}
        ceiling = body.get("max_completion_tokens") or body.get("max_tokens") or max_output()
        low, high = self._latency
        latency = self._rng.uniform(low, high) if high else 0.0
        out = ceiling * int(body.get("n") or 1)
        usage = {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": out,
            "total_tokens": PROMPT_TOKENS + out,
        }
        if body.get("stream"):  # the prompt now, the answer as it is delivered
            self._bill(PROMPT_TOKENS, 0, str(body.get("user")))
            return reply(" ".join(["ok"] * out), usage=usage, latency=latency)
        self._bill(PROMPT_TOKENS, out, str(body.get("user")))
        return reply("ok", usage=usage, latency=latency)

    def _metered(self, response: httpx.Response) -> httpx.Response:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            response.stream = _Delivered(response.stream, lambda n: self._bill(0, n, "stream"))
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._metered(super().handle_request(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._metered(await super().handle_async_request(request))


# -- backends ------------------------------------------------------------------------------


def with_option(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{name}={value}"


@dataclass
class Backend:
    """One budget store backend; every attack gets a fresh namespace in it."""

    name: str
    workdir: Path
    run_id: str
    redis_url: str = REDIS_URL
    postgres_dsn: str = POSTGRES_DSN
    tables: list[str] = field(default_factory=list)

    def urls(self, slug: str) -> tuple[str, str]:
        """(budget store URL, ledger URL) for one attack."""
        if self.name == "memory":
            return "memory://", "memory://"
        if self.name == "sqlite":
            url = f"sqlite:///{self.workdir / f'{slug}.db'}"  # one file: one commit per call
            return url, url
        if self.name == "redis":
            prefix = f"aigate-attacks-{self.run_id}-{slug}"
            ledger = f"sqlite:///{self.workdir / f'{slug}-ledger.db'}"
            return with_option(self.redis_url, "prefix", prefix), ledger
        table = f"attacks_{self.run_id}_{slug}".replace("-", "_")
        self.tables.append(table)
        url = with_option(self.postgres_dsn, "table", table)
        return url, url

    def unreachable(self) -> str | None:
        """Why this backend cannot be used here (None: it can)."""
        try:
            if self.name == "redis":
                import redis

                client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2)
                try:
                    client.ping()
                finally:
                    client.close()
            elif self.name == "postgres":
                import psycopg

                psycopg.connect(self.postgres_dsn, connect_timeout=3).close()
        except Exception as err:
            return f"{type(err).__name__}: {err}".strip()
        return None

    def cleanup(self) -> None:
        """Drop what the attacks left in the shared servers (files go with ``workdir``)."""
        if self.name == "redis":
            import redis

            client = redis.Redis.from_url(self.redis_url)
            try:
                for key in client.scan_iter(match=f"{{aigate-attacks-{self.run_id}-*"):
                    client.delete(key)
            finally:
                client.close()
        elif self.name == "postgres" and self.tables:
            import psycopg

            with psycopg.connect(self.postgres_dsn, autocommit=True) as conn:
                for table in self.tables:
                    conn.execute(f"DROP TABLE IF EXISTS {table}, {table}_counters, {table}_holds")
            self.tables.clear()


# -- one row of the table ------------------------------------------------------------------


@dataclass
class Row:
    """One attack on one backend, measured. Amounts are nano-USD."""

    attack: str
    attack_id: str
    backend: str
    cap_nano: int
    spent_nano: int
    billed_nano: int
    worst_nano: int
    calls: int  # calls the provider answered (billed)
    rows: int  # ledger rows of calls sent (refusals not counted)
    refused: dict[str, int]  # calls refused before sending, by error class
    pending: int  # reservations held after the attack
    ledger_nano: int  # the ledger's summed cost
    lost: int = 0  # calls answered but lost with a killed process (crash only)
    phantom: int = 0  # ledger rows of calls the provider never answered
    lost_bound: int = 0  # the most the killed processes could lose (calls in flight)
    pending_after_ttl: int | None = None  # crash only: holds left once the TTL has passed
    reserved_after_ttl: int | None = None  # crash only: the counter's reserved amount then
    joint: bool | None = None  # crash only: the row commits with the charge
    two_commits: int = 0  # calls whose one commit (charge + row) fell back to two
    note: str = ""
    verdict: str = ""
    seconds: float = 0.0

    def judge(self) -> str:
        problems = []
        if self.calls and self.spent_nano > self.cap_nano + self.worst_nano:
            problems.append("OVER")
        holes = []
        if self.rows + self.lost != self.calls or self.lost > self.lost_bound or self.phantom:
            holes.append("rows")
        left = self.pending if self.pending_after_ttl is None else self.pending_after_ttl
        if left or self.reserved_after_ttl:
            holes.append("pending")
        if self.joint is False:  # two commits: the counter may lead the ledger, by lost calls
            if not 0 <= self.spent_nano - self.ledger_nano <= self.lost_bound * self.worst_nano:
                holes.append("counter!=ledger")
        elif self.spent_nano != self.ledger_nano:
            holes.append("counter!=ledger")
        if holes:
            problems.append("HOLE: " + ",".join(holes))
        if problems:
            return "; ".join(problems)
        if not self.calls and self.refused:
            return f"refused ({max(self.refused, key=self.refused.__getitem__)})"
        return "ok"


def _spent(store: Any, budgets: Any) -> tuple[int, int]:
    (charge,) = budgets.plan({"project": PROJECT}, estimate_nano=0)
    counter = store.status([charge.key])[charge.key]
    return int(counter.spent), int(counter.reserved)


def _our_rows(ledger: Any) -> tuple[list[Any], list[Any]]:
    """(rows of calls sent, refusal rows) of the attack's project."""
    rows = [r for r in ledger.query() if r.project == PROJECT]
    return [r for r in rows if r.status != "refused"], [r for r in rows if r.status == "refused"]


# -- in-process attacks --------------------------------------------------------------------


class Arena:
    """One attack's gateway on one backend: a fresh budget and ledger, the billing
    provider, the caller's errors, and the measurement."""

    def __init__(
        self,
        backend: Backend,
        slug: str,
        *,
        limit: dict[str, Any] | None = None,
        asynchronous: bool = False,
        latency: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        store, ledger = backend.urls(slug)
        self.backend = backend.name
        self.fake = BillingProvider(latency=latency)
        kind = aigate.AsyncGateway if asynchronous else aigate.Gateway
        self.gw: Any = kind(
            providers=PROVIDERS,
            budget={"store": store, "limits": [limit or CAP_LIMIT], "ttl_s": 60},
            ledger=ledger,
            ledger_errors="raise",
            transport=self.fake,
        )
        self.errors: Counter[str] = Counter()
        self.started = time.perf_counter()

    def call(self, **kwargs: Any) -> Any:
        """One call of the attack; an aigate error is counted, not raised."""
        try:
            return self.gw.chat.completions.create(
                model=kwargs.pop("model", MODEL), messages=HI, metadata=META, **kwargs
            )
        except aigate.AigateError as exc:
            self.errors[type(exc).__name__] += 1
            return None

    async def acall(self, **kwargs: Any) -> Any:
        try:
            return await self.gw.chat.completions.create(
                model=MODEL, messages=HI, metadata=META, **kwargs
            )
        except aigate.AigateError as exc:
            self.errors[type(exc).__name__] += 1
            return None

    def measure(self, attack: str, attack_id: str, worst_nano: int, note: str = "") -> Row:
        core = self.gw._core
        store, ledger = core.admission.store, core.ledger
        gc.collect()  # a dropped stream left in a reference cycle is settled when collected
        spent, _ = _spent(store, core.admission.budgets)
        sent, refusals = _our_rows(ledger)
        refused = {k: v for k, v in self.errors.items() if k != "StreamInterrupted"}
        if len(refusals) != sum(refused.values()):
            note = f"{note}; {len(refusals)} refusal rows for {sum(refused.values())} refusals"
        row = Row(
            attack=attack,
            attack_id=attack_id,
            backend=self.backend,
            cap_nano=cap_nano(),
            spent_nano=spent,
            billed_nano=self.fake.billed_nano,
            worst_nano=worst_nano,
            calls=len(self.fake.calls),
            rows=len(sent),
            refused=dict(sorted(refused.items())),
            pending=len(store.pending()),
            ledger_nano=sum(r.cost_nano or 0 for r in sent),
            note=note.strip("; "),
            seconds=time.perf_counter() - self.started,
        )
        row.verdict = row.judge()
        return row

    def close(self) -> None:
        self.gw.close()
        self.fake.close()

    async def aclose(self) -> None:
        await self.gw.aclose()
        self.fake.close()


def cap_nano() -> int:
    from aigate.pricing import to_nano

    return to_nano(CAP_USD)


def _sequential(
    backend: Backend,
    scale: Scale,
    attack: str,
    attack_id: str,
    worst_nano: int,
    *,
    limit: dict[str, Any] | None = None,
    note: Callable[[Arena], str] | None = None,
    **kwargs: Any,
) -> list[Row]:
    """``scale.calls`` calls in a row with ``kwargs``, refusals and all."""
    arena = Arena(backend, attack_id, limit=limit)
    try:
        for _ in range(scale.calls):
            arena.call(**kwargs)
        return [arena.measure(attack, attack_id, worst_nano, note(arena) if note else "")]
    finally:
        arena.close()


def extra_body_max_tokens(backend: Backend, scale: Scale) -> list[Row]:
    """13.1: a small visible max_tokens, the real one in extra_body."""
    return _sequential(
        backend,
        scale,
        "1 extra_body max_tokens=16000",
        "extra-max-tokens",
        bill_nano(PROMPT_TOKENS, 16000),
        max_tokens=16,
        extra_body={"max_tokens": 16000},
    )


def extra_body_max_completion_tokens(backend: Backend, scale: Scale) -> list[Row]:
    """13.1: the same through max_completion_tokens."""
    return _sequential(
        backend,
        scale,
        "1 extra_body max_completion_tokens",
        "extra-max-completion",
        bill_nano(PROMPT_TOKENS, 16000),
        max_tokens=16,
        extra_body={"max_completion_tokens": 16000},
    )


def n_choices(backend: Backend, scale: Scale) -> list[Row]:
    """13.2: 64 choices, each billed."""
    return _sequential(
        backend,
        scale,
        "2 n=64, max_tokens=100",
        "n64",
        bill_nano(PROMPT_TOKENS, 64 * 100),
        max_tokens=100,
        n=64,
    )


class CallerBug(Exception):
    """The caller's own exception, raised inside its stream loop."""


def _stream_note(arena: Arena) -> str:
    streams = len(arena.fake.calls)
    whole = streams * bill_nano(PROMPT_TOKENS, STREAM_TOKENS)
    return (
        f"{streams} streams of {STREAM_TOKENS} tokens abandoned, "
        f"{len(arena.gw._core.admission.store.pending())} still held before gc.collect(); "
        f"had the provider billed each whole answer: ${_usd(whole)} "
        f"({whole / cap_nano():.2f}x cap)"
    )


def stream_break(backend: Backend, scale: Scale) -> list[Row]:
    """13.3: ``break`` after the first chunk, then drop the stream."""
    arena = Arena(backend, "stream-break")
    try:
        for _ in range(scale.streams):
            stream = arena.call(stream=True, max_tokens=STREAM_TOKENS)
            if stream is None:
                continue
            for _chunk in stream:
                break
            del stream
        worst = bill_nano(PROMPT_TOKENS, STREAM_TOKENS)
        return [arena.measure("3 stream: break, drop", "stream-break", worst, _stream_note(arena))]
    finally:
        arena.close()


def stream_raise(backend: Backend, scale: Scale) -> list[Row]:
    """13.3: the caller's own exception in the loop."""
    arena = Arena(backend, "stream-raise")
    try:
        for _ in range(scale.streams):
            stream = arena.call(stream=True, max_tokens=STREAM_TOKENS)
            if stream is None:
                continue
            try:
                for _chunk in stream:
                    raise CallerBug("the caller's own bug")
            except CallerBug:
                pass
            del stream
        worst = bill_nano(PROMPT_TOKENS, STREAM_TOKENS)
        return [
            arena.measure("3 stream: raise in loop", "stream-raise", worst, _stream_note(arena))
        ]
    finally:
        arena.close()


def stream_cancelled(backend: Backend, scale: Scale) -> list[Row]:
    """13.3: an asyncio task cancelled while it reads a stream (AsyncGateway)."""

    async def attack() -> Row:
        arena = Arena(backend, "stream-cancel", asynchronous=True)
        try:
            for _ in range(scale.streams):
                reading = asyncio.Event()

                async def reader(event: asyncio.Event = reading) -> None:
                    stream = await arena.acall(stream=True, max_tokens=STREAM_TOKENS)
                    if stream is None:
                        event.set()
                        return
                    async for _chunk in stream:
                        event.set()
                        await asyncio.sleep(30)

                task = asyncio.create_task(reader())
                await reading.wait()
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
            await asyncio.sleep(0)
            worst = bill_nano(PROMPT_TOKENS, STREAM_TOKENS)
            return arena.measure(
                "3 stream: task cancelled", "stream-cancel", worst, _stream_note(arena)
            )
        finally:
            await arena.aclose()

    return [asyncio.run(attack())]


def unpriced_model(backend: Backend, scale: Scale) -> list[Row]:
    """13.4: a model with no known price under a USD limit."""
    return _sequential(
        backend,
        scale,
        "4 unpriced model",
        "unpriced",
        bill_nano(PROMPT_TOKENS, 100),  # were it sent, priced like gpt-4o-mini
        model=UNPRICED_MODEL,
        max_tokens=100,
        note=lambda arena: f"{UNPRICED_MODEL} has no price; nothing was sent",
    )


def _sent_ceilings(arena: Arena) -> str:
    sent = [call.json.get("max_tokens") for call in arena.fake.calls]
    shown = Counter("none" if t is None else str(t) for t in sent)
    return "max_tokens sent: " + ", ".join(f"{k} x{v}" for k, v in shown.items())


def no_max_tokens_clamp(backend: Backend, scale: Scale) -> list[Row]:
    """13.5: no max_tokens, the limit clamps the call to the room left."""
    return _sequential(
        backend,
        scale,
        "5 no max_tokens, on_exceed=clamp",
        "clamp",
        bill_nano(PROMPT_TOKENS, max_output()),
        limit={**CAP_LIMIT, "on_exceed": "clamp"},
        note=_sent_ceilings,
    )


def no_max_tokens_refuse(backend: Backend, scale: Scale) -> list[Row]:
    """13.5: no max_tokens, the default limit refuses what does not fit."""
    return _sequential(
        backend,
        scale,
        "5 no max_tokens, refuse (default)",
        "refuse",
        bill_nano(PROMPT_TOKENS, max_output()),
        note=_sent_ceilings,
    )


# -- concurrency ---------------------------------------------------------------------------


def race(backend: Backend, scale: Scale) -> list[Row]:
    """13.6: callers racing for the last of the cap: 4 processes x 8 threads sharing the
    store (one process with 32 tasks on the memory store, which is per process)."""
    worst = bill_nano(PROMPT_TOKENS, RACE_TOKENS)
    if backend.name == "memory":
        return [asyncio.run(_race_in_process(backend, scale, worst))]
    started = time.perf_counter()
    store, ledger = backend.urls("race")
    logs = [str(backend.workdir / f"race-{w}.log") for w in range(RACE_PROCESSES)]
    settings = [
        {
            "role": "race",
            "worker": w,
            "store": store,
            "ledger": ledger,
            "log": logs[w],
            "rounds": scale.race_rounds,
        }
        for w in range(RACE_PROCESSES)
    ]
    children: list[Child] = []
    outcomes: Counter[str] = Counter()
    try:
        for one in settings:
            children.append(_spawn(one, backend.workdir))
        for child in children:  # all ready: start them together
            assert child.proc.stdin is not None
            child.proc.stdin.write("go\n")
            child.proc.stdin.flush()
        for child in children:
            out, _ = child.proc.communicate(timeout=300)
            if child.proc.returncode != 0:
                raise RuntimeError(f"a racing child failed:\n{child.stderr()}")
            outcomes.update(json.loads(out.splitlines()[-1])["outcomes"])
    finally:
        for child in children:
            child.reap()
    row = _measure_children(
        backend.name,
        store,
        ledger,
        logs,
        attack=f"6 race: {RACE_PROCESSES} procs x {RACE_THREADS} threads",
        attack_id="race",
        worst_nano=worst,
    )
    row.note = f"{outcomes['ok']} answered of {sum(outcomes.values())} calls"
    if outcomes - Counter(ok=outcomes["ok"]) != Counter(row.refused):
        row.note += f"; the callers saw {dict(outcomes)}, the ledger's refusals {row.refused}"
    row.seconds = time.perf_counter() - started
    row.verdict = row.judge()
    return [row]


async def _race_in_process(backend: Backend, scale: Scale, worst: int) -> Row:
    arena = Arena(backend, "race", asynchronous=True, latency=(0.002, 0.02))
    try:

        async def caller(task: int) -> None:
            for i in range(scale.race_rounds):
                await arena.acall(max_tokens=RACE_TOKENS, user=f"t{task}-{i}")

        await asyncio.gather(*(caller(t) for t in range(RACE_TASKS)))
        calls = RACE_TASKS * scale.race_rounds
        note = f"{len(arena.fake.calls)} answered of {calls} calls"
        return arena.measure(f"6 race: {RACE_TASKS} tasks, 1 process", "race", worst, note)
    finally:
        await arena.aclose()


# -- crashes -------------------------------------------------------------------------------


def crash(backend: Backend, scale: Scale) -> list[Row]:
    """13.7: a child making concurrent calls is SIGKILLed at a random moment (0.1-0.6 s
    into its calls), again and again on the same budget; then the counter against the
    ledger and the provider's bill, and the killed callers' holds once their TTL passed."""
    if backend.name == "memory":
        raise NotApplicable("the memory store dies with its process: nothing is left to compare")
    started = time.perf_counter()
    store, ledger = backend.urls("crash")
    rng = random.Random(13)
    logs: list[str] = []
    joint: set[bool] = set()
    killed_at = time.time()
    for round_ in range(scale.crash_rounds):
        logs.append(str(backend.workdir / f"crash-{round_}.log"))
        settings = {
            "role": "crash",
            "worker": round_,
            "store": store,
            "ledger": ledger,
            "log": logs[-1],
            "ttl_s": scale.crash_ttl_s,
        }
        child = _spawn(settings, backend.workdir)
        joint.add(child.ready.endswith("joint=True"))
        try:
            time.sleep(rng.uniform(0.1, 0.6))
            child.proc.send_signal(signal.SIGKILL)
            child.proc.wait(timeout=30)
        finally:
            child.reap()
        killed_at = time.time()
    row = _measure_children(
        backend.name,
        store,
        ledger,
        logs,
        attack=f"7 SIGKILL x{scale.crash_rounds} ({CRASH_TASKS} tasks each)",
        attack_id="crash",
        worst_nano=bill_nano(PROMPT_TOKENS, CRASH_TOKENS),
    )
    row.joint = joint == {True}
    row.lost_bound = scale.crash_rounds * CRASH_TASKS
    # A killed caller's reservations block room until their TTL: then they must go.
    time.sleep(max(0.0, killed_at + scale.crash_ttl_s + 0.2 - time.time()))
    from aigate.budget import Budgets, open_budget_store

    with open_budget_store(store) as opened:
        opened.sweep()
        row.pending_after_ttl = len(opened.pending())
        _, row.reserved_after_ttl = _spent(opened, Budgets([CAP_LIMIT]))
    per_call = bill_nano(PROMPT_TOKENS, CRASH_TOKENS)
    unrecorded = (row.spent_nano - row.ledger_nano) // per_call
    row.note = (
        f"{'one commit' if row.joint else 'two commits'} per call; {row.lost} answered calls "
        f"died with their process (at most {CRASH_TASKS} per kill), {unrecorded} of them "
        f"charged with no ledger row; reserved after the TTL: {row.reserved_after_ttl}"
    )
    over = row.billed_nano - row.cap_nano - row.worst_nano
    if over > 0:
        row.note += (
            f"; billed past cap + worst by ${_usd(over)}: the provider billed the "
            f"{row.lost - unrecorded} uncharged ones and their room was reused once it expired"
        )
    row.seconds = time.perf_counter() - started
    row.verdict = row.judge()
    return [row]


# -- child processes -----------------------------------------------------------------------


@dataclass
class Child:
    """A child process (this file with ``--child``) that said it is ready."""

    proc: subprocess.Popen[str]
    ready: str  # its first line: "ready" (a crash child adds "joint=<bool>")
    err_path: Path

    def stderr(self) -> str:
        return self.err_path.read_text()[-3000:]

    def reap(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def _spawn(settings: dict[str, Any], workdir: Path) -> Child:
    """Start a child and wait for its ``ready`` line."""
    path = workdir / f"child-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(settings))
    err_path = workdir / f"{path.stem}.err"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    child = Child(proc, proc.stdout.readline().strip(), err_path)
    if not child.ready.startswith("ready"):
        child.reap()
        raise RuntimeError(f"a child failed to start ({child.ready!r}):\n{child.stderr()}")
    return child


def _measure_children(
    backend: str,
    store_url: str,
    ledger_url: str,
    logs: list[str],
    *,
    attack: str,
    attack_id: str,
    worst_nano: int,
) -> Row:
    """A row from what child processes left: the store, the ledger, the provider's logs."""
    from aigate.budget import Budgets, open_budget_store
    from aigate.ledger import open_ledger

    billed: list[tuple[str, int]] = []  # (user, nano) per call the provider answered
    for log in logs:
        if os.path.exists(log):
            for line in Path(log).read_text().splitlines():
                user, _, nano = line.partition("\t")
                if user != "warmup":
                    billed.append((user, int(nano)))
    answered = {user for user, _ in billed}
    with open_budget_store(store_url) as store:
        spent, _ = _spent(store, Budgets([CAP_LIMIT]))
        pending = len(store.pending())
    ledger = open_ledger(ledger_url)
    try:
        sent, refusals = _our_rows(ledger)
    finally:
        ledger.close()
    recorded = {r.user for r in sent}
    row = Row(
        attack=attack,
        attack_id=attack_id,
        backend=backend,
        cap_nano=cap_nano(),
        spent_nano=spent,
        billed_nano=sum(nano for _, nano in billed),
        worst_nano=worst_nano,
        calls=len(billed),
        rows=len(sent),
        refused=dict(sorted(Counter(str(r.error_type) for r in refusals).items())),
        pending=pending,
        ledger_nano=sum(r.cost_nano or 0 for r in sent),
        lost=len(answered - recorded),
        phantom=len(recorded - answered),
    )
    return row


def _child_gateway(settings: dict[str, Any], fake: BillingProvider, kind: Any) -> Any:
    return kind(
        providers=PROVIDERS,
        budget={
            "store": settings["store"],
            "limits": [CAP_LIMIT],
            "ttl_s": settings.get("ttl_s", 60),
        },
        ledger=settings["ledger"],
        ledger_errors="raise",
        transport=fake,
    )


def _race_child(settings: dict[str, Any]) -> None:
    """4 x 8: this process's 8 threads share one Gateway and race the other processes."""
    worker = settings["worker"]
    fake = BillingProvider(latency=(0.002, 0.02), seed=worker, log_path=settings["log"])
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    with _child_gateway(settings, fake, aigate.Gateway) as gw:
        create = gw.chat.completions.create
        create(model=MODEL, messages=HI, max_tokens=RACE_TOKENS, user="warmup")  # not charged
        print("ready", flush=True)
        sys.stdin.readline()

        def caller(thread: int) -> None:
            for i in range(settings["rounds"]):
                try:
                    create(
                        model=MODEL,
                        messages=HI,
                        max_tokens=RACE_TOKENS,
                        user=f"w{worker}-t{thread}-{i}",
                        metadata=META,
                    )
                    outcome = "ok"
                except aigate.AigateError as exc:
                    outcome = type(exc).__name__
                with lock:
                    outcomes[outcome] += 1

        threads = [threading.Thread(target=caller, args=(t,)) for t in range(RACE_THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    fake.close()
    print(json.dumps({"outcomes": outcomes}), flush=True)


async def _crash_child(settings: dict[str, Any]) -> None:
    """8 tasks calling until the parent kills this process."""
    worker = settings["worker"]
    fake = BillingProvider(latency=(0.002, 0.02), seed=worker, log_path=settings["log"])
    async with _child_gateway(settings, fake, aigate.AsyncGateway) as gw:
        create = gw.chat.completions.create
        await create(model=MODEL, messages=HI, max_tokens=CRASH_TOKENS, user="warmup")
        print(f"ready joint={gw._core.admission.joint is not None}", flush=True)

        async def caller(task: int) -> None:
            for i in itertools.count():
                try:
                    await create(
                        model=MODEL,
                        messages=HI,
                        max_tokens=CRASH_TOKENS,
                        user=f"k{worker}-t{task}-{i}",
                        metadata=META,
                    )
                except aigate.BudgetExceeded:
                    await asyncio.sleep(0.01)  # a caller retrying a little later

        await asyncio.gather(*(caller(t) for t in range(CRASH_TASKS)))


def child_main(path: str) -> None:
    settings = json.loads(Path(path).read_text())
    if settings["role"] == "race":
        _race_child(settings)
    else:
        asyncio.run(_crash_child(settings))


# -- the run -------------------------------------------------------------------------------

ATTACKS: dict[str, Callable[[Backend, Scale], list[Row]]] = {
    "extra-max-tokens": extra_body_max_tokens,
    "extra-max-completion": extra_body_max_completion_tokens,
    "n64": n_choices,
    "stream-break": stream_break,
    "stream-raise": stream_raise,
    "stream-cancel": stream_cancelled,
    "unpriced": unpriced_model,
    "clamp": no_max_tokens_clamp,
    "refuse": no_max_tokens_refuse,
    "race": race,
    "crash": crash,
}
#: The attacks that start child processes.
MULTIPROCESS = frozenset({"race", "crash"})


class JointFallbacks(logging.Filter):
    """Counts the gateway's "settling alone" warnings (a call whose charge and ledger row
    were meant to be one commit became two); ``quiet`` keeps them off the console, since
    the table reports them."""

    MARK = "settling alone"

    def __init__(self, quiet: bool = False) -> None:
        super().__init__()
        self.count = 0
        self.quiet = quiet

    def filter(self, record: logging.LogRecord) -> bool:
        if self.MARK in record.getMessage():
            self.count += 1
            return not self.quiet
        return True


def _children_fallbacks(workdir: Path) -> int:
    """The "settling alone" warnings child processes wrote to their stderr files."""
    return sum(p.read_text().count(JointFallbacks.MARK) for p in workdir.glob("child-*.err"))


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_backend(
    backend: Backend, scale: Scale, attacks: list[str], report: Report, fallbacks: JointFallbacks
) -> None:
    """Run ``attacks`` on one reachable backend, adding their rows to ``report``."""
    try:
        for attack_id in attacks:
            before = fallbacks.count + _children_fallbacks(backend.workdir)
            try:
                rows = ATTACKS[attack_id](backend, scale)
            except NotApplicable as why:
                report.skipped.append(f"{attack_id} on {backend.name}: {why}")
                continue
            for row in rows:
                row.two_commits = fallbacks.count + _children_fallbacks(backend.workdir) - before
                if row.two_commits:
                    row.note = (
                        f"{row.note}; {row.two_commits} call(s) settled in two commits, not "
                        "one: the joint commit failed (aigate.budget: 'settling alone')"
                    ).strip("; ")
            report.rows += rows
    finally:
        backend.cleanup()


def run(
    backends: list[str] | tuple[str, ...] = BACKENDS,
    *,
    quick: bool = False,
    attacks: list[str] | None = None,
    redis_url: str = REDIS_URL,
    postgres_dsn: str = POSTGRES_DSN,
    require_all: bool = False,
    workdir: Path | None = None,
    quiet: bool = False,
) -> Report:
    """Every attack in ``attacks`` (default: all) on every backend in ``backends``;
    ``quiet`` keeps the "settling alone" warnings the rows count off the console."""
    report = Report()
    started = time.perf_counter()
    scale = QUICK if quick else FULL
    run_id = uuid.uuid4().hex[:8]
    fallbacks = JointFallbacks(quiet)
    budget_logger = logging.getLogger("aigate.budget")
    budget_logger.addFilter(fallbacks)
    try:
        with tempfile.TemporaryDirectory(prefix="aigate-attacks-", dir=workdir) as tmp:
            for name in backends:
                (Path(tmp) / name).mkdir()
                backend = Backend(name, Path(tmp) / name, run_id, redis_url, postgres_dsn)
                reason = backend.unreachable()
                if reason is not None:
                    if require_all:
                        raise SystemExit(f"{name} is not reachable ({reason}) and --require-all")
                    report.skipped.append(f"{name}: not reachable ({reason})")
                    print(f"skipped {name}: not reachable ({reason})", flush=True)
                    continue
                print(f"{name} ...", flush=True)
                run_backend(backend, scale, attacks or list(ATTACKS), report, fallbacks)
    finally:
        budget_logger.removeFilter(fallbacks)
    report.seconds = time.perf_counter() - started
    return report


def _short(error: str) -> str:
    return error.replace("Exceeded", "").replace("ModelRefused", "")


def _usd(nano: int) -> str:
    return f"{Decimal(nano) / 10**9:.6f}"


def table(report: Report) -> str:
    """The report as a text table, with the notes and skips under it."""
    head = (
        f"{'attack':38} {'backend':8} {'cap $':>8} {'spent $':>9} {'billed $':>9} "
        f"{'billed/cap':>10} {'worst $':>9} {'rows/calls':>10} {'refused':>20} "
        f"{'pending':>7}  verdict"
    )
    lines = [head, "-" * len(head)]
    notes = []
    for i, row in enumerate(report.rows, 1):
        refused = ", ".join(f"{_short(k)} x{v}" for k, v in row.refused.items())
        pending = str(row.pending)
        if row.pending_after_ttl is not None:
            pending = f"{row.pending}->{row.pending_after_ttl}"
        lines.append(
            f"{row.attack:38} {row.backend:8} {_usd(row.cap_nano)[:-2]:>8} "
            f"{_usd(row.spent_nano):>9} {_usd(row.billed_nano):>9} "
            f"{row.billed_nano / row.cap_nano:>10.3f} {_usd(row.worst_nano):>9} "
            f"{f'{row.rows}/{row.calls}':>10} {refused or '-':>20} {pending:>7}  "
            f"{row.verdict} [{i}]"
        )
        if row.note:
            notes.append(f"[{i}] {row.attack} / {row.backend}: {row.note}")
    lines += ["", *notes]
    lines += [f"skipped {line}" for line in report.skipped]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds (< 60 s)")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    parser.add_argument(
        "--require-all", action="store_true", help="fail when a backend is unreachable"
    )
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--attacks", nargs="+", choices=list(ATTACKS), default=None)
    parser.add_argument("--redis", default=REDIS_URL, help="a Redis database it may write to")
    parser.add_argument("--postgres", default=POSTGRES_DSN, help="a PostgreSQL DSN")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child)
        return 0
    # The unpriced attack's model is unpriced on purpose: its warning is not news here.
    logging.getLogger("aigate.budget").addFilter(
        lambda record: not record.getMessage().startswith("no price known")
    )
    report = run(
        args.backends,
        quick=args.quick,
        attacks=args.attacks,
        redis_url=args.redis,
        postgres_dsn=args.postgres,
        require_all=args.require_all,
        quiet=True,
    )
    print()
    print(table(report))
    print(f"\n{len(report.rows)} rows in {report.seconds:.1f} s")
    if args.json:
        data = {
            "quick": args.quick,
            "seconds": report.seconds,
            "rows": [
                {**asdict(row), "overspend_ratio": row.billed_nano / row.cap_nano}
                for row in report.rows
            ],
            "skipped": report.skipped,
        }
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    bad = [row for row in report.rows if row.verdict.startswith(("OVER", "HOLE"))]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
