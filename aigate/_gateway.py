"""``Gateway`` and ``AsyncGateway``: configuration once, OpenAI-shaped resources, two drivers.

All the logic lives in :class:`GatewayCore` and the flow generators in :mod:`aigate._flow`;
the two gateway classes differ only in how they perform effects (a blocking driver and
``time.sleep`` versus an asyncio driver and ``asyncio.sleep``; drivers are in
:mod:`aigate.drivers`, one per HTTP engine).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from . import drivers
from ._admission import Admission
from ._caching import CacheLayer, check_config, parse_option
from ._effects import Call, Close, Effect, Flight, Flow, Read, Send, Sleep
from ._exceptions import AigateError, ConfigurationError, InvalidRequestError
from ._flow import CallContext, accept_chat, accept_stream
from ._models import (
    CreateEmbeddingResponse,
    GatewayInfo,
    Transcription,
    Usage,
)
from ._recording import ledger_record, observe_end, observe_failure, observe_start
from ._resources import (
    AsyncAudio,
    AsyncChat,
    AsyncEmbeddings,
    AsyncStream,
    AsyncUsageReports,
    Audio,
    Chat,
    Embeddings,
    KeyedView,
    Models,
    Stream,
    UsageReports,
)
from ._validate import chat_call, embeddings_call, transcription_call
from ._wire import Request, Response, Timeout
from .config import GatewayConfig, ProviderConfig, TimeoutConfig, load_config
from .providers import KINDS, ApiKey, ProviderRuntime, Target, make_codec
from .providers._errors import parse_rate_limit
from .routing import Health, Router, attempts

if TYPE_CHECKING:
    from .drivers._types import AsyncClient, AsyncTransport, SyncClient, SyncTransport
    from .providers._base import ChatCall, EmbeddingsCall
    from .realtime import Realtime

__all__ = ["AsyncGateway", "AsyncStream", "Gateway", "GatewayCore", "Stream"]

logger = logging.getLogger("aigate")
T = TypeVar("T")
_MAX_TARGET_CACHE = 4096


def _timeout(value: float | TimeoutConfig | None, default: Timeout) -> Timeout:
    if value is None:
        return default
    if isinstance(value, (int, float)):
        seconds = float(value)
        return Timeout(connect=min(5.0, seconds), read=seconds, write=seconds, pool=seconds)
    return Timeout(
        connect=value.connect,
        read=value.read or value.total,
        write=value.write or value.total,
        pool=value.pool or value.total,
    )


def _keys(name: str, config: ProviderConfig, kind: str) -> tuple[ApiKey, ...]:
    sources: list[Any] = list(config.api_keys)
    if config.api_key is not None:
        sources.insert(0, config.api_key)
    if not sources:
        names = (config.api_key_env,) if config.api_key_env else KINDS[kind].key_env
        for env in names:
            value = os.environ.get(env)
            if value:
                sources.append(value)
                break
    keys = []
    for i, source in enumerate(sources):
        if isinstance(source, SecretStr):
            source = source.get_secret_value()
        if isinstance(source, str) and not source.strip():
            raise ConfigurationError(
                f"providers.{name}.api_keys.{i}: empty key", field=f"providers.{name}.api_keys.{i}"
            )
        keys.append(ApiKey(source))
    if not keys and KINDS[kind].needs_key and config.base_url is None:
        env = config.api_key_env or " or ".join(KINDS[kind].key_env)
        raise ConfigurationError(
            f"providers.{name}: no API key; set api_keys in the config or the {env} "
            "environment variable",
            field=f"providers.{name}.api_keys",
        )
    return tuple(keys)


class GatewayCore:
    """The pure part of a gateway: resolved providers and routes, pricing, recording."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        default_timeout = _timeout(
            config.timeout, Timeout(connect=5.0, read=600.0, write=600.0, pool=600.0)
        )
        self.providers: dict[str, ProviderRuntime] = {}
        for name, pc in config.providers.items():
            kind = pc.kind or name
            if kind not in KINDS:
                raise ConfigurationError(
                    f"providers.{name}.kind: unknown kind {kind!r}; expected one of "
                    f"{sorted(KINDS)} (set kind explicitly for a custom provider name)",
                    field=f"providers.{name}.kind",
                )
            base_url = (pc.base_url or KINDS[kind].base_url).rstrip("/")
            if kind == "fake" and pc.base_url is None:
                # one host per fake provider, so each can have its own scripted transport
                host = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
                base_url = f"http://{host or 'fake'}.fake.aigate.invalid/v1"
            if not base_url.startswith(("http://", "https://")):
                raise ConfigurationError(
                    f"providers.{name}.base_url: expected an http(s) URL",
                    field=f"providers.{name}.base_url",
                )
            self.providers[name] = ProviderRuntime(
                name=name,
                kind=kind,
                base_url=base_url,
                codec=make_codec(kind),
                keys=_keys(name, pc, kind),
                headers=dict(pc.headers),
                timeout=_timeout(pc.timeout, default_timeout),
                options=dict(pc.options),
            )
        self._targets: dict[str, tuple[Target, ...]] = {}
        self._prices: dict[tuple[str, str], Any] = {}
        self._unpriced_warned: set[tuple[str, str]] = set()
        self._catalog: Any = None
        self._catalog_lock = threading.Lock()
        # Routes are built once: targets with their catalog facts, strategies, rules, key
        # pools; each is a Plan (a tuple of targets carrying its routing.Route).
        self.router = Router(config.router)
        self.router.add_providers(self.providers)
        self.routes: dict[str, tuple[Target, ...]] = {}
        for alias, route in config.routes.items():
            self.routes[alias] = self.router.add_route(
                alias,
                route,
                lambda spec, field: self._direct(spec, field, ConfigurationError),
                self.catalog_entry,
            )
        self.cache: CacheLayer | None = None
        if config.cache is not None:
            self.cache = CacheLayer(check_config(config.cache), self)
        if config.prices or any(pc.prices for pc in config.providers.values()):
            try:  # price overrides are checked now, not on the first call that needs them
                self.catalog  # noqa: B018
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(f"prices: {exc}", field="prices") from None
        self.observer: Any = None  # an aigate.observe.Observer, set by the gateway
        self.keys: Any = None
        if config.keys is not None:
            from .config import KeysConfig
            from .tenancy import open_key_store

            keys = KeysConfig(store=config.keys) if isinstance(config.keys, str) else config.keys
            self.keys = open_key_store(
                keys.store, pepper=os.environ.get(keys.pepper_env), field="keys.store"
            )
        self.admission: Admission | None = None
        if config.budget is not None:
            self.admission = Admission(config.budget, self)
        self.ledger: Any = None
        if config.ledger:
            from .ledger import SafeLedger, open_ledger

            self.ledger = SafeLedger(open_ledger(config.ledger), on_error=config.ledger_errors)

    # -- models and routes -------------------------------------------------------------------

    def _direct(self, spec: str, field: str, error: type[AigateError]) -> Target:
        provider_name, sep, model = spec.partition("/")
        provider = self.providers.get(provider_name)
        if not sep or not model or provider is None:
            raise self._unknown(spec, field, error)
        return Target(provider, model)

    def _unknown(self, spec: object, field: str, error: type[AigateError]) -> AigateError:
        message = (
            f"{field}: unknown model {spec!r}; expected '<provider>/<model>' with a provider in "
            f"{sorted(self.providers)} or a route in {sorted(self.routes)}"
        )
        if error is ConfigurationError:
            return ConfigurationError(message, field=field)
        return InvalidRequestError(message, field=field, expected="'<provider>/<model>' or a route")

    def resolve(self, model: object) -> tuple[str | None, tuple[Target, ...]]:
        """The route name (or None for a direct model) and its targets in order."""
        if not isinstance(model, str):
            raise InvalidRequestError(
                f"model: expected a string, got {type(model).__name__}",
                field="model",
                expected="'<provider>/<model>' or a route",
            )
        route = self.routes.get(model)
        if route is not None:
            return model, route
        targets = self._targets.get(model)
        if targets is None:
            targets = self.router.direct(self._direct(model, "model", InvalidRequestError))
            if len(self._targets) < _MAX_TARGET_CACHE:
                self._targets[model] = targets
        return None, targets

    def context(
        self, kind: str, model: object, params: Mapping[str, Any], stream: bool = False
    ) -> CallContext:
        route, targets = self.resolve(model)
        metadata = params.get("metadata") or {}
        return CallContext(
            kind=kind,
            targets=targets,
            route=route,
            metadata=dict(metadata),
            user=params.get("user"),
            stream=stream,
        )

    # -- flows -------------------------------------------------------------------------------

    def chat_flow(self, kwargs: dict[str, Any]) -> Flow[Any]:
        model = kwargs.pop("model", None)
        messages = kwargs.pop("messages", None)
        stream = kwargs.pop("stream", False)
        option = parse_option(kwargs.pop("cache", None))
        api_key = kwargs.pop("api_key", None)
        call = chat_call(messages, stream, kwargs)
        ctx = self.context("chat", model, call.params, stream=call.stream)
        if api_key is not None:
            return self.keyed(api_key, ctx, lambda: self._chat(ctx, call, option, model))
        return self._chat(ctx, call, option, model)

    def _chat(self, ctx: CallContext, call: ChatCall, option: Any, model: object) -> Flow[Any]:
        decision = None
        if self.cache is not None:
            decision = self.cache.decide(ctx, option, _cache_request(model, call))

        def build(target: Target, key: str | None) -> Request:
            return target.provider.codec.chat_request(call, target, key)

        if call.stream:
            accept = accept_stream(
                self, ctx, call, decision if decision and decision.write else None
            )
            upstream = attempts(ctx, build, accept, stream=True, call=call)
        else:
            upstream = attempts(ctx, build, accept_chat(self, ctx, call), call=call)
        if self.admission is not None:
            upstream = self.admitted(ctx, upstream, call.messages, call.params, call=call)
        if decision is not None:
            assert self.cache is not None
            upstream = self.cache.chat(ctx, call, decision, upstream)
        return self.recorded(ctx, upstream)

    def embeddings_flow(self, kwargs: dict[str, Any]) -> Flow[CreateEmbeddingResponse]:
        model = kwargs.pop("model", None)
        option = parse_option(kwargs.pop("cache", None))
        api_key = kwargs.pop("api_key", None)
        tags = _tags(kwargs.pop("metadata", None))  # aigate's ledger tags: never sent
        call = embeddings_call(kwargs.pop("input", None), kwargs)
        ctx = self.context("embedding", model, {**call.params, "metadata": tags})
        if api_key is not None:
            return self.keyed(api_key, ctx, lambda: self._embeddings(ctx, call, option))
        return self._embeddings(ctx, call, option)

    def _embeddings(
        self, ctx: CallContext, call: EmbeddingsCall, option: Any
    ) -> Flow[CreateEmbeddingResponse]:

        def upstream(call: EmbeddingsCall) -> Flow[CreateEmbeddingResponse]:
            def build(target: Target, key: str | None) -> Request:
                return target.provider.codec.embeddings_request(call, target, key)

            def accept(
                target: Target, key: ApiKey | None, response: Response, started: float
            ) -> Flow[CreateEmbeddingResponse]:
                result = target.provider.codec.embeddings_response(response.content, target)
                usage = Usage(
                    prompt_tokens=result.usage.prompt_tokens,
                    total_tokens=result.usage.total_tokens,
                )
                result.gateway = self.info(ctx, target, key, response, usage, ttft_ms=None)
                return result
                yield  # a flow with no effects of its own

            flow = attempts(ctx, build, accept, call=call)
            if self.admission is not None:
                prompt = _embedding_tokens(call.input)
                flow = self.admitted(ctx, flow, None, call.params, prompt_tokens=prompt)
            return flow

        decision = None
        if self.cache is not None:
            decision = self.cache.decide(ctx, option, {}, kind="embedding")
        if decision is None:
            return self.recorded(ctx, upstream(call))
        return self.recorded(ctx, self.cache.embeddings(ctx, call, decision, upstream))  # type: ignore[union-attr]

    def keyed(self, secret: object, ctx: CallContext, make: Callable[[], Flow[T]]) -> Flow[T]:
        """Run the call ``make()`` builds as the virtual key ``secret``: verified (revoked,
        expired and unknown keys are refused, the secret never echoed), scoped to the key's
        org/project/user (the key's scope wins over metadata), limited to its models,
        and charged to its budgets and rate limit and its tenants' quotas."""
        if self.keys is None:
            raise ConfigurationError(
                "api_key: this gateway has no key store; set keys = 'sqlite:///keys.db' "
                "(or memory://, postgresql://) in its config",
                field="keys",
            )
        if not isinstance(secret, str):
            raise InvalidRequestError(
                "api_key: expected a virtual key string (gk_...)", field="api_key"
            )
        key = yield Call(self.keys.verify, self.keys.averify, (secret,))
        if isinstance(key, BaseException):
            raise key
        for target in ctx.targets:
            key.require_model(target.model, target.provider.name)
        scope = key.scope()
        ctx.virtual_key = key.id
        for name in ("org", "project"):
            if name in scope:
                ctx.metadata[name] = scope[name]
        if "user" in scope:
            ctx.user = scope["user"]
        tenant_limits = yield Call(self.keys.limits_for, self.keys.alimits_for, (scope,))
        if isinstance(tenant_limits, BaseException):
            raise tenant_limits
        ctx.limits = (*key.limits, *tenant_limits)
        if key.rate_limit is not None:
            rate = key.rate_limit
            ctx.rate_limits = ((f"key:{key.id}", rate.rpm, rate.tpm),)
        if (ctx.limits or ctx.rate_limits) and self.admission is None:
            raise ConfigurationError(
                f"virtual key {key.id} has budgets or rate limits but the gateway has no "
                "budget store; set budget = {{store = ...}} in its config",
                field="budget",
            )
        return (yield from make())

    def transcription_flow(self, kwargs: dict[str, Any]) -> Flow[Transcription]:
        model = kwargs.pop("model", None)
        tags = _tags(kwargs.pop("metadata", None))  # aigate's ledger tags: never sent
        call = transcription_call(kwargs.pop("file", None), kwargs)
        ctx = self.context("transcription", model, {"metadata": tags})

        def build(target: Target, key: str | None) -> Request:
            return target.provider.codec.transcription_request(call, target, key)

        def accept(
            target: Target, key: ApiKey | None, response: Response, started: float
        ) -> Flow[Transcription]:
            result = target.provider.codec.transcription_response(
                response, response.content, target
            )
            result.gateway = self.info(ctx, target, key, response, None, ttft_ms=None)
            seconds = (result.model_extra or {}).get("duration")
            if isinstance(seconds, (int, float)):
                result.gateway.cost_usd = self.transcription_cost(target, seconds)
            return result
            yield  # a flow with no effects of its own

        return self.recorded(ctx, attempts(ctx, build, accept, call=call))

    # -- pricing and recording ---------------------------------------------------------------

    def catalog_entry(self, target: Target) -> Any:
        """The catalog's entry for a target (its provider name first, then its kind)."""
        key = (target.provider.name, target.model)
        if key in self._prices:
            return self._prices[key]
        catalog = self.catalog
        entry = catalog.get(target.provider.name, target.model)
        if entry is None and target.provider.name != target.provider.kind:
            entry = catalog.get(target.provider.kind, target.model)
        self._prices[key] = entry
        return entry

    @property
    def catalog(self) -> Any:
        """The model catalog with this gateway's price overrides applied."""
        if self._catalog is None:
            from .pricing import Catalog

            catalog = Catalog.default()
            overrides = dict(self.config.prices)
            for name, pc in self.config.providers.items():
                for model, entry in pc.prices.items():
                    overrides[f"{name}/{model}"] = entry
            if overrides:
                catalog = catalog.with_overrides(overrides)
            with self._catalog_lock:
                self._catalog = catalog
        return self._catalog

    def cost(self, target: Target, usage: Usage | None) -> Decimal | None:
        """Exact cost of ``usage`` on ``target``: the provider's own reported cost when it
        sends one (OpenRouter), else the catalog price; None when unknown (never 0)."""
        if usage is None:
            return None
        from .pricing import cost, reported_cost

        reported = reported_cost(usage)
        if reported is not None:
            return reported
        entry = self.catalog_entry(target)
        value = cost(usage, entry.price) if entry is not None else None
        if value is None:
            key = (target.provider.name, target.model)
            if key not in self._unpriced_warned:
                self._unpriced_warned.add(key)
                logger.warning(
                    "no price known for %s; cost_usd is None (add it under prices)",
                    target.name,
                    extra={"aigate_provider": target.provider.name, "aigate_model": target.model},
                )
        return value

    def transcription_cost(self, target: Target, seconds: float) -> Decimal | None:
        from .pricing import transcription_cost

        entry = self.catalog_entry(target)
        return transcription_cost(seconds, entry.price) if entry is not None else None

    def estimate_usage(self, target: Target, call: ChatCall, text: str) -> Usage:
        """Usage counted locally, for a stream whose provider sent none."""
        from .tokens import count_text, estimate_prompt_tokens

        kind, model = target.provider.kind, target.model
        prompt = estimate_prompt_tokens(
            call.messages, provider=kind, model=model, tools=call.params.get("tools")
        )
        completion = count_text(text, provider=kind, model=model).tokens
        return Usage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        )

    def info(
        self,
        ctx: CallContext,
        target: Target,
        key: ApiKey | None,
        response: Response,
        usage: Usage | None,
        ttft_ms: float | None,
    ) -> GatewayInfo:
        headers = response.headers
        return GatewayInfo(
            provider=target.provider.name,
            model=target.model,
            route=ctx.route,
            cost_usd=self.cost(target, usage),
            attempts=ctx.attempts,
            latency_ms=(time.perf_counter() - ctx.started) * 1000.0,
            ttft_ms=ttft_ms,
            key_id=key.id if key is not None else None,
            request_id=headers.get(target.provider.codec.request_id_header),
            rate_limit=parse_rate_limit(headers) if len(headers) > 4 else None,
            call_id=ctx.request_id,
        )

    def record(
        self,
        ctx: CallContext,
        info: GatewayInfo,
        usage: Usage | None,
        call: ChatCall | None,
        error: BaseException | None = None,
        result: Any = None,
    ) -> Flow[None]:
        """A call's end: tell the observer, and write the ledger record (when a ledger is
        configured), committed before the call returns. ``result`` (a completion) gives
        the observer its finish reasons and response model."""
        if ctx.reservation is not None and self.admission is not None:
            target = f"{info.provider}/{info.model}"
            yield from self.admission.settle(ctx, ctx.reservation, info.cost_usd, usage, target)
        if self.observer is not None:
            observe_end(self.observer, ctx, info, usage, error, result)
        if self.ledger is None:
            return
        record = ledger_record(ctx, info.provider, info.model, info, usage, error)
        result = yield Call(self.ledger.record, self.ledger.arecord, (record,))
        if isinstance(result, BaseException):
            raise result

    def admitted(
        self,
        ctx: CallContext,
        flow: Flow[T],
        messages: Any,
        params: Mapping[str, Any],
        prompt_tokens: int | None = None,
        call: Any = None,
    ) -> Flow[T]:
        """``flow`` behind the budgets and rate limits: reserve first, and release the
        reservation if the call fails (a success settles when it is recorded). ``call``
        (a chat call) lets admission read its ``extra_body`` and clamp its ``max_tokens``."""
        assert self.admission is not None
        ctx.reservation = yield from self.admission.admit(
            ctx, messages, params, prompt_tokens, call
        )
        try:
            return (yield from flow)
        except Exception:
            yield from self.admission.settle(ctx, ctx.reservation, None, None, None)
            raise

    def recorded(self, ctx: CallContext, flow: Flow[T]) -> Flow[T]:
        """Run ``flow`` and record its end: after success (every attempt is known by then;
        a stream records when it ends) or after a failure that reached a provider."""
        if self.observer is not None:
            observe_start(self.observer, ctx)
        try:
            result = yield from flow
        except AigateError as exc:
            if self.observer is not None:
                observe_failure(self.observer, ctx, exc)
            if self.ledger is not None and ctx.attempts:
                last = ctx.attempts[-1]
                record = ledger_record(ctx, last.provider, last.model, None, None, exc)
                yield Call(self.ledger.record, self.ledger.arecord, (record,))
            raise
        info = getattr(result, "gateway", None)
        if info is not None:
            usage = getattr(result, "usage", None)
            if usage is not None and not isinstance(usage, Usage):  # embeddings
                usage = Usage(prompt_tokens=usage.prompt_tokens, total_tokens=usage.total_tokens)
            yield from self.record(ctx, info, usage, None, result=result)
        return result


