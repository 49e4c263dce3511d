"""What both surfaces share: which targets can carry what, the tenant of a call, ids, and
usage in the surfaces' two conventions.

Translation happens before routing, so a request is shaped for every target its route may
try (failover included). What only some codecs can carry is decided here, once per call,
from the route's targets: see :func:`carriage`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._exceptions import InvalidRequestError
from .._models import Usage

__all__ = ["Carriage", "bad", "carriage", "native_route", "new_id", "tenant_of"]

# Codec modules whose wire format carries Anthropic's signed thinking blocks and
# ``cache_control`` (the Anthropic codec sends them; the Gemini codec translates parts
# field by field and so ignores them). The OpenAI codec sends messages as given, so an
# OpenAI-compatible upstream would receive (and refuse) fields it does not know.
_CARRIES_BLOCKS = ("anthropic:", "gemini:")
_NATIVE_THINKING = ("anthropic:",)


@dataclass(frozen=True, slots=True)
class Carriage:
    """What the translated chat request may carry, given every target the route may try."""

    thinking_blocks: bool  # signed thinking / redacted_thinking blocks on assistant turns
    cache_control: bool  # cache_control on content parts
    thinking: bool  # Anthropic's ``thinking`` object as is (else: reasoning_effort)


def _codec_spec(target: Any) -> str:
    from ..providers import KINDS

    kind = getattr(target.provider, "kind", "")
    spec = KINDS.get(kind)
    return spec.codec if spec is not None else ""


def carriage(gateway: Any, model: object) -> Carriage:
    """What the route of ``model`` can carry on every one of its targets (all must: a
    failover to a target that cannot take a field must not receive it)."""
    _, targets = gateway._core.resolve(model)
    specs = [_codec_spec(t) for t in targets]
    blocks = bool(specs) and all(s.startswith(_CARRIES_BLOCKS) for s in specs)
    native = bool(specs) and all(s.startswith(_NATIVE_THINKING) for s in specs)
    return Carriage(thinking_blocks=blocks, cache_control=blocks, thinking=native)


def native_route(gateway: Any, model: object, kind: str) -> bool:
    """Whether every target ``model`` may try speaks the surface's own format: a provider
    of ``kind`` ("openai", "anthropic") at its official base URL, or one whose
    ``options.native`` says so (``false`` turns it off). The surface's body can then go to
    each as is (failover included); a mixed route is translated for every target, so that
    failover stays possible."""
    from ..providers import KINDS

    _, targets = gateway._core.resolve(model)
    if not targets:
        return False
    official = KINDS[kind].base_url.rstrip("/")
    for target in targets:
        provider = target.provider
        if getattr(provider, "kind", "") != kind:
            return False
        flag = provider.options.get("native")
        if flag is None:
            flag = provider.base_url == official
        if flag is not True:
            return False
    return True


def tenant_of(api_key: object, user: object, metadata: object) -> str:
    """The tenant a stored conversation belongs to: the virtual key (as a hash: the secret
    is never stored), else the ``org``/``project`` metadata and the ``user``."""
    if isinstance(api_key, str) and api_key:
        return "vk=" + hashlib.sha256(api_key.encode()).hexdigest()[:32]
    meta = metadata if isinstance(metadata, Mapping) else {}
    return f"org={meta.get('org', '')}|project={meta.get('project', '')}|user={user or ''}"


def new_id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(12).hex()}"


def bad(field: str, expected: str, got: object = None) -> InvalidRequestError:
    """A typed error naming the field and what was expected there."""
    what = "" if got is None else f", got {type(got).__name__}"
    return InvalidRequestError(
        f"{field}: expected {expected}{what}", field=field, expected=expected
    )


def usage_counts(usage: Usage | None) -> tuple[int, int, int, int, int, int]:
    """``(prompt, completion, cached read, cache write 5m, cache write 1h, reasoning)``."""
    if usage is None:
        return 0, 0, 0, 0, 0, 0
    p = usage.prompt_tokens_details
    c = usage.completion_tokens_details
    return (
        usage.prompt_tokens,
        usage.completion_tokens,
        (p.cached_tokens or 0) if p else 0,
        (p.cache_write_tokens or 0) if p else 0,
        (p.cache_write_1h_tokens or 0) if p else 0,
        (c.reasoning_tokens or 0) if c else 0,
    )
