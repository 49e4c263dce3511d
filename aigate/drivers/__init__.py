"""HTTP engines: the only modules that import an HTTP library, and the only sync/async twins.

A driver sends a neutral :class:`~aigate._wire.Request` and returns a neutral
:class:`~aigate._wire.Response` (or a :class:`~aigate._effects.StreamHandle` for a stream);
it maps its library's errors to aigate's once (timeouts to :class:`~aigate.APITimeoutError`,
every other transport failure to :class:`~aigate.APIConnectionError`) and enforces the
call's wall-clock deadline. Three engines pass one conformance suite (tests/drivers/):

============  =====================  ==========================================
``http=``     sync / async           chosen by default
============  =====================  ==========================================
``httpx``     both                   :class:`~aigate.Gateway`
``httpx2``    both                   an injected ``httpx2`` transport or client
``aiohttp``   async only             :class:`~aigate.AsyncGateway`
============  =====================  ==========================================

An injected ``transport=``/``http_client=`` selects its library's engine.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .._exceptions import ConfigurationError

if TYPE_CHECKING:
    from .._effects import StreamHandle
    from .._wire import Request, Response

__all__ = [
    "ENGINES",
    "AsyncDriver",
    "LazyAsyncDriver",
    "LazySyncDriver",
    "SyncDriver",
    "async_driver",
    "engine_of",
    "sync_driver",
]

ENGINES = ("httpx", "httpx2", "aiohttp")


class SyncDriver(Protocol):
    """Blocking sends. ``send`` raises aigate errors only."""

    engine: str

    def send(self, request: Request) -> Response | StreamHandle: ...

    def close(self) -> None: ...


class AsyncDriver(Protocol):
    """Awaited sends. ``send`` raises aigate errors only (and ``CancelledError``)."""

    engine: str

    async def send(self, request: Request) -> Response | StreamHandle: ...

    async def aclose(self) -> None: ...


class _Lazy:
    """The shared half of the lazy drivers: build once (under a lock, so two first calls
    on two threads share one client), hand the driver to ``install``, and remember a close
    that came before any send (a send after it then fails as on a closed client)."""

    def __init__(self, engine: str, make: Callable[[], Any], install: Callable[[Any], None]):
        self.engine = engine
        self._make = make
        self._install = install
        self._lock = threading.Lock()
        self._driver: Any = None
        self._closed = False

    def _build(self) -> Any:
        with self._lock:
            if self._driver is None:
                self._driver = self._make()
                self._install(self._driver)
            return self._driver


class LazySyncDriver(_Lazy):
    """A driver made on the first send: a gateway that never sends imports no HTTP library
    and builds no client or SSL context. ``install`` receives the real driver (the gateway
    then calls it directly, so later sends pay nothing for the laziness)."""

    def send(self, request: Request) -> Response | StreamHandle:
        driver = self._build()
        if self._closed:
            driver.close()
        result: Response | StreamHandle = driver.send(request)
        return result

    def close(self) -> None:
        self._closed = True
        if self._driver is not None:
            self._driver.close()


class LazyAsyncDriver(_Lazy):
    """`LazySyncDriver` for the async gateway (an aiohttp session is then also made inside
    the event loop that uses it)."""

    async def send(self, request: Request) -> Response | StreamHandle:
        driver = self._build()
        if self._closed:
            await driver.aclose()
        result: Response | StreamHandle = await driver.send(request)
        return result

    async def aclose(self) -> None:
        self._closed = True
        if self._driver is not None:
            await self._driver.aclose()


def engine_of(injected: object) -> str | None:
    """The engine an injected transport or client belongs to (by its classes' modules),
    or None when it is neither an httpx nor an httpx2 object."""
    if injected is None:
        return None
    for cls in type(injected).__mro__:
        root = cls.__module__.partition(".")[0]
        if root == "httpx2":
            return "httpx2"
        if root == "httpx":
            return "httpx"
        if root == "aiohttp":
            return "aiohttp"
    return None


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def choose(http: str | None, injected: object, *, asynchronous: bool) -> str:
    """The engine for a gateway: ``http`` when given (checked against what was injected),
    else the injected object's, else aiohttp for async (when installed) and httpx for sync."""
    found = engine_of(injected)
    if http is not None:
        if http not in ENGINES:
            raise ConfigurationError(
                f"http: unknown engine {http!r}; expected one of {list(ENGINES)}", field="http"
            )
        if http == "aiohttp" and not asynchronous:
            raise ConfigurationError(
                "http: aiohttp is async only; use it with AsyncGateway, or http='httpx' "
                "(or 'httpx2') with Gateway",
                field="http",
            )
        if found is not None and found != http:
            raise ConfigurationError(
                f"http: {http!r} was asked for but the injected transport/client is {found}'s",
                field="http",
            )
        engine = http
    elif found is not None:
        engine = found
    elif injected is not None:
        engine = "httpx"  # a duck-typed transport: httpx's protocol is the documented one
    elif asynchronous and _installed("aiohttp"):
        engine = "aiohttp"
    else:
        engine = "httpx"
    if not _installed(engine):
        raise ConfigurationError(
            f"http: the {engine} engine needs the {engine!r} package: pip install {engine}",
            field="http",
        )
    return engine


def sync_driver(
    engine: str,
    *,
    transport: Any = None,
    http_client: Any = None,
    mounts: Mapping[str, Any] | None = None,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
) -> SyncDriver:
    """A blocking driver on ``engine`` (httpx or httpx2)."""
    if engine == "httpx2":
        from . import httpx2 as module
    else:
        from . import httpx as module  # type: ignore[no-redef]
    return module.sync_driver(
        transport=transport,
        http_client=http_client,
        mounts=mounts,
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive_connections,
    )


def async_driver(
    engine: str,
    *,
    transport: Any = None,
    http_client: Any = None,
    mounts: Mapping[str, Any] | None = None,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
) -> AsyncDriver:
    """An asyncio driver on ``engine``. On aiohttp, ``mounts`` (in-process transports for
    fake providers, by origin) are served by an httpx driver beside it."""
    if engine == "aiohttp":
        from .aiohttp import async_driver as make

        main = make(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            session=http_client,
        )
        if not mounts:
            return main
        side = async_driver(
            engine_of(next(iter(mounts.values()))) or "httpx",
            transport=_Refuse(),
            mounts=mounts,
        )
        return _Mounted(main, side, tuple(mounts))
    if engine == "httpx2":
        from . import httpx2 as module
    else:
        from . import httpx as module  # type: ignore[no-redef]
    return module.async_driver(
        transport=transport,
        http_client=http_client,
        mounts=mounts,
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive_connections,
    )


class _Refuse:
    """The default transport of a side driver that only serves its mounts."""

    async def handle_async_request(self, request: Any) -> Any:  # pragma: no cover - routed away
        raise RuntimeError("no mount for this origin")

    async def aclose(self) -> None:
        return None


class _Mounted:
    """One async driver for mounted origins (fake providers), another for the rest."""

    def __init__(self, main: AsyncDriver, side: AsyncDriver, origins: tuple[str, ...]) -> None:
        self.engine = main.engine
        self._main = main
        self._side = side
        self._origins = origins

    async def send(self, request: Request) -> Response | StreamHandle:
        url = str(request.url)
        if url.startswith(self._origins):
            return await self._side.send(request)
        return await self._main.send(request)

    async def aclose(self) -> None:
        await self._main.aclose()
        await self._side.aclose()
