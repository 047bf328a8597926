"""Workflow plans: the ordered steps the `optimal` prompt hands the model (flawed plans derive from them).

A plan step names its tool, its inputs (a reference to an earlier step's output handle, or one of
the task's literal values) and the settings to use. The settings are worked out by running the
plan on a private simulator that never fails, so the optimal plan is known to be executable as
written: a model that follows it to the letter, passing each step's handle on, reaches full success
whenever the tools do not fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .simulator import Artifact, ToolSimulator
from .tasks import TaskInstance
from .tools import TOOLS, Param

HANDLE_REF = "<handle from step {n}>"

Ref = int | str  # a 1-based step number whose output handle to pass, or a literal value
# (tool, the data its main input would carry, task, 1-based step number) -> settings
SettingsFor = Callable[[str, Artifact | None, TaskInstance, int], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class PlanStep:
    tool: str
    purpose: str
    inputs: tuple[tuple[str, Ref], ...]  # data and literal parameters
    args: tuple[tuple[str, Any], ...]  # settings (non-data parameters), JSON values
    depends_on: tuple[int, ...]  # 1-based step numbers

    def with_(self, **changes: object) -> PlanStep:
        return replace(self, **changes)  # type: ignore[arg-type]

    def rendered_inputs(self) -> str:
        return "; ".join(f"{k}={HANDLE_REF.format(n=v) if isinstance(v, int) else v}" for k, v in self.inputs) or "none"

    def arguments(self) -> dict[str, Any]:
        return dict(self.args)


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[PlanStep, ...]
    notes: tuple[str, ...] = ()
    goal: str = ""

    @property
    def tools(self) -> tuple[str, ...]:
        return tuple(s.tool for s in self.steps)


# --------------------------------------------------------------------------- settings


def _numeric(fields: Sequence[tuple[str, str]]) -> str | None:
    return next((n for n, t in fields if t in ("number", "integer")), None)


def _text(fields: Sequence[tuple[str, str]]) -> str | None:
    return next((n for n, t in fields if t == "string"), None)


def settings_for(tool: str, source: Artifact | None, task: TaskInstance, step_number: int) -> dict[str, Any]:
    """Values for a tool's required settings that are right for data shaped like `source`."""
    fields = source.fields if source is not None else task.fields
    num = _numeric(fields) or "value"
    txt = _text(fields) or (fields[0][0] if fields else "id")
    out: dict[str, Any] = {}
    spec = TOOLS[tool]
    for p in spec.parameters:
        if not p.required or p.is_data or p.literal:
            continue
        out[p.name] = _setting(p, tool, source, num, txt, task, step_number)
    if tool == "data_processing_aggregator":
        out["field"] = num
    return out


def _setting(p: Param, tool: str, source: Artifact | None, num: str, txt: str, task: TaskInstance, n: int) -> Any:
    check = p.check
    if check == "format_of_input":
        return (source.format if source is not None else None) or task.source_format
    if check == "other_format":
        current = (source.format if source is not None else None) or task.source_format
        return next(f for f in (p.enum or ()) if f != current)
    if check == "condition":
        return f"{num} > 0"
    if check == "expression":
        return f"sum({num}) * 1.2"
    if check == "fields":
        return [txt]
    if check in ("field", "numeric_field"):
        return num
    if check == "operations":
        return [f"cast:{num}:float"]
    if check == "rules":
        return {num: {"required": True, "min": 0}}
    if check == "mapping":
        return {txt: f"{txt}_ref"}
    if check == "scenario":
        return {"demand_change": -0.1}
    if check == "constraints":
        return {"budget": {"max": 50000}}
    if check == "cron":
        return "0 6 * * 1"
    if check == "identifier":
        return f"{task.domain}.step{n}"
    if check == "text":
        return f"{TOOLS[tool].operation} step {n} of {task.id} finished"
    if p.enum:
        return {"metric": "sum", "analysis_type": "descriptive", "objective": "maximize", "destination": "eu-west",
                "operation": "hash"}.get(p.name, p.enum[0])
    return {"integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}.get(p.type, "")


# --------------------------------------------------------------------------- building


def build_steps(
    task: TaskInstance,
    tools: Sequence[str],
    feeds: Sequence[Sequence[tuple[str, Ref]]],
    purposes: Sequence[str] | None = None,
    settings: SettingsFor | None = None,
) -> tuple[PlanStep, ...]:
    """Plan steps for `tools` with the given inputs (step refs are 1-based), settings worked out by a
    dry run: each step's settings fit the data its inputs would carry if the plan were followed.
    A tool the task itself words takes the task's settings; any other takes `settings` (default
    `settings_for`). With the default, a task's settings that do not fit the data the plan gives the
    step are replaced by `settings_for`'s; with `settings` given (a flawed plan), the task's stay as worded.
    A step's purpose is its tool's own purpose sentence unless `purposes` says otherwise."""
    fallback = settings or settings_for
    sim = ToolSimulator(f"plan|{task.id}", 1.0, literals=task.inputs, fields=task.fields, source_format=task.source_format)
    preset = {s.tool: dict(s.args) for s in task.steps if s.args}  # the settings the task itself words
    handles: dict[int, str] = {}
    steps: list[PlanStep] = []
    for n, (tool, step_feeds) in enumerate(zip(tools, feeds), 1):
        args: dict[str, Any] = {}
        source: Artifact | None = None
        for param, ref in step_feeds:
            if isinstance(ref, int):
                handle = handles.get(ref)
                args[param] = handle if handle is not None else "missing"
                if handle is not None and param in ("input", "path") and source is None:
                    source = sim.artifacts.get(handle)
            else:
                args[param] = ref
        chosen = preset.get(tool) or fallback(tool, source, task, n)
        result = sim.execute(tool, {**args, **chosen})
        if result.error_code == "INVALID_INPUT" and tool in preset and result.refused not in args and settings is None:
            chosen = settings_for(tool, source, task, n)  # the task's own settings do not fit here
            result = sim.execute(tool, {**args, **chosen})
        if result.success and result.handle:
            handles[n] = result.handle
        purpose = purposes[n - 1] if purposes else TOOLS[tool].purpose.rstrip(".")
        depends = tuple(sorted({r for _, r in step_feeds if isinstance(r, int)}))
        steps.append(PlanStep(tool, purpose, tuple((k, v) for k, v in step_feeds), tuple(chosen.items()), depends))
    return tuple(steps)


def task_feeds(task: TaskInstance) -> list[list[tuple[str, Ref]]]:
    """The task's feeds as plan refs: upstream steps 1-based, literal roles replaced by their values."""
    return [
        [(param, src + 1 if isinstance(src, int) else task.inputs[src]) for param, src in step.feeds]
        for step in task.steps
    ]


def optimal_plan(task: TaskInstance) -> Plan:
    return Plan(steps=build_steps(task, task.required_tools, task_feeds(task)), goal=task.goal)


def render_arguments(args: Sequence[tuple[str, Any]]) -> str:
    return json.dumps(dict(args), separators=(", ", ": ")) if args else "none"
