"""`pilotbench status`: the plan's progress against the store."""

from __future__ import annotations

import os
import time
from typing import Any

import click

from .base import _console, _open_existing, app, db_option
from .summary import DONE_ROW, ERROR_ROW


@app.command("status")
@db_option
@click.option("--watch", "watch", is_flag=True, help="Refresh every few seconds until Ctrl-C.")
@click.option("--interval", "interval", type=click.FloatRange(min=0.2), default=5.0, show_default=True)
def status(db, watch, interval):  # type: ignore[no-untyped-def]
    """The plan's progress against the store: per run and per model and prompt type."""
    from rich.console import Console

    console = _console()
    try:
        while True:
            with _open_existing(db) as store:
                console.print(_status_table(store))
            if not watch:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        return


def _run_state(status: str, info: dict[str, Any], done: int = 0, errors: int = 0) -> str:
    """A run marked `running` whose process is gone (killed with -9, a crash, a lost machine) is
    shown as dead, so nobody waits for it; one recorded `finished` with errors and no test done
    (recorded before runs said `failed`, or by another executor) as failed."""
    if status == "finished" and errors and not done:
        return "failed"
    if status != "running":
        return status
    pid, host = info.get("pid"), info.get("host")
    if not isinstance(pid, int) or not isinstance(host, str):
        return "running?"  # recorded before runs said who runs them
    import socket

    if host != socket.gethostname():
        return f"running on {host} (pid {pid})"
    if _pid_alive(pid):
        return f"running (pid {pid})"
    return f"dead (process {pid} gone; run the same command to resume)"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _status_table(store):  # type: ignore[no-untyped-def]
    from rich.console import Group
    from rich.table import Table

    from ..plan import PlanSpec
    from ..store.records import run_info

    runs = store.runs()
    run_table = Table(title="runs")
    for col in ("run", "status", "planned", "done", "errors", "pending"):
        run_table.add_column(col)
    done_ids: set[str] | None = None
    learnt_rows: list[tuple[str, str, dict[str, Any]]] = []
    for r in runs[-10:]:
        info = run_info(r["info"])
        pending = "-"
        if info.get("plans"):
            try:
                plans = [PlanSpec.from_dict(d) for d in info["plans"]]
                if done_ids is None:
                    done_ids = store.done_ids()
                pending = str(len({s.id for p in plans for s in p.expand()} - done_ids))
            except (KeyError, ValueError, TypeError):
                pending = "?"
        n_done = store.count("run_id=? AND status='done'", (r["run_id"],))
        n_err = store.count("run_id=? AND status='error'", (r["run_id"],))
        run_table.add_row(r["run_id"], _run_state(r["status"], info, n_done, n_err), str(r["planned"]), str(n_done),
                          str(n_err), pending)
        lanes_info = info.get("lanes")
        if isinstance(lanes_info, dict):
            for name, lane in sorted(lanes_info.items()):
                if isinstance(lane, dict):
                    learnt_rows.append((r["run_id"], name, lane))
    cells = Table(title="tests in the store")
    for col in ("model", "prompt type", "done", "infra errors", "success"):
        cells.add_column(col)
    from ..reports.build import count_if

    for model, pt, done, errs, succ in sorted(store.query(
        f"SELECT model, prompt_type, {count_if(DONE_ROW)}, {count_if(ERROR_ROW)}, SUM(success) FROM results "
        "GROUP BY model, prompt_type"
    )):
        cells.add_row(model, pt, str(done), str(errs), f"{(succ or 0) / done:.1%}" if done else "-")
    if not learnt_rows:
        return Group(run_table, cells)
    learnt = Table(title="limits learnt from the providers (stated in x-ratelimit-* headers, or found by adapting)")
    for col in ("run", "lane", "key", "concurrency", "rpm", "tpm"):
        learnt.add_column(col)
    for run_id, name, lane in learnt_rows:
        declared = lane.get("declared_concurrency")
        learnt.add_row(run_id, name, str(lane.get("key", "")), f"{lane.get('concurrency', '?')} of {declared} declared",
                       _budget_cell(lane, "rpm"), _budget_cell(lane, "tpm"))
    return Group(run_table, cells, learnt)


def _budget_cell(lane: dict[str, Any], unit: str) -> str:
    """``450 (12 left)`` for a lane's learnt rpm or tpm, as the run recorded it."""
    limit, left = lane.get(unit), lane.get(f"{unit}_left")
    if limit is None:
        return "-" if left is None else f"? ({left} left)"
    return f"{limit} ({'?' if left is None else left} left)"

