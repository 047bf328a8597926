"""Flaw injection: the optimal plan with one deliberate defect, presented as if it were correct.

Every flaw type changes the plan's text at every severity (a test checks it over the suite).
Severity scales how much of the plan is damaged: light touches one step, medium more, severe most.
The injection is seeded from the task id, so a flawed prompt is the same on every run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from .plans import HANDLE_REF, Plan, PlanStep, key_args_for
from .tasks import TaskInstance
from .tools import CATEGORIES, TOOLS
from .types import FLAW_TYPES, SEVERITIES

DEFAULT_SEVERITY = "severe"


def _steps_for(tools: Sequence[str], task: TaskInstance, purposes: Sequence[str] | None = None) -> tuple[PlanStep, ...]:
    """A coherent-looking plan for `tools` in this order, numbered afresh."""
    steps = []
    for n, tool in enumerate(tools, 1):
        spec = TOOLS[tool]
        subject = "the task's input" if n == 1 else f"the output of step {n - 1}"
        purpose = purposes[n - 1] if purposes else f"{spec.verbs[0].capitalize()} {subject}"
        steps.append(PlanStep(tool, purpose, key_args_for(tool, n, task), (n - 1,) if n > 1 else ()))
    return tuple(steps)


def _count(severity: str, n: int) -> int:
    return {"light": 1, "medium": min(2, n), "severe": max(min(2, n), math.ceil(n / 2))}[severity]


def _sequence_disorder(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    tools = list(plan.tools)
    if severity == "light":
        i = rng.randrange(len(tools) - 1)
        tools[i], tools[i + 1] = tools[i + 1], tools[i]
    elif severity == "medium":
        tools = [tools[-1], *tools[:-1]]
    else:
        tools.reverse()
    if tools == list(plan.tools):  # a workflow that repeats a tool could reorder to itself
        tools = tools[1:] + tools[:1]
    return Plan(_steps_for(tools, task), plan.notes, plan.goal)


def _replacement(tool: str, other_category: bool, rng: random.Random, avoid: set[str]) -> str:
    category = TOOLS[tool].category
    if other_category:
        pool = [t for t in TOOLS if TOOLS[t].category != category and t not in avoid]
    else:
        pool = [f"{category}_{op}" for op in CATEGORIES[category] if f"{category}_{op}" not in avoid]
    return rng.choice(pool)


def _tool_misuse(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    tools = list(plan.tools)
    purposes = [s.purpose for s in plan.steps]
    for i in rng.sample(range(len(tools)), _count(severity, len(tools))):
        tools[i] = _replacement(tools[i], severity != "light", rng, set(plan.tools))
    return Plan(_steps_for(tools, task, purposes), plan.notes, plan.goal)


def _parameter_error(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    steps = list(plan.steps)
    with_args = [i for i, s in enumerate(steps) if s.key_args]
    chosen = rng.sample(with_args, min(len(with_args), _count(severity, len(steps))))
    for i in chosen:
        wrong = []
        for name, value in steps[i].key_args:
            if name == "input":
                wrong.append(("data", value))
            else:
                wrong.append((f"{name}_name", value))
        if severity == "severe":
            wrong.append(("limit", "all"))
        steps[i] = steps[i].with_(key_args=tuple(wrong))
    if not chosen:  # no step takes a key argument: give one a wrongly named one
        steps[0] = steps[0].with_(key_args=(("data", str(task.inputs["source"])),))
    return Plan(tuple(steps), plan.notes, plan.goal)


def _missing_step(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    tools = list(plan.tools)
    n = len(tools)
    if severity == "light":
        drop = {n - 1}
    elif severity == "medium":
        drop = {rng.randrange(1, n - 1)} if n > 2 else {n - 1}
    else:
        drop = set(rng.sample(range(n), min(n - 1, _count(severity, n))))
    kept = [t for i, t in enumerate(tools) if i not in drop]
    return Plan(_steps_for(kept, task), plan.notes, plan.goal)


def _redundant_operations(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    tools = list(plan.tools)
    unrelated = [t for t in TOOLS if t not in tools]
    if severity == "light":
        i = rng.randrange(len(tools))
        tools.insert(i + 1, tools[i])
    elif severity == "medium":
        tools.insert(rng.randrange(1, len(tools) + 1), rng.choice(unrelated))
    else:
        for extra in rng.sample(unrelated, 3):
            tools.insert(rng.randrange(1, len(tools) + 1), extra)
        i = rng.randrange(len(tools))
        tools.insert(i + 1, tools[i])
    return Plan(_steps_for(tools, task), plan.notes, plan.goal)


def _logical_inconsistency(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    steps = list(plan.steps)
    n = len(steps)
    notes = list(plan.notes)
    # The first step is said to consume the last step's output: a cycle the model must notice.
    first = steps[0]
    steps[0] = first.with_(
        depends_on=(n,),
        purpose=f"{first.purpose}, using the result of step {n}",
    )
    if severity in ("medium", "severe"):
        notes.append(f"Step {n} must finish before step 1 starts, because step 1 checks its output.")
    if severity == "severe":
        steps[0] = steps[0].with_(key_args=(*steps[0].key_args, ("input", HANDLE_REF.format(n=n))))
        notes.append("The input is already complete and verified, so the first step only needs to confirm it.")
    return Plan(tuple(steps), tuple(notes), plan.goal)


_DRIFTED_GOALS = (
    "prepare a marketing newsletter",
    "archive last year's backups",
    "benchmark the network latency",
    "draft a hiring forecast",
)


def _semantic_drift(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    drifted = rng.choice(_DRIFTED_GOALS)
    steps = list(plan.steps)
    n = len(steps)
    targets = [n - 1] if severity == "light" else list(range(n - _count(severity, n), n))
    for i in targets:
        steps[i] = steps[i].with_(purpose=f"{steps[i].purpose.split(' the ')[0]} the material to {drifted}")
    goal = plan.goal
    if severity in ("medium", "severe"):
        goal = f"{plan.goal}, with the real aim being to {drifted}"
    if severity == "severe":
        last = steps[-1]
        replacement = _replacement(last.tool, True, rng, set(plan.tools))
        steps[-1] = PlanStep(replacement, last.purpose, key_args_for(replacement, n, task), last.depends_on)
    return Plan(tuple(steps), plan.notes, goal)


_INJECTORS: dict[str, Callable[[Plan, TaskInstance, str, random.Random], Plan]] = {
    "sequence_disorder": _sequence_disorder,
    "tool_misuse": _tool_misuse,
    "parameter_error": _parameter_error,
    "missing_step": _missing_step,
    "redundant_operations": _redundant_operations,
    "logical_inconsistency": _logical_inconsistency,
    "semantic_drift": _semantic_drift,
}
assert tuple(_INJECTORS) == FLAW_TYPES


def inject_flaw(plan: Plan, task: TaskInstance, flaw_type: str, severity: str = DEFAULT_SEVERITY) -> Plan:
    """Return `plan` with one flaw of `flaw_type` at `severity`; deterministic per task."""
    if flaw_type not in _INJECTORS:
        raise ValueError(f"unknown flaw type {flaw_type!r}; choose from {', '.join(FLAW_TYPES)}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}; choose from {', '.join(SEVERITIES)}")
    rng = random.Random(f"pilotbench-flaw:{task.id}:{flaw_type}:{severity}")
    return _INJECTORS[flaw_type](plan, task, severity, rng)
