"""Response caching in the request flow: when to cache, the key, hits, stores, replays.

The storage (backends, canonical keys, entry format, single flight) is :mod:`aigate.cache`;
this module decides per call and turns entries back into results:

- a chat hit returns the stored :class:`ChatCompletion` with ``gateway.cached`` true, a cost
  of 0 (or the original, by policy) and ``saved_cost_usd``;
- a stream hit replays the stored chunks (a non-streamed entry is replayed as chunks too);
- embeddings are cached per input item, so a batch pays only for its new items;
- concurrent identical misses in one process make one upstream call (single flight); the
  others wait for it and are recorded as hits.

Only complete answers are stored: errors, interrupted and cancelled streams never are.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._effects import Call, Flight, Flow
from ._exceptions import ConfigurationError, InvalidRequestError
from ._models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
    GatewayInfo,
    Usage,
)

if TYPE_CHECKING:
    from ._context import CallContext, Core
    from .config import CacheConfig
    from .providers._base import ChatCall, EmbeddingsCall

__all__ = ["CacheDecision", "CacheLayer", "ReplayStart"]

_OPTION_KEYS = frozenset({"ttl", "namespace", "refresh", "mode"})
_MODES = {"read_write": (True, True), "read_only": (True, False), "write_only": (False, True)}


@dataclass(slots=True)
class CacheDecision:
    """How one call uses the cache."""

    key: str
    namespace: str
    read: bool
    write: bool
    ttl: float | None
    semantic_scope: str | None = None  # namespace + every field but the messages
    vector: list[float] | None = None  # the prompt's embedding, once computed


class SemanticIndex:
    """Prompt embeddings by scope, searched by cosine similarity (in this process)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, list[tuple[list[float], float, str]]] = {}
        self._count = 0

    def add(self, scope: str, vector: list[float], key: str) -> None:
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        if self._count >= self.max_entries:
            self._entries.clear()  # a bound, not an LRU: the exact cache still holds entries
            self._count = 0
        self._entries.setdefault(scope, []).append((vector, norm, key))
        self._count += 1

    def best(self, scope: str, vector: list[float]) -> tuple[float, str] | None:
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        found: tuple[float, str] | None = None
        for other, other_norm, key in self._entries.get(scope, ()):
            if len(other) != len(vector):
                continue
            dot = sum(a * b for a, b in zip(vector, other, strict=True))
            similarity = dot / (norm * other_norm)
            if found is None or similarity > found[0]:
                found = (similarity, key)
        return found


@dataclass(slots=True)
class ReplayStart:
    """A stream served from the cache: the chunks to replay and the call's info."""

    chunks: list[ChatCompletionChunk]
    gateway: GatewayInfo
    usage: Usage | None
    completion: ChatCompletion


def parse_option(option: object) -> dict[str, Any] | bool | None:
    """The per-call ``cache=`` argument: a bool, or a dict of ttl/namespace/refresh/mode."""
    if option is None or isinstance(option, bool):
        return option
    if isinstance(option, Mapping):
        unknown = set(option) - _OPTION_KEYS
        if unknown:
            raise InvalidRequestError(
                f"cache: unknown option(s) {sorted(unknown)}; expected {sorted(_OPTION_KEYS)}",
                field="cache",
                expected=f"a bool or a dict with {sorted(_OPTION_KEYS)}",
            )
        namespace = option.get("namespace")
        if namespace is not None and not isinstance(namespace, str):
            raise InvalidRequestError(
                f"cache.namespace: expected a string, got {type(namespace).__name__}",
                field="cache.namespace",
                expected="a string",
            )
        mode = option.get("mode", "read_write")
        if mode not in _MODES:
            raise InvalidRequestError(
                f"cache.mode: expected one of {sorted(_MODES)}, got {mode!r}",
                field="cache.mode",
                expected=f"one of {sorted(_MODES)}",
            )
        return dict(option)
    raise InvalidRequestError(
        f"cache: expected a bool or a dict, got {type(option).__name__}",
        field="cache",
        expected="a bool or a dict",
    )


