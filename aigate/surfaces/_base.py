"""The base of the surfaces' models: openai's/anthropic's field names, extra fields kept,
aigate's :class:`~aigate.GatewayInfo` on a private attribute (never in ``model_dump``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from .._models import GatewayInfo

__all__ = ["Event", "Obj", "OverChat", "SurfaceModel", "WithGateway"]


class SurfaceModel(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True, protected_namespaces=())


class WithGateway(SurfaceModel):
    _gateway: GatewayInfo | None = PrivateAttr(default=None)

    @property
    def gateway(self) -> GatewayInfo | None:
        """What aigate did for this call (provider, cost, attempts, latency...)."""
        return self._gateway

    @gateway.setter
    def gateway(self, value: GatewayInfo | None) -> None:
        self._gateway = value


class Obj:
    """A read-only view of wire data: fields as attributes (``event.delta.type``) and as
    items (``event.delta["type"]``); nested objects are views too, made on access."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return _view(self._data[name])
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def get(self, name: str, default: Any = None) -> Any:
        return self._data.get(name, default)

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """The data as plain JSON-like values (nested models dumped with ``kwargs``)."""
        return {
            k: v.model_dump(**kwargs) if isinstance(v, BaseModel) else v
            for k, v in self._data.items()
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Obj) and self._data == other._data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._data.items())
        return f"{type(self).__name__}({fields})"


def _view(value: Any) -> Any:
    if isinstance(value, dict):
        return Obj(value)
    if isinstance(value, list):
        return [_view(v) for v in value]
    return value


class Event(Obj):
    """One stream event: the SDK's fields as attributes (``event.type``, ``event.delta``),
    ``model_dump()`` for the wire form.

    A plain object over a dict rather than a pydantic model: a stream makes one per token,
    and building a model per event cost more than the rest of the translation.
    """

    __slots__ = ()

    @property
    def type(self) -> str:
        kind: str = self._data["type"]
        return kind

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._data.items() if k != "type")
        return f"{type(self).__name__}(type={self.type!r}, {fields})"


class OverChat:
    """A surface stream read from one chat stream: its ``gateway`` is the chat stream's
    (what aigate did: provider, cost, attempts), set once the stream has ended, as on a
    chat :class:`~aigate.Stream`."""

    _chat: Any

    @property
    def gateway(self) -> GatewayInfo | None:
        info: GatewayInfo | None = getattr(self._chat, "gateway", None)
        return info
