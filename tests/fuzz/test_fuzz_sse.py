"""Fuzz the SSE decoder (``aigate.providers._sse.SSEDecoder``).

Properties: arbitrary bytes never make it raise (``feed``, ``feed_raw``, ``flush``); the
events do not depend on how the bytes were split into network chunks; LF, CR and CRLF line
ends are equivalent; comment lines change nothing; and the events equal those of a plain
reference reading of the WHATWG event-stream rules.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from aigate.providers._sse import SSEDecoder

from . import KnownBug, check_typed, fuzz

Event = tuple[str, str, Any, Any]

# Untyped exceptions these tests find go here, each pinned by a strict xfail test at the
# bottom, until fixed (see tests/fuzz/__init__.py).
KNOWN: tuple[KnownBug, ...] = ()


def events(pieces: list[bytes]) -> list[Event]:
    decoder = SSEDecoder()
    out = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    out.extend(decoder.flush())
    return [(e.data, e.event, e.id, e.retry) for e in out]


def raw_events(pieces: list[bytes]) -> list[Event]:
    """The same through ``feed_raw``, whose fast path hands plain events back as bytes."""
    decoder = SSEDecoder()
    out: list[Event] = []
    for piece in pieces:
        for item in decoder.feed_raw(piece):
            if isinstance(item, bytes):
                out.append((item.decode("utf-8", errors="replace"), "message", None, None))
            else:
                out.append((item.data, item.event, item.id, item.retry))
    out.extend((e.data, e.event, e.id, e.retry) for e in decoder.flush())
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at those offsets, as a network would deliver it (no empty chunk: httpx's
    ``iter_bytes`` never yields one)."""
    bounds = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


# Byte soup biased toward what matters to the parser: field names, colons, line ends,
# split UTF-8 sequences, NUL (ignored in ids).
_TOKENS = st.sampled_from(
    [
        *(b"data", b"data:", b"data: ", b"event:", b"event: ", b"id:", b"id: ", b"retry:"),
        *(b"retry: ", b":", b": keep-alive", b"\r", b"\n", b"\r\n", b"\n\n", b" ", b"x"),
        *(b"7", b"42", b"\xc3", b"\xa9", b"\xe2\x82\xac", b"\xc2\xb2", b"\x00", b"[DONE]"),
        *(b'{"a":1}', b"\xff"),
    ]
)


# -- line-level properties ------------------------------------------------------------------

_VALUE = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=10)
_LINE = st.one_of(
    st.builds(lambda v: "data: " + v, _VALUE),
    st.builds(lambda v: "data:" + v, _VALUE),
    st.just("data"),
    st.builds(lambda v: "event: " + v, _VALUE),
    st.builds(lambda v: "id: " + v, _VALUE),
    st.just("id: a\x00b"),
    st.builds(lambda v: "retry: " + v, st.from_regex(r"[0-9]{1,6}|[0-9a-z ]{0,4}", fullmatch=True)),
    st.builds(lambda v: ":" + v, _VALUE),
    st.builds(lambda n, v: n + ": " + v, st.sampled_from(["foo", "Data", "dat", ""]), _VALUE),
    st.just(""),
    st.just(""),
)
LINES = st.lists(_LINE, max_size=16)
ENDS = st.sampled_from(["\n", "\r", "\r\n"])


def joined(lines: list[str], ends: list[str]) -> bytes:
    """Lines with their own line ends. After a lone CR, a blank line ending in LF would
    read as the LF of a CRLF, so that one gets CR(LF) instead (the format's one ambiguity)."""
    out = []
    previous = ""
    for line, end in zip(lines, ends, strict=True):
        if previous == "\r" and not line and end == "\n":
            end = "\r"
        out.append(line + end)
        previous = end
    return "".join(out).encode()


# Byte soup, raw binary, and well-formed lines with mixed line ends.
RAW = (
    st.lists(_TOKENS, max_size=40).map(b"".join)
    | st.binary(max_size=80)
    | st.tuples(LINES, st.lists(ENDS, min_size=16, max_size=16)).map(
        lambda t: joined(t[0], t[1][: len(t[0])])
    )
)


@fuzz(600)
@given(RAW, st.lists(st.integers(0, 200), max_size=10))
def test_any_bytes_any_split_same_events(data: bytes, cuts: list[int]) -> None:
    try:
        whole = events([data])
        pieces = events(split(data, [c % (len(data) + 1) for c in cuts]))
        one_by_one = events([data[i : i + 1] for i in range(len(data))])
        raw = raw_events(split(data, [c % (len(data) + 1) for c in cuts]))
    except Exception as exc:  # the decoder has no error of its own: nothing may come out
        check_typed(exc, KNOWN, allowed=())
        return
    assert pieces == whole
    assert one_by_one == whole
    assert raw == whole


@fuzz(400)
@given(LINES, st.data())
def test_cr_lf_and_crlf_are_equivalent(lines: list[str], data: st.DataObject) -> None:
    ends = data.draw(st.lists(ENDS, min_size=len(lines), max_size=len(lines)))
    cuts = data.draw(st.lists(st.integers(0, 400), max_size=6))
    mixed = joined(lines, ends)
    lf = joined(lines, ["\n"] * len(lines))
    assert events(split(mixed, [c % (len(mixed) + 1) for c in cuts])) == events([lf])
    assert events([mixed[i : i + 1] for i in range(len(mixed))]) == events([lf])
    for end in ("\r", "\r\n"):
        assert events([joined(lines, [end] * len(lines))]) == events([lf])


@fuzz(300)
@given(LINES, st.data())
def test_comment_lines_change_nothing(lines: list[str], data: st.DataObject) -> None:
    with_comments = list(lines)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(with_comments)))
        comment = ":" + data.draw(_VALUE)
        with_comments.insert(position, comment)
    assert events([joined(with_comments, ["\n"] * len(with_comments))]) == events(
        [joined(lines, ["\n"] * len(lines))]
    )


def reference(lines: list[str]) -> list[Event]:
    """The WHATWG "interpret an event stream" steps, line by line, plus aigate's one
    documented extension: at the end, an event without its blank line still counts."""
    out: list[Event] = []
    data: list[str] = []
    event = ""
    last_id: str | None = None
    retry: int | None = None
    for line in [*lines, ""]:
        if line == "":
            if data:
                out.append(("\n".join(data), event or "message", last_id, retry))
            data, event = [], ""
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\x00" not in value:
            last_id = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            retry = int(value)
    return out


@fuzz(400)
@given(LINES)
def test_events_match_the_reference_reading(lines: list[str]) -> None:
    assert events([joined(lines, ["\n"] * len(lines))]) == reference(lines)


# -- inputs that broke the decoder before the fix (now regression cases) -----------------


def test_retry_with_a_non_ascii_digit_is_ignored() -> None:
    """The format allows ASCII digits only: '٣' was taken as 3, and '²' raised ValueError."""
    assert events(["retry: \u0663\ndata: x\n\n".encode()]) == [("x", "message", None, None)]
    assert events(["retry: \u00b2\ndata: x\n\n".encode()]) == [("x", "message", None, None)]


def test_empty_chunk_inside_a_crlf() -> None:
    """An empty chunk between a CR and its LF used to make the LF a blank line."""
    assert events([b"data: x\r", b"", b"\ndata: y\r\n\r\n"]) == events(
        [b"data: x\r\ndata: y\r\n\r\n"]
    )
