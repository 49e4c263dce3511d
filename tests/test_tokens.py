"""Offline token counting: exact OpenAI counts, bounded estimates, zero network."""

from __future__ import annotations

import base64
import hashlib
import os
import statistics
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aigate import tokens
from aigate.tokens import (
    TokenCount,
    count_messages,
    count_text,
    encoding_name,
    estimate_prompt_tokens,
    get_encoding,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "aigate" / "_data" / "tiktoken"

# openai-cookbook, "How to count tokens with tiktoken", section 6.
COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate "
        "jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on "
        "opportunities for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the "
        "client deliverable.",
    },
]
# Same notebook, section 7 (counting tokens with tools).
COOKBOOK_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA",
                    },
                    "unit": {
                        "type": "string",
                        "description": "The unit of temperature to return",
                        "enum": ["celsius", "fahrenheit"],
                    },
                },
                "required": ["location"],
            },
        },
    }
]
COOKBOOK_TOOL_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful assistant that can answer to questions about the weather.",
    },
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]


# -- exact counts ---------------------------------------------------------------------------


def test_cookbook_string_examples_cl100k() -> None:
    # openai-cookbook "How to count tokens with tiktoken", sections 3-5.
    enc = get_encoding("cl100k_base")
    assert enc.encode("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert count_text("tiktoken is great!", provider="openai", model="gpt-4") == TokenCount(
        6, True, "tiktoken:cl100k_base", 0.0
    )
    assert count_text("antidisestablishmentarianism", provider="openai", model="gpt-4").tokens == 6
    assert count_text("2 + 2 = 4", provider="openai", model="gpt-3.5-turbo").tokens == 7
    assert count_text("お誕生日おめでとう", provider="openai", model="gpt-4").tokens == 9


def test_hello_world_ids_match_tiktoken() -> None:
    # tiktoken's own test values for "hello world".
    assert get_encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert get_encoding("o200k_base").encode("hello world") == [24912, 2375]
    assert count_text("hello world", provider="openai", model="gpt-4o").tokens == 2


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-3.5-turbo", 129),
        ("gpt-4-0613", 129),
        ("gpt-4", 129),
        ("gpt-4o", 124),
        ("gpt-4o-mini", 124),
    ],
)
def test_cookbook_message_overhead(model: str, expected: int) -> None:
    # Cookbook section 6: counts equal to the prompt_tokens the API reported.
    result = count_messages(COOKBOOK_MESSAGES, provider="openai", model=model)
    assert result.tokens == expected
    assert result.exact and result.bound == 0.0


def test_unverified_openai_models_get_a_margin() -> None:
    result = count_messages(COOKBOOK_MESSAGES, provider="openai", model="gpt-4.1")
    assert not result.exact and result.tokens >= 124
    assert count_text("hello world", provider="openai", model="gpt-5").exact


@pytest.mark.parametrize(
    ("model", "api_count"), [("gpt-4o", 101), ("gpt-4o-mini", 101), ("gpt-4", 105)]
)
def test_tools_estimate_covers_the_api_count(model: str, api_count: int) -> None:
    # Cookbook section 7: the API counted 101 (gpt-4o) / 105 (gpt-4) prompt tokens.
    result = count_messages(
        COOKBOOK_TOOL_MESSAGES, provider="openai", model=model, tools=COOKBOOK_TOOLS
    )
    assert not result.exact
    assert api_count <= result.tokens <= api_count * (1 + result.bound)


def test_special_tokens_in_user_text_are_plain_text() -> None:
    result = count_text("<|endoftext|>", provider="openai", model="gpt-4o")
    assert result.tokens > 1


def test_encoding_map() -> None:
    cases = {
        ("openai", "gpt-4o"): "o200k_base",
        ("openai", "gpt-4o-2024-08-06"): "o200k_base",
        ("openai", "chatgpt-4o-latest"): "o200k_base",
        ("openai", "gpt-4.1-mini"): "o200k_base",
        ("openai", "gpt-4.5-preview"): "o200k_base",
        ("openai", "gpt-5"): "o200k_base",
        ("openai", "o1"): "o200k_base",
        ("openai", "o3-mini"): "o200k_base",
        ("openai", "o4-mini"): "o200k_base",
        ("openai", "gpt-4"): "cl100k_base",
        ("openai", "gpt-4-turbo"): "cl100k_base",
        ("openai", "gpt-3.5-turbo"): "cl100k_base",
        ("openai", "text-embedding-3-small"): "cl100k_base",
        ("openai", "text-embedding-ada-002"): "cl100k_base",
        ("openai", "ft:gpt-4o-mini-2024-07-18:org::x"): "o200k_base",
        ("openrouter", "openai/gpt-4o"): "o200k_base",
        ("groq", "openai/gpt-oss-20b"): "o200k_base",
        ("groq", "llama-3.1-8b-instant"): "cl100k_base",
    }
    for (provider, model), expected in cases.items():
        assert encoding_name(provider, model) == expected, model
    assert count_text("hi", provider="openrouter", model="openai/gpt-4o").exact


