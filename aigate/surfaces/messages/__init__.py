"""The Anthropic Messages API surface (``gw.messages``)."""

from ._models import ContentBlock, Message, MessageStreamEvent, MessageTokensCount, MessageUsage
from ._resource import AsyncMessages, AsyncMessageStream, Messages, MessageStream

__all__ = [
    "AsyncMessageStream",
    "AsyncMessages",
    "ContentBlock",
    "Message",
    "MessageStream",
    "MessageStreamEvent",
    "MessageTokensCount",
    "MessageUsage",
    "Messages",
]
