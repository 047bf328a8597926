"""Progress of a run: counters per (model, prompt type) and per lane, and how they are shown.

A live rich table when output is a terminal; plain periodic lines otherwise (nohup, CI, logs).
The counters are plain ints bumped on the hot path; rendering happens on a timer.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from ..limits import Lane


@dataclass(slots=True)
class Cell:
    planned: int = 0
    done: int = 0
    errors: int = 0
    success: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> int:
        return self.done + self.errors


class RunProgress:
    def __init__(self, lanes: Iterable[Lane] = ()) -> None:
        self.cells: dict[tuple[str, str], Cell] = {}
        self.lanes = list(lanes)
        self.started = time.monotonic()
        self.committed = 0

    def plan(self, model: str, prompt_type: str, n: int = 1) -> None:
        cell = self.cells.get((model, prompt_type))
        if cell is None:
            cell = self.cells[(model, prompt_type)] = Cell()
        cell.planned += n

    def finish(self, model: str, prompt_type: str, *, ok: bool, success: bool) -> None:
        cell = self.cells[(model, prompt_type)]
        if ok:
            cell.done += 1
            cell.success += success
        else:
            cell.errors += 1

    @property
    def planned(self) -> int:
        return sum(c.planned for c in self.cells.values())

    @property
    def finished(self) -> int:
        return sum(c.finished for c in self.cells.values())

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.finished / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        r = self.rate()
        left = self.planned - self.finished
        return left / r if r > 0 else None

    def line(self) -> str:
        eta = self.eta()
        retries = sum(lane.transient for lane in self.lanes)
        limited = sum(lane.rate_limited for lane in self.lanes)
        errors = sum(c.errors for c in self.cells.values())
        learnt = [lane for lane in self.lanes if lane.learned]
        shown = "; ".join(f"{lane.name} {lane.describe_learned()}" for lane in learnt[:3])
        more = f" and {len(learnt) - 3} more" if len(learnt) > 3 else ""
        return (
            f"progress {self.finished}/{self.planned} tests, {errors} infra errors, {self.rate():.1f}/s, "
            f"429s {limited}, retries {retries}, committed {self.committed}, ETA {_fmt_eta(eta)}"
            + (f", learnt limits: {shown}{more}" if learnt else "")
        )

    def table(self):  # type: ignore[no-untyped-def]
        from rich.console import Group
        from rich.table import Table

        tests = Table(title="tests", expand=False)
        for col in ("model", "prompt type", "done", "errors", "success", "rate/s", "ETA"):
            tests.add_column(col, justify="right" if col not in ("model", "prompt type") else "left")
        now = time.monotonic()
        for (model, prompt), c in sorted(self.cells.items()):
            elapsed = max(now - c.started, 1e-9)
            r = c.finished / elapsed
            eta = (c.planned - c.finished) / r if r > 0 else None
            succ = f"{c.success / c.done:.0%}" if c.done else "-"
            tests.add_row(model, prompt, f"{c.finished}/{c.planned}", str(c.errors), succ, f"{r:.1f}", _fmt_eta(eta))
        lanes = Table(title="lanes", expand=False)
        for col in ("lane", "in flight", "limit", "calls", "429s", "retries", "learnt limits", "state"):
            lanes.add_column(col)
        for lane in self.lanes:
            state = "disabled" if lane.disabled_reason else ("parked" if lane.is_parked() else "ok")
            lanes.add_row(
                lane.name, str(lane.in_flight), str(lane.limit), str(lane.calls), str(lane.rate_limited),
                str(lane.transient), lane.describe_learned() or "-", state,
            )
        return Group(tests, lanes, self.line())


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Reporter:
    """Shows progress every `interval` seconds: rich.Live on a terminal, plain lines otherwise."""

    def __init__(self, progress: RunProgress, *, stream: TextIO | None = None, live: bool | None = None, interval: float = 5.0) -> None:
        self.progress = progress
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.interval = interval if not self.live else 0.5
        self._live = None

    def start(self) -> None:
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self.progress.table(), console=Console(file=self.stream), refresh_per_second=2, transient=False)
            self._live.start()

    def tick(self) -> None:
        if self._live is not None:
            self._live.update(self.progress.table())
        else:
            print(self.progress.line(), file=self.stream, flush=True)

    def stop(self) -> None:
        if self._live is not None:
            self._live.update(self.progress.table())
            self._live.stop()
            self._live = None
