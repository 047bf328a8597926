"""Flaw injection: the optimal plan with one deliberate defect, presented as if it were correct.

Every flaw bites: a model that follows the flawed plan to the letter (each step's tool, inputs and
settings as written, reporting the last step's handle) cannot reach full success, at any severity,
because the defect breaks the data flow the scorer checks (tests/benchmark/test_flaws.py runs
such a literal follower). And every flaw can be noticed from the prompt alone: a step that reads a
later step's output, inputs that disagree with the stated dependencies, a tool whose typed inputs
cannot take what the plan gives it, a setting that names a field the data does not have or a path
the task does not name, a step the task never asks for, a goal that is not the task's.
Severity scales how much of the plan is damaged.

No flaw leaves a mark that a string matcher could find without reading the task: a flawed step is
written exactly as an honest one would be for the tool it names (that tool's purpose sentence,
inputs its schema takes, settings in the task generator's own style and vocabulary, drawn from
generated tasks), wrong literals and fields are ones the generator uses elsewhere, and a drifted
goal is another task's goal. tests/benchmark/copiers.py measures followers that read the plan but
not the task against these plans.
The injection is seeded from the task id, so a flawed prompt is the same on every run.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .plans import Plan, PlanStep, Ref, build_steps, settings_for
from .simulator import Artifact
from .tasks import TaskInstance, generate_instance
from .toolkit import on_change
from .tools import CATEGORIES, SAME, TOOLS, accepts, output_type
from .types import FLAW_TYPES, SEVERITIES, TASK_TYPES

DEFAULT_SEVERITY = "severe"


def _count(severity: str, n: int) -> int:
    return {"light": 1, "medium": min(2, n), "severe": max(min(2, n), math.ceil(n / 2))}[severity]


def _feeds(plan: Plan) -> list[list[tuple[str, Ref]]]:
    return [list(s.inputs) for s in plan.steps]


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


# --------------------------------------------------------------------------- the generator's vocabulary
# What honest plans say, learnt from tasks the generator makes (at a seed of its own): the settings it
# words for each tool, the literals it declares for each role, the fields and goals of each domain.
# Flawed steps are written from these, so they read like honest steps.

_FORMATS = ("csv", "json", "xml", "yaml")
_BANK_SEED = 1
_BANK_PER_TYPE = 120
_NUMERIC = ("number", "integer")


@dataclass(slots=True)
class _Bank:
    # tool -> (domain, settings, the fields those settings name, the task's goal)
    args: dict[str, list[tuple[str, dict[str, Any], frozenset[str], str]]] = field(default_factory=dict)
    literals: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # role -> domain -> values
    fields: dict[str, dict[str, str]] = field(default_factory=dict)  # domain -> field -> type
    goals: dict[str, list[str]] = field(default_factory=dict)  # domain -> goals
    uses: dict[str, int] = field(default_factory=dict)  # tool -> steps that use it


@on_change
def _forget_bank() -> None:
    _bank.cache_clear()  # drawn from tasks generated with another set of tools


@lru_cache(maxsize=1)
def _bank() -> _Bank:
    bank = _Bank()
    seen: set[tuple[str, str, str]] = set()
    for task_type in TASK_TYPES:
        for i in range(_BANK_PER_TYPE):
            t = generate_instance(task_type, i, _BANK_SEED)
            pattern = _field_pattern([n for n, _ in t.fields])
            for s in t.steps:
                bank.uses[s.tool] = bank.uses.get(s.tool, 0) + 1
                key = (s.tool, t.domain, json.dumps(dict(s.args), sort_keys=True))
                if key in seen:  # each tool's settings once per domain
                    continue
                seen.add(key)
                used = frozenset(m.group(1) for m in pattern.finditer(json.dumps(dict(s.args))))
                bank.args.setdefault(s.tool, []).append((t.domain, dict(s.args), used, t.goal))
            for role, value in t.declared_inputs.items():
                values = bank.literals.setdefault(role, {}).setdefault(t.domain, [])
                if value not in values:
                    values.append(value)
            bank.fields.setdefault(t.domain, {}).update(dict(t.fields))
            if t.goal not in bank.goals.setdefault(t.domain, []):
                bank.goals[t.domain].append(t.goal)
    return bank


def _rng(task: TaskInstance, *parts: object) -> random.Random:
    return random.Random("pilotbench-flaw:" + ":".join(map(str, (task.id, *parts))))


def _kind(type_: str) -> str:
    return "numeric" if type_ in _NUMERIC else "text"


def _field_pattern(names: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])({alternatives})(?![A-Za-z0-9])")


def _rename_fields(value: Any, mapping: dict[str, str]) -> Any:
    """`value` with every field name in `mapping` replaced, in strings, list items and dict keys."""
    if not mapping:
        return value
    pattern = _field_pattern(list(mapping))

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return pattern.sub(lambda m: mapping[m.group(1)], v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        return v

    return walk(value)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3}


def worded_settings(tool: str, source: Artifact | None, task: TaskInstance, n: int) -> dict[str, Any]:
    """Settings for a tool the task does not word, in the generator's own style: the settings some
    generated task gave the same tool (the same domain preferred, and text that fits this task's goal),
    with its field names moved onto the fields of the data the step reads."""
    entries = _bank().args.get(tool)
    if not entries:
        return settings_for(tool, source, task, n)
    rng = _rng(task, "settings", tool, n)
    target = dict(source.fields if source is not None and source.fields else task.fields)
    goal = _words(task.goal)

    if not any(args for _, args, _, _ in entries):
        return {}

    def rank(entry: tuple[str, dict[str, Any], frozenset[str], str]) -> tuple[int, int]:
        domain, args, used, _ = entry
        texts = [v for v in args.values() if isinstance(v, str) and " " in v]
        return (-(domain == task.domain) - used.issubset(target), -max((len(_words(t) & goal) for t in texts), default=0))

    ranks = {id(e): rank(e) for e in entries}
    top = min(ranks.values())
    best = sorted((e for e in entries if ranks[id(e)] == top), key=lambda e: json.dumps(e[1], sort_keys=True))
    _, args, used, _ = best[rng.randrange(len(best))]
    text = json.dumps(args)
    mapping: dict[str, str] = {}
    free = [f for f in target if f not in text]
    for f in sorted(used):
        if f in target:
            continue
        kind = _kind(_bank().fields.get(task.domain, {}).get(f) or next(
            (d[f] for d in _bank().fields.values() if f in d), "string"))
        same = [g for g in free if _kind(target[g]) == kind] or free or list(target)
        if same:
            mapping[f] = same[rng.randrange(len(same))]
            if mapping[f] in free:
                free.remove(mapping[f])
    out = _rename_fields(args, mapping)
    current = (source.format if source is not None else None) or task.source_format
    for p in TOOLS[tool].parameters:  # formats follow the data, as the generator words them
        if p.name in out and p.check == "format_of_input":
            out[p.name] = current
        elif p.name in out and p.check == "other_format" and out[p.name] == current:
            out[p.name] = rng.choice([f for f in _FORMATS if f != current])
    return out


def _plausible_literal(role: str, task: TaskInstance, rng: random.Random) -> str | None:
    """Another value the generator declares for `role` (this domain's first), never one the task declares."""
    taken = set(task.declared_inputs.values())
    by_domain = _bank().literals.get(role, {})
    pool = [v for v in by_domain.get(task.domain, ()) if v not in taken] or sorted(
        {v for values in by_domain.values() for v in values if v not in taken})
    return pool[rng.randrange(len(pool))] if pool else None


def _absent_field(kind: str, task: TaskInstance, avoid: set[str], rng: random.Random) -> str:
    """A field name the generator uses (this domain's first) that the task's data does not have."""
    present = {n for n, _ in task.fields} | avoid
    for pool in (_bank().fields.get(task.domain, {}), *(_bank().fields[d] for d in sorted(_bank().fields))):
        names = sorted(f for f, t in pool.items() if _kind(t) == kind and f not in present
                       and not any(f in p or p in f for p in present))
        if names:
            return names[rng.randrange(len(names))]
    return "amount_net" if kind == "numeric" else "account_code"


def _rebuild(task: TaskInstance, tools: list[str], feeds: list[list[tuple[str, Ref]]], goal: str,
             notes: tuple[str, ...] = ()) -> Plan:
    """A plan written as an honest one would be: each step's purpose is its own tool's, and a tool the
    task does not word takes settings in the generator's style."""
    return Plan(build_steps(task, tools, feeds, settings=worded_settings), notes, goal)


def _fit_feeds(tool: str, old: list[tuple[str, Ref]], types: list[str], task: TaskInstance) -> list[tuple[str, Ref]]:
    """Inputs for `tool` taking the place of a step whose inputs were `old`: the old step's handles where
    the tool's data parameters take them, the task's literals for the roles it names, as an honest step
    for this tool would be written."""
    refs = [r for _, r in old if isinstance(r, int)]
    used: set[int] = set()
    out: list[tuple[str, Ref]] = []
    for p in TOOLS[tool].parameters:
        if p.is_data:
            fit = next((r for r in refs if r not in used and r <= len(types) and accepts(p, types[r - 1])), None)
            if fit is None and p.required and not (p.literal and p.literal in task.declared_inputs):
                fit = next((r for r in refs if r not in used), refs[0] if refs else None)
            if fit is not None:
                used.add(fit)
                out.append((p.name, fit))
            elif p.literal and p.literal in task.declared_inputs:
                out.append((p.name, task.declared_inputs[p.literal]))
        elif p.literal and p.required and p.literal in task.declared_inputs:
            out.append((p.name, task.declared_inputs[p.literal]))
    return out


def _satisfiable(tool: str, feeds_type: str | None, task: TaskInstance) -> bool:
    """Every required input of `tool` can be given: data from the step's input, literals the task declares."""
    for p in TOOLS[tool].parameters:
        if not p.required:
            continue
        if p.is_data:
            if not ((feeds_type is not None and accepts(p, feeds_type)) or (p.literal and p.literal in task.declared_inputs)):
                return False
        elif p.literal and p.literal not in task.declared_inputs:
            return False
    return True


# --------------------------------------------------------------------------- the seven flaws


def _sequence_disorder(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    """The steps in another order (light: a step and the step that reads it swapped; medium: the last
    step first; severe: all reversed)."""
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
    # Wired as an author who believed this order would write it: each step's main input is the step
    # written just before it, so running the steps in the order their references allow restores nothing.
    # A first written step that takes a handle reads a step written after it, never its real producer
    # (or, with no other, itself).
    feeds = []
    for k, o in enumerate(order):
        row: list[tuple[str, Ref]] = []
        main = True
        for key, r in plan.steps[o].inputs:
            if isinstance(r, int):
                real = position[r - 1] + 1
                if main and k > 0:
                    row.append((key, k))
                elif main:
                    row.append((key, next((m for m in range(2, n + 1) if m != real), 1)))
                else:
                    row.append((key, real))
                main = False
            else:
                row.append((key, r))
        feeds.append(row)
    return _rebuild(task, tools, feeds, plan.goal, plan.notes)


def _replacements(tool: str, avoid: set[str], same_category: bool, feeds_type: str | None, task: TaskInstance) -> list[str]:
    """Tools that could stand in for `tool` and be written as an honest step: they take the data the step
    is given (or, with nothing given, a literal the task declares) and need no literal the task lacks;
    of the same category as `tool` or of another, as asked (the other kind when the asked one has none)."""
    def pool(same: bool) -> list[str]:
        return sorted(
            t for t in TOOLS
            if t not in avoid and t != tool and (TOOLS[t].category == TOOLS[tool].category) == same
            and (feeds_type is None or any(accepts(p, feeds_type) for p in TOOLS[t].data_params))
            and _satisfiable(t, feeds_type, task)
        )
    return pool(same_category) or pool(not same_category)


def _replace_steps(plan: Plan, task: TaskInstance, which: list[int], same_category: bool,
                   rng: random.Random) -> tuple[list[str], list[list[tuple[str, Ref]]]]:
    types = _types(plan)
    tools = list(plan.tools)
    feeds = _feeds(plan)
    for i in which:
        src = next((r for _, r in plan.steps[i].inputs if isinstance(r, int)), None)
        options = _replacements(tools[i], set(plan.tools) | set(tools), same_category, types[src - 1] if src else None, task)
        if not options:  # nothing plausible: any other tool
            options = sorted(t for t in TOOLS if t not in plan.tools and t not in tools)
        tools[i] = rng.choice(options)
        feeds[i] = _fit_feeds(tools[i], feeds[i], types, task)
    return tools, feeds


def _replaceable(plan: Plan, task: TaskInstance, same_category: bool) -> list[int]:
    types = _types(plan)
    out = []
    for i, step in enumerate(plan.steps):
        src = next((r for _, r in step.inputs if isinstance(r, int)), None)
        if _replacements(step.tool, set(plan.tools), same_category, types[src - 1] if src else None, task):
            out.append(i)
    return out


def _tool_misuse(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    # Steps some other tool could plausibly stand in for (a source step only by another source).
    steps = _replaceable(plan, task, severity == "light") or list(range(len(plan.steps)))
    which = rng.sample(steps, min(len(steps), _count(severity, len(plan.steps))))
    tools, feeds = _replace_steps(plan, task, which, severity == "light", rng)
    return _rebuild(task, tools, feeds, plan.goal, plan.notes)


def _corruptible(step: PlanStep, task: TaskInstance) -> list[str]:
    """What in `step` can be made wrong so that the tool refuses it: a literal, a field, the input's format."""
    kinds = []
    if any(isinstance(r, str) for _, r in step.inputs):
        kinds.append("literal")
    spec = TOOLS[step.tool]
    if _field_settings(step, task):
        kinds.append("field")
    if any(p.check == "format_of_input" and k == p.name for k, _ in step.args for p in spec.parameters):
        kinds.append("format")
    return kinds


_FIELD_CHECKS = ("condition", "expression", "fields", "field", "numeric_field", "operations", "rules", "mapping")


def _field_settings(step: PlanStep, task: TaskInstance) -> list[str]:
    """The settings of `step` that name fields of the data (which the tool checks the data has)."""
    names = [n for n, _ in task.fields]
    if not names:
        return []
    pattern = _field_pattern(names)
    checked = {p.name for p in TOOLS[step.tool].parameters if p.check in _FIELD_CHECKS}
    return [k for k, v in step.args if k in checked and pattern.search(json.dumps(v))]


# Settings whose other values change what the step does (free text and names are left alone).
_SCORED_CHECKS = ("condition", "expression", "fields", "field", "numeric_field", "operations", "rules", "mapping",
                  "scenario", "constraints", "cron", "other_format")


def _other_settings(step: PlanStep, task: TaskInstance) -> list[tuple[str, list[Any]]]:
    """For each setting of `step` that changes what it does, the other values generated tasks give it
    that name only fields the task's data has (so the tool takes them: only a reader of the task, or
    settings scoring, can tell)."""
    fields = {n for n, _ in task.fields}
    out = []
    for key, value in step.args:
        p = next((p for p in TOOLS[step.tool].parameters if p.name == key), None)
        if p is None or p.literal or not (p.check in _SCORED_CHECKS or (not p.check and (p.enum or p.type in _NUMERIC))):
            continue
        seen = sorted({json.dumps(a[key]) for _, a, used, _ in _bank().args.get(step.tool, [])
                       if key in a and used <= fields} - {json.dumps(value)})
        if seen:
            out.append((key, [json.loads(v) for v in seen]))
    return out


def _corrupt(step: PlanStep, task: TaskInstance, rng: random.Random, kind: str) -> PlanStep:
    """One step with a wrong setting or input (`kind`), worded as the generator words right ones: a field
    the data lacks, the wrong format, a path, address or name the task does not declare, or a different
    valid setting than the task asks for."""
    spec = TOOLS[step.tool]
    args = dict(step.args)
    inputs = list(step.inputs)
    if kind == "literal":
        k = rng.choice([k for k, (_, r) in enumerate(inputs) if isinstance(r, str)])
        param, value = inputs[k]
        role = next((p.literal for p in spec.parameters if p.name == param and p.literal), None)
        wrong = _plausible_literal(role, task, rng) if role else None
        inputs[k] = (param, wrong or _misnamed(value, rng))
    elif kind == "field":
        pattern = _field_pattern([n for n, _ in task.fields])
        key = rng.choice(_field_settings(step, task))
        found = sorted({m.group(1) for m in pattern.finditer(json.dumps(args[key]))})
        old = rng.choice(found)
        new = _absent_field(_kind(dict(task.fields)[old]), task, set(), rng)
        args[key] = _rename_fields(args[key], {old: new})
    elif kind == "format":
        key = next(p.name for p in spec.parameters if p.check == "format_of_input" and p.name in args)
        args[key] = rng.choice([f for f in _FORMATS if f != args[key]])
    else:  # another value the generator gives this setting elsewhere
        key, values = rng.choice(_other_settings(step, task))
        args[key] = rng.choice(values)
    return step.with_(args=tuple(args.items()), inputs=tuple(inputs))


def _misnamed(literal: str, rng: random.Random) -> str:
    """A near miss of `literal` (used only where the generator knows no other value for its role)."""
    digits = [m.start() for m in re.finditer(r"\d", literal)]
    if digits:
        k = rng.choice(digits)
        return literal[:k] + str((int(literal[k]) + 1 + rng.randrange(8)) % 10) + literal[k + 1:]
    return literal.replace("-", "_", 1) if "-" in literal else literal + "2"


# Which wrong value to prefer: one only the task's description can right (a field the data lacks: which
# field was meant?), then one the Inputs line rights (a literal), then one the tool results right (a format).
_REFUSED_FIRST = ("field", "literal", "format")


def _parameter_error(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    """One step with a value the tool refuses (so a literal follower fails before settings are scored),
    at medium and severe more steps with a setting the task words otherwise (valid, so only a reader of
    the task, or settings scoring, catches it), or else another refused value."""
    steps = list(plan.steps)
    n = len(steps)
    kinds = {i: _corruptible(s, task) for i, s in enumerate(steps)}
    best = next((k for k in _REFUSED_FIRST if any(k in ks for ks in kinds.values())), None)
    chosen: dict[int, str] = {}
    if best is not None:
        chosen[rng.choice([i for i, ks in kinds.items() if best in ks])] = best
    rest = [i for i in range(n) if i not in chosen and (kinds[i] or _other_settings(steps[i], task))]
    for i in rng.sample(rest, min(len(rest), _count(severity, n) - len(chosen))):
        chosen[i] = "setting" if _other_settings(steps[i], task) else next(k for k in _REFUSED_FIRST if k in kinds[i])
    for i, kind in sorted(chosen.items()):
        steps[i] = _corrupt(steps[i], task, rng, kind)
    return Plan(tuple(steps), plan.notes, plan.goal)


def _missing_step(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    n = len(plan.steps)
    # The source step (step 1) always stays: a plan that starts anywhere else is a giveaway.
    later = list(range(1, n))
    if severity == "light" or n <= 2:
        drop = {n - 1}
    elif severity == "medium":
        drop = {rng.choice(later[:-1])}
    else:
        drop = set(rng.sample(later, min(n - 1, _count(severity, n))))
    kept = [i for i in range(n) if i not in drop]
    new_number = {old + 1: new + 1 for new, old in enumerate(kept)}
    types = _types(plan)

    # A step that took a dropped step's output takes that step's own input instead: the plan stays
    # coherent-looking. An optional input with nothing left to take is left out.
    def redirect(ref: Ref) -> Ref | None:
        while isinstance(ref, int) and ref - 1 in drop:
            up = next((r for _, r in plan.steps[ref - 1].inputs if isinstance(r, int)), None)
            if up is None:
                return None
            ref = up
        return new_number.get(ref, ref) if isinstance(ref, int) else ref

    tools = [plan.steps[i].tool for i in kept]
    feeds = []
    for i in kept:
        row: list[tuple[str, Ref]] = []
        for k, r in plan.steps[i].inputs:
            target = redirect(r)
            if target is None:
                p = next(p for p in TOOLS[plan.steps[i].tool].parameters if p.name == k)
                if not p.required:
                    continue
                # nothing upstream: the nearest earlier kept step whose output it takes, or the nearest one
                earlier = [j for j in kept if j < i]
                fit = [j for j in earlier if accepts(p, types[j])]
                target = new_number[(fit or earlier or [kept[0]])[-1] + 1]
            row.append((k, target))
        feeds.append(row)
    return _rebuild(task, tools, feeds, plan.goal, plan.notes)


def _redundant_operations(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    """Extra steps spliced into the data flow (the next step reads the extra step's output)."""
    tools = list(plan.tools)
    feeds = _feeds(plan)
    for _ in range({"light": 1, "medium": 2, "severe": 3}[severity]):
        current = Plan(build_steps(task, tools, feeds))
        types = _types(current)
        edges = []
        for i, t in enumerate(types):
            for j in _consumers(current, i):
                fits = [
                    x for x in TOOLS
                    if x not in tools and len([p for p in TOOLS[x].data_params if p.required]) == 1
                    and any(accepts(p, t) for p in TOOLS[x].data_params if p.required)
                    and any(accepts(p, output_type(TOOLS[x], t)) for p in TOOLS[tools[j]].data_params)
                    and not any(p.literal for p in TOOLS[x].parameters if p.required)
                ]
                if fits:
                    edges.append((i, j, sorted(fits)))
        if edges:
            i, j, fits = rng.choice(edges)
            # as often as the generator uses each tool, so how common a tool is does not give it away
            extra = rng.choices(fits, weights=[_bank().uses.get(x, 0) + 1 for x in fits])[0]
            insert = i + 1
            param = next(p.name for p in TOOLS[extra].data_params if p.required and accepts(p, types[i]))
            shift = lambda r: r + 1 if isinstance(r, int) and r > insert else r  # noqa: E731
            feeds = [[(k, shift(r)) for k, r in row] for row in feeds]
            # the consumer (row j, before the new row goes in) now reads the extra step (number insert + 1)
            feeds[j] = [(k, insert + 1 if r == i + 1 else r) for k, r in feeds[j]]
            tools.insert(insert, extra)
            feeds.insert(insert, [(param, i + 1)])
        else:  # nothing fits in the flow: a final step that nobody asked for
            t = types[-1]
            takes_it = [
                x for x in TOOLS
                if any(accepts(p, t) for p in TOOLS[x].data_params if p.required) and _satisfiable(x, t, task)
            ]
            extra = rng.choice(sorted([x for x in takes_it if x not in tools] or [x for x in takes_it if x != tools[-1]]))
            tools.append(extra)
            feeds.append(_fit_feeds(extra, [("input", len(tools) - 1)], types, task))
    return _rebuild(task, tools, feeds, plan.goal, plan.notes)


def _logical_inconsistency(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    """Inputs that contradict the stated dependencies, and neither is right: a step reads another step's
    output than the one it needs, and says it depends on a third (at severe, the first step also says it
    depends on the last one: a cycle)."""
    steps = list(plan.steps)
    n = len(steps)
    types = _types(plan)
    candidates = [i for i in range(n) if any(isinstance(r, int) for _, r in steps[i].inputs)]
    for i in rng.sample(candidates, min(len(candidates), 1 if severity == "light" else 2)):
        inputs = list(steps[i].inputs)
        k, (param, right) = next((k, (p, r)) for k, (p, r) in enumerate(inputs) if isinstance(r, int))
        spec = next(p for p in TOOLS[steps[i].tool].parameters if p.name == param)
        others = [s for s in range(1, n + 1) if s != right]
        earlier = [s for s in others if s < i + 1]
        fitting = [s for s in earlier if accepts(spec, types[s - 1])]
        wrong = rng.choice(fitting or earlier or [i + 1])  # an earlier step, or the step itself
        stated = [s for s in (fitting or earlier or others) if s != wrong] or [s for s in others if s != wrong]
        inputs[k] = (param, wrong)
        rest = {r for j, (_, r) in enumerate(inputs) if isinstance(r, int) and j != k}
        depends = tuple(sorted(rest | ({rng.choice(stated)} if stated else set())))
        steps[i] = steps[i].with_(inputs=tuple(inputs), depends_on=depends)
    if severity == "severe":
        steps[0] = steps[0].with_(depends_on=tuple(sorted({*steps[0].depends_on, n})))
    return Plan(tuple(steps), plan.notes, plan.goal)


def _semantic_drift(plan: Plan, task: TaskInstance, severity: str, rng: random.Random) -> Plan:
    """The plan heads for another goal: its last steps are tools of other kinds, and beyond light, the
    goal it states is another generated task's goal in the same domain."""
    n = len(plan.steps)
    replaced = [n - 1] if severity == "light" or n < 3 else [n - 2, n - 1]
    tools, feeds = _replace_steps(plan, task, replaced, False, rng)
    goal = plan.goal
    if severity != "light":
        goals = sorted(g for g in _bank().goals.get(task.domain, []) if g != plan.goal) or sorted(
            g for gs in _bank().goals.values() for g in gs if g != plan.goal)
        goal = rng.choice(goals)
    return _rebuild(task, tools, feeds, goal, plan.notes)


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


__all__ = ["DEFAULT_SEVERITY", "inject_flaw", "worded_settings", "CATEGORIES", "SAME"]
