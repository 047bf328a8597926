import asyncio

import pytest

from pilotbench.limits import Clock, FakeClock, MonotonicClock


def test_fake_clock_sleep_advances_virtual_time_exactly():
    clock = FakeClock(start=5.0)

    async def scenario():
        await clock.sleep(2.5)
        await clock.sleep(0)
        await clock.sleep(-1)
        return clock.now()

    assert asyncio.run(scenario()) == 7.5


def test_fake_clock_sleep_yields_to_other_tasks():
    clock = FakeClock()
    seen = []

    async def other():
        seen.append(clock.now())

    async def scenario():
        task = asyncio.create_task(other())
        await clock.sleep(1)
        assert seen == [1.0]
        await task

    asyncio.run(scenario())


def test_fake_clock_advance_and_no_going_back():
    clock = FakeClock()
    clock.advance(3)
    assert clock.now() == 3
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_both_clocks_satisfy_the_protocol():
    assert isinstance(FakeClock(), Clock)
    assert isinstance(MonotonicClock(), Clock)
    real = MonotonicClock()
    assert real.now() <= real.now()
