"""The base of the surfaces' models: openai's/anthropic's field names, extra fields kept,
aigate's :class:`~aigate.GatewayInfo` on a private attribute (never in ``model_dump``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PrivateAttr

from .._models import GatewayInfo

__all__ = ["SurfaceModel", "WithGateway"]


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
