"""Token counting, offline: exact for OpenAI models, bounded estimates for the rest.

The o200k_base and cl100k_base BPE files ship in ``aigate/_data/tiktoken/`` and are loaded
with tiktoken's own loader against their SHA-256, so counting never touches the network
(``tiktoken.get_encoding`` is never called: it may download). Each encoding is loaded once,
on first use (about 0.3 s for o200k_base).

OpenAI models are counted exactly with their encoding, and chat messages with OpenAI's
documented format overhead (openai-cookbook "How to count tokens with tiktoken": 3 tokens per
message, 1 more when a ``name`` is set, 3 to prime the reply). Other models have private or
different tokenizers; they are *estimated* as the o200k/cl100k count times a per-family
safety factor chosen so that budget estimates do not undercount (see ``_FAMILIES``), and
the :class:`TokenCount` says so (``exact=False``) with its relative error ``bound``.

>>> count_text("tiktoken is great!", provider="openai", model="gpt-4")
TokenCount(tokens=6, exact=True, method='tiktoken:cl100k_base', bound=0.0)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import struct
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

__all__ = [
    "TokenCount",
    "count_messages",
    "count_text",
    "encoding_name",
    "estimate_prompt_tokens",
    "get_encoding",
]

_DIR = Path(__file__).parent / "_data" / "tiktoken"

# Constants copied from tiktoken_ext/openai_public.py (tiktoken 0.14), so the encodings built
# here are byte-for-byte tiktoken's, without its registry (which may download).
_ENDOFTEXT = "<|endoftext|>"
_FIM_PREFIX = "<|fim_prefix|>"
_FIM_MIDDLE = "<|fim_middle|>"
_FIM_SUFFIX = "<|fim_suffix|>"
_ENDOFPROMPT = "<|endofprompt|>"
_SPECS: dict[str, tuple[str, str, dict[str, int]]] = {
    "cl100k_base": (
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",  # noqa: E501
        {
            _ENDOFTEXT: 100257,
            _FIM_PREFIX: 100258,
            _FIM_MIDDLE: 100259,
            _FIM_SUFFIX: 100260,
            _ENDOFPROMPT: 100276,
        },
    ),
    "o200k_base": (
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "|".join(
            [
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            ]
        ),
        {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
    ),
}

_encodings: dict[str, tiktoken.Encoding] = {}
_encodings_lock = threading.Lock()


def get_encoding(name: str) -> tiktoken.Encoding:
    """The packaged ``o200k_base`` or ``cl100k_base`` encoding, loaded once (thread-safe).

    The file is read and checked against its SHA-256 outside any lock (``ValueError`` if it
    does not match); the first finished load is published and kept.
    """
    enc = _encodings.get(name)
    if enc is not None:
        return enc
    try:
        expected_hash, pat_str, special_tokens = _SPECS[name]
    except KeyError:
        raise ValueError(f"unknown encoding {name!r}; aigate ships {sorted(_SPECS)}") from None
    import tiktoken
    import tiktoken.load

    path = _DIR / f"{name}.tiktoken"
    # tiktoken skips its hash check when TIKTOKEN_CACHE_DIR is "" (cache disabled), so the
    # shipped file is verified here first; a damaged file never reaches the BPE builder.
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected_hash:
        raise ValueError(f"Hash mismatch for {path} (expected {expected_hash}, got {actual})")
    # A local path (no "://"): tiktoken reads the file (checking the hash again), never fetches.
    ranks = tiktoken.load.load_tiktoken_bpe(str(path), expected_hash=expected_hash)
    loaded = tiktoken.Encoding(
        name, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=special_tokens
    )
    with _encodings_lock:
        return _encodings.setdefault(name, loaded)


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A token count and how far to trust it.

    ``method`` is ``"tiktoken:<encoding>"`` for exact counts and
    ``"estimate:<family>:<encoding>x<factor>"`` for estimates. ``bound`` is the relative
    upper error of an estimate: it is built to be at least the true count and at most
    ``(1 + bound)`` times it when the model's tokenizer is no more efficient than the base
    encoding. ``bound`` is 0 for exact counts.
    """

    tokens: int
    exact: bool
    method: str
    bound: float = 0.0


