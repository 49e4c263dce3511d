"""Fuzz each provider codec's parsers: OpenAI, Anthropic and Gemini.

``chat_response``, ``embeddings_response``, ``error`` and the stream decoder get random
JSON, bodies that are not JSON, and the real recorded answers in ``tests/fixtures`` with a
few values changed. The property: a valid result or a typed :class:`aigate.AigateError`,
never an untyped exception, never a hang. ``error`` must *return* an ``APIStatusError``
for the status it was given, whatever the body and headers.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import aigate
from aigate._models import ChatCompletion, ChatCompletionChunk, CreateEmbeddingResponse
from aigate._stream import StreamState
from aigate.providers import ChatCall, Target
from aigate.providers._sse import ServerSentEvent, SSEDecoder

from . import FIXTURES, KnownBug, check_typed, fuzz, json_values, load_json, mutated, timed

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
}
PROVIDERS = sorted(MODELS)
CALL = ChatCall(messages=[{"role": "user", "content": "Hi"}], params={"max_tokens": 64})

# Untyped exceptions these tests find go here, each pinned by a strict xfail case of
# test_found_by_fuzzing at the bottom (``open_bug=True``), until fixed (see
# tests/fuzz/__init__.py). Every case there now is a bug found and fixed, kept as a
# regression case.
KNOWN: tuple[KnownBug, ...] = ()


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[str, Target]]:
    gw = aigate.Gateway(providers={name: {"api_keys": ["sk-fuzz"]} for name in MODELS})
    yield {name: Target(gw.providers[name], model) for name, model in MODELS.items()}
    gw.close()


# -- what the tests feed --------------------------------------------------------------------


def _answers(provider: str) -> list[Any]:
    return [load_json(p) for p in sorted((FIXTURES / provider).glob("*.json"))]


def _streams(provider: str) -> list[list[tuple[str, str]]]:
    streams = []
    for path in sorted((FIXTURES / provider).glob("*.sse")):
        decoder = SSEDecoder()
        events = [*decoder.feed(path.read_bytes()), *decoder.flush()]
        streams.append([(e.event, e.data) for e in events])
    return streams


ANSWERS = {p: _answers(p) for p in PROVIDERS}
STREAMS = {p: _streams(p) for p in PROVIDERS}
STREAM_FILES = {p: sorted((FIXTURES / p).glob("*.sse")) for p in PROVIDERS}
assert all(ANSWERS.values()) and all(STREAMS.values()), "provider fixtures are missing"

_HEADER_NAMES = [
    "retry-after",
    "retry-after-ms",
    "x-request-id",
    "request-id",
    "content-type",
    *(
        f"x-ratelimit-{k}-{u}"
        for k in ("limit", "remaining", "reset")
        for u in ("requests", "tokens")
    ),
    *(
        f"anthropic-ratelimit-{u}-{k}"
        for k in ("limit", "remaining", "reset")
        for u in ("requests", "tokens")
    ),
]
_HEADER_VALUES = st.sampled_from(
    [
        *("0", "1", "-1", "1.5", "inf", "-inf", "nan", "1e400", "12ms", "1m30.5s", "27.4s"),
        *("Wed, 21 Oct 2015 07:28:00 GMT", "2024-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
        *("0001-01-01T00:00:00+14:00", "Mon, 99 Foo 0000 99:99:99 GMT", ""),
    ]
) | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
HEADERS = st.dictionaries(st.sampled_from(_HEADER_NAMES), _HEADER_VALUES, max_size=5)
STATUSES = st.sampled_from([400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 500, 503, 529])
STATUSES |= st.integers(300, 599)


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


BODIES = st.one_of(
    json_values().map(_body),
    st.binary(max_size=60),
    json_values().map(_body).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),
)


def parse_all(target: Target, content: bytes, status: int, headers: dict[str, str]) -> None:
    """Every parser of the codec on one body; typed errors pass, anything else fails."""
    codec = target.provider.codec
    for parse in (codec.chat_response, codec.embeddings_response):
        try:
            result = timed(lambda parse=parse: parse(content, target))  # type: ignore[misc]
        except Exception as exc:
            check_typed(exc, KNOWN)
        else:
            assert isinstance(result, (ChatCompletion, CreateEmbeddingResponse))
    response = httpx.Response(status, headers=headers, content=content)
    try:
        err = timed(lambda: codec.error(response, content, target))
    except Exception as exc:
        check_typed(exc, KNOWN, allowed=())  # error() returns its error, it never raises
    else:
        assert isinstance(err, aigate.APIStatusError)
        assert err.status_code == status


def decode_all(target: Target, events: list[tuple[str, str]]) -> None:
    """One stream's events through one decoder (decoders keep state between events)."""
    decoder = target.provider.codec.stream_decoder(CALL, target)
    for name, data in events:
        event = ServerSentEvent(data, name)
        try:
            chunks = timed(lambda event=event: decoder.decode(event))  # type: ignore[misc]
        except Exception as exc:
            check_typed(exc, KNOWN)
            return
        assert all(isinstance(c, ChatCompletionChunk) for c in chunks)


