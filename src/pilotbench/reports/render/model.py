"""The table model: sections of tables with typed columns and cells, rendered by Markdown, HTML and
the viewer; `tables(report)` turns a report into them, with the notes that say what each section
covers and the reading guide."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...benchmark.types import BASE_PROMPT_TYPES, ERROR_CATEGORIES
from ...config import player_label
from ..sections import BASELINE_PROMPT
from ..units import _show
from .cells import DASH, _union, fmt_diff, fmt_mean, fmt_num, fmt_p, fmt_rate, fmt_stat

# ---------------------------------------------------------------------------- table model

SCORING_DOC = "docs/scoring.md"
AXIS_NAMES = {
    "suite_version": "suite versions", "seed": "seeds", "max_turns": "max turns",
    "tool_success_rate": "tool success rates", "difficulty": "difficulties", "severity": "flaw severities",
    "run_id": "runs", "prompt_type": "prompt types", "task_type": "task types",
}
SPLIT_NAMES = {"suite_version": "suite version", "seed": "seed", "max_turns": "max turns",
               "tool_success_rate": "tool success rate", "severity": "flaw severity", "prompt_type": "prompt type"}

# "How to read this report": every figure the tables show, defined in one place.
READING_GUIDE: tuple[tuple[str, str], ...] = (
    ("Test", "One multi-turn conversation: a model, a task instance (its tool chain, the workflow), a prompt "
             "type, a difficulty (wording only), a tool success rate, a seed, a flaw severity, max turns and "
             "a suite version. Statistics count done tests only; error rows are infrastructure failures."),
    ("Success", "Full or partial success: the share of tests that reached either level."),
    ("Full", "Every step done (a step is done only by a successful call of its tool on the outputs of the "
             "steps it depends on), a final answer whose RESULT line names the final step's output handle, "
             "and no more than max(3, steps) calls that were not useful."),
    ("Partial", "Not full, but at least half of the required steps done (and at least two) and at least half of the model's calls useful."),
    ("Failure", "Anything less than partial success."),
    ("Weighted score", "1 for a full success, 0.5 for a partial one, 0 for a failure, averaged over tests."),
    ("Tool coverage", "Steps done over the task's steps."),
    ("Workflow adherence", "Longest common subsequence of the order in which steps were first done and the "
                           "task's order, over the steps."),
    ("Efficiency", "Steps over calls made, capped at 1; 0 when no step was done."),
    ("Precision", "Useful calls over calls made (0 with no call): calls the task did not need, refused calls "
                  "and repeats of a done step lower it (– for rows stored before precision existed)."),
    ("Flawed mean", "The mean of the success rates of the flawed_* prompt types present."),
    ("Spread", "Largest minus smallest of the baseline, CoT, optimal and flawed-mean success rates."),
    ("Cells", "`0.62 [0.55, 0.69] n=120`: the value, its 95% interval and the number of tests."),
    ("Instances", "Distinct task instances behind a row (suite version, seed, task type, instance): the "
                  "independent units of the intervals. A workflow is an instance's tool chain; several "
                  "instances can share one (`--by workflow` breaks 5.1 down by it)."),
    ("Intervals", "Tests of one task instance are correlated (same task, same tool chain), so every interval "
                  "comes from a cluster bootstrap over task instances (within task types when each has 10 or "
                  "more), with a fixed seed. "
                  "Rates use the Wilson interval at the effective sample size n / design effect; when every test "
                  "agrees (0 or 1), each instance counts once. Means use the bootstrap percentiles."),
    ("Paired comparisons", "Two models on the same tests: mean difference A - B with its clustered interval; p "
                           "from a sign-flip permutation test in which the tests of one instance flip together."),
    ("Conditions", "A section never mixes conditions silently: rows are split (the label says by what) when "
                   "suite version, seed, max turns, tool success rate or flaw severity differ, unless --pool was given."),
)


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a table: its title and what its cells hold (`KINDS`)."""

    title: str
    kind: str = "text"


# What a column's cells hold: a model or player's name (marked when a person played), another row
# label, a count, a count with its share, a rate, a mean or a derived statistic with its interval,
# a difference, a p value, another number, or text.
KINDS = ("player", "label", "count", "share", "rate", "mean", "stat", "diff", "p", "number", "text")


