"""How a simulated model reads a task: the tools its text points at, their order and what feeds each step."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .lexicon import _STOP, _WORD, ANY, SAME, Lexicon, ParamView, ToolView, _stem, _stems


# --------------------------------------------------------------------------- reading the task

_STEP_LINE = re.compile(r"^Step (\d+): (\S+) - (.*)$", re.M)
_INPUTS_PART = re.compile(r"\bInputs: (.*?)\. (?:Arguments|Depends on):")
_ARGS_PART = re.compile(r"\bArguments: (.*?)\. Depends on:")
_DEPS_PART = re.compile(r"\bDepends on: (.*?)\.\s*$")
_STEP_REF = re.compile(r"^<handle from step (\d+)>$")
_CLAUSE = re.compile(r"(?:[^.;!?\n]|[.!?](?=[^\s.;!?]))+")  # "energy.readings.ingest" stays in one clause
_SUBCLAUSE = re.compile(r":\s*|,\s*(?:and\s+)?then\s+|\s+then\s+|,\s+and\s+|\s+and\s+|,\s+")
_PLAN_INTRO = "Follow this workflow plan."
_FILLER = frozenset("first second third finally lastly also just please now sequence along way need will you order".split())


@dataclass(frozen=True, slots=True)
class Step:
    tool: str
    inputs: tuple[tuple[str, Any], ...] = ()  # from a plan: param -> ("step", plan number) or ("value", literal)
    args: tuple[tuple[str, Any], ...] = ()  # from a plan: settings
    number: int = 0  # the plan's step number (0: the model's own step)
    depends: tuple[int, ...] = ()
    text: str = ""  # the stretch of the task's text that describes this step (its settings are read from it)


@dataclass(frozen=True, slots=True)
class Intent:
    """What the model decided, on reading the opening messages, to do."""

    steps: tuple[Step, ...]
    feeders: tuple[tuple[tuple[str, int], ...], ...]  # per step: data param -> index of the step feeding it
    inputs: dict[str, str]
    cot: bool
    from_plan: bool


def _split_user(user: str) -> tuple[str, dict[str, str], str, bool]:
    """(task text, declared inputs, plan text, cot) of the opening user message."""
    body, _, plan = user.partition(_PLAN_INTRO)
    head, _, rest = body.partition("\nInputs: ")
    text = head.split("\n", 1)[1] if head.startswith("Task ") and "\n" in head else head
    inputs: dict[str, str] = {}
    if rest:
        line = rest.split("\n", 1)[0]
        try:
            parsed = json.loads(line)
            if isinstance(parsed, dict):
                inputs = {str(k): str(v) for k, v in parsed.items()}
        except ValueError:
            pass
    return text.strip(), inputs, plan, "Think step by step" in user


@dataclass(frozen=True, slots=True)
class _Mention:
    tool: str
    kind: str  # name | verb | phrase | goal | input | gap
    pos: float
    alt: str | None = None  # the tool it could be confused with


def _clauses(text: str) -> list[tuple[int, str, bool]]:
    """(position, text, continues the clause before it) of every clause and sub-clause of `text`."""
    out = []
    for m in _CLAUSE.finditer(text):
        start = m.start()
        last = 0
        parts = []
        for sub in _SUBCLAUSE.finditer(m.group(0)):
            parts.append((start + last, m.group(0)[last: sub.start()]))
            last = sub.end()
        parts.append((start + last, m.group(0)[last:]))
        out.extend((p, c, k > 0) for k, (p, c) in enumerate(parts) if c.strip())
    return out


def _phrase_match(known: frozenset[str], v: ToolView) -> tuple[float, int, frozenset[str]]:
    """(share, matched words, phrase) of the tool's phrase (purpose or a typical use) a clause repeats most of;
    `known` is the clause's words as the lexicon knows them (Lexicon.expand)."""
    best, hits, phrase = 0.0, 0, frozenset()
    for use in v.uses:
        n = len(use & known)
        if n and n / len(use) > best:
            best, hits, phrase = n / len(use), n, use
    return best, hits, phrase


