"""Render a report dict (from `build_report`) as Markdown, long-format CSV, JSON or one
self-contained HTML file with embedded plots.

Markdown, HTML, the long-format CSV and the viewer render one typed table model (`model`: sections
of tables with typed columns and cells; `tables(report)` builds the report's), so Markdown and HTML
show the same cells: every rate as `0.62 [0.55, 0.69] n=120`, every mean with its interval and N;
the CSV writes the figures those cells hold as data (`Datum`), one row each. The package holds one
concept per module: cells (formatting), model, markdown, longcsv, plots, htmlpage.
"""

from __future__ import annotations

import json
from typing import Any

from .cells import DASH, fmt_diff, fmt_mean, fmt_num, fmt_p, fmt_rate, fmt_stat
from .htmlpage import PART_COLUMNS, WIDE_COLUMNS, fit_width, to_html, transpose_wide
from .longcsv import CSV_HEADER, csv_rows, to_csv
from .markdown import to_markdown
from .model import (
    AXIS_NAMES, HEADLINE_TITLE, KINDS, READING_GUIDE, SCORING_DOC, SPLIT_NAMES, Cell, Column, Datum, Link, Section, Table,
    _note, _split_text, counts_section, headline_section, tables,
)
from .plots import make_plots

REPORT_FORMATS: tuple[str, ...] = ("markdown", "csv", "json", "html")


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, allow_nan=False) + "\n"


def render(report: dict[str, Any], fmt: str, *, plots: bool = True) -> str:
    """Render in one of REPORT_FORMATS."""
    if fmt in ("markdown", "md"):
        return to_markdown(report)
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "html":
        return to_html(report, plots=plots)
    raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(REPORT_FORMATS)}")


__all__ = [
    "AXIS_NAMES",
    "CSV_HEADER",
    "Cell",
    "Column",
    "DASH",
    "Datum",
    "HEADLINE_TITLE",
    "KINDS",
    "Link",
    "PART_COLUMNS",
    "READING_GUIDE",
    "REPORT_FORMATS",
    "SCORING_DOC",
    "SPLIT_NAMES",
    "Section",
    "Table",
    "WIDE_COLUMNS",
    "counts_section",
    "csv_rows",
    "fit_width",
    "fmt_diff",
    "fmt_mean",
    "fmt_num",
    "fmt_p",
    "fmt_rate",
    "fmt_stat",
    "headline_section",
    "make_plots",
    "render",
    "tables",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "transpose_wide",
]
