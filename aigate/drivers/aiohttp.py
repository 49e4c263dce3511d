"""The aiohttp engine (``AsyncGateway(http="aiohttp")``, async only): the default of
:class:`~aigate.AsyncGateway`, because its connection pool stays cheap at high concurrency
(httpcore's pool costs grow with the square of its size; see docs/performance.md).

Errors are mapped here, once: ``TimeoutError`` (aiohttp's ``ServerTimeoutError`` and
``ConnectionTimeoutError`` are ones) to :class:`~aigate.APITimeoutError`, every
``aiohttp.ClientError`` to :class:`~aigate.APIConnectionError`. A session belongs to one
event loop, so the driver opens one per running loop (``asyncio.run`` per call works).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from .._effects import StreamHandle
from .._exceptions import APIError
from .._wire import Request, Response
from ..providers._errors import transport_error
from ._httpx_like import _expired, within

__all__ = ["AiohttpDriver", "async_driver"]

_monotonic = time.monotonic
_ERRORS = (aiohttp.ClientError, TimeoutError, ValueError)


_NO_TIMEOUT = aiohttp.ClientTimeout(total=None)
#: One ClientTimeout per distinct set of phases, made once: calls to one provider carry
#: the same timeouts, and making aiohttp's frozen dataclass per request cost more than the
#: rest of turning the request into aiohttp's. Bounded: capped timeouts (a deadline's
#: remainder) differ per call and are made per call once the cache is full.
_TIMEOUTS: dict[tuple[float | None, float | None, float | None], aiohttp.ClientTimeout] = {}
_MAX_TIMEOUTS = 256


def _client_timeout(request: Request) -> aiohttp.ClientTimeout:
    """httpx's four phases in aiohttp's terms: ``connect`` there includes the wait for a
    pooled connection, ``sock_connect`` is the TCP/TLS connect alone."""
    t = request.timeout
    if t is None:
        return _NO_TIMEOUT
    phases = (t.connect, t.read, t.pool)
    made = _TIMEOUTS.get(phases)
    if made is not None:
        return made
    connect = None
    if t.pool is not None and t.connect is not None:
        connect = t.pool + t.connect
    made = aiohttp.ClientTimeout(
        total=None, connect=connect, sock_connect=t.connect, sock_read=t.read
    )
    if len(_TIMEOUTS) < _MAX_TIMEOUTS:
        _TIMEOUTS[phases] = made
    return made


class AiohttpDriver:
    """Awaited sends through one ``aiohttp.ClientSession`` per event loop."""

    engine = "aiohttp"

    def __init__(
        self,
        *,
        max_connections: int = 100,
        max_keepalive_connections: int = 20,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._limit = max_connections
        self._session = session
        self._owns = session is None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and (not self._owns or self._loop is loop):
            return session
        if session is not None:  # made on a loop that is gone (asyncio.run per call)
            _abandon(session)
        connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=0, ttl_dns_cache=300)
        # No cookie jar: a provider's Set-Cookie must not ride on a later call, which may be
        # another tenant's (and the jar costs ~12k instructions a call to consult).
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._session, self._loop = session, loop
        return session

    def _map(self, exc: BaseException, request: Request) -> APIError:
        return transport_error(exc, request, timeout=isinstance(exc, TimeoutError))

    async def send(self, request: Request) -> Response | StreamHandle:
        left = request.deadline_s
        if left is None:
            return await self._send(request, None)
        until = _monotonic() + left
        try:
            return await within(self._send(request, until), until)
        except TimeoutError:
            pass  # outside the handler: the error must not chain the library's
        raise _expired(request)

    async def _send(self, request: Request, until: float | None) -> Response | StreamHandle:
        session = self._session_now()
        error: BaseException | None = None
        try:
            native = await session.request(
                request.method,
                request.url,
                data=request.content or None,
                headers=request.headers._data,
                timeout=_client_timeout(request),
                allow_redirects=False,
            )
        except _ERRORS as exc:
            error = exc
        if error is not None:
            raise self._map(error, request)
        headers = native.headers.items()
        if request.stream:

            async def aclose() -> None:
                native.close()

            return StreamHandle(
                Response(native.status, headers=headers, request=request, aclose=aclose),
                self._aiterate(native, request, until),
            )
        try:
            content = await native.read()
        except _ERRORS as exc:
            error = exc
        except BaseException:
            native.close()  # cancelled mid-body: the connection cannot be reused
            raise
        finally:
            native.release()
        if error is not None:
            raise self._map(error, request)
        return Response(native.status, headers=headers, content=content, request=request)

    async def _aiterate(
        self, native: Any, request: Request, until: float | None
    ) -> AsyncIterator[bytes]:
        read = native.content.readany
        error: BaseException | None = None
        expired = False
        complete = False
        try:
            while True:
                try:
                    if until is None:
                        part = await read()
                    else:
                        part = await within(read(), until)
                except TimeoutError as exc:
                    if until is not None and _monotonic() >= until:
                        expired = True
                    else:
                        error = exc
                    break
                except _ERRORS as exc:
                    error = exc
                    break
                if not part:
                    complete = True
                    return
                yield part
        finally:
            if complete:
                native.release()
            else:
                native.close()
        if expired:
            raise _expired(request)
        if error is not None:
            raise self._map(error, request)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._owns:
            if self._loop is asyncio.get_running_loop():
                await session.close()
            else:
                _abandon(session)


def _abandon(session: aiohttp.ClientSession) -> None:
    """Close a session whose loop has ended, without awaiting (its loop cannot run again)."""
    connector = session.connector
    if connector is not None:
        try:
            connector._close()
        except Exception:  # the loop is closed: its transports are already gone
            pass
    session._connector = None


def async_driver(
    *,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
    session: aiohttp.ClientSession | None = None,
) -> AiohttpDriver:
    return AiohttpDriver(
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive_connections,
        session=session,
    )
