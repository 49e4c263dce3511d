"""What happens when a call ends: its ledger record, and what the observer is told.

Pure functions of the call's context and outcome, used by :class:`~aigate._gateway.GatewayCore`.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._context import CallContext
    from ._models import GatewayInfo, Usage

__all__ = [
    "ledger_record",
    "observe_end",
    "observe_failure",
    "observe_start",
    "refusal_record",
]

#: The ``kind`` of a ledger row made by the Responses or Messages surface (their calls run
#: through the chat flow, tagged ``metadata["surface"]``).
SURFACE_KINDS = frozenset({"responses", "messages"})


def _event_base(ctx: CallContext, provider: str | None, model: str | None) -> dict[str, Any]:
    system = None
    for target in ctx.targets:
        if target.provider.name == provider:
            system = target.provider.kind
            break
    return {
        "call_id": ctx.request_id,
        "kind": ctx.kind,
        "route": ctx.route,
        "provider": provider,
        "system": system,
        "model": model,
        "stream": ctx.stream,
    }


def observe_start(observer: Any, ctx: CallContext) -> None:
    from .observe import RequestEvent

    first = ctx.targets[0]
    event = RequestEvent(**_event_base(ctx, first.provider.name, first.model))
    ctx.span = observer.start_span(event)
    observer.request(event)


def _observe_attempts(observer: Any, ctx: CallContext) -> None:
    """Retries and fallbacks, told from the attempts the loop made."""
    from .observe import ErrorEvent, FallbackEvent, RetryEvent

    attempts = ctx.attempts
    for number, (before, after) in enumerate(itertools.pairwise(attempts), start=2):
        observer.error(
            ErrorEvent(
                **_event_base(ctx, before.provider, before.model),
                status=before.status_code,
                error_type=before.error or "Exception",
                error_class=before.error_class,
                latency_ms=before.latency_ms,
                final=False,
            )
        )
        base = {**_event_base(ctx, after.provider, after.model), "attempt": number}
        if (before.provider, before.model) == (after.provider, after.model):
            event: Any = RetryEvent(
                **base,
                wait_s=after.wait_ms / 1000.0,
                status=before.status_code,
                error_type=before.error,
            )
            observer.retry(event, ctx.span)
        else:
            event = FallbackEvent(
                **base,
                from_provider=before.provider,
                from_model=before.model,
                status=before.status_code,
                error_type=before.error,
            )
            observer.fallback(event, ctx.span)


def observe_end(
    observer: Any,
    ctx: CallContext,
    info: GatewayInfo,
    usage: Usage | None,
    error: BaseException | None,
    result: Any = None,
) -> None:
    from .observe import CacheHitEvent, ErrorEvent, ResponseEvent

    _observe_attempts(observer, ctx)
    base = {**_event_base(ctx, info.provider, info.model), "attempt": max(len(ctx.attempts), 1)}
    if info.cached:
        observer.cache_hit(
            CacheHitEvent(**base, saved_usd=info.saved_cost_usd, latency_ms=info.latency_ms)
        )
    if error is not None:
        event = ErrorEvent(
            **base,
            error_type=_error_type(error) or "Exception",
            error_class=getattr(error, "error_class", None),
            latency_ms=info.latency_ms,
        )
        observer.error(event)
        observer.end_span(ctx.span, error=event)
        return
    response = ResponseEvent(
        **base,
        input_tokens=usage.prompt_tokens if usage is not None else None,
        output_tokens=usage.completion_tokens if usage is not None else None,
        cost_usd=info.cost_usd,
        latency_ms=info.latency_ms,
        ttft_ms=info.ttft_ms,
        cached=info.cached,
        estimated=info.estimated,
        response_id=info.request_id,
        response_model=getattr(result, "model", None),
        finish_reasons=tuple(
            c.finish_reason for c in getattr(result, "choices", ()) or () if c.finish_reason
        ),
    )
    observer.response(response)
    observer.end_span(ctx.span, response=response)


def observe_failure(observer: Any, ctx: CallContext, error: BaseException) -> None:
    from .observe import ErrorEvent

    if ctx.attempts:
        _observe_attempts(observer, ctx)
        last = ctx.attempts[-1]
        provider, model = last.provider, last.model
    else:
        provider, model = ctx.targets[0].provider.name, ctx.targets[0].model
    event = ErrorEvent(
        **_event_base(ctx, provider, model),
        attempt=max(len(ctx.attempts), 1),
        status=getattr(error, "status_code", None),
        error_type=type(error).__name__,
        error_class=getattr(error, "error_class", None),
        latency_ms=(time.perf_counter() - ctx.started) * 1000.0,
    )
    observer.error(event)
    observer.end_span(ctx.span, error=event)


def ledger_record(
    ctx: CallContext,
    provider: str,
    model: str,
    info: GatewayInfo | None,
    usage: Usage | None,
    error: BaseException | None,
) -> Any:
    """The :class:`~aigate.ledger.LedgerRecord` of one call, successful or not."""
    from .ledger import LedgerRecord
    from .pricing import to_nano

    prompt = completion = cached = write = write_1h = reasoning = audio_in = audio_out = 0
    if usage is not None:
        prompt, completion = usage.prompt_tokens, usage.completion_tokens
        if (details := usage.prompt_tokens_details) is not None:
            cached = details.cached_tokens or 0
            write = details.cache_write_tokens or 0
            write_1h = details.cache_write_1h_tokens or 0
            audio_in = details.audio_tokens or 0
        if (out := usage.completion_tokens_details) is not None:
            reasoning = out.reasoning_tokens or 0
            audio_out = out.audio_tokens or 0
    metadata = ctx.metadata
    cost = info.cost_usd if info is not None else None
    saved = info.saved_cost_usd if info is not None else None
    return LedgerRecord(
        id=ctx.request_id,
        kind=_kind(ctx),
        org=metadata.get("org"),
        project=metadata.get("project"),
        user=ctx.user,
        virtual_key=ctx.virtual_key,
        route=ctx.route,
        provider=provider,
        model=model,
        provider_key_id=info.key_id if info is not None else None,
        cost_nano=to_nano(cost) if cost is not None else None,
        saved_nano=to_nano(saved) if saved is not None else None,
        latency_ms=(time.perf_counter() - ctx.started) * 1000.0,
        ttft_ms=info.ttft_ms if info is not None else None,
        status="ok" if error is None else "error",
        error_class=getattr(error, "error_class", None) if error is not None else None,
        error_type=_error_type(error),
        cached=info.cached if info is not None else False,
        estimated=info.estimated if info is not None else False,
        stream=ctx.stream,
        attempts=tuple(_attempt_dict(a) for a in ctx.attempts),
        metadata=metadata,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        cache_write_tokens=write,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=reasoning,
        audio_input_tokens=audio_in,
        audio_output_tokens=audio_out,
        max_tokens=getattr(ctx.reservation, "clamped", None),
    )


def refusal_record(ctx: CallContext, error: BaseException, reason: str) -> Any:
    """The ledger row of a call refused before anything was sent: ``status="refused"``,
    its ``reason``, no cost (``cost_nano=0``: nothing was sent, so the cost is known, not
    an unknown price) and no tokens. It names the first target (the one it would have tried).
    """
    from .ledger import LedgerRecord

    first = ctx.targets[0]
    metadata = ctx.metadata
    return LedgerRecord(
        id=ctx.request_id,
        kind=_kind(ctx),
        org=metadata.get("org"),
        project=metadata.get("project"),
        user=ctx.user,
        virtual_key=ctx.virtual_key,
        route=ctx.route,
        provider=first.provider.name,
        model=first.model,
        cost_nano=0,
        latency_ms=(time.perf_counter() - ctx.started) * 1000.0,
        status="refused",
        error_class="refused",
        error_type=type(error).__name__,
        stream=ctx.stream,
        metadata=metadata,
        reason=reason,
    )


def _kind(ctx: CallContext) -> str:
    """The row's kind: the call's, or the surface that made a chat call."""
    surface = ctx.metadata.get("surface") if ctx.kind == "chat" else None
    return surface if surface in SURFACE_KINDS else ctx.kind


def _attempt_dict(attempt: Any) -> dict[str, Any]:
    """An attempt as the ledger stores it (``dataclasses.asdict`` is ten times slower)."""
    return {
        "provider": attempt.provider,
        "model": attempt.model,
        "key_id": attempt.key_id,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "error_class": attempt.error_class,
        "latency_ms": attempt.latency_ms,
        "wait_ms": attempt.wait_ms,
    }


def _error_type(error: BaseException | None) -> str | None:
    if error is None:
        return None
    if type(error).__name__ == "StreamCancelled":
        return "cancelled"
    return type(error).__name__