# -- model families ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Family:
    name: str
    encoding: str
    factor: float  # multiplies the text count; 1.0 for exact
    exact_text: bool
    exact_messages: bool
    per_message: int  # format tokens around each message
    per_name: int
    reply: int  # tokens priming the reply (plus any fixed preamble)
    image: str  # image rule, see _image_tokens
    tools: int = 16  # added to the tool schemas' JSON count (already in model tokens)


def _fam(
    name: str,
    encoding: str,
    factor: float,
    *,
    per_message: int = 4,
    reply: int = 4,
    image: str,
    tools: int = 16,
) -> _Family:
    return _Family(name, encoding, factor, False, False, per_message, 1, reply, image, tools)


# Safety factors for other tokenizers, relative to the base encoding's count. Calibration:
# - Claude 3.x-4.6 vs GPT-4o (o200k_base): +16% English prose, +21% math, +30% Python
#   (Gupta, "Hidden costs in AI deployment", VentureBeat 2025, via Anthropic's count_tokens).
#   Factor 1.35 covers the worst measured domain.
# - Claude Opus 4.7 and later use a new tokenizer: 1.0-1.35x Claude 4.6 per Anthropic's
#   migration guide, measured up to 1.46x on English prose and 1.47x on technical docs
#   (claudecodecamp.com, sol.ava.dev, April 2026). 1.30 x 1.47 = 1.91 -> factor 1.95.
# - Gemini (SentencePiece, 256k vocab): third-party comparisons put it within about +-15% of
#   o200k_base on English; 1.3 leaves room for code and other scripts.
# - Llama 3 extends cl100k_base's vocabulary (and Llama 4 uses a 200k one), so cl100k counts
#   are at most about equal; its chat template costs 5 tokens a message plus the role and
#   5 to prime the reply: Groq's documented "Explain the importance of fast language
#   models" is 18 prompt tokens on llama3-8b-8192, which this format reproduces exactly.
# - Qwen (151k vocab derived from cl100k), DeepSeek (128k BPE) and Mistral (Tekken 131k, or
#   32k SentencePiece on older models, which needs the most headroom) are compared with
#   cl100k_base; unknown models get a generous 1.5.
# These are estimates, not guarantees: adversarial text (for example one character repeated
# thousands of times) can tokenize very differently under another vocabulary.
_OPENAI_VERIFIED = _Family("openai", "o200k_base", 1.0, True, True, 3, 1, 3, "openai")
_FAMILIES = {
    # Anthropic adds a tool-use system prompt when tools are given: 346 tokens on Claude 4
    # models (tool use docs); 500 leaves room for the 4.7+ tokenizer.
    "claude": _fam("claude", "o200k_base", 1.35, image="claude", tools=350),
    "claude-4.7": _fam("claude-4.7", "o200k_base", 1.95, image="claude-4.7", tools=500),
    "gemini": _fam("gemini", "o200k_base", 1.3, image="gemini"),
    "llama": _fam("llama", "cl100k_base", 1.1, per_message=5, reply=5, image="patch16"),
    "qwen": _fam("qwen", "cl100k_base", 1.2, per_message=5, reply=3, image="patch16"),
    "deepseek": _fam("deepseek", "cl100k_base", 1.25, image="patch16"),
    "mistral": _fam("mistral", "cl100k_base", 1.4, image="patch16"),
    # gpt-oss (Groq, OpenRouter): o200k text, harmony format with an implicit system preamble.
    "gpt-oss": _fam("gpt-oss", "o200k_base", 1.05, per_message=4, reply=64, image="none"),
    "unknown": _fam("unknown", "cl100k_base", 1.5, per_message=5, reply=5, image="patch16"),
}

