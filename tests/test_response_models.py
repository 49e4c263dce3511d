"""aigate's response models have every field of the installed openai package's models (14.20).

Code written against the OpenAI client reads ``message.annotations``, ``delta.audio``,
``chunk.obfuscation``...; on aigate's models those were missing (an AttributeError, or a
plain dict kept as an extra). Two checks:

- the field sets: for each pair (aigate model, openai model), openai's ``model_fields`` are a
  subset of aigate's, recursively through the nested models openai declares (so a field
  added to a nested openai model in a later release fails here, naming its path);
- the values: a full openai-shaped answer with those fields validates into aigate's model,
  reads as nested models (not dicts), and ``model_dump()`` gives it back, which openai's
  own model reads as the same answer.
"""

from __future__ import annotations

import importlib
import typing
from typing import Any

import pydantic
import pytest

import aigate._models as ours

# (aigate model, openai model as "module:Name"): the public results and their parts.
PAIRS = [
    ("ChatCompletion", "openai.types.chat:ChatCompletion"),
    ("Choice", "openai.types.chat.chat_completion:Choice"),
    ("ChatCompletionMessage", "openai.types.chat:ChatCompletionMessage"),
    (
        "ChatCompletionMessageToolCall",
        "openai.types.chat:ChatCompletionMessageFunctionToolCall",
    ),
    ("Function", "openai.types.chat.chat_completion_message_function_tool_call:Function"),
    ("FunctionCall", "openai.types.chat.chat_completion_message:FunctionCall"),
    ("Annotation", "openai.types.chat.chat_completion_message:Annotation"),
    (
        "AnnotationURLCitation",
        "openai.types.chat.chat_completion_message:AnnotationURLCitation",
    ),
    ("ChatCompletionAudio", "openai.types.chat:ChatCompletionAudio"),
    ("ChoiceLogprobs", "openai.types.chat.chat_completion:ChoiceLogprobs"),
    ("ChatCompletionTokenLogprob", "openai.types.chat:ChatCompletionTokenLogprob"),
    ("TopLogprob", "openai.types.chat.chat_completion_token_logprob:TopLogprob"),
    ("Moderation", "openai.types.chat.chat_completion:Moderation"),
    ("ModerationResults", "openai.types.chat.chat_completion:ModerationInputModerationResults"),
    ("ModerationResults", "openai.types.chat.chat_completion:ModerationInputError"),
    (
        "ModerationResult",
        "openai.types.chat.chat_completion:ModerationInputModerationResultsResult",
    ),
    ("ChatCompletionChunk", "openai.types.chat:ChatCompletionChunk"),
    ("ChunkChoice", "openai.types.chat.chat_completion_chunk:Choice"),
    ("ChoiceDelta", "openai.types.chat.chat_completion_chunk:ChoiceDelta"),
    ("ChoiceDeltaAudio", "openai.types.chat.chat_completion_chunk:ChoiceDeltaAudio"),
    ("ChoiceDeltaFunctionCall", "openai.types.chat.chat_completion_chunk:ChoiceDeltaFunctionCall"),
    ("ChoiceDeltaToolCall", "openai.types.chat.chat_completion_chunk:ChoiceDeltaToolCall"),
    (
        "ChoiceDeltaToolCallFunction",
        "openai.types.chat.chat_completion_chunk:ChoiceDeltaToolCallFunction",
    ),
    ("ChoiceLogprobs", "openai.types.chat.chat_completion_chunk:ChoiceLogprobs"),
    ("Moderation", "openai.types.chat.chat_completion_chunk:Moderation"),
    ("Usage", "openai.types:CompletionUsage"),
    ("PromptTokensDetails", "openai.types.completion_usage:PromptTokensDetails"),
    ("CompletionTokensDetails", "openai.types.completion_usage:CompletionTokensDetails"),
    ("CreateEmbeddingResponse", "openai.types:CreateEmbeddingResponse"),
    ("Embedding", "openai.types:Embedding"),
    ("EmbeddingUsage", "openai.types.create_embedding_response:Usage"),
    ("Transcription", "openai.types.audio:Transcription"),
    ("TranscriptionLanguage", "openai.types.audio:TranscriptionLanguage"),
    ("TranscriptionLogprob", "openai.types.audio.transcription:Logprob"),
    ("TranscriptionUsage", "openai.types.audio.transcription:UsageTokens"),
    ("TranscriptionUsage", "openai.types.audio.transcription:UsageDuration"),
    (
        "TranscriptionUsageInputTokenDetails",
        "openai.types.audio.transcription:UsageTokensInputTokenDetails",
    ),
]

# Nested openai models aigate does not mirror, each with the reason.
KNOWN_GAPS = {
    # openai's message.tool_calls is a union of function and custom (free-form input) tool
    # calls; aigate's tool calls are function calls only, and its surfaces, cache and stream
    # assembly read `call.function` (a follow-up, not a missing field).
    "ChatCompletionMessageCustomToolCall",
}


def theirs(spec: str) -> type[pydantic.BaseModel]:
    module, _, name = spec.partition(":")
    model = getattr(importlib.import_module(module), name)
    assert isinstance(model, type) and issubclass(model, pydantic.BaseModel)
    return model


