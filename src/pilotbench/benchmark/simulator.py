"""Deterministic simulated execution of the catalog tools (docs/scoring.md, "The world of a test").
Pure: no I/O, no global state.

The episode's world is its handles. Each successful call returns a fresh opaque handle bound to
its output's data type, fields and format; a data parameter accepts only a handle this episode
produced, of a type the parameter takes, or the task's own declared literal for the parameter's
role. Every other argument is checked for meaning (fields the data has, formats, ranges, syntax)
and unknown arguments are refused. A refusal is INVALID_INPUT with a message a model can act on,
and says which parameter it was about, so scoring can tell a wrong setting from an invented input.

A valid call succeeds with probability ``tool_success_rate``. The draw is seeded by the *world*
(the test without the model: suite, seed, task, instance, tool success rate), the tool and how
many valid calls of that tool came before, so every model meets the same failures on the same
test and replaying the same calls replays the same results. Handles also mix in the episode's own
id, so a handle from one episode is unknown in every other.

What a success reports hangs together, so a careful model has no reason to distrust it: counts
follow from the inputs (a parser's records plus its warnings, a filter's kept plus dropped, are the
records it was given; groups never outnumber records; a writer, queue, cache or converter carries
its input's records; a forecast has `horizon` periods; a one-value result is one record; a
calculation's `count()` is the records it was given and its aggregates agree), a queue's
depth is what this episode put on it, a cache hits a key it already holds, and a schedule's
`next_run` is the first time after the world's clock (`ToolSimulator.now`) that its cron fires, in
its time zone (IANA, from the system's time-zone database; UTC needs none).
"""

from __future__ import annotations

import ast
import calendar
import hashlib
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .toolkit import ENTRIES
from .toolkit.base import _Refusal
from .tools import ANY, INVALID_INPUT, SAME, TOOLS, Param, ToolSpec, accepts, output_type
from .types import ToolResult

__all__ = ["Artifact", "ToolSimulator", "HANDLE_PATTERN"]

HANDLE_PATTERN = re.compile(r"\bh_[0-9a-f]{8}\b")
NUMERIC = frozenset({"number", "integer"})
_IDENT = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_CRON_FIELD = re.compile(r"^(\*|\d{1,2}(-\d{1,2})?)(/\d{1,2})?(,(\*|\d{1,2}(-\d{1,2})?)(/\d{1,2})?)*$")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_COND_TERM = re.compile(
    r"""^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|>=|<=|>|<)\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)\s*$"""
)
_AGGS = frozenset({"sum", "avg", "min", "max", "count"})
_CASTS = {"int": "integer", "float": "number", "str": "string", "date": "date"}
_MAX_TEXT = 2000

Fields = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Artifact:
    """What a handle stands for: its data type, the fields and format of its data, and where it came from."""

    handle: str
    type: str
    tool: str
    call_index: int
    fields: Fields = ()
    format: str | None = None
    records: int = 0
    status: int | None = None  # an HTTP response's status code
    key: str | None = None  # the queue a `queued` handle is on, the key a cached copy is under


# --------------------------------------------------------------------------- semantic checks


def _field_names(fields: Fields) -> str:
    return ", ".join(name for name, _ in fields) or "none"


def _need_fields(param: str, fields: Fields) -> dict[str, str]:
    if not fields:
        raise _Refusal(param, f"parameter '{param}': the input has no fields to refer to")
    return dict(fields)


def _check_field(param: str, value: Any, fields: Fields, numeric: bool) -> str:
    known = _need_fields(param, fields)
    if not isinstance(value, str) or value not in known:
        raise _Refusal(param, f"parameter '{param}': {value!r} is not a field of the input; its fields are {_field_names(fields)}")
    if numeric and known[value] not in NUMERIC:
        numeric_fields = ", ".join(n for n, t in fields if t in NUMERIC) or "none"
        raise _Refusal(param, f"parameter '{param}': field {value!r} is not numeric; numeric fields: {numeric_fields}")
    return value


