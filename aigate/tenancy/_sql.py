"""`SQLKeyStore`: the key store's logic, written once as step programs over SQL tables;
`SQLiteKeyStore` and `PostgresKeyStore` only drive them."""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from .._closing import Closing
from .._exceptions import ConfigurationError
from .._sqlsteps import Program
from ..budget._limits import Limit, RateLimit, parse_limits
from ._errors import InvalidKeyError, KeyExpiredError, KeyNotFoundError, KeyRevokedError
from ._model import PEPPER_ENV, TENANT_KINDS, UTC, Tenant, VirtualKey, _dt, _ts

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["SQLKeyStore"]

T = TypeVar("T")

_SECRET = re.compile(r"^gk_[A-Za-z0-9_-]{43,}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
_PEPPER_CHECK = b"aigate:pepper-check"

_KEY_COLUMNS = (
    "id, digest, name, org, project, user_id, models, limits, rate_limit,"
    " created_at, expires_at, revoked_at"
)
_TENANT_COLUMNS = "kind, name, parent, limits, rate_limit, created_at"


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


def _key_row(row: Sequence[Any]) -> VirtualKey:
    models = json.loads(row[6]) if row[6] is not None else None
    rate = json.loads(row[8]) if row[8] is not None else None
    created = _dt(row[9])
    assert created is not None
    return VirtualKey(
        id=row[0],
        name=row[2],
        org=row[3],
        project=row[4],
        user=row[5],
        models=None if models is None else tuple(models),
        limits=parse_limits(json.loads(row[7])),
        rate_limit=RateLimit.parse(rate),
        created_at=created,
        expires_at=_dt(row[10]),
        revoked_at=_dt(row[11]),
    )


def _tenant_row(row: Sequence[Any]) -> Tenant:
    created = _dt(row[5])
    assert created is not None
    return Tenant(
        kind=row[0],
        name=row[1],
        parent=row[2],
        limits=parse_limits(json.loads(row[3])),
        rate_limit=RateLimit.parse(json.loads(row[4]) if row[4] is not None else None),
        created_at=created,
    )


def _pepper(value: str | bytes | SecretStr | None, *, required: bool) -> bytes:
    if value is None:
        value = os.environ.get(PEPPER_ENV) or None
    if value is None:
        if required:
            raise ConfigurationError(
                f"virtual keys need a pepper: set {PEPPER_ENV} or pass pepper= (a secret of "
                "at least 16 characters, the same for every process using these keys)",
                field="keys.pepper",
            )
        return secrets.token_bytes(32)
    if not isinstance(value, (str, bytes)):
        value = value.get_secret_value()
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) < 16:
        raise ConfigurationError(
            "the virtual key pepper must have at least 16 characters", field="keys.pepper"
        )
    return raw


# Aliases: inside SQLKeyStore the name ``list`` is a method.
KeyList = list[VirtualKey]
TenantList = list[Tenant]
LimitList = list[Limit]


