"""What a simulated model makes of the tool schemas it is offered: words, stems and a lexicon of the tools."""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ...benchmark.types import ToolSchema

ANY = "any"
SAME = "same"

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