def _check_condition(param: str, value: Any, fields: Fields) -> None:
    known = _need_fields(param, fields)
    if not isinstance(value, str) or not value.strip():
        raise _Refusal(param, f"parameter '{param}' must be a condition such as \"FIELD > 10\"")
    for term in re.split(r"\s+(?:and|or)\s+", value.strip(), flags=re.I):
        m = _COND_TERM.match(term)
        if m is None:
            raise _Refusal(param, f"parameter '{param}': cannot parse {term.strip()!r}; write FIELD OP VALUE, e.g. \"FIELD > 10\"")
        name, op, literal = m.groups()
        if name not in known:
            raise _Refusal(param, f"parameter '{param}': {name!r} is not a field of the input; its fields are {_field_names(fields)}")
        is_number = literal[0] not in "'\""
        if known[name] in NUMERIC and not is_number:
            raise _Refusal(param, f"parameter '{param}': field {name!r} is numeric; compare it with a number")
        if known[name] not in NUMERIC and is_number and op not in ("==", "!="):
            raise _Refusal(param, f"parameter '{param}': field {name!r} is not numeric; compare it with a quoted value")


def _check_expression(param: str, value: Any, fields: Fields) -> None:
    _need_fields(param, fields)
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise _Refusal(param, f"parameter '{param}' must be an expression such as 'sum(FIELD) * 1.2'")
    try:
        tree = ast.parse(value, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        raise _Refusal(param, f"parameter '{param}': {value!r} is not a valid arithmetic expression") from None
    aggregates = 0
    in_calls = {id(n) for c in ast.walk(tree) if isinstance(c, ast.Call) for n in (c.func, *c.args)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func.id if isinstance(node.func, ast.Name) else None
            if fn not in _AGGS or node.keywords:
                raise _Refusal(param, f"parameter '{param}': only sum, avg, min, max and count() may be called")
            if fn == "count":
                if node.args:
                    raise _Refusal(param, f"parameter '{param}': count() takes no field")
            else:
                if len(node.args) != 1 or not isinstance(node.args[0], ast.Name):
                    raise _Refusal(param, f"parameter '{param}': {fn}() takes one field name")
                _check_field(param, node.args[0].id, fields, numeric=True)
            aggregates += 1
        elif isinstance(node, ast.Name):
            if id(node) not in in_calls:
                raise _Refusal(param, f"parameter '{param}': bare name {node.id!r}; wrap fields in sum(), avg(), min() or max()")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise _Refusal(param, f"parameter '{param}': only numbers may appear as constants")
        elif not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop, ast.Load)):
            raise _Refusal(param, f"parameter '{param}': {type(node).__name__} is not allowed in an expression")
    if aggregates == 0:
        raise _Refusal(param, f"parameter '{param}': the expression uses no field of the input ({_field_names(fields)})")


def _check_fields(param: str, value: Any, fields: Fields) -> None:
    if not isinstance(value, (list, tuple)) or not value:
        raise _Refusal(param, f"parameter '{param}' must be a non-empty list of field names")
    for v in value:
        _check_field(param, v, fields, numeric=False)


def _transform(param: str, value: Any, fields: Fields) -> Fields:
    if not isinstance(value, (list, tuple)) or not value:
        raise _Refusal(param, f"parameter '{param}' must be a non-empty list of operations such as 'cast:FIELD:float'")
    current = dict(_need_fields(param, fields))
    for op in value:
        if not isinstance(op, str):
            raise _Refusal(param, f"parameter '{param}': every operation is a string")
        kind, _, rest = op.partition(":")
        kind = kind.strip().lower()
        if kind == "rename" and "->" in rest:
            old, new = (x.strip() for x in rest.split("->", 1))
            _check_field(param, old, tuple(current.items()), numeric=False)
            if not _NAME.match(new):
                raise _Refusal(param, f"parameter '{param}': {new!r} is not a valid field name")
            current[new] = current.pop(old)
        elif kind == "cast" and rest.count(":") == 1:
            name, target = (x.strip() for x in rest.split(":"))
            _check_field(param, name, tuple(current.items()), numeric=False)
            if target not in _CASTS:
                raise _Refusal(param, f"parameter '{param}': cast target {target!r} is not one of {', '.join(_CASTS)}")
            current[name] = _CASTS[target]
        elif kind == "derive" and "=" in rest:
            new, expr = (x.strip() for x in rest.split("=", 1))
            if not _NAME.match(new):
                raise _Refusal(param, f"parameter '{param}': {new!r} is not a valid field name")
            names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr)
            if not names:
                raise _Refusal(param, f"parameter '{param}': derive {new!r} from at least one field")
            for name in names:
                _check_field(param, name, tuple(current.items()), numeric=True)
            if not re.fullmatch(r"[A-Za-z0-9_.+\-*/() ]+", expr):
                raise _Refusal(param, f"parameter '{param}': cannot parse the expression {expr!r}")
            current[new] = "number"
        elif kind == "drop" and rest.strip():
            _check_field(param, rest.strip(), tuple(current.items()), numeric=False)
            del current[rest.strip()]
        else:
            raise _Refusal(
                param,
                f"parameter '{param}': cannot parse {op!r}; use 'rename:OLD->NEW', 'cast:FIELD:float', 'derive:NEW=EXPR' or 'drop:FIELD'",
            )
    if not current:
        raise _Refusal(param, f"parameter '{param}': the operations drop every field")
    return tuple(current.items())


