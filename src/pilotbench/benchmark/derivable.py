"""The derivability check: every required step, setting and input of a task is stated by its text.

Suite v3's promise (docs/scoring.md, "What a description states"): difficulty changes vocabulary and
explicitness, never facts. For each wording from easy to very_hard this check reads the words the
generator wrote for each step (`tasks.step_phrases`) and proves, mechanically:

1. every step is stated, in step order, inside the description (so the set of tools is the text's,
   and the minimal chain that uses them is the task's chain: nothing is left to guess);
2. every setting the scorer compares is visible in that step's words (its numbers, fields, format,
   schedule, region, ...), so a careful reader can write it;
3. every data input is determined: either exactly one earlier output has a type the parameter takes
   (the types force it), or the step's words name the producing step's output ("the parsed
   records"), never "it" when two handles could fit;
4. every literal input the step takes (its source, service, credential, target system, output path,
   queue, recipient or endpoint) is named by its role or its value, since the Inputs list every role,
   needed or not.

`problems(task, phrases)` returns what fails, as sentences; an empty list means derivable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .settings import _terms
from .tasks import TaskInstance
from .toolkit import ENTRIES
from .walk import _main_param
from .wording import _REF
from .tools import ANY, SAME, TOOLS

DIFFICULTIES_CHECKED = ("easy", "medium", "hard", "very_hard")
# How a step's words may name each literal input (or by its value): every task declares every role.
_ROLE_WORDS = {
    "source_path": ("source path", "source file"), "source_directory": ("source directory", "source folder"),
    "source_url": ("source url",), "service": (), "credential": ("credential",), "target_system": ("target system",),
    "output_path": ("output path",), "queue_name": ("queue",), "recipient": ("recipient",), "endpoint": ("endpoint",),
}
_OP_WORDS = {">": ("above",), ">=": ("at least",), "<": ("below",), "<=": ("at most",), "==": ("is",), "!=": ("is not",)}


def _numbers(value: Any) -> list[str]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [f"{value:g}"]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _numbers(v)]
    return []


def _said_condition(value: Any) -> list[tuple[str, ...]]:
    out = []
    for field, op, v in _terms(value, frozenset()) or ():
        out.append((field.lower(),))
        out.append((f"{v:g}",) if isinstance(v, float) else (str(v).lower(),))
        out.append(_OP_WORDS[op])
    return out


def _said_expression(value: Any) -> list[tuple[str, ...]]:
    return [(f,) for f in re.findall(r"\((\w+)\)", value)]


def _said_scenario(value: Any) -> list[tuple[str, ...]]:
    (key, v), = value.items()
    return [(key.replace("_", " "),), (f"{abs(v) * 100:g}%",)]


def _said_constraints(value: Any) -> list[tuple[str, ...]]:
    (key, bound), = value.items()
    out: list[tuple[str, ...]] = [(key.replace("_", " "),)]
    out += [("most",) if "max" in bound else ("least",)]
    return out + [(n,) for n in _numbers(bound)]


def _said_spelled(value: Any) -> list[tuple[str, ...]]:
    return [(str(value).lower(),)]


# How a setting is stated by the kind of check its parameter is held to (`Param.check`), where that
# kind has one way of being said whatever the tool.
_BY_CHECK: dict[str, Callable[[Any], list[tuple[str, ...]]]] = {
    "timezone": _said_spelled, "format_of_input": _said_spelled, "other_format": _said_spelled,
    "scenario": _said_scenario, "constraints": _said_constraints, "condition": _said_condition,
    "expression": _said_expression,
}


def surfaces(tool: str, name: str, value: Any) -> list[tuple[str, ...]]:
    """What a step's words must contain to state `name=value`: a list of alternatives-tuples, every
    tuple needing one of its strings (lower-case). The tool's entry says it for a setting worded its
    own way (`Tool.surfaces`); otherwise the setting's check kind does; otherwise its value's spelling."""
    entry = ENTRIES.get(tool)
    if entry is not None:
        said = entry.surfaces.get(name)
        if said is not None:
            return said(value)
        check = next((p.check for p in entry.spec.parameters if p.name == name), None)
        by_check = _BY_CHECK.get(check or "")
        if by_check is not None:
            return by_check(value)
    if isinstance(value, str):
        return [(value.lower(),)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [(f"{value:g}",)]
    if isinstance(value, (list, tuple)):
        return [(str(v).lower(),) for v in value if isinstance(v, str) and ":" not in v] + \
            [w for v in value if isinstance(v, str) and ":" in v for w in _op_words(v)]
    if isinstance(value, dict):
        keys = [(str(k).lower(),) for k in value]
        vals = [(str(v).lower(),) for v in value.values() if isinstance(v, str)]
        return keys + vals + [(n,) for n in _numbers(value)]
    return []


def _op_words(op: str) -> list[tuple[str, ...]]:
    kind, _, rest = op.partition(":")
    if kind == "cast":
        name, target = rest.split(":")
        return [(name.lower(),), ("whole number",) if target == "int" else ("decimal",)]
    if kind == "rename":
        old, new = rest.split("->")
        return [(old.lower(),), (new.lower(),)]
    if kind == "derive":
        new, expr = rest.split("=", 1)
        return [(new.strip().lower(),)] + [(w.lower(),) for w in expr.replace("*", " ").replace("/", " ").split()]
    return []


def _types(task: TaskInstance) -> list[str]:
    out: list[str] = []
    for s in task.steps:
        spec = TOOLS[s.tool]
        main = dict(s.feeds).get(_main_param(s.tool) or "")
        out.append(out[main] if spec.output == SAME and isinstance(main, int) else spec.output)
    return out


def problems(task: TaskInstance, phrases: dict[str, list[str]]) -> list[str]:
    found: list[str] = []
    types = _types(task)
    for difficulty in DIFFICULTIES_CHECKED:
        text = task.description(difficulty).lower()
        said = phrases.get(difficulty, [])
        if len(said) != len(task.steps):
            found.append(f"{difficulty}: {len(said)} step phrases for {len(task.steps)} steps")
            continue
        at = 0
        for k, (step, phrase) in enumerate(zip(task.steps, said)):
            p = phrase.lower()
            where = text.find(p, at)
            if where < 0:
                found.append(f"{difficulty}: step {k + 1} ({step.tool}) is not stated in order: {phrase!r}")
            else:
                at = where + len(p)
            for name, value in step.checked_args.items():
                for options in surfaces(step.tool, name, value):
                    if not any(o in p for o in options):
                        found.append(f"{difficulty}: step {k + 1} ({step.tool}) does not state {name}={value!r} "
                                     f"(missing {options[0]!r}) in {phrase!r}")
            takes = {v for _, v in step.feeds if isinstance(v, str)}
            for role in ("source_path", "source_directory", "source_url"):
                if role not in takes and any(w in p for w in _ROLE_WORDS[role]):
                    found.append(f"{difficulty}: step {k + 1} ({step.tool}) names the {role}, which it does not take: {phrase!r}")
            for param, source in step.feeds:
                if isinstance(source, str):
                    words = _ROLE_WORDS.get(source, ())
                    if not any(w in p for w in words) and task.inputs.get(source, "\0").lower() not in p:
                        found.append(f"{difficulty}: step {k + 1} ({step.tool}) does not name its {source}: {phrase!r}")
                    continue
                accepts = next(q.accepts for q in TOOLS[step.tool].data_params if q.name == param) or ()
                fits = [j for j in range(k) if ANY in accepts or types[j] in accepts]
                if fits == [source]:
                    continue  # the types force it
                ref = _REF[task.steps[source].tool]
                if ref not in p:
                    found.append(f"{difficulty}: step {k + 1} ({step.tool}) takes step {source + 1}'s output, one of "
                                 f"{len(fits)} that fit, without naming it ({ref!r}): {phrase!r}")
    return found
