"""`run` as a newcomer meets it: models named by provider, keyless local servers, loud failures
with documented exit statuses, dry runs that check what the real run checks, and the small
things (repeated flags, --group, -n 0, parquet to stdout, log directories, dead runs in status)."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotbench.cli import main
from pilotbench.runner.estimate import estimate_seconds
from pilotbench.mock_server import Faults, KeyLimits, MockConfig, MockServerThread, default_responder
from pilotbench.store.sqlite import SQLiteStore

GOOD = "fake-cli-key-GOOD1111"
BAD = "fake-cli-key-BAAD4444"
ENV_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "VLLM_BASE_URL", "VLLM_API_KEY", "AZURE_OPENAI_ENDPOINT",
            "AZURE_OPENAI_API_KEY", "TOGETHER_BASE_URL", "TOGETHER_API_KEY", "IDEALAB_BASE_URL", "IDEALAB_API_KEY_1",
            "IDEALAB_API_KEY_2", "IDEALAB_API_KEY_3", "IDEALAB_API_KEY_OVERRIDE", "MAX_WORKERS", "OLLAMA_HOST",
            "OLLAMA_BASE_URL", "OLLAMA_API_KEY", "OPENAI_API_VERSION", "USER_AZURE_ENDPOINT", "USER_AZURE_API_KEY")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./pilotbench.toml, results under tmp_path


# The README's examples name real models; the mock server answers for them as sim/strong.
README_MODELS = ("gpt-4o-mini", "my-gpt-4o-deployment", "meta-llama/Llama-3.3-70B-Instruct-Turbo")
SEEN_PARAMS: list[dict] = []


def as_strong(model, messages, tools, params):  # type: ignore[no-untyped-def]
    SEEN_PARAMS.append(dict(params))
    return default_responder("sim/strong" if model in README_MODELS else model, messages, tools, params)


@pytest.fixture
def server() -> Iterator[MockServerThread]:
    SEEN_PARAMS.clear()
    with MockServerThread(MockConfig(latency=0.0, models=README_MODELS), as_strong) as srv:
        yield srv


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stored(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------------- any provider by name


def test_openai_model_by_name(server: MockServerThread, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The README's OpenAI example, with OPENAI_BASE_URL pointing at the mock server."""
    monkeypatch.setenv("OPENAI_API_KEY", GOOD)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.base_url}/v1")
    code, out, err = cli(capsys, "run", "-m", "openai/gpt-4o-mini", "-n", "1", "--temperature", "0",
                         "--db", str(tmp_path / "r.db"), "--no-progress")
    assert code == 0, err
    assert stored(tmp_path / "r.db", "SELECT model, provider, key_label, status, COUNT(*) FROM results GROUP BY 1, 2, 3, 4") == [
        ("openai/gpt-4o-mini", "openai", "...1111", "done", 5)
    ]
    assert SEEN_PARAMS and all(p.get("temperature") == 0 for p in SEEN_PARAMS)


