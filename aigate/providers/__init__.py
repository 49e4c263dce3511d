"""Provider wire formats (codecs) and the registry of provider kinds.

A kind names a wire format plus its defaults (base URL, key variable). Codecs are imported
only when a gateway uses their kind, so ``import aigate`` stays light.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ._base import (
    ApiKey,
    ChatCall,
    Codec,
    EmbeddingsCall,
    ProviderRuntime,
    StreamDecoder,
    Target,
    TranscriptionCall,
    key_id,
)

__all__ = [
    "KINDS",
    "ApiKey",
    "ChatCall",
    "Codec",
    "EmbeddingsCall",
    "ProviderKind",
    "ProviderRuntime",
    "StreamDecoder",
    "Target",
    "TranscriptionCall",
    "key_id",
    "make_codec",
]


@dataclass(frozen=True, slots=True)
class ProviderKind:
    """Defaults of one kind of provider."""

    codec: str  # "module:Class" under aigate.providers
    base_url: str
    key_env: tuple[str, ...]  # environment variables tried in order
    needs_key: bool = True


KINDS: dict[str, ProviderKind] = {
    "openai": ProviderKind("openai:OpenAICodec", "https://api.openai.com/v1", ("OPENAI_API_KEY",)),
    "groq": ProviderKind("openai:OpenAICodec", "https://api.groq.com/openai/v1", ("GROQ_API_KEY",)),
    "openrouter": ProviderKind(
        "openai:OpenAICodec", "https://openrouter.ai/api/v1", ("OPENROUTER_API_KEY",)
    ),
    "mistral": ProviderKind(
        "openai:OpenAICodec", "https://api.mistral.ai/v1", ("MISTRAL_API_KEY",)
    ),
    "deepseek": ProviderKind(
        "openai:OpenAICodec", "https://api.deepseek.com/v1", ("DEEPSEEK_API_KEY",)
    ),
    "anthropic": ProviderKind(
        "anthropic:AnthropicCodec", "https://api.anthropic.com/v1", ("ANTHROPIC_API_KEY",)
    ),
    "gemini": ProviderKind(
        "gemini:GeminiCodec",
        "https://generativelanguage.googleapis.com/v1beta",
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    ),
    # aigate.testing's in-process fake: the OpenAI wire format, answered without a socket.
    "fake": ProviderKind("openai:OpenAICodec", "http://fake.aigate.invalid/v1", (), False),
}


def make_codec(kind: str) -> Codec:
    """A codec instance for a provider kind (imports its module on first use)."""
    spec = KINDS[kind].codec
    module_name, _, class_name = spec.partition(":")
    module = importlib.import_module(f"aigate.providers.{module_name}")
    codec: Codec = getattr(module, class_name)(kind)
    return codec
