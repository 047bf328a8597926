"""Runs that say what happened: `status` calls a run of only errors failed, the summary of `run`
gives advice that fits the cause, covers the whole plan after a resume, says "interrupted", names
where to look next, and a model name pointed at another server is warned about."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotbench.cli.summary import _print_summary
from pilotbench.limits import Lane
from pilotbench.mock_server import KeyLimits, MockConfig, MockServerThread
from pilotbench.runner.outcome import learnt_limits, run_state
from pilotbench.runner.scheduler import RunSummary

from .test_cli_run import cli  # one way to call the CLI in process


GOOD = "sk-test-FAKE-good-1111"
BAD = "sk-test-FAKE-baad-4444"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("MOCK_BASE_URL", "MOCK_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def server() -> Iterator[MockServerThread]:
    with MockServerThread(MockConfig(latency=0.0, keys={GOOD: KeyLimits(max_concurrency=8)})) as srv:
        yield srv


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_rows(capsys: pytest.CaptureFixture[str], db: Path) -> list[list[str]]:
    code, out, _ = cli(capsys, "status", "--db", str(db))
    assert code == 0
    runs = out.split("tests in the store")[0]
    return [[c.strip() for c in line.split("│") if c.strip()] for line in runs.splitlines()
            if line.startswith("│") and line.split("│")[1].strip()[:2] == "20"]


def test_runs_of_only_errors_are_failed_in_status(server: MockServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    base = f"{server.base_url}/v1"
    cases = [  # a wrong key (401), an unknown model (404), an unreachable port
        (base, BAD, "openai-api/mock/sim/strong"),
        (base, GOOD, "openai-api/mock/sim/nosuch"),
        (f"http://127.0.0.1:{closed_port()}/v1", GOOD, "openai-api/mock/sim/weak"),
    ]
    for url, key, model in cases:
        monkeypatch.setenv("MOCK_BASE_URL", url)
        monkeypatch.setenv("MOCK_API_KEY", key)
        code, _, err = cli(capsys, "run", "-m", model, "-n", "1", "--db", str(db), "--no-progress",
                           "--request-timeout", "2")
        assert code == 4, err
    monkeypatch.setenv("MOCK_BASE_URL", base)
    assert cli(capsys, "run", "-m", "openai-api/mock/sim/strong", "-n", "1", "--db", str(db), "--no-progress")[0] == 0
    rows = status_rows(capsys, db)
    assert [r[1] for r in rows] == ["failed", "failed", "failed", "finished"]
    assert [r[0] for r in sqlite3.connect(db).execute("SELECT status FROM runs ORDER BY started_at")] == \
        ["failed", "failed", "failed", "finished"]


def test_status_shows_an_older_finished_run_of_only_errors_as_failed(server: MockServerThread, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    monkeypatch.setenv("MOCK_BASE_URL", f"{server.base_url}/v1")
    monkeypatch.setenv("MOCK_API_KEY", BAD)
    assert cli(capsys, "run", "-m", "openai-api/mock/sim/strong", "-n", "1", "--db", str(db), "--no-progress")[0] == 4
    con = sqlite3.connect(db)
    con.execute("UPDATE runs SET status='finished'")  # as recorded before runs said `failed`
    con.commit()
    con.close()
    assert [r[1] for r in status_rows(capsys, db)] == ["failed"]


def test_run_state() -> None:
    assert run_state(interrupted=True, completed=0, errors=5, stopped_models=1) == "interrupted"
    assert run_state(interrupted=False, completed=0, errors=5, stopped_models=1) == "failed"
    assert run_state(interrupted=False, completed=0, errors=0, stopped_models=1) == "failed"
    assert run_state(interrupted=False, completed=1, errors=5, stopped_models=1) == "finished"
    assert run_state(interrupted=False, completed=0, errors=0, stopped_models=0) == "finished"  # all done before


def test_no_limits_learnt_for_a_lane_that_made_no_call() -> None:
    idle = Lane("p/...idle/m", provider="p", key_label="...idle", deployment="m", max_concurrency=8, learn_limits=True)
    assert idle.limit == 1  # probing: one call first, which is no limit learnt from anyone
    assert learnt_limits([idle]) == {}
    assert learnt_limits([idle], keep={"p/...idle/m": {}}) == {}


def test_after_an_unknown_model_the_summary_does_not_advise_running_again(
        server: MockServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MOCK_BASE_URL", f"{server.base_url}/v1")
    monkeypatch.setenv("MOCK_API_KEY", GOOD)
    code, out, err = cli(capsys, "run", "-m", "openai-api/mock/sim/nosuch", "-n", "1", "--db", str(tmp_path / "r.db"),
                         "--no-progress")
    assert code == 4, err
    assert "run the same command again" not in out.replace("running the same command again will not help", "")
    assert "running the same command again will not help" in out
    # a refused key: fix it, then run again
    monkeypatch.setenv("MOCK_API_KEY", BAD)
    code, out, err = cli(capsys, "run", "-m", "openai-api/mock/sim/strong", "-n", "1", "--db", str(tmp_path / "r.db"),
                         "--no-progress")
    assert code == 4
    assert "every key was refused; set a valid key, then run the same command again" in out
    assert "to resume, run the same command again" in out


def test_after_a_resume_the_summary_covers_the_whole_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    assert cli(capsys, "run", "-m", "sim/strong", "-n", "1", "--db", str(db), "--no-progress")[0] == 0
    code, out, _ = cli(capsys, "run", "-m", "sim/strong", "-n", "3", "--db", str(db), "--no-progress")
    assert code == 0
    text = " ".join(out.split())
    assert "whole plan, 5 of 15 tests done by earlier runs" in text
    row = next(line for line in out.splitlines() if line.startswith("│ sim/strong"))
    assert [c.strip() for c in row.split("│") if c.strip()][1] == "15"  # not only the 10 run now


def test_the_summary_names_report_and_view_with_the_runs_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "my results" / "r.db"
    code, out, _ = cli(capsys, "run", "-m", "sim/weak", "-n", "1", "--db", str(db), "--no-progress")
    assert code == 0
    assert f"pilotbench report --db '{db}'" in out and f"pilotbench view --db '{db}'" in out


def test_an_interrupted_run_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    assert cli(capsys, "run", "-m", "sim/weak", "-n", "1", "--db", str(db), "--no-progress")[0] == 0
    run_id = sqlite3.connect(db).execute("SELECT run_id FROM runs").fetchone()[0]
    summary = RunSummary(run_id, planned=20, completed=5, interrupted=True)
    _print_summary(summary, str(db))
    out = capsys.readouterr().out
    assert "interrupted: 15 of 20 tests not run" in out
    assert "to resume, run the same command again" in out


def test_a_model_pointed_at_another_server_is_warned_about(server: MockServerThread, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    monkeypatch.setenv("MOCK_API_KEY", GOOD)
    monkeypatch.setenv("MOCK_BASE_URL", f"{server.base_url}/v1")
    code, _, err = cli(capsys, "run", "-m", "openai-api/mock/sim/strong", "-n", "1", "--db", str(db), "--no-progress")
    assert code == 0 and "warning" not in err
    info = json.loads(sqlite3.connect(db).execute("SELECT info FROM runs").fetchone()[0])
    assert info["endpoints"]["openai-api/mock/sim/strong"] == {
        "provider": "mock", "kind": "openai", "base_url": f"{server.base_url}/v1"}
    assert GOOD not in json.dumps(info)
    # the same server again: no warning
    assert "warning" not in cli(capsys, "run", "-m", "openai-api/mock/sim/strong", "-n", "1", "--db", str(db),
                                "--no-progress", "--dry-run")[2]
    # the same name, another address: warned (dry run and real run), and the done tests are still skipped
    other = server.base_url.replace("127.0.0.1", "localhost") + "/v1"
    monkeypatch.setenv("MOCK_BASE_URL", other)
    for extra in (("--dry-run",), ()):
        code, out, err = cli(capsys, "run", "-m", "openai-api/mock/sim/strong", "-n", "1", "--db", str(db),
                             "--no-progress", *extra)
        assert code == 0, err
        assert (f"warning: openai-api/mock/sim/strong: 5 stored results were run against provider 'mock' at "
                f"{server.base_url}/v1; this run uses provider 'mock' at {other}") in " ".join(err.split())
        assert "new --db or a new model alias" in err


def test_recorded_endpoints_hold_no_credentials() -> None:
    from pilotbench.config import load_config, open_model
    from pilotbench.provenance import endpoints

    env = {"GW_BASE_URL": "http://user:sk-test-FAKE-secret@127.0.0.1:9/v1/", "GW_API_KEY": GOOD}
    cfg = load_config(None)
    assert open_model(cfg, "openai-api/gw/m", env)
    got = endpoints(cfg, ["openai-api/gw/m", "sim/weak"], env)
    assert got == {"openai-api/gw/m": {"provider": "gw", "kind": "openai", "base_url": "http://127.0.0.1:9/v1"},
                   "sim/weak": {"provider": "sim", "kind": "simulated", "base_url": None}}
