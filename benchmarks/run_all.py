"""Run every benchmark and write the figures into docs/performance.md.

    python benchmarks/run_all.py            # everything, several minutes
    python benchmarks/run_all.py --quick    # fewer rounds everywhere (noisier)
    python benchmarks/run_all.py --only throughput memory --no-write

Each benchmark runs as its own process (a fresh interpreter, so one cannot warm up or
slow down the next) with ``--quick`` passed through; its output is shown as it comes and
collected. The collected tables go into docs/performance.md between the markers
``<!-- figures:start -->`` and ``<!-- figures:end -->`` (added at the end when absent),
with the date, the machine and the exact command; the rest of that file is left as it is.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "performance.md"
START = "<!-- figures:start -->"
END = "<!-- figures:end -->"
# In this order; routing.py and budget.py are run when they exist.
BENCHMARKS = ("overhead", "cache", "throughput", "memory", "peers", "routing", "budget")


def run(name: str, quick: bool) -> tuple[str, int, float]:
    """Run ``benchmarks/<name>.py``; echo and return its output, exit code and seconds."""
    command = [sys.executable, str(HERE / f"{name}.py"), *(["--quick"] if quick else [])]
    print(f"\n=== {name}: {shlex.join(command[1:])}", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    code = process.wait()
    return "".join(lines).rstrip(), code, time.perf_counter() - started


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return (
        f"{platform.system()} {platform.machine()}, {cpus} CPUs{load}; "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )


def block(command: str, results: list[tuple[str, str, int, float]]) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        START,
        "",
        f"Measured {now} on {machine()}, with:",
        "",
        "```bash",
        command,
        "```",
        "",
    ]
    for name, output, code, seconds in results:
        status = "" if code == 0 else f", exit code {code}"
        parts += [f"### {name}.py ({seconds:.0f} s{status})", "", "```text", output, "```", ""]
    parts.append(END)
    return "\n".join(parts)


def write(doc: Path, text: str) -> None:
    """Replace what is between the markers, or append the block when they are absent."""
    current = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    start, end = current.find(START), current.find(END)
    if start >= 0 and end > start:
        updated = current[:start] + text + current[end + len(END) :]
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    doc.write_text(updated, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    parser.add_argument("--no-write", action="store_true", help="do not touch the docs")
    parser.add_argument("--doc", type=Path, default=DOC, help="the file to write (%(default)s)")
    args = parser.parse_args()
    results = []
    for name in args.only or BENCHMARKS:
        if (HERE / f"{name}.py").exists():
            results.append((name, *run(name, args.quick)))
        else:
            print(f"({name}.py not found: skipped)")
    failed = [name for name, _, code, _ in results if code != 0]
    if not args.no_write:
        command = shlex.join(["python", "benchmarks/run_all.py", *sys.argv[1:]])
        write(args.doc, block(command, results))
        print(f"\nfigures written to {args.doc}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
