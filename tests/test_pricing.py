"""Catalog and exact cost.

Golden tests: each usage payload is copied from a provider's documentation, an official SDK
fixture or a public test (the comment names it), normalised with ``aigate.providers._usage``,
priced with the packaged catalog's price of a named model, and compared with arithmetic
written out by hand from the catalog's Decimal prices. ``_price`` also asserts those prices,
so a regenerated catalog that changes one fails here loudly instead of silently.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import usage_payloads as payloads
from hypothesis import given
from hypothesis import strategies as st

from aigate._models import CompletionTokensDetails, PromptTokensDetails, Usage
from aigate.pricing import (
    Catalog,
    ModelInfo,
    ModelPrice,
    cost,
    cost_breakdown,
    estimate_cost,
    from_nano,
    reported_cost,
    to_nano,
    transcription_cost,
)
from aigate.providers._usage import usage_from_anthropic, usage_from_gemini, usage_from_openai

ROOT = Path(__file__).resolve().parent.parent
CATALOG = Catalog.default()


def _price(provider: str, model: str, **expected: str) -> ModelPrice:
    info = CATALOG.get(provider, model)
    assert info is not None, f"{provider}/{model} missing from the catalog"
    for name, value in expected.items():
        assert getattr(info.price, name) == D(value), f"{provider}/{model} {name}"
    return info.price


# -- OpenAI -----------------------------------------------------------------------------------


def test_openai_chat_object_example() -> None:
    # OpenAI API reference, "The chat completion object" (gpt-4o-2024-08-06).
    u = usage_from_openai(payloads.OPENAI_CHAT_OBJECT_EXAMPLE)
    p = _price("openai", "gpt-4o-2024-08-06", input="0.0000025", output="0.00001")
    assert cost(u, p) == 19 * D("0.0000025") + 10 * D("0.00001") == D("0.0001475")


def test_openai_create_example_gpt_4o_mini() -> None:
    # OpenAI API reference, "Create chat completion" example response (gpt-4o-mini).
    u = usage_from_openai(
        {
            "prompt_tokens": 9,
            "completion_tokens": 12,
            "total_tokens": 21,
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
    )
    p = _price("openai", "gpt-4o-mini", input="0.00000015", output="0.0000006")
    assert cost(u, p) == 9 * D("0.00000015") + 12 * D("0.0000006")


def test_openai_prompt_caching_guide() -> None:
    # OpenAI prompt caching guide, usage example: 1920 of 2006 prompt tokens cached.
    u = usage_from_openai(
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
    )
    p = _price("openai", "gpt-4o", input="0.0000025", cached_input="0.00000125", output="0.00001")
    expected = 86 * D("0.0000025") + 1920 * D("0.00000125") + 300 * D("0.00001")
    assert cost(u, p) == expected
    assert cost_breakdown(u, p) == {
        "input": 86 * D("0.0000025"),
        "cached_input": 1920 * D("0.00000125"),
        "output": 300 * D("0.00001"),
    }


def test_azure_openai_cached_response() -> None:
    # An Azure OpenAI chat completion (system_fingerprint fp_ee1d74bde0) copied in a public
    # MCP server README; priced as gpt-4o.
    u = usage_from_openai(
        {
            "completion_tokens": 23,
            "completion_tokens_details": {
                "accepted_prediction_tokens": 0,
                "audio_tokens": 0,
                "reasoning_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            "prompt_tokens": 2012,
            "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 1920},
            "total_tokens": 2035,
        }
    )
    p = _price("openai", "gpt-4o", input="0.0000025", cached_input="0.00000125", output="0.00001")
    assert cost(u, p) == 92 * D("0.0000025") + 1920 * D("0.00000125") + 23 * D("0.00001")


def test_openai_reasoning_guide_reasoning_priced_as_output() -> None:
    # OpenAI reasoning guide, usage of a response: 1024 of 1186 output tokens are reasoning.
    # o4-mini prices reasoning as output, so no token is taken out of the output category.
    u = usage_from_openai(payloads.OPENAI_REASONING_GUIDE_REASONING_PRICED_AS_OUTPUT)
    p = _price("openai", "o4-mini", input="0.0000011", output="0.0000044")
    assert p.reasoning is None
    assert cost(u, p) == 75 * D("0.0000011") + 1186 * D("0.0000044")
    assert set(cost_breakdown(u, p)) == {"input", "output"}


def test_openai_predicted_outputs_rejected_tokens_are_already_in_completion() -> None:
    # OpenAI predicted outputs guide (gpt-4.1-2025-04-14): 14 accepted, 2 rejected
    # prediction tokens, both inside completion_tokens and billed as output.
    u = usage_from_openai(
        {
            "prompt_tokens": 59,
            "completion_tokens": 24,
            "total_tokens": 83,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 14,
                "rejected_prediction_tokens": 2,
            },
        }
    )
    p = _price("openai", "gpt-4.1-2025-04-14", input="0.000002", output="0.000008")
    assert cost(u, p) == 59 * D("0.000002") + 24 * D("0.000008")


def test_openai_stream_include_usage_chunk() -> None:
    # openai-python ChatCompletionChunk with stream_options include_usage (final chunk).
    u = usage_from_openai({"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4})
    p = _price("openai", "gpt-4o-mini", input="0.00000015", output="0.0000006")
    assert cost(u, p) == 3 * D("0.00000015") + 1 * D("0.0000006")


def test_openai_responses_incomplete_reasoning() -> None:
    # A public test of an OpenAI Responses provider: gpt-5-mini-2025-08-07 stopped at
    # max_output_tokens while reasoning (all 256 output tokens are reasoning).
    u = usage_from_openai(
        {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 256,
            "output_tokens_details": {"reasoning_tokens": 256},
            "total_tokens": 356,
        }
    )
    p = _price("openai", "gpt-5-mini-2025-08-07", input="0.00000025", output="0.000002")
    assert cost(u, p) == 100 * D("0.00000025") + 256 * D("0.000002")


def test_openai_cache_writes_without_a_write_price_bill_as_input() -> None:
    # A public runtime test's Responses usage with cache_write_tokens (OpenAI does not
    # charge extra for writes; gpt-5 has no cache-write price, so writes bill as input).
    u = usage_from_openai(
        {
            "input_tokens": 11,
            "input_tokens_details": {"cache_write_tokens": 2, "cached_tokens": 3},
            "output_tokens": 13,
            "output_tokens_details": {"reasoning_tokens": 5},
            "total_tokens": 24,
        }
    )
    p = _price("openai", "gpt-5", input="0.00000125", cached_input="0.000000125", output="0.00001")
    assert p.cache_write is None
    expected = 6 * D("0.00000125") + 3 * D("0.000000125") + 2 * D("0.00000125") + 13 * D("0.00001")
    assert cost(u, p) == expected


def test_openai_audio_in_and_out() -> None:
    # Constructed in openai-python's CompletionUsage shape (no public example found with
    # audio counts): 100 of 120 prompt tokens and 250 of 300 completion tokens are audio.
    u = usage_from_openai(
        {
            "prompt_tokens": 120,
            "completion_tokens": 300,
            "total_tokens": 420,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 100},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 250},
        }
    )
    p = _price(
        "openai",
        "gpt-audio",
        input="0.0000025",
        audio_input="0.000032",
        output="0.00001",
        audio_output="0.000064",
    )
    expected = 20 * D("0.0000025") + 100 * D("0.000032") + 50 * D("0.00001") + 250 * D("0.000064")
    assert cost(u, p) == expected
    # The same usage on a model with no audio price is unknown, not priced as text.
    assert cost(u, _price("openai", "gpt-4o")) is None


def test_xai_shape_priced_at_gpt_4_1_mini() -> None:
    # docs.x.ai prompt caching "Usage & Pricing" (an OpenAI-compatible usage with extra
    # detail fields), priced at gpt-4.1-mini for the arithmetic.
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
            },
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
    )
    p = _price(
        "openai", "gpt-4.1-mini", input="0.0000004", cached_input="0.0000001", output="0.0000016"
    )
    assert cost(u, p) == 27 * D("0.0000004") + 98 * D("0.0000001") + 48 * D("0.0000016")


def test_openai_embeddings_prompt_only() -> None:
    # OpenAI API reference, "Create embeddings" example usage.
    u = usage_from_openai({"prompt_tokens": 8, "total_tokens": 8})
    p = _price("openai", "text-embedding-3-small", input="0.00000002", output="0")
    assert cost(u, p) == 8 * D("0.00000002")


def test_openai_token_priced_transcription() -> None:
    # OpenAI API reference, transcription object usage (gpt-4o-transcribe, type "tokens").
    u = usage_from_openai(
        {
            "type": "tokens",
            "input_tokens": 14,
            "input_token_details": {"text_tokens": 0, "audio_tokens": 14},
            "output_tokens": 45,
            "total_tokens": 59,
        }
    )
    p = _price(
        "openai", "gpt-4o-transcribe", input="0.0000025", audio_input="0.0000025", output="0.00001"
    )
    assert cost(u, p) == 14 * D("0.0000025") + 45 * D("0.00001")
    assert cost_breakdown(u, p) == {"audio_input": 14 * D("0.0000025"), "output": 45 * D("0.00001")}


def test_whisper_per_second() -> None:
    p = _price("openai", "whisper-1", input_per_second="0.0001")
    assert transcription_cost(60, p) == 60 * D("0.0001") == D("0.0060")
    assert transcription_cost(D("12.5"), p) == D("12.5") * D("0.0001")
    assert transcription_cost(1.1, p) == D("1.1") * D("0.0001")  # through str, exactly
    assert transcription_cost(10, _price("openai", "gpt-4o")) is None
    with pytest.raises(ValueError):
        transcription_cost(-1, p)


# -- Anthropic ------------------------------------------------------------------------------


def test_anthropic_reference_example_with_cache_reads_and_writes() -> None:
    # Anthropic API reference, Messages response (claude-opus-5 example, with cache fields);
    # the 2051 creation tokens are not split, so they are 5-minute writes.
    u = usage_from_anthropic(payloads.ANTHROPIC_REFERENCE_EXAMPLE_WITH_CACHE_READS_AND_WRITES)
    p = _price(
        "anthropic",
        "claude-opus-5",
        input="0.000005",
        cached_input="0.0000005",
        cache_write="0.00000625",
        output="0.000025",
    )
    expected = (
        2095 * D("0.000005") + 2051 * D("0.0000005") + 2051 * D("0.00000625") + 503 * D("0.000025")
    )
    assert cost(u, p) == expected


def test_anthropic_reference_example_plain() -> None:
    # Anthropic API reference, Messages example response usage (no cache fields).
    u = usage_from_anthropic({"input_tokens": 2095, "output_tokens": 503})
    p = _price("anthropic", "claude-sonnet-4-5", input="0.000003", output="0.000015")
    assert cost(u, p) == 2095 * D("0.000003") + 503 * D("0.000015")


def test_anthropic_hello_world() -> None:
    # Anthropic Messages "Hello, world" curl example (claude-3-5-sonnet-20240620, not in
    # the catalog); priced at claude-haiku-4-5.
    u = usage_from_anthropic(payloads.ANTHROPIC_HELLO_WORLD)
    assert CATALOG.get("anthropic", "claude-3-5-sonnet-20240620") is None
    p = _price("anthropic", "claude-haiku-4-5", input="0.000001", output="0.000005")
    assert cost(u, p) == 10 * D("0.000001") + 30 * D("0.000005")


def test_anthropic_sdk_stream_fixture() -> None:
    # anthropic-sdk-python tests/lib/streaming/fixtures/tool_use_response.txt
    # (claude-sonnet-4-20250514): message_start usage + cumulative message_delta usage.
    start = {
        "input_tokens": 377,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
        "service_tier": "standard",
    }
    u = usage_from_anthropic({**start, "output_tokens": 65})
    p = _price("anthropic", "claude-sonnet-4-5", input="0.000003", output="0.000015")
    assert cost(u, p) == 377 * D("0.000003") + 65 * D("0.000015")


def test_anthropic_stream_docs_example() -> None:
    # Anthropic streaming docs grammar (claude-opus-5 example): message_start usage
    # {input 770, output 8}, then message_delta usage {output 89}.
    u = usage_from_anthropic({"input_tokens": 770, "output_tokens": 8} | {"output_tokens": 89})
    p = _price("anthropic", "claude-opus-4-5", input="0.000005", output="0.000025")
    assert cost(u, p) == 770 * D("0.000005") + 89 * D("0.000025")


def test_anthropic_one_hour_cache_docs_example() -> None:
    # Anthropic prompt caching docs, "1-hour cache duration" usage: 456 five-minute and 100
    # one-hour creation tokens (the doc elides the other counts; 0 here).
    u = usage_from_anthropic(payloads.ANTHROPIC_ONE_HOUR_CACHE_DOCS_EXAMPLE)
    p = _price(
        "anthropic", "claude-sonnet-4-5", cache_write="0.00000375", cache_write_1h="0.000006"
    )
    assert cost(u, p) == 456 * D("0.00000375") + 100 * D("0.000006")
    assert cost_breakdown(u, p) == {
        "cache_write": 456 * D("0.00000375"),
        "cache_write_1h": 100 * D("0.000006"),
    }


def test_anthropic_both_ttls_langchain_docs() -> None:
    # LangChain docs (Anthropic cache TTL count details, langchain#31708): 1500 input tokens
    # of which 1000 written to the cache (750 for 1h, 250 for 5m), 200 output. In
    # Anthropic's own shape input_tokens excludes the 1000 creation tokens.
    u = usage_from_anthropic(
        {
            "input_tokens": 500,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 250, "ephemeral_1h_input_tokens": 750},
            "output_tokens": 200,
        }
    )
    assert u.prompt_tokens == 1500
    p = _price(
        "anthropic",
        "claude-sonnet-4-5",
        input="0.000003",
        cache_write="0.00000375",
        cache_write_1h="0.000006",
        output="0.000015",
    )
    expected = (
        500 * D("0.000003") + 250 * D("0.00000375") + 750 * D("0.000006") + 200 * D("0.000015")
    )
    assert cost(u, p) == expected


def test_anthropic_litellm_docs_cache_creation() -> None:
    # LiteLLM docs, Anthropic pass-through response (claude-3-7-sonnet-20250219): 2095
    # creation tokens without a TTL split are default 5-minute writes.
    u = usage_from_anthropic(payloads.ANTHROPIC_LITELLM_DOCS_CACHE_CREATION)
    p = _price(
        "anthropic",
        "claude-haiku-4-5",
        input="0.000001",
        cache_write="0.00000125",
        output="0.000005",
    )
    assert cost(u, p) == 2095 * D("0.000001") + 2095 * D("0.00000125") + 503 * D("0.000005")


# -- Gemini ---------------------------------------------------------------------------------


def test_gemini_thinking_firebase_example() -> None:
    # Firebase AI Logic docs (server prompt templates), gemini-3-flash-preview response.
    u = usage_from_gemini(payloads.GEMINI_THINKING_FIREBASE_EXAMPLE)
    p = _price(
        "gemini",
        "gemini-3-flash-preview",
        input="0.0000005",
        output="0.000003",
        reasoning="0.000003",
    )
    assert cost(u, p) == 34 * D("0.0000005") + 418 * D("0.000003") + 438 * D("0.000003")
    assert cost_breakdown(u, p)["reasoning"] == 438 * D("0.000003")


def test_gemini_rest_example() -> None:
    # Gemini REST reference usageMetadata fields (values as in the design notes, peers.md).
    u = usage_from_gemini({"promptTokenCount": 8, "candidatesTokenCount": 7, "totalTokenCount": 15})
    p = _price("gemini", "models/gemini-2.5-flash", input="0.0000003", output="0.0000025")
    assert cost(u, p) == 8 * D("0.0000003") + 7 * D("0.0000025")


def test_gemini_cached_thoughts_and_tool_use() -> None:
    # A Rig-based Gemini usage fixture (rig_core gemini_api_types::UsageMetadata).
    u = usage_from_gemini(payloads.GEMINI_CACHED_THOUGHTS_AND_TOOL_USE)
    p = _price(
        "gemini",
        "gemini-2.5-flash",
        input="0.0000003",
        cached_input="0.00000003",
        output="0.0000025",
        reasoning="0.0000025",
    )
    expected = (
        65 * D("0.0000003") + 40 * D("0.00000003") + 20 * D("0.0000025") + 30 * D("0.0000025")
    )
    assert cost(u, p) == expected


def test_gemini_mostly_cached_prompt() -> None:
    # A public Swift client test (GeminiUsageMetadata decoding), priced at
    # gemini-2.5-flash-lite.
    u = usage_from_gemini(
        {
            "promptTokenCount": 5000,
            "candidatesTokenCount": 30,
            "totalTokenCount": 5030,
            "cachedContentTokenCount": 4200,
            "thoughtsTokenCount": 12,
        }
    )
    p = _price(
        "gemini",
        "gemini-2.5-flash-lite",
        input="0.0000001",
        cached_input="0.00000001",
        output="0.0000004",
        reasoning="0.0000004",
    )
    expected = (
        800 * D("0.0000001") + 4200 * D("0.00000001") + 30 * D("0.0000004") + 12 * D("0.0000004")
    )
    assert cost(u, p) == expected


def test_gemini_audio_prompt() -> None:
    # A Vertex Gemini transcription fixture: the whole prompt is AUDIO.
    u = usage_from_gemini(
        {
            "promptTokenCount": 440,
            "candidatesTokenCount": 62,
            "totalTokenCount": 502,
            "trafficType": "ON_DEMAND",
            "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 440}],
            "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 62}],
        }
    )
    p = _price("gemini", "gemini-2.5-flash", audio_input="0.000001", output="0.0000025")
    assert cost(u, p) == 440 * D("0.000001") + 62 * D("0.0000025")


def test_gemini_truncated_thinking_call() -> None:
    # A public debugging report's usageMetadata for a call cut off while thinking
    # (totalTokenCount 2040 = 844 + 46 + 1150), priced at gemini-2.5-flash.
    u = usage_from_gemini(
        {
            "promptTokenCount": 844,
            "candidatesTokenCount": 46,
            "totalTokenCount": 2040,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 844}],
            "thoughtsTokenCount": 1150,
            "serviceTier": "standard",
        }
    )
    assert u.total_tokens == 2040
    p = _price("gemini", "gemini-2.5-flash", input="0.0000003", output="0.0000025")
    assert cost(u, p) == 844 * D("0.0000003") + 46 * D("0.0000025") + 1150 * D("0.0000025")


def test_gemini_long_context_tier_prices_the_whole_request() -> None:
    # Constructed: gemini-2.5-pro charges its >200k tier for every token of the request.
    p = _price("gemini", "gemini-2.5-pro", input="0.00000125", output="0.00001")
    assert p.long_context_threshold == 200_000
    big = usage_from_gemini(
        {
            "promptTokenCount": 250_000,
            "cachedContentTokenCount": 50_000,
            "candidatesTokenCount": 1000,
        }
    )
    assert cost(big, p) == (
        200_000 * D("0.0000025") + 50_000 * D("0.00000025") + 1000 * D("0.000015")
    )
    at_threshold = usage_from_gemini({"promptTokenCount": 200_000, "candidatesTokenCount": 1000})
    assert cost(at_threshold, p) == 200_000 * D("0.00000125") + 1000 * D("0.00001")


# -- Groq, OpenRouter, DeepSeek, Mistral ----------------------------------------------------


def test_groq_reference_example() -> None:
    # console.groq.com/docs/api-reference, chat completion response (openai/gpt-oss-20b).
    u = usage_from_openai(payloads.GROQ_REFERENCE_EXAMPLE)
    p = _price("groq", "openai/gpt-oss-20b", input="0.000000075", output="0.0000003")
    assert cost(u, p) == 18 * D("0.000000075") + 556 * D("0.0000003")


def test_groq_stream_x_groq_usage() -> None:
    # Groq streaming: usage arrives in the last chunk's x_groq.usage (public Java client
    # fixture, llama-3.3-70b-versatile), priced from groq.com/pricing ($0.59 / $0.79 per
    # million tokens, the catalog's supplement rows, issue 13.8).
    chunk: dict[str, Any] = {
        "x_groq": {
            "id": "req_01jbd6g2qdfw2adyrt2az8hz4w",
            "usage": {
                "queue_time": 0.037493756,
                "prompt_tokens": 18,
                "prompt_time": 0.000680594,
                "completion_tokens": 25,
                "completion_time": 0.463333333,
                "total_tokens": 43,
                "total_time": 0.464013927,
            },
        }
    }
    u = usage_from_openai(chunk["x_groq"]["usage"])
    llama = CATALOG.get("groq", "llama-3.3-70b-versatile")
    assert llama is not None
    assert cost(u, llama.price) == 18 * D("0.00000059") + 25 * D("0.00000079")
    p = _price("groq", "openai/gpt-oss-120b", input="0.00000015", output="0.0000006")
    assert cost(u, p) == 18 * D("0.00000015") + 25 * D("0.0000006")


def test_openrouter_docs_reported_cost_and_own_price() -> None:
    # openrouter.ai/docs/use-cases/usage-accounting, "Response Format".
    u = usage_from_openai(payloads.OPENROUTER_DOCS_REPORTED_COST_AND_OWN_PRICE)
    assert reported_cost(u) == D("0.95")
    # The source table has no OpenRouter rows; the upstream vendor's price is used.
    p = _price(
        "openrouter",
        "anthropic/claude-sonnet-4.5",
        input="0.000003",
        cache_write="0.00000375",
        output="0.000015",
    )
    # cost() never uses the reported cost.
    assert cost(u, p) == 94 * D("0.000003") + 100 * D("0.00000375") + 2 * D("0.000015")


def test_openrouter_session_log() -> None:
    # A public OpenRouter session log (usage with cost, is_byok, cost_details), priced at
    # openrouter openai/gpt-5 via the upstream OpenAI row.
    u = usage_from_openai(
        {
            "prompt_tokens": 46,
            "completion_tokens": 683,
            "total_tokens": 729,
            "cost": 0.03461,
            "is_byok": False,
            "prompt_tokens_details": {
                "cached_tokens": 0,
                "cache_write_tokens": 0,
                "audio_tokens": 0,
                "video_tokens": 0,
            },
            "cost_details": {
                "upstream_inference_cost": 0.03461,
                "upstream_inference_prompt_cost": 0.00046,
                "upstream_inference_completions_cost": 0.03415,
            },
            "completion_tokens_details": {
                "reasoning_tokens": 159,
                "image_tokens": 0,
                "audio_tokens": 0,
            },
        }
    )
    assert reported_cost(u) == D("0.03461")
    info = CATALOG.get("openrouter", "openai/gpt-5")
    assert info is not None and (info.provider, info.model) == ("openrouter", "openai/gpt-5")
    p = _price("openrouter", "openai/gpt-5", input="0.00000125", output="0.00001")
    assert cost(u, p) == 46 * D("0.00000125") + 683 * D("0.00001")


def test_deepseek_reasoner_cache_hits() -> None:
    # A public test of DeepSeek usage normalisation (DeepSeek's prompt_cache_hit_tokens).
    u = usage_from_openai(payloads.DEEPSEEK_REASONER_CACHE_HITS)
    p = _price(
        "deepseek",
        "deepseek-reasoner",
        input="0.00000028",
        cached_input="0.000000028",
        output="0.00000042",
    )
    assert cost(u, p) == 30 * D("0.00000028") + 70 * D("0.000000028") + 40 * D("0.00000042")


def test_deepseek_chat_cache_hits() -> None:
    # A public gateway test's DeepSeek usage (hit 200 / miss 800).
    u = usage_from_openai(
        {
            "prompt_tokens": 1000,
            "completion_tokens": 50,
            "prompt_cache_hit_tokens": 200,
            "prompt_cache_miss_tokens": 800,
            "completion_tokens_details": {"reasoning_tokens": 20},
        }
    )
    p = _price(
        "deepseek",
        "deepseek-chat",
        input="0.00000028",
        cached_input="0.000000028",
        output="0.00000042",
    )
    assert cost(u, p) == 800 * D("0.00000028") + 200 * D("0.000000028") + 50 * D("0.00000042")


def test_mistral_usage_info() -> None:
    # Constructed in Mistral's UsageInfo shape (docs.mistral.ai API schema: prompt,
    # completion and total tokens, prompt_audio_seconds).
    u = usage_from_openai(
        {
            "prompt_tokens": 16,
            "completion_tokens": 34,
            "total_tokens": 50,
            "prompt_audio_seconds": None,
        }
    )
    p = _price("mistral", "mistral-small-latest", input="0.00000015", output="0.0000006")
    assert cost(u, p) == 16 * D("0.00000015") + 34 * D("0.0000006")


# -- cost semantics -------------------------------------------------------------------------

UNIT = ModelPrice(
    input=D(1),
    cached_input=D(1),
    cache_write=D(1),
    cache_write_1h=D(1),
    output=D(1),
    reasoning=D(1),
    audio_input=D(1),
    audio_output=D(1),
)


def _usage(
    prompt: int = 0,
    completion: int = 0,
    *,
    cached: int = 0,
    write: int = 0,
    write_1h: int = 0,
    audio_in: int = 0,
    reasoning: int = 0,
    audio_out: int = 0,
) -> Usage:
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetails(
            cached_tokens=cached,
            cache_write_tokens=write,
            cache_write_1h_tokens=write_1h,
            audio_tokens=audio_in,
        ),
        completion_tokens_details=CompletionTokensDetails(
            reasoning_tokens=reasoning, audio_tokens=audio_out
        ),
    )


def test_every_token_is_priced_exactly_once() -> None:
    # At 1 USD for every category, the cost is the token count: nothing counted twice.
    u = _usage(
        1000, 500, cached=300, write=100, write_1h=50, audio_in=40, reasoning=200, audio_out=60
    )
    assert cost(u, UNIT) == D(1500)
    parts = cost_breakdown(u, UNIT)
    assert parts == {
        "input": D(510),
        "cached_input": D(300),
        "cache_write": D(100),
        "cache_write_1h": D(50),
        "audio_input": D(40),
        "output": D(240),
        "reasoning": D(200),
        "audio_output": D(60),
    }


def test_reasoning_stays_output_without_its_own_price() -> None:
    p = ModelPrice(input=D("0.000001"), output=D("0.000004"))
    u = _usage(10, 100, reasoning=80)
    assert cost(u, p) == 10 * D("0.000001") + 100 * D("0.000004")
    dearer = ModelPrice(input=D("0.000001"), output=D("0.000004"), reasoning=D("0.00001"))
    assert cost(u, dearer) == 10 * D("0.000001") + 20 * D("0.000004") + 80 * D("0.00001")


def test_fallbacks_for_missing_cache_prices() -> None:
    p = ModelPrice(input=D("0.000002"), output=D("0.000008"))
    u = _usage(100, 0, cached=30, write=20, write_1h=10)
    # cached_input, cache_write and cache_write_1h missing -> input price
    assert cost(u, p) == 100 * D("0.000002")
    with_write = ModelPrice(input=D("0.000002"), output=D("0.000008"), cache_write=D("0.0000025"))
    # cache_write_1h missing -> cache_write price
    assert cost(u, with_write) == 70 * D("0.000002") + 30 * D("0.0000025")


def test_unknown_prices_are_none_never_zero() -> None:
    u = _usage(10, 5)
    assert cost(u, ModelPrice()) is None
    assert cost(u, ModelPrice(input=D("0.000001"))) is None  # output unknown, 5 tokens
    assert cost(_usage(10, 0), ModelPrice(input=D("0.000001"))) == 10 * D("0.000001")
    assert cost(_usage(10, 5, audio_out=5), ModelPrice(input=D(1), output=D(1))) is None
    assert cost_breakdown(_usage(10, 5, audio_out=5), ModelPrice(input=D(1), output=D(1))) == {
        "input": D(10)
    }
    assert CATALOG.get("openai", "gpt-does-not-exist") is None
    assert CATALOG.get("nobody", "gpt-4o") is None


def test_inconsistent_details_clamp_at_zero() -> None:
    u = _usage(10, 0, cached=15)
    assert cost(u, UNIT) == D(15)  # never a negative uncached amount


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000)),
        min_size=1,
        max_size=5,
    )
)
def test_cost_is_additive(calls: list[tuple[int, int, int]]) -> None:
    # Pricing many calls one by one equals pricing their summed usage (below any tier).
    p = _price("anthropic", "claude-sonnet-4-5")
    usages = [_usage(a + c, b, cached=c) for a, b, c in calls]
    total = _usage(
        sum(a + c for a, _, c in calls),
        sum(b for _, b, _ in calls),
        cached=sum(c for *_, c in calls),
    )
    each = [cost(u, p) for u in usages]
    assert all(x is not None for x in each)
    assert sum((x for x in each if x is not None), D(0)) == cost(total, p)


def test_to_nano_rounds_half_up() -> None:
    assert to_nano(D("0.0001475")) == 147_500
    assert to_nano(D("0.0000000005")) == 1
    assert to_nano(D("0.00000000049999")) == 0
    assert to_nano(D("0.0000000015")) == 2
    assert to_nano(D("-0.0000000005")) == -1
    assert to_nano(D(0)) == 0
    assert from_nano(147_500) == D("0.0001475")
    assert from_nano(to_nano(D("1.234567891"))) == D("1.234567891")


def test_estimate_cost_is_the_worst_case() -> None:
    p = _price("openai", "gpt-4o")
    assert estimate_cost(1000, 500, p) == 1000 * D("0.0000025") + 500 * D("0.00001")
    flash = _price("gemini", "gemini-2.5-flash")
    assert estimate_cost(10, 10, flash) == 10 * D("0.0000003") + 10 * D("0.0000025")
    dear_reasoning = ModelPrice(input=D(1), output=D(2), reasoning=D(3))
    assert estimate_cost(1, 1, dear_reasoning) == D(4)
    claude = _price("anthropic", "claude-sonnet-4-5")
    assert estimate_cost(100, 0, claude, cache_writes=True) == 100 * D("0.000006")
    pro = _price("gemini", "gemini-2.5-pro")
    assert estimate_cost(300_000, 10, pro) == 300_000 * D("0.0000025") + 10 * D("0.000015")
    assert estimate_cost(10, 10, ModelPrice(input=D(1))) is None
    with pytest.raises(ValueError):
        estimate_cost(-1, 0, p)
    # The estimate bounds the real cost of any call within it.
    real = _usage(1000, 500, cached=900, reasoning=400)
    c = cost(real, p)
    e = estimate_cost(1000, 500, p)
    assert c is not None and e is not None and c <= e


def test_reported_cost() -> None:
    assert reported_cost(Usage(prompt_tokens=1, cost=0.95)) == D("0.95")
    assert reported_cost(Usage(prompt_tokens=1, cost="0.001")) == D("0.001")
    assert reported_cost(Usage(prompt_tokens=1, cost=0)) == D(0)
    assert reported_cost(Usage(prompt_tokens=1)) is None
    assert reported_cost(Usage(prompt_tokens=1, cost=-1)) is None
    assert reported_cost(Usage(prompt_tokens=1, cost="n/a")) is None
    assert reported_cost(Usage(prompt_tokens=1, cost=True)) is None


# -- catalog --------------------------------------------------------------------------------


def test_tolerant_lookup() -> None:
    exact = CATALOG.get("openai", "gpt-4o")
    assert exact is not None
    undated = CATALOG.get("anthropic", "claude-sonnet-4-5-20990101")
    assert undated is not None and undated.model == "claude-sonnet-4-5"
    newest = CATALOG.get("openai", "gpt-4o-audio-preview")
    assert newest is not None and newest.model == "gpt-4o-audio-preview-2025-06-03"
    gem = CATALOG.get("gemini", "models/gemini-2.5-flash")
    assert gem is not None and gem.model == "gemini-2.5-flash"
    versioned = CATALOG.get("gemini", "gemini-2.5-flash-001")
    assert versioned is not None and versioned.model == "gemini-2.5-flash"
    ft = CATALOG.get("openai", "ft:gpt-4o-mini-2024-07-18:acme::abc123")
    assert ft is not None and ft.model == "ft:gpt-4o-mini-2024-07-18"
    assert CATALOG.get("openai", "ft:nothing-like-it:acme::x") is None
    free = CATALOG.get("openrouter", "deepseek/deepseek-chat:free")
    assert free is not None and free.provider == "openrouter"
    assert CATALOG.get("openrouter", "unknownvendor/model") is None


def test_overrides_add_correct_and_leave_the_original_alone() -> None:
    local = CATALOG.with_overrides(
        {
            "ollama/llama3": {"input": 0, "output": 0, "context_window": 8192},
            "openai/gpt-4o": {"input_per_million": "2", "output_per_million": 8.5},
            "acme/big": {
                "input": "0.000001",
                "output": D("0.000002"),
                "capabilities": ["tools", "vision"],
                "mode": "chat",
            },
        }
    )
    llama = local.get("ollama", "llama3")
    assert llama is not None and llama.context_window == 8192
    assert cost(_usage(1000, 1000), llama.price) == D("0")
    assert cost(_usage(1000, 1000), llama.price) is not None
    gpt = local.get("openai", "gpt-4o")
    assert gpt is not None
    assert gpt.price.input == D("0.000002") and gpt.price.output == D("0.0000085")
    assert gpt.price.cached_input == D("0.00000125")  # untouched fields survive
    assert gpt.context_window == 128000
    big = local.get("acme", "big")
    assert big is not None and big.capabilities == frozenset({"tools", "vision"})
    assert len(local) == len(CATALOG) + 2
    original = CATALOG.get("openai", "gpt-4o")
    assert original is not None and original.price.input == D("0.0000025")
    assert CATALOG.get("ollama", "llama3") is None
    # Overriding a tiered model's price drops its tier: the override is the whole price.
    flat = CATALOG.with_overrides({"gemini/gemini-2.5-pro": {"input": "0.000001"}})
    pro = flat.get("gemini", "gemini-2.5-pro")
    assert pro is not None and pro.price.long_context is None


@pytest.mark.parametrize(
    "entry",
    [
        {"ollama/x": {"inptu": 0}},
        {"ollama/x": {"input": -1}},
        {"ollama/x": {"input": "cheap"}},
        {"ollama/x": {"input": True}},
        {"ollama/x": {"context_window": "big"}},
        {"ollama/x": {"capabilities": "tools"}},
        {"noslash": {"input": 0}},
    ],
)
def test_bad_overrides_raise(entry: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(ValueError):
        CATALOG.with_overrides(entry)


def test_search() -> None:
    cheap_vision = CATALOG.search(
        capability=["vision", "tools"], max_input_price="0.0000002", min_context=100_000
    )
    assert cheap_vision
    for info in cheap_vision:
        assert {"vision", "tools"} <= info.capabilities
        assert info.price.input is not None and info.price.input <= D("0.0000002")
        assert (info.context_window or 0) >= 100_000
    names = [(i.provider, i.model) for i in cheap_vision]
    assert names == sorted(names)
    assert ("openai", "gpt-4o-mini") in names
    groq = CATALOG.search(provider="groq", mode="chat")
    assert groq and all(i.provider == "groq" and i.mode == "chat" for i in groq)
    embeddings = CATALOG.search(mode="embedding", text="TEXT-EMBEDDING")
    assert {i.model for i in embeddings} >= {"text-embedding-3-small"}
    assert CATALOG.search(text="no-such-model-anywhere") == []
    assert len(CATALOG.search()) == len(CATALOG) == len(list(CATALOG))
    assert all(isinstance(i, ModelInfo) for i in CATALOG)


def test_default_catalog_loads_once_across_threads() -> None:
    seen: list[Catalog] = []
    threads = [threading.Thread(target=lambda: seen.append(Catalog.default())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and all(c is seen[0] for c in seen)


def test_packaged_catalog_format() -> None:
    data = json.loads((ROOT / "aigate" / "_data" / "catalog.json").read_text())
    meta = data.pop("_meta")
    assert meta["source"] == "model_prices_litellm.json" and len(meta["source_sha256"]) == 64
    providers = {name.split("/", 1)[0] for name in data}
    assert providers <= {
        "openai",
        "anthropic",
        "gemini",
        "groq",
        "openrouter",
        "mistral",
        "deepseek",
    }
    assert {"openai", "anthropic", "gemini", "groq", "mistral", "deepseek"} <= providers

    def no_floats(value: Any) -> None:
        assert not isinstance(value, float), value
        if isinstance(value, dict):
            for v in value.values():
                no_floats(v)
        elif isinstance(value, list):
            for v in value:
                no_floats(v)

    no_floats(data)
    for entry in data.values():
        assert None not in entry.values()


# -- generator ------------------------------------------------------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_catalog", ROOT / "scripts" / "generate_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_converts_and_is_deterministic(tmp_path: Path) -> None:
    gen = _generator()
    source = {
        "sample_spec": {"litellm_provider": "openai"},
        "gpt-x": {
            "litellm_provider": "openai",
            "mode": "chat",
            "input_cost_per_token": 2.5e-06,
            "cache_read_input_token_cost": 1.25e-06,
            "output_cost_per_token": 1e-05,
            "input_cost_per_token_above_272k_tokens": 5e-06,
            "input_cost_per_token_above_272k_tokens_priority": 9e-06,
            "max_input_tokens": 128000,
            "max_output_tokens": None,
            "supports_vision": True,
            "supports_function_calling": True,
            "supports_audio_output": False,
        },
        "gemini/gemini-y": {"litellm_provider": "gemini", "input_cost_per_token": 3e-07},
        "gemini-y": {"litellm_provider": "gemini", "input_cost_per_token": 9e-07},
        "vertex_ai/gemini-y": {"litellm_provider": "vertex_ai-language-models"},
        "groq/openai/gpt-oss-z": {"litellm_provider": "groq", "output_cost_per_token": 3e-07},
        "openrouter/anthropic/claude-3-haiku": {
            "litellm_provider": "openrouter",
            "input_cost_per_token": 2.5e-07,
        },
        "low/1024-x-1024/gpt-image-1": {"litellm_provider": "openai", "mode": "image_generation"},
        "1024-x-1024/dall-e-9": {"litellm_provider": "openai", "mode": "chat"},
    }
    src = tmp_path / "prices.json"
    src.write_text(json.dumps(source))
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    assert gen.main(["--source", str(src), "--output", str(out1)]) == 0
    assert gen.main(["--source", str(src), "--output", str(out2)]) == 0
    assert out1.read_bytes() == out2.read_bytes()
    data = json.loads(out1.read_text())
    assert data["_meta"]["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert date.fromisoformat(data["_meta"]["snapshot_date"])  # the source's day by default
    supplement = {name for family in gen.SUPPLEMENT.values() for name in family}
    supplement |= set(gen.OPENROUTER_UPSTREAM)
    assert set(data) - supplement == {
        "_meta",
        "openai/gpt-x",
        "gemini/gemini-y",
        "groq/openai/gpt-oss-z",
        "openrouter/anthropic/claude-3-haiku",
    }
    assert data["openai/gpt-x"] == {
        "mode": "chat",
        "input": "0.0000025",
        "cached_input": "0.00000125",
        "output": "0.00001",
        "long_context": {"threshold": 272000, "input": "0.000005"},
        "context_window": 128000,
        "capabilities": ["tools", "vision"],
    }
    assert data["gemini/gemini-y"]["input"] == "0.0000003"  # the prefixed row wins
    loaded = Catalog.from_file(out1)
    haiku = loaded.get("openrouter", "anthropic/claude-3-haiku")
    assert haiku is not None and haiku.price.input == D("0.00000025")
    gpt = loaded.get("openai", "gpt-x")
    assert gpt is not None and gpt.price.at(300_000).input == D("0.000005")


def test_packaged_catalog_matches_the_generator() -> None:
    gen = _generator()
    source = gen.DEFAULT_SOURCE
    if not source.exists():
        pytest.skip("the LiteLLM source table is not available here")
    table = json.loads(source.read_bytes())
    meta = json.loads((ROOT / "aigate" / "_data" / "catalog.json").read_text())["_meta"]
    assert meta["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    rendered = gen.render(gen.supplement(gen.build(table)), meta)
    assert rendered == (ROOT / "aigate" / "_data" / "catalog.json").read_text()
