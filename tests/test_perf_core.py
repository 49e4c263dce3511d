"""The core's per-call shortcuts build the same objects as the plain way."""

from __future__ import annotations

import dataclasses

import aigate
from aigate._models import GatewayInfo
from aigate.testing import FakeTransport, reply


def test_info_passes_gateway_info_fields_in_order() -> None:
    """`GatewayCore.info` makes GatewayInfo positionally: a field added or moved must be
    added there too (this list fails first)."""
    assert [f.name for f in dataclasses.fields(GatewayInfo)] == [
        "provider",
        "model",
        "route",
        "cost_usd",
        "cached",
        "attempts",
        "latency_ms",
        "ttft_ms",
        "key_id",
        "request_id",
        "estimated",
        "rate_limit",
        "saved_cost_usd",
        "call_id",
        "cache_similarity",
        "max_tokens",
    ]


def test_info_of_a_plain_call() -> None:
    fake = FakeTransport([reply("hi", usage={"prompt_tokens": 10, "completion_tokens": 5})])
    gw = aigate.Gateway(
        providers={"openai": {"api_keys": ["sk-test-0123456789"]}},
        routes={"fast": ["openai/gpt-4o-mini"]},
        transport=fake,
    )
    info = gw.chat.completions.create(
        model="fast", messages=[{"role": "user", "content": "x"}]
    ).gateway
    assert info is not None
    assert (info.provider, info.model, info.route) == ("openai", "gpt-4o-mini", "fast")
    assert info.cost_usd is not None and info.cost_usd > 0
    assert info.cached is False and info.estimated is False
    assert len(info.attempts) == 1 and info.latency_ms > 0 and info.ttft_ms is None
    assert info.key_id is not None and info.key_id.startswith("k-")
    assert info.saved_cost_usd is None and info.cache_similarity is None
    assert info.max_tokens is None
    assert isinstance(info.call_id, str) and len(info.call_id) == 32
