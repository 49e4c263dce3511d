"""The request codec's speed-ups change no byte: `dumps` is `json.dumps` with compact
separators and UTF-8 kept, its errors included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigate._exceptions import InvalidRequestError
from aigate.providers._common import dumps


def _reference(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(payload=_json)
def test_dumps_is_json_dumps(payload: Any) -> None:
    try:
        expected = _reference(payload)
    except ValueError:  # a lone surrogate cannot be UTF-8
        with pytest.raises(InvalidRequestError):
            dumps(payload)
        return
    assert dumps(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        {"model": "m", "messages": [{"role": "user", "content": 'héllo \u2028 \x00 "/\\'}]},
        {2: "a", True: "b", None: "c", 1.5: "d"},
        (1, [2.5, 1e-07, 1e16, -0.0]),
        "text",
        2**70,
    ],
)
def test_dumps_same_bytes(payload: Any) -> None:
    assert dumps(payload) == _reference(payload)


def test_dumps_errors_are_unchanged() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(InvalidRequestError, match="Circular reference detected"):
        dumps({"messages": cycle})
    with pytest.raises(InvalidRequestError, match="Object of type bytes is not JSON"):
        dumps({"x": b"1"})
    with pytest.raises(InvalidRequestError, match="not JSON-serialisable"):
        dumps({"x": "\ud800"})
    # the encoder keeps no state from a failed call
    assert dumps({"a": [1]}) == b'{"a":[1]}'
