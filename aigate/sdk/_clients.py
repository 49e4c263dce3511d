"""Real ``openai`` and ``anthropic`` clients whose requests are answered by a gateway.

Each factory builds the SDK's own client (so ``isinstance`` checks, types and
``except openai.RateLimitError`` keep working) over aigate's in-process transport, with
the SDK's retries off: aigate already retried and failed over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigurationError
from ._transport import AsyncGatewayTransport, GatewayTransport

if TYPE_CHECKING:
    import anthropic
    import openai

    from .._resources import AsyncGatewayAPI, GatewayAPI

__all__ = [
    "BASE_URL",
    "anthropic_client",
    "async_anthropic_client",
    "async_openai_client",
    "async_transport",
    "openai_client",
    "transport",
]

#: The base URL aigate's clients use. Nothing listens there: requests never leave the process.
BASE_URL = "http://aigate.invalid"
#: What the SDKs send as their key when no virtual key is given (aigate ignores it).
PLACEHOLDER_KEY = "aigate-in-process"


def _require(gateway: object, asynchronous: bool, what: str) -> None:
    if getattr(gateway, "_asynchronous", None) is not asynchronous:
        other = "an AsyncGateway" if asynchronous else "a Gateway"
        raise ConfigurationError(
            f"{what}: expected {other}, got {type(gateway).__name__} (a sync SDK client needs "
            "a Gateway, an async one an AsyncGateway)",
            field="gateway",
        )


def transport(gateway: GatewayAPI, *, default_provider: str | None = None) -> GatewayTransport:
    """An httpx / httpx2 transport answered by ``gateway``: pass it to
    ``httpx2.Client(transport=...)`` (openai >= 3, anthropic >= 2) or ``httpx.Client``.

    ``default_provider`` turns a bare model name (``gpt-4o-mini``) into
    ``<default_provider>/gpt-4o-mini``; routes and prefixed names resolve as they are."""
    _require(gateway, False, "transport")
    return GatewayTransport(gateway, default_provider=default_provider)


def async_transport(
    gateway: AsyncGatewayAPI | GatewayAPI, *, default_provider: str | None = None
) -> AsyncGatewayTransport:
    """The async twin of :func:`transport`, for ``httpx2.AsyncClient`` / ``httpx.AsyncClient``.

    An :class:`AsyncGateway` answers natively; a sync :class:`Gateway` answers each call in
    a worker thread (``asyncio.to_thread``), so one sync gateway can serve both kinds."""
    if not isinstance(getattr(gateway, "_asynchronous", None), bool):
        raise ConfigurationError(
            f"async_transport: expected an AsyncGateway or a Gateway, got {type(gateway).__name__}",
            field="gateway",
        )
    return AsyncGatewayTransport(gateway, default_provider=default_provider)


def _client_kwargs(api_key: str | None, kwargs: dict[str, Any], base_url: str) -> dict[str, Any]:
    for name in ("http_client", "base_url"):
        if name in kwargs:
            raise ConfigurationError(
                f"{name}: set by aigate (its requests go to the gateway in-process)", field=name
            )
    kwargs.setdefault("max_retries", 0)  # aigate retries once, not SDK x aigate times
    return {"api_key": api_key or PLACEHOLDER_KEY, "base_url": base_url, **kwargs}


def openai_client(
    gateway: GatewayAPI,
    *,
    api_key: str | None = None,
    default_provider: str | None = None,
    **kwargs: Any,
) -> openai.OpenAI:
    """An ``openai.OpenAI`` whose calls go through ``gateway`` (no socket, no retries of its
    own). ``api_key`` may be an aigate virtual key (``gk_...``): it selects the tenant.
    Other keywords go to ``openai.OpenAI`` (``default_headers``, ``timeout``...)."""
    import openai

    http = openai.DefaultHttpxClient(
        transport=transport(gateway, default_provider=default_provider)
    )
    return openai.OpenAI(http_client=http, **_client_kwargs(api_key, kwargs, BASE_URL + "/v1"))


def async_openai_client(
    gateway: AsyncGatewayAPI | GatewayAPI,
    *,
    api_key: str | None = None,
    default_provider: str | None = None,
    **kwargs: Any,
) -> openai.AsyncOpenAI:
    """The async twin of :func:`openai_client`: an ``openai.AsyncOpenAI`` (over an
    AsyncGateway, or a sync Gateway answering in worker threads)."""
    import openai

    http = openai.DefaultAsyncHttpxClient(
        transport=async_transport(gateway, default_provider=default_provider)
    )
    return openai.AsyncOpenAI(http_client=http, **_client_kwargs(api_key, kwargs, BASE_URL + "/v1"))


def anthropic_client(
    gateway: GatewayAPI,
    *,
    api_key: str | None = None,
    default_provider: str | None = None,
    **kwargs: Any,
) -> anthropic.Anthropic:
    """An ``anthropic.Anthropic`` whose calls go through ``gateway``'s Messages surface."""
    import anthropic

    http = anthropic.DefaultHttpxClient(
        transport=transport(gateway, default_provider=default_provider)
    )
    return anthropic.Anthropic(http_client=http, **_client_kwargs(api_key, kwargs, BASE_URL))


def async_anthropic_client(
    gateway: AsyncGatewayAPI | GatewayAPI,
    *,
    api_key: str | None = None,
    default_provider: str | None = None,
    **kwargs: Any,
) -> anthropic.AsyncAnthropic:
    """The async twin of :func:`anthropic_client`: an ``anthropic.AsyncAnthropic``."""
    import anthropic

    http = anthropic.DefaultAsyncHttpxClient(
        transport=async_transport(gateway, default_provider=default_provider)
    )
    return anthropic.AsyncAnthropic(http_client=http, **_client_kwargs(api_key, kwargs, BASE_URL))
