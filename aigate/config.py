"""Gateway configuration: one schema for keyword arguments, dicts, TOML, JSON and env.

Every model forbids unknown fields, so a typo is an error that names the field instead of a
setting silently ignored. Secrets are :class:`pydantic.SecretStr` and never appear in a
``repr``.
"""

from __future__ import annotations

import json
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from . import _suggest
from ._exceptions import ConfigurationError

__all__ = [
    "BreakerConfig",
    "CacheConfig",
    "ConditionConfig",
    "GatewayConfig",
    "KeysConfig",
    "KeyPoolConfig",
    "ProviderConfig",
    "RateLimitConfig",
    "RetryConfig",
    "RouteCacheConfig",
    "RouteConfig",
    "SemanticCacheConfig",
    "RouterConfig",
    "TargetConfig",
    "TimeoutConfig",
    "config_error",
    "load_config",
]

KeySource = SecretStr | Callable[[], str]
Seconds = Annotated[float, Field(gt=0)]


class _Config(BaseModel):
    # strict: a string is never read as a bool or a number ("false" was true, "60s" ...)
    model_config = ConfigDict(
        extra="forbid", defer_build=True, arbitrary_types_allowed=True, strict=True
    )

    @model_validator(mode="before")
    @classmethod
    def _tuples_are_lists(cls, data: Any) -> Any:
        # strict mode refuses a tuple where a list is declared; code may well pass one
        if isinstance(data, Mapping) and any(type(v) is tuple for v in data.values()):
            return {k: list(v) if type(v) is tuple else v for k, v in data.items()}
        return data


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


class TargetConfig(_Config):
    """One target of a route. ``weight`` is its share under the ``weighted`` strategy;
    ``priority`` is its tier: lower tiers are tried first, the strategy orders each tier."""

    target: str
    weight: float = Field(1.0, ge=0)
    priority: int = 0


def _target_item(value: Any) -> Any:
    return {"target": value} if isinstance(value, str) else value


# "provider/model" is the short form of {target = "provider/model"}
TargetSpec = Annotated[TargetConfig, BeforeValidator(_target_item)]


class RetryConfig(_Config):
    """How one call retries and how long it may take.

    ``retries`` is how many more times a target is tried after a transient error (429, 5xx,
    timeout, broken connection, unreadable answer) before the call moves to the next target;
    waits are full-jitter exponential (``backoff_s`` doubling up to ``backoff_max_s``) or a
    provider's ``Retry-After`` when longer. ``retry_after_cap_s`` is the longest single wait
    accepted (a longer Retry-After moves on instead). ``max_attempts`` bounds the HTTP
    requests of one call over every target and key; ``deadline_s`` bounds its attempts and
    sleeps. Streams: ``first_token_timeout_s`` abandons a stream (and fails over) when no
    content arrived in time; ``idle_timeout_s`` is the longest wait for any next bytes.
    ``wait`` (code only) replaces the backoff with a tenacity wait strategy.
    """

    retries: int = Field(0, ge=0)
    max_attempts: int = Field(10, ge=1)
    backoff_s: Seconds = 0.5
    backoff_max_s: Seconds = 30.0
    retry_after_cap_s: float = Field(60.0, ge=0)
    deadline_s: Seconds | None = None
    first_token_timeout_s: Seconds | None = None
    idle_timeout_s: Seconds | None = None
    wait: Callable[[Any], float] | None = None


class BreakerConfig(_Config):
    """Circuit breakers, one per target and one per key.

    A breaker opens after ``failures`` transient failures within ``window_s`` (a success
    resets the count) and stays open ``cooldown_s`` (longer when the provider asked for
    it); then one call probes it (half-open) and closes it on success. A 429 cools only its
    key (``key_cooldown_s`` without Retry-After); a key error (401, 402, 403,
    insufficient_quota) marks the key dead for ``dead_key_s``. Request errors never count.
    """

    failures: int = Field(5, ge=1)
    window_s: Seconds = 60.0
    cooldown_s: Seconds = 30.0
    probe_timeout_s: Seconds = 30.0
    key_cooldown_s: float = Field(5.0, ge=0)
    dead_key_s: Seconds = 3600.0


