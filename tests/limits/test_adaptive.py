import math

import pytest

from pilotbench.limits import AdaptiveController, FakeClock


def make(initial=8, ceiling=10, **kw):
    clock = FakeClock()
    return AdaptiveController(initial, ceiling, clock=clock, **kw), clock


def test_burst_of_429s_cuts_once_then_again_after_the_window():
    ctl, clock = make(initial=8)
    assert ctl.on_rate_limited(None) is True
    assert ctl.on_rate_limited(None) is False
    assert ctl.on_rate_limited(0.2) is False
    assert ctl.limit == 4
    clock.advance(0.5)
    ctl.on_rate_limited(None)
    assert ctl.limit == 4  # still inside the 1 s cool window
    clock.advance(0.6)
    assert ctl.on_rate_limited(None) is True
    assert ctl.limit == 2


def test_cool_window_stretches_to_retry_after():
    ctl, clock = make(initial=8)
    ctl.on_rate_limited(10)
    clock.advance(5)
    ctl.on_rate_limited(10)
    assert ctl.limit == 4
    clock.advance(5)
    ctl.on_rate_limited(10)
    assert ctl.limit == 2


def test_cut_respects_floor_and_factor():
    ctl, clock = make(initial=9, floor=3, decrease_factor=0.7)
    ctl.on_rate_limited(None)
    assert ctl.limit == 6  # floor(9 * 0.7)
    for _ in range(3):
        clock.advance(2)
        ctl.on_rate_limited(None)
    assert ctl.limit == 3


def test_blocked_until_follows_retry_after_or_default_backoff():
    ctl, clock = make()
    assert ctl.blocked_until == -math.inf
    clock.advance(100)
    ctl.on_rate_limited(None)
    assert ctl.blocked_until == 101
    ctl.on_rate_limited(30)
    assert ctl.blocked_until == 130
    ctl.on_rate_limited(5)  # a shorter hint does not shorten the block
    assert ctl.blocked_until == 130


def test_additive_increase_after_streak_of_current_limit_up_to_ceiling():
    ctl, _ = make(initial=2, ceiling=4)
    growth = []
    for _ in range(20):
        ctl.on_success()
        growth.append(ctl.limit)
    # 2 successes at limit 2, then 3 at limit 3, then capped at 4
    assert growth[:5] == [2, 3, 3, 3, 4]
    assert ctl.limit == 4 == max(growth)


def test_fixed_increase_after():
    ctl, _ = make(initial=5, ceiling=10, increase_after=3)
    for _ in range(9):
        ctl.on_success()
    assert ctl.limit == 8


def test_transient_resets_streak_without_cutting():
    ctl, _ = make(initial=3, ceiling=10)
    for _ in range(5):
        ctl.on_success()
        ctl.on_success()
        ctl.on_transient()
    assert ctl.limit == 3
    ctl.on_success(), ctl.on_success(), ctl.on_success()
    assert ctl.limit == 4


def test_rate_limit_resets_streak():
    ctl, clock = make(initial=4, ceiling=10)
    ctl.on_success(), ctl.on_success(), ctl.on_success()
    ctl.on_rate_limited(None)
    assert ctl.limit == 2 and ctl.streak == 0
    ctl.on_success()
    assert ctl.limit == 2
    ctl.on_success()
    assert ctl.limit == 3


@pytest.mark.parametrize(
    "args, kw",
    [((0, 5), {}), ((6, 5), {}), ((3, 5), {"floor": 4}), ((3, 5), {"decrease_factor": 1.0})],
)
def test_rejects_inconsistent_settings(args, kw):
    with pytest.raises(ValueError):
        AdaptiveController(*args, clock=FakeClock(), **kw)


def successes_until_growth(ctl: AdaptiveController, cap: int = 10_000) -> int:
    start = ctl.limit
    for n in range(1, cap + 1):
        ctl.on_success()
        if ctl.limit != start:
            return n
    raise AssertionError("no growth")


def test_growing_back_into_the_level_that_was_cut_takes_probe_windows():
    ctl, clock = make(initial=8, ceiling=20, probe_windows=5)
    ctl.on_rate_limited(0.2)
    assert ctl.limit == 4
    assert [successes_until_growth(ctl) for _ in range(3)] == [4, 5, 6]  # 4 -> 7 at the usual pace
    assert successes_until_growth(ctl) == 5 * 7  # 7 -> 8: back into the level that drew the cut
    assert successes_until_growth(ctl) == 8  # a full streak at 8 held: the memory is dropped
    assert successes_until_growth(ctl) == 9


def test_a_probe_that_draws_a_429_cuts_and_remembers_the_new_level():
    ctl, clock = make(initial=9, ceiling=20, probe_windows=4)
    ctl.on_rate_limited(0.2)  # 9 -> 4, remembers 9
    for _ in range(4):
        successes_until_growth(ctl)
    assert ctl.limit == 8
    clock.advance(2)
    ctl.on_rate_limited(0.2)  # the probe at 8 fails: 8 -> 4, remembers 8
    assert ctl.limit == 4
    assert [successes_until_growth(ctl) for _ in range(3)] == [4, 5, 6]
    assert successes_until_growth(ctl) == 4 * 7


def test_probe_windows_must_be_positive():
    with pytest.raises(ValueError):
        AdaptiveController(2, 4, clock=FakeClock(), probe_windows=0)


def test_fresh_429_cuts_inside_the_cool_window():
    ctl, clock = make(initial=32, ceiling=64)
    assert ctl.on_rate_limited(0.2) is True and ctl.limit == 16
    assert ctl.on_rate_limited(0.2) is False  # an echo of the same burst
    clock.advance(0.3)
    assert ctl.on_rate_limited(0.2, fresh=True) is True and ctl.limit == 8


# ------------------------------------------------------- slow start and the in-flight cut


def test_slow_start_doubles_per_round_trip_until_the_first_429() -> None:
    from pilotbench.limits import FakeClock

    c = AdaptiveController(32, 32, clock=FakeClock(), slow_start=True)
    assert c.limit == 4
    for _ in range(4):  # one round trip of a full window of 4
        c.on_success(saturated=True)
    assert c.limit == 8
    for _ in range(8):
        c.on_success(saturated=True)
    assert c.limit == 16
    c.on_success(saturated=False)  # an unused window says nothing
    assert c.limit == 16


def test_a_429_burst_sets_the_window_to_the_calls_still_running() -> None:
    from pilotbench.limits import FakeClock

    c = AdaptiveController(16, 32, clock=FakeClock())
    for in_flight in range(15, 7, -1):  # eight 429s come back while eight calls keep running
        c.on_rate_limited(1.0, in_flight=in_flight)
    assert c.limit == 8
    for _ in range(8):  # slow start is over: growth is additive now
        c.on_success(saturated=True)
    assert c.limit == 8  # growing back into the level that drew a 429 takes probe_windows streaks
    for _ in range(8 * 16):
        c.on_success(saturated=True)
    assert c.limit == 9


def test_in_flight_cut_never_raises_the_limit_and_respects_the_floor() -> None:
    from pilotbench.limits import FakeClock

    c = AdaptiveController(8, 8, floor=2, clock=FakeClock())
    assert c.on_rate_limited(1.0, in_flight=20) is False and c.limit == 8
    assert c.on_rate_limited(1.0, in_flight=0) is True and c.limit == 2
