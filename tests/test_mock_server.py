"""The mock provider server over real sockets on 127.0.0.1, with a scripted responder."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import openai
import pytest

from pilotbench.benchmark.types import ModelOutput, ToolCall, Usage
from pilotbench.mock_server import (
    Faults,
    KeyLimits,
    MockConfig,
    MockServer,
    MockServerThread,
    config_from_options,
    default_responder,
    mask_key,
)

KEY = "test-key-aaaa"
KEY2 = "test-key-bbbb"
MODEL = "sim/scripted"
MESSAGES = [{"role": "user", "content": "Load the file and transform it."}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "file_reader",
            "description": "Read a file",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }
]


class ScriptedResponder:
    """Tool call while tools are offered and none was answered yet, then a final text."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[dict[str, Any]], Any, dict[str, Any]]] = []

    def __call__(self, model, messages, tools, params) -> ModelOutput:
        self.calls.append((model, messages, tools, params))
        if tools and not any(m.get("role") == "tool" for m in messages):
            return ModelOutput(
                tool_calls=(ToolCall("call_abc", "file_reader", json.dumps({"path": "in.csv"})),),
                usage=Usage(prompt_tokens=11, completion_tokens=7),
                finish_reason="tool_calls",
            )
        return ModelOutput(content="Done.", usage=Usage(prompt_tokens=5, completion_tokens=2), finish_reason="stop")


def run_with_server(
    config: MockConfig, body: Callable[[MockServer], Awaitable[Any]], responder: Any = None
) -> Any:
    """Start a server on port 0, run `body(server)`, always stop the server."""

    async def main() -> Any:
        server = MockServer(config, responder or ScriptedResponder())
        await server.start()
        try:
            return await body(server)
        finally:
            await server.stop()

    return asyncio.run(main())