class CacheLayer:
    """The gateway's cache: one backend, the policy from :class:`CacheConfig`."""

    def __init__(self, config: CacheConfig, core: Core | None = None) -> None:
        from .cache import SafeCache, open_cache

        self.config = config
        self.core = core
        self.semantic = (
            SemanticIndex(config.semantic.max_entries) if config.semantic is not None else None
        )
        self.backend = SafeCache(open_cache(config.url, field="cache.url"))
        # Decoded entries by key, reused while the backend hands back the very same bytes
        # object (the memory backend does): a hit then skips JSON decoding and checksums.
        self._decoded: dict[str, tuple[bytes, dict[str, Any]]] = {}
        self._target_ids: dict[Any, str] = {}

    def close(self) -> None:
        self.backend.close()

    async def aclose(self) -> None:
        await self.backend.aclose()

    # -- deciding ----------------------------------------------------------------------------

    def _scope(self, ctx: CallContext, route_shared: bool, extra: object) -> str:
        from .cache._keys import tenant_namespace

        # An unambiguous encoding of the scope (a JSON array), never joined strings: a
        # tenant name holding a separator must not reach another tenant's entries.
        if route_shared:
            return tenant_namespace("shared", extra)
        meta = ctx.metadata
        return tenant_namespace(
            "tenant", ctx.virtual_key, meta.get("org"), meta.get("project"), extra
        )

    def decide(
        self,
        ctx: CallContext,
        option: dict[str, Any] | bool | None,
        request: Mapping[str, Any],
        *,
        kind: str = "chat",
    ) -> CacheDecision | None:
        """Whether and how this call uses the cache (None: not at all)."""
        from .cache import cache_key

        if option is False:
            return None
        routes = self.config.routes
        route = None
        if routes:
            route = routes.get(ctx.route or (ctx.targets[0].name if ctx.targets else ""))
        if option is None:
            if route is not None and route.enabled is not None:
                wanted = route.enabled
            elif self.config.default == "always" or kind == "embedding":
                wanted = True
            elif self.config.default == "never":
                wanted = False
            else:  # auto: deterministic requests only
                wanted = request.get("temperature") == 0
            if not wanted:
                return None
        options = option if isinstance(option, dict) else {}
        read, write = _MODES[options.get("mode", "read_write")]
        if options.get("refresh"):
            read = False
        ttl = options.get("ttl", route.ttl if route and route.ttl else self.config.ttl)
        namespace = self._scope(ctx, bool(route and route.shared), options.get("namespace"))
        key = ""
        if kind == "chat":
            key = cache_key(
                namespace=namespace,
                target=_target_id(ctx, self._target_ids),
                request=request,
                include_user=self.config.include_user,
            )
        scope = None
        if kind == "chat" and self.semantic is not None:
            rest = {k: v for k, v in request.items() if k != "messages"}
            scope = cache_key(
                namespace=namespace,
                target=_target_id(ctx, self._target_ids),
                request=rest,
                endpoint="semantic",
            )
        return CacheDecision(key, namespace, read, write, ttl, scope)

    # -- reading and writing -----------------------------------------------------------------

    def lookup(self, key: str) -> Flow[dict[str, Any] | None]:
        from .cache import decode_entry

        raw = yield Call(self.backend.get, self.backend.aget, (key,))
        if raw is None or isinstance(raw, BaseException):
            return None
        memo = self._decoded.get(key)
        if memo is not None and memo[0] is raw:
            return memo[1]
        entry = decode_entry(raw)
        if entry is not None:
            if len(self._decoded) >= 1024:
                self._decoded.clear()  # a bound, not an LRU: entries are cheap to decode again
            self._decoded[key] = (raw, entry)
        return entry

    def store(self, key: str, entry: Mapping[str, Any], ttl: float | None) -> Flow[None]:
        from .cache import encode_entry

        yield Call(self.backend.set, self.backend.aset, (key, encode_entry(entry)), {"ttl": ttl})

    # -- chat --------------------------------------------------------------------------------

    def chat(
        self,
        ctx: CallContext,
        call: ChatCall,
        decision: CacheDecision,
        upstream: Flow[Any],
    ) -> Flow[Any]:
        """The cached form of a chat flow: hit, or single-flight miss then store."""
        if decision.read:
            entry = yield from self.lookup(decision.key)
            hit = self._hit(ctx, entry, call.stream) if entry is not None else None
            if hit is not None:
                return hit
            if decision.semantic_scope is not None:
                hit = yield from self._semantic_hit(ctx, call, decision)
                if hit is not None:
                    return hit
        if call.stream or not self.config.single_flight:
            result = yield from upstream
            if not call.stream and decision.write:
                yield from self.store_result(decision, _chat_entry(result))
            return result

        def leader() -> Flow[ChatCompletion]:
            result: ChatCompletion = yield from upstream
            if decision.write:
                yield from self.store_result(decision, _chat_entry(result))
            return result

        outcome = yield Flight(decision.key, leader(), self.config.single_flight_timeout)
        if isinstance(outcome, BaseException):
            raise outcome
        value, shared = outcome
        if not shared:
            return value
        return self._hit(ctx, _chat_entry(value), stream=False) or value

    def store_result(self, decision: CacheDecision, entry: Mapping[str, Any]) -> Flow[None]:
        """Store an answer, and index its prompt for semantic lookups when that is on."""
        yield from self.store(decision.key, entry, decision.ttl)
        if self.semantic is not None and decision.semantic_scope and decision.vector:
            self.semantic.add(decision.semantic_scope, decision.vector, decision.key)

    def _semantic_hit(self, ctx: CallContext, call: ChatCall, decision: CacheDecision) -> Flow[Any]:
        """An entry whose prompt is close enough, in the same scope; None otherwise. The
        embedding call is a normal call of this gateway (priced, recorded); if it fails,
        the lookup is simply a miss."""
        from ._exceptions import AigateError

        assert self.semantic is not None and self.config.semantic is not None
        text = _prompt_text(call.messages)
        if not text or self.core is None:
            return None
        try:
            embedded = yield from self.core.embeddings_flow(
                {"model": self.config.semantic.model, "input": [text], "metadata": ctx.metadata}
            )
        except AigateError:
            return None
        vector = embedded.data[0].embedding
        if not isinstance(vector, list):
            return None
        decision.vector = vector
        assert decision.semantic_scope is not None
        match = self.semantic.best(decision.semantic_scope, vector)
        if match is None or match[0] < self.config.semantic.threshold:
            return None
        entry = yield from self.lookup(match[1])
        hit = self._hit(ctx, entry, call.stream) if entry is not None else None
        if hit is not None:
            hit.gateway.cache_similarity = match[0]
        return hit

    def _hit(self, ctx: CallContext, entry: dict[str, Any], stream: bool) -> Any:
        """The result an entry stands for, or None when it no longer decodes (a miss)."""
        try:
            if "_json" not in entry:  # validated from JSON each hit: a fresh object, fast
                entry["_json"] = json.dumps(entry["completion"]).encode()
            completion = _completion_validator()(entry["_json"])
            original = Decimal(entry["cost"]) if entry.get("cost") is not None else None
            chunks = [ChatCompletionChunk.model_validate(c) for c in entry.get("chunks") or ()]
        except Exception:  # a foreign or outdated entry is a miss, never a crash
            return None
        info = GatewayInfo(
            provider=str(entry.get("provider", "")),
            model=str(entry.get("model", "")),
            route=ctx.route,
            cost_usd=original if self.config.hit_cost == "original" else Decimal(0),
            cached=True,
            latency_ms=(time.perf_counter() - ctx.started) * 1000.0,
            saved_cost_usd=original,
            call_id=ctx.request_id,
        )
        completion.gateway = info
        if not stream:
            return completion
        if not chunks:
            chunks = list(chunks_of(completion))
        return ReplayStart(chunks, info, completion.usage, completion)

    def stream_entry(
        self, completion: ChatCompletion, chunks: list[ChatCompletionChunk], cost: Decimal | None
    ) -> dict[str, Any]:
        entry = _chat_entry(completion, cost)
        entry["chunks"] = [c.model_dump(mode="json", exclude_none=True) for c in chunks]
        return entry

    # -- embeddings --------------------------------------------------------------------------

    def embeddings(
        self,
        ctx: CallContext,
        call: EmbeddingsCall,
        decision: CacheDecision,
        upstream: Any,  # Callable[[EmbeddingsCall], Flow[CreateEmbeddingResponse]]
    ) -> Flow[Any]:
        """Per-item caching: look every input up, call upstream for the missing ones only."""
        from dataclasses import replace

        from ._models import CreateEmbeddingResponse, Embedding, EmbeddingUsage
        from ._validate import check_embeddings
        from .cache import embedding_item_key

        items: list[Any] = [call.input] if isinstance(call.input, str) else list(call.input)
        if items and isinstance(items[0], int):
            items = [items]  # one token list
        params = {k: v for k, v in call.params.items() if k != "user"}
        target = _target_id(ctx, self._target_ids)
        keys = [embedding_item_key(decision.namespace, target, item, params) for item in items]
        vectors: list[Any] = [None] * len(items)
        if decision.read:
            for i, key in enumerate(keys):
                entry = yield from self.lookup(key)
                if entry is not None and "embedding" in entry:
                    vectors[i] = entry["embedding"]
        missing = [i for i, v in enumerate(vectors) if v is None]
        if not missing:
            result = CreateEmbeddingResponse(
                data=[Embedding(embedding=v, index=i) for i, v in enumerate(vectors)],
                model=ctx.targets[0].model,
                usage=EmbeddingUsage(),
            )
            result.gateway = GatewayInfo(
                provider=ctx.targets[0].provider.name,
                model=ctx.targets[0].model,
                route=ctx.route,
                cost_usd=Decimal(0),
                cached=True,
                latency_ms=(time.perf_counter() - ctx.started) * 1000.0,
                call_id=ctx.request_id,
            )
            return result
        partial = replace(call, input=[items[i] for i in missing])
        fresh = yield from upstream(partial)
        info = fresh.gateway
        check_embeddings(
            fresh,
            len(missing),
            info.provider if info else ctx.targets[0].provider.name,
            info.model if info else ctx.targets[0].model,
        )
        for position, item in enumerate(sorted(fresh.data, key=lambda d: d.index)):
            index = missing[position]
            vectors[index] = item.embedding
            if decision.write:
                yield from self.store(keys[index], {"embedding": item.embedding}, decision.ttl)
        fresh.data = [Embedding(embedding=v, index=i) for i, v in enumerate(vectors)]
        return fresh


