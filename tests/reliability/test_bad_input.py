"""Bad input through the command line: one line on stderr naming the problem, exit status 2,
no traceback, and nothing written: no store created or modified, no log directory, no file.

Commands run in process (`pilotbench.cli.main(argv)`), in a fresh working directory whose every
file is fingerprinted (bytes and mtime) before and after.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pilotbench.cli import main

from .helpers import GOOD_KEYS

BIG = str(2**64)


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under `root`: (size, mtime_ns, sha256)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        elif p.is_dir():
            out[str(p.relative_to(root)) + "/"] = (0, 0, "")
    return out


def expect_one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str, *, quiet: bool = True) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    line = err.rstrip("\n")
    assert line and "\n" not in line, f"expected one line on stderr, got {err!r}"
    assert line.startswith("error: "), line
    assert needle in line, (needle, line)
    if quiet:  # nothing half-done on stdout either
        assert out == "", out
    return line


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAX_WORKERS", raising=False)
    for var in list(os.environ):
        if var.endswith("_API_KEY_OVERRIDE"):
            monkeypatch.delenv(var)
    return tmp_path


def run_argv(*extra: str, db: str = "r.db") -> list[str]:
    return ["run", "--model", "sim/weak", "-t", "simple_task", "-n", "1", "--db", db, "--no-progress", *extra]


# ------------------------------------------------------------------------------------------------
# Config files
# ------------------------------------------------------------------------------------------------

CONFIGS: dict[str, tuple[str | bytes, str]] = {
    "broken-toml": ("this is = = not toml", "not valid TOML"),
    "deeply-nested-toml": ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    "not-utf8": (b"\xff\xfe[providers]\n", "cannot be read"),
    "unknown-field": ("[providers.mock]\nkind = 'openai'\nbogus = 1\n", "providers.mock.bogus: unknown field"),
    "unknown-model-field": ("[models.m]\nprovider = 'sim'\ntemprature = 0.1\n", "models.m.temprature: unknown field"),
    "unknown-section": ("[weird]\na = 1\n", "unknown section 'weird'"),
    "bad-kind": ("[providers.x]\nkind = 'ftp'\n", "providers.x.kind"),
    "string-for-int": ("[providers.x]\nkind = 'openai'\nmax_concurrency = 'ten'\n", "providers.x.max_concurrency"),
    "int-for-key-list": ("[providers.x]\nkind = 'openai'\napi_keys = 5\n", "providers.x.api_keys"),
    "string-for-key-list": ("[providers.x]\nkind = 'openai'\napi_keys = 'env:X'\n", "providers.x.api_keys"),
    "int-in-key-list": ("[providers.x]\nkind = 'openai'\napi_keys = [1]\n", "providers.x.api_keys.0"),
    "empty-key-ref": ("[providers.x]\nkind = 'openai'\napi_keys = ['  ']\n", "providers.x.api_keys"),
    "section-not-table": ("providers = 5\n", "[providers] must be a table"),
    "provider-not-table": ("[providers]\nx = 5\n", "providers.x"),
    "params-not-table": ("[models.m]\nprovider = 'sim'\nparams = 5\n", "models.m.params"),
    "group-not-list": ("[groups]\ng = 'sim/weak'\n", "groups.g"),
    "zero-concurrency": ("[providers.x]\nkind = 'openai'\nmax_concurrency = 0\n", "providers.x.max_concurrency"),
    "negative-timeout": ("[providers.x]\nkind = 'openai'\nrequest_timeout = -1\n", "providers.x.request_timeout"),
    "too-many-retries": ("[providers.x]\nkind = 'openai'\nmax_retries = 1000\n", "providers.x.max_retries"),
    "zero-rpm": ("[providers.x]\nkind = 'openai'\nrpm = 0\n", "providers.x.rpm"),
    "negative-price": ("[models.m]\nprovider = 'sim'\nprice_input = -1\n", "models.m.price_input"),
    "bad-key-policy": ("[providers.x]\nkind = 'openai'\nkey_policy = 'random'\n", "providers.x.key_policy"),
    "unknown-provider": ("[models.m]\nprovider = 'nowhere'\n", "unknown provider 'nowhere'"),
    "unknown-group-member": ("[groups]\ng = ['no-such-model']\n", "unknown model 'no-such-model'"),
}


@pytest.mark.parametrize("case", list(CONFIGS))
def test_bad_config_file(case: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, needle = CONFIGS[case]
    path = workdir / "bad.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    path.chmod(0o600)
    before = snapshot(workdir)
    expect_one_line_error(capsys, run_argv("--config", "bad.toml"), needle)
    assert snapshot(workdir) == before


def test_missing_config_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expect_one_line_error(capsys, run_argv("--config", "nowhere.toml"), "nowhere.toml not found")
    assert snapshot(workdir) == {}


def test_broken_pilotbench_toml_in_the_working_directory_is_reported(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "pilotbench.toml").write_text("[providers\n")
    before = snapshot(workdir)
    expect_one_line_error(capsys, ["models"], "pilotbench.toml: not valid TOML")
    assert snapshot(workdir) == before


GATEWAY = """
[providers.gw]
kind = "openai"
base_url = "{base_url}"
api_keys = ["env:PBR_SET_KEY", "env:PBR_UNSET_KEY"]

