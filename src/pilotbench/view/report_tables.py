"""A report's sections as the viewer's tables, every cell linked to the tests it counts: each is one
of the report's own tables (the table model, as Markdown and HTML show them), its figures written
the viewer's way (`linked_table`); the overview's counts are the model's too (`counts_section`)."""

from __future__ import annotations

from typing import Any

from ..reports.render.model import Cell, Table, counts_section
from ..reports.render.model import tables as model_tables
from ..reports.words import SECTION_TITLES
from .formats import _tooltip, fmt
from .links import Links

# Sections of the table model a person does not open from the Results page: the headline is the
# overview itself.
_OVERVIEW = ("headline",)


# ---------------------------------------------------------------------- report -> tables


_CONDITION_FILTERS = ("model", "prompt_type", "task_type", "difficulty", "tool_success_rate", "seed", "severity",
                      "max_turns", "suite_version")


def section_filters(report: dict[str, Any], section: str) -> dict[str, str]:
    """Filters every test of a section shares: the conditions its `covers` lists with one value."""
    covers = ((report.get("sections") or {}).get(section) or {}).get("covers") or {}
    ctx: dict[str, str] = {}
    for k, values in covers.items():
        if k in _CONDITION_FILTERS and isinstance(values, list) and len(values) == 1:
            v = values[0]
            ctx[k] = f"{v:g}" if isinstance(v, float) else str(v)
    return ctx


def linked_table(table: Table, links: Links, base: dict[str, str] | None = None) -> Table:
    """A table of the report's model as the viewer shows it: each figure written the viewer's way
    (`fmt`: a rate as `62.5% (5/8)`, its interval on hover), and every cell that names the tests it
    is about linked to them (done tests, unless the cell says otherwise)."""
    out = Table(table.caption, list(table.columns), transposed=table.transposed)
    for row in table.rows:
        cells = []
        for cell in row:
            v = cell.value
            text = fmt(v) if isinstance(v, (dict, int, float)) and not isinstance(v, bool) else cell.text
            href = None
            if cell.filters is not None:
                filters = {"status": "done", **(base or {}), **cell.filters}
                if filters["status"] == "error":
                    filters.pop("success_level", None)
                href = links.tests(**filters)
            cells.append(Cell(text, href, _tooltip(v)))
        out.rows.append(cells)
    return out


def overview_tables(report: dict[str, Any], links: Links) -> list[Table]:
    """The overview's counts under the headline (attempts by status, done tests by success level):
    the model's tables, each count linked to its tests."""
    return [linked_table(t, links) for t in counts_section(report).tables]


def section_view(report: dict[str, Any], section: str, links: Links,
                 base: dict[str, str] | None = None) -> tuple[list[Table], str] | None:
    """A section of the report as the viewer shows it: the report's own tables (the table model, as
    Markdown and HTML show them) and note; None for a key the table model has no section for."""
    for s in model_tables(report):
        if s.id == section:
            return [linked_table(t, links, base) for t in s.tables], s.note
    return None


def report_sections(report: dict[str, Any]) -> list[str]:
    """The report's sections a person can open, in the report's order: its keys the table model has
    a section for (the headline is the overview)."""
    ids = {s.id for s in model_tables(report)}
    return [k for k in report if k in ids and k not in _OVERVIEW]


def section_title(key: str) -> str:
    """A section's title in words (a key without one is spelled out, never shown raw)."""
    return SECTION_TITLES.get(key) or key.replace("_", " ").capitalize()
