"""Fuzz tests: Hypothesis over aigate's parsers and validators (issue 9, "bad input").

The property everywhere: only a result or a typed :class:`aigate.AigateError` comes out,
never a crash, a hang or an untyped exception.

Reproducibility: the runs are derandomized by default, so CI sees the same examples on
every run and a failure reproduces locally with the same command. ``AIGATE_FUZZ_RANDOM=1``
explores new examples (Hypothesis then prints the seed and a ``@reproduce_failure`` blob
for any failure); ``AIGATE_FUZZ_SCALE=10`` runs ten times as many examples.

Known bugs: an untyped exception a fuzz test has found in code these tests do not own is
pinned by a regular test marked ``xfail(strict=True)`` and listed in that module's
``KNOWN`` table, which the property then tolerates (counted as a Hypothesis event, so
``--hypothesis-show-statistics`` shows how often). When the bug is fixed its xfail test
passes, strict xfail turns that into a failure, and the entry is to be deleted.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import aigate

__all__ = [
    "FIXTURES",
    "KnownBug",
    "check_typed",
    "fuzz",
    "json_values",
    "mutated",
    "raised_at",
    "timed",
]

FIXTURES = Path(__file__).parent.parent / "fixtures"
SCALE = float(os.environ.get("AIGATE_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("AIGATE_FUZZ_RANDOM", "") not in ("", "0")
_AIGATE_DIR = Path(aigate.__file__).parent
# A parser call slower than this on inputs of a few hundred bytes is a hang, not noise.
HANG_S = 5.0


def fuzz(max_examples: int) -> settings:
    """Settings for one fuzz test: ``max_examples`` scaled, no deadline, reproducible."""
    options: dict[str, Any] = {
        "max_examples": max(1, int(max_examples * SCALE)),
        "deadline": None,
        "derandomize": not RANDOM,
        "print_blob": True,
        "suppress_health_check": [
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    }
    if not RANDOM:
        options["database"] = None  # a fixed sequence needs no example database
    return settings(**options)


# -- strategies ----------------------------------------------------------------------------

#: Keys of the three wire formats, so random objects reach the parsers' branches.
WIRE_KEYS = (
    "id",
    "object",
    "created",
    "model",
    "choices",
    "index",
    "message",
    "delta",
    "content",
    "role",
    "finish_reason",
    "tool_calls",
    "function",
    "name",
    "arguments",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "prompt_tokens_details",
    "completion_tokens_details",
    "cached_tokens",
    "reasoning_tokens",
    "error",
    "code",
    "type",
    "param",
    "data",
    "embedding",
    "x_groq",
    "cost",
    "content_block",
    "text",
    "thinking",
    "signature",
    "partial_json",
    "input",
    "stop_reason",
    "stop_sequence",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "details",
    "error_code",
    "candidates",
    "parts",
    "functionCall",
    "args",
    "finishReason",
    "usageMetadata",
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "totalTokenCount",
    "modelVersion",
    "responseId",
    "promptFeedback",
    "blockReason",
    "embeddings",
    "values",
    "status",
    "reason",
    "@type",
    "retryDelay",
    "thought",
)

_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["", "0", "-1", "1e400", "NaN", "stop", "tool_use", "STOP", "[DONE]"])
)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (NaN and infinities included: ``json`` reads and writes them)."""
    keys = st.sampled_from(WIRE_KEYS) | st.text(max_size=8)
    return st.recursive(
        _LEAVES,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated(
    draw: st.DrawFn,
    document: Any,
    max_changes: int = 3,
    stringify: bool = True,
) -> Any:
    """``document`` (a real provider answer, a config) with one to ``max_changes`` of its
    values replaced by another JSON value, a value of another type (its ``str()`` too when
    ``stringify``), or deleted."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_changes))):
        path = draw(st.sampled_from(list(_paths(doc))))
        old: Any = doc
        for part in path:
            old = old[part]
        new = draw(
            st.sampled_from(
                [None, 0, -1, 2**64, 1.5, float("inf"), "", "x", [], {}, [old], {"x": old}]
            )
            | json_values(6)
            | (st.just(str(old)) if stringify else st.nothing())
        )
        new = copy.deepcopy(new)  # never one object at two places (a cycle, later)
        if not path:
            doc = new
            continue
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and draw(st.integers(0, 3)) == 0:
            del parent[path[-1]]
        else:
            parent[path[-1]] = new
    return doc


def load_json(path: Path) -> Any:
    return json.loads(path.read_bytes())


# -- the property --------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownBug:
    """An untyped exception already found and pinned by a strict-xfail test.

    ``where`` holds ``"path/in/aigate.py:function"`` of the deepest aigate frame of the
    traceback (both spellings where Python versions differ, e.g. comprehensions)."""

    where: tuple[str, ...]
    errors: tuple[type[BaseException], ...]
    summary: str


def raised_at(exc: BaseException) -> str:
    """``"providers/anthropic.py:_delta"``: the deepest frame inside the aigate package."""
    site = "<outside aigate>"
    tb = exc.__traceback__
    while tb is not None:
        filename = Path(tb.tb_frame.f_code.co_filename)
        if filename.is_relative_to(_AIGATE_DIR):
            rel = filename.relative_to(_AIGATE_DIR).as_posix()
            site = f"{rel}:{tb.tb_frame.f_code.co_name}"
        tb = tb.tb_next
    return site


def check_typed(
    exc: BaseException,
    known: tuple[KnownBug, ...] = (),
    allowed: tuple[type[BaseException], ...] = (aigate.AigateError,),
) -> None:
    """Pass for an allowed (typed) error or a known bug; fail for anything else."""
    if isinstance(exc, allowed):
        return
    site = raised_at(exc)
    for bug in known:
        if site in bug.where and isinstance(exc, bug.errors):
            hypothesis.event(f"known bug: {bug.summary}")
            return
    raise AssertionError(
        f"untyped {type(exc).__module__}.{type(exc).__name__} raised at {site}: {exc}"
    ) from exc


def timed(fn: Callable[[], Any]) -> Any:
    """Call ``fn``; fail when one call on a small input takes long enough to be a hang."""
    start = time.perf_counter()
    try:
        return fn()
    finally:
        elapsed = time.perf_counter() - start
        assert elapsed < HANG_S, f"one call took {elapsed:.1f}s: a hang"
