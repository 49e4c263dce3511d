"""The parameters of ``chat.completions.create``, typed as the openai SDK types them.

Each TypedDict mirrors the one of the same name in ``openai.types.chat`` (openai 3.60,
``openai/types/chat/*_param.py`` and ``completion_create_params.py``), so a message list
written for the OpenAI client type-checks here unchanged. The create-parameter dicts add
aigate's own parameters (``cache``, ``api_key``) and accept openai's ``NOT_GIVEN``/``omit``
for every optional parameter, as openai's method signatures do.
"""

from collections.abc import Iterable
from typing import Literal, TypeAlias, Union

from typing_extensions import Required, TypedDict

from ._shared import (
    Body,
    CacheOptions,
    Headers,
    Metadata,
    Omitted,
    Query,
    SequenceNotStr,
    TimeoutTypes,
)

__all__ = [
    "ChatCompletionAllowedToolChoiceParam",
    "ChatCompletionAllowedToolsParam",
    "ChatCompletionAssistantMessageParam",
    "ChatCompletionAudioParam",
    "ChatCompletionContentPartImageParam",
    "ChatCompletionContentPartInputAudioParam",
    "ChatCompletionContentPartParam",
    "ChatCompletionContentPartRefusalParam",
    "ChatCompletionContentPartTextParam",
    "ChatCompletionCustomToolParam",
    "ChatCompletionDeveloperMessageParam",
    "ChatCompletionFunctionCallOptionParam",
    "ChatCompletionFunctionMessageParam",
    "ChatCompletionFunctionToolParam",
    "ChatCompletionMessageCustomToolCallParam",
    "ChatCompletionMessageFunctionToolCallParam",
    "ChatCompletionMessageParam",
    "ChatCompletionMessageToolCallUnionParam",
    "ChatCompletionNamedToolChoiceCustomParam",
    "ChatCompletionNamedToolChoiceParam",
    "ChatCompletionPredictionContentParam",
    "ChatCompletionRole",
    "ChatCompletionStreamOptionsParam",
    "ChatCompletionSystemMessageParam",
    "ChatCompletionToolChoiceOptionParam",
    "ChatCompletionToolMessageParam",
    "ChatCompletionToolParam",
    "ChatCompletionToolUnionParam",
    "ChatCompletionUserMessageParam",
    "CompletionCreateParamsBase",
    "CompletionCreateParamsMaybeStreaming",
    "CompletionCreateParamsNonStreaming",
    "CompletionCreateParamsStreaming",
    "FunctionDefinition",
    "FunctionParameters",
    "ReasoningEffort",
    "ResponseFormat",
    "ResponseFormatJSONObject",
    "ResponseFormatJSONSchema",
    "ResponseFormatText",
    "WebSearchOptions",
]

ChatCompletionRole: TypeAlias = Literal[
    "developer", "system", "user", "assistant", "tool", "function"
]
ReasoningEffort: TypeAlias = Union[
    Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"], None
]
#: A JSON Schema object describing a function's parameters.
FunctionParameters: TypeAlias = dict[str, object]


# -- content parts -------------------------------------------------------------------------


class PromptCacheBreakpoint(TypedDict, total=False):
    mode: Required[Literal["explicit"]]
    ttl: Literal["30m", "12h"]


class ChatCompletionContentPartTextParam(TypedDict, total=False):
    text: Required[str]
    type: Required[Literal["text"]]
    prompt_cache_breakpoint: PromptCacheBreakpoint


class ImageURL(TypedDict, total=False):
    url: Required[str]
    detail: Literal["auto", "low", "high", "original"]


class ChatCompletionContentPartImageParam(TypedDict, total=False):
    image_url: Required[ImageURL]
    type: Required[Literal["image_url"]]
    prompt_cache_breakpoint: PromptCacheBreakpoint


class InputAudio(TypedDict, total=False):
    data: Required[str]
    format: Required[Literal["wav", "mp3"]]


