"""``open_cache``: a cache from a URL in the gateway's configuration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from .._exceptions import ConfigurationError
from ._base import Cache, NullCache
from ._disk import DiskCache
from ._memory import MemoryCache
from ._redis import RedisCache, redact_url

__all__ = ["ACCEPTED_SCHEMES", "open_cache"]

ACCEPTED_SCHEMES = (
    "memory://[?max_entries=N&max_bytes=N&default_ttl=S]",
    "disk:///abs/path or disk://rel/path [?size_limit=N&default_ttl=S&timeout=S]",
    "diskcache:// (same as disk://)",
    "redis://[:password@]host[:port][/db] [?prefix=P&default_ttl=S&timeout=S&<redis-py options>]",
    "rediss:// (redis over TLS)",
    "null:// or none:// (no caching)",
)


def open_cache(url_or_instance: str | Cache | None, *, field: str = "cache") -> Cache:
    """The cache a URL names; a ``Cache`` instance is returned as is, ``None`` is no cache.

    A bare filesystem path is refused rather than guessed at (``"memory"`` or ``"C:\\x"``
    would otherwise become a directory): write ``disk:///path``. Relative paths
    (``disk://.cache/aigate``) are relative to the working directory, ``~`` expands.
    Anything else raises ``ConfigurationError`` naming ``field`` and the accepted schemes.
    The URL's password never appears in an error.
    """
    if url_or_instance is None:
        return NullCache()
    if not isinstance(url_or_instance, str):
        if isinstance(url_or_instance, Cache):
            return url_or_instance
        raise _error(
            field, f"expected a cache URL or a Cache, not {type(url_or_instance).__name__}"
        )
    url = url_or_instance.strip()
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _OPENERS:
        from .._urls import describe_url

        hint = " (a filesystem path? write disk:///path)" if not sep else ""
        raise _error(field, f"unknown cache URL {describe_url(url)}{hint}")
    parts = urlsplit(url)
    try:
        params = _query(parts.query)
        return _OPENERS[scheme](url, parts, params)
    except _MissingPackage as err:
        message = f"{field}: {redact_url(url)!r} {err.message}"
        raise ConfigurationError(message, field=field) from None
    except ConfigurationError as err:
        raise _error(field, f"{err.message} in {redact_url(url)!r}") from None
    except (TypeError, ValueError) as err:
        raise _error(field, f"{err} in {redact_url(url)!r}") from None


def _error(field: str, message: str) -> ConfigurationError:
    accepted = "; ".join(ACCEPTED_SCHEMES)
    return ConfigurationError(f"{field}: {message}; accepted: {accepted}", field=field)


def _query(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in params:
            raise ConfigurationError(f"parameter {name!r} given twice")
        params[name] = value
    return params


def _take(params: dict[str, str], name: str, kind: Callable[[str], Any]) -> Any:
    if name not in params:
        return None
    raw = params.pop(name)
    try:
        return kind(raw)
    except ValueError:
        raise ConfigurationError(
            f"parameter {name}={raw!r} is not a valid {kind.__name__}"
        ) from None


def _no_more(params: dict[str, str]) -> None:
    if params:
        raise ConfigurationError(f"unknown parameter(s) {', '.join(sorted(params))}")


def _kwargs(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _memory(url: str, parts: Any, params: dict[str, str]) -> Cache:
    kwargs = _kwargs(
        max_entries=_take(params, "max_entries", int),
        max_bytes=_take(params, "max_bytes", int),
        default_ttl=_take(params, "default_ttl", float),
    )
    _no_more(params)
    if parts.netloc or parts.path not in ("", "/"):
        raise ConfigurationError("memory:// takes no host or path")
    return MemoryCache(**kwargs)


def _disk(url: str, parts: Any, params: dict[str, str]) -> Cache:
    kwargs = _kwargs(
        size_limit=_take(params, "size_limit", int),
        default_ttl=_take(params, "default_ttl", float),
        timeout=_take(params, "timeout", float),
    )
    _no_more(params)
    directory = unquote(parts.netloc + parts.path)
    if not directory:
        raise ConfigurationError("a disk cache needs a directory (disk:///var/cache/aigate)")
    return DiskCache(directory, **kwargs)


class _MissingPackage(ConfigurationError):
    """An optional package a URL needs is not installed (no list of schemes: the URL is fine)."""


def _require(module: str) -> None:
    """A missing optional package is a configuration error saying what to install, at
    construction (not a traceback from the first call); aigate._urls words it for every store."""
    from .._urls import missing_package

    problem = missing_package(module)
    if problem is not None:
        raise _MissingPackage(problem)


def _redis(url: str, parts: Any, params: dict[str, str]) -> Cache:
    _require("redis")
    kwargs = _kwargs(
        prefix=_take(params, "prefix", str),
        default_ttl=_take(params, "default_ttl", float),
        timeout=_take(params, "timeout", float),
    )
    # What is left (db=, ssl_cert_reqs=, ...) is redis-py's to read.
    rest = urlunsplit(parts._replace(query=urlencode(params)))
    return RedisCache(rest, **kwargs)


def _null(url: str, parts: Any, params: dict[str, str]) -> Cache:
    _no_more(params)
    return NullCache()


_OPENERS: dict[str, Callable[[str, Any, dict[str, str]], Cache]] = {
    "memory": _memory,
    "disk": _disk,
    "diskcache": _disk,
    "redis": _redis,
    "rediss": _redis,
    "null": _null,
    "none": _null,
}
