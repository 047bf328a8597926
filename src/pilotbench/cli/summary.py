"""What `run` prints at its end: the result table, what went wrong by cause, what to do next."""

from __future__ import annotations

import shlex
from typing import Any

from .base import _console, _one_line, _shown


def _print_summary(summary, db_path: str, plan=None) -> None:  # type: ignore[no-untyped-def]
    """The run's result table (the whole plan's, when tests were done by earlier runs), what went
    wrong by cause, what to do next, and where to look."""
    from rich.table import Table

    from ..config import player_label
    from ..reports.summary import CONTEXT_LENGTH, context_length_counts, error_causes, plan_rows, run_rows
    from ..store import open_store

    from ..errors import StoreError

    console = _console()
    earlier = summary.skipped if plan is not None else 0
    unreadable = False
    context: list[Any] = []
    try:
        with open_store(db_path, create=False) as store:
            rows = plan_rows(store, plan) if earlier else run_rows(store, summary.run_id)
            causes = error_causes(store, summary.run_id)
            context = context_length_counts(store, summary.run_id)
    except StoreError as e:  # the store went away (an outage at the end of the run): the counts still stand
        rows, causes, unreadable = [], dict(getattr(summary, "error_causes", None) or {}), True
        console.print(f"the store cannot be read now ({_one_line(str(e))}); per-model results not shown",
                      markup=False, highlight=False, soft_wrap=True)
    if rows or not unreadable:
        title = f"run {summary.run_id}"
        if earlier:
            title += f": whole plan, {earlier} of {summary.planned} tests done by earlier runs"
        table = Table(title=title)
        for col in ("model", "tests", "success", "full", "partial", "avg turns"):
            table.add_column(col, justify="left" if col == "model" else "right")
        for model, n, succ, full, partial, turns in rows:
            table.add_row(player_label(model), str(n), f"{succ / n:.1%}", f"{full / n:.1%}", f"{partial / n:.1%}",
                          f"{turns:.1f}")
        console.print(table)
    not_run = max(summary.pending, 0)
    console.print(
        f"planned {summary.planned}, already done {summary.skipped}, completed {summary.completed}, "
        f"infrastructure errors {summary.errors}" + (f", not run {not_run}" if not_run else "")
        + f", {summary.elapsed:.1f}s; results in {_shown(db_path)}",
        markup=False, highlight=False,
    )
    for model, n in context:
        console.print(f"{model}: {n} test(s) ended when the conversation outgrew the model's context "
                      f"(scored as they stood, error category {CONTEXT_LENGTH})", markup=False, highlight=False, soft_wrap=True)
    if causes:
        console.print("infrastructure errors by cause:", markup=False, highlight=False)
        for cause, n in sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])):
            console.print(f"  {n:6d}  {cause}", markup=False, highlight=False, soft_wrap=True)
    for model, reason in summary.stopped_models.items():
        reason = reason.removeprefix(f"{model}: ")
        console.print(f"stopped {model}: {reason}", markup=False, highlight=False, soft_wrap=True)
    for lane, problem in (getattr(summary, "key_problems", None) or {}).items():
        console.print(f"key {lane} {problem}", markup=False, highlight=False, soft_wrap=True)
    if getattr(summary, "imported", 0):
        console.print(f"imported {summary.imported} results from earlier runs' rescue files before planning",
                      markup=False, highlight=False, soft_wrap=True)
    rescued = getattr(summary, "rescued", 0)
    if rescued:
        files = ", ".join(summary.rescue_files)
        console.print(f"NOT STORED: {rescued} results the store could not take were saved to {files}; "
                      "the next run imports them", markup=False, highlight=False, soft_wrap=True)
    log_dir = getattr(summary, "log_dir", None)
    if log_dir:
        console.print(f"logs in {log_dir}", markup=False, highlight=False, soft_wrap=True)
    if summary.interrupted:
        console.print(f"interrupted: {not_run} of {summary.planned} tests not run; what finished is committed",
                      markup=False, highlight=False)
    advice = _stopped_advice(summary.stopped_models)
    for line in advice:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    # after an unknown model name (404) and nothing else, the same command again fails the same way
    unknown_only = bool(summary.stopped_models) and not summary.interrupted and \
        all(_UNKNOWN_MODEL in r for r in summary.stopped_models.values()) and \
        not any(not c.startswith("model stopped: ") for c in causes)
    if (summary.interrupted or summary.errors or not_run or rescued) and not unknown_only:
        console.print("to resume, run the same command again: finished tests are skipped, errors are retried")
    shown = shlex.quote(_shown(db_path))
    console.print(f"next: pilotbench report --db {shown}   (tables with 95% intervals); "
                  f"pilotbench view --db {shown}   (browse every test)", markup=False, highlight=False, soft_wrap=True)


_UNKNOWN_MODEL = "no such model or deployment"


def _stopped_advice(stopped: dict[str, str]) -> list[str]:
    """What to do about each stopped model, by why it stopped."""
    out = []
    for model, reason in stopped.items():
        if _UNKNOWN_MODEL in reason:
            out.append(f"{model}: the provider does not know this model name; running the same command again "
                       "will not help: check the name (pilotbench models) or the provider's base URL")
        elif "no usable key" in reason:
            out.append(f"{model}: every key was refused; set a valid key, then run the same command again")
        elif "unreachable" in reason:
            out.append(f"{model}: the provider did not answer; start its server or fix its base URL, "
                       "then run the same command again")
    return out