_OPENAI_NAME = re.compile(
    r"^(?:ft:)?(?:gpt-|o\d|chatgpt-|text-embedding-|codex-|computer-use|omni-moderation|"
    r"davinci-|babbage-)"
)
_CL100K = re.compile(
    r"^(?:ft:)?(?:gpt-4(?!o|\.\d)|gpt-3\.5|gpt-35|text-embedding-|davinci-|babbage-)"
)
# Message format verified against the API in the cookbook (gpt-3.5-turbo, gpt-4, gpt-4o,
# gpt-4o-mini); other OpenAI chat models are counted the same way with a 5% margin.
_VERIFIED = re.compile(r"^(?:ft:)?(?:gpt-4o|chatgpt-4o|gpt-4(?!\.\d)|gpt-3\.5|gpt-35)")
_CLAUDE_LEGACY = re.compile(
    r"^claude-(?:instant|2|3|(?:opus|sonnet|haiku)-4(?:-[0-6](?!\d))?(?:-\d{8}|-latest)?$)"
)
_MISTRAL = re.compile(r"mistral|mixtral|codestral|ministral|devstral|magistral|pixtral|voxtral")
_family_cache: dict[tuple[str, str], _Family] = {}


def _openai_family(model: str) -> _Family:
    encoding = "cl100k_base" if _CL100K.match(model) else "o200k_base"
    verified = bool(_VERIFIED.match(model))
    return _Family(
        "openai",
        encoding,
        1.0 if verified else 1.05,
        True,
        verified,
        3,
        1,
        3,
        "openai",
    )


def _family(provider: str, model: str) -> _Family:
    key = (provider, model)
    fam = _family_cache.get(key)
    if fam is None:
        fam = _classify(provider, model.lower())
        if len(_family_cache) < 4096:
            _family_cache[key] = fam
    return fam


def _classify(provider: str, model: str) -> _Family:
    name = model.rsplit("/", 1)[-1]  # "openai/gpt-4o" (OpenRouter), "meta-llama/llama-3..."
    if provider == "gemini" and model.startswith("models/"):
        name = model[len("models/") :]
    if "gpt-oss" in name:
        return _FAMILIES["gpt-oss"]
    if _OPENAI_NAME.match(name):
        return _openai_family(name)
    if "claude" in name:
        return _FAMILIES["claude" if _CLAUDE_LEGACY.match(name) else "claude-4.7"]
    if "gemini" in name or "gemma" in name or "learnlm" in name:
        return _FAMILIES["gemini"]
    if "llama" in name:
        return _FAMILIES["llama"]
    if "qwen" in name or "qwq" in name:
        return _FAMILIES["qwen"]
    if "deepseek" in name:
        return _FAMILIES["deepseek"]
    if _MISTRAL.search(name):
        return _FAMILIES["mistral"]
    return {
        "anthropic": _FAMILIES["claude-4.7"],
        "gemini": _FAMILIES["gemini"],
        "mistral": _FAMILIES["mistral"],
        "deepseek": _FAMILIES["deepseek"],
        "openai": _openai_family(name),
    }.get(provider, _FAMILIES["unknown"])


def encoding_name(provider: str, model: str) -> str:
    """The base encoding used for ``model`` at ``provider`` (exact for OpenAI models)."""
    return _family(provider, model).encoding


# -- counting ------------------------------------------------------------------------------


def _count(encoding: str, text: str) -> int:
    # encode_ordinary: "<|endoftext|>" in user text is counted as text, as the API does,
    # instead of raising.
    return len(get_encoding(encoding).encode_ordinary(text)) if text else 0


