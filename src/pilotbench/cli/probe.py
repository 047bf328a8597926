"""`--probe`: one minimal request per key and model, and the run's words and exit status."""

from __future__ import annotations

import asyncio

from .base import _console
from .summary import _stopped_advice


def _probe(models, cfg, settings) -> None:  # type: ignore[no-untyped-def]
    """One minimal request per key and model (runner.probe) under the run's settings; the run's words
    and exit status. One request per lane: no lane adapts, and a human player is asked as at the terminal."""
    from dataclasses import replace

    from rich.table import Table

    from ..runner.probe import probe, verdict
    from ..runner.runtime import build_runtime

    async def go():  # type: ignore[no-untyped-def]
        rt = build_runtime(cfg, list(models), replace(settings, adaptive=False, human=None))
        try:
            return await probe(rt)
        finally:
            await rt.aclose()

    results = asyncio.run(go())
    console = _console()
    if not results:
        console.print("probe: no model of the plan calls a server (simulated models need no probe)",
                      markup=False, highlight=False)
        return
    table = Table(title="probe: one request per key and model (max_tokens 1)")
    for col in ("model", "key", "result", "seconds", "tokens"):
        table.add_column(col, justify="right" if col in ("seconds", "tokens") else "left")
    for r in results:
        note = r.message if r.usable and r.message != "answered" else ""  # the reasons follow the table
        table.add_row(r.model, r.key_label, f"{r.outcome}: {note}" if note else r.outcome, f"{r.seconds:.2f}",
                      str(r.tokens))
    console.print(table)
    v = verdict(results)
    for model, reason in v.stopped_models.items():
        console.print(f"stopped {model}: {reason.removeprefix(f'{model}: ')}", markup=False, highlight=False,
                      soft_wrap=True)
    for lane, problem in v.key_problems.items():
        console.print(f"key {lane} {problem}", markup=False, highlight=False, soft_wrap=True)
    for r in results:
        if r.outcome == "no answer":
            console.print(f"{r.model} key {r.key_label}: {r.message}", markup=False, highlight=False, soft_wrap=True)
    for line in _stopped_advice(v.stopped_models):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    spent = sum(r.tokens for r in results)
    if v.exit_status:
        what = (f"{len(v.stopped_models)} model(s) would be stopped" if v.stopped_models
                else f"{v.unanswered} request(s) had no answer (try again)")
        console.print(f"probe failed: {what}; exit status {v.exit_status}, as the run would end "
                      f"({spent} tokens spent)", markup=False, highlight=False)
        raise SystemExit(v.exit_status)
    n = len(results)
    console.print(f"probe: every key and model answered ({n} request{'s' if n != 1 else ''}, {spent} tokens spent)",
                  markup=False, highlight=False)

