"""A loopback Realtime server that plays scripted sessions, for tests and offline examples.

It speaks OpenAI's Realtime websocket protocol (GA event names, source:
platform.openai.com/docs/api-reference/realtime-server-events): ``session.created`` on
connect, ``session.updated`` for each ``session.update``, and for each ``response.create``
the next :class:`ScriptedResponse`: ``response.created``, output items with audio,
transcript or function-call deltas, then ``response.done`` with its usage.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RealtimeTestServer", "ScriptedResponse", "usage"]


def usage(
    input_text: int = 20,
    input_audio: int = 80,
    cached: int = 0,
    output_text: int = 10,
    output_audio: int = 40,
) -> dict[str, Any]:
    """A ``response.done`` usage object in OpenAI's shape."""
    return {
        "total_tokens": input_text + input_audio + output_text + output_audio,
        "input_tokens": input_text + input_audio,
        "output_tokens": output_text + output_audio,
        "input_token_details": {
            "text_tokens": input_text,
            "audio_tokens": input_audio,
            "cached_tokens": cached,
            "cached_tokens_details": {"text_tokens": cached, "audio_tokens": 0},
        },
        "output_token_details": {"text_tokens": output_text, "audio_tokens": output_audio},
    }


@dataclass
class ScriptedResponse:
    """One response the server plays: a transcript with audio, or a function call."""

    transcript: str = "Hello there"
    audio_chunks: int = 3
    function_call: tuple[str, str] | None = None  # (name, JSON arguments)
    usage: Mapping[str, Any] | None = field(default_factory=usage)
    drop: bool = False  # cut the socket (no close frame) after the first delta
    extra_events: Sequence[Mapping[str, Any]] = ()  # sent before response.done


