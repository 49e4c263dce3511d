"""Issue 14.7 and 14.9: the library's own errors say "did you mean ...", from known names."""

from __future__ import annotations

import pytest

import aigate
from aigate.testing import FakeTransport

HI = [{"role": "user", "content": "Hi"}]


def _gateway(**extra: object) -> aigate.Gateway:
    return aigate.Gateway(
        providers={"openai": {"api_keys": ["k"]}},
        routes={"fast": ["openai/gpt-4o-mini"]},
        transport=FakeTransport(),
        **extra,  # type: ignore[arg-type]
    )


class TestUnknownModel:
    def test_bare_model_suggests_the_provider_that_serves_it(self) -> None:
        gw = _gateway()
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert info.value.field == "model"
        assert "did you mean 'openai/gpt-4o-mini'?" in str(info.value)
        gw.close()

    def test_bare_model_suggests_every_configured_provider_of_its_kind(self) -> None:
        gw = aigate.Gateway(
            providers={
                "openai": {"api_keys": ["k"]},
                "work": {"kind": "openai", "api_keys": ["k"]},
            },
            transport=FakeTransport(),
        )
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert "'openai/gpt-4o-mini'" in str(info.value)
        assert "'work/gpt-4o-mini'" in str(info.value)
        gw.close()

    def test_fake_provider_is_matched_by_its_name(self) -> None:
        gw = aigate.Gateway(providers={"openai": {"kind": "fake"}})
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert "did you mean 'openai/gpt-4o-mini'?" in str(info.value)
        gw.close()

    def test_bare_model_of_an_unconfigured_provider_names_its_kind(self) -> None:
        gw = _gateway()
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat.completions.create(model="claude-sonnet-4-5", messages=HI)
        message = str(info.value)
        assert "anthropic" in message and "no provider of this gateway" in message
        gw.close()

    def test_misspelt_route(self) -> None:
        gw = _gateway()
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat.completions.create(model="fsat", messages=HI)
        assert info.value.field == "model"
        assert "did you mean 'fast'?" in str(info.value)
        gw.close()

    def test_misspelt_provider(self) -> None:
        gw = _gateway()
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat.completions.create(model="opnai/gpt-4o-mini", messages=HI)
        assert info.value.field == "model"
        assert "did you mean 'openai/gpt-4o-mini'?" in str(info.value)
        gw.close()

    def test_embeddings_and_async_suggest_too(self) -> None:
        import asyncio

        gw = _gateway()
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.embeddings.create(model="opnai/text-embedding-3-small", input="x")
        assert "did you mean 'openai/text-embedding-3-small'?" in str(info.value)
        gw.close()

        async def main() -> str:
            agw = aigate.AsyncGateway(
                providers={"openai": {"api_keys": ["k"]}},
                routes={"fast": ["openai/gpt-4o-mini"]},
                transport=FakeTransport(),
            )
            try:
                await agw.chat.completions.create(model="fsat", messages=HI)
            except aigate.InvalidRequestError as exc:
                return str(exc)
            finally:
                await agw.aclose()
            return ""

        assert "did you mean 'fast'?" in asyncio.run(main())

    def test_nothing_close_keeps_the_plain_message(self) -> None:
        gw = _gateway()
        with pytest.raises(aigate.InvalidRequestError) as info:
            gw.chat.completions.create(model="zzzzqqq", messages=HI)
        assert "did you mean" not in str(info.value)
        assert "expected '<provider>/<model>'" in str(info.value)
        gw.close()

    def test_route_target_with_a_misspelt_provider_is_a_configuration_error(self) -> None:
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway(
                providers={"openai": {"api_keys": ["k"]}},
                routes={"fast": ["opnai/gpt-4o-mini"]},
                transport=FakeTransport(),
            )
        assert "did you mean 'openai/gpt-4o-mini'?" in str(info.value)
        assert info.value.field is not None and info.value.field.startswith("routes.fast")


class TestUnknownKind:
    def test_explicit_kind_lists_kinds_and_says_openai_compatible(self) -> None:
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway(providers={"local": {"kind": "ollama", "base_url": "http://h/v1"}})
        message = str(info.value)
        assert info.value.field == "providers.local.kind"
        assert "set kind" not in message
        assert "kind 'openai' with its base_url" in message
        assert "'anthropic'" in message  # the known kinds are listed

    def test_explicit_misspelt_kind_suggests(self) -> None:
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway(providers={"work": {"kind": "opneai", "api_keys": ["k"]}})
        assert "did you mean 'openai'?" in str(info.value)
        assert "set kind" not in str(info.value)

    def test_implicit_kind_says_to_set_kind(self) -> None:
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway(providers={"opneai": {"api_keys": ["k"]}})
        message = str(info.value)
        assert "did you mean 'openai'?" in message and "set its kind" in message
        assert info.value.field == "providers.opneai.kind"
