"""Flaw injection (SPEC 1.3): every flaw changes the prompt and has its own, severity-scaled effect."""

from __future__ import annotations

import math

import pytest

from pilotbench.benchmark import flaws
from pilotbench.benchmark.flaws import DEFAULT_SEVERITY, inject_flaw
from pilotbench.benchmark.plans import Plan, optimal_plan
from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.tasks import TaskInstance, generate_instance
from pilotbench.benchmark.tools import TOOLS
from pilotbench.benchmark.types import FLAW_TYPES, SEVERITIES, TASK_TYPES

N_PER_TYPE = 30
DRIFTED = flaws._DRIFTED_GOALS


def _tasks() -> list[TaskInstance]:
    return [generate_instance(t, i) for t in TASK_TYPES for i in range(N_PER_TYPE)]


TASKS = _tasks()


def _is_subsequence(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    it = iter(long)
    return all(x in it for x in short)


def _flawed(task: TaskInstance, flaw: str, severity: str) -> tuple[Plan, Plan]:
    clean = optimal_plan(task)
    return clean, inject_flaw(clean, task, flaw, severity)


def _wrong_arg_names(plan: Plan) -> int:
    return sum(
        1 for s in plan.steps for k, _ in s.key_args if s.tool in TOOLS and k not in TOOLS[s.tool].param_names
    )


def _drifted_purposes(plan: Plan) -> int:
    return sum(1 for s in plan.steps if any(d in s.purpose for d in DRIFTED))


# --------------------------------------------------------------------------- every flaw changes the prompt


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("flaw", FLAW_TYPES)
def test_every_flaw_changes_the_rendered_prompt(flaw: str, severity: str) -> None:
    for task in TASKS:
        optimal = render_prompt(task, "medium", "optimal")
        flawed = render_prompt(task, "medium", f"flawed_{flaw}", severity=severity)
        assert flawed.messages[1]["content"] != optimal.messages[1]["content"], (task.id, flaw, severity)
        assert flawed.plan is not None and flawed.plan != optimal.plan
        # Presented as if correct: the same plan heading, no hint of the flaw's name.
        assert "Follow this workflow plan" in flawed.messages[1]["content"]
        assert flaw not in flawed.messages[1]["content"]
        assert flawed.messages[0] == optimal.messages[0]


def test_default_severity_is_severe() -> None:
    assert DEFAULT_SEVERITY == "severe"
    task = TASKS[40]
    assert render_prompt(task, "easy", "flawed_missing_step").plan == inject_flaw(
        optimal_plan(task), task, "missing_step", "severe"
    )


# --------------------------------------------------------------------------- specific effects


@pytest.mark.parametrize("severity", SEVERITIES)
def test_sequence_disorder_reorders_the_same_tools(severity: str) -> None:
    for task in TASKS:
        clean, plan = _flawed(task, "sequence_disorder", severity)
        assert sorted(plan.tools) == sorted(clean.tools), task.id
        assert plan.tools != clean.tools, task.id
    # severe reverses the plan
    for task in TASKS:
        clean, plan = _flawed(task, "sequence_disorder", "severe")
        assert plan.tools == tuple(reversed(clean.tools))


@pytest.mark.parametrize("severity", SEVERITIES)
def test_tool_misuse_replaces_tools(severity: str) -> None:
    for task in TASKS:
        clean, plan = _flawed(task, "tool_misuse", severity)
        n = len(clean.steps)
        assert len(plan.steps) == n
        changed = [i for i in range(n) if plan.tools[i] != clean.tools[i]]
        expected = {"light": 1, "medium": min(2, n), "severe": max(min(2, n), math.ceil(n / 2))}[severity]
        assert len(changed) == expected, (task.id, clean.tools, plan.tools)
        for i in changed:
            assert plan.tools[i] in TOOLS
            assert plan.tools[i] not in clean.tools  # a replacement, not a reshuffle
            same_category = TOOLS[plan.tools[i]].category == TOOLS[clean.tools[i]].category
            assert same_category == (severity == "light")
            # The misused tool is presented with the original step's purpose.
            assert plan.steps[i].purpose == clean.steps[i].purpose


@pytest.mark.parametrize("severity", SEVERITIES)
def test_missing_step_drops_steps(severity: str) -> None:
    for task in TASKS:
        clean, plan = _flawed(task, "missing_step", severity)
        assert 1 <= len(plan.steps) < len(clean.steps), task.id
        assert _is_subsequence(plan.tools, clean.tools)
        if severity == "light":
            assert plan.tools == clean.tools[:-1]
        # The remaining steps are renumbered into a coherent-looking chain.
        assert [s.depends_on for s in plan.steps] == [()] + [(n,) for n in range(1, len(plan.steps))]


@pytest.mark.parametrize(("severity", "extra"), [("light", 1), ("medium", 1), ("severe", 4)])
def test_redundant_operations_add_steps(severity: str, extra: int) -> None:
    for task in TASKS:
        clean, plan = _flawed(task, "redundant_operations", severity)
        assert len(plan.steps) == len(clean.steps) + extra, task.id
        assert _is_subsequence(clean.tools, plan.tools)
        if severity == "light":
            # a duplicated step, right after the original
            assert len(set(plan.tools)) == len(set(clean.tools))
            assert any(a == b for a, b in zip(plan.tools, plan.tools[1:]))
        else:
            assert set(plan.tools) - set(clean.tools), "an unrelated tool was added"


@pytest.mark.parametrize("severity", SEVERITIES)
def test_parameter_error_uses_argument_names_the_tool_does_not_take(severity: str) -> None:
    for task in TASKS:
        clean, plan = _flawed(task, "parameter_error", severity)
        assert _wrong_arg_names(clean) == 0, "the clean plan only names real parameters"
        assert _wrong_arg_names(plan) >= 1, (task.id, plan.steps)
        assert plan.tools == clean.tools
        if severity == "severe":
            assert any(k == "limit" for s in plan.steps for k, _ in s.key_args)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_logical_inconsistency_makes_a_step_depend_on_a_later_one(severity: str) -> None:
    for task in TASKS:
        clean, plan = _flawed(task, "logical_inconsistency", severity)
        assert not any(d > n for n, s in enumerate(clean.steps, 1) for d in s.depends_on)
        forward = [(n, d) for n, s in enumerate(plan.steps, 1) for d in s.depends_on if d > n]
        assert forward, task.id
        assert plan.tools == clean.tools
        assert len(plan.notes) == {"light": 0, "medium": 1, "severe": 2}[severity]


@pytest.mark.parametrize("severity", SEVERITIES)
def test_semantic_drift_mentions_a_drifted_aim(severity: str) -> None:
    for task in TASKS:
        clean, plan = _flawed(task, "semantic_drift", severity)
        goal_drifted = any(d in plan.goal for d in DRIFTED)
        assert goal_drifted or _drifted_purposes(plan) >= 1, task.id
        assert _drifted_purposes(plan) >= 1
        assert goal_drifted == (severity != "light")
        assert not any(d in clean.goal for d in DRIFTED)
        if severity == "severe":
            assert plan.tools[-1] != clean.tools[-1]
            assert TOOLS[plan.tools[-1]].category != TOOLS[clean.tools[-1]].category
        else:
            assert plan.tools == clean.tools


# --------------------------------------------------------------------------- severity ordering


def _damage(flaw: str, clean: Plan, plan: Plan) -> int:
    if flaw == "missing_step":
        return len(clean.steps) - len(plan.steps)
    if flaw == "redundant_operations":
        return len(plan.steps) - len(clean.steps)
    if flaw == "tool_misuse":
        return sum(a != b for a, b in zip(clean.tools, plan.tools))
    if flaw == "parameter_error":
        return _wrong_arg_names(plan)
    if flaw == "semantic_drift":
        return _drifted_purposes(plan) + any(d in plan.goal for d in DRIFTED)
    if flaw == "logical_inconsistency":
        return len(plan.notes) + sum(len(s.key_args) for s in plan.steps)
    raise AssertionError(flaw)


@pytest.mark.parametrize(
    "flaw",
    ["missing_step", "redundant_operations", "tool_misuse", "parameter_error", "semantic_drift", "logical_inconsistency"],
)
def test_severe_damages_at_least_as_much_as_light(flaw: str) -> None:
    for task in TASKS:
        clean = optimal_plan(task)
        light = _damage(flaw, clean, inject_flaw(clean, task, flaw, "light"))
        medium = _damage(flaw, clean, inject_flaw(clean, task, flaw, "medium"))
        severe = _damage(flaw, clean, inject_flaw(clean, task, flaw, "severe"))
        assert light >= 1 and medium >= 1
        assert severe >= light, (task.id, flaw, light, severe)
    # on long workflows, severe is strictly worse than light
    long_tasks = [t for t in TASKS if len(t.required_tools) >= 4]
    assert long_tasks
    for task in long_tasks:
        clean = optimal_plan(task)
        if flaw in ("missing_step", "redundant_operations", "tool_misuse", "semantic_drift"):
            assert _damage(flaw, clean, inject_flaw(clean, task, flaw, "severe")) > _damage(
                flaw, clean, inject_flaw(clean, task, flaw, "light")
            )


@pytest.mark.parametrize("flaw", ["tool_misuse", "redundant_operations", "missing_step"])
def test_severe_damages_at_least_as_much_as_medium_on_long_workflows(flaw: str) -> None:
    for task in TASKS:
        if len(task.required_tools) < 3:
            continue
        clean = optimal_plan(task)
        medium = _damage(flaw, clean, inject_flaw(clean, task, flaw, "medium"))
        severe = _damage(flaw, clean, inject_flaw(clean, task, flaw, "severe"))
        assert severe >= medium, (task.id, flaw, medium, severe)


def test_severe_tool_misuse_damages_at_least_as_much_as_medium_on_two_step_plans() -> None:
    two_step = [t for t in TASKS if len(t.required_tools) == 2]
    assert two_step
    for task in two_step:
        clean = optimal_plan(task)
        medium = _damage("tool_misuse", clean, inject_flaw(clean, task, "tool_misuse", "medium"))
        severe = _damage("tool_misuse", clean, inject_flaw(clean, task, "tool_misuse", "severe"))
        assert severe >= medium, (task.id, medium, severe)


# --------------------------------------------------------------------------- determinism and errors


@pytest.mark.parametrize("flaw", FLAW_TYPES)
def test_injection_is_deterministic(flaw: str) -> None:
    for task in TASKS[::7]:
        for severity in SEVERITIES:
            a = inject_flaw(optimal_plan(task), task, flaw, severity)
            b = inject_flaw(optimal_plan(task), task, flaw, severity)
            assert a == b
            ra = render_prompt(task, "hard", f"flawed_{flaw}", severity=severity)
            rb = render_prompt(task, "hard", f"flawed_{flaw}", severity=severity)
            assert ra.messages == rb.messages


def test_injection_does_not_mutate_the_clean_plan() -> None:
    task = generate_instance("multi_stage_pipeline", 0)
    clean = optimal_plan(task)
    snapshot = optimal_plan(task)
    for flaw in FLAW_TYPES:
        for severity in SEVERITIES:
            inject_flaw(clean, task, flaw, severity)
    assert clean == snapshot


@pytest.mark.parametrize(
    ("flaw", "severity", "match"),
    [
        ("no_such_flaw", "severe", "no_such_flaw"),
        ("flawed_missing_step", "severe", "unknown flaw type"),
        ("", "light", "unknown flaw type"),
        ("missing_step", "extreme", "extreme"),
        ("missing_step", "", "unknown severity"),
        ("tool_misuse", "Severe", "unknown severity"),
    ],
)
def test_unknown_flaw_or_severity_raises(flaw: str, severity: str, match: str) -> None:
    task = generate_instance("basic_task", 0)
    with pytest.raises(ValueError, match=match):
        inject_flaw(optimal_plan(task), task, flaw, severity)


def test_render_prompt_rejects_unknown_severity() -> None:
    with pytest.raises(ValueError, match="severity"):
        render_prompt(generate_instance("basic_task", 0), "easy", "flawed_tool_misuse", severity="catastrophic")
