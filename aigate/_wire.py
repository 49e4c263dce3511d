"""The neutral HTTP request and response that codecs build and parse.

No HTTP library is imported here or by any codec: a driver (``aigate.drivers``) turns a
:class:`Request` into its library's request, sends it, and hands back a :class:`Response`
(or, for a stream, an open handle whose body it reads). This is the seam that lets the same
codecs and flows run on httpx, httpx2 and aiohttp.

The request an error carries is :meth:`Request.redacted`: its credentials (the
``authorization``, ``x-api-key``, ``x-goog-api-key`` and ``api-key`` headers, and ``key``
query parameters) are replaced by ``***``, so a key never travels inside an exception.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "SECRET_HEADERS",
    "Headers",
    "Request",
    "Response",
    "Timeout",
    "TimeoutLike",
    "TransportCause",
    "add_query",
    "multipart",
]

#: Headers that carry a credential; masked in every request an error carries.
SECRET_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key", "proxy-authorization")
_SECRET_PARAMS = ("key", "api_key", "api-key")
_MASK = "***"


class Headers(Mapping[str, str]):
    """Case-insensitive, read-mostly HTTP headers (names are stored lower-case)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, str] | Iterable[tuple[str, str]] | None = None) -> None:
        # `type(...) is dict` first: every request's headers are a dict, and an isinstance
        # test against an ABC costs more than the copy
        kind = type(data)
        if kind is dict:
            items: Iterable[tuple[Any, Any]] = data.items()  # type: ignore[union-attr]
        elif kind is list or kind is tuple or data is None:
            items = data or ()  # type: ignore[assignment]
        elif isinstance(data, Mapping):
            items = data.items()
        else:
            items = data
        self._data: dict[str, str] = {str(k).lower(): str(v) for k, v in items}

    @classmethod
    def of_lower(cls, data: dict[str, str]) -> Headers:
        """Headers over ``data`` itself, not a copy: for a dict its caller just made, whose
        names are lower-case strings and values strings (a codec's own constants and its
        key), so the normalising copy of ``Headers(data)`` would change nothing."""
        headers = cls.__new__(cls)
        headers._data = data
        return headers

    def __getitem__(self, name: str) -> str:
        return self._data[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:
        return self._data.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setitem__(self, name: str, value: str) -> None:
        self._data[name.lower()] = value

    def __delitem__(self, name: str) -> None:
        del self._data[name.lower()]

    def copy(self) -> Headers:
        new = Headers()
        new._data = dict(self._data)
        return new

    def __repr__(self) -> str:
        shown = {k: (_MASK if k in SECRET_HEADERS else v) for k, v in self._data.items()}
        return f"Headers({shown!r})"


def _headers(value: Headers | Mapping[str, str] | Iterable[tuple[str, str]] | None) -> Headers:
    """``value`` as :class:`Headers` (itself when it is one). Exact type tests first:
    ``isinstance`` against Headers, a ``Mapping``, goes through the ABC machinery."""
    kind = type(value)
    if kind is Headers:
        return value  # type: ignore[return-value]
    if kind is not dict and isinstance(value, Headers):
        return value
    return Headers(value)


class TimeoutLike(Protocol):
    """Anything with httpx's four timeout phases (``httpx.Timeout``, :class:`Timeout`)."""

    @property
    def connect(self) -> float | None: ...
    @property
    def read(self) -> float | None: ...
    @property
    def write(self) -> float | None: ...
    @property
    def pool(self) -> float | None: ...


class Timeout:
    """Per-phase timeouts in seconds (None: no limit), as httpx names them."""

    __slots__ = ("connect", "pool", "read", "write")

    def __init__(
        self,
        *,
        connect: float | None = None,
        read: float | None = None,
        write: float | None = None,
        pool: float | None = None,
    ) -> None:
        self.connect = connect
        self.read = read
        self.write = write
        self.pool = pool

    @classmethod
    def of(cls, value: TimeoutLike) -> Timeout:
        if isinstance(value, Timeout):
            return value
        return cls(connect=value.connect, read=value.read, write=value.write, pool=value.pool)

    def as_dict(self) -> dict[str, float | None]:
        return {"connect": self.connect, "read": self.read, "write": self.write, "pool": self.pool}

    def capped(self, read: float | None = None, left: float | None = None) -> Timeout:
        """These timeouts with reads capped by ``read`` and every phase by ``left``."""
        phases = self.as_dict()
        if read is not None:
            phases["read"] = read if phases["read"] is None else min(phases["read"], read)
        if left is not None:
            left = max(left, 0.001)
            for phase, value in phases.items():
                phases[phase] = left if value is None else min(value, left)
        return Timeout(**phases)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timeout) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        return "Timeout({})".format(", ".join(f"{k}={v}" for k, v in self.as_dict().items()))


def add_query(url: str, params: Mapping[str, Any] | None) -> str:
    """``url`` with ``params`` appended to its query string."""
    if not params:
        return url
    items: list[tuple[str, str]] = []
    for name, value in params.items():
        if isinstance(value, (list, tuple)):
            items.extend((name, _query_value(v)) for v in value)
        elif value is not None:
            items.append((name, _query_value(value)))
    if not items:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(items)


