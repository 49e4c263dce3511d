"""aigate: an in-process AI gateway with an OpenAI-shaped API.

Build one :class:`Gateway` (or :class:`AsyncGateway`) and call it like the OpenAI client;
aigate routes, fails over, prices and records each call inside your process.
"""

import typing

from ._version import __version__

if typing.TYPE_CHECKING:
    from ._exceptions import (
        AigateError,
        AllTargetsFailed,
        APIConnectionError,
        APIError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        BudgetExceeded,
        ConfigurationError,
        ConflictError,
        ContentPolicyError,
        ContextLengthExceededError,
        InternalServerError,
        InvalidRequestError,
        NotFoundError,
        PaymentRequiredError,
        PermissionDeniedError,
        RateLimited,
        RateLimitError,
        StreamError,
        StreamInterrupted,
        UnprocessableEntityError,
    )
    from ._gateway import AsyncGateway, AsyncStream, Gateway, Stream
    from ._models import (
        Attempt,
        ChatCompletion,
        ChatCompletionChunk,
        CreateEmbeddingResponse,
        GatewayInfo,
        RateLimitInfo,
        Transcription,
        Usage,
    )
    from .config import GatewayConfig, ProviderConfig, RouteConfig, TimeoutConfig
    from .tenancy import (
        InvalidKeyError,
        KeyExpiredError,
        KeyNotFoundError,
        KeyRevokedError,
        ModelNotAllowedError,
        VirtualKeyError,
    )

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AigateError",
    "AllTargetsFailed",
    "AsyncGateway",
    "AsyncStream",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceeded",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ConfigurationError",
    "ConflictError",
    "ContentPolicyError",
    "ContextLengthExceededError",
    "CreateEmbeddingResponse",
    "Gateway",
    "GatewayConfig",
    "GatewayInfo",
    "InternalServerError",
    "InvalidKeyError",
    "InvalidRequestError",
    "KeyExpiredError",
    "KeyNotFoundError",
    "KeyRevokedError",
    "ModelNotAllowedError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProviderConfig",
    "RateLimitError",
    "RateLimitInfo",
    "RateLimited",
    "RouteConfig",
    "Stream",
    "StreamError",
    "StreamInterrupted",
    "TimeoutConfig",
    "Transcription",
    "UnprocessableEntityError",
    "Usage",
    "VirtualKeyError",
    "__version__",
]

# Public names load on first use (PEP 562): `import aigate` costs almost nothing, and a
# program pays for the gateway's modules only when it touches them.
_HOMES = {
    "_exceptions": (
        "APIConnectionError APIError APIResponseValidationError APIStatusError APITimeoutError "
        "AigateError AllTargetsFailed AuthenticationError BadRequestError BudgetExceeded "
        "ConfigurationError ConflictError ContentPolicyError ContextLengthExceededError "
        "InternalServerError InvalidRequestError NotFoundError PaymentRequiredError "
        "PermissionDeniedError RateLimitError RateLimited StreamError StreamInterrupted "
        "UnprocessableEntityError"
    ),
    "_gateway": "AsyncGateway AsyncStream Gateway Stream",
    "_models": (
        "Attempt ChatCompletion ChatCompletionChunk CreateEmbeddingResponse GatewayInfo "
        "RateLimitInfo Transcription Usage"
    ),
    "config": "GatewayConfig ProviderConfig RouteConfig TimeoutConfig",
    "tenancy": (
        "InvalidKeyError KeyExpiredError KeyNotFoundError KeyRevokedError ModelNotAllowedError "
        "VirtualKeyError"
    ),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names.split()}


def __getattr__(name: str) -> typing.Any:
    module_name = _WHERE.get(name)
    if module_name is None:
        raise AttributeError(f"module 'aigate' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f"aigate.{module_name}")
    for public in _HOMES[module_name].split():
        value = getattr(module, public)
        try:
            value.__module__ = "aigate"  # shown as aigate.X in reprs, as httpx does
        except (AttributeError, TypeError):  # pragma: no cover - not settable
            pass
        globals()[public] = value
    return globals()[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