def _result(
    fam: _Family, text_tokens: int, extra: int, exact: bool, generous: bool = False
) -> TokenCount:
    if exact:
        return TokenCount(text_tokens + extra, True, f"tiktoken:{fam.encoding}", 0.0)
    tokens = math.ceil(text_tokens * fam.factor) + extra
    method = f"estimate:{fam.name}:{fam.encoding}x{fam.factor:g}"
    bound = fam.factor - 1.0
    if generous:
        # Tool schemas and media are counted generously (the cookbook's weather tool costs
        # 101 tokens on gpt-4o, its JSON here 135); media worst cases can exceed even this.
        bound = max(bound, 0.5)
    return TokenCount(tokens, False, method, round(bound, 6))


def count_text(text: str, *, provider: str, model: str) -> TokenCount:
    """Tokens in ``text`` for ``model`` at ``provider`` (no message formatting)."""
    fam = _family(provider, model)
    return _result(fam, _count(fam.encoding, text), 0, fam.exact_text)


def count_messages(
    messages: Sequence[Mapping[str, Any]] | Iterable[Any],
    *,
    provider: str,
    model: str,
    tools: Sequence[Mapping[str, Any]] | None = None,
) -> TokenCount:
    """Prompt tokens of OpenAI-shaped chat ``messages`` (and ``tools``) for ``model``.

    Text is counted with the model's encoding plus the chat format overhead. Parts that are
    not text are estimated: images with OpenAI's documented formulas when their size is known
    (``detail: "low"``, or a PNG/GIF/JPEG/WebP data URL whose header gives the size; 85
    tokens at low detail on gpt-4o) and otherwise with the worst case of the model's image
    rule (see ``_image_tokens``); audio at 32 tokens a second, with the duration read from a
    WAV header or bounded from the data size as if it were 16 kbit/s; files at a third of
    their byte size (at least 3,000). ``tools`` are counted as their compact JSON plus 16
    tokens, above what OpenAI's own formatting of tool schemas costs (plus Anthropic's
    tool-use system prompt for Claude). Only the pure-text form of the verified OpenAI
    models is ``exact``.
    """
    fam = _family(provider, model)
    text_tokens = 0
    extra = 0  # non-text tokens: images, audio, files (not scaled by the text factor)
    exact = fam.exact_messages
    n = 0
    for raw in messages:
        message: Mapping[str, Any] = (
            raw.model_dump(exclude_none=True) if hasattr(raw, "model_dump") else raw
        )
        n += 1
        text_tokens += fam.per_message
        for key, value in message.items():
            if key == "content" and not isinstance(value, str):
                t, x, ok = _content(fam, value, model)
                text_tokens += t
                extra += x
                exact = exact and ok
            elif key == "tool_calls" and isinstance(value, list):
                exact = False
                for call in value:
                    fn = _as_map(_as_map(call).get("function"))
                    text_tokens += 3 + _count(fam.encoding, str(fn.get("name") or ""))
                    text_tokens += _count(fam.encoding, str(fn.get("arguments") or ""))
            elif key == "function_call" and isinstance(value, Mapping):
                exact = False
                text_tokens += 3 + _count(fam.encoding, str(value.get("name") or ""))
                text_tokens += _count(fam.encoding, str(value.get("arguments") or ""))
            elif isinstance(value, str):
                text_tokens += _count(fam.encoding, value)
                if key == "name":
                    text_tokens += fam.per_name
                elif key not in ("role", "content"):
                    exact = False  # e.g. tool_call_id: format not documented
    if n:
        text_tokens += fam.reply
    generous = extra > 0
    if tools:
        exact = False
        generous = True
        # default=str: a counted estimate never fails a call (bad input is refused earlier)
        schema = json.dumps(list(tools), separators=(",", ":"), ensure_ascii=False, default=str)
        text_tokens += _count(fam.encoding, schema)
        extra += fam.tools
    return _result(fam, text_tokens, extra, exact, generous)


