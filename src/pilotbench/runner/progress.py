"""Progress of a run: counters per (model, prompt type) and per lane, and how they are shown.

A live rich table when output is a terminal; plain periodic lines otherwise (nohup, CI, logs).
The counters are plain ints bumped on the hot path; rendering happens on a timer.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
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
    last: float | None = None  # when a test of this cell last finished

    @property
    def finished(self) -> int:
        return self.done + self.errors


def eta_seconds(left: int, finished: int, started: float, last: float | None, now: float, in_flight: int) -> float | None:
    """Seconds left, at the pace of the tests finished so far, counting the calls in flight.

    The pace is taken when the last test finished, not now: a slow call in flight (minutes on a
    local model) is work under way, so the time since then counts down the remaining time instead
    of slowing the pace and pushing the ETA out on every line. The ETA never falls below the time
    the tests not yet in flight need at that pace."""
    if left <= 0:
        return 0.0
    if finished <= 0 or last is None or last <= started:
        return None
    per_test = (last - started) / finished
    floor = max(0, left - in_flight) * per_test
    return max(floor, left * per_test - max(0.0, now - last))


class RunProgress:
    def __init__(self, lanes: Iterable[Lane] = (), *, clock: Callable[[], float] = time.monotonic) -> None:
        self.cells: dict[tuple[str, str], Cell] = {}
        self.lanes = list(lanes)
        self._now = clock
        self.started = clock()
        self.last: float | None = None
        self.committed = 0
        self.store_note: str | None = None  # the store is away or refusing: what the writer said

    def plan(self, model: str, prompt_type: str, n: int = 1) -> None:
        cell = self.cells.get((model, prompt_type))
        if cell is None:
            cell = self.cells[(model, prompt_type)] = Cell(started=self._now())
        cell.planned += n

    def finish(self, model: str, prompt_type: str, *, ok: bool, success: bool) -> None:
        cell = self.cells[(model, prompt_type)]
        self.last = cell.last = self._now()
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
        elapsed = self._now() - self.started
        return self.finished / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        in_flight = sum(lane.in_flight for lane in self.lanes)
        return eta_seconds(self.planned - self.finished, self.finished, self.started, self.last, self._now(), in_flight)

    def line(self) -> str:
        eta = self.eta()
        retries = sum(lane.transient for lane in self.lanes)
        limited = sum(lane.rate_limited for lane in self.lanes)
        errors = sum(c.errors for c in self.cells.values())
        out = [lane_state(lane) for lane in self.lanes]
        keys = "; ".join(f"{lane.name} {state}" for lane, state in zip(self.lanes, out) if state != "ok")
        learnt = [lane for lane in self.lanes if lane.learned]
        shown = "; ".join(f"{lane.name} {lane.describe_learned()}" for lane in learnt[:3])
        more = f" and {len(learnt) - 3} more" if len(learnt) > 3 else ""
        return (
            f"progress {self.finished}/{self.planned} tests, {errors} infra errors, {self.rate():.1f}/s, "
            f"429s {limited}, retries {retries}, committed {self.committed}, ETA {_fmt_eta(eta)}"
            + (f", learnt limits: {shown}{more}" if learnt else "")
            + (f"; keys out: {keys}" if keys else "")
            + (f"; {self.store_note}" if self.store_note else "")
        )

    def table(self):  # type: ignore[no-untyped-def]
        from rich.console import Group
        from rich.table import Table

        tests = Table(title="tests", expand=False)
        for col in ("model", "prompt type", "done", "errors", "success", "rate/s", "ETA"):
            tests.add_column(col, justify="right" if col not in ("model", "prompt type") else "left")
        now = self._now()
        for (model, prompt), c in sorted(self.cells.items()):
            elapsed = max(now - c.started, 1e-9)
            r = c.finished / elapsed
            left = c.planned - c.finished
            eta = eta_seconds(left, c.finished, c.started, c.last, now, min(1, left))
            succ = f"{c.success / c.done:.0%}" if c.done else "-"
            tests.add_row(model, prompt, f"{c.finished}/{c.planned}", str(c.errors), succ, f"{r:.1f}", _fmt_eta(eta))
        lanes = Table(title="lanes", expand=False)
        for col in ("lane", "in flight", "limit", "calls", "429s", "retries", "learnt limits", "state"):
            lanes.add_column(col)
        for lane in self.lanes:
            state = lane_state(lane, width=80)
            lanes.add_row(
                lane.name, str(lane.in_flight), str(lane.limit), str(lane.calls), str(lane.rate_limited),
                str(lane.transient), lane.describe_learned() or "-", state,
            )
        return Group(tests, lanes, self.line())


def lane_state(lane: Lane, width: int | None = None) -> str:
    """"ok", or "disabled (why)" / "parked (why)"."""
    if lane.disabled_reason is not None:
        state = f"disabled ({lane.disabled_reason})"
    elif lane.is_parked():
        state = f"parked ({lane.park_reason or 'cooling down'})"
    else:
        return "ok"
    return state if width is None or len(state) <= width else state[: width - 3] + "..."


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
