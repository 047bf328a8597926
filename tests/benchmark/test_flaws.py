"""Flaws that bite: a model that follows a flawed plan to the letter does measurably worse than on the
optimal plan, for every flaw type at every severity; and every flaw shows in the prompt."""

from __future__ import annotations

import json

import pytest

from pilotbench.benchmark.episode import Episode
from pilotbench.benchmark.flaws import DEFAULT_SEVERITY, inject_flaw
from pilotbench.benchmark.plans import HANDLE_REF, Plan, optimal_plan
from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.scoring import score
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.benchmark.tools import TOOLS
from pilotbench.benchmark.types import FLAW_TYPES, SEVERITIES, TASK_TYPES, ModelOutput, Score, ToolCall

TASKS = [generate_instance(t, i) for t in TASK_TYPES for i in range(8)]


def follow_literally(task, plan: Plan, rate: float = 1.0) -> Score:  # type: ignore[no-untyped-def]
    """A model that trusts the plan completely: each step's tool, inputs and arguments exactly as written
    (a step reference becomes that step's handle, or stays as written if the step has none yet), retrying
    random failures, never repairing a refusal, and reporting the last step's handle."""
    prompt = render_prompt(task, "easy", "optimal")
    ep = Episode(f"literal-{task.id}", task, prompt, rate)
    handles: dict[int, str] = {}
    for n, step in enumerate(plan.steps, 1):
        args = dict(step.args)
        for param, ref in step.inputs:
            args[param] = handles.get(ref, HANDLE_REF.format(n=ref)) if isinstance(ref, int) else ref
        for attempt in range(4):
            if ep.done:
                break
            ep.step(ModelOutput(tool_calls=(ToolCall(f"c{n}_{attempt}", step.tool, json.dumps(args)),)))
            last = ep.trajectory.calls[-1]
            if last.success:
                handles[n] = last.handle  # type: ignore[assignment]
                break
            if last.error_code == "INVALID_INPUT":
                break
    if not ep.done:
        result = handles.get(len(plan.steps))
        ep.step(ModelOutput.for_text("FINAL ANSWER: followed the plan." + (f"\nRESULT: {result}" if result else "")))
    return score(task, ep.trajectory)


def rates(results: list[Score]) -> tuple[float, float]:
    n = len(results)
    return sum(s.success for s in results) / n, sum(s.success_level == "full_success" for s in results) / n


def test_the_optimal_plan_followed_literally_is_a_full_success() -> None:
    """The plan is executable as written: every setting fits the data the steps produce."""
    results = [follow_literally(t, optimal_plan(t)) for t in TASKS]
    assert rates(results) == (1.0, 1.0)


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("flaw", FLAW_TYPES)
def test_every_flaw_makes_a_literal_follower_measurably_worse(flaw: str, severity: str) -> None:
    optimal = rates([follow_literally(t, optimal_plan(t)) for t in TASKS])
    flawed = rates([follow_literally(t, inject_flaw(optimal_plan(t), t, flaw, severity)) for t in TASKS])
    assert flawed[1] <= 0.5 * optimal[1], (flaw, severity, optimal, flawed)  # full success at most half
    assert flawed[0] <= optimal[0]


@pytest.mark.parametrize("flaw", FLAW_TYPES)
def test_severe_damages_at_least_as_much_as_light(flaw: str) -> None:
    light = rates([follow_literally(t, inject_flaw(optimal_plan(t), t, flaw, "light")) for t in TASKS])
    severe = rates([follow_literally(t, inject_flaw(optimal_plan(t), t, flaw, "severe")) for t in TASKS])
    assert severe[0] <= light[0] + 1e-9 and severe[1] <= light[1] + 1e-9


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("flaw", FLAW_TYPES)
def test_every_flaw_changes_the_rendered_prompt(flaw: str, severity: str) -> None:
    for task in TASKS[::4]:
        optimal = render_prompt(task, "medium", "optimal").messages[1]["content"]
        flawed = render_prompt(task, "medium", f"flawed_{flaw}", severity=severity).messages[1]["content"]
        assert flawed != optimal, (flaw, severity, task.id)