@dataclass(frozen=True, slots=True)
class Datum:
    """A figure as data, one row of the long-format CSV: the long format's section, the model (or
    the row's label), the group and key that name the figure, its raw value (unrounded: a rate, a
    mean, a count), its N, its 95% interval and the conditions its row was split by
    (`seed=7;max_turns=3`). `entry` names the report entry it comes from: the long format lists an
    entry's figures together, in the order its tables show them."""

    section: str
    model: str
    group: str
    key: str
    value: Any
    n: Any = None
    ci: tuple[Any, Any] = (None, None)
    conditions: str = ""
    entry: str = ""


@dataclass(slots=True)
class Cell:
    """One cell: its text as Markdown and HTML show it; the figure itself (`value`: a rate or mean
    object, a count) and the tests it counts (`filters`, as the tests list's filters), for a
    renderer that writes it its own way (the viewer); where it leads and what more it says on hover;
    and the figures it holds as data (`data`: what the long-format CSV writes, one row each)."""

    text: str
    href: str | None = None
    title: str = ""
    value: Any = None
    filters: dict[str, str] | None = None
    data: tuple[Datum, ...] = ()


@dataclass(slots=True)
class Table:
    """A table of one section: a caption, typed columns and rows of cells."""

    caption: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    transposed: bool = False  # turned to fit a page: one column per row of the table as built

    @property
    def headers(self) -> list[str]:
        return [c.title for c in self.columns]


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    href: str


@dataclass(slots=True)
class Section:
    """A section of the report: its id (the report's key), title, note, an optional link and tables."""

    id: str
    title: str
    tables: list[Table]
    note: str = ""
    link: Link | None = None


def _table(caption: str, headers: list[str], rows: list[list[str | Cell]], kinds: Sequence[str] = ()) -> Table:
    """A table of formatted cells (text, or cells that also carry their figure); `kinds` names what
    each column holds (default: the first column labels its row, the others are text)."""
    kinds = list(kinds) or ["label"] + ["text"] * (len(headers) - 1)
    assert len(kinds) == len(headers) and set(kinds) <= set(KINDS), (headers, kinds)
    return Table(caption, [Column(h, k) for h, k in zip(headers, kinds)],
                 [[c if isinstance(c, Cell) else Cell(c) for c in r] for r in rows])


def _row_filters(label: str, entry: dict[str, Any], **section: str) -> dict[str, str]:
    """The tests a row of a model counts: its model, the conditions it was split by and the section's
    own (5.1: the baseline prompt type)."""
    conditions = entry.get("conditions") or {}
    return {"model": entry.get("model", label), **section,
            **{k: _show(v) for k, v in conditions.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}}


# One figure of a row: how it is written, the figure, and the filters it adds to its row's (None: it
# is not about one set of tests, like an interval's spread or a count of instances); optionally a
# fourth item, the data the cell holds for the long format (`Datum`s).
Figure = tuple[Any, ...]


def _conditions(entry: dict[str, Any] | None) -> str:
    """The conditions a row was split by, as the long format writes them: `seed=7;max_turns=3`."""
    conds = (entry or {}).get("conditions") or {}
    return ";".join(f"{k}={_show(v)}" for k, v in conds.items() if v is not None)


def _est(section: str, model: str, group: str, key: str, r: dict[str, Any] | None, cond: str = "",
         entry: str = "") -> tuple[Datum, ...]:
    """A rate, mean or derived statistic as data: its value (`rate` or `mean`), N and interval;
    nothing for a missing one."""
    if r is None:
        return ()
    ci = r.get("ci95") or [None, None]
    return (Datum(section, model, group, key, r.get("rate", r.get("mean")), r.get("n"), (ci[0], ci[1]), cond, entry),)


def _val(section: str, model: str, group: str, key: str, value: Any, n: Any = None, cond: str = "",
         entry: str = "") -> tuple[Datum, ...]:
    """A plain figure (a count, a number) as data: its value, and the N it is out of if any."""
    return (Datum(section, model, group, key, value, n, (None, None), cond, entry),)


def _share(count_share: tuple[int, float]) -> str:
    """A count with its share: `3 (25%)`."""
    count, share = count_share
    return f"{count} ({100 * share:.0f}%)"


def _figures(label: str, entry: dict[str, Any], figures: Sequence[Figure], **section: str) -> list[Cell]:
    """A model's row: its label, then each figure written for Markdown and HTML, with the figure
    itself and the tests it is about."""
    row = _row_filters(label, entry, **section)
    return [Cell(label, filters=row)] + [Cell(write(v), value=v, filters=None if extra is None else {**row, **extra},
                                              data=held[0] if held else ())
                                         for write, v, extra, *held in figures]


