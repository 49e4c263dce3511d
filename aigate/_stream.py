"""Pure streaming state: bytes in, OpenAI-shaped chunks out, and the running total.

:class:`ChunkAccumulator` reassembles chunks into the :class:`ChatCompletion` they add up
to (content, tool calls, reasoning, finish reason, usage); it gives a stream's partial
output on interruption, its usage for pricing, and the stored form for caching.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    FinishReason,
    Function,
    Usage,
)
from .providers._sse import ServerSentEvent, SSEDecoder

if TYPE_CHECKING:
    from .providers._base import StreamDecoder

__all__ = ["ChunkAccumulator", "StreamState"]


class _ChoiceParts:
    __slots__ = ("content", "finish_reason", "reasoning", "refusal", "thinking", "tool_calls")

    def __init__(self) -> None:
        self.thinking: list[Any] = []  # Anthropic's signed thinking blocks, kept whole
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, list[Any]] = {}  # index -> [id, name, [argument parts]]
        self.finish_reason: FinishReason | None = None


class ChunkAccumulator:
    """Adds up chunks; :meth:`completion` returns what they amount to so far."""

    __slots__ = ("choices", "created", "id", "model", "system_fingerprint", "usage")

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.created = 0
        self.system_fingerprint: str | None = None
        self.usage: Usage | None = None
        self.choices: dict[int, _ChoiceParts] = {}

    def add(self, chunk: ChatCompletionChunk) -> bool:
        """Add one chunk; true when it carries content the caller will see (the point after
        which a stream can no longer fail over)."""
        if not self.id:
            self.id = chunk.id
            self.model = chunk.model
            self.created = chunk.created
            self.system_fingerprint = chunk.system_fingerprint
        if chunk.usage is not None:
            self.usage = chunk.usage
        visible = False
        for choice in chunk.choices:
            parts = self.choices.get(choice.index)
            if parts is None:
                parts = self.choices[choice.index] = _ChoiceParts()
            delta = choice.delta
            if delta.content:
                parts.content.append(delta.content)
                visible = True
            if delta.reasoning_content:
                parts.reasoning.append(delta.reasoning_content)
                visible = True
            if delta.refusal:
                parts.refusal.append(delta.refusal)
                visible = True
            if delta.tool_calls:
                visible = True
                for call in delta.tool_calls:
                    entry = parts.tool_calls.get(call.index)
                    if entry is None:
                        entry = parts.tool_calls[call.index] = [None, None, []]
                    if call.id:
                        entry[0] = call.id
                    if call.function is not None:
                        if call.function.name:
                            entry[1] = call.function.name
                        if call.function.arguments:
                            entry[2].append(call.function.arguments)
            extra = delta.__pydantic_extra__
            if extra and extra.get("thinking_blocks"):
                parts.thinking.extend(extra["thinking_blocks"])
            if choice.finish_reason is not None:
                parts.finish_reason = choice.finish_reason
                visible = True
        return visible

    @property
    def finished(self) -> bool:
        """Every choice seen has a finish reason."""
        return bool(self.choices) and all(
            p.finish_reason is not None for p in self.choices.values()
        )

    def text(self) -> str:
        parts = self.choices.get(0)
        return "".join(parts.content) if parts else ""

    def completion(self) -> ChatCompletion:
        choices = []
        for index in sorted(self.choices):
            parts = self.choices[index]
            tool_calls = None
            if parts.tool_calls:
                tool_calls = [
                    ChatCompletionMessageToolCall(
                        id=entry[0] or f"call_{index}_{i}",
                        function=Function(name=entry[1] or "", arguments="".join(entry[2])),
                    )
                    for i, entry in sorted(parts.tool_calls.items())
                ]
            extra: dict[str, Any] = {"thinking_blocks": parts.thinking} if parts.thinking else {}
            message = ChatCompletionMessage(
                content="".join(parts.content) if parts.content or not tool_calls else None,
                refusal="".join(parts.refusal) if parts.refusal else None,
                tool_calls=tool_calls,
                reasoning_content="".join(parts.reasoning) if parts.reasoning else None,
                **extra,
            )
            choices.append(
                Choice(
                    index=index,
                    message=message,
                    finish_reason=parts.finish_reason,
                )
            )
        return ChatCompletion(
            id=self.id or "chatcmpl-aigate",
            created=self.created or int(time.time()),
            model=self.model,
            choices=choices,
            usage=self.usage,
            system_fingerprint=self.system_fingerprint,
        )


class StreamState:
    """One provider stream being read: SSE bytes -> provider events -> chunks -> totals.

    A read's bytes are split into events at once (`push`: bytes objects, cheap), but the
    events become chunks only as the caller takes them (`drain`, a batch at a time): a
    read that brings 200 events does not make 200 chunks the caller holds all at once.
    Holding them promoted thousands of objects into the collector's older generations,
    and the full collections that followed cost more than decoding the stream.
    """

    __slots__ = ("_at", "_events", "_keep", "acc", "decoder", "first_visible_at", "kept", "sse")

    def __init__(self, decoder: StreamDecoder, keep: bool = False) -> None:
        self.sse = SSEDecoder()
        self.decoder = decoder
        self.acc = ChunkAccumulator()
        self.first_visible_at: float | None = None
        #: every chunk, when the stream is to be cached (replayed chunk for chunk)
        self.kept: list[ChatCompletionChunk] = []
        self._keep = keep
        self._events: list[bytes | ServerSentEvent] = []  # split, not yet decoded
        self._at = 0  # the next of them to decode

    @property
    def pending(self) -> bool:
        """Events read but not yet decoded."""
        return self._at < len(self._events)

    def push(self, data: bytes) -> None:
        """The bytes of one read: split them into events, decoded later by `drain`."""
        if self._at and self._at == len(self._events):
            self._events, self._at = [], 0
        self._events += self.sse.feed_raw(data)

    def drain(
        self, limit: int | None = None, *, until_visible: bool = False
    ) -> list[ChatCompletionChunk]:
        """Decode pending events into chunks: until at least ``limit`` chunks are made,
        or (``until_visible``) the first one the caller would see, or none is left."""
        chunks: list[ChatCompletionChunk] = []
        events, at, count = self._events, self._at, len(self._events)
        decoder = self.decoder
        # Codecs whose events are plain ``data:`` JSON parse the raw bytes of the commonest
        # event directly, one chunk at a time (the streaming hot path).
        decode_one = getattr(decoder, "decode_one", None)
        add = self.acc.add
        try:
            while at < count:
                item = events[at]
                at += 1
                if decode_one is not None and isinstance(item, bytes):
                    chunk = decode_one(item)
                    if chunk is None:
                        continue
                    if add(chunk) and self.first_visible_at is None:
                        self.first_visible_at = time.perf_counter()
                    chunks.append(chunk)
                else:
                    if isinstance(item, bytes):
                        item = ServerSentEvent(item.decode("utf-8", errors="replace"))
                    for chunk in decoder.decode(item):
                        if add(chunk) and self.first_visible_at is None:
                            self.first_visible_at = time.perf_counter()
                        chunks.append(chunk)
                if until_visible and self.first_visible_at is not None:
                    break
                if limit is not None and len(chunks) >= limit:
                    break
        finally:
            self._at = at
            if self._keep:
                self.kept.extend(chunks)
        return chunks

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        """`push` then `drain` everything: the chunks those bytes complete."""
        self.push(data)
        return self.drain()

    def end(self) -> list[ChatCompletionChunk]:
        """The connection closed: decode what remains."""
        chunks = self.drain()
        for event in self.sse.flush():
            for chunk in self.decoder.decode(event):
                if self.acc.add(chunk) and self.first_visible_at is None:
                    self.first_visible_at = time.perf_counter()
                chunks.append(chunk)
                if self._keep:
                    self.kept.append(chunk)
        return chunks

    @property
    def complete(self) -> bool:
        """The provider said the stream is over, or every choice has its finish reason."""
        return self.decoder.finished or self.acc.finished
