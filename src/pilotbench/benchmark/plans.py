"""Workflow plans: the ordered steps the `optimal` prompt hands the model.

The clean plan is also what workflow adherence is scored against; flawed plans are derived from
it in `flaws`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .tasks import TaskInstance
from .tools import TOOLS

HANDLE_REF = "<handle from step {n}>"


@dataclass(frozen=True, slots=True)
class PlanStep:
    tool: str
    purpose: str
    key_args: tuple[tuple[str, str], ...]
    depends_on: tuple[int, ...]  # 1-based step numbers

    def with_(self, **changes: object) -> PlanStep:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[PlanStep, ...]
    notes: tuple[str, ...] = ()
    goal: str = ""

    @property
    def tools(self) -> tuple[str, ...]:
        return tuple(s.tool for s in self.steps)


def first_argument(tool: str, task: TaskInstance) -> tuple[str, str] | None:
    """The argument a source step is given from the task's inputs (its first required string)."""
    for p in TOOLS[tool].parameters:
        if p.required and p.name != "input" and p.type == "string" and not p.enum:
            return (p.name, str(task.inputs["source"]))
    return None


def key_args_for(tool: str, step_number: int, task: TaskInstance) -> tuple[tuple[str, str], ...]:
    names = {p.name for p in TOOLS[tool].parameters if p.required}
    args: list[tuple[str, str]] = []
    if "input" in names and step_number > 1:
        args.append(("input", HANDLE_REF.format(n=step_number - 1)))
    elif (first := first_argument(tool, task)) is not None:
        args.append(first)
    return tuple(args)


def optimal_plan(task: TaskInstance) -> Plan:
    steps = []
    for n, tool in enumerate(task.required_tools, 1):
        spec = TOOLS[tool]
        subject = "the task's input" if n == 1 else f"the output of step {n - 1}"
        steps.append(
            PlanStep(
                tool=tool,
                purpose=f"{spec.verbs[0].capitalize()} {subject}",
                key_args=key_args_for(tool, n, task),
                depends_on=(n - 1,) if n > 1 else (),
            )
        )
    return Plan(steps=tuple(steps), goal=task.goal)
