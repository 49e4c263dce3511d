"""The chaos soak: 4 processes x 64 concurrent callers against a faulty provider server.

Three providers (two keys each) behind one failover route answer from a loopback server
that injects 429s with Retry-After, 500s, 529s, resets, stalls, cut streams and malformed
JSON. Budget and cache are shared in Redis, the ledger in PostgreSQL. One budget runs out
during the run, and one worker is SIGKILLed in the middle of it. Afterwards:

1. every call that returned has exactly one ledger record (looked up by id);
2. no call returned a truncated answer as success: every answer is exactly what the server
   sent for that prompt, at exactly the price of the usage it reported, and every broken
   stream raised ``StreamInterrupted`` with a true prefix of the answer;
3. settled spend never passed the budget by more than one call's maximum cost;
4. every reservation was settled or expired (the killed worker's expired after the TTL);
5. the budget counters equal the ledger's sums, to the nano-dollar.

``pytest tests/soak --soak-seconds 600`` runs the long version; CI runs 60 seconds.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aigate.budget import BaseBudgetStore, Budgets, open_budget_store
from aigate.pricing import to_nano

from ._server import PRICES, PROVIDERS

HERE = Path(__file__).parent
WORKERS = 4
TASKS = 64
KILLED = 3  # the worker that gets SIGKILLed
KILL_AT = 0.4  # of the run
TTL_S = 5.0
MAX_TOKENS = 64
SEED = 20240901
# The capped project's callers would spend about $0.005 a second on a busy 2-core machine;
# its budget is what they spend in the first ~15% of the run there, so it runs out even on
# a machine several times slower. The free project keeps the chaos going until the end.
CAP_USD_PER_SECOND = Decimal("0.0008")


def _limits(cap: Decimal) -> list[dict[str, Any]]:
    soft = {"amount": "1000", "window": "day", "hard": False}
    return [
        {"scope": "project:capped", "amount": str(cap), "window": "day"},
        {"scope": "project:*", **soft},  # the capped project keeps its stricter hard limit
        {"scope": "meta:worker=*", **soft},  # per worker, to reconcile the killed one
        {"scope": "provider:*", **soft},
    ]


def _config(port: int, redis_url: str, postgres_dsn: str, cap: Decimal) -> dict[str, Any]:
    providers = {
        name: {
            "kind": "openai",
            "base_url": f"http://127.0.0.1:{port}/{name}/v1",
            "api_keys": [f"sk-{name}-a", f"sk-{name}-b"],
            "prices": {
                "soak-model": {
                    "input_per_million": PRICES[name][0],
                    "output_per_million": PRICES[name][1],
                }
            },
        }
        for name in PROVIDERS
    }
    return {
        "providers": providers,
        "routes": {
            "soak": {
                "targets": [f"{name}/soak-model" for name in PROVIDERS],
                "strategy": "failover",
            }
        },
        "timeout": {"total": 10, "connect": 1, "read": 1},
        "max_connections": TASKS * 2,
        "max_keepalive_connections": TASKS * 2,
        "router": {
            "retry": {
                "retries": 1,
                "backoff_s": 0.02,
                "backoff_max_s": 0.2,
                "retry_after_cap_s": 0.5,
                "deadline_s": 3.0,  # well inside the reservation TTL
                "idle_timeout_s": 1.0,
            },
            "breaker": {"failures": 8, "cooldown_s": 0.5, "key_cooldown_s": 0.2},
        },
        "cache": {"url": redis_url},
        "budget": {"store": redis_url, "limits": _limits(cap), "ttl_s": TTL_S},
        "ledger": postgres_dsn,
    }


def _start_server(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    with (tmp_path / "server.err").open("w") as err:
        server = subprocess.Popen(
            [sys.executable, str(HERE / "_server.py"), "--seed", str(SEED)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert server.stdout is not None
    line = server.stdout.readline()
    server.stdout.close()  # the server prints nothing else
    if not line.startswith("PORT "):
        server.kill()
        server.wait()
        pytest.fail(f"the soak server did not start: {line!r}")
    return server, int(line.split()[1])


def _stop(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as response:
        stats: dict[str, Any] = json.loads(response.read())
        return stats


def _lines(path: Path, killed: bool) -> list[dict[str, Any]]:
    lines = []
    raw = path.read_text(encoding="utf-8").splitlines()
    for i, text in enumerate(raw):
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            # only the line being written when the worker was killed may be cut
            assert killed and i == len(raw) - 1, f"{path.name}:{i + 1} is not JSON: {text!r}"
    return lines


def _wait_ready(logs: list[Path], procs: list[subprocess.Popen[bytes]], within: float) -> None:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if all(p.exists() and '"ready"' in p.read_text(encoding="utf-8") for p in logs):
            return
        for proc in procs:
            assert proc.poll() is None, f"a worker died during setup (exit {proc.returncode})"
        time.sleep(0.05)
    pytest.fail("the workers were not ready in time")


def _counter_keys(cap: Decimal, moments: list[float]) -> dict[str, str]:
    """Every counter key the run can have touched, by concrete scope (a run that crosses
    midnight has two windows: their keys are summed per scope)."""
    budgets = Budgets(_limits(cap))
    keys: dict[str, str] = {}
    projects = ("capped", "free", "warmup")
    for at in moments:
        for project in projects:
            for w in range(WORKERS):
                for provider in PROVIDERS:
                    for charge in budgets.plan(
                        {"project": project, "provider": provider},
                        metadata={"worker": f"w{w}"},
                        estimate_nano=0,
                        now=at,
                    ):
                        keys[charge.key] = charge.key.split("|", 1)[0]
    return keys


def _max_call_nano(config: dict[str, Any]) -> int:
    """One call's maximum cost: the worst-case reservation of the longest prompt."""
    import aigate

    gw = aigate.Gateway(config)
    try:
        core = gw._core
        assert core.admission is not None
        prompt = "Unique 3-63-999999: describe the silver in plain words"
        worst, _ = core.admission.estimate(
            core.routes["soak"], [{"role": "user", "content": prompt}], {"max_tokens": MAX_TOKENS}
        )
        return worst
    finally:
        gw.close()


