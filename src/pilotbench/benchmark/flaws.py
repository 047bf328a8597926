"""Flaw injection: the optimal plan with one deliberate defect, presented as if it were correct.

Every flaw bites: a model that follows the flawed plan to the letter (each step's tool, inputs and
settings as written, reporting the last step's handle) cannot reach full success, at any severity,
because the defect breaks the data flow the scorer checks (tests/benchmark/test_flaws.py runs
such a literal follower). And every flaw can be noticed from the prompt alone: a step that reads a
later step's output, a tool whose typed inputs cannot take what the plan gives it, a setting that
names a field the data does not have or a path the task does not name, a step the task never asks
for, a goal that is not the task's. Severity scales how much of the plan is damaged.
The injection is seeded from the task id, so a flawed prompt is the same on every run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from .plans import Plan, PlanStep, Ref, build_steps
from .tasks import TaskInstance
from .tools import CATEGORIES, SAME, TOOLS, accepts, output_type
from .types import FLAW_TYPES, SEVERITIES

DEFAULT_SEVERITY = "severe"


def _count(severity: str, n: int) -> int:
    return {"light": 1, "medium": min(2, n), "severe": max(min(2, n), math.ceil(n / 2))}[severity]


def _feeds(plan: Plan) -> list[list[tuple[str, Ref]]]:
    return [list(s.inputs) for s in plan.steps]


def _rebuild(plan: Plan, task: TaskInstance, tools: list[str], feeds: list[list[tuple[str, Ref]]],
             purposes: list[str] | None = None, notes: tuple[str, ...] | None = None, goal: str | None = None) -> Plan:
    return Plan(build_steps(task, tools, feeds, purposes), plan.notes if notes is None else notes,
                plan.goal if goal is None else goal)


def _types(plan: Plan) -> list[str]:
    """Output type of each plan step (following `input` for pass-through tools)."""
    out: list[str] = []
    for s in plan.steps:
        spec = TOOLS[s.tool]
        src = next((r for k, r in s.inputs if k == "input" and isinstance(r, int)), None)
        out.append(output_type(spec, out[src - 1] if src and src <= len(out) else None))
    return out


def _consumers(plan: Plan, i: int) -> list[int]:
    """0-based indices of the steps that take step i's (0-based) output."""
    return [j for j, s in enumerate(plan.steps) if any(r == i + 1 for _, r in s.inputs)]


# --------------------------------------------------------------------------- the seven flaws