def chat_body(model: str = MODEL, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": MESSAGES, **extra}


def bearer(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def post(
    client: httpx.AsyncClient, server: MockServer, key: str = KEY, **extra: Any
) -> httpx.Response:
    return await client.post(server.base_url + "/v1/chat/completions", json=chat_body(**extra), headers=bearer(key))


# ---------------------------------------------------------------------------------------------
# Protocol
# ---------------------------------------------------------------------------------------------


def test_openai_sdk_parses_tool_call_and_text() -> None:
    responder = ScriptedResponder()

    async def body(server: MockServer) -> None:
        client = openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key=KEY, max_retries=0)
        try:
            first = await client.chat.completions.create(
                model=MODEL, messages=MESSAGES, tools=TOOLS, temperature=0.2, max_tokens=64
            )
            msg = first.choices[0].message
            assert first.object == "chat.completion"
            assert first.model == MODEL
            assert first.choices[0].finish_reason == "tool_calls"
            assert msg.role == "assistant"
            assert msg.tool_calls is not None and len(msg.tool_calls) == 1
            call = msg.tool_calls[0]
            assert call.id == "call_abc" and call.type == "function"
            assert call.function.name == "file_reader"
            assert json.loads(call.function.arguments) == {"path": "in.csv"}
            assert first.usage is not None
            assert (first.usage.prompt_tokens, first.usage.completion_tokens, first.usage.total_tokens) == (11, 7, 18)

            follow = [
                *MESSAGES,
                {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                {"role": "tool", "tool_call_id": call.id, "content": '{"status": "success"}'},
            ]
            second = await client.chat.completions.create(model=MODEL, messages=follow, tools=TOOLS)
            assert second.choices[0].message.content == "Done."
            assert second.choices[0].finish_reason == "stop"
            assert not second.choices[0].message.tool_calls
            assert second.id != first.id
        finally:
            await client.close()
        assert server.stats.ok == 2
        assert server.stats.completed == {mask_key(KEY): 2}

    run_with_server(MockConfig(keys={KEY: KeyLimits()}), body, responder)
    model, messages, tools, params = responder.calls[0]
    assert model == MODEL and messages == MESSAGES and tools == TOOLS
    assert params["temperature"] == 0.2 and params["max_tokens"] == 64
    assert "model" not in params and "messages" not in params and "tools" not in params


def test_azure_deployment_path_with_sdk() -> None:
    responder = ScriptedResponder()

    async def body(server: MockServer) -> None:
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=server.base_url, api_key=KEY, api_version="2024-10-21", max_retries=0
        )
        try:
            resp = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            assert resp.choices[0].message.content == "Done."
            assert resp.model == "gpt-4o-mini"
        finally:
            await client.close()
        async with httpx.AsyncClient() as raw:
            # No api-version: rejected.
            r = await raw.post(
                server.base_url + "/openai/deployments/gpt-4o-mini/chat/completions",
                json={"messages": MESSAGES},
                headers={"api-key": KEY},
            )
            assert r.status_code == 400
            # Foundry / v1 style, with api-key and with a bearer token.
            for headers in ({"api-key": KEY}, bearer()):
                r = await raw.post(
                    server.base_url + "/openai/v1/chat/completions",
                    json=chat_body("gpt-4o-mini"),
                    headers=headers,
                )
                assert r.status_code == 200, r.text
                assert r.json()["model"] == "gpt-4o-mini"
            r = await raw.get(server.base_url + "/v1/models")
            assert [m["id"] for m in r.json()["data"]] == ["gpt-4o-mini"]

    run_with_server(MockConfig(keys={KEY: KeyLimits()}, models=["gpt-4o-mini"]), body, responder)
    assert responder.calls[0][0] == "gpt-4o-mini"  # the deployment is the model


def test_auth_model_and_body_errors() -> None:
    secret = "sk-very-secret-key-wxyz"

    async def body(server: MockServer) -> None:
        client = openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key=secret, max_retries=0)
        try:
            with pytest.raises(openai.AuthenticationError) as info:
                await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        finally:
            await client.close()
        assert info.value.status_code == 401
        assert info.value.code == "invalid_api_key"
        assert secret not in info.value.response.text
        assert "...wxyz" in info.value.response.text

        async with httpx.AsyncClient() as raw:
            r = await raw.post(server.base_url + "/v1/chat/completions", json=chat_body())
            assert r.status_code == 401  # no key at all
            r = await post(raw, server, model="gpt-unknown")
            assert r.status_code == 404
            err = r.json()["error"]
            assert err["code"] == "model_not_found" and err["type"] and err["message"]
            r = await raw.post(
                server.base_url + "/v1/chat/completions", content=b'{"model": "sim/x", "mess', headers=bearer()
            )
            assert r.status_code == 400
            assert "error" in r.json()
            r = await raw.get(server.base_url + "/stats")
            stats = r.json()
        assert stats["unauthorized"] == 2
        assert stats["not_found"] == 1
        assert stats["bad_request"] == 1
        assert stats["ok"] == 0
        assert secret not in json.dumps(stats)

    run_with_server(MockConfig(keys={KEY: KeyLimits()}), body)


def test_empty_keys_accept_any_key() -> None:
    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            for key in ("anything-1111", "other-2222"):
                r = await post(raw, server, key=key)
                assert r.status_code == 200
        assert server.stats.completed == {"...1111": 1, "...2222": 1}

    run_with_server(MockConfig(), body)


# ---------------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------------


def test_concurrency_limit_is_exact() -> None:
    cfg = MockConfig(keys={KEY: KeyLimits(max_concurrency=2), KEY2: KeyLimits(max_concurrency=2)}, latency=0.2)

    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=20)) as raw:
            responses = await asyncio.gather(*(post(raw, server) for _ in range(6)))
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [200, 200, 429, 429, 429, 429]
            for r in responses:
                if r.status_code == 429:
                    ra = float(r.headers["Retry-After"])
                    assert ra > 0
                    assert r.json()["error"]["code"] == "rate_limit_exceeded"
            # The other key has its own slots.
            others = await asyncio.gather(*(post(raw, server, key=KEY2) for _ in range(2)))
            assert [r.status_code for r in others] == [200, 200]
            # Slots are free again once the admitted requests finished.
            again = await asyncio.gather(*(post(raw, server) for _ in range(2)))
            assert [r.status_code for r in again] == [200, 200]
        s = server.stats
        assert s.max_in_flight == {mask_key(KEY): 2, mask_key(KEY2): 2}
        assert s.rate_limited == s.rate_limited_concurrency == 4
        assert s.completed[mask_key(KEY)] == 4  # 429s never counted
        assert s.in_flight == {mask_key(KEY): 0, mask_key(KEY2): 0}

    run_with_server(cfg, body)


