"""Run pilotbench's benchmark suite: `python -m bench [--quick] [--only NAME,...] [--profile]`.

Every measurement runs in a fresh interpreter (bench/worker.py) so that its CPU time and peak
memory are its own; every mock server runs in its own process (bench/common.py) so that its CPU
does not count against the client. Clients are measured side by side, interleaved, several times,
and the medians and ratios are reported, because the machine is shared and noisy.

Benchmarks (targets from issues 3, 6 and 13):
  util      utilisation vs the ideal SDK client (3 keys x 8 slots, 0.2 s and 0.05 s latency),
            and adaptive limits declared 4x too high; CPU per call vs the bare SDK client
  scale     10x the tests: time and peak memory (in process, and over HTTP)
  conc      1,000 conversations in flight at 1 s latency: event-loop lag and utilisation
  limits    limits not declared right: stated in x-ratelimit-* headers only; declared 2x/4x/8x too high
            with --adaptive against 429 + Retry-After 1 s; two models on one key, both lane scopes
  store     batched write throughput; status query and done_ids on a million rows; resume of a
            million-test plan
Results: bench/results/<name>.json and a Markdown summary on stdout (bench/results/summary.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import MockProcess, config_text, key_env, keys, median, run_worker, spread

RESULTS = Path(__file__).resolve().parent / "results"
CLIENTS = ("ideal", "pb-sdk", "pb-lean")


def log(*a: Any) -> None:
    print(*a, file=sys.stderr, flush=True)


BASELINE_SRC: str | None = None  # --baseline-src: clients and runs named "...-before" use that tree


def _client_spec(client: str, srv: MockProcess, n_keys: int, per_key: int, plan: dict[str, Any], *,
                 declared: int | None = None, adaptive: bool = False, work: Path, provider_extra: str = "",
                 more_models: tuple[str, ...] = ()) -> dict[str, Any]:
    if client == "ideal":
        return {"kind": "ideal", "base_url": srv.base_url, "keys": list(srv.keys), "per_key": per_key, "plan": plan}
    lean = client.endswith("lean")
    d = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    spec = {"kind": "pilotbench", "dir": str(d), "plan": plan, "adaptive": adaptive,
            "config": config_text(srv.base_url, n_keys, declared or per_key, client="lean" if lean else None,
                                  provider_extra=provider_extra, more_models=more_models)}
    if client.endswith("-before"):
        spec["src"] = BASELINE_SRC
    return spec


class StatsSampler:
    """Polls the server's /stats from the orchestrator (not the measured process) every `interval` s."""

    def __init__(self, srv: MockProcess, interval: float = 0.25) -> None:
        import threading

        self.srv, self.interval = srv, interval
        self.points: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.points.append((time.monotonic(), int(self.srv.stats()["ok"])))
            except OSError:
                pass

    def __enter__(self) -> StatsSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def steady_rate(self, lo: float = 0.1, hi: float = 0.6) -> float:
        """Calls/s between the moments `lo` and `hi` of the final count had completed: the run
        without its ramp-up and its tail (for conversations, the tail is their last turns)."""
        pts = self.points
        if len(pts) < 3 or pts[-1][1] == 0:
            return float("nan")
        final = pts[-1][1]
        a = next(p for p in pts if p[1] >= lo * final)
        b = next(p for p in pts if p[1] >= hi * final)
        return (b[1] - a[1]) / (b[0] - a[0]) if b[0] > a[0] else float("nan")


