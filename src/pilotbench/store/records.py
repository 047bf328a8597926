"""The stored record of one test attempt, and the column order the store writes it in."""

from __future__ import annotations

import json
import operator
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("done", "error")


def new_attempt_id() -> str:
    """A unique attempt id: 32 hex characters, microseconds since the epoch then 72 random bits.

    Time-ordered, so a store's unique index on attempt ids grows at its end instead of taking
    each insert at a random place (a quarter of the CPU of a batched write, BENCHMARKS.md).
    """
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(9)}"


@dataclass(slots=True)
class TestRecord:
    """One row per attempt. `status` is `done` (the model's result, scored) or `error`
    (an infrastructure failure: never counted as a model failure, run again on resume)."""

    __test__ = False

    attempt_id: str
    test_id: str
    run_id: str
    model: str
    provider: str
    prompt_type: str
    task_type: str
    difficulty: str
    tool_success_rate: float
    instance: int
    seed: int
    suite_version: str
    task_hash: str
    severity: str
    max_turns: int
    status: str
    success_level: str | None = None
    success: int | None = None
    weighted_score: float | None = None
    workflow_adherence: float | None = None
    tool_coverage: float | None = None
    efficiency: float | None = None
    precision: float | None = None
    error_category: str | None = None
    infra_error: str | None = None
    turns: int = 0
    tool_calls: int = 0
    format_errors: int = 0
    assistance_turns: int = 0
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    rate_limited: int = 0
    retries: int = 0
    latency_s: float = 0.0
    call_latencies: list[float] = field(default_factory=list)
    key_label: str = ""
    lane: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    trajectory: dict[str, Any] | None = None
    required_tools: str | None = None  # the task's chain, JSON list text (exports give a list)
    params: str | None = None  # the generation parameters sent (JSON object text), when any were set
    transcript: str | None = None  # the conversation, compressed (store.transcripts); None under --transcripts none
    text_calls: int = 0  # native mode: calls the model wrote as text (benchmark.protocol)
    truncated_replies: int = 0  # replies cut off at the token limit, each given a format-help turn
    plain_result: int = 0  # 1: the final answer reported its result in plain words, no RESULT line naming a handle

    def to_row(self) -> tuple[Any, ...]:
        """The values in COLUMNS order; latencies and trajectory as compact JSON text."""
        values = list(_ALL_COLUMNS(self))
        values[_LATENCIES] = json.dumps([round(x, 4) for x in values[_LATENCIES]])
        trajectory = values[_TRAJECTORY]
        if trajectory is not None:
            values[_TRAJECTORY] = _compact_json(trajectory)
        return tuple(values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS: tuple[str, ...] = tuple(TestRecord.__dataclass_fields__)  # type: ignore[attr-defined]

# to_row() is on the write path of every result: one C-level attribute fetch for all columns and
# one reusable encoder (what json.dumps(..., separators=(",", ":"), default=str) builds per call).
_ALL_COLUMNS = operator.attrgetter(*COLUMNS)
_LATENCIES = COLUMNS.index("call_latencies")
_TRAJECTORY = COLUMNS.index("trajectory")
_compact_json = json.JSONEncoder(separators=(",", ":"), default=str, check_circular=False).encode


def run_info(text: str | None) -> dict[str, Any]:
    """A run's recorded info (JSON text) as a dict; empty when missing or not an object."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def merge_lanes(info: dict[str, Any], lanes: dict[str, Any]) -> None:
    """Each lane's entry replaces that lane's under `info["lanes"]`; other lanes' stay."""
    old = info.get("lanes")
    info["lanes"] = {**(old if isinstance(old, dict) else {}), **lanes}