def _rate_cells(label: str, entry: dict[str, Any], axis: str, key: str, groups: list[str], section: str = "") -> list[Cell]:
    """A model's row of rates per group (a prompt type, a difficulty): each cell with its rate and the
    tests it counts (and, given the long format's `section`, its data)."""
    row = _row_filters(label, entry)
    cells = [Cell(label, filters=row)]
    m, cond = entry.get("model", ""), _conditions(entry)
    for g in groups:
        r = entry.get(key, {}).get(g)
        data = _est(section, m, axis, g, r, cond, label) if section else ()
        cells.append(Cell(fmt_rate(r), value=r, filters={**row, axis: g}, data=data))
    return cells


def _kinds(first: str, *rest: str, each: str = "", n: int = 0) -> list[str]:
    """Column kinds: `first`, then `rest`, then `n` columns of `each` (a table with a column per group)."""
    return [first, *rest] + [each] * n


def _section(sid: str, title: str, tables: list[Table], note: str = "",
             link: dict[str, str] | None = None) -> Section:
    return Section(sid, title, tables, note, Link(link["text"], link["href"]) if link else None)


def _covers_text(meta: dict[str, Any]) -> str:
    parts = []
    for axis, vals in (meta.get("covers") or {}).items():
        if vals:
            parts.append(f"{AXIS_NAMES.get(axis, axis)} {', '.join(_show(v) for v in vals)}")
    return ("Covers: " + "; ".join(parts) + ".") if parts else "No results."


def _split_text(meta: dict[str, Any]) -> str:
    if meta.get("split_by"):
        names = ", ".join(SPLIT_NAMES.get(a, a) for a in meta["split_by"])
        return f"Rows are split by {names} (not the same across this section's tests) (pass --pool to pool them)."
    if meta.get("pooled"):
        names = ", ".join(SPLIT_NAMES.get(a, a) for a in meta["pooled"])
        return f"Pooled on request over differing {names}: these rows mix conditions."
    return ""


def _note(report: dict[str, Any], sid: str, extra: str = "") -> str:
    meta = (report.get("sections") or {}).get(sid) or {}
    if not meta.get("n"):
        return " ".join(p for p in (meta.get("definition", ""), extra) if p)
    uneven = ""
    if meta.get("uneven"):
        names = " and ".join(AXIS_NAMES.get(a, a) for a in meta["uneven"])
        uneven = (f"Warning: the rows do not cover the same {names}, so their overall figures average "
                  "different mixes; compare them in the breakdowns below.")
    parts = [meta.get("definition", ""), _covers_text(meta) if "covers" in meta else "", _split_text(meta), uneven, extra]
    return " ".join(p for p in parts if p)


HEADLINE_TITLE = "Results per model"


def headline_section(report: dict[str, Any]) -> Section:
    """The report's first table: per model, success, full success and weighted score with their 95%
    intervals and N over every done test, then success by prompt type and by difficulty."""
    head = report.get("headline") or {}

    def overall(m: str, e: dict[str, Any], *keys: str) -> tuple[Datum, ...]:
        return tuple(d for k in keys for d in _est("headline", e.get("model", ""), "overall", k, e.get(k), _conditions(e), m))

    # the Full cell also holds, as data, the success levels the table leaves out (partial, failure)
    # each figure with the tests it counts: the row's (its model and the conditions it was split by)
    def row(m: str, e: dict[str, Any]) -> list[str | Cell]:
        tests = _row_filters(m, e)
        return [Cell(m, filters=tests), Cell(fmt_num(e["n"]), value=e["n"], filters=tests), fmt_num(e.get("instances")),
                Cell(fmt_rate(e.get("success")), value=e.get("success"), filters=tests, data=overall(m, e, "success")),
                Cell(fmt_rate(e.get("full_success")), value=e.get("full_success"),
                     filters={**tests, "success_level": "full_success"},
                     data=overall(m, e, "full_success", "partial_success", "failure")),
                Cell(fmt_mean(e.get("weighted_score")), value=e.get("weighted_score"), filters=tests,
                     data=overall(m, e, "weighted_score"))]

    t1 = _table("Success, full success and weighted score (95% intervals)",
                ["Model", "N", "Instances", "Success", "Full", "Weighted score"],
                [row(m, e) for m, e in head.items()],
                _kinds("player", "count", "count", "rate", "rate", "mean"))
    prompts = _union(e.get("by_prompt_type", {}) for e in head.values())
    t2 = _table("Success by prompt type", ["Model"] + prompts,
                [_rate_cells(m, e, "prompt_type", "by_prompt_type", prompts, "headline") for m, e in head.items()],
                _kinds("player", each="rate", n=len(prompts)))
    diffs = _union(e.get("by_difficulty", {}) for e in head.values())
    t3 = _table("Success by difficulty", ["Model"] + diffs,
                [_rate_cells(m, e, "difficulty", "by_difficulty", diffs, "headline") for m, e in head.items()],
                _kinds("player", each="rate", n=len(diffs)))
    section = _section("headline", HEADLINE_TITLE, [t1, t2, t3] if head else [],
                       _note(report, "headline", "" if head else "No done tests."))
    _mark_players([section], report)
    return section


