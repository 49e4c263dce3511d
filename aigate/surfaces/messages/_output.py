"""aigate chat results -> Anthropic Messages objects: a whole :class:`Message`, or the
stream events a chat stream's chunks amount to (:class:`EventTranslator`, pure state)."""

from __future__ import annotations

import json
from typing import Any

from ..._models import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage, Usage
from .._common import new_id, usage_counts
from ._models import Message, MessageStreamEvent, MessageUsage

__all__ = ["EventTranslator", "content_blocks", "from_completion", "message_usage"]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def _usage_fields(usage: Usage | None) -> dict[str, int]:
    prompt, completion, cached, write_5m, write_1h, _ = usage_counts(usage)
    return {
        "input_tokens": max(prompt - cached - write_5m - write_1h, 0),
        "output_tokens": completion,
        "cache_creation_input_tokens": write_5m + write_1h,
        "cache_read_input_tokens": cached,
    }


def message_usage(usage: Usage | None) -> MessageUsage:
    """OpenAI's convention (prompt includes the cache) -> Anthropic's (it does not)."""
    return MessageUsage.model_validate(_usage_fields(usage))


def _input(arguments: str) -> Any:
    if not arguments:
        return {}
    try:
        return json.loads(arguments)
    except ValueError:
        return {"arguments": arguments}  # a model's broken JSON, kept rather than lost


def content_blocks(message: ChatCompletionMessage) -> list[dict[str, Any]]:
    """An assistant message as content blocks: thinking (signed), text, tool_use."""
    blocks: list[dict[str, Any]] = []
    extra = message.__pydantic_extra__ or {}
    thoughts = [dict(b) for b in extra.get("thinking_blocks") or ()]
    if thoughts:
        blocks.extend(thoughts)
    elif message.reasoning_content:
        # Another provider's reasoning has no signature; "" says so (it is not replayed).
        blocks.append({"type": "thinking", "thinking": message.reasoning_content, "signature": ""})
    text = message.content or message.refusal
    if text:
        blocks.append({"type": "text", "text": text})
    for call in message.tool_calls or ():
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.function.name,
                "input": _input(call.function.arguments),
            }
        )
    return blocks


def from_completion(completion: ChatCompletion, model: str | None = None) -> Message:
    choice = completion.choices[0] if completion.choices else None
    message = Message.model_validate(
        {
            "id": completion.id if completion.id.startswith("msg_") else new_id("msg"),
            "type": "message",
            "role": "assistant",
            "content": content_blocks(choice.message) if choice is not None else [],
            "model": completion.model or model or "",
            "stop_reason": STOP_REASONS.get(choice.finish_reason or "stop", "end_turn")
            if choice is not None
            else "end_turn",
            "stop_sequence": None,
            "usage": _usage_fields(completion.usage),
        }
    )
    message.gateway = completion.gateway
    return message


class _Block:
    __slots__ = ("index", "kind", "sent", "signed")

    def __init__(self, kind: str, index: int) -> None:
        self.kind = kind
        self.index = index
        self.sent = False  # a tool_use: an input_json_delta went out
        self.signed = False


