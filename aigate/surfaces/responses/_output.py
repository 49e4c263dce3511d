"""aigate chat results -> Responses API objects: a whole :class:`Response`, or the stream
events a chat stream's chunks amount to.

:class:`EventTranslator` is pure state (chunks in, events out); the resources drive it
from a sync or an async chat stream.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..._models import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage, Usage
from .._common import new_id, usage_counts
from .._reasoning import encode_blocks
from ._models import Response, ResponseStreamEvent, ResponseUsage

__all__ = ["EventTranslator", "build_response", "output_items", "response_usage"]

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def response_usage(usage: Usage | None) -> ResponseUsage:
    prompt, completion, cached, write_5m, write_1h, reasoning = usage_counts(usage)
    return ResponseUsage.model_validate(
        {
            "input_tokens": prompt,
            "input_tokens_details": {
                "cached_tokens": cached,
                "cache_write_tokens": write_5m + write_1h,
            },
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": prompt + completion,
        }
    )


def _reasoning_item(
    item_id: str, text: str, blocks: list[dict[str, Any]], status: str = "completed"
) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": item_id,
        "summary": [],
        "content": [{"type": "reasoning_text", "text": text}] if text else [],
        "encrypted_content": encode_blocks(blocks),
        "status": status,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments or "{}",  # a call without arguments still parses as JSON
        "status": status,
    }


def output_items(message: ChatCompletionMessage) -> list[dict[str, Any]]:
    """One assistant message as Responses output items: reasoning, message, function calls."""
    items: list[dict[str, Any]] = []
    extra = message.__pydantic_extra__ or {}
    blocks = list(extra.get("thinking_blocks") or ())
    if message.reasoning_content or blocks:
        items.append(_reasoning_item(new_id("rs"), message.reasoning_content or "", blocks))
    parts: list[dict[str, Any]] = []
    if message.content:
        parts.append(_text_part(message.content))
    if message.refusal:
        parts.append({"type": "refusal", "refusal": message.refusal})
    if parts or not message.tool_calls:
        items.append(
            {
                "type": "message",
                "id": new_id("msg"),
                "role": "assistant",
                "status": "completed",
                "content": parts or [_text_part("")],
            }
        )
    for call in message.tool_calls or ():
        items.append(_call_item(new_id("fc"), call.id, call.function.name, call.function.arguments))
    return items


def _status(finish_reason: str | None) -> tuple[str, dict[str, str] | None]:
    reason = _INCOMPLETE.get(finish_reason or "")
    return ("incomplete", {"reason": reason}) if reason else ("completed", None)


def build_response(
    response_id: str,
    created_at: float,
    model: str,
    echo: Mapping[str, Any],
    items: list[dict[str, Any]],
    usage: Usage | None,
    finish_reason: str | None,
    status: str | None = None,
) -> Response:
    state, incomplete = _status(finish_reason)
    return Response.model_validate(
        {
            **echo,
            "id": response_id,
            "object": "response",
            "created_at": created_at,
            "model": model,
            "status": status or state,
            "incomplete_details": incomplete if status is None else None,
            "output": items,
            "usage": response_usage(usage) if status is None else None,
        }
    )


def from_completion(
    completion: ChatCompletion, response_id: str, echo: Mapping[str, Any]
) -> Response:
    choice = completion.choices[0] if completion.choices else None
    items = output_items(choice.message) if choice is not None else []
    response = build_response(
        response_id,
        float(completion.created or time.time()),
        completion.model,
        echo,
        items,
        completion.usage,
        choice.finish_reason if choice is not None else None,
    )
    response.gateway = completion.gateway
    return response


class _Item:
    __slots__ = ("blocks", "call_id", "item_id", "kind", "name", "output_index", "parts", "sent")

    def __init__(self, kind: str, item_id: str, output_index: int) -> None:
        self.kind = kind
        self.item_id = item_id
        self.output_index = output_index
        self.parts: list[str] = []
        self.blocks: list[dict[str, Any]] = []
        self.call_id = ""
        self.name = ""
        self.sent = False  # a function call: an argument delta went out


class EventTranslator:
    """Chat chunks -> Responses stream events, with openai's order and fields.

    Items open in the order their first delta arrives (reasoning, message, each function
    call); every open item is closed (``.done`` events) before ``response.completed``.
    Parallel tool calls keep one output item per chat tool-call index, so interleaved
    argument fragments land on the right item.
    """

    def __init__(
        self, response_id: str, model: str, echo: Mapping[str, Any], created_at: float
    ) -> None:
        self.response_id = response_id
        self.model = model
        self.echo = echo
        self.created_at = created_at
        self.sequence = 0
        self.items: list[tuple[int, dict[str, Any]]] = []  # (output index, finished item)
        self._open: list[_Item] = []
        self._reasoning: _Item | None = None
        self._message: _Item | None = None
        self._calls: dict[int, _Item] = {}
        self._refusal: list[str] = []
        self._next_index = 0
        self.finish_reason: str | None = None
        self.started = False

    def _event(self, kind: str, **fields: Any) -> ResponseStreamEvent:
        fields["type"] = kind
        fields["sequence_number"] = self.sequence
        event = ResponseStreamEvent(fields)
        self.sequence += 1
        return event

    def _snapshot(self, status: str) -> Response:
        return build_response(
            self.response_id, self.created_at, self.model, self.echo, [], None, None, status
        )

    def start(self) -> list[ResponseStreamEvent]:
        """``response.created`` and ``response.in_progress`` (sent with the first chunk, so
        that they name the model that answered)."""
        self.started = True
        return [
            self._event("response.created", response=self._snapshot("in_progress")),
            self._event("response.in_progress", response=self._snapshot("in_progress")),
        ]

    # -- opening and closing items ----------------------------------------------------------

    def _add(self, kind: str, prefix: str, item: dict[str, Any]) -> tuple[_Item, Any]:
        state = _Item(kind, item["id"], self._next_index)
        self._next_index += 1
        self._open.append(state)
        return state, self._event(
            "response.output_item.added", output_index=state.output_index, item=item
        )

    def _open_reasoning(self, out: list[ResponseStreamEvent]) -> _Item:
        if self._reasoning is None:
            self._close_message(out)
            item_id = new_id("rs")
            state, event = self._add(
                "reasoning", "rs", _reasoning_item(item_id, "", [], status="in_progress")
            )
            out.append(event)
            self._reasoning = state
        return self._reasoning

    def _close_reasoning(self, out: list[ResponseStreamEvent]) -> None:
        state, self._reasoning = self._reasoning, None
        if state is None:
            return
        text = "".join(state.parts)
        if state.parts:
            out.append(
                self._event(
                    "response.reasoning_text.done",
                    item_id=state.item_id,
                    output_index=state.output_index,
                    content_index=0,
                    text=text,
                )
            )
        self._done(out, state, _reasoning_item(state.item_id, text, state.blocks))

    def _open_message(self, out: list[ResponseStreamEvent]) -> _Item:
        if self._message is None:
            self._close_reasoning(out)
            item = {
                "type": "message",
                "id": new_id("msg"),
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            }
            state, event = self._add("message", "msg", item)
            out.append(event)
            out.append(
                self._event(
                    "response.content_part.added",
                    item_id=state.item_id,
                    output_index=state.output_index,
                    content_index=0,
                    part=_text_part(""),
                )
            )
            self._message = state
        return self._message

    def _close_message(self, out: list[ResponseStreamEvent]) -> None:
        state, self._message = self._message, None
        if state is None:
            return
        text = "".join(state.parts)
        common = {"item_id": state.item_id, "output_index": state.output_index}
        out.append(
            self._event(
                "response.output_text.done", **common, content_index=0, text=text, logprobs=[]
            )
        )
        out.append(
            self._event(
                "response.content_part.done", **common, content_index=0, part=_text_part(text)
            )
        )
        parts = [_text_part(text)]
        if self._refusal:
            refusal = "".join(self._refusal)
            out.append(
                self._event("response.refusal.done", **common, content_index=1, refusal=refusal)
            )
            parts.append({"type": "refusal", "refusal": refusal})
        item = {
            "type": "message",
            "id": state.item_id,
            "role": "assistant",
            "status": "completed",
            "content": parts,
        }
        self._done(out, state, item)

    def _close_call(self, out: list[ResponseStreamEvent], state: _Item) -> None:
        common = {"item_id": state.item_id, "output_index": state.output_index}
        if not state.sent:
            # A call without arguments: say "{}" so that every consumer can parse it.
            out.append(self._event("response.function_call_arguments.delta", **common, delta="{}"))
            state.parts.append("{}")
        arguments = "".join(state.parts)
        out.append(
            self._event(
                "response.function_call_arguments.done",
                **common,
                arguments=arguments,
                name=state.name,
            )
        )
        self._done(out, state, _call_item(state.item_id, state.call_id, state.name, arguments))

    def _done(self, out: list[ResponseStreamEvent], state: _Item, item: dict[str, Any]) -> None:
        self._open.remove(state)
        self.items.append((state.output_index, item))
        out.append(
            self._event("response.output_item.done", output_index=state.output_index, item=item)
        )

    # -- chunks -------------------------------------------------------------------------------

    def feed(self, chunk: ChatCompletionChunk) -> list[ResponseStreamEvent]:
        choices = chunk.choices
        state = self._message
        if state is not None and len(choices) == 1:
            # The hot path: one more text delta for the open message item.
            choice = choices[0]
            delta = choice.delta
            text = delta.content
            if (
                text
                and choice.index == 0
                and choice.finish_reason is None
                and not delta.reasoning_content
                and not delta.tool_calls
                and not delta.refusal
                and not delta.__pydantic_extra__
            ):
                state.parts.append(text)
                sequence = self.sequence
                self.sequence = sequence + 1
                return [
                    ResponseStreamEvent(
                        {
                            "type": "response.output_text.delta",
                            "item_id": state.item_id,
                            "output_index": state.output_index,
                            "content_index": 0,
                            "delta": text,
                            "logprobs": [],
                            "sequence_number": sequence,
                        }
                    )
                ]
        return self._feed(chunk)

    def _feed(self, chunk: ChatCompletionChunk) -> list[ResponseStreamEvent]:
        if not self.started:
            self.model = chunk.model or self.model
            out = self.start()
        else:
            out = []
        for choice in chunk.choices:
            if choice.index != 0:
                continue  # Responses has one output per response (n > 1 is a chat idea)
            delta = choice.delta
            if delta.reasoning_content:
                state = self._open_reasoning(out)
                if not state.parts:
                    out.append(
                        self._event(
                            "response.content_part.added",
                            item_id=state.item_id,
                            output_index=state.output_index,
                            content_index=0,
                            part={"type": "reasoning_text", "text": ""},
                        )
                    )
                state.parts.append(delta.reasoning_content)
                out.append(
                    self._event(
                        "response.reasoning_text.delta",
                        item_id=state.item_id,
                        output_index=state.output_index,
                        content_index=0,
                        delta=delta.reasoning_content,
                    )
                )
            extra = delta.__pydantic_extra__
            if extra and extra.get("thinking_blocks"):
                state = self._open_reasoning(out)
                state.blocks.extend(extra["thinking_blocks"])
            if delta.content:
                state = self._open_message(out)
                state.parts.append(delta.content)
                out.append(
                    self._event(
                        "response.output_text.delta",
                        item_id=state.item_id,
                        output_index=state.output_index,
                        content_index=0,
                        delta=delta.content,
                        logprobs=[],
                    )
                )
            if delta.refusal:
                state = self._open_message(out)
                self._refusal.append(delta.refusal)
                out.append(
                    self._event(
                        "response.refusal.delta",
                        item_id=state.item_id,
                        output_index=state.output_index,
                        content_index=1,
                        delta=delta.refusal,
                    )
                )
            if delta.tool_calls:
                self._close_reasoning(out)
                self._close_message(out)
                for call in delta.tool_calls:
                    self._tool_delta(out, call)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason
        return out

    def _tool_delta(self, out: list[ResponseStreamEvent], call: Any) -> None:
        state = self._calls.get(call.index)
        function = call.function
        if state is None:
            name = (function.name if function is not None else None) or ""
            item_id = new_id("fc")
            state, event = self._add(
                "function_call",
                "fc",
                {
                    "type": "function_call",
                    "id": item_id,
                    "call_id": call.id or f"call_{call.index}",
                    "name": name,
                    "arguments": "",
                    "status": "in_progress",
                },
            )
            state.call_id = call.id or f"call_{call.index}"
            state.name = name
            self._calls[call.index] = state
            out.append(event)
        elif function is not None and function.name and not state.name:
            state.name = function.name
        if function is not None and function.arguments:
            state.parts.append(function.arguments)
            state.sent = True
            out.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=state.item_id,
                    output_index=state.output_index,
                    delta=function.arguments,
                )
            )

    def finish(self, usage: Usage | None) -> tuple[list[ResponseStreamEvent], Response]:
        """Close every open item; the terminal event (with usage) and the final response."""
        out: list[ResponseStreamEvent] = [] if self.started else self.start()
        self._close_reasoning(out)
        self._close_message(out)
        for state in sorted(self._calls.values(), key=lambda s: s.output_index):
            if state in self._open:
                self._close_call(out, state)
        items = [item for _, item in sorted(self.items, key=lambda pair: pair[0])]
        response = build_response(
            self.response_id,
            self.created_at,
            self.model,
            self.echo,
            items,
            usage,
            self.finish_reason,
        )
        kind = "response.incomplete" if response.status == "incomplete" else "response.completed"
        out.append(self._event(kind, response=response))
        return out, response