def _check_rules(param: str, value: Any, fields: Fields) -> None:
    if not isinstance(value, Mapping) or not value:
        raise _Refusal(param, f"parameter '{param}' must be an object of rules keyed by field")
    for name, rule in value.items():
        _check_field(param, name, fields, numeric=False)
        if not isinstance(rule, Mapping) or not rule or set(rule) - {"type", "min", "max", "required"}:
            raise _Refusal(param, f"parameter '{param}': the rule for {name!r} must be an object with type, min, max or required")


def _check_mapping(param: str, value: Any, fields: Fields) -> Fields:
    if not isinstance(value, Mapping) or not value:
        raise _Refusal(param, f"parameter '{param}' must be an object from field names to target names")
    current = dict(fields)
    for src, dst in value.items():
        _check_field(param, src, fields, numeric=False)
        if not isinstance(dst, str) or not _NAME.match(dst):
            raise _Refusal(param, f"parameter '{param}': target name {dst!r} is not a valid field name")
        current[dst] = current.pop(src)
    return tuple(current.items())


def _check_numbers(param: str, value: Any, nested: bool) -> None:
    if not isinstance(value, Mapping) or not value:
        raise _Refusal(param, f"parameter '{param}' must be a non-empty object")
    for key, v in value.items():
        if not _NAME.match(str(key)):
            raise _Refusal(param, f"parameter '{param}': {key!r} is not a valid name")
        if nested:
            ok = isinstance(v, Mapping) and v and not set(v) - {"min", "max"} and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in v.values()
            )
            if not ok:
                raise _Refusal(param, f"parameter '{param}': {key!r} must be {{\"min\": n}} and/or {{\"max\": n}}")
        elif not isinstance(v, (int, float)) or isinstance(v, bool):
            raise _Refusal(param, f"parameter '{param}': {key!r} must be a number")


def _cron_values(param: str, part: str, lo: int, hi: int) -> frozenset[int]:
    """The values one cron field stands for (``*``, ``a``, ``a-b``, each with an optional ``/step``)."""
    out: set[int] = set()
    for item in part.split(","):
        base, slash, step_text = item.partition("/")
        step = int(step_text) if slash else 1
        if step < 1:
            raise _Refusal(param, f"parameter '{param}': {part!r} has a step of 0")
        if base == "*":
            a, b = lo, hi
        elif "-" in base:
            a, b = (int(x) for x in base.split("-"))
        else:
            a = int(base)
            b = hi if slash else a  # "5/15": from 5 to the end of the range, every 15
        if a > b:
            raise _Refusal(param, f"parameter '{param}': {part!r} runs backwards ({a} > {b})")
        out.update(range(a, b + 1, step))
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed five-field cron expression (Vixie cron semantics: when both the day of the month and
    the day of the week are restricted, a day matching either runs the job; 7 is Sunday like 0)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def runs_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def next_run(self, after: datetime, zone: Any) -> datetime:
        """The first time after `after` (aware) at which the job runs, as a wall-clock time in `zone`.
        Local times a DST change skips do not exist and are passed over."""
        local = after.astimezone(zone)
        first = local.date()
        times = sorted((h, m) for h in self.hours for m in self.minutes)
        for offset in range(366 * 8 + 2):  # a 29 February needs up to eight years (2096 -> 2104)
            day = first + timedelta(days=offset)
            if not self.runs_on(day):
                continue
            for h, m in times:
                candidate = datetime(day.year, day.month, day.day, h, m, tzinfo=zone)
                if candidate <= local:
                    continue
                back = candidate.astimezone(timezone.utc).astimezone(zone)
                if (back.hour, back.minute) != (h, m):
                    continue  # skipped by a change to summer time
                return back
        raise ValueError("the cron expression never runs")


