"""In-process transports for httpx and httpx2: an official SDK's requests go to the gateway.

One transport object serves both HTTP libraries: it reads the request of whichever library
sent it and answers with that library's ``Response`` (openai 2.x uses httpx; openai >= 3
and anthropic >= 2 use httpx2). No socket is opened. These are the inbound edge's drivers:
the only modules of :mod:`aigate.sdk` that import an HTTP library.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, overload

import httpx

from .._exceptions import AigateError, ConfigurationError
from ._wire import (
    Answer,
    Invocation,
    Options,
    SdkRequest,
    failure,
    plan,
    stream_error_event,
    stream_headers,
    success,
    trailer,
)

try:  # httpx2 is optional: the openai 2.x line runs on httpx alone
    import httpx2
    from httpx2 import AsyncByteStream as _AsyncBytes2
    from httpx2 import SyncByteStream as _SyncBytes2
except ImportError:  # pragma: no cover - exercised by .ci/sdk-matrix (openai 2.x on httpx)
    httpx2 = None  # type: ignore[assignment]

    class _SyncBytes2:  # type: ignore[no-redef]
        pass

    class _AsyncBytes2:  # type: ignore[no-redef]
        pass


# The transports derive from httpx2's base classes where httpx2 is installed, httpx's
# otherwise: the SDKs on httpx2 refuse any object with an httpx class in its MRO, and
# httpx's clients do not check a transport's class at all (they only call it).
try:
    from httpx2 import AsyncBaseTransport as _AsyncBase
    from httpx2 import BaseTransport as _Base
except ImportError:  # pragma: no cover - exercised by .ci/sdk-matrix
    from httpx import AsyncBaseTransport as _AsyncBase  # type: ignore[assignment]
    from httpx import BaseTransport as _Base  # type: ignore[assignment]


if TYPE_CHECKING:
    from .._resources import AsyncGatewayAPI, GatewayAPI

__all__ = ["AsyncGatewayTransport", "GatewayTransport"]


def _lib(request: object) -> ModuleType:
    if httpx2 is not None and isinstance(request, httpx2.Request):
        return httpx2
    return httpx


def _sdk_request(request: Any, body: bytes) -> SdkRequest:
    # the library's own headers: a case-insensitive mapping, not copied on the hot path
    return SdkRequest(
        method=request.method, path=request.url.path, headers=request.headers, body=body
    )


def _response(lib: ModuleType, request: Any, answer: Answer) -> Any:
    if answer.fail is not None:
        error = lib.ReadTimeout if answer.fail == "timeout" else lib.ConnectError
        raise error(f"aigate: the provider call failed ({answer.fail})", request=request)
    return lib.Response(answer.status, headers=answer.headers, content=answer.body, request=request)


class _SyncEvents:
    """A sync aigate stream as SSE bytes; closing it closes (and records) the stream."""

    def __init__(self, stream: Any, invocation: Invocation) -> None:
        self._stream = stream
        self._invocation = invocation

    def __iter__(self) -> Iterator[bytes]:
        event = self._invocation.event
        try:
            for item in self._stream:
                data = event(item)
                if data is not None:
                    yield data
        except AigateError as exc:
            yield stream_error_event(exc, self._invocation.dialect)
            return
        yield trailer(self._stream.gateway)
        if self._invocation.done:
            yield self._invocation.done

    def close(self) -> None:
        self._stream.close()


class _AsyncEvents:
    """The async twin of :class:`_SyncEvents`."""

    def __init__(self, stream: Any, invocation: Invocation) -> None:
        self._stream = stream
        self._invocation = invocation

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if not hasattr(self._stream, "__aiter__"):  # a sync Gateway's: read in a worker thread
            import asyncio

            events = iter(_SyncEvents(self._stream, self._invocation))
            while (data := await asyncio.to_thread(next, events, None)) is not None:
                yield data
            return
        event = self._invocation.event
        try:
            async for item in self._stream:
                data = event(item)
                if data is not None:
                    yield data
        except AigateError as exc:
            yield stream_error_event(exc, self._invocation.dialect)
            return
        yield trailer(self._stream.gateway)
        if self._invocation.done:
            yield self._invocation.done

    async def aclose(self) -> None:
        if not hasattr(self._stream, "__aiter__"):
            import asyncio

            await asyncio.to_thread(self._stream.close)
            return
        close = getattr(self._stream, "aclose", None) or self._stream.close
        result = close()
        if inspect.isawaitable(result):
            await result


# Each library checks that a response's stream is its own kind of byte stream.
class _HttpxEvents(_SyncEvents, httpx.SyncByteStream):
    pass


class _Httpx2Events(_SyncEvents, _SyncBytes2):
    pass


class _AsyncHttpxEvents(_AsyncEvents, httpx.AsyncByteStream):
    pass


class _AsyncHttpx2Events(_AsyncEvents, _AsyncBytes2):
    pass


def _options(default_provider: str | None, gateway: Any) -> Options:
    if default_provider is not None and default_provider not in gateway.providers:
        raise ConfigurationError(
            f"default_provider: unknown provider {default_provider!r}; expected one of "
            f"{sorted(gateway.providers)}",
            field="default_provider",
        )
    return Options(default_provider=default_provider)


class GatewayTransport(_Base):
    """An httpx / httpx2 transport whose every request is answered by a :class:`Gateway`::

        openai.OpenAI(api_key="unused", base_url="http://aigate/v1",
                      http_client=httpx2.Client(transport=GatewayTransport(gw)))

    The gateway is not closed with the transport: it belongs to the caller."""

    def __init__(self, gateway: GatewayAPI, *, default_provider: str | None = None) -> None:
        self._gateway = gateway
        self._options = _options(default_provider, gateway)

    @overload
    def handle_request(self, request: httpx.Request) -> httpx.Response: ...
    @overload
    def handle_request(self, request: httpx2.Request) -> httpx2.Response: ...

    def handle_request(self, request: Any) -> Any:
        lib = _lib(request)
        sdk_request = _sdk_request(request, request.read())
        invocation = plan(sdk_request, self._options)
        if isinstance(invocation, Answer):
            return _response(lib, request, invocation)
        try:
            result = invocation.call(self._gateway)
        except Exception as exc:
            return _response(lib, request, failure(invocation, exc, sdk_request.path))
        if invocation.stream:
            return lib.Response(
                200,
                headers=stream_headers(result),
                stream=(_HttpxEvents if lib is httpx else _Httpx2Events)(result, invocation),
                request=request,
            )
        return _response(lib, request, success(invocation, result))

    def close(self) -> None:
        """Nothing to release: the gateway is the caller's."""

    def __repr__(self) -> str:
        return f"GatewayTransport({self._gateway!r})"


