"""``gw.responses.create`` sent natively to OpenAI's ``/v1/responses``.

Used when every target the call may try is an official OpenAI provider (kind
``"openai"``) and no cache applies to the call (a cached call is translated, so that its
answer is stored and replayed event for event as every chat answer is). The body goes as
the caller wrote it, without aigate's own arguments (``api_key`` virtual keys, ``cache``,
``metadata`` ledger tags, ``extra_*``, ``timeout``); answers and events are OpenAI's own.

State stays aigate's: the turn is stored locally (tenant-scoped, under an aigate id, as a
translated turn is) with both its Responses items, for a later native turn, and its chat
form, for a later turn served by another provider. A ``previous_response_id`` that aigate
stored is sent as ``input`` items, never relying on OpenAI's copy; one aigate does not
know is passed upstream unchanged when ``store`` is not false (OpenAI's own stored
responses keep working).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..._effects import Flow
from ..._exceptions import InvalidRequestError
from ...providers import ChatCall
from ...providers.native import ResponsesEvents, parse_response, responses_request
from .._chat import load, save, surface_metadata
from .._common import Carriage, bad, native_route, new_id, tenant_of
from .._native import NativeAnswer, NativeCall, NativeStart, cache_applies, native_flow
from .._store import ConversationStore, Entry
from ._models import Response, ResponseStreamEvent
from ._request import GATEWAY_ARGS, input_messages

__all__ = ["NativePlan", "native_plan"]

_ALL = Carriage(thinking_blocks=True, cache_control=True, thinking=True)
#: Events whose ``response`` is the response itself (its id is aigate's).
_RESPONSE_EVENTS = frozenset(
    {
        "response.created",
        "response.in_progress",
        "response.queued",
        "response.completed",
        "response.incomplete",
        "response.failed",
    }
)
_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")


def native_plan(
    gateway: Any, kwargs: Mapping[str, Any], store: ConversationStore
) -> NativePlan | None:
    """The native plan of a ``responses.create`` call, or None to translate it."""
    model = kwargs.get("model")
    if not isinstance(model, str) or not native_route(gateway, model, "openai"):
        return None
    tags = surface_metadata(kwargs.get("metadata"), "responses")
    if not isinstance(tags, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        return None  # the translated call's validation names the field
    if cache_applies(gateway._core, kwargs, tags, kwargs.get("user")):
        return None
    return NativePlan(kwargs, tags, store)


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return list(value)
    raise bad("input", "a string or a list of input items", value)


def items_of_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A stored chat conversation (a turn another provider served) as Responses input
    items. Signed thinking blocks are not carried: OpenAI cannot read another model's."""
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if role == "tool":
            output = content if isinstance(content, str) else json.dumps(content)
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.get("tool_call_id"),
                    "output": output,
                }
            )
            continue
        if role == "assistant":
            if content:
                items.append({"role": "assistant", "content": _text(content)})
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call.get("id"),
                        "name": function.get("name"),
                        "arguments": function.get("arguments") or "{}",
                    }
                )
            continue
        items.append({"role": role, "content": _parts(content)})
    return items


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content or () if isinstance(p, Mapping))


def _parts(content: Any) -> Any:
    if isinstance(content, str) or not isinstance(content, list):
        return content if isinstance(content, str) else _text(content)
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            parts.append({"type": "input_text", "text": part.get("text", "")})
        elif kind == "image_url":
            image = part.get("image_url") or {}
            url = image.get("url") if isinstance(image, Mapping) else image
            out = {"type": "input_image", "image_url": url}
            if isinstance(image, Mapping) and image.get("detail"):
                out["detail"] = image["detail"]
            parts.append(out)
        elif kind == "file":
            file = part.get("file") or {}
            parts.append({"type": "input_file", **file})
    return parts


def _estimate_messages(instructions: Any, items: Sequence[Any], tools: Any) -> list[dict[str, Any]]:
    """The input as chat messages for counting (budgets, context windows): every text,
    images as image parts (counted by their fixed allowance, not their bytes)."""
    messages: list[dict[str, Any]] = []
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    for item in items:
        if not isinstance(item, Mapping):
            continue
        content = item.get("content")
        if isinstance(content, str):
            messages.append({"role": "user", "content": content})
            continue
        parts: list[dict[str, Any]] = []
        for part in content if isinstance(content, list) else ():
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind == "input_image":
                parts.append({"type": "image_url", "image_url": {"url": "data:,"}})
            elif kind == "input_file":
                parts.append({"type": "text", "text": str(part.get("filename", ""))})
            elif isinstance(part, Mapping):
                parts.append({"type": "text", "text": str(part.get("text", ""))})
        rest = {k: v for k, v in item.items() if k not in ("content", "encrypted_content")}
        parts.append({"type": "text", "text": json.dumps(rest, ensure_ascii=False, default=str)})
        messages.append({"role": "user", "content": parts})
    if tools:
        text = json.dumps(tools, ensure_ascii=False, default=str)
        messages.append({"role": "system", "content": text})
    return messages or [{"role": "user", "content": ""}]


