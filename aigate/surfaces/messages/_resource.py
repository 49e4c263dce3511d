"""``gw.messages``: anthropic's ``messages.create`` and ``count_tokens``, routed to any
provider through aigate's chat flow."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from .._base import OverChat
from .._chat import fit_messages, surface_metadata
from .._common import bad, carriage
from .._native import AsyncNativeStream, NativeAnswer, NativeStart, NativeStream
from ._models import Message, MessageStreamEvent, MessageTokensCount
from ._native import NativeMessagePlan, accumulate, native_message_plan, wrap
from ._output import EventTranslator, from_completion
from ._request import _tool, translate_messages, translate_request

if TYPE_CHECKING:
    from ..._resources import AsyncGatewayAPI, GatewayAPI

__all__ = [
    "AsyncMessageStream",
    "AsyncMessages",
    "AsyncNativeMessageStream",
    "MessageStream",
    "Messages",
    "NativeMessageStream",
]


def _final(stream: Any) -> Message | None:
    if not stream._run.done:
        return None
    if stream._message is None:
        payload = accumulate(stream._start.seen)
        if payload is None:
            return None
        stream._message = NativeMessagePlan.message(payload, stream._run.info)
    return stream._message  # type: ignore[no-any-return]


class NativeMessageStream(NativeStream):
    """A stream from Anthropic's ``/v1/messages``: Anthropic's own events (as
    :class:`MessageStreamEvent` views); ``message`` is the final :class:`Message` once the
    stream has ended."""

    def __init__(self, host: Any, start: NativeStart) -> None:
        super().__init__(host, start, wrap)
        self._message: Message | None = None

    @property
    def message(self) -> Message | None:
        return _final(self)


class AsyncNativeMessageStream(AsyncNativeStream):
    """The async twin of :class:`NativeMessageStream`."""

    def __init__(self, host: Any, start: NativeStart) -> None:
        super().__init__(host, start, wrap)
        self._message: Message | None = None

    @property
    def message(self) -> Message | None:
        return _final(self)


def _arguments(gateway: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    carry = carriage(gateway, kwargs.get("model"))
    chat = translate_request(kwargs, carry)
    chat["messages"] = fit_messages(chat["messages"], carry)
    chat["metadata"] = surface_metadata(chat.get("metadata"), "messages")
    headers = chat.get("extra_headers")
    if headers:  # Anthropic's betas mean nothing to the chat targets of a translated call
        chat["extra_headers"] = {k: v for k, v in headers.items() if k.lower() != "anthropic-beta"}
    return chat


def _count(gateway: Any, kwargs: Mapping[str, Any]) -> MessageTokensCount:
    """Prompt tokens of a Messages request, counted locally for the route's first target
    (exact where aigate's tokenizer for that model is; see ``aigate.tokens``)."""
    from ...tokens import count_messages

    allowed = {"model", "messages", "system", "tools", "tool_choice", "thinking"}
    unknown = sorted(set(kwargs) - allowed - {"api_key", "extra_headers", "extra_body"})
    if unknown:
        raise bad(unknown[0], f"a parameter of messages.count_tokens, not {unknown[0]!r}")
    carry = carriage(gateway, kwargs.get("model"))
    _, targets = gateway._core.resolve(kwargs.get("model"))
    target = targets[0]
    messages = translate_messages(kwargs.get("system"), kwargs.get("messages"), carry)
    tools = [_tool(t, f"tools.{i}") for i, t in enumerate(kwargs.get("tools") or ())]
    counted = count_messages(
        fit_messages(messages, carry),
        provider=target.provider.kind,
        model=target.model,
        tools=tools or None,
    )
    return MessageTokensCount(input_tokens=int(counted.tokens))


class MessageStream(OverChat):
    """A streamed message: iterate it for :class:`MessageStreamEvent` objects (anthropic's
    event types and fields). ``message`` is the final :class:`Message` once it ended."""

    def __init__(self, chat: Any, model: str) -> None:
        self._chat = chat
        self._model = model
        self.message: Message | None = None
        self._iterator = self._iterate()

    def __iter__(self) -> Generator[MessageStreamEvent, None, None]:
        return self._iterator

    def __next__(self) -> MessageStreamEvent:
        return next(self._iterator)

    def _iterate(self) -> Generator[MessageStreamEvent, None, None]:
        chat = self._chat
        translator = EventTranslator(self._model)
        feed = translator.feed
        for chunk in chat:
            yield from feed(chunk)
        events, message = translator.finish(chat.usage)
        message.gateway = chat.gateway
        self.message = message
        yield from events

    def close(self) -> None:
        """Stop reading; the used tokens are still recorded."""
        self._iterator.close()
        self._chat.close()

    def __enter__(self) -> MessageStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncMessageStream(OverChat):
    """The async twin of :class:`MessageStream`: ``async for event in stream``."""

    def __init__(self, chat: Any, model: str) -> None:
        self._chat = chat
        self._model = model
        self.message: Message | None = None
        self._iterator = self._iterate()

    def __aiter__(self) -> AsyncGenerator[MessageStreamEvent, None]:
        return self._iterator

    async def __anext__(self) -> MessageStreamEvent:
        return await anext(self._iterator)

    async def _iterate(self) -> AsyncGenerator[MessageStreamEvent, None]:
        chat = self._chat
        translator = EventTranslator(self._model)
        feed = translator.feed
        async for chunk in chat:
            for event in feed(chunk):
                yield event
        events, message = translator.finish(chat.usage)
        message.gateway = chat.gateway
        self.message = message
        for event in events:
            yield event

    async def close(self) -> None:
        """Stop reading; the used tokens are still recorded."""
        await self._iterator.aclose()
        close = getattr(self._chat, "aclose", None) or self._chat.close
        result = close()
        if hasattr(result, "__await__"):
            await result

    async def __aenter__(self) -> AsyncMessageStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class Messages:
    """``gw.messages``: the Anthropic Messages API over aigate's chat flow."""

    def __init__(self, gateway: GatewayAPI) -> None:
        self._gateway = gateway

    @overload
    def create(self, *, stream: Literal[False] = False, **kwargs: Any) -> Message: ...
    @overload
    def create(self, *, stream: Literal[True], **kwargs: Any) -> MessageStream: ...
    @overload
    def create(self, *, stream: bool, **kwargs: Any) -> Message | MessageStream: ...

    def create(self, **kwargs: Any) -> Message | MessageStream:
        """anthropic's ``messages.create``: same parameters, same result shape."""
        gateway = self._gateway
        native = native_message_plan(gateway, kwargs)
        if native is not None:
            answer = gateway._run(native.flow(gateway._core))
            if isinstance(answer, NativeStart):
                return NativeMessageStream(gateway, answer)  # type: ignore[return-value]
            assert isinstance(answer, NativeAnswer)
            return native.message(answer.payload, answer.gateway)
        chat = _arguments(self._gateway, kwargs)
        result = self._gateway.chat.completions.create(**chat)
        if chat["stream"]:
            return MessageStream(result, str(kwargs.get("model")))
        return from_completion(result, str(kwargs.get("model")))

    def count_tokens(self, **kwargs: Any) -> MessageTokensCount:
        """anthropic's ``messages.count_tokens``, answered offline (no request is sent)."""
        return _count(self._gateway, kwargs)


class AsyncMessages:
    """The async twin of :class:`Messages`."""

    def __init__(self, gateway: AsyncGatewayAPI) -> None:
        self._gateway = gateway

    @overload
    async def create(self, *, stream: Literal[False] = False, **kwargs: Any) -> Message: ...
    @overload
    async def create(self, *, stream: Literal[True], **kwargs: Any) -> AsyncMessageStream: ...
    @overload
    async def create(self, *, stream: bool, **kwargs: Any) -> Message | AsyncMessageStream: ...

    async def create(self, **kwargs: Any) -> Message | AsyncMessageStream:
        """anthropic's ``messages.create``: same parameters, same result shape."""
        gateway = self._gateway
        native = native_message_plan(gateway, kwargs)
        if native is not None:
            answer = await gateway._run(native.flow(gateway._core))
            if isinstance(answer, NativeStart):
                return AsyncNativeMessageStream(gateway, answer)  # type: ignore[return-value]
            assert isinstance(answer, NativeAnswer)
            return native.message(answer.payload, answer.gateway)
        chat = _arguments(self._gateway, kwargs)
        result = await self._gateway.chat.completions.create(**chat)
        if chat["stream"]:
            return AsyncMessageStream(result, str(kwargs.get("model")))
        return from_completion(result, str(kwargs.get("model")))

    async def count_tokens(self, **kwargs: Any) -> MessageTokensCount:
        """anthropic's ``messages.count_tokens``, answered offline (no request is sent)."""
        return _count(self._gateway, kwargs)
