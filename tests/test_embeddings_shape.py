"""A provider that answers an embeddings call with fewer (or mis-indexed) vectors than
inputs is an APIResponseValidationError, recorded in the ledger: with the cache and without
(issue 13.13: the short answer reached the caller; with the cache a raw pydantic
ValidationError escaped).

The body is OpenAI's documented embeddings response (API reference, "Create embeddings":
``{"object": "list", "data": [{"object": "embedding", "embedding": [...], "index": 0}],
"model": ..., "usage": {"prompt_tokens": 8, "total_tokens": 8}}``), cut short.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import aigate

MODEL = "openai/text-embedding-3-small"
INPUTS = ["one", "two", "three"]


def _body(indices: list[int]) -> bytes:
    return json.dumps(
        {
            "object": "list",
            "data": [{"object": "embedding", "embedding": [0.1, 0.2], "index": i} for i in indices],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        }
    ).encode()


def _gateway(make_gateway: Any, indices: list[int], cache: Any) -> tuple[Any, list[Any]]:
    sent: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(
            200, content=_body(indices), headers={"content-type": "application/json"}
        )

    gw = make_gateway(
        providers={"openai": {"api_keys": ["sk-embed"]}},
        transport=httpx.MockTransport(answer),
        ledger="memory://",
        cache=cache,
    )
    return gw, sent


def _ledger_errors(gw: Any) -> list[Any]:
    rows = list(gw.gw._core.ledger.query())
    return [r for r in rows if r.status != "ok"]


def _expect_invalid(gw: Any, sent: list[Any]) -> aigate.APIResponseValidationError:
    with pytest.raises(aigate.AigateError) as info:
        gw.embeddings(model=MODEL, input=INPUTS)
    exc = info.value
    if isinstance(exc, aigate.AllTargetsFailed):
        exc = exc.last_error  # type: ignore[assignment]
    assert isinstance(exc, aigate.APIResponseValidationError), repr(exc)
    assert sent, "the provider was called"
    assert _ledger_errors(gw), "the failed call is recorded"
    return exc


def test_short_answer_with_cache(make_gateway: Any) -> None:
    gw, sent = _gateway(make_gateway, [0], "memory://")
    exc = _expect_invalid(gw, sent)
    assert "1 embedding vector(s) for 3 input(s)" in str(exc)
    # nothing half-stored: a second call goes upstream again
    with pytest.raises(aigate.AigateError):
        gw.embeddings(model=MODEL, input=INPUTS)
    assert len(sent) == 2


def test_short_answer_without_cache(make_gateway: Any) -> None:
    gw, sent = _gateway(make_gateway, [0], None)
    _expect_invalid(gw, sent)


@pytest.mark.parametrize("cache", [None, "memory://"])
def test_indices_not_0_to_n(make_gateway: Any, cache: Any) -> None:
    gw, sent = _gateway(make_gateway, [0, 0, 2], cache)
    exc = _expect_invalid(gw, sent)
    assert "indices" in str(exc)


def test_full_answer_is_fine(make_gateway: Any) -> None:
    gw, _ = _gateway(make_gateway, [2, 0, 1], "memory://")
    r = gw.embeddings(model=MODEL, input=INPUTS)
    assert [d.index for d in r.data] == [0, 1, 2]


def test_embeddings_count() -> None:
    from aigate._validate import embeddings_count

    assert embeddings_count("a") == 1
    assert embeddings_count(["a", "b"]) == 2
    assert embeddings_count([1, 2, 3]) == 1  # one token list
    assert embeddings_count([[1], [2]]) == 2
