"""Fixtures for the budget tests: every store backend, driven through sync or async methods."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aigate.budget import BaseBudgetStore, open_budget_store

BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("postgres", marks=pytest.mark.postgres),
]
SHARED = [  # backends that several processes can share
    "sqlite",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("postgres", marks=pytest.mark.postgres),
]


class Api:
    """A store driven through its sync methods or their ``a*`` twins, with the same calls."""

    def __init__(self, store: BaseBudgetStore, mode: str) -> None:
        self.store = store
        self.mode = mode
        self._loop = asyncio.new_event_loop() if mode == "async" else None

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._loop is None:
            return getattr(self.store, name)(*args, **kwargs)
        return self._loop.run_until_complete(getattr(self.store, "a" + name)(*args, **kwargs))

    def reserve(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("reserve", *args, **kwargs)

    def settle(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("settle", *args, **kwargs)

    def release(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("release", *args, **kwargs)

    def status(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("status", *args, **kwargs)

    def sweep(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("sweep", *args, **kwargs)

    def pending(self) -> list[str]:
        return self.store.pending()

    def close(self) -> None:
        if self._loop is None:
            self.store.close()
        else:
            self._loop.run_until_complete(self.store.aclose())
            self._loop.close()


def store_url(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/budget.db"
    if kind == "redis":
        # A prefix of its own: other test runs may share this Redis database.
        return f"{request.getfixturevalue('redis_url')}?prefix=test:{uuid.uuid4().hex[:12]}"
    return str(request.getfixturevalue("postgres_dsn"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=SHARED)
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a store that several processes can share."""
    return store_url(request, str(request.param), tmp_path)


@pytest.fixture(params=["sync", "async"])
def make_api(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[Callable[..., Api]]:
    """``make_api(**options)``: a store of the current backend. A second call opens a second
    client on the same data (the memory backend returns the same store)."""
    made: list[Api] = []
    url = store_url(request, backend, tmp_path)

    def make(**options: Any) -> Api:
        if backend == "memory" and made:
            return made[0]
        made.append(Api(open_budget_store(url, **options), str(request.param)))
        return made[-1]

    yield make
    for api in made:
        api.close()