def test_limits_per_model() -> None:
    cfg = MockConfig(keys={KEY: KeyLimits(max_concurrency=1)}, latency=0.15, limits_per_model=True)

    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            rs = await asyncio.gather(
                post(raw, server, model="sim/a"), post(raw, server, model="sim/b"), post(raw, server, model="sim/a")
            )
        assert sorted(r.status_code for r in rs) == [200, 200, 429]
        assert server.stats.max_in_flight == {mask_key(KEY): 2}
        assert server.stats.max_in_flight_by_lane == {f"{mask_key(KEY)} sim/a": 1, f"{mask_key(KEY)} sim/b": 1}

    run_with_server(cfg, body)


def test_rpm_limit_with_retry_after() -> None:
    cfg = MockConfig(keys={KEY: KeyLimits(rpm=3)}, rpm_window=0.5)

    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            codes = [(await post(raw, server)).status_code for _ in range(3)]
            assert codes == [200, 200, 200]
            r = await post(raw, server)
            assert r.status_code == 429
            assert 0 < float(r.headers["Retry-After"]) <= 0.5
            assert r.json()["error"]["code"] == "rate_limit_exceeded"
            await asyncio.sleep(float(r.headers["Retry-After"]) + 0.05)
            assert (await post(raw, server)).status_code == 200
        assert server.stats.rate_limited_rpm == 1

    run_with_server(cfg, body)


def test_rpm_window_defaults_to_a_minute() -> None:
    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            assert (await post(raw, server)).status_code == 200
            r = await post(raw, server)
            assert r.status_code == 429
            assert 59 < float(r.headers["Retry-After"]) <= 60

    run_with_server(MockConfig(keys={KEY: KeyLimits(rpm=1)}), body)


def test_insufficient_quota() -> None:
    async def body(server: MockServer) -> None:
        client = openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key=KEY, max_retries=0)
        try:
            with pytest.raises(openai.RateLimitError) as info:
                await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        finally:
            await client.close()
        resp = info.value.response
        assert resp.status_code == 429
        assert "retry-after" not in resp.headers
        err = resp.json()["error"]
        assert err["code"] == "insufficient_quota" and err["type"] == "insufficient_quota"
        assert server.stats.quota_exhausted == 1 and server.stats.rate_limited == 0

    run_with_server(MockConfig(keys={KEY: KeyLimits(quota_exhausted=True)}), body)


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------


def only(kind: str, **extra: Any) -> Faults:
    return Faults(**{kind: 1.0}, **extra)


def test_fault_error_500_and_fail_first_n() -> None:
    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            r = await post(raw, server)
            assert r.status_code == 500 and r.json()["error"]["type"] == "server_error"
            server.set_faults(Faults(fail_first_n=2))
            codes = [(await post(raw, server)).status_code for _ in range(3)]
            assert codes == [500, 500, 200]
        assert server.stats.faults["error_500"] == 1
        assert server.stats.faults["fail_first_n"] == 2
        assert server.stats.ok == 1

    run_with_server(MockConfig(faults=only("error_500")), body)


def test_fault_malformed_json() -> None:
    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            r = await post(raw, server)
        assert r.status_code == 200
        assert r.content
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.content)

    run_with_server(MockConfig(faults=only("malformed_json")), body)


def test_fault_drop_connection() -> None:
    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                await post(raw, server)
            server.set_faults(Faults())
            assert (await post(raw, server)).status_code == 200  # the client recovers
        assert server.stats.faults["drop_connection"] == 1
        assert server.stats.in_flight == {mask_key(KEY): 0}

    run_with_server(MockConfig(faults=only("drop_connection")), body)


