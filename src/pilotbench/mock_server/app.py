"""An OpenAI-compatible mock provider server (README, "Providers, keys and limits" and "Reliability").

It speaks the OpenAI chat-completions protocol on the OpenAI path (``/v1/chat/completions``),
the Azure deployment path (``/openai/deployments/{deployment}/chat/completions``) and the Azure
AI Foundry v1 path (``/openai/v1/chat/completions``), and puts in front of a *responder* (by
default the simulated models) what real providers put in front of a model: API keys, per-key
concurrency, request and token budgets answered by 429 with ``Retry-After`` (1 s on concurrency
overflow, as Azure OpenAI sends) and stated in OpenAI's ``x-ratelimit-*`` headers, exhausted
quotas, latency, and injected faults (500s, 503s with Retry-After, hangs, malformed bodies, empty
or reasoning-only answers, dropped connections, 429 storms).

The tests use it for the real HTTP path; users use it to try a setup without spending::

    with MockServerThread(MockConfig(keys={"k-1234": KeyLimits(max_concurrency=2)})) as srv:
        client = openai.OpenAI(base_url=srv.base_url + "/v1", api_key="k-1234")

It is built to stay cheap per request (thousands of requests per second, about a thousand in
flight): no per-request logging, no access log, one random draw per request. Keys never appear
in full anywhere it writes (error bodies, ``/stats``): only as ``...abcd``.

The package holds one concept per module: `config` (keys, limits, faults), `limits` (concurrency,
RPM and TPM budgets and their ``x-ratelimit-*`` headers), `faults` (the seeded draw), `stats`
(counters), `wire` (bodies and headers) and `app` (this: the server and its handlers).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from pilotbench.benchmark.types import ModelOutput, Usage

from .config import Faults, KeyLimits, MockConfig, mask_key
from .faults import FaultDraw, reasoning_only
from .limits import charge, rate_limit_headers, token_cost
from .stats import KeyState, MockStats
from .wire import (
    _DECODER,
    _JSON,
    _TOOLS_CACHE_MIN_BYTES,
    _TOOLS_CACHE_SIZE,
    _TOOLS_KEY,
    _error,
    _estimate_usage,
    _fmt_seconds,
    _retry_headers,
    completion_body,
    context_refusal,
)

__all__ = ["MockServer", "MockServerThread", "Responder", "default_responder", "serve"]

Responder = Callable[[str, list[dict[str, Any]], "list[dict[str, Any]] | None", dict[str, Any]], ModelOutput]
"""``(model, messages, tools, params) -> ModelOutput``; may also return an awaitable of one."""


# --------------------------------------------------------------------------------------------
# Responder
# --------------------------------------------------------------------------------------------

_simulated_module: Any = None


def default_responder(
    model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, params: dict[str, Any]
) -> ModelOutput:
    """Answer as the simulated model of that name (`pilotbench.models.simulated`)."""
    global _simulated_module
    if _simulated_module is None:
        from pilotbench.models import simulated  # lazy: optional at import time

        _simulated_module = simulated
    return _simulated_module.get_simulated_model(model).respond(messages, tools, params)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class MockServer:
    """The mock provider on the current event loop: ``await start()``, ``await stop()``."""

    def __init__(self, config: MockConfig | None = None, responder: Responder | None = None) -> None:
        self.config = config or MockConfig()
        self.responder: Responder = responder or default_responder
        self.stats = MockStats()
        self._jitter_rng = random.Random(self.config.seed + 0x5EED)
        self._ids = itertools.count(1)
        self._models = frozenset(self.config.models or ())
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.host: str | None = None
        self.port: int | None = None
        self._faults = FaultDraw(self.config.faults, self.config.seed)
        self._tools_cache: list[tuple[bytes, Any]] = []  # (serialised tools array, parsed), newest first

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("mock server not started")
        host = self.host or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        elif host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle_openai)
        app.router.add_post("/chat/completions", self._handle_openai)
        app.router.add_post("/openai/v1/chat/completions", self._handle_openai)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._handle_azure)
        app.router.add_get("/v1/models", self._handle_models)
        app.router.add_get("/openai/v1/models", self._handle_models)
        app.router.add_get("/stats", self._handle_stats)
        app.router.add_get("/health", self._handle_health)
        app.router.add_get("/admin/faults", self._handle_get_faults)
        app.router.add_post("/admin/faults", self._handle_set_faults)
        app.router.add_post("/admin/reset-stats", self._handle_reset_stats)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError("mock server already started")
        self._stopping = asyncio.Event()
        runner = web.AppRunner(
            self.make_app(),
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,  # a client that gives up frees its slot
            shutdown_timeout=1.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=4096)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or ()
        self.host = host
        self.port = sockets[0].getsockname()[1] if sockets else port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._stopping is not None:
            self._stopping.set()  # wakes hanging requests
        await runner.cleanup()

    async def __aenter__(self) -> MockServer:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- runtime controls ----------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults.faults

    def set_faults(self, faults: Faults | Mapping[str, Any]) -> None:
        """Replace the fault settings (also resets the `fail_first_n` count)."""
        self._faults.set(faults)

    def reset_stats(self) -> None:
        self.stats.reset()

    def _parse_body(self, raw: bytes) -> Any:
        """`json.loads(raw)`, reusing the parsed top-level ``tools`` array when its bytes are ones seen
        before: clients send the same tool schemas with every call, and parsing them was the largest
        single cost of a request (BENCHMARKS.md). Anything unusual takes the plain path."""
        pos = raw.find(_TOOLS_KEY)
        if pos < 0 or raw.find(_TOOLS_KEY, pos + 1) >= 0:
            return json.loads(raw)
        start = pos + len(_TOOLS_KEY)
        while start < len(raw) and raw[start] in b" \t\r\n":
            start += 1
        for blob, tools in self._tools_cache:
            if raw.startswith(blob, start):
                body = json.loads(raw[:start] + b"null" + raw[start + len(blob) :])
                if isinstance(body, dict) and "tools" in body and body["tools"] is None:
                    body["tools"] = tools
                    return body
                break
        body = json.loads(raw)
        tools = body.get("tools") if isinstance(body, dict) else None
        if isinstance(tools, list) and len(raw) - start >= _TOOLS_CACHE_MIN_BYTES:
            try:
                tail = raw[start:].decode("utf-8")
                value, end = _DECODER.raw_decode(tail)
            except ValueError:
                return body
            if value == tools:
                self._tools_cache.insert(0, (tail[:end].encode("utf-8"), tools))
                del self._tools_cache[_TOOLS_CACHE_SIZE:]
        return body

    # ---- handlers -------------------------------------------------------------------------------

    async def _handle_openai(self, request: web.Request) -> web.StreamResponse:
        return await self._complete(request, None)

    async def _handle_azure(self, request: web.Request) -> web.StreamResponse:
        if "api-version" not in request.query:
            self.stats.requests += 1
            self.stats.bad_request += 1
            return _error(400, "Missing required query parameter: api-version.", "invalid_request_error", "missing_api_version")
        return await self._complete(request, request.match_info["deployment"])

    async def _handle_models(self, request: web.Request) -> web.Response:
        names = list(self.config.models or ())
        if self.config.accept_sim_prefix and self.responder is default_responder:
            from pilotbench.models.simulated import SIMULATED_MODELS  # lazy, as in default_responder

            names += [m for m in SIMULATED_MODELS if m not in names]
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "pilotbench-mock"} for m in names]
        return web.json_response({"object": "list", "data": data})

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.to_dict())

    async def _handle_health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _handle_get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.faults.to_dict())

    async def _handle_set_faults(self, request: web.Request) -> web.Response:
        try:
            data = json.loads(await request.read() or b"{}")
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object of fault settings")
            self.set_faults(Faults.from_mapping(data))
        except (ValueError, TypeError) as exc:
            return _error(400, f"invalid fault settings: {exc}", "invalid_request_error", "invalid_faults")
        return web.json_response(self.faults.to_dict())

    async def _handle_reset_stats(self, request: web.Request) -> web.Response:
        self.stats.reset()
        return web.json_response({"status": "ok"})

    # ---- the completion path ------------------------------------------------------------------------

    def _lane(self, table: dict[Any, KeyState], ident: Any, label: str) -> KeyState:
        lane = table.get(ident)
        if lane is None:
            lane = table[ident] = KeyState(label)
        return lane

    async def _complete(self, request: web.Request, deployment: str | None) -> web.StreamResponse:
        stats = self.stats
        cfg = self.config
        stats.requests += 1

        # Key.
        headers = request.headers
        key = headers.get("api-key")
        if not key:
            auth = headers.get("Authorization", "")
            if auth[:7].lower() == "bearer ":
                key = auth[7:].strip()
        if not key or (cfg.keys and key not in cfg.keys):
            stats.unauthorized += 1
            return _error(
                401,
                f"Incorrect API key provided: {mask_key(key)}." if key else "No API key provided.",
                "invalid_request_error",
                "invalid_api_key",
            )
        limits = cfg.keys.get(key, cfg.default_limits) if cfg.keys else cfg.default_limits

        # Body.
        raw = await request.read()
        try:
            body = self._parse_body(raw)
        except ValueError:
            stats.bad_request += 1
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error", "invalid_json")
        if not isinstance(body, dict):
            stats.bad_request += 1
            return _error(400, "The request body must be a JSON object.", "invalid_request_error", "invalid_json")
        model = deployment if deployment is not None else body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str) or not model:
            stats.bad_request += 1
            return _error(400, "you must provide a model parameter", "invalid_request_error", "missing_model")
        if not isinstance(messages, list):
            stats.bad_request += 1
            return _error(400, "'messages' must be an array of messages", "invalid_request_error", "invalid_messages")
        if body.get("stream"):
            stats.bad_request += 1
            return _error(400, "streaming is not supported by the mock server", "invalid_request_error", "unsupported_stream")
        if not ((cfg.accept_sim_prefix and model.startswith("sim/")) or model in self._models):
            stats.not_found += 1
            return _error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        if cfg.context_messages is not None and len(messages) > cfg.context_messages:
            stats.bad_request += 1
            stats.context_refused += 1
            return context_refusal(cfg.context_wording, len(messages), cfg.context_messages, "messages")
        if cfg.context_tokens is not None and len(raw) // 4 > cfg.context_tokens:
            stats.bad_request += 1
            stats.context_refused += 1
            return context_refusal(cfg.context_wording, len(raw) // 4, cfg.context_tokens)
        if limits.quota_exhausted:
            stats.quota_exhausted += 1
            return _error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            )

        fault = self._faults.draw()
        if fault == "rate_limit_storm":
            stats.storm_429 += 1
            stats.faults["rate_limit_storm"] += 1
            ra = self.faults.storm_retry_after
            return _error(
                429,
                "Rate limit reached: the service is temporarily overloaded. Please retry later.",
                "requests",
                "rate_limit_exceeded",
                _retry_headers(ra) if ra is not None else None,
            )

        # Admission: check and take the slot with no await in between (single loop => exact).
        key_lane = self._lane(self.stats._keys, key, mask_key(key))
        if cfg.limits_per_model:
            lane = self._lane(self.stats._lanes, (key, model), f"{mask_key(key)} {model}")
        else:
            lane = key_lane
        cap = limits.max_concurrency
        budgets = limits.rpm is not None or limits.tpm is not None
        if cap is not None and lane.in_flight >= cap:
            stats.rate_limited += 1
            stats.rate_limited_concurrency += 1
            ra = cfg.concurrency_retry_after
            if ra is None:
                ra = max(0.05, cfg.latency)
            extra = rate_limit_headers(lane, limits, cfg, time.monotonic()) if budgets else {}
            return _error(
                429,
                f"Rate limit reached for key {lane.label}: {cap} concurrent requests allowed. "
                f"Please retry after {_fmt_seconds(ra)} seconds.",
                "requests",
                "rate_limit_exceeded",
                {**_retry_headers(ra), **extra},
            )
        if budgets:
            now = time.monotonic()
            cost = token_cost(len(raw), body)
            refusal = charge(lane, limits, cfg, cost, now)
            if refusal is not None:
                stats.rate_limited += 1
                if refusal.what == "requests":
                    stats.rate_limited_rpm += 1
                    what = f"{refusal.limit:g} requests per minute"
                else:
                    stats.rate_limited_tpm += 1
                    what = f"{refusal.limit:g} tokens per minute"
                ra = refusal.retry_after
                return _error(
                    429,
                    f"Rate limit reached for key {lane.label}: {what}. "
                    f"Please retry after {_fmt_seconds(ra)} seconds.",
                    refusal.what,
                    "rate_limit_exceeded",
                    {**_retry_headers(ra), **rate_limit_headers(lane, limits, cfg, now)},
                )
            if limits.tpm is not None:
                stats.tokens_charged += cost

        lane.in_flight += 1
        lane.admitted += 1
        if lane.in_flight > lane.peak:
            lane.peak = lane.in_flight
        if key_lane is not lane:
            key_lane.in_flight += 1
            key_lane.admitted += 1
            if key_lane.in_flight > key_lane.peak:
                key_lane.peak = key_lane.in_flight
        try:
            response = await self._admitted(request, body, model, raw, fault)
            if budgets:  # what is left as the answer leaves
                response.headers.update(rate_limit_headers(lane, limits, cfg, time.monotonic()))
            return response
        finally:
            lane.in_flight -= 1
            lane.completed += 1
            if key_lane is not lane:
                key_lane.in_flight -= 1
                key_lane.completed += 1

    async def _admitted(
        self, request: web.Request, body: dict[str, Any], model: str, raw: bytes, fault: str | None
    ) -> web.StreamResponse:
        stats = self.stats
        cfg = self.config
        if self._faults.fail_first():
            fault = "fail_first_n"
        if fault is not None:
            stats.faults[fault] += 1

        if fault == "hang":
            stopping = self._stopping
            if stopping is None:  # pragma: no cover - handlers only run while started
                await asyncio.sleep(self.faults.hang_seconds)
            else:
                try:
                    await asyncio.wait_for(stopping.wait(), self.faults.hang_seconds)
                    return await self._drop(request)  # server stopping: give up on the request
                except TimeoutError:
                    pass
        else:
            delay = cfg.latency
            if cfg.latency_jitter:
                delay += self._jitter_rng.uniform(-cfg.latency_jitter, cfg.latency_jitter)
            if delay > 0:
                await asyncio.sleep(delay)

        if fault == "error_500" or fault == "fail_first_n":
            return _error(500, "The server had an error while processing your request. Sorry about that!", "server_error", None)
        if fault == "error_503":
            ra = self.faults.retry_after_503
            return _error(
                503,
                "The service is temporarily overloaded. Please retry later.",
                "server_error",
                "overloaded",
                _retry_headers(ra) if ra is not None else None,
            )
        if fault == "drop_connection":
            return await self._drop(request)
        if fault == "empty_content":
            out = ModelOutput(content="", finish_reason="stop", usage=Usage(max(1, len(raw) // 4), 0))
            return self._ok(out, model, raw)

        tools = body.get("tools")
        params = {k: v for k, v in body.items() if k not in ("model", "messages", "tools")}
        try:
            result: Any = self.responder(model, body["messages"], tools if isinstance(tools, list) else None, params)
            if inspect.isawaitable(result):
                result = await result
            output: ModelOutput = result
        except LookupError as exc:
            stats.not_found += 1
            return _error(404, f"The model `{model}` does not exist: {exc}", "invalid_request_error", "model_not_found")
        except Exception as exc:  # noqa: BLE001 - a broken responder is a 500, not a dead server
            stats.responder_errors += 1
            return _error(500, f"mock responder failed: {type(exc).__name__}: {exc}", "server_error", "responder_error")

        if fault == "reasoning_only":
            return self._ok(reasoning_only(output), model, raw)
        if fault == "malformed_json":
            full = self._body_bytes(output, model, raw)
            return web.Response(status=200, body=full[: max(1, len(full) // 2)], content_type=_JSON)
        if fault is None:
            stats.ok += 1
        return self._ok(output, model, raw)

    def _body_bytes(self, output: ModelOutput, model: str, raw: bytes) -> bytes:
        usage = _estimate_usage(len(raw), output)
        if self.config.usage_divisor != 1.0:  # a provider whose usage undercounts what it charges
            usage = Usage(max(1, int(usage.prompt_tokens / self.config.usage_divisor)), usage.completion_tokens)
        body = completion_body(output, model, f"chatcmpl-mock{next(self._ids):08x}", int(time.time()), usage)
        return json.dumps(body).encode()

    def _ok(self, output: ModelOutput, model: str, raw: bytes) -> web.Response:
        return web.Response(status=200, body=self._body_bytes(output, model, raw), content_type=_JSON)

    @staticmethod
    async def _drop(request: web.Request) -> web.StreamResponse:
        """Close the connection without answering.

        Closing the transport makes aiohttp cancel this handler (handler_cancellation), exactly
        as when a client goes away; that cancellation is the quiet way out (an exception would
        be logged as an error). The sleep is only a fallback if the cancellation never comes.
        """
        transport = request.transport
        if transport is not None:
            transport.close()
        await asyncio.sleep(5.0)
        raise asyncio.CancelledError()


# --------------------------------------------------------------------------------------------
# Running it beside other code
# --------------------------------------------------------------------------------------------


class MockServerThread:
    """A `MockServer` on its own event loop in a daemon thread, for sync code and other loops.

    ``with MockServerThread(cfg, responder) as srv: ... srv.base_url ... srv.stats``
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        responder: Responder | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.server = MockServer(config, responder)
        self._host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def port(self) -> int | None:
        return self.server.port

    @property
    def stats(self) -> MockStats:
        return self.server.stats

    @property
    def config(self) -> MockConfig:
        return self.server.config

    def start(self, timeout: float = 10.0) -> MockServerThread:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._run, name="pilotbench-mock-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("mock server did not start in time")
        if self._error is not None:
            self._thread.join(timeout)
            self._thread = None
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            try:
                loop.run_until_complete(self.server.start(self._host, self._port))
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                self._error = exc
                return
            finally:
                self._ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run `fn()` on the server's loop (thread-safe access to the server) and return its result."""
        loop = self._loop
        if loop is None or self._thread is None:
            raise RuntimeError("mock server thread not running")

        async def _call() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(_call(), loop).result(timeout)

    def set_faults(self, faults: Faults | Mapping[str, Any]) -> None:
        self.call(lambda: self.server.set_faults(faults))

    def reset_stats(self) -> None:
        self.call(self.server.reset_stats)

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._thread = None
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def __enter__(self) -> MockServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    config: MockConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    responder: Responder | None = None,
    on_ready: Callable[[MockServer], Awaitable[None] | None] | None = None,
) -> None:
    """Run the mock server until interrupted (Ctrl-C). `on_ready(server)` runs once it listens."""

    async def _main() -> None:
        server = MockServer(config, responder)
        await server.start(host, port)
        try:
            if on_ready is not None:
                maybe = on_ready(server)
                if inspect.isawaitable(maybe):
                    await maybe
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        pass

