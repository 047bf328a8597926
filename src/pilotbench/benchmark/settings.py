"""When a call's setting is the setting the task asked for: equivalence by meaning, not by spelling.

A step is done only with settings equivalent to what the task states (``scoring.analyse``). Which
settings of a step are compared is declared by the task (``TaskStep.checked``); the others are free.
Each comparison follows the setting's meaning (docs/scoring.md, "Settings"), as the check kind of its
parameter in the tool registry says (``_COMPARED_AS``):

- conditions as sets of terms, each term normalised (``x < 5`` equals ``5 > x``; ``=`` equals ``==``;
  on whole numbers ``x >= 6`` equals ``x > 5``), numbers within a relative tolerance of 1e-6;
- arithmetic expressions by value: both are evaluated on three seeded sample tables and must agree;
- lists whose order carries no meaning (``group_by``, ``columns``, a transformer's ``operations``)
  as sets; objects key by key with the same rules;
- scenarios by what changes and which way (``{"volume_drop": 0.1}`` is ``{"volume_change": -0.1}``);
- cron expressions by schedule (every field expanded to the set of its values, names and ``7`` for
  Sunday understood), a missing time zone is UTC;
- enumerations and formats case-insensitively with their common aliases (``yml``/``yaml``,
  ``gz``/``gzip``, ``round-robin``/``round_robin``).

Pure functions: no I/O, no randomness beyond a fixed seed.
"""

from __future__ import annotations

import ast
import math
import random
import re
from collections.abc import Mapping
from typing import Any

from .toolkit import ENTRIES, on_change

REL_TOL = 1e-6