class ChatCompletionContentPartInputAudioParam(TypedDict, total=False):
    input_audio: Required[InputAudio]
    type: Required[Literal["input_audio"]]
    prompt_cache_breakpoint: PromptCacheBreakpoint


class FileFile(TypedDict, total=False):
    file_data: str
    file_id: str
    filename: str


class File(TypedDict, total=False):
    file: Required[FileFile]
    type: Required[Literal["file"]]
    prompt_cache_breakpoint: PromptCacheBreakpoint


class ChatCompletionContentPartRefusalParam(TypedDict, total=False):
    refusal: Required[str]
    type: Required[Literal["refusal"]]


ChatCompletionContentPartParam: TypeAlias = Union[
    ChatCompletionContentPartTextParam,
    ChatCompletionContentPartImageParam,
    ChatCompletionContentPartInputAudioParam,
    File,
]


# -- messages ------------------------------------------------------------------------------


class ChatCompletionDeveloperMessageParam(TypedDict, total=False):
    content: Required[Union[str, Iterable[ChatCompletionContentPartTextParam]]]
    role: Required[Literal["developer"]]
    name: str


class ChatCompletionSystemMessageParam(TypedDict, total=False):
    content: Required[Union[str, Iterable[ChatCompletionContentPartTextParam]]]
    role: Required[Literal["system"]]
    name: str


class ChatCompletionUserMessageParam(TypedDict, total=False):
    content: Required[Union[str, Iterable[ChatCompletionContentPartParam]]]
    role: Required[Literal["user"]]
    name: str


class FunctionCallParam(TypedDict, total=False):
    arguments: Required[str]
    name: Required[str]


class ToolCallFunction(TypedDict, total=False):
    arguments: Required[str]
    name: Required[str]


class ChatCompletionMessageFunctionToolCallParam(TypedDict, total=False):
    id: Required[str]
    function: Required[ToolCallFunction]
    type: Required[Literal["function"]]


class ToolCallCustom(TypedDict, total=False):
    input: Required[str]
    name: Required[str]


class ChatCompletionMessageCustomToolCallParam(TypedDict, total=False):
    id: Required[str]
    custom: Required[ToolCallCustom]
    type: Required[Literal["custom"]]


ChatCompletionMessageToolCallUnionParam: TypeAlias = Union[
    ChatCompletionMessageFunctionToolCallParam, ChatCompletionMessageCustomToolCallParam
]


class AssistantAudio(TypedDict, total=False):
    id: Required[str]


class ChatCompletionAssistantMessageParam(TypedDict, total=False):
    role: Required[Literal["assistant"]]
    audio: AssistantAudio | None
    content: Union[
        str,
        Iterable[Union[ChatCompletionContentPartTextParam, ChatCompletionContentPartRefusalParam]],
        None,
    ]
    function_call: FunctionCallParam | None
    name: str
    refusal: str | None
    tool_calls: Iterable[ChatCompletionMessageToolCallUnionParam]


class ChatCompletionToolMessageParam(TypedDict, total=False):
    content: Required[Union[str, Iterable[ChatCompletionContentPartTextParam]]]
    role: Required[Literal["tool"]]
    tool_call_id: Required[str]


class ChatCompletionFunctionMessageParam(TypedDict, total=False):
    content: Required[str | None]
    name: Required[str]
    role: Required[Literal["function"]]


ChatCompletionMessageParam: TypeAlias = Union[
    ChatCompletionDeveloperMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
    ChatCompletionAssistantMessageParam,
    ChatCompletionToolMessageParam,
    ChatCompletionFunctionMessageParam,
]


# -- tools ---------------------------------------------------------------------------------


class FunctionDefinition(TypedDict, total=False):
    name: Required[str]
    description: str
    parameters: FunctionParameters
    strict: bool | None


class ChatCompletionFunctionToolParam(TypedDict, total=False):
    function: Required[FunctionDefinition]
    type: Required[Literal["function"]]


ChatCompletionToolParam: TypeAlias = ChatCompletionFunctionToolParam


class CustomFormatText(TypedDict, total=False):
    type: Required[Literal["text"]]