class EventTranslator:
    """Chat chunks -> Messages stream events, in Anthropic's order.

    Thinking deltas open a ``thinking`` block; the chat stream's finished thinking block
    (with its signature) becomes a ``signature_delta`` and closes it. Each chat tool-call
    index gets its own ``tool_use`` block, so parallel calls keep their arguments apart.
    ``message_delta`` carries the final usage (input, output and cache counts).
    """

    def __init__(self, model: str) -> None:
        self.id = new_id("msg")
        self.model = model
        self.blocks: list[dict[str, Any]] = []  # finished blocks, by index
        self._next = 0
        self._thinking: _Block | None = None
        self._text: _Block | None = None
        self._calls: dict[int, _Block] = {}
        self._open: list[_Block] = []
        self._parts: dict[int, list[str]] = {}
        self._final: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.started = False

    @staticmethod
    def _event(kind: str, **fields: Any) -> MessageStreamEvent:
        fields["type"] = kind
        return MessageStreamEvent(fields)

    def start(self) -> list[MessageStreamEvent]:
        """``message_start`` (sent with the first chunk: it names the answering model)."""
        self.started = True
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": self.model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [self._event("message_start", message=message)]

    def _open_block(
        self, out: list[MessageStreamEvent], kind: str, block: dict[str, Any]
    ) -> _Block:
        state = _Block(kind, self._next)
        self._next += 1
        self._open.append(state)
        self._parts[state.index] = []
        self._final[state.index] = dict(block)
        out.append(self._event("content_block_start", index=state.index, content_block=block))
        return state

    def _stop(self, out: list[MessageStreamEvent], state: _Block | None) -> None:
        if state is None or state not in self._open:
            return
        self._open.remove(state)
        final = self._final[state.index]
        text = "".join(self._parts[state.index])
        if state.kind == "thinking":
            final["thinking"] = text
        elif state.kind == "text":
            final["text"] = text
        elif state.kind == "tool_use":
            if not state.sent:
                # No arguments streamed: "{}" keeps the accumulated input a JSON object.
                out.append(self._delta(state, {"type": "input_json_delta", "partial_json": "{}"}))
                text = "{}"
            final["input"] = _input(text)
        self.blocks.append(final)
        out.append(self._event("content_block_stop", index=state.index))

    def _delta(self, state: _Block, delta: dict[str, Any]) -> MessageStreamEvent:
        return self._event("content_block_delta", index=state.index, delta=delta)

    def _close_thinking(self, out: list[MessageStreamEvent]) -> None:
        self._stop(out, self._thinking)
        self._thinking = None

    def _close_text(self, out: list[MessageStreamEvent]) -> None:
        self._stop(out, self._text)
        self._text = None

    def feed(self, chunk: ChatCompletionChunk) -> list[MessageStreamEvent]:
        choices = chunk.choices
        state = self._text
        if state is not None and len(choices) == 1:
            # The hot path: one more text delta for the open text block.
            choice = choices[0]
            delta = choice.delta
            text = delta.content
            if (
                text
                and choice.index == 0
                and choice.finish_reason is None
                and not delta.reasoning_content
                and not delta.tool_calls
                and not delta.__pydantic_extra__
            ):
                self._parts[state.index].append(text)
                return [
                    MessageStreamEvent(
                        {
                            "type": "content_block_delta",
                            "index": state.index,
                            "delta": {"type": "text_delta", "text": text},
                        }
                    )
                ]
        return self._feed(chunk)

    def _feed(self, chunk: ChatCompletionChunk) -> list[MessageStreamEvent]:
        if not self.started:
            self.model = chunk.model or self.model
            out = self.start()
        else:
            out = []
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.reasoning_content:
                if self._thinking is None:
                    self._close_text(out)
                    self._thinking = self._open_block(
                        out, "thinking", {"type": "thinking", "thinking": "", "signature": ""}
                    )
                self._parts[self._thinking.index].append(delta.reasoning_content)
                out.append(
                    self._delta(
                        self._thinking,
                        {"type": "thinking_delta", "thinking": delta.reasoning_content},
                    )
                )
            extra = delta.__pydantic_extra__
            if extra and extra.get("thinking_blocks"):
                for block in extra["thinking_blocks"]:
                    self._thought(out, block)
            text = delta.content or delta.refusal
            if text:
                if self._text is None:
                    self._close_thinking(out)
                    self._text = self._open_block(out, "text", {"type": "text", "text": ""})
                self._parts[self._text.index].append(text)
                out.append(self._delta(self._text, {"type": "text_delta", "text": text}))
            if delta.tool_calls:
                self._close_thinking(out)
                self._close_text(out)
                for call in delta.tool_calls:
                    self._tool_delta(out, call)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason
        return out

    def _thought(self, out: list[MessageStreamEvent], block: Any) -> None:
        if not isinstance(block, dict):
            return
        if block.get("type") == "redacted_thinking":
            self._close_thinking(out)
            self._close_text(out)
            state = self._open_block(out, "redacted_thinking", dict(block))
            self._stop(out, state)
            return
        if block.get("type") != "thinking":
            return
        if self._thinking is None:  # a signed block whose text arrived whole
            self._close_text(out)
            self._thinking = self._open_block(
                out, "thinking", {"type": "thinking", "thinking": "", "signature": ""}
            )
            if block.get("thinking"):
                self._parts[self._thinking.index].append(block["thinking"])
                out.append(
                    self._delta(
                        self._thinking, {"type": "thinking_delta", "thinking": block["thinking"]}
                    )
                )
        signature = block.get("signature") or ""
        if signature:
            out.append(
                self._delta(self._thinking, {"type": "signature_delta", "signature": signature})
            )
        self._final[self._thinking.index]["signature"] = signature
        self._close_thinking(out)

    def _tool_delta(self, out: list[MessageStreamEvent], call: Any) -> None:
        state = self._calls.get(call.index)
        function = call.function
        if state is None:
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.id or f"toolu_aigate_{call.index}",
                "name": (function.name if function is not None else None) or "",
                "input": {},
            }
            state = self._calls[call.index] = self._open_block(out, "tool_use", block)
        if function is not None and function.arguments:
            state.sent = True
            self._parts[state.index].append(function.arguments)
            out.append(
                self._delta(state, {"type": "input_json_delta", "partial_json": function.arguments})
            )

    def finish(self, usage: Usage | None) -> tuple[list[MessageStreamEvent], Message]:
        """Close every open block; ``message_delta`` (stop reason and usage) and
        ``message_stop``, and the whole message they add up to."""
        out: list[MessageStreamEvent] = [] if self.started else self.start()
        for state in list(self._open):
            self._stop(out, state)
        stop_reason = STOP_REASONS.get(self.finish_reason or "stop", "end_turn")
        fields = _usage_fields(usage)
        out.append(
            self._event(
                "message_delta",
                delta={"stop_reason": stop_reason, "stop_sequence": None},
                usage=fields,
            )
        )
        out.append(self._event("message_stop"))
        blocks = sorted(self.blocks, key=self._position)
        message = Message.model_validate(
            {
                "id": self.id,
                "model": self.model,
                "content": blocks,
                "stop_reason": stop_reason,
                "usage": fields,
            }
        )
        return out, message

    def _position(self, block: dict[str, Any]) -> int:
        for index, final in self._final.items():
            if final is block:
                return index
        return len(self._final)
