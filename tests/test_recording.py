"""aigate.recording: record exchanges once (secrets scrubbed), replay them with no network."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import aigate
from aigate.observe import redact
from aigate.recording import CassetteMiss, RecordingTransport, ReplayTransport
from aigate.testing import FakeTransport, reply

MESSAGES = [{"role": "user", "content": "Say hi"}]


def canary(prefix: str = "sk-") -> str:
    return f"{prefix}canary{uuid.uuid4().hex}"


def scan_for_secrets(text: str, *secrets: str) -> None:
    """The cassette holds none of the given values, nothing key-shaped (the log redactor
    changes nothing), and no secret header with a value other than the mask."""
    for secret in secrets:
        assert secret not in text
        assert secret.split("canary", 1)[-1] not in text
    assert redact(text) == text
    data = json.loads(text)
    for interaction in data["interactions"]:
        for side in ("request", "response"):
            for name, value in interaction[side]["headers"]:
                if name.lower() in ("authorization", "x-api-key", "x-goog-api-key", "api-key"):
                    assert value == "[REDACTED]"


class TestRecordThroughTheGateway:
    def test_record_then_replay_chat_and_stream(self, tmp_path: Path) -> None:
        """A recorded session replays to the same answers, with a different key and no
        provider behind it; the stream comes back chunk for chunk."""
        key = canary()
        path = tmp_path / "cassettes" / "chat.json"
        fake = FakeTransport([reply("Hello there!"), reply("one two three four")])
        recorder = RecordingTransport(fake, path)
        with aigate.Gateway(providers={"openai": {"api_keys": [key]}}, transport=recorder) as gw:
            first = gw.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
            with gw.chat.completions.create(
                model="openai/gpt-4o-mini", messages=MESSAGES, stream=True
            ) as stream:
                live_chunks = [c.model_dump() for c in stream]

        text = path.read_text()
        scan_for_secrets(text, key)
        data = json.loads(text)
        assert len(data["interactions"]) == 2
        streamed = data["interactions"][1]["response"]
        assert len(streamed["chunks"]) > 4  # one SSE event per chunk, as sent
        assert "content-type" in dict(streamed["headers"])

        replay = ReplayTransport(path)
        other = {"openai": {"api_keys": ["sk-replay-key-000000"]}}
        with aigate.Gateway(providers=other, transport=replay) as gw:
            again = gw.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
            with gw.chat.completions.create(
                model="openai/gpt-4o-mini", messages=MESSAGES, stream=True
            ) as stream:
                replayed_chunks = [c.model_dump() for c in stream]
        assert again.choices[0].message.content == first.choices[0].message.content
        assert again.usage == first.usage
        assert replayed_chunks == live_chunks
        assert replay.unused == []
        assert len(replay.calls) == 2

    def test_async_record_and_replay(self, tmp_path: Path) -> None:
        """The transports work for AsyncGateway too (and async streams)."""
        asyncio.run(self._async_record_and_replay(tmp_path))

    async def _async_record_and_replay(self, tmp_path: Path) -> None:
        key = canary()
        path = tmp_path / "async.json"
        recorder = RecordingTransport(FakeTransport([reply("async hello world")]), path)
        async with aigate.AsyncGateway(
            providers={"openai": {"api_keys": [key]}}, transport=recorder
        ) as gw:
            stream = await gw.chat.completions.create(
                model="openai/gpt-4o-mini", messages=MESSAGES, stream=True
            )
            live = [c.model_dump() async for c in stream]
        scan_for_secrets(path.read_text(), key)
        async with aigate.AsyncGateway(
            providers={"openai": {"api_keys": ["sk-other-000000"]}},
            transport=ReplayTransport(path),
        ) as gw:
            stream = await gw.chat.completions.create(
                model="openai/gpt-4o-mini", messages=MESSAGES, stream=True
            )
            assert [c.model_dump() async for c in stream] == live

    def test_replay_of_an_error_still_fails_over(self, tmp_path: Path) -> None:
        """Recorded errors replay as errors, so failover tests run from a cassette."""
        path = tmp_path / "failover.json"
        fake = FakeTransport().when("gpt-4o", aigate.testing.error(503)).when("gpt-4o-mini", "ok")
        providers = {"openai": {"api_keys": [canary()]}}
        routes = {"smart": ["openai/gpt-4o", "openai/gpt-4o-mini"]}
        with aigate.Gateway(
            providers=providers, routes=routes, transport=RecordingTransport(fake, path)
        ) as gw:
            gw.chat.completions.create(model="smart", messages=MESSAGES)
        with aigate.Gateway(
            providers=providers, routes=routes, transport=ReplayTransport(path)
        ) as gw:
            r = gw.chat.completions.create(model="smart", messages=MESSAGES)
        assert r.gateway is not None
        assert [a.status_code for a in r.gateway.attempts] == [503, 200]


def echo_handler(request: httpx.Request) -> httpx.Response:
    """A provider that quotes the key back in its error body (some do)."""
    names = ("x-api-key", "x-goog-api-key", "api-key", "authorization")
    key = next((request.headers[n] for n in names if n in request.headers), "")
    key = key or request.url.params.get("key", "")
    return httpx.Response(
        401,
        json={"error": {"message": f"invalid key {key}"}},
        headers={"set-cookie": f"session={uuid.uuid4().hex}"},
    )


class TestScrubbing:
    @pytest.mark.parametrize(
        ("headers", "params"),
        [
            ({"x-api-key": canary("sk-ant-")}, {}),
            ({"x-goog-api-key": canary("AIza")}, {}),
            ({"api-key": canary("azure-")}, {}),
            ({"authorization": f"Bearer {canary()}"}, {}),
            ({}, {"key": canary("AIza"), "alt": "sse"}),
        ],
    )
    def test_secret_headers_and_params(
        self, tmp_path: Path, headers: dict[str, str], params: dict[str, str]
    ) -> None:
        """Every secret header and key= parameter is masked, and so is the same value
        echoed in the response body."""
        path = tmp_path / "scrub.json"
        secrets = [*headers.values(), params.get("key", "")]
        secrets += [v.split(" ", 1)[1] for v in secrets if v.startswith("Bearer ")]
        with httpx.Client(
            transport=RecordingTransport(httpx.MockTransport(echo_handler), path)
        ) as client:
            r = client.post(
                "https://provider.example/v1/messages", headers=headers, params=params, json={}
            )
            assert r.status_code == 401
        text = path.read_text()
        scan_for_secrets(text, *filter(None, secrets))
        (interaction,) = json.loads(text)["interactions"]
        if params:
            assert "key=[REDACTED]" in interaction["request"]["url"]
            assert "alt=sse" in interaction["request"]["url"]
        assert dict(interaction["response"]["headers"])["set-cookie"] == "[REDACTED]"
        # and the masked cassette still replays: the URL matches with the key masked
        with httpx.Client(transport=ReplayTransport(path)) as client:
            again = client.post(
                "https://provider.example/v1/messages", headers=headers, params=params, json={}
            )
        assert again.status_code == 401
        assert "[REDACTED]" in again.json()["error"]["message"]

    def test_extra_secrets_are_masked_everywhere(self, tmp_path: Path) -> None:
        path = tmp_path / "extra.json"
        odd = f"tenant-token-{uuid.uuid4().hex}"

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, text=f"hello {odd}")

        recorder = RecordingTransport(httpx.MockTransport(handler), path, secrets=[odd])
        with httpx.Client(transport=recorder) as client:
            client.post("https://x.example/", content=f"body {odd}")
        assert odd not in path.read_text()
        assert recorder.interactions[0]["request"]["body"] == {"text": "body [REDACTED]"}


class TestBodies:
    def test_gzip_responses_are_stored_decoded(self, tmp_path: Path) -> None:
        """A compressed answer is stored as readable text and replays as such."""
        path = tmp_path / "gzip.json"
        payload = json.dumps({"hello": "world" * 20}).encode()

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                200,
                content=gzip.compress(payload),
                headers={"content-encoding": "gzip", "content-type": "application/json"},
            )

        with httpx.Client(transport=RecordingTransport(httpx.MockTransport(handler), path)) as c:
            assert c.get("https://x.example/").json()["hello"].startswith("world")
        stored = json.loads(path.read_text())["interactions"][0]["response"]
        assert "content-encoding" not in dict(stored["headers"])
        assert json.loads("".join(chunk["text"] for chunk in stored["chunks"])) == json.loads(
            payload
        )
        with httpx.Client(transport=ReplayTransport(path)) as c:
            assert c.get("https://x.example/").content == payload

    def test_binary_bodies_round_trip(self, tmp_path: Path) -> None:
        path = tmp_path / "binary.json"
        blob = bytes(range(256)) * 3

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=request.content[::-1])

        with httpx.Client(transport=RecordingTransport(httpx.MockTransport(handler), path)) as c:
            c.post("https://x.example/upload", content=blob)
        entry = json.loads(path.read_text())["interactions"][0]
        assert "base64" in entry["request"]["body"]
        with httpx.Client(transport=ReplayTransport(path)) as c:
            assert c.post("https://x.example/upload", content=blob).content == blob[::-1]

    def test_a_cut_stream_replays_cut(self, tmp_path: Path) -> None:
        """A stream the provider broke is recorded as incomplete and breaks on replay too."""
        path = tmp_path / "cut.json"
        fake = FakeTransport([reply("a b c d e f", cut_after=3)])
        with httpx.Client(transport=RecordingTransport(fake, path)) as client:
            request_body = {"model": "m", "stream": True, "messages": MESSAGES}
            with (
                pytest.raises(httpx.RemoteProtocolError),
                client.stream(
                    "POST", "https://x.example/v1/chat/completions", json=request_body
                ) as r,
            ):
                for _ in r.iter_raw():
                    pass
        stored = json.loads(path.read_text())["interactions"][0]["response"]
        assert stored["complete"] is False and len(stored["chunks"]) == 3
        seen: list[bytes] = []
        with (
            httpx.Client(transport=ReplayTransport(path)) as client,
            pytest.raises(httpx.RemoteProtocolError),
            client.stream("POST", "https://x.example/v1/chat/completions", json=request_body) as r,
        ):
            for chunk in r.iter_raw():
                seen.append(chunk)
        assert len(seen) == 3


class TestReplayMatching:
    @pytest.fixture(name="cassette")
    def _cassette(self, tmp_path: Path) -> Path:
        path = tmp_path / "three.json"
        counter = iter(range(100))

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"n": next(counter), "asked": request.url.path})

        with httpx.Client(transport=RecordingTransport(httpx.MockTransport(handler), path)) as c:
            c.post("https://x.example/a", json={"q": 1, "z": 2})
            c.post("https://x.example/a", json={"q": 1, "z": 2})
            c.post("https://x.example/b", json={"q": 2})
        return path

    def test_by_request_in_order_of_recording(self, cassette: Path) -> None:
        """Same request twice gets the two recordings in order; JSON key order is ignored."""
        with httpx.Client(transport=ReplayTransport(cassette)) as c:
            assert c.post("https://x.example/b", json={"q": 2}).json()["n"] == 2
            body = b'{"z": 2, "q": 1}'
            assert c.post("https://x.example/a", content=body).json()["n"] == 0
            assert c.post("https://x.example/a", json={"q": 1, "z": 2}).json()["n"] == 1
            with pytest.raises(CassetteMiss, match="no recorded exchange left for POST"):
                c.post("https://x.example/a", json={"q": 1, "z": 2})
            with pytest.raises(CassetteMiss):
                c.post("https://x.example/a", json={"q": 3})

    def test_allow_reuse(self, cassette: Path) -> None:
        with httpx.Client(transport=ReplayTransport(cassette, allow_reuse=True)) as c:
            answers = [c.post("https://x.example/b", json={"q": 2}).json()["n"] for _ in "abc"]
        assert answers == [2, 2, 2]

    def test_by_order(self, cassette: Path) -> None:
        with httpx.Client(transport=ReplayTransport(cassette, match="order")) as c:
            got = [c.get("https://anything.example/").json()["n"] for _ in range(3)]
        assert got == [0, 1, 2]

    def test_bad_arguments(self, cassette: Path, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="match must be"):
            ReplayTransport(cassette, match="fuzzy")
        other = tmp_path / "other.json"
        other.write_text(json.dumps({"interactions": []}))
        with pytest.raises(ValueError, match="not an aigate cassette"):
            ReplayTransport(other)

    def test_cassette_is_readable_json(self, cassette: Path) -> None:
        """People review cassettes in diffs: indented JSON, text bodies as text."""
        text = cassette.read_text()
        assert text.startswith('{\n  "version": 1')
        assert re.search(r'"text": "\{\\"q\\": ?1', text)


def test_recording_transport_repr_has_no_secret(tmp_path: Path) -> None:
    recorder: Any = RecordingTransport(FakeTransport(), tmp_path / "r.json")
    assert "FakeTransport" in repr(recorder) and "r.json" in repr(recorder)