class KeyPoolConfig(_Config):
    """How a provider's keys share the calls: ``round_robin``, ``least_used``, ``weighted``
    (by ``weights``, one per key) or ``sticky`` (one user keeps one key, for provider-side
    prompt caching). ``rpm``/``tpm`` cap each key locally (a number for every key or one per
    key, ``None`` for no cap)."""

    strategy: Literal["round_robin", "least_used", "weighted", "sticky"] = "round_robin"
    weights: list[Annotated[float, Field(ge=0)]] | None = None
    rpm: int | list[int | None] | None = None
    tpm: int | list[int | None] | None = None


class RouterConfig(_Config):
    """Gateway-wide routing settings; a route's own ``retry`` overrides fields of ``retry``.

    ``health`` is where breaker state lives: ``memory://`` (this process) or a
    ``redis://`` URL (shared by every process). ``filter_capabilities`` skips, before any
    call, the targets of a route that the catalog says cannot serve the request (no vision,
    no tools, prompt over the context window, wrong kind of model). ``seed`` makes the
    ``weighted`` choices repeatable.
    """

    retry: RetryConfig = Field(default_factory=RetryConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    keys: KeyPoolConfig = Field(default_factory=KeyPoolConfig)
    key_pools: dict[str, KeyPoolConfig] = Field(default_factory=dict)
    health: str = "memory://"
    filter_capabilities: bool = True
    latency_alpha: float = Field(0.3, gt=0, le=1)
    seed: int | None = None


class ConditionConfig(_Config):
    """A rule of a route: calls whose features match ``when`` go to these ``targets``.

    ``when`` maps a feature to a value (equality), a list (one of) or ``{gt/ge/lt/le/eq/ne/
    in/not_in = ...}``: ``kind`` (chat, embedding, transcription), ``stream``,
    ``has_images``, ``has_audio``, ``has_tools``, ``json_mode``, ``prompt_tokens``,
    ``max_tokens``, ``user``, ``virtual_key``, ``metadata.<name>`` (or ``metadata =
    {name = value}``). In code, ``when`` may be a callable taking the call's
    :class:`aigate.routing.Features`.
    """

    when: dict[str, Any] | Callable[[Any], bool]
    targets: list[TargetSpec] = Field(min_length=1)
    strategy: str | Callable[..., Any] | None = None


class RouteConfig(_Config):
    """A route alias: its targets (``"provider/model"`` or ``{target, weight, priority}``),
    how to order them (``strategy``: ``priority`` (alias ``failover``), ``weighted``,
    ``round_robin``, ``least_latency``, ``cheapest``, ``least_busy``, or a callable),
    ``fallbacks`` tried in order after them, ``conditions`` choosing other targets by request
    features, and ``retry`` settings of its own."""

    targets: list[TargetSpec] = Field(min_length=1)
    strategy: str | Callable[..., Any] = "priority"
    fallbacks: list[TargetSpec] = Field(default_factory=list)
    conditions: list[ConditionConfig] = Field(default_factory=list)
    retry: RetryConfig | None = None


def _route(value: Any) -> Any:
    return {"targets": value} if isinstance(value, list) else value


# a list of targets is the short form of {targets = [...]}
RouteSpec = Annotated[RouteConfig, BeforeValidator(_route)]


class RouteCacheConfig(_Config):
    """Cache settings of one route (or direct model) under ``cache.routes``."""

    enabled: bool | None = None
    ttl: Seconds | None = None
    shared: bool = False  # one namespace for every tenant on this route: an explicit choice


class SemanticCacheConfig(_Config):
    """Semantic caching: a miss may be answered by an entry whose prompt is close enough.

    The prompt's text is embedded through this gateway's own ``model`` (a
    ``provider/model`` or route; the embedding call is priced and recorded like any
    other), and compared by cosine similarity with the prompts stored in the same
    namespace *and* with the same other fields (model, sampling, tools...). The index is
    held in this process (``max_entries`` per gateway).
    """

    model: str
    threshold: float = Field(0.95, gt=0, le=1)
    max_entries: int = Field(10_000, ge=1)


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
    semantic: SemanticCacheConfig | None = None


#: The kinds of ``"<kind>:<value>"`` scopes budgets and rate limits name (as aigate.budget).
SCOPE_KINDS = ("org", "project", "user", "key", "provider", "model", "meta")


def check_scope(scope: str) -> str:
    """``scope`` if it is ``"global"`` or ``"<kind>:<value>"`` with a known kind, else a
    ``ValueError`` saying what is expected (and the nearest kind)."""
    from ._suggest import did_you_mean

    if scope == "global":
        return scope
    kind, sep, value = scope.partition(":")
    if not sep or not value or kind not in SCOPE_KINDS:
        hint = did_you_mean(kind, (*SCOPE_KINDS, "global")) if kind else ""
        raise ValueError(
            f"unknown scope {scope!r}{hint}: expected 'global' or '<kind>:<value>' with kind "
            f"one of {', '.join(SCOPE_KINDS)} ('*' as the value: one limit per value)"
        )
    if kind == "meta" and not re.fullmatch(r"[^=]+=.+", value):
        raise ValueError(f"scope {scope!r}: a metadata scope is 'meta:<name>=<value>'")
    return scope


class RateLimitConfig(_Config):
    """A client-side rate limit on a scope (``"global"``, ``"project:acme"``, ``"user:*"``,
    ``"provider:openai"``, ...): requests and tokens per minute."""

    scope: str = "global"
    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        return check_scope(value)


class LimitTypes(BaseModel):
    """The types of a budget limit table's fields, checked strictly at config time (the
    limit itself is :class:`aigate.budget.Limit`, which checks the values). Fields this
    model does not name pass through to ``Limit``, which refuses the unknown ones."""

    model_config = ConfigDict(extra="allow", strict=True, defer_build=True)

    scope: str = "global"
    amount: Annotated[Decimal | int | float | str, Field(union_mode="left_to_right")]
    unit: str = "usd"
    window: str
    tz: str = "UTC"
    thresholds: list[float] | tuple[float, ...] = ()
    hard: bool = True
    fail_open: bool = False
    name: str | None = None

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected an amount (a number or a decimal string), got a bool")
        return value

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        return check_scope(value)


def _limit(value: Any) -> Any:
    if isinstance(value, Mapping):
        LimitTypes.model_validate(value)
    return value


# A budget limit stays a dict (aigate.budget.Limit.parse reads it); its types are checked here.
LimitSpec = Annotated[dict[str, Any], BeforeValidator(_limit)]


class BudgetConfig(_Config):
    """Budgets and client-side rate limits, enforced with reserve -> call -> settle.

    ``store``: ``memory://`` (one process), ``sqlite:///path`` (processes on one host),
    ``redis://`` or ``postgresql://`` (many hosts). ``limits`` are
    :class:`aigate.budget.Limit` tables: ``{scope, amount, unit, window, tz, thresholds,
    hard, fail_open}``. ``wait_s`` bounds how long a call waits for a rate limit (0: raise
    :class:`~aigate.RateLimited` at once). ``default_max_output`` is the output reserved for
    a model whose maximum output is unknown when the call sets no ``max_tokens``.
    """

    store: str = "memory://"
    limits: list[LimitSpec] = Field(default_factory=list)
    rate_limits: list[RateLimitConfig] = Field(default_factory=list)
    rate_store: str | None = None  # memory:// (default) or redis://
    ttl_s: Seconds = 600.0
    wait_s: float = Field(0.0, ge=0)
    default_max_output: int = Field(4096, ge=1)


class KeysConfig(_Config):
    """Virtual keys (``gk_...``) for tenants: where their hashes live, and the pepper.

    The pepper is a server-side secret read from the environment variable ``pepper_env``
    (never from a config file): only HMAC-SHA-256(pepper, secret) is stored.
    """

    store: str = "memory://"
    pepper_env: str = "AIGATE_KEY_PEPPER"


class GatewayConfig(_Config):
    """Everything a :class:`~aigate.Gateway` is built from."""

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    routes: dict[str, RouteSpec] = Field(default_factory=dict)
    timeout: Seconds | TimeoutConfig = Field(default_factory=TimeoutConfig)
    max_connections: int = Field(100, ge=1)
    max_keepalive_connections: int = Field(20, ge=0)
    #: The HTTP engine (aigate.drivers): None picks aiohttp for AsyncGateway (when
    #: installed) and httpx for Gateway, or the injected transport's/client's library.
    http: Literal["httpx", "httpx2", "aiohttp"] | None = None
    ledger: str | None = None
    ledger_errors: Literal["raise", "log"] = "log"
    #: Where the Responses API keeps stored conversations (``previous_response_id``): a
    #: store URL; None keeps them in the ledger's database (memory:// without a ledger).
    conversations: str | None = None
    cache: str | CacheConfig | None = None
    budget: BudgetConfig | None = None
    keys: str | KeysConfig | None = None
    prices: dict[str, dict[str, Any]] = Field(default_factory=dict)
    router: RouterConfig = Field(default_factory=RouterConfig)


def config_error(exc: ValidationError, prefix: str = "") -> ConfigurationError:
    """A :class:`ConfigurationError` naming the first bad field and what was expected.

    Plain words, no pydantic internals (``timeout.constrained-float: ...``): the union member
    tags are dropped, alternatives are merged ("seconds as a number or a table {...}"),
    unknown fields suggest the nearest known one. The offending *value* is never quoted (it
    may be a key); only its type is named.
    """
    problems: dict[str, list[tuple[str, bool]]] = {}
    got: dict[str, str] = {}
    unknown: list[str] = []
    raw: set[str] = set()  # a validator's own sentence, shown as it is
    for err in exc.errors(include_url=False, include_input=True):
        parts, parent, alternative = _clean_loc(err["loc"])
        loc = prefix + ".".join(parts) if parts else prefix.rstrip(".")
        if err["type"] == "extra_forbidden":
            known = list(parent.model_fields) if parent is not None else []
            hint = _suggest.did_you_mean(str(parts[-1]), known) if parts else ""
            problems.setdefault(loc, []).append((f"unknown field{hint}", False))
            unknown.append(loc)
            continue
        problems.setdefault(loc, []).append((_expected(err, parts), alternative))
        if err["type"] in ("value_error", "assertion_error"):
            raw.add(loc)
        elif err["type"] in _BOUNDS:
            value = err.get("input")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                got.setdefault(loc, repr(value))
        elif "input" in err and err["type"] not in ("missing", "too_short", "too_long"):
            got.setdefault(loc, _kind_of(err["input"]))
    # An alternative of a union that failed deeper down (timeout = {totl = 5}) is noise:
    # the deeper error says what is wrong.
    for loc in list(problems):
        if all(alt for _, alt in problems[loc]) and any(
            other.startswith(loc + ".") for other in problems
        ):
            del problems[loc]
    lines = []
    for loc, items in problems.items():
        texts = list(dict.fromkeys(text for text, _ in items))
        if texts[0].startswith(("unknown field", "required")) or loc in raw:
            lines.append(f"{loc}: {texts[0]}")
            continue
        text = " or ".join(_seconds(loc, t) for t in texts)
        lines.append(f"{loc}: expected {text}" + (f", got {got[loc]}" if loc in got else ""))
    first = next(iter(problems), None)
    return ConfigurationError("invalid configuration: " + "; ".join(lines[:5]), field=first)


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[list[str], type[BaseModel] | None, bool]:
    """(the user's path, the model holding its last part, whether a union member was
    chosen on the way) for a pydantic error location, walking GatewayConfig's types."""
    parts: list[str] = []
    current: Any = GatewayConfig
    parent: type[BaseModel] | None = None
    alternative = False
    for part in loc:
        members = _members(_unwrap(current)) if current is not None else []
        if len(members) > 1:  # pydantic names the union member it tried: skip that tag
            alternative = True
            current = _member_for(str(part), members)
            continue
        current = members[0] if members else None
        if isinstance(current, type) and issubclass(current, BaseModel):
            parent = current
            field = current.model_fields.get(str(part))
            parts.append(str(part))
            current = field.annotation if field is not None else None
            continue
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin in (list, tuple) and args:
            parts.append(str(part))
            current = _unwrap(args[0])
        elif origin is dict and len(args) == 2:
            parts.append(str(part))
            current = _unwrap(args[1])
        elif isinstance(part, str) and (part.startswith("function-") or "[" in part):
            continue  # a validator's tag
        else:
            parts.append(str(part))
            current = None
    return parts, parent, alternative


def _member_for(tag: str, members: list[Any]) -> Any:
    for member in members:
        if isinstance(member, type) and member.__name__ == tag:
            return member
    for member in members:
        name = getattr(typing.get_origin(member) or member, "__name__", "")
        if name and name.lower() in tag.lower():
            return member
    return None


_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _expected(err: Any, parts: list[str]) -> str:
    kind: str = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required"
    if kind.startswith("bool_"):
        return "true or false (not a string)"
    if kind.startswith(("float_", "decimal_")):
        return "a number"
    if kind.startswith("int_"):
        return "a whole number"
    if kind.startswith("string_"):
        return "a string"
    if kind in ("model_type", "model_attributes_type", "dataclass_type"):
        model = _model_named(err["loc"])
        if model is not None:
            return "a table {" + ", ".join(model.model_fields) + "}"
        return "a table"
    if kind.startswith("dict_") or kind == "mapping_type":
        return "a table"
    if kind.startswith(("list_", "tuple_")) or kind == "iterable_type":
        return "a list"
    if kind in _BOUNDS:
        sign, name = _BOUNDS[kind]
        return f"a number {sign} {_number(ctx.get(name))}"
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    if kind == "too_short":
        return f"at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} item(s)"
    if kind == "callable_type":
        return "a callable (in code)"
    if kind == "is_instance_of":
        return f"a {ctx.get('class', 'value of the right type')}"
    if kind in ("value_error", "assertion_error"):
        message = str(err["msg"])
        for lead in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(lead)
        return message
    return str(err["msg"]).replace("Input should be ", "")


def _model_named(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    tag = loc[-1] if loc else None
    models: list[type[BaseModel]] = [*_Config.__subclasses__(), LimitTypes]
    for model in models:
        if model.__name__ == tag:
            return model
    return None


def _seconds(loc: str, text: str) -> str:
    # durations are seconds as a number: say so (a "60s" string is the usual mistake)
    name = loc.rsplit(".", 1)[-1]
    if text.startswith("a number") and (name in ("timeout", "ttl") or name.endswith("_s")):
        bound = text[len("a number") :]
        return f"a number of seconds{bound}" if bound else "seconds as a number (e.g. 60)"
    return text


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if value is None:
        return "nothing (null)"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


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
        raise _syntax_error(path, exc) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} must hold a table/object at the top level")
    return data


def _syntax_error(path: Path, exc: Exception) -> ConfigurationError:
    """A config file that does not parse: its line (and column), never its text (a key may
    be on that line)."""
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "colno", None)
    message = getattr(exc, "msg", None) or str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    if found:  # tomllib puts the place in its message
        line, column = int(found.group(1)), int(found.group(2))
        message = str(exc)[: found.start()].strip()
    elif re.search(r"\(at end of document\)", str(exc)):
        message = str(exc).replace("(at end of document)", "").strip()
        line = "the end"
    kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
    where = f", line {line}" if line is not None else ""
    where += f", column {column}" if column is not None and line != "the end" else ""
    return ConfigurationError(f"cannot parse {path}{where}: {kind} syntax error: {message}")
