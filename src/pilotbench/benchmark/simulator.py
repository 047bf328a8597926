"""Deterministic simulated execution of the catalog tools (SPEC 1.1). Pure: no I/O, no global state.

Every :meth:`ToolSimulator.execute` call draws from its own generator, seeded by the string
``f"{test_id}#{call_index}"`` (string seeds are hashed with SHA-512 by :mod:`random`, so results
are the same in every process, unlike ``hash()``). Replaying the same calls therefore replays the
same results.

A call is validated first (unknown tool, arguments that are not an object, a missing required
parameter, a parameter of the wrong JSON type or outside its enum: INVALID_INPUT naming the
problem); otherwise it succeeds with probability ``tool_success_rate``, multiplied once by
``DEPENDENCY_PENALTY`` while any of the tool's dependencies has not yet succeeded in this test.
A failure returns one of the tool's error codes other than INVALID_INPUT.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pilotbench.benchmark.tools import INVALID_INPUT, TOOLS, ToolSpec
from pilotbench.benchmark.types import ToolResult

__all__ = ["DEPENDENCY_PENALTY", "ToolSimulator"]

DEPENDENCY_PENALTY = 0.5

# --------------------------------------------------------------------------- validation tables


def _is_string(v: Any) -> bool:
    return isinstance(v, str)


def _is_integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_boolean(v: Any) -> bool:
    return isinstance(v, bool)


def _is_array(v: Any) -> bool:
    return isinstance(v, (list, tuple))


def _is_object(v: Any) -> bool:
    return isinstance(v, Mapping)


_CHECKERS: dict[str, Callable[[Any], bool]] = {
    "string": _is_string,
    "integer": _is_integer,
    "number": _is_number,
    "boolean": _is_boolean,
    "array": _is_array,
    "object": _is_object,
}


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "array"
    if isinstance(v, Mapping):
        return "object"
    return type(v).__name__


# (name, required, checker, type name, enum set or None)
_Check = tuple[str, bool, Callable[[Any], bool], str, frozenset[str] | None]

# --------------------------------------------------------------------------- output generators

_Rng = random.Random
_Args = Mapping[str, Any]

_WORDS = ("customer_id", "order_id", "amount", "currency", "region", "status", "created_at", "sku", "quantity")
_CONTENT_TYPES = ("text/csv", "application/json", "application/xml", "text/plain")
_FINDINGS = (
    "strong seasonal pattern in Q4",
    "3 outliers above the 99th percentile",
    "amount correlates with region (r=0.62)",
    "downward trend over the last 6 periods",
    "missing values concentrated in 'currency'",
)
_ISSUES = ("missing field 'id' in 2 items", "unexpected content-type charset", "deprecated header 'X-Api-Version'")


def _hexid(rng: _Rng, prefix: str) -> str:
    return f"{prefix}_{rng.getrandbits(32):08x}"


def _str_arg(args: _Args, key: str, default: str) -> str:
    v = args.get(key)
    return v if isinstance(v, str) and v else default


_FIELD_GENERATORS: dict[str, Callable[[_Rng, _Args, int], Any]] = {
    "fields": lambda r, a, n: r.sample(_WORDS, r.randint(3, 6)),
    "parse_warnings": lambda r, a, n: r.choice((0, 0, 0, 1, 2, 5)),
    "fields_changed": lambda r, a, n: r.randint(1, 8),
    "dropped_count": lambda r, a, n: r.randint(0, n),
    "valid": lambda r, a, n: r.random() < 0.85,
    "error_count": lambda r, a, n: 0,  # made consistent with `valid` below
    "group_count": lambda r, a, n: n,
    "summary": lambda r, a, n: {"groups": n, "total": round(r.uniform(1e3, 1e6), 2), "metric": a.get("metric", "sum")},
    "bytes_read": lambda r, a, n: n * r.randint(40, 400),
    "content_type": lambda r, a, n: r.choice(_CONTENT_TYPES),
    "bytes_written": lambda r, a, n: n * r.randint(40, 400),
    "path": lambda r, a, n: _str_arg(a, "path", "/data/out/result.json"),
    "total_bytes": lambda r, a, n: n * r.randint(2_000, 2_000_000),
    "output_format": lambda r, a, n: _str_arg(a, "target_format", "json"),
    "compressed_bytes": lambda r, a, n: r.randint(10_000, 5_000_000),
    "ratio": lambda r, a, n: round(r.uniform(0.1, 0.6), 3),
    "status_code": lambda r, a, n: r.choice((200, 200, 200, 201, 202)),
    "response_id": lambda r, a, n: _hexid(r, "resp"),
    "healthy": lambda r, a, n: r.random() < 0.9,
    "latency_ms": lambda r, a, n: round(r.uniform(5.0, 450.0), 1),
    "route": lambda r, a, n: f"{_str_arg(a, 'destination', 'default')}/node-{r.randint(1, 12)}",
    "hops": lambda r, a, n: r.randint(1, 6),
    "issues": lambda r, a, n: r.sample(_ISSUES, r.randint(0, 2)),
    "result": lambda r, a, n: round(r.uniform(-1e3, 1e6), 2),
    "findings": lambda r, a, n: r.sample(_FINDINGS, r.randint(1, 3)),
    "confidence": lambda r, a, n: round(r.uniform(0.7, 0.99), 3),
    "predictions": lambda r, a, n: [round(r.uniform(100.0, 10_000.0), 1) for _ in range(_horizon(a))],
    "accuracy": lambda r, a, n: round(r.uniform(0.6, 0.97), 3),
    "optimal_value": lambda r, a, n: round(r.uniform(10.0, 1e5), 2),
    "iterations": lambda r, a, n: r.randint(12, 1000),
    "mean_outcome": lambda r, a, n: round(r.uniform(-0.2, 0.4), 4),
    "converged": lambda r, a, n: r.random() < 0.9,
    "expires_in": lambda r, a, n: r.choice((900, 1800, 3600)),
    "scopes_granted": lambda r, a, n: [s for s in a.get("scopes") or ("read",) if isinstance(s, str)] or ["read"],
    "connection_id": lambda r, a, n: _hexid(r, "conn"),
    "mapped_fields": lambda r, a, n: max(1, len(a["mapping"])) if isinstance(a.get("mapping"), Mapping) else r.randint(1, 9),
    "unmapped_fields": lambda r, a, n: r.sample(_WORDS, r.randint(0, 2)),
    "message_id": lambda r, a, n: _hexid(r, "msg"),
    "queue_depth": lambda r, a, n: n + r.randint(0, 500),
    "job_id": lambda r, a, n: _hexid(r, "job"),
    "next_run": lambda r, a, n: f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:00:00Z",
    "log_id": lambda r, a, n: _hexid(r, "log"),
    "cache_key": lambda r, a, n: _str_arg(a, "key", "default"),
    "hit": lambda r, a, n: r.random() < 0.3,
    "event_id": lambda r, a, n: _hexid(r, "evt"),
    "total_events": lambda r, a, n: r.randint(1, 250),
    "notification_id": lambda r, a, n: _hexid(r, "ntf"),
    "delivered": lambda r, a, n: r.random() < 0.95,
    "output_value": lambda r, a, n: _hexid(r, "val"),
}

_TYPE_DEFAULTS: dict[str, Callable[[_Rng, _Args, int], Any]] = {
    "string": lambda r, a, n: _hexid(r, "v"),
    "integer": lambda r, a, n: r.randint(0, 1000),
    "number": lambda r, a, n: round(r.random() * 1000, 3),
    "boolean": lambda r, a, n: r.random() < 0.5,
    "array": lambda r, a, n: [],
    "object": lambda r, a, n: {},
}


def _horizon(args: _Args) -> int:
    h = args.get("horizon")
    return min(h, 24) if isinstance(h, int) and not isinstance(h, bool) and h > 0 else 4


# record_count range per tool (default (20, 5000)); single-item tools return 1.
_RECORD_RANGES: dict[str, tuple[int, int]] = {
    "data_processing_aggregator": (3, 60),
    "data_processing_filter": (5, 2000),
    "file_operations_scanner": (1, 120),
    "network_monitor": (3, 30),
    "computation_calculator": (1, 1),
    "computation_optimizer": (1, 1),
    "computation_simulator": (100, 10_000),
    "computation_predictor": (4, 24),
    "integration_authenticator": (1, 1),
    "integration_connector": (1, 1),
    "integration_scheduler": (1, 1),
    "utility_logger": (1, 1),
    "utility_notifier": (1, 1),
    "utility_helper": (1, 1),
    "utility_tracker": (1, 1),
}

# --------------------------------------------------------------------------- failure messages


def _target(args: _Args, *keys: str) -> str:
    for k in keys:
        v = args.get(k)
        if isinstance(v, str) and v:
            return v
    return "the requested resource"


_FAILURE_MESSAGES: dict[str, Callable[[_Rng, ToolSpec, _Args], str]] = {
    "OPERATION_FAILED": lambda r, t, a: f"{t.operation} failed: "
    + r.choice(("internal error while processing the request", "backend rejected the operation", "resource busy")),
    "TIMEOUT": lambda r, t, a: f"{t.operation} timed out after {r.choice((15, 30, 60))} s",
    "FILE_NOT_FOUND": lambda r, t, a: f"no such file or directory: {_target(a, 'path', 'directory', 'input')}",
    "PERMISSION_DENIED": lambda r, t, a: f"permission denied: {_target(a, 'path', 'directory', 'input')}",
    "NETWORK_ERROR": lambda r, t, a: f"could not reach {_target(a, 'url', 'endpoint', 'destination')}: "
    + r.choice(("connection reset by peer", "connection refused", "name resolution failed")),
    "INVALID_RESPONSE": lambda r, t, a: "upstream returned a malformed response "
    + r.choice(("(HTTP 502)", "(truncated JSON body)", "(unexpected content-type text/html)")),
    "CALCULATION_ERROR": lambda r, t, a: "calculation error: "
    + r.choice(("division by zero", "non-numeric value in column 'amount'", "matrix is singular")),
    "OVERFLOW": lambda r, t, a: "numeric overflow: intermediate value exceeds the float range",
}


# --------------------------------------------------------------------------- per-tool tables


class _Table:
    __slots__ = ("spec", "checks", "required", "failure_codes", "failure_messages", "fields", "records")

    def __init__(self, spec: ToolSpec) -> None:
        self.spec = spec
        self.checks: tuple[_Check, ...] = tuple(
            (p.name, p.required, _CHECKERS[p.type], p.type, frozenset(p.enum) if p.enum is not None else None)
            for p in spec.parameters
        )
        self.failure_codes: tuple[str, ...] = tuple(c for c in spec.errors if c != INVALID_INPUT)
        self.failure_messages = tuple(_FAILURE_MESSAGES[c] for c in self.failure_codes)
        self.fields: tuple[tuple[str, Callable[[_Rng, _Args, int], Any]], ...] = tuple(
            (f, _FIELD_GENERATORS.get(f) or _TYPE_DEFAULTS[t])
            for f, t in spec.returns
            if f not in ("handle", "record_count")
        )
        self.records = _RECORD_RANGES.get(spec.name, (20, 5000))

    def validate(self, args: Mapping[str, Any]) -> str | None:
        for name, required, check, type_name, enum in self.checks:
            if name not in args:
                if required:
                    return f"missing required parameter '{name}'"
                continue
            value = args[name]
            if value is None and not required:
                continue  # an explicit null for an optional parameter means "use the default"
            if not check(value):
                return f"parameter '{name}' must be of type {type_name}, got {_json_type(value)}"
            if enum is not None and value not in enum:
                return f"parameter '{name}' must be one of {', '.join(sorted(enum))}; got {value!r}"
        return None

    def output(self, rng: _Rng, args: Mapping[str, Any]) -> dict[str, Any]:
        lo, hi = self.records
        n = rng.randint(lo, hi)
        out: dict[str, Any] = {"handle": f"dh_{rng.getrandbits(32):08x}", "record_count": n}
        for f, gen in self.fields:
            out[f] = gen(rng, args, n)
        if "error_count" in out:
            out["error_count"] = 0 if out.get("valid", True) else rng.randint(1, max(1, n // 10))
        return out


_TABLES: dict[str, _Table] = {name: _Table(spec) for name, spec in TOOLS.items()}


# --------------------------------------------------------------------------- the simulator


class ToolSimulator:
    """Executes tool calls for one test. Create one per test; not thread-safe."""

    __slots__ = ("test_id", "tool_success_rate", "dependencies", "succeeded", "calls")

    def __init__(
        self,
        test_id: str,
        tool_success_rate: float,
        dependencies: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        rate = float(tool_success_rate)
        if not 0.0 <= rate <= 1.0:  # also rejects NaN
            raise ValueError(f"tool_success_rate must be in [0, 1], got {tool_success_rate!r}")
        self.test_id = str(test_id)
        self.tool_success_rate = rate
        if dependencies is None:
            self.dependencies: dict[str, tuple[str, ...]] = {n: t.dependencies for n, t in TOOLS.items()}
        else:
            self.dependencies = {n: tuple(d) for n, d in dependencies.items()}
        self.succeeded: set[str] = set()
        self.calls = 0

    def execute(self, name: str, arguments: Mapping[str, Any] | None) -> ToolResult:
        index = self.calls
        self.calls += 1
        table = _TABLES.get(name)
        if table is None:
            return ToolResult(success=False, error_code=INVALID_INPUT, message=f"unknown tool '{name}'")
        if arguments is None or not isinstance(arguments, Mapping):
            return ToolResult(success=False, error_code=INVALID_INPUT, message="arguments are not a JSON object")
        problem = table.validate(arguments)
        if problem is not None:
            return ToolResult(success=False, error_code=INVALID_INPUT, message=f"{name}: {problem}")

        rng = random.Random(f"{self.test_id}#{index}")
        p = self.tool_success_rate
        deps = self.dependencies.get(name)
        if deps:
            succeeded = self.succeeded
            for d in deps:
                if d not in succeeded:
                    p *= DEPENDENCY_PENALTY
                    break
        if rng.random() < p:
            self.succeeded.add(name)
            return ToolResult(success=True, output=table.output(rng, arguments))
        k = rng.randrange(len(table.failure_codes))
        code = table.failure_codes[k]
        return ToolResult(success=False, error_code=code, message=table.failure_messages[k](rng, table.spec, arguments))