def test_local_server_without_a_key_runs_dry_runs_and_shows_keys(server: MockServerThread, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The README's local-server examples (VLLM_BASE_URL at the mock server instead of port 8000)."""
    monkeypatch.setenv("VLLM_BASE_URL", f"{server.base_url}/v1")
    db = str(tmp_path / "r.db")
    code, out, err = cli(capsys, "run", "-m", "vllm/sim/strong", "-n", "1", "--dry-run", "--db", db)
    assert code == 0, err
    assert "vllm/sim/strong" in out and "none" in out
    code, out, err = cli(capsys, "keys", "-m", "vllm/sim/strong", "-p", "baseline")
    assert code == 0, err
    assert "baseline" in out and "-> none" in out
    code, out, err = cli(capsys, "run", "-m", "vllm/sim/strong", "-n", "1", "--db", db, "--no-progress")
    assert code == 0, err
    assert stored(tmp_path / "r.db", "SELECT DISTINCT key_label, status FROM results") == [("none", "done")]
    code, out, err = cli(capsys, "run", "-m", "ollama/llama3.2", "-n", "1", "--dry-run", "--db", db)
    assert code == 0 and "ollama/llama3.2" in out, err
    code, out, err = cli(capsys, "models")
    assert code == 0 and "vllm/<model>" in out and "openai-api/<name>/<model>" in out


def test_azure_deployment_by_name(server: MockServerThread, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The README's Azure example; the mock server serves Azure's deployment paths."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.base_url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", GOOD)
    code, out, err = cli(capsys, "run", "-m", "azure/my-gpt-4o-deployment", "-n", "1", "--db", str(tmp_path / "r.db"),
                         "--no-progress")
    assert code == 0, err
    assert stored(tmp_path / "r.db", "SELECT DISTINCT provider, status FROM results") == [("azure", "done")]


def test_gateway_by_name_with_two_keys_in_one_variable(server: MockServerThread, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The README's gateway example: TOGETHER_BASE_URL and two keys in TOGETHER_API_KEY."""
    monkeypatch.setenv("TOGETHER_BASE_URL", f"{server.base_url}/v1")
    monkeypatch.setenv("TOGETHER_API_KEY", f"{GOOD},fake-cli-key-SECO2222")
    model = "openai-api/together/meta-llama/Llama-3.3-70B-Instruct-Turbo"
    code, out, err = cli(capsys, "keys", "-m", model, "-p", "baseline")
    assert code == 0 and "2 key(s): ...1111, ...2222" in out
    code, out, err = cli(capsys, "run", "-m", model, "-n", "1", "--db", str(tmp_path / "r.db"), "--no-progress")
    assert code == 0, err
    assert stored(tmp_path / "r.db", "SELECT DISTINCT provider, status FROM results") == [("together", "done")]


def test_generation_params_are_sent_and_stored(server: MockServerThread, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VLLM_BASE_URL", f"{server.base_url}/v1")
    db = tmp_path / "r.db"
    code, out, err = cli(capsys, "run", "-m", "vllm/sim/strong", "-n", "1", "--db", str(db), "--no-progress",
                         "--temperature", "0.2", "--max-tokens", "300", "-M", "top_p=0.9")
    assert code == 0, err
    expected = {"max_tokens": 300, "temperature": 0.2, "top_p": 0.9}
    [(params,)] = stored(db, "SELECT DISTINCT params FROM results")
    assert json.loads(params) == expected
    [(info,)] = stored(db, "SELECT info FROM runs")
    assert json.loads(info)["params"] == expected
    for bad in (["-M", "top_p"], ["--temperature", "9"], ["--max-tokens", "0"]):
        code, out, err = cli(capsys, "run", "-m", "sim/weak", "--db", str(db), "--no-progress", *bad)
        assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1, err


# ---------------------------------------------------------------------- dry runs


def test_dry_run_names_every_missing_variable_at_once(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(capsys, "run", "--group", "idealab", "-m", "openai/gpt-4o-mini", "--dry-run",
                         "--db", str(tmp_path / "r.db"))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    for var in ("IDEALAB_BASE_URL", "IDEALAB_API_KEY_1", "IDEALAB_API_KEY_2", "IDEALAB_API_KEY_3", "OPENAI_API_KEY",
                "IDEALAB_API_KEY_OVERRIDE"):
        assert var in err
    assert "<unset" not in out + err
    # the real run says the same, all at once, and creates nothing
    code, out, err2 = cli(capsys, "run", "--group", "idealab", "-m", "openai/gpt-4o-mini", "--db", str(tmp_path / "r.db"))
    assert code == 2 and err2 == err and not (tmp_path / "r.db").exists()


def test_dry_run_with_one_key_through_the_override(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IDEALAB_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("IDEALAB_API_KEY_OVERRIDE", GOOD)
    code, out, err = cli(capsys, "run", "-m", "qwen2.5-3b-instruct", "--dry-run", "--db", str(tmp_path / "r.db"))
    assert code == 0, err
    assert "...1111" in out


def test_dry_run_checks_simulated_model_names(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c.toml").write_text('[models."sim/nosuch"]\nprovider = "sim"\n')
    code, out, err = cli(capsys, "run", "-m", "sim/nosuch", "--config", str(tmp_path / "c.toml"), "--dry-run")
    assert code == 2 and "sim/nosuch" in err, err


def test_dry_run_eta_counts_the_turns_of_a_conversation_one_after_another(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # 10 tests of ~5 calls x 2 s on a lane of 10: one wave of conversations, 10 s; not 50 calls / 10 slots.
    code, out, err = cli(capsys, "run", "-m", "vllm/x", "-n", "2", "--dry-run", "--db", str(tmp_path / "r.db"))
    assert code == 0, err
    assert "plan: 10 tests" in out and "ETA about 0m10s" in out
    assert estimate_seconds(10, 10, 2.0, None, 5) == 10.0
    assert estimate_seconds(100, 10, 2.0, None, 5) == 100.0
    assert estimate_seconds(10, 10, 2.0, 60.0, 5) == 50.0  # 50 calls at one a second
    assert estimate_seconds(0, 10, 2.0, None, 5) == 0.0


def test_dry_run_eta_follows_serial_models_and_the_request_timeout(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Two models of 10 tests, each one wave of ~5 calls x 2 s: 10 s side by side, 20 s one after another.
    base = ("run", "-m", "vllm/x,vllm/y", "-n", "2", "--dry-run", "--db", str(tmp_path / "r.db"))
    code, out, err = cli(capsys, *base)
    assert code == 0, err
    assert "ETA about 0m10s with all models in parallel" in " ".join(out.split())
    code, out, err = cli(capsys, *base, "--serial-models")
    assert code == 0, err
    assert "ETA about 0m20s with the models one after another" in " ".join(out.split())
    # A call lasts at most its request timeout: ~5 calls x 0.5 s.
    code, out, err = cli(capsys, "run", "-m", "vllm/x", "-n", "2", "--dry-run", "--db", str(tmp_path / "r.db"),
                         "--request-timeout", "0.5")
    assert code == 0, err
    text = " ".join(out.split())
    assert "ETA about 0m02s with all models in parallel" in text and "at most the request timeout" in text
    # the other serial modes group the same way: providers, prompt types
    code, out, err = cli(capsys, *base, "--no-provider-parallel")
    assert code == 0 and "ETA about 0m10s with the providers one after another" in " ".join(out.split())
    code, out, err = cli(capsys, "run", "-m", "vllm/x", "-p", "baseline,cot", "-n", "1", "--dry-run", "--db",
                         str(tmp_path / "r.db"), "--no-prompt-parallel")
    assert code == 0 and "ETA about 0m20s with the prompt types one after another" in " ".join(out.split())


# ---------------------------------------------------------------------- failures that look like success


def test_nothing_listening_stops_the_model_in_seconds_with_exit_4(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VLLM_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    db = tmp_path / "x.db"
    code, out, err = cli(capsys, "run", "-m", "vllm/m", "-n", "20", "--db", str(db), "--no-progress")
    assert code == 4, err
    assert "stopped vllm/m" in out and "provider unreachable" in out
    assert "infrastructure errors by cause:" in out and "connection error" in out
    assert f"logs in {tmp_path / 'x-logs'}" in out
    [(n,)] = stored(db, "SELECT COUNT(*) FROM results WHERE status='done'")
    assert n == 0
    [(elapsed_ok,)] = stored(db, "SELECT MAX(finished_at) - MIN(started_at) < 30 FROM results")
    assert elapsed_ok


def test_infrastructure_errors_exit_3_listed_by_cause(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with MockServerThread(MockConfig(faults=Faults(error_500=1.0))) as srv:
        (tmp_path / "c.toml").write_text(textwrap.dedent(f"""
            [providers.flaky]
            kind = "openai"
            base_url = "{srv.base_url}/v1"
            max_retries = 0

            [models."flaky/m"]
            provider = "flaky"
            deployment = "sim/strong"
        """))
        code, out, err = cli(capsys, "run", "-m", "flaky/m", "-n", "1", "--config", str(tmp_path / "c.toml"),
                             "--db", str(tmp_path / "r.db"), "--no-progress")
    assert code == 3, err
    assert "infrastructure errors 5" in out
    lines = out.split("infrastructure errors by cause:")[1].strip().splitlines()
    assert lines[0].split()[0] == "5" and "gave up after N transient failures" in lines[0]
    assert "to resume" in out


def test_unknown_model_at_the_provider_exits_4(server: MockServerThread, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_API_KEY", GOOD)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.base_url}/v1")
    code, out, err = cli(capsys, "run", "-m", "openai/no-such-model", "-n", "1", "--db", str(tmp_path / "r.db"), "--no-progress")
    assert code == 4, err
    assert "stopped openai/no-such-model" in out


def _good_and_bad_key_config(tmp_path: Path, base_url: str) -> Path:
    """A gateway with one key the server takes (PBC_GOOD) and one it refuses (PBC_BAD), in turn."""
    path = tmp_path / "c.toml"
    path.write_text(textwrap.dedent(f"""
        [providers.gw]
        kind = "openai"
        base_url = "{base_url}/v1"
        api_keys = ["env:PBC_GOOD", "env:PBC_BAD"]
        key_policy = "round-robin"

        [models."gw/m"]
        provider = "gw"
        deployment = "sim/strong"
    """))
    return path


def test_a_refused_key_is_said_at_once_in_output_summary_and_log(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PBC_GOOD", GOOD)
    monkeypatch.setenv("PBC_BAD", BAD)
    with MockServerThread(MockConfig(keys={GOOD: KeyLimits(max_concurrency=8)})) as srv:
        _good_and_bad_key_config(tmp_path, srv.base_url)
        code, out, err = cli(capsys, "run", "-m", "gw/m", "-n", "1", "--config", str(tmp_path / "c.toml"),
                             "--db", str(tmp_path / "r.db"), "--no-progress")
    assert code == 0, err  # the other key did every test
    assert "key ...4444 (gw/...4444/sim/strong) disabled:" in err and "401" in err
    assert "key gw/...4444/sim/strong disabled:" in out and "401" in out.split("key gw/...4444/sim/strong disabled:")[1]
    [log] = list((tmp_path / "r-logs").rglob("gw.log"))
    assert "...4444" in log.read_text() and "disabled" in log.read_text()
    assert BAD not in out + err + log.read_text()


# ---------------------------------------------------------------------- smaller


def test_group_alone_runs_only_the_group(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(capsys, "run", "--group", "sim-family", "--dry-run", "--db", str(tmp_path / "r.db"))
    assert code == 0, err
    assert "sim/family-3b" in out and "sim/medium" not in out
    code, out, err = cli(capsys, "run", "--dry-run", "--db", str(tmp_path / "r.db"))
    assert code == 0 and "sim/medium" in out  # the default when neither is given


def test_repeated_flags_add_up(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(capsys, "run", "-m", "sim/weak", "-m", "sim/strong", "-p", "baseline", "-p", "cot",
                         "-t", "simple_task", "-t", "basic_task", "-d", "easy", "-d", "hard", "-n", "1", "--dry-run",
                         "--db", str(tmp_path / "r.db"))
    assert code == 0, err
    assert "sim/weak" in out and "sim/strong" in out
    assert "plan: 16 tests" in out  # 2 models x 2 prompt types x 2 task types x 2 difficulties


def test_zero_instances_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(capsys, "run", "-m", "sim/weak", "-n", "0", "--db", str(tmp_path / "r.db"))
    assert code == 2 and "num-instances" in err and not (tmp_path / "r.db").exists()


def test_parquet_to_stdout_is_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "r.db")
    assert cli(capsys, "run", "-m", "sim/weak", "-n", "1", "--db", db, "--no-progress")[0] == 0
    code, out, err = cli(capsys, "export", "--db", db, "--format", "parquet", "--out", "-")
    assert code == 2 and err.startswith("error: parquet") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_logs_are_named_after_the_database(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(capsys, "run", "-m", "sim/weak", "-n", "1", "--db", str(tmp_path / "x.db"), "--no-progress")
    assert code == 0, err
    assert list((tmp_path / "x-logs").rglob("sim.log")) and not (tmp_path / "logs").exists()
    code, out, err = cli(capsys, "run", "-m", "sim/weak", "-n", "1", "--no-progress")  # the default store
    assert code == 0, err
    assert list((tmp_path / "pilotbench-results" / "logs").rglob("sim.log"))


def test_status_tells_a_dead_run_from_a_live_one(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "r.db"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = socket.gethostname()
    with SQLiteStore(db) as store:
        store.start_run("run-killed", 10, {"pid": gone.pid, "host": host})
        store.start_run("run-alive", 10, {"pid": __import__("os").getpid(), "host": host})
        store.start_run("run-old", 10, {})
    code, out, err = cli(capsys, "status", "--db", str(db))
    assert code == 0, err
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3 and "run-" in line}
    assert "dead" in rows["run-killed"] and "running" not in rows["run-killed"]
    assert "running" in rows["run-alive"] and "dead" not in rows["run-alive"]
    assert "running?" in rows["run-old"]
    # what a real run records, so status can check it
    assert cli(capsys, "run", "-m", "sim/weak", "-n", "1", "--db", str(db), "--no-progress")[0] == 0
    info = json.loads(stored(db, "SELECT info FROM runs WHERE run_id NOT LIKE 'run-%'")[0][0])
    assert info["pid"] > 0 and info["host"] == host


def test_the_keys_a_run_lost_are_kept_in_its_info(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pilotbench import api
    from pilotbench.config import load_config

    monkeypatch.setenv("PBC_GOOD", GOOD)
    monkeypatch.setenv("PBC_BAD", BAD)
    with MockServerThread(MockConfig(keys={GOOD: KeyLimits(max_concurrency=8)})) as srv:
        _good_and_bad_key_config(tmp_path, srv.base_url)
        config = load_config(tmp_path / "c.toml")
        result = api.run(api.build_plan("gw/m", num_instances=1, config=config), db=tmp_path / "r.db", config=config,
                         info={"argv": []})
    assert result.summary.exit_status == 0
    [(info,)] = stored(tmp_path / "r.db", "SELECT info FROM runs")
    lost = json.loads(info)["keys_lost"]
    assert list(lost) == ["gw/...4444/sim/strong"] and lost["gw/...4444/sim/strong"].startswith("disabled: ")
    assert json.loads(info)["argv"] == [] and BAD not in info


def test_dry_run_refuses_a_log_dir_the_run_could_not_create(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "file").write_text("not a directory")
    code, out, err = cli(capsys, "run", "-m", "sim/weak", "--dry-run", "--log-dir", str(tmp_path / "file" / "logs"))
    assert code == 2 and "not a directory" in err, err


def test_models_shows_a_configured_keyless_server(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c.toml").write_text('[providers.local]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n\n'
                                     '[models."local/m"]\nprovider = "local"\n')
    code, out, err = cli(capsys, "models", "--config", str(tmp_path / "c.toml"))
    assert code == 0, err
    [row] = [line for line in out.splitlines() if "local/m" in line]
    assert "(no key needed)" in row
    code, out, err = cli(capsys, "run", "-m", "local/m", "--config", str(tmp_path / "c.toml"), "--dry-run")
    assert code == 0 and "none" in out, err


def test_generation_params_are_refused_rather_than_dropped_on_ray(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(capsys, "run", "-m", "sim/weak", "--temperature", "0", "--executor", "ray",
                         "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert code == 2 and "--executor ray" in err and len(err.strip().splitlines()) == 1, err


def test_suite_dry_run_names_every_missing_variable(capsys) -> None:  # type: ignore[no-untyped-def]
    suite = Path(__file__).resolve().parents[1] / "examples" / "study-guide-providers.toml"
    code, out, err = cli(capsys, "suite", "run", str(suite), "--dry-run")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    for var in ("AZURE_OPENAI_ENDPOINT", "USER_AZURE_ENDPOINT", "IDEALAB_BASE_URL", "IDEALAB_API_KEY_3"):
        assert var in err


def test_keys_takes_repeated_models(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(capsys, "keys", "-m", "sim/weak", "-m", "vllm/x", "-p", "baseline", "-p", "cot")
    assert code == 0, err
    assert "sim/weak (" in out and "vllm/x (" in out and out.count("cot") == 2


def test_runs_started_from_the_python_api_say_who_runs_them(tmp_path: Path) -> None:
    import os

    from pilotbench import api

    api.run(api.build_plan("sim/weak", num_instances=1), db=tmp_path / "r.db")
    [(info,)] = stored(tmp_path / "r.db", "SELECT info FROM runs")
    assert json.loads(info)["pid"] == os.getpid() and json.loads(info)["host"] == socket.gethostname()


def test_status_shows_the_limits_a_run_learnt_from_the_headers_while_it_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that states a token and a request budget in x-ratelimit-* headers; the config
    declares neither. The run records what its lanes learnt while it runs, and `status` shows it."""
    from pilotbench.runner import scheduler

    from .factories import FAKE_KEYS, mock_config_file

    monkeypatch.setattr(scheduler, "LANES_RECORD_SECONDS", 0.05)
    recorded: list[tuple[str, dict]] = []  # (the run's status at the time, what was recorded)
    original = SQLiteStore.record_lanes

    def spy(self: SQLiteStore, run_id: str, lanes: dict) -> None:
        row = self._db.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()
        recorded.append((row[0] if row else "?", {"lanes": lanes}))
        original(self, run_id, lanes)

    monkeypatch.setattr(SQLiteStore, "record_lanes", spy)
    cfg = MockConfig(keys={FAKE_KEYS[0]: KeyLimits(tpm=6_000_000, rpm=60_000)}, budget_seconds=1.0, latency=0.05)
    with MockServerThread(cfg) as srv:
        config = mock_config_file(tmp_path, srv.base_url, keys=1, max_concurrency=64)
        db = tmp_path / "r.db"
        code, _, err = cli(capsys, "run", "-m", "mock/strong", "-n", "2", "--db", str(db), "--config", str(config),
                           "--no-progress")
        assert code == 0, err
    during = [info["lanes"] for status, info in recorded if status == "running" and "lanes" in info]
    assert during, recorded  # recorded while the run was going, not only at its end
    lane = next(iter(during[-1].values()))
    assert lane["tpm"] == 6_000_000 and lane["rpm"] == 60_000 and lane["key"].endswith(FAKE_KEYS[0][-4:])
    assert FAKE_KEYS[0] not in json.dumps(during)
    code, out, err = cli(capsys, "status", "--db", str(db))
    assert code == 0, err
    assert "limits learnt" in out
    rows = [line for line in out.splitlines() if "6000000" in line]
    assert rows and "60000 (" in rows[0] and "of 64 declared" in rows[0], out