_ALIASES = {
    "yml": "yaml", "gz": "gzip", "bz2": "bzip2", "zst": "zstd", "mean": "avg", "average": "avg", "total": "sum",
    "integer": "int", "decimal": "float", "number": "float", "double": "float",
    "minimise": "minimize", "maximise": "maximize", "etc/utc": "utc", "gmt": "utc", "z": "utc", "utc": "utc",
}
_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}
_TERM = re.compile(r"^\s*(.+?)\s*(>=|<=|==|!=|=|>|<)\s*(.+?)\s*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _word(v: Any) -> str:
    s = str(v).strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(s, s)


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def same_number(a: Any, b: Any) -> bool:
    x, y = _num(a), _num(b)
    return x is not None and y is not None and math.isclose(x, y, rel_tol=REL_TOL, abs_tol=1e-9)


def same_value(expected: Any, given: Any) -> bool:
    """Generic equivalence: numbers by value, words by normalised spelling, objects key by key,
    lists in order (lists whose order means nothing go through `same_set`)."""
    if isinstance(expected, Mapping):
        if not isinstance(given, Mapping):
            return False
        e = {str(k): v for k, v in expected.items() if v not in (None, False)}
        g = {str(k): v for k, v in given.items() if v not in (None, False)}
        return set(e) == set(g) and all(same_value(e[k], g[k]) for k in e)
    if isinstance(expected, (list, tuple)):
        return isinstance(given, (list, tuple)) and len(expected) == len(given) and all(
            same_value(a, b) for a, b in zip(expected, given))
    if isinstance(expected, bool) or isinstance(given, bool):
        return expected is given
    if isinstance(expected, (int, float)):
        return same_number(expected, given)
    return isinstance(given, (str, int, float)) and _word(expected) == _word(given)


def same_set(expected: Any, given: Any) -> bool:
    if isinstance(given, str):
        given = [given]
    if not isinstance(expected, (list, tuple)) or not isinstance(given, (list, tuple)):
        return False
    e = [_word(x) for x in expected]
    g = [_word(x) for x in given]
    return sorted(set(e)) == sorted(set(g)) and len(g) == len(set(g))


# --------------------------------------------------------------------------- conditions


def _literal(text: str) -> tuple[str, Any]:
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return "str", t[1:-1].strip().lower()
    n = _num(t)
    if n is not None:
        return "num", n
    return "name", t


def _terms(condition: Any, integers: frozenset[str]) -> list[tuple[str, str, Any]] | None:
    if not isinstance(condition, str) or not condition.strip():
        return None
    if re.search(r"\s+or\s+|\|\|", condition, flags=re.I):
        return None  # the generator's conditions are conjunctions; a disjunction is never the same
    out = []
    for part in re.split(r"\s+and\s+|\s*&&\s*", condition.strip(), flags=re.I):
        m = _TERM.match(part)
        if m is None:
            return None
        left, op, right = m.groups()
        op = "==" if op == "=" else op
        lk, lv = _literal(left)
        rk, rv = _literal(right)
        if lk == "name" and rk != "name":
            name, kind, value = lv, rk, rv
        elif rk == "name" and lk != "name":
            name, kind, value, op = rv, lk, lv, _FLIP[op]
        else:
            return None
        if kind == "num" and name in integers and float(value).is_integer():
            if op == ">=":
                op, value = ">", value - 1
            elif op == "<=":
                op, value = "<", value + 1
        out.append((name, op, value))
    return out


def same_condition(expected: Any, given: Any, integers: frozenset[str] = frozenset()) -> bool:
    e, g = _terms(expected, integers), _terms(given, integers)
    if e is None or g is None or len(e) != len(g):
        return False
    rest = list(g)
    for name, op, value in e:
        hit = next((t for t in rest if t[0] == name and t[1] == op and (
            same_number(t[2], value) if isinstance(value, float) else t[2] == value)), None)
        if hit is None:
            return False
        rest.remove(hit)
    return True


# --------------------------------------------------------------------------- expressions


def _tables(fields: list[str]) -> list[dict[str, list[float]]]:
    rng = random.Random("pilotbench-settings")
    return [{f: [rng.uniform(1, 1000) for _ in range(n)] for f in fields} for n in (3, 7, 12)]


def _eval(node: ast.AST, table: dict[str, list[float]], row: int | None) -> float:
    if isinstance(node, ast.Expression):
        return _eval(node.body, table, row)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand, table, row)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, table, row), _eval(node.right, table, row)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div):
            return a / b
        raise ValueError("operator")
    if isinstance(node, ast.Name) and row is not None:
        return table[node.id][row]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and row is None and not node.keywords:
        fn = node.func.id.lower()
        if fn == "count" and not node.args:
            return float(len(next(iter(table.values()))))
        if len(node.args) == 1 and isinstance(node.args[0], ast.Name):
            col = table[node.args[0].id]
            agg = {"sum": sum, "min": min, "max": max, "avg": lambda c: sum(c) / len(c),
                   "mean": lambda c: sum(c) / len(c)}.get(fn)
            if agg is not None:
                return float(agg(col))
    raise ValueError("unsupported")


def _names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - {"sum", "min", "max", "avg", "mean", "count"}