class RealtimeTestServer:
    """``async with RealtimeTestServer([...]) as server:`` then point a provider's
    ``base_url`` at ``server.base_url``. ``refuse`` gives HTTP statuses for the first
    handshakes (401, 429 ...); ``refuse_keys`` refuses every handshake made with a key
    (``{"sk-limited": 429}``); ``received`` lists every client event, ``keys`` the key of
    each handshake and ``connections`` their number."""

    def __init__(
        self,
        responses: Sequence[ScriptedResponse] = (),
        *,
        refuse: Sequence[int] = (),
        refuse_keys: Mapping[str, int] | None = None,
        protocol: str = "openai",
    ) -> None:
        self.responses = list(responses)
        self.refuse = list(refuse)
        self.refuse_keys = dict(refuse_keys or {})
        self.keys: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        self.models: list[str] = []
        self.connections = 0
        self._runner: Any = None
        self.base_url = ""
        self.protocol = protocol

    async def __aenter__(self) -> RealtimeTestServer:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/v1/realtime", self._handle)
        app.router.add_get(
            "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
            self._handle_gemini,
        )
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        version = "v1beta" if self.protocol == "gemini" else "v1"
        self.base_url = f"http://127.0.0.1:{port}/{version}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        self.connections += 1
        authorization = request.headers.get("Authorization", "")
        self.authorizations.append(authorization)
        self.models.append(request.query.get("model", ""))
        refused = self._refused(authorization.removeprefix("Bearer "))
        if refused is not None:
            return web.Response(status=refused, text='{"error": "refused"}')
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        n = 0
        await ws.send_str(
            json.dumps(
                {
                    "type": "session.created",
                    "event_id": "ev_0",
                    "session": {"id": "sess_1", "object": "realtime.session"},
                }
            )
        )
        async for msg in ws:
            event = json.loads(msg.data)
            self.received.append(event)
            if event.get("type") == "session.update":
                await ws.send_str(
                    json.dumps(
                        {
                            "type": "session.updated",
                            "event_id": "ev_u",
                            "session": event.get("session", {}),
                        }
                    )
                )
            elif event.get("type") == "response.create":
                if not self.responses:
                    await ws.send_str(
                        json.dumps(
                            {
                                "type": "error",
                                "event_id": "ev_e",
                                "error": {"type": "invalid_request_error", "message": "no script"},
                            }
                        )
                    )
                    continue
                n += 1
                if not await self._play(ws, f"resp_{n}", self.responses.pop(0)):
                    return ws
        return ws

    def _refused(self, key: str) -> int | None:
        """The status this handshake is refused with, or None to accept it."""
        self.keys.append(key)
        if self.refuse:
            return self.refuse.pop(0)
        return self.refuse_keys.get(key)

    async def _play(self, ws: Any, rid: str, script: ScriptedResponse) -> bool:
        async def send(event: dict[str, Any]) -> None:
            await ws.send_str(json.dumps(event))

        await send(
            {
                "type": "response.created",
                "event_id": f"{rid}_c",
                "response": {"id": rid, "object": "realtime.response", "status": "in_progress"},
            }
        )
        item = f"item_{rid}"
        if script.function_call is not None:
            name, arguments = script.function_call
            await send(
                {
                    "type": "response.output_item.added",
                    "response_id": rid,
                    "output_index": 0,
                    "item": {
                        "id": item,
                        "type": "function_call",
                        "name": name,
                        "call_id": f"call_{rid}",
                        "arguments": "",
                    },
                }
            )
            await send(
                {
                    "type": "response.function_call_arguments.delta",
                    "response_id": rid,
                    "item_id": item,
                    "output_index": 0,
                    "call_id": f"call_{rid}",
                    "delta": arguments,
                }
            )
            await send(
                {
                    "type": "response.function_call_arguments.done",
                    "response_id": rid,
                    "item_id": item,
                    "output_index": 0,
                    "call_id": f"call_{rid}",
                    "name": name,
                    "arguments": arguments,
                }
            )
        else:
            for i in range(script.audio_chunks):
                await send(
                    {
                        "type": "response.output_audio.delta",
                        "response_id": rid,
                        "item_id": item,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": base64.b64encode(bytes([i]) * 32).decode(),
                    }
                )
                if script.drop:
                    await asyncio.sleep(0)
                    transport = ws._req.transport  # cut the TCP connection: no close frame
                    if transport is not None:
                        transport.abort()
                    return False
            await send(
                {
                    "type": "response.output_audio_transcript.delta",
                    "response_id": rid,
                    "item_id": item,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": script.transcript,
                }
            )
        for extra in script.extra_events:
            await send(dict(extra))
        await send(
            {
                "type": "response.done",
                "event_id": f"{rid}_d",
                "response": {
                    "id": rid,
                    "object": "realtime.response",
                    "status": "completed",
                    "usage": dict(script.usage) if script.usage is not None else None,
                },
            }
        )
        return True

    # -- Gemini Live (source: ai.google.dev/api/live) ---------------------------------------

    async def _handle_gemini(self, request: Any) -> Any:
        from aiohttp import web

        self.connections += 1
        self.authorizations.append(request.query.get("key", ""))
        refused = self._refused(request.query.get("key", ""))
        if refused is not None:
            return web.Response(status=refused, text='{"error": "refused"}')
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            message = json.loads(msg.data)
            self.received.append(message)
            if "setup" in message:
                self.models.append(message["setup"].get("model", ""))
                await ws.send_str(json.dumps({"setupComplete": {}}))
            elif (
                message.get("clientContent", {}).get("turnComplete")
                and self.responses
                and not await self._play_gemini(ws, self.responses.pop(0))
            ):
                return ws
        return ws

    async def _play_gemini(self, ws: Any, script: ScriptedResponse) -> bool:
        async def send(message: dict[str, Any]) -> None:
            await ws.send_str(json.dumps(message))

        meta = _gemini_meta(script.usage)
        if script.function_call is not None:
            name, arguments = script.function_call
            call = {"id": "fc_1", "name": name, "args": json.loads(arguments)}
            await send({"toolCall": {"functionCalls": [call]}, "usageMetadata": meta})
            return True
        for i in range(script.audio_chunks):
            data = base64.b64encode(bytes([i]) * 32).decode()
            part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data}}
            await send({"serverContent": {"modelTurn": {"role": "model", "parts": [part]}}})
            if script.drop:
                transport = ws._req.transport
                if transport is not None:
                    transport.abort()
                return False
        await send({"serverContent": {"outputTranscription": {"text": script.transcript}}})
        await send({"serverContent": {"generationComplete": True}})
        await send({"serverContent": {"turnComplete": True}, "usageMetadata": meta})
        return True


def _gemini_meta(u: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An OpenAI-shaped usage (see :func:`usage`) as Gemini's ``usageMetadata``."""
    if u is None:
        return None
    ind, outd = u["input_token_details"], u["output_token_details"]
    return {
        "promptTokenCount": u["input_tokens"],
        "responseTokenCount": u["output_tokens"],
        "totalTokenCount": u["total_tokens"],
        "cachedContentTokenCount": ind.get("cached_tokens", 0),
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": ind["text_tokens"]},
            {"modality": "AUDIO", "tokenCount": ind["audio_tokens"]},
        ],
        "responseTokensDetails": [
            {"modality": "TEXT", "tokenCount": outd["text_tokens"]},
            {"modality": "AUDIO", "tokenCount": outd["audio_tokens"]},
        ],
    }
