"""Realtime usage and reservations, as pure functions (no I/O).

OpenAI's Realtime API reports usage once per response, on ``response.done``::

    "usage": {"total_tokens": 320, "input_tokens": 200, "output_tokens": 120,
      "input_token_details": {"text_tokens": 40, "audio_tokens": 160, "cached_tokens": 64,
        "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 64}},
      "output_token_details": {"text_tokens": 30, "audio_tokens": 90}}

(source: platform.openai.com/docs/api-reference/realtime-server-events/response/done). Input
tokens include cached ones, so aigate's :class:`~aigate.Usage` takes ``prompt_tokens`` as the
input, ``cached_tokens`` as every cached token (text and audio) and ``audio_tokens`` as the
*uncached* audio input: each token is then priced once by :func:`aigate.pricing.cost`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .._models import CompletionTokensDetails, PromptTokensDetails, Usage

__all__ = ["add_usage", "realtime_usage", "worst_case_nano"]

#: Tokens of new input assumed for the next response on top of the conversation so far (about
#: 20 s of speech at OpenAI's ~10 audio tokens a second): the reservation's input margin.
INPUT_MARGIN_TOKENS = 200


def _int(mapping: Mapping[str, Any] | None, name: str) -> int:
    if not isinstance(mapping, Mapping):
        return 0
    value = mapping.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def realtime_usage(usage: object) -> Usage | None:
    """aigate's :class:`~aigate.Usage` from a ``response.done`` event's ``response.usage``;
    ``None`` when the event carries none."""
    if not isinstance(usage, Mapping):
        return None
    prompt = _int(usage, "input_tokens")
    completion = _int(usage, "output_tokens")
    details = usage.get("input_token_details")
    cached = _int(details, "cached_tokens")
    cached_details = details.get("cached_tokens_details") if isinstance(details, Mapping) else None
    audio_in = max(_int(details, "audio_tokens") - _int(cached_details, "audio_tokens"), 0)
    audio_out = _int(usage.get("output_token_details"), "audio_tokens")
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=cached, audio_tokens=audio_in),
        completion_tokens_details=CompletionTokensDetails(audio_tokens=audio_out),
    )


def add_usage(total: Usage | None, usage: Usage) -> Usage:
    """The running total of a session: ``total`` plus ``usage`` in every category."""
    if total is None:
        return usage.model_copy(deep=True)
    pt, ut = total.prompt_tokens_details, usage.prompt_tokens_details
    ct, uc = total.completion_tokens_details, usage.completion_tokens_details

    def plus(a: Any, b: Any, name: str) -> int:
        return (getattr(a, name, None) or 0) + (getattr(b, name, None) or 0)

    return Usage(
        prompt_tokens=total.prompt_tokens + usage.prompt_tokens,
        completion_tokens=total.completion_tokens + usage.completion_tokens,
        total_tokens=total.total_tokens + usage.total_tokens,
        prompt_tokens_details=PromptTokensDetails(
            cached_tokens=plus(pt, ut, "cached_tokens"),
            audio_tokens=plus(pt, ut, "audio_tokens"),
        ),
        completion_tokens_details=CompletionTokensDetails(
            audio_tokens=plus(ct, uc, "audio_tokens"),
        ),
    )


def worst_case_nano(price: Any, input_tokens: int, output_tokens: int) -> int | None:
    """The most one response can cost: every input token at the dearer of the text and audio
    input prices, every output token at the dearer of the text and audio output prices.
    ``None`` when the model has no input or output price (an unpriced model)."""
    from ..pricing import to_nano

    def dearest(*values: Decimal | None) -> Decimal | None:
        known = [v for v in values if v is not None]
        return max(known) if known else None

    p = price.at(input_tokens)
    per_in = dearest(p.input, p.audio_input)
    per_out = dearest(p.output, p.audio_output)
    if per_in is None or per_out is None:
        return None
    return to_nano(per_in * input_tokens + per_out * output_tokens)
