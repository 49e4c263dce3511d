"""Fuzz request validation through a real Gateway on ``aigate.testing.FakeTransport``.

Random ``model``, ``messages``, parameters, extras, ``stream``, embeddings ``input`` and
transcription ``file`` values, mostly close to valid so each example tests one bad thing.
The property: a result or a typed :class:`aigate.AigateError`; and when the arguments are
refused (``InvalidRequestError``, or any untyped error) no HTTP request was sent.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from pydantic import BaseModel

import aigate
from aigate.testing import FakeTransport, reply

from . import FIXTURES, KnownBug, check_typed, fuzz, json_values

KEYS = {"api_keys": ["sk-fuzz-requests"]}
CHAT_MODELS = [
    "openai/gpt-4o-mini",
    "anthropic/claude-sonnet-4-5",
    "gemini/gemini-2.5-flash",
    "fast",
]
ANTHROPIC = "https://api.anthropic.com"
GEMINI = "https://generativelanguage.googleapis.com"

# Untyped exceptions these tests find go here, each pinned by a strict xfail test at the
# bottom, until fixed (see tests/fuzz/__init__.py). The ones found so far are fixed: their
# calls are the regression cases of test_found_by_fuzzing.
KNOWN: tuple[KnownBug, ...] = ()


# -- the gateway under test -----------------------------------------------------------------


@dataclass
class Provider:
    """The provider side: every request any provider received."""

    fake: FakeTransport
    others: list[httpx.Request] = field(default_factory=list)

    def sent(self) -> int:
        return len(self.fake.calls) + len(self.others)

    def reset(self) -> None:
        self.fake.calls.clear()
        self.others.clear()

    def answer(self, request: httpx.Request) -> httpx.Response:
        """Anthropic and Gemini hosts answer with their recorded fixtures."""
        self.others.append(request)
        url = str(request.url)
        stream = b'"stream":true' in request.content or "stream" in url
        if url.startswith(ANTHROPIC):
            name = "anthropic/stream_basic.sse" if stream else "anthropic/message.json"
        elif "batchEmbedContents" in url:
            # the recorded answer, one vector per input (as Gemini answers a batch)
            recorded = json.loads((FIXTURES / "gemini/embeddings.json").read_bytes())
            wanted = len(json.loads(request.content)["requests"])
            vectors = recorded["embeddings"] * (wanted // len(recorded["embeddings"]) + 1)
            recorded["embeddings"] = vectors[:wanted]
            return httpx.Response(200, json=recorded)
        else:
            name = "gemini/stream_cookbook.sse" if stream else "gemini/generate_content.json"
        kind = "text/event-stream" if name.endswith(".sse") else "application/json"
        return httpx.Response(
            200, content=(FIXTURES / name).read_bytes(), headers={"content-type": kind}
        )


def _config() -> dict[str, Any]:
    return {
        "providers": {"openai": KEYS, "anthropic": KEYS, "gemini": KEYS},
        "routes": {"fast": ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"]},
    }


@pytest.fixture(scope="module")
def provider() -> Provider:
    return Provider(FakeTransport(default=reply("Hello from the fuzzed fake.")))


@pytest.fixture(scope="module")
def gateway(provider: Provider) -> Iterator[aigate.Gateway]:
    mock = httpx.MockTransport(provider.answer)
    client = httpx.Client(transport=provider.fake, mounts={ANTHROPIC: mock, GEMINI: mock})
    gw = aigate.Gateway(_config(), http_client=client)
    yield gw
    gw.close()
    client.close()


@pytest.fixture(scope="module")
def tmp_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-requests") / "hello.mp3"
    path.write_bytes(b"ID3\x03\x00fake mp3")
    return path


def outcome(provider: Provider, call: Callable[[], Any], refuse: bool = False) -> None:
    """Run one call; check the property. ``refuse``: the arguments are surely invalid."""
    provider.reset()
    try:
        result = call()
        if result is not None and not isinstance(result, BaseModel):  # a stream: read it all
            with result:
                for _ in result:
                    pass
    except aigate.InvalidRequestError:
        event("InvalidRequestError")
        refuse = False
        assert provider.sent() == 0, "the request was refused after it was sent"
    except aigate.AigateError as exc:
        event(type(exc).__name__)
    except Exception as exc:
        check_typed(exc, KNOWN)
        assert provider.sent() == 0, "a bad argument failed after the request was sent"
        refuse = False
    else:
        event("ok")
    assert not refuse, "invalid arguments were not refused with InvalidRequestError"


# -- strategies: mostly valid, one thing wrong ----------------------------------------------


class _Opaque:
    """Neither JSON nor a file: what a caller's bug might pass."""

    def __repr__(self) -> str:
        return "<opaque>"


