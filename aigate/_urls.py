"""Store URLs in errors: shown without their secrets, and the optional package each needs."""

from __future__ import annotations

__all__ = ["EXTRAS", "describe_url", "missing_package", "require_package"]


def describe_url(url: str) -> str:
    """A safe description of a URL the user gave: its scheme only (``redis://...``), since
    anything after it may hold a password; a value without a valid scheme shows nothing of
    itself at all (a mistyped ``redis:/user:pass@host`` must not leak the password)."""
    scheme, sep, _ = url.partition("://")
    if sep and scheme and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return f"'{scheme}://...'"
    return f"a value that is not a URL of a known scheme ({len(url)} characters)"


#: The extra that installs each optional package a store URL may need.
EXTRAS = {"redis": "redis", "psycopg": "postgres"}


def missing_package(module: str) -> str | None:
    """``'needs the redis package, which is not installed: pip install "aigate[redis]"'``
    when ``module`` cannot be imported, else None.

    Looked for with ``find_spec``, not imported: ``import aigate`` and ``Gateway(...)`` stay
    light, and nothing connects. A module set to None in ``sys.modules`` counts as absent.
    """
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return None
    extra = EXTRAS.get(module, module)
    return f'needs the {module} package, which is not installed: pip install "aigate[{extra}]"'


def require_package(module: str, *, field: str, url: str) -> None:
    """Raise ``ConfigurationError`` naming ``field`` when the store at ``url`` needs
    ``module`` and it is not installed: said at construction, with the pip line, rather than
    as a traceback (or a refused call) the first time the store is used. The URL is shown by
    its scheme only (it may hold a password)."""
    problem = missing_package(module)
    if problem is not None:
        from ._exceptions import ConfigurationError

        raise ConfigurationError(f"{field}: {describe_url(url)} {problem}", field=field)
