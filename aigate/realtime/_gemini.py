"""Gemini Live behind OpenAI's Realtime event shape: a translating socket (no I/O of its own).

Gemini Live (``BidiGenerateContent`` over a websocket; source:
ai.google.dev/gemini-api/docs/live-api and its WebSockets API reference) has one ``setup``
message first, then ``clientContent`` / ``realtimeInput`` / ``toolResponse`` from the client and
``setupComplete`` / ``serverContent`` / ``toolCall`` / ``usageMetadata`` from the server.
:class:`GeminiLiveTranslator` maps each side to and from OpenAI Realtime events; the table in
docs/realtime.md says what maps and what does not.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from typing import Any

from .._exceptions import InvalidRequestError

__all__ = ["GeminiLiveSocket", "GeminiLiveTranslator", "gemini_usage"]


def gemini_usage(meta: object) -> dict[str, Any] | None:
    """A Gemini ``usageMetadata`` as an OpenAI Realtime ``response.usage`` object."""
    if not isinstance(meta, Mapping):
        return None

    def count(name: str) -> int:
        value = meta.get(name)
        return value if isinstance(value, int) and value > 0 else 0

    def by_modality(name: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in meta.get(name) or ():
            if isinstance(row, Mapping) and isinstance(row.get("tokenCount"), int):
                modality = str(row.get("modality", "TEXT")).upper()
                out[modality] = out.get(modality, 0) + row["tokenCount"]
        return out

    prompt, response = count("promptTokenCount"), count("responseTokenCount")
    # thinking tokens are billed as output
    response += count("thoughtsTokenCount")
    cached = count("cachedContentTokenCount")
    pin, pout = by_modality("promptTokensDetails"), by_modality("responseTokensDetails")
    cached_in = by_modality("cacheTokensDetails")
    return {
        "total_tokens": prompt + response,
        "input_tokens": prompt,
        "output_tokens": response,
        "input_token_details": {
            "text_tokens": pin.get("TEXT", 0),
            "audio_tokens": pin.get("AUDIO", 0),
            "cached_tokens": cached,
            "cached_tokens_details": {"audio_tokens": cached_in.get("AUDIO", 0)},
        },
        "output_token_details": {
            "text_tokens": max(response - pout.get("AUDIO", 0), 0),
            "audio_tokens": pout.get("AUDIO", 0),
        },
    }


class GeminiLiveTranslator:
    """OpenAI Realtime client events -> Gemini Live messages, and back (sans-I/O)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._setup_sent = False
        self._session: dict[str, Any] = {}  # session.update fields until the setup goes out
        self._turn = 0
        self._response: str | None = None  # the id of the response being produced
        self._item = ""
        self._call_names: dict[str, str] = {}
        self._usage: dict[str, Any] | None = None

    # -- the caller's events, upstream --------------------------------------------------

    def setup(self, session: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``setup`` message from an OpenAI ``session`` object."""
        session = session or {}
        config: dict[str, Any] = {}
        modalities = session.get("output_modalities") or session.get("modalities") or ["audio"]
        config["responseModalities"] = [
            "AUDIO" if str(m).lower() == "audio" else "TEXT" for m in modalities
        ][:1]  # Gemini Live takes one response modality
        max_out = session.get("max_output_tokens") or session.get("max_response_output_tokens")
        if isinstance(max_out, int):
            config["maxOutputTokens"] = max_out
        if isinstance(session.get("temperature"), (int, float)):
            config["temperature"] = session["temperature"]
        setup: dict[str, Any] = {"model": f"models/{self.model}", "generationConfig": config}
        if isinstance(session.get("instructions"), str):
            setup["systemInstruction"] = {"parts": [{"text": session["instructions"]}]}
        tools = [t for t in session.get("tools") or () if isinstance(t, Mapping)]
        declarations = [
            {
                "name": t.get("name"),
                "description": t.get("description", ""),
                "parameters": t.get("parameters") or {"type": "object"},
            }
            for t in tools
            if t.get("type", "function") == "function"
        ]
        if declarations:
            setup["tools"] = [{"functionDeclarations": declarations}]
        # transcripts of the audio both ways, so transcript events exist as in OpenAI's shape
        setup["outputAudioTranscription"] = {}
        setup["inputAudioTranscription"] = {}
        return {"setup": setup}

    def client_event(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The Gemini messages for one OpenAI client event (possibly none)."""
        kind = event.get("type")
        out: list[dict[str, Any]] = []
        if kind == "session.update":
            if self._setup_sent:
                raise InvalidRequestError(
                    "session.update: Gemini Live takes its configuration once, when the session "
                    "opens; send session.update before any other event",
                    field="event.type",
                )
            session = event.get("session")
            if isinstance(session, Mapping):  # merged; sent as the setup with the first event
                self._session.update(session)
            return []
        if not self._setup_sent:
            self._setup_sent = True
            out.append(self.setup(self._session))
        if kind == "input_audio_buffer.append":
            out.append(
                {
                    "realtimeInput": {
                        "audio": {
                            "data": event.get("audio", ""),
                            "mimeType": "audio/pcm;rate=24000",
                        }
                    }
                }
            )
        elif kind == "input_audio_buffer.commit":
            out.append({"realtimeInput": {"audioStreamEnd": True}})
        elif kind == "conversation.item.create":
            out.extend(self._item_create(event.get("item")))
        elif kind == "response.create":
            out.append({"clientContent": {"turnComplete": True}})
        elif kind in ("response.cancel", "input_audio_buffer.clear"):
            pass  # no Gemini equivalent: an incoming turn interrupts generation by itself
        else:
            raise InvalidRequestError(
                f"event.type: {kind!r} has no Gemini Live equivalent", field="event.type"
            )
        return out

    def _item_create(self, item: object) -> list[dict[str, Any]]:
        if not isinstance(item, Mapping):
            raise InvalidRequestError("event.item: expected an object", field="event.item")
        if item.get("type") == "function_call_output":
            call_id = str(item.get("call_id", ""))
            output = item.get("output", "")
            try:
                response = json.loads(output) if isinstance(output, str) else output
            except ValueError:
                response = {"output": output}
            if not isinstance(response, Mapping):
                response = {"output": response}
            return [
                {
                    "toolResponse": {
                        "functionResponses": [
                            {
                                "id": call_id,
                                "name": self._call_names.get(call_id, ""),
                                "response": dict(response),
                            }
                        ]
                    }
                }
            ]
        role = "model" if item.get("role") == "assistant" else "user"
        parts = []
        for part in item.get("content") or ():
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append({"text": part["text"]})
            elif isinstance(part, Mapping) and isinstance(part.get("audio"), str):
                parts.append(
                    {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": part["audio"]}}
                )
        return [
            {"clientContent": {"turns": [{"role": role, "parts": parts}], "turnComplete": False}}
        ]

    # -- the provider's messages, to the caller -----------------------------------------------

    def server_message(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The OpenAI Realtime events for one Gemini server message."""
        out: list[dict[str, Any]] = []
        if "usageMetadata" in message:
            self._usage = gemini_usage(message["usageMetadata"])
        if "setupComplete" in message:
            out.append(
                {
                    "type": "session.created",
                    "session": {"object": "realtime.session", "model": self.model},
                }
            )
        content = message.get("serverContent")
        if isinstance(content, Mapping):
            out.extend(self._content(content))
        call = message.get("toolCall")
        if isinstance(call, Mapping):
            out.extend(self._tool_calls(call))
        if isinstance(message.get("goAway"), Mapping):
            out.append(
                {
                    "type": "error",
                    "error": {
                        "type": "server_going_away",
                        "message": "Gemini closes the session in "
                        f"{message['goAway'].get('timeLeft')}",
                    },
                }
            )
        if isinstance(content, Mapping) and content.get("turnComplete"):
            out.extend(self._done("completed"))
        return out

    def _start(self) -> list[dict[str, Any]]:
        if self._response is not None:
            return []
        self._turn += 1
        self._response = f"resp_gemini_{self._turn}"
        self._item = f"item_gemini_{self._turn}"
        return [
            {
                "type": "response.created",
                "response": {
                    "id": self._response,
                    "object": "realtime.response",
                    "status": "in_progress",
                },
            }
        ]

    def _content(self, content: Mapping[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        where = {"output_index": 0, "content_index": 0}
        turn = content.get("modelTurn")
        for part in (turn.get("parts") or ()) if isinstance(turn, Mapping) else ():
            if not isinstance(part, Mapping):
                continue
            inline = part.get("inlineData")
            if isinstance(inline, Mapping) and str(inline.get("mimeType", "")).startswith("audio/"):
                out.extend(self._start())
                out.append(
                    {
                        "type": "response.output_audio.delta",
                        "response_id": self._response,
                        "item_id": self._item,
                        **where,
                        "delta": inline.get("data", ""),
                    }
                )
            elif isinstance(part.get("text"), str) and not part.get("thought"):
                out.extend(self._start())
                out.append(
                    {
                        "type": "response.output_text.delta",
                        "response_id": self._response,
                        "item_id": self._item,
                        **where,
                        "delta": part["text"],
                    }
                )
        transcript = content.get("outputTranscription")
        if isinstance(transcript, Mapping) and transcript.get("text"):
            out.extend(self._start())
            out.append(
                {
                    "type": "response.output_audio_transcript.delta",
                    "response_id": self._response,
                    "item_id": self._item,
                    **where,
                    "delta": transcript["text"],
                }
            )
        heard = content.get("inputTranscription")
        if isinstance(heard, Mapping) and heard.get("text"):
            out.append(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": f"input_{self._turn + 1}",
                    "content_index": 0,
                    "delta": heard["text"],
                }
            )
        if content.get("interrupted"):
            out.extend(self._done("cancelled"))
        return out

    def _tool_calls(self, call: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = self._start()
        for index, fc in enumerate(call.get("functionCalls") or ()):
            if not isinstance(fc, Mapping):
                continue
            call_id = str(fc.get("id") or f"call_{self._turn}_{index}")
            name = str(fc.get("name", ""))
            self._call_names[call_id] = name
            arguments = json.dumps(fc.get("args") or {}, separators=(",", ":"))
            item = f"{self._item}_fc{index}"
            out.append(
                {
                    "type": "response.output_item.added",
                    "response_id": self._response,
                    "output_index": index,
                    "item": {
                        "id": item,
                        "type": "function_call",
                        "call_id": call_id,
                        "name": name,
                        "arguments": "",
                    },
                }
            )
            out.append(
                {
                    "type": "response.function_call_arguments.done",
                    "response_id": self._response,
                    "item_id": item,
                    "output_index": index,
                    "call_id": call_id,
                    "name": name,
                    "arguments": arguments,
                }
            )
        # a tool call ends the model's turn: the response is done, priced when usage is known
        out.extend(self._done("completed"))
        return out

    def _done(self, status: str) -> list[dict[str, Any]]:
        if self._response is None:
            return []
        rid, self._response = self._response, None
        usage, self._usage = self._usage, None
        return [
            {
                "type": "response.done",
                "response": {
                    "id": rid,
                    "object": "realtime.response",
                    "status": status,
                    "usage": usage,
                },
            }
        ]


class GeminiLiveSocket:
    """A :class:`~aigate.realtime.Socket` that speaks OpenAI events over a Gemini socket."""

    def __init__(self, inner: Any, model: str) -> None:
        self._inner = inner
        self.translator = GeminiLiveTranslator(model)
        self._pending: deque[str] = deque()

    async def send(self, text: str) -> None:
        for message in self.translator.client_event(json.loads(text)):
            await self._inner.send(json.dumps(message))

    async def receive(self) -> str | None:
        while not self._pending:
            text: str | None = await self._inner.receive()
            if text is None:
                return None
            try:
                message = json.loads(text)
            except ValueError:
                return text  # the session reports it as an invalid event
            if isinstance(message, Mapping):
                self._pending.extend(json.dumps(e) for e in self.translator.server_message(message))
        return self._pending.popleft()

    async def close(self) -> None:
        await self._inner.close()
