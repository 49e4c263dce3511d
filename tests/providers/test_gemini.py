"""The Gemini codec, through a real Gateway and AsyncGateway (``run`` is sync and async).

Provider answers are the fixtures in ``tests/fixtures/gemini`` (sources in its SOURCES.md).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai.types as oai
import pytest

import aigate

from .test_anthropic import Recorder, Run, fixture, run, sse_events, sse_response, validate

__all__ = ["run"]  # the sync/async fixture, shared with test_anthropic

KEY = "AIza-test-secret-key"
GEMINI = {"gemini": {"api_keys": [KEY]}}
MODEL = "gemini/gemini-2.5-flash"
BASE = "https://generativelanguage.googleapis.com/v1beta/models"
HI = [{"role": "user", "content": "Hello!"}]
FIND_THEATERS = {
    "type": "function",
    "function": {
        "name": "find_theaters",
        "description": "find theaters based on location and optionally movie title",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state"},
                "movie": {"type": "string", "description": "Any movie title"},
            },
            "required": ["location"],
        },
    },
}


def answer(name: str, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=fixture(name), headers={"content-type": "application/json", **headers}
    )


def events(name: str) -> list[dict[str, Any]]:
    """The GenerateContentResponse objects of an SSE fixture, parsed independently."""
    return [json.loads(e.split(b"data: ", 1)[1]) for e in sse_events(fixture(name))]


def parts(name: str, thought: bool) -> str:
    return "".join(
        p["text"]
        for e in events(name)
        for c in e.get("candidates", ())
        for p in c["content"]["parts"]
        if "text" in p and bool(p.get("thought")) == thought
    )


class TestGenerateContent:
    def test_recorded_answer_in_openai_shape(self, run: Run) -> None:
        rec = Recorder([answer("gemini/generate_content.json")])
        r = run(
            rec,
            {"providers": GEMINI},
            model=MODEL,
            messages=[{"role": "system", "content": "You are a chatbot."}, *HI],
            temperature=0.2,
            top_p=0.9,
            max_completion_tokens=256,
            stop=["END"],
            n=1,
            seed=3,
            user="u-1",
            metadata={"project": "acme"},
            extra_body={"generationConfig": {"topK": 40}, "safetySettings": []},
        )
        validate(r)
        assert r.id == "bzlXaa_EE_aHqtsPi_zw8Ao" and r.model == "gemini-2.5-flash"
        assert r.choices[0].message.content == "Hello! How can I help you today?"
        assert r.choices[0].finish_reason == "stop"
        usage = r.usage
        assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (9, 43, 52)
        assert usage.completion_tokens_details.reasoning_tokens == 34
        request = rec.requests[0]
        assert str(request.url) == f"{BASE}/gemini-2.5-flash:generateContent"
        assert request.headers["x-goog-api-key"] == KEY
        assert KEY not in str(request.url)
        assert rec.body == {
            "contents": [{"role": "user", "parts": [{"text": "Hello!"}]}],
            "systemInstruction": {"parts": [{"text": "You are a chatbot."}]},
            "generationConfig": {
                "temperature": 0.2,
                "topP": 0.9,
                "seed": 3,
                "candidateCount": 1,
                "maxOutputTokens": 256,
                "stopSequences": ["END"],
                "topK": 40,
            },
            "safetySettings": [],
        }

    def test_api_version_option(self, run: Run) -> None:
        rec = Recorder([answer("gemini/generate_content.json")])
        providers = {"gemini": {"api_keys": [KEY], "options": {"api_version": "v1"}}}
        run(rec, {"providers": providers}, model="gemini/models/gemini-2.5-flash", messages=HI)
        expected = (
            "https://generativelanguage.googleapis.com/v1/models/gemini-2.5-flash:generateContent"
        )
        assert str(rec.requests[0].url) == expected

    def test_images_and_audio_become_parts(self, run: Run) -> None:
        rec = Recorder([answer("gemini/generate_content.json")])
        content = [
            {"type": "text", "text": "Describe these."},
            {"type": "image_url", "image_url": {"url": "data:image/webp;base64,UklGRg=="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png?size=1"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/render"}},
            {"type": "input_audio", "input_audio": {"data": "UklGRiQ=", "format": "wav"}},
        ]
        run(
            rec, {"providers": GEMINI}, model=MODEL, messages=[{"role": "user", "content": content}]
        )
        assert rec.body["contents"][0]["parts"] == [
            {"text": "Describe these."},
            {"inlineData": {"mimeType": "image/webp", "data": "UklGRg=="}},
            {
                "fileData": {
                    "mimeType": "image/png",
                    "fileUri": "https://example.com/cat.png?size=1",
                }
            },
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/render"}},
            {"inlineData": {"mimeType": "audio/wav", "data": "UklGRiQ="}},
        ]

    def test_json_mode(self, run: Run) -> None:
        rec = Recorder([answer("gemini/json_mode.json")])
        r = run(
            rec,
            {"providers": GEMINI},
            model=MODEL,
            messages=HI,
            response_format={"type": "json_object"},
        )
        assert rec.body["generationConfig"] == {"responseMimeType": "application/json"}
        recipes = json.loads(r.choices[0].message.content)
        assert recipes[0] == {"recipe_name": "Chocolate Chip Cookies"} and len(recipes) == 5
        simple = {"type": "object", "properties": {"recipe_name": {"type": "string"}}}
        strict = {**simple, "additionalProperties": False}
        for schema, key in ((simple, "responseSchema"), (strict, "responseJsonSchema")):
            fmt = {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}
            run(rec, {"providers": GEMINI}, model=MODEL, messages=HI, response_format=fmt)
            assert rec.body["generationConfig"] == {
                "responseMimeType": "application/json",
                key: schema,
            }

    @pytest.mark.parametrize(
        ("model", "effort", "expected"),
        [
            ("gemini-2.5-flash", "low", {"thinkingBudget": 1024, "includeThoughts": True}),
            ("gemini-2.5-flash", "none", {"thinkingBudget": 0, "includeThoughts": False}),
            ("gemini-3-pro-preview", "high", {"thinkingLevel": "high", "includeThoughts": True}),
            (
                "gemini-3-flash-preview",
                "none",
                {"thinkingLevel": "minimal", "includeThoughts": True},
            ),
        ],
    )
    def test_reasoning_effort(self, run: Run, model: str, effort: str, expected: Any) -> None:
        rec = Recorder([answer("gemini/generate_content.json")])
        run(
            rec,
            {"providers": GEMINI},
            model=f"gemini/{model}",
            messages=HI,
            reasoning_effort=effort,
        )
        assert rec.body["generationConfig"]["thinkingConfig"] == expected

    def test_blocked_prompt_is_content_filter(self, run: Run) -> None:
        rec = Recorder([answer("gemini/blocked_prompt.json")])
        r = run(rec, {"providers": GEMINI}, model=MODEL, messages=HI)
        validate(r)
        assert r.choices[0].finish_reason == "content_filter"
        assert r.choices[0].message.content is None


class TestFunctionCalling:
    def test_call_and_result_round_trip(self, run: Run) -> None:
        rec = Recorder(
            [answer("gemini/function_call.json"), answer("gemini/function_call_answer.json")]
        )
        question = {"role": "user", "content": "Which theaters in Mountain View show Barbie movie?"}
        first = run(
            rec, {"providers": GEMINI}, model=MODEL, messages=[question], tools=[FIND_THEATERS]
        )
        validate(first)
        assert first.choices[0].finish_reason == "tool_calls"
        assert first.choices[0].message.content is None
        (call,) = first.choices[0].message.tool_calls
        assert call.id.startswith("call_") and len(call.id) == 29
        assert call.function.name == "find_theaters"
        assert json.loads(call.function.arguments) == {
            "movie": "Barbie",
            "location": "Mountain View, CA",
        }
        assert rec.body["tools"] == [
            {
                "functionDeclarations": [
                    {
                        "name": "find_theaters",
                        "description": FIND_THEATERS["function"]["description"],
                        "parameters": FIND_THEATERS["function"]["parameters"],
                    }
                ]
            }
        ]
        theaters = {
            "movie": "Barbie",
            "theaters": [{"name": "AMC Mountain View 16"}, {"name": "Regal Edwards 14"}],
        }
        follow_up = [
            question,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps(theaters)},
        ]
        second = run(
            rec, {"providers": GEMINI}, model=MODEL, messages=follow_up, tools=[FIND_THEATERS]
        )
        assert second.choices[0].message.content.startswith("OK. I found two theaters")
        assert second.choices[0].finish_reason == "stop"
        assert rec.body["contents"] == [
            {
                "role": "user",
                "parts": [{"text": "Which theaters in Mountain View show Barbie movie?"}],
            },
            {
                "role": "model",
                "parts": [
                    {
                        "functionCall": {
                            "name": "find_theaters",
                            "args": {"movie": "Barbie", "location": "Mountain View, CA"},
                        }
                    }
                ],
            },
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "find_theaters", "response": theaters}}],
            },
        ]

    def test_parallel_calls_and_results(self, run: Run) -> None:
        rec = Recorder(
            [
                answer("gemini/parallel_function_calls.json"),
                answer("gemini/function_call_answer.json"),
            ]
        )
        first = run(rec, {"providers": GEMINI}, model=MODEL, messages=HI, tools=[FIND_THEATERS])
        validate(first)
        calls = first.choices[0].message.tool_calls
        assert [c.function.name for c in calls] == ["find_theaters", "find_movies"]
        assert len({c.id for c in calls}) == 2
        follow_up = [
            *HI,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": calls[1].id, "content": "Barbie, Oppenheimer"},
            {"role": "tool", "tool_call_id": calls[0].id, "content": "[1, 2]"},
        ]
        run(rec, {"providers": GEMINI}, model=MODEL, messages=follow_up, tools=[FIND_THEATERS])
        assert rec.body["contents"][-1] == {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "find_movies",
                        "response": {"output": "Barbie, Oppenheimer"},
                    }
                },
                {"functionResponse": {"name": "find_theaters", "response": {"output": [1, 2]}}},
            ],
        }

    @pytest.mark.parametrize(
        ("choice", "expected"),
        [
            ("auto", {"mode": "AUTO"}),
            ("none", {"mode": "NONE"}),
            ("required", {"mode": "ANY"}),
            (
                {"type": "function", "function": {"name": "find_theaters"}},
                {"mode": "ANY", "allowedFunctionNames": ["find_theaters"]},
            ),
        ],
    )
    def test_tool_choice_mapping(self, run: Run, choice: Any, expected: Any) -> None:
        rec = Recorder([answer("gemini/function_call.json")])
        run(
            rec,
            {"providers": GEMINI},
            model=MODEL,
            messages=HI,
            tools=[FIND_THEATERS],
            tool_choice=choice,
        )
        assert rec.body["toolConfig"] == {"functionCallingConfig": expected}

    def test_json_schema_parameters_use_parameters_json_schema(self, run: Run) -> None:
        rec = Recorder([answer("gemini/function_call.json")])
        strict = json.loads(json.dumps(FIND_THEATERS))
        strict["function"]["parameters"]["additionalProperties"] = False
        strict["function"]["parameters"]["properties"]["movie"]["type"] = ["string", "null"]
        run(rec, {"providers": GEMINI}, model=MODEL, messages=HI, tools=[strict])
        (declaration,) = rec.body["tools"][0]["functionDeclarations"]
        assert declaration["parametersJsonSchema"] == strict["function"]["parameters"]
        assert "parameters" not in declaration

    def test_unknown_tool_call_id_is_refused(self, run: Run) -> None:
        rec = Recorder([answer("gemini/function_call.json")])
        messages = [*HI, {"role": "tool", "tool_call_id": "call_nowhere", "content": "x"}]
        with pytest.raises(aigate.InvalidRequestError) as err:
            run(rec, {"providers": GEMINI}, model=MODEL, messages=messages)
        assert err.value.field == "messages.1.tool_call_id"
        assert rec.requests == []


class TestStreaming:
    def test_cookbook_stream_reassembles(self, run: Run) -> None:
        rec = Recorder([sse_response(fixture("gemini/stream_cookbook.sse"))])
        s = run(rec, {"providers": GEMINI}, model="gemini/gemini-pro", messages=HI, stream=True)
        validate(s)
        assert s.error is None
        assert s.text == parts("gemini/stream_cookbook.sse", thought=False)
        assert s.completion.choices[0].finish_reason == "stop"
        assert s.chunks[0].choices[0].delta.role == "assistant"
        assert s.gateway.estimated is True  # this older stream sends no usageMetadata
        request = rec.requests[0]
        assert str(request.url) == f"{BASE}/gemini-pro:streamGenerateContent?alt=sse"
        assert request.headers["x-goog-api-key"] == KEY

    def test_usage_chunk(self, run: Run) -> None:
        rec = Recorder([sse_response(fixture("gemini/stream_usage.sse"))])
        s = run(rec, {"providers": GEMINI}, model=MODEL, messages=HI, stream=True)
        validate(s)
        assert s.text == "The capital of France is **Paris**."
        last = s.chunks[-1]
        assert last.choices == [] and last.usage is not None
        assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (15, 24)
        assert s.gateway.estimated is False
        assert {c.id for c in s.chunks} == {"ezh8aaKTCYSnqtsP-qXkqQI"}

    def test_thought_parts_never_reach_content(self, run: Run) -> None:
        rec = Recorder([sse_response(fixture("gemini/stream_thinking.sse"))])
        s = run(rec, {"providers": GEMINI}, model="gemini/gemini-2.5-pro", messages=HI, stream=True)
        validate(s)
        message = s.completion.choices[0].message
        assert message.reasoning_content == parts("gemini/stream_thinking.sse", thought=True)
        assert message.content == parts("gemini/stream_thinking.sse", thought=False)
        assert "Defining the Goal" not in message.content
        assert message.content.startswith("Here is a step-by-step guide")
        assert s.completion.usage.completion_tokens_details.reasoning_tokens == 759
        assert s.completion.usage.completion_tokens == 387 + 759

    def test_function_call_stream_keeps_the_thought_signature(self, run: Run) -> None:
        rec = Recorder(
            [
                sse_response(fixture("gemini/stream_function_call.sse")),
                answer("gemini/function_call_answer.json"),
            ]
        )
        model = "gemini/gemini-3-pro-preview"
        s = run(rec, {"providers": GEMINI}, model=model, messages=HI, stream=True)
        validate(s)
        assert s.completion.choices[0].finish_reason == "tool_calls"
        (call,) = s.completion.choices[0].message.tool_calls
        signature = events("gemini/stream_function_call.sse")[0]["candidates"][0]["content"][
            "parts"
        ][0]["thoughtSignature"]
        assert call.function.name == "get_country" and call.function.arguments == "{}"
        assert call.id.endswith("__thought__" + signature)
        history = [*HI, s.completion.choices[0].message.model_dump(exclude_none=True)]
        history.append({"role": "tool", "tool_call_id": call.id, "content": "Mexico"})
        run(rec, {"providers": GEMINI}, model=model, messages=history)
        assert rec.body["contents"][1:] == [
            {
                "role": "model",
                "parts": [
                    {
                        "functionCall": {"name": "get_country", "args": {}},
                        "thoughtSignature": signature,
                    }
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_country", "response": {"output": "Mexico"}}}
                ],
            },
        ]

    def test_stream_without_finish_reason_was_cut(self, run: Run) -> None:
        raw = b"".join(sse_events(fixture("gemini/stream_thinking.sse"))[:3])
        rec = Recorder([sse_response(raw)])
        s = run(rec, {"providers": GEMINI}, model=MODEL, messages=HI, stream=True)
        assert isinstance(s.error, aigate.StreamInterrupted)
        assert s.error.partial.choices[0].message.content.startswith("Here is a step-by-step guide")
        assert isinstance(s.error.__cause__, aigate.APIResponseValidationError)


class TestEmbeddings:
    def test_batch_embed_contents(self, run: Run) -> None:
        rec = Recorder([answer("gemini/embeddings.json")])
        texts = [
            "What is the meaning of life?",
            "How much wood would a woodchuck chuck?",
            "How does the brain work?",
        ]
        r = run.embeddings(
            rec,
            {"providers": GEMINI},
            model="gemini/gemini-embedding-001",
            input=texts,
            dimensions=768,
            extra_body={"taskType": "RETRIEVAL_DOCUMENT"},
        )
        oai.CreateEmbeddingResponse.model_validate(r.model_dump())
        assert str(rec.requests[0].url) == f"{BASE}/gemini-embedding-001:batchEmbedContents"
        assert rec.requests[0].headers["x-goog-api-key"] == KEY
        assert rec.body == {
            "requests": [
                {
                    "model": "models/gemini-embedding-001",
                    "content": {"parts": [{"text": text}]},
                    "outputDimensionality": 768,
                    "taskType": "RETRIEVAL_DOCUMENT",
                }
                for text in texts
            ]
        }
        vectors = [e["values"] for e in json.loads(fixture("gemini/embeddings.json"))["embeddings"]]
        assert [(d.index, d.embedding) for d in r.data] == list(enumerate(vectors))
        assert (r.usage.prompt_tokens, r.usage.total_tokens) == (0, 0)

    def test_token_arrays_and_base64_are_refused(self, run: Run) -> None:
        rec = Recorder([answer("gemini/embeddings.json")])
        config = {"providers": GEMINI}
        with pytest.raises(aigate.InvalidRequestError) as tokens:
            run.embeddings(rec, config, model="gemini/gemini-embedding-001", input=[[1, 2, 3]])
        assert tokens.value.field == "input"
        with pytest.raises(aigate.InvalidRequestError) as b64:
            run.embeddings(
                rec,
                config,
                model="gemini/gemini-embedding-001",
                input="x",
                encoding_format="base64",
            )
        assert b64.value.field == "encoding_format"
        assert rec.requests == []


@pytest.mark.parametrize(
    ("name", "status", "cls", "error_class", "message", "retry_after"),
    [
        (
            "error_400_invalid_argument.json",
            400,
            aigate.BadRequestError,
            "request",
            "Unknown name",
            None,
        ),
        (
            "error_400_api_key_invalid.json",
            400,
            aigate.AuthenticationError,
            "key",
            "API key not valid",
            None,
        ),
        ("error_403.json", 403, aigate.PermissionDeniedError, "key", "unregistered callers", None),
        (
            "error_429.json",
            429,
            aigate.RateLimitError,
            "transient",
            "exceeded your current quota",
            19.0,
        ),
        ("error_429_fractional_delay.json", 429, aigate.RateLimitError, "transient", "quota", 27.4),
        ("error_500.json", 500, aigate.InternalServerError, "transient", "internal error", None),
        ("error_503.json", 503, aigate.InternalServerError, "transient", "overloaded", None),
    ],
)
def test_error_statuses(
    run: Run,
    name: str,
    status: int,
    cls: type,
    error_class: str,
    message: str,
    retry_after: float | None,
) -> None:
    body = json.loads(fixture(f"gemini/{name}"))["error"]
    rec = Recorder([answer(f"gemini/{name}", status)])
    with pytest.raises(cls) as caught:
        run(rec, {"providers": GEMINI}, model=MODEL, messages=HI)
    err = caught.value
    assert type(err) is cls
    assert (err.status_code, err.error_class) == (status, error_class)
    assert message in err.message and err.message.startswith(f"gemini returned HTTP {status}: ")
    assert (err.code, err.type) == (str(body["code"]), body["status"])
    assert KEY not in str(err) and KEY not in str(err.request.url)
    if retry_after is None:
        assert err.rate_limit is None
    else:
        assert err.rate_limit.retry_after_s == pytest.approx(retry_after)


def test_context_length_message_is_recognised(run: Run) -> None:
    # Gemini's over-long prompt message (the text _errors matches), in the 400 body shape
    body = {
        "error": {
            "code": 400,
            "message": "The input token count (1200000) exceeds the maximum number of tokens "
            "allowed (1048576).",
            "status": "INVALID_ARGUMENT",
        }
    }
    rec = Recorder([httpx.Response(400, json=body)])
    with pytest.raises(aigate.ContextLengthExceededError):
        run(rec, {"providers": GEMINI}, model=MODEL, messages=HI)
