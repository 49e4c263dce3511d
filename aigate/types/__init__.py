"""Request types of aigate's OpenAI-shaped surface: the TypedDicts ``create()`` takes.

They mirror ``openai.types`` (openai 3.60) name for name, so code typed against the OpenAI
client type-checks against aigate, without ``openai`` installed::

    from aigate.types.chat import ChatCompletionMessageParam

    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]
    gw.chat.completions.create(model="fast", messages=messages)

openai's ``NOT_GIVEN``/``omit`` type-check for every optional parameter (:class:`Omitted`).
"""

from ._shared import (
    Body,
    CacheOptions,
    Headers,
    Metadata,
    Omitted,
    Query,
    SequenceNotStr,
    TimeoutLike,
    TimeoutTypes,
)
from .audio import FileTypes, TranscriptionCreateParams
from .chat import (
    ChatCompletionMessageParam,
    ChatCompletionToolChoiceOptionParam,
    ChatCompletionToolParam,
    ChatCompletionToolUnionParam,
    CompletionCreateParamsBase,
    CompletionCreateParamsMaybeStreaming,
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)
from .embeddings import EmbeddingCreateParams, EmbeddingInput

__all__ = [
    "Body",
    "CacheOptions",
    "ChatCompletionMessageParam",
    "ChatCompletionToolChoiceOptionParam",
    "ChatCompletionToolParam",
    "ChatCompletionToolUnionParam",
    "CompletionCreateParamsBase",
    "CompletionCreateParamsMaybeStreaming",
    "CompletionCreateParamsNonStreaming",
    "CompletionCreateParamsStreaming",
    "EmbeddingCreateParams",
    "EmbeddingInput",
    "FileTypes",
    "Headers",
    "Metadata",
    "Omitted",
    "Query",
    "SequenceNotStr",
    "TimeoutLike",
    "TimeoutTypes",
    "TranscriptionCreateParams",
]