def test_sha256sums_match_files_and_loader_hashes() -> None:
    sums = {}
    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        sums[name] = digest
    assert set(sums) == {"o200k_base.tiktoken", "cl100k_base.tiktoken"}
    for name, digest in sums.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest
        assert tokens._SPECS[name.removesuffix(".tiktoken")][0] == digest


def test_a_corrupted_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "cl100k_base.tiktoken"
    good = (DATA / "cl100k_base.tiktoken").read_bytes()
    assert good.endswith(b"\n") and good[-2:-1].isdigit()
    last = good[-2:-1]
    bad.write_bytes(good[:-2] + (b"0" if last != b"0" else b"1") + b"\n")  # one rank changed
    monkeypatch.setattr(tokens, "_DIR", tmp_path)
    monkeypatch.setattr(tokens, "_encodings", {})
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # no cache: read the file itself
    with pytest.raises(ValueError, match="Hash mismatch"):
        get_encoding("cl100k_base")
    with pytest.raises(ValueError, match="unknown encoding"):
        get_encoding("p50k_base")


# -- zero network ---------------------------------------------------------------------------

_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import socket, sys

    def refuse(*args, **kwargs):
        raise OSError("network access attempted: %r" % (args,))

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    import tiktoken, tiktoken.registry
    tiktoken.get_encoding = tiktoken.registry.get_encoding = refuse

    from aigate.tokens import count_text
    a = count_text("tiktoken is great!", provider="openai", model="gpt-4").tokens
    b = count_text("hello world", provider="openai", model="gpt-4o").tokens
    c = count_text("hello world", provider="anthropic", model="claude-sonnet-4-5").tokens
    print(a, b, c)
    """
)


@pytest.mark.parametrize("cache", ["empty-dir", "disabled"])
def test_loading_encodings_needs_no_network(tmp_path: Path, cache: str) -> None:
    script = tmp_path / "offline.py"
    script.write_text(_OFFLINE_SCRIPT)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # A fresh, empty tiktoken cache (or none at all): nothing can come from an earlier run.
    env["TIKTOKEN_CACHE_DIR"] = str(tmp_path / "cache") if cache == "empty-dir" else ""
    env.pop("DATA_GYM_CACHE_DIR", None)
    done = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["6", "2", "3"]


def test_get_encoding_from_tiktoken_is_never_called(monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken
    import tiktoken.load
    import tiktoken.registry

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("tiktoken.get_encoding must not be used")

    reads: list[str] = []
    real_read = tiktoken.load.read_file

    def local_only(path: str) -> bytes:
        assert "://" not in path, path
        reads.append(path)
        return real_read(path)

    monkeypatch.setattr(tiktoken, "get_encoding", refuse)
    monkeypatch.setattr(tiktoken.registry, "get_encoding", refuse)
    monkeypatch.setattr(tiktoken.load, "read_file", local_only)
    monkeypatch.setattr(tokens, "_encodings", {})
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    assert count_text("hello world", provider="openai", model="gpt-4o").tokens == 2
    assert reads == [str(DATA / "o200k_base.tiktoken")]


def test_encoding_is_loaded_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []
    threads = [
        threading.Thread(target=lambda: seen.append(get_encoding("cl100k_base"))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 6 and all(e is seen[0] for e in seen)


# -- estimates ------------------------------------------------------------------------------

# (provider, model, messages, prompt tokens the provider reported), from documentation.
DOCUMENTED_PROMPTS = [
    # Anthropic Messages "Hello, world" curl example: 10 input tokens.
    ("anthropic", "claude-3-5-sonnet-20240620", [{"role": "user", "content": "Hello, world"}], 10),
    # Groq API reference example: 18 prompt tokens on llama3-8b-8192.
    (
        "groq",
        "llama3-8b-8192",
        [{"role": "user", "content": "Explain the importance of fast language models"}],
        18,
    ),
    # openai-cookbook: 129 / 124 prompt tokens counted by the API.
    ("openai", "gpt-4", COOKBOOK_MESSAGES, 129),
    ("openai", "gpt-4o", COOKBOOK_MESSAGES, 124),
    ("openai", "gpt-4.1", COOKBOOK_MESSAGES, 124),  # same encoding and format as gpt-4o
    ("openrouter", "openai/gpt-4o-mini", COOKBOOK_MESSAGES, 124),
]


@pytest.mark.parametrize(("provider", "model", "messages", "reported"), DOCUMENTED_PROMPTS)
def test_estimates_never_undercount_documented_examples(
    provider: str, model: str, messages: list[dict[str, str]], reported: int
) -> None:
    estimate = estimate_prompt_tokens(messages, provider=provider, model=model)
    assert estimate >= reported
    result = count_messages(messages, provider=provider, model=model)
    assert estimate == result.tokens
    if not result.exact:
        assert result.tokens <= reported * (1 + result.bound) + 8  # overhead constants


ENGLISH = (
    "The gateway prices every call exactly. Each token category has its own price: input, "
    "cached input, cache writes, output, reasoning and audio. Budgets reserve the worst case "
    "before a call and settle to the real cost afterwards, so concurrent callers cannot "
    "overspend. Unknown prices stay unknown instead of becoming a silent zero."
)


def test_claude_estimates_cover_measured_characters_per_token() -> None:
    # Measured on Anthropic's count_tokens endpoint (claudecodecamp.com, April 2026):
    # English prose averages 4.33 characters a token on Claude 4.6 and 3.60 on 4.7.
    legacy = count_text(ENGLISH, provider="anthropic", model="claude-sonnet-4-6")
    new = count_text(ENGLISH, provider="anthropic", model="claude-opus-4-7")
    assert legacy.tokens >= len(ENGLISH) / 4.33
    assert new.tokens >= len(ENGLISH) / 3.60
    assert (legacy.exact, legacy.bound, new.exact, new.bound) == (False, 0.35, False, 0.95)
    assert legacy.method == "estimate:claude:o200k_basex1.35"


@pytest.mark.parametrize(
    ("provider", "model", "family"),
    [
        ("anthropic", "claude-sonnet-4-5-20250929", "claude"),
        ("anthropic", "claude-sonnet-4-20250514", "claude"),
        ("anthropic", "claude-3-5-haiku-latest", "claude"),
        ("anthropic", "claude-opus-4-7", "claude-4.7"),
        ("anthropic", "claude-fable-5", "claude-4.7"),
        ("openrouter", "anthropic/claude-3-haiku", "claude"),
        ("gemini", "models/gemini-2.5-flash", "gemini"),
        ("groq", "meta-llama/llama-4-scout-17b-16e-instruct", "llama"),
        ("groq", "qwen/qwen3-32b", "qwen"),
        ("deepseek", "deepseek-reasoner", "deepseek"),
        ("mistral", "mistral-small-latest", "mistral"),
        ("mistral", "codestral-latest", "mistral"),
        ("vllm", "some-private-model", "unknown"),
    ],
)
def test_families(provider: str, model: str, family: str) -> None:
    result = count_text(ENGLISH, provider=provider, model=model)
    assert not result.exact
    assert result.method.split(":")[1] == family
    base = count_text(ENGLISH, provider="openai", model="gpt-4o").tokens
    assert result.tokens >= base  # estimates only ever add headroom over o200k


def test_empty_inputs() -> None:
    assert count_text("", provider="openai", model="gpt-4o").tokens == 0
    assert count_messages([], provider="openai", model="gpt-4o").tokens == 0
    assert (
        count_messages([{"role": "user", "content": ""}], provider="openai", model="gpt-4o").tokens
        == 7
    )


# -- media ----------------------------------------------------------------------------------


def _png(width: int, height: int) -> str:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
    header += struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00" + b"\x00" * 4
    return "data:image/png;base64," + base64.b64encode(header).decode()


def _jpeg(width: int, height: int) -> str:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x00" * 9
    return "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8" + app0 + sof0).decode()


def _gif(width: int, height: int) -> str:
    data = b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 8
    return "data:image/gif;base64," + base64.b64encode(data).decode()


def _image_message(url: str, detail: str | None = None) -> list[dict[str, Any]]:
    image: dict[str, Any] = {"url": url}
    if detail:
        image["detail"] = detail
    return [{"role": "user", "content": [{"type": "image_url", "image_url": image}]}]


def _image_cost(provider: str, model: str, url: str, detail: str | None = None) -> int:
    with_image = count_messages(_image_message(url, detail), provider=provider, model=model)
    empty = count_messages([{"role": "user", "content": []}], provider=provider, model=model)
    assert not with_image.exact
    return with_image.tokens - empty.tokens


def test_openai_image_tokens_follow_the_vision_guide() -> None:
    # OpenAI vision guide: low detail is 85 tokens; a 1024x1024 high-detail image 765; a
    # 2048x4096 one 1105 (gpt-4o). gpt-4o-mini: 2833 + 5667 per tile.
    assert _image_cost("openai", "gpt-4o", _png(4000, 3000), "low") == 85
    assert _image_cost("openai", "gpt-4o", _png(1024, 1024), "high") == 765
    assert _image_cost("openai", "gpt-4o", _jpeg(2048, 4096)) == 1105
    assert _image_cost("openai", "gpt-4o", _gif(100, 100)) == 85 + 170
    assert _image_cost("openai", "gpt-4o-mini", _png(1024, 1024)) == 2833 + 5667 * 4
    assert _image_cost("openai", "gpt-4o", "https://example.com/cat.png") == 85 + 170 * 8
    # Patch models: a 1800x2400 image is 1452 patches (guide's example) x 1.62 on 4.1-mini.
    assert _image_cost("openai", "gpt-4.1-mini", _png(1800, 2400)) == -(-1452 * 162 // 100)
    assert _image_cost("openai", "gpt-4.1-nano", "https://example.com/x.png") == 3779


def test_other_providers_image_estimates() -> None:
    # Anthropic vision docs: about width*height/750 tokens, at most ~1,600.
    assert _image_cost("anthropic", "claude-sonnet-4-5", _png(1000, 1000)) == 1334
    assert _image_cost("anthropic", "claude-sonnet-4-5", _png(8000, 8000)) == 1600
    assert _image_cost("anthropic", "claude-sonnet-4-5", "https://x/y.png") == 1600
    assert _image_cost("gemini", "gemini-2.5-flash", _png(300, 300)) == 1120
    assert _image_cost("groq", "llama-4-scout", _png(512, 512)) == 1024


def test_audio_and_file_parts() -> None:
    one_second = (
        b"RIFF"
        + struct.pack("<I", 36 + 32000)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
        + b"data"
        + struct.pack("<I", 32000)
        + b"\x00" * 32000
    )
    audio = [
        {
            "role": "user",
            "content": [
                {
                    "type": "input_audio",
                    "input_audio": {"data": base64.b64encode(one_second).decode(), "format": "wav"},
                }
            ],
        }
    ]
    empty = count_messages(
        [{"role": "user", "content": []}], provider="openai", model="gpt-4o"
    ).tokens
    assert count_messages(audio, provider="openai", model="gpt-4o").tokens - empty == 32
    pdf = "data:application/pdf;base64," + base64.b64encode(b"%PDF" + b"x" * 29996).decode()
    doc = [{"role": "user", "content": [{"type": "file", "file": {"file_data": pdf}}]}]
    assert count_messages(doc, provider="openai", model="gpt-4o").tokens - empty == 10_000


def test_tool_calls_and_tool_results_are_counted() -> None:
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_current_weather", "arguments": '{"location":"Paris"}'},
            }
        ],
    }
    result = {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees and sunny"}
    counted = count_messages([call, result], provider="openai", model="gpt-4o")
    assert not counted.exact
    assert counted.tokens > count_messages([result], provider="openai", model="gpt-4o").tokens + 8


def test_claude_tools_include_the_tool_use_system_prompt() -> None:
    plain = count_messages(COOKBOOK_TOOL_MESSAGES, provider="anthropic", model="claude-sonnet-4-5")
    with_tools = count_messages(
        COOKBOOK_TOOL_MESSAGES,
        provider="anthropic",
        model="claude-sonnet-4-5",
        tools=COOKBOOK_TOOLS,
    )
    assert with_tools.tokens - plain.tokens > 346  # Anthropic's tool-use system prompt


# -- speed ----------------------------------------------------------------------------------


def test_counting_a_1k_token_prompt_is_fast() -> None:
    text = " ".join(f"{ENGLISH} ({i})" for i in range(20))
    enc = get_encoding("o200k_base")
    text = text[: len(text) * 1000 // len(enc.encode(text))]
    messages = [{"role": "user", "content": text}]
    assert 950 <= count_messages(messages, provider="openai", model="gpt-4o").tokens <= 1050
    samples = []
    for _ in range(200):
        start = time.perf_counter()
        count_messages(messages, provider="openai", model="gpt-4o")
        samples.append(time.perf_counter() - start)
    # Generous for a loaded CI box; the median here is ~0.2 ms, almost all of it tiktoken.
    assert statistics.median(samples) < 0.005
