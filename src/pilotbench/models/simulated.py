"""Built-in offline models: `sim/weak`, `sim/medium`, `sim/strong` and the size family `sim/family-*b`.

A simulated model sees only what a real model sees: the messages (the task text, its inputs, a
workflow plan if one is given, the tool results) and the tool schemas it is offered (names,
descriptions, parameters; in text mode the JSON listing in the system message). Nothing else: it
builds its reading lexicon from the schemas it receives, at run time.

How it works, like a model would:
- It reads the task clause by clause and scores every offered tool by word overlap with the tool's
  public description: a tool named literally, implied by its operation verb ("parse", "filter"),
  or implied by a paraphrase of its purpose or typical uses; a task that states only its goal is
  read by the words only one tool's description uses ("structured", "audit"). The task's declared
  inputs point at the tools that take them ("exactly the recipient the task names"), and the typed descriptions
  ("Takes: `input` (`records` handle) ... Returns: a `summary` handle") show a missing step whose
  output another step needs. Skill knobs decide which of these it catches.
- It orders its steps so that each one's inputs exist (a skilled model from the types, a weak one
  in the order of the text), passes each step the handle of an accepted type from the step that
  feeds it, takes literal values from the task's inputs by role, and fills settings from the data
  it has seen in the tool results (fields, format).
- Given a workflow plan it follows it (plan trust), unless it notices a flaw: a step that reads a
  later one, an input of the wrong type, a parameter the tool does not take, a literal the task
  does not name, a tool or step the task does not ask for, a goal that is not the task's. Noticing is judged against its own
  imperfect reading, and a noticed flaw sends it back to that reading.
- It retries random tool failures, repairs its arguments after INVALID_INPUT by reading the message
  (the parameter it names is dropped or given the model's own value; skill), gives up after
  `max_attempts`, and ends with "FINAL ANSWER: ..." and a line "RESULT: <handle>" naming the output
  of its last step (a careless model forgets the line).

It is stateless and deterministic: every decision is drawn from a generator seeded by the model name,
a digest of the opening user message and a decision key, and the conversation so far is re-read on
every call. The same conversation gets the same reply in process and behind the mock server.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..benchmark.protocol import FINAL_MARKER, TOOL_CALL_CLOSE, TOOL_CALL_OPEN
from ..benchmark.types import Message, ModelOutput, ToolCall, ToolSchema, Usage
from ..errors import ProviderError
from . import reading
from .base import ModelRequest


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


# A family of sizes, so that the scale section (5.2) has something to show offline.
SKILLS.update(
    {f"sim/family-{size}b": _between(SKILLS["sim/weak"], SKILLS["sim/strong"], t)
     for size, t in ((3, 0.05), (7, 0.3), (14, 0.55), (72, 0.9))}
)

ANY = "any"
SAME = "same"
_RANDOM_FAILURES = frozenset({"OPERATION_FAILED", "TIMEOUT", "FILE_NOT_FOUND", "PERMISSION_DENIED", "NETWORK_ERROR",
                              "INVALID_RESPONSE", "CALCULATION_ERROR", "OVERFLOW"})
# How sure a model is that the task asks for a tool, by how it saw it (used to weigh a plan against it).
_EVIDENCE = {"name": 1.0, "verb": 0.7, "phrase": 0.5, "input": 0.5, "goal": 0.3, "gap": 0.3}
_WRONG_FIELD: dict[str, Any] = {  # a setting that names a field the data does not have
    "condition": "total_value > 0", "expression": "sum(total_value)", "operations": ["cast:total_value:float"],
    "rules": {"total_value": {"required": True}}, "mapping": {"total_value": "total_ref"},
    "group_by": ["total_value"], "field": "total_value", "target": "total_value",
}

# --------------------------------------------------------------------------- words

_WORD = re.compile(r"[a-z]+")
_STOP = frozenset(
    """a an the of to for and or in on by with from into onto its it is be are as at that this these those which
    what any each every their our we you your all only one more most so than then when where who whose not no can
    may must do does done get gets has have had use used using via per out up over after before while also there
    here them they he she his her was were will would should could been being let lets make sure need needs
    needed way along how work done task step steps result results data handle handles earlier returned return
    returns takes take type types same given name names named exactly e g such new other another next first last
    finally""".split()
)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ers", "er", "ors", "or", "ies", "ed", "es", "ly",
             "s", "e")
_BRITISH = re.compile(r"is(e|ed|es|ing|ation|ations|er|ers)$")


def _stem(word: str) -> str:
    w = _BRITISH.sub(r"iz\1", word) if len(word) > 5 else word
    w = w.replace("ys", "yz") if w.startswith("analys") else w
    for _ in range(2):
        for suffix in _SUFFIXES:
            if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not (w.endswith("ss") and suffix in ("s", "es")):
                w = w[: -len(suffix)] + ("i" if suffix == "ies" else "")
                break
        else:
            break
    if w.endswith("y") and len(w) > 3:
        w = w[:-1] + "i"
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiou":
        w = w[:-1]
    return w


def _stems(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def _match(a: str, b: str) -> bool:
    """Two stems name the same thing: equal, or one a prefix (of five letters or more) of the other."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 5 and long_.startswith(short)




# --------------------------------------------------------------------------- reading the schemas


@dataclass(frozen=True, slots=True)
class ParamView:
    name: str
    type: str
    description: str
    required: bool
    enum: tuple[str, ...] | None
    minimum: float | None
    accepts: tuple[str, ...] | None  # data types of the handles it takes (a data parameter)
    literal: str | None  # the task's literal role it takes