# -- the properties -------------------------------------------------------------------------


@fuzz(300)
@given(st.sampled_from(PROVIDERS), BODIES, STATUSES, HEADERS)
def test_random_bodies(
    targets: dict[str, Target], provider: str, content: bytes, status: int, headers: Any
) -> None:
    parse_all(targets[provider], content, status, headers)


@st.composite
def _mutated_answer(draw: st.DrawFn) -> tuple[str, Any]:
    provider = draw(st.sampled_from(PROVIDERS))
    return provider, draw(mutated(draw(st.sampled_from(ANSWERS[provider]))))


@fuzz(250)
@given(_mutated_answer(), STATUSES, HEADERS)
def test_recorded_answers_with_values_changed(
    targets: dict[str, Target], answer: tuple[str, Any], status: int, headers: Any
) -> None:
    provider, document = answer
    parse_all(targets[provider], _body(document), status, headers)


_EVENT_NAMES = st.sampled_from(
    [
        *("message", "error", "ping", "message_start", "message_delta", "message_stop"),
        *("content_block_start", "content_block_delta", "content_block_stop"),
    ]
) | st.text(max_size=6)
_EVENT_DATA = json_values().map(json.dumps) | st.text(max_size=20) | st.just("[DONE]")


@fuzz(250)
@given(
    st.sampled_from(PROVIDERS),
    st.lists(st.tuples(_EVENT_NAMES, _EVENT_DATA), min_size=1, max_size=6),
)
def test_random_stream_events(
    targets: dict[str, Target], provider: str, events: list[tuple[str, str]]
) -> None:
    decode_all(targets[provider], events)


@st.composite
def _mutated_stream(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    provider = draw(st.sampled_from(PROVIDERS))
    events = list(draw(st.sampled_from(STREAMS[provider])))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(events) - 1))
        name, data = events[i]
        try:
            document = json.loads(data)
        except ValueError:
            document = data
        events[i] = (name, json.dumps(draw(mutated(document))))
    return provider, events


@fuzz(200)
@given(_mutated_stream())
def test_recorded_streams_with_values_changed(
    targets: dict[str, Target], stream: tuple[str, list[tuple[str, str]]]
) -> None:
    provider, events = stream
    decode_all(targets[provider], events)


@st.composite
def _damaged_bytes(draw: st.DrawFn) -> tuple[str, Path, list[bytes]]:
    """A recorded stream's bytes, cut short or with bytes changed, in random pieces."""
    provider = draw(st.sampled_from(PROVIDERS))
    path = draw(st.sampled_from(STREAM_FILES[provider]))
    data = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data) - 1))
        change = draw(st.integers(0, 2))
        if change == 0:
            data[at] = draw(st.sampled_from(b'{}[]":,\n\r 0a\xff'))
        elif change == 1:
            del data[at : at + draw(st.integers(1, 8))]
        else:
            data[at:at] = draw(st.sampled_from([b"\n\n", b"data: ", b"event: error\n", b"\x00"]))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=8)))
    bounds = [0, *cuts, len(data)]
    pieces = [bytes(data[a:b]) for a, b in itertools.pairwise(bounds) if b > a]
    return provider, path, pieces


