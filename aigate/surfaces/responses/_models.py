"""The OpenAI Responses API's objects, with openai's field names and types.

Tests validate every object and event built here with the ``openai`` package's own
``Response`` and ``ResponseStreamEvent``. Output items and events keep openai's fields as
attributes (``item.call_id``, ``event.delta``) through ``extra="allow"``: one model per
family instead of one per item type keeps the stream's hot path cheap.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from .._base import Event, SurfaceModel, WithGateway

__all__ = [
    "ContentPart",
    "InputTokenCount",
    "InputTokensDetails",
    "OutputItem",
    "OutputTokensDetails",
    "Response",
    "ResponseStreamEvent",
    "ResponseUsage",
]


class InputTokensDetails(SurfaceModel):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(SurfaceModel):
    reasoning_tokens: int = 0


class ResponseUsage(SurfaceModel):
    """Usage in the Responses convention: ``input_tokens`` includes cached reads,
    ``output_tokens`` includes reasoning."""

    input_tokens: int = 0
    input_tokens_details: InputTokensDetails = InputTokensDetails()
    output_tokens: int = 0
    output_tokens_details: OutputTokensDetails = OutputTokensDetails()
    total_tokens: int = 0


class ContentPart(SurfaceModel):
    """A part of an output item: ``output_text``, ``refusal``, ``reasoning_text``."""

    type: str


class OutputItem(SurfaceModel):
    """One output item: ``message``, ``function_call`` or ``reasoning`` (openai's fields)."""

    type: str
    id: str | None = None
    content: list[ContentPart] | None = None
    summary: list[ContentPart] | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The fields an item type does not have (a function call's content) stay out.
        data: dict[str, Any] = handler(self)
        for name in ("content", "summary"):
            if data.get(name) is None and name not in self.model_fields_set:
                data.pop(name, None)
        return data


class Response(WithGateway):
    """A response, field for field as openai's ``Response``; ``.gateway`` is aigate's."""

    id: str
    object: Literal["response"] = "response"
    created_at: float
    model: str
    status: str = "completed"
    output: list[OutputItem] = Field(default_factory=list)
    usage: ResponseUsage | None = None
    error: Any = None
    incomplete_details: Any = None
    instructions: Any = None
    metadata: dict[str, str] | None = None
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    tool_choice: Any = "auto"
    tools: list[Any] = Field(default_factory=list)
    max_output_tokens: int | None = None
    previous_response_id: str | None = None
    reasoning: Any = None
    store: bool | None = None
    text: Any = None
    truncation: str | None = "disabled"
    user: str | None = None

    @property
    def output_text(self) -> str:
        """The text of every ``output_text`` part, joined (as openai's SDK computes it)."""
        texts = []
        for item in self.output:
            if item.type == "message":
                for part in item.content or ():
                    if part.type == "output_text":
                        texts.append(getattr(part, "text", ""))
        return "".join(texts)


class ResponseStreamEvent(Event):
    """One streamed event (``response.output_text.delta``, ``response.completed``, ...),
    with openai's fields as attributes (``event.delta``, ``event.response``)."""

    __slots__ = ()


class InputTokenCount(SurfaceModel):
    """``responses.input_tokens.count``'s answer, as openai's ``InputTokenCountResponse``."""

    input_tokens: int
    object: Literal["response.input_tokens"] = "response.input_tokens"
