"""The driver for httpx and for httpx2 (the same API, by the same author): one
implementation, bound to either module by :mod:`aigate.drivers.httpx` and
:mod:`aigate.drivers.httpx2`.

Each library error is mapped here, once, to aigate's: a timeout of any phase to
:class:`~aigate.APITimeoutError`, every other transport failure to
:class:`~aigate.APIConnectionError` (see :func:`aigate.providers._errors.transport_error`).
A client the gateway made itself is used for its pool, proxies and mounts only: a request
goes straight to the transport the client would pick (``_transport_for_url``), skipping the
client's cookie jar, auth, redirect and hook machinery, which the gateway never uses and
which cost as much as the rest of an httpx call (callgrind on a MockTransport chat call:
758k instructions through ``Client.send``, 363k through the transport). A client the
caller injected (``http_client=``) is sent through ``send``, so its auth, hooks and cookies
apply.

The call's wall-clock deadline (``Request.deadline_s``) is enforced over the whole exchange:
asynchronously with ``asyncio.timeout`` around the send and each read; synchronously by
capping every phase's timeout to what is left at send time and checking the clock between
reads (a body that trickles a byte at a time cannot hold the call past its deadline).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from types import ModuleType
from typing import Any, TypeVar

from .._effects import StreamHandle
from .._exceptions import APIError
from .._wire import Request, Response
from ..providers._errors import transport_error

__all__ = ["HttpxAsyncDriver", "HttpxSyncDriver"]

_monotonic = time.monotonic
T = TypeVar("T")
_MAX_URLS = 1024  # parsed URLs kept per driver (extra_query makes URLs that vary per call)


def _expired(request: Request) -> APIError:
    err = transport_error(TimeoutError("the call's deadline passed"), request, timeout=True)
    err.message = f"{request.provider or 'the provider'} timed out (the call's deadline passed)"
    err.args = (err.message,)
    return err


async def within(awaitable: Awaitable[T], until: float) -> T:
    """``await awaitable``, raising ``TimeoutError`` once the monotonic time ``until`` passes
    (``asyncio.timeout`` where it exists, 3.11+; ``wait_for`` on 3.10)."""
    import asyncio

    timeout = getattr(asyncio, "timeout", None)
    if timeout is not None:
        async with timeout(until - _monotonic()):
            return await awaitable
    return await asyncio.wait_for(awaitable, max(until - _monotonic(), 0.0))


def _streamed(request: Request) -> bool:
    return isinstance(request, Request) and request.stream


class _HttpxBase:
    engine = "httpx"

    def __init__(self, lib: ModuleType, client: Any, owns: bool) -> None:
        self._lib = lib
        self._client = client
        self._owns = owns
        self._timeout_types = (lib.TimeoutException,)
        self._errors = (lib.TransportError, lib.InvalidURL, lib.UnsupportedProtocol)
        self._urls: dict[str, tuple[Any, Any]] = {}
        # straight to the transport: only for a client of our own (see the module docstring)
        self._direct = owns and hasattr(client, "_transport_for_url")

    def _route(self, url: str) -> tuple[Any, Any]:
        """The library's parsed URL for ``url`` and, sending direct, the transport for it,
        found once: a gateway sends to a handful of URLs, and parsing one was a third of
        making the library's request. (``URL`` is immutable, a client's mounts are fixed;
        a URL that does not parse raises here as it would in the request.)"""
        hit = self._urls.get(url)
        if hit is None:
            parsed = self._lib.URL(url)
            hit = (parsed, self._client._transport_for_url(parsed) if self._direct else None)
            if len(self._urls) < _MAX_URLS:
                self._urls[url] = hit
        return hit

    def _native(self, request: Request) -> tuple[Any, Any]:
        """The library's request for ``request`` and the transport to hand it to (None:
        through the client's ``send``)."""
        if not isinstance(request, Request):  # already the library's (the routing API's tests)
            return request, None
        timeout = request.timeout
        extensions = {"timeout": timeout.as_dict()} if timeout is not None else {}
        url, transport = self._route(request.url)
        if transport is not None and self._client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        native = self._lib.Request(
            request.method,
            url,
            headers=request.headers._data,
            content=request.content,
            extensions=extensions,
        )
        return native, transport

    def _map(self, exc: BaseException, request: Request) -> APIError:
        if not isinstance(request, Request):
            request = Request(str(request.method), str(request.url))
        return transport_error(exc, request, timeout=isinstance(exc, self._timeout_types))

    @staticmethod
    def _until(request: Request) -> float | None:
        left = getattr(request, "deadline_s", None)
        return None if left is None else _monotonic() + left

    def _response(
        self, native: Any, request: Request, content: bytes = b"", **hooks: Any
    ) -> Response:
        return Response(
            native.status_code,
            headers=native.headers.items(),
            content=content,
            request=request if isinstance(request, Request) else None,
            **hooks,
        )


