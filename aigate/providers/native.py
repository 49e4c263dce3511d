"""The surfaces' own wire formats, sent as they are: OpenAI's Responses API
(``POST {base_url}/responses``) and Anthropic's Messages API (``POST {base_url}/messages``).

A codec module like the others, for the pass-through the Responses and Messages surfaces
use when every target of a call speaks their format: it builds the request from the
caller's body (the model replaced by the target's, aigate's own arguments already taken
out), reads a non-streamed answer as a plain dict plus its usage (for pricing), and reads a
stream as plain event dicts, one JSON parse per event (pydantic-core's, a few times
faster than ``json.loads`` on small objects), watching only the events that
carry usage or end the stream. Nothing here is translated: what the provider sent is what
the caller gets.

Sources: OpenAI's API reference, "Responses" (create, the Response object, streaming
events: ``response.completed`` / ``response.incomplete`` / ``response.failed`` carry the
final Response with ``usage``; ``error`` events); Anthropic's "Messages" and "Streaming
Messages" (``message_start`` carries the input usage, ``message_delta`` the cumulative
usage, ``message_stop`` ends, ``error`` events).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import from_json

from .._exceptions import StreamError
from .._models import Usage
from .._wire import Request, TimeoutLike
from ._base import Target
from ._common import build_request, dumps, load_object, stream_error, wrong_shape
from ._usage import usage_from_anthropic, usage_from_openai

__all__ = [
    "MessagesEvents",
    "NativeEvents",
    "ResponsesEvents",
    "messages_request",
    "parse_message",
    "parse_response",
    "responses_request",
]

#: The ``anthropic-version`` header when ``anthropic_version`` is not set (the codec's too).
ANTHROPIC_VERSION = "2023-06-01"


def responses_headers(target: Target, key: str | None, stream: bool) -> dict[str, str]:
    """A Responses API request's headers: the key, and ``organization`` / ``project`` as the
    OpenAI codec sends them."""
    headers = {
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
    }
    if key:
        headers["authorization"] = f"Bearer {key}"
    options = target.provider.options
    if options:  # as the OpenAI codec sends them
        if org := options.get("organization"):
            headers["openai-organization"] = org
        if project := options.get("project"):
            headers["openai-project"] = project
    return headers


def messages_headers(target: Target, key: str | None, stream: bool) -> dict[str, str]:
    """A Messages API request's headers, the Anthropic codec's and the pass-through's
    (:data:`messages_request`): the version, the key (``auth``), ``beta``."""
    options = target.provider.options
    headers = {
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
        "anthropic-version": str(options.get("anthropic_version") or ANTHROPIC_VERSION),
    }
    if key:
        if options.get("auth", "x-api-key") == "bearer":
            headers["authorization"] = f"Bearer {key}"
        else:
            headers["x-api-key"] = key
    beta = options.get("beta")
    if beta:
        headers["anthropic-beta"] = beta if isinstance(beta, str) else ",".join(beta)
    return headers


def _with_betas(configured: str, extra_headers: Mapping[str, str]) -> dict[str, str]:
    """``extra_headers`` whose ``anthropic-beta`` (the caller's, an SDK's ``betas=``) also
    carries the provider's configured betas, each once, the configured first."""
    merged = {k.lower(): v for k, v in extra_headers.items()}
    asked = merged.get("anthropic-beta")
    if asked:
        names = [b.strip() for b in f"{configured},{asked}".split(",") if b.strip()]
        merged["anthropic-beta"] = ",".join(dict.fromkeys(names))
    return merged


class _Endpoint:
    """A native request builder: ``POST {base_url}{path}`` with the caller's body as is (the
    model replaced by the target's, ``extra_body`` merged; ``stream`` already in it when
    set) and the format's headers. Called as ``request(body, target, key, stream, **options)``.
    """

    __slots__ = ("headers", "path")

    def __init__(
        self, path: str, headers: Callable[[Target, str | None, bool], dict[str, str]]
    ) -> None:
        self.path = path
        self.headers = headers

    def __call__(
        self,
        body: Mapping[str, Any],
        target: Target,
        key: str | None,
        stream: bool,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutLike | None = None,
    ) -> Request:
        payload = {**body, "model": target.model}
        if extra_body:
            payload.update(extra_body)
        headers = self.headers(target, key, stream)
        if extra_headers and "anthropic-beta" in headers:
            extra_headers = _with_betas(headers["anthropic-beta"], extra_headers)
        return build_request(
            "POST",
            target.provider.base_url + self.path,
            headers=headers,
            target=target,
            extra_headers=extra_headers,
            extra_query=extra_query,
            timeout=timeout,
            content=dumps(payload),
            stream=stream,
        )


#: ``POST {base_url}/responses`` with ``body``.
responses_request = _Endpoint("/responses", responses_headers)
#: ``POST {base_url}/messages`` with ``body``, with the Anthropic codec's headers and options
#: (``anthropic_version``, ``auth``, ``beta``).
messages_request = _Endpoint("/messages", messages_headers)


def _usage(value: Any, read: Any) -> Usage | None:
    return read(value) if isinstance(value, Mapping) else None


