"""Usage payloads from the providers' documentation, shared by the pricing and the
normalisation tests (each payload once, with its source)."""

from __future__ import annotations

from typing import Any

# OpenAI API reference, "The chat completion object" (gpt-4o-2024-08-06).
OPENAI_CHAT_OBJECT_EXAMPLE: dict[str, Any] = {
    "prompt_tokens": 19,
    "completion_tokens": 10,
    "total_tokens": 29,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


# OpenAI reasoning guide, usage of a response: 1024 of 1186 output tokens are reasoning.
# o4-mini prices reasoning as output, so no token is taken out of the output category.
OPENAI_REASONING_GUIDE_REASONING_PRICED_AS_OUTPUT: dict[str, Any] = {
    "input_tokens": 75,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 1186,
    "output_tokens_details": {"reasoning_tokens": 1024},
    "total_tokens": 1261,
}


# Anthropic API reference, Messages response (claude-opus-5 example, with cache fields);
# the 2051 creation tokens are not split, so they are 5-minute writes.
ANTHROPIC_REFERENCE_EXAMPLE_WITH_CACHE_READS_AND_WRITES: dict[str, Any] = {
    "input_tokens": 2095,
    "output_tokens": 503,
    "cache_creation_input_tokens": 2051,
    "cache_read_input_tokens": 2051,
    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
    "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 2},
    "output_tokens_details": {"thinking_tokens": 0},
    "service_tier": "standard",
    "inference_geo": "global",
}


# Anthropic Messages "Hello, world" curl example (claude-3-5-sonnet-20240620, not in
# the catalog); priced at claude-haiku-4-5.
ANTHROPIC_HELLO_WORLD: dict[str, Any] = {"input_tokens": 10, "output_tokens": 30}


# Anthropic prompt caching docs, "1-hour cache duration" usage: 456 five-minute and 100
# one-hour creation tokens (the doc elides the other counts; 0 here).
ANTHROPIC_ONE_HOUR_CACHE_DOCS_EXAMPLE: dict[str, Any] = {
    "input_tokens": 0,
    "cache_read_input_tokens": 0,
    "cache_creation_input_tokens": 556,
    "output_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 456, "ephemeral_1h_input_tokens": 100},
}


# LiteLLM docs, Anthropic pass-through response (claude-3-7-sonnet-20250219): 2095
# creation tokens without a TTL split are default 5-minute writes.
ANTHROPIC_LITELLM_DOCS_CACHE_CREATION: dict[str, Any] = {
    "input_tokens": 2095,
    "output_tokens": 503,
    "cache_creation_input_tokens": 2095,
    "cache_read_input_tokens": 0,
}


# Firebase AI Logic docs (server prompt templates), gemini-3-flash-preview response.
GEMINI_THINKING_FIREBASE_EXAMPLE: dict[str, Any] = {
    "promptTokenCount": 34,
    "candidatesTokenCount": 418,
    "totalTokenCount": 890,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 34}],
    "thoughtsTokenCount": 438,
}


# A Rig-based Gemini usage fixture (rig_core gemini_api_types::UsageMetadata).
GEMINI_CACHED_THOUGHTS_AND_TOOL_USE: dict[str, Any] = {
    "promptTokenCount": 100,
    "cachedContentTokenCount": 40,
    "candidatesTokenCount": 20,
    "thoughtsTokenCount": 30,
    "toolUsePromptTokenCount": 5,
    "totalTokenCount": 150,
    "trafficType": "ON_DEMAND",
}


# console.groq.com/docs/api-reference, chat completion response (openai/gpt-oss-20b).
GROQ_REFERENCE_EXAMPLE: dict[str, Any] = {
    "queue_time": 0.037493756,
    "prompt_tokens": 18,
    "prompt_time": 0.000680594,
    "completion_tokens": 556,
    "completion_time": 0.463333333,
    "total_tokens": 574,
    "total_time": 0.464013927,
}


# openrouter.ai/docs/use-cases/usage-accounting, "Response Format".
OPENROUTER_DOCS_REPORTED_COST_AND_OWN_PRICE: dict[str, Any] = {
    "completion_tokens": 2,
    "completion_tokens_details": {"reasoning_tokens": 0},
    "cost": 0.95,
    "cost_details": {"upstream_inference_cost": 19},
    "prompt_tokens": 194,
    "prompt_tokens_details": {
        "cached_tokens": 0,
        "cache_write_tokens": 100,
        "audio_tokens": 0,
    },
    "total_tokens": 196,
}


# A public test of DeepSeek usage normalisation (DeepSeek's prompt_cache_hit_tokens).
DEEPSEEK_REASONER_CACHE_HITS: dict[str, Any] = {
    "prompt_tokens": 100,
    "completion_tokens": 40,
    "total_tokens": 140,
    "prompt_cache_hit_tokens": 70,
    "prompt_cache_miss_tokens": 30,
    "completion_tokens_details": {"reasoning_tokens": 12},
}
