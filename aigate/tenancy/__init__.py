"""Virtual keys and tenants: who is calling, and what they may spend.

```python
keys = open_key_store("sqlite:///.aigate/keys.db", pepper=os.environ["AIGATE_KEY_PEPPER"])
secret, key = keys.create(project="acme", user="u-42", models=["openai/gpt-4o*"],
                          budget=[{"amount": "5", "window": "day"}], rate_limit={"rpm": 60})
print(secret)                      # gk_...: shown once, never stored
key = keys.verify(secret)          # VirtualKey, or InvalidKeyError / KeyRevokedError / ...
key.scope()                        # {"project": "acme", "user": "u-42", "key": "vk_..."}
keys.put_tenant("org", "acme", limits=[{"amount": "1000", "window": "month"}])
```

**Secrets.** A secret is ``gk_`` and 32 random bytes (urlsafe base64). Only
HMAC-SHA-256(pepper, secret) is stored: the pepper is a server-side secret passed as
``pepper=`` or read from ``AIGATE_KEY_PEPPER`` (at least 16 characters), so a copy of
the database alone cannot even confirm a guessed key. No per-key salt is needed: a salt
defends low-entropy passwords against precomputed tables, and a 256-bit random secret
has no such weakness; without one the digest is an index, so `verify` is one lookup.
Digests are compared with `hmac.compare_digest`. The store remembers a check value of
its pepper and refuses to open with a different one (every key would otherwise become
"invalid" at once). A key's ``id`` (``vk_`` + 16 hex digits) is random too, unrelated to
the secret: errors and logs show the id, never any part of the secret.

**Rotation** issues a new secret for the same key id (so its budgets, rate limits and
ledger rows carry on) and retires the old secret, at once or after ``grace_s`` seconds.

**Tenants** are organisations, projects and users with their own quotas (limits) and
rate limits; `KeyStore.limits_for` gathers those that apply to a call's scope.

Backends: `MemoryKeyStore` (SQLite in memory; a random pepper if none is given),
`SQLiteKeyStore`, `PostgresKeyStore` (sync and ``a*`` async methods).

The package, a module per concern: ``_errors`` (the `VirtualKeyError` family), ``_model``
(`VirtualKey`, `Tenant`, the `KeyStore` protocol), ``_sql`` (`SQLKeyStore`, the logic as
step programs), ``_sqlite`` and ``_postgres`` (the backends that drive them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigurationError
from ._errors import (
    InvalidKeyError,
    KeyExpiredError,
    KeyNotFoundError,
    KeyRevokedError,
    ModelNotAllowedError,
    VirtualKeyError,
)
from ._model import PEPPER_ENV, TENANT_KINDS, KeyStore, Tenant, VirtualKey
from ._postgres import PostgresKeyStore
from ._sql import SQLKeyStore
from ._sql import _pepper as _pepper  # the CLI's config check
from ._sqlite import MemoryKeyStore, SQLiteKeyStore

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = [
    "PEPPER_ENV",
    "TENANT_KINDS",
    "InvalidKeyError",
    "KeyExpiredError",
    "KeyNotFoundError",
    "KeyRevokedError",
    "KeyStore",
    "MemoryKeyStore",
    "ModelNotAllowedError",
    "PostgresKeyStore",
    "SQLKeyStore",
    "SQLiteKeyStore",
    "Tenant",
    "VirtualKey",
    "VirtualKeyError",
    "open_key_store",
]


def open_key_store(
    url: str,
    *,
    pepper: str | bytes | SecretStr | None = None,
    field: str = "keys.store",
    **options: Any,
) -> SQLKeyStore:
    """A key store from a URL: ``memory://``, ``sqlite:///path.db``, ``postgresql://...``.

    Anything else raises `ConfigurationError` naming ``field``.
    """
    if url == "memory://":
        return MemoryKeyStore(pepper=pepper, **options)
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return SQLiteKeyStore(url[len("sqlite:///") :], pepper=pepper, **options)
    if url.startswith(("postgresql://", "postgres://")):
        from .._urls import require_package

        require_package("psycopg", field=field, url=url)
        return PostgresKeyStore(url, pepper=pepper, **options)
    from .._urls import describe_url

    shown = describe_url(url)
    raise ConfigurationError(
        f"key store URL {shown} is not supported; use memory://, sqlite:///<path> or postgresql://",
        field=field,
    )


# Shown as aigate.tenancy.X (reprs, pickles), as before the module became a package.
for _name in __all__:
    if isinstance(_cls := globals()[_name], type):
        _cls.__module__ = __name__
del _name, _cls
