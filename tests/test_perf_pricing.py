"""`pricing.cost`'s shortcut for usage without details is the general breakdown's result,
digit for digit (same Decimal, same exponent), or None where it is None."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from aigate._models import Usage
from aigate.pricing import ModelPrice, _breakdown, cost

_prices = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=1, allow_nan=False, places=12),
    st.sampled_from([Decimal("1.5E-7"), Decimal("6E-7"), Decimal("0"), Decimal("1E+1")]),
)
_tokens = st.integers(min_value=-5, max_value=10**9)


def _general(usage: Usage, price: ModelPrice) -> Decimal | None:
    parts, complete = _breakdown(usage, price)
    return sum(parts.values(), Decimal(0)) if complete else None


@settings(max_examples=500, deadline=None)
@given(
    prompt=_tokens,
    completion=_tokens,
    unit_in=_prices,
    unit_out=_prices,
    reasoning=_prices,
    cached=_prices,
)
def test_shortcut_is_the_breakdown(
    prompt: int,
    completion: int,
    unit_in: Decimal | None,
    unit_out: Decimal | None,
    reasoning: Decimal | None,
    cached: Decimal | None,
) -> None:
    usage = Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=0)
    price = ModelPrice(input=unit_in, output=unit_out, reasoning=reasoning, cached_input=cached)
    got, expected = cost(usage, price), _general(usage, price)
    assert got == expected
    assert repr(got) == repr(expected)
