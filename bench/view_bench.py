"""The results viewer at scale, and what transcripts cost the store.

    python -m bench.view_bench pages --db big.db      # first page of the tests list etc. on a big store
    python -m bench.view_bench write                   # store write rate with and without transcripts

A big store comes from bench.store_bench's fill (one million rows of real records, transcripts
included): `python -m bench.view_bench fill --db big.db`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _timed(fn: Any, reps: int) -> dict[str, float]:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"first_ms": times[0] * 1e3, "median_ms": statistics.median(times) * 1e3, "max_ms": max(times) * 1e3}


def pages(db: Path, reps: int = 5) -> dict[str, Any]:
    """Each query of the tests list in a freshly opened store (cold first call, then warm repeats)."""
    from pilotbench.store import open_store
    from pilotbench.view.data import ViewData, parse_filters
    from pilotbench.view.pages import Links, Pages, render_choices

    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    store = open_store(db, create=False)
    data = ViewData(store)
    out["open_ms"] = (time.perf_counter() - t0) * 1e3
    out["rows"] = store.count()
    page = Pages(data, Links())
    cases = {
        "first page, no filter": {},
        "model": {"model": "sim/weak"},
        "model + prompt type": {"model": "sim/weak", "prompt_type": "optimal"},
        "one cell (5 filters)": {"model": "sim/weak", "prompt_type": "optimal", "task_type": "data_pipeline",
                                 "difficulty": "hard", "tool_success_rate": "0.7"},
        "error category": {"error_category": "tool_selection_errors"},
        "status error": {"status": "error"},
        "success level + task type": {"success_level": "partial_success", "task_type": "api_integration"},
        "text in final answer": {"q": "FINAL ANSWER"},
    }
    for name, filters in cases.items():
        f = parse_filters(filters)
        # what GET /tests does (the page, rendered), then what GET /api/tests/count does
        out[name] = _timed(lambda f=f: page.tests(data.tests_page(f, count=False), render_choices(data)), reps)
        out[name + ": count (after the page)"] = _timed(lambda f=f: data.count(f), reps)
    # a deep page: 200 pages down by the keyset cursor
    p = data.tests_page({})
    for _ in range(200):
        p = data.tests_page({}, before=p.older, count=False)
    older = p.older
    out["page 201, no filter"] = _timed(lambda: page.tests(data.tests_page({}, before=older, count=False), render_choices(data)), reps)
    aid = store.query("SELECT attempt_id FROM results WHERE status='done' ORDER BY rowid DESC LIMIT 1")[0][0]
    out["a test's page"] = _timed(lambda: page.test(aid), reps)
    run_ids = data.distinct("run_id")
    known = {r["run_id"] for r in store.runs()}
    for run_id in run_ids:  # a filled store has rows but no runs table rows: record them as runs
        if run_id not in known:
            store.start_run(run_id, store.count("run_id = ?", [run_id]), {"argv": ["bench"]})
    out["runs page"] = _timed(page.runs, reps)
    out["a run's page (its rows aggregated on the first view, then only new rows)"] = _timed(lambda: page.run(run_ids[0]), reps)
    store.close()
    return out


def write(n: int = 10_000, reps: int = 16) -> dict[str, Any]:
    """SQLiteStore.write of the same real records with and without their transcripts, in batches of
    100 and 1000 (as bench.store_bench measures the store); and the runner's encoding cost per test."""
    import copy

    from bench.store_bench import big_plan, clone, templates, write_rate
    from pilotbench.store.transcripts import decode_transcript, encode_transcript

    tpl = templates()
    specs = big_plan(n // 4000 + 1).expand()
    recs = [clone(tpl[i % len(tpl)], next(specs), "done") for i in range(n)]
    bare = []
    for r in recs:
        b = copy.copy(r)
        b.transcript = None
        bare.append(b)
    out: dict[str, Any] = {"records": n}
    sizes = [len(r.transcript or "") for r in tpl]
    traj = [len(r.to_row()[list(type(r).__dataclass_fields__).index("trajectory")] or "") for r in tpl]
    docs = [decode_transcript(r.transcript) for r in tpl]
    raw = [len(json.dumps(d["messages"], separators=(",", ":"))) for d in docs if d]
    out["transcript_bytes_mean"] = statistics.mean(sizes)
    out["transcript_raw_json_bytes_mean"] = statistics.mean(raw)
    out["trajectory_bytes_mean"] = statistics.mean(traj)
    t0 = time.process_time()
    for _ in range(5):
        for d in docs:
            encode_transcript(d["messages"], "full", d["prompt_messages"])
    out["encode_us_per_test"] = (time.process_time() - t0) / (5 * len(docs)) * 1e6
    calls = [encode_transcript(d["messages"], "calls", d["prompt_messages"]) for d in docs]
    out["calls_mode_bytes_mean"] = statistics.mean(len(c or "") for c in calls)
    # Alternating with and without, so a busy machine weighs on both alike; on a shared machine
    # the best of the repetitions is the steadier figure of what the store itself can do.
    with tempfile.TemporaryDirectory() as d:
        for batch in (100, 1000):
            got: dict[str, list[dict[str, float]]] = {"with": [], "without": []}
            for rep in range(reps):
                for label, rows in (("without", bare), ("with", recs)) if rep % 2 == 0 else (("with", recs), ("without", bare)):
                    p = Path(d) / f"{label}-{batch}-{rep}.db"
                    got[label].append(write_rate(p, rows, batch))
                    for f in (p, Path(str(p) + "-wal"), Path(str(p) + "-shm")):
                        f.unlink(missing_ok=True)
            for label in ("without", "with"):
                out[f"{label} transcripts, batch {batch}: records/s, best"] = max(g["per_s"] for g in got[label])
                out[f"{label} transcripts, batch {batch}: records/s"] = statistics.median(g["per_s"] for g in got[label])
                out[f"{label} transcripts, batch {batch}: CPU µs/record"] = statistics.median(
                    g["cpu_us_per_record"] for g in got[label])
                out[f"{label} transcripts, batch {batch}: CPU µs/record, best"] = min(g["cpu_us_per_record"] for g in got[label])
            for unit in ("records/s", "records/s, best", "CPU µs/record", "CPU µs/record, best"):
                w = out[f"with transcripts, batch {batch}: {unit}"]
                wo = out[f"without transcripts, batch {batch}: {unit}"]
                out[f"batch {batch}: {unit} change"] = w / wo - 1
    return out


def fill_store(db: Path, instances: int) -> dict[str, Any]:
    from bench.store_bench import fill, templates

    for f in (db, Path(str(db) + "-wal"), Path(str(db) + "-shm")):
        f.unlink(missing_ok=True)
    return fill(db, instances, templates())


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.view_bench", description=__doc__.split("\n")[0])
    p.add_argument("what", choices=["pages", "write", "fill"])
    p.add_argument("--db", type=Path, default=Path("bench/results/view-big.db"))
    p.add_argument("--instances", type=int, default=250, help="fill: instances per cell (250: one million rows)")
    p.add_argument("--n", type=int, default=10_000, help="write: records per measurement")
    args = p.parse_args()
    if args.what == "pages":
        result = pages(args.db)
    elif args.what == "write":
        result = write(args.n)
    else:
        result = fill_store(args.db, args.instances)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
