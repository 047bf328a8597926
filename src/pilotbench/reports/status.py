"""What `pilotbench status` reads from the store: the recent runs with their counts and what is
left of their plans, and the tests stored per model and prompt type. Dialect-neutral SQL (SQLite
and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..store.base import Store
from .build import count_if

DONE_ROW = "status = 'done'"
ERROR_ROW = "status = 'error'"


@dataclass(frozen=True)
class RunStatus:
    run_id: str
    status: str  # as recorded: running, finished, failed, interrupted
    info: dict[str, Any]  # the run's info (who runs it, its plans, the lanes' learnt limits)
    planned: int
    done: int
    errors: int
    pending: str  # tests of its plans not done yet by any run; "-" without plans, "?" unreadable plans


def recent_runs(store: Store, last: int = 10) -> list[RunStatus]:
    """The last `last` runs, oldest first."""
    from ..plan import PlanSpec
    from ..store.records import run_info

    out = []
    done_ids: set[str] | None = None
    for r in store.runs()[-last:]:
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
        out.append(RunStatus(r["run_id"], r["status"], info, r["planned"], n_done, n_err, pending))
    return out


def stored_cells(store: Store) -> list[tuple[str, str, int, int, Any]]:
    """Per (model, prompt type), sorted: done tests, infrastructure errors, sum of success."""
    return sorted(store.query(
        f"SELECT model, prompt_type, {count_if(DONE_ROW)}, {count_if(ERROR_ROW)}, SUM(success) FROM results "
        "GROUP BY model, prompt_type"
    ))

