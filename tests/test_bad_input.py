"""Bad call arguments become InvalidRequestError naming the field, before anything is sent
(issue 13.12), and openai's NOT_GIVEN / omit sentinels count as not given (issue 15).

The gateway under test has every per-call step on (cache, USD budget, SQLite ledger that
raises on a failed write), so an argument that slipped past validation would fail in one of
them: cache-key building, token counting, pricing, the ledger write after a billed call.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aigate
from aigate.testing import FakeTransport

MODEL = "openai/gpt-4o-mini"
HI = [{"role": "user", "content": "Hi"}]


def _deep(levels: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(levels):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


class _Opaque:
    pass


class _DeepMarker:
    """Stands for a list nested ``levels`` deep, built in the test (Hypothesis would recurse
    printing the real thing)."""

    def __init__(self, levels: int) -> None:
        self.levels = levels

    def __repr__(self) -> str:
        return f"<list nested {self.levels} deep>"


def _build(value: Any) -> Any:
    if isinstance(value, _DeepMarker):
        return _deep(value.levels)
    if isinstance(value, dict):
        return {k: _build(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_build(v) for v in value]
    return value


def _gateway(make_gateway: Any, tmp_path: Path) -> tuple[Any, FakeTransport, Path]:
    fake = FakeTransport()
    db = tmp_path / "ledger.db"
    gw = make_gateway(
        providers={"openai": {"api_keys": ["sk-bad-input"]}},
        transport=fake,
        cache="memory://",
        ledger=f"sqlite:///{db}",
        ledger_errors="raise",
        budget={"limits": [{"scope": "global", "amount": "100", "window": "month"}]},
    )
    return gw, fake, db


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        if "aigate_ledger" not in tables:
            return 0
        return int(conn.execute("select count(*) from aigate_ledger").fetchone()[0])


# Each case from issue 13.12, with the field the error must name.
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("set in extra_body", {"extra_body": {"tags": {1, 2}}}, "extra_body.tags"),
    (
        "range in a message",
        {"messages": [{"role": "user", "content": "Hi", "x": range(3)}]},
        "messages.0.x",
    ),
    ("object in extra_body", {"extra_body": {"x": _Opaque()}}, "extra_body.x"),
    ("set as a param", {"stop": {"a"}}, "stop"),
    ("bytes content", {"messages": [{"role": "user", "content": b""}]}, "messages.0.content"),
    (
        "non-dict tool schema",
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": "abc"}}]},
        "tools.0.function.parameters",
    ),
    ("max_tokens=10**30", {"max_tokens": 10**30}, "max_tokens"),
    ("max_completion_tokens=10**30", {"max_completion_tokens": 10**30}, "max_completion_tokens"),
    ("huge int in extra_body", {"extra_body": {"max_tokens": 10**30}}, "extra_body.max_tokens"),
    ("NaN in extra_body", {"extra_body": {"top_k": math.nan}}, "extra_body.top_k"),
    ("Infinity in extra_body", {"extra_body": {"x": [1, -math.inf]}}, "extra_body.x.1"),
    ("NaN in logit_bias", {"logit_bias": {"50256": math.nan}}, "logit_bias.50256"),
    ("Infinity in logit_bias", {"logit_bias": {"50256": math.inf}}, "logit_bias.50256"),
    ("user as an object", {"user": {"id": 1}}, "user"),
    ("safety_identifier as a number", {"safety_identifier": 5}, "safety_identifier"),
]


@pytest.mark.parametrize(("case", "kwargs", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_argument_is_refused_before_sending(
    make_gateway: Any, tmp_path: Path, case: str, kwargs: dict[str, Any], field: str
) -> None:
    gw, fake, db = _gateway(make_gateway, tmp_path)
    kwargs = dict(kwargs)
    messages = kwargs.pop("messages", HI)
    with pytest.raises(aigate.InvalidRequestError) as info:
        gw.chat(model=MODEL, messages=messages, temperature=0, **kwargs)
    assert info.value.field == field, str(info.value)
    assert fake.calls == []
    assert _rows(db) == 0
    # the gateway is still usable
    assert gw.chat(model=MODEL, messages=HI).choices[0].message.content


@pytest.mark.parametrize("where", ["extra_body", "messages", "tools"])
def test_deep_nesting_is_refused_without_recursion_error(
    make_gateway: Any, tmp_path: Path, where: str
) -> None:
    gw, fake, _ = _gateway(make_gateway, tmp_path)
    deep = _deep(100_000)
    kwargs: dict[str, Any] = {"messages": HI}
    if where == "extra_body":
        kwargs["extra_body"] = {"x": deep}
    elif where == "messages":
        kwargs["messages"] = [{"role": "user", "content": "Hi", "x": deep}]
    else:
        kwargs["tools"] = [
            {"type": "function", "function": {"name": "f", "parameters": {"d": deep}}}
        ]
    with pytest.raises(aigate.InvalidRequestError) as info:
        gw.chat(model=MODEL, temperature=0, **kwargs)
    assert "nested deeper" in str(info.value)
    assert fake.calls == []


def test_reasonable_nesting_is_accepted(make_gateway: Any, tmp_path: Path) -> None:
    gw, fake, _ = _gateway(make_gateway, tmp_path)
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(20):
        schema = {"type": "object", "properties": {"a": schema}}
    tools = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
    gw.chat(model=MODEL, messages=HI, tools=tools, extra_body={"x": _deep(30)})
    assert len(fake.calls) == 1


def test_embeddings_and_transcriptions_check_extra_body(make_gateway: Any, tmp_path: Path) -> None:
    gw, fake, _ = _gateway(make_gateway, tmp_path)
    with pytest.raises(aigate.InvalidRequestError) as info:
        gw.embeddings(model="openai/text-embedding-3-small", input="hi", extra_body={"x": math.nan})
    assert info.value.field == "extra_body.x"
    with pytest.raises(aigate.InvalidRequestError) as info:
        gw.embeddings(model="openai/text-embedding-3-small", input="hi", user={"id": 1})
    assert fake.calls == []


# -- openai's sentinels (issue 15) ---------------------------------------------------------


def test_openai_sentinels_are_not_given(make_gateway: Any, tmp_path: Path) -> None:
    gw, fake, _ = _gateway(make_gateway, tmp_path)
    r = gw.chat(
        model=MODEL,
        messages=HI,
        temperature=openai.NOT_GIVEN,
        max_tokens=openai.omit,
        user=openai.NOT_GIVEN,
        timeout=openai.NOT_GIVEN,
        extra_body=openai.omit,
        extra_headers=openai.NOT_GIVEN,
        tools=openai.omit,
    )
    assert r.choices[0].message.content
    assert set(fake.calls[0].json) == {"model", "messages"}


def test_sentinel_stream_is_a_plain_call(tmp_path: Path) -> None:
    fake = FakeTransport()
    with aigate.Gateway(providers={"openai": {"api_keys": ["sk-x"]}}, transport=fake) as gw:
        r = gw.chat.completions.create(model=MODEL, messages=HI, stream=openai.NOT_GIVEN)
        assert r.choices[0].message.content


def test_sentinel_lookup_is_by_identity_and_cached() -> None:
    from aigate import _validate

    assert _validate.is_sentinel(openai.NOT_GIVEN) and _validate.is_sentinel(openai.omit)
    assert _validate._sentinels_loaded or "anthropic" not in __import__("sys").modules

    class NotGiven:  # a look-alike name is not openai's sentinel
        pass

    assert not _validate.is_sentinel(NotGiven())
    assert not _validate.is_sentinel(None)


# -- fuzz: only aigate errors escape, and nothing is sent when refused ----------------------

JUNK = st.one_of(
    st.sets(st.integers(0, 3), min_size=1, max_size=2),
    st.frozensets(st.text(max_size=2), min_size=1, max_size=2),
    st.binary(max_size=4),
    st.builds(_Opaque),
    st.builds(range, st.integers(0, 3)),
    st.sampled_from([math.nan, math.inf, -math.inf, 10**30, -(10**20), b"", bytearray(b"x")]),
    st.sampled_from([70, 1000, 5000]).map(lambda n: _DeepMarker(n)),
    st.builds(complex, st.floats(allow_nan=False, allow_infinity=False)),
)
PARAM = st.sampled_from(
    [
        "max_tokens",
        "max_completion_tokens",
        "n",
        "user",
        "safety_identifier",
        "logit_bias",
        "stop",
        "temperature",
        "tools",
        "response_format",
        "metadata",
        "seed",
        "reasoning_effort",
    ]
)


@st.composite
def bad_call(draw: st.DrawFn) -> dict[str, Any]:
    where = draw(st.sampled_from(["param", "extra_body", "message", "logit_bias", "tool"]))
    junk = draw(JUNK)
    call: dict[str, Any] = {"messages": [{"role": "user", "content": "Hi"}], "temperature": 0}
    if where == "param":
        call[draw(PARAM)] = junk
    elif where == "extra_body":
        call["extra_body"] = {draw(st.sampled_from(["x", "max_tokens", "top_k"])): junk}
    elif where == "message":
        key = draw(st.sampled_from(["content", "name", "x"]))
        call["messages"] = [{"role": "user", "content": "Hi", key: junk}]
    elif where == "logit_bias":
        call["logit_bias"] = {"50256": junk}
    else:
        call["tools"] = [{"type": "function", "function": {"name": "f", "parameters": junk}}]
    return call


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(call=bad_call())
def test_fuzz_malformed_calls_raise_typed_errors_and_send_nothing(call: dict[str, Any]) -> None:
    fake = FakeTransport()
    with aigate.Gateway(
        providers={"openai": {"api_keys": ["sk-fuzz"]}},
        transport=fake,
        cache="memory://",
        ledger="memory://",
        ledger_errors="raise",
        budget={"limits": [{"scope": "global", "amount": "100", "window": "month"}]},
    ) as gw:
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat.completions.create(model=MODEL, **_build(call))
        assert info.value.field
        assert fake.calls == []