class NativePlan:
    """One native ``responses.create``: the body, the history it continues, and the turn
    to store after."""

    def __init__(self, kwargs: Mapping[str, Any], tags: Any, store: ConversationStore) -> None:
        stream = kwargs.get("stream", False)
        if not isinstance(stream, bool):
            raise bad("stream", "a bool", stream)
        keep = kwargs.get("store", True)
        if keep is not None and not isinstance(keep, bool):
            raise bad("store", "a bool", keep)
        previous = kwargs.get("previous_response_id")
        if previous is not None and (not isinstance(previous, str) or not previous):
            raise bad("previous_response_id", "the id of a stored response (a string)", previous)
        if "input" not in kwargs and not previous:
            raise bad("input", "a string or a list of input items")
        self.kwargs = kwargs
        self.stream = stream
        self.keep = keep is not False
        self.previous: str | None = previous
        self.store = store
        self.tags = tags
        self.tenant = tenant_of(kwargs.get("api_key"), kwargs.get("user"), kwargs.get("metadata"))
        self.response_id = new_id("resp")
        self.input_items = _items(kwargs.get("input"))
        self.history_items: list[Any] = []
        self.history_messages: list[Any] | None = []
        self.upstream_previous: str | None = None
        self.body = {
            k: v
            for k, v in kwargs.items()
            if k not in GATEWAY_ARGS and k not in ("metadata", "model")
        }
        self.options = {k: kwargs[k] for k in _OPTIONS if kwargs.get(k) is not None}

    # -- history -------------------------------------------------------------------------

    def continue_from(self, entry: Entry | None) -> None:
        """Put the stored conversation in ``input`` (or leave an unknown id to OpenAI)."""
        previous = self.previous
        if previous is None:
            return
        if entry is None:
            if not self.keep:
                raise InvalidRequestError(
                    f"previous_response_id: no stored response {previous!r} for this caller "
                    "(never stored, store=False, expired, or another tenant's)",
                    field="previous_response_id",
                    expected="the id of a response created with store=True",
                )
            # Not aigate's: OpenAI's own stored response, which OpenAI resolves.
            self.upstream_previous = previous
            self.history_messages = None  # the history lives at OpenAI only
            return
        items = entry.get("items")
        messages = entry.get("messages")
        if items is None:
            items = items_of_messages(messages or [])
        self.history_items = list(items)
        self.history_messages = list(messages) if messages is not None else None
        self.upstream_previous = entry.get("upstream_previous")
        body = self.body
        body.pop("previous_response_id", None)
        if self.upstream_previous is not None:
            body["previous_response_id"] = self.upstream_previous
        body["input"] = [*self.history_items, *self.input_items]

    # -- the call ------------------------------------------------------------------------

    def native_call(self) -> NativeCall:
        body = self.body
        limit = body.get("max_output_tokens")
        params: dict[str, Any] = {}
        if limit is not None:
            params["max_completion_tokens"] = limit
        for name in ("temperature", "service_tier"):
            if body.get(name) is not None:
                params[name] = body[name]
        if body.get("tools"):
            params["tools"] = body["tools"]
        items = body.get("input")
        shape = ChatCall(
            messages=_estimate_messages(
                body.get("instructions"), _items(items) if items is not None else [], None
            ),
            params=params,
            stream=self.stream,
        )
        return NativeCall(
            body=body,
            stream=self.stream,
            shape=shape,
            request=responses_request,
            parse=parse_response,
            events=ResponsesEvents,
            ceiling_key="max_output_tokens",
            text_of=_text_of_events,
            options=self.options,
            after=self._after if self.keep else None,
        )

    def flow(self, core: Any) -> Flow[NativeAnswer | NativeStart]:
        if self.previous is not None:
            entry = yield from load(self.store, self.tenant, self.previous)
            self.continue_from(entry)
        call = self.native_call()
        user = self.kwargs.get("user")
        return (
            yield from native_flow(
                core, call, self.kwargs.get("model"), self.tags, user, self.kwargs.get("api_key")
            )
        )

    # -- the result ----------------------------------------------------------------------

    def own(self, response: dict[str, Any]) -> dict[str, Any]:
        """The response object under aigate's id, echoing the caller's previous id."""
        response["id"] = self.response_id
        response["previous_response_id"] = self.previous
        return response

    def wrap(self, event: dict[str, Any]) -> ResponseStreamEvent:
        if event["type"] in _RESPONSE_EVENTS:
            response = event.get("response")
            if isinstance(response, dict):
                self.own(response)
        return ResponseStreamEvent(event)

    def response(self, payload: dict[str, Any], info: Any) -> Response:
        response = Response.model_validate(self.own(payload))
        response.gateway = info
        return response

    def entry(self, final: dict[str, Any]) -> Entry:
        """What is stored: the items (for OpenAI), the chat form (for any other provider),
        the response."""
        output = list(final.get("output") or [])
        messages: list[Any] | None = None
        if self.history_messages is not None:
            try:
                messages = [
                    *self.history_messages,
                    *input_messages(self.input_items, _ALL),
                    *input_messages(output, _ALL),
                ]
            except InvalidRequestError:  # hosted tool items: only OpenAI can continue it
                messages = None
        return {
            "messages": messages,
            "items": [*self.history_items, *self.input_items, *output],
            "upstream_previous": self.upstream_previous,
            "response": self.own(dict(final)),
        }

    def _after(self, final: dict[str, Any] | None) -> Flow[None]:
        if final is not None:
            yield from save(self.store, self.tenant, self.response_id, self.entry(final))

    def save(self, payload: dict[str, Any]) -> Flow[None]:
        if self.keep:
            yield from save(self.store, self.tenant, self.response_id, self.entry(payload))


def _text_of_events(events: list[dict[str, Any]]) -> str:
    return "".join(
        str(e.get("delta", "")) for e in events if e.get("type") == "response.output_text.delta"
    )