def parse_response(content: bytes, target: Target) -> tuple[dict[str, Any], Usage | None]:
    """A Response object and its usage (Responses convention read as aigate's)."""
    payload = load_object(content, target)
    if payload.get("object") != "response" or not isinstance(payload.get("output"), list):
        raise wrong_shape(target, "a Responses API response", "no output list", payload)
    return payload, _usage(payload.get("usage"), usage_from_openai)


def parse_message(content: bytes, target: Target) -> tuple[dict[str, Any], Usage | None]:
    """A Message object and its usage (cache reads and writes included in the prompt)."""
    payload = load_object(content, target)
    if payload.get("type") != "message" or not isinstance(payload.get("content"), list):
        raise wrong_shape(
            target, "an Anthropic Messages response", "no content list", payload, own="content"
        )
    return payload, _usage(payload.get("usage"), usage_from_anthropic)


class NativeEvents:
    """One native stream's events as plain dicts: ``feed(bytes)`` returns the events those
    bytes complete (one JSON parse each; ``event:``, ``id:`` and comment lines are
    skipped, as both formats repeat the name in ``type``).

    ``finished`` is true once the end marker came, ``usage`` holds the usage read so far,
    ``visible`` the first event the caller may see (before it, a failure can still move
    to another target), ``final`` the terminal object when the format has one.
    """

    __slots__ = ("_buffer", "_cr", "_data", "final", "finished", "target", "usage", "visible")

    #: Event types sent before any content (a failure after them can still fail over).
    PREAMBLE: frozenset[str] = frozenset()

    def __init__(self, target: Target) -> None:
        self.target = target
        self._buffer = b""
        self._data: list[bytes] = []
        self._cr = False
        self.finished = False
        self.visible = False
        self.usage: Usage | None = None
        self.final: dict[str, Any] | None = None

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        if not chunk:
            return []
        if self._cr and chunk[:1] == b"\n":  # a CRLF split across two reads
            chunk = chunk[1:]
        self._cr = chunk[-1:] == b"\r"
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        return self._lines(lines)

    def end(self) -> list[dict[str, Any]]:
        """The stream's end: a last event without its blank line still counts."""
        lines = [self._buffer, b""] if self._buffer else [b""]
        self._buffer = b""
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        data = self._data
        loads = from_json
        for raw in lines:
            if raw[:6] == b"data: ":
                data.append(raw[6:])
            elif not raw:
                if data:
                    text = data[0] if len(data) == 1 else b"\n".join(data)
                    data.clear()
                    try:
                        event = loads(text)
                    except ValueError:
                        event = load_object(text, self.target)  # raises, naming the provider
                    if not isinstance(event, dict) or "type" not in event:
                        raise wrong_shape(self.target, "a stream event", "no type", None)
                    self.watch(event)
                    events.append(event)
            elif raw[:5] == b"data:":
                data.append(raw[5:])
        return events

    def watch(self, event: dict[str, Any]) -> None:
        """Note what an event says about the stream (usage, its end, an error)."""
        raise NotImplementedError


class ResponsesEvents(NativeEvents):
    """OpenAI Responses stream events. The terminal event (``response.completed`` or
    ``response.incomplete``) carries the final Response and its usage; ``response.failed``
    and ``error`` events raise :class:`~aigate.StreamError`."""

    __slots__ = ()

    PREAMBLE = frozenset({"response.created", "response.in_progress", "response.queued"})
    _TERMINAL = frozenset({"response.completed", "response.incomplete"})

    def watch(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if not self.visible and kind not in self.PREAMBLE:
            self.visible = True
        if kind in self._TERMINAL or kind == "response.failed":
            response = event.get("response")
            if isinstance(response, dict):
                self.final = response
                self.usage = _usage(response.get("usage"), usage_from_openai) or self.usage
            self.finished = True
            if kind == "response.failed":
                error = response.get("error") if isinstance(response, dict) else None
                raise _error(error or {"message": "response.failed"}, self.target)
        elif kind == "error":
            raise _error(event, self.target)


class MessagesEvents(NativeEvents):
    """Anthropic Messages stream events: ``message_start`` carries the input usage,
    ``message_delta`` the cumulative usage, ``message_stop`` ends the stream; an ``error``
    event raises :class:`~aigate.StreamError`."""

    __slots__ = ("_raw_usage",)

    PREAMBLE = frozenset({"message_start", "ping"})

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self._raw_usage: dict[str, Any] = {}

    def watch(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if not self.visible and kind not in self.PREAMBLE:
            self.visible = True
        if kind == "message_start":
            message = event.get("message")
            if isinstance(message, dict):
                self.final = message
                self._merge(message.get("usage"))
        elif kind == "message_delta":
            self._merge(event.get("usage"))
        elif kind == "message_stop":
            self.finished = True
        elif kind == "error":
            raise _error(event, self.target)

    def _merge(self, usage: Any) -> None:
        if isinstance(usage, Mapping):
            self._raw_usage.update({k: v for k, v in usage.items() if v is not None})
            self.usage = usage_from_anthropic(self._raw_usage)


def _error(payload: Mapping[str, Any], target: Target) -> StreamError:
    return stream_error(payload, target)
