"""The httpx2 engine (``Gateway(http="httpx2")``): httpx's successor, which openai >= 3 and
anthropic >= 2 use; chosen too when the injected transport or client is an httpx2 one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from ._httpx_like import HttpxAsyncDriver, HttpxSyncDriver, client_kwargs

__all__ = ["async_driver", "sync_driver"]


def sync_driver(
    *,
    transport: Any = None,
    http_client: httpx2.Client | None = None,
    mounts: Mapping[str, Any] | None = None,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
) -> HttpxSyncDriver:
    owns = http_client is None
    if http_client is None:
        http_client = httpx2.Client(
            transport=transport,
            mounts=mounts,
            **client_kwargs(httpx2, max_connections, max_keepalive_connections),
        )
    driver = HttpxSyncDriver(httpx2, http_client, owns)
    driver.engine = "httpx2"
    return driver


def async_driver(
    *,
    transport: Any = None,
    http_client: httpx2.AsyncClient | None = None,
    mounts: Mapping[str, Any] | None = None,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
) -> HttpxAsyncDriver:
    owns = http_client is None
    if http_client is None:
        http_client = httpx2.AsyncClient(
            transport=transport,
            mounts=mounts,
            **client_kwargs(httpx2, max_connections, max_keepalive_connections),
        )
    driver = HttpxAsyncDriver(httpx2, http_client, owns)
    driver.engine = "httpx2"
    return driver