def _ledger_rows(postgres_dsn: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(postgres_dsn) as conn:
        return conn.execute(
            "SELECT id, status, cost_nano, cached, stream, provider, metadata->>'project',"
            " metadata->>'worker', error_type FROM aigate_ledger"
        ).fetchall()


@pytest.fixture
def store(redis_url: str) -> Iterator[BaseBudgetStore]:
    """The shared budget store, as the test process sees it."""
    with open_budget_store(redis_url) as store:
        yield store


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
def test_chaos_soak(
    redis_url: str,
    postgres_dsn: str,
    store: BaseBudgetStore,
    soak_seconds: float,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    cap = (CAP_USD_PER_SECOND * Decimal(str(soak_seconds))).quantize(Decimal("0.000001"))
    server, port = _start_server(tmp_path)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        config = _config(port, redis_url, postgres_dsn, cap)
        max_call = _max_call_nano(config)
        logs = [tmp_path / f"worker{w}.jsonl" for w in range(WORKERS)]
        for w in range(WORKERS):
            settings = {
                "index": w,
                "seed": SEED,
                "seconds": soak_seconds,
                "tasks": TASKS,
                "max_tokens": MAX_TOKENS,
                "out": str(logs[w]),
                "config": config,
            }
            path = tmp_path / f"worker{w}.json"
            path.write_text(json.dumps(settings), encoding="utf-8")
            with (tmp_path / f"worker{w}.err").open("w") as err:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, str(HERE / "_worker.py"), str(path)],
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                    )
                )
        _wait_ready(logs, procs, within=30)
        run_started = time.time()
        setup_s = time.monotonic() - started

        keys = _counter_keys(cap, [run_started])
        killed_keys = [k for k, scope in keys.items() if scope == f"meta:worker=w{KILLED}"]

        time.sleep(soak_seconds * KILL_AT)
        # Kill it while it holds reservations (calls in flight), so that their expiry is
        # tested: poll its counter for a moment when two calls or more are admitted.
        poll_until = time.monotonic() + 3.0
        while time.monotonic() < poll_until:
            if sum(c.reserved for c in store.status(killed_keys).values()) > max_call:
                break
            time.sleep(0.005)
        procs[KILLED].send_signal(signal.SIGKILL)
        killed_at = time.time()
        procs[KILLED].wait(10)
        # The dead worker's calls in flight still hold their reservations, until the TTL.
        held_at_kill = sum(c.reserved for c in store.status(killed_keys).values())

        for w, proc in enumerate(procs):
            if w != KILLED:
                assert proc.wait(soak_seconds + 30) == 0, (
                    f"worker {w} failed: {(tmp_path / f'worker{w}.err').read_text()[-2000:]}"
                )
        run_s = time.time() - run_started
        stats = _stats(port)
        # The survivors settled every reservation they made: nothing of theirs is held,
        # before any TTL could have released it for them.
        survivors = [k for k, s in keys.items() if s.startswith("meta:") and f"=w{KILLED}" not in s]
        held_by_survivors = sum(c.reserved for c in store.status(survivors).values())
    finally:
        for proc in procs:
            _stop(proc)
        _stop(server, signal.SIGTERM)

    lines = {w: _lines(logs[w], killed=w == KILLED) for w in range(WORKERS)}
    calls = [
        line for w in lines for line in lines[w] if line["t"] in ("ok", "interrupted", "error")
    ]
    ok = [c for c in calls if c["t"] == "ok"]
    interrupted = [c for c in calls if c["t"] == "interrupted"]
    errors = [c for c in calls if c["t"] == "error"]
    returned = ok + interrupted
    rows = {row[0]: row for row in _ledger_rows(postgres_dsn)}

    keys = _counter_keys(cap, [run_started, time.time()])
    # Expired holds are released lazily by later reserves, and by sweep: the dead worker's
    # must be gone once its TTL has passed.
    time.sleep(max(0.0, killed_at + TTL_S + 0.2 - time.time()))
    store.sweep()
    counters = store.status(list(keys))
    pending = store.pending()
    spent: Counter[str] = Counter()
    for key, counter in counters.items():
        spent[keys[key]] += counter.spent
    ledger: Counter[str] = Counter()
    for _, _, cost, _, _, provider, project, worker, _ in rows.values():
        for scope in (f"project:{project}", f"meta:worker={worker}", f"provider:{provider}"):
            ledger[scope] += cost or 0  # failed calls have no cost, and they settled 0
    cap_nano = to_nano(cap)
    lost = spent[f"meta:worker=w{KILLED}"] - ledger[f"meta:worker=w{KILLED}"]
    served = Counter(stats["served"])
    kinds: Counter[str] = Counter()
    for name, count in served.items():
        kinds[name.split(":")[1]] += count
    report = {
        "soak_seconds": soak_seconds,
        "setup_s": round(setup_s, 1),
        "run_s": round(run_s, 1),
        "calls": len(calls),
        "returned_ok": len(ok),
        "cached": sum(c["cached"] for c in ok),
        "streamed_ok": sum(c["stream"] for c in ok),
        "interrupted": len(interrupted),
        "errors": dict(Counter(c["type"] for c in errors)),
        "server": dict(kinds),
        "server_requests": stats["requests"],
        "cap_nano": cap_nano,
        "capped_spent_nano": spent["project:capped"],
        "free_spent_nano": spent["project:free"],
        "max_call_nano": max_call,
        "held_at_kill_nano": held_at_kill,
        "held_by_survivors_nano": held_by_survivors,
        "capped_ledger_nano": ledger["project:capped"],
        "killed_unrecorded_nano": lost,
        "ledger_rows": len(rows),
        "total_s": round(time.monotonic() - started, 1),
    }
    print("\nSOAK", json.dumps(report))

    for w in range(WORKERS):
        done = [line for line in lines[w] if line["t"] == "done"]
        if w == KILLED:
            assert not done, "the killed worker finished before it was killed"
        else:
            assert done and done[0]["ledger_failures"] == 0, f"worker {w}: {done}"

    # -- 1. every call that returned has exactly one ledger record -------------------------
    ids = [c["id"] for c in returned]
    assert all(ids) and len(set(ids)) == len(ids), "call ids are missing or repeated"
    missing = [i for i in ids if i not in rows]  # the id is the table's primary key
    assert not missing, f"{len(missing)} returned calls have no ledger record: {missing[:5]}"
    for c in ok:
        row = rows[c["id"]]
        assert row[1] == "ok" and row[3] == c["cached"] and row[4] == c["stream"], (c, row)
        assert row[2] == to_nano(Decimal(c["cost"])), (c, row)
    for c in interrupted:
        row = rows[c["id"]]
        assert row[1] == "error" and row[4], (c, row)
        assert row[2] == (to_nano(Decimal(c["cost"])) if c["cost"] is not None else None)

    # -- 2. no truncated answer returned as success ------------------------------------------
    wrong = [c for c in ok if not (c["exact"] and c["complete"])]
    assert not wrong, f"{len(wrong)} calls returned a wrong or truncated answer: {wrong[:3]}"
    mispriced = [c for c in ok if not c["right_cost"]]
    assert not mispriced, f"{len(mispriced)} calls were not charged their usage: {mispriced[:3]}"
    bad_partial = [c for c in interrupted if not c["prefix"]]
    assert not bad_partial, f"interrupted streams with a foreign partial: {bad_partial[:3]}"
    untyped = [c for c in errors if not c["typed"]]
    assert not untyped, f"errors outside aigate's tree: {Counter(c['type'] for c in untyped)}"

    # -- 3. spend never passed the budget by more than one call's maximum cost ----------
    for key, scope in keys.items():
        if scope == "project:capped":
            assert counters[key].spent <= cap_nano + max_call, (key, counters[key], cap_nano)
    assert ledger["project:capped"] <= cap_nano + max_call
    refused = [c for c in errors if c["type"] == "BudgetExceeded"]
    assert refused, "the capped budget never ran out: lower CAP_USD_PER_SECOND"
    assert all(c["project"] == "capped" for c in refused)

    # -- 4. every reservation settled or expired ----------------------------------------------
    assert held_at_kill > 0, "the killed worker held no reservation: the kill proved nothing"
    assert held_by_survivors == 0
    assert pending == []
    assert all(c.reserved == 0 for c in counters.values()), {
        k: c for k, c in counters.items() if c.reserved
    }

    # -- 5. counters equal ledger sums -------------------------------------------------------
    for w in range(WORKERS):
        if w != KILLED:
            scope = f"meta:worker=w{w}"
            assert spent[scope] == ledger[scope], (scope, spent[scope], ledger[scope])
    # The killed worker may have died between a settle and its ledger insert (record()
    # settles first): such calls are counted but have no row. Only its calls in flight can
    # be in that state, and the same difference must show in the project and provider sums.
    assert 0 <= lost <= TASKS * max_call, lost
    for family in ("project:", "provider:"):
        diffs = {s: spent[s] - ledger[s] for s in set(spent) | set(ledger) if s.startswith(family)}
        assert all(d >= 0 for d in diffs.values()) and sum(diffs.values()) == lost, diffs

    # -- the chaos really happened ------------------------------------------------------------
    for kind in ("ok", "429", "500", "529", "reset", "stall", "cut", "malformed"):
        assert kinds[kind] > 0, f"the server never injected {kind}: {kinds}"
    used = [p for p in PROVIDERS if stats["requests"].get(p)]
    assert used[:2] == ["p1", "p2"], "no failover happened"
    assert all(stats["keys"].get(f"sk-{p}-{k}", 0) > 0 for p in used for k in "ab")
    fresh = [c for c in ok if not c["cached"]]
    assert kinds["ok"] >= len(fresh)  # every fresh answer was served once at least
    assert any(c["cached"] for c in ok) and interrupted


def test_cache_hit_of_a_streamed_entry_names_its_provider() -> None:
    """Found by the soak: a hit on an entry that a stream stored must still name who
    answered it, in ``r.gateway`` and in its ledger row."""
    import aigate
    from aigate.testing import FakeTransport, reply

    gw = aigate.Gateway(
        providers={"openai": {"api_keys": ["sk-test"]}},
        transport=FakeTransport(default=reply("Hello there")),
        cache="memory://",
        ledger="memory://",
    )
    hi: dict[str, Any] = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi"}],
    }
    with gw.chat.completions.create(stream=True, temperature=0, **hi) as stream:
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    hit = gw.chat.completions.create(temperature=0, **hi)
    assert hit.gateway is not None and hit.gateway.cached
    rows = [r for r in gw.usage.query() if r.cached]
    gw.close()
    assert (hit.gateway.provider, hit.gateway.model) == ("openai", "gpt-4o-mini")
    assert [(r.provider, r.model) for r in rows] == [("openai", "gpt-4o-mini")]