JUNK = st.one_of(
    json_values(6),
    st.binary(max_size=6),
    st.sets(st.integers(0, 3), max_size=2),
    st.tuples(st.text(max_size=3), st.integers()),
    st.builds(_Opaque),
    st.sampled_from([float("nan"), float("inf"), -1, 0, 2**63, True, "", None]),
)
TEXT = st.text(max_size=12)
ROLES = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"])
IMAGE_URLS = st.sampled_from(
    [
        "https://example.com/cat.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "data:image/png,notbase64",
        "data:;base64,",
        "ftp://example.com/x.png",
        "",
    ]
)
PARTS = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": TEXT | JUNK}),
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": st.fixed_dictionaries({"url": IMAGE_URLS | JUNK}) | JUNK,
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("input_audio"),
            "input_audio": st.fixed_dictionaries(
                {"data": st.just("UklGRg=="), "format": st.sampled_from(["wav", "mp3", "x"])}
            )
            | JUNK,
        }
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["file", "refusal", "video", ""])}),
    JUNK,
)
TOOL_CALLS = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.sampled_from(["call_1", "toolu_01", "call 2!"]) | JUNK,
            "type": st.just("function"),
            "function": st.fixed_dictionaries(
                {"name": st.sampled_from(["get_weather", ""]) | JUNK},
                optional={"arguments": st.sampled_from(['{"city":"Paris"}', "{", ""]) | JUNK},
            )
            | JUNK,
        }
    ),
    max_size=2,
)
MESSAGE = st.fixed_dictionaries(
    {"role": ROLES | JUNK},
    optional={
        "content": TEXT | st.lists(PARTS, max_size=3) | st.none() | JUNK,
        "tool_call_id": st.just("call_1") | JUNK,
        "tool_calls": TOOL_CALLS | JUNK,
        "name": TEXT | JUNK,
    },
)
GOOD_MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant"]), "content": TEXT}
) | st.fixed_dictionaries(
    {
        "role": st.just("user"),
        "content": st.lists(
            st.fixed_dictionaries({"type": st.just("text"), "text": TEXT})
            | st.fixed_dictionaries(
                {
                    "type": st.just("image_url"),
                    "image_url": st.fixed_dictionaries({"url": IMAGE_URLS}),
                }
            ),
            min_size=1,
            max_size=2,
        ),
    }
)
TOOLS = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.just("function"),
            "function": st.fixed_dictionaries(
                {"name": st.sampled_from(["get_weather", "x y"]) | JUNK},
                optional={
                    "description": TEXT,
                    "parameters": st.just({"type": "object", "properties": {}}) | JUNK,
                },
            ),
        }
    )
    | JUNK,
    max_size=2,
)
_INTS = st.integers(-2, 5000)
_FLOATS = st.floats(-3, 3) | st.sampled_from([float("nan"), float("inf")])
_HEADERS = st.dictionaries(
    st.sampled_from(["x-trace", "anthropic-beta", "é-header", "bad header"]),
    TEXT | JUNK,
    max_size=2,
)
# Plausible values of every parameter (some out of range: those are refused, typed).
PARAMS = {
    **dict.fromkeys(("max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs"), _INTS),
    **dict.fromkeys(("temperature", "top_p", "presence_penalty", "frequency_penalty"), _FLOATS),
    "stop": TEXT | st.lists(TEXT, max_size=3),
    "tools": TOOLS,
    "tool_choice": st.sampled_from(
        ["auto", "none", "required", {"type": "function", "function": {"name": "get_weather"}}]
    ),
    "response_format": st.sampled_from(
        [
            {"type": "json_object"},
            {"type": "text"},
            {"type": "json_schema"},
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
        ]
    ),
    "metadata": st.dictionaries(TEXT, TEXT, max_size=2),
    "user": TEXT,
    "reasoning_effort": st.sampled_from(["low", "medium", "high", "minimal"]),
    "logprobs": st.booleans(),
    "parallel_tool_calls": st.booleans(),
    "stream_options": st.just({"include_usage": True}),
    "logit_bias": st.dictionaries(st.sampled_from(["50256", "x"]), _INTS, max_size=2),
    "extra_headers": _HEADERS,
    "extra_query": st.dictionaries(TEXT, TEXT, max_size=2),
    "extra_body": st.dictionaries(st.sampled_from(["top_k", "stream", "model"]), JUNK),
    "timeout": st.sampled_from([0.5, 30, 0, -1, httpx.Timeout(5.0)]),
    "cache": st.booleans(),
}
UNKNOWN_MODELS = st.sampled_from(["nope/x", "openai/", "openai", "/gpt-4o", "fast/x", ""])
BAD_MODELS = JUNK | UNKNOWN_MODELS
ChatArgs = tuple[Any, Any, dict[str, Any], Any, bool]