[models."gw/model"]
provider = "gw"
"""


@pytest.mark.parametrize("db_exists", [False, True], ids=["no-db", "existing-db"])
def test_missing_key_variable_neither_creates_nor_touches_the_store(
    db_exists: bool, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if db_exists:  # a store with results already in it
        assert main(run_argv()) == 0
        capsys.readouterr()
    monkeypatch.setenv("PBR_SET_KEY", GOOD_KEYS[0])
    monkeypatch.delenv("PBR_UNSET_KEY", raising=False)
    (workdir / "gw.toml").write_text(GATEWAY.format(base_url="http://127.0.0.1:9/v1"))
    before = snapshot(workdir)
    argv = ["run", "--config", "gw.toml", "--model", "gw/model", "-n", "1", "--db", "r.db", "--no-progress"]
    line = expect_one_line_error(capsys, argv, "not set: provider 'gw': PBR_UNSET_KEY")
    assert GOOD_KEYS[0] not in line
    assert snapshot(workdir) == before
    assert (workdir / "r.db").exists() == db_exists


def test_missing_endpoint_variable_is_named(workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBR_SET_KEY", GOOD_KEYS[0])
    monkeypatch.setenv("PBR_UNSET_KEY", GOOD_KEYS[1])
    monkeypatch.delenv("PBR_UNSET_URL", raising=False)
    (workdir / "gw.toml").write_text(GATEWAY.format(base_url="env:PBR_UNSET_URL"))
    before = snapshot(workdir)
    argv = ["run", "--config", "gw.toml", "--model", "gw/model", "-n", "1", "--db", "r.db", "--no-progress"]
    expect_one_line_error(capsys, argv, "not set: provider 'gw': PBR_UNSET_URL (base_url)")
    assert snapshot(workdir) == before


# ------------------------------------------------------------------------------------------------
# Names and numbers on the command line
# ------------------------------------------------------------------------------------------------

FLAGS: dict[str, tuple[list[str], str]] = {
    "unknown-model": (["run", "--model", "gpt-9"], "unknown model 'gpt-9'"),
    "unknown-model-in-list": (["run", "--model", "sim/weak,nope/model"], "unknown model 'nope/model'"),
    "unknown-group": (["run", "--group", "nope"], "unknown group 'nope'"),
    "unknown-prompt-type": (run_argv("-p", "baseline,bogus"), "unknown prompt type 'bogus'"),
    "unknown-task-type": (["run", "-t", "bogus_task"], "unknown task type 'bogus_task'"),
    "unknown-difficulty": (["run", "-d", "impossible"], "unknown difficulty 'impossible'"),
    "unknown-severity": (["run", "--severity", "extreme"], "'extreme' is not one of"),
    "unknown-key-policy": (["run", "--key-policy", "random"], "'random' is not one of"),
    "unknown-option": (["run", "--modle", "sim/weak"], "No such option"),
    "negative-instances": (["run", "-n", "-1"], "--num-instances"),
    "zero-max-turns": (["run", "--max-turns", "0"], "--max-turns"),
    "zero-timeout": (["run", "--request-timeout", "0"], "--request-timeout"),
    "negative-rpm": (["run", "--rpm", "-5"], "--rpm"),
    "zero-concurrency": (["run", "--max-concurrency", "0"], "--max-concurrency"),
    "zero-checkpoint": (["run", "--checkpoint-interval", "0"], "--checkpoint-interval"),
    "zero-progress-interval": (["run", "--progress-interval", "0"], "--progress-interval"),
    "rate-above-one": (["run", "-r", "1.5"], "tool success rate must be between 0 and 1, got 1.5"),
    "rate-negative": (["run", "-r", "-0.1"], "tool success rate"),
    "rate-nan": (["run", "-r", "nan"], "tool success rate"),
    "rate-not-a-number": (["run", "-r", "abc"], "tool success rate 'abc' is not a number"),
    "seed-not-a-number": (["run", "--seed", "abc"], "'abc' is not a valid integer"),
    "prompt-unknown-task": (["prompt", "--task-type", "bogus"], "unknown task type 'bogus'"),
    "prompt-unknown-difficulty": (["prompt", "--difficulty", "bogus"], "unknown difficulty 'bogus'"),
    "prompt-unknown-type": (["prompt", "--prompt-type", "bogus"], "unknown prompt type 'bogus'"),
    "tasks-bad-show": (["tasks", "--show", "bogus"], "--show takes TASK_TYPE:INDEX"),
    "keys-unknown-model": (["keys", "--model", "bogus"], "unknown model 'bogus'"),
    "report-bad-compare": (["report", "--compare", "bogus"], "--compare takes A:B"),
    "export-bad-format": (["export", "--format", "xml"], "'xml' is not one of"),
    "suite-missing-file": (["suite", "run", "nowhere.toml"], "nowhere.toml not found"),
}


@pytest.mark.parametrize("case", list(FLAGS))
def test_bad_flag(case: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv, needle = FLAGS[case]
    if argv[0] in ("report",):
        assert main(run_argv(db="pilotbench-results/results.db")) == 0  # something to report on
        capsys.readouterr()
    before = snapshot(workdir)
    # `tasks` prints the suite table before it reads --show; the error still comes alone on stderr
    expect_one_line_error(capsys, argv, needle, quiet=argv[0] != "tasks")
    assert snapshot(workdir) == before


@pytest.mark.parametrize("value, needle", [("abc", "MAX_WORKERS must be a whole number"), ("0", "MAX_WORKERS must be at least 1")])
def test_bad_max_workers(value: str, needle: str, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_WORKERS", value)
    expect_one_line_error(capsys, run_argv(), needle)
    assert snapshot(workdir) == {}


def test_bad_suite_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "s.toml").write_text("garbage = = =")
    before = snapshot(workdir)
    expect_one_line_error(capsys, ["suite", "run", "s.toml"], "not valid TOML")
    assert snapshot(workdir) == before


@pytest.mark.parametrize("flag", ["--seed", "--max-turns"])
def test_integer_beyond_sqlite_range_is_rejected_before_anything_is_written(flag: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expect_one_line_error(capsys, run_argv(flag, BIG), flag)
    assert snapshot(workdir) == {}


@pytest.mark.parametrize("dry", [False, True], ids=["run", "dry-run"])
def test_huge_instance_count_is_rejected(dry: bool, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--model", "sim/weak", "-n", BIG, "--db", "r.db", "--no-progress"] + (["--dry-run"] if dry else [])
    try:
        expect_one_line_error(capsys, argv, "--num-instances")
    except OverflowError as e:  # raised straight through main(): the traceback a user would see
        pytest.fail(f"traceback: OverflowError: {e}")
    assert snapshot(workdir) == {}


# ------------------------------------------------------------------------------------------------
# --db files that are not (this version's) stores, and paths that cannot be written
# ------------------------------------------------------------------------------------------------

STORE_COMMANDS = {
    "run": run_argv,
    "report": lambda db: ["report", "--db", db],
    "export": lambda db: ["export", "--db", db, "--out", "e.jsonl"],
    "status": lambda db: ["status", "--db", db],
}


def _newer_schema(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    con.commit()
    con.close()


def _foreign_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE inventory (item TEXT, qty INTEGER)")
    con.execute("INSERT INTO inventory VALUES ('bolts', 12)")
    con.commit()
    con.close()


@pytest.mark.parametrize("command", list(STORE_COMMANDS))
def test_db_that_is_not_sqlite_is_refused_untouched(command: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "notes.db").write_text("these are my notes, not a database\n")
    before = snapshot(workdir)
    argv = STORE_COMMANDS[command]("notes.db") if command != "run" else run_argv(db="notes.db")
    expect_one_line_error(capsys, argv, "notes.db is not a SQLite database")
    assert snapshot(workdir) == before


@pytest.mark.parametrize("command", list(STORE_COMMANDS))
@pytest.mark.parametrize("kind, make, needle", [
    ("newer-schema", _newer_schema, "schema version 99, newer than this pilotbench understands"),
    ("foreign-sqlite", _foreign_sqlite, "not a pilotbench results store"),
])
def test_sqlite_db_that_is_not_a_usable_store_is_refused(command: str, kind: str, make, needle: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    make(workdir / "x.db")
    argv = STORE_COMMANDS[command]("x.db") if command != "run" else run_argv(db="x.db")
    expect_one_line_error(capsys, argv, needle)
    assert not (workdir / "e.jsonl").exists() and not (workdir / "logs").exists() and not (workdir / "x-logs").exists()


@pytest.mark.parametrize("make", [_newer_schema, _foreign_sqlite], ids=["newer-schema", "foreign-sqlite"])
def test_refused_sqlite_db_is_left_byte_for_byte_unchanged(make, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    make(workdir / "x.db")
    before = snapshot(workdir)
    assert main(["report", "--db", "x.db"]) == 2
    capsys.readouterr()
    assert snapshot(workdir) == before


@pytest.mark.parametrize("command", ["report", "export", "status"])
def test_reading_commands_do_not_create_a_missing_store(command: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expect_one_line_error(capsys, STORE_COMMANDS[command]("missing.db"), "no results database at missing.db")
    assert snapshot(workdir) == {}


def test_db_that_is_a_directory(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "adir").mkdir()
    expect_one_line_error(capsys, run_argv(db="adir"), "is a directory")
    assert snapshot(workdir) == {"adir/": (0, 0, "")}


@pytest.mark.parametrize("argv_for", [
    lambda: run_argv(db="blocker/r.db"),
    lambda: ["report", "--db", "good.db", "--out", "blocker/report.md"],
    lambda: ["export", "--db", "good.db", "--out", "blocker/e.jsonl"],
], ids=["run --db", "report --out", "export --out"])
def test_paths_that_cannot_be_created(argv_for, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert main(run_argv(db="good.db")) == 0
    capsys.readouterr()
    (workdir / "blocker").write_text("a file where a directory is expected\n")
    before = snapshot(workdir)
    expect_one_line_error(capsys, argv_for(), "blocker")
    assert snapshot(workdir) == before


def test_unwritable_log_dir_is_one_line(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "blocker").write_text("x\n")
    expect_one_line_error(capsys, run_argv("--log-dir", "blocker/logs"), "blocker")


def test_unwritable_log_dir_writes_no_store(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "blocker").write_text("x\n")
    before = snapshot(workdir)
    assert main(run_argv("--log-dir", "blocker/logs")) == 2
    capsys.readouterr()
    assert snapshot(workdir) == before


# ------------------------------------------------------------------------------------------------
# The real entry point, in a subprocess
# ------------------------------------------------------------------------------------------------


def test_console_script_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[providers.x]\nkind = 'openai'\napi_keys = 5\n")
    env = {k: v for k, v in os.environ.items() if k != "MAX_WORKERS"}
    proc = subprocess.run(
        [sys.executable, "-m", "pilotbench", "run", "--config", "bad.toml", "--db", "r.db"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and "api_keys" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