def _query_value(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class Request:
    """One HTTP request as a codec builds it: method, URL, headers, body bytes, timeouts.

    ``stream`` asks the driver for a streamed body; ``deadline_s`` is what is left of the
    call's wall-clock deadline when it is sent (the driver enforces it over the whole
    exchange, body included); ``provider`` and ``model`` name the target in errors.
    """

    __slots__ = (
        "content",
        "deadline_s",
        "headers",
        "method",
        "model",
        "provider",
        "stream",
        "timeout",
        "url",
    )

    def __init__(
        self,
        method: str,
        url: str,
        *,
        headers: Headers | Mapping[str, str] | None = None,
        content: bytes = b"",
        timeout: Timeout | None = None,
        stream: bool = False,
        provider: str | None = None,
        model: str | None = None,
        deadline_s: float | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = _headers(headers)
        self.content = content
        self.timeout = timeout
        self.stream = stream
        self.provider = provider
        self.model = model
        self.deadline_s = deadline_s

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None

    def secrets(self) -> list[str]:
        """The credentials this request carries (header values, bearer tokens, ``key=``)."""
        found: list[str] = []
        for name in SECRET_HEADERS:
            value = self.headers.get(name)
            if value:
                scheme, _, token = value.partition(" ")
                if token and scheme.lower() in ("bearer", "basic"):
                    found.append(token)
                found.append(value)
        query = urlsplit(self.url).query
        if query:
            for name, value in parse_qsl(query, keep_blank_values=True):
                if name.lower() in _SECRET_PARAMS and value:
                    found.append(value)
        return [s for s in found if len(s) >= 6]

    def redacted(self) -> Request:
        """A copy with its credentials masked: what an error may carry."""
        headers = self.headers.copy()
        for name in SECRET_HEADERS:
            if name in headers:
                headers[name] = _MASK
        return Request(
            self.method,
            redact_url(self.url),
            headers=headers,
            content=_redact_bytes(self.content, self.secrets()),
            timeout=self.timeout,
            stream=self.stream,
            provider=self.provider,
            model=self.model,
        )

    def __repr__(self) -> str:
        return f"<Request({self.method!r}, {redact_url(self.url)!r})>"


def redact_url(url: str) -> str:
    """``url`` with ``key=`` (and ``api_key=``) query values masked."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(name.lower() in _SECRET_PARAMS for name, _ in pairs):
        return url
    masked = [(n, _MASK if n.lower() in _SECRET_PARAMS else v) for n, v in pairs]
    return urlunsplit(parts._replace(query=urlencode(masked, safe="*")))


def _redact_bytes(content: bytes, secrets: list[str]) -> bytes:
    for secret in secrets:
        raw = secret.encode()
        if raw in content:
            content = content.replace(raw, _MASK.encode())
    return content


class Response:
    """A provider's answer: status, case-insensitive headers, body bytes, the request.

    A streamed response has an empty ``content`` and is read through the driver's handle;
    :meth:`close` / :meth:`aclose` release its connection (no-ops for a read body).
    """

    __slots__ = ("_aclose", "_close", "content", "headers", "request", "status_code")

    def __init__(
        self,
        status_code: int,
        *,
        headers: Headers | Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        content: bytes = b"",
        request: Request | None = None,
        close: Callable[[], None] | None = None,
        aclose: Callable[[], Any] | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = _headers(headers)
        self.content = content
        self.request = request
        self._close = close
        self._aclose = aclose

    @property
    def _request(self) -> Request | None:  # what APIStatusError reads (httpx's name)
        return self.request

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def close(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            close()

    async def aclose(self) -> None:
        aclose, self._aclose = self._aclose, None
        if aclose is not None:
            await aclose()
        else:
            self.close()

    def redacted(self) -> Response:
        """A copy whose request has its credentials masked, and whose body has every one it
        quotes masked too (providers echo the key they refused)."""
        secrets = self.request.secrets() if self.request is not None else []
        return Response(
            self.status_code,
            headers=self.headers,
            content=_redact_bytes(self.content, secrets),
            request=self.request.redacted() if self.request is not None else None,
        )

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class TransportCause(Exception):
    """What the HTTP library raised, described (its type and message, credentials masked),
    kept as the ``__cause__`` of a connection or timeout error in place of the library's
    own exception, which holds the live request with its key."""

    def __init__(self, exc: BaseException, secrets: Iterable[str] = ()) -> None:
        kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
        message = str(exc)
        for secret in secrets:
            message = message.replace(secret, _MASK)
        super().__init__(f"{kind}: {message}" if message else kind)
        self.type_name = type(exc).__name__


def multipart(
    fields: Mapping[str, str | list[str]], files: Mapping[str, tuple[str, bytes, str | None]]
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its content type (RFC 7578)."""
    boundary = os.urandom(16).hex()
    out: list[bytes] = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            out.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"'
                f"\r\n\r\n".encode()
                + item.encode()
                + b"\r\n"
            )
    for name, (filename, content, content_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"; '
            f'filename="{_quote(filename)}"\r\n'
            f"Content-Type: {content_type or 'application/octet-stream'}\r\n\r\n"
        )
        out.append(head.encode() + content + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