def test_fault_hang_trips_client_timeout_and_frees_slot() -> None:
    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient(timeout=0.3) as raw:
            with pytest.raises(httpx.TimeoutException):
                await post(raw, server)
        await asyncio.sleep(0.05)
        assert server.stats.in_flight == {mask_key(KEY): 0}  # the abandoned request let go of its slot
        server.set_faults(only("hang"))
        async with httpx.AsyncClient(timeout=5) as raw:
            # Still hanging when the server stops: stop() must not wait for it.
            task = asyncio.ensure_future(post(raw, server))
            await asyncio.sleep(0.1)
            await server.stop()
            with pytest.raises(httpx.TransportError):
                await task

    run_with_server(MockConfig(keys={KEY: KeyLimits(max_concurrency=1)}, faults=only("hang")), body)


def test_fault_empty_and_reasoning_only() -> None:
    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            msg = (await post(raw, server, tools=TOOLS)).json()["choices"][0]["message"]
            assert msg["content"] == "" and not msg.get("tool_calls")
            server.set_faults(only("reasoning_only"))
            r = await post(raw, server, tools=TOOLS)
            msg = r.json()["choices"][0]["message"]
            assert msg["content"] == "" and not msg.get("tool_calls")
            assert msg["reasoning_content"] and "file_reader" in msg["reasoning_content"]
        client = openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key=KEY, max_retries=0)
        try:
            resp = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        finally:
            await client.close()
        assert resp.choices[0].message.content == ""
        assert resp.choices[0].message.model_extra.get("reasoning_content")
        assert server.stats.faults["empty_content"] == 1 and server.stats.faults["reasoning_only"] == 2

    run_with_server(MockConfig(faults=only("empty_content")), body)


def test_reasoning_passed_through_when_set() -> None:
    def responder(model, messages, tools, params) -> ModelOutput:
        return ModelOutput(content="42", reasoning="thinking...", finish_reason="stop")

    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            msg = (await post(raw, server)).json()["choices"][0]["message"]
        assert msg == {"role": "assistant", "content": "42", "reasoning_content": "thinking..."}

    run_with_server(MockConfig(), body, responder)


def test_fault_rate_limit_storm() -> None:
    cfg = MockConfig(keys={KEY: KeyLimits(max_concurrency=100)}, faults=only("rate_limit_storm", storm_retry_after=2.5))

    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            r = await post(raw, server)
            assert r.status_code == 429 and r.headers["Retry-After"] == "2.5"
            assert r.json()["error"]["code"] == "rate_limit_exceeded"
            server.set_faults(only("rate_limit_storm", storm_retry_after=None))
            r = await post(raw, server)
            assert r.status_code == 429 and "retry-after" not in r.headers
        assert server.stats.storm_429 == 2
        assert server.stats.rate_limited == 0
        assert server.stats.max_in_flight == {}  # never admitted

    run_with_server(cfg, body)


def test_admin_faults_switching_and_stats_endpoint() -> None:
    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            assert (await post(raw, server)).status_code == 200
            r = await raw.post(server.base_url + "/admin/faults", json={"error_500": 1.0})
            assert r.status_code == 200 and r.json()["error_500"] == 1.0
            assert (await post(raw, server)).status_code == 500
            r = await raw.post(server.base_url + "/admin/faults", json={"no_such_fault": 1.0})
            assert r.status_code == 400
            r = await raw.post(server.base_url + "/admin/faults", json={"error_500": 0.7, "hang": 0.7})
            assert r.status_code == 400  # probabilities over 1
            assert (await post(raw, server)).status_code == 500  # unchanged after a rejected update
            r = await raw.post(server.base_url + "/admin/faults", json={})
            assert r.status_code == 200
            assert (await post(raw, server)).status_code == 200
            stats = (await raw.get(server.base_url + "/stats")).json()
        assert stats["requests"] == 4
        assert stats["ok"] == 2
        assert stats["faults"]["error_500"] == 2
        assert stats["max_in_flight"] == {mask_key(KEY): 1}
        assert stats["completed"] == {mask_key(KEY): 4}
        assert KEY not in json.dumps(stats)

    run_with_server(MockConfig(keys=[KEY]), body)


