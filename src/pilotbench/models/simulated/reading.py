"""How a simulated model reads a step's settings from the words of the task.

A simulated model sees only the wire: the task's text and the tool schemas. For each step it keeps
the stretch of text that describes that step (its *window*) and, when it makes the call, reads the
settings the schema asks for from that window, in the way a careful reader would: explicit
assignments (`` `name` to VALUE``), then the ordinary English the settings are stated in ("where
amount is above 120", "every Sunday at 23:45", "the total weight per state"). Fields are recognised
only among the fields the data it has seen reports. What cannot be read is left to the model's
defaults, and the scorer treats a default that differs from the task as a wrong setting.

Nothing here knows how tasks are generated: it knows English words for comparisons, schedules,
aggregates and formats, and the parameter names of the schemas it is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

_DECODER = json.JSONDecoder()
_EXPLICIT = re.compile(r"`(\w+)` to ")
_NUMBER = r"-?\d+(?:\.\d+)?"
_COMPARE = (
    (r"is at least|is no less than|is not below", ">="),
    (r"is at most|is no more than|is not above", "<="),
    (r"is above|is over|is greater than|is more than|exceeds", ">"),
    (r"is below|is under|is less than|is lower than", "<"),
)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "twelve": 12, "fifteen": 15}
_DAYS = {"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6}
_FORMATS = ("json", "csv", "xml", "yaml")


def _num(text: str) -> int | float:
    v = float(text)
    return int(v) if v.is_integer() and "." not in text else v


def explicit(window: str) -> dict[str, Any]:
    """Settings a very_easy task spells out: "set `condition` to "x > 5" and `level` to "info"."""
    out: dict[str, Any] = {}
    for m in _EXPLICIT.finditer(window):
        try:
            value, _ = _DECODER.raw_decode(window, m.end())
        except ValueError:
            continue
        out[m.group(1)] = value
    return out


def _fields_in(window: str, fields: Iterable[str]) -> list[str]:
    found = []
    for f in fields:
        m = re.search(rf"(?<![\w.]){re.escape(f)}(?![\w])", window)
        if m:
            found.append((m.start(), f))
    return [f for _, f in sorted(found)]


def condition(window: str, fields: dict[str, str]) -> str | None:
    terms = []
    names = "|".join(re.escape(f) for f in sorted(fields, key=len, reverse=True))
    if not names:
        return None
    for words, op in _COMPARE:
        for m in re.finditer(rf"\b({names}) (?:{words}) ({_NUMBER})", window):
            terms.append((m.start(), f"{m.group(1)} {op} {m.group(2)}"))
    strings = [f for f, t in fields.items() if t == "string"]
    if strings:
        snames = "|".join(re.escape(f) for f in sorted(strings, key=len, reverse=True))
        for m in re.finditer(rf"\band ({snames}) is ([^;,.)]+?)(?=$|[;,)]|\. | and )", window):
            terms.append((m.start(), f"{m.group(1)} == '{m.group(2).strip()}'"))
    if not terms:
        return None
    return " and ".join(t for _, t in sorted(terms))


def operations(window: str, fields: dict[str, str]) -> list[str] | None:
    ops = []
    for m in re.finditer(r"\bcast (\w+) to (a whole number|a decimal|an integer|a float)", window):
        ops.append((m.start(), f"cast:{m.group(1)}:{'int' if m.group(2) in ('a whole number', 'an integer') else 'float'}"))
    for m in re.finditer(rf"\bderive (\w+) as (\w+) (divided by|times) (\w+|{_NUMBER})", window):
        sign = "/" if m.group(3) == "divided by" else "*"
        ops.append((m.start(), f"derive:{m.group(1)}={m.group(2)} {sign} {m.group(4)}"))
    for m in re.finditer(r"\brename (\w+) to (\w+)", window):
        ops.append((m.start(), f"rename:{m.group(1)}->{m.group(2)}"))
    return [o for _, o in sorted(ops)] or None