def _pick(words: set[str], verb: str, lex: Lexicon) -> tuple[str, str, str | None] | None:
    """(tool, how it was seen, the tool it could be confused with) that a clause describes, if any.

    A clause whose verb is a tool's operation ("parse it as CSV") is about that tool, unless another
    tool's own wording uses that verb with the clause's object ("log in to the platform"). Otherwise the
    tool whose purpose or typical use the clause repeats most of, helped by the verb its wording uses
    ("download the data") and by its operation named as a noun ("a log entry"); a paraphrase must
    repeat at least two of its words."""
    known = lex.expand(words)
    verbs = lex.expand({verb}) if verb else frozenset()
    if verbs:
        ops = [v for v in lex.tools.values() if v.verbs & verbs]
        if ops:
            others = []
            for v in lex.tools.values():
                if v in ops:
                    continue
                share, _, phrase = _phrase_match(known, v)
                if share >= 0.5 and phrase & verbs:
                    others.append((share, v.name))
            if others:
                others.sort(key=lambda x: (-x[0], lex.order[x[1]]))
                return others[0][1], "phrase", ops[0].name
            ranked = sorted(ops, key=lambda v: (-len(v.vocab & known), lex.order[v.name]))
            tie = len(ranked) > 1 and len(ranked[0].vocab & known) == len(ranked[1].vocab & known)
            return ranked[0].name, "phrase" if tie else "verb", ranked[1].name if len(ranked) > 1 else None
    scored = []
    for v in lex.tools.values():
        share, hits, _ = _phrase_match(known, v)
        how = "phrase"
        if v.use_verbs & verbs:
            share += 0.3
            how = "verb"
        if any(s in words for s in v.verbs):
            share += 0.2
        if v.per_group and "per" in words:  # "the total weight per state": a metric per group
            share += 0.3
        if share >= 0.5 and (how == "verb" or hits >= 2):
            scored.append((share, how, v.name))
    if not scored:
        return None
    scored.sort(key=lambda x: (-x[0], lex.order[x[2]]))
    share, how, tool = scored[0]
    alt = scored[1][2] if len(scored) > 1 and scored[1][0] >= 0.7 * share else None
    if how == "verb" and alt is not None and scored[1][0] >= share - 0.1:
        how = "phrase"  # a verb that two tools' wording shares: telling them apart takes the rest of the clause
    return tool, how, alt


# A back-reference to an earlier result ("the parsed records", "the endpoint's receipt", "the file list"):
# it names what a step works on, not what it does, so it is no mention of a tool.
_BACKREF = re.compile(
    r"\bthe (?:[a-z]+(?:ed|en)|[a-z]+'s|file|log|progress|status|simulation|derived) "
    r"(?:records|content|data|figure|response|receipt|copy|value|plan|job|messages|file|list|report|entry|event|results)\b")


def _read_mentions(text: str, lex: Lexicon) -> list[_Mention]:
    """Every way the task text points at an offered tool, earliest first, one mention per tool."""
    lowered = _BACKREF.sub(lambda m: " " * len(m.group(0)), text.lower())
    found: dict[str, _Mention] = {}
    rank = {"name": 0, "verb": 1, "phrase": 2, "goal": 3}

    def add(m: _Mention) -> None:
        old = found.get(m.tool)
        if old is None or rank[m.kind] < rank[old.kind] or (old.kind == m.kind and m.pos < old.pos):
            found[m.tool] = m

    for name in lex.tools:
        pos = lowered.find(name.lower())
        if pos >= 0:
            add(_Mention(name, "name", pos))
    if found:  # a task that names its tools is read by its names
        return sorted(found.values(), key=lambda m: m.pos)
    previous: str | None = None
    hints: list[_Mention] = []
    for pos, clause, continued in _clauses(lowered):
        if not continued:
            previous = None
        words = set(_stems(clause))
        if not words:
            continue
        # The clause's verb is its first content word ("then convert it to YAML"); later words are objects
        # ("the line monitoring log") and say less about the operation.
        verb = next((m for m in _WORD.finditer(clause) if m.group(0) not in _STOP and m.group(0) not in _FILLER), None)
        stem = _stem(verb.group(0)) if verb is not None and len(verb.group(0)) > 2 else ""
        if previous is not None and stem in lex.tools[previous].settings and not lex.lookup(lex.verb_index, stem):
            continue  # "transform it: derive X as ... and rename Y": the previous step's settings, not a new step
        picked = _pick(words, stem, lex)
        if picked is not None:
            tool, how, alt = picked
            add(_Mention(tool, how, pos + (verb.start() if verb is not None else 0), alt))
            previous = tool
        else:
            hints.extend(_Mention(lex.distinct[w], "goal", pos) for w in sorted(lex.expand(words)) if w in lex.distinct)
    if len(found) < 2:  # a task that states only its goal: its distinctive words are all there is to go by
        for m in hints:
            if m.tool not in found:
                found[m.tool] = m
    return sorted(found.values(), key=lambda m: m.pos)


