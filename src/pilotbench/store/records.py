"""The stored record of one test attempt, and the column order the store writes it in."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("done", "error")


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

    def to_row(self) -> tuple[Any, ...]:
        values = []
        for name in COLUMNS:
            v = getattr(self, name)
            if name == "call_latencies":
                v = json.dumps([round(x, 4) for x in v])
            elif name == "trajectory":
                v = None if v is None else json.dumps(v, separators=(",", ":"), default=str)
            values.append(v)
        return tuple(values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS: tuple[str, ...] = tuple(TestRecord.__dataclass_fields__)  # type: ignore[attr-defined]
