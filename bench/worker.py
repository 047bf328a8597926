"""One measurement in a fresh interpreter: `python -m bench.worker '<json spec>'`; prints one JSON line.

Kinds: `ideal` (the hand-written SDK client), `pilotbench` (api.run_async over HTTP), `inproc`
(api.run_async on the in-process simulated models), `resume` (a big plan against a store),
`store` (write throughput and status queries). CPU is this process's own CPU time
(`time.process_time`, all threads) over the measured section only; imports and request
recording are outside it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _maxrss_mb() -> float:
    """Peak resident memory of this process: the sampled peak (see _PeakRSS), because Linux carries
    ru_maxrss over from the forking parent across exec, so a small worker can report the size of
    whatever process started it."""
    return max(_PEAK.peak_mb, _rss_mb())


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class _PeakRSS:
    """Samples this process's resident memory every 20 ms in a daemon thread."""

    def __init__(self) -> None:
        import threading

        self.peak_mb = 0.0
        threading.Thread(target=self._run, daemon=True, name="peak-rss").start()

    def _run(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, _rss_mb())
            time.sleep(0.02)


_PEAK: _PeakRSS


class LagTicker:
    """Event-loop lag: a task that asks to wake every `interval` s and records how late it woke."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self.late: list[tuple[float, int]] = []  # (seconds from start, lag in ms) of lags over 50 ms
        self.t0 = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(self.interval)
            lag = loop.time() - t - self.interval
            self.samples.append(lag)
            if lag > 0.05:
                self.late.append((round(t - self.t0, 2), round(lag * 1000)))

    def start(self) -> None:
        self.t0 = asyncio.get_running_loop().time()
        self._task = asyncio.create_task(self._run())

    def stop(self) -> dict[str, float]:
        if self._task is not None:
            self._task.cancel()
        xs = sorted(self.samples)
        if not xs:
            return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "n": 0}
        pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))] * 1000  # noqa: E731
        return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": xs[-1] * 1000, "n": len(xs),
                "over_50ms": len(self.late), "late": self.late[:200]}


def _profiler(spec: dict[str, Any]) -> Any:
    """A started pyinstrument profiler when the spec asks for a profile (the `bench` extra)."""
    if not spec.get("profile"):
        return None
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    return profiler


def _save_profile(profiler: Any, spec: dict[str, Any]) -> None:
    if profiler is not None:
        profiler.stop()
        Path(spec["profile"]).write_text(profiler.output_text(unicode=False, color=False, show_all=False))


def _plan(p: dict[str, Any], model: str):  # type: ignore[no-untyped-def]
    from pilotbench.benchmark.types import PROMPT_TYPES, TASK_TYPES
    from pilotbench.plan import PlanSpec

    return PlanSpec(
        models=tuple(p.get("models") or (model,)),
        prompt_types=tuple(p.get("prompt_types") or PROMPT_TYPES),
        task_types=tuple(p.get("task_types") or TASK_TYPES),
        num_instances=int(p["instances"]),
    )


def record_requests(plan, deployment: str = "sim/strong") -> list[list[dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """Every request pilotbench will send for `plan`, in order: the conversations played in process
    against the same simulated model that stands behind the mock server (deterministic)."""
    from pilotbench.benchmark.episode import Episode, StopRules
    from pilotbench.benchmark.prompts import render_prompt
    from pilotbench.benchmark.tasks import generate_instance
    from pilotbench.models.simulated import get_simulated_model

    model = get_simulated_model(deployment)
    out: list[list[dict[str, Any]]] = []
    tools = None
    for spec in plan.expand():
        task = generate_instance(spec.task_type, spec.instance, spec.seed)
        prompt = render_prompt(task, spec.difficulty, spec.prompt_type, severity=spec.severity, tool_mode="native")
        ep = Episode(spec.id, task, prompt, spec.tool_success_rate, rules=StopRules(max_turns=spec.max_turns))
        tools = ep.tools
        while not ep.done:
            out.append(list(ep.messages))
            ep.step(model.respond(ep.messages, ep.tools, {}))
    return out, tools  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------- ideal


async def _ideal(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx2
    import openai

    plan = _plan(spec["plan"], "mock/strong")
    requests, tools = record_requests(plan)
    # The recorded requests are the benchmark's input, not client state: keep the collector from
    # scanning them again and again (it would charge the ideal client for holding the whole plan).
    gc.collect()
    gc.freeze()
    keys = spec["keys"]
    per_key = int(spec["per_key"])
    ticker = LagTicker()
    profiler = _profiler(spec)
    c0, t0 = time.process_time(), time.perf_counter()  # client creation counts, as pilotbench's does
    clients = [
        openai.AsyncOpenAI(
            base_url=spec["base_url"] + "/v1", api_key=k, max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(
                limits=httpx2.Limits(max_connections=per_key + 16, max_keepalive_connections=per_key + 16)
            ),
        )
        for k in keys
    ]
    sems = [asyncio.Semaphore(per_key) for _ in keys]
    rate_limited = 0
    ok = 0

    async def one(i: int, messages: list[dict[str, Any]]) -> None:
        nonlocal rate_limited, ok
        k = i % len(keys)
        async with sems[k]:
            while True:
                try:
                    await clients[k].chat.completions.create(model="sim/strong", messages=messages, tools=tools, timeout=60)
                    ok += 1
                    return
                except openai.RateLimitError:
                    rate_limited += 1
                    await asyncio.sleep(0.05)

    ticker.start()
    calls = asyncio.gather(*(one(i, m) for i, m in enumerate(requests)))
    try:
        await asyncio.wait_for(calls, spec.get("deadline_s"))
    except TimeoutError:  # a long run cut short: its steady rate is what is compared
        pass
    lag = ticker.stop()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    _save_profile(profiler, spec)
    for c in clients:
        await c.close()
    return {"wall": wall, "cpu": cpu, "calls": ok, "tests": len(plan), "client_429": rate_limited, "lag": lag,
            "maxrss_mb": _maxrss_mb()}


# ------------------------------------------------------------------------------------ pilotbench


async def _pilotbench(spec: dict[str, Any]) -> dict[str, Any]:
    from pilotbench import api
    from pilotbench.config import load_config
    from pilotbench.runner.scheduler import RunOptions

    if spec.get("config"):  # the provider modules' imports (the SDK: ~1 s) stay outside the timing, as for `ideal`
        import importlib

        for module in ("pilotbench.models.openai_compat", "pilotbench.models.lean"):
            try:
                importlib.import_module(module)
            except ImportError:  # a baseline tree without the lean path
                pass

    work = Path(spec.get("dir") or tempfile.mkdtemp(prefix="pb-bench-"))
    model = "mock/strong" if spec.get("config") else "sim/strong"
    cfg_path = work / "pilotbench.toml"
    cfg_path.write_text(spec.get("config") or "")
    cfg_path.chmod(0o600)
    config = load_config(cfg_path)
    plan = _plan(spec["plan"], model)
    env = {k: v for k, v in os.environ.items() if k.startswith("PB_BENCH_KEY_")}
    options = RunOptions(
        checkpoint_interval=100, live=False, progress_interval=10.0, log_dir=work / "logs", handle_signals=False
    )
    ticker = LagTicker()
    profiler = _profiler(spec)
    c0, t0 = time.process_time(), time.perf_counter()
    ticker.start()
    result = await api.run_async(
        plan, db=work / "results.db", config=config, env=env, adaptive=bool(spec.get("adaptive")),
        max_concurrency=spec.get("max_concurrency"), options=options, keep_records=False,
    )
    lag = ticker.stop()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    _save_profile(profiler, spec)
    s = result.summary
    calls = sum(l["calls"] for l in result.lane_stats.values())
    limited = sum(l["rate_limited"] for l in result.lane_stats.values())
    return {"wall": wall, "cpu": cpu, "calls": calls, "client_429": limited, "tests": s.completed, "errors": s.errors,
            "lag": lag, "maxrss_mb": _maxrss_mb(), "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "limits": {n: l["limit"] for n, l in result.lane_stats.items()}}


async def _idle(spec: dict[str, Any]) -> dict[str, Any]:
    """The control for event-loop lag: a loop with nothing to do but the ticker. Its lag is the
    machine's (other processes taking the CPU), not the program's."""
    ticker = LagTicker()
    ticker.start()
    t0 = time.perf_counter()
    if spec.get("until_eof"):  # runs beside a measurement until the orchestrator closes stdin
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    else:
        await asyncio.sleep(float(spec.get("seconds", 10)))
    return {"lag": ticker.stop(), "wall": time.perf_counter() - t0}


# ---------------------------------------------------------------------------------------- main


def main() -> None:
    global _PEAK
    _PEAK = _PeakRSS()
    spec = json.loads(sys.argv[1])
    kind = spec["kind"]
    if kind == "ideal":
        out = asyncio.run(_ideal(spec))
    elif kind in ("pilotbench", "inproc"):
        out = asyncio.run(_pilotbench(spec))
    elif kind == "idle":
        out = asyncio.run(_idle(spec))
    elif kind in ("resume", "store"):
        from . import store_bench

        out = store_bench.run(spec)
    else:
        raise SystemExit(f"unknown kind {kind!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
