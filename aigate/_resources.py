"""The OpenAI-shaped resources of a gateway (``gw.chat.completions``, ``gw.embeddings``,
``gw.audio.transcriptions``, ``gw.models``, ``gw.usage``) and its stream objects.

Each resource method builds the call's flow in :class:`~aigate._gateway.GatewayCore` and
hands it to its gateway's driver; nothing here does I/O of its own.
"""

from __future__ import annotations

import builtins
import logging
import weakref
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

from typing_extensions import Self

from ._caching import ReplayStart
from ._effects import Call, Read
from ._exceptions import ConfigurationError
from ._flow import STOP, Emit, StreamStart, stream_flow
from ._host import AsyncHost, SyncHost
from ._models import (
    ChatCompletion,
    ChatCompletionChunk,
    CreateEmbeddingResponse,
    GatewayInfo,
    Transcription,
    Usage,
)

if TYPE_CHECKING:
    from ._core import GatewayCore
    from ._flow import StreamFlow

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

logger = logging.getLogger("aigate")


# -- streams -------------------------------------------------------------------------------
#
# A stream is read inside the flow (:func:`~aigate._flow.stream_flow`): these classes only
# drive it, sync or async, and hand out the chunks it emits. However a stream ends it is
# settled and recorded exactly once, with the usage read so far:
#
# - exhausted: recorded at its end (an interruption raises StreamInterrupted, recorded first);
# - ``close()`` / ``aclose()`` / ``with`` / ``async with``: recorded as cancelled;
# - dropped unfinished (``break`` then the object goes, the caller's own exception in the
#   loop): a finalizer records it as cancelled when the object is collected;
# - interpreter exit: the same finalizer runs at exit for every stream still open;
# - the task reading it cancelled (or Ctrl-C): recorded as cancelled, then re-raised.
#
# An async stream collected or open at exit has no event loop to await in: its record is
# written with the stores' blocking methods (a few milliseconds, on a path that only an
# abandoned stream takes).


class _Run:
    """One stream flow and where it stands; shared by the stream and its chunk iterator
    (never a reference back to the stream, so dropping the stream collects it at once)."""

    __slots__ = ("done", "flow", "info", "started")

    def __init__(self, flow: StreamFlow) -> None:
        self.flow = flow
        self.done = False
        self.started = False
        self.info: GatewayInfo | None = None

    def step(self, value: Any) -> Any:
        """Send ``value`` into the flow: the next effect or Emit, or None at the end."""
        if not self.started:
            self.started, value = True, None
        try:
            return self.flow.send(value)
        except StopIteration as stop:
            self.done = True
            self.info = stop.value
            return None
        except BaseException:
            self.done = True
            raise

    def stop(self, perform: Callable[[Any], Any]) -> None:
        """Stop reading and drive the flow to its record, with blocking effects."""
        if self.done:
            return
        effect = self.step(STOP)  # an unstarted flow gets None first, then its Emit a STOP
        while effect is not None:
            effect = self.step(STOP if isinstance(effect, Emit) else perform(effect))

    async def astop(self, perform: Callable[[Any], Any]) -> None:
        """`stop`, awaiting each effect."""
        if self.done:
            return
        effect = self.step(STOP)
        while effect is not None:
            effect = self.step(STOP if isinstance(effect, Emit) else await perform(effect))


def _perform_blocking(effect: Any) -> Any:
    """Effects without an event loop, for an async stream finished by its finalizer: store
    calls use their blocking methods; the response is left to its own finalizer."""
    if isinstance(effect, Call):
        try:
            return effect.sync(*effect.args, **effect.kwargs)
        except Exception as exc:  # handed to the flow, which decides what it means
            return exc
    if isinstance(effect, Read):
        return STOP
    return None


def _abandoned(run: _Run, perform: Callable[[Any], Any]) -> None:
    """The finalizer of a stream dropped (or open at exit) before its end."""
    if run.done:
        return
    try:
        run.stop(perform)
    except Exception:  # a finalizer must not raise; the failure is logged, never silent
        logger.exception("recording an abandoned stream failed")


def _sync_chunks(
    run: _Run, perform: Callable[[Any], Any], wrap: Callable[[Any], Any] | None = None
) -> Iterator[Any]:
    """What the flow emits, one at a time (each through ``wrap`` when given: a native
    stream's views), performing its effects in between."""
    effect = run.step(None)
    try:
        while effect is not None:
            if type(effect) is Emit:
                if wrap is None:
                    yield from effect.chunks
                else:
                    for chunk in effect.chunks:
                        yield wrap(chunk)
                effect = run.step(None)
            else:
                effect = run.step(perform(effect))
    except (KeyboardInterrupt, SystemExit):
        run.stop(perform)
        raise