class CustomFormatGrammarGrammar(TypedDict, total=False):
    definition: Required[str]
    syntax: Required[Literal["lark", "regex"]]


class CustomFormatGrammar(TypedDict, total=False):
    grammar: Required[CustomFormatGrammarGrammar]
    type: Required[Literal["grammar"]]


class CustomToolDefinition(TypedDict, total=False):
    name: Required[str]
    description: str
    format: Union[CustomFormatText, CustomFormatGrammar]


class ChatCompletionCustomToolParam(TypedDict, total=False):
    custom: Required[CustomToolDefinition]
    type: Required[Literal["custom"]]


ChatCompletionToolUnionParam: TypeAlias = Union[
    ChatCompletionFunctionToolParam, ChatCompletionCustomToolParam
]


class ChatCompletionAllowedToolsParam(TypedDict, total=False):
    mode: Required[Literal["auto", "required"]]
    tools: Required[Iterable[dict[str, object]]]


class ChatCompletionAllowedToolChoiceParam(TypedDict, total=False):
    allowed_tools: Required[ChatCompletionAllowedToolsParam]
    type: Required[Literal["allowed_tools"]]


class NamedFunction(TypedDict, total=False):
    name: Required[str]


class ChatCompletionNamedToolChoiceParam(TypedDict, total=False):
    function: Required[NamedFunction]
    type: Required[Literal["function"]]


class ChatCompletionNamedToolChoiceCustomParam(TypedDict, total=False):
    custom: Required[NamedFunction]
    type: Required[Literal["custom"]]


ChatCompletionToolChoiceOptionParam: TypeAlias = Union[
    Literal["none", "auto", "required"],
    ChatCompletionAllowedToolChoiceParam,
    ChatCompletionNamedToolChoiceParam,
    ChatCompletionNamedToolChoiceCustomParam,
]


class ChatCompletionFunctionCallOptionParam(TypedDict, total=False):
    name: Required[str]


class Function(TypedDict, total=False):
    """A legacy ``functions=`` entry."""

    name: Required[str]
    description: str
    parameters: FunctionParameters


# -- the other request objects -------------------------------------------------------------


class ResponseFormatText(TypedDict, total=False):
    type: Required[Literal["text"]]


class ResponseFormatJSONObject(TypedDict, total=False):
    type: Required[Literal["json_object"]]


class JSONSchema(TypedDict, total=False):
    name: Required[str]
    description: str
    schema: dict[str, object]
    strict: bool | None


class ResponseFormatJSONSchema(TypedDict, total=False):
    json_schema: Required[JSONSchema]
    type: Required[Literal["json_schema"]]


ResponseFormat: TypeAlias = Union[
    ResponseFormatText, ResponseFormatJSONSchema, ResponseFormatJSONObject
]


class VoiceID(TypedDict, total=False):
    id: Required[str]


class ChatCompletionAudioParam(TypedDict, total=False):
    format: Required[Literal["wav", "aac", "mp3", "flac", "opus", "pcm16"]]
    voice: Required[
        Union[
            str,
            Literal[
                "alloy",
                "ash",
                "ballad",
                "coral",
                "echo",
                "sage",
                "shimmer",
                "verse",
                "marin",
                "cedar",
            ],
            VoiceID,
        ]
    ]


class ChatCompletionStreamOptionsParam(TypedDict, total=False):
    include_obfuscation: bool
    include_usage: bool


class ChatCompletionPredictionContentParam(TypedDict, total=False):
    content: Required[Union[str, Iterable[ChatCompletionContentPartTextParam]]]
    type: Required[Literal["content"]]


class ModerationPolicyMode(TypedDict, total=False):
    mode: Required[Literal["score", "block"]]


class ModerationPolicy(TypedDict, total=False):
    input: ModerationPolicyMode | None
    output: ModerationPolicyMode | None


class Moderation(TypedDict, total=False):
    model: Required[str]
    policy: ModerationPolicy | None


