"""Side by side on the same ``httpx.MockTransport`` and body: a bare httpx call, aigate's
Gateway, the ``openai`` SDK, and LiteLLM's ``completion()`` and ``Router`` when installed.

    python benchmarks/peers.py [--quick]

Every client gets the same transport (no sockets) and the same OpenAI-shaped answer, so the
figures are each library's own per-call cost. Ratios are to the bare httpx call measured in
the same run (interleaved medians). Neither ``openai`` nor LiteLLM is a dependency of
aigate: a library that is not importable is reported as "not installed". For reference,
issue 2 measured on this kind of machine: openai SDK about 6x a bare call, LiteLLM's
``completion()`` about 18x and its ``Router`` about 27x.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _loopback import MESSAGES, atimed, interleaved, mock_handler, timed

import aigate

BASE_URL = "https://api.openai.com/v1"
KEY = "sk-bench"
MODEL = "gpt-4o-mini"


# The openai SDK here is typed against httpx2 but takes an httpx client as it is (the calls
# do go through the MockTransport), hence the type: ignore on http_client=.


def sync_cases(transport: httpx.MockTransport) -> tuple[dict[str, Callable[[], Any]], list[str]]:
    """The sync clients that are importable, and notes on the ones that are not."""
    notes: list[str] = []
    bare = httpx.Client(transport=transport)
    payload = {"model": MODEL, "messages": MESSAGES}
    headers = {"authorization": f"Bearer {KEY}"}
    gw = aigate.Gateway(providers={"openai": {"api_keys": [KEY]}}, transport=transport)
    cases: dict[str, Callable[[], Any]] = {
        "bare httpx": lambda: bare.post(
            BASE_URL + "/chat/completions", json=payload, headers=headers
        ).json(),
        "aigate Gateway": lambda: gw.chat.completions.create(
            model=f"openai/{MODEL}", messages=MESSAGES
        ),
    }
    try:
        import openai
    except ImportError:
        notes.append("openai SDK: not installed")
    else:
        client = openai.OpenAI(
            api_key=KEY,
            base_url=BASE_URL,
            http_client=httpx.Client(transport=transport),  # type: ignore[arg-type,unused-ignore]
            max_retries=0,
        )
        cases["openai SDK"] = lambda: client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,  # type: ignore[arg-type]
        )
    try:
        import litellm  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        notes.append("LiteLLM: not installed")
    else:  # pragma: no cover - LiteLLM is not installed where this was written
        cases.update(_litellm_cases(litellm, transport, notes))
    return cases, notes


def _litellm_cases(
    litellm: Any, transport: httpx.MockTransport, notes: list[str]
) -> dict[str, Callable[[], Any]]:
    """LiteLLM on the same transport: its OpenAI path takes an ``openai`` client."""
    try:
        import openai

        client = openai.OpenAI(
            api_key=KEY,
            base_url=BASE_URL,
            http_client=httpx.Client(transport=transport),  # type: ignore[arg-type,unused-ignore]
            max_retries=0,
        )
        params = {"model": f"openai/{MODEL}", "api_key": KEY, "api_base": BASE_URL}
        router = litellm.Router(
            model_list=[{"model_name": "fast", "litellm_params": params}], num_retries=0
        )

        def completion() -> Any:
            return litellm.completion(messages=MESSAGES, client=client, **params)

        def routed() -> Any:
            return router.completion(model="fast", messages=MESSAGES, client=client)

        completion()
        routed()
    except Exception as exc:  # its API moves; say so rather than fail the whole run
        notes.append(f"LiteLLM: could not run on the mock ({type(exc).__name__}: {exc})")
        return {}
    return {"LiteLLM completion()": completion, "LiteLLM Router": routed}


def async_cases(
    transport: httpx.MockTransport,
) -> dict[str, Callable[[], Coroutine[Any, Any, Any]]]:
    bare = httpx.AsyncClient(transport=transport)
    payload = {"model": MODEL, "messages": MESSAGES}
    headers = {"authorization": f"Bearer {KEY}"}
    agw = aigate.AsyncGateway(providers={"openai": {"api_keys": [KEY]}}, transport=transport)

    async def bare_call() -> Any:
        response = await bare.post(BASE_URL + "/chat/completions", json=payload, headers=headers)
        return response.json()

    async def aigate_call() -> Any:
        return await agw.chat.completions.create(model=f"openai/{MODEL}", messages=MESSAGES)

    cases: dict[str, Callable[[], Coroutine[Any, Any, Any]]] = {
        "bare httpx": bare_call,
        "aigate AsyncGateway": aigate_call,
    }
    try:
        import openai
    except ImportError:
        return cases
    client = openai.AsyncOpenAI(
        api_key=KEY,
        base_url=BASE_URL,
        http_client=httpx.AsyncClient(transport=transport),  # type: ignore[arg-type,unused-ignore]
        max_retries=0,
    )

    async def openai_call() -> Any:
        return await client.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]

    cases["openai AsyncOpenAI"] = openai_call
    return cases


def stream_cases(transport: httpx.MockTransport) -> dict[str, Callable[[], Any]]:
    """A 200-chunk stream read to the end, each chunk parsed."""
    import json

    bare = httpx.Client(transport=transport)
    payload = {"model": MODEL, "messages": MESSAGES, "stream": True}
    headers = {"authorization": f"Bearer {KEY}"}
    gw = aigate.Gateway(providers={"openai": {"api_keys": [KEY]}}, transport=transport)

    def bare_stream() -> None:
        with bare.stream(
            "POST", BASE_URL + "/chat/completions", json=payload, headers=headers
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    json.loads(line[6:])

    def aigate_stream() -> None:
        for _ in gw.chat.completions.create(
            model=f"openai/{MODEL}", messages=MESSAGES, stream=True
        ):
            pass

    cases: dict[str, Callable[[], Any]] = {
        "bare httpx": bare_stream,
        "aigate Gateway": aigate_stream,
    }
    try:
        import openai
    except ImportError:
        return cases
    client = openai.OpenAI(
        api_key=KEY,
        base_url=BASE_URL,
        http_client=httpx.Client(transport=transport),  # type: ignore[arg-type,unused-ignore]
        max_retries=0,
    )

    def openai_stream() -> None:
        for _ in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):  # type: ignore[arg-type]
            pass

    cases["openai SDK"] = openai_stream
    return cases


def table(title: str, results: dict[str, float]) -> None:
    base = results["bare httpx"]
    print(title)
    print(f"  {'client':24} {'per call':>10} {'x bare':>7}")
    for name, seconds in results.items():
        print(f"  {name:24} {seconds * 1e6:8.1f}us {seconds / base:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    args = parser.parse_args()
    rounds, number, repeats = (3, 100, 3) if args.quick else (5, 300, 5)
    transport = httpx.MockTransport(mock_handler)

    cases, notes = sync_cases(transport)
    for fn in cases.values():  # warm up: schemas, the catalog, the SDKs' lazy imports
        fn()
    sync = interleaved(
        {name: partial(timed, fn, rounds, number) for name, fn in cases.items()}, repeats
    )
    acases = async_cases(transport)
    for afn in acases.values():
        asyncio.run(afn())
    async_results = interleaved(
        {name: partial(atimed, afn, rounds, number) for name, afn in acases.items()}, repeats
    )
    scases = stream_cases(transport)
    for fn in scases.values():
        fn()
    streams = interleaved(
        {name: partial(timed, fn, rounds, max(number // 10, 5)) for name, fn in scases.items()},
        repeats,
    )
    table("chat completion, sync", sync)
    table("chat completion, async", async_results)
    table("200-chunk stream, sync (read to the end)", streams)
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