@fuzz(200)
@given(_damaged_bytes())
def test_damaged_stream_bytes(
    targets: dict[str, Target], damaged: tuple[str, Path, list[bytes]]
) -> None:
    """The whole streaming path the drivers use: SSE, decoder, accumulator."""
    provider, _, pieces = damaged
    target = targets[provider]
    state = StreamState(target.provider.codec.stream_decoder(CALL, target), keep=True)
    try:
        for piece in pieces:
            timed(lambda piece=piece: state.feed(piece))  # type: ignore[misc]
        state.end()
    except Exception as exc:
        check_typed(exc, KNOWN)
    # whatever arrived, the partial answer is always available (StreamInterrupted needs it)
    assert isinstance(state.acc.completion(), ChatCompletion)


def test_the_recorded_streams_and_answers_parse_cleanly(targets: dict[str, Target]) -> None:
    """The unmutated fixtures are the baseline the mutations start from: no error at all
    from the streams; answers either parse or are the error bodies they are named for."""
    for provider in PROVIDERS:
        target = targets[provider]
        for path in STREAM_FILES[provider]:
            if "error" in path.name:
                continue
            state = StreamState(target.provider.codec.stream_decoder(CALL, target))
            state.feed(path.read_bytes())
            state.end()
            assert state.complete, path
        for path in sorted((FIXTURES / provider).glob("*.json")):
            if path.name.startswith("error"):
                continue
            parse = (
                target.provider.codec.embeddings_response
                if "embedding" in path.name
                else target.provider.codec.chat_response
            )
            parse(path.read_bytes(), target)


# -- bodies that made a parser raise untyped before the fix (now regression cases) ------


def _case(
    name: str,
    provider: str,
    where: str,
    payload: Any,
    reason: str,
    open_bug: bool = False,
    **extra: Any,
) -> Any:
    """A body the fuzzing found making a parser raise untyped (``reason`` says where);
    ``open_bug``: not fixed yet, so a strict xfail."""
    marks: tuple[Any, ...] = ()
    if open_bug:
        marks = (
            pytest.mark.xfail(
                strict=True,
                raises=(TypeError, AttributeError, ValueError, OverflowError),
                reason=reason,
            ),
        )
    return pytest.param(provider, where, payload, extra, id=name, marks=marks)