def estimate_prompt_tokens(
    messages: Sequence[Mapping[str, Any]] | Iterable[Any],
    *,
    provider: str,
    model: str,
    tools: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Prompt tokens to reserve a budget for: never below the true count by design.

    Exact counts are returned as they are; estimates already carry their family's safety
    factor and are rounded up.
    """
    return count_messages(messages, provider=provider, model=model, tools=tools).tokens


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _content(fam: _Family, content: Any, model: str) -> tuple[int, int, bool]:
    """(text tokens, other tokens, still exact) for a non-string ``content``."""
    if content is None:
        return 0, 0, True
    if not isinstance(content, list):
        return _count(fam.encoding, json.dumps(content, ensure_ascii=False, default=str)), 0, False
    text = 0
    other = 0
    exact = True
    for part in content:
        part = _as_map(part)
        kind = part.get("type")
        if kind == "text":
            text += _count(fam.encoding, str(part.get("text") or ""))
        elif kind == "refusal":
            text += _count(fam.encoding, str(part.get("refusal") or ""))
        elif kind == "image_url":
            exact = False
            image = _as_map(part.get("image_url"))
            other += _image_tokens(fam, model, str(image.get("url") or ""), image.get("detail"))
        elif kind == "input_audio":
            exact = False
            other += _audio_tokens(_as_map(part.get("input_audio")))
        elif kind == "file":
            exact = False
            other += _file_tokens(_as_map(part.get("file")))
        else:
            exact = False
            text += _count(fam.encoding, json.dumps(part, ensure_ascii=False, default=str))
    return text, other, exact


# -- images, audio, files ------------------------------------------------------------------

# OpenAI's vision guide: tile models cost base + per_tile x 512px tiles (base only at low
# detail); patch models cost 32px patches (at most 1536) x a multiplier.
_OPENAI_TILES = (
    (re.compile(r"^(?:ft:)?gpt-4o-mini"), 2833, 5667),
    (re.compile(r"^(?:ft:)?gpt-5(?!-mini|-nano|\.\d+-mini|\.\d+-nano)"), 70, 140),
    (re.compile(r"^(?:ft:)?(?:o1|o3(?!-mini))"), 75, 150),
    (re.compile(r"^computer-use"), 65, 129),
    (
        re.compile(r"^(?:ft:)?(?:gpt-4o|chatgpt-4o|gpt-4\.1(?!-mini|-nano)|gpt-4\.5|gpt-4(?!\.))"),
        85,
        170,
    ),
)
_OPENAI_PATCHES = (
    (re.compile(r"^(?:ft:)?gpt-(?:4\.1|5(?:\.\d+)?)-nano"), 2.46),
    (re.compile(r"^(?:ft:)?gpt-(?:4\.1|5(?:\.\d+)?)-mini"), 1.62),
    (re.compile(r"^(?:ft:)?o4-mini"), 1.72),
)
_WORST_OPENAI = math.ceil(1536 * 2.46)  # an unknown OpenAI model: the dearest patch rule


def _image_tokens(fam: _Family, model: str, url: str, detail: Any) -> int:
    size = _image_size(url)
    rule = fam.image
    if rule == "openai":
        name = model.lower().rsplit("/", 1)[-1]
        for pattern, base, per_tile in _OPENAI_TILES:
            if pattern.match(name):
                if detail == "low":
                    return base
                # Worst case when the size is unknown: 768x2048 -> 2x4 tiles.
                tiles = _tiles(*size) if size else 8
                return base + per_tile * tiles
        for pattern, multiplier in _OPENAI_PATCHES:
            if pattern.match(name):
                return math.ceil((_patches(*size) if size else 1536) * multiplier)
        return _WORST_OPENAI
    if rule in ("claude", "claude-4.7"):
        # Anthropic: about w*h/750 tokens after fitting the long edge (1568px; 2576px for
        # the high-resolution 4.7+ models) and ~1.15 MP (3.75 MP); 1,600 / 4,784 at most.
        edge, cap = (1568, 1600) if rule == "claude" else (2576, 4784)
        if not size:
            return cap
        w, h = _fit(size[0], size[1], edge)
        return min(math.ceil(w * h / 750), cap)
    if rule == "gemini":
        # Gemini: 258 tokens per 768px tile (one tile at most 384px a side); Gemini 3 at
        # its default high media resolution charges 1,120 an image.
        if not size:
            return 258 * 10
        w, h = size
        tiles = 1 if w <= 384 and h <= 384 else math.ceil(w / 768) * math.ceil(h / 768)
        return max(258 * tiles, 1120)
    if rule == "none":
        return 0
    # Open-weight vision models: at most one token per 16x16 patch.
    return math.ceil(size[0] * size[1] / 256) if size else 4096


def _fit(w: int, h: int, edge: int) -> tuple[int, int]:
    scale = min(1.0, edge / max(w, h))
    return max(1, int(w * scale)), max(1, int(h * scale))


def _tiles(w: int, h: int) -> int:
    w, h = _fit(w, h, 2048)
    short = min(w, h)
    if short > 768:
        scale = 768 / short
        w, h = max(1, int(w * scale)), max(1, int(h * scale))
    return math.ceil(w / 512) * math.ceil(h / 512)


def _patches(w: int, h: int) -> int:
    raw = math.ceil(w / 32) * math.ceil(h / 32)
    if raw <= 1536:
        return raw
    shrink = math.sqrt(32 * 32 * 1536 / (w * h))
    shrink *= min(
        math.floor(w * shrink / 32) / (w * shrink / 32),
        math.floor(h * shrink / 32) / (h * shrink / 32),
    )
    return min(math.ceil(w * shrink / 32) * math.ceil(h * shrink / 32), 1536)


def _data_url_bytes(url: str, limit: int | None = None) -> bytes | None:
    """The decoded payload of a base64 data URL (its first ``limit`` bytes), or None."""
    if not url.startswith("data:"):
        return None
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        return None
    if limit is not None:
        payload = payload[: (limit // 3 + 1) * 4]
    try:
        return base64.b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        return None


def _image_size(url: str) -> tuple[int, int] | None:
    """Width and height from a PNG, GIF, JPEG or WebP data URL's header."""
    data = _data_url_bytes(url, 65536)
    if not data:
        return None
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
            w, h = struct.unpack(">II", data[16:24])
        elif data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
        elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            chunk = data[12:16]
            if chunk == b"VP8X":
                w = 1 + int.from_bytes(data[24:27], "little")
                h = 1 + int.from_bytes(data[27:30], "little")
            elif chunk == b"VP8L":
                bits = int.from_bytes(data[21:25], "little")
                w, h = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            else:  # lossy VP8
                w, h = struct.unpack("<HH", data[26:30])
                w, h = w & 0x3FFF, h & 0x3FFF
        elif data[:2] == b"\xff\xd8":
            return _jpeg_size(data)
        else:
            return None
    except struct.error:
        return None
    return (w, h) if w > 0 and h > 0 else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return (w, h) if w > 0 and h > 0 else None
        i += 2 + length
    return None


_AUDIO_TOKENS_PER_SECOND = 32  # Gemini's documented rate; OpenAI's audio is cheaper in tokens


def _audio_tokens(audio: Mapping[str, Any]) -> int:
    data = _data_url_bytes("data:;base64," + str(audio.get("data") or ""))
    if not data:
        return 0
    seconds = None
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) >= 44:
        byte_rate = int.from_bytes(data[28:32], "little")
        if byte_rate > 0:
            seconds = (len(data) - 44) / byte_rate
    if seconds is None:
        seconds = len(data) / 2000  # 16 kbit/s: few real encodings are smaller per second
    return math.ceil(seconds * _AUDIO_TOKENS_PER_SECOND)


def _file_tokens(file: Mapping[str, Any]) -> int:
    data = _data_url_bytes(str(file.get("file_data") or ""))
    if data is None:
        return 10_000  # a file_id or URL: size unknown
    return max(math.ceil(len(data) / 3), 3000)
