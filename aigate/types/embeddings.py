"""The parameters of ``embeddings.create``, typed as ``openai.types.EmbeddingCreateParams``
(openai 3.60) plus aigate's own."""

from collections.abc import Iterable
from typing import Literal, TypeAlias, Union

from typing_extensions import Required, TypedDict

from ._shared import (
    Body,
    CacheOptions,
    Headers,
    Metadata,
    Omitted,
    Query,
    SequenceNotStr,
    TimeoutTypes,
)

__all__ = ["EmbeddingCreateParams", "EmbeddingInput"]

#: One string, several strings, one token list, or several token lists.
EmbeddingInput: TypeAlias = Union[str, SequenceNotStr[str], Iterable[int], Iterable[Iterable[int]]]


class EmbeddingCreateParams(TypedDict, total=False):
    input: Required[EmbeddingInput]
    model: Required[str]
    """A route alias or ``provider/model`` (``"openai/text-embedding-3-small"``)."""
    dimensions: int | Omitted | None
    encoding_format: Literal["float", "base64"] | Omitted
    user: str | Omitted | None
    extra_headers: Headers | None
    extra_query: Query | None
    extra_body: Body | None
    timeout: TimeoutTypes
    # aigate's own
    metadata: Metadata | None
    """Ledger tags (project, feature...): recorded, never sent (OpenAI's embeddings take none)."""
    cache: bool | CacheOptions | None
    api_key: str | None
    """A virtual key (``gk_...``): the call runs as that key."""
