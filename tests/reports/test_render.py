from __future__ import annotations

import csv
import io
import json
import re

import pytest

from pilotbench.reports import REPORT_FORMATS, build_report, render, to_csv, to_html, to_markdown
from pilotbench.reports.render import fit_width, fmt_rate, fmt_stat, tables, transpose_wide
from pilotbench.reports.render.model import _table

from ..factories import A, B

A8 = f"{A} [rate=0.8]"


@pytest.fixture()
def report(store):
    return build_report(store, prices={A: (1.0, 2.0)}, compare=[(A, B)])


SECTION_HEADERS = ("## Summary", "## How to read this report", "## 5.1 Baseline", "## 5.2 Scale",
                   "## 5.3 Flaw robustness", "## 5.4 Tool reliability", "## 5.5 Prompt sensitivity",
                   "## Error categories", "## Paired comparisons", "## Operations", "## Requested comparisons")


def test_markdown_sections_and_cells(report):
    md = to_markdown(report)
    for h in SECTION_HEADERS:
        assert h in md
    a = report["baseline"][A8]
    assert fmt_rate(a["success"]) in md and fmt_rate(a["success"]).endswith("n=3")
    assert re.search(r"\| qwen2\.5-3b-instruct \[rate=0\.8\] \| 3 \| 3 \|", md)
    assert "| Tool success rates | 0.8 (13), 0.6 (1) |" in md
    assert "Rows are split by tool success rate" in md
    assert "Tests with the `baseline` prompt type only" in md
    assert "Warning: the rows do not cover the same task types and difficulties" in md
    assert "](docs/scoring.md)" in md
    assert "| Precision |" in md and "**Success by difficulty**" in md
    assert fmt_stat(report["prompt_sensitivity"][A8]["spread"]) in md


def test_how_to_read_defines_every_column(report):
    guide = next(s for s in tables(report) if s.id == "how_to_read")
    terms = {row[0].text for row in guide.tables[0].rows}
    assert {"Success", "Full", "Partial", "Failure", "Weighted score", "Tool coverage", "Workflow adherence",
            "Efficiency", "Precision", "Flawed mean", "Spread", "Intervals", "Paired comparisons"} <= terms
    assert guide.link is not None and guide.link.href == "docs/scoring.md"


def test_renderers_agree(report):
    """Every 5.1 row is in each format, with the same figures."""
    md, html = to_markdown(report), to_html(report, plots=False)
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    back = json.loads(render(report, "json"))
    for label, e in report["baseline"].items():
        cell = fmt_rate(e["success"])
        assert label in md and label in html and cell in md and cell in html
        hit = [r for r in rows if r["section"] == "baseline" and r["model"] == e["model"] and r["key"] == "success"
               and r["conditions"] == ";".join(f"{k}={v:g}" for k, v in e["conditions"].items())]
        assert len(hit) == 1 and float(hit[0]["rate"]) == pytest.approx(e["success"]["rate"])
        assert back["baseline"][label]["success"] == e["success"]
    paired = [r for r in rows if r["section"] == "paired" and r["key"] == "diff"]
    assert len(paired) == len(report["paired"]) > 0


def test_csv_long_format(report):
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert list(rows[0]) == ["section", "model", "group", "key", "n", "rate", "ci_low", "ci_high", "conditions"]
    hit = [r for r in rows if r["section"] == "baseline" and r["model"] == A and r["key"] == "success"
           and r["conditions"] == "tool_success_rate=0.8"]
    assert len(hit) == 1
    assert hit[0]["n"] == "3" and float(hit[0]["rate"]) == pytest.approx(2 / 3)
    assert 0.0 < float(hit[0]["ci_low"]) < 2 / 3 < float(hit[0]["ci_high"]) <= 1.0
    for key in ("precision", "efficiency", "tool_coverage", "workflow_adherence", "weighted_score"):
        assert any(r["section"] == "baseline" and r["key"] == key for r in rows)
    assert [r["rate"] for r in rows if r["section"] == "conditions" and r["group"] == "tool_success_rate"] == ["13", "1"]
    sections = {r["section"] for r in rows}
    assert {"summary", "conditions", "baseline", "scale", "flaw_robustness", "tool_reliability", "prompt_sensitivity",
            "error_categories", "paired", "operations", "comparisons"} <= sections


