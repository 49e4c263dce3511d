"""``gw.responses``: openai's ``responses.create`` / ``retrieve`` / ``delete``, routed to any
provider through aigate's chat flow, with ``previous_response_id`` kept by aigate."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from ..._exceptions import InvalidRequestError
from ..._models import ChatCompletion
from ..._suggest import did_you_mean
from .._base import OverChat
from .._chat import fit_messages, load, remove, save, surface_metadata
from .._common import carriage, new_id, tenant_of
from .._native import AsyncNativeStream, NativeAnswer, NativeStart, NativeStream
from .._store import ConversationStore, Entry, open_conversations
from ._models import InputTokenCount, Response, ResponseStreamEvent
from ._native import NativePlan, native_plan
from ._output import EventTranslator, from_completion
from ._request import ResponsesRequest, instruction_messages, translate_request

if TYPE_CHECKING:
    from ..._resources import AsyncGatewayAPI, GatewayAPI

__all__ = [
    "AsyncInputTokens",
    "AsyncNativeResponseStream",
    "AsyncResponseStream",
    "AsyncResponses",
    "InputTokens",
    "NativeResponseStream",
    "ResponseStream",
    "Responses",
]


class _Plan:
    """One ``create`` call, translated: the chat arguments and what to store after."""

    __slots__ = ("_carry", "chat", "request", "response_id", "store", "tenant")

    def __init__(self, kwargs: Mapping[str, Any], gateway: Any, store: ConversationStore) -> None:
        self.store = store
        carry = carriage(gateway, kwargs.get("model"))
        self.request: ResponsesRequest = translate_request(kwargs, carry)
        self.tenant = tenant_of(kwargs.get("api_key"), kwargs.get("user"), kwargs.get("metadata"))
        self.response_id = new_id("resp")
        self.chat = dict(self.request.chat)
        self.chat["metadata"] = surface_metadata(self.chat.get("metadata"), "responses")
        self._carry = carry

    def history(self, entry: Entry | None) -> list[dict[str, Any]]:
        previous = self.request.previous_response_id
        if previous is None:
            return []
        if entry is None:
            raise InvalidRequestError(
                f"previous_response_id: no stored response {previous!r} for this caller "
                "(never stored, store=False, expired, or another tenant's)",
                field="previous_response_id",
                expected="the id of a response created with store=True",
            )
        if entry.get("messages") is None and "items" in entry:
            raise InvalidRequestError(
                f"previous_response_id: the stored response {previous!r} continues a "
                "conversation only OpenAI holds (an OpenAI-stored response, or hosted tool "
                "items); it can be continued on a route of OpenAI targets only",
                field="previous_response_id",
                expected="a route whose every target is an OpenAI provider",
            )
        messages: list[dict[str, Any]] = entry.get("messages") or []
        return messages

    def arguments(self, history: list[dict[str, Any]]) -> dict[str, Any]:
        instructions = instruction_messages(self.request.echo.get("instructions"))
        messages = self.request.messages(instructions, history)
        if not messages:
            raise InvalidRequestError(
                "input: expected at least one input item", field="input", expected="input"
            )
        return {
            **self.chat,
            "messages": fit_messages(messages, self._carry),
            "stream": self.request.stream,
        }

    def entry(
        self, history: list[dict[str, Any]], completion: ChatCompletion, response: Response
    ) -> Entry:
        """What is stored: the conversation so far (without this turn's instructions) and
        the response object."""
        turn: list[dict[str, Any]] = []
        if completion.choices:
            message = completion.choices[0].message.model_dump(exclude_none=True)
            turn.append(message)
        return {
            "messages": [*history, *self.request.input_messages, *turn],
            "response": response.model_dump(mode="json"),
        }

    def translator(self, model: str) -> EventTranslator:
        return EventTranslator(self.response_id, model, self.request.echo, time.time())


def _stored(entry: Entry | None, response_id: str) -> Response:
    if entry is None:
        raise InvalidRequestError(
            f"response_id: no stored response {response_id!r} for this caller",
            field="response_id",
            expected="the id of a response created with store=True",
        )
    return Response.model_validate(entry["response"])


class ResponseStream(OverChat):
    """A streamed response: iterate it for :class:`ResponseStreamEvent` objects (openai's
    event types and fields). ``response`` is the final :class:`Response` once it ended."""

    def __init__(self, gateway: GatewayAPI, plan: _Plan, history: list[Any], chat: Any) -> None:
        self._gateway = gateway
        self._plan = plan
        self._history = history
        self._chat = chat
        self.response: Response | None = None
        self._iterator = self._iterate()

    def __iter__(self) -> Generator[ResponseStreamEvent, None, None]:
        return self._iterator

    def __next__(self) -> ResponseStreamEvent:
        return next(self._iterator)

    def _iterate(self) -> Generator[ResponseStreamEvent, None, None]:
        plan, chat = self._plan, self._chat
        translator = plan.translator(str(plan.chat.get("model")))
        feed = translator.feed
        for chunk in chat:
            yield from feed(chunk)
        events, response = translator.finish(chat.usage)
        response.gateway = chat.gateway
        self.response = response
        if plan.request.store:
            entry = plan.entry(self._history, chat.completion(), response)
            self._gateway._run(save(plan.store, plan.tenant, plan.response_id, entry))
        yield from events

    def close(self) -> None:
        """Stop reading; the used tokens are still recorded."""
        self._iterator.close()
        self._chat.close()

    def __enter__(self) -> ResponseStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncResponseStream(OverChat):
    """The async twin of :class:`ResponseStream`: ``async for event in stream``."""

    def __init__(
        self, gateway: AsyncGatewayAPI, plan: _Plan, history: list[Any], chat: Any
    ) -> None:
        self._gateway = gateway
        self._plan = plan
        self._history = history
        self._chat = chat
        self.response: Response | None = None
        self._iterator = self._iterate()

    def __aiter__(self) -> AsyncGenerator[ResponseStreamEvent, None]:
        return self._iterator

    async def __anext__(self) -> ResponseStreamEvent:
        return await anext(self._iterator)

    async def _iterate(self) -> AsyncGenerator[ResponseStreamEvent, None]:
        plan, chat = self._plan, self._chat
        translator = plan.translator(str(plan.chat.get("model")))
        feed = translator.feed
        async for chunk in chat:
            for event in feed(chunk):
                yield event
        events, response = translator.finish(chat.usage)
        response.gateway = chat.gateway
        self.response = response
        if plan.request.store:
            entry = plan.entry(self._history, chat.completion(), response)
            await self._gateway._run(save(plan.store, plan.tenant, plan.response_id, entry))
        for event in events:
            yield event

    async def close(self) -> None:
        """Stop reading; the used tokens are still recorded."""
        await self._iterator.aclose()
        close = getattr(self._chat, "close", None) or self._chat.aclose
        result = close()
        if hasattr(result, "__await__"):
            await result

    async def __aenter__(self) -> AsyncResponseStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _final(stream: Any) -> Response | None:
    start, run = stream._start, stream._run
    final = start.reader.final
    if final is None or not run.done:
        return None
    if stream._response is None:
        stream._response = Response.model_validate(final)
        stream._response.gateway = run.info
    return stream._response  # type: ignore[no-any-return]


class NativeResponseStream(NativeStream):
    """A stream from OpenAI's ``/v1/responses``: OpenAI's own events (as
    :class:`ResponseStreamEvent` views); ``response`` is the final :class:`Response` once
    the stream has ended."""

    def __init__(self, host: Any, start: NativeStart, plan: NativePlan) -> None:
        super().__init__(host, start, plan.wrap)
        self._response: Response | None = None

    @property
    def response(self) -> Response | None:
        return _final(self)


class AsyncNativeResponseStream(AsyncNativeStream):
    """The async twin of :class:`NativeResponseStream`."""

    def __init__(self, host: Any, start: NativeStart, plan: NativePlan) -> None:
        super().__init__(host, start, plan.wrap)
        self._response: Response | None = None

    @property
    def response(self) -> Response | None:
        return _final(self)


#: What ``responses.input_tokens.count`` takes (openai's parameters; aigate's tenancy ones).
_COUNT_PARAMS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "text",
        "reasoning",
        "previous_response_id",
        "parallel_tool_calls",
        "truncation",
        "api_key",
        "user",
        "metadata",
        "extra_headers",
        "extra_query",
        "extra_body",
        "timeout",
    }
)


def _count_plan(responses: Responses | AsyncResponses, kwargs: Mapping[str, Any]) -> _Plan:
    unknown = sorted(set(kwargs) - _COUNT_PARAMS)
    if unknown:
        name = unknown[0]
        raise InvalidRequestError(
            f"{name}: not a parameter of responses.input_tokens.count"
            f"{did_you_mean(name, _COUNT_PARAMS)}",
            field=name,
            expected="a parameter of responses.input_tokens.count",
        )
    return responses._plan({**kwargs, "store": False})


def _counted(gateway: Any, plan: _Plan, history: list[dict[str, Any]]) -> InputTokenCount:
    """The prompt a ``create`` of the same arguments would send, counted for the route's
    first target (exact where aigate has that model's tokenizer; see ``aigate.tokens``)."""
    from ...tokens import count_messages

    arguments = plan.arguments(history)
    _, targets = gateway._core.resolve(arguments.get("model"))
    target = targets[0]
    counted = count_messages(
        arguments["messages"],
        provider=target.provider.kind,
        model=target.model,
        tools=arguments.get("tools") or None,
    )
    return InputTokenCount(input_tokens=int(counted.tokens))


class InputTokens:
    """``gw.responses.input_tokens``: openai's ``responses.input_tokens.count``, answered
    offline (no request is sent)."""

    def __init__(self, responses: Responses) -> None:
        self._responses = responses

    def count(self, **kwargs: Any) -> InputTokenCount:
        """The input tokens of a ``responses.create`` with these arguments."""
        responses = self._responses
        plan = _count_plan(responses, kwargs)
        entry = None
        if plan.request.previous_response_id is not None:
            previous = plan.request.previous_response_id
            entry = responses._gateway._run(load(responses.conversations, plan.tenant, previous))
        return _counted(responses._gateway, plan, plan.history(entry))


class AsyncInputTokens:
    """The async twin of :class:`InputTokens`."""

    def __init__(self, responses: AsyncResponses) -> None:
        self._responses = responses

    async def count(self, **kwargs: Any) -> InputTokenCount:
        """The input tokens of a ``responses.create`` with these arguments."""
        responses = self._responses
        plan = _count_plan(responses, kwargs)
        entry = None
        if plan.request.previous_response_id is not None:
            previous = plan.request.previous_response_id
            entry = await responses._gateway._run(
                load(responses.conversations, plan.tenant, previous)
            )
        return _counted(responses._gateway, plan, plan.history(entry))


class Responses:
    """``gw.responses``: the OpenAI Responses API over aigate's chat flow.

    ``conversations`` is where stored responses live (a URL: ``memory://`` by default,
    ``sqlite:///path``, ``redis://``, ``postgresql://``, or a
    :class:`~aigate.surfaces.ConversationStore`).
    """

    def __init__(
        self, gateway: GatewayAPI, conversations: str | ConversationStore | None = None
    ) -> None:
        self._gateway = gateway
        self.conversations = open_conversations(conversations)
        self.input_tokens = InputTokens(self)

    def _plan(self, kwargs: Mapping[str, Any]) -> _Plan:
        return _Plan(kwargs, self._gateway, self.conversations)

    @overload
    def create(self, *, stream: Literal[False] = False, **kwargs: Any) -> Response: ...
    @overload
    def create(self, *, stream: Literal[True], **kwargs: Any) -> ResponseStream: ...
    @overload
    def create(self, *, stream: bool, **kwargs: Any) -> Response | ResponseStream: ...

    def create(self, **kwargs: Any) -> Response | ResponseStream:
        """openai's ``responses.create``: same parameters, same result shape."""
        gateway = self._gateway
        native = native_plan(gateway, kwargs, self.conversations)
        if native is not None:
            result = gateway._run(native.flow(gateway._core))
            if isinstance(result, NativeStart):
                return NativeResponseStream(gateway, result, native)  # type: ignore[return-value]
            assert isinstance(result, NativeAnswer)
            gateway._run(native.save(result.payload))
            return native.response(result.payload, result.gateway)
        plan = self._plan(kwargs)
        history: list[dict[str, Any]] = []
        if plan.request.previous_response_id is not None:
            entry = gateway._run(
                load(self.conversations, plan.tenant, plan.request.previous_response_id)
            )
            history = plan.history(entry)
        result = gateway.chat.completions.create(**plan.arguments(history))
        if plan.request.stream:
            return ResponseStream(gateway, plan, history, result)
        response = from_completion(result, plan.response_id, plan.request.echo)
        if plan.request.store:
            entry = plan.entry(history, result, response)
            gateway._run(save(self.conversations, plan.tenant, plan.response_id, entry))
        return response

    def retrieve(
        self,
        response_id: str,
        *,
        api_key: str | None = None,
        user: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Response:
        """A stored response (of this tenant: same virtual key, or same user/org/project)."""
        tenant = tenant_of(api_key, user, metadata)
        return _stored(
            self._gateway._run(load(self.conversations, tenant, response_id)), response_id
        )

    def delete(
        self,
        response_id: str,
        *,
        api_key: str | None = None,
        user: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> bool:
        """Forget a stored response; true if there was one."""
        tenant = tenant_of(api_key, user, metadata)
        return self._gateway._run(remove(self.conversations, tenant, response_id))


class AsyncResponses:
    """The async twin of :class:`Responses`."""

    def __init__(
        self, gateway: AsyncGatewayAPI, conversations: str | ConversationStore | None = None
    ) -> None:
        self._gateway = gateway
        self.conversations = open_conversations(conversations)
        self.input_tokens = AsyncInputTokens(self)

    def _plan(self, kwargs: Mapping[str, Any]) -> _Plan:
        return _Plan(kwargs, self._gateway, self.conversations)

    @overload
    async def create(self, *, stream: Literal[False] = False, **kwargs: Any) -> Response: ...
    @overload
    async def create(self, *, stream: Literal[True], **kwargs: Any) -> AsyncResponseStream: ...
    @overload
    async def create(self, *, stream: bool, **kwargs: Any) -> Response | AsyncResponseStream: ...

    async def create(self, **kwargs: Any) -> Response | AsyncResponseStream:
        """openai's ``responses.create``: same parameters, same result shape."""
        gateway = self._gateway
        native = native_plan(gateway, kwargs, self.conversations)
        if native is not None:
            result = await gateway._run(native.flow(gateway._core))
            if isinstance(result, NativeStart):
                return AsyncNativeResponseStream(gateway, result, native)  # type: ignore[return-value]
            assert isinstance(result, NativeAnswer)
            await gateway._run(native.save(result.payload))
            return native.response(result.payload, result.gateway)
        plan = self._plan(kwargs)
        history: list[dict[str, Any]] = []
        if plan.request.previous_response_id is not None:
            entry = await gateway._run(
                load(self.conversations, plan.tenant, plan.request.previous_response_id)
            )
            history = plan.history(entry)
        result = await gateway.chat.completions.create(**plan.arguments(history))
        if plan.request.stream:
            return AsyncResponseStream(gateway, plan, history, result)
        response = from_completion(result, plan.response_id, plan.request.echo)
        if plan.request.store:
            entry = plan.entry(history, result, response)
            await gateway._run(save(self.conversations, plan.tenant, plan.response_id, entry))
        return response

    async def retrieve(
        self,
        response_id: str,
        *,
        api_key: str | None = None,
        user: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Response:
        """A stored response (of this tenant: same virtual key, or same user/org/project)."""
        tenant = tenant_of(api_key, user, metadata)
        entry = await self._gateway._run(load(self.conversations, tenant, response_id))
        return _stored(entry, response_id)

    async def delete(
        self,
        response_id: str,
        *,
        api_key: str | None = None,
        user: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> bool:
        """Forget a stored response; true if there was one."""
        tenant = tenant_of(api_key, user, metadata)
        return await self._gateway._run(remove(self.conversations, tenant, response_id))
