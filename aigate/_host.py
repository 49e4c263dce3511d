"""What the resources, the surfaces, the SDK transports and realtime sessions need of the
gateway that owns them.

They are built by :class:`~aigate.Gateway` / :class:`~aigate.AsyncGateway`, so they cannot
import :mod:`aigate._gateway` (a cycle); they hold a host typed by these protocols instead,
which the two gateway classes satisfy structurally.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

if TYPE_CHECKING:
    from ._core import GatewayCore
    from ._effects import Effect, Flow

__all__ = ["AsyncHost", "SyncHost"]

T = TypeVar("T")


class SyncHost(Protocol):
    """A gateway that performs effects with blocking calls."""

    _asynchronous: ClassVar[bool]

    @property
    def _core(self) -> GatewayCore: ...

    def _perform(self, effect: Effect) -> Any: ...

    def _run(self, flow: Flow[T]) -> T: ...


class AsyncHost(Protocol):
    """A gateway that awaits effects."""

    _asynchronous: ClassVar[bool]

    @property
    def _core(self) -> GatewayCore: ...

    async def _perform(self, effect: Effect) -> Any: ...

    async def _run(self, flow: Flow[T]) -> T: ...