def _models_in(annotation: Any) -> list[type[pydantic.BaseModel]]:
    """The pydantic models an annotation mentions (through Optional, List, Union,
    Annotated, Dict...)."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [annotation]
    found: list[type[pydantic.BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _fields(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    if not model.__pydantic_complete__:
        model.model_rebuild()
    return model.model_fields


def missing(
    ours_model: type[pydantic.BaseModel], openai_model: type[pydantic.BaseModel]
) -> list[str]:
    """openai fields with no counterpart in aigate's model, as paths, recursively."""
    problems: list[str] = []
    mine = _fields(ours_model)
    for name, field in _fields(openai_model).items():
        path = f"{ours_model.__name__}.{name}"
        if name not in mine:
            problems.append(f"{path} (openai: {field.annotation})")
            continue
        nested = [m for m in _models_in(field.annotation) if m.__name__ not in KNOWN_GAPS]
        if not nested:
            continue
        counterparts = _models_in(mine[name].annotation)
        if len(counterparts) != 1:
            problems.append(f"{path}: a plain value here, a model in openai ({field.annotation})")
            continue
        for model in nested:
            problems.extend(missing(counterparts[0], model))
    return problems


@pytest.mark.parametrize(("name", "spec"), PAIRS, ids=[f"{a}~{b}" for a, b in PAIRS])
def test_openai_fields_are_a_subset(name: str, spec: str) -> None:
    model = getattr(ours, name, None)
    assert model is not None, f"aigate._models has no {name} (openai: {spec})"
    assert missing(model, theirs(spec)) == []


def test_aigate_keeps_its_own_fields_and_extras() -> None:
    message = ours.ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": "x",
            "reasoning_content": "because",
            "thinking_blocks": [{"type": "thinking", "thinking": "t", "signature": "s"}],
            "provider_specific": 1,
        }
    )
    assert message.reasoning_content == "because"
    assert message.model_extra == {
        "thinking_blocks": [{"type": "thinking", "thinking": "t", "signature": "s"}],
        "provider_specific": 1,
    }
    delta = ours.ChoiceDelta.model_validate({"reasoning_content": "r", "thinking_blocks": []})
    assert delta.reasoning_content == "r" and delta.model_extra == {"thinking_blocks": []}


# -- full openai-shaped answers: they validate, read as models, and dump back ----------------

LOGPROBS = {
    "content": [
        {
            "token": "Hi",
            "bytes": [72, 105],
            "logprob": -0.25,
            "top_logprobs": [{"token": "Hi", "bytes": [72, 105], "logprob": -0.25}],
        }
    ],
    "refusal": [],
}
MODERATION = {
    "input": {
        "type": "moderation_results",
        "model": "omni-moderation-latest",
        "results": [
            {
                "type": "moderation_result",
                "model": "omni-moderation-latest",
                "flagged": False,
                "categories": {"violence": False},
                "category_scores": {"violence": 0.001},
                "category_applied_input_types": {"violence": ["text"]},
            }
        ],
    },
    "output": {"type": "error", "code": "timeout", "message": "moderation timed out"},
}
USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 7,
    "total_tokens": 19,
    "prompt_tokens_details": {
        "cached_tokens": 4,
        "audio_tokens": 0,
        "image_tokens": 2,
        "text_tokens": 10,
    },
    "completion_tokens_details": {
        "reasoning_tokens": 3,
        "audio_tokens": 0,
        "text_tokens": 4,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}