@st.composite
def chat_args(draw: st.DrawFn) -> ChatArgs:
    """A call that is valid but for zero to two things: the model, the message list, one
    message, one parameter, ``stream``; and whether it is surely invalid (an unknown model
    or parameter, no messages), which the gateway must then refuse."""
    model: Any = draw(st.sampled_from(CHAT_MODELS))
    messages: Any = draw(st.lists(GOOD_MESSAGE, min_size=1, max_size=3))
    params = draw(st.fixed_dictionaries({}, optional=PARAMS))
    stream: Any = draw(st.booleans())
    refuse = False
    for _ in range(draw(st.integers(0, 2))):
        what = draw(st.sampled_from(["model", "messages", "message", "param", "param", "stream"]))
        if what == "model":
            model = draw(BAD_MODELS)
            refuse |= isinstance(model, str)
        elif what == "messages":
            messages = draw(st.one_of(st.just([]), st.text(max_size=5), JUNK))
            refuse |= messages == [] or isinstance(messages, str)
        elif what == "message" and isinstance(messages, list):
            messages[draw(st.integers(0, len(messages) - 1))] = draw(MESSAGE)
        elif what == "param":
            name = draw(st.sampled_from([*PARAMS, "not_a_parameter"]))
            params[name] = draw(JUNK)
            refuse |= name == "not_a_parameter" and params[name] is not None
        elif what == "stream":
            stream = draw(st.just(None) | JUNK)
    return model, messages, params, stream, refuse


# -- the properties -------------------------------------------------------------------------


@fuzz(250)
@given(chat_args())
def test_chat(gateway: aigate.Gateway, provider: Provider, args: ChatArgs) -> None:
    model, messages, params, stream, refuse = args
    outcome(
        provider,
        lambda: gateway.chat.completions.create(
            model=model, messages=messages, stream=stream, **params
        ),
        refuse,
    )


EMBEDDING_MODELS = ["openai/text-embedding-3-small", "gemini/text-embedding-004"]
EMBEDDING_PARAMS = {
    "dimensions": _INTS,
    "encoding_format": st.sampled_from(["float", "base64"]),
    "user": TEXT,
    "extra_headers": _HEADERS,
    "extra_body": st.dictionaries(TEXT, TEXT, max_size=2),
    "timeout": st.sampled_from([1.0, -1]),
}


@st.composite
def embedding_args(draw: st.DrawFn) -> tuple[Any, Any, dict[str, Any]]:
    model: Any = draw(st.sampled_from(EMBEDDING_MODELS))
    input: Any = draw(
        TEXT
        | st.lists(TEXT, min_size=1, max_size=3)
        | st.lists(_INTS, min_size=1, max_size=3)
        | st.lists(st.lists(_INTS, min_size=1, max_size=3), min_size=1, max_size=2)
    )
    params = draw(st.fixed_dictionaries({}, optional=EMBEDDING_PARAMS))
    for _ in range(draw(st.integers(0, 2))):
        what = draw(st.sampled_from(["model", "input", "param"]))
        if what == "model":
            model = draw(BAD_MODELS | st.just("anthropic/claude-sonnet-4-5"))
        elif what == "input":
            input = draw(JUNK | st.just([]) | st.lists(JUNK, min_size=1, max_size=2))
        else:
            params[draw(st.sampled_from([*EMBEDDING_PARAMS, "bogus"]))] = draw(JUNK)
    return model, input, params


