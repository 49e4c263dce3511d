"""Round-trip properties: no reasoning item, signature or tool-call id is lost on a path
that can carry it, however the answer is chunked (pure translation functions, no I/O)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aigate import ChatCompletionChunk
from aigate._models import ChatCompletionMessage
from aigate.surfaces._common import Carriage
from aigate.surfaces._reasoning import decode_blocks
from aigate.surfaces.messages._output import EventTranslator as MessageEvents
from aigate.surfaces.messages._output import content_blocks
from aigate.surfaces.messages._request import translate_messages
from aigate.surfaces.responses._output import EventTranslator as ResponseEvents
from aigate.surfaces.responses._output import output_items
from aigate.surfaces.responses._request import input_messages

ALL = Carriage(thinking_blocks=True, cache_control=True, thinking=True)
NONE = Carriage(thinking_blocks=False, cache_control=False, thinking=False)

text = st.text(min_size=1, max_size=30)
ids = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789_-+/=", min_size=1, max_size=60
)
signed = st.builds(lambda t, s: {"type": "thinking", "thinking": t, "signature": s}, text, ids)
redacted = st.builds(lambda d: {"type": "redacted_thinking", "data": d}, ids)
blocks = st.lists(st.one_of(signed, redacted), max_size=3)
arguments = st.one_of(
    st.just(""),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=3).map(json.dumps),
)
calls = st.lists(
    st.tuples(ids, st.sampled_from(["f", "g", "h"]), arguments),
    max_size=4,
    unique_by=lambda c: c[0],
)


def message(
    thoughts: list[dict[str, Any]], content: str | None, tool_calls: list[tuple[str, str, str]]
) -> ChatCompletionMessage:
    return ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": content,
            "reasoning_content": "".join(b.get("thinking", "") for b in thoughts) or None,
            "thinking_blocks": thoughts or None,
            "tool_calls": [
                {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
                for i, n, a in tool_calls
            ]
            or None,
        }
    )


@settings(max_examples=60, deadline=None)
@given(blocks, st.one_of(st.none(), text), calls)
def test_responses_output_replayed_as_input_keeps_everything(
    thoughts: list[dict[str, Any]], content: str | None, tool_calls: list[Any]
) -> None:
    items = output_items(message(thoughts, content, tool_calls))
    [turn] = input_messages(items, ALL)
    assert turn.get("thinking_blocks", []) == thoughts
    assert [c["id"] for c in turn.get("tool_calls") or ()] == [c[0] for c in tool_calls]
    # Without carriage the signed blocks are dropped, never sent half.
    [bare] = input_messages(items, NONE)
    assert "thinking_blocks" not in bare


@settings(max_examples=60, deadline=None)
@given(blocks, st.one_of(st.none(), text), calls)
def test_messages_content_replayed_keeps_everything(
    thoughts: list[dict[str, Any]], content: str | None, tool_calls: list[Any]
) -> None:
    content_out = content_blocks(message(thoughts, content, tool_calls))
    sent = translate_messages(
        None, [{"role": "user", "content": "q"}, {"role": "assistant", "content": content_out}], ALL
    )
    turn = sent[1]
    assert turn.get("thinking_blocks", []) == thoughts
    assert [c["id"] for c in turn.get("tool_calls") or ()] == [c[0] for c in tool_calls]


def _chunks(
    thoughts: list[dict[str, Any]],
    content: str | None,
    tool_calls: list[Any],
    cuts: list[int],
    interleave: bool,
) -> list[ChatCompletionChunk]:
    """A chat stream as the codecs make it: thinking deltas then the signed block, content
    pieces, tool calls (first delta: id and name; then argument pieces, interleaved)."""
    deltas: list[dict[str, Any]] = []
    for block in thoughts:
        if block["type"] == "thinking":
            deltas.append({"reasoning_content": block["thinking"]})
        deltas.append({"thinking_blocks": [block]})
    if content:
        step = max(1, cuts[0] if cuts else 1)
        deltas += [{"content": content[i : i + step]} for i in range(0, len(content), step)]
    per_call: list[list[dict[str, Any]]] = []
    for index, (call_id, name, args) in enumerate(tool_calls):
        deltas.append(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ]
            }
        )
        step = max(1, cuts[index % len(cuts)] if cuts else 3)
        per_call.append(
            [
                {"tool_calls": [{"index": index, "function": {"arguments": args[i : i + step]}}]}
                for i in range(0, len(args), step)
            ]
        )
    if interleave:  # parallel calls' fragments alternate, each call's order kept
        longest = max((len(p) for p in per_call), default=0)
        deltas += [p[i] for i in range(longest) for p in per_call if i < len(p)]
    else:
        deltas += [piece for pieces in per_call for piece in pieces]
    out = [
        ChatCompletionChunk.model_validate(
            {"id": "c", "created": 1, "model": "m", "choices": [{"index": 0, "delta": d}]}
        )
        for d in deltas
    ]
    finish = "tool_calls" if tool_calls else "stop"
    out.append(
        ChatCompletionChunk.model_validate(
            {
                "id": "c",
                "created": 1,
                "model": "m",
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
            }
        )
    )
    return out


@settings(max_examples=60, deadline=None)
@given(
    blocks,
    st.one_of(st.none(), text),
    calls,
    st.lists(st.integers(1, 7), min_size=1, max_size=3),
    st.booleans(),
)
def test_streams_keep_signatures_and_ids_however_chunked(
    thoughts: list[dict[str, Any]],
    content: str | None,
    tool_calls: list[Any],
    cuts: list[int],
    interleave: bool,
) -> None:
    chunks = _chunks(thoughts, content, tool_calls, cuts, interleave)
    r = ResponseEvents("resp_x", "m", {}, 0.0)
    for chunk in chunks:
        r.feed(chunk)
    _, response = r.finish(None)
    carried = [
        b
        for i in response.output
        if i.type == "reasoning"
        for b in decode_blocks(getattr(i, "encrypted_content", None))
    ]
    assert carried == thoughts
    got = [(i.call_id, i.name, i.arguments) for i in response.output if i.type == "function_call"]
    assert got == [(c, n, a or "{}") for c, n, a in tool_calls]

    m = MessageEvents("m")
    for chunk in chunks:
        m.feed(chunk)
    _, msg = m.finish(None)
    dumped = [b.model_dump() for b in msg.content]
    assert [b for b in dumped if b["type"] in ("thinking", "redacted_thinking")] == thoughts
    uses = [(b["id"], b["name"], b["input"]) for b in dumped if b["type"] == "tool_use"]
    assert uses == [(c, n, json.loads(a or "{}")) for c, n, a in tool_calls]
