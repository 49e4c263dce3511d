"""OpenAI-shaped response models, plus aigate's own call metadata.

Field names and types follow the ``openai`` package (``openai.types.chat.ChatCompletion`` and
friends), so code written against the OpenAI client reads aigate's results unchanged: every
field of openai's model is a field here too (tests/test_response_models.py diffs the field
sets against the installed ``openai``), plus aigate's own (``reasoning_content``). Extra
fields a provider sends are kept (``extra="allow"``), as openai does.

Fields that only some providers send (audio, annotations, moderation, logprobs...) are
optional here even where openai's nested model requires them: a gateway must not refuse a
whole answer over a part it does not read. They are plain ``X | None = None`` fields with no
validators, so a chunk that lacks them (almost every chunk) costs almost nothing more.

Models are built lazily (``defer_build``) so that ``import aigate`` stays cheap; the first
validation of each model pays for its schema once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = [
    "Annotation",
    "AnnotationURLCitation",
    "Attempt",
    "ChatCompletion",
    "ChatCompletionAudio",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "ChatCompletionTokenLogprob",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaAudio",
    "ChoiceDeltaFunctionCall",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "CompletionTokensDetails",
    "CreateEmbeddingResponse",
    "Embedding",
    "EmbeddingUsage",
    "Function",
    "FunctionCall",
    "GatewayInfo",
    "Moderation",
    "ModerationResult",
    "ModerationResults",
    "PromptTokensDetails",
    "RateLimitInfo",
    "TopLogprob",
    "Transcription",
    "TranscriptionLanguage",
    "TranscriptionLogprob",
    "TranscriptionUsage",
    "TranscriptionUsageInputTokenDetails",
    "Usage",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True, protected_namespaces=())


class _WithGateway(_Model):
    """A result that carries aigate's :class:`GatewayInfo` beside openai's fields.

    It is a private attribute behind a property: never validated, never in ``model_dump``,
    so the rest of the object is exactly openai's shape.
    """

    _gateway: GatewayInfo | None = PrivateAttr(default=None)

    # Both read and write the private dict pydantic keeps (it holds ``_gateway`` from the
    # moment the model is made) instead of going through ``BaseModel.__getattr__`` and
    # ``__setattr__``, which cost more than the rest of reading ``r.gateway``.
    @property
    def gateway(self) -> GatewayInfo | None:
        """What aigate did for this call (provider, cost, attempts, latency...)."""
        private = self.__pydantic_private__
        if private is None:
            return self._gateway
        info: GatewayInfo | None = private.get("_gateway")
        return info

    @gateway.setter
    def gateway(self, value: GatewayInfo | None) -> None:
        set_gateway(self, value)


def set_gateway(result: _WithGateway, info: GatewayInfo | None) -> None:
    """``result.gateway = info``, for the per-call path: assigning the property goes
    through ``BaseModel.__setattr__``'s dispatch first, which costs more than this."""
    private = result.__pydantic_private__
    if private is None:
        result._gateway = info
    else:
        private["_gateway"] = info


# -- usage ---------------------------------------------------------------------------------


class PromptTokensDetails(_Model):
    """Breakdown of ``prompt_tokens``; every count here is *included* in ``prompt_tokens``.

    ``cache_write_tokens`` counts tokens written to a provider's prompt cache at the default
    (5 minute) duration; ``cache_write_1h_tokens`` those written for one hour (Anthropic).
    """

    cached_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None
    text_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None