class SQLKeyStore(Closing):
    """Virtual keys and tenants in SQL tables ``{table}``, ``{table}_retired``,
    ``{table}_tenants`` and ``{table}_meta``; the logic is written once as step programs,
    driven by `SQLiteKeyStore` and `PostgresKeyStore`."""

    _ph = "?"

    def __init__(
        self,
        *,
        pepper: str | bytes | SecretStr | None,
        table: str,
        clock: Callable[[], float],
        pepper_required: bool = True,
    ) -> None:
        if not _NAME.match(table):
            raise ConfigurationError(
                f"key table {table!r} must be a plain SQL identifier", field="keys.table"
            )
        self.__pepper = _pepper(pepper, required=pepper_required)
        self.table = table
        self.clock = clock
        p = self._ph
        t = table
        self._schema_sql = [
            f"CREATE TABLE IF NOT EXISTS {t} ("
            " id TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, name TEXT, org TEXT,"
            " project TEXT, user_id TEXT, models TEXT, limits TEXT NOT NULL, rate_limit TEXT,"
            " created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION,"
            " revoked_at DOUBLE PRECISION)",
            f"CREATE TABLE IF NOT EXISTS {t}_retired ("
            " digest TEXT PRIMARY KEY, id TEXT NOT NULL,"
            " retired_at DOUBLE PRECISION NOT NULL, valid_until DOUBLE PRECISION NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t}_tenants ("
            " kind TEXT NOT NULL, name TEXT NOT NULL, parent TEXT, limits TEXT NOT NULL,"
            " rate_limit TEXT, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (kind, name))",
            f"CREATE TABLE IF NOT EXISTS {t}_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ]
        self._q = {
            "meta_put": f"INSERT INTO {t}_meta (name, value) VALUES ({p}, {p})"
            " ON CONFLICT (name) DO NOTHING",
            "meta_get": f"SELECT value FROM {t}_meta WHERE name = {p}",
            "insert": f"INSERT INTO {t} ({_KEY_COLUMNS}) VALUES ({', '.join([p] * 12)})",
            "by_digest": f"SELECT {_KEY_COLUMNS} FROM {t} WHERE digest = {p}",
            "by_id": f"SELECT {_KEY_COLUMNS} FROM {t} WHERE id = {p}",
            "list": f"SELECT {_KEY_COLUMNS} FROM {t} ORDER BY created_at, id",
            "revoke": f"UPDATE {t} SET revoked_at = {p} WHERE id = {p} AND revoked_at IS NULL",
            "redigest": f"UPDATE {t} SET digest = {p} WHERE id = {p}",
            "retire": f"INSERT INTO {t}_retired (digest, id, retired_at, valid_until)"
            f" VALUES ({p}, {p}, {p}, {p})",
            "retired": f"SELECT id, retired_at, valid_until FROM {t}_retired WHERE digest = {p}",
            "tenant_put": f"INSERT INTO {t}_tenants ({_TENANT_COLUMNS})"
            f" VALUES ({', '.join([p] * 6)}) ON CONFLICT (kind, name) DO UPDATE SET"
            " parent = excluded.parent, limits = excluded.limits,"
            " rate_limit = excluded.rate_limit",
            "tenant_get": f"SELECT {_TENANT_COLUMNS} FROM {t}_tenants"
            f" WHERE kind = {p} AND name = {p}",
            "tenant_list": f"SELECT {_TENANT_COLUMNS} FROM {t}_tenants ORDER BY kind, name",
            "tenant_delete": f"DELETE FROM {t}_tenants WHERE kind = {p} AND name = {p}",
            "tenant_scope": f"SELECT {_TENANT_COLUMNS} FROM {t}_tenants"
            f" WHERE (kind = 'org' AND name = {p}) OR (kind = 'project' AND name = {p})"
            f" OR (kind = 'user' AND name = {p}) ORDER BY kind, name",
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(table={self.table!r})"

    def _digest(self, secret: str) -> str:
        return hmac.new(self.__pepper, secret.encode(), "sha256").hexdigest()

    # -- drivers (SQLite: sync only; PostgreSQL: both) -------------------------------------

    def _run(self, make: Callable[[], Program[T]]) -> T:
        raise NotImplementedError

    async def _arun(self, make: Callable[[], Program[T]]) -> T:
        return self._run(make)

    # -- programs ----------------------------------------------------------------------------

    def _schema(self) -> Program[None]:
        for statement in self._schema_sql:
            yield (statement, ())
        check = hmac.new(self.__pepper, _PEPPER_CHECK, "sha256").hexdigest()[:16]
        yield (self._q["meta_put"], ("pepper_check", check))
        rows = yield (self._q["meta_get"], ("pepper_check",))
        if rows[0][0] != check:
            raise ConfigurationError(
                f"the key pepper differs from the one the keys in {self.table!r} were created "
                f"with; set {PEPPER_ENV} to the original pepper",
                field="keys.pepper",
            )

    def _now(self, now: float | None) -> float:
        return self.clock() if now is None else now

    def _create(
        self,
        project: str | None,
        user: str | None,
        org: str | None,
        budget: Any,
        rate_limit: RateLimit | Mapping[str, Any] | None,
        models: Sequence[str] | None,
        expires_at: datetime | timedelta | float | None,
        name: str | None,
    ) -> tuple[str, Callable[[], Program[VirtualKey]]]:
        at = self.clock()
        key_id = "vk_" + secrets.token_hex(8)
        secret = "gk_" + secrets.token_urlsafe(32)
        if isinstance(models, str):
            raise ConfigurationError("models must be a list of model patterns", field="models")
        key = VirtualKey(
            id=key_id,
            name=name,
            org=org,
            project=project,
            user=user,
            models=None if models is None else tuple(models),
            limits=parse_limits(budget, scope=f"key:{key_id}"),
            rate_limit=RateLimit.parse(rate_limit),
            created_at=datetime.fromtimestamp(at, UTC),
            expires_at=_dt(_ts(expires_at, at)),
        )
        row = (
            key.id,
            self._digest(secret),
            key.name,
            key.org,
            key.project,
            key.user,
            _json(None if key.models is None else list(key.models)),
            _json([limit.to_dict() for limit in key.limits]),
            _json(None if key.rate_limit is None else key.rate_limit.to_dict()),
            at,
            None if key.expires_at is None else key.expires_at.timestamp(),
            None,
        )

        def program() -> Program[VirtualKey]:
            yield (self._q["insert"], row)
            return key

        return secret, program

    def _verify(self, secret: str, at: float) -> Program[VirtualKey]:
        if not isinstance(secret, str) or not _SECRET.match(secret):
            raise InvalidKeyError("not an aigate virtual key (expected gk_ and 43+ characters)")
        digest = self._digest(secret)
        rows = yield (self._q["by_digest"], (digest,))
        if rows and hmac.compare_digest(str(rows[0][1]), digest):
            return _check(_key_row(rows[0]), at)
        rows = yield (self._q["retired"], (digest,))
        if not rows:
            raise InvalidKeyError("unknown virtual key")
        key_id, retired_at, valid_until = rows[0]
        if at >= valid_until:
            retired = _dt(retired_at)
            assert retired is not None
            raise KeyRevokedError(
                f"virtual key {key_id}: this secret was replaced at {retired.isoformat()}",
                key_id=key_id,
                revoked_at=retired,
            )
        rows = yield (self._q["by_id"], (key_id,))
        if not rows:
            raise InvalidKeyError("unknown virtual key")
        return _check(_key_row(rows[0]), at)

    def _get(self, key_id: str) -> Program[VirtualKey]:
        rows = yield (self._q["by_id"], (key_id,))
        if not rows:
            raise KeyNotFoundError(f"no virtual key {key_id!r}", key_id=key_id)
        return _key_row(rows[0])

    def _list(self, include_revoked: bool, at: float) -> Program[KeyList]:
        rows = yield (self._q["list"], ())
        keys = [_key_row(row) for row in rows]
        return keys if include_revoked else [k for k in keys if k.active(at)]

    def _revoke(self, key_id: str, at: float) -> Program[VirtualKey]:
        yield (self._q["revoke"], (at, key_id))
        return (yield from self._get(key_id))

    def _rotate(
        self, key_id: str, grace_s: float, at: float
    ) -> tuple[str, Callable[[], Program[VirtualKey]]]:
        secret = "gk_" + secrets.token_urlsafe(32)
        digest = self._digest(secret)

        def program() -> Program[VirtualKey]:
            rows = yield (self._q["by_id"], (key_id,))
            if not rows:
                raise KeyNotFoundError(f"no virtual key {key_id!r}", key_id=key_id)
            key = _key_row(rows[0])
            if key.revoked_at is not None:
                raise KeyRevokedError(
                    f"virtual key {key_id} is revoked and cannot be rotated",
                    key_id=key_id,
                    revoked_at=key.revoked_at,
                )
            yield (self._q["retire"], (rows[0][1], key_id, at, at + grace_s))
            yield (self._q["redigest"], (digest, key_id))
            return key

        return secret, program

    def _put_tenant(
        self,
        kind: str,
        name: str,
        parent: str | None,
        limits: Any,
        rate_limit: RateLimit | Mapping[str, Any] | None,
    ) -> Program[Tenant]:
        if kind not in TENANT_KINDS:
            raise ConfigurationError(
                f"tenant kind {kind!r} is not one of {', '.join(TENANT_KINDS)}",
                field="tenant.kind",
            )
        parsed = parse_limits(limits, scope=f"{kind}:{name}")
        rate = RateLimit.parse(rate_limit)
        row = (
            kind,
            name,
            parent,
            _json([limit.to_dict() for limit in parsed]),
            _json(None if rate is None else rate.to_dict()),
            self.clock(),
        )
        yield (self._q["tenant_put"], row)
        rows = yield (self._q["tenant_get"], (kind, name))
        return _tenant_row(rows[0])

    def _get_tenant(self, kind: str, name: str) -> Program[Tenant | None]:
        rows = yield (self._q["tenant_get"], (kind, name))
        return _tenant_row(rows[0]) if rows else None

    def _list_tenants(self, kind: str | None) -> Program[TenantList]:
        rows = yield (self._q["tenant_list"], ())
        tenants = [_tenant_row(row) for row in rows]
        return tenants if kind is None else [t for t in tenants if t.kind == kind]

    def _delete_tenant(self, kind: str, name: str) -> Program[bool]:
        rows = yield (self._q["tenant_get"], (kind, name))
        if rows:
            yield (self._q["tenant_delete"], (kind, name))
        return bool(rows)

    def _limits_for(self, scope: Mapping[str, str | None]) -> Program[LimitList]:
        wanted = [scope.get(kind) for kind in TENANT_KINDS]
        if not any(wanted):
            return []
        rows = yield (self._q["tenant_scope"], tuple(wanted))
        return [limit for row in rows for limit in _tenant_row(row).limits]

    # -- public API ------------------------------------------------------------------------

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
    ) -> tuple[str, VirtualKey]:
        """Issue a key; returns ``(secret, key)``. The secret is not kept: show it once.

        ``budget`` limits (mappings or `Limit` s, scope forced to ``key:<id>``),
        ``rate_limit`` ``{"rpm": .., "tpm": ..}``, ``models`` glob patterns,
        ``expires_at`` an aware datetime, a timedelta from now, or epoch seconds.
        """
        secret, make = self._create(
            project, user, org, budget, rate_limit, models, expires_at, name
        )
        return secret, self._run(make)

    async def acreate(
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
    ) -> tuple[str, VirtualKey]:
        """Async `create`."""
        secret, make = self._create(
            project, user, org, budget, rate_limit, models, expires_at, name
        )
        return secret, await self._arun(make)

    def verify(self, secret: str, *, now: float | None = None) -> VirtualKey:
        """The key for ``secret``; raises `InvalidKeyError`, `KeyRevokedError` or
        `KeyExpiredError` (messages name the key id at most, never the secret)."""
        return self._run(partial(self._verify, secret, self._now(now)))

    async def averify(self, secret: str, *, now: float | None = None) -> VirtualKey:
        """Async `verify`."""
        return await self._arun(partial(self._verify, secret, self._now(now)))

    def get(self, key_id: str) -> VirtualKey:
        """The key with this id (revoked or not); `KeyNotFoundError` if none."""
        return self._run(partial(self._get, key_id))

    async def aget(self, key_id: str) -> VirtualKey:
        """Async `get`."""
        return await self._arun(partial(self._get, key_id))

    def list(self, *, include_revoked: bool = True) -> KeyList:
        """Every key, oldest first (only active ones with ``include_revoked=False``)."""
        return self._run(partial(self._list, include_revoked, self.clock()))

    async def alist(self, *, include_revoked: bool = True) -> KeyList:
        """Async `list`."""
        return await self._arun(partial(self._list, include_revoked, self.clock()))

    def revoke(self, key_id: str) -> VirtualKey:
        """Revoke a key (idempotent: the first revocation time stays); returns it."""
        return self._run(partial(self._revoke, key_id, self.clock()))

    async def arevoke(self, key_id: str) -> VirtualKey:
        """Async `revoke`."""
        return await self._arun(partial(self._revoke, key_id, self.clock()))

    def rotate(self, key_id: str, *, grace_s: float = 0.0) -> tuple[str, VirtualKey]:
        """A new secret for the key; the old one stops working after ``grace_s``."""
        secret, make = self._rotate(key_id, grace_s, self.clock())
        return secret, self._run(make)

    async def arotate(self, key_id: str, *, grace_s: float = 0.0) -> tuple[str, VirtualKey]:
        """Async `rotate`."""
        secret, make = self._rotate(key_id, grace_s, self.clock())
        return secret, await self._arun(make)

    def put_tenant(
        self,
        kind: str,
        name: str,
        *,
        parent: str | None = None,
        limits: Iterable[Limit | Mapping[str, Any]] | Limit | Mapping[str, Any] | None = None,
        rate_limit: RateLimit | Mapping[str, Any] | None = None,
    ) -> Tenant:
        """Create or replace an org, project or user with its quotas (scope forced to
        ``<kind>:<name>``) and rate limit."""
        return self._run(partial(self._put_tenant, kind, name, parent, limits, rate_limit))

    def get_tenant(self, kind: str, name: str) -> Tenant | None:
        """The tenant, or None."""
        return self._run(partial(self._get_tenant, kind, name))

    async def aget_tenant(self, kind: str, name: str) -> Tenant | None:
        """Async `get_tenant`."""
        return await self._arun(partial(self._get_tenant, kind, name))

    def list_tenants(self, kind: str | None = None) -> TenantList:
        """Every tenant (of ``kind``), ordered by kind and name."""
        return self._run(partial(self._list_tenants, kind))

    def delete_tenant(self, kind: str, name: str) -> bool:
        """Remove a tenant; False if there was none."""
        return self._run(partial(self._delete_tenant, kind, name))

    def limits_for(self, scope: Mapping[str, str | None]) -> LimitList:
        """The quotas of the org, project and user in ``scope`` (one query)."""
        return self._run(partial(self._limits_for, scope))

    async def alimits_for(self, scope: Mapping[str, str | None]) -> LimitList:
        """Async `limits_for`."""
        return await self._arun(partial(self._limits_for, scope))

    def close(self) -> None:
        """Release the connection; a later call opens it again."""


def _check(key: VirtualKey, at: float) -> VirtualKey:
    if key.revoked_at is not None:
        raise KeyRevokedError(
            f"virtual key {key.id} was revoked at {key.revoked_at.isoformat()}",
            key_id=key.id,
            revoked_at=key.revoked_at,
        )
    if key.expires_at is not None and key.expires_at.timestamp() <= at:
        raise KeyExpiredError(
            f"virtual key {key.id} expired at {key.expires_at.isoformat()}",
            key_id=key.id,
            expires_at=key.expires_at,
        )
    return key