@dataclass(frozen=True, slots=True)
class ToolView:
    """One offered tool as a model understands it from its schema."""

    name: str
    category: str
    operation: str
    params: tuple[ParamView, ...]
    output: str  # a data type, SAME, or "" when the description does not say
    verbs: frozenset[str]  # the operation's stem
    use_verbs: frozenset[str]  # the first word of its purpose and of each typical use
    uses: tuple[frozenset[str], ...]  # content stems of the purpose and of each typical use
    vocab: frozenset[str]
    per_group: bool  # computes something "per group"
    settings: frozenset[str]  # words of its settings' descriptions ("derive", "rename", "computed over")

    @property
    def data_params(self) -> tuple[ParamView, ...]:
        return tuple(p for p in self.params if p.accepts is not None)

    def param(self, name: str) -> ParamView | None:
        return next((p for p in self.params if p.name == name), None)


_TAKES = re.compile(r"Takes: (.*?)\. Returns: (.*?)\.(?: Typical uses: (.*?)\.)?\s*$", re.S)
_TAKE_ITEM = re.compile(r"`(\w+)` \(([^)]*)\)")
_TICKED = re.compile(r"`(\w+)`")
_PARAM_TYPES = re.compile(r"\((any type|type [a-z_]+(?: or [a-z_]+)*)\)")
_ROLE = re.compile(r"the task's ([a-z ]+)")
_EXACT_ROLE = re.compile(r"exactly the ([a-z ]+?) the task names")


def _role(text: str) -> str | None:
    m = _EXACT_ROLE.search(text) or _ROLE.search(text)
    return m.group(1).strip().replace(" ", "_") if m else None


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _tool_view(name: str, description: str, parameters: dict[str, Any]) -> ToolView:
    category, _, operation = name.rpartition("_")
    purpose, takes, returns, uses = description, "", "", ""
    m = _TAKES.search(description)
    if m:
        purpose = description[: m.start()].strip()
        takes, returns, uses = m.group(1), m.group(2), m.group(3) or ""
    data: dict[str, tuple[tuple[str, ...], str | None]] = {}
    for pname, inner in _TAKE_ITEM.findall(takes):
        kinds = tuple(_TICKED.findall(inner))
        if "any handle" in inner:
            kinds = (ANY,)
        if kinds:
            data[pname] = (kinds, _role(inner) if "task's" in inner else None)
    props = parameters.get("properties")
    props = props if isinstance(props, dict) else {}
    listed = parameters.get("required")
    required = {r for r in listed if isinstance(r, str)} if isinstance(listed, list) else set()
    params = []
    for pname, prop in props.items():
        if not isinstance(prop, dict):
            continue
        desc = str(prop.get("description", ""))
        accepts, literal = data.get(pname, (None, None))
        if accepts is None and "handle" in desc:  # "...: the `handle` an earlier result returned (type raw or response)"
            kinds = _PARAM_TYPES.search(desc)
            if kinds:
                accepts = (ANY,) if kinds.group(1) == "any type" else tuple(kinds.group(1)[5:].split(" or "))
                literal = _role(desc[kinds.end():]) if "task's" in desc[kinds.end():] else None
        if accepts is None and "exactly the" in desc:
            literal = _role(desc)
        if accepts is None and not m and pname == "input":  # an undocumented tool: its input takes anything
            accepts = (ANY,)
        enum = tuple(str(e) for e in prop["enum"]) if isinstance(prop.get("enum"), list) and prop["enum"] else None
        params.append(ParamView(pname, str(prop.get("type", "string")), desc, pname in required, enum,
                                _number(prop.get("minimum")), accepts, literal))
    if "same type" in returns:
        output = SAME
    else:
        ticked = _TICKED.findall(returns)
        output = ticked[0] if ticked else ""
    verbs = frozenset([_stem(operation)])
    phrases = [purpose, *(u for u in uses.split("; ") if u)]
    use_verbs = frozenset(_stems(p)[0] for p in phrases if _stems(p))
    use_sets = tuple(frozenset(_stems(p)) for p in phrases if _stems(p))
    vocab = frozenset(s for u in use_sets for s in u) | verbs | frozenset(_stems(category.replace("_", " ")))
    settings = frozenset(w for p in params if p.accepts is None and not p.literal
                         for w in _stems(p.description + " " + " ".join(p.enum or ())))
    return ToolView(name, category, operation, tuple(params), output, verbs, use_verbs, use_sets, vocab,
                    "per group" in purpose, settings)


class Lexicon:
    """What the offered schemas say, indexed for reading tasks."""

    __slots__ = ("tools", "verb_index", "use_index", "role_index", "order", "digest", "stems", "distinct", "_matches",
                 "signature")

    def __init__(self, views: list[ToolView], digest: str = "") -> None:
        self.digest = digest  # of the schemas it was built from
        self.signature = f"{len(views)}\x00{','.join(v.name for v in views)}"  # part of every conversation digest
        self.stems = frozenset(s for v in views for s in v.vocab | v.verbs | v.use_verbs | v.settings)
        self._matches: dict[str, frozenset[str]] = {}
        counts: dict[str, list[str]] = {}
        for v in views:
            for w in v.vocab:
                counts.setdefault(w, []).append(v.name)
        # Words only one tool's description uses ("structured", "audit", "archive"): a hint at that tool
        # even in a task that states only its goal.
        self.distinct = {w: t[0] for w, t in counts.items() if len(t) == 1 and len(w) >= 6}
        self.tools: dict[str, ToolView] = {v.name: v for v in views}
        self.order = {v.name: i for i, v in enumerate(views)}
        self.verb_index = self._index(views, "verbs")  # "parse" -> the parser
        self.use_index = self._index(views, "use_verbs")  # "keep" -> filter, monitor, cache, ... (context decides)
        roles: dict[str, list[str]] = {}
        for v in views:
            for p in v.params:
                if p.literal:
                    roles.setdefault(p.literal, []).append(v.name)
        self.role_index = {k: tuple(t) for k, t in roles.items()}

    def expand(self, words: set[str] | frozenset[str]) -> frozenset[str]:
        """The schemas' words that the given words match (equal, or sharing a stem of five letters or more)."""
        out: set[str] = set()
        for w in words:
            hit = self._matches.get(w)
            if hit is None:
                hit = self._matches[w] = frozenset(s for s in self.stems if _match(s, w))
                if len(self._matches) > 50_000:
                    self._matches.clear()
            out |= hit
        return frozenset(out)

    @staticmethod
    def _index(views: list[ToolView], attr: str) -> dict[str, tuple[str, ...]]:
        index: dict[str, list[str]] = {}
        for v in views:
            for s in getattr(v, attr):
                index.setdefault(s, []).append(v.name)
        return {k: tuple(t) for k, t in index.items()}

    @staticmethod
    def lookup(index: dict[str, tuple[str, ...]], stem: str) -> tuple[str, ...]:
        hit = index.get(stem)
        if hit is not None:
            return hit
        found: list[str] = []
        for s, tools in index.items():
            if _match(s, stem):
                found.extend(t for t in tools if t not in found)
        return tuple(found)


