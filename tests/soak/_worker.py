"""One soak worker process: an AsyncGateway and N concurrent callers, until a deadline.

Run as a script by the soak test: ``python _worker.py <settings.json>``. It writes one JSON
line per call to its own log (line-buffered, so a SIGKILL loses at most the line being
written): ``ok`` for a call that returned (its call id, cost, streamed or not, cached,
and whether the answer is exactly what the server sent), ``interrupted`` for a stream
that raised :class:`aigate.StreamInterrupted` (its call id, and whether the partial text is
a true prefix of the answer), ``error`` for any other exception (its type). A last
``done`` line carries the ledger's write failures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from _server import answer_text, cost_nano, usage_of  # the script's own directory

import aigate
from aigate.pricing import to_nano

_TOPICS = ("river", "stone", "cloud", "light", "water", "fire", "gold", "silver")


def _prompt(rng: random.Random, worker: int, task: int, i: int) -> tuple[str, bool]:
    """A prompt and whether it is cacheable: a small shared pool (temperature 0, so other
    callers and other workers hit the cache) or a unique one."""
    if rng.random() < 0.5:
        k = rng.randrange(300)
        return f"Question {k}: tell me about the {_TOPICS[k % len(_TOPICS)]} please", True
    topic = rng.choice(_TOPICS)
    return f"Unique {worker}-{task}-{i}: describe the {topic} in plain words", False


class Log:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, **line: Any) -> None:
        self.out.write(json.dumps(line, separators=(",", ":")) + "\n")


async def caller(
    gw: aigate.AsyncGateway, settings: dict[str, Any], task: int, log: Log, until: float
) -> None:
    worker = settings["index"]
    rng = random.Random(f"{settings['seed']}:{worker}:{task}")
    project = "capped" if task % 2 == 0 else "free"
    i = 0
    while time.monotonic() < until:
        i += 1
        prompt, cacheable = _prompt(rng, worker, task, i)
        stream = rng.random() < 0.35
        messages = [{"role": "user", "content": prompt}]
        kwargs: dict[str, Any] = {
            "model": "soak",
            "messages": messages,
            "max_tokens": settings["max_tokens"],
            "temperature": 0 if cacheable else 0.7,
            "user": f"u{task % 8}",
            "metadata": {"project": project, "worker": f"w{worker}"},
        }
        base = {"stream": stream, "project": project}
        try:
            if stream:
                s = await gw.chat.completions.create(stream=True, **kwargs)
                parts: list[str] = []
                finish = None
                async for chunk in s:
                    for choice in chunk.choices:
                        if choice.delta.content:
                            parts.append(choice.delta.content)
                        if choice.finish_reason is not None:
                            finish = choice.finish_reason
                info = s.gateway
                text = "".join(parts)
            else:
                r = await gw.chat.completions.create(**kwargs)
                info = r.gateway
                text = r.choices[0].message.content or ""
                finish = r.choices[0].finish_reason
        except aigate.StreamInterrupted as exc:
            pinfo = exc.partial.gateway
            partial = exc.partial.choices[0].message.content if exc.partial.choices else ""
            provider = pinfo.provider if pinfo is not None else ""
            expected = answer_text(provider, prompt)
            log.write(
                t="interrupted",
                id=pinfo.call_id if pinfo is not None else None,
                cost=str(pinfo.cost_usd) if pinfo is not None else None,
                provider=provider,
                prefix=expected.startswith(partial or ""),
                cause=type(exc.__cause__).__name__,
                **base,
            )
            continue
        except Exception as exc:
            log.write(
                t="error",
                type=type(exc).__name__,
                typed=isinstance(exc, aigate.AigateError),
                message=str(exc)[:300],
                **base,
            )
            if isinstance(exc, aigate.BudgetExceeded):
                # a polite client waits before asking again (the CPU goes to the others)
                await asyncio.sleep(rng.uniform(0.2, 0.4))
            continue
        assert info is not None
        # a cache hit names the provider whose answer was stored: the text must be its answer
        expected = answer_text(info.provider, prompt)
        cost = info.cost_usd if info.cost_usd is not None else None
        right_cost = True
        if not info.cached and not info.estimated:
            # exactly the provider's price of the usage the server reported
            want = cost_nano(info.provider, usage_of(info.provider, messages))
            right_cost = cost is not None and to_nano(cost) == want
        log.write(
            t="ok",
            id=info.call_id,
            cost=str(cost) if cost is not None else None,
            provider=info.provider,
            cached=info.cached,
            estimated=info.estimated,
            complete=finish == "stop",
            exact=text == expected,
            right_cost=right_cost,
            got=None if text == expected else text[:200],
            **base,
        )


async def main(settings: dict[str, Any], log: Log) -> None:
    gw = aigate.AsyncGateway(settings["config"])
    # open every store (and the ledger's schema) before the clock starts
    for _ in range(5):
        try:
            await gw.chat.completions.create(
                model="soak",
                messages=[{"role": "user", "content": "warm up"}],
                max_tokens=settings["max_tokens"],
                metadata={"project": "warmup", "worker": f"w{settings['index']}"},
            )
            break
        except aigate.AigateError:
            continue
    log.write(t="ready")
    until = time.monotonic() + settings["seconds"]
    cpu = time.process_time()
    tasks = [
        asyncio.create_task(caller(gw, settings, task, log, until))
        for task in range(settings["tasks"])
    ]
    await asyncio.gather(*tasks)
    ledger = gw._core.ledger
    await gw.aclose()
    log.write(
        t="done",
        ledger_failures=getattr(ledger, "failures", None),
        cpu_s=round(time.process_time() - cpu, 2),
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    with Path(settings["out"]).open("w", buffering=1, encoding="utf-8") as out:
        asyncio.run(main(settings, Log(out)))
