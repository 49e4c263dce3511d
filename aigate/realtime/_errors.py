"""Realtime errors: a refused websocket handshake, a session stopped by its budget."""

from __future__ import annotations

from .._exceptions import APIConnectionError

__all__ = ["HandshakeError", "RealtimeSessionClosed"]


class HandshakeError(APIConnectionError):
    """The provider refused the websocket upgrade with an HTTP status (401 bad key, 429 rate
    limited, 5xx ...). ``error_class`` tells the router what it means, as for HTTP calls:
    ``key`` (401, 402, 403: the key is marked dead), ``request`` (400, 404, 422), else
    ``transient`` (a 429 cools the key, anything else counts against the target)."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"realtime handshake refused with HTTP {status_code}")
        self.status_code = status_code
        if status_code in (401, 402, 403):
            self.error_class = "key"
        elif status_code in (400, 404, 422):
            self.error_class = "request"
        else:
            self.error_class = "transient"


class RealtimeSessionClosed(APIConnectionError):
    """The session is closed: by the caller, by a budget limit, or by a dropped socket."""
