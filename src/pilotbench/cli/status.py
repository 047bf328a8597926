"""`pilotbench status`: the plan's progress against the store."""

from __future__ import annotations

import time
from typing import Any

import click

from .base import _console, _open_existing, app, db_option


@app.command("status")
@db_option
@click.option("--watch", "watch", is_flag=True, help="Refresh every few seconds until Ctrl-C.")
@click.option("--interval", "interval", type=click.FloatRange(min=0.2), default=5.0, show_default=True)
def status(db, watch, interval):  # type: ignore[no-untyped-def]
    """The plan's progress against the store: per run and per model and prompt type."""
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


def _status_table(store):  # type: ignore[no-untyped-def]
    from rich.console import Group
    from rich.table import Table

    from ..reports.status import recent_runs, stored_cells
    from ..runner.liveness import describe_run

    run_table = Table(title="runs")
    for col in ("run", "status", "planned", "done", "errors", "pending"):
        run_table.add_column(col)
    learnt_rows: list[tuple[str, str, dict[str, Any]]] = []
    for r in recent_runs(store):
        run_table.add_row(r.run_id, describe_run(r.status, r.info, r.done, r.errors), str(r.planned), str(r.done),
                          str(r.errors), r.pending)
        lanes_info = r.info.get("lanes")
        if isinstance(lanes_info, dict):
            for name, lane in sorted(lanes_info.items()):
                if isinstance(lane, dict):
                    learnt_rows.append((r.run_id, name, lane))
    cells = Table(title="tests in the store")
    for col in ("model", "prompt type", "done", "infra errors", "success"):
        cells.add_column(col)
    for model, pt, done, errs, succ in stored_cells(store):
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