def start_control() -> Any:
    """An idle event loop with only the lag ticker, in its own process, beside a measurement:
    its lag is what the machine (other processes, the mock server) does to any loop."""
    import subprocess

    from .common import ROOT

    return subprocess.Popen([sys.executable, "-m", "bench.worker", json.dumps({"kind": "idle", "until_eof": True})],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def stop_control(proc: Any) -> dict[str, Any]:
    try:
        out, _ = proc.communicate(input="", timeout=30)
        return json.loads(out.strip().splitlines()[-1])
    except Exception:  # noqa: BLE001 - the control is a side figure; never let it break a run
        proc.kill()
        proc.wait(5)
        return {"lag": {"p50_ms": float("nan"), "p99_ms": float("nan")}}


def measure_clients(srv: MockProcess, clients: tuple[str, ...], reps: int, *, n_keys: int, per_key: int,
                    plan: dict[str, Any], capacity: float, work: Path, timeout: float,
                    declared: int | None = None, adaptive: bool = False,
                    ideal_deadline: float | None = None, control: bool = False, provider_extra: str = "",
                    more_models: tuple[str, ...] = (), budget: tuple[float, float] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Each client `reps` times, interleaved; utilisation and 429s from the server's own counters."""
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
    for rep in range(reps):
        for client in clients:
            client_adaptive = adaptive or client.endswith("-adaptive")
            spec = _client_spec(client.removesuffix("-adaptive"), srv, n_keys, per_key, plan, declared=declared,
                                adaptive=client_adaptive, work=work, provider_extra=provider_extra, more_models=more_models)
            if client == "ideal" and ideal_deadline:
                spec["deadline_s"] = ideal_deadline
            srv.reset()
            if budget is not None:
                # The server's buckets outlive its stats: let the last run's drained buckets fill up
                # again, so every run starts with the full budget the measure takes off (`held`).
                time.sleep(budget[1] / budget[0] + 0.5)
            s0 = srv.cpu_seconds()
            ctl = start_control() if control else None
            try:
                with StatsSampler(srv) as sampler:
                    r = run_worker(spec, timeout=timeout, env=key_env(srv.keys))
            finally:
                if ctl is not None:
                    r_ctl = stop_control(ctl)
            if ctl is not None:
                r["control_lag"] = r_ctl["lag"]
            st = srv.stats()
            ok, requests = st["ok"], st["requests"]
            r.update(
                server_ok=ok, server_requests=requests, server_429=st["rate_limited"],
                share_429=st["rate_limited"] / requests if requests else 0.0,
                calls_per_s=ok / r["wall"], utilisation=ok / r["wall"] / capacity,
                steady_utilisation=sampler.steady_rate() / capacity,
                cpu_ms_per_call=r["cpu"] / ok * 1000 if ok else float("nan"),
                server_cpu_ms_per_call=(srv.cpu_seconds() - s0) / ok * 1000 if ok else float("nan"),
            )
            if budget is not None:  # (tokens per second over all keys, tokens the full buckets hold at the start)
                rate, held = budget
                r["budget_time"] = max(0.0, st.get("tokens_charged", 0) - held) / rate
                r["of_budget_time"] = r["budget_time"] / r["wall"]
            out[client].append(r)
            log(f"  rep {rep + 1}/{reps} {client:8s} util {r['utilisation']:.3f} wall {r['wall']:.1f}s "
                f"calls {ok} 429 {r['server_429']} cpu/call {r['cpu_ms_per_call']:.2f} ms lag p99 {r['lag']['p99_ms']:.0f} ms")
            if "spec_dir" in r:
                pass
            if spec.get("dir"):
                shutil.rmtree(spec["dir"], ignore_errors=True)
    return out


def summarise(runs: dict[str, list[dict[str, Any]]], baseline: str = "ideal") -> dict[str, Any]:
    s: dict[str, Any] = {}
    for client, rs in runs.items():
        s[client] = {
            "utilisation": median(r["utilisation"] for r in rs),
            "utilisation_range": spread(r["utilisation"] for r in rs),
            "steady_utilisation": median(r["steady_utilisation"] for r in rs),
            "calls_per_s": median(r["calls_per_s"] for r in rs),
            "share_429": median(r["share_429"] for r in rs),
            "cpu_ms_per_call": median(r["cpu_ms_per_call"] for r in rs),
            "server_cpu_ms_per_call": median(r["server_cpu_ms_per_call"] for r in rs),
            "lag_p99_ms": median(r["lag"]["p99_ms"] for r in rs),
            "lag_p50_ms": median(r["lag"]["p50_ms"] for r in rs),
            "control_lag_p99_ms": median(r["control_lag"]["p99_ms"] for r in rs) if "control_lag" in rs[0] else None,
            "lag_over_50ms": median(r["lag"].get("over_50ms", 0) for r in rs),
            "lag_samples": median(r["lag"]["n"] for r in rs),
            "wall_s": median(r["wall"] for r in rs),
            "calls": median(r["server_ok"] for r in rs),
            "server_429": median(r["server_429"] for r in rs),
            "reps": len(rs),
        }
        if "of_budget_time" in rs[0]:
            s[client]["of_budget_time"] = median(r["of_budget_time"] for r in rs)
            s[client]["of_budget_time_range"] = spread(r["of_budget_time"] for r in rs)
    if baseline in runs and runs[baseline]:
        # Ratios per repetition (each pair ran back to back), then their median.
        for client, rs in runs.items():
            if client == baseline:
                continue
            pairs = list(zip(rs, runs[baseline]))
            s[client]["util_vs_ideal"] = median(a["utilisation"] / b["utilisation"] for a, b in pairs)
            s[client]["util_vs_ideal_range"] = spread(a["utilisation"] / b["utilisation"] for a, b in pairs)
            s[client]["cpu_vs_ideal"] = median(a["cpu_ms_per_call"] / b["cpu_ms_per_call"] for a, b in pairs)
            s[client]["steady_vs_ideal"] = median(a["steady_utilisation"] / b["steady_utilisation"] for a, b in pairs)
    return s


# ------------------------------------------------------------------------------------------ util


def bench_util(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ks = keys(3)
    clients = CLIENTS + (("pb-sdk-before",) if BASELINE_SRC else ())
    cases = [("latency_0.2", 0.2, args.util_instances), ("latency_0.05", 0.05, args.util_instances_fast)]
    for name, latency, inst in cases:
        log(f"util {name}: 3 keys x 8 slots, {latency} s latency, plan of {inst * 50} tests")
        with MockProcess(keys=ks, max_concurrency=8, latency=latency) as srv:
            runs = measure_clients(srv, clients, args.reps, n_keys=3, per_key=8, plan={"instances": inst},
                                   capacity=24 / latency, work=work, timeout=900)
        out[name] = {"latency": latency, "capacity": 24 / latency, "runs": runs, "summary": summarise(runs)}
    log(f"util adaptive: server allows 8 per key, pilotbench declares 32 with --adaptive, 0.2 s latency")
    with MockProcess(keys=ks, max_concurrency=8, latency=0.2) as srv:
        runs = measure_clients(srv, clients, args.reps, n_keys=3, per_key=8, declared=32, adaptive=True,
                               plan={"instances": args.util_instances}, capacity=120.0, work=work, timeout=900)
    out["adaptive_4x"] = {"latency": 0.2, "capacity": 120.0, "runs": runs, "summary": summarise(runs)}
    return out


# ------------------------------------------------------------------------------------------ limits


LIMIT_CASES = ("headers", "adaptive", "shared")


def bench_limits(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Limits the user did not declare right (issue 13): stated in headers, declared too high
    against a server that answers overflow with Retry-After 1 s, two models on one key."""
    out: dict[str, Any] = {}
    ks = keys(3)
    before = ("pb-sdk-before",) if BASELINE_SRC else ()
    cases = args.limit_cases
    if "headers" in cases:
        # Per-key token budgets stated in x-ratelimit-* headers; nothing declared but 64 per key.
        tpm, seconds, latency = args.headers_tpm, 6.0, 0.2
        rate, held = 3 * tpm / 60.0, 3 * tpm / 60.0 * seconds
        inst = args.headers_instances
        log(f"limits headers: 3 keys x {tpm} TPM stated in headers (buckets of {seconds:g} s), declared 64 per key, "
            f"{inst * 50} tests")
        with MockProcess(keys=ks, max_concurrency=None, latency=latency,
                         extra=["--tpm", str(tpm), "--budget-seconds", str(seconds)]) as srv:
            runs = measure_clients(srv, ("pb-sdk", "pb-lean", "pb-sdk-adaptive") + before + tuple(
                c + "-adaptive" for c in before), args.limit_reps, n_keys=3, per_key=64, plan={"instances": inst},
                capacity=3 * 64 / latency, work=work, timeout=900, budget=(rate, held))
        out["headers"] = {"tpm": tpm, "budget_seconds": seconds, "runs": runs, "summary": summarise(runs)}
    if "adaptive" in cases:
        for factor, inst in args.adaptive_runs:
            declared = 8 * factor
            name = f"adaptive_{factor}x_{inst * 50}"
            log(f"limits {name}: server allows 8 per key (429 + Retry-After 1 s), declared {declared} --adaptive, "
                f"{inst * 50} tests")
            with MockProcess(keys=ks, max_concurrency=8, latency=0.2) as srv:
                runs = measure_clients(srv, ("ideal", "pb-sdk") + before, args.limit_reps, n_keys=3, per_key=8,
                                       declared=declared, adaptive=True, plan={"instances": inst}, capacity=120.0,
                                       work=work, timeout=900)
            out[name] = {"declared": declared, "tests": inst * 50, "runs": runs, "summary": summarise(runs)}
    shared_only = [c.split(":", 1)[1] for c in cases if c.startswith("shared:")]  # e.g. shared:key/deployment
    if "shared" in cases or shared_only:
        # Two models on one set of keys; the server counts 8 per key (or 8 per key and model).
        for server_scope in ("key", "model"):
            extra = ["--limits-per-model"] if server_scope == "model" else []
            capacity = 3 * 8 / 0.2 * (2 if server_scope == "model" else 1)
            for lane_scope in ("deployment", "key"):
                if shared_only and f"{server_scope}/{lane_scope}" not in shared_only:
                    continue
                name = f"shared_server-{server_scope}_lanes-{lane_scope}"
                log(f"limits {name}: two models, server limits 8 per {server_scope}, lane_scope = {lane_scope}")
                with MockProcess(keys=ks, max_concurrency=8, latency=0.2, extra=extra) as srv:
                    runs = measure_clients(srv, ("pb-sdk", "pb-sdk-adaptive") + before, args.limit_reps, n_keys=3, per_key=8,
                                           plan={"instances": args.shared_instances, "models": ["mock/strong", "mock/medium"]},
                                           capacity=capacity, work=work, timeout=900,
                                           provider_extra=f'lane_scope = "{lane_scope}"\n', more_models=("medium",))
                out[name] = {"server_scope": server_scope, "lane_scope": lane_scope, "capacity": capacity,
                             "runs": runs, "summary": summarise(runs)}
    return out


# ------------------------------------------------------------------------------------------ scale


def bench_scale(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    base = args.scale_instances
    cases: list[tuple[str, int, str | None]] = [("inproc", base, None), ("http_lean", base // 2, "lean")]
    if BASELINE_SRC:
        cases.insert(1, ("inproc-before", base, None))
    if args.scale_sdk:
        cases.append(("http_sdk", max(1, base // 8), "sdk"))
    for name, inst, client in cases:
        log(f"scale {name}: {inst * 50} tests vs {inst * 500}")
        rows: dict[str, list[dict[str, Any]]] = {"1x": [], "10x": []}

        def one(n: int, srv: MockProcess | None) -> dict[str, Any]:
            d = Path(tempfile.mkdtemp(prefix="scale-", dir=work))
            spec: dict[str, Any] = {"kind": "inproc" if srv is None else "pilotbench", "dir": str(d), "plan": {"instances": n}}
            if name.endswith("-before"):
                spec["src"] = BASELINE_SRC
            if srv is not None:
                spec["config"] = config_text(srv.base_url, 3, 32, client=client)
            try:
                return run_worker(spec, timeout=1800, env=key_env(srv.keys) if srv else None)
            finally:
                shutil.rmtree(d, ignore_errors=True)

        def reps(srv: MockProcess | None) -> None:
            for rep in range(args.scale_reps):
                for label, n in (("1x", inst), ("10x", inst * 10)):
                    r = one(n, srv)
                    rows[label].append(r)
                    log(f"  rep {rep + 1} {label}: {r['tests']} tests {r['wall']:.1f}s peak {r['maxrss_mb']:.0f} MB")

        if client is None:
            reps(None)
        else:
            with MockProcess(keys=keys(3), max_concurrency=32, latency=0.01) as srv:
                reps(srv)
        t1, t10 = median(r["wall"] for r in rows["1x"]), median(r["wall"] for r in rows["10x"])
        m1, m10 = median(r["maxrss_mb"] for r in rows["1x"]), median(r["maxrss_mb"] for r in rows["10x"])
        c1, c10 = median(r["cpu"] for r in rows["1x"]), median(r["cpu"] for r in rows["10x"])
        out[name] = {"runs": rows, "tests_1x": inst * 50, "wall_1x": t1, "wall_10x": t10, "time_ratio": t10 / t1,
                     "cpu_1x": c1, "cpu_10x": c10, "cpu_ratio": c10 / c1,
                     "pair_time_ratio": median(b["wall"] / a["wall"] for a, b in zip(rows["1x"], rows["10x"])),
                     "maxrss_1x_mb": m1, "maxrss_10x_mb": m10, "mem_ratio": m10 / m1,
                     "calls_per_s_10x": median(r["calls"] / r["wall"] for r in rows["10x"])}
    return out


# ------------------------------------------------------------------------------------------ conc


def bench_conc(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    n_keys, per_key, latency = 4, 250, 1.0
    inst = args.conc_instances
    log(f"conc: {n_keys} keys x {per_key} slots, {latency} s latency, plan of {inst * 50} tests")
    with MockProcess(keys=keys(n_keys), max_concurrency=per_key, latency=latency) as srv:
        runs = measure_clients(srv, args.conc_clients, args.conc_reps, n_keys=n_keys, per_key=per_key,
                               plan={"instances": inst}, capacity=n_keys * per_key / latency, work=work, timeout=1800,
                               ideal_deadline=args.conc_ideal_deadline, control=True)
    return {"keys": n_keys, "per_key": per_key, "latency": latency, "tests": inst * 50, "runs": runs,
            "summary": summarise(runs)}


# ------------------------------------------------------------------------------------------ store


def bench_store(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    out = _store(args, work / "store", None)
    if BASELINE_SRC:
        shutil.rmtree(work / "store", ignore_errors=True)  # 2 GB at full size: one store on disk at a time
        out["before"] = _store(args, work / "store-before", BASELINE_SRC)
        shutil.rmtree(work / "store-before", ignore_errors=True)
    return out


def _store(args: argparse.Namespace, d: Path, src: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    d.mkdir(exist_ok=True)
    tag = " (baseline tree)" if src else ""
    log(f"store write{tag}: {args.write_n} records, batches of 100 and 1000")
    writes = [run_worker({"kind": "store", "what": "write", "n": args.write_n, "db": str(d / "w.db"), "src": src}, timeout=900)
              for _ in range(args.reps)]
    out["write"] = {
        b: {"per_s": median(w[b]["per_s"] for w in writes), "range": spread(w[b]["per_s"] for w in writes),
            "per_cpu_s": median(w[b].get("per_cpu_s", float("nan")) for w in writes)}
        for b in ("100", "1000")
    }
    out["write"]["trajectory_bytes_mean"] = writes[0]["trajectory_bytes_mean"]
    out["write"]["runs"] = writes
    inst = args.big_instances
    log(f"store fill{tag}: {inst * 4000} rows")
    out["fill"] = run_worker({"kind": "store", "what": "fill", "instances": inst, "db": str(d / "big.db"), "src": src},
                             timeout=3600)
    log(f"store status query and done_ids{tag}")
    out["status"] = run_worker({"kind": "store", "what": "status", "db": str(d / "big.db"), "src": src}, timeout=1800)
    log(f"resume{tag}: a plan of {inst * 4000} tests against the store")
    out["resume"] = run_worker({"kind": "resume", "instances": inst, "db": str(d / "big.db"), "src": src}, timeout=1800)
    return out


# ------------------------------------------------------------------------------------------ profile


def bench_profile(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """pyinstrument profiles of the harness over HTTP (SDK and lean) and in process."""
    prof = RESULTS / "profiles"
    prof.mkdir(parents=True, exist_ok=True)
    ks = keys(3)
    out = {}
    with MockProcess(keys=ks, max_concurrency=8, latency=0.05) as srv:
        for client in ("sdk", "lean"):
            path = prof / f"pilotbench-http-{client}.txt"
            d = Path(tempfile.mkdtemp(prefix="prof-", dir=work))
            spec = {"kind": "pilotbench", "dir": str(d), "plan": {"instances": 2}, "profile": str(path),
                    "config": config_text(srv.base_url, 3, 8, client=client)}
            out[client] = run_worker(spec, timeout=900, env=key_env(ks))
            log(f"  profile {path}")
    d = Path(tempfile.mkdtemp(prefix="prof-", dir=work))
    path = prof / "pilotbench-inproc.txt"
    out["inproc"] = run_worker({"kind": "inproc", "dir": str(d), "plan": {"instances": 20}, "profile": str(path)}, timeout=900)
    log(f"  profile {path}")
    return out


# ------------------------------------------------------------------------------------------ report


def _with_derived(results: dict[str, Any]) -> dict[str, Any]:
    """Figures added to the summaries after a results file was written (older files re-render)."""
    for s in (results.get("scale") or {}).values():
        rows = s.get("runs", {})
        if rows and "cpu_ratio" not in s:
            s["cpu_1x"], s["cpu_10x"] = median(r["cpu"] for r in rows["1x"]), median(r["cpu"] for r in rows["10x"])
            s["cpu_ratio"] = s["cpu_10x"] / s["cpu_1x"]
            s["pair_time_ratio"] = median(b["wall"] / a["wall"] for a, b in zip(rows["1x"], rows["10x"]))
    return results


def _ok(flag: bool) -> str:
    return "met" if flag else "NOT met"


def render(results: dict[str, Any], argv: list[str]) -> str:
    lines = [f"# pilotbench benchmark results ({time.strftime('%Y-%m-%d %H:%M')})", "",
             f"Command: `python -m bench {' '.join(argv)}`".rstrip(), ""]
    util = results.get("util")
    if util:
        lines += ["## Utilisation and CPU per call (median of repetitions; ratios per back-to-back pair)", "",
                  "| case | client | utilisation (range) | vs ideal | steady util. | 429s | client CPU/call | CPU vs ideal | server CPU/call | lag p99 |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for case, data in util.items():
            for client, s in data["summary"].items():
                lines.append(
                    f"| {case} | {client} | {s['utilisation']:.3f} ({s['utilisation_range']}) | "
                    f"{s.get('util_vs_ideal', 1.0):.3f} | {s['steady_utilisation']:.3f} | {s['share_429']:.2%} | {s['cpu_ms_per_call']:.2f} ms | "
                    f"{s.get('cpu_vs_ideal', 1.0):.2f}x | {s['server_cpu_ms_per_call']:.2f} ms | {s['lag_p99_ms']:.0f} ms |"
                )
        lines.append("")
        for case, need, cap429 in (("latency_0.2", 0.95, 0.01), ("latency_0.05", 0.95, 0.01), ("adaptive_4x", 0.85, 0.10)):
            if case in util:
                for client in [c for c in ("pb-sdk", "pb-lean", "pb-sdk-before") if c in util[case]["summary"]]:
                    s = util[case]["summary"][client]
                    lines.append(f"- {case} {client}: {s['util_vs_ideal']:.3f} of ideal (target >= {need}), "
                                 f"429s {s['share_429']:.2%} (target < {cap429:.0%}): "
                                 f"{_ok(s['util_vs_ideal'] >= need and s['share_429'] < cap429)}")
        for client in ("pb-sdk", "pb-lean", "pb-sdk-before"):
            ratios = [util[c]["summary"][client]["cpu_vs_ideal"] for c in ("latency_0.2", "latency_0.05")
                      if c in util and client in util[c]["summary"]]
            if ratios:
                lines.append(f"- CPU per call {client} vs bare SDK client: {', '.join(f'{r:.2f}x' for r in ratios)} "
                             f"(target <= 1.5x): {_ok(max(ratios) <= 1.5)}")
        lines.append("")
    limits = results.get("limits")
    if limits:
        lines += ["## Limits not declared right (issue 13)", "",
                  "| case | client | utilisation (range) | vs ideal | of budget time | 429s (share) | wall |",
                  "|---|---|---|---|---|---|---|"]
        for case, data in limits.items():
            for client, s in data["summary"].items():
                vs = f"{s['util_vs_ideal']:.3f}" if "util_vs_ideal" in s else ("1" if client == "ideal" else "-")
                ob = f"{s['of_budget_time']:.3f} ({s['of_budget_time_range']})" if "of_budget_time" in s else "-"
                lines.append(f"| {case} | {client} | {s['utilisation']:.3f} ({s['utilisation_range']}) | {vs} | {ob} | "
                             f"{s['server_429']:.0f} ({s['share_429']:.2%}) | {s['wall_s']:.1f} s |")
        lines.append("")
    scale = results.get("scale")
    if scale:
        lines += ["## Scale: 10x the tests", "",
                  "| case | tests 1x | time 1x | time 10x | time ratio (medians; per pair) | CPU ratio | peak 1x | peak 10x | memory ratio | target |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for case, s in scale.items():
            cpu = f"{s['cpu_ratio']:.2f}x" if "cpu_ratio" in s else "-"
            pair = f"; {s['pair_time_ratio']:.2f}x" if "pair_time_ratio" in s else ""
            lines.append(f"| {case} | {s['tests_1x']} | {s['wall_1x']:.1f} s | {s['wall_10x']:.1f} s | {s['time_ratio']:.2f}x{pair} | {cpu} | "
                         f"{s['maxrss_1x_mb']:.0f} MB | {s['maxrss_10x_mb']:.0f} MB | {s['mem_ratio']:.2f}x | "
                         f"{_ok(s.get('pair_time_ratio', s['time_ratio']) <= 12 and s['mem_ratio'] <= 1.5)} |")
        lines.append("")
    conc = results.get("conc")
    if conc:
        lines += [f"## High concurrency: {conc['keys']} keys x {conc['per_key']} slots, {conc['latency']} s latency, "
                  f"{conc['tests']} tests", "",
                  "| client | steady utilisation | vs ideal | whole-run utilisation | lag p50 | lag p99 | idle control lag p99 | client CPU/call | server CPU/call | 429s |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for client, s in conc["summary"].items():
            lines.append(f"| {client} | {s['steady_utilisation']:.3f} | {s.get('steady_vs_ideal', 1.0):.2f} | {s['utilisation']:.3f} | "
                         f"{s['lag_p50_ms']:.1f} ms | {s['lag_p99_ms']:.1f} ms | {s['control_lag_p99_ms']:.1f} ms | {s['cpu_ms_per_call']:.2f} ms | "
                         f"{s['server_cpu_ms_per_call']:.2f} ms | {s['share_429']:.2%} |")
        for client in conc["summary"]:
            if client != "ideal":
                s = conc["summary"][client]
                lines.append(f"- {client}: lag p99 {s['lag_p99_ms']:.1f} ms (target < 50), steady rate {s['steady_vs_ideal']:.2f} "
                             f"of ideal (target > 0.9): {_ok(s['lag_p99_ms'] < 50 and s['steady_vs_ideal'] > 0.9)}")
        lines.append("")
    store = results.get("store")
    for label, store in (("Store", store), ("Store, baseline tree", (store or {}).get("before"))):
        if not store:
            continue
        w, f, st, rs = store["write"], store["fill"], store["status"], store["resume"]
        lines += [f"## {label}", "",
                  f"- write, batches of 100: {w['100']['per_s']:.0f} records/s ({w['100']['range']}), "
                  f"{w['100'].get('per_cpu_s', float('nan')):.0f} per CPU-second; of 1000: {w['1000']['per_s']:.0f}/s, "
                  f"{w['1000'].get('per_cpu_s', float('nan')):.0f} per CPU-second "
                  f"(target >= 10,000/s: batches of 100 {_ok(w['100']['per_s'] >= 10000)}, of 1000 {_ok(w['1000']['per_s'] >= 10000)}); "
                  f"trajectories {w['trajectory_bytes_mean']:.0f} bytes on average",
                  f"- bulk fill of {f['rows']} rows (batches of 5000, growing store): {f['per_s']:.0f} rows/s, "
                  f"{f['bytes'] / 1e9:.2f} GB",
                  f"- status query on {f['rows']} rows: {median(st['status_s']):.3f} s (target < 1 s: "
                  f"{_ok(median(st['status_s']) < 1)}); plan: {st['query_plan']}; done_ids (the resume check's read): "
                  f"{median(st['done_ids_s']):.3f} s, done_ids(models): {median(st['done_ids_models_s']):.3f} s",
                  f"- resume of a {rs['plan']}-test plan: done_ids {rs['done_ids_s']:.2f} s + expand and filter "
                  f"{rs['expand_filter_s']:.2f} s = {rs['total_s']:.2f} s ({rs['pending']} pending); the runner's own "
                  f"planning (done_ids + streams): {rs['runner_streams_s']:.2f} s (target: seconds, not minutes; "
                  f"taken as < 30 s: {_ok(max(rs['total_s'], rs['runner_streams_s']) < 30)})", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small plans and fewer repetitions (about 15 minutes)")
    p.add_argument("--only", default="util,scale,conc,store,limits",
                   help="comma-separated: util,scale,conc,store,limits,profile")
    p.add_argument("--limit-cases", default="",
                   help=f"with limits: comma-separated, of {','.join(LIMIT_CASES)} (default all); "
                        "shared:SERVER/LANES for one shared case, e.g. shared:key/deployment")
    p.add_argument("--profile", action="store_true", help="also write pyinstrument profiles to bench/results/profiles/")
    p.add_argument("--reps", type=int, default=None, help="repetitions per client (default 5, quick 3)")
    p.add_argument("--out", type=Path, default=None, help="results JSON (default bench/results/<full|quick>.json)")
    p.add_argument("--baseline-src", default=None, metavar="DIR",
                   help="a pilotbench src/ tree to measure side by side as '...-before' (e.g. from `git archive HEAD src`)")
    p.add_argument("--render", type=Path, default=None, metavar="JSON", help="only print the summary of a results file")
    args = p.parse_args(argv)
    if args.render:
        print(render(_with_derived(json.loads(args.render.read_text())), list(json.loads(args.render.read_text()).get("argv", []))))
        return 0
    global BASELINE_SRC
    BASELINE_SRC = str(Path(args.baseline_src).resolve()) if args.baseline_src else None
    q = args.quick
    args.reps_given = args.reps is not None
    args.reps = args.reps or (3 if q else 4)
    args.util_instances = 4 if q else 8
    args.util_instances_fast = 4 if q else 8
    args.scale_instances = 8 if q else 20
    args.scale_reps = 2 if q else 3
    args.scale_sdk = not q
    args.conc_instances = 40 if q else 80
    args.conc_reps = 1 if q else 3
    args.conc_clients = ("ideal", "pb-sdk", "pb-lean")
    args.conc_ideal_deadline = 30.0 if q else 45.0
    args.write_n = 20_000 if q else 100_000
    args.limit_reps = args.reps if args.reps_given else (2 if q else 3)
    args.limit_cases = LIMIT_CASES if not args.limit_cases else tuple(x for x in args.limit_cases.split(",") if x)
    args.headers_instances = 3  # 150 tests, about 600 calls
    args.headers_tpm = 2_000_000
    args.adaptive_runs = ((2, 6), (4, 6), (8, 6), (4, 12), (4, 3))  # (declared / real, instances of 50 tests)
    args.shared_instances = 4
    args.big_instances = 50 if q else 250
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    if args.profile and "profile" not in only:
        only.append("profile")
    RESULTS.mkdir(parents=True, exist_ok=True)

    def _terminate(signum: int, frame: Any) -> None:  # SIGTERM: unwind, so servers and workers are stopped
        raise KeyboardInterrupt

    import signal

    signal.signal(signal.SIGTERM, _terminate)
    results: dict[str, Any] = {"argv": argv, "started": time.time()}
    benches = {"util": bench_util, "scale": bench_scale, "conc": bench_conc, "store": bench_store, "limits": bench_limits,
               "profile": bench_profile}
    with tempfile.TemporaryDirectory(prefix="pilotbench-bench-") as tmp:
        for name in only:
            if name not in benches:
                p.error(f"unknown benchmark {name!r}")
            t0 = time.monotonic()
            results[name] = benches[name](args, Path(tmp))
            log(f"{name} done in {time.monotonic() - t0:.0f} s")
            out = args.out or RESULTS / ("quick.json" if q else "full.json")
            out.write_text(json.dumps(results, indent=1, default=str))
    summary = render(results, argv)
    (RESULTS / ("summary-quick.md" if q else "summary.md")).write_text(summary + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