def rules(window: str, fields: dict[str, str]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for m in re.finditer(r"\b(\w+) must be present", window):
        out.setdefault(m.group(1), {})["required"] = True
    for m in re.finditer(rf"\b(\w+) may not be below ({_NUMBER})", window):
        out.setdefault(m.group(1), {})["min"] = _num(m.group(2))
    for m in re.finditer(rf"\b(\w+) must lie between ({_NUMBER}) and ({_NUMBER})", window):
        out.setdefault(m.group(1), {}).update({"min": _num(m.group(2)), "max": _num(m.group(3))})
    return out or None


_METRICS = (("the number of entries", "count"), ("number of entries", "count"), ("total", "sum"), ("average", "avg"),
            ("mean", "avg"), ("highest", "max"), ("lowest", "min"))


def aggregate(window: str, fields: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    names = "|".join(re.escape(f) for f in sorted(fields, key=len, reverse=True))
    if names:
        m = re.search(rf"\b(?:per|by|for each) ({names})\b", window)
        if m:
            out["group_by"] = [m.group(1)]
    for words, metric in _METRICS:
        if re.search(rf"\b{words}\b", window):
            out["metric"] = metric
            if metric != "count" and names:
                m = re.search(rf"\b{words} ({names})\b", window)
                if m:
                    out["field"] = m.group(1)
            break
    return out


def expression(window: str, fields: dict[str, str]) -> str | None:
    f = "|".join(re.escape(x) for x in sorted(fields, key=len, reverse=True)) or r"\w+"
    pats = (
        (rf"({_NUMBER})% of the total ({f})", lambda m: f"sum({m.group(2)}) * {float(m.group(1)) / 100:g}"),
        (rf"(?:spread|range) between the highest and lowest ({f})", lambda m: f"max({m.group(1)}) - min({m.group(1)})"),
        (rf"mean ({f}) per entry", lambda m: f"sum({m.group(1)}) / count()"),
        (rf"average ({f}) scaled by ({_NUMBER})", lambda m: f"avg({m.group(1)}) * {m.group(2)}"),
        (rf"ratio of the total ({f}) to the total ({f})", lambda m: f"sum({m.group(1)}) / sum({m.group(2)})"),
    )
    for pat, build in pats:
        m = re.search(pat, window)
        if m:
            return build(m)
    return None


_ANALYSES = (("move together", "correlation"), ("correlation", "correlation"), ("trend", "trend"),
             ("unusual", "anomaly"), ("anomal", "anomaly"), ("descriptive", "descriptive"))


def cron(window: str) -> str | None:
    text = window.lower()
    m = re.search(r"every (\w+) hours", text)
    if m:
        n = _NUMBER_WORDS.get(m.group(1)) or (int(m.group(1)) if m.group(1).isdigit() else None)
        return f"0 */{n} * * *" if n else None
    t = re.search(r"\b(\d{1,2}):(\d{2})\b", text)
    if not t:
        return None
    hour, minute = int(t.group(1)), int(t.group(2))
    dom, dow = "*", "*"
    if "weekday" in text:
        dow = "1-5"
    day = next((d for d in _DAYS if re.search(rf"\b{d}\b", text)), None)
    if day is not None:
        dow = str(_DAYS[day])
    if re.search(r"first (?:day )?of (?:each|every|the) month", text):
        dom = "1"
    return f"{minute} {hour} {dom} * {dow}"


def timezone(window: str) -> str | None:
    m = re.search(r"\b([A-Z][a-z]+/[A-Z][A-Za-z_]+)\b", window) or re.search(r"\b(UTC)\b", window)
    return m.group(1) if m else None


def _enum(window: str, values: Iterable[str]) -> str | None:
    low = window.lower()
    hits = []
    for v in values:
        for form in {v.lower(), v.lower().replace("_", " ")}:
            m = re.search(rf"(?<![\w*.]){re.escape(form)}(?![\w])", low)
            if m:
                hits.append((m.start(), v))
    hits.sort()
    return hits[-1][1] if hits else None


def read(window: str, params: Iterable[Any], fields: dict[str, str]) -> dict[str, Any]:
    """The settings a step's window states, for the schema's parameters (`ParamView`s) that are settings."""
    found = explicit(window)
    out: dict[str, Any] = {}
    names = {p.name: p for p in params if p.accepts is None and not p.literal}
    for name, p in names.items():
        if name in found:
            out[name] = found[name]
    rest = {n: p for n, p in names.items() if n not in out}
    low = window.lower()
    numeric = {f: t for f, t in fields.items() if t in ("number", "integer")}
    if "pattern" in rest:
        m = re.search(r"\*\.(\w+)", window)
        fmt = m.group(1).lower() if m else _enum(window, _FORMATS)
        if fmt:
            out["pattern"] = f"*.{fmt}"
    if "format" in rest and rest["format"].enum:
        fmt = _enum(window, rest["format"].enum)
        if fmt:
            out["format"] = fmt
    if "target_format" in rest and rest["target_format"].enum:
        m = re.search(r"\b(?:to|as|into) (?:an? )?(json|csv|xml|yaml)\b", low)
        fmt = m.group(1) if m else _enum(window, rest["target_format"].enum)
        if fmt:
            out["target_format"] = fmt
    for name, reader in (("condition", condition), ("operations", operations), ("rules", rules)):
        if name in rest and (value := reader(window, fields)):
            out[name] = value
    if "group_by" in rest or "metric" in rest:
        out.update({k: v for k, v in aggregate(window, fields).items() if k in rest})
    if "expression" in rest:
        e = expression(window, numeric or fields)
        if e:
            out["expression"] = e
    if "analysis_type" in rest:
        kind = next((k for w, k in _ANALYSES if w in low), None)
        if kind:
            out["analysis_type"] = kind
    if "columns" in rest:
        cols = _fields_in(window, numeric or fields)
        if cols:
            out["columns"] = cols
    if "target" in rest and "horizon" in rest:
        m = re.search(r"\b(\w+) for the next (\d+) periods", window)
        if m:
            out["target"], out["horizon"] = m.group(1), int(m.group(2))
    if "objective" in rest:
        if re.search(r"maximi[sz]", low):
            out["objective"] = "maximize"
        elif re.search(r"minimi[sz]", low):
            out["objective"] = "minimize"
    if "constraints" in rest:
        m = re.search(rf"\b([a-z][a-z ]*?) at (most|least) ({_NUMBER})", low)
        if m:
            name = m.group(1).split(" with ")[-1].strip().replace(" ", "_")
            out["constraints"] = {name: {"max" if m.group(2) == "most" else "min": _num(m.group(3))}}
    if "scenario" in rest:
        m = re.search(rf"\ba ([a-z ]+?) of ([+-]?{_NUMBER[1:]})%", low)
        if m:
            out["scenario"] = {m.group(1).replace(" ", "_"): round(float(m.group(2)) / 100, 6)}
    if "runs" in rest:
        m = re.search(r"over (\d+) runs", low)
        if m:
            out["runs"] = int(m.group(1))
    if "mapping" in rest:
        mapping = {}
        for f in fields:
            m = re.search(rf"(?<![\w]){re.escape(f)} to (\w+)", window)
            if m:
                mapping[f] = m.group(1)
        if mapping:
            out["mapping"] = mapping
    if "cron" in rest:
        c = cron(window)
        if c:
            out["cron"] = c
    if "timezone" in rest:
        tz = timezone(window)
        if tz:
            out["timezone"] = tz
    if "interval_seconds" in rest:
        m = re.search(r"every (\d+) ?(?:seconds|s)\b", low)
        if m:
            out["interval_seconds"] = int(m.group(1))
    if "priority" in rest:
        m = re.search(r"\bpriority (\d+)", low)
        if m:
            out["priority"] = int(m.group(1))
    if "ttl_seconds" in rest:
        m = re.search(r"\bfor (\d+|an?|one|two|six|twelve) (minute|hour|day|week)s?\b", low)
        if m:
            n = 1 if m.group(1) in ("a", "an", "one") else _NUMBER_WORDS.get(m.group(1)) or int(m.group(1))
            out["ttl_seconds"] = n * {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}[m.group(2)]
    if "event" in rest:
        names = re.findall(r"\bevent ([\w\-]+\.[\w.\-]*\w)", window)  # "as the event sales.stage_done"
        if names:
            out["event"] = names[-1]
    if "mode" in rest and rest["mode"].enum:
        for words, mode in (("replacing", "overwrite"), ("overwrit", "overwrite"), ("appending", "append"),
                            ("append", "append"), ("new file", "create")):
            if words in low and mode in rest["mode"].enum:
                out["mode"] = mode
                break
    if "operation" in rest and rest["operation"].enum:
        for words, op in (("hash", "hash"), ("fingerprint", "hash"), ("unique id", "generate_id"),
                          ("unique reference", "generate_id"), ("slug", "slugify"), ("url", "slugify")):
            if words in low and op in rest["operation"].enum:
                out["operation"] = op
                break
    for name, p in rest.items():  # any other enumeration the window names once
        if name not in out and p.enum and name not in ("format", "target_format", "metric"):
            v = _enum(window, p.enum)
            if v:
                out[name] = v
    return out
