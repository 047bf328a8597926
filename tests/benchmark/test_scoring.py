"""Scoring rules, case by case: steps count only on their upstream outputs; completion is the result handle."""

from __future__ import annotations

from typing import Any

import pytest

from pilotbench.benchmark.scoring import score, unneeded_budget
from pilotbench.benchmark.simulator import ToolSimulator
from pilotbench.benchmark.types import CallRecord, Trajectory
from tests.benchmark.task_factory import make_step, make_task

FIELDS = (("region", "string"), ("amount", "number"))
INPUTS = {"source_path": "/srv/in/ledger.csv", "output_path": "/srv/out/totals.json"}


# read -> parse -> aggregate -> write; no setting is compared (any valid one does)
TASK = make_task((
    make_step("file_operations_reader", (("path", "source_path"),)),
    make_step("data_processing_parser", (("input", 0),)),
    make_step("data_processing_aggregator", (("input", 1),)),
    make_step("file_operations_writer", (("input", 2), ("path", "output_path"))),
), INPUTS, FIELDS)


class Run:
    """Plays calls through a real simulator and keeps the trajectory the episode would keep."""

    def __init__(self, rate: float = 1.0, world: str = "score") -> None:
        self.sim = ToolSimulator(world, rate, literals=INPUTS, fields=FIELDS, source_format="csv")
        self.traj = Trajectory()
        self.handles: list[str | None] = []

    def call(self, tool: str, **args: Any) -> str | None:
        self.traj.turns += 1
        r = self.sim.execute(tool, args)
        self.traj.calls.append(CallRecord(self.traj.turns, tool, args, r.success, r.error_code, handle=r.handle,
                                          inputs=r.inputs, refused=r.refused, data_refusal=r.data_refusal))
        self.handles.append(r.handle)
        return r.handle

    def perfect(self) -> str:
        raw = self.call("file_operations_reader", path=INPUTS["source_path"])
        rec = self.call("data_processing_parser", input=raw, format="csv")
        agg = self.call("data_processing_aggregator", input=rec, group_by=["region"], metric="sum", field="amount")
        out = self.call("file_operations_writer", input=agg, path=INPUTS["output_path"])
        assert out is not None
        return out

    def answer(self, text: str, stop: str = "final_answer") -> Trajectory:
        from pilotbench.benchmark.protocol import read_final

        report = read_final(text)
        self.traj.turns += 1
        self.traj.final_answer = text
        self.traj.result_handle = report.handle
        self.traj.result_handles = report.handles
        self.traj.result_form = report.form
        self.traj.declared_failure = report.failed
        self.traj.declared_completion = report.declares_completion
        self.traj.stop_reason = stop
        return self.traj


def test_a_perfect_run_scores_one_everywhere() -> None:
    run = Run()
    out = run.perfect()
    s = score(TASK, run.answer(f"FINAL ANSWER: totals written.\nRESULT: {out}"))
    assert s.success_level == "full_success" and s.error_category is None
    assert (s.tool_coverage, s.workflow_adherence, s.precision, s.efficiency) == (1.0, 1.0, 1.0, 1.0)
    assert s.steps_done == (True, True, True, True)


@pytest.mark.parametrize(
    "answer",
    [
        "FINAL ANSWER: totals written.",  # no result line
        "FINAL ANSWER: step 3 did not succeed; the task is incomplete.",
        "FINAL ANSWER: done.\nRESULT: h_00000000",  # a handle that is not the final output
        "FINAL ANSWER: done.\nRESULT: {prev}",  # an earlier step's output
        "FINAL ANSWER: done.\nRESULT: {prev}, {out}",  # several candidates
        "FINAL ANSWER: done.\nRESULT: {prev}\nRESULT: {out}",  # one RESULT line per handle: several results
        "FINAL ANSWER: RESULT: {prev}\nRESULT: {out}",  # a RESULT marker mid-line is read too
        "FINAL ANSWER: the task could not be completed.\nRESULT: {out}",  # a result in an answer that says it failed
        "FINAL ANSWER: I was unable to finish the workflow. RESULT: {out}",
        "FINAL ANSWER: the parser gave {prev}, the writer {out}.",  # plain words naming two handles
        "The results are stored in the `{prev}` handle",  # plain words naming an earlier step's output
    ],
)
def test_completion_is_the_reported_result_handle(answer: str) -> None:
    run = Run()
    out = run.perfect()
    s = score(TASK, run.answer(answer.format(out=out, prev=run.handles[2])))
    assert s.success_level == "partial_success"
    assert s.error_category == "other_errors"


