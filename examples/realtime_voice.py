"""Realtime voice through the gateway: a websocket session with budgets, prices and the ledger.

Each ``response.done`` is priced from its usage (text and audio tokens, cached input) and
settled against the budget as the session runs; when a limit has no room for another
response, the session ends with an ``error`` event. Offline, a loopback server plays a
scripted OpenAI Realtime session; with OPENAI_API_KEY set it talks to OpenAI instead.

    python examples/realtime_voice.py
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import AsyncIterator

import aigate
from aigate.realtime.testing import RealtimeTestServer, ScriptedResponse, usage


@contextlib.asynccontextmanager
async def provider() -> AsyncIterator[dict[str, object]]:
    if os.environ.get("OPENAI_API_KEY"):
        yield {"openai": {}}
        return
    turns = [ScriptedResponse("Hi! How can I help?", usage=usage(output_audio=60))] * 3
    async with RealtimeTestServer(turns) as server:
        yield {"openai": {"api_keys": ["sk-offline"], "base_url": server.base_url}}


async def main() -> None:
    async with provider() as providers:
        agw = aigate.AsyncGateway(
            providers=providers,
            routes={"voice": ["openai/gpt-realtime"]},
            ledger="memory://",
            budget={"limits": [{"scope": "user:*", "amount": "1.00", "window": "day"}]},
        )
        session = agw.realtime.connect(
            model="voice", user="u-42", metadata={"project": "acme"}, max_output_tokens=800
        )
        async with session as s:
            await s.send({"type": "session.update", "session": {"instructions": "Be brief."}})
            for turn in range(3):
                silence = base64.b64encode(bytes(3200)).decode()  # 100 ms of 16 kHz PCM16
                await s.send({"type": "input_audio_buffer.append", "audio": silence})
                await s.send({"type": "response.create"})
                async for event in s:
                    if event["type"] == "response.output_audio_transcript.delta":
                        print(f"turn {turn + 1}: {event['delta']}")
                    if event["type"] in ("response.done", "error"):
                        break
            info = s.gateway
            print(f"{info.responses} responses on {info.provider}/{info.model}: ${info.cost_usd}")
            assert info.usage is not None
            print(f"audio out: {info.usage.completion_tokens_details.audio_tokens} tokens")  # type: ignore[union-attr]
        rows = await agw.usage.query(where={"kind": "realtime"})
        print(f"ledger: {len(rows)} response rows, one session row")
        await agw.aclose()


if __name__ == "__main__":
    asyncio.run(main())
