"""The progress ETA with slow calls in flight: it counts down while a call runs, never up."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pilotbench.runner.progress import RunProgress, eta_seconds


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def lane(in_flight: int) -> SimpleNamespace:
    """The lane attributes progress reads, with `in_flight` set directly."""
    return SimpleNamespace(in_flight=in_flight, transient=0, rate_limited=0, disabled_reason=None, park_reason=None,
                           is_parked=lambda: False, learned=False)


def test_eta_counts_down_while_one_slow_call_runs() -> None:
    clock = FakeClock()
    busy = lane(1)
    progress = RunProgress([busy], clock=clock)  # type: ignore[list-item]
    progress.plan("local", "baseline", 4)
    clock.t += 120.0  # the first test took two minutes
    progress.finish("local", "baseline", ok=True, success=True)
    assert progress.eta() == pytest.approx(3 * 120.0)
    etas = []
    for _ in range(6):  # a progress line every 10 s while the next call runs
        clock.t += 10.0
        etas.append(progress.eta())
    assert etas == sorted(etas, reverse=True) and etas[0] > etas[-1]
    assert etas[-1] == pytest.approx(3 * 120.0 - 60.0)
    # The old estimate (tests left / tests per second so far) grew by 30 s on every line here.
    old = [3 * (120.0 + 10 * (i + 1)) for i in range(6)]
    assert all(e is not None and e < o for e, o in zip(etas, old, strict=True))


def test_eta_floor_is_the_tests_not_yet_in_flight() -> None:
    # 4 left, 1 in flight, 100 s a test: however long the call takes, 3 tests remain after it.
    assert eta_seconds(4, 2, 0.0, 200.0, 10_000.0, in_flight=1) == pytest.approx(300.0)
    assert eta_seconds(4, 2, 0.0, 200.0, 10_000.0, in_flight=0) == pytest.approx(400.0)


@pytest.mark.parametrize(
    ("left", "finished", "last", "expected"),
    [(0, 5, 50.0, 0.0), (3, 0, None, None), (3, 2, None, None)],
)
def test_eta_edges(left: int, finished: int, last: float | None, expected: float | None) -> None:
    assert eta_seconds(left, finished, 0.0, last, 100.0, in_flight=1) == expected


def test_progress_line_uses_the_injected_clock() -> None:
    clock = FakeClock()
    progress = RunProgress([lane(2)], clock=clock)  # type: ignore[list-item]
    progress.plan("m", "cot", 3)
    assert "ETA -" in progress.line()
    clock.t += 30.0
    progress.finish("m", "cot", ok=True, success=False)
    clock.t += 5.0
    assert "ETA 0m55s" in progress.line()  # 2 left at 30 s each, 5 s of the next under way