@pytest.mark.parametrize(
    "answer",
    [
        "The results are stored in the `{out}` handle",  # what a real Qwen2.5-Coder-1.5B wrote
        "FINAL ANSWER: the totals are written; the file is {out}.",
        "FINAL ANSWER: parsed (result: 540 records).\nThe written file is {out}.",  # a RESULT line with no handle
        "FINAL ANSWER: done.\nRESULT: {out}\nRESULT: `{out}`",  # the same handle on two lines is one result
        "FINAL ANSWER: the reader timed out once and was retried. RESULT: {out}",  # a retried call is no failure
    ],
)
def test_one_handle_the_final_steps_reported_in_any_form_is_full_success(answer: str) -> None:
    run = Run()
    out = run.perfect()
    traj = run.answer(answer.format(out=out))
    s = score(TASK, traj)
    assert s.success_level == "full_success" and s.error_category is None
    assert traj.result_form == ("result_line" if "RESULT: {out}" in answer else "plain")


def test_a_plain_answer_is_read_only_without_a_result_line_naming_a_handle() -> None:
    run = Run()
    out = run.perfect()
    prev = run.handles[2]
    traj = run.answer(f"FINAL ANSWER: the file is {out}.\nRESULT: {prev}")
    assert traj.result_form == "result_line" and traj.result_handle == prev
    assert score(TASK, traj).success_level == "partial_success"


def test_a_step_on_an_invented_handle_does_not_count_nor_anything_after_it() -> None:
    run = Run()
    run.call("file_operations_reader", path=INPUTS["source_path"])
    run.call("data_processing_parser", input="h_12345678", format="csv")  # refused: invented
    s = score(TASK, run.answer("FINAL ANSWER: done."))
    assert s.steps_done == (True, False, False, False)
    assert s.success_level == "failure"
    assert s.error_category == "tool_selection_errors"  # aggregator and writer were never called


def test_dependency_error_when_a_step_is_fed_an_invented_handle() -> None:
    run = Run()
    raw = run.call("file_operations_reader", path=INPUTS["source_path"])
    run.call("data_processing_parser", input=raw, format="csv")
    run.call("data_processing_aggregator", input="h_deadbeef", group_by=["region"], metric="count")
    run.call("file_operations_writer", input="h_deadbeef", path=INPUTS["output_path"])
    s = score(TASK, run.answer("FINAL ANSWER: done."))
    assert s.error_category == "dependency_errors"
    assert s.steps_done == (True, True, False, False)
    assert s.success_level == "partial_success"  # half the steps, precision 2/4


def test_a_step_on_the_wrong_upstream_output_does_not_count() -> None:
    """The writer takes the parser's records instead of the aggregator's summary: a valid call, but not the step."""
    run = Run()
    raw = run.call("file_operations_reader", path=INPUTS["source_path"])
    rec = run.call("data_processing_parser", input=raw, format="csv")
    run.call("data_processing_aggregator", input=rec, group_by=["region"], metric="count")
    out = run.call("file_operations_writer", input=rec, path=INPUTS["output_path"])
    s = score(TASK, run.answer(f"FINAL ANSWER: done.\nRESULT: {out}"))
    assert s.steps_done == (True, True, True, False)
    assert s.success_level != "full_success"
    assert s.error_category == "dependency_errors"


def test_sequence_order_error_when_a_step_is_tried_before_its_input_exists() -> None:
    run = Run()
    run.call("data_processing_parser", input="h_00000001", format="csv")
    raw = run.call("file_operations_reader", path=INPUTS["source_path"])
    run.call("file_operations_writer", input=raw, path=INPUTS["output_path"])
    run.call("data_processing_aggregator", input=raw, group_by=["region"], metric="count")
    s = score(TASK, run.answer("FINAL ANSWER: done."))
    assert s.error_category == "sequence_order_errors"


def test_parameter_error_when_a_setting_is_refused() -> None:
    run = Run()
    raw = run.call("file_operations_reader", path=INPUTS["source_path"])
    run.call("data_processing_parser", input=raw, format="json")  # the content is csv
    run.call("data_processing_aggregator", input="h_00000002", group_by=["region"], metric="count")
    run.call("file_operations_writer", input="h_00000002", path=INPUTS["output_path"])
    s = score(TASK, run.answer("FINAL ANSWER: done."))
    assert s.error_category == "parameter_config_errors"


def test_timeout_error_when_the_last_failure_was_a_timeout() -> None:
    for world in range(200):  # find a world where the parser's first valid call times out
        run = Run(rate=0.5, world=f"t{world}")
        raw = run.call("file_operations_reader", path=INPUTS["source_path"])
        if raw is None:
            continue
        run.call("data_processing_parser", input=raw, format="csv")
        if run.traj.calls[-1].error_code == "TIMEOUT":
            break
    else:
        pytest.fail("no world with a parser timeout")
    run.call("data_processing_aggregator", input="h_00000003", group_by=["region"], metric="count")
    run.call("file_operations_writer", input="h_00000003", path=INPUTS["output_path"])
    s = score(TASK, run.answer("FINAL ANSWER: the parser timed out."))
    assert s.error_category == "timeout_errors"


