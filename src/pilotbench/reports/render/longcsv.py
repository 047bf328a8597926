"""The report as long-format CSV: one row per figure of the table model (`Datum`, the data a cell
holds), so the CSV and the tables cannot disagree."""

from __future__ import annotations

import csv
import io
from typing import Any

from .model import Datum, Section, tables

# ---------------------------------------------------------------------------- csv (long format)

CSV_HEADER = ("section", "model", "group", "key", "n", "rate", "ci_low", "ci_high", "conditions")

# The long format's sections, in its order (the summary's conditions are a section of their own).
CSV_SECTIONS = ("summary", "conditions", "headline", "baseline", "scale", "flaw_robustness", "tool_reliability",
                "prompt_sensitivity", "error_categories", "operations", "paired", "comparisons", "reply_shapes")


def figures(sections: list[Section]) -> list[Datum]:
    """Every figure the tables hold as data, in the long format's order: section by section
    (`CSV_SECTIONS`), a report entry's figures together (entries in the order the tables first show
    them), each entry's in the order its tables and cells show them."""
    found = [d for s in sections for t in s.tables for row in t.rows for cell in row for d in cell.data]
    first: dict[tuple[str, str], int] = {}
    for d in found:
        first.setdefault((d.section, d.entry), len(first))
    return sorted(found, key=lambda d: (CSV_SECTIONS.index(d.section), first[(d.section, d.entry)]))


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Long-format rows: section, model, group, key, n, rate, ci_low, ci_high, conditions.

    Rates and means fill `rate` and the interval; counts and plain figures put their value in
    `rate`; `conditions` holds the split conditions of the row (`seed=7;max_turns=3`)."""
    return [[d.section, d.model, d.group, d.key, d.n, d.value, d.ci[0], d.ci[1], d.conditions]
            for d in figures(tables(report))]


def to_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for r in csv_rows(report):
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()