def same_expression(expected: Any, given: Any, rowwise: bool = False) -> bool:
    """Equal by value on three sample tables (`rowwise`: a per-row formula, evaluated on each row)."""
    if not isinstance(expected, str) or not isinstance(given, str) or len(given) > 500:
        return False
    try:
        e, g = ast.parse(expected, mode="eval"), ast.parse(given, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return False
    if _names(e) != _names(g):
        return False
    for table in _tables(sorted(_names(e))):
        rows = range(len(next(iter(table.values()), []))) if rowwise and table else [None]
        for row in rows:
            try:
                if not math.isclose(_eval(e, table, row), _eval(g, table, row), rel_tol=REL_TOL, abs_tol=1e-9):
                    return False
            except (ValueError, KeyError, ZeroDivisionError, TypeError, IndexError, StopIteration):
                return False
    return True


def _operation(op: Any) -> tuple[str, Any] | None:
    if not isinstance(op, str):
        return None
    kind, _, rest = op.partition(":")
    kind = kind.strip().lower()
    if kind == "cast" and rest.count(":") == 1:
        name, target = (x.strip() for x in rest.split(":"))
        return "cast", (name, _word(target))
    if kind == "rename" and "->" in rest:
        old, new = (x.strip() for x in rest.split("->", 1))
        return "rename", (old, new)
    if kind == "derive" and "=" in rest:
        new, expr = (x.strip() for x in rest.split("=", 1))
        return "derive", (new, expr)
    if kind == "drop":
        return "drop", rest.strip()
    return None


def same_operations(expected: Any, given: Any) -> bool:
    """A transformer's operations as a set: casts to the same type, renames, derivations equal by value."""
    if not isinstance(expected, (list, tuple)) or not isinstance(given, (list, tuple)) or len(expected) != len(given):
        return False
    rest = [_operation(g) for g in given]
    for op in expected:
        e = _operation(op)
        hit = None
        for k, g in enumerate(rest):
            if e is None or g is None or g[0] != e[0]:
                continue
            if e[0] == "derive":
                ok = g[1][0] == e[1][0] and same_expression(e[1][1], g[1][1], rowwise=True)
            else:
                ok = g[1] == e[1]
            if ok:
                hit = k
                break
        if hit is None:
            return False
        rest.pop(hit)
    return True


# --------------------------------------------------------------------------- schedules

_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_DOW = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_MON = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}


def _cron_field(text: str, lo: int, hi: int, names: dict[str, int]) -> frozenset[int] | None:
    out: set[int] = set()
    for part in text.lower().split(","):
        base, _, step_s = part.partition("/")
        step = int(step_s) if step_s.isdigit() and int(step_s) > 0 else (1 if not step_s else None)
        if step is None:
            return None

        def value(s: str) -> int | None:
            if s.isdigit():
                return int(s)
            return names.get(s[:3]) if s else None

        if base == "*":
            a, b = lo, hi
        elif "-" in base:
            x, y = base.split("-", 1)
            a_, b_ = value(x), value(y)
            if a_ is None or b_ is None:
                return None
            a, b = a_, b_
        else:
            v = value(base)
            if v is None:
                return None
            a, b = v, (hi if step_s else v)
        if not (lo <= a <= hi and lo <= b <= hi and a <= b):
            return None
        out.update(range(a, b + 1, step))
    return frozenset(out)


def cron_schedule(expr: Any) -> tuple[frozenset[int], ...] | None:
    """The five fields of a cron expression as sets of values (Sunday is 0, whether written 0 or 7)."""
    parts = expr.split() if isinstance(expr, str) else []
    if len(parts) != 5:
        return None
    names = ({}, {}, {}, _MON, _DOW)
    fields = []
    for part, (lo, hi), nm in zip(parts, _CRON_RANGES, names):
        f = _cron_field(part, lo, hi, nm)
        if f is None:
            return None
        fields.append(f)
    fields[4] = frozenset(0 if d == 7 else d for d in fields[4])
    if parts[2] == "*" and parts[4] == "*":
        fields[4] = frozenset(range(7))
    return tuple(fields)


def same_cron(expected: Any, given: Any) -> bool:
    e, g = cron_schedule(expected), cron_schedule(given)
    return e is not None and e == g


def same_timezone(expected: Any, given: Any) -> bool:
    return _word(expected or "UTC") == _word(given or "UTC")


# --------------------------------------------------------------------------- scenarios

# A scenario's name says which way its value goes: "a volume drop of 10%" is {"volume_drop": 0.1} or,
# said another way, {"volume_change": -0.1}. Both sides are brought to (what changes, signed value).
_UP = ("_change", "_shift", "_increase", "_rise", "_growth", "_shock")
_DOWN = ("_drop", "_fall", "_decrease", "_decline", "_cut")


