"""Generate aigate's model catalog (``aigate/_data/catalog.json``) from LiteLLM's price table.

Usage::

    python scripts/generate_catalog.py                       # the default paths below
    python scripts/generate_catalog.py --source prices.json --output aigate/_data/catalog.json

The source is the ``model_prices_and_context_window.json`` table published with LiteLLM (MIT).
Prices are facts; the format is ours:

- one entry per ``"<provider>/<model>"``, where provider is an aigate provider kind and model
  the id that provider's API takes (LiteLLM's own ``gemini/`` prefix removed, OpenRouter's
  vendor part kept: ``openrouter/anthropic/claude-3-haiku``);
- prices are decimal *strings* in USD per token (``input_per_second`` per second of audio),
  converted from the table's floats through ``str()`` so no binary rounding leaks in;
- ``long_context`` holds the tier a few models charge for the whole request once the prompt
  exceeds ``threshold`` tokens;
- null and absent fields are omitted; keys are sorted, one model per line, so the output is
  byte-for-byte deterministic and diffs stay readable;
- ``_meta`` names the source file, its SHA-256 and the ``snapshot_date`` (the day the
  prices were taken: ``--snapshot-date``, else the source file's modification day, UTC),
  which ``Catalog.snapshot_date`` and ``aigate models`` show and the staleness warning reads;
- models the table lacks but aigate's users call (issue 13.8: older Claude models still
  served, Groq's Llama models, OpenRouter's catalog incl. ``:free`` variants) come from
  ``SUPPLEMENT`` below, each family with the documented source of its prices. A table row
  always wins over a supplement row, so a newer table corrects them.

genai-prices (pydantic, MIT) was evaluated as a source and not adopted for now: it ships
its prices as a 1.6 MB Python module (``genai_prices/data.py``) of match clauses rather than
a table keyed by model id, carries no context windows, output ceilings or capabilities
(which budgets and routing read from this catalog), and as a runtime dependency brings
httpx2 and a background updater. Its JSON export (``prices/data.json``) is a usable input
for ``aigate prices update --from`` once converted to this format.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# beside the checkout, or beside the directory of worktrees that holds it
DEFAULT_SOURCE = next(
    (
        base / "shared" / "data" / "model_prices_litellm.json"
        for base in (ROOT.parent, ROOT.parent.parent)
        if (base / "shared" / "data" / "model_prices_litellm.json").exists()
    ),
    ROOT.parent / "shared" / "data" / "model_prices_litellm.json",
)
DEFAULT_OUTPUT = ROOT / "aigate" / "_data" / "catalog.json"

# LiteLLM provider name -> aigate provider kind. vertex_ai-* rows duplicate Gemini and
# Anthropic models under another API and are left out on purpose.
PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "groq": "groq",
    "openrouter": "openrouter",
    "mistral": "mistral",
    "deepseek": "deepseek",
}
# Providers whose model ids legitimately contain a slash ("openai/gpt-oss-20b" on Groq).
SLASHED_IDS = {"groq", "openrouter"}
# Modes aigate can call or price; image/video generation, OCR and search are per-item priced
# products the gateway does not serve.
MODES = {
    "chat",
    "completion",
    "responses",
    "embedding",
    "audio_transcription",
    "audio_speech",
    "moderation",
    "realtime",
}

# LiteLLM field -> aigate price field (USD per token unless the name says otherwise).
PRICE_FIELDS = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cached_input",
    "cache_creation_input_token_cost": "cache_write",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_token": "output",
    "output_cost_per_reasoning_token": "reasoning",
    "input_cost_per_audio_token": "audio_input",
    "output_cost_per_audio_token": "audio_output",
    "input_cost_per_second": "input_per_second",
}
# e.g. "input_cost_per_token_above_200k_tokens" (no batch/priority/flex suffix after it).
_TIERED = re.compile(r"^(?P<base>[a-z_0-9]+?)_above_(?P<k>\d+)k_tokens$")

CAPABILITIES = {
    "supports_vision": "vision",
    "supports_function_calling": "tools",
    "supports_parallel_function_calling": "parallel_tools",
    "supports_response_schema": "json_schema",
    "supports_audio_input": "audio_input",
    "supports_audio_output": "audio_output",
    "supports_reasoning": "reasoning",
    "supports_prompt_caching": "prompt_caching",
    "supports_pdf_input": "pdf",
    "supports_web_search": "web_search",
}


def _m(price: str) -> str:
    """USD per million tokens -> USD per token, as an exact decimal string."""
    text = format(Decimal(price) / Decimal(1_000_000), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _claude(
    inp: str, write: str, write_1h: str, read: str, out: str, max_out: int, reasoning: bool
) -> dict[str, Any]:
    caps = ["pdf", "prompt_caching", "tools", "vision"] + (["reasoning"] if reasoning else [])
    return {
        "mode": "chat",
        "input": _m(inp),
        "cache_write": _m(write),
        "cache_write_1h": _m(write_1h),
        "cached_input": _m(read),
        "output": _m(out),
        "context_window": 200000,
        "max_output_tokens": max_out,
        "capabilities": sorted(caps),
    }


def _groq(inp: str, out: str, context: int, max_out: int, caps: tuple[str, ...] = ("tools",)):
    return {
        "mode": "chat",
        "input": _m(inp),
        "output": _m(out),
        "context_window": context,
        "max_output_tokens": max_out,
        "capabilities": sorted(caps),
    }


_FREE = {"mode": "chat", "input": "0", "output": "0"}

#: Models the LiteLLM table lacks, by family, with the source of each family's prices.
#: Table rows win over these (a newer table corrects them).
SUPPLEMENT: dict[str, dict[str, dict[str, Any]]] = {
    # Anthropic, "Model pricing" (platform.claude.com/docs/en/about-claude/pricing): base
    # input, 5m and 1h cache writes, cache hits, output per MTok; context windows and
    # output ceilings from the models overview (platform.claude.com/docs/en/about-claude/
    # models). Older models still served by the API.
    "anthropic (platform.claude.com/docs/en/about-claude/pricing)": {
        "anthropic/claude-opus-4-1": _claude("15", "18.75", "30", "1.50", "75", 32000, True),
        "anthropic/claude-opus-4-1-20250805": _claude(
            "15", "18.75", "30", "1.50", "75", 32000, True
        ),
        "anthropic/claude-opus-4": _claude("15", "18.75", "30", "1.50", "75", 32000, True),
        "anthropic/claude-opus-4-20250514": _claude("15", "18.75", "30", "1.50", "75", 32000, True),
        "anthropic/claude-sonnet-4": _claude("3", "3.75", "6", "0.30", "15", 64000, True),
        "anthropic/claude-sonnet-4-20250514": _claude("3", "3.75", "6", "0.30", "15", 64000, True),
        "anthropic/claude-3-7-sonnet-20250219": _claude(
            "3", "3.75", "6", "0.30", "15", 64000, True
        ),
        "anthropic/claude-3-7-sonnet-latest": _claude("3", "3.75", "6", "0.30", "15", 64000, True),
        "anthropic/claude-3-5-haiku-20241022": _claude(
            "0.80", "1", "1.6", "0.08", "4", 8192, False
        ),
        "anthropic/claude-3-5-haiku-latest": _claude("0.80", "1", "1.6", "0.08", "4", 8192, False),
        "anthropic/claude-3-haiku-20240307": _claude(
            "0.25", "0.30", "0.50", "0.03", "1.25", 4096, False
        ),
        "anthropic/claude-3-opus-20240229": _claude("15", "18.75", "30", "1.50", "75", 4096, False),
    },
    # Groq, on-demand prices per million tokens (groq.com/pricing; context windows and
    # output ceilings from console.groq.com/docs/models). Whisper is in the table.
    "groq (groq.com/pricing, console.groq.com/docs/models)": {
        "groq/llama-3.1-8b-instant": _groq("0.05", "0.08", 131072, 131072),
        "groq/llama-3.3-70b-versatile": _groq("0.59", "0.79", 131072, 32768),
        "groq/meta-llama/llama-4-scout-17b-16e-instruct": _groq(
            "0.11", "0.34", 131072, 8192, ("tools", "vision")
        ),
        "groq/meta-llama/llama-4-maverick-17b-128e-instruct": _groq(
            "0.20", "0.60", 131072, 8192, ("tools", "vision")
        ),
        "groq/qwen/qwen3-32b": _groq("0.29", "0.59", 131072, 40960, ("reasoning", "tools")),
    },
    # OpenRouter: ":free" variants are priced $0 (openrouter.ai/models?max_price=0, and
    # openrouter.ai/docs/api-reference/limits for their rate limits). Paid OpenRouter
    # models are priced from the upstream vendor's row (OpenRouter passes the provider's
    # price through, openrouter.ai/docs/faq), see OPENROUTER_UPSTREAM, and every
    # OpenRouter answer also reports its own cost (usage.cost), which aigate prefers.
    "openrouter free (openrouter.ai/models?max_price=0)": {
        f"openrouter/{model}": dict(_FREE)
        for model in (
            "deepseek/deepseek-chat-v3-0324:free",
            "deepseek/deepseek-r1:free",
            "google/gemini-2.0-flash-exp:free",
            "meta-llama/llama-3.2-3b-instruct:free",
            "meta-llama/llama-3.3-70b-instruct:free",
            "mistralai/mistral-7b-instruct:free",
            "openai/gpt-oss-20b:free",
            "qwen/qwen3-coder:free",
        )
    },
}

#: OpenRouter ids -> the upstream row whose prices and facts they carry (pass-through
#: pricing, openrouter.ai/docs/faq). Listed so ``aigate models`` shows them.
OPENROUTER_UPSTREAM = {
    "openrouter/openai/gpt-4o-mini": "openai/gpt-4o-mini",
    "openrouter/openai/gpt-4o": "openai/gpt-4o",
    "openrouter/openai/gpt-4.1": "openai/gpt-4.1",
    "openrouter/openai/gpt-4.1-mini": "openai/gpt-4.1-mini",
    "openrouter/openai/gpt-5": "openai/gpt-5",
    "openrouter/anthropic/claude-sonnet-4.5": "anthropic/claude-sonnet-4-5",
    "openrouter/anthropic/claude-opus-4.1": "anthropic/claude-opus-4-1",
    "openrouter/anthropic/claude-haiku-4.5": "anthropic/claude-haiku-4-5",
    "openrouter/google/gemini-2.5-flash": "gemini/gemini-2.5-flash",
    "openrouter/google/gemini-2.5-pro": "gemini/gemini-2.5-pro",
    "openrouter/deepseek/deepseek-chat": "deepseek/deepseek-chat",
    "openrouter/mistralai/mistral-large": "mistral/mistral-large-latest",
}


def supplement(entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``entries`` with the supplement rows the table lacks, then the OpenRouter rows."""
    out = dict(entries)
    for family in SUPPLEMENT.values():
        for name, row in family.items():
            out.setdefault(name, row)
    for name, upstream in OPENROUTER_UPSTREAM.items():
        if name not in out and upstream in out:
            out[name] = dict(out[upstream])
    return dict(sorted(out.items()))


