"""``Gateway`` and ``AsyncGateway``: configuration once, OpenAI-shaped resources, two drivers.

All the logic lives in :class:`GatewayCore` and the flow generators in :mod:`aigate._flow`;
the two gateway classes differ only in how they perform effects (a blocking driver and
``time.sleep`` versus an asyncio driver and ``asyncio.sleep``; drivers are in
:mod:`aigate.drivers`, one per HTTP engine).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from . import drivers
from ._effects import Close, Effect, Flight, Flow, Read, Send, Sleep
from ._resources import (
    AsyncAudio,
    AsyncChat,
    AsyncEmbeddings,
    AsyncKeyedView,
    AsyncStream,
    AsyncUsageReports,
    Audio,
    Chat,
    Embeddings,
    KeyedView,
    Models,
    Stream,
    UsageReports,
)
from .config import GatewayConfig, load_config
from .providers import ProviderRuntime, Target
from .routing import Health

if TYPE_CHECKING:
    from .drivers._types import AsyncClient, AsyncTransport, SyncClient, SyncTransport
    from .realtime import Realtime
    from .surfaces import AsyncMessages, AsyncResponses, Messages, Responses

from ._core import GatewayCore

__all__ = ["AsyncGateway", "AsyncStream", "Gateway", "GatewayCore", "Stream"]

logger = logging.getLogger("aigate")
T = TypeVar("T")
_MAX_TARGET_CACHE = 4096
# Guards the first use of a lazily made surface: two threads must not make two (a
# Responses surface holds the stored conversations).
_SURFACES = threading.RLock()
S = TypeVar("S")


def conversations_url(config: GatewayConfig) -> str | None:
    """Where the Responses API stores conversations: ``conversations=``, else the ledger's
    database (its own ``?table=``/``?prefix=`` left out), else memory (None)."""
    if config.conversations is not None:
        return config.conversations
    ledger = config.ledger
    if ledger is None or ledger == "memory://":
        return None
    from .budget import split_options

    return split_options(ledger, ("table", "prefix"))[0]


class _Surface(Generic[S]):
    """A gateway attribute made on first use (so its module loads only then), once even
    when two threads reach it together; assignable (tests put stand-ins there)."""

    def __init__(self, name: str, doc: str, *, stored: bool = False) -> None:
        self._class = name  # in aigate.surfaces
        self._stored = stored  # it keeps conversations (see conversations_url)
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}"

    @overload
    def __get__(self, gateway: None, owner: type | None = None) -> _Surface[S]: ...
    @overload
    def __get__(self, gateway: _BaseGateway, owner: type | None = None) -> S: ...
    def __get__(self, gateway: _BaseGateway | None, owner: type | None = None) -> S | _Surface[S]:
        if gateway is None:
            return self
        made: S | None = gateway.__dict__.get(self._slot)
        if made is None:
            with _SURFACES:
                made = gateway.__dict__.get(self._slot)
                if made is None:
                    from . import surfaces

                    make = getattr(surfaces, self._class)
                    args = (conversations_url(gateway.config),) if self._stored else ()
                    made = gateway.__dict__[self._slot] = make(gateway, *args)
        return made

    def __set__(self, gateway: _BaseGateway, surface: S) -> None:
        gateway.__dict__[self._slot] = surface

    def made(self, gateway: _BaseGateway) -> S | None:
        """The surface if it was made (closing a gateway must not make one)."""
        found: S | None = gateway.__dict__.get(self._slot)
        return found


# -- drivers -------------------------------------------------------------------------------


def _fake_mounts(core: GatewayCore, injected: object) -> dict[str, Any] | None:
    """Route each ``fake`` provider's host to an in-process :class:`~aigate.testing.FakeTransport`
    (its ``options.transport`` when given), so it answers without a socket. A gateway-wide
    ``transport=``/``http_client=`` serves the fake providers too: the caller's transport
    is the one they asked to see the calls."""
    fakes = [p for p in core.providers.values() if p.kind == "fake"]
    if not fakes:
        return None
    from .drivers.fake import FakeTransport

    mounts: dict[str, Any] = {}
    for provider in fakes:
        own = provider.options.get("transport")
        if own is None and injected is not None:
            continue
        scheme, _, rest = provider.base_url.partition("://")
        origin = f"{scheme}://{rest.partition('/')[0]}"
        mounts[origin] = own or FakeTransport()
    return mounts or None


def _injected(transport: object, http_client: object) -> object:
    return http_client if http_client is not None else transport


def _driver_settings(core: GatewayCore, transport: object, http_client: object) -> dict[str, Any]:
    config = core.config
    return {
        "transport": transport,
        "http_client": http_client,
        "mounts": _fake_mounts(core, _injected(transport, http_client)),
        "max_connections": config.max_connections,
        "max_keepalive_connections": config.max_keepalive_connections,
    }


class _BaseGateway:
    def __init__(
        self,
        config: GatewayConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        hooks: Any = None,
        observer: Any = None,
        tracing: bool = False,
        clock: Callable[[], float] | None = None,
        **settings: Any,
    ) -> None:
        if config is None:
            config = settings
        elif settings:
            base = load_config(config).model_dump(exclude_unset=True)
            config = {**base, **settings}
        self._core = GatewayCore(load_config(config))
        if clock is not None:  # breakers, cooldowns and rate windows read it (tests: FakeClock)
            self._core.router.clock = clock
        if observer is None and (hooks is not None or tracing):
            from .observe import Observer

            observer = Observer(hooks, tracing=tracing)
        self._core.observer = observer

    @property
    def config(self) -> GatewayConfig:
        return self._core.config

    @property
    def providers(self) -> Mapping[str, ProviderRuntime]:
        return self._core.providers

    @property
    def routes(self) -> Mapping[str, tuple[Target, ...]]:
        return self._core.routes

    def health(self) -> Health:
        """Each target's and key's circuit breaker (closed, open, half-open, dead) with what
        this process observed: latency, time to first token, calls in flight, key uses."""
        return self._core.router.health()

    @classmethod
    def from_file(cls: type[T], path: str | os.PathLike[str], **kwargs: Any) -> T:
        """A gateway from a ``.toml`` or ``.json`` file (same schema as the keywords)."""
        return cls(load_config(path), **kwargs)  # type: ignore[call-arg]

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any], **kwargs: Any) -> T:
        return cls(load_config(data), **kwargs)  # type: ignore[call-arg]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(providers={sorted(self._core.providers)}, "
            f"routes={sorted(self._core.routes)})"
        )


class Gateway(_BaseGateway):
    """The synchronous gateway. Call it like ``openai.OpenAI``::

        gw = aigate.Gateway(providers={"openai": {}}, routes={"fast": ["openai/gpt-4o-mini"]})
        r = gw.chat.completions.create(model="fast", messages=[{"role": "user", "content": "Hi"}])
        r.choices[0].message.content, r.gateway.cost_usd

    ``http="httpx"`` (the default) or ``"httpx2"`` picks the HTTP engine; ``transport`` or
    ``http_client`` inject an httpx or httpx2 transport/client (tests: MockTransport,
    respx, :class:`aigate.testing.FakeTransport`), which selects its library's engine;
    otherwise the gateway owns one pooled client, closed by :meth:`close`. ``sleep`` (what
    a retry waits with) and ``clock`` (what breakers, cooldowns and rate windows read) are
    there for tests: ``Gateway(..., sleep=clock.sleep, clock=clock)`` with a
    :class:`aigate.testing.FakeClock` runs retries and backoff in no real time.
    """

    _asynchronous: ClassVar[bool] = False
    responses: _Surface[Responses] = _Surface(
        "Responses", "OpenAI's Responses API over this gateway.", stored=True
    )
    messages: _Surface[Messages] = _Surface(
        "Messages", "Anthropic's Messages API over this gateway."
    )

    def __init__(
        self,
        config: GatewayConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        transport: SyncTransport | None = None,
        http_client: SyncClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(config, clock=clock, **settings)
        engine = drivers.choose(
            self.config.http, _injected(transport, http_client), asynchronous=False
        )
        settings_ = _driver_settings(self._core, transport, http_client)
        self._driver: drivers.SyncDriver = drivers.LazySyncDriver(
            engine, partial(drivers.sync_driver, engine, **settings_), self._install_driver
        )
        self._sleep = sleep
        # one leader per cache key; only a cache makes Flight effects (aigate.cache loads then)
        self._flights = _single_flight(False) if self._core.cache is not None else None
        self.chat = Chat(self)
        self.embeddings = Embeddings(self)
        self.audio = Audio(self)
        self.models = Models(self._core)
        self.usage = UsageReports(self._core)
        self.keys = self._core.keys

    def for_key(self, secret: str) -> KeyedView:
        """A view of this gateway whose calls run as the virtual key ``secret`` (the same as
        passing ``api_key=secret`` to every call)."""
        return KeyedView(self, secret)

    @property
    def http_engine(self) -> str:
        """The HTTP engine this gateway sends with: "httpx" or "httpx2"."""
        return self._driver.engine

    def _install_driver(self, driver: drivers.SyncDriver) -> None:
        self._driver = driver  # built on the first send: from now on, called directly

    def _perform(self, effect: Effect) -> Any:
        try:
            if isinstance(effect, Send):
                return self._driver.send(effect.request)
            if isinstance(effect, Read):
                if effect.whole:
                    return b"".join(effect.handle.iterator)
                return next(effect.handle.iterator, b"")
            if isinstance(effect, Close):
                effect.handle.response.close()
                return None
            if isinstance(effect, Sleep):
                self._sleep(effect.seconds)
                return None
            if isinstance(effect, Flight):
                flow = effect.flow
                if self._flights is None:  # a cache set after construction
                    self._flights = _single_flight(False)
                return self._flights.do(effect.key, lambda: self._run(flow), effect.timeout)
            return effect.sync(*effect.args, **effect.kwargs)
        except Exception as exc:  # handed to the flow, which decides what it means
            return exc

    def _run(self, flow: Flow[T]) -> T:
        perform = self._perform
        value: Any = None
        try:
            while True:
                value = perform(flow.send(value))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def transport(self, *, default_provider: str | None = None) -> Any:
        """An httpx / httpx2 transport answered by this gateway (docs/sdk.md)."""
        from .sdk import transport

        return transport(self, default_provider=default_provider)

    def async_transport(self, *, default_provider: str | None = None) -> Any:
        """An async httpx / httpx2 transport answered by this gateway (docs/sdk.md)."""
        from .sdk import async_transport

        return async_transport(self, default_provider=default_provider)

    def openai_client(self, **kwargs: Any) -> Any:
        """A real ``openai.OpenAI`` whose calls go through this gateway."""
        from .sdk import openai_client

        return openai_client(self, **kwargs)

    def async_openai_client(self, **kwargs: Any) -> Any:
        """A real ``openai.AsyncOpenAI`` whose calls go through this gateway."""
        from .sdk import async_openai_client

        return async_openai_client(self, **kwargs)

    def anthropic_client(self, **kwargs: Any) -> Any:
        """A real ``anthropic.Anthropic`` whose calls go through this gateway."""
        from .sdk import anthropic_client

        return anthropic_client(self, **kwargs)

    def async_anthropic_client(self, **kwargs: Any) -> Any:
        """A real ``anthropic.AsyncAnthropic`` whose calls go through this gateway."""
        from .sdk import async_anthropic_client

        return async_anthropic_client(self, **kwargs)

    def close(self) -> None:
        """Close the HTTP client (if the gateway made it) and the state stores."""
        responses = Gateway.responses.made(self)
        if responses is not None:
            responses.conversations.close()
        self._driver.close()
        if self._core.ledger is not None:
            self._core.ledger.close()
        if self._core.cache is not None:
            self._core.cache.close()
        if self._core.admission is not None:
            self._core.admission.close()
        if self._core.keys is not None:
            self._core.keys.close()
        self._core.router.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _single_flight(asynchronous: bool) -> Any:
    from .cache import AsyncSingleFlight, SingleFlight

    return AsyncSingleFlight() if asynchronous else SingleFlight()


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio  # lazily: asyncio costs milliseconds of import time sync users never need

    await asyncio.sleep(seconds)


class AsyncGateway(_BaseGateway):
    """The asyncio gateway: the same resources as :class:`Gateway`, awaited.

    Nothing blocks the event loop: HTTP goes through an asyncio engine (``http="aiohttp"``,
    the default when installed, ``"httpx"`` or ``"httpx2"``; an injected transport or
    client selects its library's) and state stores through their async methods.
    """

    _asynchronous: ClassVar[bool] = True
    responses: _Surface[AsyncResponses] = _Surface(
        "AsyncResponses", "The async Responses API.", stored=True
    )
    messages: _Surface[AsyncMessages] = _Surface("AsyncMessages", "The async Messages API.")

    def __init__(
        self,
        config: GatewayConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        transport: AsyncTransport | None = None,
        http_client: AsyncClient | None = None,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(config, clock=clock, **settings)
        engine = drivers.choose(
            self.config.http, _injected(transport, http_client), asynchronous=True
        )
        settings_ = _driver_settings(self._core, transport, http_client)
        self._driver: drivers.AsyncDriver = drivers.LazyAsyncDriver(
            engine, partial(drivers.async_driver, engine, **settings_), self._install_driver
        )
        self._sleep = sleep or _asyncio_sleep
        # one leader per cache key; only a cache makes Flight effects (aigate.cache loads then)
        self._flights = _single_flight(True) if self._core.cache is not None else None
        self.chat = AsyncChat(self)
        self.embeddings = AsyncEmbeddings(self)
        self.audio = AsyncAudio(self)
        self.models = Models(self._core)
        self.usage = AsyncUsageReports(self._core)
        self.keys = self._core.keys
        self._realtime: Realtime | None = None

    @property
    def realtime(self) -> Realtime:
        """Realtime (websocket) sessions: ``async with agw.realtime.connect(model=...)``."""
        from .realtime import Realtime

        if self._realtime is None:
            self._realtime = Realtime(self)
        return self._realtime

    async def ahealth(self) -> Health:
        """`health` without blocking the event loop: a shared (Redis) health store is read
        with its async client. (``health()`` reads it with a blocking call.)"""
        return await self._core.router.ahealth()

    def for_key(self, secret: str) -> AsyncKeyedView:
        """A view of this gateway whose calls run as the virtual key ``secret`` (the same as
        passing ``api_key=secret`` to every call)."""
        return AsyncKeyedView(self, secret)

    @property
    def http_engine(self) -> str:
        """The HTTP engine this gateway sends with: "aiohttp", "httpx" or "httpx2"."""
        return self._driver.engine

    def _install_driver(self, driver: drivers.AsyncDriver) -> None:
        self._driver = driver  # built on the first send: from now on, called directly

    async def _perform(self, effect: Effect) -> Any:
        try:
            if isinstance(effect, Send):
                return await self._driver.send(effect.request)
            if isinstance(effect, Read):
                if effect.whole:
                    return b"".join([part async for part in effect.handle.iterator])
                return await anext(effect.handle.iterator, b"")
            if isinstance(effect, Close):
                await effect.handle.response.aclose()
                return None
            if isinstance(effect, Sleep):
                await self._sleep(effect.seconds)
                return None
            if isinstance(effect, Flight):
                flow = effect.flow
                if self._flights is None:  # a cache set after construction
                    self._flights = _single_flight(True)
                return await self._flights.do(effect.key, lambda: self._run(flow), effect.timeout)
            return await effect.async_(*effect.args, **effect.kwargs)
        except Exception as exc:  # handed to the flow, which decides what it means
            return exc

    async def _run(self, flow: Flow[T]) -> T:
        perform = self._perform
        value: Any = None
        try:
            while True:
                value = await perform(flow.send(value))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def async_transport(self, *, default_provider: str | None = None) -> Any:
        """An async httpx / httpx2 transport answered by this gateway (docs/sdk.md)."""
        from .sdk import async_transport

        return async_transport(self, default_provider=default_provider)

    def async_openai_client(self, **kwargs: Any) -> Any:
        """A real ``openai.AsyncOpenAI`` whose calls go through this gateway."""
        from .sdk import async_openai_client

        return async_openai_client(self, **kwargs)

    def async_anthropic_client(self, **kwargs: Any) -> Any:
        """A real ``anthropic.AsyncAnthropic`` whose calls go through this gateway."""
        from .sdk import async_anthropic_client

        return async_anthropic_client(self, **kwargs)

    async def aclose(self) -> None:
        """Close the HTTP client (if the gateway made it) and the state stores."""
        responses = AsyncGateway.responses.made(self)
        if responses is not None:
            await responses.conversations.aclose()
        await self._driver.aclose()
        if self._core.ledger is not None:
            await self._core.ledger.aclose()
        if self._core.cache is not None:
            await self._core.cache.aclose()
        if self._core.admission is not None:
            await self._core.admission.aclose()
        if self._core.keys is not None:
            await self._core.keys.aclose()
        await self._core.router.aclose()

    async def __aenter__(self) -> AsyncGateway:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
