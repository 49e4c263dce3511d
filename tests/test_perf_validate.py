"""The chat validation's fast path accepts only what the full checks accept, unchanged.

`chat_call` first tries quick exact-type tests for plain messages and scalar parameters
and falls back to the full checks for anything else; these tests run both on the same
input and require the same call (or, where the full checks refuse, that the fast path did
not accept it, so the error is the full checks' own).
"""

from __future__ import annotations

import enum
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigate import _validate
from aigate._exceptions import InvalidRequestError
from aigate._validate import chat_call


class Role(str, enum.Enum):
    USER = "user"


class Text(str):
    pass


def _full(messages: Any, stream: Any, kwargs: dict[str, Any], monkeypatch: Any) -> Any:
    with monkeypatch.context() as patched:
        patched.setattr(_validate, "_plain_params", lambda kwargs: False)
        return chat_call(messages, stream, dict(kwargs))


def _same(messages: Any, kwargs: dict[str, Any], monkeypatch: Any) -> None:
    fast = _validate._plain_params(kwargs) and _validate._plain_messages(messages)
    try:
        expected = _full(messages, False, kwargs, monkeypatch)
    except InvalidRequestError:
        assert not fast, (messages, kwargs)
        with pytest.raises(InvalidRequestError):
            chat_call(messages, False, dict(kwargs))
        return
    got = chat_call(messages, False, dict(kwargs))
    assert got == expected
    assert type(got.messages) is type(expected.messages)


USER = [{"role": "user", "content": "hi"}]

CASES: list[tuple[Any, dict[str, Any]]] = [
    (USER, {}),
    ([{"role": "system", "content": "s"}, {"role": "user", "content": "u", "name": "n"}], {}),
    ([{"role": "assistant", "content": "a"}, {"role": "developer", "content": ""}], {}),
    ([{"role": "tool", "content": "r"}], {}),
    ([{"role": "tool", "content": "r", "tool_call_id": "c"}], {}),
    ([{"role": "usr", "content": "x"}], {}),
    ([{"role": Role.USER, "content": "x"}], {}),
    ([{"role": "user", "content": Text("x")}], {}),
    ([{"role": "user"}], {}),
    ([{"role": "assistant"}], {}),
    ([{"role": "user", "content": None}], {}),
    ([{"role": "user", "content": [{"type": "text", "text": "x"}]}], {}),
    ([{"role": "user", "content": "x", "name": 3}], {}),
    ([{"role": "user", "content": "x", "extra": {1, 2}}], {}),
    ((), {}),
    ([], {}),
    ("hi", {}),
    (tuple(USER), {}),
    ([("role", "user")], {}),
    (USER, {"temperature": 0.5, "max_tokens": 10, "user": "u", "metadata": {"a": "b"}}),
    (USER, {"temperature": True}),
    (USER, {"temperature": math.nan}),
    (USER, {"temperature": math.inf}),
    (USER, {"temperature": 2}),
    (USER, {"temperature": 2.0001}),
    (USER, {"top_p": 0}),
    (USER, {"top_p": -0.0}),
    (USER, {"presence_penalty": -2}),
    (USER, {"frequency_penalty": 3}),
    (USER, {"max_tokens": 0}),
    (USER, {"max_tokens": 2**31 - 1}),
    (USER, {"max_tokens": 2**31}),
    (USER, {"max_tokens": True}),
    (USER, {"max_tokens": 10.0}),
    (USER, {"max_completion_tokens": 5, "n": 128}),
    (USER, {"n": 129}),
    (USER, {"seed": 2**63 - 1}),
    (USER, {"seed": 2**63}),
    (USER, {"seed": -(2**63)}),
    (USER, {"seed": -(2**63) - 1}),
    (USER, {"top_logprobs": 3, "logprobs": True}),
    (USER, {"logprobs": 1}),
    (USER, {"store": False, "parallel_tool_calls": True}),
    (USER, {"user": Text("u")}),
    (USER, {"user": 3}),
    (USER, {"reasoning_effort": "low", "verbosity": "high", "service_tier": "auto"}),
    (USER, {"stop": "x"}),
    (USER, {"stop": ["x", "y"]}),
    (USER, {"stop": ("x",)}),
    (USER, {"stop": ["x", 1]}),
    (USER, {"stop": []}),
    (USER, {"metadata": {}}),
    (USER, {"metadata": {"a": 1}}),
    (USER, {"metadata": {1: "a"}}),
    (USER, {"metadata": {"a": Text("b")}}),
    (USER, {"metadata": [("a", "b")]}),
    (USER, {"temperature": None}),
    (USER, {"user": None, "max_tokens": 3}),
    (USER, {"tools": [{"type": "function", "function": {"name": "f"}}]}),
    (USER, {"response_format": {"type": "json_object"}}),
    (USER, {"temprature": 0.5}),
    (USER, {"extra_body": {"x": 1}}),
    (USER, {"extra_headers": {"x-a": "b"}, "timeout": 3}),
    (USER, {"timeout": None}),
]


@pytest.mark.parametrize(("messages", "kwargs"), CASES)
def test_fast_path_matches_full_checks(
    messages: Any, kwargs: dict[str, Any], monkeypatch: Any
) -> None:
    _same(messages, kwargs, monkeypatch)


def test_fast_path_is_taken_for_plain_calls() -> None:
    kwargs = {"temperature": 0.2, "max_tokens": 5, "metadata": {"team": "a"}}
    assert _validate._plain_params(kwargs)
    assert _validate._plain_messages(USER)
    call = chat_call(USER, False, kwargs)
    assert call.messages is USER and call.params == kwargs


def test_plain_params_are_chat_params() -> None:
    assert set(_validate._PLAIN_PARAMS) <= _validate.CHAT_PARAMS


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.lists(st.text(max_size=2), max_size=2),
    st.dictionaries(st.text(max_size=2), st.one_of(st.text(max_size=2), st.integers()), max_size=2),
)
_names = st.sampled_from([*_validate._PLAIN_PARAMS, "tools", "timeout", "bogus"])
_messages = st.lists(
    st.dictionaries(
        st.sampled_from(["role", "content", "name", "tool_call_id"]),
        st.one_of(
            st.sampled_from(["user", "system", "assistant", "tool", "x"]), st.none(), st.integers()
        ),
        max_size=4,
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(messages=_messages, kwargs=st.dictionaries(_names, _scalars, max_size=3))
def test_fast_path_matches_full_checks_generated(messages: Any, kwargs: dict[str, Any]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _same(messages, kwargs, monkeypatch)
