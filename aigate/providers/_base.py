"""The codec protocol every provider implements, and the call/target records it receives.

A codec turns aigate's OpenAI-shaped call into a neutral :class:`aigate._wire.Request`
and the provider's answer (a :class:`aigate._wire.Response`: status, headers, bytes) back
into aigate's models. It performs no I/O, owns no client and imports no HTTP library, so the
same codec serves :class:`~aigate.Gateway` and :class:`~aigate.AsyncGateway` on every engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .._wire import Request, Response, Timeout, TimeoutLike

if TYPE_CHECKING:
    from .._exceptions import APIStatusError
    from .._models import (
        ChatCompletion,
        ChatCompletionChunk,
        CreateEmbeddingResponse,
        Transcription,
    )
    from ._sse import ServerSentEvent

__all__ = [
    "ApiKey",
    "ChatCall",
    "Codec",
    "EmbeddingsCall",
    "ProviderRuntime",
    "StreamDecoder",
    "Target",
    "TranscriptionCall",
    "key_id",
]


def key_id(secret: str) -> str:
    """A short, stable, non-reversible id for a key: safe in logs, ledgers and errors."""
    return "k-" + hashlib.sha256(secret.encode()).hexdigest()[:10]


class ApiKey:
    """A provider key: a fixed secret or a callable returning one (read per call).

    ``repr`` and ``str`` show only the id.
    """

    __slots__ = ("_secret", "_source", "id")

    def __init__(self, secret: str | Callable[[], str]) -> None:
        if callable(secret):
            self._source: Callable[[], str] | None = secret
            self._secret = ""
            self.id = "k-callable"
        else:
            self._source = None
            self._secret = secret
            self.id = key_id(secret)

    def get(self) -> str:
        """The secret itself, for the request being built."""
        if self._source is not None:
            value = self._source()
            self.id = key_id(value)
            return value
        return self._secret

    def __repr__(self) -> str:
        return f"ApiKey(id={self.id!r})"

    __str__ = __repr__


@dataclass(slots=True)
class ChatCall:
    """A validated chat call. ``params`` holds every OpenAI parameter the caller gave other
    than ``model``, ``messages`` and ``stream``; absent parameters are absent here too."""

    messages: list[dict[str, Any]]
    params: dict[str, Any]
    stream: bool = False
    extra_headers: Mapping[str, str] | None = None
    extra_query: Mapping[str, Any] | None = None
    extra_body: Mapping[str, Any] | None = None
    timeout: TimeoutLike | None = None


@dataclass(slots=True)
class EmbeddingsCall:
    input: str | list[str] | list[int] | list[list[int]]
    params: dict[str, Any]
    extra_headers: Mapping[str, str] | None = None
    extra_query: Mapping[str, Any] | None = None
    extra_body: Mapping[str, Any] | None = None
    timeout: TimeoutLike | None = None


@dataclass(slots=True)
class TranscriptionCall:
    file: tuple[str, bytes, str | None]  # (filename, content, content type)
    params: dict[str, Any]
    extra_headers: Mapping[str, str] | None = None
    extra_query: Mapping[str, Any] | None = None
    extra_body: Mapping[str, Any] | None = None
    timeout: TimeoutLike | None = None


@dataclass(slots=True, eq=False)
class ProviderRuntime:
    """A configured provider, resolved once at ``Gateway(...)``."""

    name: str
    kind: str
    base_url: str
    codec: Codec
    keys: tuple[ApiKey, ...]
    headers: dict[str, str]
    timeout: Timeout
    options: dict[str, Any] = field(default_factory=dict)
    _turn: int = 0

    def next_key(self) -> ApiKey | None:
        """Keys in turn (round robin); ``None`` for a provider that needs no key."""
        keys = self.keys
        if not keys:
            return None
        self._turn += 1
        return keys[self._turn % len(keys)]

    def __repr__(self) -> str:
        return (
            f"ProviderRuntime(name={self.name!r}, kind={self.kind!r}, base_url={self.base_url!r})"
        )


@dataclass(frozen=True, slots=True)
class Target:
    """One provider + model a call can go to."""

    provider: ProviderRuntime
    model: str

    @property
    def name(self) -> str:
        return f"{self.provider.name}/{self.model}"


class StreamDecoder(Protocol):
    """Turns one provider stream's events into OpenAI-shaped chunks.

    ``finished`` becomes true when the provider's end-of-stream marker arrives (``[DONE]``,
    ``message_stop``); a stream that ends without it, and without a finish reason, was cut.
    """

    finished: bool

    def decode(self, event: ServerSentEvent) -> list[ChatCompletionChunk]:
        """Chunks for one event (often one, sometimes none). Raises
        :class:`~aigate.StreamError` for an error event."""
        ...


class Codec(Protocol):
    """A provider wire format. Pure: builds requests, parses responses, never sends."""

    request_id_header: str

    def chat_request(self, call: ChatCall, target: Target, key: str | None) -> Request: ...

    def chat_response(self, content: bytes, target: Target) -> ChatCompletion: ...

    def stream_decoder(self, call: ChatCall, target: Target) -> StreamDecoder: ...

    def error(self, response: Response, content: bytes, target: Target) -> APIStatusError: ...

    def embeddings_request(
        self, call: EmbeddingsCall, target: Target, key: str | None
    ) -> Request: ...

    def embeddings_response(self, content: bytes, target: Target) -> CreateEmbeddingResponse: ...

    def transcription_request(
        self, call: TranscriptionCall, target: Target, key: str | None
    ) -> Request: ...

    def transcription_response(
        self, response: Response, content: bytes, target: Target
    ) -> Transcription: ...
