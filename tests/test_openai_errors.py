"""aigate's errors are also instances of the matching ``openai`` error class once the
``openai`` package is imported (issue 15): existing ``except openai.X:`` handlers keep
working. Checked against the real openai package; and ``import aigate`` never imports it.
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from typing import Any

import httpx
import openai
import pytest

import aigate
from aigate import _exceptions
from aigate.testing import FakeTransport, error

HI = [{"role": "user", "content": "Hi"}]


def _status(cls: type[aigate.APIStatusError], status: int) -> aigate.APIStatusError:
    request = httpx.Request("POST", "https://api.openai.com/v1/chat/completions")
    return cls("boom", response=httpx.Response(status, request=request), provider="openai")


STATUS_CASES = [
    (aigate.BadRequestError, 400, openai.BadRequestError),
    (aigate.ContextLengthExceededError, 400, openai.BadRequestError),
    (aigate.ContentPolicyError, 400, openai.BadRequestError),
    (aigate.AuthenticationError, 401, openai.AuthenticationError),
    (aigate.PaymentRequiredError, 402, openai.APIStatusError),
    (aigate.PermissionDeniedError, 403, openai.PermissionDeniedError),
    (aigate.NotFoundError, 404, openai.NotFoundError),
    (aigate.ConflictError, 409, openai.ConflictError),
    (aigate.UnprocessableEntityError, 422, openai.UnprocessableEntityError),
    (aigate.RateLimitError, 429, openai.RateLimitError),
    (aigate.InternalServerError, 500, openai.InternalServerError),
    (aigate.APIStatusError, 418, openai.APIStatusError),
]


@pytest.mark.parametrize(("cls", "status", "theirs"), STATUS_CASES)
def test_status_errors_are_openai_errors(
    cls: type[aigate.APIStatusError], status: int, theirs: type[Exception]
) -> None:
    exc = _status(cls, status)
    assert isinstance(exc, cls) and isinstance(exc, theirs)
    assert isinstance(exc, openai.APIStatusError) and isinstance(exc, openai.APIError)
    assert type(exc) is cls
    assert exc.status_code == status and exc.message == "boom" and str(exc) == "boom"
    assert exc.body is None and exc.code is None
    with pytest.raises(theirs):
        raise exc


def test_other_errors() -> None:
    assert isinstance(aigate.APITimeoutError(), openai.APITimeoutError)
    assert isinstance(aigate.APITimeoutError(), openai.APIConnectionError)
    assert isinstance(aigate.APIConnectionError(), openai.APIConnectionError)
    assert isinstance(aigate.APIResponseValidationError("bad"), openai.APIResponseValidationError)
    assert isinstance(aigate.StreamError("event"), openai.APIError)
    for exc in (
        aigate.InvalidRequestError("x", field="x"),
        aigate.ConfigurationError("x"),
        aigate.AllTargetsFailed("x", attempts=[], errors=[]),
        aigate.RateLimited("x", scope="global", retry_after_s=1.0),
    ):
        assert isinstance(exc, openai.OpenAIError)
        assert not isinstance(exc, openai.APIError)
    # still the builtin bases aigate promises
    assert isinstance(aigate.InvalidRequestError("x"), ValueError)


def test_openai_handler_catches_a_gateway_rate_limit() -> None:
    fake = FakeTransport([error(429, "slow down")])
    with aigate.Gateway(providers={"openai": {"api_keys": ["sk-x"]}}, transport=fake) as gw:
        try:
            gw.chat.completions.create(model="openai/gpt-4o-mini", messages=HI)
        except openai.RateLimitError as exc:
            caught: Any = exc
        except aigate.AllTargetsFailed as exc:  # a single target may surface wrapped
            caught = exc.last_error
            assert isinstance(caught, openai.RateLimitError)
    assert isinstance(caught, aigate.RateLimitError) and caught.status_code == 429


def test_errors_pickle_and_copy() -> None:
    exc = aigate.InvalidRequestError("bad", field="x", expected="y")
    again = pickle.loads(pickle.dumps(exc))
    assert isinstance(again, aigate.InvalidRequestError) and isinstance(again, openai.OpenAIError)
    assert (again.field, again.expected, str(again)) == ("x", "y", "bad")
    clone = copy.copy(
        aigate.BudgetExceeded(
            "over",
            scope="global",
            limit=1,
            spent=1,
            reserved=0,
            estimate=1,
            resets_at=None,  # type: ignore[arg-type]
        )
    )
    assert clone.scope == "global" and isinstance(clone, openai.OpenAIError)


def test_user_subclass_follows() -> None:
    class MyRateLimit(aigate.RateLimitError):
        pass

    assert isinstance(_status(MyRateLimit, 429), openai.RateLimitError)


def test_import_aigate_does_not_import_openai() -> None:
    code = (
        "import sys, aigate\n"
        "early = aigate.APITimeoutError()\n"
        "assert 'openai' not in sys.modules, 'openai imported'\n"
        "import openai\n"
        "assert not isinstance(early, openai.APIError)  # not yet rebased\n"
        "late = aigate.APIConnectionError()\n"
        "assert isinstance(late, openai.APIConnectionError)\n"
        "assert isinstance(early, openai.APITimeoutError)  # the class itself changed\n"
        "assert type(late) is aigate.APIConnectionError\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_counterparts_exist_in_openai() -> None:
    for name, theirs in _exceptions.OPENAI_COUNTERPARTS.items():
        assert hasattr(aigate, name), name
        assert issubclass(getattr(openai, theirs), openai.OpenAIError), theirs
