"""One flag grammar on every command: list flags take comma-separated or repeated values and never
drop one; the filters have the same names and short forms everywhere; an unknown option or command
names the closest one."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from pilotbench.cli import app, main
from pilotbench.cli_flags import one_value, split_values

FAKE_KEY_A = "sk-test-FAKE-aaaaaaaa"
FAKE_KEY_B = "sk-test-FAKE-bbbbbbbb"
FAKE_KEY_C = "sk-test-FAKE-cccccccc"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def grid_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two models x two prompt types x two difficulties x two rates, one instance: 80 tests."""
    db = tmp_path_factory.mktemp("flags") / "grid.db"
    code = main(["run", "-m", "sim/weak,sim/strong", "-p", "baseline,cot", "-d", "easy,hard", "-r", "0.8,0.6",
                 "-n", "1", "--db", str(db), "--no-progress"])
    assert code == 0
    return db


def report_json(capsys: pytest.CaptureFixture[str], db: Path, *argv: str) -> dict:
    code, out, err = run_cli(capsys, "report", "--db", str(db), "--format", "json", *argv)
    assert code == 0, err
    return json.loads(out)


def test_report_with_a_repeated_model_reports_both(grid_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rep = report_json(capsys, grid_db, "--model", "sim/weak", "--model", "sim/strong")
    assert rep["filters"]["models"] == ["sim/weak", "sim/strong"]
    assert sorted(rep["models"]) == ["sim/strong", "sim/weak"] and rep["tests"] == 80
    # the short form and the plural alias, mixed with a comma-separated value, mean the same
    assert report_json(capsys, grid_db, "-m", "sim/weak", "--models", "sim/strong")["tests"] == 80
    assert report_json(capsys, grid_db, "-m", "sim/weak")["tests"] == 40


@pytest.mark.parametrize(
    "argv, key, expected, tests",
    [
        (["--prompt-type", "baseline", "--prompt-type", "cot"], "prompt_types", ["baseline", "cot"], 80),
        (["-p", "cot"], "prompt_types", ["cot"], 40),
        (["--prompt-types", "baseline,cot"], "prompt_types", ["baseline", "cot"], 80),
        (["-t", "simple_task", "--task-type", "data_pipeline"], "task_types", ["simple_task", "data_pipeline"], 32),
        (["-d", "easy", "--difficulties", "hard"], "difficulties", ["easy", "hard"], 80),
        (["--difficulty", "hard"], "difficulties", ["hard"], 40),
        (["-r", "0.8", "--tool-success-rate", "0.6"], "tool_success_rates", [0.8, 0.6], 80),
        (["--tool-success-rates", "0.6"], "tool_success_rates", [0.6], 40),
        (["--seed", "42", "--seeds", "42"], "seeds", [42, 42], 80),
        (["--severity", "severe", "--severities", "severe"], "severities", ["severe", "severe"], 80),
        (["--max-turns", "10,10"], "max_turns", [10, 10], 80),
    ],
)
def test_every_report_filter_takes_repeated_and_comma_separated_values(
        grid_db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], key: str, expected: list, tests: int) -> None:
    rep = report_json(capsys, grid_db, *argv)
    assert rep["filters"][key] == expected
    assert rep["tests"] == tests


@pytest.mark.parametrize("flag, good, absent", [("--seed", "42", "7"), ("--max-turns", "10", "12"),
                                                ("--severity", "severe", "mild"), ("-m", "sim/weak", "sim/medium")])
def test_no_report_value_is_dropped_first_or_last(grid_db: Path, capsys: pytest.CaptureFixture[str],
                                                   flag: str, good: str, absent: str) -> None:
    """A value the store has not is refused wherever it stands among the repeated values."""
    for argv in ([flag, good, flag, absent], [flag, absent, flag, good], [flag, f"{absent},{good}"]):
        code, _, err = run_cli(capsys, "report", "--db", str(grid_db), *argv)
        assert code == 2 and absent in err, (argv, err)


