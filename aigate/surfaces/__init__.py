"""Input surfaces beside Chat Completions: the OpenAI Responses API and the Anthropic
Messages API, each routed to every provider: natively (the body as is, to OpenAI's
``/v1/responses`` or Anthropic's ``/v1/messages``) when every target of the call speaks the
surface's format, else by translation over aigate's chat flow.

``gw.responses`` and ``gw.messages`` are :class:`Responses` / :class:`Messages` (and
their async twins) over the gateway; stored responses live in a
:class:`ConversationStore` selected by URL.
"""

from ._store import (
    ConversationStore,
    MemoryConversations,
    PostgresConversations,
    RedisConversations,
    SQLiteConversations,
    open_conversations,
)
from .messages import AsyncMessages, AsyncMessageStream, Message, Messages, MessageStream
from .responses import AsyncResponses, AsyncResponseStream, Response, Responses, ResponseStream

__all__ = [
    "AsyncMessageStream",
    "AsyncMessages",
    "AsyncResponseStream",
    "AsyncResponses",
    "ConversationStore",
    "MemoryConversations",
    "Message",
    "MessageStream",
    "Messages",
    "PostgresConversations",
    "RedisConversations",
    "Response",
    "ResponseStream",
    "Responses",
    "SQLiteConversations",
    "open_conversations",
]
