"""The openai SDK over aigate's in-process transport vs the same SDK over a bare MockTransport.

``openai.OpenAI`` (httpx2) over ``aigate.sdk.transport(gw)``, the gateway's upstream a bare
``httpx.MockTransport`` answering the documented chat body (or a 200-chunk stream), against
the same SDK over a bare ``httpx2.MockTransport`` answering the same body: the ratio is
what aigate adds under an SDK (routing, pricing, recording, re-encoding), measured in one run.
Target: <= 1.3x for a chat call and for a 200-chunk stream. Run:

    python benchmarks/sdk.py            # ~1 minute
    python benchmarks/sdk.py --quick
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import httpx
import httpx2
import openai
from _loopback import CHAT_BODY, STREAM_BODY, atimed, interleaved, mock_handler, timed

import aigate
from aigate.sdk import async_openai_client, openai_client

MESSAGES = [{"role": "user", "content": "Say hello in one short sentence."}]
MODEL = "openai/gpt-4o-mini"


def _bare_handler(request: httpx2.Request) -> httpx2.Response:
    if b'"stream":true' in request.content:
        return httpx2.Response(
            200, content=STREAM_BODY, headers={"content-type": "text/event-stream"}
        )
    return httpx2.Response(200, content=CHAT_BODY, headers={"content-type": "application/json"})


def _settings() -> dict[str, Any]:
    return {"providers": {"openai": {"api_keys": ["sk-bench"]}}}


def clients() -> dict[str, Any]:
    """The sync clients compared: ``bare`` (the SDK on a bare MockTransport), ``aigate``
    (the SDK over the gateway's transport) and ``gateway`` (the gateway itself)."""
    bare = openai.OpenAI(
        api_key="sk",
        base_url="http://bare/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(_bare_handler)),
    )
    gw = aigate.Gateway(**_settings(), transport=httpx.MockTransport(mock_handler))
    return {"bare": bare, "aigate": openai_client(gw), "gateway": gw}


def cases(rounds: int, number: int) -> dict[str, Callable[[], float]]:
    sync = clients()
    bare, via, gw = sync["bare"], sync["aigate"], sync["gateway"]
    abare = openai.AsyncOpenAI(
        api_key="sk",
        base_url="http://bare/v1",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(_bare_handler)),
    )
    agw = aigate.AsyncGateway(**_settings(), transport=httpx.MockTransport(mock_handler))
    avia = async_openai_client(agw)

    def chat(client: Any) -> Callable[[], Any]:
        return lambda: client.chat.completions.create(model=MODEL, messages=MESSAGES)

    def stream(client: Any) -> Callable[[], Any]:
        def read() -> None:
            for _ in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
                pass

        return read

    def achat(client: Any) -> Callable[[], Any]:
        return lambda: client.chat.completions.create(model=MODEL, messages=MESSAGES)

    def astream(client: Any) -> Callable[[], Any]:
        async def read() -> None:
            s = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
            async for _ in s:
                pass

        return read

    n_stream = max(number // 10, 5)
    return {
        # the gateway alone on the same upstream: the floor of what aigate adds under an SDK
        "chat sync: gateway": lambda: timed(
            lambda: gw.chat.completions.create(model=MODEL, messages=MESSAGES), rounds, number
        ),
        "chat sync: bare": lambda: timed(chat(bare), rounds, number),
        "chat sync: aigate": lambda: timed(chat(via), rounds, number),
        "stream sync: bare": lambda: timed(stream(bare), rounds, n_stream),
        "stream sync: aigate": lambda: timed(stream(via), rounds, n_stream),
        "chat async: bare": lambda: atimed(achat(abare), rounds, number),
        "chat async: aigate": lambda: atimed(achat(avia), rounds, number),
        "stream async: bare": lambda: atimed(astream(abare), rounds, n_stream),
        "stream async: aigate": lambda: atimed(astream(avia), rounds, n_stream),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args()
    rounds, number, repeats = (3, 50, 3) if args.quick else (5, 200, 5)
    results = interleaved(cases(rounds, number), repeats)
    print(f"{'case':<22} {'us/call':>10}")
    for name, seconds in results.items():
        print(f"{name:<22} {seconds * 1e6:>10.1f}")
    print()
    bare = results["chat sync: bare"]
    floor = (bare + results["chat sync: gateway"]) / bare
    print(f"floor for chat sync (bare SDK + the gateway alone) = {floor:.2f}x")
    for kind in ("chat sync", "stream sync", "chat async", "stream async"):
        ratio = results[f"{kind}: aigate"] / results[f"{kind}: bare"]
        verdict = "ok" if ratio <= 1.3 else "over the 1.3x target"
        print(f"{kind:<14} aigate / bare SDK = {ratio:.2f}x  ({verdict})")


if __name__ == "__main__":
    main()
