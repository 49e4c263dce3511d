"""Provider usage objects -> aigate's :class:`~aigate._models.Usage` (OpenAI's convention).

Pure functions, tolerant of missing or null fields, shared by every codec. In the result
``prompt_tokens`` includes cached reads, cache writes and audio; ``completion_tokens``
includes reasoning and audio; ``prompt_tokens_details.cache_write_tokens`` are 5-minute
(default) cache writes and ``cache_write_1h_tokens`` one-hour writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._models import CompletionTokensDetails, PromptTokensDetails, Usage

__all__ = ["usage_from_anthropic", "usage_from_gemini", "usage_from_openai"]

_USAGE_FIELDS = frozenset(
    (
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
    )
)
_RESPONSES_FIELDS = frozenset(
    (
        "input_tokens",
        "output_tokens",
        "input_tokens_details",
        "input_token_details",  # transcription usage spells it so
        "output_tokens_details",
    )
)
_PROMPT_DETAIL_FIELDS = ("cached_tokens", "audio_tokens", "cache_write_tokens")
_COMPLETION_DETAIL_FIELDS = (
    "reasoning_tokens",
    "audio_tokens",
    "accepted_prediction_tokens",
    "rejected_prediction_tokens",
)


def _int(value: Any) -> int | None:
    """A token count, or None for absent/garbage values (never raises)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _details(
    cls: type[PromptTokensDetails] | type[CompletionTokensDetails],
    raw: Mapping[str, Any],
    known: tuple[str, ...],
    overrides: Mapping[str, int | None],
) -> Any:
    """A details model from ``raw`` (unknown keys kept as extras), with ``overrides``."""
    values: dict[str, Any] = {k: v for k, v in raw.items() if k not in known}
    for name in known:
        values[name] = _int(raw.get(name))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)


def usage_from_openai(d: Mapping[str, Any]) -> Usage:
    """OpenAI Chat Completions usage, and every OpenAI-compatible variant.

    Passes the fields through and keeps unknown ones as extras: OpenRouter's ``cost`` and
    ``cost_details`` (see :func:`aigate.pricing.reported_cost`), Groq's ``queue_time`` and
    timings, DeepSeek's ``prompt_cache_hit_tokens`` (used as ``cached_tokens`` when the
    details lack it). A Responses-API usage (``input_tokens``/``output_tokens`` and their
    ``*_details``) is read as the equivalent chat usage, and so is a token-priced
    transcription usage (``input_token_details.audio_tokens``).
    """
    d = _map(d)
    responses_shape = "prompt_tokens" not in d and ("input_tokens" in d or "output_tokens" in d)
    if responses_shape:
        prompt = _int(d.get("input_tokens")) or 0
        completion = _int(d.get("output_tokens")) or 0
        raw_ptd = d.get("input_tokens_details") or d.get("input_token_details")
        raw_ctd = d.get("output_tokens_details")
        skip = _RESPONSES_FIELDS | {"total_tokens"}
    else:
        prompt = _int(d.get("prompt_tokens")) or 0
        completion = _int(d.get("completion_tokens")) or 0
        raw_ptd = d.get("prompt_tokens_details")
        raw_ctd = d.get("completion_tokens_details")
        skip = _USAGE_FIELDS
    total = _int(d.get("total_tokens"))
    extras = {k: v for k, v in d.items() if k not in skip}

    cached_fallback = _int(d.get("prompt_cache_hit_tokens"))  # DeepSeek
    ptd = None
    if isinstance(raw_ptd, Mapping) or cached_fallback is not None:
        ptd_raw = _map(raw_ptd)
        fallback = cached_fallback if _int(ptd_raw.get("cached_tokens")) is None else None
        ptd = _details(
            PromptTokensDetails,
            ptd_raw,
            (*_PROMPT_DETAIL_FIELDS, "cache_write_1h_tokens"),
            {"cached_tokens": fallback},
        )
    ctd = None
    if isinstance(raw_ctd, Mapping):
        ctd = _details(CompletionTokensDetails, raw_ctd, _COMPLETION_DETAIL_FIELDS, {})
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total if total is not None else prompt + completion,
        prompt_tokens_details=ptd,
        completion_tokens_details=ctd,
        **extras,
    )