def _tags(metadata: object) -> dict[str, str]:
    """``metadata=`` of an embeddings or transcription call: ledger tags, checked."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise InvalidRequestError(
            "metadata: expected a dict of strings to strings",
            field="metadata",
            expected="a dict of strings to strings",
        )
    return dict(metadata)


def _embedding_tokens(inputs: Any) -> int:
    """Tokens of an embeddings input, counted with o200k (an upper bound for admission)."""
    from .tokens import count_text

    items = [inputs] if isinstance(inputs, str) else list(inputs)
    total = 0
    for item in items:
        if isinstance(item, str):
            total += count_text(item, provider="openai", model="text-embedding-3-small").tokens
        elif isinstance(item, int):
            total += 1
        else:
            total += len(item)
    return total


def _cache_request(model: object, call: ChatCall) -> dict[str, Any]:
    """What a chat cache key is computed from: everything that can change the answer."""
    request: dict[str, Any] = {"model": model, "messages": call.messages, **call.params}
    if call.extra_body:
        request["extra_body"] = dict(call.extra_body)
    if call.extra_headers:
        request["extra_headers"] = dict(call.extra_headers)
    return request


# -- drivers -------------------------------------------------------------------------------


def _fake_mounts(core: GatewayCore) -> dict[str, Any] | None:
    """Route each ``fake`` provider's host to an in-process :class:`~aigate.testing.FakeTransport`
    (its ``options.transport`` when given), so it answers without a socket."""
    fakes = [p for p in core.providers.values() if p.kind == "fake"]
    if not fakes:
        return None
    from .testing import FakeTransport

    mounts: dict[str, Any] = {}
    for provider in fakes:
        scheme, _, rest = provider.base_url.partition("://")
        origin = f"{scheme}://{rest.partition('/')[0]}"
        mounts[origin] = provider.options.get("transport") or FakeTransport()
    return mounts


def _injected(transport: object, http_client: object) -> object:
    return http_client if http_client is not None else transport


def _driver_settings(core: GatewayCore, transport: object, http_client: object) -> dict[str, Any]:
    config = core.config
    return {
        "transport": transport,
        "http_client": http_client,
        "mounts": _fake_mounts(core),
        "max_connections": config.max_connections,
        "max_keepalive_connections": config.max_keepalive_connections,
    }


class _BaseGateway:
    def __init__(
        self,
        config: GatewayConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        hooks: Any = None,
        observer: Any = None,
        tracing: bool = False,
        **settings: Any,
    ) -> None:
        if config is None:
            config = settings
        elif settings:
            base = load_config(config).model_dump(exclude_unset=True)
            config = {**base, **settings}
        self._core = GatewayCore(load_config(config))
        if observer is None and (hooks is not None or tracing):
            from .observe import Observer

            observer = Observer(hooks, tracing=tracing)
        self._core.observer = observer

    @property
    def config(self) -> GatewayConfig:
        return self._core.config

    @property
    def providers(self) -> Mapping[str, ProviderRuntime]:
        return self._core.providers

    @property
    def routes(self) -> Mapping[str, tuple[Target, ...]]:
        return self._core.routes

    def health(self) -> Health:
        """Each target's and key's circuit breaker (closed, open, half-open, dead) with what
        this process observed: latency, time to first token, calls in flight, key uses."""
        return self._core.router.health()

    def for_key(self, secret: str) -> Any:
        """A view of this gateway whose calls run as the virtual key ``secret`` (the same as
        passing ``api_key=secret`` to every call)."""
        return KeyedView(self, secret)

    @classmethod
    def from_file(cls: type[T], path: str | os.PathLike[str], **kwargs: Any) -> T:
        """A gateway from a ``.toml`` or ``.json`` file (same schema as the keywords)."""
        return cls(load_config(path), **kwargs)  # type: ignore[call-arg]

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any], **kwargs: Any) -> T:
        return cls(load_config(data), **kwargs)  # type: ignore[call-arg]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(providers={sorted(self._core.providers)}, "
            f"routes={sorted(self._core.routes)})"
        )


class Gateway(_BaseGateway):
    """The synchronous gateway. Call it like ``openai.OpenAI``::

        gw = aigate.Gateway(providers={"openai": {}}, routes={"fast": ["openai/gpt-4o-mini"]})
        r = gw.chat.completions.create(model="fast", messages=[{"role": "user", "content": "Hi"}])
        r.choices[0].message.content, r.gateway.cost_usd

    ``http="httpx"`` (the default) or ``"httpx2"`` picks the HTTP engine; ``transport`` or
    ``http_client`` inject an httpx or httpx2 transport/client (tests: MockTransport,
    respx, :class:`aigate.testing.FakeTransport`), which selects its library's engine;
    otherwise the gateway owns one pooled client, closed by :meth:`close`.
    """

    def __init__(
        self,
        config: GatewayConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        transport: SyncTransport | None = None,
        http_client: SyncClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **settings: Any,
    ) -> None:
        super().__init__(config, **settings)
        engine = drivers.choose(
            self.config.http, _injected(transport, http_client), asynchronous=False
        )
        self._driver: drivers.SyncDriver = drivers.sync_driver(
            engine, **_driver_settings(self._core, transport, http_client)
        )
        self._sleep = sleep
        self._flights = _single_flight(asynchronous=False)
        self.chat = Chat(self)
        self.embeddings = Embeddings(self)
        self.audio = Audio(self)
        self.models = Models(self._core)
        self.usage = UsageReports(self._core)
        from .surfaces import Messages, Responses

        self.responses = Responses(self)
        self.messages = Messages(self)
        self.keys = self._core.keys

    @property
    def http_engine(self) -> str:
        """The HTTP engine this gateway sends with: "httpx" or "httpx2"."""
        return self._driver.engine

    def _perform(self, effect: Effect) -> Any:
        try:
            if isinstance(effect, Send):
                return self._driver.send(effect.request)
            if isinstance(effect, Read):
                if effect.whole:
                    return b"".join(effect.handle.iterator)
                return next(effect.handle.iterator, b"")
            if isinstance(effect, Close):
                effect.handle.response.close()
                return None
            if isinstance(effect, Sleep):
                self._sleep(effect.seconds)
                return None
            if isinstance(effect, Flight):
                flow = effect.flow
                return self._flights.do(effect.key, lambda: self._run(flow), effect.timeout)
            return effect.sync(*effect.args, **effect.kwargs)
        except Exception as exc:  # handed to the flow, which decides what it means
            return exc

    def _run(self, flow: Flow[T]) -> T:
        perform = self._perform
        value: Any = None
        try:
            while True:
                value = perform(flow.send(value))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def transport(self, *, default_provider: str | None = None) -> Any:
        """An httpx / httpx2 transport answered by this gateway (docs/sdk.md)."""
        from .sdk import transport

        return transport(self, default_provider=default_provider)

    def async_transport(self, *, default_provider: str | None = None) -> Any:
        """An async httpx / httpx2 transport answered by this gateway (docs/sdk.md)."""
        from .sdk import async_transport

        return async_transport(self, default_provider=default_provider)

    def openai_client(self, **kwargs: Any) -> Any:
        """A real ``openai.OpenAI`` whose calls go through this gateway."""
        from .sdk import openai_client

        return openai_client(self, **kwargs)

    def async_openai_client(self, **kwargs: Any) -> Any:
        """A real ``openai.AsyncOpenAI`` whose calls go through this gateway."""
        from .sdk import async_openai_client

        return async_openai_client(self, **kwargs)

    def anthropic_client(self, **kwargs: Any) -> Any:
        """A real ``anthropic.Anthropic`` whose calls go through this gateway."""
        from .sdk import anthropic_client

        return anthropic_client(self, **kwargs)

    def async_anthropic_client(self, **kwargs: Any) -> Any:
        """A real ``anthropic.AsyncAnthropic`` whose calls go through this gateway."""
        from .sdk import async_anthropic_client

        return async_anthropic_client(self, **kwargs)

    def close(self) -> None:
        """Close the HTTP client (if the gateway made it) and the state stores."""
        self.responses.conversations.close()
        self._driver.close()
        if self._core.ledger is not None:
            self._core.ledger.close()
        if self._core.cache is not None:
            self._core.cache.close()
        if self._core.admission is not None:
            self._core.admission.close()
        if self._core.keys is not None:
            self._core.keys.close()
        self._core.router.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _single_flight(asynchronous: bool) -> Any:
    from .cache import AsyncSingleFlight, SingleFlight

    return AsyncSingleFlight() if asynchronous else SingleFlight()


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio  # lazily: asyncio costs milliseconds of import time sync users never need

    await asyncio.sleep(seconds)


class AsyncGateway(_BaseGateway):
    """The asyncio gateway: the same resources as :class:`Gateway`, awaited.

    Nothing blocks the event loop: HTTP goes through an asyncio engine (``http="aiohttp"``,
    the default when installed, ``"httpx"`` or ``"httpx2"``; an injected transport or
    client selects its library's) and state stores through their async methods.
    """

    def __init__(
        self,
        config: GatewayConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        transport: AsyncTransport | None = None,
        http_client: AsyncClient | None = None,
        sleep: Callable[[float], Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(config, **settings)
        engine = drivers.choose(
            self.config.http, _injected(transport, http_client), asynchronous=True
        )
        self._driver: drivers.AsyncDriver = drivers.async_driver(
            engine, **_driver_settings(self._core, transport, http_client)
        )
        self._sleep = sleep or _asyncio_sleep
        self._flights = _single_flight(asynchronous=True)
        self.chat = AsyncChat(self)
        self.embeddings = AsyncEmbeddings(self)
        self.audio = AsyncAudio(self)
        self.models = Models(self._core)
        self.usage = AsyncUsageReports(self._core)
        from .surfaces import AsyncMessages, AsyncResponses

        self.responses = AsyncResponses(self)
        self.messages = AsyncMessages(self)
        self.keys = self._core.keys
        self._realtime: Realtime | None = None

    @property
    def realtime(self) -> Realtime:
        """Realtime (websocket) sessions: ``async with agw.realtime.connect(model=...)``."""
        from .realtime import Realtime

        if self._realtime is None:
            self._realtime = Realtime(self)
        return self._realtime

    @property
    def http_engine(self) -> str:
        """The HTTP engine this gateway sends with: "aiohttp", "httpx" or "httpx2"."""
        return self._driver.engine

    async def _perform(self, effect: Effect) -> Any:
        try:
            if isinstance(effect, Send):
                return await self._driver.send(effect.request)
            if isinstance(effect, Read):
                if effect.whole:
                    return b"".join([part async for part in effect.handle.iterator])
                return await anext(effect.handle.iterator, b"")
            if isinstance(effect, Close):
                await effect.handle.response.aclose()
                return None
            if isinstance(effect, Sleep):
                await self._sleep(effect.seconds)
                return None
            if isinstance(effect, Flight):
                flow = effect.flow
                return await self._flights.do(effect.key, lambda: self._run(flow), effect.timeout)
            return await effect.async_(*effect.args, **effect.kwargs)
        except Exception as exc:  # handed to the flow, which decides what it means
            return exc

    async def _run(self, flow: Flow[T]) -> T:
        perform = self._perform
        value: Any = None
        try:
            while True:
                value = await perform(flow.send(value))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def async_transport(self, *, default_provider: str | None = None) -> Any:
        """An async httpx / httpx2 transport answered by this gateway (docs/sdk.md)."""
        from .sdk import async_transport

        return async_transport(self, default_provider=default_provider)

    def async_openai_client(self, **kwargs: Any) -> Any:
        """A real ``openai.AsyncOpenAI`` whose calls go through this gateway."""
        from .sdk import async_openai_client

        return async_openai_client(self, **kwargs)

    def async_anthropic_client(self, **kwargs: Any) -> Any:
        """A real ``anthropic.AsyncAnthropic`` whose calls go through this gateway."""
        from .sdk import async_anthropic_client

        return async_anthropic_client(self, **kwargs)

    async def aclose(self) -> None:
        """Close the HTTP client (if the gateway made it) and the state stores."""
        await self.responses.conversations.aclose()
        await self._driver.aclose()
        if self._core.ledger is not None:
            await self._core.ledger.aclose()
        if self._core.cache is not None:
            await self._core.cache.aclose()
        if self._core.admission is not None:
            await self._core.admission.aclose()
        if self._core.keys is not None:
            await self._core.keys.aclose()
        await self._core.router.aclose()

    async def __aenter__(self) -> AsyncGateway:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
