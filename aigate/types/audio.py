"""The parameters of ``audio.transcriptions.create``, typed as
``openai.types.audio.TranscriptionCreateParams`` (openai 3.60) plus aigate's own.

openai's ``keywords``, ``languages`` and ``known_speaker_*`` are absent: aigate does not
accept them yet (pass them in ``extra_body``), nor ``stream`` (streaming transcriptions are
not supported).
"""

import os
from collections.abc import Mapping
from typing import IO, Literal, TypeAlias, Union

from typing_extensions import Required, TypedDict

from ._shared import Body, Headers, Metadata, Omitted, Query, TimeoutTypes

__all__ = [
    "AudioResponseFormat",
    "ChunkingStrategy",
    "FileContent",
    "FileTypes",
    "TranscriptionCreateParams",
]

#: openai's ``FileContent``: a binary file object, bytes, or a path.
FileContent: TypeAlias = Union[IO[bytes], bytes, os.PathLike[str]]
#: openai's ``FileTypes``: the content, or ``(filename, content[, content_type[, headers]])``.
FileTypes: TypeAlias = Union[
    FileContent,
    tuple[Union[str, None], FileContent],
    tuple[Union[str, None], FileContent, Union[str, None]],
    tuple[Union[str, None], FileContent, Union[str, None], Mapping[str, str]],
]
AudioResponseFormat: TypeAlias = Literal[
    "json", "text", "srt", "verbose_json", "vtt", "diarized_json"
]


class ChunkingStrategyVadConfig(TypedDict, total=False):
    type: Required[Literal["server_vad"]]
    prefix_padding_ms: int
    silence_duration_ms: int
    threshold: float


ChunkingStrategy: TypeAlias = Union[Literal["auto"], ChunkingStrategyVadConfig]


class TranscriptionCreateParams(TypedDict, total=False):
    file: Required[FileTypes]
    model: Required[str]
    chunking_strategy: ChunkingStrategy | Omitted | None
    include: list[Literal["logprobs"]] | Omitted
    language: str | Omitted
    prompt: str | Omitted
    response_format: AudioResponseFormat | Omitted
    """For ``text``/``srt``/``vtt`` the raw body is in ``Transcription.text``."""
    temperature: float | Omitted
    timestamp_granularities: list[Literal["word", "segment"]] | Omitted
    extra_headers: Headers | None
    extra_query: Query | None
    extra_body: Body | None
    timeout: TimeoutTypes
    # aigate's own
    metadata: Metadata | None
    """Ledger tags: recorded, never sent."""
