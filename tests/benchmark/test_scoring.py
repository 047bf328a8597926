"""Scoring (SPEC 1.5): success level, the three scores and the error category, on hand-built trajectories."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pilotbench.benchmark.scoring import dependency_order_ok, error_category, first_successes, score
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.benchmark.types import ERROR_CATEGORIES, CallRecord, Score, Trajectory

R, P, W = "file_operations_reader", "data_processing_parser", "file_operations_writer"
REQ3 = (R, P, W)
DEP3 = {P: (R,), W: (P,)}
REQ2 = (R, P)
DEP2 = {P: (R,)}


def ok(name: str, turn: int = 0) -> CallRecord:
    return CallRecord(turn, name, {"x": 1}, True)


def fail(name: str, code: str = "OPERATION_FAILED", turn: int = 0, *, known: bool = True) -> CallRecord:
    return CallRecord(turn, name, {"x": 1}, False, code, known_tool=known)


def traj(
    calls: list[CallRecord],
    turns: int,
    *,
    stop: str = "final_answer",
    declared: bool = True,
    format_errors: int = 0,
) -> Trajectory:
    return Trajectory(
        calls=calls,
        turns=turns,
        format_errors=format_errors,
        assistance_turns=format_errors,
        final_answer="FINAL ANSWER: done" if stop == "final_answer" else None,
        declared_completion=declared if stop == "final_answer" else False,
        stop_reason=stop,
    )


@dataclass(frozen=True)
class Case:
    name: str
    required: tuple[str, ...]
    deps: dict[str, tuple[str, ...]]
    traj: Trajectory
    level: str
    category: str | None
    adherence: float
    coverage: float
    efficiency: float


CASES = [
    # ---------------------------------------------------------------- full success
    Case("perfect run", REQ3, DEP3, traj([ok(R, 1), ok(P, 2), ok(W, 3)], 4),
         "full_success", None, 1.0, 1.0, 1.0),
    Case("full after a retry", REQ3, DEP3, traj([fail(R, turn=1), ok(R, 2), ok(P, 3), ok(W, 4)], 5),
         "full_success", None, 1.0, 1.0, 4 / 5),
    Case("full with an extra call and a format error", REQ3, DEP3,
         traj([ok(R), ok("utility_logger"), ok(P), ok(W)], 8, format_errors=1),
         "full_success", None, 1.0, 1.0, 0.5),
    # ---------------------------------------------------------------- tool_call_format_errors
    Case("only format errors", REQ3, DEP3, traj([], 10, stop="max_turns", format_errors=10),
         "failure", "tool_call_format_errors", 0.0, 0.0, 0.4),
    Case("half the turns format errors", REQ3, DEP3,
         traj([ok(R), ok(P)], 6, stop="max_turns", format_errors=3),
         "partial_success", "tool_call_format_errors", 2 / 3, 2 / 3, 4 / 6),
    Case("invalid-JSON call only", REQ3, DEP3,
         traj([CallRecord(1, R, None, False, "INVALID_INPUT")], 2, format_errors=1),
         "failure", "tool_call_format_errors", 0.0, 0.0, 1.0),
    # ---------------------------------------------------------------- tool_selection_errors
    Case("below half the format-error threshold: selection", REQ3, DEP3,
         traj([ok(R), ok(P)], 6, stop="max_turns", format_errors=2),
         "partial_success", "tool_selection_errors", 2 / 3, 2 / 3, 4 / 6),
    Case("last required tool never called", REQ3, DEP3, traj([ok(R), ok(P)], 3),
         "partial_success", "tool_selection_errors", 2 / 3, 2 / 3, 1.0),
    Case("a tool that does not exist", REQ3, DEP3,
         traj([ok(R), fail("file_reader_pro", "INVALID_INPUT", known=False), ok(P), ok(W)], 10, stop="max_turns"),
         "partial_success", "tool_selection_errors", 1.0, 1.0, 0.4),
    Case("wrong sibling tool instead of the parser", REQ3, DEP3,
         traj([ok(R), ok("data_processing_transformer"), ok(W)], 4),
         "partial_success", "tool_selection_errors", 2 / 3, 2 / 3, 1.0),
    # ---------------------------------------------------------------- parameter_config_errors
    Case("parser refused for its arguments", REQ3, DEP3,
         traj([ok(R), fail(P, "INVALID_INPUT"), fail(P, "INVALID_INPUT"), fail(W)], 5),
         "failure", "parameter_config_errors", 1 / 3, 1 / 3, 4 / 5),
    # ---------------------------------------------------------------- timeout_errors
    Case("writer timed out last", REQ3, DEP3, traj([ok(R), ok(P), fail(W, "TIMEOUT")], 4),
         "partial_success", "timeout_errors", 2 / 3, 2 / 3, 1.0),
    Case("timeout then another failure: not a timeout", REQ3, DEP3,
         traj([ok(R), ok(P), fail(W, "TIMEOUT"), fail(W, "PERMISSION_DENIED")], 5),
         "partial_success", "other_errors", 2 / 3, 2 / 3, 4 / 5),
    # ---------------------------------------------------------------- dependency_errors
    Case("reader never succeeded, so nothing after it did", REQ3, DEP3,
         traj([fail(R, "FILE_NOT_FOUND"), fail(P), fail(W)], 4),
         "failure", "dependency_errors", 0.0, 0.0, 1.0),
    # ---------------------------------------------------------------- sequence_order_errors
    Case("all succeeded, out of dependency order", REQ3, DEP3, traj([ok(P), ok(R), ok(W)], 4),
         "partial_success", "sequence_order_errors", 2 / 3, 1.0, 1.0),
    Case("reversed two-step workflow", REQ2, DEP2, traj([ok(P), ok(R)], 3),
         "partial_success", "sequence_order_errors", 1 / 2, 1.0, 1.0),
    # ---------------------------------------------------------------- max_turns_errors
    Case("all done in order, but no final answer", REQ3, DEP3,
         traj([ok(R), ok(P), ok(W)], 10, stop="max_turns"),
         "partial_success", "max_turns_errors", 1.0, 1.0, 0.4),
    # ---------------------------------------------------------------- other_errors
    Case("gave up in the final answer", REQ3, DEP3, traj([ok(R), ok(P), ok(W)], 4, declared=False),
         "partial_success", "other_errors", 1.0, 1.0, 1.0),
    Case("last step failed, dependency met", REQ3, DEP3, traj([ok(R), ok(P), fail(W), fail(W)], 5),
         "partial_success", "other_errors", 2 / 3, 2 / 3, 4 / 5),
    Case("stopped on repeated calls", REQ3, DEP3,
         traj([ok(R), ok(P), ok(W)], 6, stop="repeated_call"),
         "partial_success", "other_errors", 1.0, 1.0, 4 / 6),
    # ---------------------------------------------------------------- partial / failure boundary
    Case("two-step: one of two is half: partial", REQ2, DEP2, traj([ok(R), fail(P)], 3),
         "partial_success", "other_errors", 1 / 2, 1 / 2, 1.0),
    Case("three-step: one of three is failure", REQ3, DEP3, traj([ok(R), fail(P), fail(P), fail(W)], 5),
         "failure", "dependency_errors", 1 / 3, 1 / 3, 4 / 5),
    Case("no turns at all", REQ3, DEP3, traj([], 0, stop="max_turns"),
         "failure", "tool_selection_errors", 0.0, 0.0, 0.0),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_score_table(case: Case) -> None:
    got = score(case.required, case.deps, case.traj)
    assert got == Score(case.level, case.adherence, case.coverage, case.efficiency, case.category)
    for value in (got.workflow_adherence, got.tool_coverage, got.efficiency):
        assert 0.0 <= value <= 1.0
    assert got.success == (case.level != "failure")
    assert got.weighted_score == {"full_success": 1.0, "partial_success": 0.5, "failure": 0.0}[case.level]
    if case.category is not None:
        # error_category on its own agrees with score()
        assert error_category(list(dict.fromkeys(case.required)), case.deps, case.traj) == case.category


def test_table_covers_every_error_category_and_level() -> None:
    assert {c.category for c in CASES} - {None} == set(ERROR_CATEGORIES)
    assert {c.level for c in CASES} == {"full_success", "partial_success", "failure"}


def test_first_successes_and_dependency_order() -> None:
    t = traj([fail(R), ok(P), ok(R), ok(P), ok(W)], 6)
    first = first_successes(t)
    assert first == {P: 1, R: 2, W: 4}
    assert not dependency_order_ok(first, DEP3)
    assert dependency_order_ok({R: 0, P: 1, W: 2}, DEP3)
    # A tool that never succeeded is not an order violation by itself.
    assert dependency_order_ok({R: 0, P: 1}, DEP3)
    # ... but a success whose dependency never succeeded is.
    assert not dependency_order_ok({P: 0, W: 1}, DEP3)


def test_score_with_a_generated_task() -> None:
    task = generate_instance("multi_stage_pipeline", 3)
    calls = [ok(t, n) for n, t in enumerate(task.required_tools, 1)]
    perfect = score(task.required_tools, task.dependencies, traj(calls, len(calls) + 1))
    assert perfect == Score("full_success", 1.0, 1.0, 1.0, None)
    swapped = [calls[1], calls[0], *calls[2:]]
    s = score(task.required_tools, task.dependencies, traj(swapped, len(calls) + 1))
    assert s.success_level == "partial_success" and s.error_category == "sequence_order_errors"
    n = len(task.required_tools)
    assert s.workflow_adherence == (n - 1) / n