_LEXICONS: OrderedDict[Any, Lexicon] = OrderedDict()


def _entry(f: Any) -> tuple[str, str, dict[str, Any]] | None:
    """(name, description, parameters) of one offered tool, or None when it names no tool."""
    if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"]:
        return None
    description = f.get("description")
    parameters = f.get("parameters")
    return f["name"], description if isinstance(description, str) else "", parameters if isinstance(parameters, dict) else {}


# The same schema objects (in process, every episode shares the catalog's cached schemas) map to their
# lexicon without re-reading them; the entry holds the objects, so their ids cannot be reused meanwhile.
_BY_IDENTITY: dict[tuple[int, ...], tuple[tuple[Any, ...], Lexicon]] = {}


def _lexicon_for(tools: list[ToolSchema] | None, system: str) -> Lexicon:
    """The lexicon of the offered schemas (native `tools`, or the text-mode listing in the system message)."""
    if tools is not None:
        ids = tuple(map(id, tools))
        known = _BY_IDENTITY.get(ids)
        if known is not None:
            return known[1]
        lex = _lexicon_from(tools, system)
        if len(_BY_IDENTITY) >= 16:
            _BY_IDENTITY.clear()
        _BY_IDENTITY[ids] = (tuple(tools), lex)
        return lex
    return _lexicon_from(tools, system)


def _lexicon_from(tools: list[ToolSchema] | None, system: str) -> Lexicon:
    entries: list[tuple[str, str, dict[str, Any]]] | None = None
    if tools is not None:
        entries = [e for t in tools if isinstance(t, dict) and t.get("type", "function") == "function"
                   and (e := _entry(t.get("function"))) is not None]
        key: Any = tuple(f"{name}\x00{description}" for name, description, _ in entries)
    else:
        _, _, key = system.partition("Available tools:")
    hit = _LEXICONS.get(key)
    if hit is not None:
        return hit
    if entries is None:
        try:
            listing = json.loads(key.strip().split("\n\n", 1)[0]) if key.strip() else []
        except ValueError:
            listing = []
        entries = [e for f in (listing if isinstance(listing, list) else []) if (e := _entry(f)) is not None]
    lex = Lexicon([_tool_view(*e) for e in entries], hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest())
    _LEXICONS[key] = lex
    if len(_LEXICONS) > 64:
        _LEXICONS.popitem(last=False)
    return lex


# --------------------------------------------------------------------------- reading the task

_STEP_LINE = re.compile(r"^Step (\d+): (\S+) - (.*)$", re.M)
_INPUTS_PART = re.compile(r"\bInputs: (.*?)\. (?:Arguments|Depends on):")
_ARGS_PART = re.compile(r"\bArguments: (.*?)\. Depends on:")
_DEPS_PART = re.compile(r"\bDepends on: (.*?)\.\s*$")
_STEP_REF = re.compile(r"^<handle from step (\d+)>$")
_CLAUSE = re.compile(r"(?:[^.;!?\n]|[.!?](?=[^\s.;!?]))+")  # "energy.readings.ingest" stays in one clause
_SUBCLAUSE = re.compile(r":\s*|,\s*(?:and\s+)?then\s+|\s+then\s+|,\s+and\s+|\s+and\s+|,\s+")
_PLAN_INTRO = "Follow this workflow plan."
_REFUSED = re.compile(r"parameter '(\w+)'")  # "unknown parameter 'data'", "parameter 'condition': ..."
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


# --------------------------------------------------------------------------- the model


@dataclass(slots=True)
class _Done:
    handle: str
    type: str
    summary: dict[str, Any]


@dataclass(slots=True)
class _State:
    """What the conversation so far tells the model: its steps' results and every handle seen."""

    done: dict[int, _Done]
    attempts: dict[int, list[tuple[str | None, str, dict[str, Any] | None]]]  # (error code, message, args)
    seen: list[_Done]


_INTENTS_MAX = 1024  # per model; see _HISTORIES_MAX


