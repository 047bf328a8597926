"""`run --dry-run --probe`: one minimal request per key and model against the mock server, with
the run's exit statuses and words: a good key, a wrong key, an unknown model, an unreachable port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotbench.cli import main
from pilotbench.mock_server import Faults, KeyLimits, MockConfig, MockServerThread, default_responder

GOOD = "sk-test-FAKE-good-1111"
GOOD2 = "sk-test-FAKE-good-2222"
BAD = "sk-test-FAKE-baad-4444"
SEEN: list[tuple[str, list, object, dict]] = []


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def recording(model, messages, tools, params):  # type: ignore[no-untyped-def]
    SEEN.append((model, messages, tools, dict(params)))
    return default_responder(model, messages, tools, params)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("MOCK_BASE_URL", "MOCK_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT",
                "AZURE_OPENAI_API_KEY", "MAX_WORKERS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    SEEN.clear()


@pytest.fixture
def server() -> Iterator[MockServerThread]:
    keys = {GOOD: KeyLimits(max_concurrency=4), GOOD2: KeyLimits(max_concurrency=4)}
    with MockServerThread(MockConfig(latency=0.0, keys=keys), recording) as srv:
        yield srv


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(capsys: pytest.CaptureFixture[str], tmp_path: Path, *models: str) -> tuple[int, str, str]:
    return cli(capsys, "run", "-m", ",".join(models), "-n", "1", "--db", str(tmp_path / "r.db"), "--dry-run", "--probe")


def test_good_keys_answer_one_request_each_of_one_token(server: MockServerThread, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MOCK_BASE_URL", f"{server.base_url}/v1")
    monkeypatch.setenv("MOCK_API_KEY", f"{GOOD},{GOOD2}")
    code, out, err = probe(capsys, tmp_path, "openai-api/mock/sim/strong", "openai-api/mock/sim/weak", "sim/medium")
    assert code == 0, out + err
    assert "plan: 15 tests" in out and "ETA" in out  # the dry run's plan first
    assert "probe: every key and model answered (4 requests" in " ".join(out.split())
    # one request per key and model, each a short message with no tools and max_tokens 1
    assert server.stats.requests == 4
    assert sorted(m for m, *_ in SEEN) == ["sim/strong", "sim/strong", "sim/weak", "sim/weak"]
    assert all(tools is None and params.get("max_tokens") == 1 and len(messages) == 1 for _, messages, tools, params in SEEN)
    assert not (tmp_path / "r.db").exists()  # nothing run, nothing stored
    assert GOOD not in out + err


def test_a_wrong_key_exits_4_in_the_runs_words(server: MockServerThread, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MOCK_BASE_URL", f"{server.base_url}/v1")
    monkeypatch.setenv("MOCK_API_KEY", BAD)
    code, out, err = probe(capsys, tmp_path, "openai-api/mock/sim/strong")
    assert code == 4, out + err
    text = " ".join(out.split())
    assert "stopped openai-api/mock/sim/strong: no usable key left" in text
    assert "key mock/...4444/sim/strong disabled: key ...4444 refused: HTTP 401" in text
    assert "set a valid key" in text and "probe failed" in text
    assert BAD not in out + err and server.stats.requests == 1
    # the run itself ends the same way
    code, _, _ = cli(capsys, "run", "-m", "openai-api/mock/sim/strong", "-n", "1", "--db", str(tmp_path / "r.db"),
                     "--no-progress")
    assert code == 4


def test_one_wrong_key_among_good_ones_is_said_and_the_probe_passes(
        server: MockServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MOCK_BASE_URL", f"{server.base_url}/v1")
    monkeypatch.setenv("MOCK_API_KEY", f"{GOOD},{BAD}")
    code, out, _ = probe(capsys, tmp_path, "openai-api/mock/sim/strong")
    assert code == 0  # as the run: the other key does every test
    assert "key mock/...4444/sim/strong disabled" in " ".join(out.split())


def test_an_unknown_model_exits_4_without_advising_to_run_again(
        server: MockServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MOCK_BASE_URL", f"{server.base_url}/v1")
    monkeypatch.setenv("MOCK_API_KEY", GOOD)
    code, out, _ = probe(capsys, tmp_path, "openai-api/mock/sim/strong", "openai-api/mock/sim/nosuch")
    assert code == 4
    text = " ".join(out.split())
    assert "stopped openai-api/mock/sim/nosuch: no such model or deployment: HTTP 404" in text
    assert "running the same command again will not help" in text
    assert "stopped openai-api/mock/sim/strong" not in text


def test_an_unreachable_port_exits_4_in_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MOCK_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    monkeypatch.setenv("MOCK_API_KEY", GOOD)
    started = time.monotonic()
    code, out, _ = probe(capsys, tmp_path, "openai-api/mock/sim/strong")
    assert code == 4
    assert time.monotonic() - started < 10
    text = " ".join(out.split())
    assert "stopped openai-api/mock/sim/strong: provider unreachable" in text
    assert "start its server or fix its base URL" in text


def test_a_server_error_is_inconclusive_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with MockServerThread(MockConfig(latency=0.0, faults=Faults(error_500=1.0))) as srv:
        monkeypatch.setenv("MOCK_BASE_URL", f"{srv.base_url}/v1")
        monkeypatch.setenv("MOCK_API_KEY", GOOD)
        code, out, _ = probe(capsys, tmp_path, "openai-api/mock/sim/strong")
        assert srv.stats.requests == 1  # no retries
    assert code == 3
    assert "no answer to the probe" in out


def test_simulated_models_need_no_probe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = probe(capsys, tmp_path, "sim/weak")
    assert code == 0 and "simulated models need no probe" in out


def test_probe_against_the_mock_server_command(tmp_path: Path) -> None:
    """End to end: `pilotbench mock-server --key` in its own process, probed by `pilotbench run`."""
    port = closed_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MOCK_API_KEY", "MOCK_BASE_URL")}
    server = subprocess.Popen([sys.executable, "-m", "pilotbench", "mock-server", "--port", str(port),
                               "--key", GOOD, "--latency", "0"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert "mock server on" in server.stderr.readline()
        config = tmp_path / "c.toml"
        config.write_text(textwrap.dedent(f"""
            [providers.local]
            kind = "openai"
            base_url = "http://127.0.0.1:{port}/v1"
            api_keys = ["env:PB_PROBE_KEY"]

            [models."local/strong"]
            provider = "local"
            deployment = "sim/strong"
        """))

        def go(key: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "pilotbench", "run", "-m", "local/strong", "--config",
                                   str(config), "--dry-run", "--probe", "--db", str(tmp_path / "r.db")],
                                  capture_output=True, text=True, env={**env, "PB_PROBE_KEY": key}, timeout=60)

        good, bad = go(GOOD), go(BAD)
        assert good.returncode == 0, good.stdout + good.stderr
        assert bad.returncode == 4 and "HTTP 401" in bad.stdout and BAD not in bad.stdout + bad.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


# ---------------------------------------------------------------------- the README's dry run, tokens and cost


def _readme_dry_run_line() -> list[str]:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith("pilotbench run") and "--dry-run --probe" in line)
    return line.split("#")[0].split()[1:]


def test_the_readme_dry_run_example_works_with_the_variables_it_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _readme_dry_run_line()
    assert argv[:3] == ["run", "--model", "openai/gpt-4o-mini"]

    def as_strong(model, messages, tools, params):  # type: ignore[no-untyped-def]
        return default_responder("sim/strong", messages, tools, params)

    with MockServerThread(MockConfig(latency=0.0, models=("gpt-4o-mini",)), as_strong) as srv:
        monkeypatch.setenv("OPENAI_API_KEY", GOOD)  # the variable the README names
        monkeypatch.setenv("OPENAI_BASE_URL", f"{srv.base_url}/v1")  # the mock server in OpenAI's place
        code, out, err = cli(capsys, *argv)
        assert srv.stats.requests == 1
    assert code == 0, out + err
    assert "probe: every key and model answered" in " ".join(out.split())


def test_a_builtin_name_needing_other_variables_names_the_open_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "run", "--model", "gpt-4o-mini", "--dry-run")
    assert code == 2
    assert "AZURE_OPENAI_ENDPOINT" in err and "name it openai/gpt-4o-mini (with OPENAI_API_KEY)" in err
    code, _, err = cli(capsys, "run", "--model", "qwen2.5-7b-instruct", "--dry-run")
    assert code == 2 and "openai-api/<name>/qwen2.5-7b-instruct" in err


def _tokens_line(out: str) -> tuple[float, float]:
    import re

    text = " ".join(out.split())
    m = re.search(r"tokens about ([\d.]+)([kMG]?) in and ([\d.]+)([kMG]?) out", text)
    assert m, text
    scale = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}
    return float(m.group(1)) * scale[m.group(2)], float(m.group(3)) * scale[m.group(4)]


def test_dry_run_states_tokens_and_the_cost_of_priced_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")  # a dry run calls nobody
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", GOOD)
    code, out, _ = cli(capsys, "run", "-m", "gpt-4o-mini", "-p", "all", "-n", "1", "--dry-run")
    assert code == 0
    one_in, one_out = _tokens_line(out)
    assert 100_000 < one_in < 1_000_000 and one_out > 0  # 15 tests of ~5 calls with 30 tool schemas each
    code, out, _ = cli(capsys, "run", "-m", "gpt-4o-mini", "-p", "all", "-n", "2", "--dry-run")
    two_in, _ = _tokens_line(out)
    assert abs(two_in / one_in - 2) < 0.05  # twice the tests, twice the tokens
    import re

    text = " ".join(out.split())
    cost = float(re.search(r"cost about \$([\d.,]+) for the priced models", text).group(1))
    two_in, two_out = _tokens_line(out)
    expected = (0.15 * two_in + 0.6 * two_out) / 1e6  # the catalog's prices for gpt-4o-mini
    assert abs(cost - expected) <= 0.01 + 0.05 * expected
    # no prices: said so
    code, out, _ = cli(capsys, "run", "-m", "sim/weak", "--dry-run")
    assert "no prices configured" in " ".join(out.split())


def test_dry_run_tokens_come_from_the_stored_tests_of_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    db = tmp_path / "r.db"
    assert cli(capsys, "run", "-m", "sim/strong", "-n", "1", "--db", str(db), "--no-progress")[0] == 0
    (mean_in,) = sqlite3.connect(db).execute("SELECT AVG(prompt_tokens) FROM results WHERE status='done'").fetchone()
    code, out, _ = cli(capsys, "run", "-m", "sim/strong", "-n", "3", "--db", str(db), "--dry-run")
    assert code == 0
    tokens_in, _ = _tokens_line(out)
    assert abs(tokens_in - 10 * mean_in) <= 0.01 * tokens_in  # 10 pending tests at the stored mean
    assert "the mean of this model's stored tests" in " ".join(out.split())


def test_suite_run_probes_too(server: MockServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "s.toml"
    suite.write_text(textwrap.dedent("""
        [suite]
        name = "probe"

        [[experiment]]
        name = "one"
        models = "openai-api/mock/sim/strong,sim/weak"
        num_instances = 1
    """))
    monkeypatch.setenv("MOCK_BASE_URL", f"{server.base_url}/v1")
    monkeypatch.setenv("MOCK_API_KEY", GOOD)
    code, out, _ = cli(capsys, "suite", "run", str(suite), "--dry-run", "--probe", "--db", str(tmp_path / "r.db"))
    assert code == 0 and "probe: every key and model answered (1 request," in " ".join(out.split())
    monkeypatch.setenv("MOCK_API_KEY", BAD)
    code, out, _ = cli(capsys, "suite", "run", str(suite), "--probe", "--db", str(tmp_path / "r.db"))
    assert code == 4 and "stopped openai-api/mock/sim/strong: no usable key left" in " ".join(out.split())
    assert not (tmp_path / "r.db").exists()
