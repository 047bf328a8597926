"""An OpenAI-compatible mock provider server (SPEC section 6).

It speaks the OpenAI chat-completions protocol on the OpenAI path (``/v1/chat/completions``),
the Azure deployment path (``/openai/deployments/{deployment}/chat/completions``) and the Azure
AI Foundry v1 path (``/openai/v1/chat/completions``), and puts in front of a *responder* (by
default the simulated models) what real providers put in front of a model: API keys, per-key
concurrency and requests-per-minute limits answered by 429 with ``Retry-After``, exhausted
quotas, latency, and injected faults (500s, hangs, malformed bodies, empty or reasoning-only
answers, dropped connections, 429 storms).

The tests use it for the real HTTP path; users use it to try a setup without spending::

    with MockServerThread(MockConfig(keys={"k-1234": KeyLimits(max_concurrency=2)})) as srv:
        client = openai.OpenAI(base_url=srv.base_url + "/v1", api_key="k-1234")

It is built to stay cheap per request (thousands of requests per second, about a thousand in
flight): no per-request logging, no access log, one random draw per request. Keys never appear
in full anywhere it writes (error bodies, ``/stats``): only as ``...abcd``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import itertools
import json
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from pilotbench.benchmark.types import ModelOutput, Usage

__all__ = [
    "FAULT_KINDS",
    "Faults",
    "KeyLimits",
    "MockConfig",
    "MockServer",
    "MockServerThread",
    "MockStats",
    "Responder",
    "config_from_options",
    "completion_body",
    "default_responder",
    "mask_key",
    "serve",
]

Responder = Callable[[str, list[dict[str, Any]], "list[dict[str, Any]] | None", dict[str, Any]], ModelOutput]
"""``(model, messages, tools, params) -> ModelOutput``; may also return an awaitable of one."""

# Order matters: it fixes which fault a given random draw maps to (repeatable runs).
FAULT_KINDS: tuple[str, ...] = (
    "error_500",
    "hang",
    "malformed_json",
    "empty_content",
    "reasoning_only",
    "drop_connection",
    "rate_limit_storm",
)
# What `config_from_options(fault_rate=...)` spreads over: everything but hangs.
_SPREAD_FAULT_KINDS: tuple[str, ...] = tuple(k for k in FAULT_KINDS if k != "hang")

_REASONING_TEXT = "Let me think step by step about which tool to call next and with which arguments."


def mask_key(key: str | None) -> str:
    """The only form in which a key may be shown: its last four characters."""
    if not key:
        return "<none>"
    return "..." + key[-4:]


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """Limits of one API key (or of one key+model when `MockConfig.limits_per_model`)."""

    max_concurrency: int | None = None
    rpm: int | None = None
    quota_exhausted: bool = False

    def __post_init__(self) -> None:
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1 or None, got {self.max_concurrency!r}")
        if self.rpm is not None and self.rpm < 1:
            raise ValueError(f"rpm must be >= 1 or None, got {self.rpm!r}")

    @classmethod
    def coerce(cls, value: KeyLimits | Mapping[str, Any] | None) -> KeyLimits:
        if value is None:
            return cls()
        if isinstance(value, KeyLimits):
            return value
        return cls(**dict(value))


@dataclass(frozen=True, slots=True)
class Faults:
    """Per-request fault probabilities (drawn from the server's seeded RNG) and their knobs.

    At most one fault applies to a request; the probabilities must sum to at most 1.
    `fail_first_n` makes the first N admitted requests (counted from start or from the last
    fault replacement) answer 500, whatever the probabilities say.
    """

    error_500: float = 0.0
    hang: float = 0.0
    malformed_json: float = 0.0
    empty_content: float = 0.0
    reasoning_only: float = 0.0
    drop_connection: float = 0.0
    rate_limit_storm: float = 0.0
    hang_seconds: float = 3600.0
    storm_retry_after: float | None = 1.0
    fail_first_n: int = 0

    def __post_init__(self) -> None:
        total = 0.0
        for kind in FAULT_KINDS:
            p = float(getattr(self, kind))
            _check_probability(kind, p)
            total += p
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities sum to {total:.4g} > 1")
        if self.hang_seconds < 0:
            raise ValueError("hang_seconds must be >= 0")
        if self.storm_retry_after is not None and self.storm_retry_after < 0:
            raise ValueError("storm_retry_after must be >= 0 or None")
        if self.fail_first_n < 0:
            raise ValueError("fail_first_n must be >= 0")

    @property
    def total_probability(self) -> float:
        return sum(float(getattr(self, k)) for k in FAULT_KINDS)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Faults:
        """Build from a JSON-like mapping; unknown fields are an error, not silently ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class MockConfig:
    """Everything the mock server needs; immutable except faults, replaceable at runtime.

    keys: accepted API key -> its limits (a plain list of keys is accepted too and gets
        `default_limits`). Empty: any non-empty key is accepted, each with `default_limits`.
    limits_per_model: count concurrency and RPM per key+model instead of per key.
    latency / latency_jitter: seconds each admitted request waits (uniform in mean +- jitter),
        holding its concurrency slot.
    models: model (or Azure deployment) names accepted besides, when `accept_sim_prefix`, any
        name starting with ``sim/``. Anything else is answered 404 ``model_not_found``.
    concurrency_retry_after: Retry-After sent on a concurrency 429; None derives it from the
        latency (the time a slot takes to free up, at least 0.05 s).
    rpm_window: the sliding window, in seconds, that `rpm` is counted over (60 in real life).
    seed: seeds the fault and jitter draws, so a run is repeatable.
    """

    keys: Mapping[str, KeyLimits] = field(default_factory=dict)
    default_limits: KeyLimits = field(default_factory=KeyLimits)
    limits_per_model: bool = False
    latency: float = 0.0
    latency_jitter: float = 0.0
    models: tuple[str, ...] | None = None
    accept_sim_prefix: bool = True
    faults: Faults = field(default_factory=Faults)
    concurrency_retry_after: float | None = None
    rpm_window: float = 60.0
    seed: int = 0

    def __post_init__(self) -> None:
        keys = self.keys
        if isinstance(keys, Mapping):
            coerced = {str(k): KeyLimits.coerce(v) for k, v in keys.items()}
        else:  # an iterable of key strings
            coerced = {str(k): self.default_limits for k in keys}
        if any(not k for k in coerced):
            raise ValueError("API keys must be non-empty strings")
        object.__setattr__(self, "keys", coerced)
        object.__setattr__(self, "default_limits", KeyLimits.coerce(self.default_limits))
        if self.models is not None:
            object.__setattr__(self, "models", tuple(self.models))
        if isinstance(self.faults, Mapping):
            object.__setattr__(self, "faults", Faults.from_mapping(self.faults))
        if self.latency < 0 or self.latency_jitter < 0:
            raise ValueError("latency and latency_jitter must be >= 0")
        if self.rpm_window <= 0:
            raise ValueError("rpm_window must be > 0")

    def __repr__(self) -> str:  # keys masked: reprs end up in logs and tracebacks
        keys = {mask_key(k): v for k, v in self.keys.items()}
        return (
            f"MockConfig(keys={keys!r}, default_limits={self.default_limits!r}, "
            f"limits_per_model={self.limits_per_model!r}, latency={self.latency!r}, "
            f"latency_jitter={self.latency_jitter!r}, models={self.models!r}, "
            f"accept_sim_prefix={self.accept_sim_prefix!r}, faults={self.faults!r}, "
            f"concurrency_retry_after={self.concurrency_retry_after!r}, "
            f"rpm_window={self.rpm_window!r}, seed={self.seed!r})"
        )


def config_from_options(
    keys: Iterable[str] = (),
    max_concurrency: int | None = None,
    rpm: int | None = None,
    latency: float = 0.0,
    fault_rate: float = 0.0,
    seed: int = 0,
    *,
    latency_jitter: float = 0.0,
    models: Iterable[str] | None = None,
    limits_per_model: bool = False,
    quota_exhausted_keys: Iterable[str] = (),
    hang_rate: float = 0.0,
    hang_seconds: float = 3600.0,
    storm_retry_after: float | None = 1.0,
    fail_first_n: int = 0,
) -> MockConfig:
    """Turn simple CLI-style options into a `MockConfig`.

    Every key (or, with no keys, any key) gets the same `max_concurrency` and `rpm`.
    `fault_rate` is spread evenly over all fault kinds except hangs (`hang_rate` adds those).
    Keys in `quota_exhausted_keys` answer every request with ``insufficient_quota``.
    """
    _check_probability("fault_rate", fault_rate)
    _check_probability("hang_rate", hang_rate)
    limits = KeyLimits(max_concurrency=max_concurrency, rpm=rpm)
    exhausted = set(quota_exhausted_keys)
    key_map: dict[str, KeyLimits] = {}
    for k in keys:
        key_map[k] = dataclasses.replace(limits, quota_exhausted=k in exhausted)
    for k in exhausted - set(key_map):
        key_map[k] = dataclasses.replace(limits, quota_exhausted=True)
    share = fault_rate / len(_SPREAD_FAULT_KINDS)
    faults = Faults(
        **{k: share for k in _SPREAD_FAULT_KINDS},
        hang=hang_rate,
        hang_seconds=hang_seconds,
        storm_retry_after=storm_retry_after,
        fail_first_n=fail_first_n,
    )
    return MockConfig(
        keys=key_map,
        default_limits=limits,
        limits_per_model=limits_per_model,
        latency=latency,
        latency_jitter=latency_jitter,
        models=tuple(models) if models is not None else None,
        faults=faults,
        seed=seed,
    )


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
# Statistics
# --------------------------------------------------------------------------------------------


class _Lane:
    """In-flight count, peak, RPM window and counters of one key (or key+model)."""

    __slots__ = ("label", "in_flight", "peak", "admitted", "completed", "window")

    def __init__(self, label: str) -> None:
        self.label = label
        self.in_flight = 0
        self.peak = 0
        self.admitted = 0
        self.completed = 0
        self.window: deque[float] = deque()


class MockStats:
    """Counters of one server; read them as attributes or as JSON at ``GET /stats``.

    Per-key figures are keyed by the masked key (``...abcd``); per-lane figures (only
    filled when `limits_per_model`) by ``"...abcd model"``.
    requests: every chat-completions request received.
    ok: normal 200 answers (faulty 200s are counted under `faults` only).
    rate_limited: 429s caused by the configured limits (split into `rate_limited_concurrency`
        and `rate_limited_rpm`); `storm_429`: 429s from the storm fault; `quota_exhausted`:
        ``insufficient_quota`` answers.
    faults: injected faults by kind (plus ``fail_first_n``).
    max_in_flight / completed / admitted / in_flight: per key, over admitted requests only;
        `completed` counts admitted requests that finished, whatever their outcome.
    """

    def __init__(self) -> None:
        self._keys: dict[str, _Lane] = {}
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.ok = 0
        self.rate_limited = 0
        self.rate_limited_concurrency = 0
        self.rate_limited_rpm = 0
        self.storm_429 = 0
        self.quota_exhausted = 0
        self.unauthorized = 0
        self.bad_request = 0
        self.not_found = 0
        self.responder_errors = 0
        self.faults: dict[str, int] = dict.fromkeys((*FAULT_KINDS, "fail_first_n"), 0)
        for lane in itertools.chain(self._keys.values(), self._lanes.values()):
            lane.peak = lane.in_flight
            lane.admitted = lane.completed = 0

    @staticmethod
    def _merge(lanes: Iterable[_Lane], attr: str, combine: Callable[[int, int], int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for lane in lanes:
            value = getattr(lane, attr)
            out[lane.label] = combine(out[lane.label], value) if lane.label in out else value
        return out

    @property
    def max_in_flight(self) -> dict[str, int]:
        return self._merge(self._keys.values(), "peak", max)

    @property
    def in_flight(self) -> dict[str, int]:
        return self._merge(self._keys.values(), "in_flight", int.__add__)

    @property
    def completed(self) -> dict[str, int]:
        return self._merge(self._keys.values(), "completed", int.__add__)

    @property
    def admitted(self) -> dict[str, int]:
        return self._merge(self._keys.values(), "admitted", int.__add__)

    @property
    def max_in_flight_by_lane(self) -> dict[str, int]:
        return self._merge(self._lanes.values(), "peak", max)

    @property
    def total_in_flight(self) -> int:
        return sum(lane.in_flight for lane in self._keys.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "rate_limited": self.rate_limited,
            "rate_limited_concurrency": self.rate_limited_concurrency,
            "rate_limited_rpm": self.rate_limited_rpm,
            "storm_429": self.storm_429,
            "quota_exhausted": self.quota_exhausted,
            "unauthorized": self.unauthorized,
            "bad_request": self.bad_request,
            "not_found": self.not_found,
            "responder_errors": self.responder_errors,
            "faults": dict(self.faults),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "max_in_flight_by_lane": self.max_in_flight_by_lane,
            "admitted": self.admitted,
            "completed": self.completed,
        }


# --------------------------------------------------------------------------------------------
# Wire format helpers
# --------------------------------------------------------------------------------------------

_JSON = "application/json"
_TOOLS_KEY = b'"tools":'
_TOOLS_CACHE_SIZE = 8
_TOOLS_CACHE_MIN_BYTES = 512
_DECODER = json.JSONDecoder()


def _fmt_seconds(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds == int(seconds):
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".") or "0"


def _error(
    status: int,
    message: str,
    type_: str,
    code: str | None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = json.dumps({"error": {"message": message, "type": type_, "param": None, "code": code}})
    return web.Response(status=status, text=body, content_type=_JSON, headers=headers)


def _retry_headers(seconds: float) -> dict[str, str]:
    return {"Retry-After": _fmt_seconds(seconds), "retry-after-ms": str(int(round(seconds * 1000)))}


def _estimate_usage(raw_len: int, output: ModelOutput) -> Usage:
    if output.usage.prompt_tokens or output.usage.completion_tokens:
        return output.usage
    out_chars = len(output.content or "") + len(output.reasoning or "")
    for tc in output.tool_calls:
        out_chars += len(tc.name) + len(tc.arguments)
    return Usage(prompt_tokens=max(1, raw_len // 4), completion_tokens=max(1, out_chars // 4))


def completion_body(
    output: ModelOutput, model: str, completion_id: str, created: int, usage: Usage | None = None
) -> dict[str, Any]:
    """The ``chat.completion`` JSON object for one `ModelOutput`."""
    message: dict[str, Any] = {"role": "assistant", "content": output.content}
    if output.tool_calls:
        message["tool_calls"] = [
            {
                "id": tc.id or f"call_{i}",
                "type": "function",
                "function": {"name": tc.name, "arguments": tc.arguments},
            }
            for i, tc in enumerate(output.tool_calls)
        ]
    if output.reasoning:
        message["reasoning_content"] = output.reasoning
    finish = output.finish_reason or ("tool_calls" if output.tool_calls else "stop")
    u = usage or output.usage
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens,
        },
    }


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class MockServer:
    """The mock provider on the current event loop: ``await start()``, ``await stop()``."""

    def __init__(self, config: MockConfig | None = None, responder: Responder | None = None) -> None:
        self.config = config or MockConfig()
        self.responder: Responder = responder or default_responder
        self.stats = MockStats()
        self._rng = random.Random(self.config.seed)
        self._jitter_rng = random.Random(self.config.seed + 0x5EED)
        self._ids = itertools.count(1)
        self._models = frozenset(self.config.models or ())
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.host: str | None = None
        self.port: int | None = None
        self.faults = self.config.faults
        self._fault_table: tuple[tuple[float, str], ...] = ()
        self._fault_total = 0.0
        self._fail_count = 0
        self._tools_cache: list[tuple[bytes, Any]] = []  # (serialised tools array, parsed), newest first
        self.set_faults(self.config.faults)

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

    def set_faults(self, faults: Faults | Mapping[str, Any]) -> None:
        """Replace the fault settings (also resets the `fail_first_n` count)."""
        if not isinstance(faults, Faults):
            faults = Faults.from_mapping(faults)
        table: list[tuple[float, str]] = []
        acc = 0.0
        for kind in FAULT_KINDS:
            p = float(getattr(faults, kind))
            if p > 0:
                acc += p
                table.append((acc, kind))
        self.faults = faults
        self._fault_table = tuple(table)
        self._fault_total = acc
        self._fail_count = 0

    def reset_stats(self) -> None:
        self.stats.reset()

    def _draw_fault(self) -> str | None:
        if not self._fault_total:
            return None
        u = self._rng.random()
        if u >= self._fault_total:
            return None
        for bound, kind in self._fault_table:
            if u < bound:
                return kind
        return None  # pragma: no cover - float edge

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
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "pilotbench-mock"} for m in self.config.models or ()]
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

    def _lane(self, table: dict[Any, _Lane], ident: Any, label: str) -> _Lane:
        lane = table.get(ident)
        if lane is None:
            lane = table[ident] = _Lane(label)
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
        if limits.quota_exhausted:
            stats.quota_exhausted += 1
            return _error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            )

        fault = self._draw_fault()
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
        if cap is not None and lane.in_flight >= cap:
            stats.rate_limited += 1
            stats.rate_limited_concurrency += 1
            ra = cfg.concurrency_retry_after
            if ra is None:
                ra = max(0.05, cfg.latency)
            return _error(
                429,
                f"Rate limit reached for key {lane.label}: {cap} concurrent requests allowed. "
                f"Please retry after {_fmt_seconds(ra)} seconds.",
                "requests",
                "rate_limit_exceeded",
                _retry_headers(ra),
            )
        rpm = limits.rpm
        if rpm is not None:
            now = time.monotonic()
            window = lane.window
            horizon = now - cfg.rpm_window
            while window and window[0] <= horizon:
                window.popleft()
            if len(window) >= rpm:
                stats.rate_limited += 1
                stats.rate_limited_rpm += 1
                ra = max(0.001, window[0] - horizon)
                return _error(
                    429,
                    f"Rate limit reached for key {lane.label}: {rpm} requests per minute. "
                    f"Please retry after {_fmt_seconds(ra)} seconds.",
                    "requests",
                    "rate_limit_exceeded",
                    _retry_headers(ra),
                )
            window.append(now)

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
            return await self._admitted(request, body, model, raw, fault)
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
        if self._fail_count < self.faults.fail_first_n:
            self._fail_count += 1
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
            text = output.reasoning or _REASONING_TEXT
            if output.content:
                text = f"{text}\n{output.content}"
            for tc in output.tool_calls:
                text = f"{text}\nI should call {tc.name} with {tc.arguments}."
            out = ModelOutput(content="", reasoning=text, usage=output.usage, finish_reason="stop")
            return self._ok(out, model, raw)
        if fault == "malformed_json":
            full = self._body_bytes(output, model, raw)
            return web.Response(status=200, body=full[: max(1, len(full) // 2)], content_type=_JSON)
        if fault is None:
            stats.ok += 1
        return self._ok(output, model, raw)

    def _body_bytes(self, output: ModelOutput, model: str, raw: bytes) -> bytes:
        body = completion_body(
            output, model, f"chatcmpl-mock{next(self._ids):08x}", int(time.time()), _estimate_usage(len(raw), output)
        )
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