def price_str(value: Any) -> str | None:
    """A table float as an exact decimal string ("0.0000025"), or None if not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    d = Decimal(str(value))
    if d < 0:
        return None
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    return None


def split_key(key: str, litellm_provider: str) -> tuple[str, str] | None:
    """``("gemini", "gemini-2.0-flash")`` for ``"gemini/gemini-2.0-flash"``; None to skip."""
    kind = PROVIDERS[litellm_provider]
    model = key
    for prefix in (f"{litellm_provider}/", f"{kind}/"):
        if model.startswith(prefix):
            model = model[len(prefix) :]
            break
    if not model or ("/" in model and kind not in SLASHED_IDS):
        return None  # size-prefixed image rows and similar are not callable model ids
    return kind, model


def convert(row: Mapping[str, Any]) -> dict[str, Any]:
    """One LiteLLM row -> one compact aigate entry."""
    out: dict[str, Any] = {"mode": row.get("mode", "chat")}
    for src, dst in PRICE_FIELDS.items():
        value = price_str(row.get(src))
        if value is not None:
            out[dst] = value
    tiers: dict[int, dict[str, str]] = {}
    for src, raw in row.items():
        m = _TIERED.match(src)
        if not m or m["base"] not in PRICE_FIELDS:
            continue
        value = price_str(raw)
        if value is not None:
            tiers.setdefault(int(m["k"]) * 1000, {})[PRICE_FIELDS[m["base"]]] = value
    if tiers:
        threshold = min(tiers)  # one tier per model in practice; the lowest is the safe one
        out["long_context"] = {"threshold": threshold, **tiers[threshold]}
    context = _int(row.get("max_input_tokens"))
    if context is not None:
        out["context_window"] = context
    max_out = _int(row.get("max_output_tokens"))
    if max_out is not None:
        out["max_output_tokens"] = max_out
    caps = sorted(name for flag, name in CAPABILITIES.items() if row.get(flag) is True)
    if caps:
        out["capabilities"] = caps
    deprecation = row.get("deprecation_date")
    if isinstance(deprecation, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", deprecation):
        out["deprecation_date"] = deprecation
    return out


def build(table: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """All kept rows, keyed ``"provider/model"``. A row keyed with LiteLLM's provider prefix
    wins over an unprefixed duplicate of the same model (the prefixed one is canonical)."""
    entries: dict[str, tuple[bool, dict[str, Any]]] = {}
    for key in sorted(table):
        row = table[key]
        if not isinstance(row, dict) or key == "sample_spec":
            continue
        provider = row.get("litellm_provider")
        if provider not in PROVIDERS or row.get("mode", "chat") not in MODES:
            continue
        split = split_key(key, provider)
        if split is None:
            continue
        kind, model = split
        prefixed = key != model
        name = f"{kind}/{model}"
        previous = entries.get(name)
        if previous is not None and (previous[0] or not prefixed):
            continue
        entries[name] = (prefixed, convert(row))
    return {name: entry for name, (_, entry) in sorted(entries.items())}


def render(entries: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    """Deterministic JSON: sorted keys, one model per line."""
    lines = [f"{json.dumps('_meta')}:{json.dumps(meta, sort_keys=True, separators=(',', ':'))}"]
    for name in sorted(entries):
        body = json.dumps(entries[name], sort_keys=True, separators=(",", ":"))
        lines.append(f"{json.dumps(name)}:{body}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="LiteLLM table")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="catalog.json")
    parser.add_argument(
        "--snapshot-date",
        type=date.fromisoformat,
        default=None,
        help="the day the prices were taken (YYYY-MM-DD; default: the source's mtime, UTC)",
    )
    args = parser.parse_args(argv)
    raw = args.source.read_bytes()
    entries = supplement(build(json.loads(raw)))
    when = (
        args.snapshot_date
        or datetime.fromtimestamp(args.source.stat().st_mtime, tz=timezone.utc).date()
    )
    meta = {
        "format": 1,
        "snapshot_date": when.isoformat(),
        "supplement": sorted(SUPPLEMENT),
        "source": args.source.name,
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "license": "MIT (LiteLLM price table); supplement rows: the providers' public prices",
        "units": "USD per token; input_per_second in USD per second",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(entries, meta), encoding="utf-8")
    print(f"wrote {len(entries)} models to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
