"""Shared plumbing: the mock server in its own process, plans, configs, timing helpers.

Every server is bound to 127.0.0.1 and always stopped (terminate, then kill) when its `with`
block ends, whatever happened inside it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MOCK_KEYS: tuple[str, ...] = ("bench-key-0000-aaaa", "bench-key-1111-bbbb", "bench-key-2222-cccc")
KEY_ENV = tuple(f"PB_BENCH_KEY_{i}" for i in range(len(MOCK_KEYS)))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keys(n: int) -> tuple[str, ...]:
    """`n` fake API keys for the mock server (the first three are MOCK_KEYS)."""
    return tuple(MOCK_KEYS[i] if i < len(MOCK_KEYS) else f"bench-key-{i:04d}-{i:04x}" for i in range(n))


class MockProcess:
    """`pilotbench mock-server` in a separate process, so its CPU does not count against the client."""

    def __init__(self, *, keys: Sequence[str], max_concurrency: int | None, latency: float, startup: float = 30.0,
                 extra: Sequence[str] = ()) -> None:
        self.keys = tuple(keys)
        self.extra = tuple(extra)  # more `pilotbench mock-server` options (--tpm, --budget-seconds, ...)
        self.max_concurrency = max_concurrency
        self.latency = latency
        self.startup = startup
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> MockProcess:
        cmd = [sys.executable, "-m", "pilotbench", "mock-server", "--host", "127.0.0.1", "--port", str(self.port),
               "--latency", str(self.latency)]
        for k in self.keys:
            cmd += ["--key", k]
        if self.max_concurrency is not None:
            cmd += ["--max-concurrency", str(self.max_concurrency)]
        cmd += list(self.extra)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.startup
        try:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mock server exited with {self.proc.returncode}")
                try:
                    self._get("/health", timeout=1.0)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("mock server did not come up") from None
                    time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def _get(self, path: str, timeout: float = 10.0) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=timeout) as r:
            return json.loads(r.read())

    def stats(self) -> dict[str, Any]:
        return self._get("/stats")

    def reset(self) -> None:
        req = urllib.request.Request(self.base_url + "/admin/reset-stats", data=b"{}", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK


def run_worker(spec: dict[str, Any], *, timeout: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter (`python -m bench.worker`) and return its JSON result."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("MAX_WORKERS", None)
    if spec.get("src"):  # another pilotbench source tree (the baseline): it comes first on the path
        full_env["PYTHONPATH"] = str(spec["src"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.worker", json.dumps(spec)], cwd=ROOT, env=full_env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"worker {spec.get('kind')} timed out after {timeout:.0f} s") from None
    except BaseException:  # interrupted: the worker (its own session) must not outlive us
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"worker {spec.get('kind')} failed ({proc.returncode}):\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def key_env(keys_: Sequence[str]) -> dict[str, str]:
    return {f"PB_BENCH_KEY_{i}": k for i, k in enumerate(keys_)}


def config_text(base_url: str | None, n_keys: int, max_concurrency: int, *, request_timeout: float = 60.0,
                client: str | None = None, provider_extra: str = "", more_models: Sequence[str] = ()) -> str:
    """A pilotbench.toml: provider `mock` (kind openai) with `n_keys` env keys, model `mock/strong`
    (and `mock/<name>` on deployment `sim/<name>` for each of `more_models`)."""
    if base_url is None:
        return ""
    refs = ", ".join(f'"env:PB_BENCH_KEY_{i}"' for i in range(n_keys))
    extra = f'client = "{client}"\n' if client else ""
    models = "".join(f'[models."mock/{m}"]\nprovider = "mock"\ndeployment = "sim/{m}"\n' for m in ("strong", *more_models))
    return (
        f'[providers.mock]\nkind = "openai"\nbase_url = "{base_url}/v1"\napi_keys = [{refs}]\n'
        f"max_concurrency = {max_concurrency}\nrequest_timeout = {request_timeout}\n{extra}{provider_extra}\n"
        + models
    )


def median(xs: Iterable[float]) -> float:
    xs = list(xs)
    return statistics.median(xs) if xs else float("nan")


def spread(xs: Iterable[float]) -> str:
    xs = sorted(xs)
    if not xs:
        return "-"
    return f"{xs[0]:.3g}..{xs[-1]:.3g}"
