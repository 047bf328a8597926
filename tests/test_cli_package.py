"""The command line stays thin: its entry module is short, no command module runs SQL, `run` and
`suite run` go through `api.run_async`, and `status` and the viewer agree on which runs are dead."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pilotbench.cli
from pilotbench import api
from pilotbench.cli import main
from pilotbench.store.sqlite import SQLiteStore
from pilotbench.view.data import ViewData

CLI_DIR = Path(pilotbench.cli.__file__).parent


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no ./pilotbench.toml, results under tmp_path


def test_the_entry_module_is_short_and_every_command_is_registered() -> None:
    entry = (CLI_DIR / "entry.py").read_text(encoding="utf-8")
    assert len(entry.splitlines()) < 150
    assert set(pilotbench.cli.app.commands) == {
        "run", "suite", "prompt", "tasks", "models", "keys", "report", "export", "status", "view", "mock-server",
        "version",
    }


def test_no_cli_module_runs_sql() -> None:
    sql = re.compile(r"\.execute\(|\.executemany\(|\bSELECT\b|\bINSERT\b|\bUPDATE\b|\bstore\.(query|count)\(")
    found = [f"{p.name}: {line.strip()}" for p in sorted(CLI_DIR.glob("*.py"))
             for line in p.read_text(encoding="utf-8").splitlines() if sql.search(line)]
    assert found == []


def _count_run_async(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    calls: list[dict] = []
    real = api.run_async

    async def counting(plan, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return await real(plan, **kwargs)

    monkeypatch.setattr(api, "run_async", counting)
    return calls


def test_run_and_suite_run_go_through_the_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    calls = _count_run_async(monkeypatch)
    db = tmp_path / "r.db"
    assert main(["run", "-m", "sim/weak", "-n", "1", "--db", str(db), "--no-progress", "--request-timeout", "7"]) == 0
    assert len(calls) == 1
    settings = calls[0]["settings"]  # one value, built once from the flags
    assert settings.request_timeout == 7.0 and settings.key_policy is None and settings.adaptive is False
    assert "planned 5," in capsys.readouterr().out
    suite = tmp_path / "s.toml"
    suite.write_text(textwrap.dedent("""
        [suite]
        name = "two"
        [[experiment]]
        name = "a"
        models = ["sim/strong"]
        num_instances = 1
    """), encoding="utf-8")
    assert main(["suite", "run", str(suite), "--db", str(db), "--no-progress", "--adaptive"]) == 0
    assert len(calls) == 2 and calls[1]["settings"].adaptive is True
    assert "completed 5," in capsys.readouterr().out


def _gone_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_status_and_the_viewer_agree_that_a_killed_run_is_dead(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    host = socket.gethostname()
    with SQLiteStore(db) as store:
        store.start_run("run-killed", 10, {"pid": _gone_pid(), "host": host})
        store.start_run("run-alive", 10, {"pid": os.getpid(), "host": host})
        store.start_run("run-elsewhere", 10, {"pid": 1, "host": host + "-other"})
        store.start_run("run-old", 10, {})
    assert main(["status", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3 and "run-" in line}
    assert "dead" in rows["run-killed"]
    assert "dead" not in rows["run-alive"] + rows["run-elsewhere"] + rows["run-old"]
    with SQLiteStore(db, create=False) as store:
        data = ViewData(store)
        listed = {r["run_id"]: r["status"] for r in data.runs()}
        assert listed == {"run-killed": "dead", "run-alive": "running", "run-elsewhere": "running",
                          "run-old": "running"}
        killed = data.run("run-killed")
        assert killed is not None and killed["status"] == "dead" and killed["elapsed_s"] is None


def test_run_settings_are_one_value_or_the_same_keywords_one_by_one(tmp_path: Path) -> None:
    from dataclasses import FrozenInstanceError

    from pilotbench.errors import UsageError
    from pilotbench.runner.runtime import build_runtime
    from pilotbench.runner.settings import RunSettings

    plan = api.build_plan("sim/strong", num_instances=1)
    params = {"temperature": 0.1}
    settings = RunSettings(params=params, max_concurrency=3)
    params["temperature"] = 0.9  # the settings keep what they were given
    whole = api.run(plan, db=tmp_path / "a.db", settings=settings)
    by_one = api.run(plan, db=tmp_path / "b.db", params={"temperature": 0.1}, max_concurrency=3)
    assert {r.params for r in whole.records} == {r.params for r in by_one.records} == {'{"temperature": 0.1}'}
    assert [lane["limit"] for lane in whole.lane_stats.values()] == [3]
    with pytest.raises(UsageError, match="not both"):
        api.run(plan, db=tmp_path / "c.db", settings=settings, rpm=60.0)
    with pytest.raises(FrozenInstanceError):
        settings.rpm = 60.0  # type: ignore[misc]
    # build_runtime takes the value, or any of its fields over it
    rt = build_runtime(load_sim_config(), ["sim/strong"], settings, rpm=60.0, connect=False)
    [lane] = rt.models["sim/strong"].pool.lanes
    assert lane.max_concurrency == 3 and lane.rpm_bucket is not None and rt.models["sim/strong"].params["temperature"] == 0.1
    with pytest.raises(TypeError):
        build_runtime(load_sim_config(), ["sim/strong"], settings, rpms=60.0)


def load_sim_config():  # type: ignore[no-untyped-def]
    from pilotbench.config import load_config

    return load_config(None)