def _windows(text: str, position: dict[str, float]) -> dict[str, str]:
    """tool -> the stretch of `text` from where it is mentioned up to the next tool's mention."""
    placed = sorted((int(p), t) for t, p in position.items() if 0 <= p < len(text))
    out = {}
    for k, (pos, tool) in enumerate(placed):
        end = placed[k + 1][0] if k + 1 < len(placed) else len(text)
        out[tool] = text[pos: max(end, pos + 1)]
    return out


def _produces(view: ToolView, p: ParamView, types: dict[str, str]) -> bool:
    out = types.get(view.name, view.output)
    return bool(p.accepts) and bool(out) and (ANY in (p.accepts or ()) or out in (p.accepts or ()))


def _output_types(tools: list[str], lex: Lexicon) -> dict[str, str]:
    """Output type of each tool in `tools` (a pass-through takes the type of what feeds it)."""
    types: dict[str, str] = {}
    for t in tools:
        v = lex.tools[t]
        if v.output != SAME:
            types[t] = v.output
    for t in tools:
        v = lex.tools[t]
        if v.output == SAME:
            src = next((types[u] for u in tools if u in types and u != t and any(
                p.accepts and types[u] in p.accepts for p in v.data_params)), None)
            types[t] = src or "records"
    return types


def _satisfied(view: ToolView, p: ParamView, chosen: list[str], lex: Lexicon, inputs: dict[str, str]) -> bool:
    if p.literal and p.literal in inputs:
        return True
    types = _output_types(chosen, lex)
    return any(u != view.name and _produces(lex.tools[u], p, types) for u in chosen)


def _type_order(tools: list[str], position: dict[str, float], lex: Lexicon, inputs: dict[str, str]) -> list[str]:
    """The tools ordered so each one's inputs are produced before it (text order breaks ties and cycles)."""
    types = _output_types(tools, lex)
    needs: dict[str, set[str]] = {t: set() for t in tools}
    for t in tools:
        v = lex.tools[t]
        for p in v.data_params:
            if ANY in (p.accepts or ()):
                needs[t].update(u for u in tools if u != t and ANY not in _any_inputs(lex.tools[u]))
                continue
            producers = [u for u in tools if u != t and _produces(lex.tools[u], p, types)]
            if producers or not (p.literal and p.literal in inputs):
                needs[t].update(producers)
    order: list[str] = []
    left = sorted(tools, key=lambda t: position[t])
    while left:
        ready = [t for t in left if not (needs[t] - set(order))]
        pick = ready[0] if ready else left[0]
        order.append(pick)
        left.remove(pick)
    return order


def _any_inputs(v: ToolView) -> set[str]:
    return {a for p in v.data_params for a in (p.accepts or ())}


def _feeders(tools: list[str], lex: Lexicon) -> tuple[tuple[tuple[str, int], ...], ...]:
    """For each step, for each data parameter: the latest earlier step whose output it accepts."""
    types = _output_types(tools, lex)
    out = []
    for i, t in enumerate(tools):
        v = lex.tools.get(t)
        row = []
        for p in v.data_params if v else ():
            if ANY in (p.accepts or ()):
                if i:
                    row.append((p.name, i - 1))
                continue
            src = next((j for j in range(i - 1, -1, -1) if tools[j] in lex.tools
                        and _produces(lex.tools[tools[j]], p, types)), None)
            if src is not None:
                row.append((p.name, src))
        out.append(tuple(row))
    return tuple(out)


def _referred(steps: list[Step], feeders: tuple[tuple[tuple[str, int], ...], ...], lex: Lexicon
              ) -> tuple[tuple[tuple[str, int], ...], ...]:
    """Feeders corrected by what the text says a step works on: "filter the parsed records" feeds the
    filter from the step that parses, whatever came just before it."""
    out = [list(row) for row in feeders]
    for i, step in enumerate(steps):
        m = _BACKREF.search(step.text.lower()) if i and step.text else None
        view = lex.tools.get(step.tool)
        if m is None or view is None:
            continue
        words = set(_stems(m.group(0))) - {"the"}
        best, pick = 0, None
        for j in range(i):
            other = lex.tools.get(steps[j].tool)
            if other is None:
                continue
            score = 2 * len(words & other.verbs) + len(words & other.vocab)
            if score > best or (score == best and score):
                best, pick = score, j
        if pick is None:
            continue
        for k, (param, _) in enumerate(out[i]):
            if param in ("input", "path"):
                out[i][k] = (param, pick)
    return tuple(tuple(row) for row in out)

