"""The data_processing tools (parsing, transforming, filtering, validating and aggregating records): each tool's spec, how a task words a
step that uses it, how often the walk takes it, and what the simulator does for it beyond the generic
checks. Registered in ``toolkit/__init__.py``. Pure: no I/O; randomness only from the rng it is given.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from .base import Tool, _Data, _Refusal, _Say, _fld, _join, _num
from .spec import _FORMATS, Param, _data, _tool

# How this category's settings are said in words.
_METRIC_WORDS = {"sum": "the total {f}", "avg": "the average {f}", "max": "the highest {f}", "min": "the lowest {f}"}
_METRIC_SAID = {"sum": ("total",), "avg": ("average", "mean"), "max": ("highest",), "min": ("lowest",),
                "count": ("number of",)}  # what a step's words must contain to state its metric

_GROUPS = (3, 60)  # groups an aggregation finds, at most one per record

# --------------------------------------------------------------------------- simulator


def _parser_records(sim: Any, args: Mapping[str, Any], main: Any, rng: random.Random, summary: dict[str, Any]) -> int:
    n_in = main.records if main is not None else 0
    warnings = 0 if args.get("strict") else min(rng.choice((0, 0, 0, 1, 2, 5)), n_in // 10)
    summary["parse_warnings"] = warnings
    return n_in - warnings


def _kept(args: Mapping[str, Any], main: Any, rng: random.Random, summary: dict[str, Any], share: int, counted: str) -> int:
    """Records a filter (up to a third dropped, at most `limit` kept) or a validator (up to a twentieth) keeps."""
    n_in = main.records if main is not None else 0
    dropped = rng.randint(0, n_in // share)
    kept = n_in - dropped
    limit = args.get("limit")
    if isinstance(limit, int) and limit < kept:
        kept = limit
    summary[counted] = n_in - kept
    return kept


def _filter_records(sim: Any, args: Mapping[str, Any], main: Any, rng: random.Random, summary: dict[str, Any]) -> int:
    return _kept(args, main, rng, summary, 3, "dropped_count")


def _validator_records(sim: Any, args: Mapping[str, Any], main: Any, rng: random.Random, summary: dict[str, Any]) -> int:
    return _kept(args, main, rng, summary, 20, "violations")


def _aggregator_records(sim: Any, args: Mapping[str, Any], main: Any, rng: random.Random, summary: dict[str, Any]) -> int:
    n_in = main.records if main is not None else 0
    groups = min(rng.randint(*_GROUPS), n_in)
    summary["group_count"] = groups
    return groups


def _aggregator_check(param: Param, args: Mapping[str, Any]) -> str | None:
    """`field` need not be numeric for a count."""
    return "field" if param.check == "numeric_field" and args.get("metric") == "count" else param.check


def _aggregator_validate(args: Mapping[str, Any]) -> None:
    if args.get("metric") != "count" and "field" not in args:
        raise _Refusal("field", f"parameter 'field' is required for metric {args.get('metric')!r}")


def _transformer_summary(sim: Any, args: Mapping[str, Any], main: Any, inputs: Mapping[str, str], extra: Mapping[str, Any],
                         records: int, rng: random.Random, summary: dict[str, Any]) -> int | None:
    touched: set[str] = set()
    for op in args.get("operations") or ():
        rest = str(op).partition(":")[2]
        target = rest.split("->", 1)[0] if "->" in rest else rest.split("=", 1)[0].split(":", 1)[0]
        touched.add(target.strip())
    summary["fields_changed"] = len(touched)
    return None

# --------------------------------------------------------------------------- parser

_PARSER_SPEC = _tool(
    "data_processing", "parser",
    "Parses raw content into structured records with named, typed fields.",
    (
        _data("input", ("raw", "response"), "Content to parse"),
        Param("format", "string", "Format of the content; must match the format the input reports.",
              enum=_FORMATS, check="format_of_input"),
        Param("strict", "boolean", "Fail on the first malformed record instead of skipping it.", required=False),
    ),
    "records", (("parse_warnings", "integer"),),
    ("parse raw exports into records", "turn a raw dump or feed into usable rows", "extract structured entries"),
)


def _say_parser(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    main, subj = ins.get("input") or ins.get("path"), g.subject
    fmt = main.fmt or "json"
    args = {"format": fmt}
    what = "the response" if main.type == "response" and src == "it" else src
    return _Say(args, f"parse {what} as {fmt.upper()}", fmt.upper(), f"{fmt}", f"the {subj} in structured form"), \
        main.copy(type="records", fmt=None)


PARSER = Tool(
    spec=_PARSER_SPEC,
    say=_say_parser,
    ref="the parsed records",
    hard=(
        "turn {src} from a [raw {fmt} dump|raw {fmt} export] into [usable rows|rows we can use|usable records]",
        "break the raw {fmt} export down into structured records",
        "pull [structured entries|structured records] out of the raw {fmt} content",
        "extract the [structured entries|structured records] from {src}, raw {fmt} content",
        "turn {src}, a [raw {fmt} dump|raw {fmt} export], into [usable rows|rows we can use|usable records]",
        "pull [structured entries|structured records] out of {src}, which is {fmt}",
        "[turn|make] {src}, raw {fmt} [content|data], into [structured records|usable rows|records with named fields]",
    ),
    very_hard=(
        "{src} turned from a raw dump into [usable rows|rows we can use|usable records] ({fmt})",
        "[structured entries|structured records] extracted from {src} ({fmt})",
        "[records|structured rows|usable rows] [made|pulled|extracted] [from|out of] {src} ({fmt})",
    ),
    checked=("format",),
    weight=3.0,
    records=_parser_records,
    needs_fields=True,
    not_after=frozenset({"network_poster"}),
)

# --------------------------------------------------------------------------- transformer

_TRANSFORMER_SPEC = _tool(
    "data_processing", "transformer",
    "Applies an ordered list of transformations (rename, cast, derive, drop) to every record.",
    (
        _data("input", ("records",), "Records to transform"),
        Param("operations", "array",
              "Transformations in order, each one of 'rename:OLD->NEW', 'cast:FIELD:int|float|str|date', "
              "'derive:NEW=EXPRESSION' or 'drop:FIELD', over fields the records have.", check="operations"),
    ),
    "records", (("fields_changed", "integer"),),
    ("reshape or normalise records", "bring figures in line with house conventions", "rename, convert or derive fields"),
)


def _say_transformer(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main, subj = g.rng, ins.get("input") or ins.get("path"), g.subject
    nums, ops, words = main.numeric(), [], []
    kinds = r.sample(("cast", "derive", "rename"), 2)
    out = main.copy(type="records")
    for kind in kinds:
        if kind == "cast" and nums:
            f = r.choice(nums)
            target = "int" if dict(out.fields)[f] == "number" else "float"
            ops.append(f"cast:{f}:{target}")
            words.append(f"cast {_fld(f)} to {'a whole number' if target == 'int' else 'a decimal'}")
            out.fields = [(n, "integer" if n == f and target == "int" else "number" if n == f else t) for n, t in out.fields]
        elif kind == "derive" and len(nums) >= 2:
            a, b = r.sample(nums, 2)
            new = r.choice((f"{a}_per_{b}", f"{a}_x_{b}"))
            expr = f"{a} / {b}" if "_per_" in new else f"{a} * {b}"
            if len(new) > 40:
                new = "derived_ratio" if "_per_" in new else "derived_product"
            ops.append(f"derive:{new}={expr}")
            words.append(f"derive {_fld(new)} as {_fld(a)} {'divided by' if '/' in expr else 'times'} {_fld(b)}")
            out.fields.append((new, "number"))
            lo_a, hi_a = out.ranges.get(a, (0, 100))
            out.ranges[new] = (0, max(1.0, hi_a))
        elif kind == "derive" and nums:
            a = r.choice(nums)
            rate = r.choice((1.08, 1.19, 0.92, 1.2 + 0.05, 0.85))
            new = f"{a}_adjusted"
            ops.append(f"derive:{new}={a} * {rate}")
            words.append(f"derive {_fld(new)} as {_fld(a)} times {rate}")
            out.fields.append((new, "number"))
            out.ranges[new] = out.ranges.get(a, (0, 100))
        else:
            date = next((n for n, t in out.fields if t == "date"), None)
            ident = next((n for n, t in out.fields if t == "string" and n not in out.values), None)
            old = date or ident
            if old is None:
                continue
            new = r.choice((f"{old}_ref", f"source_{old}")) if old == ident else r.choice(("booked_on", "event_date", "record_date"))
            ops.append(f"rename:{old}->{new}")
            words.append(f"rename {_fld(old)} to {_fld(new)}")
            out.fields = [(new if n == old else n, t) for n, t in out.fields]
    if not ops:
        f = (nums or [n for n, _ in main.fields])[0]
        ops.append(f"cast:{f}:float")
        words.append(f"cast {_fld(f)} to a decimal")
    detail = _join(words)
    return _Say({"operations": ops}, f"transform {src}: {detail}", detail, detail,
                f"a cleaned-up copy of the {subj}"), out


TRANSFORMER = Tool(
    spec=_TRANSFORMER_SPEC,
    say=_say_transformer,
    ref="the transformed records",
    hard=(
        "normalise the records to [house conventions|the house conventions|our house style] ({d})",
        "reshape the fields so they follow [house conventions|the house conventions|our house style] ({d})",
        "bring the figures in line with our conventions ({d})",
        "normalise {src} to [house conventions|the house conventions|our house style] ({d})",
        "reshape the fields of {src} so they follow [house conventions|the house conventions|our house style] ({d})",
        "bring the figures in {src} in line with our conventions ({d})",
        "clean up the fields of {src}: {d}",
        "[reshape|normalise|rework] the fields of {src} [to follow|in line with] [house conventions|our conventions|the house style]: {d}",
    ),
    very_hard=(
        "the figures in {src} brought in line with [house conventions|the house conventions|our house style] ({d})",
        "{src} reshaped into normalised records ({d})",
        "{src} [brought in line with|reworked to follow] [house conventions|our conventions|the house style] ({d})",
        "[a reshaped|a normalised|a tidied] copy of {src} [that follows|in line with|matching] [house conventions|our conventions|the house style] ({d})",
    ),
    checked=("operations",),
    weight=2.0,
    pass_through=True,
    summary=_transformer_summary,
)

# --------------------------------------------------------------------------- filter

_FILTER_SPEC = _tool(
    "data_processing", "filter",
    "Keeps the records that match a condition and drops the rest.",
    (
        _data("input", ("records",), "Records to filter"),
        Param("condition", "string",
              "Condition over the records' fields: FIELD OP VALUE joined by 'and'/'or', OP one of == != > >= < <=; "
              "strings quoted, e.g. \"FIELD == 'x' and OTHER > 10\".", check="condition"),
        Param("limit", "integer", "Maximum number of records to keep.", required=False, minimum=1, maximum=1_000_000),
    ),
    "records", (("dropped_count", "integer"),),
    ("keep only the relevant entries", "narrow data down to what matters", "drop rows that do not meet criteria"),
)


def _say_filter(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main, subj = g.rng, ins.get("input") or ins.get("path"), g.subject
    nums = main.numeric()
    f = r.choice(nums)
    lo, hi = main.ranges.get(f, (0, 100))
    integer = dict(main.fields)[f] == "integer"
    v = _num(r, lo, hi, integer)
    cmp_, word = r.choice(((">", "is above"), (">=", "is at least"), ("<", "is below"), ("<=", "is at most")))
    cond, text = f"{f} {cmp_} {v}", f"{_fld(f)} {word} {v}"
    cats = main.categorical()
    if cats and r.random() < 0.35:
        c = r.choice(cats)
        val = r.choice(main.values[c])
        cond += f" and {c} == '{val}'"
        text += f" and {_fld(c)} is {val}"
    return _Say({"condition": cond}, r.choice((f"keep only the rows where {text}", f"filter {src} down to the rows where {text}")),
                text, text, f"the {subj} entries where {text}"), main.copy(type="records")


FILTER = Tool(
    spec=_FILTER_SPEC,
    say=_say_filter,
    ref="the filtered records",
    hard=(
        "narrow the data down to [the entries that matter|what matters|the entries that count]: {d}",
        "[keep just|hold on to only] [the relevant entries|the entries that are relevant], those where {d}",
        "drop every row that fails the criterion that {d}",
        "narrow {src} down to [the entries that matter|what matters|the entries that count]: those where {d}",
        "[keep just|hold on to only] [the relevant entries|the entries that are relevant] of {src}, those where {d}",
        "drop every entry of {src} except those where {d}",
        "cut {src} down to the entries where {d}",
        "[narrow|cut|trim] {src} down to [the relevant entries|what matters|the entries that count], [those|the ones] where {d}",
    ),
    very_hard=(
        "{src} narrowed down to what matters: the entries where {d}",
        "only [the relevant entries|the entries that are relevant] of {src} kept: those where {d}",
        "[only|just] the [relevant entries|entries that matter|entries that count] of {src} [kept|retained]: those where {d}",
        "{src} [narrowed|cut|trimmed] down to [the relevant entries|what matters|the entries that count]: [those|the ones] where {d}",
    ),
    checked=("condition",),
    weight=2.5,
    records=_filter_records,
)

# --------------------------------------------------------------------------- validator

_VALIDATOR_SPEC = _tool(
    "data_processing", "validator",
    "Checks every record against rules per field and keeps the records that pass.",
    (
        _data("input", ("records",), "Records to validate"),
        Param("rules", "object",
              "Rules keyed by an existing field, each an object with any of 'type', 'min', 'max', 'required', "
              "e.g. {\"FIELD\": {\"required\": true}}.", check="rules"),
    ),
    "records", (("violations", "integer"),),
    ("check data quality before it is used", "catch malformed or out-of-range entries", "confirm records meet the rules"),
)


def _say_validator(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main, subj = g.rng, ins.get("input") or ins.get("path"), g.subject
    nums = main.numeric()
    ident = next((n for n, t in main.fields if t == "string" and n not in main.values), None) or main.fields[0][0]
    f = r.choice(nums)
    lo, hi = main.ranges.get(f, (0, 100))
    rules: dict[str, Any] = {ident: {"required": True}}
    if r.random() < 0.5:
        rules[f] = {"min": lo if lo < 0 else 0}
        text = f"{_fld(ident)} must be present and {_fld(f)} may not be below {rules[f]['min']}"
    else:
        cap = int(hi * 2) if hi >= 20 else round(hi * 2, 1)
        rules[f] = {"min": lo if lo < 0 else 0, "max": cap}
        text = f"{_fld(ident)} must be present and {_fld(f)} must lie between {rules[f]['min']} and {cap}"
    return _Say({"rules": rules}, f"check every record against the rules ({text})", text, text,
                f"a quality-checked copy of the {subj}"), main.copy(type="records")


VALIDATOR = Tool(
    spec=_VALIDATOR_SPEC,
    say=_say_validator,
    ref="the checked records",
    hard=(
        "check the quality of the records before they are used ({d})",
        "catch any [out-of-range or malformed|malformed or out-of-range] entries ({d})",
        "confirm the records meet [the quality rules|our quality rules|the data quality rules] ({d})",
        "check the quality of {src} before it is used ({d})",
        "catch any [out-of-range or malformed|malformed or out-of-range] entries in {src} ({d})",
        "[confirm that|make certain that] {src} meets [the quality rules|our quality rules|the data quality rules] ({d})",
        "[check|vet|test] the quality of {src} [against|by] [the quality rules|our rules|the data quality rules] ({d})",
    ),
    very_hard=(
        "the quality of {src} [checked before it is used|checked before use] ({d})",
        "{src} [confirmed to meet the rules|shown to meet the rules|confirmed to pass the rules] ({d})",
        "any [malformed or out-of-range|out-of-range or malformed] entries of {src} caught ({d})",
        "{src} [checked|vetted|tested] against [the quality rules|our rules|the data quality rules] ({d})",
        "[the quality of|a quality check of|the rules checked on] {src} [confirmed|verified|enforced] ({d})",
        "[only|just] the entries of {src} that [pass|meet] [the quality rules|our rules|the data quality rules] ({d})",
    ),
    checked=("rules",),
    weight=2.0,
    records=_validator_records,
)

# --------------------------------------------------------------------------- aggregator

_AGGREGATOR_SPEC = _tool(
    "data_processing", "aggregator",
    "Groups records by fields and computes a metric per group.",
    (
        _data("input", ("records",), "Records to aggregate"),
        Param("group_by", "array", "Existing fields to group by.", check="fields"),
        Param("metric", "string", "Aggregate per group.", enum=("sum", "avg", "count", "min", "max")),
        Param("field", "string", "Numeric field the metric is computed over (not needed for count).",
              required=False, check="numeric_field"),
    ),
    "summary", (("group_count", "integer"),),
    ("produce totals per segment", "roll detail up into headline numbers", "summarise by group"),
)


def _say_aggregator(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main = g.rng, ins.get("input") or ins.get("path")
    cats = main.categorical() or [n for n, t in main.fields if t == "string"]
    grp = r.choice(cats)
    metric = r.choice(("sum", "sum", "avg", "max", "count"))
    args: dict[str, Any] = {"group_by": [grp], "metric": metric}
    if metric == "count":
        what, col = f"the number of entries per {_fld(grp)}", "count"
    else:
        f = r.choice(main.numeric())
        args["field"] = f
        what, col = _METRIC_WORDS[metric].format(f=_fld(f)) + f" per {_fld(grp)}", f"{metric}_{f}"
    lo, hi = main.ranges.get(args.get("field", ""), (0, 1000))
    out = _Data("summary", [(grp, "string"), (col, "number")], {col: (lo, hi * 50)}, {grp: main.values.get(grp, ())})
    plain = r.choice((f"group {src} by {_fld(grp)} and compute {what.replace(f' per {_fld(grp)}', '')} of each group",
                      f"work out {what}"))
    return _Say(args, plain, what, what, what), out


AGGREGATOR = Tool(
    spec=_AGGREGATOR_SPEC,
    say=_say_aggregator,
    ref="the summary",
    hard=(
        "roll the detail up into [headline numbers|headline figures]: {d}",
        "produce per-segment figures: {d}",
        "summarise the data by group, giving {d}",
        "produce the totals per segment from {src}: {d}",
        "roll {src} up into [headline numbers|headline figures]: {d}",
        "summarise {src} by group, giving {d}",
        "produce per-segment figures from {src}: {d}",
        "[roll|sum] {src} up [by group|per segment|into headline figures], [giving|to get] {d}",
        "[produce|compute|give] [per-segment figures|the totals per segment|headline numbers] [from|out of] {src}: {d}",
    ),
    very_hard=(
        "{src} rolled up into [headline numbers|headline figures]: {d}",
        "totals per segment produced from {src}: {d}",
        "[headline figures|totals per segment|per-group figures] [rolled up|worked out|summarised] from {src}: {d}",
        "{d} [rolled up|summed up|worked out] [from|out of] {src} [by group|per segment|as headline numbers]",
    ),
    checked=("group_by", "metric", "field"),
    surfaces={"metric": lambda v: [_METRIC_SAID[v]]},
    weight=2.5,
    records=_aggregator_records,
    adjust_check=_aggregator_check,
    validate=_aggregator_validate,
)

TOOLS: tuple[Tool, ...] = (PARSER, TRANSFORMER, FILTER, VALIDATOR, AGGREGATOR)