def _prompt_text(messages: list[dict[str, Any]]) -> str:
    """The text of a conversation, for embedding: each message as ``role: text``."""
    lines = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
        if content:
            lines.append(f"{message.get('role')}: {content}")
    return "\n".join(lines)


def _completion_validator() -> Callable[[bytes], ChatCompletion]:
    if not ChatCompletion.__pydantic_complete__:
        ChatCompletion.model_rebuild()
    return ChatCompletion.__pydantic_validator__.validate_json


def _target_id(ctx: CallContext, memo: dict[Any, str]) -> str:
    """What an entry is keyed to: a route's whole target list (any target may answer it),
    or one ``provider/model@base_url``. Memoised per gateway: targets are fixed at init."""
    memo_key = (ctx.route, ctx.targets)
    found = memo.get(memo_key)
    if found is None:
        ids = ",".join(f"{t.name}@{t.provider.base_url}" for t in ctx.targets)
        found = f"route:{ctx.route}=[{ids}]" if ctx.route else ids
        if len(memo) < 4096:
            memo[memo_key] = found
    return found


def _chat_entry(completion: ChatCompletion, cost: Decimal | None = None) -> dict[str, Any]:
    info = completion.gateway
    if cost is None and info is not None:
        cost = info.cost_usd if not info.cached else info.saved_cost_usd
    return {
        "kind": "chat",
        "completion": completion.model_dump(mode="json", exclude_none=True),
        "provider": info.provider if info else "",
        "model": info.model if info else "",
        "cost": str(cost) if cost is not None else None,
    }


