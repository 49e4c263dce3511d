"""A provider answer in another provider's shape is an error, never an empty $0 success (14.15).

An OpenAI-shaped 200 body on Anthropic's ``/v1/messages`` (or Gemini's ``generateContent``)
used to come back as a success with content '', 0 tokens and cost 0, and the ledger said
"ok". Each codec now checks the minimal shape of its own format and raises
:class:`aigate.APIResponseValidationError` (naming the provider and what is missing), and the
gateway records the call as an error. Valid-but-empty answers stay valid: an Anthropic
message with no content blocks, a Gemini prompt blocked before any candidate.

Every test runs with Gateway and AsyncGateway (``make_gateway`` / ``mode`` in
tests/conftest.py), with a memory ledger.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import aigate

HI = [{"role": "user", "content": "Hi"}]
PROVIDERS = {
    "openai": {"api_keys": ["sk-test"]},
    "anthropic": {"api_keys": ["sk-ant-test"]},
    "gemini": {"api_keys": ["gm-test"]},
}
ANTHROPIC = "anthropic/claude-sonnet-4-5"
GEMINI = "gemini/gemini-2.5-flash"
OPENAI = "openai/gpt-4o-mini"

OPENAI_CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello!"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
}
OPENAI_EMBEDDINGS = {
    "object": "list",
    "model": "text-embedding-3-small",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
    "usage": {"prompt_tokens": 2, "total_tokens": 2},
}
ANTHROPIC_MESSAGE = {
    "id": "msg_012899dyMDyCX4FgMNNbao8k",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 30},
}
GEMINI_EMBEDDINGS = {"embeddings": [{"values": [0.1, 0.2]}]}


def gateway(make_gateway: Any, body: Any, status: int = 200) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return make_gateway(
        providers=PROVIDERS,
        ledger="memory://",
        transport=httpx.MockTransport(handler),
    )


def records(gw: Any) -> list[Any]:
    return list(gw.gw._core.ledger.query())


def refused(gw: Any, call: Any, *needles: str) -> None:
    """The call raises APIResponseValidationError whose message has every needle, and its
    one ledger row is an error with no cost and no tokens."""
    with pytest.raises(aigate.APIResponseValidationError) as caught:
        call()
    message = str(caught.value)
    for needle in needles:
        assert needle in message, message
    (rec,) = records(gw)
    assert rec.status == "error", rec
    assert rec.error_type == "APIResponseValidationError"
    assert not rec.cost_nano
    assert not rec.prompt_tokens and not rec.completion_tokens


# -- Anthropic ------------------------------------------------------------------------------


class TestAnthropic:
    def test_openai_shaped_chat_body_is_an_error(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, OPENAI_CHAT)
        refused(
            gw,
            lambda: gw.chat(model=ANTHROPIC, messages=HI),
            "anthropic",
            "not a Messages response",
            "'content'",
        )

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"id": "x", "content": "Hello!", "stop_reason": "end_turn"},  # a string, not blocks
            {**ANTHROPIC_MESSAGE, "type": "completion"},  # the legacy Text Completions shape
            {"type": "error", "error": {"type": "api_error", "message": "boom"}},
        ],
        ids=["empty-object", "content-string", "other-type", "error-body-with-200"],
    )
    def test_other_bodies_that_are_not_messages(self, make_gateway: Any, body: Any) -> None:
        gw = gateway(make_gateway, body)
        refused(gw, lambda: gw.chat(model=ANTHROPIC, messages=HI), "anthropic")

    def test_a_real_message_is_still_read(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, ANTHROPIC_MESSAGE)
        r = gw.chat(model=ANTHROPIC, messages=HI)
        assert r.choices[0].message.content == "Hello!"
        assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (10, 30)
        (rec,) = records(gw)
        assert rec.status == "ok"

    def test_an_empty_content_list_is_a_valid_answer(self, make_gateway: Any) -> None:
        # Claude may answer nothing (e.g. after a tool result it has nothing to add)
        body = {
            **ANTHROPIC_MESSAGE,
            "content": [],
            "usage": {"input_tokens": 5, "output_tokens": 1},
        }
        gw = gateway(make_gateway, body)
        r = gw.chat(model=ANTHROPIC, messages=HI)
        assert r.choices[0].message.content == ""
        assert r.choices[0].finish_reason == "stop"
        (rec,) = records(gw)
        assert rec.status == "ok"


# -- Gemini ---------------------------------------------------------------------------------


class TestGemini:
    def test_openai_shaped_chat_body_is_an_error(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, OPENAI_CHAT)
        refused(
            gw,
            lambda: gw.chat(model=GEMINI, messages=HI),
            "gemini",
            "not a GenerateContentResponse",
            "'candidates'",
        )

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"candidates": []},
            {"candidates": {"content": {"parts": [{"text": "x"}]}}},  # an object, not a list
            {"usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}},
            ANTHROPIC_MESSAGE,
        ],
        ids=["empty-object", "empty-candidates", "candidates-object", "usage-only", "anthropic"],
    )
    def test_other_bodies_without_candidates(self, make_gateway: Any, body: Any) -> None:
        gw = gateway(make_gateway, body)
        refused(gw, lambda: gw.chat(model=GEMINI, messages=HI), "gemini")

    def test_a_blocked_prompt_without_candidates_is_content_filter(self, make_gateway: Any) -> None:
        body = {
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
        }
        gw = gateway(make_gateway, body)
        r = gw.chat(model=GEMINI, messages=HI)
        assert [c.finish_reason for c in r.choices] == ["content_filter"]
        (rec,) = records(gw)
        assert rec.status == "ok"

    def test_openai_shaped_embeddings_body_is_an_error(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, OPENAI_EMBEDDINGS)
        refused(
            gw,
            lambda: gw.embeddings(model="gemini/gemini-embedding-001", input="hi"),
            "gemini",
            "'embeddings'",
        )

    def test_real_embeddings_are_still_read(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, GEMINI_EMBEDDINGS)
        r = gw.embeddings(model="gemini/gemini-embedding-001", input="hi")
        assert [d.embedding for d in r.data] == [[0.1, 0.2]]
        (rec,) = records(gw)
        assert rec.status == "ok"


# -- OpenAI: the reverse mistake was already refused; keep it so ------------------------------


class TestOpenAI:
    @pytest.mark.parametrize("body", [ANTHROPIC_MESSAGE, {"candidates": []}, {}])
    def test_a_foreign_chat_body_is_an_error(self, make_gateway: Any, body: Any) -> None:
        gw = gateway(make_gateway, body)
        refused(gw, lambda: gw.chat(model=OPENAI, messages=HI), "openai")

    def test_a_foreign_embeddings_body_is_an_error(self, make_gateway: Any) -> None:
        gw = gateway(make_gateway, GEMINI_EMBEDDINGS)
        refused(
            gw, lambda: gw.embeddings(model="openai/text-embedding-3-small", input="hi"), "openai"
        )
