"""The store at scale: batched write throughput, a million-row status query, a million-test resume.

Rows are realistic: real records (trajectories included) from an in-process run, cloned onto
the ids of a one-million-test plan.
"""

from __future__ import annotations

import copy
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

# The status query of `pilotbench status` (reports.status.stored_cells), per model and prompt type.
STATUS_SQL = (  # as reports.status.stored_cells builds it (reports.build.count_if)
    "SELECT model, prompt_type, COALESCE(SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), 0), SUM(success) FROM results "
    "GROUP BY model, prompt_type"
)
BIG_MODELS = ("sim/strong", "sim/weak", "sim/medium", "sim/family-7b")


def big_plan(instances: int):  # type: ignore[no-untyped-def]
    """4 models x 10 prompt types x 5 task types x 5 difficulties x 4 tool success rates x `instances`
    (250 instances: one million tests)."""
    from pilotbench.benchmark.types import DIFFICULTIES, PROMPT_TYPES, TASK_TYPES, TOOL_SUCCESS_RATES
    from pilotbench.plan import PlanSpec

    return PlanSpec(models=BIG_MODELS, prompt_types=PROMPT_TYPES, task_types=TASK_TYPES, difficulties=DIFFICULTIES,
                    tool_success_rates=TOOL_SUCCESS_RATES, num_instances=instances)


def templates(n_instances: int = 2) -> list[Any]:
    """Real finished records from an in-process run of sim/strong and sim/weak."""
    import asyncio
    import tempfile

    from pilotbench import api
    from pilotbench.benchmark.types import PROMPT_TYPES, TASK_TYPES
    from pilotbench.plan import PlanSpec

    plan = PlanSpec(models=("sim/strong", "sim/weak"), prompt_types=PROMPT_TYPES, task_types=TASK_TYPES,
                    num_instances=n_instances)
    with tempfile.TemporaryDirectory() as d:
        res = asyncio.run(api.run_async(plan, db=Path(d) / "t.db", keep_records=True))
    return res.records


def _new_attempt_id() -> str:
    try:
        from pilotbench.store.records import new_attempt_id
    except ImportError:  # older trees: the runner used uuid4
        return uuid.uuid4().hex
    return new_attempt_id()


def clone(template: Any, spec: Any, status: str) -> Any:
    r = copy.copy(template)
    r.attempt_id = _new_attempt_id()  # as the runner makes them
    r.test_id = spec.id
    r.model = spec.model
    r.prompt_type = spec.prompt_type
    r.task_type = spec.task_type
    r.difficulty = spec.difficulty
    r.tool_success_rate = spec.tool_success_rate
    r.instance = spec.instance
    r.status = status
    if status == "error":
        r.infra_error = "gave up after 6 transient failures: HTTP 500: The server had an error"
        r.success_level = r.success = None
    return r


def write_rate(path: Path, records: list[Any], batch: int) -> dict[str, float]:
    """SQLiteStore.write in batches of `batch` into a fresh store; records/s including to_row()."""
    from pilotbench.store.sqlite import SQLiteStore

    with SQLiteStore(path) as store:
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, len(records), batch):
            store.write(records[i : i + batch])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"batch": batch, "records": len(records), "seconds": wall, "per_s": len(records) / wall,
            "cpu_us_per_record": cpu / len(records) * 1e6, "per_cpu_s": len(records) / cpu}


def fill(path: Path, instances: int, templates_: list[Any], error_every: int = 20, batch: int = 5000) -> dict[str, Any]:
    """A store holding one row per test of big_plan(instances): every `error_every`-th an infra error."""
    from pilotbench.store.sqlite import SQLiteStore

    plan = big_plan(instances)
    n_t = len(templates_)
    t0 = time.perf_counter()
    rows = 0
    with SQLiteStore(path) as store:
        buf = []
        for i, spec in enumerate(plan.expand()):
            buf.append(clone(templates_[i % n_t], spec, "error" if i % error_every == 0 else "done"))
            if len(buf) >= batch:
                store.write(buf)
                rows += len(buf)
                buf = []
        if buf:
            store.write(buf)
            rows += len(buf)
    wall = time.perf_counter() - t0
    return {"rows": rows, "seconds": wall, "per_s": rows / wall, "bytes": path.stat().st_size}


