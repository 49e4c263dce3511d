"""Showing a store URL in an error without its secrets."""

from __future__ import annotations

__all__ = ["describe_url"]


def describe_url(url: str) -> str:
    """A safe description of a URL the user gave: its scheme only (``redis://...``), since
    anything after it may hold a password; a value without a valid scheme shows nothing of
    itself at all (a mistyped ``redis:/user:pass@host`` must not leak the password)."""
    scheme, sep, _ = url.partition("://")
    if sep and scheme and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return f"'{scheme}://...'"
    return f"a value that is not a URL of a known scheme ({len(url)} characters)"
