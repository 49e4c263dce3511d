"""The aigate error tree. Names mirror the ``openai`` package's, so handlers read the same.

```
AigateError
├── ConfigurationError            bad config: unknown field, missing key, bad URL (ValueError)
├── InvalidRequestError           bad call arguments, raised before any HTTP request (ValueError)
├── APIError                      anything a provider call produced (.provider, .model, .request)
│   ├── APIConnectionError        the request never got a response
│   │   └── APITimeoutError
│   ├── APIResponseValidationError  a 2xx whose body is not what the wire format says
│   ├── StreamError               an error event inside a 200 stream (.code, .type)
│   └── APIStatusError            a non-2xx answer (.status_code, .response, .body, .rate_limit)
│       ├── BadRequestError               400 (and 413)
│       │   ├── ContextLengthExceededError  prompt + output over the model's window
│       │   └── ContentPolicyError          refused by the provider's content filter
│       ├── AuthenticationError           401
│       ├── PaymentRequiredError          402 (billing, credits)
│       ├── PermissionDeniedError         403
│       ├── NotFoundError                 404
│       ├── ConflictError                 409
│       ├── UnprocessableEntityError      422
│       ├── RateLimitError                429 (.rate_limit.retry_after_s)
│       └── InternalServerError           5xx, 529 overloaded
├── AllTargetsFailed              every target of a route failed (.attempts, .errors)
├── StreamInterrupted             a stream broke after content reached the caller (.partial)
├── BudgetExceeded                a hard budget has no room for the call's worst case
└── RateLimited                   a client-side rate limit has no room and waiting is off
```

Secrets never appear in a message: errors carry provider names, models and key *ids*
(short hashes), never keys, and provider bodies are kept as parsed JSON without headers.

**openai's handlers keep working.** Once the ``openai`` package is imported (by the
application; aigate never imports it), every error aigate raises is also an instance of the
matching ``openai`` class, so ``except openai.RateLimitError:`` catches
:class:`RateLimitError`: ``APIStatusError`` -> ``openai.APIStatusError``, each status class
-> its openai namesake (``PaymentRequiredError`` -> ``openai.APIStatusError``, the two
``BadRequestError`` kinds -> ``openai.BadRequestError``), ``StreamError`` -> ``openai.APIError``,
and the errors openai has no counterpart for (``AllTargetsFailed``, ``BudgetExceeded``,
``InvalidRequestError``, ...) -> ``openai.OpenAIError``. (``AigateError`` itself cannot take
a base after the fact: Python refuses the layout change.) How: the openai class is appended
to the aigate class's bases, once, when aigate is imported after openai or when the first
error is created after openai was imported; importing aigate alone never imports openai.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._models import Attempt, ChatCompletion, RateLimitInfo, Usage
    from ._wire import Request, Response

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AigateError",
    "AllTargetsFailed",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceeded",
    "ConfigurationError",
    "ConflictError",
    "ContentPolicyError",
    "ContextLengthExceededError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimited",
    "StreamError",
    "StreamInterrupted",
    "UnprocessableEntityError",
]


_E = TypeVar("_E", bound="AigateError")

#: aigate class name -> the openai class its instances also are (when openai is imported).
OPENAI_COUNTERPARTS: dict[str, str] = {
    "ConfigurationError": "OpenAIError",
    "InvalidRequestError": "OpenAIError",
    "AllTargetsFailed": "OpenAIError",
    "StreamInterrupted": "OpenAIError",
    "BudgetExceeded": "OpenAIError",
    "RateLimited": "OpenAIError",
    "APIError": "APIError",
    "APIConnectionError": "APIConnectionError",
    "APITimeoutError": "APITimeoutError",
    "APIResponseValidationError": "APIResponseValidationError",
    "StreamError": "APIError",
    "APIStatusError": "APIStatusError",
    "BadRequestError": "BadRequestError",
    "AuthenticationError": "AuthenticationError",
    "PermissionDeniedError": "PermissionDeniedError",
    "NotFoundError": "NotFoundError",
    "ConflictError": "ConflictError",
    "UnprocessableEntityError": "UnprocessableEntityError",
    "RateLimitError": "RateLimitError",
    "InternalServerError": "InternalServerError",
}
_rebased = False


def _rebase() -> None:
    """Add each aigate class's openai counterpart to its bases, once, in place.

    Done when aigate is imported after openai, else by the first error created once openai
    is in ``sys.modules``. The classes themselves change (not subclasses of them), so
    ``type(exc) is aigate.RateLimitError`` still holds, every subclass follows (Python
    recomputes their MRO), and errors created earlier become openai instances too.
    """
    global _rebased
    _rebased = True
    import openai  # already imported: the callers check sys.modules

    for name, theirs in OPENAI_COUNTERPARTS.items():
        cls = globals()[name]
        base = getattr(openai, theirs, None)
        if isinstance(base, type) and not issubclass(cls, base):
            cls.__bases__ = (*cls.__bases__, base)


def _rebuild(cls: type[_E], args: tuple[Any, ...]) -> _E:
    error = cls.__new__(cls, *args)
    error.args = args
    return error


class AigateError(Exception):
    """Base of every error aigate raises."""

    def __new__(cls: type[_E], *args: Any, **kwargs: Any) -> _E:
        if not _rebased and "openai" in sys.modules:
            _rebase()
        return Exception.__new__(cls, *args)

    def __init__(self, message: str) -> None:
        # Exception's own __init__, not super(): with openai's class in the MRO, super()
        # would reach openai's constructors, which take other arguments.
        Exception.__init__(self, message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # State restored as is: the constructors take keyword-only arguments (response=...)
        # that Exception's default reduce (cls(*args)) would not pass.
        return (_rebuild, (type(self), self.args), self.__dict__)


class ConfigurationError(AigateError, ValueError):
    """The gateway's configuration is invalid. ``field`` names the offending setting."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidRequestError(AigateError, ValueError):
    """A call's arguments are invalid; raised before anything is sent.

    ``field`` is the dotted path of the bad argument (``messages.1.role``), ``expected``
    says what was expected there.
    """

    def __init__(self, message: str, *, field: str | None = None, expected: str | None = None):
        super().__init__(message)
        self.field = field
        self.expected = expected


