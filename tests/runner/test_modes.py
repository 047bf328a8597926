"""Run modes: adaptive lanes over HTTP, serial groups, the mock-server command, the live display."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openai

from pilotbench import api
from pilotbench.config import load_config
from pilotbench.limits import FakeClock, Lane
from pilotbench.mock_server import KeyLimits, MockConfig, MockServerThread
from pilotbench.runner.progress import RunProgress
from pilotbench.runner.runtime import build_runtime
from pilotbench.runner.scheduler import RunOptions, Runner
from pilotbench.store.sqlite import SQLiteStore

from ..factories import FAKE_KEYS, mock_config_file


def test_adaptive_lanes_back_off_when_limits_are_declared_too_high(tmp_path: Path, fake_env) -> None:  # type: ignore[no-untyped-def]
    cfg = MockConfig(keys={k: KeyLimits(max_concurrency=2) for k in FAKE_KEYS}, latency=0.02, limits_per_model=True,
                     concurrency_retry_after=0.05)
    with MockServerThread(cfg) as srv:
        config = load_config(mock_config_file(tmp_path, srv.base_url, max_concurrency=8))
        result = api.run(api.build_plan("mock/strong", prompt_types="all", num_instances=4, config=config),
                         db=tmp_path / "a.db", config=config, adaptive=True)
        stats = srv.stats
    assert result.summary.completed == 60 and result.summary.errors == 0
    calls = sum(r.model_calls for r in result.records)
    limited = sum(r.rate_limited for r in result.records)
    assert limited == stats.rate_limited > 0  # it met the real limit ...
    assert limited < 0.25 * calls  # ... and backed off instead of hammering it
    assert all(lane["limit"] < 8 for lane in result.lane_stats.values())  # every lane cut its window


def test_serial_models_run_one_after_another(tmp_path: Path) -> None:
    rt = build_runtime(load_config(cwd=Path("/nonexistent-dir")), ["sim/weak", "sim/strong"])
    with SQLiteStore(tmp_path / "s.db") as store:
        runner = Runner(rt, store, options=RunOptions(serial_by="model", handle_signals=False, live=False,
                                                      progress_interval=3600), keep_records=True)
        summary = asyncio.run(runner.run(api.build_plan("sim/weak,sim/strong", prompt_types="baseline,cot")))
    first = [r for r in summary.records if r.model == "sim/weak"]
    second = [r for r in summary.records if r.model == "sim/strong"]
    assert len(first) == len(second) == 20
    assert max(r.finished_at for r in first) <= min(r.started_at for r in second)


def test_live_display_renders_models_prompt_types_and_lanes() -> None:
    from rich.console import Console

    progress = RunProgress([Lane("sim/...x/sim", provider="sim", key_label="...x", deployment="sim", max_concurrency=4,
                                 clock=FakeClock())])
    progress.plan("sim/weak", "baseline", 10)
    progress.finish("sim/weak", "baseline", ok=True, success=True)
    progress.finish("sim/weak", "baseline", ok=False, success=False)
    console = Console(width=200, record=True, file=open(os.devnull, "w"))
    console.print(progress.table())
    text = console.export_text()
    assert "sim/weak" in text and "baseline" in text and "2/10" in text and "sim/...x/sim" in text
    assert "1 infra errors" in progress.line()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_mock_server_command_serves_the_simulated_models() -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pilotbench", "mock-server", "--port", str(port), "--key", "fake-cli-key-1234",
                             "--max-concurrency", "2", "--latency", "0.01"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="fake-cli-key-1234", max_retries=0)
        reply = client.chat.completions.create(model="sim/strong", messages=[{"role": "user", "content": "FINAL ANSWER please"}])
        assert reply.choices[0].message.content
        bad = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="fake-wrong-key-9999", max_retries=0)
        try:
            bad.chat.completions.create(model="sim/strong", messages=[{"role": "user", "content": "x"}])
            raise AssertionError("an unknown key was accepted")
        except openai.AuthenticationError as e:
            assert "fake-wrong-key" not in str(e)
        stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=2).read())
        assert stats["unauthorized"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