class PromptCacheOptions(TypedDict, total=False):
    mode: Literal["implicit", "explicit"]
    ttl: Literal["30m"]


class WebSearchOptionsUserLocationApproximate(TypedDict, total=False):
    city: str
    country: str
    region: str
    timezone: str


class WebSearchOptionsUserLocation(TypedDict, total=False):
    approximate: Required[WebSearchOptionsUserLocationApproximate]
    type: Required[Literal["approximate"]]


class WebSearchOptions(TypedDict, total=False):
    search_context_size: Literal["low", "medium", "high"]
    user_location: WebSearchOptionsUserLocation | None


# -- create() ------------------------------------------------------------------------------


class CompletionCreateParamsBase(TypedDict, total=False):
    """Every keyword of ``chat.completions.create`` but ``stream``: openai's parameters
    with openai's types (``| Omitted``: ``NOT_GIVEN``/``omit`` count as not given), then
    aigate's own."""

    messages: Required[Iterable[ChatCompletionMessageParam]]
    model: Required[str]
    """A route alias (``"fast"``) or ``provider/model`` (``"openai/gpt-4o-mini"``)."""
    audio: ChatCompletionAudioParam | Omitted | None
    frequency_penalty: float | Omitted | None
    function_call: Literal["none", "auto"] | ChatCompletionFunctionCallOptionParam | Omitted
    functions: Iterable[Function] | Omitted
    logit_bias: dict[str, int] | Omitted | None
    logprobs: bool | Omitted | None
    max_completion_tokens: int | Omitted | None
    max_tokens: int | Omitted | None
    metadata: Metadata | Omitted | None
    """Sent to the provider (OpenAI's ``metadata``) and written to the ledger as tags."""
    modalities: list[Literal["text", "audio"]] | Omitted | None
    moderation: Moderation | Omitted | None
    n: int | Omitted | None
    parallel_tool_calls: bool | Omitted
    prediction: ChatCompletionPredictionContentParam | Omitted | None
    presence_penalty: float | Omitted | None
    prompt_cache_key: str | Omitted | None
    prompt_cache_options: PromptCacheOptions | Omitted
    prompt_cache_retention: Literal["in_memory", "24h"] | Omitted | None
    reasoning_effort: ReasoningEffort | Omitted
    response_format: ResponseFormat | Omitted
    safety_identifier: str | Omitted | None
    seed: int | Omitted | None
    service_tier: Literal["auto", "default", "flex", "scale", "priority", "fast"] | Omitted | None
    stop: str | SequenceNotStr[str] | Omitted | None
    store: bool | Omitted | None
    stream_options: ChatCompletionStreamOptionsParam | Omitted | None
    temperature: float | Omitted | None
    tool_choice: ChatCompletionToolChoiceOptionParam | Omitted
    tools: Iterable[ChatCompletionToolUnionParam] | Omitted
    top_logprobs: int | Omitted | None
    top_p: float | Omitted | None
    user: str | Omitted
    """The end user: sent to the provider, and the ledger's ``user`` (budgets, reports)."""
    verbosity: Literal["low", "medium", "high"] | Omitted | None
    web_search_options: WebSearchOptions | Omitted
    # openai's escape hatches, with openai's names
    extra_headers: Headers | None
    extra_query: Query | None
    extra_body: Body | None
    timeout: TimeoutTypes
    # aigate's own
    cache: bool | CacheOptions | None
    """``False`` skips the response cache for this call; a dict tunes it (ttl, mode...)."""
    api_key: str | None
    """A virtual key (``gk_...``): the call runs as that key (its scope, models, budgets)."""


class CompletionCreateParamsNonStreaming(CompletionCreateParamsBase, total=False):
    stream: Literal[False] | Omitted | None


class CompletionCreateParamsStreaming(CompletionCreateParamsBase):
    stream: Required[Literal[True]]


class CompletionCreateParamsMaybeStreaming(CompletionCreateParamsBase):
    """``stream`` known only at run time (a ``bool`` variable)."""

    stream: Required[bool]
