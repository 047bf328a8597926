"""Ray scenarios, each run in a subprocess of its own by test_ray.py (so a stuck cluster is
killed by a hard timeout instead of hanging the suite):

    python -m tests.distributed.scenarios --db URL --config FILE --out result.json [--remove-after N]

Starts a two-node cluster in this process (`ray.cluster_utils.Cluster`, everything on
127.0.0.1), runs a plan with the Ray executor against the mock server named in the config, and,
with --remove-after, removes the worker node once N results are stored. Writes what happened
to --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default="mock/strong")
    ap.add_argument("--prompt-types", default="baseline,cot,optimal")
    ap.add_argument("-n", "--num-instances", type=int, default=4)
    ap.add_argument("--remove-after", type=int, default=0)
    args = ap.parse_args(argv)

    import ray
    from ray.cluster_utils import Cluster

    from pilotbench.api import build_plan
    from pilotbench.config import load_config
    from pilotbench.runner.ray_executor import RayDriver, RayOptions, pin_loopback
    from pilotbench.runner.scheduler import RunOptions
    from pilotbench.store import open_store

    pin_loopback(ray)
    # Fast failure detection, so a lost node is noticed in about two seconds.
    system = {"health_check_period_ms": 500, "health_check_failure_threshold": 3, "health_check_initial_delay_ms": 0,
              "health_check_timeout_ms": 1000}
    started = time.monotonic()
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "include_dashboard": False, "node_ip_address": "127.0.0.1", "_system_config": system,
    })
    worker = cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1")
    ray.init(address=cluster.address, namespace="pilotbench", log_to_driver=False)
    while ray.cluster_resources().get("CPU", 0) < 4:
        time.sleep(0.05)
    result: dict[str, Any] = {"cluster_seconds": time.monotonic() - started, "worker_node": worker.node_id}

    config = load_config(args.config)
    plan = build_plan(args.model, prompt_types=args.prompt_types, task_types="all", num_instances=args.num_instances,
                      config=config)
    driver = RayDriver(
        plan, db=args.db, config=config,
        options=RunOptions(checkpoint_interval=5, flush_seconds=0.5, progress_interval=1.0, handle_signals=False),
        ray_options=RayOptions(owner_cpus=0.5, poll_interval=0.2),
    )
    placement: dict[str, str | None] = {}
    removal: dict[str, Any] = {}

    def remove_when_due() -> None:
        while True:  # the run creates the store's tables: until it has, there is nothing to count
            try:
                store = open_store(args.db)
                break
            except Exception:  # noqa: BLE001 - not initialised yet
                time.sleep(0.05)
        with store:
            while store.count() < args.remove_after:
                time.sleep(0.05)
        placement.update({o.ref.label: o.node for o in driver._owners.values()})
        removal["stored_before"] = open_store(args.db).count()
        removal["owners_on_node"] = sorted(k for k, n in placement.items() if n == worker.node_id)
        cluster.remove_node(worker, allow_graceful=False)
        removal["at"] = time.monotonic()

    remover = None
    if args.remove_after:
        remover = threading.Thread(target=remove_when_due, daemon=True)
        remover.start()
    run_started = time.monotonic()
    summary = driver.run()
    result["run_seconds"] = time.monotonic() - run_started
    if remover is not None:
        remover.join(timeout=30)
    result["removal"] = removal
    result["owners"] = {
        o.ref.label: {"key": o.key, "tests": len(o.tests), "resubmits": o.resubmits, "incarnation": o.incarnation,
                      "fatal": o.fatal}
        for o in driver._owners.values()
    }
    result["summary"] = {"planned": summary.planned, "skipped": summary.skipped, "completed": summary.completed,
                         "errors": summary.errors, "interrupted": summary.interrupted,
                         "stopped": summary.stopped_models}
    with open(args.out, "w") as f:
        json.dump(result, f)
    ray.shutdown()
    cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