T = TypeVar("T")


class _SyncRunner(Generic[T]):
    """A stream flow driven without an event loop, what every sync stream is (the chat
    :class:`Stream` and the surfaces' native streams): iterate it for what the flow emits
    (each through ``wrap`` when given); ``close()`` / ``with`` stop early, still recorded."""

    def __init__(
        self, perform: Callable[[Any], Any], flow: StreamFlow, wrap: Callable[[Any], T] | None
    ) -> None:
        self._run = _Run(flow)
        self._perform = perform
        self._iterator: Iterator[T] = _sync_chunks(self._run, perform, wrap)
        # On the iterator, which ``for chunk in create(...)`` keeps while the stream object
        # itself is already gone: the stream is abandoned when neither is left.
        weakref.finalize(self._iterator, _abandoned, self._run, perform)

    @property
    def gateway(self) -> GatewayInfo | None:
        """What the call cost and who answered; set once the stream has ended."""
        return self._run.info

    def __iter__(self) -> Iterator[T]:
        return self._iterator

    def __next__(self) -> T:
        return next(self._iterator)

    def close(self) -> None:
        """Stop reading; the tokens used so far are still recorded."""
        self._run.stop(self._perform)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _AsyncRunner(Generic[T]):
    """The async twin of :class:`_SyncRunner`: ``async for item in stream``;
    ``await stream.aclose()`` (or ``await stream.close()``, as openai's ``AsyncStream``
    spells it) stops early; ``async with`` closes it."""

    def __init__(
        self, perform: Callable[[Any], Any], flow: StreamFlow, wrap: Callable[[Any], T] | None
    ) -> None:
        self._run = _Run(flow)
        self._perform = perform
        self._wrap = wrap
        self._chunks: list[Any] = []
        self._next = 0
        weakref.finalize(self, _abandoned, self._run, _perform_blocking)

    @property
    def gateway(self) -> GatewayInfo | None:
        """What the call cost and who answered; set once the stream has ended."""
        return self._run.info

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        chunks, i = self._chunks, self._next
        if i < len(chunks):
            self._next = i + 1
            wrap = self._wrap
            return chunks[i] if wrap is None else wrap(chunks[i])
        run = self._run
        if run.done:
            raise StopAsyncIteration
        effect = run.step(None)
        try:
            while effect is not None:
                if type(effect) is Emit:
                    emitted: list[Any] = effect.chunks
                    self._chunks, self._next = emitted, 1
                    wrap = self._wrap
                    return emitted[0] if wrap is None else wrap(emitted[0])
                effect = run.step(await self._perform(effect))
        except BaseException as exc:
            if isinstance(exc, Exception):  # the stream's own failure, already recorded
                raise
            # A cancelled task (or Ctrl-C) is going away: record what it was sent, then let
            # the cancellation through.
            try:
                await run.astop(self._perform)
            except BaseException:
                run.stop(_perform_blocking)
            raise
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop reading; the tokens used so far are still recorded."""
        self._chunks, self._next = [], 0
        await self._run.astop(self._perform)

    close = aclose  # openai's AsyncStream.close is a coroutine too

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _ChatResults:
    """What the chat stream classes add: the usage so far and the assembled completion."""

    _start: StreamStart
    _run: _Run

    @property
    def usage(self) -> Usage | None:
        """The usage reported so far (complete once the stream is exhausted)."""
        return self._start.state.acc.usage

    def completion(self) -> ChatCompletion:
        """The chunks so far, assembled into one :class:`ChatCompletion`."""
        completion = self._start.state.acc.completion()
        completion.gateway = self._run.info
        return completion


class Stream(_ChatResults, _SyncRunner[ChatCompletionChunk]):
    """A streamed chat completion: iterate it for :class:`ChatCompletionChunk` objects.

    Close it (or use ``with``) to stop early; ``gateway`` is set when it ends. A stream is
    recorded once however it ends, even dropped unfinished or open at exit.
    """

    def __init__(self, gateway: SyncHost, start: StreamStart) -> None:
        self._start = start
        super().__init__(gateway._perform, stream_flow(gateway._core, start), None)


class AsyncStream(_ChatResults, _AsyncRunner[ChatCompletionChunk]):
    """The async twin of :class:`Stream`: ``async for chunk in stream``.

    ``await stream.aclose()`` (or ``await stream.close()``, as openai's ``AsyncStream``
    spells it) stops early; ``async with`` closes it.
    """

    def __init__(self, gateway: AsyncHost, start: StreamStart) -> None:
        self._start = start
        super().__init__(gateway._perform, stream_flow(gateway._core, start), None)


class ReplayStream:
    """A stream served from the cache: the stored chunks, replayed. Its call was recorded
    when the cache answered (cost 0, the saving noted), so closing it records nothing."""

    def __init__(self, start: ReplayStart) -> None:
        self._start = start
        self.gateway: GatewayInfo | None = start.gateway
        self.usage = start.usage

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return iter(self._start.chunks)

    def completion(self) -> ChatCompletion:
        return self._start.completion

    def close(self) -> None:
        """Nothing to release: the chunks are in memory."""

    def __enter__(self) -> ReplayStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncReplayStream:
    """The async twin of :class:`ReplayStream`: ``close`` and ``aclose`` are awaitable."""

    def __init__(self, start: ReplayStart) -> None:
        self._start = start
        self.gateway: GatewayInfo | None = start.gateway
        self.usage = start.usage

    async def __aiter__(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        for chunk in self._start.chunks:
            yield chunk

    def completion(self) -> ChatCompletion:
        return self._start.completion

    async def aclose(self) -> None:
        """Nothing to release: the chunks are in memory."""

    close = aclose

    async def __aenter__(self) -> AsyncReplayStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# -- resources (openai's namespaces) --------------------------------------------------------


# The resources' own imports sit here, below the stream classes, so that the two halves of
# this file can change independently (the lead may hoist them to the top at merge).
import copy  # noqa: E402
from collections.abc import Iterable, Mapping, Sequence  # noqa: E402
from datetime import date  # noqa: E402

from typing_extensions import Unpack  # noqa: E402

if TYPE_CHECKING:
    from decimal import Decimal

    from .ledger import LedgerRecord, SafeLedger, SummaryRow
    from .ledger._base import When
    from .pricing import Catalog, ModelInfo
    from .providers import ProviderRuntime, Target
    from .types.audio import TranscriptionCreateParams
    from .types.chat import (
        CompletionCreateParamsMaybeStreaming,
        CompletionCreateParamsNonStreaming,
        CompletionCreateParamsStreaming,
    )
    from .types.embeddings import EmbeddingCreateParams


class Completions:
    """``gw.chat.completions``: openai's ``chat.completions`` (parameters typed in
    :mod:`aigate.types.chat`)."""

    def __init__(self, gateway: SyncHost) -> None:
        self._gateway = gateway

    @overload
    def create(self, **kwargs: Unpack[CompletionCreateParamsNonStreaming]) -> ChatCompletion: ...
    @overload
    def create(self, **kwargs: Unpack[CompletionCreateParamsStreaming]) -> Stream: ...
    @overload
    def create(
        self, **kwargs: Unpack[CompletionCreateParamsMaybeStreaming]
    ) -> ChatCompletion | Stream: ...

    # The overloads carry the types; the body takes the dict as is (checked in _validate.py),
    # so typing costs nothing per call.
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
    """The async twin of :class:`Completions`."""

    def __init__(self, gateway: AsyncHost) -> None:
        self._gateway = gateway

    @overload
    async def create(
        self, **kwargs: Unpack[CompletionCreateParamsNonStreaming]
    ) -> ChatCompletion: ...
    @overload
    async def create(self, **kwargs: Unpack[CompletionCreateParamsStreaming]) -> AsyncStream: ...
    @overload
    async def create(
        self, **kwargs: Unpack[CompletionCreateParamsMaybeStreaming]
    ) -> ChatCompletion | AsyncStream: ...

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
    def __init__(self, gateway: SyncHost) -> None:
        self.completions = Completions(gateway)


class AsyncChat:
    def __init__(self, gateway: AsyncHost) -> None:
        self.completions = AsyncCompletions(gateway)


class Embeddings:
    """``gw.embeddings``: openai's ``embeddings`` (:mod:`aigate.types.embeddings`)."""

    def __init__(self, gateway: SyncHost) -> None:
        self._gateway = gateway

    def create(self, **kwargs: Unpack[EmbeddingCreateParams]) -> CreateEmbeddingResponse:
        """``openai``'s ``embeddings.create``."""
        return self._gateway._run(self._gateway._core.embeddings_flow(kwargs))  # type: ignore[arg-type]