def test_retries_after_a_random_failure_are_useful_calls() -> None:
    for world in range(200):
        run = Run(rate=0.5, world=f"r{world}")
        raw = None
        while raw is None and len(run.traj.calls) < 6:
            raw = run.call("file_operations_reader", path=INPUTS["source_path"])
        if raw is not None and len(run.traj.calls) >= 2:
            break
    retries = len(run.traj.calls)
    rec = agg = out = None
    while rec is None:
        rec = run.call("data_processing_parser", input=raw, format="csv")
    while agg is None:
        agg = run.call("data_processing_aggregator", input=rec, group_by=["region"], metric="count")
    while out is None:
        out = run.call("file_operations_writer", input=agg, path=INPUTS["output_path"])
    s = score(TASK, run.answer(f"FINAL ANSWER: ok\nRESULT: {out}"))
    assert retries >= 2
    assert s.success_level == "full_success"
    assert s.precision == 1.0
    assert s.efficiency == pytest.approx(4 / len(run.traj.calls))


def test_unneeded_calls_cost_precision_and_beyond_the_budget_full_success() -> None:
    run = Run()
    raw = run.call("file_operations_reader", path=INPUTS["source_path"])
    rec = run.call("data_processing_parser", input=raw, format="csv")
    for _ in range(unneeded_budget(4)):
        run.call("data_processing_filter", input=rec, condition="amount > 0")
    agg = run.call("data_processing_aggregator", input=rec, group_by=["region"], metric="count")
    out = run.call("file_operations_writer", input=agg, path=INPUTS["output_path"])
    within = score(TASK, run.answer(f"FINAL ANSWER: ok\nRESULT: {out}"))
    assert within.success_level == "full_success"
    assert within.precision == pytest.approx(4 / (4 + unneeded_budget(4)))
    run2 = Run()
    raw = run2.call("file_operations_reader", path=INPUTS["source_path"])
    rec = run2.call("data_processing_parser", input=raw, format="csv")
    for _ in range(unneeded_budget(4) + 1):
        run2.call("data_processing_filter", input=rec, condition="amount > 0")
    agg = run2.call("data_processing_aggregator", input=rec, group_by=["region"], metric="count")
    out = run2.call("file_operations_writer", input=agg, path=INPUTS["output_path"])
    over = score(TASK, run2.answer(f"FINAL ANSWER: ok\nRESULT: {out}"))
    assert over.success_level == "failure"  # and 4 useful calls of 9 is below half: not even partial
    assert over.error_category == "tool_selection_errors"


def test_partial_needs_half_the_steps_and_half_the_calls_useful() -> None:
    run = Run()
    raw = run.call("file_operations_reader", path=INPUTS["source_path"])
    run.call("data_processing_parser", input=raw, format="csv")
    for _ in range(3):
        run.call("utility_logger", input=raw, message="read")
    s = score(TASK, run.answer("FINAL ANSWER: stopped."))
    assert s.tool_coverage == 0.5 and s.precision == pytest.approx(2 / 5)
    assert s.success_level == "failure"


def test_one_step_alone_is_not_partial_success_even_when_it_is_half() -> None:
    """A 2-step task's first step is fixed by the source the Inputs name: doing it alone, however
    cleanly, is no evidence of reading the task. Two steps are."""
    two = make_task(TASK.steps[:2], INPUTS, FIELDS)
    run = Run()
    raw = run.call("file_operations_reader", path=INPUTS["source_path"])
    s = score(two, run.answer(f"FINAL ANSWER: read.\nRESULT: {raw}"))
    assert s.tool_coverage == 0.5 and s.precision == 1.0
    assert s.success_level == "failure" and s.error_category is not None
    run = Run()
    raw = run.call("file_operations_reader", path=INPUTS["source_path"])
    run.call("data_processing_parser", input=raw, format="csv")
    s = score(TASK, run.answer("FINAL ANSWER: stopped."))  # 2 of 4 steps, all calls useful
    assert s.tool_coverage == 0.5 and s.success_level == "partial_success"


def test_an_immediate_answer_scores_zero() -> None:
    run = Run()
    s = score(TASK, run.answer("FINAL ANSWER: done.\nRESULT: h_00000000"))
    assert s.success_level == "failure"
    assert (s.tool_coverage, s.workflow_adherence, s.precision, s.efficiency) == (0.0, 0.0, 0.0, 0.0)
    assert s.error_category == "tool_selection_errors"


def test_repeating_a_done_step_is_not_useful() -> None:
    run = Run()
    out = run.perfect()
    run.call("file_operations_writer", input=run.handles[2], path=INPUTS["output_path"])
    s = score(TASK, run.answer(f"FINAL ANSWER: ok\nRESULT: {out}"))
    assert s.success_level == "full_success"
    assert s.precision == pytest.approx(4 / 5) and s.efficiency == pytest.approx(4 / 5)


def test_max_turns_error_when_the_conversation_runs_out() -> None:
    run = Run()
    run.perfect()
    run.traj.stop_reason = "max_turns"
    s = score(TASK, run.traj)
    assert s.success_level == "partial_success" and s.error_category == "max_turns_errors"


def test_format_errors_dominate_when_nothing_was_done() -> None:
    run = Run()
    run.traj.format_errors = 3
    s = score(TASK, run.answer("FINAL ANSWER: ?"))
    assert s.error_category == "tool_call_format_errors"
