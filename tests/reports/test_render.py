from __future__ import annotations

import csv
import io
import json
import re

import pytest

from pilotbench.reports import REPORT_FORMATS, build_report, render, to_csv, to_html, to_markdown

from .conftest import A, B


@pytest.fixture()
def report(store):
    return build_report(store, prices={A: (1.0, 2.0)}, compare=[(A, B)])


SECTION_HEADERS = ("## Summary", "## 5.1 Baseline", "## 5.2 Scale", "## 5.3 Flaw robustness",
                   "## 5.4 Tool reliability", "## 5.5 Prompt sensitivity", "## Error categories",
                   "## Operations", "## Comparisons")


def test_markdown_sections_and_cells(report):
    md = to_markdown(report)
    for h in SECTION_HEADERS:
        assert h in md
    assert "n=" in md
    assert "0.50 [0.22, 0.78] n=8" in md  # model A success, 4 of 8
    assert re.search(r"\| qwen2\.5-3b-instruct \| 8 \|", md)


def test_csv_long_format(report):
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert list(rows[0]) == ["section", "model", "group", "key", "n", "rate", "ci_low", "ci_high"]
    hit = [r for r in rows if r["section"] == "baseline" and r["model"] == A and r["key"] == "success"]
    assert len(hit) == 1
    assert hit[0]["n"] == "8" and float(hit[0]["rate"]) == 0.5
    assert 0.2 < float(hit[0]["ci_low"]) < 0.5 < float(hit[0]["ci_high"]) < 0.8
    sections = {r["section"] for r in rows}
    assert {"summary", "baseline", "scale", "flaw_robustness", "tool_reliability", "prompt_sensitivity",
            "error_categories", "operations", "comparisons"} <= sections


def test_html_self_contained(report):
    html = to_html(report)
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<img src="data:image/png;base64,') >= 4
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html
    assert "<style>" in html
    assert "0.50 [0.22, 0.78] n=8" in html
    assert "5.4 Tool reliability" in html


def test_html_without_plots_and_empty_report(store, tmp_path):
    from pilotbench.store.sqlite import SQLiteStore

    html = to_html(build_report(store), plots=False)
    assert "data:image/png" not in html
    with SQLiteStore(tmp_path / "empty.db") as st:
        empty = build_report(st)
    assert "<h1>" in to_html(empty)
    assert "## 5.1 Baseline" in to_markdown(empty)
    to_csv(empty)


def test_render_dispatch(report):
    assert set(REPORT_FORMATS) == {"markdown", "csv", "json", "html"}
    assert json.loads(render(report, "json"))["total"] == 16
    assert render(report, "markdown") == to_markdown(report)
    with pytest.raises(ValueError):
        render(report, "pdf")
