"""Tests of the support bot with aigate's pytest plugin: no network, no keys.

``aigate_fake`` scripts the provider; ``aigate_gateway`` is a Gateway wired to it (routes:
``default`` = openai/gpt-4o-mini, then anthropic/claude-haiku-4-5; a memory ledger).
"""

from __future__ import annotations

import pytest
from support_bot import triage

import aigate
from aigate.testing import FakeTransport, error, reply, timeout


def test_labels_a_bug(aigate_fake: FakeTransport, aigate_gateway: aigate.Gateway) -> None:
    aigate_fake.add(reply("Bug."))
    assert triage(aigate_gateway, "The app crashes when I log in") == "bug"
    sent = aigate_fake.last_request.json
    assert sent["temperature"] == 0 and sent["max_tokens"] == 3
    assert sent["messages"][1]["content"] == "The app crashes when I log in"


def test_answers_by_model(aigate_fake: FakeTransport, aigate_gateway: aigate.Gateway) -> None:
    """Rules match the request: here, by model name."""
    aigate_fake.when("gpt-4o-mini", reply("billing"), repeat=True)
    assert triage(aigate_gateway, "I was charged twice") == "billing"
    assert triage(aigate_gateway, "Refund please") == "billing"


def test_fails_over_to_the_second_provider(
    aigate_fake: FakeTransport, aigate_gateway: aigate.Gateway
) -> None:
    aigate_fake.add(error(503), reply("bug"))
    assert triage(aigate_gateway, "Error 500 on save") == "bug"
    assert [call.model for call in aigate_fake.calls] == ["gpt-4o-mini", "claude-haiku-4-5"]


def test_every_provider_down_is_not_a_crash(
    aigate_fake: FakeTransport, aigate_gateway: aigate.Gateway
) -> None:
    aigate_fake.add(error(429), timeout())
    assert triage(aigate_gateway, "Anything") == "other"


def test_unexpected_answers_are_other(
    aigate_fake: FakeTransport, aigate_gateway: aigate.Gateway
) -> None:
    aigate_fake.add(reply("I think this might be a feature request"))
    assert triage(aigate_gateway, "Add dark mode") == "other"


def test_cost_is_recorded_per_user(
    aigate_fake: FakeTransport, aigate_gateway: aigate.Gateway
) -> None:
    aigate_fake.add(reply("bug"), reply("billing"))
    triage(aigate_gateway, "crash", user="ana")
    triage(aigate_gateway, "invoice", user="bo")
    rows = {r.group["user"]: r for r in aigate_gateway.usage.summary(group_by=["user"])}
    assert set(rows) == {"ana", "bo"}
    assert all(r.cost_nano > 0 for r in rows.values())


@pytest.mark.aigate(routes={"default": ["anthropic/claude-haiku-4-5"]})
def test_marker_changes_the_route(
    aigate_fake: FakeTransport, aigate_gateway: aigate.Gateway
) -> None:
    aigate_fake.add(reply("bug"))
    triage(aigate_gateway, "crash")
    assert aigate_fake.last_request.model == "claude-haiku-4-5"