def _sequence_disorder(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    n = len(plan.steps)
    order = list(range(n))
    if severity == "light":
        pairs = [(i, j) for i in range(n) for j in _consumers(plan, i) if j == i + 1] or [(n - 2, n - 1)]
        i, j = rng.choice(pairs)
        order[i], order[j] = order[j], order[i]
    elif severity == "medium":
        order = [n - 1, *range(n - 1)]
    else:
        order.reverse()
    position = {old: new for new, old in enumerate(order)}  # old index -> new index
    tools = [plan.steps[o].tool for o in order]
    feeds = [[(k, position[r - 1] + 1 if isinstance(r, int) else r) for k, r in plan.steps[o].inputs] for o in order]
    purposes = [plan.steps[o].purpose for o in order]
    return _rebuild(plan, task, tools, feeds, purposes)


def _replacement(tool: str, rng: random.Random, avoid: set[str], same_category: bool, feeds_type: str | None) -> str:
    category = TOOLS[tool].category
    pool = [
        t for t in TOOLS
        if t not in avoid and t != tool and (TOOLS[t].category == category) == same_category
    ]
    # Prefer a tool that still takes the data it is given, so the plan looks plausible at a glance.
    plausible = [t for t in pool if feeds_type is None or any(accepts(p, feeds_type) for p in TOOLS[t].data_params)]
    return rng.choice(sorted(plausible or pool))


def _tool_misuse(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    types = _types(plan)
    tools = list(plan.tools)
    for i in rng.sample(range(len(tools)), _count(severity, len(tools))):
        src = next((r for _, r in plan.steps[i].inputs if isinstance(r, int)), None)
        tools[i] = _replacement(tools[i], rng, set(plan.tools) | set(tools), severity == "light",
                                types[src - 1] if src else None)
    return _rebuild(plan, task, tools, _feeds(plan), [s.purpose for s in plan.steps])


_WRONG_FORMAT = {"csv": "json", "json": "xml", "xml": "yaml", "yaml": "csv"}


def _corrupt(step: PlanStep, task: TaskInstance, rng: random.Random, severe: bool) -> PlanStep:
    """One step with a wrong setting or input: a field the data lacks, the wrong format, a path or
    address the task does not name, or a data parameter under the wrong name."""
    names = {n for n, _ in task.fields}
    args = dict(step.args)
    changed = False
    for key, value in list(args.items()):
        if isinstance(value, str) and value in _WRONG_FORMAT:
            args[key] = _WRONG_FORMAT[value]
            changed = True
        elif isinstance(value, str) and any(f in value for f in names) or isinstance(value, (list, dict)) and any(
            f in str(value) for f in names
        ):
            field = next(f for f in sorted(names, key=len, reverse=True) if f in str(value))
            wrong = f"{field}_total"
            args[key] = _replace_in(value, field, wrong)
            changed = True
        if changed:
            break
    inputs = list(step.inputs)
    if not changed:
        for k, (param, ref) in enumerate(inputs):
            if isinstance(ref, str):  # a literal the task names: point somewhere else
                inputs[k] = (param, _misnamed(ref))
                changed = True
                break
    if not changed or severe:
        for k, (param, ref) in enumerate(inputs):
            if isinstance(ref, int):
                inputs[k] = ("data" if param == "input" else f"{param}_ref", ref)
                break
    if severe:
        args["limit"] = "all"
    return step.with_(args=tuple(args.items()), inputs=tuple(inputs))


def _replace_in(value: object, old: str, new: str) -> object:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace_in(v, old, new) for v in value]
    if isinstance(value, dict):
        return {(new if k == old else k): _replace_in(v, old, new) for k, v in value.items()}
    return value


def _misnamed(literal: str) -> str:
    if "/" in literal and "." in literal.rsplit("/", 1)[-1]:
        head, ext = literal.rsplit(".", 1)
        return f"{head}_latest.{ext}"
    if "@" in literal:
        return "team@" + literal.split("@", 1)[1]
    return f"{literal}-prod"


def _parameter_error(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    steps = list(plan.steps)
    for i in rng.sample(range(len(steps)), _count(severity, len(steps))):
        steps[i] = _corrupt(steps[i], task, rng, severity == "severe")
    return Plan(tuple(steps), plan.notes, plan.goal)


def _missing_step(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    n = len(plan.steps)
    if severity == "light":
        drop = {n - 1}
    elif severity == "medium":
        drop = {rng.randrange(0, n - 1)} if n > 2 else {0}
    else:
        drop = set(rng.sample(range(n), min(n - 1, _count(severity, n))))
    # A step that took a dropped step's output takes that step's own input instead: the plan stays coherent-looking.
    def redirect(ref: Ref) -> Ref:
        while isinstance(ref, int) and ref - 1 in drop:
            up = next((r for _, r in plan.steps[ref - 1].inputs if isinstance(r, int)), None)
            if up is None:
                return next((r for _, r in plan.steps[ref - 1].inputs), ref)
            ref = up
        return ref
    kept = [i for i in range(n) if i not in drop]
    new_number = {old + 1: new + 1 for new, old in enumerate(kept)}
    tools = [plan.steps[i].tool for i in kept]
    feeds = []
    for i in kept:
        row = []
        for k, r in plan.steps[i].inputs:
            r = redirect(r)
            row.append((k, new_number.get(r, r) if isinstance(r, int) else r))
        feeds.append(row)
    return _rebuild(plan, task, tools, feeds, [plan.steps[i].purpose for i in kept])


def _redundant_operations(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    """Extra steps spliced into the data flow (the next step reads the extra step's output)."""
    tools = list(plan.tools)
    feeds = _feeds(plan)
    purposes = [s.purpose for s in plan.steps]
    for _ in range({"light": 1, "medium": 2, "severe": 3}[severity]):
        current = Plan(build_steps(task, tools, feeds, purposes))
        types = _types(current)
        edges = []
        for i, t in enumerate(types):
            for j in _consumers(current, i):
                fits = [
                    x for x in TOOLS
                    if x not in tools and TOOLS[x].data_params and any(accepts(p, t) for p in TOOLS[x].data_params if p.required)
                    and any(accepts(p, output_type(TOOLS[x], t)) for p in TOOLS[tools[j]].data_params)
                    and not any(p.literal for p in TOOLS[x].parameters if p.required)
                ]
                if fits:
                    edges.append((i, j, sorted(fits, key=lambda x: (TOOLS[x].output != SAME, x))))
        if edges:
            i, j, fits = rng.choice(edges)
            extra = fits[0] if rng.random() < 0.5 else rng.choice(fits)
            insert = i + 1
            param = next(p.name for p in TOOLS[extra].data_params if p.required and accepts(p, types[i]))
            shift = lambda r: r + 1 if isinstance(r, int) and r > insert else r  # noqa: E731
            feeds = [[(k, shift(r)) for k, r in row] for row in feeds]
            # the consumer (row j, before the new row goes in) now reads the extra step (number insert + 1)
            feeds[j] = [(k, insert + 1 if r == i + 1 else r) for k, r in feeds[j]]
            tools.insert(insert, extra)
            feeds.insert(insert, [(param, i + 1)])
            purposes.insert(insert, f"{TOOLS[extra].purpose.rstrip('.')} before passing it on")
        else:  # nothing fits in the flow: a final step that nobody asked for
            t = _types(current)[-1]
            takes_it = [
                x for x in TOOLS
                if any(accepts(p, t) for p in TOOLS[x].data_params if p.required)
                and not any(p.literal for p in TOOLS[x].parameters if p.required and not p.is_data)
            ]
            extra = rng.choice(sorted([x for x in takes_it if x not in tools] or [x for x in takes_it if x != tools[-1]]))
            param = next(p.name for p in TOOLS[extra].data_params if p.required and accepts(p, t))
            tools.append(extra)
            feeds.append([(param, len(tools) - 1)])
            purposes.append(f"{TOOLS[extra].purpose.rstrip('.')} ({t} result)")
    return _rebuild(plan, task, tools, feeds, purposes)


def _logical_inconsistency(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    """Inputs that contradict the stated dependencies: a step reads another step's output than the one
    it says it depends on (at severe, the first step also reads the last one's: a cycle)."""
    steps = list(plan.steps)
    n = len(steps)
    notes = list(plan.notes)
    candidates = [i for i in range(n) if any(isinstance(r, int) for _, r in steps[i].inputs)]
    for i in rng.sample(candidates, min(len(candidates), 1 if severity == "light" else 2)):
        inputs = list(steps[i].inputs)
        k, ref = next((k, (p, r)) for k, (p, r) in enumerate(inputs) if isinstance(r, int))
        others = [s for s in range(1, n + 1) if s != ref[1]]
        wrong = max((s for s in others if s < ref[1]), default=i + 1)  # an earlier step, or the step itself
        inputs[k] = (ref[0], wrong)
        steps[i] = steps[i].with_(inputs=tuple(inputs))
    if severity in ("medium", "severe"):
        notes.append(f"Step {n} must finish before step 1 starts, because step 1 checks its output.")
    if severity == "severe":
        first = steps[0]
        inputs = list(first.inputs)
        k = next((k for k, (_, r) in enumerate(inputs) if isinstance(r, int)), None)
        if k is None:
            inputs.append(("input", n))
        else:
            inputs[k] = (inputs[k][0], n)
        steps[0] = first.with_(inputs=tuple(inputs), depends_on=(n,), purpose=f"{first.purpose}, using the result of step {n}")
    return Plan(tuple(steps), tuple(notes), plan.goal)


_DRIFTED_GOALS = (
    "prepare a marketing newsletter",
    "archive last year's backups",
    "benchmark the network latency",
    "draft a hiring forecast",
)


def _semantic_drift(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    drifted = rng.choice(_DRIFTED_GOALS)
    n = len(plan.steps)
    tools = list(plan.tools)
    types = _types(plan)
    purposes = [s.purpose for s in plan.steps]
    replaced = [n - 1] if severity == "light" or n < 3 else [n - 2, n - 1]
    for i in replaced:
        src = next((r for _, r in plan.steps[i].inputs if isinstance(r, int)), None)
        tools[i] = _replacement(tools[i], rng, set(plan.tools) | set(tools), False, types[src - 1] if src else None)
        purposes[i] = f"{TOOLS[tools[i]].purpose.rstrip('.')} to {drifted}"
    goal = plan.goal if severity == "light" else f"{plan.goal}, with the real aim being to {drifted}"
    return _rebuild(plan, task, tools, _feeds(plan), purposes, goal=goal)


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


__all__ = ["DEFAULT_SEVERITY", "inject_flaw", "CATEGORIES"]