def counts_section(report: dict[str, Any]) -> Section:
    """The counts the viewer's overview shows under the headline: attempt rows by status and done
    tests by success level, each count with the tests it counts. (The written report's summary
    lists the same counts among its rows.)"""
    status = _table("Attempts by status", ["", "value"],
                    [[k.replace("_", " "), Cell(fmt_num(v), value=v, filters={"status": k})]
                     for k, v in (report.get("by_status") or {}).items()], ["label", "count"])
    levels = _table("Done tests by success level", ["", "value"],
                    [[k.replace("_", " "), Cell(fmt_num(v), value=v, filters={"status": "done", "success_level": k})]
                     for k, v in (report.get("by_success_level") or {}).items()], ["label", "count"])
    return _section("counts", "Counts", [t for k, t in (("by_status", status), ("by_success_level", levels)) if k in report])


def tables(report: dict[str, Any]) -> list[Section]:
    """The report as sections of tables (shared by Markdown and HTML): the headline per-model table
    first, the bookkeeping (operations, reply shapes) last."""
    sections = []
    if "headline" in report:  # a report dict from before the headline existed renders without it
        sections.append(headline_section(report))

    filters = report.get("filters") or {}
    active = ", ".join(f"{k}={','.join(map(_show, v))}" for k, v in filters.items() if v is not None) or "none"
    st = report.get("statistics") or {}
    summary_rows: list[list[str | Cell]] = [
        ["Attempt rows", Cell(fmt_num(report["total"]), data=_val("summary", "", "", "total", report["total"], report["total"]))],
        ["Distinct tests", Cell(fmt_num(report["tests"]), data=_val("summary", "", "", "tests", report["tests"], report["tests"]))],
    ]
    summary_rows += [[f"Status: {k}", Cell(fmt_num(v), data=_val("summary", "", "by_status", k, v, v))]
                     for k, v in report["by_status"].items()]
    summary_rows += [[f"Done: {k}", Cell(fmt_num(v), data=_val("summary", "", "by_success_level", k, v, v))]
                     for k, v in report["by_success_level"].items()]
    summary_rows += [
        ["Models", ", ".join(report["models"]) or DASH],
        ["Task instances", fmt_num(st.get("instances"))],
        ["Distinct workflows (tool chains)", fmt_num(st.get("workflows")) if st.get("workflows") else f"{DASH} (not recorded)"],
        ["Filters", active],
        ["Conditions pooled on request", "yes" if report.get("pooled") else "no"],
    ]
    if st:
        summary_rows.append(["Intervals", f"cluster bootstrap over {st.get('cluster')}s ({st.get('clusters')} clusters, "
                                          f"{st.get('bootstrap_replicates')} replicates, seed {st.get('bootstrap_seed')})"])
    if report.get("generated_at"):
        summary_rows.append(["Generated", report["generated_at"]])
    cond_rows = [
        [AXIS_NAMES.get(axis, axis).capitalize(),
         Cell(", ".join(f"{_show(v)} ({c})" for v, c in vals) or DASH,
              data=tuple(d for v, c in vals for d in _val("conditions", "", axis, _show(v), c, c)))]
        for axis, vals in (report.get("conditions") or {}).items()
    ]
    sections.append(_section(
        "summary", "Summary",
        [_table("", ["Item", "Value"], summary_rows),
         _table("Conditions covered (done tests per value)", ["Condition", "Values (tests)"], cond_rows)],
        "Model statistics count done rows only (one per test); error rows are infrastructure failures.",
    ))

    sections.append(_section(
        "how_to_read", "How to read this report",
        [_table("", ["Term", "Meaning"], [[t, d] for t, d in READING_GUIDE])],
        "Every metric below is computed by the scorer for each test and stored with it; the report only aggregates.",
        {"text": f"Scoring rules with worked examples: {SCORING_DOC}", "href": SCORING_DOC},
    ))

    base = report["baseline"]

    def bd(m: str, e: dict[str, Any], group: str, key: str, r: dict[str, Any] | None) -> tuple[Datum, ...]:
        return _est("baseline", e.get("model", ""), group, key, r, _conditions(e), m)

    t1 = _table("Success levels", ["Model", "N", "Instances", "Success", "Full", "Partial", "Failure"],
                [_figures(m, e, [(fmt_num, e["n"], {}), (fmt_num, e.get("instances"), None),
                                 (fmt_rate, e["success"], {}, bd(m, e, "overall", "success", e["success"])),
                                 (fmt_rate, e["full_success"], {"success_level": "full_success"},
                                  bd(m, e, "overall", "full_success", e["full_success"])),
                                 (fmt_rate, e["partial_success"], {"success_level": "partial_success"},
                                  bd(m, e, "overall", "partial_success", e["partial_success"])),
                                 (fmt_rate, e["failure"], {"success_level": "failure"}, bd(m, e, "overall", "failure", e["failure"]))],
                          prompt_type=BASELINE_PROMPT)
                 for m, e in base.items()],
                _kinds("player", "count", "count", "rate", "rate", "rate", "rate"))
    t2 = _table("Scores (means with 95% intervals)",
                ["Model", "Weighted score", "Tool coverage", "Workflow adherence", "Efficiency", "Precision",
                 "Avg turns", "Avg tool calls"],
                [_figures(m, e, [(fmt_mean, e.get(k), {}, bd(m, e, "overall", k, e.get(k)))
                                 for k in ("weighted_score", "tool_coverage", "workflow_adherence",
                                           "efficiency", "precision", "avg_turns", "avg_tool_calls")],
                          prompt_type=BASELINE_PROMPT)
                 for m, e in base.items()],
                _kinds("player", each="mean", n=7))
    tasks = _union(e["by_task_type"] for e in base.values())
    t3 = _table("Success by task type", ["Model"] + tasks,
                [_figures(m, e, [(fmt_rate, e["by_task_type"].get(t), {"task_type": t},
                                  bd(m, e, "task_type", t, e["by_task_type"].get(t))) for t in tasks], prompt_type=BASELINE_PROMPT)
                 for m, e in base.items()],
                _kinds("player", each="rate", n=len(tasks)))
    diffs = _union(e.get("by_difficulty", {}) for e in base.values())
    t4 = _table("Success by difficulty", ["Model"] + diffs,
                [_figures(m, e, [(fmt_rate, e.get("by_difficulty", {}).get(d), {"difficulty": d},
                                  bd(m, e, "difficulty", d, e.get("by_difficulty", {}).get(d))) for d in diffs],
                          prompt_type=BASELINE_PROMPT)
                 for m, e in base.items()],
                _kinds("player", each="rate", n=len(diffs)))
    base_tables = [t1, t2, t3, t4]
    if any("by_workflow" in e for e in base.values()):
        wf_rows = [[m, wf, Cell(fmt_rate(r), data=bd(m, e, "workflow", wf, r))]
                   for m, e in base.items() for wf, r in e.get("by_workflow", {}).items()]
        base_tables.append(_table("Success by workflow (tool chain)", ["Model", "Workflow", "Success"], wf_rows,
                                  _kinds("player", "label", "rate")))
    sections.append(_section("baseline", "5.1 Baseline", base_tables,
                             _note(report, "baseline", "" if base else "No baseline-prompt results.")))

    scale_tables = []
    for fam in report["scale"]:
        ftasks = _union(x["by_task_type"] for x in fam["models"])
        fdiffs = _union(x["by_difficulty"] for x in fam["models"])
        name = fam.get("label", fam["family"])
        fcond = _conditions(fam)

        def sd(x: dict[str, Any], key: str, r: dict[str, Any] | None, fam: dict[str, Any] = fam,
               fcond: str = fcond) -> tuple[Datum, ...]:
            g = f"{fam['family']}:{x['size_b']:g}b"
            return _est("scale", x["model"], g, key, r, fcond, f"{g} {x['model']}")

        scale_tables.append(_table(
            f"{name}: success by task type", ["Size (B)", "Model", "Overall"] + ftasks,
            [[Cell(fmt_num(x["size_b"], 1), value=x["size_b"])]
             + _figures(x["model"], {**x, "conditions": fam.get("conditions")},
                        [(fmt_rate, x["success"], {}, sd(x, "overall", x["success"]))]
                        + [(fmt_rate, x["by_task_type"].get(t), {"task_type": t}, sd(x, f"task_type:{t}", x["by_task_type"].get(t)))
                           for t in ftasks])
             for x in fam["models"]],
            _kinds("number", "player", "rate", each="rate", n=len(ftasks)),
        ))
        scale_tables.append(_table(
            f"{name}: success by difficulty", ["Size (B)", "Model"] + fdiffs,
            [[Cell(fmt_num(x["size_b"], 1), value=x["size_b"])]
             + _figures(x["model"], {**x, "conditions": fam.get("conditions")},
                        [(fmt_rate, x["by_difficulty"].get(d), {"difficulty": d}, sd(x, f"difficulty:{d}", x["by_difficulty"].get(d)))
                         for d in fdiffs])
             for x in fam["models"]],
            _kinds("number", "player", each="rate", n=len(fdiffs)),
        ))
    sections.append(_section(
        "scale", "5.2 Scale", scale_tables,
        _note(report, "scale", "" if scale_tables else "No model family with two or more sizes in the results."),
    ))

    flaws = report["flaw_robustness"]

    def fd(m: str, e: dict[str, Any], group: str, key: str) -> tuple[Datum, ...]:
        return _est("flaw_robustness", e.get("model", ""), group, key, e.get(key), _conditions(e), m)

    flaw_cols = _union(flaws.values(), skip=("mean", "optimal", "model", "conditions"))
    sections.append(_section(
        "flaw_robustness", "5.3 Flaw robustness",
        [_table("Success per flaw type", ["Model"] + [c.removeprefix("flawed_") for c in flaw_cols] + ["Mean", "Optimal (reference)"],
                [_figures(m, e, [(fmt_rate, e.get(c), {"prompt_type": c}, fd(m, e, "flaw", c)) for c in flaw_cols]
                          + [(fmt_stat, e.get("mean"), None, fd(m, e, "summary", "mean")),
                             (fmt_rate, e.get("optimal"), {"prompt_type": "optimal"}, fd(m, e, "reference", "optimal"))])
                 for m, e in flaws.items()],
                _kinds("player", each="rate", n=len(flaw_cols)) + ["stat", "rate"])] if flaws else [],
        _note(report, "flaw_robustness", "" if flaws else "No flawed-prompt results."),
    ))

    rel = report["tool_reliability"]
    rates = sorted(_union(e["by_rate"] for e in rel.values()), key=lambda s: -float(s))
    sections.append(_section(
        "tool_reliability", "5.4 Tool reliability",
        [_table("Success by tool success rate", ["Model"] + rates,
                [_figures(m, e, [(fmt_rate, e["by_rate"].get(r), {"tool_success_rate": r},
                                  _est("tool_reliability", e.get("model", ""), "tool_success_rate", r, e["by_rate"].get(r),
                                       _conditions(e), m))
                                 for r in rates])
                 for m, e in rel.items()],
                _kinds("player", each="rate", n=len(rates)))] if rel else [],
        _note(report, "tool_reliability", "" if rel else "No model was run at two or more tool success rates."),
    ))

    sens = report["prompt_sensitivity"]

    def pd(m: str, e: dict[str, Any], group: str, key: str, r: dict[str, Any] | None) -> tuple[Datum, ...]:
        return _est("prompt_sensitivity", e.get("model", ""), group, key, r, _conditions(e), m)

    t1 = _table("Success by prompt type", ["Model", "Baseline", "CoT", "Optimal", "Flawed mean", "Spread"],
                [_figures(m, e, [(fmt_rate, e.get(p), {"prompt_type": p}, pd(m, e, "prompt_type", p, e.get(p)))
                                 for p in ("baseline", "cot", "optimal")]
                          + [(fmt_stat, e.get("flawed_mean"), None, pd(m, e, "summary", "flawed_mean", e.get("flawed_mean"))),
                             (fmt_stat, e.get("spread"), None, pd(m, e, "summary", "spread", e.get("spread")))])
                 for m, e in sens.items()],
                _kinds("player", "rate", "rate", "rate", "stat", "stat"))
    prompts = _union(e.get("by_prompt_type", {}) for e in sens.values())
    # the base prompt types' data is held by the table above (the same figures): only the others here
    t2 = _table("Every prompt type", ["Model"] + [p.removeprefix("flawed_") if p.startswith("flawed_") else p for p in prompts],
                [_figures(m, e, [(fmt_rate, e.get("by_prompt_type", {}).get(p), {"prompt_type": p},
                                  () if p in BASE_PROMPT_TYPES else pd(m, e, "prompt_type", p, e.get("by_prompt_type", {}).get(p)))
                                 for p in prompts])
                 for m, e in sens.items()],
                _kinds("player", each="rate", n=len(prompts)))
    sections.append(_section("prompt_sensitivity", "5.5 Prompt sensitivity", [t1, t2], _note(report, "prompt_sensitivity")))

    errs = report["error_categories"]
    cats = _union((e["counts"] for e in errs.values())) or list(ERROR_CATEGORIES)
    rows = []
    for m, e in errs.items():
        model, cond = e.get("model", ""), _conditions(e)
        # a share cell holds two figures as data: the share (out of N) and the count
        shares = [(_share, (e["counts"].get(c, 0), e["shares"].get(c, 0.0)), {"error_category": c},
                   (Datum("error_categories", model, "category", c, e["shares"][c], e["n"], (None, None), cond, m),
                    *_val("error_categories", model, "count", c, e["counts"][c], e["n"], cond, m)) if c in e["counts"] else ())
                  for c in cats]
        rows.append(_figures(m, e, [(fmt_num, e["n"], None), *shares, (fmt_num, e.get("uncategorized", 0), None)]))
    emeta = (report.get("sections") or {}).get("error_categories") or {}
    sections.append(_section(
        "error_categories", "Error categories",
        [_table("Error categories of non-full done results (count, share)", ["Model", "N"] + cats + ["Uncategorized"], rows,
                _kinds("player", "count", each="share", n=len(cats)) + ["count"])],
        " ".join(p for p in (emeta.get("definition", ""), _split_text(emeta)) if p),
    ))

    paired = report.get("paired") or []
    rows = [[c.get("metric", "success"), c["a"], c["b"], fmt_num(c["n_pairs"]), fmt_num(c.get("clusters")),
             fmt_num(c.get("mean_a")), fmt_num(c.get("mean_b")), Cell(fmt_diff(c), data=_comparison("paired", c, i)),
             fmt_p(c.get("p_value"))]
            for i, c in enumerate(paired)]
    sections.append(_section(
        "paired", "Paired comparisons",
        [_table("Every pair of models on the tests both ran (A - B)",
                ["Metric", "A", "B", "Pairs", "Instances", "Mean A", "Mean B", "Diff [95% CI]", "p"], rows,
                _kinds("label", "player", "player", "count", "count", "number", "number", "diff", "p"))] if rows else [],
        ("Pairs are the same test (task instance, prompt type, difficulty, tool success rate, seed, severity, "
         "max turns, suite version) run by both models. The interval is a cluster bootstrap over task "
         "instances; p is a permutation test that flips the sign of each instance's differences together.")
        if rows else "Fewer than two models with shared tests.",
    ))

    comps = report["comparisons"]
    rows = []
    for i, c in enumerate(comps):
        rows.append([c["a"], c["b"], fmt_num(c["n_pairs"]), fmt_num(c.get("clusters")), fmt_num(c.get("mean_a")),
                     fmt_num(c.get("mean_b")), Cell(fmt_diff(c), data=_comparison("comparisons", c, i)),
                     fmt_p(c.get("p_value")), c.get("test") or DASH])
    sections.append(_section(
        "comparisons", "Requested comparisons",
        [_table("Paired success comparisons (A - B)", ["A", "B", "Pairs", "Instances", "Success A", "Success B",
                                                        "Diff [95% CI]", "p", "Test"], rows,
                _kinds("player", "player", "count", "count", "number", "number", "diff", "p", "text"))] if rows else [],
        "" if rows else "No comparisons requested (--compare A:B).",
    ))
    ops = report["operations"]
    rows = [
        [o["provider"] or DASH, o["key_label"] or DASH, *_operation_cells(o, str(i), [
            fmt_num(o["tests"]), fmt_num(o["attempts"]), fmt_num(o["calls"]),
            fmt_num(o["rate_limited"]), fmt_num(o["retries"]), fmt_num(o["infra_errors"]),
            fmt_num(o["latency_p50"], 3), fmt_num(o["latency_p95"], 3), fmt_num(o["latency_calls"]),
            fmt_num(o["prompt_tokens"]), fmt_num(o["completion_tokens"]),
            DASH if o.get("cost_usd") is None else f"${o['cost_usd']:.4f}" + (" (partial)" if o.get("unpriced_models") else "")]),
         o.get("state") or "ok"]
        for i, o in enumerate(ops)
    ]
    sections.append(_section(
        "operations", "Operations",
        [_table("Per provider and key (all attempt rows)",
                ["Provider", "Key", "Tests", "Attempts", "Calls", "429s", "Retries", "Infra errors",
                 "Latency p50 (s)", "Latency p95 (s)", "N latencies", "Prompt tokens", "Completion tokens", "Cost (USD)",
                 "State"],
                rows, _kinds("label", "label", "count", "count", "count", "count", "count", "count", "number", "number",
                             "count", "count", "count", "text", "text"))],
    ))

    shapes = report.get("reply_shapes") or []
    rows = [_figures(r["model"], r, [(write, r.get(k), {} if k == "tests" else None,
                                      (_est if write is fmt_rate else _val)("reply_shapes", r["model"], "overall", k, r.get(k),
                                                                           cond=_conditions(r), entry=str(i)))
                                     for write, k in ((fmt_num, "tests"), (fmt_num, "tool_calls"), (fmt_num, "text_calls"),
                                                      (fmt_num, "text_call_share"), (fmt_rate, "tests_with_text_calls"),
                                                      (fmt_num, "truncated_replies"), (fmt_rate, "tests_with_truncation"),
                                                      (fmt_num, "format_errors"), (fmt_rate, "plain_results"))])
            for i, r in enumerate(shapes)]
    sections.append(_section(
        "reply_shapes", "Reply shapes",
        [_table("Tool calls written as text (no native tool_calls), replies cut off at the token limit and results "
                "reported in plain words, done tests",
                ["Model", "Tests", "Tool calls", "Text calls", "Share as text", "Tests with text calls",
                 "Truncated replies", "Tests with truncation", "Format errors", "Plain results"], rows,
                _kinds("player", "count", "count", "count", "number", "rate", "count", "rate", "count", "rate"))] if rows else [],
        "A text call is a tool call the model wrote in its reply's text (bare or fenced JSON, Hermes, Llama or "
        "Mistral forms) in native mode, run as a call; a truncated reply is never scored as an answer. A plain "
        "result is a final answer with no RESULT line naming a handle that names exactly one handle in its words "
        "(\"The results are stored in the `h_0af9be40` handle\"): it reports that handle (docs/scoring.md).",
    ))

    _mark_players([s for s in sections if s.id != "headline"], report)  # the headline marks its own
    return sections


