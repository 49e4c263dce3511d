"""Cost of a routing decision, as a fraction of a bare httpx call on MockTransport.

A route of 20 targets (catalog facts for each: prices, context windows, capabilities, so
capability and window checks run too) is planned with each strategy: pick the rule, drop the
targets that cannot serve the call, order the rest, check the first target's breaker, pick
its key, and record the success, which is everything the attempt loop adds to a call that
succeeds at once. The baseline is a bare ``httpx.Client.post`` on a MockTransport measured
in the same run, because absolute times on a shared machine are noise. Run:

    python benchmarks/routing.py            # ~20 s
    python benchmarks/routing.py --quick

A second table runs whole calls through a Gateway (route of 20 targets vs a direct model) so
the decision can be seen in place; that difference is noisier than the first table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

import aigate
from aigate._attempts import pick_key
from aigate._context import CallContext
from aigate._validate import chat_call
from aigate.routing import Plan

URL = "https://api.openai.com/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "Say hello in one short sentence."}]
BODY = json.dumps(
    {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1677652288,
        "model": "m00",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there, how may I help?"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
    }
).encode()
N = 20
STRATEGIES = ["priority", "weighted", "round_robin", "least_latency", "cheapest", "least_busy"]


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BODY, headers={"content-type": "application/json"})


def config(strategy: str, rules: bool = False) -> dict[str, Any]:
    models = [f"m{i:02d}" for i in range(N)]
    prices = {
        f"p/{m}": {
            "input_per_million": 0.1 + i * 0.05,
            "output_per_million": 0.4 + (N - i) * 0.1,
            "context_window": 128_000,
            "max_output_tokens": 16_384,
            "capabilities": ["tools", "vision", "json_schema"],
        }
        for i, m in enumerate(models)
    }
    route: dict[str, Any] = {
        "targets": [{"target": f"p/{m}", "weight": 1 + i % 3} for i, m in enumerate(models)],
        "strategy": strategy,
    }
    if rules:
        route["conditions"] = [
            {"when": {"metadata.tier": "pro"}, "targets": [f"p/{m}" for m in models[:5]]},
            {"when": {"has_images": True}, "targets": [f"p/{m}" for m in models[5:]]},
        ]
    return {
        "providers": {
            "p": {
                "kind": "openai",
                "base_url": "https://api.openai.com/v1",
                "api_keys": ["k1", "k2"],
            }
        },
        "routes": {"r": route},
        "prices": prices,
    }


def decider(strategy: str, rules: bool = False) -> tuple[Callable[[], Any], aigate.Gateway]:
    """The attempt loop's routing work for one call that succeeds on its first target."""
    gw = aigate.Gateway(config(strategy, rules), transport=httpx.MockTransport(handler))
    core = gw._core
    plan = core.routes["r"]
    assert isinstance(plan, Plan)
    route = plan.route
    router = route.router
    store, clock = router.store, router.clock  # the in-process store: called inline
    call = chat_call(MESSAGES, False, {"metadata": {"tier": "free"}})

    ctx = CallContext(kind="chat", targets=plan, route="r", metadata={}, user=None)

    def decide() -> Any:
        order, _ = route.plan(ctx, call)
        cand = order[0]
        now = clock()
        store.check(cand.name, now)
        index, _ = run_flow(pick_key(cand, store, now, None, 0))
        cand.pool.take(index, now, 0)
        store.record(cand.name, "ok", now)
        store.record(cand.pool.names[index], "ok", now)
        cand.stats.observe(1.0, False)
        return cand

    return decide, gw


def run_flow(flow: Any) -> Any:
    """The value of a flow that yields no effect (a local store is read inline)."""
    try:
        effect = next(flow)
    except StopIteration as stop:
        return stop.value
    raise AssertionError(f"a local health store yielded an effect: {effect!r}")


def timed(fn: Callable[[], Any], rounds: int, number: int) -> float:
    """Median CPU seconds per call over ``rounds`` batches of ``number`` calls. CPU time of
    this process, not wall time: every case is CPU-bound (MockTransport), and other
    processes on a shared machine then shift the figures much less."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(number):
            fn()
        samples.append((time.process_time() - start) / number)
    return statistics.median(samples)


def interleaved(cases: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            results[name].append(fn())
    return {name: min(values) for name, values in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    args = parser.parse_args()
    rounds, number, repeats = (3, 200, 3) if args.quick else (5, 400, 5)

    transport = httpx.MockTransport(handler)
    bare = httpx.Client(transport=transport)
    payload = {"model": "m00", "messages": MESSAGES}

    def bare_call() -> Any:
        return bare.post(URL, json=payload, headers={"authorization": "Bearer k"}).json()

    deciders = {s: decider(s) for s in STRATEGIES}
    deciders["priority + rules"] = decider("priority", rules=True)
    deciders["cheapest + rules"] = decider("cheapest", rules=True)
    for fn, _ in deciders.values():
        fn()  # warm up: the catalog, the token encoding (cheapest)
    bare_call()
    cases: dict[str, Callable[[], float]] = {"bare": lambda: timed(bare_call, rounds, number)}
    for name, (fn, _) in deciders.items():
        cases[name] = lambda fn=fn: timed(fn, rounds, number * 5)  # type: ignore[misc]
    t = interleaved(cases, repeats)

    base = t["bare"]
    print(f"bare httpx call on MockTransport: {base * 1e6:.1f}us\n")
    print(f"{'routing decision, 20 targets':32} {'time':>10} {'of bare':>8} {'target':>7}")
    for name in deciders:
        share = t[name] / base
        ok = "ok" if share < 0.05 else "OVER"
        print(f"{name:32} {t[name] * 1e6:8.2f}us {share:8.1%} {'<5%':>7} {ok}")

    # whole calls: a route of 20 targets against a direct model on the same gateway
    gw_cases: dict[str, Callable[[], float]] = {}
    for name in ("priority", "least_latency", "cheapest"):
        _, gw = deciders[name]

        def routed(gw: aigate.Gateway = gw) -> Any:
            return gw.chat.completions.create(model="r", messages=MESSAGES)

        def direct(gw: aigate.Gateway = gw) -> Any:
            return gw.chat.completions.create(model="p/m00", messages=MESSAGES)

        routed()
        direct()
        gw_cases[f"{name} direct"] = lambda f=direct: timed(f, rounds, number)  # type: ignore[misc]
        gw_cases[f"{name} routed"] = lambda f=routed: timed(f, rounds, number)  # type: ignore[misc]
    g = interleaved(gw_cases, repeats)
    print(f"\n{'whole call through a Gateway':32} {'direct':>10} {'routed':>10} {'delta':>8}")
    for name in ("priority", "least_latency", "cheapest"):
        d, r = g[f"{name} direct"], g[f"{name} routed"]
        print(f"{name:32} {d * 1e6:8.1f}us {r * 1e6:8.1f}us {(r - d) / base:8.1%}")
    for _, gw in deciders.values():
        gw.close()
    bare.close()


if __name__ == "__main__":
    main()
