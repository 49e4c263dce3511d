"""The OpenAI Responses API surface (``gw.responses``)."""

from ._models import OutputItem, Response, ResponseStreamEvent, ResponseUsage
from ._resource import AsyncResponses, AsyncResponseStream, Responses, ResponseStream

__all__ = [
    "AsyncResponseStream",
    "AsyncResponses",
    "OutputItem",
    "Response",
    "ResponseStream",
    "ResponseStreamEvent",
    "ResponseUsage",
    "Responses",
]
