"""The typed surface at run time: the parameter TypedDicts of aigate.types against what
create() accepts (aigate/_validate.py, aigate/_gateway.py) and against the installed openai
package's own signatures; the keyed views, usage reports and model browser (sync and async)."""

from __future__ import annotations

import asyncio
import inspect
import typing
from typing import Any

import pytest
import typing_extensions

import aigate
from aigate._resources import AsyncKeyedView, KeyedView
from aigate._validate import CHAT_PARAMS, EMBEDDING_PARAMS, TRANSCRIPTION_PARAMS
from aigate.ledger import LedgerRecord, SummaryRow
from aigate.testing import FakeTransport, reply
from aigate.types import (
    CompletionCreateParamsBase,
    CompletionCreateParamsMaybeStreaming,
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
    EmbeddingCreateParams,
    TranscriptionCreateParams,
)

openai = pytest.importorskip("openai")

HI = [{"role": "user", "content": "Hi"}]
MODEL = "openai/gpt-4o-mini"
#: What every create() takes besides its endpoint's parameters (openai's escape hatches).
EXTRAS = {"extra_headers", "extra_query", "extra_body", "timeout"}
#: aigate's own parameters, which openai's create() does not have.
AIGATE_CHAT = {"cache", "api_key"}
AIGATE_EMBEDDINGS = {"cache", "api_key", "metadata"}  # metadata: ledger tags, never sent
AIGATE_TRANSCRIPTION = {"metadata"}
#: openai transcription parameters aigate does not accept yet (_validate.TRANSCRIPTION_PARAMS).
TRANSCRIPTION_NOT_YET = {"keywords", "known_speaker_names", "known_speaker_references", "languages"}


