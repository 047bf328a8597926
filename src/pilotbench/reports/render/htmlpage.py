"""The report as one self-contained HTML file: inline CSS, tables that fit the page, embedded plots."""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from typing import Any

from .model import Cell, Column, Table, tables
from .plots import make_plots

# ---------------------------------------------------------------------------- html


def _breakable(text: Any) -> Any:
    """Escaped text with a line-break opportunity after each `_` and `/` (long identifiers wrap)."""
    from markupsafe import Markup, escape

    return Markup(str(escape(text)).replace("_", "_<wbr>").replace("/", "/<wbr>"))


def _template() -> Any:
    import jinja2

    text = resources.files("pilotbench.reports").joinpath("templates", "report.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["wbr"] = _breakable
    return env.from_string(text)


WIDE_COLUMNS = 8  # an HTML table with more columns than this and fewer rows is transposed


def transpose_wide(table: Table) -> Table:
    """A table with more than WIDE_COLUMNS columns but fewer rows than columns, turned so that
    its rows become columns: it then fits the page's width (and its print width)."""
    cols, rows = table.columns, table.rows
    if len(cols) <= WIDE_COLUMNS or not rows or len(rows) + 1 >= len(cols):
        return table
    new_cols = [Column(cols[0].title, "label")] + [Column(r[0].text, "text") for r in rows]
    new_rows = [[Cell(cols[j].title)] + [r[j] for r in rows] for j in range(1, len(cols))]
    return replace(table, columns=new_cols, rows=new_rows, transposed=True)


PART_COLUMNS = 6  # data columns per part when a wide table with many rows is split


def fit_width(table: Table) -> list[Table]:
    """The table as it fits a page: as is, transposed (wide with few rows), or split into parts
    of at most PART_COLUMNS data columns, each repeating the first column (wide with many rows)."""
    turned = transpose_wide(table)
    if turned is not table or len(table.columns) <= WIDE_COLUMNS:
        return [turned]
    cols = list(range(1, len(table.columns)))
    chunks = [cols[i:i + PART_COLUMNS] for i in range(0, len(cols), PART_COLUMNS)]
    parts = []
    for n, chunk in enumerate(chunks, 1):
        parts.append(replace(
            table,
            caption=f"{table.caption} (part {n} of {len(chunks)})".strip(),
            columns=[table.columns[0]] + [table.columns[j] for j in chunk],
            rows=[[r[0]] + [r[j] for j in chunk] for r in table.rows],
        ))
    return parts


def to_html(report: dict[str, Any], plots: bool = True) -> str:
    """One self-contained HTML page: inline CSS, tables, plots as embedded base64 PNGs.

    Tables fit the page: cells wrap, wide tables with few rows are transposed, and wide tables
    with many rows are split into parts (`fit_width`)."""
    images = make_plots(report) if plots else {}
    sections = [replace(s, tables=[part for t in s.tables for part in fit_width(t)]) for s in tables(report)]
    return _template().render(
        sections=sections,
        images=images,
        report=report,
        title="pilotbench report",
    )
