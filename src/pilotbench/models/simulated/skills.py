"""The skill profiles of the simulated models: how well each one reads tasks and uses tools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Skill:
    """How well a simulated model reads tasks and uses tools; probabilities in [0, 1]."""

    recognize_name: float  # a tool named literally in the task
    recognize_verb: float  # a tool implied by its operation verb
    recognize_phrase: float  # a tool implied only by a paraphrase of its purpose or uses
    recognize_goal: float  # a tool implied by the task's inputs or by a step that needs its output type
    cot_bonus: float  # added recognition when asked to reason step by step
    type_order: float  # orders its steps by their data types rather than by the text
    plan_trust: float  # follows a workflow plan when one is given
    flaw_detection: float  # notices a flaw in a plan (judged against its own reading)
    wrong_tool: float  # picks a sibling tool instead of the one it meant
    format_error: float  # a malformed reply on a turn
    arg_error: float  # a wrong or missing argument on a first attempt
    retry: float  # retries a call that failed at random
    fix_args: float  # repairs its arguments after INVALID_INPUT
    forget_result: float  # leaves the RESULT line out of its final answer
    max_attempts: int = 3
    read_setting: float = 0.9  # reads a setting the task states correctly (else uses its own default)


SKILLS: dict[str, Skill] = {
    "sim/strong": Skill(1.0, 0.97, 0.9, 0.9, 0.04, 0.97, 0.95, 0.7, 0.01, 0.01, 0.03, 0.99, 0.95, 0.01, 3, 0.98),
    "sim/medium": Skill(0.98, 0.85, 0.6, 0.55, 0.08, 0.7, 0.85, 0.35, 0.05, 0.04, 0.1, 0.85, 0.7, 0.05, 3, 0.9),
    "sim/weak": Skill(0.9, 0.6, 0.25, 0.2, 0.08, 0.2, 0.7, 0.08, 0.14, 0.08, 0.18, 0.6, 0.4, 0.15, 2, 0.7),
}


def _between(low: Skill, high: Skill, t: float) -> Skill:
    """A skill profile a share `t` of the way from `low` to `high` (for a simulated size family)."""
    values: dict[str, Any] = {}
    for name in Skill.__dataclass_fields__:  # type: ignore[attr-defined]
        a, b = getattr(low, name), getattr(high, name)
        values[name] = round(a + (b - a) * t) if name == "max_attempts" else a + (b - a) * t
    return Skill(**values)


# A family of sizes, so that the report's section "5.2 Scale" has something to show offline.
SKILLS.update(
    {f"sim/family-{size}b": _between(SKILLS["sim/weak"], SKILLS["sim/strong"], t)
     for size, t in ((3, 0.05), (7, 0.3), (14, 0.55), (72, 0.9))}
)