def keys(typed_dict: Any) -> set[str]:
    return set(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


_REQUIRED = {typing_extensions.Required, getattr(typing, "Required", None)} - {None}


def required(typed_dict: Any) -> set[str]:
    """Keys marked ``Required[...]``, read from the annotations (openai's modules use
    ``from __future__ import annotations``, which leaves ``__required_keys__`` empty)."""
    hints = typing.get_type_hints(typed_dict, include_extras=True)
    return {name for name, hint in hints.items() if typing.get_origin(hint) in _REQUIRED}


def openai_parameters(create: Any) -> set[str]:
    """The keyword names of an openai ``create`` (the implementation's signature, which lists
    the union of its overloads)."""
    return {name for name in inspect.signature(create).parameters if name != "self"}


# -- the parameter types against the runtime -----------------------------------------------


def test_chat_types_declare_exactly_what_create_accepts() -> None:
    """No parameter lost (create accepts it but the types reject it) and none invented."""
    accepted = CHAT_PARAMS | {"model", "messages"} | EXTRAS | AIGATE_CHAT
    assert keys(CompletionCreateParamsBase) == accepted
    for variant in (
        CompletionCreateParamsNonStreaming,
        CompletionCreateParamsStreaming,
        CompletionCreateParamsMaybeStreaming,
    ):
        assert keys(variant) == accepted | {"stream"}
    assert CompletionCreateParamsBase.__required_keys__ == {"model", "messages"}
    assert "stream" in CompletionCreateParamsStreaming.__required_keys__
    assert "stream" in CompletionCreateParamsMaybeStreaming.__required_keys__
    assert "stream" in CompletionCreateParamsNonStreaming.__optional_keys__


def test_embedding_and_transcription_types_declare_what_create_accepts() -> None:
    assert keys(EmbeddingCreateParams) == (
        EMBEDDING_PARAMS | {"model", "input"} | EXTRAS | AIGATE_EMBEDDINGS
    )
    assert EmbeddingCreateParams.__required_keys__ == {"model", "input"}
    assert keys(TranscriptionCreateParams) == (
        TRANSCRIPTION_PARAMS | {"model", "file"} | EXTRAS | AIGATE_TRANSCRIPTION
    )
    assert TranscriptionCreateParams.__required_keys__ == {"model", "file"}


# -- the parameter types against openai's --------------------------------------------------


def test_chat_parameters_are_openais() -> None:
    from openai.resources.chat.completions import Completions
    from openai.types.chat import completion_create_params as params

    theirs = openai_parameters(Completions.create)
    ours = keys(CompletionCreateParamsNonStreaming) - AIGATE_CHAT
    assert ours == theirs, (sorted(ours - theirs), sorted(theirs - ours))
    assert keys(params.CompletionCreateParamsNonStreaming) | EXTRAS == ours
    assert required(params.CompletionCreateParamsBase) == {"model", "messages"}
    assert required(CompletionCreateParamsBase) == required(params.CompletionCreateParamsBase)
    assert required(CompletionCreateParamsStreaming) == required(
        params.CompletionCreateParamsStreaming
    )


def test_embedding_and_transcription_parameters_are_openais() -> None:
    from openai.resources.audio.transcriptions import Transcriptions
    from openai.resources.embeddings import Embeddings

    assert keys(EmbeddingCreateParams) - AIGATE_EMBEDDINGS == openai_parameters(Embeddings.create)
    theirs = openai_parameters(Transcriptions.create) - TRANSCRIPTION_NOT_YET - {"stream"}
    assert keys(TranscriptionCreateParams) - AIGATE_TRANSCRIPTION == theirs


def test_message_and_tool_types_have_openais_fields() -> None:
    """Each message/tool TypedDict has the keys (and required keys) of openai's namesake."""
    import openai.types.chat as theirs

    import aigate.types.chat as ours

    names = [n for n in ours.__all__ if n.startswith("ChatCompletion") and n.endswith("Param")]
    compared = 0
    for name in names:
        mine, other = getattr(ours, name), getattr(theirs, name, None)
        if other is None or not hasattr(mine, "__required_keys__"):
            continue  # a union alias: its members are compared one by one
        assert keys(mine) == keys(other), name
        assert required(mine) == required(other), name
        compared += 1
    assert compared >= 20
    assert required(ours.ChatCompletionToolMessageParam) == {"role", "content", "tool_call_id"}


# -- keyed views ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _pepper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGATE_KEY_PEPPER", "test-pepper-0123456789abcdef")


def _gateway(make_gateway: Any) -> tuple[Any, FakeTransport]:
    fake = FakeTransport(default=reply("ok"))
    harness = make_gateway(
        providers={"openai": {"api_keys": ["sk"]}},
        keys="memory://",
        ledger="memory://",
        transport=fake,
    )
    return harness, fake


def _wait(harness: Any, result: Any) -> Any:
    return asyncio.run(result) if harness.mode == "async" else result


def test_for_key_binds_the_key_without_keeping_it(make_gateway: Any) -> None:
    harness, fake = _gateway(make_gateway)
    gw = harness.gw
    secret, key = gw.keys.create(project="acme")
    view = gw.for_key(secret)
    assert isinstance(view, (KeyedView, AsyncKeyedView))
    assert secret not in repr(view)
    assert secret not in repr(vars(view)) and secret not in repr(vars(view.chat.completions))
    # the view's resources are its own: the gateway's calls stay unkeyed
    assert view.chat.completions is not gw.chat.completions
    assert view.models is gw.models and view.usage is gw.usage
    r = _wait(harness, view.chat.completions.create(model=MODEL, messages=HI))
    e = _wait(
        harness, view.embeddings.create(model="openai/text-embedding-3-small", input="x")
    )
    plain = harness.chat(model=MODEL, messages=HI)
    records = [gw._core.ledger.get(x.gateway.call_id) for x in (r, e, plain)]
    assert [rec.virtual_key for rec in records] == [key.id, key.id, None]
    assert [rec.project for rec in records] == ["acme", "acme", None]
    assert len(fake.calls) == 3


# -- reports and the model browser ---------------------------------------------------------


def test_usage_reports_return_their_declared_types(make_gateway: Any) -> None:
    harness, _ = _gateway(make_gateway)
    r = harness.chat(model=MODEL, messages=HI, user="u-1")
    usage = harness.gw.usage
    rows = _wait(harness, usage.summary(group_by=["user"]))
    assert [type(row) for row in rows] == [SummaryRow] and rows[0].group == {"user": "u-1"}
    total = _wait(harness, usage.totals())
    assert isinstance(total, SummaryRow) and total.requests == 1
    top = _wait(harness, usage.top_spenders("user", 5))  # positional, as the ledger takes them
    assert [row.group for row in top] == [{"user": "u-1"}]
    records = _wait(harness, usage.query(limit=10, newest_first=True))
    assert [type(rec) for rec in records] == [LedgerRecord]
    assert _wait(harness, usage.get(r.gateway.call_id)) == records[0]
    assert _wait(harness, usage.get("no-such-call")) is None


def test_models_search_passes_each_filter(make_gateway: Any) -> None:
    harness, _ = _gateway(make_gateway)
    models = harness.gw.models
    catalog = harness.gw._core.catalog
    found = models.search(provider="openai", capability="vision", max_input_price="0.000005")
    assert found == catalog.search(
        provider="openai", capability="vision", max_input_price="0.000005"
    )
    assert found and all("vision" in m.capabilities for m in found)
    assert models.search(provider="openai", mode="embedding") == catalog.search(
        provider="openai", mode="embedding"
    )
    with pytest.raises(TypeError):
        models.search(capabilty="vision")  # type: ignore[call-arg]
    assert all(isinstance(m, aigate.pricing.ModelInfo) for m in models.list())