def chunks_of(completion: ChatCompletion) -> Iterator[ChatCompletionChunk]:
    """A completion as the chunks a stream of it would have sent (for replaying a
    non-streamed entry to a streaming caller)."""
    base = {"id": completion.id, "created": completion.created, "model": completion.model}

    def chunk(index: int, delta: ChoiceDelta) -> ChatCompletionChunk:
        return ChatCompletionChunk(**base, choices=[ChunkChoice(index=index, delta=delta)])

    for choice in completion.choices:
        message = choice.message
        yield chunk(choice.index, ChoiceDelta(role="assistant"))
        if message.reasoning_content:
            delta = ChoiceDelta(reasoning_content=message.reasoning_content)
            yield ChatCompletionChunk(
                **base, choices=[ChunkChoice(index=choice.index, delta=delta)]
            )
        if message.content:
            delta = ChoiceDelta(content=message.content)
            yield ChatCompletionChunk(
                **base, choices=[ChunkChoice(index=choice.index, delta=delta)]
            )
        if message.tool_calls:
            calls = [
                ChoiceDeltaToolCall(
                    index=i,
                    id=call.id,
                    type="function",
                    function=ChoiceDeltaToolCallFunction(
                        name=call.function.name, arguments=call.function.arguments
                    ),
                )
                for i, call in enumerate(message.tool_calls)
            ]
            delta = ChoiceDelta(tool_calls=calls)
            yield ChatCompletionChunk(
                **base, choices=[ChunkChoice(index=choice.index, delta=delta)]
            )
        yield ChatCompletionChunk(
            **base,
            choices=[
                ChunkChoice(
                    index=choice.index, delta=ChoiceDelta(), finish_reason=choice.finish_reason
                )
            ],
        )
    if completion.usage is not None:
        yield ChatCompletionChunk(**base, choices=[], usage=completion.usage)


def check_config(config: Any) -> CacheConfig:
    """A :class:`CacheConfig` from ``cache = "url"`` or a table."""
    from .config import CacheConfig

    if isinstance(config, str):
        return CacheConfig(url=config)
    if isinstance(config, CacheConfig):
        return config
    raise ConfigurationError("cache: expected a URL or a table", field="cache")
