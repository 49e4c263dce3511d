"""What one call carries through the flow, and what the flow's steps need from the gateway.

A leaf of the core: the steps (admission, caching, recording, the stream flow) and routing
import it, and :class:`~aigate._core.GatewayCore` satisfies :class:`Core` structurally, so no
step imports the gateway that runs it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from ._models import Attempt

if TYPE_CHECKING:
    from ._effects import Flow
    from ._models import ChatCompletion, CreateEmbeddingResponse, GatewayInfo, Usage
    from ._wire import Response
    from .config import GatewayConfig
    from .ledger import SafeLedger
    from .observe import Observer
    from .pricing import ModelInfo
    from .providers._base import ApiKey, ChatCall, Target

__all__ = ["CallContext", "Core", "StreamCache", "call_id"]


#: Call ids drawn per batch: one ``os.urandom`` per call was a tenth of a plain call's own
#: time. Each id is still 16 random bytes from ``os.urandom``, used once. A list iterator's
#: ``next`` is atomic, so two threads never get the same id; a child process starts its own
#: batch (it must not hand out the ids its parent still holds).
_ID_BATCH = 256
_ids: Iterator[str] = iter(())


def _drop_ids() -> None:
    global _ids
    _ids = iter(())


def call_id() -> str:
    """A new call id: 32 hex digits of ``os.urandom``."""
    global _ids
    found = next(_ids, None)
    if found is None:
        raw = os.urandom(16 * _ID_BATCH).hex()
        ids = iter([raw[i : i + 32] for i in range(0, len(raw), 32)])
        found = next(ids)
        _ids = ids
    return found


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_ids)


@dataclass(slots=True)
class CallContext:
    """What one logical call carries from start to record."""

    kind: str  # "chat", "embedding", "transcription"
    targets: tuple[Target, ...]
    route: str | None
    metadata: dict[str, str]
    user: str | None
    stream: bool = False
    virtual_key: str | None = None
    span: Any = None  # the observer's span for this call, when tracing
    limits: tuple[Any, ...] = ()  # extra budget limits for this call (a virtual key's)
    reservation: Any = None  # the budget reservation held for this call
    rate_limits: tuple[tuple[str, int | None, int | None], ...] = ()  # (scope, rpm, tpm)
    request_id: str = field(default_factory=call_id)
    started: float = field(default_factory=time.perf_counter)
    attempts: list[Attempt] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


class StreamCache(Protocol):
    """The part of the gateway's cache a finished stream stores itself through."""

    def stream_entry(
        self, completion: ChatCompletion, chunks: list[Any], cost: Decimal | None
    ) -> dict[str, Any]: ...

    def store_result(self, decision: Any, entry: Mapping[str, Any]) -> Flow[None]: ...


class Core(Protocol):
    """What the flow's steps ask of the gateway core: model facts, pricing, recording."""

    config: GatewayConfig
    observer: Observer | None
    ledger: SafeLedger | None

    @property
    def cache(self) -> StreamCache | None: ...

    def catalog_entry(self, target: Target) -> ModelInfo | None: ...

    def estimate_usage(self, target: Target, call: ChatCall, text: str) -> Usage: ...

    def info(
        self,
        ctx: CallContext,
        target: Target,
        key: ApiKey | None,
        response: Response,
        usage: Usage | None,
        ttft_ms: float | None,
    ) -> GatewayInfo: ...

    def record(
        self,
        ctx: CallContext,
        info: GatewayInfo,
        usage: Usage | None,
        call: ChatCall | None,
        error: BaseException | None = None,
        result: Any = None,
    ) -> Flow[None]: ...

    def embeddings_flow(self, kwargs: dict[str, Any]) -> Flow[CreateEmbeddingResponse]: ...
