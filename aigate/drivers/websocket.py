"""The websocket driver for realtime sessions (aiohttp): the only realtime module that
imports an HTTP library, and the one place its errors become aigate's."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from .._exceptions import APIConnectionError, APITimeoutError
from ..realtime._errors import HandshakeError

__all__ = ["AiohttpConnector"]


class _Socket:
    """One open websocket: text frames in and out, ``None`` when the peer closed."""

    def __init__(self, session: Any, ws: Any) -> None:
        self._session = session
        self._ws = ws

    async def send(self, text: str) -> None:
        try:
            await self._ws.send_str(text)
            return
        except (ConnectionError, RuntimeError) as exc:  # aiohttp: closing transport
            name = type(exc).__name__
        raise APIConnectionError(f"realtime socket send failed: {name}")

    async def receive(self) -> str | None:
        """The next text frame; ``None`` after a clean close; a typed error after a drop."""
        import aiohttp

        while True:
            msg = await self._ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                return str(msg.data)
            if msg.type is aiohttp.WSMsgType.BINARY:
                return bytes(msg.data).decode("utf-8", "replace")
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING):
                code = self._ws.close_code
                if code in (1000, 1001, None):
                    return None
                raise APIConnectionError(f"realtime socket closed by the provider (code {code})")
            if msg.type is aiohttp.WSMsgType.CLOSED:
                code = self._ws.close_code
                if code in (1000, 1001):
                    return None
                raise APIConnectionError(
                    f"realtime socket dropped (close code {code})"
                    if code is not None
                    else "realtime socket dropped without a close frame"
                )
            if msg.type is aiohttp.WSMsgType.ERROR:
                raise APIConnectionError(
                    f"realtime socket error: {type(self._ws.exception()).__name__}"
                )
            # PING/PONG are answered by aiohttp itself

    async def close(self) -> None:
        try:
            await self._ws.close()
        finally:
            await self._session.close()


class AiohttpConnector:
    """Opens realtime websockets with aiohttp (``heartbeat`` keeps idle sessions alive)."""

    def __init__(self, heartbeat: float | None = 20.0) -> None:
        self.heartbeat = heartbeat

    async def __call__(self, url: str, headers: Mapping[str, str], timeout: float) -> _Socket:
        import aiohttp

        session = aiohttp.ClientSession()
        # The library's exceptions carry the request headers (the key): each is turned into
        # an aigate error *outside* its except block, so none is chained as __context__.
        error: APIConnectionError
        try:
            ws = await asyncio.wait_for(
                session.ws_connect(
                    url,
                    headers=dict(headers),
                    heartbeat=self.heartbeat,
                    max_msg_size=16 * 1024 * 1024,
                ),
                timeout,
            )
            return _Socket(session, ws)
        except aiohttp.WSServerHandshakeError as exc:
            error = HandshakeError(exc.status)
        except asyncio.TimeoutError:
            error = APITimeoutError("realtime connect timed out")
        except (aiohttp.ClientError, OSError) as exc:
            error = APIConnectionError(f"realtime connect failed: {type(exc).__name__}")
        except BaseException:
            await session.close()
            raise
        await session.close()
        raise error
