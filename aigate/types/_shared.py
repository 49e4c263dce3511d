"""Types every create() shares: openai's sentinels, headers, timeouts, aigate's cache option.

Own definitions, not imports of openai's: ``openai`` is not a dependency of aigate. They are
written so that openai's own values type-check here (``NOT_GIVEN``, ``omit``, an
``httpx.Timeout`` or ``httpx2.Timeout``).
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Literal, Protocol, SupportsIndex, TypeAlias, TypeVar, overload

from typing_extensions import TypedDict

__all__ = [
    "Body",
    "CacheOptions",
    "Headers",
    "Metadata",
    "Omitted",
    "Query",
    "SequenceNotStr",
    "TimeoutLike",
    "TimeoutTypes",
]

_T_co = TypeVar("_T_co", covariant=True)


class Omitted(Protocol):
    """openai's ``NOT_GIVEN`` / ``not_given`` / ``omit`` sentinels: a value whose truth is
    always ``False``. Passed for a parameter, the parameter counts as not given.

    (``None`` matches too; aigate treats a ``None`` parameter as not given as well.)
    """

    def __bool__(self) -> Literal[False]: ...


class TimeoutLike(Protocol):
    """A per-phase timeout: ``httpx.Timeout``, ``httpx2.Timeout`` or anything shaped alike."""

    @property
    def connect(self) -> float | None: ...
    @property
    def read(self) -> float | None: ...
    @property
    def write(self) -> float | None: ...
    @property
    def pool(self) -> float | None: ...


class SequenceNotStr(Protocol[_T_co]):
    """A sequence that is not a ``str`` (so ``stop="END"`` and ``stop=["END"]`` stay
    distinct types): the same trick as openai's ``SequenceNotStr``."""

    @overload
    def __getitem__(self, index: SupportsIndex, /) -> _T_co: ...
    @overload
    def __getitem__(self, index: slice, /) -> Sequence[_T_co]: ...
    def __contains__(self, value: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[_T_co]: ...
    def __reversed__(self) -> Iterator[_T_co]: ...


#: Seconds, a per-phase timeout, ``None`` for the provider's default, or ``NOT_GIVEN``.
TimeoutTypes: TypeAlias = float | TimeoutLike | Omitted | None
#: ``extra_headers``: header name to value (``omit`` drops a header, as in openai).
Headers: TypeAlias = Mapping[str, str | Omitted]
#: ``extra_query``: query parameter to value.
Query: TypeAlias = Mapping[str, object]
#: ``extra_body``: fields merged into the JSON body sent to the provider.
Body: TypeAlias = Mapping[str, object]
#: ``metadata``: string tags (OpenAI's limit: 16 pairs); aigate also writes them to the ledger.
Metadata: TypeAlias = Mapping[str, str]


class CacheOptions(TypedDict, total=False):
    """aigate's per-call ``cache=`` dict (``cache=True``/``False`` turns it on or off)."""

    ttl: float | None
    """Seconds the answer is kept (default: the route's, then the cache config's)."""
    namespace: str
    """A partition of the cache (added to the tenant scope)."""
    refresh: bool
    """Skip the lookup and overwrite the entry with a fresh answer."""
    mode: Literal["read_write", "read_only", "write_only"]
