"""A transcription answer that carries openai's ``usage`` is recorded (it crashed the
gateway with an AttributeError, and no ledger row was written: the usage was taken for an
embeddings usage). Bodies from OpenAI's API reference (Audio, createTranscription: the
``usage`` object, ``type`` "tokens" for gpt-4o-transcribe and "duration" for whisper-1)."""

from __future__ import annotations

from typing import Any

import pytest
import respx

URL = "https://api.openai.com/v1/audio/transcriptions"
TOKENS = {
    "type": "tokens",
    "input_tokens": 14,
    "input_token_details": {"text_tokens": 0, "audio_tokens": 14},
    "output_tokens": 45,
    "total_tokens": 59,
}
DURATION = {"type": "duration", "seconds": 3}


@pytest.mark.parametrize(
    ("model", "usage", "tokens"),
    [("gpt-4o-transcribe", TOKENS, (14, 45)), ("whisper-1", DURATION, (0, 0))],
    ids=["tokens", "duration"],
)
def test_a_transcription_with_usage_is_recorded(
    make_gateway: Any, model: str, usage: dict[str, Any], tokens: tuple[int, int]
) -> None:
    with respx.mock() as router:
        router.post(URL).respond(200, json={"text": "Imagine the wildest idea.", "usage": usage})
        gw = make_gateway(
            http="httpx", providers={"openai": {"api_keys": ["sk"]}}, ledger="memory://"
        )
        r = gw.transcribe(model=f"openai/{model}", file=b"ID3fake-audio")
    assert r.text == "Imagine the wildest idea."
    assert r.usage is not None and r.usage.type == usage["type"]
    (row,) = gw.gw._core.ledger.query()
    assert row.status == "ok" and row.kind == "transcription"
    assert (row.prompt_tokens, row.completion_tokens) == tokens