def test_faults_are_repeatable_with_seed() -> None:
    faults = Faults(error_500=0.3, empty_content=0.3)

    def sequence(seed: int) -> list[int]:
        async def body(server: MockServer) -> list[int]:
            async with httpx.AsyncClient() as raw:
                out = []
                for _ in range(30):
                    r = await post(raw, server)
                    out.append(r.status_code if r.status_code != 200 else len(r.json()["choices"][0]["message"]["content"]))
                return out

        return run_with_server(MockConfig(faults=faults, seed=seed), body)

    a, b = sequence(7), sequence(7)
    assert a == b
    assert 500 in a and 0 in a and 5 in a  # "Done." is 5 characters


# ---------------------------------------------------------------------------------------------
# Helpers, thread runner, options
# ---------------------------------------------------------------------------------------------


def test_thread_helper_with_sync_client() -> None:
    cfg = MockConfig(keys={KEY: KeyLimits(max_concurrency=4)})
    with MockServerThread(cfg, ScriptedResponder()) as srv:
        assert srv.base_url.startswith("http://127.0.0.1:")
        client = openai.OpenAI(base_url=srv.base_url + "/v1", api_key=KEY, max_retries=0)
        resp = client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert resp.choices[0].message.content == "Done."
        srv.set_faults({"error_500": 1.0})
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
        client.close()
        assert srv.stats.ok == 1 and srv.stats.faults["error_500"] == 1
        url = srv.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/stats", timeout=1)


def test_config_from_options() -> None:
    cfg = config_from_options(
        [KEY, KEY2], max_concurrency=3, rpm=60, latency=0.1, fault_rate=0.6, seed=5, quota_exhausted_keys=[KEY2]
    )
    assert cfg.keys[KEY] == KeyLimits(max_concurrency=3, rpm=60)
    assert cfg.keys[KEY2].quota_exhausted
    assert cfg.faults.hang == 0
    for kind in ("error_500", "malformed_json", "empty_content", "reasoning_only", "drop_connection", "rate_limit_storm"):
        assert getattr(cfg.faults, kind) == pytest.approx(0.1)
    assert cfg.latency == 0.1 and cfg.seed == 5
    assert KEY not in repr(cfg)
    with pytest.raises(ValueError):
        Faults(error_500=0.8, hang=0.5)
    with pytest.raises(ValueError):
        KeyLimits(max_concurrency=0)


def test_repeated_tool_schemas_are_parsed_once_and_bodies_stay_exact() -> None:
    from pilotbench.mock_server import MockServer

    server = MockServer(MockConfig())
    tools = [{"type": "function", "function": {"name": f"tool_{i}", "description": "x" * 40,
                                               "parameters": {"type": "object", "properties": {}}}} for i in range(20)]
    bodies = [
        {"model": "sim/strong", "messages": [{"role": "user", "content": f"call {i} with \"tools\": []"}], "tools": tools}
        for i in range(3)
    ]
    compact = {"messages": [{"role": "user", "content": "hi"}], "tools": tools, "model": "m", "temperature": 0.5}
    nested = {"model": "m", "messages": [{"role": "user", "content": "hi", "tools": tools}]}
    for body in (*bodies, compact, nested, {**bodies[0], "tools": tools[:3]}):
        for raw in (json.dumps(body).encode(), json.dumps(body, separators=(",", ":")).encode()):
            assert server._parse_body(raw) == body
    assert server._tools_cache  # learned, and reused: the same parsed list comes back
    raw = json.dumps(bodies[1]).encode()
    assert server._parse_body(raw)["tools"] is server._parse_body(raw)["tools"]
    with pytest.raises(ValueError):
        server._parse_body(b'{"tools": [1, 2')


# ---------------------------------------------------------------------------------------------
# Provider-like limits: Retry-After 1 s, token budgets, x-ratelimit-* headers, 503s
# ---------------------------------------------------------------------------------------------


