"""The default completion cap reaches the server, and a server that refuses it stops getting it."""

from __future__ import annotations

from typing import Any

import httpx

from pilotbench.config import DEFAULT_MAX_TOKENS, ModelConfig, request_params

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