class AsyncGatewayTransport(_AsyncBase):
    """The async twin of :class:`GatewayTransport`, answered by an :class:`AsyncGateway`
    (natively) or by a sync :class:`Gateway` (each call in a worker thread, so the event
    loop never blocks)."""

    def __init__(
        self, gateway: AsyncGatewayAPI | GatewayAPI, *, default_provider: str | None = None
    ) -> None:
        self._gateway = gateway
        self._threaded = not gateway._asynchronous
        self._options = _options(default_provider, gateway)

    @overload
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response: ...
    @overload
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response: ...

    async def handle_async_request(self, request: Any) -> Any:
        lib = _lib(request)
        sdk_request = _sdk_request(request, await request.aread())
        invocation = plan(sdk_request, self._options)
        if isinstance(invocation, Answer):
            return _response(lib, request, invocation)
        try:
            if self._threaded:
                import asyncio

                result = await asyncio.to_thread(invocation.call, self._gateway)
            else:
                result = invocation.call(self._gateway)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as exc:
            return _response(lib, request, failure(invocation, exc, sdk_request.path))
        if invocation.stream:
            return lib.Response(
                200,
                headers=stream_headers(result),
                stream=(_AsyncHttpxEvents if lib is httpx else _AsyncHttpx2Events)(
                    result, invocation
                ),
                request=request,
            )
        return _response(lib, request, success(invocation, result))

    async def aclose(self) -> None:
        """Nothing to release: the gateway is the caller's."""

    def __repr__(self) -> str:
        return f"AsyncGatewayTransport({self._gateway!r})"