def test_report_run_id_compare_and_group_are_lists(grid_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    con = sqlite3.connect(grid_db)
    (run_id,) = con.execute("SELECT run_id FROM runs").fetchone()
    con.close()
    rep = report_json(capsys, grid_db, "--run-id", run_id, "--run-id", run_id)
    assert rep["filters"]["run_ids"] == [run_id, run_id] and rep["tests"] == 80
    rep = report_json(capsys, grid_db, "--compare", "sim/weak:sim/strong", "--compare", "prompt:baseline:prompt:cot")
    assert len(rep["comparisons"]) == 2
    rep = report_json(capsys, grid_db, "--compare", "sim/weak:sim/strong,sim/strong:sim/weak")
    assert len(rep["comparisons"]) == 2
    # --group: the built-in group of the simulated models, with a model outside it
    # --group: the built-in group of the simulated models (sim/medium has no results here)
    rep = report_json(capsys, grid_db, "--group", "sim", "-m", "sim/weak")
    assert rep["filters"]["models"] == ["sim/weak", "sim/strong"] and rep["tests"] == 80
    code, _, err = run_cli(capsys, "report", "--db", str(grid_db), "--group", "nope")
    assert code == 2 and err.startswith("error: unknown group 'nope'")


def test_export_takes_the_same_filters(grid_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.jsonl"

    def exported(*argv: str) -> list[dict]:
        code, _, err = run_cli(capsys, "export", "--db", str(grid_db), "--out", str(out), *argv)
        assert code == 0, err
        return [json.loads(line) for line in out.read_text().splitlines()]

    assert len(exported()) == 80
    rows = exported("--model", "sim/weak", "--model", "sim/strong", "-p", "cot", "--difficulties", "hard,easy")
    assert len(rows) == 40 and {r["prompt_type"] for r in rows} == {"cot"}
    rows = exported("-m", "sim/weak", "-d", "hard", "-r", "0.6", "-t", "simple_task", "--task-type", "data_pipeline")
    assert len(rows) == 4 and {(r["model"], r["difficulty"], r["tool_success_rate"]) for r in rows} == {("sim/weak", "hard", 0.6)}
    assert len(exported("--group", "sim", "--status", "done")) == 80
    out.unlink()
    code, _, err = run_cli(capsys, "export", "--db", str(grid_db), "--out", str(out), "-m", "sim/weak", "-m", "sim/wek")
    assert code == 2 and err.strip().startswith("error: no results with model 'sim/wek'") and not out.exists()


def test_run_takes_the_same_grammar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Repeated, comma-separated, singular and plural spellings all add up in the plan (a dry run)."""
    code, out, err = run_cli(
        capsys, "run", "--dry-run", "--db", str(tmp_path / "x.db"),
        "-m", "sim/weak", "--models", "sim/strong", "--model", "sim/medium",
        "--prompt-type", "baseline", "-p", "cot", "--prompt-types", "optimal",
        "--task-type", "simple_task", "-t", "data_pipeline",
        "--difficulty", "easy", "--difficulties", "hard",
        "-r", "0.8", "--tool-success-rates", "0.6,0.7", "-n", "1",
    )
    assert code == 0, err
    # 3 models x 3 prompt types x 2 task types x 2 difficulties x 3 rates x 1 instance
    assert "plan: 108 tests" in out
    for model in ("sim/weak", "sim/strong", "sim/medium"):
        assert model in out


def test_keys_takes_the_same_grammar(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "keys", "-m", "sim/weak", "--model", "sim/strong",
                             "--prompt-type", "baseline", "-p", "cot")
    assert code == 0, err
    assert out.count("  baseline") == 2 and out.count("  cot") == 2 and "optimal" not in out


def test_mock_server_keys_are_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import pilotbench.mock_server as package

    seen: list = []
    monkeypatch.setattr(package, "serve", lambda cfg, host, port, responder=None, on_ready=None: seen.append(cfg))
    result = CliRunner().invoke(app, ["mock-server", "--key", FAKE_KEY_A, "--key", f"{FAKE_KEY_B},{FAKE_KEY_C}"])
    assert result.exit_code == 0, result.output
    assert set(seen[0].keys) == {FAKE_KEY_A, FAKE_KEY_B, FAKE_KEY_C}


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, f"{prefix}{name} "))
        else:
            out.append((f"{prefix}{name}", cmd))
    return out


COMMANDS = _commands(app)
REPEAT_ONLY = {("run", "model_params")}  # -M name=value: a value may hold commas (JSON lists)


def test_every_list_flag_of_every_command_splits_and_repeats() -> None:
    """No option keeps only its last value: every repeatable option splits at commas, and no
    option that looks like a list is single-valued."""
    plural_words = ("models", "types", "difficult", "rates", "keys", "ids", "seeds", "severities", "groups")
    for name, cmd in COMMANDS:
        for p in cmd.params:
            if not isinstance(p, click.Option) or p.is_flag:
                continue
            if p.multiple and (name, p.name) not in REPEAT_ONLY:
                assert p.callback in (split_values, one_value), f"{name} {p.opts}: repeatable but not comma-separated"
            if name == "prompt" and set(p.opts) & {"-p", "-t", "-d"}:
                assert p.callback is one_value, f"{name} {p.opts}: a second value would win silently"
            if any(o.endswith(plural_words) for o in p.opts) and name != "prompt":
                assert p.multiple, f"{name} {p.opts}: a list flag that keeps only its last value"


FILTERS = {
    "model": {"-m", "--model", "--models"},
    "group": {"--group", "--groups"},
    "prompt_types": {"-p", "--prompt-type", "--prompt-types"},
    "task_types": {"-t", "--task-type", "--task-types"},
    "difficulty": {"-d", "--difficulty", "--difficulties"},
    "tool_success_rate": {"-r", "--tool-success-rate", "--tool-success-rates"},
}


def test_every_filter_has_one_spelling_on_every_command() -> None:
    seen = 0
    for name, cmd in COMMANDS:
        if name == "prompt":  # one test, one value each: the singular forms and the same short forms
            opts = {o for p in cmd.params for o in p.opts}
            assert {"-p", "--prompt-type", "-t", "--task-type", "-d", "--difficulty"} <= opts
            continue
        for p in cmd.params:
            for dest, spellings in FILTERS.items():
                if p.name == dest or set(p.opts) & spellings:
                    assert set(p.opts) == spellings and p.name == dest, f"{name}: {p.opts}"
                    seen += 1
    assert seen >= 6 + 6 + 6 + 2  # run, report and export have all six, keys two


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_an_unknown_option_names_the_closest_one_on_every_command(
        name: str, cmd: click.Command, capsys: pytest.CaptureFixture[str]) -> None:
    longs = [o for p in cmd.params if isinstance(p, click.Option) for o in p.opts if o.startswith("--") and len(o) > 6]
    target = max(longs, key=len) if longs else "--help"
    i = next(i for i in range(3, len(target) - 1) if target[i] != target[i + 1])
    typo = target[:i] + target[i + 1] + target[i] + target[i + 2:]  # two letters swapped
    code, _, err = run_cli(capsys, *name.split(), typo)
    assert code == 2
    assert err.strip() == f"error: No such option '{typo}'. Did you mean '{target}'?", err


@pytest.mark.parametrize("argv", [["-p", "cot", "-p", "baseline"], ["--prompt-type", "cot,baseline"],
                                  ["-t", "simple_task", "--task-type", "data_pipeline"], ["-d", "easy,hard"]])
def test_prompt_refuses_a_second_value_instead_of_dropping_one(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "prompt", *argv)
    assert code == 2 and not out
    assert "takes one value here; got" in err and len(err.strip().splitlines()) == 1


def test_the_closest_option_and_command_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "report", "--modle", "x")[2].strip() == \
        "error: No such option '--modle'. Did you mean '--model'?"
    assert run_cli(capsys, "run", "--prompt_types", "x")[2].strip() == \
        "error: No such option '--prompt_types'. Did you mean '--prompt-types'?"
    assert run_cli(capsys, "reprot")[2].strip() == "error: No such command 'reprot'. Did you mean 'report'?"
    code, _, err = run_cli(capsys, "report", "-m")
    assert code == 2 and "requires an argument" in err and "No such option" not in err
