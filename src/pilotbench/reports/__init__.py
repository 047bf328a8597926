"""Reports and exports over the results store (SPEC sections 4 and 5).

`build_report(store, ...)` computes every section from the store; `to_markdown`, `to_csv`,
`to_json`, `to_html` render it; `export(store, fmt, path, ...)` writes the rows or the legacy
summary tree.
"""

from .build import build_report, check_filters, compare_pair, natural_sorted, parse_family, where_clause
from .export import EXPORT_FORMATS, export, legacy_summary
from .render import REPORT_FORMATS, render, to_csv, to_html, to_json, to_markdown

__all__ = [
    "EXPORT_FORMATS",
    "REPORT_FORMATS",
    "build_report",
    "check_filters",
    "compare_pair",
    "export",
    "legacy_summary",
    "natural_sorted",
    "parse_family",
    "render",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "where_clause",
]