def _check_cron(param: str, value: Any) -> Cron:
    parts = value.split() if isinstance(value, str) else []
    if len(parts) != 5:
        raise _Refusal(param, f"parameter '{param}' must be a five-field cron expression such as '0 6 * * 1'")
    sets = []
    for part, (lo, hi) in zip(parts, _CRON_RANGES):
        if not _CRON_FIELD.match(part) or any(not lo <= int(n) <= hi for n in re.findall(r"(?<!/)\b\d+", part)):
            raise _Refusal(param, f"parameter '{param}': {part!r} is not a valid cron field (range {lo}-{hi})")
        sets.append(_cron_values(param, part, lo, hi))
    weekdays = frozenset(d % 7 for d in sets[4])
    cron = Cron(sets[0], sets[1], sets[2], sets[3], weekdays, not parts[2].startswith("*"), not parts[4].startswith("*"))
    if not (cron.weekdays_restricted and cron.days_restricted) and not any(
        d <= calendar.monthrange(2028, m)[1] for m in cron.months for d in cron.days
    ):
        raise _Refusal(param, f"parameter '{param}': {value!r} never runs (no month has that day)")
    return cron


def _zone(param: str, value: Any) -> Any:
    """The IANA time zone named by `value` (UTC needs no time-zone database)."""
    if value in ("UTC", "Etc/UTC"):
        return timezone.utc
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}", value):
        raise _Refusal(param, f"parameter '{param}': {str(value)[:60]!r} is not an IANA time zone such as 'Europe/Berlin'")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _Refusal(param, f"parameter '{param}': unknown time zone {value!r}; use an IANA name such as 'Europe/Berlin'") from None


# --------------------------------------------------------------------------- type checks

_CHECKERS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, Mapping),
}


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    for name in ("boolean", "integer", "number", "string", "array", "object"):
        if _CHECKERS[name](v):
            return name
    return type(v).__name__


# --------------------------------------------------------------------------- summaries
# What each tool's success reports beyond the generic fields is the tool's own (its module of toolkit/).

# The simulated world's clock: a fixed start, moved by up to a year per world (so every model on a
# test sees the same "now", and tests do not all share one).
_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)

_FAILURE_MESSAGES = {
    "OPERATION_FAILED": lambda r, t: f"{t.operation} failed: "
    + r.choice(("internal error while processing the request", "backend rejected the operation", "resource busy")),
    "TIMEOUT": lambda r, t: f"{t.operation} timed out after {r.choice((15, 30, 60))} s; the call may be retried",
    "FILE_NOT_FOUND": lambda r, t: "the storage backend could not find the file right now; retry shortly",
    "PERMISSION_DENIED": lambda r, t: "permission denied by the storage backend; retry shortly",
    "NETWORK_ERROR": lambda r, t: "could not reach the remote host: "
    + r.choice(("connection reset by peer", "connection refused", "name resolution failed")),
    "INVALID_RESPONSE": lambda r, t: "upstream returned a malformed response "
    + r.choice(("(HTTP 502)", "(truncated JSON body)", "(unexpected content-type text/html)")),
    "CALCULATION_ERROR": lambda r, t: "calculation error: " + r.choice(("division by zero", "matrix is singular")),
    "OVERFLOW": lambda r, t: "numeric overflow: an intermediate value exceeds the float range",
}


# --------------------------------------------------------------------------- the simulator


