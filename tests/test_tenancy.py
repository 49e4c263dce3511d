"""aigate.tenancy: virtual keys (create, verify, revoke, rotate, expire) and tenants, on every
backend and through both the sync and the async methods."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import pickle
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aigate import AigateError, ConfigurationError
from aigate.budget import Budgets, Limit, RateLimit
from aigate.tenancy import (
    PEPPER_ENV,
    InvalidKeyError,
    KeyExpiredError,
    KeyNotFoundError,
    KeyRevokedError,
    KeyStore,
    MemoryKeyStore,
    ModelNotAllowedError,
    SQLiteKeyStore,
    VirtualKey,
    VirtualKeyError,
    open_key_store,
)

UTC = timezone.utc
PEPPER = "test-pepper-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 1_714_521_600.0

    def __call__(self) -> float:
        return self.now


class Keys:
    """A key store driven through its sync methods or their ``a*`` twins."""

    def __init__(self, store: Any, mode: str, clock: Clock, where: str) -> None:
        self.store = store
        self.clock = clock
        self.where = where  # the backend's URL or path, to inspect what it stored
        self._loop = asyncio.new_event_loop() if mode == "async" else None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.store, name)
        twin = getattr(self.store, "a" + name, None)
        if self._loop is None or twin is None:
            return method  # type: ignore[no-any-return]
        loop = self._loop
        return lambda *a, **k: loop.run_until_complete(twin(*a, **k))

    def close(self) -> None:
        if self._loop is None:
            self.store.close()
        else:
            self._loop.run_until_complete(self.store.aclose())
            self._loop.close()


@pytest.fixture(
    params=[
        ("memory", "sync"),
        ("sqlite", "sync"),
        ("sqlite", "async"),
        pytest.param(("postgres", "sync"), marks=pytest.mark.postgres),
        pytest.param(("postgres", "async"), marks=pytest.mark.postgres),
    ],
    ids=lambda p: "-".join(p),
)
def make_keys(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Keys]]:
    kind, mode = request.param
    made: list[Keys] = []

    def make(**options: Any) -> Keys:
        clock = options.pop("clock", None) or Clock()
        options.setdefault("pepper", PEPPER)
        store: Any
        if kind == "memory":
            where, store = "", MemoryKeyStore(clock=clock, **options)
        elif kind == "sqlite":
            where = str(tmp_path / "keys.db")
            store = open_key_store(f"sqlite:///{where}", clock=clock, **options)
        else:
            where = request.getfixturevalue("postgres_dsn")
            store = open_key_store(where, clock=clock, **options)
        made.append(Keys(store, mode, clock, where))
        return made[-1]

    yield make
    for keys in made:
        keys.close()


def assert_hidden(secret: str, *things: Any) -> None:
    """Neither the secret nor any 12-character piece of it appears in ``things``."""
    pieces = {secret[i : i + 12] for i in range(3, len(secret) - 11)}
    for thing in things:
        for text in (str(thing), repr(thing)):
            assert secret not in text
            assert not any(piece in text for piece in pieces), text


class TestKeys:
    def test_create_and_verify(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        assert isinstance(keys.store, KeyStore)
        secret, key = keys.create(
            project="acme",
            user="u-42",
            org="o",
            budget=[{"amount": "5", "window": "day"}],
            rate_limit={"rpm": 60, "tpm": 10_000},
            models=["openai/gpt-4o*", "claude-*"],
            name="ci",
        )
        assert re.fullmatch(r"gk_[A-Za-z0-9_-]{43}", secret)
        assert re.fullmatch(r"vk_[0-9a-f]{16}", key.id)
        assert key.limits == (Limit(scope=f"key:{key.id}", amount="5", window="day"),)
        assert key.rate_limit == RateLimit(rpm=60, tpm=10_000)
        assert key.created_at == datetime.fromtimestamp(keys.clock.now, UTC)
        assert keys.verify(secret) == key
        assert keys.get(key.id) == key
        assert key.scope() == {"org": "o", "project": "acme", "user": "u-42", "key": key.id}
        assert_hidden(secret, key, key.scope())

    def test_each_key_is_different(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        made = [keys.create(user=f"u{i}") for i in range(5)]
        assert len({s for s, _ in made}) == len({k.id for _, k in made}) == 5
        for secret, key in made:
            assert keys.verify(secret).user == key.user
        assert [k.id for k in keys.list()] == [
            k.id for _, k in sorted(made, key=lambda m: m[1].created_at)
        ] or len(keys.list()) == 5

    def test_the_secret_is_never_stored(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        secret, key = keys.create(user="u1", name="stored?")
        stored = dump(keys)
        assert key.id in stored and "stored?" in stored
        assert_hidden(secret, stored)
        plain = hashlib.sha256(secret.encode()).hexdigest()
        assert plain not in stored  # peppered, not a bare hash
        peppered = hmac.new(PEPPER.encode(), secret.encode(), "sha256").hexdigest()
        assert peppered in stored

    @pytest.mark.parametrize(
        "bad",
        ["", "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH", "gk_short", None, 42],
    )
    def test_malformed(self, make_keys: Callable[..., Keys], bad: Any) -> None:
        keys = make_keys()
        with pytest.raises(InvalidKeyError) as info:
            keys.verify(bad)
        if isinstance(bad, str) and bad:
            assert_hidden(bad, info.value, info.value.args)

    def test_unknown_and_foreign_keys(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        other = MemoryKeyStore(pepper="another-pepper-0123456789")
        foreign, _ = other.create(user="x")
        for secret in (foreign, "gk_" + "A" * 43):
            with pytest.raises(InvalidKeyError) as info:
                keys.verify(secret)
            assert info.value.key_id is None
            assert_hidden(secret, info.value, info.value.args, pickle.dumps(info.value))

    def test_revoke(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        secret, key = keys.create(user="u1")
        kept, _ = keys.create(user="u2")
        revoked = keys.revoke(key.id)
        assert revoked.revoked_at == datetime.fromtimestamp(keys.clock.now, UTC)
        keys.clock.now += 50
        assert keys.revoke(key.id).revoked_at == revoked.revoked_at  # the first time stays
        with pytest.raises(KeyRevokedError) as info:
            keys.verify(secret)
        err = info.value
        assert isinstance(err, VirtualKeyError) and isinstance(err, AigateError)
        assert err.key_id == key.id and err.revoked_at == revoked.revoked_at
        assert key.id in str(err)
        assert_hidden(secret, err, err.args)
        assert [k.user for k in keys.list(include_revoked=False)] == ["u2"]
        assert len(keys.list()) == 2
        assert keys.verify(kept).user == "u2"
        with pytest.raises(KeyNotFoundError):
            keys.revoke("vk_0000000000000000")

    def test_expiry(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        secret, key = keys.create(user="u1", expires_at=timedelta(hours=1))
        assert key.expires_at == datetime.fromtimestamp(keys.clock.now + 3600, UTC)
        assert keys.verify(secret, now=keys.clock.now + 3599).id == key.id
        keys.clock.now += 3600
        with pytest.raises(KeyExpiredError) as info:
            keys.verify(secret)
        assert info.value.expires_at == key.expires_at and info.value.key_id == key.id
        assert_hidden(secret, info.value)
        assert keys.list(include_revoked=False) == []
        at = datetime(2030, 1, 1, tzinfo=UTC)
        assert keys.create(expires_at=at)[1].expires_at == at
        with pytest.raises(ValueError, match="aware"):
            keys.create(expires_at=datetime(2030, 1, 1))

    def test_rotate(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        old, key = keys.create(user="u1", budget={"amount": "1", "window": "day"})
        new, rotated = keys.rotate(key.id)
        assert new != old and rotated == key  # same id: budgets and history carry on
        assert keys.verify(new) == key
        with pytest.raises(KeyRevokedError, match="replaced") as info:
            keys.verify(old)
        assert_hidden(old, info.value)
        assert_hidden(new, info.value)
        with pytest.raises(KeyNotFoundError):
            keys.rotate("vk_0000000000000000")
        keys.revoke(key.id)
        with pytest.raises(KeyRevokedError):
            keys.rotate(key.id)

    def test_rotate_with_grace(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        old, key = keys.create(user="u1")
        new, _ = keys.rotate(key.id, grace_s=300)
        keys.clock.now += 299
        assert keys.verify(old).id == keys.verify(new).id == key.id
        keys.clock.now += 1
        with pytest.raises(KeyRevokedError):
            keys.verify(old)
        assert keys.verify(new).id == key.id

    def test_models(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        _, key = keys.create(models=["openai/gpt-4o*", "claude-3-5-*"])
        assert key.allows("gpt-4o-mini", "openai")
        assert key.allows("claude-3-5-sonnet", "anthropic")
        assert not key.allows("gpt-4o-mini", "azure")
        assert not key.allows("gpt-4o-mini")
        with pytest.raises(ModelNotAllowedError, match="azure/gpt-4o"):
            key.require_model("gpt-4o", "azure")
        _, anything = keys.create()
        assert anything.models is None and anything.allows("whatever")
        with pytest.raises(ConfigurationError):
            keys.create(models="gpt-4o")

    def test_bad_budget(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        with pytest.raises(ConfigurationError):
            keys.create(budget=[{"amount": "5"}])
        with pytest.raises(ConfigurationError):
            keys.create(rate_limit={"rpm": -1})
        assert keys.list() == []


class TestTenants:
    def test_crud(self, make_keys: Callable[..., Keys]) -> None:
        keys = make_keys()
        org = keys.put_tenant("org", "acme", limits=[{"amount": "100", "window": "month"}])
        assert org.limits == (Limit(scope="org:acme", amount="100", window="month"),)
        keys.put_tenant("project", "web", parent="acme", rate_limit={"rpm": 10})
        keys.put_tenant("user", "u1", parent="acme", limits={"amount": "2", "window": "day"})
        assert keys.get_tenant("project", "web").rate_limit == RateLimit(rpm=10)
        assert keys.get_tenant("project", "nope") is None
        assert [(t.kind, t.name) for t in keys.list_tenants()] == [
            ("org", "acme"),
            ("project", "web"),
            ("user", "u1"),
        ]
        assert [t.name for t in keys.list_tenants("user")] == ["u1"]
        updated = keys.put_tenant("org", "acme", limits=[{"amount": "50", "window": "month"}])
        assert updated.limits[0].amount == 50 and updated.created_at == org.created_at
        assert keys.delete_tenant("user", "u1") and not keys.delete_tenant("user", "u1")
        with pytest.raises(ConfigurationError):
            keys.put_tenant("team", "red")

    def test_limits_for_a_call(self, make_keys: Callable[..., Keys]) -> None:
        """A key's own budget and its tenants' quotas all apply to its calls."""
        keys = make_keys()
        keys.put_tenant("org", "acme", limits={"amount": "100", "window": "month"})
        keys.put_tenant("user", "u1", limits={"amount": "2", "window": "day"})
        keys.put_tenant("user", "u2", limits={"amount": "3", "window": "day"})
        secret, _ = keys.create(org="acme", user="u1", budget={"amount": "1", "window": "day"})
        key = keys.verify(secret)
        scope = key.scope()
        extra = [*key.limits, *keys.limits_for(scope)]
        charges = Budgets().plan(scope, estimate_nano=1, extra=extra)
        assert sorted(c.key.split("|")[0] for c in charges) == [
            "key:" + key.id,
            "org:acme",
            "user:u1",
        ]
        assert keys.limits_for({}) == []


class TestPepper:
    def test_required_for_files(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(PEPPER_ENV, raising=False)
        with pytest.raises(ConfigurationError) as info:
            SQLiteKeyStore(tmp_path / "k.db")
        assert info.value.field == "keys.pepper" and PEPPER_ENV in str(info.value)
        with pytest.raises(ConfigurationError, match="16"):
            SQLiteKeyStore(tmp_path / "k.db", pepper="short")

    def test_from_the_environment(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(PEPPER_ENV, PEPPER)
        with SQLiteKeyStore(tmp_path / "k.db") as store:
            secret, key = store.create(user="u1")
        with SQLiteKeyStore(tmp_path / "k.db", pepper=PEPPER.encode()) as store:
            assert store.verify(secret) == key

    def test_secret_str(self, tmp_path: Path) -> None:
        from pydantic import SecretStr

        store = SQLiteKeyStore(tmp_path / "k.db", pepper=SecretStr(PEPPER))
        secret, key = store.create()
        assert store.verify(secret) == key
        assert PEPPER not in repr(store)
        store.close()

    def test_a_changed_pepper_is_refused(self, tmp_path: Path) -> None:
        with SQLiteKeyStore(tmp_path / "k.db", pepper=PEPPER) as store:
            store.create(user="u1")
        with pytest.raises(ConfigurationError, match="pepper differs"):
            SQLiteKeyStore(tmp_path / "k.db", pepper="a-different-pepper-value")

    def test_memory_makes_one_up(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(PEPPER_ENV, raising=False)
        store = MemoryKeyStore()
        secret, key = store.create()
        assert store.verify(secret) == key
        with pytest.raises(InvalidKeyError):
            MemoryKeyStore().verify(secret)


def test_open_key_store(tmp_path: Path) -> None:
    assert isinstance(open_key_store("memory://"), MemoryKeyStore)
    assert isinstance(open_key_store(f"sqlite:///{tmp_path}/k.db", pepper=PEPPER), SQLiteKeyStore)
    with pytest.raises(ConfigurationError) as info:
        open_key_store("redis://:hunter2@localhost/0", pepper=PEPPER)
    assert info.value.field == "keys.store" and "hunter2" not in str(info.value)
    with pytest.raises(ConfigurationError):
        SQLiteKeyStore(tmp_path / "x.db", pepper=PEPPER, table="keys; drop")


def test_virtual_key_is_inert_data() -> None:
    key = VirtualKey(
        id="vk_1",
        name=None,
        org=None,
        project=None,
        user=None,
        models=None,
        limits=(),
        rate_limit=None,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        expires_at=datetime(2024, 2, 1, tzinfo=UTC),
    )
    assert key.active(datetime(2024, 1, 15, tzinfo=UTC).timestamp())
    assert not key.active(datetime(2024, 2, 1, tzinfo=UTC).timestamp())
    assert key.scope() == {"key": "vk_1"}


def dump(keys: Keys) -> str:
    """Everything the backend stored, as text."""
    store = keys.store
    if keys.where == "":
        return "\n".join(store._db._conn.iterdump())
    if not keys.where.startswith("postgresql"):
        store.close()
        data = b"".join(p.read_bytes() for p in Path(keys.where).parent.glob("keys.db*"))
        return data.decode("latin-1")
    import psycopg

    with psycopg.connect(keys.where) as conn:
        rows = []
        for table in ("aigate_keys", "aigate_keys_retired", "aigate_keys_meta"):
            rows += [str(r) for r in conn.execute(f"SELECT * FROM {table}").fetchall()]
    return "\n".join(rows)
