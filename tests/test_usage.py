"""Usage normalisation: every provider's usage object -> OpenAI's convention.

Payloads are copied from provider documentation or SDK fixtures; each names its source.
"""

from __future__ import annotations

from typing import Any

import pytest
import usage_payloads as payloads

from aigate.providers._usage import usage_from_anthropic, usage_from_gemini, usage_from_openai


def _split(u: Any) -> tuple[int, int, int, int, int, int]:
    ptd = u.prompt_tokens_details
    ctd = u.completion_tokens_details
    return (
        (ptd.cached_tokens or 0) if ptd else 0,
        (ptd.cache_write_tokens or 0) if ptd else 0,
        (ptd.cache_write_1h_tokens or 0) if ptd else 0,
        (ptd.audio_tokens or 0) if ptd else 0,
        (ctd.reasoning_tokens or 0) if ctd else 0,
        (ctd.audio_tokens or 0) if ctd else 0,
    )


# -- OpenAI and compatible ------------------------------------------------------------------


def test_openai_chat_object_passes_through() -> None:
    # OpenAI API reference, "The chat completion object" (gpt-4o-2024-08-06).
    u = usage_from_openai(payloads.OPENAI_CHAT_OBJECT_EXAMPLE)
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (19, 10, 29)
    assert u.completion_tokens_details is not None
    assert u.completion_tokens_details.rejected_prediction_tokens == 0
    assert u.model_extra == {}


def test_openai_missing_and_null_fields_are_tolerated() -> None:
    u = usage_from_openai({"prompt_tokens": 5, "completion_tokens": None})
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (5, 0, 5)
    assert u.prompt_tokens_details is None and u.completion_tokens_details is None
    assert usage_from_openai({}).total_tokens == 0
    garbage = usage_from_openai({"prompt_tokens": "12", "completion_tokens": True})
    assert (garbage.prompt_tokens, garbage.completion_tokens) == (12, 0)


def test_openrouter_cost_and_cache_writes_are_kept() -> None:
    # openrouter.ai/docs/use-cases/usage-accounting, "Response Format".
    u = usage_from_openai(payloads.OPENROUTER_DOCS_REPORTED_COST_AND_OWN_PRICE)
    assert _split(u) == (0, 100, 0, 0, 0, 0)
    assert u.model_extra == {"cost": 0.95, "cost_details": {"upstream_inference_cost": 19}}


def test_groq_timings_are_kept_harmlessly() -> None:
    # console.groq.com/docs/api-reference, chat completion example response.
    u = usage_from_openai(payloads.GROQ_REFERENCE_EXAMPLE)
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (18, 556, 574)
    assert u.model_extra is not None and u.model_extra["queue_time"] == 0.037493756
    assert u.model_dump()["total_time"] == 0.464013927


def test_deepseek_cache_hit_fills_cached_tokens() -> None:
    # DeepSeek's own fields (api-docs.deepseek.com, context caching); shape as in a public
    # test of DeepSeek usage normalisation.
    u = usage_from_openai(payloads.DEEPSEEK_REASONER_CACHE_HITS)
    assert _split(u) == (70, 0, 0, 0, 12, 0)
    both = usage_from_openai(
        {
            "prompt_tokens": 10,
            "prompt_cache_hit_tokens": 6,
            "prompt_tokens_details": {"cached_tokens": 4},
        }
    )
    assert _split(both)[0] == 4  # the OpenAI field wins when both are sent


def test_responses_api_usage_is_read_as_chat_usage() -> None:
    # OpenAI reasoning guide, usage of a response object.
    u = usage_from_openai(payloads.OPENAI_REASONING_GUIDE_REASONING_PRICED_AS_OUTPUT)
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (75, 1186, 1261)
    assert _split(u) == (0, 0, 0, 0, 1024, 0)
    assert u.model_extra == {}


def test_unknown_detail_fields_survive() -> None:
    # xAI docs (docs.x.ai, prompt caching usage & pricing): extra detail fields.
    u = usage_from_openai(
        {
            "prompt_tokens": 125,
            "completion_tokens": 48,
            "total_tokens": 173,
            "prompt_tokens_details": {
                "text_tokens": 125,
                "audio_tokens": 0,
                "image_tokens": 0,
                "cached_tokens": 98,
                "made_up_tokens": 7,
            },
        }
    )
    d = u.prompt_tokens_details
    assert d is not None
    assert (d.text_tokens, d.image_tokens) == (125, 0)  # openai's own fields now (14.20)
    assert d.model_extra == {"made_up_tokens": 7}  # an unknown one is kept too
    assert _split(u)[0] == 98


# -- Anthropic ------------------------------------------------------------------------------


