"""The OpenAI-shaped resources of a gateway (``gw.chat.completions``, ``gw.embeddings``,
``gw.audio.transcriptions``, ``gw.models``, ``gw.usage``) and its stream objects.

Each resource method builds the call's flow in :class:`~aigate._gateway.GatewayCore` and
hands it to its gateway's driver; nothing here does I/O of its own.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx

from ._caching import ReplayStart
from ._exceptions import AigateError, ConfigurationError
from ._flow import StreamStart, finish_stream
from ._models import (
    ChatCompletion,
    ChatCompletionChunk,
    CreateEmbeddingResponse,
    GatewayInfo,
    Transcription,
    Usage,
)

if TYPE_CHECKING:
    from ._effects import Flow
    from ._gateway import AsyncGateway, Gateway, GatewayCore

__all__ = [
    "AsyncAudio",
    "AsyncChat",
    "AsyncEmbeddings",
    "AsyncReplayStream",
    "AsyncStream",
    "AsyncUsageReports",
    "Audio",
    "Chat",
    "Embeddings",
    "KeyedView",
    "Models",
    "ReplayStream",
    "Stream",
    "UsageReports",
]


# -- streams -------------------------------------------------------------------------------


class _StreamBase:
    """What both stream classes share: buffered chunks, the state, the final record."""

    def __init__(self, start: StreamStart) -> None:
        self._start = start
        self._done = False
        self.gateway: GatewayInfo | None = None

    @property
    def usage(self) -> Usage | None:
        """The usage reported so far (complete once the stream is exhausted)."""
        return self._start.state.acc.usage

    def completion(self) -> ChatCompletion:
        """The chunks so far, assembled into one :class:`ChatCompletion`."""
        completion = self._start.state.acc.completion()
        completion.gateway = self.gateway
        return completion

    def _finish(
        self, core: GatewayCore, error: BaseException | None, cancelled: bool = False
    ) -> Flow[GatewayInfo]:
        self._done = True
        return finish_stream(core, self._start, error, cancelled)


class Stream(_StreamBase):
    """A streamed chat completion: iterate it for :class:`ChatCompletionChunk` objects.

    Close it (or use ``with``) to stop early; ``gateway`` is set when it ends.
    """

    def __init__(self, gateway: Gateway, start: StreamStart) -> None:
        super().__init__(start)
        self._gateway = gateway
        self._iterator = self._iterate()

    def __iter__(self) -> Generator[ChatCompletionChunk, None, None]:
        return self._iterator

    def __next__(self) -> ChatCompletionChunk:
        return next(self._iterator)

    def _iterate(self) -> Generator[ChatCompletionChunk, None, None]:
        start = self._start
        yield from start.buffered
        start.buffered = []
        state = start.state
        feed = state.feed
        error: BaseException | None = None
        try:
            for data in start.handle.iterator:
                yield from feed(data)
            if not state.complete:
                yield from state.end()
        except (httpx.HTTPError, AigateError) as exc:
            error = exc
        finally:
            start.handle.response.close()
        if not self._done:
            self.gateway = self._gateway._run(self._finish(self._gateway._core, error))

    def close(self) -> None:
        """Stop reading; the used tokens are still recorded."""
        if not self._done:
            self._iterator.close()
            self._start.handle.response.close()
            if not self._done:
                self.gateway = self._gateway._run(
                    self._finish(self._gateway._core, None, cancelled=True)
                )

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncStream(_StreamBase):
    """The async twin of :class:`Stream`: ``async for chunk in stream``."""

    def __init__(self, gateway: AsyncGateway, start: StreamStart) -> None:
        super().__init__(start)
        self._gateway = gateway
        self._iterator = self._iterate()

    def __aiter__(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        return self._iterator

    async def __anext__(self) -> ChatCompletionChunk:
        return await anext(self._iterator)

    async def _iterate(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        start = self._start
        for chunk in start.buffered:
            yield chunk
        start.buffered = []
        state = start.state
        feed = state.feed
        error: BaseException | None = None
        try:
            async for data in start.handle.iterator:
                for chunk in feed(data):
                    yield chunk
            if not state.complete:
                for chunk in state.end():
                    yield chunk
        except (httpx.HTTPError, AigateError) as exc:
            error = exc
        finally:
            await start.handle.response.aclose()
        if not self._done:
            self.gateway = await self._gateway._run(self._finish(self._gateway._core, error))

    async def close(self) -> None:
        """Stop reading; the used tokens are still recorded."""
        if not self._done:
            await self._iterator.aclose()
            await self._start.handle.response.aclose()
            if not self._done:
                self.gateway = await self._gateway._run(
                    self._finish(self._gateway._core, None, cancelled=True)
                )

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class ReplayStream:
    """A stream served from the cache: the stored chunks, replayed."""

    def __init__(self, start: ReplayStart) -> None:
        self._start = start
        self.gateway: GatewayInfo | None = start.gateway
        self.usage = start.usage

    def __iter__(self) -> Generator[ChatCompletionChunk, None, None]:
        yield from self._start.chunks

    def completion(self) -> ChatCompletion:
        return self._start.completion

    def close(self) -> None:
        """Nothing to release: the chunks are in memory."""

    def __enter__(self) -> ReplayStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncReplayStream(ReplayStream):
    """The async twin of :class:`ReplayStream`."""

    async def __aiter__(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        for chunk in self._start.chunks:
            yield chunk

    async def aclose(self) -> None:
        """Nothing to release: the chunks are in memory."""

    async def __aenter__(self) -> AsyncReplayStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# -- resources (openai's namespaces) --------------------------------------------------------


class Completions:
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @overload
    def create(self, *, stream: Literal[False] = False, **kwargs: Any) -> ChatCompletion: ...
    @overload
    def create(self, *, stream: Literal[True], **kwargs: Any) -> Stream: ...
    @overload
    def create(self, *, stream: bool, **kwargs: Any) -> ChatCompletion | Stream: ...

    def create(self, **kwargs: Any) -> ChatCompletion | Stream:
        """``openai``'s ``chat.completions.create``: same parameters, same result shape."""
        gateway = self._gateway
        result = gateway._run(gateway._core.chat_flow(kwargs))
        if isinstance(result, StreamStart):
            return Stream(gateway, result)
        if isinstance(result, ReplayStart):
            return ReplayStream(result)  # type: ignore[return-value]
        return result  # type: ignore[no-any-return]