def status_query(path: Path, reps: int = 3) -> dict[str, Any]:
    """The per-model/prompt-type status counts and done_ids, each in a freshly opened store."""
    from pilotbench.store.sqlite import SQLiteStore

    out: dict[str, list[float]] = {"open_s": [], "status_s": [], "done_ids_s": [], "done_ids_models_s": []}
    for _ in range(reps):
        t0 = time.perf_counter()
        store = SQLiteStore(path, create=False)
        t1 = time.perf_counter()
        rows = store.query(STATUS_SQL)
        t2 = time.perf_counter()
        done = store.done_ids()
        t3 = time.perf_counter()
        done_m = store.done_ids(BIG_MODELS)
        t4 = time.perf_counter()
        store.close()
        out["open_s"].append(t1 - t0)
        out["status_s"].append(t2 - t1)
        out["done_ids_s"].append(t3 - t2)
        out["done_ids_models_s"].append(t4 - t3)
    plan_rows = sqlite3.connect(path).execute(f"EXPLAIN QUERY PLAN {STATUS_SQL}").fetchall()
    return {**{k: sorted(v) for k, v in out.items()}, "groups": len(rows), "done": len(done), "done_models": len(done_m),
            "query_plan": [r[-1] for r in plan_rows]}


def resume(path: Path, instances: int) -> dict[str, Any]:
    """The resume check of a run: the plan expanded and filtered by the store's done ids, two ways:
    as the brief puts it (expand + done_ids), and through the runner's own planning (Runner._streams)."""
    from pilotbench.runner.runtime import build_runtime
    from pilotbench.runner.scheduler import Runner
    from pilotbench.config import load_config
    from pilotbench.store.sqlite import SQLiteStore

    plan = big_plan(instances)
    store = SQLiteStore(path, create=False)
    t0 = time.perf_counter()
    done = store.done_ids(list(plan.models))
    t1 = time.perf_counter()
    pending = sum(1 for s in plan.expand() if s.id not in done)
    t2 = time.perf_counter()
    # The runner: done ids, then per-stream counting (lazy streams).
    runtime = build_runtime(load_config(), list(plan.models), connect=True)
    runner = Runner(runtime, store)
    t3 = time.perf_counter()
    done2 = store.done_ids(runner._plan_models(plan))
    streams = runner._streams(plan, done2)
    t4 = time.perf_counter()
    first = [next(it).id for it in streams.values()]  # the streams really start where the store left off
    store.close()
    return {"plan": len(plan), "done_ids_s": t1 - t0, "expand_filter_s": t2 - t1, "total_s": t2 - t0,
            "pending": pending, "runner_streams_s": t4 - t3, "runner_pending": runner.progress.planned,
            "runner_skipped": runner.summary.skipped, "streams": len(first)}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    path = Path(spec["db"])
    if spec["kind"] == "store":
        what = spec["what"]
        if what == "write":
            tpl = templates()
            plan = big_plan(int(spec["n"]) // 4000 + 1)
            recs = []
            specs = plan.expand()
            for i in range(int(spec["n"])):
                recs.append(clone(tpl[i % len(tpl)], next(specs), "done"))
            out = {}
            for batch in spec.get("batches", (100, 1000)):
                p = path.with_name(f"write-{batch}.db")
                for f in (p, Path(str(p) + "-wal"), Path(str(p) + "-shm")):
                    f.unlink(missing_ok=True)
                out[str(batch)] = write_rate(p, recs, batch)
            traj = [len(r.to_row()[COLUMNS_INDEX()]) for r in tpl]
            out["trajectory_bytes_mean"] = sum(traj) / len(traj)
            return out
        if what == "fill":
            return fill(path, int(spec["instances"]), templates())
        if what == "status":
            return status_query(path)
    if spec["kind"] == "resume":
        return resume(path, int(spec["instances"]))
    raise SystemExit(f"unknown store benchmark {spec!r}")


def COLUMNS_INDEX() -> int:  # noqa: N802
    from pilotbench.store.records import COLUMNS

    return COLUMNS.index("trajectory")
