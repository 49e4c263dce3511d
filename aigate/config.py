"""Gateway configuration: one schema for keyword arguments, dicts, TOML, JSON and env.

Every model forbids unknown fields, so a typo is an error that names the field instead of a
setting silently ignored. Secrets are :class:`pydantic.SecretStr` and never appear in a
``repr``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from ._exceptions import ConfigurationError

__all__ = [
    "CacheConfig",
    "GatewayConfig",
    "ProviderConfig",
    "RouteCacheConfig",
    "RouteConfig",
    "TimeoutConfig",
    "config_error",
    "load_config",
]

KeySource = SecretStr | Callable[[], str]
Seconds = Annotated[float, Field(gt=0)]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, arbitrary_types_allowed=True)


class TimeoutConfig(_Config):
    """Seconds. ``total`` applies to each phase not given (connect defaults to 5 s)."""

    total: float | None = Field(600.0, gt=0)
    connect: float | None = Field(5.0, gt=0)
    read: float | None = Field(None, gt=0)
    write: float | None = Field(None, gt=0)
    pool: float | None = Field(None, gt=0)


class ProviderConfig(_Config):
    """One provider: its kind (wire format), where it is, and its keys.

    ``kind`` defaults to the provider's name when that is a known kind (``openai``, ``groq``,
    ``openrouter``, ``mistral``, ``deepseek``, ``anthropic``, ``gemini``, ``fake``). Keys come
    from ``api_keys``/``api_key`` (strings or callables), else from ``api_key_env``, else the
    kind's variable (``OPENAI_API_KEY``, ...). A provider with a custom ``base_url`` (a local
    server) may have no key.
    """

    kind: str | None = None
    base_url: str | None = None
    api_key: KeySource | None = Field(None, repr=False)
    api_keys: list[KeySource] = Field(default_factory=list, repr=False)
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    timeout: Seconds | TimeoutConfig | None = None
    options: dict[str, Any] = Field(default_factory=dict, repr=False)
    prices: dict[str, dict[str, Any]] = Field(default_factory=dict)


class RouteConfig(_Config):
    """A route alias: its targets (``"provider/model"``) in order of preference."""

    targets: list[str] = Field(min_length=1)


class RouteCacheConfig(_Config):
    """Cache settings of one route (or direct model) under ``cache.routes``."""

    enabled: bool | None = None
    ttl: Seconds | None = None
    shared: bool = False  # one namespace for every tenant on this route: an explicit choice


class CacheConfig(_Config):
    """Response caching. ``url``: ``memory://``, ``disk:///path``, ``redis://...``.

    ``default`` decides calls that do not say ``cache=``: ``"auto"`` caches calls with
    ``temperature=0`` (and embeddings), ``"always"`` every call, ``"never"`` only calls with
    ``cache=True``. The namespace always holds the caller's scope (virtual key, org,
    project): tenants never share entries unless a route says ``shared = true``.
    """

    url: str = "memory://"
    default: Literal["auto", "always", "never"] = "auto"
    ttl: Seconds | None = 3600.0
    include_user: bool = False
    hit_cost: Literal["zero", "original"] = "zero"
    single_flight: bool = True
    single_flight_timeout: Seconds = 30.0
    routes: dict[str, RouteCacheConfig] = Field(default_factory=dict)


class GatewayConfig(_Config):
    """Everything a :class:`~aigate.Gateway` is built from."""

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    routes: dict[str, RouteConfig | list[str]] = Field(default_factory=dict)
    timeout: Seconds | TimeoutConfig = Field(default_factory=TimeoutConfig)
    max_connections: int = Field(100, ge=1)
    max_keepalive_connections: int = Field(20, ge=0)
    ledger: str | None = None
    ledger_errors: Literal["raise", "log"] = "log"
    cache: str | CacheConfig | None = None
    prices: dict[str, dict[str, Any]] = Field(default_factory=dict)


def config_error(exc: ValidationError, prefix: str = "") -> ConfigurationError:
    """A :class:`ConfigurationError` naming the first bad field and what was expected.

    The offending *value* is never quoted: it may be a key.
    """
    lines = []
    first_field = None
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in err["loc"] if not str(part).startswith("function-"))
        loc = f"{prefix}{loc}" if loc else prefix.rstrip(".")
        if first_field is None:
            first_field = loc
        if err["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown field")
        else:
            lines.append(f"{loc}: {err['msg']}")
    return ConfigurationError("invalid configuration: " + "; ".join(lines[:5]), field=first_field)


def load_config(
    source: GatewayConfig | Mapping[str, Any] | str | os.PathLike[str],
) -> GatewayConfig:
    """A validated :class:`GatewayConfig` from a config, a dict, or a ``.toml``/``.json`` file."""
    if isinstance(source, GatewayConfig):
        return source
    if isinstance(source, (str, os.PathLike)):
        source = _read_file(Path(source))
    try:
        return GatewayConfig.model_validate(source)
    except ValidationError as exc:
        raise config_error(exc) from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc.strerror}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import sys

            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - exercised on 3.10 only
                import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
            data: Any = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigurationError(f"config file {path} must end in .toml or .json", field="path")
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"cannot parse {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} must hold a table/object at the top level")
    return data
