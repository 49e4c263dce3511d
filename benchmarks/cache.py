"""Cache hits through the gateway against a bare httpx call on the same MockTransport.

    python benchmarks/cache.py [--quick]

Targets (issue 7): a memory hit <= 0.3x a bare httpx call, a disk hit <= 1.0x. A Redis hit
is shown too when a server answers on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from overhead import MESSAGES, URL, handler, interleaved, timed

import aigate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, number, repeats = (5, 100, 3) if args.quick else (7, 300, 5)
    transport = httpx.MockTransport(handler)
    bare = httpx.Client(transport=transport)
    payload = {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0}

    def bare_call() -> Any:
        return bare.post(URL, json=payload, headers={"authorization": "Bearer sk"}).json()

    cases: dict[str, Any] = {"bare httpx": bare_call}
    gateways = []
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"memory hit": "memory://", "disk hit": f"disk:///{tmp}/cache"}
        try:
            import redis

            redis.Redis.from_url("redis://127.0.0.1:6379/14").ping()
            urls["redis hit"] = "redis://127.0.0.1:6379/14"
        except Exception:
            print("(Redis not reachable: skipping the Redis case)")
        for name, url in urls.items():
            gw = aigate.Gateway(
                providers={"openai": {"api_keys": ["sk"]}}, cache=url, transport=transport
            )
            gateways.append(gw)

            def hit(gw: aigate.Gateway = gw) -> Any:
                return gw.chat.completions.create(
                    model="openai/gpt-4o-mini", messages=MESSAGES, temperature=0
                )

            hit()  # fill
            assert hit().gateway.cached  # type: ignore[union-attr]
            cases[name] = hit
        results = interleaved(
            {name: (lambda fn=fn: timed(fn, rounds, number)) for name, fn in cases.items()},
            repeats,
        )
        for gw in gateways:
            gw.close()
    base = results["bare httpx"]
    targets = {"memory hit": 0.3, "disk hit": 1.0}
    print(f"{'case':14} {'per call':>10} {'ratio':>7} {'target':>7}")
    for name, seconds in results.items():
        target = targets.get(name)
        verdict = "" if target is None else ("ok" if seconds / base <= target else "OVER")
        shown = f"<={target}" if target else ""
        print(f"{name:14} {seconds * 1e6:8.1f}us {seconds / base:7.2f} {shown:>7} {verdict}")


if __name__ == "__main__":
    main()