_ANT = "providers/anthropic.py: no type check on a provider field"
_GEM = "providers/gemini.py: no type check on a provider field"
FOUND = [
    _case(
        "openai-finish-reason-list",
        "openai",
        "chat_response",
        {"choices": [{"finish_reason": []}]},
        "providers/openai.py _fix_finish_reasons: `reason not in _FINISH_REASONS` on a list "
        "raises TypeError (unhashable)",
    ),
    _case(
        "openai-stream-finish-reason-list",
        "openai",
        "decode",
        {"choices": [{"finish_reason": []}]},
        "providers/openai.py _fix_finish_reasons (stream): TypeError (unhashable)",
    ),
    _case(
        "openai-stream-choices-not-a-list",
        "openai",
        "decode",
        {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": 5},
        "providers/openai.py OpenAIStreamDecoder.decode/decode_data are not behind "
        "guard_parse: after the chunk fails validation, _fix_finish_reasons iterates "
        "`choices: 5` and raises TypeError",
    ),
    _case(
        "openai-stream-groq-usage",
        "openai",
        "decode",
        {
            "id": "x",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [],
            "x_groq": {"usage": {"prompt_tokens": "many"}},
        },
        "providers/openai.py OpenAIStreamDecoder.decode: Usage.model_validate(x_groq.usage) "
        "lets pydantic.ValidationError out",
    ),
    _case("anthropic-content-int", "anthropic", "chat_response", {"content": 5}, _ANT),
    _case(
        "anthropic-message-start-list",
        "anthropic",
        "decode",
        {"type": "message_start", "message": [1]},
        _ANT + " (decode: message.get on a list)",
    ),
    _case(
        "anthropic-message-start-usage-list",
        "anthropic",
        "decode",
        {"type": "message_start", "message": {"usage": [[1]]}},
        _ANT + " (decode: dict(usage) on a list)",
    ),
    _case(
        "anthropic-message-start-model-int",
        "anthropic",
        "decode",
        {"type": "message_start", "message": {"model": 5}},
        _ANT + " (chunk(): pydantic.ValidationError for model=5 escapes)",
    ),
    _case(
        "anthropic-block-start-index-str",
        "anthropic",
        "decode",
        {"type": "content_block_start", "index": "x", "content_block": {"type": "text"}},
        _ANT + " (_start_block: int(index))",
    ),
    _case(
        "anthropic-block-start-list",
        "anthropic",
        "decode",
        {"type": "content_block_start", "index": 0, "content_block": [1]},
        _ANT + " (_start_block: content_block.get on a list)",
    ),
    _case(
        "anthropic-block-delta-index-str",
        "anthropic",
        "decode",
        {"type": "content_block_delta", "index": "x", "delta": {"type": "text_delta"}},
        _ANT + " (_delta: int(index))",
    ),
    _case(
        "anthropic-block-delta-list",
        "anthropic",
        "decode",
        {"type": "content_block_delta", "index": 0, "delta": [1]},
        _ANT + " (_delta: delta.get on a list)",
    ),
    _case(
        "anthropic-block-stop-index-object",
        "anthropic",
        "decode",
        {"type": "content_block_stop", "index": {}},
        _ANT + " (_stop_block: int(index))",
    ),
    _case(
        "anthropic-message-delta-list",
        "anthropic",
        "decode",
        {"type": "message_delta", "delta": [1]},
        _ANT + " (_message_delta: delta.get on a list)",
    ),
    _case(
        "anthropic-stop-reason-object",
        "anthropic",
        "decode",
        {"type": "message_delta", "delta": {"stop_reason": {}}},
        _ANT + " (_message_delta: _STOP_REASONS.get(unhashable))",
    ),
    _case("gemini-candidate-int", "gemini", "chat_response", {"candidates": [1]}, _GEM),
    _case(
        "gemini-candidate-index-str",
        "gemini",
        "chat_response",
        {"candidates": [{"index": "x"}]},
        _GEM + " (chat_response: int(index))",
    ),
    _case(
        "gemini-finish-reason-list",
        "gemini",
        "chat_response",
        {"candidates": [{"finishReason": []}]},
        _GEM + " (_finish: unhashable finishReason)",
    ),
    _case(
        "gemini-content-list",
        "gemini",
        "chat_response",
        {"candidates": [{"content": [1]}]},
        _GEM + " (_candidate_delta: content.get on a list)",
    ),
    _case(
        "gemini-stream-candidate-int",
        "gemini",
        "decode",
        {"candidates": [1]},
        _GEM + " (decode: candidate.get on an int)",
    ),
    _case(
        "gemini-stream-model-version-int",
        "gemini",
        "decode",
        {"modelVersion": 5, "candidates": [{"content": {"parts": [{"text": "a"}]}}]},
        _GEM + " (anthropic.chunk(): pydantic.ValidationError for model=5 escapes)",
    ),
    _case(
        "gemini-embeddings-int",
        "gemini",
        "embeddings_response",
        {"embeddings": 5},
        _GEM + " (embeddings_response: iterating an int)",
    ),
    _case(
        "gemini-embeddings-token-count-list",
        "gemini",
        "embeddings_response",
        {"embeddings": [], "usageMetadata": {"promptTokenCount": [1]}},
        _GEM + " (embeddings_response: int(promptTokenCount))",
    ),
    _case(
        "gemini-error-reason-list",
        "gemini",
        "error",
        {"error": {"code": 400, "details": [{"reason": [1]}]}},
        _GEM + " (error: a set of unhashable reasons)",
    ),
    _case(
        "ratelimit-header-inf",
        "openai",
        "error",
        {"error": {"message": "slow down"}},
        "providers/_errors.py _int: int(float('inf')) raises OverflowError for an "
        "x-ratelimit-limit-requests header of 'inf' or '1e400' (catch OverflowError too); "
        "through a Gateway the same header on a 200 answer escapes from GatewayCore.info",
        headers={"x-ratelimit-limit-requests": "inf"},
    ),
]


@pytest.mark.parametrize(("provider", "where", "payload", "extra"), FOUND)
def test_found_by_fuzzing(
    targets: dict[str, Target], provider: str, where: str, payload: Any, extra: Any
) -> None:
    target = targets[provider]
    codec = target.provider.codec
    content = _body(payload)
    with contextlib.suppress(aigate.AigateError):  # a typed error is the fixed behaviour
        if where == "decode":
            codec.stream_decoder(CALL, target).decode(ServerSentEvent(content.decode()))
        elif where == "error":
            response = httpx.Response(429, headers=extra.get("headers"), content=content)
            assert isinstance(codec.error(response, content, target), aigate.APIStatusError)
        else:
            getattr(codec, where)(content, target)