class AsyncCompletions:
    def __init__(self, gateway: AsyncGateway) -> None:
        self._gateway = gateway

    @overload
    async def create(self, *, stream: Literal[False] = False, **kwargs: Any) -> ChatCompletion: ...
    @overload
    async def create(self, *, stream: Literal[True], **kwargs: Any) -> AsyncStream: ...
    @overload
    async def create(self, *, stream: bool, **kwargs: Any) -> ChatCompletion | AsyncStream: ...

    async def create(self, **kwargs: Any) -> ChatCompletion | AsyncStream:
        """``openai``'s ``chat.completions.create``: same parameters, same result shape."""
        gateway = self._gateway
        result = await gateway._run(gateway._core.chat_flow(kwargs))
        if isinstance(result, StreamStart):
            return AsyncStream(gateway, result)
        if isinstance(result, ReplayStart):
            return AsyncReplayStream(result)  # type: ignore[return-value]
        return result  # type: ignore[no-any-return]


class Chat:
    def __init__(self, gateway: Gateway) -> None:
        self.completions = Completions(gateway)


class AsyncChat:
    def __init__(self, gateway: AsyncGateway) -> None:
        self.completions = AsyncCompletions(gateway)


class Embeddings:
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def create(self, **kwargs: Any) -> CreateEmbeddingResponse:
        """``openai``'s ``embeddings.create``."""
        return self._gateway._run(self._gateway._core.embeddings_flow(kwargs))


class AsyncEmbeddings:
    def __init__(self, gateway: AsyncGateway) -> None:
        self._gateway = gateway

    async def create(self, **kwargs: Any) -> CreateEmbeddingResponse:
        """``openai``'s ``embeddings.create``."""
        return await self._gateway._run(self._gateway._core.embeddings_flow(kwargs))


class Transcriptions:
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def create(self, **kwargs: Any) -> Transcription:
        """``openai``'s ``audio.transcriptions.create`` (multipart upload)."""
        return self._gateway._run(self._gateway._core.transcription_flow(kwargs))


class AsyncTranscriptions:
    def __init__(self, gateway: AsyncGateway) -> None:
        self._gateway = gateway

    async def create(self, **kwargs: Any) -> Transcription:
        """``openai``'s ``audio.transcriptions.create`` (multipart upload)."""
        return await self._gateway._run(self._gateway._core.transcription_flow(kwargs))


class Audio:
    def __init__(self, gateway: Gateway) -> None:
        self.transcriptions = Transcriptions(gateway)


