"""The gateway's core: resolved providers and routes, model facts, pricing, and the flow of
each call kind built from the steps (admission, caching, attempts, recording).

:class:`GatewayCore` performs nothing: it builds flows (generators of effects) that
:class:`~aigate.Gateway` and :class:`~aigate.AsyncGateway` drive. It satisfies
:class:`aigate._context.Core`, which is all the steps see of it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from ._admission import Admission
from ._attempts import attempts
from ._caching import CacheLayer, check_config, parse_option
from ._effects import Call, Flow
from ._exceptions import AigateError, ConfigurationError, InvalidRequestError
from ._flow import CallContext, accept_chat, accept_stream
from ._models import (
    CreateEmbeddingResponse,
    EmbeddingUsage,
    GatewayInfo,
    Transcription,
    TranscriptionUsage,
    Usage,
)
from ._recording import ledger_record, observe_end, observe_failure, observe_start
from ._validate import (
    chat_call,
    check_embeddings,
    embeddings_call,
    embeddings_count,
    transcription_call,
)
from ._wire import Request, Response, Timeout
from .config import GatewayConfig, ProviderConfig, TimeoutConfig
from .providers import KINDS, ApiKey, ProviderRuntime, Target, make_codec
from .providers._errors import parse_rate_limit
from .routing import Router

if TYPE_CHECKING:
    from .ledger import SafeLedger
    from .observe import Observer
    from .pricing import Catalog
    from .providers._base import ChatCall, EmbeddingsCall
    from .tenancy import SQLKeyStore

__all__ = ["GatewayCore"]

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
                from ._suggest import unknown_kind_message

                raise ConfigurationError(
                    unknown_kind_message(name, kind, pc.kind is not None, KINDS),
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
        self._catalog: Catalog | None = None
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
        self.observer: Observer | None = None  # set by the gateway
        self.keys: SQLKeyStore | None = None
        if config.keys is not None:
            from .config import KeysConfig
            from .tenancy import open_key_store

            keys = KeysConfig(store=config.keys) if isinstance(config.keys, str) else config.keys
            self.keys = open_key_store(
                keys.store, pepper=os.environ.get(keys.pepper_env), field="keys.store"
            )
        self.admission: Admission | None = None
        if config.budget is not None:
            rate_store = config.budget.rate_store
            if rate_store and rate_store.startswith(("redis://", "rediss://")):
                from ._urls import require_package

                require_package("redis", field="budget.rate_store", url=rate_store)
            self.admission = Admission(config.budget, self)
        self.ledger: SafeLedger | None = None
        if config.ledger:
            from .ledger import SafeLedger, open_ledger

            self.ledger = SafeLedger(open_ledger(config.ledger), on_error=config.ledger_errors)
            if self.admission is not None:
                self.admission.join(self.ledger)

    # -- models and routes -------------------------------------------------------------------

    def _direct(self, spec: str, field: str, error: type[AigateError]) -> Target:
        provider_name, sep, model = spec.partition("/")
        provider = self.providers.get(provider_name)
        if not sep or not model or provider is None:
            raise self._unknown(spec, field, error)
        return Target(provider, model)

    def _unknown(self, spec: object, field: str, error: type[AigateError]) -> AigateError:
        message = (
            f"{field}: unknown model {spec!r}{self._model_hint(spec)}; expected "
            f"'<provider>/<model>' with a provider in {sorted(self.providers)} or a route in "
            f"{sorted(self.routes)}"
        )
        if error is ConfigurationError:
            return ConfigurationError(message, field=field)
        return InvalidRequestError(message, field=field, expected="'<provider>/<model>' or a route")

    def _model_hint(self, spec: object) -> str:
        """ "did you mean ...?" for an unknown model: the configured providers serving a bare
        model name, the nearest provider or route to a misspelt one (the CLI's ``--model``
        check suggests from the same names)."""
        from ._suggest import model_hint

        if not isinstance(spec, str):
            return ""
        try:  # an error message never fails on the catalog (bad price overrides say so later)
            catalog = [(info.provider, info.model) for info in self.catalog]
        except (AigateError, ValueError, TypeError):
            catalog = []
        known = {provider for provider, _ in catalog}
        # a provider is looked up in the catalog by its name first, then by its kind (as
        # catalog_entry does): a fake "openai" serves openai's models, a "work" of kind openai too
        kinds = {
            name: name if name in known else runtime.kind
            for name, runtime in self.providers.items()
        }
        return model_hint(spec, kinds, self.routes, catalog)

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
        metadata = params.get("metadata")
        # positional: keywords cost a third of making the context
        return CallContext(
            kind, targets, route, dict(metadata) if metadata else {}, params.get("user"), stream
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
                # one vector per input, or the answer is unreadable (and fails over)
                check_embeddings(
                    result, embeddings_count(call.input), target.provider.name, target.model
                )
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
            from .pricing import catalog_for

            catalog = catalog_for(self.config)[0]
            with self._catalog_lock:
                self._catalog = catalog
        return self._catalog

    def cost(self, target: Target, usage: Usage | None) -> Decimal | None:
        """Exact cost of ``usage`` on ``target``: the provider's own reported cost when it
        sends one (OpenRouter), else the catalog price; None when unknown (never 0)."""
        if usage is None:
            return None
        pricing = _pricing()
        if usage.__pydantic_extra__:  # a cost the provider reported rides in the extras
            reported: Decimal | None = pricing.reported_cost(usage)
            if reported is not None:
                return reported
        entry = self.catalog_entry(target)
        value: Decimal | None = pricing.cost(usage, entry.price) if entry is not None else None
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
        provider = target.provider
        # positional, in GatewayInfo's field order (keywords cost a fifth of making it)
        return GatewayInfo(
            provider.name,
            target.model,
            ctx.route,
            self.cost(target, usage),
            False,  # cached
            ctx.attempts,
            (time.perf_counter() - ctx.started) * 1000.0,  # latency_ms
            ttft_ms,
            key.id if key is not None else None,  # key_id
            headers.get(provider.codec.request_id_header),  # request_id
            False,  # estimated
            parse_rate_limit(headers) if len(headers) > 4 else None,
            None,  # saved_cost_usd
            ctx.request_id,  # call_id
            None,  # cache_similarity
            None if ctx.reservation is None else getattr(ctx.reservation, "clamped", None),
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
        record = None
        if self.ledger is not None:
            record = ledger_record(ctx, info.provider, info.model, info, usage, error)
        if ctx.reservation is not None and self.admission is not None:
            target = f"{info.provider}/{info.model}"
            # Where the budget store and the ledger share a database the row commits with
            # the charge: a crash between the two would leave spend with no call behind it.
            settle = self.admission.settle(
                ctx, ctx.reservation, info.cost_usd, usage, target, record
            )
            if (yield from settle):
                record = None  # committed with the charge
        if self.observer is not None:
            observe_end(self.observer, ctx, info, usage, error, result)
        ledger = self.ledger
        if record is None or ledger is None:
            return
        result = yield Call(ledger.record, ledger.arecord, (record,))
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
            yield from self.record(ctx, info, _call_usage(result), None, result=result)
        return result


_pricing_module: Any = None


def _pricing() -> Any:
    """:mod:`aigate.pricing`, imported on first use (it is not needed to import aigate) and
    then read from a global: an ``import`` statement per call costs a microsecond."""
    global _pricing_module
    if _pricing_module is None:
        from . import pricing

        _pricing_module = pricing
    return _pricing_module


def _call_usage(result: object) -> Usage | None:
    """A result's usage as the ledger counts it: a chat usage as is, an embeddings usage's
    prompt tokens, a transcription's token counts (a duration-priced one has none)."""
    usage = getattr(result, "usage", None)
    # `type(...) is` first: isinstance against a pydantic model class goes through ABCMeta
    if usage is None or type(usage) is Usage or isinstance(usage, Usage):
        return usage
    if isinstance(usage, EmbeddingUsage):
        return Usage(prompt_tokens=usage.prompt_tokens, total_tokens=usage.total_tokens)
    if isinstance(usage, TranscriptionUsage) and usage.input_tokens is not None:
        prompt, completion = usage.input_tokens, usage.output_tokens or 0
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=usage.total_tokens or prompt + completion,
        )
    return None


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
