"""Memory: resident-set growth over many calls through one Gateway, and import RSS.

    python benchmarks/memory.py [--quick] [--calls N]

1. 100,000 non-streamed calls (``--quick``: 20,000) through one ``aigate.Gateway`` on an
   ``httpx.MockTransport``, after a warm-up of 2,000 calls; then a tenth as many streamed
   calls. Resident memory (``/proc/self/statm``) is sampled as it goes: a leak shows as
   steady growth, a cache filling up as a step. Target (issue 9): growth < 5 MB.
2. ``import aigate`` against ``import httpx, pydantic`` (and a working gateway against a
   working httpx client), each in a fresh interpreter: resident MB, median of 3.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _loopback import MESSAGES, mock_handler

import aigate

TARGET_MB = 5.0
WARM_UP = 2000
MB = 1024 * 1024


def rss_bytes() -> int:
    """Resident memory now (Linux ``/proc``), else the peak from ``getrusage``."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def growth(calls: int, samples: int = 10) -> list[tuple[str, int, float]]:
    """(case, calls so far, MB above the post-warm-up baseline) as the calls go."""
    gw = aigate.Gateway(
        providers={"openai": {"api_keys": ["sk-bench"]}},
        transport=httpx.MockTransport(mock_handler),
    )

    def chat() -> None:
        gw.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)

    def stream() -> None:
        with gw.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True
        ) as chunks:
            for _ in chunks:
                pass

    for _ in range(WARM_UP):
        chat()
    for _ in range(WARM_UP // 10):
        stream()
    gc.collect()
    base = rss_bytes()
    rows: list[tuple[str, int, float]] = [("warm", 0, 0.0)]
    for case, fn, total in (("chat", chat, calls), ("stream", stream, calls // 10)):
        step = max(total // samples, 1)
        done = 0
        while done < total:
            for _ in range(min(step, total - done)):
                fn()
            done += min(step, total - done)
            rows.append((case, done, (rss_bytes() - base) / MB))
    gc.collect()
    rows.append(("after gc", calls + calls // 10, (rss_bytes() - base) / MB))
    gw.close()
    return rows


_RSS = (
    "import os;print(int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE'))"
)


def import_rss(statement: str, runs: int = 3) -> float:
    """Median resident MB of a fresh interpreter after ``statement``."""
    values = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", f"{statement}\n{_RSS}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        values.append(int(out.strip().splitlines()[-1]) / MB)
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 calls instead of 100,000")
    parser.add_argument("--calls", type=int)
    args = parser.parse_args()
    calls = args.calls or (20_000 if args.quick else 100_000)

    rows = growth(calls)
    print(f"resident memory growth after a {WARM_UP}-call warm-up (MB above the baseline)")
    print(f"{'case':10} {'calls':>8} {'growth':>9}")
    for case, done, mb in rows:
        print(f"{case:10} {done:8d} {mb:8.2f}M")
    final = rows[-1][2]
    verdict = "ok" if final < TARGET_MB else "OVER"
    total = calls + calls // 10
    print(f"growth over {total} calls: {final:.2f} MB (target < {TARGET_MB} MB) {verdict}")

    print()
    cases = [
        ("import httpx, pydantic", "import httpx, pydantic"),
        ("import aigate", "import aigate"),
        ("httpx client (info)", "import httpx, pydantic; httpx.Client()"),
        (
            "aigate gateway (info)",
            "import aigate; aigate.Gateway(providers={'openai': {'api_keys': ['sk']}})",
        ),
    ]
    base = import_rss("pass")
    figures = {name: import_rss(statement) for name, statement in cases}
    print(f"{'resident after':24} {'MB':>7} {'ratio':>7}   (bare interpreter: {base:.1f} MB)")
    for name, mb in figures.items():
        against = (
            figures["import httpx, pydantic"]
            if "import" in name
            else figures["httpx client (info)"]
        )
        print(f"{name:24} {mb:7.1f} {mb / against:7.2f}")


if __name__ == "__main__":
    main()
