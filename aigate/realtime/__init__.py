"""Realtime (websocket) sessions through the gateway: ``agw.realtime.connect(...)``.

OpenAI's Realtime API natively; each response priced, budgeted and recorded as it ends.
See docs/realtime.md.
"""

from ._errors import HandshakeError, RealtimeSessionClosed
from ._session import Connector, Realtime, RealtimeInfo, RealtimeSession, Socket
from ._usage import realtime_usage

__all__ = [
    "Connector",
    "HandshakeError",
    "Realtime",
    "RealtimeInfo",
    "RealtimeSession",
    "RealtimeSessionClosed",
    "Socket",
    "realtime_usage",
]
