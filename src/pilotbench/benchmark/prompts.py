"""Prompt strategies: what a model receives for a task, difficulty and prompt type.

`baseline` states the task; `cot` asks for step-by-step reasoning; `optimal` adds the workflow
plan; `flawed_<type>` adds the same plan with one injected flaw, worded exactly as if correct.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

from .flaws import DEFAULT_SEVERITY, inject_flaw
from .plans import Plan, optimal_plan, render_arguments
from .protocol import FINAL_MARKER, RESULT_MARKER, TEXT_PROTOCOL_INSTRUCTIONS
from .tasks import TaskInstance
from .toolkit import on_change
from .tools import TOOLS, tool_schemas
from .types import BASE_PROMPT_TYPES, DIFFICULTIES, FLAWED_PROMPT_TYPES, PROMPT_TYPES, SEVERITIES, Message, ToolSchema

TOOL_MODES = ("native", "text")

_SYSTEM = (
    "You are a workflow agent. You complete data and integration tasks by calling the tools you are "
    "given, one step at a time. Each successful call returns a `handle` to its output and a summary of "
    "the data; pass handles on to the steps that need them, and use the task's inputs exactly as given. "
    "Call only the tools the task needs. If a call fails you may retry it or adjust its arguments. "
    f"When the task is complete, reply without a tool call, starting with '{FINAL_MARKER}', summarise "
    f"what was done, and end with a line '{RESULT_MARKER} <handle>' giving the handle of the final "
    "step's output. If the task could not be completed, say so and give no result line."
)
_COT = (
    "Think step by step. Before each tool call, state briefly which step of the workflow you are on, "
    "why this tool is the right one, and which earlier result it uses."
)
_PLAN_INTRO = "Follow this workflow plan. It has been prepared for this task:"


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """Exactly what the model receives: the opening messages and the tool schemas (None in text mode)."""

    messages: tuple[Message, ...]
    tools: tuple[ToolSchema, ...] | None
    prompt_type: str
    plan: Plan | None


def expand_prompt_types(value: str) -> tuple[str, ...]:
    """Parse a --prompt-types value: names, `all` (baseline,cot,optimal) or `all_with_flawed`."""
    out: list[str] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if part == "all":
            names: tuple[str, ...] = BASE_PROMPT_TYPES
        elif part == "all_with_flawed":
            names = PROMPT_TYPES
        elif part == "flawed":
            names = FLAWED_PROMPT_TYPES
        elif part in PROMPT_TYPES:
            names = (part,)
        else:
            raise ValueError(
                f"unknown prompt type {part!r}; choose from {', '.join(PROMPT_TYPES)}, all, all_with_flawed"
            )
        out.extend(n for n in names if n not in out)
    if not out:
        raise ValueError("no prompt type given")
    return tuple(out)


def render_plan(plan: Plan) -> str:
    lines = [_PLAN_INTRO]
    if plan.goal:
        lines.append(f"Goal: {plan.goal}.")
    for n, step in enumerate(plan.steps, 1):
        deps = ", ".join(f"step {d}" for d in step.depends_on) or "none"
        lines.append(
            f"Step {n}: {step.tool} - {step.purpose}. Inputs: {step.rendered_inputs()}. "
            f"Arguments: {render_arguments(step.args)}. Depends on: {deps}."
        )
    lines.extend(f"Note: {note}" for note in plan.notes)
    return "\n".join(lines)


def _text_tools_block() -> str:
    listing = [
        {"name": s.name, "description": s.description, "parameters": s.schema()["function"]["parameters"]}
        for s in TOOLS.values()
    ]
    return "Available tools:\n" + json.dumps(listing, separators=(",", ":"))


@lru_cache(maxsize=1)
def _native_tools() -> tuple[ToolSchema, ...]:
    return tuple(tool_schemas(TOOLS))  # every registered tool: the 30 built-ins in catalog order, then any added


_PLANS: dict[tuple[str, str, str], Plan] = {}
on_change(_native_tools.cache_clear)
on_change(_PLANS.clear)  # plans of the tasks generated with another set of tools
_PLANS_MAX = 1024


def plan_for(task: TaskInstance, prompt_type: str, severity: str = DEFAULT_SEVERITY) -> Plan | None:
    """The plan a prompt type hands the model (None for baseline and cot); cached per task instance."""
    if prompt_type in ("baseline", "cot"):
        return None
    key = (task.id, prompt_type, severity)
    plan = _PLANS.get(key)
    if plan is None:
        plan = optimal_plan(task)
        if prompt_type != "optimal":
            plan = inject_flaw(plan, task, prompt_type.removeprefix("flawed_"), severity)
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def task_reference(task: TaskInstance) -> str:
    """A short opaque reference for a task instance, stable across runs."""
    return "t-" + hashlib.blake2b(task.id.encode(), digest_size=5).hexdigest()


def render_prompt(
    task: TaskInstance,
    difficulty: str,
    prompt_type: str,
    *,
    severity: str = DEFAULT_SEVERITY,
    tool_mode: str = "native",
) -> RenderedPrompt:
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"unknown difficulty {difficulty!r}; choose from {', '.join(DIFFICULTIES)}")
    if prompt_type not in PROMPT_TYPES:
        raise ValueError(f"unknown prompt type {prompt_type!r}; choose from {', '.join(PROMPT_TYPES)}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}; choose from {', '.join(SEVERITIES)}")
    if tool_mode not in TOOL_MODES:
        raise ValueError(f"unknown tool mode {tool_mode!r}; choose from {', '.join(TOOL_MODES)}")
    system = _SYSTEM
    if tool_mode == "text":
        system = f"{_SYSTEM}\n\n{TEXT_PROTOCOL_INSTRUCTIONS}\n\n{_text_tools_block()}"
    # The header names the task by an opaque reference: its type (and so its length) is not a hint.
    parts = [f"Task {task_reference(task)}:", task.description(difficulty)]
    parts.append("Inputs: " + json.dumps(task.declared_inputs, sort_keys=True))
    parts.append("Constraints:\n" + "\n".join(f"- {c}" for c in task.constraints))
    plan = plan_for(task, prompt_type, severity)
    if prompt_type == "cot":
        parts.append(_COT)
    if plan is not None:
        parts.append(render_plan(plan))
    user = "\n\n".join(parts)
    messages = ({"role": "system", "content": system}, {"role": "user", "content": user})
    return RenderedPrompt(
        messages=messages,
        tools=_native_tools() if tool_mode == "native" else None,
        prompt_type=prompt_type,
        plan=plan,
    )
