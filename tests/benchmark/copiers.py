"""Plan copiers: models that read the workflow plan in the prompt but never the task (the floor for flaws).

Each strategy is a function (messages, tools, rng) -> ModelOutput, like those in blind.py, that reads
the plan lines of the user message ("Step n: tool - purpose. Inputs: ... Arguments: {...}. Depends
on: ..."), the Inputs line where it says so, and the tool results; never the task's description.

- `literal_copier`: each plan step's tool, inputs and settings as written, a step reference replaced
  by that step's handle (or left as written when that step made none); reports the last handle made.
- `names_only_copier`: only the plan's tool names, in order; each step takes, for every data
  parameter, the latest handle whose type it accepts (or the Inputs value of the parameter's role),
  literals from the Inputs by role, and generic settings (plans.settings_for, from the fields the
  tool results report: valid, but not what the task asks); reports the last handle made.
- `type_sorting_copier`: the names-only copier taking the plan's tools as a set, each turn the first
  one (in written order) whose inputs the handles so far can give: what the types alone say about order.
- `tell_dropper`: undoes what the known string tells of suite v2 flag (a purpose sentence that is
  another tool's, steps whose purpose ends "before passing it on" or "(X result)", an aim appended to
  a purpose, a cyclic input "using the result of step n", the "_total" / "_latest" / "-prod" /
  "team@" / "data=" / "limit: all" marks of a parameter error), then copies literally.
- `dependency_truster`: copies literally, but where a step's inputs and its "Depends on" disagree,
  takes the handles of the steps it says it depends on.
- `reference_orderer`: copies literally, but runs each step after the steps whose handles it takes.
- `prior_dropper`: knows how often the generator uses each tool (learnt at another seed), drops the
  steps (short of the last) whose tool is rare, then copies literally: a guess at redundant steps.
- `inputs_fixer`: copies literally, but a literal input the Inputs line does not list is replaced by the
  Inputs value of the parameter's role.

`python -m tests.benchmark.copiers [--tests 50]` prints full success per flaw type x severity x
strategy, and each strategy on the optimal plan (docs/scoring.md, "What a plan gives away").
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pilotbench.benchmark.types import Message, ModelOutput, ToolCall

Strategy = Callable[[list[Message], list[dict[str, Any]], random.Random], ModelOutput]

_STEP = re.compile(r"^Step (\d+): (\S+) - (.*?)\. Inputs: (.*?)\. Arguments: (.*?)\. Depends on: (.*?)\.$", re.M)
_REF = re.compile(r"^<handle from step (\d+)>$")


@dataclass
class Step:
    tool: str
    purpose: str
    inputs: list[tuple[str, int | str]]
    args: dict[str, Any]
    depends: list[int]


def parse_plan(text: str) -> list[Step]:
    """The plan steps as the prompt renders them (prompts.render_plan)."""
    steps = []
    for m in _STEP.finditer(text):
        inputs: list[tuple[str, int | str]] = []
        if m.group(4) != "none":
            for part in m.group(4).split("; "):
                key, _, value = part.partition("=")
                ref = _REF.match(value)
                inputs.append((key, int(ref.group(1)) if ref else value))
        args = json.loads(m.group(5)) if m.group(5) != "none" else {}
        depends = [int(d) for d in re.findall(r"step (\d+)", m.group(6))]
        steps.append(Step(m.group(2), m.group(3), inputs, args, depends))
    return steps


def _user(messages: list[Message]) -> str:
    return messages[1].get("content") or ""


def _inputs_line(messages: list[Message]) -> dict[str, str]:
    m = re.search(r"^Inputs: (\{.*\})$", _user(messages), re.M)
    return json.loads(m.group(1)) if m else {}


def _results(messages: list[Message]) -> list[dict[str, Any]]:
    return [json.loads(m["content"]) for m in messages if m.get("role") == "tool"]


def _turn(messages: list[Message]) -> int:
    return sum(1 for m in messages if m.get("role") == "assistant")


def _call(name: str, args: dict[str, Any], turn: int) -> ModelOutput:
    return ModelOutput(tool_calls=(ToolCall(f"c{turn}", name, json.dumps(args)),), finish_reason="tool_calls")


def _final(handles: list[str]) -> ModelOutput:
    if not handles:
        return ModelOutput.for_text("FINAL ANSWER: the plan produced nothing.")
    return ModelOutput.for_text(f"FINAL ANSWER: followed the plan.\nRESULT: {handles[-1]}")


def _copy(steps: list[Step], messages: list[Message]) -> ModelOutput:
    """One call per turn, step after step, exactly as written; then the last handle made."""
    turn = _turn(messages)
    results = _results(messages)
    handles: dict[int, str] = {}
    for n, r in enumerate(results, 1):
        if r.get("status") == "success":
            handles[n] = r["handle"]
    if turn >= len(steps):
        return _final([handles[k] for k in sorted(handles)])
    step = steps[turn]
    args = dict(step.args)
    for key, ref in step.inputs:
        args[key] = handles.get(ref, f"<handle from step {ref}>") if isinstance(ref, int) else ref
    return _call(step.tool, args, turn)


def literal_copier(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    return _copy(parse_plan(_user(messages)), messages)


def names_only_copier(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    from .blind import _typed_args

    names = [s.tool for s in parse_plan(_user(messages))]
    turn = _turn(messages)
    results = _results(messages)
    made = [(r["handle"], r["type"], r.get("summary") or {}) for r in results if r.get("status") == "success"]
    if turn >= len(names):
        return _final([h for h, _, _ in made])
    return _call(names[turn], _typed_args(names[turn], made, _inputs_line(messages), turn + 1), turn)


def _called(messages: list[Message]) -> list[str]:
    return [c["function"]["name"] for m in messages if m.get("role") == "assistant" for c in m.get("tool_calls") or ()]


def type_sorting_copier(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    """The names-only copier with the plan's tools taken as a set: each turn it calls the first tool, in
    written order, not yet called whose required inputs the handles made so far (by type) and the
    Inputs (by role) can give; wired by type, generic settings."""
    from pilotbench.benchmark.tools import TOOLS, accepts

    from .blind import _typed_args

    names = [s.tool for s in parse_plan(_user(messages))]
    inputs = _inputs_line(messages)
    made = [(r["handle"], r["type"], r.get("summary") or {}) for r in _results(messages) if r.get("status") == "success"]
    called = _called(messages)
    left = [n for n in names if n not in called]
    turn = _turn(messages)
    if not left or turn >= 2 * len(names):
        return _final([h for h, _, _ in made])
    types = {t for _, t, _ in made}

    def ready(name: str) -> bool:
        return all(
            (p.is_data and (any(accepts(p, t) for t in types) or (p.literal and p.literal in inputs)))
            or (not p.is_data and (not p.literal or p.literal in inputs))
            for p in TOOLS[name].parameters if p.required
        )

    pick = next((n for n in left if ready(n)), left[0])
    return _call(pick, _typed_args(pick, made, inputs, turn + 1), turn)


_AIMS = ("prepare a marketing newsletter", "archive last year's backups", "benchmark the network latency",
         "draft a hiring forecast")


def drop_tells(steps: list[Step]) -> list[Step]:
    """The plan with what suite v2's string tells flagged undone: a step whose purpose sentence is another
    tool's runs that tool; an inserted step (purpose ending "before passing it on" or "(X result)") or a
    drifted one (purpose ending in a known aim) is dropped, its readers rewired to its own input; a
    cyclic input "using the result of step n" is removed; parameter-error marks are reverted."""
    from pilotbench.benchmark.tools import TOOLS

    by_purpose = {spec.purpose.rstrip("."): name for name, spec in TOOLS.items()}
    out: list[Step] = []
    number: dict[int, int | str | None] = {}  # old step number -> new number (or what replaces it)
    for n, s in enumerate(steps, 1):
        purpose = s.purpose
        if purpose.endswith(" before passing it on") or re.search(r" \(\w+ result\)$", purpose) or any(
            purpose.endswith(f" to {aim}") for aim in _AIMS
        ):
            up = next((r for _, r in s.inputs if isinstance(r, int)), None)
            number[n] = number.get(up) if isinstance(up, int) else up
            continue
        inputs = list(s.inputs)
        cyclic = re.search(r", using the result of step (\d+)$", purpose)
        if cyclic:
            purpose = purpose[: cyclic.start()]
            inputs = [(k, r) for k, r in inputs if r != int(cyclic.group(1))]
        tool = by_purpose.get(purpose, s.tool)
        fixed_inputs: list[tuple[str, int | str]] = []
        for k, r in inputs:
            k = "input" if k == "data" else k.removesuffix("_ref") if k.endswith("_ref") and k != "credential_ref" else k
            if isinstance(r, int):
                r = number.get(r, r)  # type: ignore[assignment]
            elif isinstance(r, str):
                r = re.sub(r"_latest(\.\w+)$", r"\1", r).removesuffix("-prod")
            if r is not None:
                fixed_inputs.append((k, r))
        args = {k: v for k, v in s.args.items() if not (k == "limit" and v == "all")}
        args = json.loads(json.dumps(args).replace("_total", ""))
        out.append(Step(tool, purpose, fixed_inputs, args, s.depends))
        number[n] = len(out)
    return out


def tell_dropper(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    return _copy(drop_tells(parse_plan(_user(messages))), messages)


def trust_dependencies(steps: list[Step]) -> list[Step]:
    """The plan with each step's handle inputs taken from its "Depends on" where the two disagree."""
    out = []
    for s in steps:
        refs = [r for _, r in s.inputs if isinstance(r, int)]
        if refs and sorted(refs) != sorted(s.depends) and len(s.depends) == len(refs):
            stated = iter(s.depends)
            s = Step(s.tool, s.purpose, [(k, next(stated) if isinstance(r, int) else r) for k, r in s.inputs], s.args, s.depends)
        out.append(s)
    return out


