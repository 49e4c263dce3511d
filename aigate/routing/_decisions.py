"""What a failed attempt means for the next one: pure decisions over an error, no effects.

The attempt loop (:mod:`aigate._attempts`) asks these; so may a user's own retry policy.
"""

from __future__ import annotations

from .._exceptions import APIError, RateLimitError

__all__ = ["retry_after", "worth_another_target"]


def worth_another_target(error: BaseException) -> bool:
    """Whether another target may succeed where this one failed.

    Transient errors (429, 5xx, timeouts, broken connections, unreadable answers) and key
    errors (401/402/403: this provider's key, not the request) move on; request errors
    (400, 404, 422, context length, content policy) would fail anywhere and surface at once.
    """
    return isinstance(error, APIError) and error.error_class != "request"


def retry_after(error: BaseException) -> float | None:
    """Seconds the provider asked to wait: ``retry-after-ms``, ``retry-after``, Gemini's
    ``retryDelay``, else the ``x-ratelimit-reset-*`` of an exhausted limit (the soonest
    reset when the headers show none exhausted)."""
    info = getattr(error, "rate_limit", None)
    if info is None:
        return None
    if info.retry_after_s is not None:
        return float(info.retry_after_s)
    exhausted = [
        reset
        for remaining, reset in (
            (info.remaining_requests, info.reset_requests_s),
            (info.remaining_tokens, info.reset_tokens_s),
        )
        if remaining == 0 and reset is not None
    ]
    if exhausted:
        return float(max(exhausted))
    if not isinstance(error, RateLimitError):
        return None
    resets = [r for r in (info.reset_requests_s, info.reset_tokens_s) if r is not None]
    return float(min(resets)) if resets else None
