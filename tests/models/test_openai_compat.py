"""The OpenAI-compatible provider: real HTTP against the mock server, edge cases over MockTransport."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import openai
import pytest

from pilotbench.benchmark.types import ModelOutput, ToolCall, Usage
from pilotbench.errors import ConfigError, ContextLengthError, ProviderError
from pilotbench.mock_server import Faults, KeyLimits, MockConfig, MockServer
from pilotbench.models import openai_compat
from pilotbench.models.base import ModelRequest
from pilotbench.models.openai_compat import (
    OpenAICompatProvider,
    parse_retry_after,
    redact,
    rejected_parameter,
)

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
    """A scripted responder that remembers what it was asked."""

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


def with_server(
    body: Callable[[MockServer], Awaitable[Any]], config: MockConfig | None = None, responder: Any = None
) -> Any:
    async def main() -> Any:
        server = MockServer(config or MockConfig(keys={KEY: KeyLimits()}), responder or Recorder())
        await server.start("127.0.0.1", 0)
        try:
            return await body(server)
        finally:
            await server.stop()

    return asyncio.run(main())


def openai_provider(server: MockServer, key: str = KEY, **kw: Any) -> OpenAICompatProvider:
    return OpenAICompatProvider(kind="openai", base_url=server.base_url + "/v1", api_key=key, **kw)


async def failure(provider: OpenAICompatProvider, req: ModelRequest, timeout: float = 5.0) -> ProviderError:
    """Run a call that must fail; return its classification."""
    try:
        out = await provider.generate(req, timeout=timeout)
    except BaseException as exc:  # noqa: BLE001 - classify() is what is under test
        return provider.classify(exc)
    finally:
        await provider.aclose()
    raise AssertionError(f"expected a failure, got {out!r}")


def faulty(**faults: Any) -> MockConfig:
    return MockConfig(keys={KEY: KeyLimits()}, faults=Faults(**faults))


# ---------------------------------------------------------------------------------------------
# Round trips over real sockets
# ---------------------------------------------------------------------------------------------


def test_openai_round_trip_with_tool_calls_usage_and_params() -> None:
    responder = Recorder()

    async def body(server: MockServer) -> ModelOutput:
        provider = openai_provider(server, drop_params=["seed"])
        try:
            return await provider.generate(request(temperature=0.3, max_tokens=64, seed=7, top_k=5), timeout=5)
        finally:
            await provider.aclose()

    out = with_server(body, responder=responder)
    assert out.tool_calls == (ToolCall("call_abc", "file_reader", '{"path": "in.csv"}'),)
    assert out.usage == Usage(11, 7)
    assert out.finish_reason == "tool_calls"
    model, messages, tools, params = responder.calls[0]
    assert model == MODEL and messages == MESSAGES and tools == TOOLS
    assert params["temperature"] == 0.3 and params["max_tokens"] == 64
    assert params["top_k"] == 5  # not in the SDK's signature: sent through extra_body
    assert "seed" not in params  # dropped by configuration


def test_tools_omitted_when_none() -> None:
    responder = Recorder(ModelOutput.for_text("hello"))

    async def body(server: MockServer) -> ModelOutput:
        provider = openai_provider(server)
        try:
            return await provider.generate(request(tools=None), timeout=5)
        finally:
            await provider.aclose()

    out = with_server(body, responder=responder)
    assert out.content == "hello" and out.tool_calls == ()
    assert responder.calls[0][2] is None


def test_azure_round_trip_uses_the_deployment_path() -> None:
    responder = Recorder()
    config = MockConfig(keys={KEY: KeyLimits()}, models=("gpt-4o-prod",), accept_sim_prefix=False)

    async def body(server: MockServer) -> ModelOutput:
        provider = OpenAICompatProvider(kind="azure", base_url=server.base_url, api_key=KEY, api_version="2024-10-21")
        try:
            out = await provider.generate(request("gpt-4o-prod"), timeout=5)
        finally:
            await provider.aclose()
        assert server.stats.ok == 1
        return out

    out = with_server(body, config, responder)
    assert out.tool_calls[0].name == "file_reader"
    assert out.usage.total_tokens == 18
    assert responder.calls[0][0] == "gpt-4o-prod"


def test_foundry_v1_endpoint_works_with_kind_openai() -> None:
    async def body(server: MockServer) -> ModelOutput:
        provider = OpenAICompatProvider(kind="openai", base_url=server.base_url + "/openai/v1", api_key=KEY)
        try:
            return await provider.generate(request("sim/DeepSeek-R1", tools=None), timeout=5)
        finally:
            await provider.aclose()

    assert with_server(body, responder=Recorder(ModelOutput.for_text("ok"))).content == "ok"


def test_reasoning_content_reaches_the_output() -> None:
    responder = Recorder(ModelOutput(content="", reasoning="First read the file.", finish_reason="stop"))

    async def body(server: MockServer) -> ModelOutput:
        provider = openai_provider(server)
        try:
            return await provider.generate(request(), timeout=5)
        finally:
            await provider.aclose()

    out = with_server(body, responder=responder)
    assert out.reasoning == "First read the file."
    assert out.content == ""


def test_reasoning_only_fault() -> None:
    async def body(server: MockServer) -> ModelOutput:
        provider = openai_provider(server)
        try:
            return await provider.generate(request(), timeout=5)
        finally:
            await provider.aclose()

    out = with_server(body, faulty(reasoning_only=1.0))
    assert out.content == "" and out.tool_calls == ()
    assert out.reasoning and "file_reader" in out.reasoning


def test_empty_content_is_returned_not_raised() -> None:
    async def body(server: MockServer) -> ModelOutput:
        provider = openai_provider(server)
        try:
            return await provider.generate(request(), timeout=5)
        finally:
            await provider.aclose()

    out = with_server(body, faulty(empty_content=1.0))
    assert out.content == "" and out.tool_calls == () and out.reasoning is None


# ---------------------------------------------------------------------------------------------
# Failures over real sockets
# ---------------------------------------------------------------------------------------------


def test_malformed_json_body_is_transient() -> None:
    err = with_server(lambda s: failure(openai_provider(s), request()), faulty(malformed_json=1.0))
    assert err.kind == "transient" and "malformed" in str(err)


def test_500_is_transient() -> None:
    err = with_server(lambda s: failure(openai_provider(s), request()), faulty(error_500=1.0))
    assert (err.kind, err.status) == ("transient", 500)
    assert "500" in str(err)


def test_hang_times_out_as_transient_quickly() -> None:
    async def body(server: MockServer) -> tuple[ProviderError, float]:
        start = time.monotonic()
        err = await failure(openai_provider(server), request(), timeout=0.3)
        return err, time.monotonic() - start

    err, elapsed = with_server(body, faulty(hang=1.0, hang_seconds=30))
    assert err.kind == "transient"
    assert "timeout" in str(err)
    assert elapsed < 1.5


def test_dropped_connection_is_transient() -> None:
    err = with_server(lambda s: failure(openai_provider(s), request()), faulty(drop_connection=1.0))
    assert err.kind == "transient" and "connection" in str(err)


def test_429_is_rate_limit_with_retry_after() -> None:
    config = faulty(rate_limit_storm=1.0, storm_retry_after=2.5)
    err = with_server(lambda s: failure(openai_provider(s), request()), config)
    assert (err.kind, err.status, err.retry_after) == ("rate_limit", 429, 2.5)


def test_insufficient_quota_is_quota() -> None:
    config = MockConfig(keys={KEY: KeyLimits(quota_exhausted=True)})
    err = with_server(lambda s: failure(openai_provider(s), request()), config)
    assert err.kind == "quota"
    assert KEY not in str(err) and "...abcd" in str(err)


def test_unknown_key_is_fatal_for_the_lane_and_never_shows_the_key() -> None:
    other = "sk-not-a-known-key-7777"
    err = with_server(lambda s: failure(openai_provider(s, key=other), request()))
    assert (err.kind, err.scope, err.status) == ("fatal", "lane", 401)
    assert other not in str(err) and other not in repr(err)
    assert "...7777" in str(err)


def test_unknown_model_is_fatal_for_the_model() -> None:
    config = MockConfig(keys={KEY: KeyLimits()}, accept_sim_prefix=False)
    err = with_server(lambda s: failure(openai_provider(s), request("gpt-nope")), config)
    assert (err.kind, err.scope, err.status) == ("fatal", "model", 404)


# ---------------------------------------------------------------------------------------------
# MockTransport: what the mock server cannot script
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


def bad_request(message: str, param: str | None = None, code: str | None = None) -> httpx.Response:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return httpx.Response(400, json={"error": error})


class Gateway:
    """An httpx handler answering from a list of responses, keeping the JSON bodies it was sent."""

    def __init__(self, *responses: httpx.Response | Callable[[dict[str, Any]], httpx.Response]) -> None:
        self.responses = list(responses)
        self.bodies: list[dict[str, Any]] = []
        self.timeouts: list[Any] = []

    def __call__(self, req: httpx.Request) -> httpx.Response:
        body = json.loads(req.content)
        self.bodies.append(body)
        self.timeouts.append(req.extensions.get("timeout"))
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        return answer(body) if callable(answer) else answer

    def provider(self, **kw: Any) -> OpenAICompatProvider:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return OpenAICompatProvider(kind="openai", base_url="http://gateway.test/v1", api_key=KEY, http_client=client, **kw)


def run_calls(provider: OpenAICompatProvider, *reqs: ModelRequest, timeout: float = 5.0) -> list[Any]:
    """Each request in turn; an exception becomes its classification."""

    async def main() -> list[Any]:
        results: list[Any] = []
        try:
            for req in reqs:
                try:
                    results.append(await provider.generate(req, timeout=timeout))
                except Exception as exc:  # noqa: BLE001
                    results.append(provider.classify(exc))
        finally:
            await provider.aclose()
        return results

    return asyncio.run(main())


def test_rejected_parameter_is_dropped_retried_and_remembered() -> None:
    def answer(body: dict[str, Any]) -> httpx.Response:
        if "temperature" in body:
            return bad_request("Unsupported parameter: 'temperature' is not supported with this model.", "temperature")
        return httpx.Response(200, json=completion())

    gateway = Gateway(answer)
    provider = gateway.provider()
    first, second = run_calls(provider, request(temperature=0.2, top_p=0.9), request(temperature=0.2))
    assert first.content == "ok" and second.content == "ok"
    assert len(gateway.bodies) == 3  # rejected, resent, then straight through
    assert "temperature" in gateway.bodies[0]
    assert "temperature" not in gateway.bodies[1] and gateway.bodies[1]["top_p"] == 0.9
    assert "temperature" not in gateway.bodies[2]
    assert "temperature" in provider.rejected_params


def test_max_tokens_is_renamed_when_the_server_says_so() -> None:
    def answer(body: dict[str, Any]) -> httpx.Response:
        if "max_tokens" in body:
            return bad_request(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        return httpx.Response(200, json=completion())

    gateway = Gateway(answer)
    out, again = run_calls(gateway.provider(), request(max_tokens=100), request(max_tokens=50))
    assert out.content == "ok" and again.content == "ok"
    assert [b.get("max_completion_tokens") for b in gateway.bodies] == [None, 100, 50]
    assert all("max_tokens" not in b for b in gateway.bodies[1:])


def test_rejection_cannot_loop() -> None:
    gateway = Gateway(bad_request("Unsupported parameter: 'temperature' is not supported with this model."))
    provider = gateway.provider()
    (err,) = run_calls(provider, request(temperature=0.2))
    # Sent once with the parameter, once without; the server still complains: give up, fatal.
    assert len(gateway.bodies) == 2
    assert (err.kind, err.scope, err.status) == ("fatal", "model", 400)


def test_other_400_is_fatal_without_retry() -> None:
    gateway = Gateway(bad_request("Invalid value for 'temperature': must be between 0 and 2.", "temperature"))
    (err,) = run_calls(gateway.provider(), request(temperature=7))
    assert len(gateway.bodies) == 1
    assert (err.kind, err.scope) == ("fatal", "model")
    assert "between 0 and 2" in str(err)


def test_key_echoed_by_a_gateway_is_redacted() -> None:
    gateway = Gateway(httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {KEY}."}}))
    (err,) = run_calls(gateway.provider(), request())
    assert (err.kind, err.scope) == ("fatal", "lane")
    assert KEY not in str(err) and "...abcd" in str(err)


def test_every_call_carries_its_timeout() -> None:
    gateway = Gateway(httpx.Response(200, json=completion()))
    run_calls(gateway.provider(), request(), timeout=7.5)
    assert gateway.timeouts[0]["read"] == 7.5


def test_hard_deadline_when_the_transport_ignores_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    async def stuck(req: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    monkeypatch.setattr(openai_compat, "_GUARD_SECONDS", 0.1)
    client = httpx.AsyncClient(transport=httpx.MockTransport(stuck))
    provider = OpenAICompatProvider(kind="openai", base_url="http://gateway.test/v1", api_key=KEY, http_client=client)
    start = time.monotonic()
    (err,) = run_calls(provider, request(), timeout=0.1)
    assert err.kind == "transient" and "deadline" in str(err)
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize(
    "body",
    [
        completion(choices=[]),
        completion(choices=None),
        {"id": "x", "object": "chat.completion"},
        completion(choices=[{"index": 0, "message": None, "finish_reason": "stop"}]),
    ],
    ids=["empty-choices", "null-choices", "no-choices", "null-message"],
)
def test_malformed_responses_are_transient(body: dict[str, Any]) -> None:
    (err,) = run_calls(Gateway(httpx.Response(200, json=body)).provider(), request())
    assert err.kind == "transient" and "malformed" in str(err)


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
    (out,) = run_calls(Gateway(httpx.Response(200, json=body)).provider(), request())
    assert out.content is None
    assert out.reasoning == "thinking"
    assert out.tool_calls == (ToolCall("call_0", "file_reader", '{"path": "a.csv"}'), ToolCall("c2", "noop", "{}"))
    assert out.usage == Usage(0, 0, reported=False)  # no usage in the answer: unknown, not none
    assert out.finish_reason is None


def test_usage_with_null_counts() -> None:
    body = completion(usage={"prompt_tokens": None, "completion_tokens": 5, "total_tokens": None})
    (out,) = run_calls(Gateway(httpx.Response(200, json=body)).provider(), request())
    assert out.usage == Usage(0, 5)


# ---------------------------------------------------------------------------------------------
# classify() on exceptions built by hand
# ---------------------------------------------------------------------------------------------


def status_error(status: int, body: Any = None, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    req = httpx.Request("POST", "http://gateway.test/v1/chat/completions")
    response = httpx.Response(status, headers=headers, request=req)
    classes = {
        400: openai.BadRequestError,
        401: openai.AuthenticationError,
        403: openai.PermissionDeniedError,
        404: openai.NotFoundError,
        409: openai.ConflictError,
        422: openai.UnprocessableEntityError,
        429: openai.RateLimitError,
    }
    cls = classes.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
    return cls(f"Error code: {status} - {body}", response=response, body=body)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def provider() -> OpenAICompatProvider:
    return OpenAICompatProvider(kind="openai", base_url="http://127.0.0.1:9/v1", api_key=KEY)


@pytest.mark.parametrize(
    ("status", "kind", "scope"),
    [
        (400, "fatal", "model"),
        (401, "fatal", "lane"),
        (402, "quota", "lane"),
        (403, "fatal", "lane"),
        (404, "fatal", "model"),
        (408, "transient", "lane"),
        (409, "transient", "lane"),
        (422, "fatal", "model"),
        (429, "rate_limit", "lane"),
        (500, "transient", "lane"),
        (502, "transient", "lane"),
        (503, "transient", "lane"),
    ],
)
def test_classify_status(provider: OpenAICompatProvider, status: int, kind: str, scope: str) -> None:
    err = provider.classify(status_error(status, {"message": "something went wrong"}))
    assert (err.kind, err.scope, err.status) == (kind, scope, status)
    assert str(status) in str(err) and "something went wrong" in str(err)


@pytest.mark.parametrize(
    "body",
    [
        # OpenAI and Azure OpenAI
        {"message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 "
                    "tokens. Please reduce the length of the messages.", "type": "invalid_request_error",
         "code": "context_length_exceeded"},
        {"message": "Please reduce the length of the messages.", "code": "context_length_exceeded"},
        # vLLM, and its V1 engine
        {"message": "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4488 in "
                    "the messages, 512 in the completion). Please reduce the length of the messages or completion."},
        {"message": "The decoder prompt (length 9000) is longer than the maximum model length of 8192."},
        # llama.cpp, old and new wordings
        {"message": "request (8291 tokens) exceeds the available context size (8192 tokens), try increasing it",
         "type": "exceed_context_size_error"},
        {"message": "the request exceeds the available context size, try increasing it"},
        {"message": "prompt is too long: 210000 tokens > 200000 maximum"},
    ],
)
@pytest.mark.parametrize("status", [400, 413, 422])
def test_context_length_refusals_are_their_own_kind_on_both_paths(provider: OpenAICompatProvider, status: int, body: dict) -> None:  # type: ignore[type-arg]
    """Every wording is a ContextLengthError (a fatal error of this conversation only), on the SDK
    path and on the lean path, which share `status_error`."""
    err = provider.classify(status_error(status, body))
    assert isinstance(err, ContextLengthError) and (err.kind, err.scope, err.status) == ("fatal", "test", status)
    assert str(err).startswith(f"context length exceeded: HTTP {status}")
    lean = openai_compat.status_error(status, body["message"], key="...x", quota=False, headers={},
                                      codes=(body.get("code"), body.get("type")))
    assert isinstance(lean, ContextLengthError)


def test_content_filter_and_other_400s_are_not_context_length(provider: OpenAICompatProvider) -> None:
    err = provider.classify(status_error(400, {"message": "The response was filtered due to the prompt triggering "
                                                          "Azure OpenAI's content management policy."}))
    assert not isinstance(err, ContextLengthError) and (err.kind, err.scope) == ("fatal", "test")
    err = provider.classify(status_error(400, {"message": "Invalid value for 'temperature'"}))
    assert not isinstance(err, ContextLengthError) and (err.kind, err.scope) == ("fatal", "model")
    err = provider.classify(status_error(500, {"message": "maximum context length"}))
    assert not isinstance(err, ContextLengthError) and err.kind == "transient"


@pytest.mark.parametrize(
    "body",
    [
        {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"},
        {"error": {"message": "quota", "code": "insufficient_quota"}},
        {"message": "You exceeded your current quota, please check your plan and billing details."},
        "insufficient_quota",
    ],
    ids=["inner-code", "nested-error", "message-text", "raw-text"],
)
def test_classify_quota_variants(provider: OpenAICompatProvider, body: Any) -> None:
    assert provider.classify(status_error(429, body)).kind == "quota"


def test_classify_rate_limit_reads_retry_after(provider: OpenAICompatProvider) -> None:
    err = provider.classify(status_error(429, {"message": "slow down"}, {"Retry-After": "3"}))
    assert (err.kind, err.retry_after) == ("rate_limit", 3.0)


def test_classify_other_exceptions(provider: OpenAICompatProvider) -> None:
    req = httpx.Request("POST", "http://gateway.test/v1/chat/completions")
    same = ProviderError("quota", "parked")
    cases: list[tuple[BaseException, str]] = [
        (openai.APITimeoutError(request=req), "timeout"),
        (openai.APIConnectionError(request=req), "connection"),
        (httpx.ConnectError("refused"), "ConnectError"),
        (httpx.ReadTimeout("slow"), "ReadTimeout"),
        (asyncio.TimeoutError(), "timeout"),
        (json.JSONDecodeError("Expecting value", "{", 1), "malformed"),
        (KeyError("choices"), "KeyError"),
        (RuntimeError(f"boom with {KEY}"), "RuntimeError"),
    ]
    assert provider.classify(same) is same
    for exc, word in cases:
        err = provider.classify(exc)
        assert err.kind == "transient", exc
        assert word in str(err), (exc, str(err))
        assert KEY not in str(err)


def test_constructor_checks() -> None:
    with pytest.raises(ConfigError):
        OpenAICompatProvider(kind="bedrock", base_url="http://x", api_key=KEY)
    with pytest.raises(ConfigError, match="api_version"):
        OpenAICompatProvider(kind="azure", base_url="http://x", api_key=KEY)
    p = OpenAICompatProvider(kind="openai", base_url="http://x/v1", api_key=KEY)
    assert p.key_label == "...abcd" and KEY not in repr(p)
    asyncio.run(p.aclose())


# ---------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Unsupported parameter: 'temperature' is not supported with this model.", "temperature"),
        (
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            "max_tokens",
        ),
        ("'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead", "max_tokens"),
        (
            "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.",
            "temperature",
        ),
        ("Unrecognized request argument supplied: top_p", "top_p"),
        ("Unrecognized request arguments supplied: frequency_penalty, presence_penalty", "frequency_penalty"),
        ("This model does not support 'temperature'.", "temperature"),
        ("deepseek-reasoner does not support the parameter `logprobs`", "logprobs"),
        ("The model doesn't support the 'top_p' parameter", "top_p"),
        ("temperature is not supported for reasoning models", "temperature"),
        ("Invalid JSON payload received. Unknown name \"top_k\": Cannot find field.", "top_k"),
        (
            "[{'type': 'extra_forbidden', 'loc': ('body', 'repetition_penalty'), 'msg': 'Extra inputs are not permitted'}]",
            "repetition_penalty",
        ),
        ("Invalid value for 'temperature': must be between 0 and 2.", None),
        ("This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.", None),
        ("Invalid 'messages[1].content': string too long.", None),
        ("The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", None),
        ("This model does not support this feature.", None),
        ("", None),
    ],
)
def test_rejected_parameter(message: str, expected: str | None) -> None:
    assert rejected_parameter(message) == expected


NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"Retry-After": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"Retry-After": email.utils.formatdate(NOW - 30, usegmt=True)}, 0.0),
        ({"retry-after-ms": "soon", "Retry-After": "4"}, 4.0),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "tomorrow"}, None),
        ({}, None),
        (None, None),
        (httpx.Headers({"RETRY-AFTER-MS": "200"}), 0.2),
    ],
)
def test_parse_retry_after(headers: Any, expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        (f"Incorrect API key provided: {KEY}.", [KEY], "Incorrect API key provided: ...abcd."),
        (f"{KEY} and again {KEY}", [KEY], "...abcd and again ...abcd"),
        ("nothing secret here", [KEY], "nothing secret here"),
        ("empty secrets are ignored", ["", None], "empty secrets are ignored"),
        ("key-one then key-two", ["key-one", "key-two"], "...**** then ...****"),  # short keys: masked entirely
    ],
)
def test_redact(text: str, secrets: list[Any], expected: str) -> None:
    assert redact(text, secrets) == expected


def test_default_client_keeps_hundreds_of_calls_in_flight_on_one_provider() -> None:
    """The default HTTP client is not capped at a library's default pool (100 connections): 300
    concurrent calls on one provider are all in flight at the server at once."""

    async def body(server: MockServer) -> int:
        provider = openai_provider(server)
        try:
            outs = await asyncio.gather(*(provider.generate(request(), timeout=10.0) for _ in range(300)))
        finally:
            await provider.aclose()
        assert all(o.tool_calls for o in outs)
        return max(server.stats.max_in_flight.values())

    peak = with_server(body, MockConfig(keys={KEY: KeyLimits()}, latency=0.5))
    assert peak == 300


# ---------------------------------------------------------------------------------------------
# Stated limits and Retry-After on other statuses
# ---------------------------------------------------------------------------------------------


def _stated_limits_over(make: Callable[[MockServer], Any]) -> list[Any]:
    """Two calls against a key with a 2-request bucket budget and one over it: what the listener heard."""
    heard: list[Any] = []
    cfg = MockConfig(keys={KEY: KeyLimits(rpm=120, tpm=600_000)}, budget_seconds=1.0)

    async def body(server: MockServer) -> list[Any]:
        provider = make(server)
        provider.rate_limit_listener = heard.append
        outcomes = []
        try:
            for _ in range(3):
                try:
                    outcomes.append(await provider.generate(request(), timeout=5))
                except BaseException as exc:  # noqa: BLE001 - classified below
                    outcomes.append(provider.classify(exc))
        finally:
            await provider.aclose()
        return outcomes

    outcomes = with_server(body, cfg)
    assert [type(o).__name__ for o in outcomes] == ["ModelOutput", "ModelOutput", "ProviderError"]
    assert outcomes[2].kind == "rate_limit" and 0 < outcomes[2].retry_after <= 0.5
    return heard


@pytest.mark.parametrize("path", ["sdk", "lean"])
def test_both_http_paths_hand_stated_limits_to_the_listener_on_success_and_429(path: str) -> None:
    from pilotbench.models.lean import LeanOpenAIProvider

    if path == "sdk":
        heard = _stated_limits_over(openai_provider)
    else:
        heard = _stated_limits_over(lambda s: LeanOpenAIProvider(kind="openai", base_url=s.base_url + "/v1", api_key=KEY))
    assert len(heard) == 3  # two successes and the 429
    assert [h.requests.remaining for h in heard] == [1, 0, 0]
    assert all(h.requests.limit == 120 and h.tokens.limit == 600_000 for h in heard)
    assert heard[0].tokens.remaining is not None and heard[0].tokens.reset is not None
    assert [h.refused for h in heard] == [False, False, True]
    assert heard[2].retry_after is not None and 0 < heard[2].retry_after <= 0.5


def test_no_listener_and_no_headers_cost_nothing() -> None:
    async def body(server: MockServer) -> Any:
        provider = openai_provider(server)
        try:
            return await provider.generate(request(), timeout=5)
        finally:
            await provider.aclose()

    assert isinstance(with_server(body), ModelOutput)


@pytest.mark.parametrize("path", ["sdk", "lean"])
def test_503_is_transient_with_the_servers_retry_after(path: str) -> None:
    from pilotbench.models.lean import LeanOpenAIProvider

    async def body(server: MockServer) -> ProviderError:
        if path == "sdk":
            return await failure(openai_provider(server), request())
        provider = LeanOpenAIProvider(kind="openai", base_url=server.base_url + "/v1", api_key=KEY)
        try:
            await provider.generate(request(), timeout=5)
        except ProviderError as exc:
            return exc
        finally:
            await provider.aclose()
        raise AssertionError("expected a 503")

    err = with_server(body, faulty(error_503=1.0, retry_after_503=2.0))
    assert (err.kind, err.status, err.retry_after) == ("transient", 503, 2.0)


def test_status_error_reads_retry_after_on_every_retried_status() -> None:
    headers = {"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)}
    for status in (500, 502, 503, 504, 408, 409):
        err = openai_compat.status_error(status, "busy", key="...abcd", quota=False, headers=headers)
        assert err.kind == "transient" and err.retry_after == pytest.approx(30, abs=2)
    ms = openai_compat.status_error(503, "busy", key="...abcd", quota=False, headers={"retry-after-ms": "250"})
    assert ms.retry_after == pytest.approx(0.25)
    assert openai_compat.status_error(401, "no", key="...abcd", quota=False, headers={"Retry-After": "5"}).retry_after is None