def test_html_self_contained(report):
    html = to_html(report)
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<img src="data:image/png;base64,') >= 4
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html
    assert "<style>" in html
    assert fmt_rate(report["baseline"][A8]["success"]) in html
    assert "5.4 Tool reliability" in html
    assert 'href="docs/scoring.md"' in html and 'id="how_to_read"' in html
    assert "nowrap" not in html and "@media print" in html


def test_wide_tables_with_few_rows_are_transposed():
    def texts(row):
        return [c.text for c in row]

    wide = _table("c", ["Model"] + [f"h{i}" for i in range(10)],
                  [["m1"] + [f"a{i}" for i in range(10)], ["m2"] + [f"b{i}" for i in range(10)]])
    t = transpose_wide(wide)
    assert t.transposed and t.headers == ["Model", "m1", "m2"]
    assert texts(t.rows[0]) == ["h0", "a0", "b0"] and len(t.rows) == 10
    narrow = _table("", ["Model", "x"], [["m1", "1"]])
    assert transpose_wide(narrow) is narrow
    many_rows = _table("c", wide.headers, [texts(r) for r in wide.rows] * 6)
    assert transpose_wide(many_rows) is many_rows
    parts = fit_width(many_rows)  # too many rows to transpose: split into parts
    assert [p.caption for p in parts] == ["c (part 1 of 2)", "c (part 2 of 2)"]
    assert parts[0].headers == ["Model", "h0", "h1", "h2", "h3", "h4", "h5"]
    assert parts[1].headers == ["Model", "h6", "h7", "h8", "h9"]
    assert texts(parts[1].rows[0]) == ["m1", "a6", "a7", "a8", "a9"] and len(parts[1].rows) == 12
    assert fit_width(narrow) == [narrow] and fit_width(wide)[0].transposed


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


def test_markdown_opens_on_the_headline_and_ends_with_the_bookkeeping(report, store):
    """The first table is per model over every done test (success, full, weighted, N); operations
    and reply shapes come last. The headline's N and success count are the store's own."""
    md = to_markdown(report)
    heads = re.findall(r"^## (.+)$", md, re.M)
    assert heads[0] == "Results per model"
    assert heads[-2:] == ["Operations", "Reply shapes"]
    first_table = md.split("## Results per model", 1)[1].split("\n| ", 1)[1].splitlines()[0]
    assert first_table.rstrip(" |").split(" | ") == ["Model", "N", "Instances", "Success", "Full", "Weighted score"]
    checked = 0
    for label, e in report["headline"].items():
        assert set(e["conditions"]) <= {"tool_success_rate"}  # rows split by the rate, as the store differs in it
        rate = e["conditions"].get("tool_success_rate")
        n, k = store.query("SELECT COUNT(DISTINCT test_id), COUNT(DISTINCT CASE WHEN success_level IN "
                           "('full_success', 'partial_success') THEN test_id END) FROM results "
                           "WHERE status = 'done' AND model = ? AND (? IS NULL OR ABS(tool_success_rate - ?) < 1e-9)",
                           [e["model"], rate, rate])[0]
        assert e["n"] == n and round(e["success"]["rate"] * n) == k, label
        assert sum(r["n"] for r in e["by_prompt_type"].values()) == n
        assert sum(r["n"] for r in e["by_difficulty"].values()) == n
        assert f"| {label} | {n} |" in md
        checked += 1
    assert checked == 4
    # the CSV carries the same figures
    rows = [r for r in csv.reader(io.StringIO(to_csv(report))) if r[0] == "headline"]
    assert {r[1] for r in rows} == {e["model"] for e in report["headline"].values()}