class CompletionTokensDetails(_Model):
    """Breakdown of ``completion_tokens``; reasoning tokens are *included* in it."""

    reasoning_tokens: int | None = None
    audio_tokens: int | None = None
    text_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class Usage(_Model):
    """Token usage in OpenAI's convention, whichever provider answered.

    ``prompt_tokens`` includes cached reads and cache writes, ``completion_tokens`` includes
    reasoning tokens. ``cost`` is a provider-reported cost in USD where one is sent
    (OpenRouter); aigate's own price is on ``GatewayInfo.cost_usd``.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


# -- logprobs and moderation (completions and chunks) --------------------------------------


class TopLogprob(_Model):
    token: str | None = None
    bytes: list[int] | None = None
    logprob: float | None = None


class ChatCompletionTokenLogprob(_Model):
    token: str | None = None
    bytes: list[int] | None = None
    logprob: float | None = None
    top_logprobs: list[TopLogprob] | None = None


class ChoiceLogprobs(_Model):
    content: list[ChatCompletionTokenLogprob] | None = None
    refusal: list[ChatCompletionTokenLogprob] | None = None


class ModerationResult(_Model):
    type: str | None = None  # "moderation_result"
    model: str | None = None
    flagged: bool | None = None
    categories: dict[str, bool] | None = None
    category_scores: dict[str, float] | None = None
    category_applied_input_types: dict[str, list[str]] | None = None


class ModerationResults(_Model):
    """openai's ``ModerationInput``/``ModerationOutput`` in one model: ``type``
    ``"moderation_results"`` with ``model`` and ``results``, or ``"error"`` with ``code`` and
    ``message``."""

    type: str | None = None
    model: str | None = None
    results: list[ModerationResult] | None = None
    code: str | None = None
    message: str | None = None


class Moderation(_Model):
    """Moderation of the request's input and the generated output (moderated completions)."""

    input: ModerationResults | None = None
    output: ModerationResults | None = None


# -- chat completion -----------------------------------------------------------------------


class Function(_Model):
    name: str
    arguments: str


class ChatCompletionMessageToolCall(_Model):
    id: str
    type: Literal["function"] = "function"
    function: Function


class FunctionCall(_Model):
    """The deprecated ``function_call`` (before ``tool_calls``)."""

    name: str | None = None
    arguments: str | None = None


class AnnotationURLCitation(_Model):
    url: str | None = None
    title: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class Annotation(_Model):
    """A citation in the message (web search). ``type`` is a plain string: OpenRouter and
    others send types beyond openai's ``"url_citation"``, kept with their fields."""

    type: str = "url_citation"
    url_citation: AnnotationURLCitation | None = None


class ChatCompletionAudio(_Model):
    """An audio answer (``modalities=["audio"]``): base64 ``data`` and its ``transcript``."""

    id: str | None = None
    data: str | None = None
    expires_at: int | None = None
    transcript: str | None = None


class ChatCompletionMessage(_Model):
    """The assistant's message. ``reasoning_content`` carries a model's visible thinking
    (Anthropic thinking blocks, Gemini thought parts, DeepSeek/OpenRouter reasoning), kept
    apart from ``content``."""

    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    annotations: list[Annotation] | None = None
    audio: ChatCompletionAudio | None = None
    function_call: FunctionCall | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    reasoning_content: str | None = None


class Choice(_Model):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: FinishReason | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletion(_WithGateway):
    """A chat completion, field for field as OpenAI's; ``.gateway`` is aigate's metadata."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    metadata: dict[str, str] | None = None
    moderation: Moderation | None = None


# -- streaming -----------------------------------------------------------------------------


class ChoiceDeltaToolCallFunction(_Model):
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(_Model):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChoiceDeltaToolCallFunction | None = None


class ChoiceDeltaFunctionCall(_Model):
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaAudio(_Model):
    id: str | None = None
    data: str | None = None
    expires_at: int | None = None
    transcript: str | None = None


class ChoiceDelta(_Model):
    role: Literal["assistant", "system", "user", "developer", "tool"] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None
    audio: ChoiceDeltaAudio | None = None
    function_call: ChoiceDeltaFunctionCall | None = None
    reasoning_content: str | None = None


class ChunkChoice(_Model):
    index: int = 0
    delta: ChoiceDelta
    finish_reason: FinishReason | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(_Model):
    """One streamed chunk, as OpenAI's ``ChatCompletionChunk``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    moderation: Moderation | None = None
    obfuscation: str | None = None  # random padding against side channels (stream_options)


