"""``with`` and ``async with`` for every object that has ``close()`` and ``aclose()``."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Closing"]


class Closing:
    """Mixin: ``with obj:`` calls ``obj.close()``, ``async with obj:`` awaits ``aclose()``.

    Subclasses define ``close``; ``aclose`` defaults to it (right for local resources).
    """

    def close(self) -> None:
        """Release what the object holds."""

    async def aclose(self) -> None:
        """Async `close`; the default runs the sync one (local resources)."""
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
