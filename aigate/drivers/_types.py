"""The injectable transports and clients, for annotations (never imported at run time)."""

from __future__ import annotations

from typing import TypeAlias

import httpx
import httpx2

__all__ = ["AsyncClient", "AsyncTransport", "SyncClient", "SyncTransport"]

SyncTransport: TypeAlias = httpx.BaseTransport | httpx2.BaseTransport
AsyncTransport: TypeAlias = httpx.AsyncBaseTransport | httpx2.AsyncBaseTransport
SyncClient: TypeAlias = httpx.Client | httpx2.Client
AsyncClient: TypeAlias = httpx.AsyncClient | httpx2.AsyncClient