def _scenario_terms(value: Any) -> dict[str, float] | None:
    if not isinstance(value, Mapping) or not value:
        return None
    out: dict[str, float] = {}
    for key, v in value.items():
        n = _num(v)
        if n is None:
            return None
        name = _word(key)
        for suffix, sign in [*((s_, 1.0) for s_ in _UP), *((s_, -1.0) for s_ in _DOWN)]:
            if name.endswith(suffix):
                name, n = name[: -len(suffix)] + "_change", n * sign
                break
        out[name] = n
    return out


def same_scenario(expected: Any, given: Any) -> bool:
    e, g = _scenario_terms(expected), _scenario_terms(given)
    return e is not None and g is not None and set(e) == set(g) and all(same_number(e[k], g[k]) for k in e)


# --------------------------------------------------------------------------- per setting

# How a setting is compared, by the kind of check its parameter is held to (`Param.check`); a setting
# whose check is not here (or that has none) is compared as a value (`same_value`).
_COMPARED_AS: dict[str, str] = {
    "condition": "condition", "expression": "expression", "operations": "operations", "cron": "cron",
    "timezone": "timezone", "fields": "set", "scenario": "scenario",
}
# How each setting is compared, by parameter name alone (the built-in catalog's names are unique in
# meaning; the first registered tool's meaning wins), for a comparison that names no tool: built from
# the registered tools' parameters and rebuilt when a tool is registered or unregistered.
_KIND: dict[str, str] = {}


def compared_as(check: str | None) -> str:
    """How a setting whose parameter is held to `check` is compared: "value" unless the check says more."""
    return _COMPARED_AS.get(check or "", "value")


@on_change
def _build_kinds() -> None:
    _KIND.clear()
    for tool in ENTRIES.values():
        for p in tool.spec.parameters:
            kind = _COMPARED_AS.get(p.check or "")
            if kind is not None:
                _KIND.setdefault(p.name, kind)


_build_kinds()


def same_setting(name: str, expected: Any, given: Any, integers: frozenset[str] = frozenset(),
                 kind: str | None = None) -> bool:
    """Whether the value a call gave for setting `name` is equivalent to the task's `expected`, compared as
    `kind` (`compared_as` of its parameter's check; default: as the registered tools' setting `name`)."""
    kind = _KIND.get(name, "value") if kind is None else kind
    if kind == "timezone":
        return same_timezone(expected, given)
    if given is None:
        return expected is None
    if kind == "condition":
        return same_condition(expected, given, integers)
    if kind == "expression":
        return same_expression(expected, given)
    if kind == "operations":
        return same_operations(expected, given)
    if kind == "cron":
        return same_cron(expected, given)
    if kind == "set":
        return same_set(expected, given)
    if kind == "scenario":
        return same_scenario(expected, given)
    return same_value(expected, given)


_DEFAULT = re.compile(r"\(default '?([^)':]+?)'?\)")


def stated_default(description: str) -> Any:
    """The default a parameter's description states ("Severity (default info)."), or None."""
    m = _DEFAULT.search(description or "")
    if m is None:
        return None
    text = m.group(1).strip()
    n = _num(text)
    return (int(n) if n is not None and n.is_integer() else n) if n is not None else text


def wrong_settings(checked: Mapping[str, Any], arguments: Mapping[str, Any] | None,
                   integers: frozenset[str] = frozenset(), defaults: Mapping[str, Any] | None = None,
                   kinds: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The checked settings a call's arguments do not match (empty: every checked setting is right). A
    setting left out counts as its schema's stated default (`defaults`): leaving out "mode" where the
    task says to replace any file already there is right when the schema says "(default overwrite)".
    `kinds` says how the tool's settings are compared (setting -> `compared_as`, a setting not in it as a
    value); without it, each as the registered tools' setting of that name."""
    args = arguments or {}
    defaults = defaults or {}
    return tuple(k for k, v in checked.items()
                 if not same_setting(k, v, args[k] if args.get(k) is not None else defaults.get(k), integers,
                                     None if kinds is None else kinds.get(k, "value")))