def _comparison(section: str, c: dict[str, Any], i: int) -> tuple[Datum, ...]:
    """A paired comparison as data, held by its difference's cell: the difference with its interval,
    then the two means, p and the number of instances, each out of the pairs."""
    ci = c.get("ci95") or [None, None]
    label, metric, n = f"{c['a']} vs {c['b']}", c.get("metric", "success"), c["n_pairs"]
    return (Datum(section, label, metric, "diff", c.get("diff"), n, (ci[0], ci[1]), "", str(i)),
            *(d for k in ("mean_a", "mean_b", "p_value", "clusters") for d in _val(section, label, metric, k, c.get(k), n, entry=str(i))))


_OPERATION_KEYS = ("tests", "attempts", "calls", "rate_limited", "retries", "infra_errors", "latency_p50", "latency_p95",
                   None, "prompt_tokens", "completion_tokens", "cost_usd")  # None: the number of latencies (their N)


def _operation_cells(o: dict[str, Any], entry: str, texts: list[str]) -> list[Cell]:
    """A provider and key's figures, each cell holding its figure as data (latencies out of their N)."""
    g = f"{o['provider']}/{o['key_label']}"
    return [Cell(text, data=() if k is None else _val("operations", "", g, k, o.get(k),
                                                      o["latency_calls"] if k.startswith("latency") else None, entry=entry))
            for text, k in zip(texts, _OPERATION_KEYS, strict=True)]


def _mark_players(sections: list[Section], report: dict[str, Any]) -> None:
    """Human players sit beside the models in every table, marked: `human/alice (human, N=12)`."""
    players = report.get("players") or {}
    humans = {m: p.get("tests") for m, p in players.items() if p.get("kind") == "human"}
    if not humans:
        return

    def mark(label: str) -> str:
        name = label.partition(" [")[0]
        return player_label(label, humans[name]) if name in humans else label

    for section in sections:
        for table in section.tables:
            cols = [i for i, c in enumerate(table.columns) if c.kind == "player"]
            for row in table.rows:
                for i in cols:
                    if i < len(row):
                        row[i].text = mark(row[i].text)
                if row and row[0].text == "Models" and len(row) > 1:
                    row[1].text = ", ".join(mark(m) for m in report.get("models") or []) or DASH
