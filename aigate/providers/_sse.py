"""A server-sent events decoder that works on raw bytes.

It follows the WHATWG event-stream rules: lines end in LF, CRLF or CR; a line starting with
``:`` is a comment; ``data:`` lines of one event are joined with newlines; a blank line
dispatches the event; an event with no data is dropped. It is fed bytes as they arrive
(``httpx.Response.iter_bytes``), which is several times cheaper than ``iter_lines`` followed
by per-line parsing, and it never holds more than one incomplete line.
"""

from __future__ import annotations

__all__ = ["SSEDecoder", "ServerSentEvent"]


class ServerSentEvent:
    """One dispatched event. ``event`` is ``"message"`` when the stream names none.

    A plain slotted class rather than a dataclass: one is made per event, so its
    construction is on the streaming hot path."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(
        self, data: str, event: str = "message", id: str | None = None, retry: int | None = None
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def __repr__(self) -> str:
        return f"ServerSentEvent(event={self.event!r}, data={self.data[:60]!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (self.data, self.event, self.id, self.retry) == (
            other.data,
            other.event,
            other.id,
            other.retry,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces


class SSEDecoder:
    """Incremental decoder: ``feed(bytes)`` returns the events completed by those bytes.

    :meth:`feed_raw` is the same with a fast path for the commonest event (one ``data:``
    line, no name, id or retry): its data is returned as the raw ``bytes``, so a JSON
    parser can take it without a text decode and an event object.
    """

    __slots__ = ("_buffer", "_data", "_event", "_id", "_pending_cr", "_retry")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        return [
            ServerSentEvent(item.decode("utf-8", errors="replace"))
            if isinstance(item, bytes)
            else item
            for item in self.feed_raw(chunk)
        ]

    def feed_raw(self, chunk: bytes) -> list[bytes | ServerSentEvent]:
        if not chunk:
            return []  # nothing new (and a CR pending from the last chunk stays pending)
        if self._pending_cr and chunk[:1] == b"\n":
            # a CRLF split across two network chunks: the CR already ended the line
            chunk = chunk[1:]
        self._pending_cr = chunk[-1:] == b"\r"
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        events: list[bytes | ServerSentEvent] = []
        data = self._data
        for raw in lines:
            # fast path: the lines of a typical stream are "data: ..." and blank ones
            if raw[:6] == b"data: ":
                data.append(raw[6:])
            elif not raw:
                if data:
                    events.append(self._dispatch(data))
                    data = self._data = []
                self._event = None
            elif raw[:7] == b"event: ":  # named events (Anthropic's): every one has this line
                self._event = raw[7:].decode("utf-8", errors="replace")
            else:
                self._field(raw)
        return events

    def _dispatch(self, data: list[bytes]) -> bytes | ServerSentEvent:
        if len(data) == 1 and self._event is None and self._id is None and self._retry is None:
            return data[0]
        text = (data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", errors="replace")
        return ServerSentEvent(text, self._event or "message", self._id, self._retry)

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: a final line without its newline still counts; an event without
        its blank line is dispatched too (servers that close without one exist)."""
        if self._buffer:
            buffer, self._buffer = self._buffer, b""
            self._field(buffer)
        if not self._data:
            self._event = None
            return []
        event = self._dispatch(self._data)
        self._data = []
        self._event = None
        if isinstance(event, bytes):
            return [ServerSentEvent(event.decode("utf-8", errors="replace"))]
        return [event]

    def _field(self, raw: bytes) -> None:
        """One non-blank line: a comment or a ``field: value`` pair."""
        if raw[:1] == b":":
            return  # comment, e.g. ": OPENROUTER PROCESSING" keep-alives
        name, sep, value = raw.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
            return
        text = value.decode("utf-8", errors="replace")
        if name == b"event":
            self._event = text
        elif name == b"id":
            if "\0" not in text:
                self._id = text
        elif name == b"retry" and text.isascii() and text.isdigit():
            self._retry = int(text)
