"""What a tool module is made of: the `Tool` entry the registry holds, and the small vocabulary its
wording and simulator hooks use (`_Data`, what a handle holds as the generator tracks it; `_Say`, how
one step is worded; `_Refusal`, a call the simulator refuses). Pure: no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .spec import ToolSpec


def _fld(name: str) -> str:
    """A field as a description names it: exactly as the data names it, so a condition can be written from it."""
    return name


def _words(name: str) -> str:
    return name.replace("_", " ")


def _join(items: list[str], conj: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def _a(word: str) -> str:
    """The indefinite article and the word: 'an XML', 'a YAML'."""
    return ("an " if word[:1].lower() in "aeiox" and not word.startswith(("YAML", "one"))
            else "a ") + word


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _num(rng: random.Random, lo: float, hi: float, integer: bool) -> int | float:
    """A round threshold inside [lo, hi]."""
    x = lo + (hi - lo) * rng.uniform(0.2, 0.8)
    if integer or hi - lo >= 20:
        return int(round(x))
    if hi - lo >= 2:
        return round(x, 1)
    return round(x, 2)


@dataclass(slots=True)
class _Data:
    """What a handle holds as the generator tracks it: type, fields (with numeric ranges and category values), format."""

    type: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fmt: str | None = None

    def numeric(self) -> list[str]:
        return [n for n, t in self.fields if t in ("number", "integer")]

    def categorical(self) -> list[str]:
        return [n for n, t in self.fields if t == "string" and n in self.values]

    def copy(self, **kw: Any) -> _Data:
        d = _Data(self.type, list(self.fields), dict(self.ranges), dict(self.values), self.fmt)
        for k, v in kw.items():
            setattr(d, k, v)
        return d


@dataclass(slots=True)
class _Say:
    """How one step is worded and the settings it uses."""

    args: dict[str, Any]
    plain: str  # medium: the operation in plain verbs
    detail: str = ""  # the step's specifics in plain words (hard, easy)
    note: str = ""  # easy: a short note next to the tool name
    outcome: str = ""  # very_hard/goal: what this step yields, if it is the work's point


class _Refusal(Exception):
    def __init__(self, param: str | None, message: str, data: bool = False) -> None:
        super().__init__(message)
        self.param = param
        self.message = message
        self.data = data


Fields = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Tool:
    """Everything about one tool, in one place: its spec (what every model sees), how a task words a
    step that uses it, how the walk weighs it, and what the simulator does beyond the generic checks.

    Wording (read by the generator, tasks.py, and the derivability check):
      `say(g, ins, src)` returns the step's `_Say` (its settings and words) and the `_Data` its output
      holds; `g` is the generator's context (`g.rng`, `g.dom`, `g.subject`, `g.literal(role)`, ...),
      `ins` what each data parameter receives, `src` how the step names its main input. It must draw
      from `g.rng` only: the generator is seeded, and every draw moves every later instance.
      `hard` / `very_hard` are its phrases at those difficulties ({src} its input, {d} its detail,
      "[a|b]" alternatives); `fed_hard` / `fed_very_hard` replace them when a tool that may start a
      chain instead takes an earlier step's output. `ref` names its output when "it" could mean two
      handles; `checked` are the settings its step states and the scorer compares; `destinations`
      say where the work ends up when it is the last step (`destination_words` fills their slots).
      `surfaces` says, for a checked setting whose words are the tool's own (an enumeration worded
      "the total" for ``sum``), what its step's words must contain to state a value: a function of the
      value returning alternatives-tuples, every tuple needing one of its (lower-case) strings (read by
      the derivability check; a setting not listed is checked by its parameter's `check` kind, or by
      its value's spelling).
      `source`: it brings in the task's source data (a goal then says where the data is from);
      `source_format`: the format that data then has, whatever the task's source would be (a download's JSON).
    The walk: `weight` (how often it is taken when it may be, relative: the data work a real pipeline
      does is common, plumbing such as routing or caching rarer), `any_skip` (data types an "any
      handle" parameter is not sensibly used on: a credential is nothing to notify anyone about), `keeps_fields(input_rich, input_type)` whether its output
      still carries the source data's fields (input_type None: no input handle; default: yes),
      `needs_fields` (it is only given data that still carries them), `not_after` (tools whose output
      it is never given though the types fit: a partner's reply to a POST is a receipt), `api_core`
      (an api_integration task has at least one such tool).
    The simulator (all optional; without them a success of an `output` type gets the generic fields):
      `records(sim, args, main, rng, summary)` how many records a success returns (default: 1, or the
      input's when `pass_through`); `summary(sim, args, main, inputs, extra, records, rng, summary)`
      fills summary fields that follow from the call, returns the HTTP status of a response it makes;
      `extras` are generators of its other summary fields (by field: what follows from nothing the
      simulator tracks, since the data's values are not simulated); `output_fields(sim, args, main,
      fields, extra)` fields and format of what it returns (None: the generic ones);
      `artifact_key(args, inputs)` what its output is kept under (a queue, a cache key);
      `adjust_check(param, args)` the check a setting is held to given the other arguments, and
      `validate(args)` a last check of the arguments together (both raise `_Refusal`).
    """

    spec: ToolSpec
    say: Callable[[Any, dict[str, _Data], str], tuple[_Say, _Data]]
    ref: str
    hard: tuple[str, ...]
    very_hard: tuple[str, ...]
    checked: tuple[str, ...] = ()
    surfaces: Mapping[str, Callable[[Any], list[tuple[str, ...]]]] = field(default_factory=dict)
    destinations: tuple[str, ...] | None = None
    destination_words: Callable[[Mapping[str, Any], _Say], dict[str, Any]] | None = None
    fed_hard: tuple[str, ...] | None = None
    fed_very_hard: tuple[str, ...] | None = None
    source: bool = False
    source_format: str | None = None
    weight: float = 1.0
    any_skip: frozenset[str] = frozenset()
    keeps_fields: Callable[[bool, str | None], bool] | None = None
    needs_fields: bool = False
    not_after: frozenset[str] = frozenset()
    api_core: bool = False
    pass_through: bool = False
    records: Callable[..., int] | None = None
    summary: Callable[..., int | None] | None = None
    extras: Mapping[str, Callable[[random.Random, int], Any]] = field(default_factory=dict)
    output_fields: Callable[..., tuple[Fields, str | None] | None] | None = None
    artifact_key: Callable[[Mapping[str, Any], Mapping[str, str]], str | None] | None = None
    adjust_check: Callable[[Any, Mapping[str, Any]], str | None] | None = None
    validate: Callable[[Mapping[str, Any]], None] | None = None

    @property
    def name(self) -> str:
        return self.spec.name
