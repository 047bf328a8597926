"""The command line, in process: the commands' output and the one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pilotbench.benchmark.types import PROMPT_TYPES
from pilotbench.cli import main
from pilotbench.store.sqlite import SQLiteStore


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    db = tmp_path / "r.db"
    code, out, err = run_cli(capsys, "run", "--model", "sim/weak,sim/strong", "--prompt-types", "all_with_flawed",
                             "--task-types", "all", "--db", str(db), "--no-progress")
    assert code == 0, err
    return db


def test_run_prints_a_summary_and_stores_100_tests_per_model(small_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SQLiteStore(small_db, create=False) as store:
        per_model = dict(store.query("SELECT model, COUNT(*) FROM results WHERE status='done' GROUP BY model"))
    assert per_model == {"sim/weak": 100, "sim/strong": 100}


def test_report_json_has_totals_and_per_model(small_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "report", "--db", str(small_db), "--format", "json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["total"] == 200
    assert rep["by_status"]["done"] == 200
    assert sum(rep["by_success_level"].values()) == 200
    strong, weak = rep["baseline"]["sim/strong"], rep["baseline"]["sim/weak"]
    assert strong["success"]["n"] == 10  # 5.1 is the baseline prompt: 100 tests over 10 prompt types
    assert rep["prompt_sensitivity"]["sim/strong"]["flawed_mean"]["mean"] is not None
    low, high = strong["success"]["ci95"]
    assert 0 <= low <= strong["success"]["rate"] <= high <= 1


def test_report_markdown_shows_every_section(small_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "report", "--db", str(small_db), "--format", "md")
    assert code == 0
    for heading in ("5.1", "5.2", "5.3", "5.4", "5.5"):
        assert f"## {heading}" in out
    assert "n=10" in out and "## How to read this report" in out and "## Paired comparisons" in out


def test_exports_agree_with_the_store(small_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonl = tmp_path / "out.jsonl"
    assert run_cli(capsys, "export", "--db", str(small_db), "--format", "jsonl", "--out", str(jsonl))[0] == 0
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) == 200
    required = {"id", "model", "prompt_type", "task_type", "difficulty", "tool_success_rate", "instance", "status",
                "success_level", "turns", "workflow_adherence", "tool_coverage", "efficiency", "error_category"}
    assert required <= set(rows[0])
    assert {r["status"] for r in rows} == {"done"}
    parquet = tmp_path / "out.parquet"
    assert run_cli(capsys, "export", "--db", str(small_db), "--format", "parquet", "--out", str(parquet))[0] == 0
    assert pq.read_table(parquet).num_rows == 200
    legacy = tmp_path / "legacy.json"
    assert run_cli(capsys, "export", "--db", str(small_db), "--format", "legacy-json", "--out", str(legacy))[0] == 0
    tree = json.loads(legacy.read_text())
    assert tree["summary"]["total_tests"] == 200
    leaf = tree["models"]["sim/strong"]["by_prompt_type"]["baseline"]["by_tool_success_rate"]["0.8"]["by_difficulty"]["easy"]["by_task_type"]["simple_task"]
    assert leaf["total"] == 2


def test_second_run_with_the_same_seed_repeats_nothing(small_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "run", "--model", "sim/weak,sim/strong", "--prompt-types", "all_with_flawed",
                           "--task-types", "all", "--db", str(small_db), "--no-progress")
    assert code == 0
    assert "already done 200, completed 0" in " ".join(out.split())


def test_prompt_renders_ten_different_prompts(capsys: pytest.CaptureFixture[str]) -> None:
    seen = set()
    for pt in PROMPT_TYPES:
        code, out, _ = run_cli(capsys, "prompt", "--task-type", "data_pipeline", "--difficulty", "medium",
                               "--instance", "3", "--prompt-type", pt, "--format", "json")
        assert code == 0
        payload = json.loads(out)
        assert [m["role"] for m in payload["messages"]] == ["system", "user"]
        assert len(payload["tools"]) == 30
        seen.add(payload["messages"][1]["content"])
    assert len(seen) == 10


def test_tasks_lists_the_suite(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tasks", "--num-instances", "4", "--show", "api_integration:1")
    assert code == 0
    assert "multi_stage_pipeline" in out and "api_integration-42-00001" in out


def test_keys_shows_the_guides_prompt_affinity(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for i, suffix in enumerate(("f4bb", "e77b", "c3b9"), 1):
        monkeypatch.setenv(f"IDEALAB_API_KEY_{i}", f"fake-idealab-key-{suffix}")
    monkeypatch.setenv("IDEALAB_BASE_URL", "http://127.0.0.1:9/v1")
    code, out, _ = run_cli(capsys, "keys", "--model", "qwen2.5-3b-instruct", "--key-policy", "prompt-affinity")
    assert code == 0
    lines = {line.split("->")[0].strip(): line.split("->")[1].strip() for line in out.splitlines() if "->" in line}
    assert lines["baseline"] == "...f4bb" and lines["cot"] == "...e77b" and lines["optimal"] == "...c3b9"
    for p in PROMPT_TYPES[3:]:
        assert lines[p] == "...f4bb, ...e77b, ...c3b9 (round-robin)"
    assert "fake-idealab-key" not in out


def test_models_lists_the_catalog_without_secrets(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "fake-azure-key-9z9z")
    code, out, _ = run_cli(capsys, "models")
    assert code == 0
    assert "sim/strong" in out and "gpt-4o-mini" in out
    assert "...9z9z" in out and "fake-azure-key" not in out
    assert "NOT SET" in out  # the IdealLab keys are not in this environment


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "dry.db"
    code, out, _ = run_cli(capsys, "run", "--model", "sim/weak,sim/strong", "--prompt-types", "all", "--dry-run", "--db", str(db))
    assert code == 0
    assert "30 tests" in " ".join(out.split()) or "plan: 60 tests" in " ".join(out.split())
    assert "ETA" in out
    assert not db.exists()


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["run", "--model", "gpt-9000"], "unknown model 'gpt-9000'"),
        (["run", "--prompt-types", "baseline,wizard"], "unknown prompt type 'wizard'"),
        (["run", "--task-types", "cooking"], "unknown task type 'cooking'"),
        (["run", "--difficulty", "impossible"], "unknown difficulty 'impossible'"),
        (["run", "--num-instances", "-3"], "--num-instances"),
        (["run", "--tool-success-rate", "1.5"], "between 0 and 1"),
        (["run", "--key-policy", "random"], "--key-policy"),
        (["prompt", "--task-type", "nope"], "unknown task type 'nope'"),
        (["prompt", "--instance", "-1"], "--instance"),
        (["keys", "--model", "nope"], "unknown model 'nope'"),
        (["run", "--config", "/nonexistent/pilotbench.toml"], "not found"),
        (["frobnicate"], "No such command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], fragment: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "pilotbench-results").exists()  # nothing written


def test_report_on_a_file_that_is_not_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("plain text")
    code, _, err = run_cli(capsys, "report", "--db", str(bogus))
    assert code == 2 and err.strip() == f"error: {bogus} is not a SQLite database"
    assert bogus.read_text() == "plain text"


def test_html_report_renders_in_headless_chromium(small_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The HTML report is one self-contained file that a browser renders with its images and no console errors."""
    import shutil
    import subprocess

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    html = tmp_path / "report.html"
    assert run_cli(capsys, "report", "--db", str(small_db), "--format", "html", "--out", str(html))[0] == 0
    text = html.read_text()
    assert "http://" not in text and "https://" not in text.replace("https://www.w3.org", "")
    # Count the images the browser actually decoded, from inside the page, and print it to the DOM.
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace(
        "</body>",
        "<script>window.addEventListener('load',()=>{const imgs=[...document.images];"
        "const ok=imgs.filter(i=>i.complete&&i.naturalWidth>0).length;"
        "document.title='IMAGES '+ok+'/'+imgs.length;});</script></body>",
    ))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chrome-profile'}", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([chromium, *flags, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=90)
    assert dom.returncode == 0, dom.stderr[-2000:]
    import re

    title = re.search(r"<title>IMAGES (\d+)/(\d+)</title>", dom.stdout)
    assert title, dom.stdout[:500]
    ok, total = int(title.group(1)), int(title.group(2))
    assert total >= 3 and ok == total
    console_errors = [line for line in dom.stderr.splitlines() if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line)]
    assert not console_errors, console_errors
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *flags, "--window-size=1280,2000", f"--screenshot={shot}", html.as_uri()],
                   capture_output=True, text=True, timeout=90)
    assert shot.exists() and shot.stat().st_size > 10_000


def test_status_shows_pending_against_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "st.db"
    assert run_cli(capsys, "run", "--model", "sim/weak", "--num-instances", "1", "--db", str(db), "--no-progress")[0] == 0
    code, out, _ = run_cli(capsys, "status", "--db", str(db))
    assert code == 0
    row = next(line for line in out.splitlines() if "finished" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[1:] == ["finished", "5", "5", "0", "0"]
    # delete two results: the plan now has two pending tests
    import sqlite3

    con = sqlite3.connect(db)
    con.execute("DELETE FROM results WHERE rowid IN (SELECT rowid FROM results LIMIT 2)")
    con.commit()
    con.close()
    out = run_cli(capsys, "status", "--db", str(db))[1]
    row = next(line for line in out.splitlines() if "finished" in line)
    assert [c.strip() for c in row.split("│") if c.strip()][-1] == "2"