# -- embeddings and audio ------------------------------------------------------------------


class Embedding(_Model):
    embedding: list[float] | str
    index: int
    object: Literal["embedding"] = "embedding"


class EmbeddingUsage(_Model):
    prompt_tokens: int = 0
    total_tokens: int = 0


class CreateEmbeddingResponse(_WithGateway):
    data: list[Embedding]
    model: str
    object: Literal["list"] = "list"
    usage: EmbeddingUsage = Field(default_factory=EmbeddingUsage)


class TranscriptionLanguage(_Model):
    code: str | None = None


class TranscriptionLogprob(_Model):
    token: str | None = None
    bytes: list[float] | None = None
    logprob: float | None = None


class TranscriptionUsageInputTokenDetails(_Model):
    audio_tokens: int | None = None
    text_tokens: int | None = None


class TranscriptionUsage(_Model):
    """openai's two transcription usages in one model: ``type`` ``"tokens"`` (token counts)
    or ``"duration"`` (``seconds`` of audio)."""

    type: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_token_details: TranscriptionUsageInputTokenDetails | None = None
    seconds: float | None = None


class Transcription(_WithGateway):
    """A transcription. For ``response_format`` ``text``/``srt``/``vtt`` the raw body is in
    ``text`` (OpenAI's client returns a bare ``str`` there; a model keeps ``gateway``)."""

    text: str
    languages: list[TranscriptionLanguage] | None = None
    logprobs: list[TranscriptionLogprob] | None = None
    usage: TranscriptionUsage | None = None


def _init_gateway(self: BaseModel, context: object, /) -> None:
    """What pydantic's ``init_private_attributes`` does for a model whose only private
    attribute is ``_gateway`` (default None), without its generic loop over the attributes
    and their defaults, which pydantic calls (twice, through its wrapper) for every
    completion it validates: a fifth of parsing a short one."""
    if getattr(self, "__pydantic_private__", None) is None:
        object.__setattr__(self, "__pydantic_private__", {"_gateway": None})


# Our own results only: a subclass (say, a user's, with more private attributes) is wrapped
# by pydantic as usual, its ``init_private_attributes`` first.
for _result in (ChatCompletion, CreateEmbeddingResponse, Transcription):
    assert _result.__private_attributes__.keys() == {"_gateway"}
    setattr(_result, "model_post_init", _init_gateway)  # noqa: B010 (mypy: a method)


# -- aigate metadata -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """Rate-limit state a provider reported in its headers, in one shape for every provider.

    Durations are seconds from the moment the response arrived. ``None`` means not sent.
    """

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_s: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_s: float | None = None
    retry_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt made for a call: where it went, how it ended, how long it took."""

    provider: str
    model: str
    key_id: str | None
    status_code: int | None
    error: str | None  # the aigate error class name, None on success
    error_class: str | None  # "transient", "key", "request" or None on success
    latency_ms: float
    wait_ms: float = 0.0  # time slept before this attempt


@dataclass(slots=True)
class GatewayInfo:
    """What aigate did for one call: who answered, what it cost, how it got there.

    ``cost_usd`` is ``None`` when the model has no known price (never a silent 0).
    ``estimated`` is true when usage was counted locally because the provider sent none.
    """

    provider: str
    model: str
    route: str | None = None
    cost_usd: Decimal | None = None
    cached: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    key_id: str | None = None
    request_id: str | None = None
    estimated: bool = False
    rate_limit: RateLimitInfo | None = None
    saved_cost_usd: Decimal | None = None
    call_id: str | None = None  # aigate's id for the call: the ledger record's id
    cache_similarity: float | None = None  # for a semantic cache hit: the prompts' cosine
    #: The ``max_tokens`` sent when a budget with ``on_exceed="clamp"`` lowered the call's
    #: (None: the call went out with its own); the ledger row's ``max_tokens`` too.
    max_tokens: int | None = None
