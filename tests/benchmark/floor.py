"""The benchmark's floor: cheap strategies that read the wire without understanding it.

A benchmark is worth the distance between what these score and what a careful reader scores
(docs/scoring.md, "The floor" and "The ceiling"). Each strategy is a function (messages, tools, rng)
-> ModelOutput, like the blind adversaries in blind.py, but these read the task's text:

- `word_overlap`: picks the tools whose descriptions share the most words with the task, in the
  order the text first uses those words, wires each step to the newest handle its types accept,
  and fills settings generically (what the schema allows, not what the task says).
- `phrase_table(seed)`: learns, from the generator's own tasks at another seed, which tool each
  opening three words of a hard step phrase stand for, then reads a task clause by clause the same
  way; generic settings.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from typing import Any

from pilotbench.benchmark.types import Message, ModelOutput

from .blind import Strategy, _calls, _final, _turn, _typed_args

_WORD = re.compile(r"[a-z]+")
_STOP = frozenset("""a an the and or of to in on for from by with at as is are be it its this that then
first finally last into each every all any one step steps task data result results handle final report
your you when done use using need will work order""".split())


def _words(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(0)[:5]) for m in _WORD.finditer(text.lower()) if m.group(0) not in _STOP]


def _task(messages: list[Message]) -> tuple[str, dict[str, Any]]:
    user = messages[1].get("content") or ""
    head, _, rest = user.partition("\nInputs: ")
    text = head.split("\n", 1)[1] if "\n" in head else head
    try:
        inputs = json.loads(rest.split("\n", 1)[0]) if rest else {}
    except ValueError:
        inputs = {}
    return text, inputs


def _made(messages: list[Message]) -> list[tuple[str, str, dict[str, Any]]]:
    results = [json.loads(x["content"]) for x in messages if x.get("role") == "tool"]
    return [(r["handle"], r["type"], r.get("summary") or {}) for r in results if r.get("status") == "success"]


def _run_chain(chain: list[str], messages: list[Message], windows: dict[str, str] | None = None) -> ModelOutput:
    """One call a turn down `chain`, each on the newest handles its types accept; then the last handle.
    With `windows` (tool -> the clause that named it), settings are read from the clause by the simulated
    models' pattern reader (models/simulated/reading.py) instead of filled generically."""
    _, inputs = _task(messages)
    made = _made(messages)
    turn = _turn(messages)
    calls = sum(1 for m in messages if m.get("role") == "tool")
    if calls >= len(chain) or turn >= 12:
        return _final(messages) if made else ModelOutput.for_text("FINAL ANSWER: nothing was made.")
    name = chain[calls]
    args = _typed_args(name, made, inputs, len(made) + 1)
    if windows and name in windows:
        from pilotbench.benchmark.tools import TOOLS
        from pilotbench.models.simulated import reading

        fields = {str(k): str(v) for k, v in ((made[-1][2].get("fields") or {}) if made else {}).items()}
        args.update(reading.read(windows[name], TOOLS[name].parameters, fields))
    return _calls([(name, args)], turn)


def _source_roles(text: str) -> list[str]:
    low = text.lower()
    roles = [("source_path", ("source path", "source file")), ("source_directory", ("source directory", "source folder")),
             ("source_url", ("source url",)), ("service", ("credential",))]
    return [r for r, words in roles if any(w in low for w in words)]


def word_overlap(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
    text, _ = _task(messages)
    said = _words(text)
    first: dict[str, int] = {}
    for pos, w in said:
        first.setdefault(w, pos)
    scored = []
    for t in tools:
        fn = t["function"]
        desc = {w for _, w in _words(fn["description"])}
        hits = [first[w] for w in desc if w in first]
        if len(hits) >= 3:
            scored.append((len(hits), min(hits), fn["name"]))
    n_clauses = max(2, len(re.split(r";|, then |, and finally |\. ", text)) - 1)
    picked = sorted(scored, key=lambda x: -x[0])[:n_clauses]
    chain = [name for _, _, name in sorted(picked, key=lambda x: x[1])]
    roots = {"source_path": "file_operations_reader", "source_directory": "file_operations_scanner",
             "source_url": "network_fetcher", "service": "integration_authenticator"}
    for role in _source_roles(text)[:1]:
        if roots[role] in chain:
            chain.remove(roots[role])
        chain.insert(0, roots[role])
    return _run_chain(chain, messages)


def _opening(phrase: str) -> str:
    return " ".join(_WORD.findall(phrase.lower())[:3])


def learn_phrase_table(seed: int = 7, per_type: int = 400) -> dict[str, str]:
    """opening three words of a hard step phrase -> the tool it most often stood for, at `seed`."""
    from pilotbench.benchmark.tasks import LENGTHS, generate_instance, step_phrases

    seen: dict[str, Counter] = defaultdict(Counter)
    for task_type in LENGTHS:
        for i in range(per_type):
            task = generate_instance(task_type, i, seed)
            for step, phrase in zip(task.steps, step_phrases(task_type, i, seed)["hard"]):
                seen[_opening(phrase)][step.tool] += 1
    return {k: c.most_common(1)[0][0] for k, c in seen.items()}


def phrase_table(table: dict[str, str], read_settings: bool = False) -> Strategy:
    def strategy(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
        text, _ = _task(messages)
        body = re.split(r"(?::| in order:| you need to| you will need to) ", text, maxsplit=1)[-1]
        chain: list[str] = []
        windows: dict[str, str] = {}
        for clause in re.split(r"; (?:finally |then )?|, then |, and finally |, and |\. ", body):
            tool = table.get(_opening(clause.strip()))
            if tool and tool not in chain:
                chain.append(tool)
                windows[tool] = clause
        return _run_chain(chain, messages, windows if read_settings else None)

    return strategy
