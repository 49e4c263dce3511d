"""Virtual keys and tenants as values, and the `KeyStore` protocol."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from typing import Any, Protocol, runtime_checkable

from ..budget._limits import Limit, RateLimit
from ._errors import ModelNotAllowedError

__all__ = ["PEPPER_ENV", "TENANT_KINDS", "KeyStore", "Tenant", "VirtualKey"]

PEPPER_ENV = "AIGATE_KEY_PEPPER"
TENANT_KINDS = ("org", "project", "user")
UTC = timezone.utc


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _ts(value: datetime | timedelta | float | None, now: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return now + value.total_seconds()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        return value.timestamp()
    return float(value)


@dataclass(frozen=True, slots=True)
class VirtualKey:
    """A virtual key as stored: everything but the secret (which is never stored).

    ``models`` are glob patterns matched against ``model`` and ``provider/model``
    (``None``: any model). ``limits`` are the key's own budgets (scope ``key:<id>``).
    """

    id: str
    name: str | None
    org: str | None
    project: str | None
    user: str | None
    models: tuple[str, ...] | None
    limits: tuple[Limit, ...]
    rate_limit: RateLimit | None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def scope(self) -> dict[str, str]:
        """The caller scope for `aigate.budget.Budgets.plan` and the ledger."""
        found = {"org": self.org, "project": self.project, "user": self.user, "key": self.id}
        return {k: v for k, v in found.items() if v is not None}

    def allows(self, model: str, provider: str | None = None) -> bool:
        """Whether the key may call ``model`` (of ``provider``)."""
        if self.models is None:
            return True
        names = [model] if provider is None else [model, f"{provider}/{model}"]
        return any(fnmatchcase(name, pattern) for pattern in self.models for name in names)

    def require_model(self, model: str, provider: str | None = None) -> None:
        """Raise `ModelNotAllowedError` unless the key may call ``model``."""
        if not self.allows(model, provider):
            shown = model if provider is None else f"{provider}/{model}"
            raise ModelNotAllowedError(
                f"virtual key {self.id} may not call {shown}", key_id=self.id
            )

    def active(self, now: float | None = None) -> bool:
        """Neither revoked nor expired at ``now`` (epoch seconds, default: now)."""
        at = time.time() if now is None else now
        expired = self.expires_at is not None and self.expires_at.timestamp() <= at
        return self.revoked_at is None and not expired


@dataclass(frozen=True, slots=True)
class Tenant:
    """An organisation, project or user (``kind``) with its quotas and rate limit."""

    kind: str
    name: str
    parent: str | None
    limits: tuple[Limit, ...]
    rate_limit: RateLimit | None
    created_at: datetime


@runtime_checkable
class KeyStore(Protocol):
    """Issues and checks virtual keys. ``create`` returns the secret once; ``verify``
    returns the key or raises a `VirtualKeyError` that never contains the secret."""

    def create(
        self,
        *,
        project: str | None = None,
        user: str | None = None,
        org: str | None = None,
        budget: Iterable[Limit | Mapping[str, Any]] | Limit | Mapping[str, Any] | None = None,
        rate_limit: RateLimit | Mapping[str, Any] | None = None,
        models: Sequence[str] | None = None,
        expires_at: datetime | timedelta | float | None = None,
        name: str | None = None,
    ) -> tuple[str, VirtualKey]: ...

    def verify(self, secret: str, *, now: float | None = None) -> VirtualKey: ...
