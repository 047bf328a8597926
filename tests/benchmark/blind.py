"""Models that never read the task: the adversaries of the blind-model guard (test_blind_guard.py).

Each strategy is a function (messages, tools, rng) -> ModelOutput that looks only at the offered tool
schemas and at tool results, never at the user message, except `inputs_brute_force`, which reads
the task's Inputs line (not its description) and then tries everything the types allow, and
`typed_walk`, which reads the Inputs line and walks the tools' type graph from it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

from pilotbench.benchmark.types import Message, ModelOutput, ToolCall

Strategy = Callable[[list[Message], list[dict[str, Any]], random.Random], ModelOutput]

_HANDLE = re.compile(r"\bh_[0-9a-f]{8}\b")


def _fill(schema: dict[str, Any], handle: str | None, rng: random.Random | None = None) -> dict[str, Any]:
    """Arguments for every required parameter, from the schema alone (a handle seen so far for strings)."""
    params = schema["function"]["parameters"]
    args: dict[str, Any] = {}
    for name in params.get("required", []):
        prop = params["properties"][name]
        if "enum" in prop:
            args[name] = rng.choice(prop["enum"]) if rng else prop["enum"][0]
        elif prop["type"] == "string":
            args[name] = handle or "x0"
        elif prop["type"] == "integer":
            args[name] = int(prop.get("minimum", 1))
        elif prop["type"] == "number":
            args[name] = float(prop.get("minimum", 1))
        elif prop["type"] == "boolean":
            args[name] = True
        elif prop["type"] == "array":
            args[name] = ["id"]
        else:
            args[name] = {"id": 1}
    return args


def _handles(messages: list[Message]) -> list[str]:
    seen: list[str] = []
    for m in messages:
        if m.get("role") in ("tool", "user") and m is not messages[1]:
            seen.extend(h for h in _HANDLE.findall(m.get("content") or "") if h not in seen)
    return seen


def _turn(messages: list[Message]) -> int:
    return sum(1 for m in messages if m.get("role") == "assistant")


def _calls(pairs: list[tuple[str, dict[str, Any]]], turn: int) -> ModelOutput:
    return ModelOutput(
        tool_calls=tuple(ToolCall(f"c{turn}_{i}", name, json.dumps(args)) for i, (name, args) in enumerate(pairs)),
        finish_reason="tool_calls",
    )


def _final(messages: list[Message]) -> ModelOutput:
    seen = _handles(messages)
    result = seen[-1] if seen else "h_00000000"
    return ModelOutput.for_text(f"FINAL ANSWER: all steps are done.\nRESULT: {result}")


def spam_every_tool(times: int) -> Strategy:
    def strategy(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
        turn = _turn(messages)
        if turn == 0:
            return _calls([(t["function"]["name"], _fill(t, None)) for t in tools for _ in range(times)], turn)
        return _final(messages)
    return strategy


def in_order_echo(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    turn = _turn(messages)
    if turn >= len(tools) or turn >= 9:
        return _final(messages)
    seen = _handles(messages)
    t = tools[turn]
    return _calls([(t["function"]["name"], _fill(t, seen[-1] if seen else None))], turn)


def random_tools(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    turn = _turn(messages)
    if turn >= 8:
        return _final(messages)
    seen = _handles(messages)
    picks = rng.sample(tools, 3)
    return _calls([(t["function"]["name"], _fill(t, rng.choice(seen) if seen else None, rng)) for t in picks], turn)


def immediate_completion(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    return ModelOutput.for_text("FINAL ANSWER: the workflow ran successfully.\nRESULT: h_00000000")


def inputs_brute_force(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    """Reads only the task's Inputs values, then calls every tool with every literal and every handle
    seen, in one reply per turn, and reports the newest handle."""
    turn = _turn(messages)
    if turn >= 6:
        return _final(messages)
    user = messages[1].get("content") or ""
    m = re.search(r"^Inputs: (\{.*\})$", user, re.M)
    literals = list(json.loads(m.group(1)).values()) if m else []
    seen = _handles(messages)
    values = seen[-6:] + literals
    pairs = []
    for t in tools:
        params = t["function"]["parameters"]
        required = params.get("required", [])
        strings = [n for n in required if params["properties"][n]["type"] == "string" and "enum" not in params["properties"][n]]
        for v in values or ["x0"]:
            args = _fill(t, v, rng)
            for n in strings:  # fill every string with this value, and the other literals where they fit
                args[n] = v
            if len(strings) > 1:
                for n, lit in zip(strings[1:], literals):
                    args[n] = lit
            pairs.append((t["function"]["name"], args))
    return _calls(pairs[:120], turn)


def typed_walk(steps: int) -> Strategy:
    """Reads the task's Inputs line and the tools' typed schemas, never the description: starts from a
    tool that takes one of the Inputs as its source, then walks the type graph (each next tool takes the
    newest output), `steps` calls, every setting filled correctly from the tool results, and reports the
    last handle. What a model gets from the types alone."""

    def strategy(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
        from pilotbench.benchmark.tools import TOOLS, accepts

        user = messages[1].get("content") or ""
        m = re.search(r"^Inputs: (\{.*\})$", user, re.M)
        inputs = json.loads(m.group(1)) if m else {}
        results = [json.loads(x["content"]) for x in messages if x.get("role") == "tool"]
        made = [(r["handle"], r["type"], r.get("summary") or {}) for r in results if r.get("status") == "success"]
        turn = _turn(messages)
        if len(made) >= steps or len(results) >= steps + 2 or turn >= 9:
            return _final(messages) if made else ModelOutput.for_text("FINAL ANSWER: nothing was made.")
        options = []
        for name in sorted(TOOLS):
            data = [p for p in TOOLS[name].parameters if p.is_data]
            if made and any(accepts(p, made[-1][1]) for p in data):
                options.append(name)
            elif not made and any(p.literal and p.literal in inputs for p in data):
                options.append(name)
        if not options:
            return _final(messages)
        name = rng.choice(options)
        return _calls([(name, _typed_args(name, made, inputs, len(made) + 1))], turn)

    return strategy


def _typed_args(name: str, made: list[tuple[str, str, dict[str, Any]]], inputs: dict[str, Any], step: int) -> dict[str, Any]:
    """Right arguments for `name` given the handles made so far and the Inputs (as a careful reader would fill them)."""
    from pilotbench.benchmark.plans import settings_for
    from pilotbench.benchmark.simulator import Artifact
    from pilotbench.benchmark.tools import TOOLS, accepts

    args: dict[str, Any] = {}
    source = None
    for p in TOOLS[name].parameters:
        if p.is_data:
            fit = [h for h in reversed(made) if accepts(p, h[1])]
            if fit:
                args[p.name] = fit[0][0]
                if p.name in ("input", "path") and source is None:
                    summary = fit[0][2]
                    source = Artifact(fit[0][0], fit[0][1], "", 0, tuple((summary.get("fields") or {}).items()),
                                      summary.get("format"))
            elif p.literal and p.literal in inputs:
                args[p.name] = inputs[p.literal]
        elif p.literal and p.literal in inputs:
            args[p.name] = inputs[p.literal]

    class _Task:  # what settings_for reads of a task
        domain = "x"
        id = "walk"
        fields = ()
        source_format = "csv"

    args.update(settings_for(name, source, _Task(), step))  # type: ignore[arg-type]
    return args


STRATEGIES: dict[str, Strategy] = {
    "spam_every_tool_x3": spam_every_tool(3),
    "spam_every_tool_x1": spam_every_tool(1),
    "in_order_echo": in_order_echo,
    "random_tools": random_tools,
    "immediate_completion": immediate_completion,
    "inputs_brute_force": inputs_brute_force,
    "typed_walk_2": typed_walk(2),
    "typed_walk_3": typed_walk(3),
}


def _prior_table(seed: int = 7, per_type: int = 300) -> dict[tuple[str, ...], tuple[str, ...]]:
    """The most common tool chain for each set of input roles, learnt from the generator at another seed."""
    from collections import Counter, defaultdict

    from pilotbench.benchmark.tasks import generate_instance
    from pilotbench.benchmark.types import TASK_TYPES

    by: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    for task_type in TASK_TYPES:
        for i in range(per_type):
            t = generate_instance(task_type, i, seed)
            by[tuple(sorted(t.declared_inputs))][t.required_tools] += 1
    return {roles: c.most_common(1)[0][0] for roles, c in by.items()}


_PRIOR: dict[tuple[str, ...], tuple[str, ...]] = {}


def inputs_prior_guess(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    """A model trained on the benchmark's own generator that reads only the task's Inputs line: it runs
    the chain most often seen with those input roles, filling every argument correctly from the Inputs
    and the fields the tool results report. Not blind, and not in the guard: it measures how much the
    Inputs alone give away (docs/scoring.md, "What the inputs give away")."""
    if not _PRIOR:
        _PRIOR.update(_prior_table())
    user = messages[1].get("content") or ""
    m = re.search(r"^Inputs: (\{.*\})$", user, re.M)
    inputs = json.loads(m.group(1)) if m else {}
    chain = _PRIOR.get(tuple(sorted(inputs)), ())
    turn = _turn(messages)
    results = [json.loads(x["content"]) for x in messages if x.get("role") == "tool"]
    made = [(r["handle"], r["type"], r.get("summary") or {}) for r in results if r.get("status") == "success"]
    done = len(made)
    if done >= len(chain) or turn >= 9:
        return _final(messages) if made else ModelOutput.for_text("FINAL ANSWER: nothing to do.")
    return _calls([(chain[done], _typed_args(chain[done], made, inputs, done + 1))], turn)
