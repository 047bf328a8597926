"""Two Ray key owners against the single-process runner, on a plan that makes one process
CPU-bound: `python -m bench.ray_speedup [--tests N] [--latency S] [--rounds R]`.

The mock server runs in its own process with no per-key limit (ample capacity), its latency
short, and the provider uses the official SDK client, whose CPU per call makes one runner process
the bottleneck. Both executors run the same plan over the same two keys into a fresh PostgreSQL
database each (a throwaway server, or PILOTBENCH_BENCH_PG): the single-process runner spreads the
two keys over one event loop; the Ray executor gives each key an owner process. Ray's own start
(a local instance on 127.0.0.1) is timed apart from the run. Target (issue 8): the Ray run at
least 1.7x faster; exits 1 when the measured speedup is below it.

CPU time is measured too (the runner process; the driver, the owners and Ray's own processes),
and from it a CPU-bound projection for two idle cores: on a machine shared with other work the
wall times measure the neighbours as much as pilotbench, and the projection says what the
executor itself costs. Prints a JSON result and a Markdown line on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .common import ROOT, MockProcess, config_text, key_env, keys

N_KEYS = 2
TICK = os.sysconf("SC_CLK_TCK")


def _tree_pids(root: int) -> dict[int, tuple[str, float]]:
    """CPU seconds (own only) of `root` and each live descendant, by pid (Ray's processes are
    the driver's descendants when it starts a local instance)."""
    parent: dict[int, int] = {}
    info: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat.split("(", 1)[1].rsplit(")", 1)[0]
        if name.startswith("python"):  # which Python process: the driver, or one of Ray's monitors
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                script = next((a.decode() for a in argv[1:] if a.endswith(b".py")), "driver")
                name = f"python:{os.path.basename(script)}"
            except OSError:
                pass
        fields = stat.rsplit(")", 1)[1].split()
        parent[int(entry)] = int(fields[1])
        info[int(entry)] = (name, (int(fields[11]) + int(fields[12])) / TICK)
    out: dict[int, tuple[str, float]] = {}
    for pid, (name, cpu) in info.items():
        p = pid
        while p not in (0, 1, root):
            p = parent.get(p, 0)
        if p == root:
            out[pid] = (name, cpu)
    return out


def _plan(config: Any, tests: int) -> Any:
    from pilotbench.api import build_plan

    per_cell = max(1, tests // (3 * 5))  # 3 prompt types x 5 task types
    return build_plan("mock/strong", prompt_types="baseline,cot,optimal", task_types="all", num_instances=per_cell,
                      config=config)


def worker(kind: str, db: str, config_path: str, tests: int) -> dict[str, Any]:
    """One measurement, in a fresh interpreter."""
    from pilotbench.config import load_config

    config = load_config(config_path)
    plan = _plan(config, tests)
    out: dict[str, Any] = {"kind": kind, "tests": len(plan)}
    if kind.startswith("part"):
        # The control: one plain runner process per key, on the Ray driver's split of the plan.
        from pilotbench import api
        from pilotbench.runner.ray_executor import OwnerRef, partition

        index = int(kind[4:])
        specs = partition(plan.expand(), config)[OwnerRef("mock", index)]
        env = dict(os.environ, MOCK_API_KEY_OVERRIDE=os.environ[f"PB_BENCH_KEY_{index}"])
        cpu0 = time.process_time()
        t0 = time.monotonic()
        result = api.run(specs, db=db, config=config, keep_records=False, env=env)
        out.update(tests=len(specs), run_s=time.monotonic() - t0, cpu_s=time.process_time() - cpu0,
                   completed=result.summary.completed)
    elif kind == "local":
        from pilotbench import api

        cpu0 = time.process_time()
        t0 = time.monotonic()
        result = api.run(plan, db=db, config=config, keep_records=False)
        out["run_s"] = time.monotonic() - t0
        out["cpu_s"] = time.process_time() - cpu0
        out["cpu_share"] = out["cpu_s"] / out["run_s"]
        out["completed"] = result.summary.completed
    else:
        import ray

        from pilotbench.runner.ray_executor import RayDriver, RayOptions, pin_loopback
        from pilotbench.runner.scheduler import RunOptions

        pin_loopback(ray)
        # Owners exit when retired, so their CPU is sampled while they live (every 0.25 s).
        seen: dict[int, tuple[str, float]] = {}
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(0.25):
                seen.update(_tree_pids(os.getpid()))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.monotonic()
        ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", num_cpus=N_KEYS,
                 log_to_driver=False, namespace="pilotbench")
        out["ray_start_s"] = time.monotonic() - t0
        t1 = time.monotonic()
        driver = RayDriver(plan, db=db, config=config, options=RunOptions(progress_interval=5.0, handle_signals=False),
                           ray_options=RayOptions(owner_cpus=1.0))
        summary = driver.run()
        out["owner_run_cpu_s"] = [round(o.last.get("cpu_s", 0.0), 2) for o in driver._owners.values()]
        out["run_s"] = time.monotonic() - t1
        out["completed"] = summary.completed
        seen.update(_tree_pids(os.getpid()))
        sampling.set()
        tree: dict[str, float] = {}
        for name, cpu in seen.values():
            tree[name] = tree.get(name, 0.0) + cpu
        out["cpu_s"] = sum(tree.values())
        out["cpu_by_process"] = {k: round(v, 2) for k, v in sorted(tree.items(), key=lambda kv: -kv[1])[:10]}
        ray.shutdown()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _measure(kind: str, db: str, config_path: Path, tests: int, env: dict[str, str], timeout: float) -> dict[str, Any]:
    kinds = [f"part{i}" for i in range(N_KEYS)] if kind == "split" else [kind]
    procs = [
        subprocess.Popen([sys.executable, "-m", "bench.ray_speedup", "--worker", k, "--db", db, "--config",
                          str(config_path), "--tests", str(tests)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
        for k in kinds
    ]
    outs = []
    for k, proc in zip(kinds, procs):
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{k} run failed:\n{err[-3000:]}")
        outs.append(json.loads(out.strip().splitlines()[-1]))
    if kind != "split":
        return outs[0]
    return {"kind": "split", "tests": sum(o["tests"] for o in outs), "run_s": max(o["run_s"] for o in outs),
            "cpu_s": sum(o["cpu_s"] for o in outs), "completed": sum(o["completed"] for o in outs)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", type=int, default=600, help="tests in the plan (rounded to 15s)")
    ap.add_argument("--latency", type=float, default=0.01, help="mock server latency per call, seconds")
    ap.add_argument("--rounds", type=int, default=1, help="measure each executor this many times, interleaved")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.db, args.config, args.tests)))
        return 0

    sys.path.insert(0, str(ROOT))
    from tests.distributed.pgserver import create_database, drop_database, start_throwaway

    admin = os.environ.get("PILOTBENCH_BENCH_PG") or start_throwaway()
    ks = keys(N_KEYS)
    results: dict[str, list[dict[str, Any]]] = {"local": [], "ray": [], "split": []}
    with tempfile.TemporaryDirectory(prefix="pbbench-") as home, MockProcess(keys=ks, max_concurrency=None,
                                                                            latency=args.latency) as srv:
        config_path = Path(home) / "pilotbench.toml"
        config_path.write_text(config_text(srv.base_url, N_KEYS, 64))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_") and k != "MAX_WORKERS"}
        env.update(key_env(ks), HOME=home, PYTHONPATH=str(ROOT))
        for _ in range(args.rounds):
            for kind in ("local", "ray", "split"):
                db = create_database(admin)
                try:
                    cpu0 = srv.cpu_seconds()
                    r = _measure(kind, db, config_path, args.tests, env, timeout=1800)
                    r["server_cpu_s"] = srv.cpu_seconds() - cpu0
                    results[kind].append(r)
                    print(f"{kind}: {json.dumps(r)}", file=sys.stderr, flush=True)
                finally:
                    drop_database(admin, db)
    local = min(r["run_s"] for r in results["local"])
    ray_run = min(r["run_s"] for r in results["ray"])
    ray_total = min(r["run_s"] + r["ray_start_s"] for r in results["ray"])
    split = min(r["run_s"] for r in results["split"])
    summary = {
        "tests": results["local"][0]["tests"], "latency": args.latency, "cores": os.cpu_count(),
        "local_run_s": local, "ray_run_s": ray_run, "ray_with_start_s": ray_total,
        "speedup": local / ray_run, "speedup_with_start": local / ray_total,
        # The control: two plain processes, one per key, no Ray. What this machine allows.
        "split_run_s": split, "split_speedup": local / split,
        "local_cpu_share": results["local"][0]["cpu_share"],
        # CPU per test, client side (local: the runner process; ray: driver, owners and Ray's own
        # processes, start included): what the speedup on idle cores is bounded by.
        "local_cpu_ms_per_test": 1000 * min(r["cpu_s"] for r in results["local"]) / results["local"][0]["tests"],
        "ray_cpu_ms_per_test": 1000 * min(r["cpu_s"] for r in results["ray"]) / results["ray"][0]["tests"],
        "target": 1.7, "runs": results,
    }
    # What two idle cores would give, from CPU alone (for a shared, loaded machine, where wall
    # times mostly measure the neighbours): the single process needs its own CPU on one core;
    # the Ray run needs its CPU plus the server's spread over both cores.
    best_local = min(results["local"], key=lambda r: r["cpu_s"])
    best_ray = min(results["ray"], key=lambda r: r["cpu_s"])
    local_bound = max(best_local["cpu_s"], best_local["server_cpu_s"])
    ray_bound = max((best_ray["cpu_s"] + best_ray["server_cpu_s"]) / N_KEYS,
                    best_ray.get("cpu_by_process", {}).get("ray::KeyOwner", 0.0) / N_KEYS)
    summary["cpu_bound_projection"] = local_bound / ray_bound if ray_bound else None
    print(json.dumps(summary))
    print(f"| ray_speedup | {summary['tests']} tests, {N_KEYS} keys, {args.latency * 1000:g} ms latency | single process "
          f"{local:.1f} s (CPU {summary['local_cpu_share']:.0%}) | 2 Ray owners {ray_run:.1f} s "
          f"(+{ray_total - ray_run:.1f} s Ray start) | {summary['speedup']:.2f}x ({summary['speedup_with_start']:.2f}x with start); "
          f"CPU-bound projection {summary['cpu_bound_projection'] or 0:.2f}x | control, 2 plain processes: "
          f"{split:.1f} s, {summary['split_speedup']:.2f}x |")
    return 0 if summary["speedup"] >= 1.7 else 1


if __name__ == "__main__":
    sys.exit(main())