class ToolSimulator:
    """Executes the tool calls of one episode. Create one per test; not thread-safe.

    `literals` are the task's declared inputs by role (``TaskInstance.inputs``); `fields` and
    `source_format` describe the task's source data, which the first reading or fetching step yields.
    """

    __slots__ = ("world_id", "salt", "tool_success_rate", "literals", "fields", "source_format", "artifacts",
                 "calls", "_valid_calls")

    def __init__(
        self,
        world_id: str,
        tool_success_rate: float,
        *,
        literals: Mapping[str, str] | None = None,
        fields: Fields = (("id", "string"), ("amount", "number"), ("region", "string")),
        source_format: str = "csv",
        salt: str = "",
    ) -> None:
        rate = float(tool_success_rate)
        if not 0.0 <= rate <= 1.0:  # also rejects NaN
            raise ValueError(f"tool_success_rate must be in [0, 1], got {tool_success_rate!r}")
        self.world_id = str(world_id)
        self.salt = str(salt)
        self.tool_success_rate = rate
        self.literals = dict(literals or {})
        self.fields: Fields = tuple((str(a), str(b)) for a, b in fields)
        self.source_format = source_format
        self.artifacts: dict[str, Artifact] = {}
        self.calls = 0
        self._valid_calls: dict[str, int] = {}

    # ------------------------------------------------------------------ validation

    def _resolve_data(self, p: Param, value: Any) -> tuple[str, Artifact | None]:
        """A data parameter's value as (what it resolved to, the artifact or None for a literal)."""
        kinds = "any type" if p.accepts == (ANY,) else "type " + " or ".join(p.accepts or ())
        if isinstance(value, str):
            art = self.artifacts.get(value)
            if art is not None:
                if not accepts(p, art.type):
                    raise _Refusal(
                        p.name,
                        f"parameter '{p.name}': handle {value} holds `{art.type}` data, but this parameter takes {kinds}",
                        data=True,
                    )
                return value, art
            if p.literal and p.literal in self.literals and value == self.literals[p.literal]:
                return value, None
        shown = repr(value)[:60]
        if p.literal:
            role = p.literal.replace("_", " ")
            where = (
                f"the task's {role} exactly as given in its inputs, or a handle of {kinds}"
                if p.literal in self.literals
                else f"a handle of {kinds} from an earlier result (no input of the task has the role {role})"
            )
            raise _Refusal(p.name, f"parameter '{p.name}': {shown} is not {where}", data=True)
        raise _Refusal(
            p.name,
            f"parameter '{p.name}': {shown} is not a handle this task produced; pass the `handle` of an earlier "
            f"successful result of {kinds}",
            data=True,
        )

    def _check_literal(self, p: Param, value: Any) -> str:
        role = p.literal or ""
        if role not in self.literals:
            raise _Refusal(p.name, f"parameter '{p.name}': {str(value)[:80]!r} is not one of the task's inputs "
                                   f"(no input has the role {role.replace('_', ' ')})")
        if value != self.literals[role]:
            raise _Refusal(p.name, f"parameter '{p.name}': {str(value)[:80]!r} is not the {role.replace('_', ' ')} the task names")
        return str(value)

    def _validate(self, spec: ToolSpec, args: Mapping[str, Any]) -> tuple[dict[str, str], Artifact | None, Fields, dict]:
        unknown = sorted(set(args) - spec.param_names)
        if unknown:
            raise _Refusal(unknown[0], f"unknown parameter '{unknown[0]}'; {spec.name} takes {', '.join(p.name for p in spec.parameters)}")
        inputs: dict[str, str] = {}
        main: Artifact | None = None
        for p in spec.parameters:
            if p.name not in args or (args[p.name] is None and not p.required):
                if p.required:
                    raise _Refusal(p.name, f"missing required parameter '{p.name}'", data=p.is_data)
                continue
            value = args[p.name]
            if not _CHECKERS[p.type](value):
                raise _Refusal(p.name, f"parameter '{p.name}' must be of type {p.type}, got {_json_type(value)}", data=p.is_data)
            if p.is_data:
                inputs[p.name], art = self._resolve_data(p, value)
                if p.name in ("input", "path") and art is not None:
                    main = art
            elif p.literal:
                inputs[p.name] = self._check_literal(p, value)
            if p.enum is not None and value not in p.enum:
                raise _Refusal(p.name, f"parameter '{p.name}' must be one of {', '.join(p.enum)}; got {value!r}")
            if p.minimum is not None and value < p.minimum or p.maximum is not None and value > p.maximum:
                raise _Refusal(p.name, f"parameter '{p.name}' must be between {p.minimum:g} and {p.maximum:g}; got {value!r}")
        fields = main.fields if main is not None else ()
        out_fields, extra = self._check_meaning(spec, args, main, fields)
        return inputs, main, out_fields, extra

    def _check_meaning(self, spec: ToolSpec, args: Mapping[str, Any], main: Artifact | None, fields: Fields) -> tuple[Fields, dict]:
        tool = ENTRIES.get(spec.name)
        out_fields = fields
        extra: dict[str, Any] = {}
        for p in spec.parameters:
            if p.check is None or p.name not in args or args[p.name] is None:
                continue
            value = args[p.name]
            check = tool.adjust_check(p, args) if tool is not None and tool.adjust_check is not None else p.check
            if check == "format_of_input":
                actual = main.format if main is not None else None
                if actual and value != actual:
                    raise _Refusal(p.name, f"parameter '{p.name}': the input is {actual}, not {value}")
            elif check == "other_format":
                if main is not None and value == main.format:
                    raise _Refusal(p.name, f"parameter '{p.name}': the input is already {value}; choose another format")
                extra["format"] = value
            elif check == "condition":
                _check_condition(p.name, value, fields)
            elif check == "expression":
                _check_expression(p.name, value, fields)
            elif check == "fields":
                _check_fields(p.name, value, fields)
            elif check in ("field", "numeric_field"):
                _check_field(p.name, value, fields, numeric=check == "numeric_field")
            elif check == "operations":
                out_fields = _transform(p.name, value, fields)
            elif check == "rules":
                _check_rules(p.name, value, fields)
            elif check == "mapping":
                out_fields = _check_mapping(p.name, value, fields)
            elif check == "scenario":
                _check_numbers(p.name, value, nested=False)
            elif check == "constraints":
                _check_numbers(p.name, value, nested=True)
            elif check == "cron":
                extra["cron"] = _check_cron(p.name, value)
            elif check == "timezone":
                extra["zone"] = _zone(p.name, value)
            elif check == "identifier":
                if not isinstance(value, str) or not _IDENT.match(value):
                    raise _Refusal(p.name, f"parameter '{p.name}': use letters, digits and . _ : - only (1-64 characters)")
            elif check == "text":
                if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
                    raise _Refusal(p.name, f"parameter '{p.name}' must be non-empty text of at most {_MAX_TEXT} characters")
        if tool is not None and tool.validate is not None:
            tool.validate(args)
        return out_fields, extra

    # ------------------------------------------------------------------ outputs

    def _output_fields(self, spec: ToolSpec, args: Mapping[str, Any], main: Artifact | None, fields: Fields,
                       extra: Mapping[str, Any]) -> tuple[Fields, str | None]:
        """Fields and format of the data a success returns: the tool's own (`Tool.output_fields`), else
        those of its output type."""
        tool = ENTRIES.get(spec.name)
        if tool is not None and tool.output_fields is not None:
            own = tool.output_fields(self, args, main, fields, extra)
            if own is not None:
                return own
        out = spec.output
        if out == "raw":
            return fields, None
        if out == "records" or out == SAME:
            return fields, (main.format if main is not None and out == SAME else None)
        if out == "summary":
            known = dict(fields)
            groups = tuple((g, known.get(g, "string")) for g in args.get("group_by") or ())
            metric = args.get("metric", "count")
            column = "count" if metric == "count" else f"{metric}_{args.get('field')}"
            return groups + ((column, "number"),), None
        if out == "number":
            return (("result", "number"),), None
        if out == "analysis":
            return (("finding", "string"), ("strength", "number")), None
        if out == "forecast":
            return (("period", "integer"), (f"predicted_{args.get('target', 'value')}", "number")), None
        if out == "simulation":
            return (("scenario", "string"), ("outcome", "number")), None
        if out == "optimum":
            return (("parameter", "string"), ("value", "number")), None
        if out == "response":
            return (("status", "string"), ("receipt_id", "string")), "json"
        return (), None

    def now(self, call_index: int | None = None) -> datetime:
        """The simulated world's time when call `call_index` (default: the next call) is made: a start
        drawn from the world (the same for every model on the same test), one minute per call."""
        minutes = int(hashlib.blake2b(f"clock|{self.world_id}".encode(), digest_size=4).hexdigest(), 16) % (365 * 24 * 60)
        return _EPOCH + timedelta(minutes=minutes + (self.calls if call_index is None else call_index))

    def _records(self, spec: ToolSpec, args: Mapping[str, Any], main: Artifact | None, rng: random.Random,
                 summary: dict[str, Any]) -> int:
        """How many records a success returns, following from its input (`Tool.records`; else its input's
        for a pass-through, one otherwise); fills the summary's counts."""
        tool = ENTRIES.get(spec.name)
        if tool is not None and tool.records is not None:
            return tool.records(self, args, main, rng, summary)
        if tool is not None and tool.pass_through:
            return main.records if main is not None else 0
        return 1  # one value, receipt, session, connection, status, job, entry, event or notification

    def _summary(self, spec: ToolSpec, args: Mapping[str, Any], main: Artifact | None, inputs: Mapping[str, str],
                 extra: Mapping[str, Any], records: int, rng: random.Random, summary: dict[str, Any]) -> int | None:
        """The summary fields that follow from the call and the episode so far (`Tool.summary`), then the
        tool's other fields (`Tool.extras`); returns the HTTP status of a response it makes."""
        tool = ENTRIES.get(spec.name)
        status: int | None = None
        if tool is not None and tool.summary is not None:
            status = tool.summary(self, args, main, inputs, extra, records, rng, summary)
        for f, _ in spec.returns:
            gen = tool.extras.get(f) if tool is not None else None
            if gen is not None and f not in summary:
                summary[f] = gen(rng, records)
        return status

    def execute(self, name: str, arguments: Mapping[str, Any] | None) -> ToolResult:
        index = self.calls
        self.calls += 1
        spec = TOOLS.get(name)
        if spec is None:
            return ToolResult(False, error_code=INVALID_INPUT, message=f"unknown tool '{name}'")
        if arguments is None or not isinstance(arguments, Mapping):
            return ToolResult(False, error_code=INVALID_INPUT, message="arguments are not a JSON object")
        try:
            inputs, main, fields, extra = self._validate(spec, arguments)
        except _Refusal as r:
            return ToolResult(
                False, error_code=INVALID_INPUT, message=f"{name}: {r.message}", refused=r.param, data_refusal=r.data,
            )
        k = self._valid_calls.get(name, 0)
        self._valid_calls[name] = k + 1
        rng = random.Random(f"{self.world_id}|{name}|{k}")
        if rng.random() >= self.tool_success_rate:
            codes = tuple(c for c in spec.errors if c != INVALID_INPUT)
            code = codes[rng.randrange(len(codes))]
            return ToolResult(False, error_code=code, message=f"{name}: {_FAILURE_MESSAGES[code](rng, spec)}", inputs=inputs)
        data_type = output_type(spec, main.type if main is not None else None)
        out_fields, fmt = self._output_fields(spec, arguments, main, fields, extra)
        counts: dict[str, Any] = {}
        records = self._records(spec, arguments, main, rng, counts)
        summary: dict[str, Any] = {"records": records}
        if out_fields:
            summary["fields"] = dict(out_fields)
        if fmt:
            summary["format"] = fmt
        summary.update(counts)
        status = self._summary(spec, arguments, main, inputs, extra, records, rng, summary)
        digest = hashlib.blake2b(f"{self.world_id}|{self.salt}|{index}".encode(), digest_size=4).hexdigest()
        handle = f"h_{digest}"
        while handle in self.artifacts:  # a 32-bit collision within one episode: step to the next value
            handle = f"h_{(int(handle[2:], 16) + 1) % 2**32:08x}"
        tool = ENTRIES.get(name)
        key = tool.artifact_key(arguments, inputs) if tool is not None and tool.artifact_key is not None else None
        self.artifacts[handle] = Artifact(handle, data_type, name, index, out_fields, fmt, records, status, key)
        return ToolResult(True, output={"type": data_type, "summary": summary}, handle=handle, inputs=inputs)