class AsyncEmbeddings:
    def __init__(self, gateway: AsyncHost) -> None:
        self._gateway = gateway

    async def create(self, **kwargs: Unpack[EmbeddingCreateParams]) -> CreateEmbeddingResponse:
        """``openai``'s ``embeddings.create``."""
        return await self._gateway._run(self._gateway._core.embeddings_flow(kwargs))  # type: ignore[arg-type]


class Transcriptions:
    """``gw.audio.transcriptions``: openai's (:mod:`aigate.types.audio`)."""

    def __init__(self, gateway: SyncHost) -> None:
        self._gateway = gateway

    def create(self, **kwargs: Unpack[TranscriptionCreateParams]) -> Transcription:
        """``openai``'s ``audio.transcriptions.create`` (multipart upload)."""
        return self._gateway._run(self._gateway._core.transcription_flow(kwargs))  # type: ignore[arg-type]


class AsyncTranscriptions:
    def __init__(self, gateway: AsyncHost) -> None:
        self._gateway = gateway

    async def create(self, **kwargs: Unpack[TranscriptionCreateParams]) -> Transcription:
        """``openai``'s ``audio.transcriptions.create`` (multipart upload)."""
        return await self._gateway._run(self._gateway._core.transcription_flow(kwargs))  # type: ignore[arg-type]