def usage_from_anthropic(d: Mapping[str, Any]) -> Usage:
    """Anthropic Messages usage.

    Anthropic's ``input_tokens`` *excludes* the cache: prompt = ``input_tokens`` +
    ``cache_read_input_tokens`` + ``cache_creation_input_tokens``. Cache creation is split
    into 5-minute and 1-hour writes when ``cache_creation`` carries
    ``ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens`` (any creation tokens they
    do not account for count as 5-minute writes); otherwise all creation tokens are 5-minute
    (default) writes. Completion = ``output_tokens``; ``output_tokens_details`` thinking
    tokens, where sent, become ``reasoning_tokens``. Works for the message, the streaming
    ``message_start`` usage and the cumulative ``message_delta`` usage alike.
    """
    d = _map(d)
    uncached = _int(d.get("input_tokens")) or 0
    read = _int(d.get("cache_read_input_tokens")) or 0
    creation = _int(d.get("cache_creation_input_tokens"))
    split = d.get("cache_creation")
    if isinstance(split, Mapping):
        write_5m = _int(split.get("ephemeral_5m_input_tokens")) or 0
        write_1h = _int(split.get("ephemeral_1h_input_tokens")) or 0
        if creation is not None and creation > write_5m + write_1h:
            write_5m = creation - write_1h
    else:
        write_5m, write_1h = creation or 0, 0
    output = _int(d.get("output_tokens")) or 0
    thinking = _int(_map(d.get("output_tokens_details")).get("thinking_tokens"))

    prompt = uncached + read + write_5m + write_1h
    has_cache_fields = any(
        key in d for key in ("cache_read_input_tokens", "cache_creation_input_tokens")
    )
    ptd = None
    if has_cache_fields or isinstance(split, Mapping):
        ptd = PromptTokensDetails(
            cached_tokens=read,
            cache_write_tokens=write_5m,
            cache_write_1h_tokens=write_1h if isinstance(split, Mapping) else None,
        )
    ctd = CompletionTokensDetails(reasoning_tokens=thinking) if thinking is not None else None
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=output,
        total_tokens=prompt + output,
        prompt_tokens_details=ptd,
        completion_tokens_details=ctd,
    )


def _get(d: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = d.get(camel)
    return d.get(snake) if value is None else value


def _modality_count(entries: Any, modality: str) -> int:
    total = 0
    if isinstance(entries, list):
        for entry in entries:
            entry = _map(entry)
            if str(entry.get("modality", "")).upper() == modality:
                total += _int(_get(entry, "tokenCount", "token_count")) or 0
    return total


def usage_from_gemini(d: Mapping[str, Any]) -> Usage:
    """Gemini ``usageMetadata`` (camelCase REST or snake_case SDK keys).

    ``promptTokenCount`` includes ``cachedContentTokenCount``; ``toolUsePromptTokenCount``
    (tool results fed back by Google-run tools) is billed as input and added to the prompt.
    ``candidatesTokenCount`` *excludes* ``thoughtsTokenCount``, so completion = candidates +
    thoughts and reasoning = thoughts. Audio input is the ``AUDIO`` entry of
    ``promptTokensDetails`` (and of the tool-use details) less the cached audio in
    ``cacheTokensDetails``, which the cached count already holds; audio output is the
    ``AUDIO`` entry of ``candidatesTokensDetails``.
    """
    d = _map(d)
    prompt = (_int(_get(d, "promptTokenCount", "prompt_token_count")) or 0) + (
        _int(_get(d, "toolUsePromptTokenCount", "tool_use_prompt_token_count")) or 0
    )
    cached = _int(_get(d, "cachedContentTokenCount", "cached_content_token_count"))
    candidates = _int(_get(d, "candidatesTokenCount", "candidates_token_count"))
    if candidates is None:
        candidates = _int(_get(d, "responseTokenCount", "response_token_count"))
    thoughts = _int(_get(d, "thoughtsTokenCount", "thoughts_token_count"))
    completion = (candidates or 0) + (thoughts or 0)

    audio_in = (
        _modality_count(_get(d, "promptTokensDetails", "prompt_tokens_details"), "AUDIO")
        + _modality_count(
            _get(d, "toolUsePromptTokensDetails", "tool_use_prompt_tokens_details"), "AUDIO"
        )
        - _modality_count(_get(d, "cacheTokensDetails", "cache_tokens_details"), "AUDIO")
    )
    audio_out = _modality_count(
        _get(d, "candidatesTokensDetails", "candidates_tokens_details"), "AUDIO"
    )
    ptd = None
    if cached is not None or audio_in > 0:
        ptd = PromptTokensDetails(cached_tokens=cached, audio_tokens=max(audio_in, 0) or None)
    ctd = None
    if thoughts is not None or audio_out:
        ctd = CompletionTokensDetails(reasoning_tokens=thoughts, audio_tokens=audio_out or None)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=ptd,
        completion_tokens_details=ctd,
    )