class AsyncAudio:
    def __init__(self, gateway: AsyncGateway) -> None:
        self.transcriptions = AsyncTranscriptions(gateway)


class KeyedView:
    """``gw.for_key(secret)``: the gateway's resources, every call made as one virtual key.

    The secret is held in closures, never in an attribute or a ``repr``."""

    def __init__(self, gateway: Any, secret: str) -> None:
        from types import SimpleNamespace

        def bind(create: Callable[..., Any]) -> Callable[..., Any]:
            def create_as_key(**kwargs: Any) -> Any:
                return create(api_key=secret, **kwargs)

            create_as_key.__doc__ = create.__doc__
            return create_as_key

        self.chat = SimpleNamespace(
            completions=SimpleNamespace(create=bind(gateway.chat.completions.create))
        )
        self.embeddings = SimpleNamespace(create=bind(gateway.embeddings.create))
        self.models = gateway.models
        self.usage = gateway.usage

    def __repr__(self) -> str:
        return "KeyedView(gk_***)"


class Models:
    """A model browser over the catalog (with this gateway's overrides) and its routes."""

    def __init__(self, core: GatewayCore) -> None:
        self._core = core

    def list(self) -> builtins.list[Any]:
        """Catalog entries for the kinds of provider this gateway has."""
        kinds = {p.kind for p in self._core.providers.values()} | set(self._core.providers)
        return [m for m in self._core.catalog if m.provider in kinds]

    def search(self, *, provider: str | None = None, **filters: Any) -> builtins.list[Any]:
        """``Catalog.search`` (capability, max_input_price, min_context, text, mode). A
        configured provider name matches its own overrides and its kind's catalog entries."""
        catalog = self._core.catalog
        runtime = self._core.providers.get(provider) if provider is not None else None
        if runtime is None or runtime.kind == provider:
            found: builtins.list[Any] = catalog.search(provider=provider, **filters)
            return found
        return [
            *catalog.search(provider=provider, **filters),
            *catalog.search(provider=runtime.kind, **filters),
        ]

    def routes(self) -> dict[str, builtins.list[str]]:
        """Each route alias and its targets, in order."""
        return {alias: [t.name for t in ts] for alias, ts in self._core.routes.items()}


class _Reports:
    def __init__(self, core: GatewayCore) -> None:
        self._core = core

    def _ledger(self) -> Any:
        if self._core.ledger is None:
            raise ConfigurationError(
                "usage reports need a ledger: set ledger='sqlite:///aigate.db' (or memory://, "
                "postgresql://...) in the gateway config",
                field="ledger",
            )
        return self._core.ledger


class UsageReports(_Reports):
    """Usage and cost reports from the ledger (``gw.usage.summary(group_by=["model"])``)."""

    def summary(self, **kwargs: Any) -> list[Any]:
        """Rows per group: requests, errors, tokens, cost, cache savings, latency p50/p95.
        Takes ``since``, ``until``, ``group_by`` (day, hour, month, model, provider,
        project, user, org, key, route, status, kind, ``meta:<tag>``) and ``where``."""
        rows: list[Any] = self._ledger().summary(**kwargs)
        return rows

    def totals(self, **kwargs: Any) -> Any:
        return self._ledger().totals(**kwargs)

    def top_spenders(self, **kwargs: Any) -> list[Any]:
        rows: list[Any] = self._ledger().top_spenders(**kwargs)
        return rows

    def query(self, **kwargs: Any) -> list[Any]:
        records: list[Any] = self._ledger().query(**kwargs)
        return records

    def get(self, call_id: str) -> Any:
        return self._ledger().get(call_id)


class AsyncUsageReports(_Reports):
    """The async twin of :class:`UsageReports` (network ledgers are awaited)."""

    async def summary(self, **kwargs: Any) -> list[Any]:
        rows: list[Any] = await self._ledger().asummary(**kwargs)
        return rows

    async def totals(self, **kwargs: Any) -> Any:
        return await self._ledger().atotals(**kwargs)

    async def top_spenders(self, **kwargs: Any) -> list[Any]:
        rows: list[Any] = await self._ledger().atop_spenders(**kwargs)
        return rows

    async def query(self, **kwargs: Any) -> list[Any]:
        records: list[Any] = await self._ledger().aquery(**kwargs)
        return records

    async def get(self, call_id: str) -> Any:
        return await self._ledger().aget(call_id)