class Audio:
    def __init__(self, gateway: SyncHost) -> None:
        self.transcriptions = Transcriptions(gateway)


class AsyncAudio:
    def __init__(self, gateway: AsyncHost) -> None:
        self.transcriptions = AsyncTranscriptions(gateway)


def _as_key(resource: Any, secret: str) -> Any:
    """A copy of ``resource`` whose ``create`` passes ``api_key=secret``. The secret lives
    in the closure only: never an attribute, never in a ``repr``."""
    bound = copy.copy(resource)
    create: Callable[..., Any] = resource.create

    def create_as_key(**kwargs: Any) -> Any:
        return create(api_key=secret, **kwargs)

    create_as_key.__doc__ = create.__doc__
    bound.create = create_as_key
    return bound


class _KeyedBase:
    # ``gateway`` is a Gateway or an AsyncGateway; each subclass declares which resources
    # that gives it.
    def __init__(self, gateway: Any, secret: str) -> None:
        chat = copy.copy(gateway.chat)
        chat.completions = _as_key(gateway.chat.completions, secret)
        self.chat = chat
        self.embeddings = _as_key(gateway.embeddings, secret)
        self.models = gateway.models
        self.usage = gateway.usage

    def __repr__(self) -> str:
        return f"{type(self).__name__}(gk_***)"


class KeyedView(_KeyedBase):
    """``gw.for_key(secret)``: the gateway's resources, every call made as one virtual key
    (the same as passing ``api_key=secret`` to each call)."""

    chat: Chat
    embeddings: Embeddings
    models: Models
    usage: UsageReports


class AsyncKeyedView(_KeyedBase):
    """``async_gw.for_key(secret)``: the async twin of :class:`KeyedView`."""

    chat: AsyncChat
    embeddings: AsyncEmbeddings
    models: Models
    usage: AsyncUsageReports


class Models:
    """A model browser over the catalog (with this gateway's overrides) and its routes."""

    def __init__(self, core: GatewayCore) -> None:
        self._core = core

    def list(self) -> builtins.list[ModelInfo]:
        """Catalog entries for the kinds of provider this gateway has."""
        kinds = {p.kind for p in self._core.providers.values()} | set(self._core.providers)
        return [m for m in self._core.catalog if m.provider in kinds]

    def search(
        self,
        *,
        provider: str | None = None,
        capability: str | Iterable[str] | None = None,
        max_input_price: Decimal | str | int | float | None = None,
        min_context: int | None = None,
        text: str | None = None,
        mode: str | None = None,
    ) -> builtins.list[ModelInfo]:
        """``Catalog.search`` (capability, max_input_price, min_context, text, mode). A
        configured provider name matches its own overrides and its kind's catalog entries."""
        catalog: Catalog = self._core.catalog

        def found(provider: str | None) -> builtins.list[ModelInfo]:
            return catalog.search(
                provider=provider,
                capability=capability,
                max_input_price=max_input_price,
                min_context=min_context,
                text=text,
                mode=mode,
            )

        runtime = self._core.providers.get(provider) if provider is not None else None
        if runtime is None or runtime.kind == provider:
            return found(provider)
        return [*found(provider), *found(runtime.kind)]

    @property
    def snapshot_date(self) -> date | None:
        """The day the catalog's prices were taken (the newer of the packaged snapshot and
        a user price file from ``aigate prices update``); None when unknown."""
        found: date | None = self._core.catalog.snapshot_date
        return found

    def age_days(self) -> int | None:
        """Days since `snapshot_date` (a catalog older than 90 days warns once)."""
        age: int | None = self._core.catalog.age_days()
        return age

    def routes(self) -> dict[str, builtins.list[str]]:
        """Each route alias and its targets, in order."""
        return {alias: [t.name for t in ts] for alias, ts in self._core.routes.items()}


