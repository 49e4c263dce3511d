"""The Anthropic Messages API's objects, with anthropic's field names and types.

Tests validate every object and event built here with the ``anthropic`` package's own
``Message`` and ``RawMessageStreamEvent``. Content blocks and events keep anthropic's
fields as attributes (``block.signature``, ``event.delta``) through ``extra="allow"``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._base import Event, SurfaceModel, WithGateway

__all__ = ["ContentBlock", "Message", "MessageStreamEvent", "MessageTokensCount", "MessageUsage"]


class MessageUsage(SurfaceModel):
    """Usage in Anthropic's convention: ``input_tokens`` excludes cache reads and writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class ContentBlock(SurfaceModel):
    """One content block: ``text``, ``thinking``, ``redacted_thinking`` or ``tool_use``."""

    type: str


class Message(WithGateway):
    """A message, field for field as anthropic's ``Message``; ``.gateway`` is aigate's."""

    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    content: list[ContentBlock] = Field(default_factory=list)
    model: str
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: MessageUsage = MessageUsage()


class MessageStreamEvent(Event):
    """One streamed event (``message_start``, ``content_block_delta``, ...), with
    anthropic's fields as attributes (``event.index``, ``event.delta``)."""

    __slots__ = ()


class MessageTokensCount(SurfaceModel):
    """``count_tokens``' answer."""

    input_tokens: int