def test_the_table_model_is_typed_and_its_kinds_hold(report):
    """Every table of the report is the typed model: its columns have a kind, its rows as many
    cells as columns; a player column holds the report's models, a rate column rates."""
    from pilotbench.reports.render.model import KINDS, Cell, Section

    rate = re.compile(r"\d\.\d\d \[\d\.\d\d, \d\.\d\d\] n=\d+|– n=\d+|–")
    kinds_seen = set()
    for s in tables(report):
        assert isinstance(s, Section)
        for t in s.tables:
            assert t.headers == [c.title for c in t.columns]
            for i, col in enumerate(t.columns):
                assert col.kind in KINDS, (s.id, col)
                kinds_seen.add(col.kind)
                for row in t.rows:
                    assert len(row) == len(t.columns) and isinstance(row[i], Cell)
                    if col.kind == "player":
                        assert row[i].text.partition(" [")[0] in report["models"], (s.id, col, row[i])
                    if col.kind == "rate":
                        assert rate.fullmatch(row[i].text), (s.id, col, row[i])
    assert {"player", "count", "rate", "mean", "stat", "diff", "p"} <= kinds_seen


def test_every_figure_of_the_tables_names_exactly_the_tests_it_counts(report, store):
    """A figure cell carries its figure and the tests it is about (as the tests list's filters): a
    rate's N tests (or, for a success level, the k at that level), an error category's count, a
    mean's row (its N: those of them with the score)."""
    columns = {"model", "prompt_type", "task_type", "difficulty", "seed", "max_turns", "suite_version", "severity",
               "success_level", "error_category"}

    def done_tests(filters):
        where, params = ["status = 'done'"], []
        for k, v in filters.items():
            if k == "tool_success_rate":
                where.append("ABS(tool_success_rate - ?) < 1e-9")
                params.append(float(v))
            else:
                assert k in columns, k
                where.append(f"CAST({k} AS TEXT) = ?")
                params.append(v)
        return store.query(f"SELECT COUNT(DISTINCT test_id) FROM results WHERE {' AND '.join(where)}", params)[0][0]

    checked = set()
    for s in tables(report):
        for t in s.tables:
            for row in t.rows:
                for cell in row[1:]:
                    if cell.filters is None or cell.value is None:
                        continue
                    v = cell.value
                    if isinstance(v, dict) and v.get("rate") is not None:
                        want = round(v["rate"] * v["n"]) if "success_level" in cell.filters else v["n"]
                    elif isinstance(v, dict) and "mean" in v:  # over the row's tests that have the score
                        assert v["n"] <= done_tests(cell.filters) == done_tests(row[0].filters), (s.id, cell)
                        continue
                    elif isinstance(v, tuple):  # an error category's count and share
                        want = v[0]
                    else:
                        want = v
                    assert done_tests(cell.filters) == want, (s.id, t.caption, cell)
                    checked.add(s.id)
    assert {"headline", "baseline", "flaw_robustness", "tool_reliability", "prompt_sensitivity", "error_categories"} <= checked


_FIGURE = re.compile(r"(?P<v>[+-]?\d+\.\d\d|–) \[(?P<lo>[+-]?\d+\.\d\d), (?P<hi>[+-]?\d+\.\d\d)\](?: n=(?P<n>\d+))?|– n=(?P<n0>\d+)")


def _markdown_figures(md: str, titles: dict[str, str]) -> list[tuple[str, str, re.Match[str]]]:
    """Every figure with an interval (or an empty one, `– n=0`) shown in the Markdown tables, with the
    section id it is shown in and its row's label."""
    found = []
    section = ""
    for line in md.splitlines():
        if line.startswith("## "):
            section = titles[line[3:]]
        elif line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip()[1:-1].split(" | ")]
            found += [(section, cells[0], m) for c in cells if (m := _FIGURE.fullmatch(c))]
    return found


def _same(shown: str, raw: str, sign: bool = False) -> bool:
    return shown == (f"{float(raw):+.2f}" if sign else f"{float(raw):.2f}")