class APIError(AigateError):
    """An error from a provider call. ``body`` is the provider's parsed error object."""

    #: Coarse class for the router: "transient" (retry, then fail over), "key" (this key is
    #: unusable: try another key), "request" (the request itself is wrong: never retry).
    error_class: str = "transient"

    def __init__(
        self,
        message: str,
        *,
        request: Request | None = None,
        body: object | None = None,
        provider: str | None = None,
        model: str | None = None,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.request = request
        self.body = body
        self.provider = provider
        self.model = model
        self.code = code
        self.type = type
        self.param = param


class APIConnectionError(APIError):
    """The provider could not be reached, or the connection broke before a response."""

    def __init__(self, message: str = "Connection error.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, message: str = "Request timed out.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class APIResponseValidationError(APIError):
    """A successful status whose body is not in the provider's documented format."""

    error_class = "transient"


class StreamError(APIError):
    """An error event inside a stream that began with a 200 (OpenRouter, Anthropic ``error``)."""


class APIStatusError(APIError):
    """The provider answered with a non-2xx status."""

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        response: Response,
        status_code: int | None = None,
        rate_limit: RateLimitInfo | None = None,
        request_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("request", response._request)
        super().__init__(message, **kwargs)
        self.response = response
        self.status_code = status_code if status_code is not None else response.status_code
        self.rate_limit = rate_limit
        self.request_id = request_id


class BadRequestError(APIStatusError):
    status_code = 400
    error_class = "request"


class ContextLengthExceededError(BadRequestError):
    """The prompt plus requested output does not fit the model's context window."""


class ContentPolicyError(BadRequestError):
    """The provider refused the request under its content policy."""


class AuthenticationError(APIStatusError):
    status_code = 401
    error_class = "key"


class PaymentRequiredError(APIStatusError):
    status_code = 402
    error_class = "key"


class PermissionDeniedError(APIStatusError):
    status_code = 403
    error_class = "key"


class NotFoundError(APIStatusError):
    status_code = 404
    error_class = "request"


class ConflictError(APIStatusError):
    status_code = 409
    error_class = "transient"


class UnprocessableEntityError(APIStatusError):
    status_code = 422
    error_class = "request"


class RateLimitError(APIStatusError):
    """429. ``error_class`` is "key" when the key's quota is exhausted (``insufficient_quota``)."""

    status_code = 429


class InternalServerError(APIStatusError):
    """5xx, including Anthropic's 529 overloaded."""

    status_code = 500


class AllTargetsFailed(AigateError):
    """Every target a call could use failed. ``attempts`` lists each try, ``errors`` each error.

    ``retry_at`` (epoch seconds) says when the earliest target is expected to accept calls
    again, where the router knows it.
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: Sequence[Attempt],
        errors: Sequence[BaseException],
        retry_at: float | None = None,
    ) -> None:
        super().__init__(message)
        self.attempts = list(attempts)
        self.errors = list(errors)
        self.retry_at = retry_at

    @property
    def last_error(self) -> BaseException | None:
        return self.errors[-1] if self.errors else None


class StreamInterrupted(AigateError):
    """A stream broke after content had reached the caller; never a silent short answer.

    ``partial`` is the completion assembled from what arrived (content, tool calls, usage so
    far); the cause is chained as ``__cause__``.
    """

    def __init__(
        self, message: str, *, partial: ChatCompletion, usage: Usage | None = None
    ) -> None:
        super().__init__(message)
        self.partial = partial
        self.usage = usage


class BudgetExceeded(AigateError):
    """A hard budget has no room for the call's worst-case cost. Amounts are in USD (or
    tokens/requests for such limits, as ``unit`` says)."""

    def __init__(
        self,
        message: str,
        *,
        scope: str,
        limit: Decimal,
        spent: Decimal,
        reserved: Decimal,
        estimate: Decimal,
        resets_at: datetime | None,
        unit: str = "usd",
    ) -> None:
        super().__init__(message)
        self.scope = scope
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.estimate = estimate
        self.resets_at = resets_at
        self.unit = unit


class RateLimited(AigateError):
    """A client-side rate limit (rpm/tpm) has no room now; ``retry_after_s`` says when."""

    def __init__(self, message: str, *, scope: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.scope = scope
        self.retry_after_s = retry_after_s


if "openai" in sys.modules:  # the application imported openai first
    _rebase()
