""" "Did you mean ...?": one small helper for every message that names an unknown thing.

Used for unknown call parameters (``max_token``), config fields (``base_ulr``), provider
kinds (``ollama``), models (a bare ``gpt-4o-mini``) and CLI names. Suggestions come only
from the known names passed in, never from the value's content beyond the name itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["closest", "did_you_mean", "model_hint", "unknown_kind_message"]


def closest(name: str, known: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The known name nearest to ``name`` (case-insensitive), or None when none is close."""
    import difflib  # lazy: only an error message needs it

    names = [k for k in known if isinstance(k, str)]
    if not isinstance(name, str) or not name or not names:
        return None
    lowered = {k.lower(): k for k in names}
    if name.lower() in lowered:
        return lowered[name.lower()]
    found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=cutoff)
    return lowered[found[0]] if found else None


def did_you_mean(name: str, known: Iterable[str], *, cutoff: float = 0.6) -> str:
    """``" (did you mean 'max_tokens'?)"`` for ``name``, or ``""`` when nothing is close."""
    found = closest(name, known, cutoff=cutoff)
    return f" (did you mean {found!r}?)" if found is not None and found != name else ""


def model_hint(
    spec: str,
    providers: Mapping[str, str],
    routes: Iterable[str],
    catalog: Iterable[tuple[str, str]] = (),
) -> str:
    """A suggestion for an unknown model ``spec``, or ``""``.

    ``providers`` maps each configured provider's name to its kind; ``catalog`` yields
    ``(kind, model)`` pairs the catalog knows. A bare model name (``gpt-4o-mini``) suggests
    the configured providers that serve it (``openai/gpt-4o-mini``); a mistyped provider
    (``opnai/gpt-4o``) or route (``fsat``) suggests the nearest known one.
    """
    routes = list(routes)
    if not isinstance(spec, str) or not spec:
        return ""
    provider, sep, model = spec.partition("/")
    if not sep:
        kinds_of: dict[str, str] = {}
        for kind, name in catalog:
            if name == spec or name.rsplit("/", 1)[-1] == spec:
                kinds_of.setdefault(kind, name)
        matches = [
            f"{name}/{kinds_of[kind]}" for name, kind in providers.items() if kind in kinds_of
        ]
        if matches:
            shown = " or ".join(repr(m) for m in sorted(matches)[:3])
            return f" (did you mean {shown}?)"
        route = did_you_mean(spec, routes)
        if route or not kinds_of:
            return route
        owners = " or ".join(repr(kind) for kind in sorted(kinds_of)[:3])
        return (
            f" ({spec!r} is a model of {owners}, and no provider of this gateway is of that "
            "kind: add one and call it as '<provider>/<model>')"
        )
    if provider not in providers:
        near = closest(provider, providers)
        if near is not None:
            return f" (did you mean {near + '/' + model!r}?)"
        return did_you_mean(spec, routes)
    return ""


def unknown_kind_message(provider: str, kind: str, explicit: bool, known: Iterable[str]) -> str:
    """The message for a provider whose kind (set, or taken from its name) is unknown.

    ``explicit``: the config set ``kind`` (then telling the user to "set kind" is wrong:
    list the known kinds and the nearest one); else the kind came from the provider's name,
    and setting ``kind`` is the fix.
    """
    kinds = sorted(known)
    hint = did_you_mean(kind, kinds)
    if explicit:
        return (
            f"providers.{provider}.kind: unknown kind {kind!r}{hint}; expected one of {kinds} "
            "(an OpenAI-compatible server such as Ollama, vLLM or LM Studio is kind 'openai' "
            "with its base_url)"
        )
    return (
        f"providers.{provider}: {provider!r} is not a known kind{hint}, so set its kind: one "
        f"of {kinds} (an OpenAI-compatible server is kind 'openai' with its base_url)"
    )