@fuzz(150)
@given(embedding_args())
def test_embeddings(
    gateway: aigate.Gateway, provider: Provider, args: tuple[Any, Any, dict[str, Any]]
) -> None:
    model, input, params = args
    outcome(provider, lambda: gateway.embeddings.create(model=model, input=input, **params))


class _Reader:
    """A file-like object whose ``read`` returns whatever it was given."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.name = "reader.mp3"

    def read(self, *args: Any) -> Any:
        return self.value


def _files(tmp_audio: Path) -> st.SearchStrategy[Any]:
    """Good files first (bytes, binary file objects, a path), then what is not a file."""
    audio = st.binary(min_size=1, max_size=8)
    good = st.one_of(
        audio,
        audio.map(io.BytesIO),
        st.just(tmp_audio),
        st.tuples(st.just("a.mp3"), audio),
        st.tuples(st.just("a.mp3"), audio, st.just("audio/mpeg")),
    )
    bad = st.one_of(
        audio.map(bytearray),
        st.builds(io.StringIO, TEXT),
        st.builds(_Reader, audio | JUNK),
        st.just(tmp_audio.with_name("missing.mp3")),
        st.just(str(tmp_audio)),
        st.tuples(TEXT | JUNK, audio | audio.map(io.BytesIO) | st.builds(_Reader, JUNK) | JUNK),
        st.tuples(TEXT, audio, st.sampled_from(["audio/mpeg", ""]) | JUNK),
        st.tuples(TEXT),
        JUNK,
    )
    return good | good | bad


TRANSCRIPTION_PARAMS = {
    "language": st.sampled_from(["en", "fr"]),
    "prompt": TEXT,
    "response_format": st.sampled_from(["json", "text", "verbose_json"]),
    "temperature": _FLOATS,
    "timestamp_granularities": st.lists(st.sampled_from(["word", "segment"])),
}


@st.composite
def transcription_args(draw: st.DrawFn, tmp_audio: Path) -> tuple[str, Any, dict[str, Any]]:
    model = draw(
        st.sampled_from(["openai/whisper-1", "openai/whisper-1", "gemini/x", "anthropic/x"])
    )
    file = draw(_files(tmp_audio))
    params = draw(st.fixed_dictionaries({}, optional=TRANSCRIPTION_PARAMS))
    if draw(st.booleans()):
        name = draw(st.sampled_from([*TRANSCRIPTION_PARAMS, "stream", "extra_body", "bogus"]))
        params[name] = draw(JUNK)
    return model, file, params


@fuzz(150)
@given(st.data())
def test_transcriptions(
    gateway: aigate.Gateway, provider: Provider, tmp_audio: Path, data: st.DataObject
) -> None:
    model, file, params = data.draw(transcription_args(tmp_audio))
    outcome(provider, lambda: gateway.audio.transcriptions.create(model=model, file=file, **params))


@pytest.fixture(scope="module")
def async_gateway(
    provider: Provider,
) -> Iterator[tuple[asyncio.AbstractEventLoop, aigate.AsyncGateway]]:
    """One event loop and one AsyncGateway for every example."""
    loop = asyncio.new_event_loop()
    mock = httpx.MockTransport(provider.answer)
    client = httpx.AsyncClient(transport=provider.fake, mounts={ANTHROPIC: mock, GEMINI: mock})
    agw = aigate.AsyncGateway(_config(), http_client=client)
    yield loop, agw
    loop.run_until_complete(agw.aclose())
    loop.run_until_complete(client.aclose())
    loop.close()


@fuzz(100)
@given(chat_args())
def test_chat_async(
    async_gateway: tuple[asyncio.AbstractEventLoop, aigate.AsyncGateway],
    provider: Provider,
    args: ChatArgs,
) -> None:
    loop, agw = async_gateway
    model, messages, params, stream, refuse = args

    async def call() -> None:
        result: Any = await agw.chat.completions.create(
            model=model, messages=messages, stream=stream, **params
        )
        if not isinstance(result, BaseModel):  # a stream: read it all
            async with result:
                async for _ in result:
                    pass

    outcome(provider, lambda: loop.run_until_complete(call()), refuse)


def test_valid_calls_succeed(gateway: aigate.Gateway, provider: Provider, tmp_audio: Path) -> None:
    """The fuzzing starts from calls that work, on every provider."""
    for model in CHAT_MODELS:
        r = gateway.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=10
        )
        assert r.choices
        with gateway.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Hi"}], stream=True
        ) as stream:
            assert list(stream)
    assert gateway.embeddings.create(model="openai/text-embedding-3-small", input="x").data
    assert gateway.embeddings.create(model="gemini/text-embedding-004", input=["a", "b"]).data
    assert gateway.audio.transcriptions.create(model="openai/whisper-1", file=tmp_audio).text


# -- calls that raised untyped before the fix (now regression cases) --------------------

_M = [{"role": "user", "content": "Hi"}]


def _chat(**kwargs: Any) -> Callable[[aigate.Gateway], Any]:
    def call(gw: aigate.Gateway) -> Any:
        return gw.chat.completions.create(**{"model": "openai/gpt-4o-mini", **kwargs})

    return call


def _transcribe(**kwargs: Any) -> Callable[[aigate.Gateway], Any]:
    return lambda gw: gw.audio.transcriptions.create(model="openai/whisper-1", **kwargs)


def _found(name: str, call: Callable[[aigate.Gateway], Any], reason: str) -> Any:
    """A call the fuzzing found raising untyped (``reason`` says where it was)."""
    return pytest.param(call, id=name)


FOUND = [
    _found(
        "unhashable-role",
        _chat(messages=[{"role": ["user"], "content": "Hi"}]),
        "_validate.py _check_messages: `role not in _ROLES` raises TypeError for a list/dict "
        "role instead of InvalidRequestError",
    ),
    _found(
        "bytes-parameter",
        _chat(messages=_M, user=b"u-1"),
        "_validate.py checks no parameter's JSON-ability: bytes/sets/objects in user, "
        "tool_choice, content parts, ... raise TypeError from json.dumps in providers/openai.py "
        "dumps (while building the request, so nothing is sent)",
    ),
    _found(
        "bytes-in-a-content-part",
        _chat(messages=[{"role": "user", "content": [{"type": "text", "text": b"x"}]}]),
        "same: a content part's text is not checked to be a string (TypeError from dumps)",
    ),
    _found(
        "non-string-header",
        _chat(messages=_M, extra_headers={"x-trace": 1}),
        "_validate.py _extras checks extra_headers is a dict, not its items: httpx raises "
        "TypeError for a non-str value (and UnicodeEncodeError for a non-ASCII name)",
    ),
    _found(
        "non-ascii-header-name",
        _chat(messages=_M, extra_headers={"é": "1"}),
        "same as non-string-header: UnicodeEncodeError from httpx",
    ),
    _found(
        "file-content-type-int",
        _transcribe(file=("a.mp3", b"ID3", 5)),
        "_validate.py _file_tuple passes a non-str content type on; httpx's multipart raises "
        "AttributeError",
    ),
    _found(
        "timestamp-granularities-nested",
        _transcribe(file=b"ID3", timestamp_granularities=[("word",)]),
        "providers/openai.py transcription_request: a non-primitive form value makes httpx "
        "raise TypeError",
    ),
    _found(
        "embeddings-bytes-encoding-format",
        lambda gw: gw.embeddings.create(
            model="openai/text-embedding-3-small", input="x", encoding_format=b"float"
        ),
        "_validate.py embeddings_call: encoding_format/user are not type-checked; TypeError "
        "from json.dumps",
    ),
    _found(
        "missing-file-path",
        _transcribe(file=Path("/nonexistent/aigate-fuzz.mp3")),
        "_validate.py _file_tuple opens a path without catching OSError: FileNotFoundError "
        "instead of InvalidRequestError('file: ...') (arguably fine: open() raises the same)",
    ),
]


@pytest.mark.parametrize("call", FOUND)
def test_found_by_fuzzing(
    gateway: aigate.Gateway, provider: Provider, call: Callable[[aigate.Gateway], Any]
) -> None:
    provider.reset()
    with pytest.raises(aigate.InvalidRequestError):
        call(gateway)
    assert provider.sent() == 0