def test_every_figure_the_markdown_shows_has_its_csv_row(report):
    """Each rate, mean, derived statistic and difference a Markdown table shows (value, interval, N)
    is a row of the long CSV in the same section, unrounded there."""
    titles = {s.title: s.id for s in tables(report)}
    md = to_markdown(report)
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    shown = _markdown_figures(md, titles)
    seen_sections = set()
    for section, label, m in shown:
        n = m["n"] or m["n0"]
        hits = [r for r in rows if r["section"] == section and (n is None or r["n"] == n)]
        if m["n0"] is not None:  # an empty cell: the rate is absent, its N is not
            hits = [r for r in hits if r["rate"] == ""]
        else:
            sign = m["v"].startswith(("+", "-")) or m["lo"].startswith(("+", "-"))
            hits = [r for r in hits if r["ci_low"] != "" and _same(m["lo"], r["ci_low"], sign) and _same(m["hi"], r["ci_high"], sign)
                    and (m["v"] == "–" and r["rate"] == "" or r["rate"] != "" and _same(m["v"], r["rate"], sign))]
        assert hits, (section, label, m[0])
        seen_sections.add(section)
    assert {"headline", "baseline", "scale", "flaw_robustness", "tool_reliability", "prompt_sensitivity", "paired",
            "comparisons", "reply_shapes"} <= seen_sections
    assert len(shown) > 100


def test_the_csv_is_the_tables_data_in_the_long_formats_order(report):
    """The long CSV writes the data the table cells hold, one row per figure: an entry's figures
    together (5.1: its success levels, means, then task types and difficulties), the headline's success
    levels the table leaves out (partial, failure) included, and a comparison's five figures."""
    from pilotbench.reports.render.longcsv import CSV_SECTIONS, figures

    held = [d for s in tables(report) for t in s.tables for row in t.rows for c in row for d in c.data]
    rows = list(csv.reader(io.StringIO(to_csv(report))))[1:]
    assert len(rows) == len(held) == len(figures(tables(report)))
    assert [CSV_SECTIONS.index(r[0]) for r in rows] == sorted(CSV_SECTIONS.index(r[0]) for r in rows)
    e = report["baseline"][A8]
    mine = [i for i, r in enumerate(rows) if r[0] == "baseline" and r[1] == A and r[8] == "tool_success_rate=0.8"]
    assert mine == list(range(mine[0], mine[0] + len(mine)))  # together
    keys = [rows[i][3] for i in mine]
    assert keys[:11] == ["success", "full_success", "partial_success", "failure", "weighted_score", "tool_coverage",
                         "workflow_adherence", "efficiency", "precision", "avg_turns", "avg_tool_calls"]
    assert keys[11:] == list(e["by_task_type"]) + list(e["by_difficulty"])
    head = [r[3] for r in rows if r[0] == "headline" and r[1] == A and r[8] == "tool_success_rate=0.8" and r[2] == "overall"]
    assert head == ["success", "full_success", "partial_success", "failure", "weighted_score"]
    c = report["comparisons"][0]
    comp = [r for r in rows if r[0] == "comparisons"][:5]
    assert [r[3] for r in comp] == ["diff", "mean_a", "mean_b", "p_value", "clusters"]
    assert comp[0][1] == f"{c['a']} vs {c['b']}" and float(comp[0][5]) == c["diff"] and comp[0][4] == str(c["n_pairs"])


def test_a_missing_figure_has_no_csv_row_and_a_count_keeps_its_n(report):
    """A cell with no figure (a model not run at a rate) holds no data; the summary's counts are
    their own N; an operation's latency is out of its number of latencies."""
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    for s in tables(report):
        for t in s.tables:
            for row in t.rows:
                for cell in row:
                    if cell.text == "–":
                        assert cell.data == () or all(d.value is None for d in cell.data), (s.id, cell)
    total = next(r for r in rows if r["section"] == "summary" and r["key"] == "total")
    assert total["n"] == total["rate"] == str(report["total"])
    o = report["operations"][0]
    p50 = next(r for r in rows if r["section"] == "operations" and r["key"] == "latency_p50")
    assert p50["n"] == str(o["latency_calls"]) and p50["group"] == f"{o['provider']}/{o['key_label']}"
