"""Streaming: chunks as they arrive, priced when the stream ends, and what a broken stream
looks like.

``stream_options.include_usage`` is requested for you, so every stream is priced; when a
provider sends no usage, aigate counts the tokens itself and says so (``estimated``).
Failover is possible until the first visible chunk; after it, a broken connection raises
``aigate.StreamInterrupted`` carrying the partial answer, and the tokens used are still
recorded.

Offline by default; with ANTHROPIC_API_KEY or OPENAI_API_KEY set, streams from them.

    python examples/streaming.py
"""

from __future__ import annotations

import asyncio
import os

import aigate
from aigate.testing import FakeTransport, reply

STORY = [{"role": "user", "content": "Tell a four sentence story about a lighthouse."}]


def config() -> tuple[dict[str, object], str]:
    if os.environ.get("ANTHROPIC_API_KEY"):
        return {"providers": {"anthropic": {}}}, "anthropic/claude-haiku-4-5"
    if os.environ.get("OPENAI_API_KEY"):
        return {"providers": {"openai": {}}}, "openai/gpt-4o-mini"
    story = (
        "The lighthouse keeper counted ships. One night none came. "
        "He kept the lamp lit anyway. At dawn a small boat thanked him."
    )
    fake = FakeTransport(default=reply(story))
    return {"providers": {"openai": {"kind": "fake", "options": {"transport": fake}}}}, (
        "openai/gpt-4o-mini"
    )


def sync_stream(settings: dict[str, object], model: str) -> None:
    with aigate.Gateway(settings) as gw:
        stream = gw.chat.completions.create(model=model, messages=STORY, stream=True)
        with stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    print(chunk.choices[0].delta.content, end="", flush=True)
        info = stream.gateway
        assert info is not None
        print(
            f"\n-> {info.provider}/{info.model}: ${info.cost_usd}, first token after "
            f"{info.ttft_ms or 0:.0f} ms, estimated usage: {info.estimated}"
        )


async def async_stream(settings: dict[str, object], model: str) -> None:
    async with aigate.AsyncGateway(settings) as gw:
        stream = await gw.chat.completions.create(model=model, messages=STORY, stream=True)
        pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        print(f"async: {len(pieces)} chunks, {len(''.join(pieces))} characters")


def interrupted() -> None:
    """A provider that drops the connection after a few chunks (offline only)."""
    fake = FakeTransport([reply("one two three four five six", cut_after=4)])
    with aigate.Gateway(
        providers={"openai": {"kind": "fake", "options": {"transport": fake}}}
    ) as gw:
        try:
            for _ in gw.chat.completions.create(
                model="openai/gpt-4o-mini", messages=STORY, stream=True
            ):
                pass
        except aigate.StreamInterrupted as exc:
            partial = exc.partial.choices[0].message.content if exc.partial else None
            print(f"interrupted: kept the partial answer {partial!r}")


def main() -> None:
    settings, model = config()
    sync_stream(settings, model)
    asyncio.run(async_stream(settings, model))
    interrupted()


if __name__ == "__main__":
    main()
