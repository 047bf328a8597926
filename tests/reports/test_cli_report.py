"""The `report` command's filters: every axis, typos exit 2 naming the value, and the HTML layout."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pilotbench.cli import main
from pilotbench.store.sqlite import SQLiteStore

from ..factories import A, C, report_record as rec


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def db(store):
    return str(store.path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "sim/wek"], "error: no results with model 'sim/wek' in the store; models present: gpt-x, "),
        (["--compare", f"{A}:sim/nosuch"], "error: no results with model 'sim/nosuch' in the store"),
        (["--compare", "prompt:baseline:prompt:optimum"], "error: no results with prompt type 'optimum'"),
        (["--prompt-type", "basline"], "error: no results with prompt type 'basline'"),
        (["--task-type", "simple"], "error: no results with task type 'simple'"),
        (["--difficulty", "trivial"], "error: no results with difficulty 'trivial'"),
        (["--tool-success-rate", "0.5"], "error: no results with tool success rate 0.5 in the store; tool success rates present: 0.6, 0.8"),
        (["--tool-success-rate", "high"], "error: --tool-success-rate takes numbers; got 'high'"),
        (["--seed", "7"], "error: no results with seed 7 in the store; seeds present: 42"),
        (["--seed", "x"], "error: --seed takes integers; got 'x'"),
        (["--severity", "light"], "error: no results with severity 'light'"),
        (["--max-turns", "3"], "error: no results with max turns 3 in the store; max-turns values present: 10"),
        (["--suite-version", "s9"], "error: no results with suite version 's9'"),
        (["--run-id", "run-9"], "error: no results with run id 'run-9'"),
        (["--by", "flow"], "error: unknown breakdown 'flow'; choose from workflow"),
        (["--compare", A], "error: --compare takes A:B"),
    ],
)
def test_filter_typos_exit_2_naming_the_value(db, capsys, args, message):
    code, out, err = run_cli(capsys, "report", "--db", db, *args)
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_filters_for_every_axis(db, capsys):
    code, out, err = run_cli(capsys, "report", "--db", db, "--format", "json", "--model", f"{A},{C}",
                             "--prompt-type", "baseline", "--task-type", "simple_task", "--difficulty", "easy",
                             "--tool-success-rate", "0.8", "--seed", "42", "--severity", "severe",
                             "--max-turns", "10", "--suite-version", "s1", "--run-id", "run-1")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["total"] == 4 and rep["models"] == [C, A]
    assert list(rep["baseline"]) == [C, A]  # one rate left: no split
    assert rep["filters"]["tool_success_rates"] == [0.8] and rep["filters"]["seeds"] == [42]


def test_pool_and_workflow_flags(db, capsys):
    code, out, _ = run_cli(capsys, "report", "--db", db, "--format", "json")
    split = json.loads(out)
    code, out, _ = run_cli(capsys, "report", "--db", db, "--format", "json", "--pool", "--by", "workflow",
                           "--cluster", "workflow")
    pooled = json.loads(out)
    assert code == 0
    assert f"{A} [rate=0.6]" in split["baseline"] and A in pooled["baseline"]
    assert pooled["pooled"] is True and pooled["statistics"]["cluster"] == "workflow"
    assert "by_workflow" in pooled["baseline"][A]


def _overflow_probe(html: str) -> str:
    """The page, with a script that reports in its title how many tables are wider than the page."""
    script = (
        "<script>window.addEventListener('load',()=>{const w=document.documentElement.clientWidth;"
        "const wide=[...document.querySelectorAll('table')].filter(t=>t.getBoundingClientRect().right>w+1).length;"
        "document.title='LAYOUT '+wide+' '+document.documentElement.scrollWidth+' '+w;});</script></body>"
    )
    return html.replace("</body>", script)


@pytest.mark.parametrize("width", [1280, 700])
def test_html_tables_fit_the_page_in_chromium(tmp_path: Path, capsys, width):
    """At a desktop width and at an A4 page's printable width (700 CSS px), no table is wider than the page:
    cells wrap, wide tables with few rows are transposed, wide tables with many rows split."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    prompts = ["baseline", "cot", "optimal"] + [f"flawed_{f}" for f in (
        "sequence_disorder", "tool_misuse", "parameter_error", "missing_step", "redundant_operations",
        "logical_inconsistency", "semantic_drift")]
    models = [f"provider-x/family-{s}b-instruct-long-name" for s in (1, 3, 7, 8, 14, 32, 70, 72, 110, 235, 405, 671)]
    rows = [rec(m, p, "simple_task", "easy", r, i, level="failure" if i % 2 else "full_success",
                category=["tool_selection_errors", "timeout_errors", "dependency_errors", "other_errors"][i % 4])
            for m in models for p in prompts for r in (0.9, 0.6) for i in range(2)]
    db = tmp_path / "wide.db"
    with SQLiteStore(db) as st:
        st.write(rows)
    html = tmp_path / "report.html"
    assert run_cli(capsys, "report", "--db", str(db), "--format", "html", "--out", str(html))[0] == 0
    probe = tmp_path / "probe.html"
    probe.write_text(_overflow_probe(html.read_text()))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, f"--window-size={width},1000", "--virtual-time-budget=5000",
                          "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=90)
    assert dom.returncode == 0, dom.stderr[-2000:]
    import re

    found = re.search(r"<title>LAYOUT (\d+) (\d+) (\d+)</title>", dom.stdout)
    assert found, dom.stdout[:500]
    wide, doc_width, view_width = (int(g) for g in found.groups())
    assert wide == 0 and doc_width <= view_width, found.group(0)
