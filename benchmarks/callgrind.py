"""Instructions per call under callgrind, for the claims that sit near a target.

    python benchmarks/callgrind.py [--calls N] [CASE ...]

Wall-clock ratios on a shared machine move by +-0.2; instruction counts repeat to the
instruction. Each case runs ``python`` under ``valgrind --tool=callgrind`` twice, with N
calls and with none (same imports, same three warm-up calls), and prints the difference
divided by N next to the bare-httpx baseline of the same kind, on the same MockTransport
and bodies as benchmarks/overhead.py. Needs valgrind.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: case -> its bare-httpx baseline
CASES = {
    "chat": "chat_bare",
    "stream": "stream_bare",
    "anthropic": "anthropic_bare",
    # the openai SDK over aigate's transport vs the same SDK on a bare MockTransport
    # (benchmarks/sdk.py's setup); not run by default: a stream costs ~2 s under callgrind
    "sdk_chat": "sdk_chat_bare",
    "sdk_stream": "sdk_stream_bare",
}
DEFAULT = ["chat", "stream", "anthropic"]


def _sdk_runner(case: str) -> Callable[[], Any]:
    sys.path.insert(0, str(HERE))
    import sdk

    runs = sdk.clients()
    client = runs["bare" if case.endswith("_bare") else "aigate"]
    kwargs = {"model": sdk.MODEL, "messages": sdk.MESSAGES}
    if case.startswith("sdk_stream"):

        def read() -> None:
            for _ in client.chat.completions.create(**kwargs, stream=True):
                pass

        return read
    return lambda: client.chat.completions.create(**kwargs)


def _runner(case: str) -> Callable[[], Any]:
    """One call of ``case`` (imports happen here, outside the counted difference)."""
    if case.startswith("sdk_"):
        return _sdk_runner(case)
    sys.path.insert(0, str(HERE))
    import httpx
    import overhead

    import aigate

    transport = httpx.MockTransport(overhead.handler)
    bare = httpx.Client(transport=transport)
    providers = {"openai": {"api_keys": ["sk"]}, "anthropic": {"api_keys": ["sk"]}}
    gw = aigate.Gateway(providers=providers, transport=transport)
    headers = {"authorization": "Bearer sk"}
    body = {"model": "gpt-4o-mini", "messages": overhead.MESSAGES}

    def bare_stream(url: str) -> None:
        with bare.stream("POST", url, json={**body, "stream": True}, headers=headers) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    if line[6:] == "[DONE]":
                        break
                    json.loads(line[6:])

    def stream(model: str) -> None:
        for _ in gw.chat.completions.create(model=model, messages=overhead.MESSAGES, stream=True):
            pass

    runs: dict[str, Callable[[], Any]] = {
        "chat_bare": lambda: bare.post(overhead.URL, json=body, headers=headers).json(),
        "chat": lambda: gw.chat.completions.create(
            model="openai/gpt-4o-mini", messages=overhead.MESSAGES
        ),
        "stream_bare": lambda: bare_stream(overhead.URL),
        "stream": lambda: stream("openai/gpt-4o-mini"),
        "anthropic_bare": lambda: bare_stream("https://api.anthropic.com/v1/messages"),
        "anthropic": lambda: stream("anthropic/claude-sonnet-4-5"),
    }
    return runs[case]


def _child(case: str, calls: int) -> None:
    run = _runner(case)
    for _ in range(3 + calls):
        run()


def _instructions(case: str, calls: int, out: Path) -> int:
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out / f'{case}.{calls}'}",
            sys.executable,
            __file__,
            "--child",
            case,
            str(calls),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def per_call(case: str, calls: int, out: Path) -> float:
    """Instructions of one call of ``case``: (N calls - 0 calls) / N."""
    return (_instructions(case, calls, out) - _instructions(case, 0, out)) / calls


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=DEFAULT, choices=list(CASES))
    parser.add_argument("--calls", type=int, default=20, help="counted calls per run")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed")
    print(f"{'case':12} {'baseline':>12} {'aigate':>12} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            ours = per_call(case, args.calls, Path(tmp))
            base = per_call(CASES[case], args.calls, Path(tmp))
            print(f"{case:12} {base / 1e6:10.3f} M {ours / 1e6:10.3f} M {ours / base:7.2f}")


if __name__ == "__main__":
    main()
