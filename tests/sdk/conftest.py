"""One test body for the sync and async SDK clients over aigate's in-process transport."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import aigate
from aigate.sdk import async_openai_client, openai_client
from aigate.testing import FakeTransport

MODEL = "openai/gpt-4o-mini"
HI = [{"role": "user", "content": "Hi"}]


class Sdk:
    """A gateway (Gateway or AsyncGateway, as ``mode`` says) on a fake provider, and the
    official ``openai`` client aigate builds over it. Async calls run in ``asyncio.run``."""

    def __init__(
        self,
        mode: str,
        fake: FakeTransport | None = None,
        client: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.mode = mode
        self.fake = fake if fake is not None else FakeTransport()
        settings: dict[str, Any] = {
            "providers": {"openai": {"api_keys": ["sk-test"]}},
            "routes": {"fast": [MODEL]},
            "transport": self.fake,
            **kwargs,
        }
        self.gw: Any
        if mode == "sync":
            self.gw = aigate.Gateway(**settings)
            self.client: Any = openai_client(self.gw, **(client or {}))
        else:
            self.gw = aigate.AsyncGateway(**settings)
            self.client = async_openai_client(self.gw, **(client or {}))

    def run(self, make: Callable[[Any], Any]) -> Any:
        """``make(client)``, awaited in the async mode."""
        result = make(self.client)
        if self.mode == "sync":
            return result

        async def wait() -> Any:
            return await result

        return asyncio.run(wait())

    def stream(self, *, limit: int | None = None, raw: bool = False, **kwargs: Any) -> Any:
        """Open a chat stream with the SDK and read it (``limit`` chunks); returns the chunks
        (and, with ``raw``, the raw response's headers)."""
        completions = self.client.chat.completions
        if self.mode == "sync":
            if raw:
                response = completions.with_raw_response.create(stream=True, **kwargs)
                stream = response.parse()
            else:
                stream = completions.create(stream=True, **kwargs)
            chunks = []
            with stream:
                for chunk in stream:
                    chunks.append(chunk)
                    if limit is not None and len(chunks) >= limit:
                        break
            return (chunks, response.headers) if raw else chunks

        async def read() -> Any:
            if raw:
                response = await completions.with_raw_response.create(stream=True, **kwargs)
                stream = response.parse()
            else:
                stream = await completions.create(stream=True, **kwargs)
            chunks = []
            async with stream:
                async for chunk in stream:
                    chunks.append(chunk)
                    if limit is not None and len(chunks) >= limit:
                        break
            return (chunks, response.headers) if raw else chunks

        return asyncio.run(read())

    def records(self) -> list[Any]:
        return list(self.gw._core.ledger.query())

    def close(self) -> None:
        if self.mode == "sync":
            self.client.close()
            self.gw.close()
        else:

            async def close() -> None:
                await self.client.close()
                await self.gw.aclose()

            asyncio.run(close())


@pytest.fixture
def make_sdk(mode: str) -> Iterator[Callable[..., Sdk]]:
    made: list[Sdk] = []

    def make(**kwargs: Any) -> Sdk:
        sdk = Sdk(mode, **kwargs)
        made.append(sdk)
        return sdk

    yield make
    for sdk in made:
        sdk.close()
