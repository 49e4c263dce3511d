"""The httpx engine (``Gateway(http="httpx")``): the default of :class:`~aigate.Gateway`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ._httpx_like import HttpxAsyncDriver, HttpxSyncDriver, client_kwargs

__all__ = ["async_driver", "sync_driver"]


def sync_driver(
    *,
    transport: Any = None,
    http_client: httpx.Client | None = None,
    mounts: Mapping[str, Any] | None = None,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
) -> HttpxSyncDriver:
    owns = http_client is None
    if http_client is None:
        http_client = httpx.Client(
            transport=transport,
            mounts=mounts,
            **client_kwargs(httpx, max_connections, max_keepalive_connections),
        )
    driver = HttpxSyncDriver(httpx, http_client, owns)
    driver.engine = "httpx"
    return driver


def async_driver(
    *,
    transport: Any = None,
    http_client: httpx.AsyncClient | None = None,
    mounts: Mapping[str, Any] | None = None,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
) -> HttpxAsyncDriver:
    owns = http_client is None
    if http_client is None:
        http_client = httpx.AsyncClient(
            transport=transport,
            mounts=mounts,
            **client_kwargs(httpx, max_connections, max_keepalive_connections),
        )
    driver = HttpxAsyncDriver(httpx, http_client, owns)
    driver.engine = "httpx"
    return driver