COMPLETION = {
    "id": "chatcmpl-full",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-audio-preview",
    "service_tier": "default",
    "system_fingerprint": "fp_1",
    "metadata": {"team": "search"},
    "moderation": MODERATION,
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": LOGPROBS,
            "message": {
                "role": "assistant",
                "content": "Hi, see [1].",
                "refusal": "",
                "annotations": [
                    {
                        "type": "url_citation",
                        "url_citation": {
                            "url": "https://example.com",
                            "title": "Example",
                            "start_index": 8,
                            "end_index": 11,
                        },
                    }
                ],
                "audio": {
                    "id": "audio_1",
                    "data": "UklGRg==",
                    "expires_at": 1700003600,
                    "transcript": "Hi, see one.",
                },
                "function_call": {"name": "lookup", "arguments": '{"q": "x"}'},
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"q": "x"}'},
                    }
                ],
            },
        }
    ],
    "usage": USAGE,
}
CHUNK = {
    "id": "chatcmpl-full",
    "object": "chat.completion.chunk",
    "created": 1700000000,
    "model": "gpt-4o-audio-preview",
    "service_tier": "default",
    "system_fingerprint": "fp_1",
    "obfuscation": "a1B2c3",
    "moderation": MODERATION,
    "choices": [
        {
            "index": 0,
            "finish_reason": None,
            "logprobs": LOGPROBS,
            "delta": {
                "role": "assistant",
                "content": "Hi",
                "refusal": None,
                "audio": {"id": "audio_1", "data": "UklG", "transcript": "Hi"},
                "function_call": {"name": "lookup", "arguments": '{"q"'},
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": ""},
                    }
                ],
            },
        }
    ],
    "usage": USAGE,
}
EMBEDDINGS = {
    "object": "list",
    "model": "text-embedding-3-small",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25]}],
    "usage": {"prompt_tokens": 2, "total_tokens": 2},
}
TRANSCRIPTION = {
    "text": "Hello.",
    "languages": [{"code": "en"}],
    "logprobs": [{"token": "Hello", "bytes": [72.0], "logprob": -0.1}],
    "usage": {
        "type": "tokens",
        "input_tokens": 20,
        "output_tokens": 3,
        "total_tokens": 23,
        "input_token_details": {"audio_tokens": 18, "text_tokens": 2},
    },
}
ANSWERS = [
    ("ChatCompletion", "openai.types.chat:ChatCompletion", COMPLETION),
    ("ChatCompletionChunk", "openai.types.chat:ChatCompletionChunk", CHUNK),
    ("CreateEmbeddingResponse", "openai.types:CreateEmbeddingResponse", EMBEDDINGS),
    ("Transcription", "openai.types.audio:Transcription", TRANSCRIPTION),
]


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _no_dicts_where_openai_has_models(ours_value: Any, openai_value: Any, path: str) -> None:
    """Wherever openai's parsed answer has a model, aigate's has one too (not a dict)."""
    if isinstance(openai_value, pydantic.BaseModel):
        assert isinstance(ours_value, pydantic.BaseModel), f"{path}: {type(ours_value)}"
        for name in type(openai_value).model_fields:
            _no_dicts_where_openai_has_models(
                getattr(ours_value, name), getattr(openai_value, name), f"{path}.{name}"
            )
    elif isinstance(openai_value, list):
        assert isinstance(ours_value, list) and len(ours_value) == len(openai_value), path
        for i, (a, b) in enumerate(zip(ours_value, openai_value, strict=True)):
            _no_dicts_where_openai_has_models(a, b, f"{path}.{i}")


@pytest.mark.parametrize(("name", "spec", "body"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_a_full_openai_answer_validates_and_round_trips(name: str, spec: str, body: Any) -> None:
    model = getattr(ours, name)
    parsed = model.model_validate(body)
    assert not parsed.model_extra, f"openai fields kept as extras: {parsed.model_extra}"
    assert _strip_none(parsed.model_dump()) == _strip_none(body)
    assert model.model_validate_json(parsed.model_dump_json()) == parsed
    openai_model = theirs(spec)
    reference = openai_model.model_validate(body)
    _no_dicts_where_openai_has_models(parsed, reference, name)
    again = openai_model.model_validate(parsed.model_dump())
    assert again.model_dump(exclude_none=True) == reference.model_dump(exclude_none=True)


def test_the_new_fields_read_as_models() -> None:
    completion = ours.ChatCompletion.model_validate(COMPLETION)
    message = completion.choices[0].message
    assert message.annotations is not None and message.annotations[0].url_citation is not None
    assert message.annotations[0].url_citation.url == "https://example.com"
    assert message.audio is not None and message.audio.transcript == "Hi, see one."
    assert message.function_call is not None and message.function_call.name == "lookup"
    logprobs = completion.choices[0].logprobs
    assert logprobs is not None and logprobs.content is not None
    assert logprobs.content[0].top_logprobs is not None
    assert logprobs.content[0].top_logprobs[0].logprob == -0.25
    assert completion.moderation is not None and completion.moderation.output is not None
    assert completion.moderation.output.code == "timeout"
    chunk = ours.ChatCompletionChunk.model_validate(CHUNK)
    assert chunk.obfuscation == "a1B2c3"
    delta = chunk.choices[0].delta
    assert delta.audio is not None and delta.audio.data == "UklG"
    assert delta.function_call is not None and delta.function_call.arguments == '{"q"'


def test_lenient_where_providers_differ() -> None:
    """Parts only some providers send never fail a whole answer: an annotation type other
    than openai's, an audio object without expires_at, a moderation without output."""
    message = ours.ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": "x",
            "annotations": [{"type": "file", "file": {"name": "a.pdf", "hash": "h"}}],
            "audio": {"id": "a", "data": "UklG"},
        }
    )
    assert message.annotations is not None
    assert message.annotations[0].type == "file"
    assert message.annotations[0].model_extra == {"file": {"name": "a.pdf", "hash": "h"}}
    assert message.audio is not None and message.audio.expires_at is None


def test_the_check_looks_inside_nested_models() -> None:
    """A field missing two levels down (the message's ``audio``) is found, by its path."""
    fields = ours.ChatCompletionMessage.model_fields
    message = pydantic.create_model(  # type: ignore[call-overload]
        "Message", **{n: (f.annotation, None) for n, f in fields.items() if n != "audio"}
    )
    choice = pydantic.create_model(
        "Choice",
        index=(int, 0),
        message=(message, ...),
        finish_reason=(str | None, None),
        logprobs=(ours.ChoiceLogprobs | None, None),
    )
    found = missing(choice, theirs("openai.types.chat.chat_completion:Choice"))
    assert [p.split(" ")[0] for p in found] == ["Message.audio"]
