"""Record real HTTP exchanges to a file once, replay them in tests with no network.

::

    # once, with real keys: every exchange goes to the cassette, secrets scrubbed
    rec = RecordingTransport(httpx.HTTPTransport(), "tests/cassettes/hello.json")
    gw = aigate.Gateway(providers={"openai": {}}, transport=rec)
    ...
    # in tests: the same calls are answered from the file, streams chunk for chunk
    gw = aigate.Gateway(providers={"openai": {"api_keys": ["sk-test"]}},
                        transport=ReplayTransport("tests/cassettes/hello.json"))

Both are ``httpx`` transports for sync and async clients. A cassette is readable JSON: one
entry per exchange with the request (method, URL, headers, body) and the response (status,
headers, body chunks as they arrived, decompressed). Before anything is written, the values
of ``authorization``, ``proxy-authorization``, ``x-api-key``, ``x-goog-api-key``,
``api-key``, ``cookie`` and ``set-cookie`` headers and of ``key=`` query parameters are
replaced with ``[REDACTED]``, and every occurrence of those values elsewhere in the
exchange (a body echoing a key, an error message quoting it) is masked too.

Replay matches a request by method, URL (secrets masked) and body (JSON compared as data),
taking recorded exchanges in order when the same request was made several times.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

__all__ = ["CassetteMiss", "RecordingTransport", "ReplayTransport", "SECRET_HEADERS", "scrub"]

FORMAT_VERSION = 1
REDACTED = "[REDACTED]"
#: Headers whose values never reach a cassette.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "x-goog-api-key",
        "api-key",
        "cookie",
        "set-cookie",
    }
)
SECRET_PARAMS = frozenset({"key", "api_key", "api-key", "access_token"})
# Decoding happens while recording, so these no longer describe the stored body.
_DROPPED_RESPONSE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class CassetteMiss(LookupError):
    """Replay found no recorded exchange for a request."""


# -- scrubbing -----------------------------------------------------------------------------


def _secrets_of(request: httpx.Request) -> list[str]:
    """The secret values a request carries (header values, key-like query parameters)."""
    found: list[str] = []
    for name, value in request.headers.items():
        if name.lower() in SECRET_HEADERS and value:
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic", "token"):
                found.append(token)
    for name, value in request.url.params.multi_items():
        if name.lower() in SECRET_PARAMS and value:
            found.append(value)
    # Longest first, so a token inside its "Bearer <token>" header value is masked whole.
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``[REDACTED]``."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _scrub_url(url: httpx.URL, secrets: Iterable[str]) -> str:
    params = [
        (name, REDACTED if name.lower() in SECRET_PARAMS else value)
        for name, value in url.params.multi_items()
    ]
    if params:
        url = url.copy_with(params=params)
    # copy_with percent-encodes the brackets; keep the marker readable
    return scrub(str(url), secrets).replace("%5BREDACTED%5D", REDACTED)


def _scrub_headers(headers: httpx.Headers, secrets: Iterable[str]) -> list[list[str]]:
    secrets = list(secrets)
    return [
        [name, REDACTED if name.lower() in SECRET_HEADERS else scrub(value, secrets)]
        for name, value in headers.multi_items()
    ]


def _encode_body(content: bytes, secrets: Iterable[str]) -> dict[str, str]:
    try:
        return {"text": scrub(content.decode("utf-8"), secrets)}
    except UnicodeDecodeError:
        # Binary (an audio upload): stored as base64. A key inside binary bytes is not
        # searched for; providers never echo one there.
        return {"base64": base64.b64encode(content).decode("ascii")}


def _decode_body(body: dict[str, str]) -> bytes:
    if "base64" in body:
        return base64.b64decode(body["base64"])
    return body.get("text", "").encode("utf-8")


# -- recording -----------------------------------------------------------------------------


class _Cassette:
    """The exchanges of one file, written whole (atomically) after each exchange."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.interactions: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, interaction: dict[str, Any]) -> None:
        with self.lock:
            self.interactions.append(interaction)
            data = {"version": FORMAT_VERSION, "interactions": self.interactions}
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".cassette-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as file:
                    file.write(text)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