class HttpxSyncDriver(_HttpxBase):
    """Blocking sends through an ``httpx.Client`` (or ``httpx2.Client``)."""

    def send(self, request: Request) -> Response | StreamHandle:
        native, transport = self._native(request)
        until = self._until(request)
        error: BaseException | None = None
        try:
            if transport is not None:
                response = transport.handle_request(native)
            else:
                response = self._client.send(native, stream=True)
        except self._errors as exc:
            error = exc
        if error is not None:
            raise self._map(error, request)
        if _streamed(request):
            return StreamHandle(
                self._response(response, request, close=response.close),
                self._iterate(response, request, until),
            )
        try:
            if until is None:
                content = response.read()
            else:
                parts = []
                for part in response.iter_bytes():
                    parts.append(part)
                    if _monotonic() > until:
                        raise _expired(request)
                content = b"".join(parts)
        except self._errors as exc:
            error = exc
        finally:
            response.close()
        if error is not None:
            raise self._map(error, request)
        return self._response(response, request, content)

    def _iterate(self, response: Any, request: Request, until: float | None) -> Iterator[bytes]:
        parts = response.iter_bytes()
        error: BaseException | None = None
        try:
            while True:
                try:
                    part = next(parts, None)
                except self._errors as exc:
                    error = exc
                    break
                if part is None:
                    return
                if until is not None and _monotonic() > until:
                    raise _expired(request)
                yield part
        finally:
            response.close()
        if error is not None:
            raise self._map(error, request)

    def close(self) -> None:
        if self._owns:
            self._client.close()


class HttpxAsyncDriver(_HttpxBase):
    """Awaited sends through an ``httpx.AsyncClient`` (or ``httpx2.AsyncClient``)."""

    async def send(self, request: Request) -> Response | StreamHandle:
        native, transport = self._native(request)
        until = self._until(request)
        if until is None:
            return await self._send(native, transport, request, None)
        try:
            return await within(self._send(native, transport, request, until), until)
        except TimeoutError:
            pass  # outside the handler: the error must not chain the library's
        raise _expired(request)

    async def _send(
        self, native: Any, transport: Any, request: Request, until: float | None
    ) -> Response | StreamHandle:
        error: BaseException | None = None
        try:
            if transport is not None:
                response = await transport.handle_async_request(native)
            else:
                response = await self._client.send(native, stream=True)
        except self._errors as exc:
            error = exc
        if error is not None:
            raise self._map(error, request)
        if _streamed(request):
            return StreamHandle(
                self._response(response, request, aclose=response.aclose),
                self._aiterate(response, request, until),
            )
        try:
            content = await response.aread()
        except self._errors as exc:
            error = exc
        finally:
            await response.aclose()
        if error is not None:
            raise self._map(error, request)
        return self._response(response, request, content)

    async def _aiterate(
        self, response: Any, request: Request, until: float | None
    ) -> AsyncIterator[bytes]:
        parts = response.aiter_bytes().__aiter__()
        error: BaseException | None = None
        expired = False
        try:
            while True:
                try:
                    if until is None:
                        part = await anext(parts, None)
                    else:
                        part = await within(anext(parts, None), until)
                except self._errors as exc:
                    error = exc
                    break
                except TimeoutError:
                    expired = True
                    break
                if part is None:
                    return
                yield part
        finally:
            await response.aclose()
        if expired:
            raise _expired(request)
        if error is not None:
            raise self._map(error, request)

    async def aclose(self) -> None:
        if self._owns:
            await self._client.aclose()


def client_kwargs(lib: ModuleType, max_connections: int, max_keepalive: int) -> dict[str, Any]:
    """The pooled client every gateway-owned httpx/httpx2 client gets: the pool size from
    the config, no client-level timeout (each request carries its provider's)."""
    return {
        "limits": lib.Limits(
            max_connections=max_connections, max_keepalive_connections=max_keepalive
        ),
        "timeout": None,
        "follow_redirects": False,
    }
