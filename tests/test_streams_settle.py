"""Every stream is settled and recorded exactly once, however it ends (issue 13 item 3,
issue 12's close/aclose bug).

On main a stream the caller abandoned (``break`` then dropped, its own exception in the
loop, interpreter exit, a cancelled task) left no ledger row and its reservation pending
until the TTL, then released uncharged: repeated, it spent without limit.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

import aigate
from aigate.testing import FakeTransport, reply

HI = [{"role": "user", "content": "Hi"}]
MODEL = "openai/gpt-4o-mini"
TEXT = " ".join(f"word{i}" for i in range(40))  # 40 content chunks
CAP = {"scope": "global", "amount": "0.01", "window": "day"}


def make(mode: str, *, store: str = "memory://", ledger: str = "memory://", **extra: Any) -> Any:
    fake = FakeTransport(default=reply(TEXT))
    cls = aigate.Gateway if mode == "sync" else aigate.AsyncGateway
    return cls(
        providers={"openai": {"api_keys": ["sk"]}},
        budget={"store": store, "limits": [CAP]},
        ledger=ledger,
        transport=fake,
        **extra,
    )


def rows(gw: Any) -> list[Any]:
    return list(gw._core.ledger.query())


def counter(gw: Any) -> Any:
    admission = gw._core.admission
    (charge,) = admission.budgets.plan({}, estimate_nano=0)
    return admission.store.status([charge.key])[charge.key]


def check_settled_once(gw: Any, *, status: str, error_type: str | None) -> Any:
    (row,) = rows(gw)
    assert row.status == status and row.error_type == error_type
    c = counter(gw)
    assert c.reserved == 0  # nothing left pending until the TTL
    assert c.spent == row.cost_nano  # charged exactly what was recorded, once
    assert gw._core.admission.store.pending() == []
    return row


def open_and_read(gw: Any, mode: str, n: int) -> Any:
    """Open a stream, read ``n`` chunks, return it unclosed."""
    if mode == "sync":
        stream = gw.chat.completions.create(model=MODEL, messages=HI, stream=True)
        for _ in range(n):
            next(stream)
        return stream

    async def run() -> Any:
        stream = await gw.chat.completions.create(model=MODEL, messages=HI, stream=True)
        for _ in range(n):
            await stream.__anext__()
        return stream

    return asyncio.run(run())


def test_exhausted_stream_is_recorded_once(mode: str) -> None:
    gw = make(mode)
    if mode == "sync":
        stream = gw.chat.completions.create(model=MODEL, messages=HI, stream=True)
        list(stream)
        stream.close()  # after the end: records nothing more
    else:

        async def run() -> Any:
            stream = await gw.chat.completions.create(model=MODEL, messages=HI, stream=True)
            async for _ in stream:
                pass
            await stream.aclose()
            await stream.close()
            return stream

        stream = asyncio.run(run())
    row = check_settled_once(gw, status="ok", error_type=None)
    assert not row.estimated and row.cost_nano and row.cost_nano > 0
    assert stream.gateway is not None and stream.gateway.call_id == row.id


def test_closed_stream_is_recorded_with_the_usage_read_so_far(mode: str) -> None:
    gw = make(mode)
    stream = open_and_read(gw, mode, 3)
    if mode == "sync":
        stream.close()
        stream.close()
    else:

        async def close() -> None:
            await stream.aclose()
            await stream.close()  # openai's spelling, awaitable

        asyncio.run(close())
    row = check_settled_once(gw, status="error", error_type="cancelled")
    assert row.estimated  # the provider's usage never came: counted locally, and marked
    assert row.completion_tokens > 0 and row.cost_nano > 0


def test_break_then_dropped_is_recorded_when_collected(mode: str) -> None:
    gw = make(mode)
    stream = open_and_read(gw, mode, 2)
    assert rows(gw) == []  # still open
    del stream
    gc.collect()
    check_settled_once(gw, status="error", error_type="cancelled")


def test_for_loop_over_a_temporary_stream_reads_to_the_end(mode: str) -> None:
    """``for chunk in create(stream=True)`` keeps no reference to the stream object: it
    must not count as abandoned while the loop still runs."""
    gw = make(mode)
    if mode == "sync":
        text = "".join(
            c.choices[0].delta.content or ""
            for c in gw.chat.completions.create(model=MODEL, messages=HI, stream=True)
            if c.choices
        )
    else:

        async def run() -> str:
            parts = []
            async for c in await gw.chat.completions.create(model=MODEL, messages=HI, stream=True):
                if len(parts) == 2:
                    gc.collect()  # the stream object has no name here: it must stay alive
                if c.choices:
                    parts.append(c.choices[0].delta.content or "")
            return "".join(parts)

        text = asyncio.run(run())
    assert text == TEXT
    check_settled_once(gw, status="ok", error_type=None)


def test_callers_exception_mid_loop_is_recorded(mode: str) -> None:
    gw = make(mode)

    def body() -> None:
        if mode == "sync":
            for _chunk in gw.chat.completions.create(model=MODEL, messages=HI, stream=True):
                raise KeyError("the caller's own bug")
        else:

            async def run() -> None:
                stream = await gw.chat.completions.create(model=MODEL, messages=HI, stream=True)
                async for _chunk in stream:
                    raise KeyError("the caller's own bug")

            asyncio.run(run())

    with pytest.raises(KeyError):
        body()
    gc.collect()
    check_settled_once(gw, status="error", error_type="cancelled")


def test_cancelled_task_is_recorded() -> None:
    gw = make("async")

    async def main() -> None:
        reading = asyncio.Event()

        async def reader() -> None:
            stream = await gw.chat.completions.create(model=MODEL, messages=HI, stream=True)
            async for _chunk in stream:
                reading.set()
                await asyncio.sleep(30)

        task = asyncio.create_task(reader())
        await reading.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    gc.collect()
    check_settled_once(gw, status="error", error_type="cancelled")


def test_cancelled_inside_a_read_is_recorded_before_the_cancel_goes_on() -> None:
    """The cancellation lands in the stream's own read (a slow provider)."""

    class Slow(FakeTransport):
        async def handle_async_request(self, request: Any) -> Any:
            response = await super().handle_async_request(request)
            parts = response.stream._parts  # the fake's SSE events

            class Body(httpx.AsyncByteStream):
                async def __aiter__(self) -> Any:
                    for i, part in enumerate(parts):
                        if i == 3:
                            await asyncio.sleep(30)
                        yield part

                async def aclose(self) -> None:
                    pass

            response.stream = Body()
            return response

    fake = Slow(default=reply(TEXT))
    gw = aigate.AsyncGateway(
        providers={"openai": {"api_keys": ["sk"]}},
        budget={"limits": [CAP]},
        ledger="memory://",
        transport=fake,
    )

    async def main() -> Any:
        stream = await gw.chat.completions.create(model=MODEL, messages=HI, stream=True)
        await stream.__anext__()

        async def rest() -> None:
            async for _chunk in stream:
                pass

        task = asyncio.create_task(rest())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(rows(gw)) == 1  # recorded before the cancellation went on
        return stream

    stream = asyncio.run(main())
    check_settled_once(gw, status="error", error_type="cancelled")
    assert stream.gateway is not None


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_stream_open_at_interpreter_exit_is_recorded(mode: str, tmp_path: Path) -> None:
    ledger, store = f"sqlite:///{tmp_path / 'l.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_streams_settle import open_and_read, make
        gw = make({mode!r}, store={store!r}, ledger={ledger!r})
        stream = open_and_read(gw, {mode!r}, 2)
        KEEP = [stream]  # alive until the interpreter exits
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    gw = make("sync", store=store, ledger=ledger)
    try:
        check_settled_once(gw, status="error", error_type="cancelled")
    finally:
        gw.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_abandoning_streams_cannot_spend_past_the_cap(mode: str) -> None:
    """The attack: open, read a little, break, drop; repeat. Each abandoned stream is
    charged what it used, so the cap holds."""
    gw = make(mode)
    refused = 0
    for _ in range(400):
        try:
            stream = open_and_read(gw, mode, 5)
        except aigate.BudgetExceeded:
            refused += 1
            break
        del stream
    gc.collect()
    assert refused == 1
    made = [r for r in rows(gw) if r.status != "refused"]
    assert all(r.error_type == "cancelled" for r in made)
    c = counter(gw)
    assert c.reserved == 0
    assert c.spent == sum(r.cost_nano for r in made)
    assert c.spent <= 10_000_000  # $0.01


def test_async_replay_stream_close_is_awaitable() -> None:
    """Issue 12: ``await stream.close()`` on a cached async stream raised TypeError."""
    fake = FakeTransport(default=reply(TEXT))
    gw = aigate.AsyncGateway(
        providers={"openai": {"api_keys": ["sk"]}}, cache="memory://", transport=fake
    )

    async def main() -> None:
        for _ in range(2):
            stream = await gw.chat.completions.create(
                model=MODEL, messages=HI, stream=True, temperature=0
            )
            async with stream:
                async for _chunk in stream:
                    pass
            await stream.close()
            await stream.aclose()
        assert type(stream).__name__ == "AsyncReplayStream"
        assert len(fake.calls) == 1

    asyncio.run(main())


def test_sync_replay_stream_closes() -> None:
    fake = FakeTransport(default=reply(TEXT))
    gw = aigate.Gateway(
        providers={"openai": {"api_keys": ["sk"]}}, cache="memory://", transport=fake
    )
    for _ in range(2):
        with gw.chat.completions.create(model=MODEL, messages=HI, stream=True, temperature=0) as s:
            list(s)
        s.close()
    assert type(s).__name__ == "ReplayStream"