def dependency_truster(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    """Copies literally, except that where a step's inputs and its "Depends on" disagree it believes the latter."""
    return _copy(trust_dependencies(parse_plan(_user(messages))), messages)


def fix_literals(steps: list[Step], inputs: dict[str, str]) -> list[Step]:
    """The plan with every literal input the Inputs line does not list replaced by the Inputs value of the
    parameter's role (the tool schema names the role)."""
    from pilotbench.benchmark.tools import TOOLS

    out = []
    for s in steps:
        fixed: list[tuple[str, int | str]] = []
        for k, r in s.inputs:
            p = next((p for p in TOOLS[s.tool].parameters if p.name == k), None) if s.tool in TOOLS else None
            if isinstance(r, str) and p is not None and p.literal in inputs and r not in inputs.values():
                r = inputs[p.literal]
            fixed.append((k, r))
        out.append(Step(s.tool, s.purpose, fixed, s.args, s.depends))
    return out


def inputs_fixer(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    """Copies literally, but puts the Inputs line's value where a plan literal is not one of them."""
    return _copy(fix_literals(parse_plan(_user(messages)), _inputs_line(messages)), messages)


@lru_cache(maxsize=1)
def _rare_tools(seed: int = 7, per_type: int = 300, share: float = 0.02) -> frozenset[str]:
    """Tools that make up less than `share` of the steps of tasks the generator makes (at another seed)."""
    from collections import Counter

    from pilotbench.benchmark.tasks import generate_instance
    from pilotbench.benchmark.tools import TOOLS
    from pilotbench.benchmark.types import TASK_TYPES

    counts = Counter(s.tool for t in TASK_TYPES for i in range(per_type) for s in generate_instance(t, i, seed).steps)
    total = sum(counts.values())
    return frozenset(t for t in TOOLS if counts[t] / total < share)


def drop_rare(steps: list[Step]) -> list[Step]:
    """The plan without the steps, short of the last, whose tool the generator rarely uses; a step that
    read a dropped step reads that step's own input."""
    rare = _rare_tools()
    out: list[Step] = []
    number: dict[int, Any] = {}
    for n, s in enumerate(steps, 1):
        if s.tool in rare and n < len(steps):
            up = next((r for _, r in s.inputs if isinstance(r, int)), None)
            number[n] = number.get(up, up)
            continue
        out.append(Step(s.tool, s.purpose, [(k, number.get(r, r) if isinstance(r, int) else r) for k, r in s.inputs],
                        s.args, s.depends))
        number[n] = len(out)
    return out


def prior_dropper(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    """Knows the generator's tool frequencies (another seed): drops rarely used tools, then copies literally."""
    return _copy(drop_rare(parse_plan(_user(messages))), messages)


def in_reference_order(steps: list[Step]) -> list[Step]:
    """The plan's steps run in an order its handle references allow (each step after the steps it reads),
    written order among the ready ones, references renumbered; as written if they form a cycle."""
    order: list[int] = []
    left = list(range(1, len(steps) + 1))
    while left:
        ready = [n for n in left if all(r in order or r not in left for _, r in steps[n - 1].inputs if isinstance(r, int))]
        if not ready:
            return steps
        order.append(ready[0])
        left.remove(ready[0])
    new = {old: k for k, old in enumerate(order, 1)}
    return [Step(steps[o - 1].tool, steps[o - 1].purpose,
                 [(k, new.get(r, r) if isinstance(r, int) else r) for k, r in steps[o - 1].inputs],
                 steps[o - 1].args, [new.get(d, d) for d in steps[o - 1].depends]) for o in order]


def reference_orderer(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    """Copies literally, but runs each step only after the steps whose handles it takes."""
    return _copy(in_reference_order(parse_plan(_user(messages))), messages)


STRATEGIES: dict[str, Strategy] = {
    "literal": literal_copier,
    "names_only": names_only_copier,
    "type_sorting": type_sorting_copier,
    "tell_dropper": tell_dropper,
    "dependency_truster": dependency_truster,
    "reference_orderer": reference_orderer,
    "prior_dropper": prior_dropper,
    "inputs_fixer": inputs_fixer,
}


# --------------------------------------------------------------------------- measuring


def settings_as_asked(task: Any, calls: list[Any]) -> bool:
    """A stand-in for settings scoring (not yet in scoring.py): the call that did each step gave every
    setting the task words for that step exactly as worded (no normalisation, so stricter than the rule)."""
    from pilotbench.benchmark.scoring import analyse

    first = analyse(task, calls).first_done
    for step, n in zip(task.steps, first):
        if n is None:
            return False
        given = calls[n].arguments or {}
        if any(given.get(k) != v for k, v in step.args):
            return False
    return True


@dataclass
class Played:
    full: bool  # full success as scoring.py scores it
    full_with_settings: bool  # and every worded setting as asked (settings_as_asked)


def play(strategy: Strategy, prompt_type: str, severity: str, tests: int, *, seed: int = 42) -> list[Played]:
    """`tests` tests spread over the task types (hard wording, tool success rate 1.0), each played
    in-process through the real episode and scorer."""
    from pilotbench.benchmark.episode import Episode
    from pilotbench.benchmark.prompts import render_prompt
    from pilotbench.benchmark.scoring import score
    from pilotbench.benchmark.tasks import generate_instance
    from pilotbench.benchmark.types import TASK_TYPES

    scores = []
    for k in range(tests):
        task_type, index = TASK_TYPES[k % len(TASK_TYPES)], k // len(TASK_TYPES)
        task = generate_instance(task_type, index, seed)
        prompt = render_prompt(task, "hard", prompt_type, severity=severity)
        ep = Episode(f"copier/{prompt_type}/{severity}/{task.id}", task, prompt, 1.0)
        rng = random.Random(task.id)
        while not ep.done:
            ep.step(strategy(ep.messages, ep.tools, rng))
        full = score(task, ep.trajectory).success_level == "full_success"
        scores.append(Played(full, full and settings_as_asked(task, ep.trajectory.calls)))
    return scores


def full_success(scores: list[Played], *, settings: bool = False) -> float:
    return sum(s.full_with_settings if settings else s.full for s in scores) / len(scores)


def table(tests: int = 50) -> dict[tuple[str, str, str], float]:
    """Full success of every strategy on the optimal plan ("optimal", "-") and on every flaw x severity;
    the strategy name with "+settings" for full success with every worded setting as asked."""
    from pilotbench.benchmark.types import FLAW_TYPES, SEVERITIES

    out = {}
    rows = [("optimal", "-")] + [(f, s) for f in FLAW_TYPES for s in SEVERITIES]
    for name, strategy in STRATEGIES.items():
        for plan, severity in rows:
            played = play(strategy, "optimal" if plan == "optimal" else f"flawed_{plan}",
                          "severe" if severity == "-" else severity, tests)
            out[(plan, severity, name)] = full_success(played)
            out[(plan, severity, name + "+settings")] = full_success(played, settings=True)
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=50, help="tests per flaw type and severity (default 50)")
    ns = parser.parse_args(argv)
    results = table(ns.tests)
    print(f"Full success over {ns.tests} tests per row (hard wording, tool success rate 1.0, seed 42), as")
    print("scored / with every setting the task words given exactly as worded (a stand-in for settings scoring).")
    width = max(len(n) for n in STRATEGIES) + 1
    print(f"{'plan':<22} {'severity':<9}" + "".join(f"{n:>{width}}" for n in STRATEGIES))
    for plan, severity in dict.fromkeys((p, s) for p, s, _ in results):
        cells = [f"{results[(plan, severity, n)]:.2f}/{results[(plan, severity, n + '+settings')]:.2f}" for n in STRATEGIES]
        print(f"{plan:<22} {severity:<9}" + "".join(f"{c:>{width}}" for c in cells))


if __name__ == "__main__":
    main()