def test_concurrency_overflow_answers_retry_after_one_second_by_default_and_configurable() -> None:
    async def body(server: MockServer) -> list[str]:
        async with httpx.AsyncClient() as raw:
            rs = await asyncio.gather(*(post(raw, server) for _ in range(3)))
        return sorted(r.headers.get("Retry-After", "") for r in rs)

    assert MockConfig().concurrency_retry_after == 1.0
    assert run_with_server(MockConfig(keys={KEY: KeyLimits(max_concurrency=1)}, latency=0.2), body) == ["", "1", "1"]
    cfg = MockConfig(keys={KEY: KeyLimits(max_concurrency=1)}, latency=0.2, concurrency_retry_after=2.5)
    assert run_with_server(cfg, body) == ["", "2.5", "2.5"]
    derived = MockConfig(keys={KEY: KeyLimits(max_concurrency=1)}, latency=0.2, concurrency_retry_after=None)
    assert run_with_server(derived, body) == ["", "0.2", "0.2"]


def test_token_budget_refuses_with_retry_after_and_states_itself_in_headers() -> None:
    # 6000 tokens per minute = 100 per second, holding 1 s of budget (100 tokens).
    cfg = MockConfig(keys={KEY: KeyLimits(tpm=6000)}, budget_seconds=1.0)

    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            first = await post(raw, server, max_tokens=60)  # charged 60 + the body's length / 4
            assert first.status_code == 200
            h = first.headers
            assert h["x-ratelimit-limit-tokens"] == "6000"
            remaining = int(h["x-ratelimit-remaining-tokens"])
            assert 0 <= remaining < 40
            assert h["x-ratelimit-reset-tokens"].endswith("ms")
            assert "x-ratelimit-limit-requests" not in h
            second = await post(raw, server, max_tokens=60)
            assert second.status_code == 429
            assert second.json()["error"]["type"] == "tokens"
            wait = float(second.headers["Retry-After"])
            assert 0 < wait <= 1.0
            assert int(second.headers["x-ratelimit-remaining-tokens"]) < 60
            await asyncio.sleep(wait + 0.05)
            assert (await post(raw, server, max_tokens=60)).status_code == 200
        assert server.stats.rate_limited_tpm == 1 and server.stats.rate_limited == 1

    run_with_server(cfg, body)


def test_request_budget_as_a_bucket_with_headers() -> None:
    cfg = MockConfig(keys={KEY: KeyLimits(rpm=120)}, budget_seconds=1.0)  # 2 per second, holds 2

    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            rs = [await post(raw, server) for _ in range(3)]
        assert [r.status_code for r in rs] == [200, 200, 429]
        assert rs[0].headers["x-ratelimit-limit-requests"] == "120"
        assert [r.headers["x-ratelimit-remaining-requests"] for r in rs] == ["1", "0", "0"]
        assert 0 < float(rs[2].headers["Retry-After"]) <= 0.5
        assert server.stats.rate_limited_rpm == 1

    run_with_server(cfg, body)


def test_window_rpm_states_its_budget_too_and_headers_can_be_switched_off() -> None:
    async def body(server: MockServer) -> httpx.Response:
        async with httpx.AsyncClient() as raw:
            return await post(raw, server)

    r = run_with_server(MockConfig(keys={KEY: KeyLimits(rpm=5)}), body)
    assert (r.headers["x-ratelimit-limit-requests"], r.headers["x-ratelimit-remaining-requests"]) == ("5", "4")
    from pilotbench.models.ratelimits import parse_duration

    assert 59 < parse_duration(r.headers["x-ratelimit-reset-requests"]) <= 60  # the window's whole minute
    off = run_with_server(MockConfig(keys={KEY: KeyLimits(rpm=5)}, ratelimit_headers=False), body)
    assert not any(k.lower().startswith("x-ratelimit") for k in off.headers)
    plain = run_with_server(MockConfig(keys={KEY: KeyLimits()}), body)
    assert not any(k.lower().startswith("x-ratelimit") for k in plain.headers)


def test_503_fault_sends_retry_after() -> None:
    cfg = MockConfig(keys={KEY: KeyLimits()}, faults=Faults(error_503=1.0, retry_after_503=3.0))

    async def body(server: MockServer) -> httpx.Response:
        async with httpx.AsyncClient() as raw:
            return await post(raw, server)

    r = run_with_server(cfg, body)
    assert r.status_code == 503 and r.headers["Retry-After"] == "3" and r.headers["retry-after-ms"] == "3000"


