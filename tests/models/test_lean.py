"""The lean HTTP path (`client = "lean"`): same requests, answers and error classes as the SDK path."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from pilotbench.benchmark.types import ModelOutput, ToolCall, Usage
from pilotbench.config import load_config
from pilotbench.errors import ConfigError, ProviderError
from pilotbench.mock_server import Faults, KeyLimits, MockConfig, MockServer
from pilotbench.models import lean
from pilotbench.models.base import ModelRequest
from pilotbench.models.lean import LeanOpenAIProvider
from pilotbench.models.openai_compat import OpenAICompatProvider
from pilotbench.runner.runtime import build_runtime

from ..factories import write_config

KEY = "sk-test-key-0123456789-abcd"
MODEL = "sim/scripted"
MESSAGES = [{"role": "user", "content": "Read in.csv and summarise it."}]
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


class Recorder:
    def __init__(self, output: ModelOutput | None = None) -> None:
        self.output = output or ModelOutput(
            tool_calls=(ToolCall("call_abc", "file_reader", json.dumps({"path": "in.csv"})),),
            usage=Usage(prompt_tokens=11, completion_tokens=7),
            finish_reason="tool_calls",
        )
        self.calls: list[tuple[str, list[dict[str, Any]], Any, dict[str, Any]]] = []

    def __call__(self, model: str, messages: list[dict[str, Any]], tools: Any, params: dict[str, Any]) -> ModelOutput:
        self.calls.append((model, messages, tools, params))
        return self.output


def request(deployment: str = MODEL, tools: Any = TOOLS, **params: Any) -> ModelRequest:
    return ModelRequest(deployment=deployment, messages=MESSAGES, tools=tools, params=params)


def with_server(body: Callable[[MockServer], Awaitable[Any]], config: MockConfig | None = None, responder: Any = None) -> Any:
    async def main() -> Any:
        server = MockServer(config or MockConfig(keys={KEY: KeyLimits()}), responder or Recorder())
        await server.start("127.0.0.1", 0)
        try:
            return await body(server)
        finally:
            await server.stop()

    return asyncio.run(main())


def provider_for(server: MockServer, key: str = KEY, **kw: Any) -> LeanOpenAIProvider:
    return LeanOpenAIProvider(kind="openai", base_url=server.base_url + "/v1", api_key=key, **kw)


async def call(provider: Any, req: ModelRequest, timeout: float = 5.0) -> Any:
    """The output, or the classification of the failure."""
    try:
        return await provider.generate(req, timeout=timeout)
    except BaseException as exc:  # noqa: BLE001 - classify() is under test
        return provider.classify(exc)
    finally:
        await provider.aclose()


def faulty(**faults: Any) -> MockConfig:
    return MockConfig(keys={KEY: KeyLimits()}, faults=Faults(**faults))


# ---------------------------------------------------------------------------------------------
# Round trips against the mock server
# ---------------------------------------------------------------------------------------------


def test_round_trip_sends_what_the_sdk_path_sends() -> None:
    lean_seen, sdk_seen = Recorder(), Recorder()
    req = request(temperature=0.3, max_tokens=64, seed=7, top_k=5, extra_body={"repetition_penalty": 1.1})

    lean_out = with_server(lambda s: call(provider_for(s, drop_params=["seed"]), req), responder=lean_seen)
    sdk_out = with_server(
        lambda s: call(OpenAICompatProvider(kind="openai", base_url=s.base_url + "/v1", api_key=KEY, drop_params=["seed"]), req),
        responder=sdk_seen,
    )
    assert lean_out == sdk_out
    assert lean_out.tool_calls == (ToolCall("call_abc", "file_reader", '{"path": "in.csv"}'),)
    assert lean_out.usage == Usage(11, 7) and lean_out.finish_reason == "tool_calls"
    assert lean_seen.calls == sdk_seen.calls
    model, messages, tools, params = lean_seen.calls[0]
    assert model == MODEL and messages == MESSAGES and tools == TOOLS
    assert params["temperature"] == 0.3 and params["top_k"] == 5 and params["repetition_penalty"] == 1.1
    assert "seed" not in params and "extra_body" not in params


def test_tools_omitted_when_none() -> None:
    seen = Recorder(ModelOutput.for_text("hello"))
    out = with_server(lambda s: call(provider_for(s), request(tools=None)), responder=seen)
    assert out.content == "hello" and out.tool_calls == ()
    assert seen.calls[0][2] is None


def test_azure_uses_the_deployment_path_and_api_key_header() -> None:
    seen = Recorder()
    config = MockConfig(keys={KEY: KeyLimits()}, models=("gpt-4o-prod",), accept_sim_prefix=False)

    async def body(server: MockServer) -> Any:
        provider = LeanOpenAIProvider(kind="azure", base_url=server.base_url + "/", api_key=KEY, api_version="2024-10-21")
        out = await call(provider, request("gpt-4o-prod"))
        assert server.stats.ok == 1
        return out

    out = with_server(body, config, seen)
    assert out.tool_calls[0].name == "file_reader" and out.usage.total_tokens == 18
    assert seen.calls[0][0] == "gpt-4o-prod"


def test_reasoning_and_empty_content() -> None:
    out = with_server(lambda s: call(provider_for(s), request()),
                      responder=Recorder(ModelOutput(content="", reasoning="First read the file.", finish_reason="stop")))
    assert out.reasoning == "First read the file." and out.content == ""
    out = with_server(lambda s: call(provider_for(s), request()), faulty(empty_content=1.0))
    assert out.content == "" and out.tool_calls == () and out.reasoning is None


def test_one_session_serves_many_concurrent_calls() -> None:
    async def body(server: MockServer) -> list[Any]:
        provider = provider_for(server)
        try:
            return await asyncio.gather(*(provider.generate(request(), timeout=5) for _ in range(50)))
        finally:
            await provider.aclose()

    outs = with_server(body, MockConfig(keys={KEY: KeyLimits()}, latency=0.05))
    assert len(outs) == 50 and all(o.tool_calls for o in outs)


# ---------------------------------------------------------------------------------------------
# Failures against the mock server
# ---------------------------------------------------------------------------------------------


def test_malformed_json_body_is_transient() -> None:
    err = with_server(lambda s: call(provider_for(s), request()), faulty(malformed_json=1.0))
    assert isinstance(err, ProviderError) and err.kind == "transient" and "malformed" in str(err)


def test_500_is_transient() -> None:
    err = with_server(lambda s: call(provider_for(s), request()), faulty(error_500=1.0))
    assert (err.kind, err.status) == ("transient", 500) and "500" in str(err)


def test_hang_times_out_as_transient_quickly() -> None:
    async def body(server: MockServer) -> tuple[Any, float]:
        start = time.monotonic()
        err = await call(provider_for(server), request(), timeout=0.3)
        return err, time.monotonic() - start

    err, elapsed = with_server(body, faulty(hang=1.0, hang_seconds=30))
    assert err.kind == "transient" and "timeout" in str(err)
    assert elapsed < 1.5


def test_dropped_connection_is_transient() -> None:
    err = with_server(lambda s: call(provider_for(s), request()), faulty(drop_connection=1.0))
    assert err.kind == "transient" and "connection" in str(err)


def test_429_is_rate_limit_with_retry_after() -> None:
    err = with_server(lambda s: call(provider_for(s), request()), faulty(rate_limit_storm=1.0, storm_retry_after=2.5))
    assert (err.kind, err.status, err.retry_after) == ("rate_limit", 429, 2.5)


def test_concurrency_429_from_the_server_limits() -> None:
    async def body(server: MockServer) -> list[Any]:
        provider = provider_for(server)
        try:
            return await asyncio.gather(*(provider.generate(request(), timeout=5) for _ in range(3)), return_exceptions=True)
        finally:
            await provider.aclose()

    outs = with_server(body, MockConfig(keys={KEY: KeyLimits(max_concurrency=1)}, latency=0.2))
    errors = [o for o in outs if isinstance(o, ProviderError)]
    # The mock answers concurrency overflow as Azure OpenAI does: Retry-After 1 s.
    assert len(errors) == 2 and all(e.kind == "rate_limit" and e.retry_after == pytest.approx(1.0) for e in errors)


def test_insufficient_quota_is_quota_and_key_free() -> None:
    err = with_server(lambda s: call(provider_for(s), request()), MockConfig(keys={KEY: KeyLimits(quota_exhausted=True)}))
    assert err.kind == "quota" and KEY not in str(err) and "...abcd" in str(err)


def test_unknown_key_is_fatal_for_the_lane_and_never_shows_the_key() -> None:
    other = "sk-not-a-known-key-7777"
    err = with_server(lambda s: call(provider_for(s, key=other), request()))
    assert (err.kind, err.scope, err.status) == ("fatal", "lane", 401)
    assert other not in str(err) and other not in repr(err) and "...7777" in str(err)


def test_unknown_model_is_fatal_for_the_model() -> None:
    config = MockConfig(keys={KEY: KeyLimits()}, accept_sim_prefix=False)
    err = with_server(lambda s: call(provider_for(s), request("gpt-nope")), config)
    assert (err.kind, err.scope, err.status) == ("fatal", "model", 404)


def test_connection_refused_is_transient() -> None:
    async def body() -> Any:
        with_port = LeanOpenAIProvider(kind="openai", base_url="http://127.0.0.1:9/v1", api_key=KEY)
        return await call(with_port, request(), timeout=2)

    err = asyncio.run(body())
    assert err.kind == "transient" and "connection" in str(err)


# ---------------------------------------------------------------------------------------------
# A scripted gateway: what the mock server cannot script
# ---------------------------------------------------------------------------------------------


def completion(message: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "message": message or {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    body.update(top)
    return body


def bad_request(message: str, param: str | None = None, code: str | None = None) -> tuple[int, Any]:
    return 400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


Answer = tuple[int, Any] | Callable[[dict[str, Any]], tuple[int, Any]]


class Gateway:
    """An aiohttp app answering from a script, keeping the JSON bodies and headers it was sent."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []

    async def handle(self, req: web.Request) -> web.Response:
        body = json.loads(await req.read())
        self.bodies.append(body)
        self.headers.append(dict(req.headers))
        self.paths.append(str(req.rel_url))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        status, payload = answer(body) if callable(answer) else answer
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return web.Response(status=status, text=text, content_type="application/json")

    def run(self, *reqs: ModelRequest, kind: str = "openai", **kw: Any) -> list[Any]:
        async def main() -> list[Any]:
            app = web.Application()
            app.router.add_route("POST", "/{tail:.*}", self.handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            base = f"http://127.0.0.1:{port}" + ("/v1" if kind == "openai" else "")
            provider = LeanOpenAIProvider(kind=kind, base_url=base, api_key=KEY, **kw)
            out: list[Any] = []
            try:
                for r in reqs:
                    try:
                        out.append(await provider.generate(r, timeout=5))
                    except Exception as exc:  # noqa: BLE001
                        out.append(provider.classify(exc))
                self.provider = provider
            finally:
                await provider.aclose()
                await runner.cleanup()
            return out

        return asyncio.run(main())


def test_headers_and_paths() -> None:
    gw = Gateway((200, completion()))
    gw.run(request())
    assert gw.paths == ["/v1/chat/completions"]
    assert gw.headers[0]["Authorization"] == f"Bearer {KEY}" and gw.headers[0]["Content-Type"] == "application/json"
    gw = Gateway((200, completion()))
    gw.run(request("my deployment"), kind="azure", api_version="2024-10-21")
    assert gw.paths == ["/openai/deployments/my%20deployment/chat/completions?api-version=2024-10-21"]
    assert gw.headers[0]["api-key"] == KEY and "Authorization" not in gw.headers[0]


def test_rejected_parameter_is_dropped_retried_and_remembered() -> None:
    def answer(body: dict[str, Any]) -> tuple[int, Any]:
        if "temperature" in body:
            return bad_request("Unsupported parameter: 'temperature' is not supported with this model.", "temperature")
        return 200, completion()

    gw = Gateway(answer)
    first, second = gw.run(request(temperature=0.2, top_p=0.9), request(temperature=0.2))
    assert first.content == "ok" and second.content == "ok"
    assert len(gw.bodies) == 3
    assert "temperature" in gw.bodies[0]
    assert "temperature" not in gw.bodies[1] and gw.bodies[1]["top_p"] == 0.9
    assert "temperature" not in gw.bodies[2]
    assert "temperature" in gw.provider.rejected_params


def test_max_tokens_is_renamed_when_the_server_says_so() -> None:
    def answer(body: dict[str, Any]) -> tuple[int, Any]:
        if "max_tokens" in body:
            return bad_request(
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        return 200, completion()

    gw = Gateway(answer)
    out, again = gw.run(request(max_tokens=100), request(max_tokens=50))
    assert out.content == "ok" and again.content == "ok"
    assert [b.get("max_completion_tokens") for b in gw.bodies] == [None, 100, 50]


def test_rejection_cannot_loop_and_other_400s_are_fatal() -> None:
    gw = Gateway(bad_request("Unsupported parameter: 'temperature' is not supported with this model."))
    (err,) = gw.run(request(temperature=0.2))
    assert len(gw.bodies) == 2
    assert (err.kind, err.scope, err.status) == ("fatal", "model", 400)
    gw = Gateway(bad_request("Invalid value for 'temperature': must be between 0 and 2.", "temperature"))
    (err,) = gw.run(request(temperature=7))
    assert len(gw.bodies) == 1 and (err.kind, err.scope) == ("fatal", "model") and "between 0 and 2" in str(err)


@pytest.mark.parametrize(
    "status, payload, kind, scope",
    [
        (400, {"error": {"message": "This model's maximum context length is 8192 tokens"}}, "fatal", "test"),
        (413, "request entity too large", "fatal", "test"),
        (402, {"error": {"message": "insufficient credit"}}, "quota", None),
        (403, {"error": {"message": "forbidden"}}, "fatal", "lane"),
        (408, {"error": {"message": "timeout"}}, "transient", None),
        (503, "<html>upstream down</html>", "transient", None),
        (429, {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}, "quota", None),
    ],
)
def test_status_classification(status: int, payload: Any, kind: str, scope: str | None) -> None:
    (err,) = Gateway((status, payload)).run(request())
    assert isinstance(err, ProviderError) and err.kind == kind and err.status == status
    if scope is not None:
        assert err.scope == scope


def test_key_echoed_by_a_gateway_is_redacted() -> None:
    (err,) = Gateway((401, {"error": {"message": f"Incorrect API key provided: {KEY}."}})).run(request())
    assert (err.kind, err.scope) == ("fatal", "lane") and KEY not in str(err) and "...abcd" in str(err)


@pytest.mark.parametrize(
    "payload",
    [completion(choices=[]), completion(choices=None), {"id": "x"}, [1, 2], "not json at all"],
    ids=["empty-choices", "null-choices", "no-choices", "a-list", "not-json"],
)
def test_malformed_responses_are_transient(payload: Any) -> None:
    (err,) = Gateway((200, payload)).run(request())
    assert isinstance(err, ProviderError) and err.kind == "transient" and "malformed" in str(err)


def test_odd_gateway_fields_do_not_crash() -> None:
    message = {
        "role": "assistant",
        "content": None,
        "reasoning": "thinking",
        "tool_calls": [
            {"id": None, "type": "function", "function": {"name": "file_reader", "arguments": {"path": "a.csv"}}},
            {"id": "c2", "type": "function", "function": {"name": "noop", "arguments": None}},
        ],
    }
    body = completion(message, usage=None)
    body["choices"][0]["finish_reason"] = None
    (out,) = Gateway((200, body)).run(request())
    assert out.content is None and out.reasoning == "thinking"
    assert out.tool_calls == (ToolCall("call_0", "file_reader", '{"path": "a.csv"}'), ToolCall("c2", "noop", "{}"))
    assert out.usage == Usage(0, 0, reported=False) and out.finish_reason is None


def test_hard_deadline_when_the_transport_ignores_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    async def stuck(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(30)

    monkeypatch.setattr(lean, "_GUARD_SECONDS", 0.1)
    monkeypatch.setattr(aiohttp.ClientSession, "_request", stuck)
    provider = LeanOpenAIProvider(kind="openai", base_url="http://127.0.0.1:9/v1", api_key=KEY)
    start = time.monotonic()
    err = asyncio.run(call(provider, request(), timeout=0.1))
    assert err.kind == "transient" and "timeout" in str(err)
    assert time.monotonic() - start < 1.0


def test_classify_other_exceptions() -> None:
    p = LeanOpenAIProvider(kind="openai", base_url="http://x/v1", api_key=KEY)
    assert p.classify(ProviderError("quota", "q")).kind == "quota"
    assert "timeout" in str(p.classify(asyncio.TimeoutError()))
    assert "connection" in str(p.classify(aiohttp.ServerDisconnectedError()))
    assert "transport" in str(p.classify(aiohttp.ClientPayloadError("cut short")))
    assert "malformed" in str(p.classify(json.JSONDecodeError("x", "doc", 0)))
    err = p.classify(RuntimeError(f"boom {KEY}"))
    assert err.kind == "transient" and KEY not in str(err)


def test_constructor_checks() -> None:
    with pytest.raises(ConfigError):
        LeanOpenAIProvider(kind="bogus", base_url="http://x", api_key=KEY)
    with pytest.raises(ConfigError):
        LeanOpenAIProvider(kind="openai", base_url="http://x", api_key="")
    with pytest.raises(ConfigError):
        LeanOpenAIProvider(kind="azure", base_url="http://x", api_key=KEY)
    assert KEY not in repr(LeanOpenAIProvider(kind="openai", base_url="http://x", api_key=KEY))


# ---------------------------------------------------------------------------------------------
# Selection by config
# ---------------------------------------------------------------------------------------------


def _config(tmp_path: Path, client_line: str) -> Any:
    return load_config(write_config(tmp_path / "pilotbench.toml", "http://127.0.0.1:9", ["env:PB_LEAN_KEY"],
                                    provider="gw", models={"gw/m": "m"}, provider_extra=client_line))


@pytest.mark.parametrize("line, expected", [("", OpenAICompatProvider), ('client = "sdk"', OpenAICompatProvider),
                                            ('client = "lean"', LeanOpenAIProvider)])
def test_client_is_chosen_by_the_provider_entry(tmp_path: Path, line: str, expected: type) -> None:
    rt = build_runtime(_config(tmp_path, line), ["gw/m"], env={"PB_LEAN_KEY": KEY})
    (provider,) = rt.models["gw/m"].providers.values()
    assert type(provider) is expected
    asyncio.run(rt.aclose())


def test_unknown_client_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="client"):
        _config(tmp_path, 'client = "curl"')


def test_body_is_exactly_json_dumps_and_tool_json_is_reused_only_for_the_same_schemas() -> None:
    p = LeanOpenAIProvider(kind="openai", base_url="http://x/v1", api_key=KEY)

    def plain(req: ModelRequest, params: dict[str, Any]) -> bytes:
        body: dict[str, Any] = {"model": req.deployment, "messages": req.messages, **params}
        if req.tools:
            body["tools"] = req.tools
        return json.dumps(body).encode()

    other_tools = [{**TOOLS[0], "function": {**TOOLS[0]["function"], "name": "file_writer"}}]
    for req, params in [
        (request(), {}),
        (request(temperature=0.2), {"temperature": 0.2}),
        (request(tools=list(TOOLS)), {}),  # a new list of the same schemas
        (request(tools=other_tools), {}),  # other schemas: serialised afresh
        (request(tools=None), {}),
        (request(tools=[]), {}),
    ]:
        assert p._body(req, p._params(req.params)) == plain(req, params)
    req = request(extra_body={"tools": "overridden", "x": 1})
    assert json.loads(p._body(req, p._params(req.params))) == {"model": MODEL, "messages": MESSAGES, "tools": "overridden", "x": 1}