class _RecordingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Hands the decoded body to the client chunk by chunk, keeping a copy of each chunk;
    the exchange is written when the body ends or is closed."""

    def __init__(self, decoded: httpx.Response, done: Callable[[list[bytes], bool], None]):
        self._decoded = decoded
        self._done = done
        self._chunks: list[bytes] = []
        self._finished = False

    def _finish(self, complete: bool) -> None:
        if not self._finished:
            self._finished = True
            self._done(self._chunks, complete)

    def __iter__(self) -> Iterator[bytes]:
        complete = False
        try:
            for chunk in self._decoded.iter_bytes():
                self._chunks.append(chunk)
                yield chunk
            complete = True
        finally:
            self._finish(complete)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        complete = False
        try:
            async for chunk in self._decoded.aiter_bytes():
                self._chunks.append(chunk)
                yield chunk
            complete = True
        finally:
            self._finish(complete)

    def close(self) -> None:
        self._decoded.close()
        self._finish(False)

    async def aclose(self) -> None:
        await self._decoded.aclose()
        self._finish(False)


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Sends through ``inner`` (default: a real ``httpx`` transport) and writes every
    exchange to the cassette at ``path`` (a new cassette: an existing file is replaced).

    ``inner`` may be sync or async (or both, like ``httpx.MockTransport``); without one, a
    real ``httpx.HTTPTransport``/``AsyncHTTPTransport`` is made on first use.
    ``secrets`` adds exact strings to mask wherever they appear.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        path: str | os.PathLike[str] = "cassette.json",
        *,
        secrets: Iterable[str] = (),
    ) -> None:
        self.inner = inner
        self.path = Path(path)
        self.secrets = tuple(s for s in secrets if s)
        self._cassette = _Cassette(self.path)

    def __repr__(self) -> str:
        return f"RecordingTransport({type(self.inner).__name__}, {str(self.path)!r})"

    @property
    def interactions(self) -> list[dict[str, Any]]:
        """The exchanges recorded so far (already scrubbed)."""
        return list(self._cassette.interactions)

    def _request_entry(self, request: httpx.Request) -> tuple[dict[str, Any], list[str]]:
        secrets = [*_secrets_of(request), *self.secrets]
        entry = {
            "method": request.method,
            "url": _scrub_url(request.url, secrets),
            "headers": _scrub_headers(request.headers, secrets),
            "body": _encode_body(request.content, secrets),
        }
        return entry, secrets

    def _wrap(
        self,
        request: httpx.Request,
        response: httpx.Response,
        entry: dict[str, Any],
        secrets: list[str],
    ) -> httpx.Response:
        decoded = httpx.Response(
            response.status_code, headers=response.headers, stream=response.stream, request=request
        )
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in _DROPPED_RESPONSE_HEADERS
        ]

        def done(chunks: list[bytes], complete: bool) -> None:
            stored = [_encode_body(chunk, secrets) for chunk in chunks]
            response_entry: dict[str, Any] = {
                "status": response.status_code,
                "headers": _scrub_headers(httpx.Headers(headers), secrets),
                "chunks": stored,
            }
            if not complete:
                response_entry["complete"] = False  # the reader stopped (or the peer cut it)
            self._cassette.add({"request": entry, "response": response_entry})

        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=_RecordingStream(decoded, done),
            request=request,
            extensions=response.extensions,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        entry, secrets = self._request_entry(request)
        inner = self.inner
        if inner is None:
            inner = self.inner = httpx.HTTPTransport()
        if not isinstance(inner, httpx.BaseTransport):
            raise TypeError(f"{type(inner).__name__} is async-only; use an httpx.AsyncClient")
        response = inner.handle_request(request)
        return self._wrap(request, response, entry, secrets)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        entry, secrets = self._request_entry(request)
        inner = self.inner
        if inner is None:
            inner = self.inner = httpx.AsyncHTTPTransport()
        if not isinstance(inner, httpx.AsyncBaseTransport):
            raise TypeError(f"{type(inner).__name__} is sync-only; use an httpx.Client")
        response = await inner.handle_async_request(request)
        return self._wrap(request, response, entry, secrets)

    def close(self) -> None:
        if isinstance(self.inner, httpx.BaseTransport):
            self.inner.close()

    async def aclose(self) -> None:
        if isinstance(self.inner, httpx.AsyncBaseTransport):
            await self.inner.aclose()


# -- replay --------------------------------------------------------------------------------


class _ReplayStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes], cut: bool) -> None:
        self._chunks = chunks
        self._cut = cut

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks
        if self._cut:
            raise httpx.RemoteProtocolError("the recorded stream ended before its end")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        if self._cut:
            raise httpx.RemoteProtocolError("the recorded stream ended before its end")


def _body_key(text: str) -> str:
    """Bodies compare as data when they are JSON (key order and spacing do not matter)."""
    try:
        return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return text


def _match_key(method: str, url: str, body: dict[str, str]) -> tuple[str, str, str]:
    content = body.get("base64") or _body_key(body.get("text", ""))
    return (method.upper(), url, content)


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers requests from a cassette written by :class:`RecordingTransport`.

    With ``match="request"`` (the default) a request gets the next unused exchange with
    the same method, URL and body; with ``match="order"`` exchanges are replayed in file
    order whatever is asked. A request with no exchange left raises :class:`CassetteMiss`
    (``allow_reuse=True`` answers it again with the last matching one instead).
    ``calls`` lists the requests replayed.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        match: str = "request",
        allow_reuse: bool = False,
    ) -> None:
        if match not in ("request", "order"):
            raise ValueError(f"match must be 'request' or 'order', not {match!r}")
        self.path = Path(path)
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ValueError(f"{self.path} is not an aigate cassette (version {FORMAT_VERSION})")
        self.interactions: list[dict[str, Any]] = list(data["interactions"])
        self.match = match
        self.allow_reuse = allow_reuse
        self.calls: list[httpx.Request] = []
        self._used = [False] * len(self.interactions)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ReplayTransport({str(self.path)!r}, {len(self.interactions)} exchanges)"

    @property
    def unused(self) -> list[dict[str, Any]]:
        """Recorded exchanges no request has asked for (yet)."""
        return [i for i, used in zip(self.interactions, self._used, strict=True) if not used]

    def _find(self, request: httpx.Request) -> dict[str, Any]:
        secrets = _secrets_of(request)
        url = _scrub_url(request.url, secrets)
        wanted = _match_key(request.method, url, _encode_body(request.content, secrets))
        with self._lock:
            self.calls.append(request)
            last = None
            for index, interaction in enumerate(self.interactions):
                if self.match == "request":
                    rec = interaction["request"]
                    if _match_key(rec["method"], rec["url"], rec["body"]) != wanted:
                        continue
                last = interaction
                if not self._used[index]:
                    self._used[index] = True
                    return interaction
            if last is not None and self.allow_reuse:
                return last
        raise CassetteMiss(
            f"{self.path.name}: no recorded exchange left for {request.method} {url}"
            + (" (with this body)" if self.match == "request" else "")
        )

    def _response(self, request: httpx.Request, interaction: dict[str, Any]) -> httpx.Response:
        recorded = interaction["response"]
        chunks = [_decode_body(chunk) for chunk in recorded["chunks"]]
        return httpx.Response(
            recorded["status"],
            headers=[(name, value) for name, value in recorded["headers"]],
            stream=_ReplayStream(chunks, cut=recorded.get("complete") is False),
            request=request,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._response(request, self._find(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._response(request, self._find(request))