class _Reports:
    def __init__(self, core: GatewayCore) -> None:
        self._core = core

    def _ledger(self) -> SafeLedger:
        ledger: SafeLedger | None = self._core.ledger
        if ledger is None:
            raise ConfigurationError(
                "usage reports need a ledger: set ledger='sqlite:///aigate.db' (or memory://, "
                "postgresql://...) in the gateway config",
                field="ledger",
            )
        return ledger


class UsageReports(_Reports):
    """Usage and cost reports from the ledger (``gw.usage.summary(group_by=["model"])``).

    ``since``/``until`` take a ``date`` or ``datetime``; ``where`` filters on dimensions
    (``{"project": "acme"}``)."""

    def summary(
        self,
        *,
        since: When = None,
        until: When = None,
        group_by: Sequence[str] = (),
        where: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]:
        """Rows per group: requests, errors, tokens, cost, cache savings, latency p50/p95.
        ``group_by``: day, hour, month, model, provider, project, user, org, key, route,
        status, kind, ``meta:<tag>``."""
        return self._ledger().summary(since=since, until=until, group_by=group_by, where=where)

    def totals(
        self, *, since: When = None, until: When = None, where: Mapping[str, str] | None = None
    ) -> SummaryRow:
        """One row summing every call in the window."""
        return self._ledger().totals(since=since, until=until, where=where)

    def top_spenders(
        self,
        by: str = "user",
        n: int = 10,
        *,
        since: When = None,
        until: When = None,
        where: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]:
        """The ``n`` biggest spenders grouped ``by`` one dimension, most expensive first."""
        return self._ledger().top_spenders(by, n, since=since, until=until, where=where)

    def query(
        self,
        *,
        since: When = None,
        until: When = None,
        where: Mapping[str, str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[LedgerRecord]:
        """The ledger records themselves (one per call)."""
        return self._ledger().query(
            since=since, until=until, where=where, limit=limit, newest_first=newest_first
        )

    def get(self, call_id: str) -> LedgerRecord | None:
        """The record of one call (``response.gateway.call_id``), or ``None``."""
        return self._ledger().get(call_id)


class AsyncUsageReports(_Reports):
    """The async twin of :class:`UsageReports` (network ledgers are awaited)."""

    async def summary(
        self,
        *,
        since: When = None,
        until: When = None,
        group_by: Sequence[str] = (),
        where: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]:
        return await self._ledger().asummary(
            since=since, until=until, group_by=group_by, where=where
        )

    async def totals(
        self, *, since: When = None, until: When = None, where: Mapping[str, str] | None = None
    ) -> SummaryRow:
        return await self._ledger().atotals(since=since, until=until, where=where)

    async def top_spenders(
        self,
        by: str = "user",
        n: int = 10,
        *,
        since: When = None,
        until: When = None,
        where: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]:
        return await self._ledger().atop_spenders(by, n, since=since, until=until, where=where)

    async def query(
        self,
        *,
        since: When = None,
        until: When = None,
        where: Mapping[str, str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[LedgerRecord]:
        return await self._ledger().aquery(
            since=since, until=until, where=where, limit=limit, newest_first=newest_first
        )

    async def get(self, call_id: str) -> LedgerRecord | None:
        return await self._ledger().aget(call_id)


class GatewayAPI(SyncHost, Protocol):
    """A sync gateway as the surfaces and the SDK transports see it (:class:`~aigate.Gateway`)."""

    chat: Chat
    embeddings: Embeddings
    audio: Audio
    models: Models

    @property
    def routes(self) -> Mapping[str, tuple[Target, ...]]: ...

    @property
    def providers(self) -> Mapping[str, ProviderRuntime]: ...


class AsyncGatewayAPI(AsyncHost, Protocol):
    """The async twin of :class:`GatewayAPI` (:class:`~aigate.AsyncGateway`)."""

    chat: AsyncChat
    embeddings: AsyncEmbeddings
    audio: AsyncAudio
    models: Models

    @property
    def routes(self) -> Mapping[str, tuple[Target, ...]]: ...

    @property
    def providers(self) -> Mapping[str, ProviderRuntime]: ...
