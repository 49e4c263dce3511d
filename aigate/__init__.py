"""aigate: an in-process AI gateway with an OpenAI-shaped API.

Build one :class:`Gateway` (or :class:`AsyncGateway`) and call it like the OpenAI client;
aigate routes, fails over, prices and records each call inside your process.
"""

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
from ._version import __version__
from .config import GatewayConfig, ProviderConfig, RouteConfig, TimeoutConfig

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
    "InvalidRequestError",
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
    "__version__",
]

# Show public names as aigate.X in reprs and tracebacks, as httpx does.
for _name in __all__:
    if not _name.startswith("__"):
        try:
            globals()[_name].__module__ = "aigate"
        except (AttributeError, TypeError):  # pragma: no cover - not settable
            pass
del _name