class SimulatedModel:
    """One skill profile. `respond()` is the whole model: messages and tools in, one reply out."""

    kind = "simulated"

    def __init__(self, name: str, skill: Skill) -> None:
        self.name = name
        self.skill = skill
        self._intents: OrderedDict[str, Intent] = OrderedDict()

    def _rng(self, digest: str, key: str) -> random.Random:
        return random.Random(f"{self.name}|{digest}|{key}")

    def _chance(self, digest: str, key: str, p: float) -> bool:
        if p <= 0.0:
            return False
        if p >= 1.0:
            return True
        return self._rng(digest, key).random() < p

    # ------------------------------------------------------------------ reading

    def _own_reading(self, digest: str, text: str, inputs: dict[str, str], lex: Lexicon, cot: bool
                     ) -> tuple[list[str], dict[str, str], dict[str, str]]:
        """The tools it sees the task asking for, in the order it would run them, how it saw each, and the
        stretch of text that describes each (its settings are read from there)."""
        skill = self.skill
        bonus = skill.cot_bonus if cot else 0.0
        p = {"name": skill.recognize_name, "verb": skill.recognize_verb + bonus,
             "phrase": skill.recognize_phrase + bonus, "input": skill.recognize_goal + bonus,
             "goal": skill.recognize_goal + bonus,
             "gap": skill.recognize_goal + bonus}
        chosen: list[str] = []
        position: dict[str, float] = {}
        how: dict[str, str] = {}

        def take(m: _Mention) -> None:
            tool = m.tool
            if not self._chance(digest, f"see:{tool}:{m.kind}", p[m.kind]):
                return
            if m.kind != "name" and self._chance(digest, f"wrong:{tool}", skill.wrong_tool):
                siblings = [t for t in lex.tools if lex.tools[t].category == lex.tools[tool].category and t != tool]
                alt = m.alt if m.alt and m.alt in lex.tools else None
                pool = [alt] if alt else siblings
                if pool:
                    tool = self._rng(digest, f"which:{tool}").choice(pool)
            if tool not in chosen:
                chosen.append(tool)
                position[tool] = m.pos
                how[tool] = m.kind

        for m in _read_mentions(text, lex):
            take(m)
        # The task's declared inputs point at the tools that take them: a source always (the work starts
        # from it), a destination only when the text refers to it, by name or by value (a task may list
        # inputs it does not need).
        end = float(len(text) + 1)
        lowered = text.lower()
        for role in sorted(inputs):
            tools = [t for t in lex.role_index.get(role, ()) if t not in chosen]
            if len(lex.role_index.get(role, ())) == 1 and tools:
                # Every task declares every role: an input points at a tool only when the text refers to it.
                source = role.startswith("source") or role in ("service", "credential")
                # "service" is too common a word ("the service desk leads"): a service is named by its name.
                words = role.replace("_", " ") if role != "service" else "\0"
                named = words in lowered or str(inputs[role]).lower() in lowered
                if named:
                    # where the text names it (so the step's settings are read from there), else first/last
                    at = lowered.find(words) if words in lowered else lowered.find(str(inputs[role]).lower())
                    take(_Mention(tools[0], "input", -1.0 if source else float(at) if at >= 0 else end))
        # A step whose input nothing chosen produces: the tool that makes that type, if the model sees it.
        for _ in range(3):
            added = False
            for t in list(chosen):
                v = lex.tools[t]
                for prm in v.data_params:
                    if not prm.required or ANY in (prm.accepts or ()) or _satisfied(v, prm, chosen, lex, inputs):
                        continue
                    makers = [u for u in lex.tools if u not in chosen and lex.tools[u].output in (prm.accepts or ())]
                    makers = [u for u in makers if all(
                        not q.required or ANY in (q.accepts or ()) or _satisfied(lex.tools[u], q, chosen + [u], lex, inputs)
                        for q in lex.tools[u].data_params)] or makers
                    if not makers:
                        continue
                    known = lex.expand(set(_stems(text)))
                    makers.sort(key=lambda u: (-len(lex.tools[u].vocab & known), lex.order[u]))
                    before = len(chosen)
                    take(_Mention(makers[0], "gap", position[t] - 0.5))
                    added = added or len(chosen) > before
            if not added:
                break
        windows = _windows(text, position)
        if chosen and self._chance(digest, "order", skill.type_order):
            return _type_order(chosen, position, lex, inputs), how, windows
        return sorted(chosen, key=lambda t: position[t]), how, windows

    def _plan_steps(self, plan_text: str, lex: Lexicon) -> list[Step]:
        steps = []
        for m in _STEP_LINE.finditer(plan_text):
            number, tool, rest = int(m.group(1)), m.group(2), m.group(3)
            inputs: list[tuple[str, Any]] = []
            im = _INPUTS_PART.search(rest)
            if im and im.group(1) != "none":
                for item in im.group(1).split("; "):
                    k, sep, v = item.partition("=")
                    if sep:
                        ref = _STEP_REF.match(v.strip())
                        inputs.append((k.strip(), ("step", int(ref.group(1))) if ref else ("value", v.strip())))
            args: dict[str, Any] = {}
            am = _ARGS_PART.search(rest)
            if am and am.group(1) != "none":
                try:
                    parsed = json.loads(am.group(1))
                    args = parsed if isinstance(parsed, dict) else {}
                except ValueError:
                    args = {}
            dm = _DEPS_PART.search(rest)
            depends = tuple(int(d) for d in re.findall(r"step (\d+)", dm.group(1))) if dm else ()
            steps.append(Step(tool, tuple(inputs), tuple(args.items()), number, depends))
        return steps

    def _plan_flaws(self, plan: list[Step], plan_text: str, own: list[str], how: dict[str, str], text: str,
                    inputs: dict[str, str], lex: Lexicon) -> list[float]:
        """Signs of a flaw, each weighted by how sure the model can be of it: 1.0 for what the schemas prove
        (a wrong-typed or later input, an unknown parameter, a literal the task does not name), less for a
        disagreement with its own reading, as much as that reading rests on explicit words in the task."""
        hard = 0
        signs: list[float] = []
        numbers = {s.number: s for s in plan}
        types: dict[int, str] = {}
        text_words = set(_stems(text))
        input_values = set(inputs.values())
        for s in plan:
            v = lex.tools.get(s.tool)
            if v is None:
                hard += 1
                continue
            names = {p.name for p in v.params}
            if any(k not in names for k, _ in s.inputs) or any(k not in names for k, _ in s.args):
                hard += 1
            if any(d >= s.number for d in s.depends):
                hard += 1
            src_type = None
            for k, (kind, ref) in s.inputs:
                p = v.param(k)
                if kind == "step":
                    if ref >= s.number or ref not in numbers or (s.depends and ref not in s.depends):
                        hard += 1
                        continue
                    t = types.get(ref)
                    if p is not None and p.accepts and t and ANY not in p.accepts and t not in p.accepts:
                        hard += 1
                    if k in ("input", "path"):
                        src_type = t
                elif p is not None and p.literal and ref not in input_values:
                    hard += 1
            for p in v.data_params:
                if p.required and not any(k == p.name for k, _ in s.inputs):
                    hard += 1
            types[s.number] = (src_type or "records") if v.output == SAME else v.output
        tools = [s.tool for s in plan]
        if len(set(tools)) < len(tools):
            hard += 1
        explicit = sum(1 for t in own if how.get(t) in ("name", "verb", "phrase")) / max(1, len(own))
        signs.extend(explicit * 0.6 for t in set(tools) if t not in own)
        signs.extend(_EVIDENCE[how.get(t, "gap")] for t in own if t not in tools)
        # A goal or purpose that is not the task's: words that neither the task nor the tool's description use.
        for line in plan_text.splitlines():
            if line.startswith("Goal: "):
                words = set(_stems(line[6:]))
                foreign = words - text_words
                if len(foreign) >= 3:  # a goal mostly in other words than the task's is not the task's goal
                    signs.append(1.0 if len(foreign) > 0.4 * len(words) else 0.3)
        for s in plan:
            m = re.search(rf"^Step {s.number}: \S+ - (.*?)\. Inputs:", plan_text, re.M)
            if m and s.tool in lex.tools:
                foreign = set(_stems(m.group(1))) - text_words - lex.tools[s.tool].vocab
                if len(foreign) >= 3:
                    signs.append(0.5)
        return signs + [1.0] * hard

    def _intent(self, digest: str, user: str, lex: Lexicon) -> Intent:
        cached = self._intents.get(digest + lex.digest)
        if cached is not None:
            return cached
        text, inputs, plan_text, cot = _split_user(user)
        own, how, windows = self._own_reading(digest, text, inputs, lex, cot)
        steps = [Step(t, text=windows.get(t, "")) for t in own]
        from_plan = False
        plan = self._plan_steps(plan_text, lex) if plan_text else []
        if plan and self._chance(digest, "trust", self.skill.plan_trust):
            signs = self._plan_flaws(plan, plan_text, own, how, text, inputs, lex)
            # More evidence makes a flaw likelier to be noticed, up to two clear signs' worth.
            unnoticed = (1 - self.skill.flaw_detection) ** min(sum(signs), 2.0)
            if not signs or not self._chance(digest, "notice", 1 - unnoticed):
                steps = [s for s in plan if s.tool in lex.tools]  # a tool not offered cannot be called
                from_plan = True
        tools = [s.tool for s in steps]
        feeders = _feeders(tools, lex)
        if not from_plan:
            feeders = _referred(steps, feeders, lex)
        intent = Intent(tuple(steps), feeders, inputs, cot, from_plan)
        self._intents[digest + lex.digest] = intent
        if len(self._intents) > _INTENTS_MAX:
            self._intents.popitem(last=False)
        return intent

    # ------------------------------------------------------------------ replaying the conversation

    def _replay(self, intent: Intent, digest: str, history: list[tuple[str, dict | None, dict]]) -> _State:
        state = _State({}, {}, [])
        for tool, args, obs in history:
            index = None
            for i, s in enumerate(intent.steps):
                if s.tool == tool and i not in state.done and not self._gave_up(intent, digest, state, i):
                    index = i
                    break
            handle = obs.get("handle")
            if obs.get("status") == "success" and isinstance(handle, str) and handle:
                summary = obs.get("summary")
                done = _Done(handle, str(obs.get("type") or ""), summary if isinstance(summary, dict) else {})
                state.seen.append(done)
                if index is not None:
                    state.done[index] = done
            elif index is not None:
                code = obs.get("error_code")
                state.attempts.setdefault(index, []).append(
                    (code if isinstance(code, str) else None, str(obs.get("message") or ""), args))
        return state

    def _gave_up(self, intent: Intent, digest: str, state: _State, i: int) -> bool:
        tries = state.attempts.get(i)
        if not tries:
            return False
        if len(tries) >= self.skill.max_attempts:
            return True
        code = tries[-1][0]
        if code in _RANDOM_FAILURES:
            return not self._chance(digest, f"retry:{i}:{len(tries)}", self.skill.retry)
        return False

    # ------------------------------------------------------------------ arguments

    def _data_value(self, p: ParamView, i: int, intent: Intent, state: _State) -> tuple[str | None, _Done | None]:
        feeder = dict(intent.feeders[i]).get(p.name) if i < len(intent.feeders) else None
        ok = (lambda d: ANY in (p.accepts or ()) or d.type in (p.accepts or ()))
        if feeder is not None and feeder in state.done and ok(state.done[feeder]):
            return state.done[feeder].handle, state.done[feeder]
        for d in reversed(state.seen):
            if ok(d):
                return d.handle, d
        if p.literal and p.literal in intent.inputs:
            return intent.inputs[p.literal], None
        return None, None

    def _settings(self, view: ToolView, source: _Done | None, state: _State, step: int) -> dict[str, Any]:
        summary = source.summary if source is not None else {}
        fields = summary.get("fields") if isinstance(summary.get("fields"), dict) else None
        if not fields:
            fields = next((d.summary["fields"] for d in reversed(state.seen)
                           if isinstance(d.summary.get("fields"), dict) and d.summary["fields"]), {})
        numeric = [f for f, t in fields.items() if t in ("number", "integer")]
        strings = [f for f, t in fields.items() if t == "string"]
        num = numeric[0] if numeric else "value"
        txt = next((f for f in strings if not f.endswith("id")), strings[0] if strings else (next(iter(fields), "id")))
        fmt = summary.get("format")
        out: dict[str, Any] = {}
        for p in view.params:
            if not p.required or p.accepts is not None or p.literal:
                continue
            name, desc = p.name, p.description.lower()
            if p.enum:
                if "must match the format" in desc or name == "format":
                    out[name] = fmt if fmt in p.enum else p.enum[0]
                elif "must differ" in desc or name == "target_format":
                    out[name] = next((e for e in p.enum if e != fmt), p.enum[0])
                else:
                    out[name] = {"metric": "sum", "objective": "maximize"}.get(name, p.enum[0])
            elif name == "condition":
                out[name] = f"{num} > 0"
            elif name == "expression":
                out[name] = f"sum({num})"
            elif name == "operations":
                out[name] = [f"cast:{num}:float"]
            elif name == "rules":
                out[name] = {num: {"required": True}}
            elif name == "mapping":
                out[name] = {txt: f"{txt}_ref"}
            elif name == "scenario":
                out[name] = {"price_change": 0.05}
            elif name == "cron" or "cron" in desc:
                out[name] = "0 6 * * 1"
            elif p.type == "array":
                out[name] = [txt] if "field" in desc else []
            elif "numeric field" in desc or name in ("field", "target"):
                out[name] = num
            elif "letters, digits" in desc:
                out[name] = f"{view.operation}.step{step + 1}"
            elif p.type == "string":
                out[name] = f"{view.operation} step {step + 1} finished"
            elif p.type in ("integer", "number"):
                out[name] = p.minimum if p.minimum is not None else 1
            elif p.type == "boolean":
                out[name] = True
            else:
                out[name] = {}
        if view.operation == "aggregator" and "field" in {p.name for p in view.params} and out.get("metric") != "count":
            out["field"] = num
        return out

    def _read_settings(self, step: Step, view: ToolView, source: _Done | None, state: _State) -> dict[str, Any]:
        """The settings the step's stretch of text states, each read right with the skill's probability."""
        summary = source.summary if source is not None else {}
        fields = summary.get("fields") if isinstance(summary.get("fields"), dict) else None
        if not fields:
            fields = next((d.summary["fields"] for d in reversed(state.seen)
                           if isinstance(d.summary.get("fields"), dict) and d.summary["fields"]), {})
        found = reading.read(step.text, view.params, {str(k): str(v) for k, v in fields.items()})
        rng = random.Random(f"{self.name}|read|{step.tool}|{step.text}")
        return {k: v for k, v in found.items() if rng.random() < self.skill.read_setting}

    def _arguments(self, lex: Lexicon, intent: Intent, state: _State, i: int, use_plan: bool) -> dict[str, Any] | None:
        """The call for step i; None when a required input has no source at all."""
        step = intent.steps[i]
        view = lex.tools[step.tool]
        args: dict[str, Any] = {}
        source: _Done | None = None
        plan_inputs = dict(step.inputs) if use_plan else {}
        for p in view.params:
            if p.accepts is None and not p.literal:
                continue
            if use_plan and step.inputs:
                continue
            if p.accepts is not None:
                value, done = self._data_value(p, i, intent, state)
                if value is None:
                    if p.required:
                        return None
                    continue
                if p.name in ("input", "path") or source is None:
                    source = done if done is not None else source
                args[p.name] = value
            elif p.literal in intent.inputs:
                args[p.name] = intent.inputs[p.literal]
            elif p.required:
                return None
        if use_plan and step.inputs:
            by_number = {s.number: k for k, s in enumerate(intent.steps)}
            for k, (kind, ref) in plan_inputs.items():
                if kind == "step":
                    j = by_number.get(ref)
                    d = state.done.get(j) if j is not None else None
                    if d is None:  # the plan points at a step not run yet: a literal follower passes the reference
                        args[k] = f"<handle from step {ref}>"
                        continue
                    args[k] = d.handle
                    if k in ("input", "path") or source is None:
                        source = d
                else:
                    args[k] = ref
        settings = self._settings(view, source, state, i)
        if step.text:
            settings.update(self._read_settings(step, view, source, state))
        if use_plan:
            settings.update(dict(step.args))
        for k, v in settings.items():
            args.setdefault(k, v)
        return args

    def _repair(self, last: dict[str, Any] | None, message: str, lex: Lexicon, intent: Intent, state: _State,
                i: int) -> dict[str, Any] | None:
        """Arguments mended after INVALID_INPUT by reading its message: an unknown parameter is dropped, the
        parameter the message names gets the model's own value, and so does any required one now missing."""
        own = self._arguments(lex, intent, state, i, False)
        if own is None or last is None:
            return own
        view = lex.tools[intent.steps[i].tool]
        names = {p.name for p in view.params}
        fixed = {k: v for k, v in last.items() if k in names}
        named = _REFUSED.search(message)
        if named is None:  # a message it cannot place: start again from its own arguments
            return own
        if named.group(1) in own:
            fixed[named.group(1)] = own[named.group(1)]
        else:  # an optional setting it would not have given: leave it out
            fixed.pop(named.group(1), None)
        for p in view.params:
            if p.required and p.name not in fixed and p.name in own:
                fixed[p.name] = own[p.name]
        return fixed

    def _corrupt(self, args: dict[str, Any], view: ToolView, rng: random.Random) -> dict[str, Any]:
        """An argument error: a required argument left out, a field the data lacks, or an invented handle."""
        args = dict(args)
        kinds = []
        required = [p.name for p in view.params if p.required and p.name in args]
        if required:
            kinds.append("drop")
        if any(k in args for k in _WRONG_FIELD):
            kinds.append("field")
        if any(p.accepts is not None and p.name in args for p in view.params):
            kinds.append("handle")
        if not kinds:
            return args
        kind = rng.choice(kinds)
        if kind == "drop":
            del args[rng.choice(required)]
        elif kind == "field":
            key = next(k for k in _WRONG_FIELD if k in args)
            args[key] = _WRONG_FIELD[key]
        else:
            name = next(p.name for p in view.params if p.accepts is not None and p.name in args)
            args[name] = f"h_{rng.getrandbits(32):08x}"
        return args

    # ------------------------------------------------------------------ acting

    def respond(self, messages: list[Message], tools: list[ToolSchema] | None, params: dict | None = None) -> ModelOutput:
        system = next((_text(m) for m in messages if m.get("role") == "system"), "")
        user = next((_text(m) for m in messages if m.get("role") == "user"), "")
        text_mode = tools is None
        lex = _lexicon_for(tools, system)
        digest = hashlib.blake2b(f"{user}\x00{text_mode}\x00{lex.signature}".encode(), digest_size=12).hexdigest()
        intent = self._intent(digest, user, lex)
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        prompt_tokens = sum(len(_text(m)) for m in messages) // 4 + (3000 if tools else 0)
        skill = self.skill

        if self._chance(digest, f"format:{turn}", skill.format_error):
            return self._malformed(text_mode, turn, prompt_tokens, intent.steps[0].tool if intent.steps else "")

        state = self._replay(intent, digest, _history(messages, text_mode, tag=digest + lex.digest))
        reply = self._next(text_mode, turn, prompt_tokens, digest, intent, state, lex)
        if reply.finish_reason == "stop" and not reply.tool_calls and FINAL_MARKER in (reply.content or ""):
            # The conversation is over: what was kept for its next turn goes (memory stays flat over a
            # long run); should it go on all the same, it is rebuilt from the messages, identically. The
            # reading of the task stays (a bounded cache per prompt, _INTENTS_MAX): the same prompt comes
            # back for every model run, tool success rate and instance attempt, and reading it again
            # costs a millisecond each time.
            forget_history(messages)
        return reply

    def _next(self, text_mode: bool, turn: int, prompt_tokens: int, digest: str,
              intent: Intent, state: _State, lex: Lexicon) -> ModelOutput:
        skill = self.skill
        for i, step in enumerate(intent.steps):
            if i in state.done or self._gave_up(intent, digest, state, i) or step.tool not in lex.tools:
                continue
            tries = state.attempts.get(i, [])
            view = lex.tools[step.tool]
            args: dict[str, Any] | None
            if not tries:
                args = self._arguments(lex, intent, state, i, intent.from_plan)
                if args is not None and self._chance(digest, f"argerr:{i}", skill.arg_error):
                    args = self._corrupt(args, view, self._rng(digest, f"argerr-how:{i}"))
            else:
                code, _, last = tries[-1]
                if code in _RANDOM_FAILURES and last is not None:
                    args = last
                elif self._chance(digest, f"fix:{i}:{len(tries)}", skill.fix_args):
                    args = self._repair(last, tries[-1][1], lex, intent, state, i)
                else:
                    args = last if last is not None else self._arguments(lex, intent, state, i, intent.from_plan)
            if args is None:
                continue  # nothing to give it: the step is skipped
            return self._call(text_mode, turn, prompt_tokens, step.tool, args, intent, i)
        return self._final(intent, state, digest, prompt_tokens)

    def _call(self, text_mode: bool, turn: int, prompt_tokens: int, tool: str, args: dict[str, Any], intent: Intent,
              i: int) -> ModelOutput:
        arguments = json.dumps(args)
        reasoning = None
        if intent.cot:
            feeds = ", ".join(f"{k} from step {j + 1}" for k, j in intent.feeders[i]) if i < len(intent.feeders) else ""
            reasoning = f"Step {i + 1}: {tool} comes next" + (f" ({feeds})." if feeds else ".")
        completion = len(arguments) // 4 + 10
        if text_mode:
            block = TOOL_CALL_OPEN + json.dumps({"name": tool, "arguments": args}) + TOOL_CALL_CLOSE
            content = f"{reasoning}\n{block}" if reasoning else block
            return ModelOutput(content=content, usage=Usage(prompt_tokens, completion), finish_reason="stop")
        return ModelOutput(
            content=reasoning,
            tool_calls=(ToolCall(f"call_{turn}_0", tool, arguments),),
            usage=Usage(prompt_tokens, completion),
            finish_reason="tool_calls",
        )

    def _final(self, intent: Intent, state: _State, digest: str, prompt_tokens: int) -> ModelOutput:
        done = [intent.steps[i].tool for i in sorted(state.done)]
        last = len(intent.steps) - 1
        if not intent.steps:
            text = f"{FINAL_MARKER} I could not tell which of the tools this task needs, so I ran none."
        elif last in state.done:
            text = f"{FINAL_MARKER} The workflow is complete: ran {', '.join(done)}."
            if not self._chance(digest, "forget", self.skill.forget_result):
                text += f"\nRESULT: {state.done[last].handle}"
        else:
            text = (f"{FINAL_MARKER} The workflow did not finish: {intent.steps[last].tool} did not succeed"
                    f" (ran {', '.join(done) or 'nothing'}).")
        return ModelOutput(content=text, usage=Usage(prompt_tokens, len(text) // 4), finish_reason="stop")

    def _malformed(self, text_mode: bool, turn: int, prompt_tokens: int, tool: str) -> ModelOutput:
        usage = Usage(prompt_tokens, 5)
        if text_mode:
            return ModelOutput(content=f'{TOOL_CALL_OPEN}{{"name": "{tool}", "arguments": {{', usage=usage)
        if turn % 2 or not tool:
            return ModelOutput(content="", usage=usage, finish_reason="stop")
        return ModelOutput(tool_calls=(ToolCall(f"call_{turn}_0", tool, '{"input": '),), usage=usage,
                           finish_reason="tool_calls")

    # ------------------------------------------------------------------ provider contract

    async def generate(self, request: ModelRequest, timeout: float) -> ModelOutput:
        return self.respond(request.messages, request.tools, request.params)

    def classify(self, error: BaseException) -> ProviderError:
        return ProviderError("fatal", f"simulated model {self.name} failed: {type(error).__name__}: {error}")

    async def aclose(self) -> None:
        return None

    def end_conversation(self, messages: list[Message]) -> None:
        """The runner is done with this conversation: what was kept for its next turn goes."""
        forget_history(messages)


_RESULT_BLOCK = re.compile(r'<tool_result name="([^"]*)">(.*?)</tool_result>', re.S)


# In process the runner hands the same message list back every turn, one reply and its results longer:
# the reader of that conversation is kept and reads only the new messages. The entry holds the list
# itself (so its id is not reused meanwhile) and the last message read (to see that nothing changed).
_HISTORIES: OrderedDict[int, tuple[list[Message], int, Any, _HistoryReader]] = OrderedDict()
# Both bounds are a few times the conversations a run keeps in flight (256 by default): an entry is
# dropped when its conversation ends with a final answer, the bound only catches conversations that
# end otherwise (turn limit, context, an error). A dropped entry is rebuilt identically when needed.
_HISTORIES_MAX = 1024


def forget_history(messages: list[Message]) -> str | None:
    """Drop what was kept of this conversation for its next turn; its tag, if it had one."""
    hit = _HISTORIES.get(id(messages))
    if hit is not None and hit[0] is messages:
        del _HISTORIES[id(messages)]
        return hit[3].tag
    return None


class _HistoryReader:
    """(tool, arguments as sent, observation) for every tool result, read message by message."""

    __slots__ = ("text_mode", "out", "calls", "pending", "tag")

    def __init__(self, text_mode: bool, tag: str | None = None) -> None:
        self.text_mode = text_mode
        self.tag = tag  # the key of the conversation's intent in its model's cache
        self.out: list[tuple[str, dict | None, dict]] = []
        self.calls: dict[str, tuple[str, dict | None]] = {}
        self.pending: list[dict | None] = []

    def feed(self, messages: list[Message]) -> None:
        text_mode = self.text_mode
        for m in messages:
            role = m.get("role")
            content = _text(m)
            if role == "assistant":
                for c in m.get("tool_calls") or ():
                    f = c.get("function") if isinstance(c, dict) else None
                    if isinstance(f, dict):
                        self.calls[str(c.get("id", ""))] = (str(f.get("name") or ""), _parse_args(f.get("arguments")))
                if text_mode and TOOL_CALL_OPEN in content:
                    self.pending = []
                    for block in re.findall(re.escape(TOOL_CALL_OPEN) + r"(.*?)" + re.escape(TOOL_CALL_CLOSE), content, re.S):
                        try:
                            obj = json.loads(block)
                            self.pending.append(obj.get("arguments") if isinstance(obj, dict) else None)
                        except ValueError:
                            self.pending.append(None)
            elif role == "tool":
                name, args = self.calls.get(str(m.get("tool_call_id", "")), ("", None))
                self.out.append((name, args, _observation(content)))
            elif text_mode and role == "user" and "<tool_result" in content:
                for k, (name, body) in enumerate(_RESULT_BLOCK.findall(content)):
                    args = self.pending[k] if k < len(self.pending) else None
                    self.out.append((name, args if isinstance(args, dict) else None, _observation(body)))


def _history(messages: list[Message], text_mode: bool, tag: str | None = None) -> list[tuple[str, dict | None, dict]]:
    hit = _HISTORIES.get(id(messages))
    if (hit is not None and hit[0] is messages and hit[3].text_mode == text_mode and 0 < hit[1] <= len(messages)
            and messages[hit[1] - 1] is hit[2]):
        reader = hit[3]
        reader.feed(messages[hit[1]:])
        _HISTORIES.move_to_end(id(messages))
    else:
        reader = _HistoryReader(text_mode, tag)
        reader.feed(messages)
    if messages:
        _HISTORIES[id(messages)] = (messages, len(messages), messages[-1], reader)
        if len(_HISTORIES) > _HISTORIES_MAX:
            _HISTORIES.popitem(last=False)
    return list(reader.out)


def _text(message: Message) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def _parse_args(raw: Any) -> dict | None:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _observation(body: str) -> dict:
    try:
        obs = json.loads(body)
    except ValueError:
        return {}
    return obs if isinstance(obs, dict) else {}


_MODELS: dict[str, SimulatedModel] = {}
SIMULATED_MODELS: tuple[str, ...] = tuple(SKILLS)


def get_simulated_model(name: str) -> SimulatedModel:
    """The shared instance for a built-in simulated model name (`sim/weak`, `sim/medium`, `sim/strong`, ...)."""
    model = _MODELS.get(name)
    if model is None:
        if name not in SKILLS:
            raise KeyError(f"unknown simulated model {name!r}; choose from {', '.join(SKILLS)}")
        model = _MODELS[name] = SimulatedModel(name, SKILLS[name])
    return model
