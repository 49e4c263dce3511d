"""Realtime sessions: a websocket to the provider, with aigate's keys, budgets and ledger.

A session is admitted with a reservation for its first response; each ``response.done`` is
priced from its usage, settled against the budget and written to the ledger as one row; the
next response is reserved before it can start. When a limit has no room the caller receives
an ``error`` event (``error.type`` is ``"budget_exceeded"`` or ``"rate_limited"``) and the
session closes: a session can overspend by at most the responses already running when the
limit is reached (one, unless the caller runs out-of-band responses in parallel). The
session itself gets one more ledger row when it ends (``kind="realtime_session"``: duration
and totals in its metadata, no cost of its own so reports do not count the money twice), also
when the socket drops or the caller leaves.
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from .._attempts import adhoc_route, check_health, describe_waits, pick_key, record_health
from .._context import CallContext
from .._exceptions import (
    AigateError,
    AllTargetsFailed,
    APIConnectionError,
    BudgetExceeded,
    InvalidRequestError,
    RateLimited,
)
from .._models import Attempt, GatewayInfo, Usage
from ..routing._router import Plan, RetrySettings, Route, Router
from ._errors import RealtimeSessionClosed
from ._usage import INPUT_MARGIN_TOKENS, add_usage, realtime_usage, worst_case_nano

if TYPE_CHECKING:
    from .._host import AsyncHost
    from ..providers._base import ApiKey, Target
    from ..routing._policies import Candidate

__all__ = ["Connector", "Realtime", "RealtimeInfo", "RealtimeSession", "Socket"]

_REDACTED = "[REDACTED]"
_KINDS = frozenset({"openai", "gemini"})  # OpenAI Realtime natively, Gemini Live translated


class Socket(Protocol):
    """An open websocket, as a connector returns it."""

    async def send(self, text: str) -> None: ...

    async def receive(self) -> str | None:
        """The next text frame, ``None`` after a clean close; an aigate error after a drop."""
        ...

    async def close(self) -> None: ...


Connector = Callable[[str, Mapping[str, str], float], Awaitable[Socket]]
"""Opens a websocket: ``(url, headers, timeout) -> Socket``; raises aigate errors only."""


@dataclass(slots=True)
class RealtimeInfo:
    """What aigate knows of a session so far: who serves it, what it has cost."""

    provider: str | None = None
    model: str | None = None
    route: str | None = None
    key_id: str | None = None
    session_id: str = ""
    cost_usd: Decimal | None = Decimal(0)  # running total; None once a response is unpriced
    usage: Usage | None = None  # running total over every response
    responses: int = 0
    estimated: bool = False  # a response's cost was estimated (its usage never came)
    attempts: list[Attempt] = field(default_factory=list)
    duration_s: float = 0.0
    # why it ended: "closed" (by the caller), "budget" (a spend limit), "rate_limit" (a
    # client-side rate limit), "dropped" (the socket broke), "provider" (it closed the socket)
    closed_reason: str | None = None


class Realtime:
    """``agw.realtime``: open realtime sessions through the gateway."""

    def __init__(self, gateway: AsyncHost, connector: Connector | None = None) -> None:
        self._gateway = gateway
        self._connector = connector

    def connect(
        self,
        *,
        model: str,
        user: str | None = None,
        metadata: Mapping[str, str] | None = None,
        api_key: str | None = None,
        max_output_tokens: int | None = None,
        timeout: float = 10.0,
    ) -> RealtimeSession:
        """A session to ``model`` (a route or ``provider/model``), opened by ``async with``.

        ``max_output_tokens`` is the most one response may produce: it sizes each response's
        reservation (else the model's maximum output) and is sent to the provider in a
        ``session.update`` when the session opens, so the reservation holds."""
        if self._connector is None:
            from ..drivers.websocket import AiohttpConnector

            self._connector = AiohttpConnector()
        return RealtimeSession(
            self._gateway,
            self._connector,
            model,
            user,
            metadata,
            api_key,
            timeout,
            max_output_tokens,
        )


@dataclass(slots=True)
class _Response:
    """One response's reservation and timing."""

    ctx: CallContext
    estimate_nano: int
    id: str | None = None
    first_delta: float | None = None


class RealtimeSession:
    """One realtime session. Iterate it for the provider's events (OpenAI Realtime shape)."""

    def __init__(
        self,
        gateway: AsyncHost,
        connector: Connector,
        model: str,
        user: str | None,
        metadata: Mapping[str, str] | None,
        api_key: str | None,
        timeout: float,
        max_output_tokens: int | None = None,
    ) -> None:
        from .._core import _tags

        self._gw = gateway
        self._core = gateway._core
        self._connector = connector
        self._timeout = timeout
        self._api_key = api_key
        if user is not None and not isinstance(user, str):
            raise InvalidRequestError("user: expected a string", field="user", expected="a string")
        if max_output_tokens is not None and (
            not isinstance(max_output_tokens, int)
            or isinstance(max_output_tokens, bool)
            or max_output_tokens < 1
        ):
            raise InvalidRequestError(
                f"max_output_tokens: expected a positive integer, got {max_output_tokens!r}",
                field="max_output_tokens",
                expected="a positive integer",
            )
        route, targets = self._core.resolve(model)
        self._ctx = CallContext(
            kind="realtime_session",
            targets=targets,
            route=route,
            metadata=_tags(metadata),
            user=user,
            stream=True,
        )
        self.gateway = RealtimeInfo(route=route, session_id=self._ctx.request_id)
        self._socket: Socket | None = None
        self._target: Target | None = None
        self._secret: str | None = None
        self._next: _Response | None = None  # reserved for the next response to start
        self._running: dict[str, _Response] = {}
        self._pending: collections.deque[dict[str, Any]] = collections.deque()
        self._last_input = 0
        self._max_output: int | None = max_output_tokens
        self._cap_output = max_output_tokens is not None
        self._closed = False
        self._recorded = False

    # -- opening -------------------------------------------------------------------------

    async def __aenter__(self) -> RealtimeSession:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Verify the virtual key, reserve the first response, connect the first target that
        accepts (keys in turn, then the next target)."""
        if self._api_key is not None:
            await self._gw._run(self._core.keyed(self._api_key, self._ctx, _nothing))
        self._next = await self._reserve()
        try:
            await self._connect()
            if self._cap_output:
                await self.send(
                    {
                        "type": "session.update",
                        "session": {"type": "realtime", "max_output_tokens": self._max_output},
                    }
                )
        except BaseException:
            await self._release_next()
            raise

    async def _connect(self) -> None:
        """Open the socket on the first target and key that accept the handshake.

        Keys are picked as for HTTP calls (the router's key pool order and health store: a
        key cooling after a 429 or dead after a 401/403 is skipped, a target whose breaker
        is open too), and each refusal is recorded there: a bad key (401/402/403) is marked
        dead and a rate-limited one (429) cools, then the next key of the same provider is
        tried; any other refusal counts against the target and moves to the next one."""
        ctx = self._ctx
        run = self._gw._run
        route, candidates = _candidates(ctx.targets)
        router = route.router
        store, clock = router.store, router.clock
        settings = route.retry
        errors: list[BaseException] = []
        blocked: dict[str, tuple[Candidate, float]] = {}  # skipped, and when they recover
        keyed: dict[str, str] = {}  # skipped for their keys: the key ids (for the message)
        for cand in candidates:
            target = cand.target
            provider = target.provider
            if provider.kind not in _KINDS:
                ctx.attempts.append(
                    Attempt(provider.name, target.model, None, None, "unsupported", "request", 0.0)
                )
                errors.append(
                    InvalidRequestError(
                        f"{target.name}: provider kind {provider.kind!r} has no realtime API "
                        f"aigate speaks (supported: {sorted(_KINDS)})",
                        field="model",
                    )
                )
                continue
            until = await run(check_health(store, cand.name, clock()))
            if until:
                blocked[cand.name] = (cand, until)
                continue
            pool = cand.pool
            for _ in range(max(len(pool.keys), 1)):
                if len(ctx.attempts) >= settings.max_attempts:
                    break
                key: ApiKey | None = None
                key_name: str | None = None
                if pool.keys:
                    now = clock()
                    index, until = await run(pick_key(cand, store, now, ctx.user, 0))
                    if index < 0:  # every key is cooling, dead or at its cap
                        blocked[cand.name] = (cand, until)
                        keyed[cand.name] = ", ".join(k.id for k in pool.keys)
                        break
                    key, key_name = pool.keys[index], pool.names[index]
                    pool.take(index, now, 0)
                started = time.perf_counter()
                try:
                    socket = await self._handshake(target, key)
                except AigateError as exc:
                    ctx.attempts.append(
                        Attempt(
                            provider.name,
                            target.model,
                            key.id if key is not None else None,
                            getattr(exc, "status_code", None),
                            type(exc).__name__,
                            getattr(exc, "error_class", "transient"),
                            (time.perf_counter() - started) * 1000.0,
                        )
                    )
                    errors.append(exc)
                    if await self._refused(exc, router, cand.name, key_name, settings):
                        continue  # this key is refused or rate limited: the next key
                    break
                ctx.attempts.append(
                    Attempt(
                        provider.name,
                        target.model,
                        key.id if key is not None else None,
                        101,
                        None,
                        None,
                        (time.perf_counter() - started) * 1000.0,
                    )
                )
                now = clock()
                await run(record_health(store, cand.name, "ok", now))
                if key_name is not None:
                    await run(record_health(store, key_name, "ok", now))
                self._socket, self._target = socket, target
                self._secret = key.get() if key is not None else None
                info = self.gateway
                info.provider, info.model = provider.name, target.model
                info.key_id = key.id if key is not None else None
                info.attempts = ctx.attempts
                return
        now = clock()
        retry_at = min((u for _, u in blocked.values()), default=None)
        message = (
            f"no target of {ctx.route or ctx.targets[0].name} opened a realtime session "
            f"({len(ctx.attempts)} attempt(s)); see .errors"
        )
        if retry_at is not None:
            message += (
                f"; the first one may accept sessions again in {max(retry_at - now, 0):.1f}s "
                f"({describe_waits(blocked, keyed, now)})"
            )
        raise AllTargetsFailed(message, attempts=ctx.attempts, errors=errors, retry_at=retry_at)

    async def _handshake(self, target: Target, key: ApiKey | None) -> Socket:
        provider = target.provider
        url, headers = _endpoint(provider.kind, provider.base_url, target.model, key)
        socket = await self._connector(url, {**provider.headers, **headers}, self._timeout)
        if provider.kind == "gemini":
            from ._gemini import GeminiLiveSocket

            socket = GeminiLiveSocket(socket, target.model)
        return socket

    async def _refused(
        self,
        error: AigateError,
        router: Router,
        target: str,
        key: str | None,
        settings: RetrySettings,
    ) -> bool:
        """Record a refused handshake in the router's health store as the HTTP attempt loop
        records a failed call; whether the next key of the same provider is worth a try."""
        run, store, now = self._gw._run, router.store, router.clock()
        error_class = getattr(error, "error_class", "transient")
        if error_class == "key" and key is not None:
            await run(record_health(store, target, "ok", now))  # it answered: the target is up
            await run(record_health(store, key, "dead", now, reason=type(error).__name__))
            return True
        if getattr(error, "status_code", None) == 429 and key is not None:
            # about the key (its org's limits): cool it, leave the target alone. The reason
            # is an HTTP 429's, so the HTTP router reads the key as rate limited too.
            await run(
                record_health(store, key, "cool", now, settings.key_cooldown_s, "RateLimitError")
            )
            return True
        if error_class == "request":
            await run(record_health(store, target, "ok", now))
        else:
            await run(record_health(store, target, "fail", now, 0.0, type(error).__name__))
        return False

    # -- money ----------------------------------------------------------------------------

    async def _reserve(self) -> _Response:
        """Reserve the worst case of one response against every limit of the session."""
        ctx = self._ctx
        targets = (self._target,) if self._target is not None else ctx.targets
        rctx = CallContext(
            kind="realtime",
            targets=targets,
            route=ctx.route,
            metadata=dict(ctx.metadata),
            user=ctx.user,
            stream=True,
            virtual_key=ctx.virtual_key,
            limits=ctx.limits,
            rate_limits=ctx.rate_limits,
        )
        rctx.metadata["realtime_session"] = ctx.request_id
        nano, tokens = self._estimate(targets)
        admission = self._core.admission
        if admission is not None:
            rctx.reservation = await self._gw._run(
                admission.admit(rctx, None, {}, estimate=(nano, tokens))
            )
        return _Response(rctx, nano)

    def _estimate(self, targets: tuple[Target, ...]) -> tuple[int, int]:
        prompt = self._last_input + INPUT_MARGIN_TOKENS
        worst_nano, worst_tokens = 0, 0
        for target in targets:
            entry = self._core.catalog_entry(target)
            ceiling = self._max_output
            if ceiling is None:
                ceiling = int(entry.max_output_tokens) if entry and entry.max_output_tokens else 0
                if not ceiling and self._core.admission is not None:
                    ceiling = self._core.admission.config.default_max_output
            worst_tokens = max(worst_tokens, prompt + ceiling)
            nano = worst_case_nano(entry.price, prompt, ceiling) if entry is not None else None
            worst_nano = max(worst_nano, nano or 0)
        return worst_nano, worst_tokens

    async def _release_next(self) -> None:
        nxt, self._next = self._next, None
        if nxt is not None and nxt.ctx.reservation is not None and self._core.admission:
            await self._gw._run(
                self._core.admission.settle(nxt.ctx, nxt.ctx.reservation, None, None, None)
            )

    async def _settle(self, response: _Response, usage: Usage | None) -> None:
        """Price ``response`` from its usage (or, when the usage never came, charge its
        reservation and mark it estimated), settle it and write its ledger row."""
        assert self._target is not None
        target, info = self._target, self.gateway
        estimated = usage is None
        cost = (
            self._core.cost(target, usage)
            if usage is not None
            else Decimal(response.estimate_nano) / Decimal(10**9)
        )
        now = time.perf_counter()
        row = GatewayInfo(
            provider=target.provider.name,
            model=target.model,
            route=self._ctx.route,
            cost_usd=cost,
            latency_ms=(now - response.ctx.started) * 1000.0,
            ttft_ms=(response.first_delta - response.ctx.started) * 1000.0
            if response.first_delta is not None
            else None,
            key_id=info.key_id,
            request_id=response.id,
            estimated=estimated,
            call_id=response.ctx.request_id,
        )
        await self._gw._run(self._core.record(response.ctx, row, usage, None))
        info.responses += 1
        info.estimated = info.estimated or estimated
        info.cost_usd = None if cost is None or info.cost_usd is None else info.cost_usd + cost
        if usage is not None:
            info.usage = add_usage(info.usage, usage)
            self._last_input = usage.prompt_tokens + usage.completion_tokens

    # -- the caller's side -----------------------------------------------------------------

    async def send(self, event: Mapping[str, Any]) -> None:
        """Send one client event (``session.update``, ``input_audio_buffer.append``,
        ``response.create`` ...) to the provider."""
        if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
            raise InvalidRequestError(
                "event: expected a dict with a string 'type'", field="event", expected="a dict"
            )
        if self._closed or self._socket is None:
            raise RealtimeSessionClosed(
                f"the realtime session is closed ({self.gateway.closed_reason or 'not open'})"
            )
        if event["type"] == "session.update":
            self._note_session(event.get("session"))
        try:
            text = json.dumps(event, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(
                f"event: not JSON-serialisable ({exc})", field="event", expected="JSON values"
            ) from None
        await self._socket.send(text)

    def _note_session(self, session: object) -> None:
        """The output ceiling the caller set, so the next reservation matches it."""
        if not isinstance(session, Mapping):
            return
        for name in ("max_output_tokens", "max_response_output_tokens"):
            value = session.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                self._max_output = value
            elif value == "inf":
                self._max_output = None

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._events()

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            event = await self.recv()
            if event is None:
                return
            yield event

    async def recv(self) -> dict[str, Any] | None:
        """The next provider event, ``None`` once the session has ended."""
        while not self._pending:
            if self._closed or self._socket is None:
                return None
            try:
                text = await self._socket.receive()
            except APIConnectionError as exc:
                await self._end("dropped", exc)
                raise
            if text is None:
                await self._end("provider", None)
                return None
            await self._handle(text)
        return self._pending.popleft()

    async def _handle(self, text: str) -> None:
        secret = self._secret
        if secret and secret in text:  # a provider echoing the key never reaches the caller
            text = text.replace(secret, _REDACTED)
        try:
            event = json.loads(text)
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            self._pending.append(
                {"type": "error", "error": {"type": "invalid_event", "message": text[:200]}}
            )
            return
        self._pending.append(event)
        kind = event["type"]
        if kind == "response.created":
            await self._started(event.get("response"))
        elif kind.endswith(".delta"):
            response = self._running.get(str(event.get("response_id")))
            if response is not None and response.first_delta is None:
                response.first_delta = time.perf_counter()
        elif kind == "response.done":
            await self._done(event.get("response"))

    async def _started(self, body: object) -> None:
        rid = str(body.get("id")) if isinstance(body, Mapping) else ""
        response, self._next = self._next, None
        if response is None:  # a response beside a running one: reserve it now
            try:
                response = await self._reserve()
            except (BudgetExceeded, RateLimited) as exc:
                await self._stop_for_limit(exc, cancel=rid)
                return
        response.id = rid
        response.ctx.started = time.perf_counter()
        self._running[rid] = response

    async def _done(self, body: object) -> None:
        rid = str(body.get("id")) if isinstance(body, Mapping) else ""
        response = self._running.pop(rid, None)
        if response is None:
            return
        usage = realtime_usage(body.get("usage")) if isinstance(body, Mapping) else None
        await self._settle(response, usage)
        if self._next is None and not self._closed:
            try:
                self._next = await self._reserve()
            except (BudgetExceeded, RateLimited) as exc:
                await self._stop_for_limit(exc)

    async def _stop_for_limit(self, exc: AigateError, cancel: str | None = None) -> None:
        """A limit has no room for another response: tell the caller, then close."""
        if cancel and self._socket is not None:
            try:
                await self._socket.send(
                    json.dumps({"type": "response.cancel", "response_id": cancel})
                )
            except APIConnectionError:
                pass
        self._pending.append(
            {
                "type": "error",
                "event_id": f"aigate_{self._ctx.request_id[:12]}",
                "error": {
                    "type": "budget_exceeded"
                    if isinstance(exc, BudgetExceeded)
                    else "rate_limited",
                    "code": "aigate_limit_reached",
                    "message": str(exc),
                },
            }
        )
        await self._end("budget" if isinstance(exc, BudgetExceeded) else "rate_limit", None)

    # -- closing ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the session: release what is reserved, charge what is running, record."""
        await self._end("closed", None)

    async def _end(self, reason: str, error: BaseException | None) -> None:
        if self._closed:
            return
        self._closed = True
        info = self.gateway
        info.closed_reason = reason
        socket, self._socket = self._socket, None
        try:
            if socket is not None:
                try:
                    await socket.close()
                except AigateError:
                    pass
        finally:
            await self._release_next()
            # responses cut off mid-way are billed by the provider: charge their reservation
            for response in list(self._running.values()):
                await self._settle(response, None)
            self._running.clear()
            await self._record_session(error)

    async def _record_session(self, error: BaseException | None) -> None:
        if self._recorded or self._target is None:
            return
        self._recorded = True
        ctx, info = self._ctx, self.gateway
        info.duration_s = time.perf_counter() - ctx.started
        ctx.metadata.update(
            {
                "realtime_responses": str(info.responses),
                "realtime_duration_s": f"{info.duration_s:.3f}",
                "realtime_cost_usd": str(info.cost_usd) if info.cost_usd is not None else "",
                "realtime_closed": info.closed_reason or "",
            }
        )
        row = GatewayInfo(
            provider=self._target.provider.name,
            model=self._target.model,
            route=ctx.route,
            cost_usd=Decimal(0),  # the money is on the response rows
            attempts=ctx.attempts,
            latency_ms=info.duration_s * 1000.0,
            key_id=info.key_id,
            call_id=ctx.request_id,
        )
        await self._gw._run(self._core.record(ctx, row, None, None, error=error))


def _candidates(plan: tuple[Target, ...]) -> tuple[Route, list[Candidate]]:
    """The route of ``plan`` and its candidates (each target with its key pool), in the
    plan's order: its targets, its fallbacks, then its rules' targets."""
    route = plan.route if isinstance(plan, Plan) else adhoc_route(plan)
    branches = [route.default, *(branch for _, branch in route.conditions)]
    if route.fallbacks is not None:
        branches.append(route.fallbacks)
    found: dict[str, Candidate] = {}
    for branch in branches:
        for cand in branch.candidates:
            found.setdefault(cand.name, cand)
    return route, [found[target.name] for target in plan]


def _nothing() -> Any:
    """An empty flow: what a virtual key's checks wrap when there is no call yet."""
    return
    yield


def _endpoint(
    kind: str, base_url: str, model: str, key: ApiKey | None
) -> tuple[str, dict[str, str]]:
    """The websocket URL and headers of a realtime session on a provider of ``kind``."""
    from urllib.parse import quote

    scheme, _, rest = base_url.partition("://")
    ws = "wss" if scheme == "https" else "ws"
    if kind == "gemini":
        # wss://host/ws/google.ai.generativelanguage.<version>.GenerativeService.BidiGenerateContent
        host, _, path = rest.partition("/")
        version = path.rstrip("/").rpartition("/")[2] or "v1beta"
        url = f"{ws}://{host}/ws/google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent"
        if key is not None:  # Google's documented way for websockets: the key as a query parameter
            url += f"?key={quote(key.get(), safe='')}"
        return url, {}
    url = f"{ws}://{rest.rstrip('/')}/realtime?model={quote(model, safe='')}"
    return url, {"Authorization": f"Bearer {key.get()}"} if key is not None else {}