def test_durations_in_openai_format() -> None:
    from pilotbench.mock_server import fmt_duration
    from pilotbench.models.ratelimits import parse_duration

    assert [fmt_duration(x) for x in (0.017, 1.5, 360, 3723)] == ["17ms", "1.5s", "6m0s", "1h2m3s"]
    for x in (0.017, 1.5, 59.25, 360, 3723):
        assert parse_duration(fmt_duration(x)) == pytest.approx(x, abs=0.001)


def test_old_module_paths_still_import() -> None:
    import pilotbench.mock_server as package
    from pilotbench.mock_server import FAULT_KINDS, MockStats, Responder, completion_body, default_responder, serve

    assert FAULT_KINDS[0] == "error_500" and callable(serve) and callable(default_responder)
    assert MockStats and Responder and completion_body
    assert set(package.__all__) >= {"MockServer", "MockServerThread", "config_from_options", "mask_key"}


def test_mock_server_command_takes_the_budget_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import pilotbench.mock_server as package
    from pilotbench.cli import app

    seen: list[MockConfig] = []
    monkeypatch.setattr(package, "serve", lambda cfg, host, port, responder=None, on_ready=None: seen.append(cfg))
    result = CliRunner().invoke(app, ["mock-server", "--key", KEY, "--tpm", "90000", "--budget-seconds", "3",
                                      "--concurrency-retry-after", "2", "--no-ratelimit-headers", "--limits-per-model",
                                      "--error-503-rate", "0.1"])
    assert result.exit_code == 0, result.output
    (cfg,) = seen
    assert cfg.keys[KEY].tpm == 90000 and cfg.budget_seconds == 3.0 and cfg.concurrency_retry_after == 2.0
    assert not cfg.ratelimit_headers and cfg.limits_per_model and cfg.faults.error_503 == 0.1
    bad = CliRunner().invoke(app, ["mock-server", "--budget-seconds", "0"])
    assert bad.exit_code == 2 and "budget-seconds" in bad.output


def test_models_list_names_the_simulated_models_the_default_server_answers_for() -> None:
    from pilotbench.models.simulated import SIMULATED_MODELS

    async def body(server: MockServer) -> None:
        async with httpx.AsyncClient() as raw:
            r = await raw.get(server.base_url + "/v1/models")
            names = [m["id"] for m in r.json()["data"]]
            assert "sim/strong" in names and set(SIMULATED_MODELS) <= set(names)
            # and each listed name is answered
            reply = await raw.post(server.base_url + "/v1/chat/completions", json=chat_body("sim/weak"),
                                   headers={"Authorization": f"Bearer {KEY}"})
            assert reply.status_code == 200, reply.text

    run_with_server(MockConfig(keys={KEY: KeyLimits()}), body, default_responder)


def test_mock_server_on_a_busy_port_says_so_in_one_line_without_a_listening_banner() -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "pilotbench", "mock-server", "--port", str(port)],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert "mock server on" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and str(port) in lines[0], out.stderr


def test_usage_divisor_reports_less_than_the_budget_is_charged() -> None:
    cfg = MockConfig(keys={KEY: KeyLimits(tpm=6_000_000)}, budget_seconds=1.0, usage_divisor=50)
    honest = MockConfig(keys={KEY: KeyLimits(tpm=6_000_000)}, budget_seconds=1.0)
    seen: dict[str, tuple[int, int]] = {}

    def body_for(name: str):  # type: ignore[no-untyped-def]
        async def body(server: MockServer) -> None:
            async with httpx.AsyncClient() as raw:
                r = await post(raw, server, max_tokens=60)
            assert r.status_code == 200
            seen[name] = (r.json()["usage"]["prompt_tokens"], server.stats.tokens_charged)  # reported, charged
        return body

    run_with_server(cfg, body_for("under"))
    run_with_server(honest, body_for("honest"))
    assert seen["under"][1] == seen["honest"][1] > 60  # charged the same: the body / 4 and max_tokens
    assert seen["under"][0] == max(1, seen["honest"][0] // 50)
    with pytest.raises(ValueError, match="usage_divisor"):
        MockConfig(usage_divisor=0.5)
