"""pilotbench against a real small model on 127.0.0.1 (marker `real_model`, not in the default run).

    PILOTBENCH_REAL_MODEL=~/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \\
    PILOTBENCH_XLLAMACPP=~/models/xllamacpp \\
    python -m pytest -m real_model tests/real_model

The model and the server library come from `python -m bench.local_model fetch --dir ~/models`
(README, "A real model with no API key"). The server runs in a child process started and
stopped here, with one slot and one thread (PILOTBENCH_REAL_MODEL_THREADS); on two cores the first
call of a mode takes minutes (5,400 prompt tokens), later ones less thanks to llama.cpp's prompt cache. The
tests are few for that reason, and check what issue 16 is about rather than how well a 0.5B
model does: a call it writes as text runs as a call, and a reply cut off is never an answer.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotbench import api
from pilotbench.config import load_config

pytestmark = pytest.mark.real_model

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path(os.path.expanduser(os.environ.get("PILOTBENCH_REAL_MODEL", ""))) if os.environ.get("PILOTBENCH_REAL_MODEL") else None
XLLAMACPP = os.path.expanduser(os.environ.get("PILOTBENCH_XLLAMACPP", ""))
# One thread by default: on a shared 2-core machine two llama.cpp threads that must meet at every
# step slowed generation to 0.2 tokens/s under load; one thread keeps a few tokens/s.
THREADS = os.environ.get("PILOTBENCH_REAL_MODEL_THREADS", "1")
KEY = "no-key-needed-0000"  # llama.cpp's server takes any key; pilotbench wants one


def _skip_reason() -> str | None:
    if MODEL is None:
        return ("set PILOTBENCH_REAL_MODEL to a GGUF model file (python -m bench.local_model fetch --dir DIR "
                "downloads Qwen2.5-Coder-0.5B-Instruct)")
    if not MODEL.is_file():
        return f"PILOTBENCH_REAL_MODEL={MODEL}: no such file"
    if importlib.util.find_spec("xllamacpp") is None and not (XLLAMACPP and (Path(XLLAMACPP) / "xllamacpp").is_dir()):
        return "xllamacpp is not installed and PILOTBENCH_XLLAMACPP does not point at an unzipped xllamacpp wheel"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), str(ROOT / "src"), XLLAMACPP, env.get("PYTHONPATH", "")) if p)
    log = open(tmp_path_factory.mktemp("real_model") / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.local_model", "serve", "--model", str(MODEL), "--port", str(port), "--threads", THREADS],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: os.nice(5),  # a shared machine: let everything else go first
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the model server exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as r:
                    if json.loads(r.read()).get("status") == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the model server did not come up in 180 s; see {log.name}")
            time.sleep(0.5)
        yield base + "/v1"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _run(tmp_path: Path, base_url: str, model: str, mode: str, max_tokens: int, max_turns: int) -> sqlite3.Row:
    cfg_file = tmp_path / "pilotbench.toml"
    cfg_file.write_text(textwrap.dedent(f"""
        [providers.local]
        kind = "openai"
        base_url = "{base_url}"
        api_keys = ["env:PB_REAL_MODEL_KEY"]
        max_concurrency = 1
        request_timeout = 900
        max_retries = 0

        [models."{model}"]
        provider = "local"
        deployment = "local"
        tool_mode = "{mode}"
        max_tokens = {max_tokens}
        params = {{ temperature = 0 }}
        """))
    cfg_file.chmod(0o600)
    cfg = load_config(cfg_file)
    plan = api.build_plan(model, task_types="simple_task", num_instances=1, max_turns=max_turns, config=cfg)
    db = tmp_path / "real.db"
    result = api.run(plan, db=db, config=cfg, env={"PB_REAL_MODEL_KEY": KEY})
    assert result.summary.errors == 0, [r.infra_error for r in result.summary.records]
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    (row,) = con.execute("SELECT * FROM results WHERE status = 'done'").fetchall()
    return row


def test_native_mode_runs_the_calls_the_model_writes_as_text(server: str, tmp_path: Path) -> None:
    row = _run(tmp_path, server, "local/qwen-native", "native", 256, 2)
    traj = json.loads(row["trajectory"])
    # Served without a tool-call parser, the model writes its call as text: it runs as a call.
    assert row["text_calls"] >= 1 and row["tool_calls"] >= 1, traj
    assert traj["calls"][0]["turn"] == 1
    assert row["prompt_tokens"] > 5000  # the 30 schemas in Qwen's template


def test_a_reply_cut_off_at_max_tokens_is_never_the_answer(server: str, tmp_path: Path) -> None:
    row = _run(tmp_path, server, "local/qwen-cut", "native", 12, 1)
    traj = json.loads(row["trajectory"])
    assert row["truncated_replies"] == 1 and row["format_errors"] == 1
    assert traj["final_answer"] is None and not traj["declared_completion"] and traj["stop_reason"] == "max_turns"
    assert row["completion_tokens"] == 12


def test_text_mode_reads_the_calls_the_model_writes(server: str, tmp_path: Path) -> None:
    row = _run(tmp_path, server, "local/qwen-text", "text", 256, 1)
    traj = json.loads(row["trajectory"])
    assert row["tool_calls"] >= 1 and row["text_calls"] == 0, traj
