"""The errors of virtual keys: each names the key's id at most, never its secret."""

from __future__ import annotations

from datetime import datetime

from .._exceptions import AigateError

__all__ = [
    "InvalidKeyError",
    "KeyExpiredError",
    "KeyNotFoundError",
    "KeyRevokedError",
    "ModelNotAllowedError",
    "VirtualKeyError",
]


class VirtualKeyError(AigateError):
    """A virtual key was refused. ``key_id`` is the key's id when known, never the secret."""

    def __init__(self, message: str, *, key_id: str | None = None) -> None:
        super().__init__(message)
        self.key_id = key_id


class InvalidKeyError(VirtualKeyError):
    """Not a virtual key this store issued (malformed, unknown, or a different pepper)."""


class KeyRevokedError(VirtualKeyError):
    """The key was revoked, or this secret was replaced by `KeyStore.rotate`."""

    def __init__(self, message: str, *, key_id: str, revoked_at: datetime) -> None:
        super().__init__(message, key_id=key_id)
        self.revoked_at = revoked_at


class KeyExpiredError(VirtualKeyError):
    """The key's ``expires_at`` has passed."""

    def __init__(self, message: str, *, key_id: str, expires_at: datetime) -> None:
        super().__init__(message, key_id=key_id)
        self.expires_at = expires_at


class KeyNotFoundError(VirtualKeyError, LookupError):
    """No key has this id (admin operations: revoke, rotate, get)."""


class ModelNotAllowedError(VirtualKeyError):
    """The key may not call this model (see `VirtualKey.models`)."""