def _visible_inconsistencies(plan: Plan, task) -> list[str]:  # type: ignore[no-untyped-def]
    """What a careful reader can check from the prompt alone: references to steps whose output does not
    exist yet, inputs a tool's schema does not take (by name or by type), literals the task does not
    name, tools the plan uses that the task's own step list (at very_easy) does not."""
    problems = []
    out_types: dict[int, str] = {}
    for n, step in enumerate(plan.steps, 1):
        spec = TOOLS[step.tool]
        for param, ref in step.inputs:
            p = next((q for q in spec.parameters if q.name == param), None)
            if p is None:
                problems.append(f"step {n}: {step.tool} has no parameter {param}")
            elif isinstance(ref, int):
                if ref >= n:
                    problems.append(f"step {n} reads step {ref}, which has not run yet")
                elif ref in out_types and p.accepts and "any" not in p.accepts and out_types[ref] not in p.accepts:
                    problems.append(f"step {n}: {param} takes {p.accepts}, step {ref} gives {out_types[ref]}")
            elif ref not in task.inputs.values():
                problems.append(f"step {n}: {ref!r} is not one of the task's inputs")
        if {r for _, r in step.inputs if isinstance(r, int)} != set(step.depends_on):
            problems.append(f"step {n}: its inputs and its stated dependencies disagree")
        for param, _ in step.args:
            if param not in spec.param_names:
                problems.append(f"step {n}: {step.tool} has no parameter {param}")
        src = next((r for k, r in step.inputs if k == "input" and isinstance(r, int)), None)
        out_types[n] = out_types.get(src, "records") if spec.output == "same" else spec.output  # type: ignore[arg-type]
        if step.tool not in task.required_tools:
            problems.append(f"step {n}: the task does not ask for {step.tool}")
    if [s.tool for s in plan.steps if s.tool in task.required_tools] != [t for t in task.required_tools if t in plan.tools]:
        problems.append("the steps are not in the task's order")
    if len(plan.steps) < len(task.required_tools):
        problems.append("the plan leaves out a step the task asks for")
    if plan.goal != task.goal or plan.notes:
        problems.append("the plan's goal or notes differ from the task")
    return problems


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("flaw", [f for f in FLAW_TYPES if f != "parameter_error"])
def test_a_careful_reader_can_see_each_flaw(flaw: str, severity: str) -> None:
    for task in TASKS:
        assert not _visible_inconsistencies(optimal_plan(task), task), task.id
        flawed = inject_flaw(optimal_plan(task), task, flaw, severity)
        assert _visible_inconsistencies(flawed, task), (flaw, severity, task.id)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_parameter_errors_are_visible_in_the_prompt_or_the_first_result(severity: str) -> None:
    """A wrong setting names a field the data does not have (the tool results list the fields), a format
    the source's extension contradicts, a literal the task does not name, or a parameter the schema lacks."""
    for task in TASKS:
        optimal = optimal_plan(task)
        flawed = inject_flaw(optimal, task, "parameter_error", severity)
        fields = {name for name, _ in task.fields}
        changed = [(a, b) for a, b in zip(optimal.steps, flawed.steps) if a != b]
        assert changed
        for before, after in changed:
            visible = (
                _visible_inconsistencies(Plan((after,)), task)
                or any(isinstance(v, str) and v.endswith("_total") or "_total" in json.dumps(v) for _, v in after.args)
                or dict(after.args).get("format") not in (None, dict(before.args).get("format"))
            )
            assert visible, (task.id, before, after)
            assert not any(f"{f}_total" in fields for f in fields)


def test_default_severity_is_severe() -> None:
    assert DEFAULT_SEVERITY == "severe"
    task = TASKS[0]
    assert render_prompt(task, "easy", "flawed_missing_step") == render_prompt(task, "easy", "flawed_missing_step", severity="severe")


@pytest.mark.parametrize("flaw", FLAW_TYPES)
def test_injection_is_deterministic_and_leaves_the_clean_plan_alone(flaw: str) -> None:
    task = TASKS[-1]
    clean = optimal_plan(task)
    snapshot = repr(clean)
    assert inject_flaw(clean, task, flaw) == inject_flaw(clean, task, flaw)
    assert repr(clean) == snapshot


@pytest.mark.parametrize(("flaw", "severity", "match"), [("nope", "severe", "unknown flaw"), ("missing_step", "heavy", "unknown severity")])
def test_unknown_flaw_or_severity_raises(flaw: str, severity: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        inject_flaw(optimal_plan(TASKS[0]), TASKS[0], flaw, severity)