def test_anthropic_prompt_adds_cache_reads_and_writes() -> None:
    # Anthropic API reference, Messages response example (newer, with cache fields). Its
    # cache_creation split (0 + 0) does not account for the 2051 creation tokens: they
    # count as default 5-minute writes.
    u = usage_from_anthropic(payloads.ANTHROPIC_REFERENCE_EXAMPLE_WITH_CACHE_READS_AND_WRITES)
    assert u.prompt_tokens == 2095 + 2051 + 2051
    assert u.completion_tokens == 503
    assert u.total_tokens == 2095 + 2051 + 2051 + 503
    assert _split(u) == (2051, 2051, 0, 0, 0, 0)


def test_anthropic_ttl_split() -> None:
    # Anthropic prompt caching docs, "1-hour cache duration": cache_creation_input_tokens
    # equals the sum of the cache_creation values (456 + 100). Elided values ("...") are 0.
    u = usage_from_anthropic(payloads.ANTHROPIC_ONE_HOUR_CACHE_DOCS_EXAMPLE)
    assert u.prompt_tokens == 556
    assert _split(u) == (0, 456, 100, 0, 0, 0)


def test_anthropic_plain_message_has_no_details() -> None:
    # Anthropic Messages "Hello, world" example (claude-3-5-sonnet-20240620).
    u = usage_from_anthropic(payloads.ANTHROPIC_HELLO_WORLD)
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (10, 30, 40)
    assert u.prompt_tokens_details is None and u.completion_tokens_details is None


def test_anthropic_stream_usage_merges_start_and_cumulative_delta() -> None:
    # anthropic-sdk-python tests/lib/streaming/fixtures/tool_use_response.txt: message_start
    # carries the input side, message_delta the cumulative output count.
    start = {
        "input_tokens": 377,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
        "service_tier": "standard",
    }
    delta = {"output_tokens": 65}
    u = usage_from_anthropic({**start, **delta})
    assert (u.prompt_tokens, u.completion_tokens) == (377, 65)
    assert _split(u) == (0, 0, 0, 0, 0, 0)


def test_anthropic_creation_without_split_is_five_minute() -> None:
    # LiteLLM docs, Anthropic pass-through example (claude-3-7-sonnet-20250219).
    u = usage_from_anthropic(payloads.ANTHROPIC_LITELLM_DOCS_CACHE_CREATION)
    assert u.prompt_tokens == 4190
    assert _split(u) == (0, 2095, 0, 0, 0, 0)


# -- Gemini ---------------------------------------------------------------------------------


def test_gemini_thoughts_are_added_to_completion() -> None:
    # Firebase AI Logic docs (server prompt templates), gemini-3-flash-preview response:
    # totalTokenCount 890 = 34 + 418 + 438 shows candidates exclude thoughts.
    u = usage_from_gemini(payloads.GEMINI_THINKING_FIREBASE_EXAMPLE)
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (34, 856, 890)
    assert _split(u) == (0, 0, 0, 0, 438, 0)


def test_gemini_cached_and_tool_use_prompt() -> None:
    # A Rig-based Gemini usage fixture (rig_core gemini_api_types::UsageMetadata).
    u = usage_from_gemini(payloads.GEMINI_CACHED_THOUGHTS_AND_TOOL_USE)
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (105, 50, 155)
    assert _split(u) == (40, 0, 0, 0, 30, 0)


def test_gemini_snake_case_and_audio_modalities() -> None:
    # A Vertex Gemini transcription fixture (usageMetadata with AUDIO prompt details), in
    # the python SDK's snake_case spelling.
    u = usage_from_gemini(
        {
            "prompt_token_count": 440,
            "candidates_token_count": 62,
            "total_token_count": 502,
            "prompt_tokens_details": [{"modality": "AUDIO", "token_count": 440}],
            "candidates_tokens_details": [{"modality": "TEXT", "token_count": 62}],
        }
    )
    assert (u.prompt_tokens, u.completion_tokens) == (440, 62)
    assert _split(u) == (0, 0, 0, 440, 0, 0)


def test_gemini_cached_audio_is_not_counted_twice() -> None:
    # Constructed: 300 audio tokens of which 200 come from the cache.
    u = usage_from_gemini(
        {
            "promptTokenCount": 400,
            "cachedContentTokenCount": 250,
            "candidatesTokenCount": 10,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": 100},
                {"modality": "AUDIO", "tokenCount": 300},
            ],
            "cacheTokensDetails": [
                {"modality": "TEXT", "tokenCount": 50},
                {"modality": "AUDIO", "tokenCount": 200},
            ],
            "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 10}],
        }
    )
    assert _split(u) == (250, 0, 0, 100, 0, 10)


@pytest.mark.parametrize(
    "fn", [usage_from_openai, usage_from_anthropic, usage_from_gemini], ids=lambda f: f.__name__
)
def test_non_mapping_input_gives_empty_usage(fn: Any) -> None:
    u = fn(None)
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (0, 0, 0)
