"""aigate's pytest plugin: fixtures wired to the fake provider, the marker, cassettes."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from importlib.metadata import entry_points

import pytest

import aigate
from aigate.testing import FakeTransport, error, reply

pytest_plugins = ["pytester"]


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    """Installing aigate is enough: pytest loads the plugin by itself."""
    found = [e for e in entry_points(group="pytest11") if e.name == "aigate"]
    assert [e.value for e in found] == ["aigate.pytest_plugin"]


class TestFixtures:
    def test_gateway_answers_from_the_fake(
        self, aigate_fake: FakeTransport, aigate_gateway: aigate.Gateway
    ) -> None:
        """Replies come from the fixture's script; the request is visible to the test."""
        aigate_fake.add(reply("Scripted!"))
        r = aigate_gateway.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
        assert r.choices[0].message.content == "Scripted!"
        assert aigate_fake.last_request.json["messages"][0]["content"] == "Hi"
        assert r.gateway is not None and r.gateway.cost_usd is not None
        assert r.gateway.cost_usd > Decimal(0)  # priced like the real model

    def test_default_route_fails_over_to_anthropic(
        self, aigate_fake: FakeTransport, aigate_gateway: aigate.Gateway
    ) -> None:
        aigate_fake.add(error(503), reply("from the second target"))
        r = aigate_gateway.chat.completions.create(
            model="default", messages=[{"role": "user", "content": "Hi"}]
        )
        assert r.gateway is not None
        assert r.gateway.provider == "anthropic"
        assert [a.status_code for a in r.gateway.attempts] == [503, 200]
        assert r.gateway.cost_usd  # the fallback model is in the catalog: priced, not None

    def test_usage_reports_from_the_memory_ledger(self, aigate_gateway: aigate.Gateway) -> None:
        for _ in range(3):
            aigate_gateway.chat.completions.create(
                model="openai/gpt-4o-mini",
                messages=[{"role": "user", "content": "Hi"}],
                metadata={"project": "p1"},
            )
        (row,) = aigate_gateway.usage.summary(group_by=["project"])
        assert row.group == {"project": "p1"} and row.requests == 3

    @pytest.mark.aigate(routes={"cheap": ["openai/gpt-4o-mini"]}, ledger=None)
    def test_marker_changes_the_config(self, aigate_gateway: aigate.Gateway) -> None:
        assert aigate_gateway.models.routes() == {"cheap": ["openai/gpt-4o-mini"]}
        assert aigate_gateway.config.ledger is None

    def test_each_test_gets_a_fresh_fake(self, aigate_fake: FakeTransport) -> None:
        assert aigate_fake.calls == []

    def test_async_gateway(
        self, aigate_fake: FakeTransport, aigate_async_gateway: aigate.AsyncGateway
    ) -> None:
        aigate_fake.add(reply("async hi"))

        async def run() -> str | None:
            r = await aigate_async_gateway.chat.completions.create(
                model="anthropic/claude-haiku-4-5",
                messages=[{"role": "user", "content": "Hi"}],
            )
            return r.choices[0].message.content

        assert asyncio.run(run()) == "async hi"


def test_plugin_in_an_application_test_suite(pytester: pytest.Pytester) -> None:
    """An application's own tests use the fixtures, the marker and cassettes (a missing
    cassette skips with the command to record it)."""
    pytester.makepyfile(
        test_app="""
        import pytest
        from aigate.testing import reply

        def summarize(gw, text):
            r = gw.chat.completions.create(
                model="default", messages=[{"role": "user", "content": text}]
            )
            return r.choices[0].message.content

        def test_summary(aigate_fake, aigate_gateway):
            aigate_fake.add(reply("short"))
            assert summarize(aigate_gateway, "long text") == "short"
            assert aigate_fake.last_request.json["model"] == "gpt-4o-mini"

        @pytest.mark.aigate(routes={"default": ["anthropic/claude-haiku-4-5"]})
        def test_marker(aigate_fake, aigate_gateway):
            summarize(aigate_gateway, "x")
            assert aigate_fake.last_request.json["model"] == "claude-haiku-4-5"

        def test_cassette(aigate_cassette):
            aigate_cassette("never-recorded")
        """
    )
    # -p no:aigate + -p module: the same plugin whether or not the entry point is installed
    result = pytester.runpytest_inprocess(
        "-p", "no:aigate", "-p", "aigate.pytest_plugin", "--strict-markers", "-rs"
    )
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*no cassette*never-recorded.json*--aigate-record*"])


def test_cassette_fixture_records_then_replays(pytester: pytest.Pytester) -> None:
    """--aigate-record writes the cassette (through a recording transport); the next run
    replays it."""
    pytester.makepyfile(
        test_cassette="""
        import httpx
        from aigate.recording import RecordingTransport, ReplayTransport

        def handler(request):
            return httpx.Response(200, json={"ok": True})

        def test_it(aigate_cassette, request):
            transport = aigate_cassette("hello")
            if request.config.getoption("--aigate-record"):
                assert isinstance(transport, RecordingTransport)
                transport.inner = httpx.MockTransport(handler)  # no network in this test
            else:
                assert isinstance(transport, ReplayTransport)
            with httpx.Client(transport=transport) as client:
                assert client.get("https://x.example/").json() == {"ok": True}
        """
    )
    args = ("-p", "no:aigate", "-p", "aigate.pytest_plugin")
    pytester.runpytest_inprocess(*args, "--aigate-record").assert_outcomes(passed=1)
    assert (pytester.path / "cassettes" / "hello.json").exists()
    pytester.runpytest_inprocess(*args).assert_outcomes(passed=1)
