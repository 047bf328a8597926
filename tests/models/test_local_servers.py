"""Local and slow servers: the default completion cap (dropped by a server that refuses it), and
request timeouts longer than the HTTP client's default."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from pilotbench.benchmark.types import ModelOutput
from pilotbench.config import DEFAULT_MAX_TOKENS, ModelConfig, request_params
from pilotbench.mock_server import MockConfig, MockServer
from pilotbench.models.base import ModelRequest
from pilotbench.models.lean import LeanOpenAIProvider
from pilotbench.models.openai_compat import OpenAICompatProvider

from .test_openai_compat import Gateway, bad_request, completion, request, run_calls


def test_a_server_that_rejects_max_tokens_gets_it_no_more() -> None:
    params = request_params(ModelConfig(provider="local"), "openai")
    assert params == {"max_tokens": DEFAULT_MAX_TOKENS}

    def answer(body: dict[str, Any]) -> httpx.Response:
        if "max_tokens" in body:  # how some gateways word it; no replacement named
            return bad_request("the parameter 'max_tokens' is not supported by this endpoint")
        return httpx.Response(200, json=completion())

    gateway = Gateway(answer, answer, answer)
    provider = gateway.provider()
    first, second = run_calls(provider, request(**params), request(**params))
    assert first.content == "ok" and second.content == "ok"
    assert [b.get("max_tokens") for b in gateway.bodies] == [DEFAULT_MAX_TOKENS, None, None]
    assert "max_tokens" in provider.rejected_params


@pytest.mark.parametrize("provider_class", [OpenAICompatProvider, LeanOpenAIProvider])
def test_a_long_request_timeout_outlasts_the_clients_default(provider_class) -> None:  # type: ignore[no-untyped-def]
    """Local models take minutes per call: the lane's request_timeout, not the HTTP client's
    default, bounds a call, on both HTTP paths."""

    async def main() -> ModelOutput:
        server = MockServer(MockConfig(latency=0.6))
        await server.start()
        provider = provider_class(kind="openai", base_url=server.base_url + "/v1", api_key="fake-key-0000",
                                  default_timeout=0.2)
        try:
            return await provider.generate(ModelRequest("sim/strong", [{"role": "user", "content": "hi"}], None), timeout=10)
        finally:
            await provider.aclose()
            await server.stop()

    assert asyncio.run(main()).finish_reason == "stop"
