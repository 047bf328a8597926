import asyncio
import math
import random

import pytest

from pilotbench.limits import FakeClock, Lane, LaneDisabled, LaneParked

from .helpers import make_lane, settle


def test_free_slot_is_taken_without_suspending():
    lane = make_lane(max_concurrency=2, rpm=60)
    coro = lane.acquire()
    with pytest.raises(StopIteration):
        coro.send(None)  # completes synchronously: no task, no await
    assert lane.in_flight == 1 and lane.calls == 1


def test_concurrency_never_exceeds_limit_under_200_tasks():
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=7)
    rng = random.Random(1)
    peak = 0

    async def call():
        nonlocal peak
        await lane.acquire()
        peak = max(peak, lane.in_flight)
        assert lane.in_flight <= 7
        for _ in range(rng.randint(0, 3)):
            await asyncio.sleep(0)
        lane.release("ok")

    async def scenario():
        await asyncio.gather(*(call() for _ in range(200)))

    asyncio.run(scenario())
    assert peak == 7
    assert lane.in_flight == 0 and lane.waiting == 0
    assert lane.calls == lane.ok == 200


def test_waiters_are_served_first_in_first_out():
    lane = make_lane(max_concurrency=1)
    order = []

    async def call(i):
        await lane.acquire()
        order.append(i)
        await asyncio.sleep(0)
        lane.release("ok")

    async def scenario():
        await lane.acquire()  # hold the only slot
        tasks = []
        for i in range(10):
            tasks.append(asyncio.create_task(call(i)))
            await asyncio.sleep(0)  # arrive in order
        await settle()
        assert lane.waiting == 10
        lane.release("ok")
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert order == list(range(10))


def test_newcomer_does_not_jump_the_queue_when_a_slot_frees():
    lane = make_lane(max_concurrency=1)
    order = []

    async def call(tag):
        await lane.acquire()
        order.append(tag)
        lane.release("ok")

    async def scenario():
        await lane.acquire()
        first = asyncio.create_task(call("queued"))
        await settle()
        lane.release("ok")  # the queued waiter is woken but has not run yet
        assert lane.try_acquire() is False
        late = asyncio.create_task(call("late"))
        await asyncio.gather(first, late)

    asyncio.run(scenario())
    assert order == ["queued", "late"]


def test_rpm_60_admits_burst_plus_one_per_second():
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=1_000, rpm=60)  # burst 10
    started = []

    async def call():
        await lane.acquire()
        started.append(clock.now())
        lane.release("ok")

    async def scenario():
        await asyncio.gather(*(call() for _ in range(200)))

    asyncio.run(scenario())
    within_a_minute = sum(1 for t in started if t <= 60 + 1e-6)
    assert abs(within_a_minute - 70) <= 1
    assert started == sorted(started)
    assert clock.now() == pytest.approx(190, abs=1)  # 200 calls = 10 burst + 190 s


def test_tpm_waits_for_tokens_and_is_corrected_after_the_call():
    clock = FakeClock()
    lane = make_lane(clock=clock, tpm=600)  # 10 tokens/s, capacity 100
    tpm = lane.tpm_bucket

    async def scenario():
        await lane.acquire(tokens=100)
        assert tpm.available == pytest.approx(0)
        lane.release("ok", tokens_used=40)  # overestimated: 60 come back
        assert tpm.available == pytest.approx(60)

        await lane.acquire(tokens=50)
        lane.release("ok", tokens_used=110)  # underestimated: 60 more are owed
        assert tpm.available == pytest.approx(-50)

        t0 = clock.now()
        await lane.acquire(tokens=20)  # needs 70 tokens of refill
        assert clock.now() - t0 == pytest.approx(7.0)
        lane.release("transient")  # no usage reported: the estimate stands
        assert tpm.available == pytest.approx(0)

    asyncio.run(scenario())
    assert lane.tokens == 150


def test_tpm_correction_uses_explicit_estimates_when_they_differ():
    clock = FakeClock()
    lane = make_lane(clock=clock, tpm=60_000)  # capacity 10_000
    tpm = lane.tpm_bucket

    async def scenario():
        await lane.acquire(tokens=1_000)
        await lane.acquire(tokens=3_000)
        lane.release("ok", tokens_used=3_000, tokens_estimated=3_000)
        lane.release("ok", tokens_used=500, tokens_estimated=1_000)
        assert tpm.available == pytest.approx(10_000 - 3_500)

    asyncio.run(scenario())


def test_retry_after_cooldown_blocks_acquire_until_virtual_time_passes():
    clock = FakeClock(start=100)
    lane = make_lane(clock=clock, max_concurrency=5)  # not adaptive

    async def scenario():
        await lane.acquire()
        lane.release("rate_limited", retry_after=30)
        assert lane.cooldown_until == 130
        assert lane.headroom == 0
        assert not lane.available()
        assert lane.available(now=130)
        await lane.acquire()
        assert clock.now() == pytest.approx(130)
        lane.release("ok")

    asyncio.run(scenario())
    assert lane.limit == 5  # a fixed lane waits but is not cut
    assert lane.rate_limited == 1 and lane.ok == 1


def test_rate_limit_without_retry_after_on_fixed_lane_does_not_block():
    lane = make_lane()

    async def scenario():
        await lane.acquire()
        lane.release("rate_limited")
        assert lane.cooldown_until == -math.inf
        assert lane.headroom == 4

    asyncio.run(scenario())


def test_adaptive_lane_cuts_once_per_burst_and_recovers_to_ceiling():
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=8, adaptive=True, ceiling=10)

    async def scenario():
        for _ in range(8):
            await lane.acquire()
        for _ in range(8):
            lane.release("rate_limited", retry_after=2)
        assert lane.limit == 4
        assert lane.cooldown_until == 2
        assert lane.headroom == 0
        await lane.acquire()
        assert clock.now() == pytest.approx(2)
        lane.release("ok")
        for _ in range(200):  # one call at a time never fills the window: no growth
            await lane.acquire()
            lane.release("ok")
        assert lane.limit == 4
        for _ in range(200):  # full windows of successes grow it, up to the ceiling
            n = lane.limit
            for _ in range(n):
                await lane.acquire()
            for _ in range(n):
                lane.release("ok")
        assert lane.limit == 10

    asyncio.run(scenario())


def test_adaptive_default_backoff_when_no_retry_after():
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=4, adaptive=True)

    async def scenario():
        await lane.acquire()
        lane.release("rate_limited")
        assert lane.limit == 2
        await lane.acquire()
        assert clock.now() == pytest.approx(1.0)
        lane.release("transient")
        assert lane.limit == 2

    asyncio.run(scenario())


def test_limit_cut_holds_back_waiters_until_in_flight_drops():
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=4, adaptive=True)
    peak_after_cut = 0

    async def call():
        nonlocal peak_after_cut
        await lane.acquire()
        peak_after_cut = max(peak_after_cut, lane.in_flight)
        lane.release("ok")

    async def scenario():
        for _ in range(4):
            await lane.acquire()
        waiters = [asyncio.create_task(call()) for _ in range(10)]
        await settle()
        lane.release("rate_limited", retry_after=0)  # limit 4 -> 2, 3 still in flight
        lane.release("ok")
        await settle()
        assert lane.in_flight == 2 and lane.waiting == 10  # at the new limit: nobody starts
        lane.release("ok")
        lane.release("ok")
        await asyncio.gather(*waiters)

    asyncio.run(scenario())
    assert peak_after_cut <= 2


def test_disable_fails_current_and_future_waiters():
    lane = make_lane(max_concurrency=1)

    async def scenario():
        await lane.acquire()
        waiters = [asyncio.create_task(lane.acquire()) for _ in range(5)]
        await settle()
        lane.disable("401 Unauthorized")
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(r, LaneDisabled) for r in results)
        assert all(r.reason == "401 Unauthorized" for r in results)
        with pytest.raises(LaneDisabled, match="401"):
            await lane.acquire()
        lane.release("fatal")
        assert lane.waiting == 0

    asyncio.run(scenario())
    assert not lane.is_usable
    assert lane.disabled_reason == "401 Unauthorized"
    assert lane.headroom == 0 and lane.fatal == 1


class FrozenClock(FakeClock):
    """A clock whose sleeps never end: only an interrupt can free a sleeper."""

    async def sleep(self, seconds):
        await asyncio.get_running_loop().create_future()


def test_disable_interrupts_a_timed_wait():
    lane = make_lane(clock=FrozenClock())

    async def scenario():
        lane.park(1_000, "quota until tomorrow")
        waiter = asyncio.create_task(lane.acquire())
        await settle()
        assert not waiter.done()
        lane.disable("403 Forbidden")
        await settle()
        assert waiter.done()
        with pytest.raises(LaneDisabled):
            await waiter

    asyncio.run(scenario())


def test_park_for_good_interrupts_a_timed_wait():
    lane = make_lane(clock=FrozenClock(), rpm=6)  # burst 1

    async def scenario():
        await lane.acquire()
        lane.release("ok")
        waiter = asyncio.create_task(lane.acquire())  # waits 10 s for the RPM budget
        await settle()
        lane.park(None, "quota")
        await settle()
        with pytest.raises(LaneParked):
            await waiter

    asyncio.run(scenario())


def test_timed_park_holds_calls_until_it_ends():
    clock = FakeClock()
    lane = make_lane(clock=clock)

    async def scenario():
        lane.park(50, "daily quota")
        assert lane.is_usable and lane.is_parked() and lane.headroom == 0
        await lane.acquire()
        assert clock.now() == pytest.approx(50)
        assert not lane.is_parked()
        lane.release("ok")

    asyncio.run(scenario())


def test_park_for_the_rest_of_the_run_fails_waiters():
    lane = make_lane(max_concurrency=1)

    async def scenario():
        await lane.acquire()
        waiter = asyncio.create_task(lane.acquire())
        await settle()
        lane.release("quota")
        lane.park(None, "insufficient_quota")
        with pytest.raises(LaneParked, match="insufficient_quota") as info:
            await waiter
        assert isinstance(info.value, LaneDisabled)

    asyncio.run(scenario())
    assert not lane.is_usable and lane.park_reason == "insufficient_quota"
    assert lane.quota == 1


def test_cancelled_waiter_leaves_the_line():
    lane = make_lane(max_concurrency=1)
    got = []

    async def call(tag):
        await lane.acquire()
        got.append(tag)

    async def scenario():
        await lane.acquire()
        a = asyncio.create_task(call("a"))
        b = asyncio.create_task(call("b"))
        c = asyncio.create_task(call("c"))
        await settle()
        a.cancel()
        b.cancel()
        await settle()
        assert lane.waiting == 1
        lane.release("ok")
        await c

    asyncio.run(scenario())
    assert got == ["c"]


def test_slot_context_manager_reports_outcomes():
    clock = FakeClock()
    lane = make_lane(clock=clock, tpm=6_000)

    async def scenario():
        async with lane.slot(tokens=100) as permit:
            assert lane.in_flight == 1
            permit.report("ok", tokens_used=30)
        with pytest.raises(RuntimeError):
            async with lane.slot():
                raise RuntimeError("boom")
        async with lane.slot() as permit:
            permit.report("rate_limited", retry_after=5)

    asyncio.run(scenario())
    assert (lane.ok, lane.transient, lane.rate_limited) == (1, 1, 1)
    assert lane.in_flight == 0 and lane.tokens == 30
    assert lane.cooldown_until == 5


def test_release_checks_its_arguments():
    lane = make_lane()
    with pytest.raises(RuntimeError):
        lane.release("ok")
    with pytest.raises(ValueError, match="unknown outcome"):
        lane.release("maybe")


def test_constructor_validation():
    with pytest.raises(ValueError):
        make_lane(max_concurrency=0)
    with pytest.raises(ValueError):
        make_lane(max_concurrency=5, adaptive=True, ceiling=3)
    lane = make_lane(max_concurrency=5, adaptive=True)
    assert lane.controller.ceiling == 5 and lane.limit == 5


def test_many_conversations_are_cheap():
    clock = FakeClock()
    lane: Lane = make_lane(clock=clock, max_concurrency=50, rpm=600_000, tpm=50_000_000)

    async def conversation():
        for _ in range(5):
            await lane.acquire(tokens=1_000)
            await asyncio.sleep(0)
            lane.release("ok", tokens_used=900)

    async def scenario():
        await asyncio.gather(*(conversation() for _ in range(1_000)))

    asyncio.run(scenario())
    assert lane.calls == 5_000 and lane.in_flight == 0


def test_adaptive_lane_cuts_again_for_a_429_of_a_call_started_after_the_cut():
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=32, adaptive=True, ceiling=64)

    async def scenario():
        for _ in range(32):
            await lane.acquire()
        for _ in range(24):  # the burst: one cut only
            lane.release("rate_limited", retry_after=0.2)
        assert lane.limit == 16
        for _ in range(8):
            lane.release("ok")  # the rest of the burst comes back
        await lane.acquire()  # waits out the Retry-After, then starts a call after the cut
        assert clock.now() == pytest.approx(0.2)
        lane.release("rate_limited", retry_after=0.2)  # new evidence inside the 1 s cool window
        assert lane.limit == 8

    asyncio.run(scenario())


def test_adaptive_lane_finds_the_concurrency_limit_from_a_burst_without_freezing():
    """Declared 32, the provider allows 8: slow start, then the 429 burst sets the window to the
    calls still succeeding; the lane never stops taking calls."""
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=32, adaptive=True, slow_start=True)

    def fill():
        while lane.try_acquire():
            pass

    async def scenario():
        assert lane.limit == 4
        fill()
        for _ in range(4):  # a round trip, each freed slot used again at once: the window doubles
            lane.release("ok")
            fill()
        assert lane.limit == 8 and lane.in_flight == 8
        for _ in range(8):
            lane.release("ok")
            fill()
        assert lane.limit == 16 and lane.in_flight == 16
        for _ in range(8):  # the provider refuses what is over its 8
            lane.release("rate_limited", retry_after=1.0)
        assert lane.limit == 8 and lane.in_flight == 8
        assert lane.cooldown_until < clock.now()  # not frozen: the other 8 keep going
        lane.release("ok")
        assert lane.try_acquire()  # a freed slot is used at once

    asyncio.run(scenario())


def test_fixed_lane_refused_below_its_declared_limit_adapts_under_it():
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=8)

    async def scenario():
        for _ in range(6):
            await lane.acquire()
        lane.release("ok")  # the provider serves some...
        lane.release("rate_limited", retry_after=1.0)  # ...and refuses one while 4 still run
        assert lane.controller is not None and lane.limit == 4
        assert lane.cooldown_until < clock.now()  # the refused call waits, not the lane
        assert lane.controller.ceiling == 8  # never above what was declared

    asyncio.run(scenario())
    fixed = make_lane(clock=FakeClock(), max_concurrency=8)

    async def nothing_gets_through():
        await fixed.acquire()
        fixed.release("rate_limited", retry_after=2.0)
        assert fixed.controller is None and fixed.limit == 8  # a spent budget: the lane just waits
        assert fixed.cooldown_until == 2.0

    asyncio.run(nothing_gets_through())


def test_lanes_of_one_key_tell_a_shared_concurrency_limit_from_a_spent_budget():
    """Two deployments on one key, the provider limits the key: lane B's call is refused while
    lane A's calls succeed. B has nothing else running, yet this is a concurrency refusal: B does
    not freeze, its window drops to what it has running (the floor), and only that call waits."""
    clock = FakeClock()
    a = make_lane("a", clock=clock, max_concurrency=8)
    b = make_lane("b", clock=clock, max_concurrency=8)
    a.siblings, b.siblings = (b,), (a,)

    async def scenario():
        for _ in range(3):
            await a.acquire()
        a.release("ok")
        await b.acquire()
        b.release("rate_limited", retry_after=1.0)
        assert b.cooldown_until < clock.now() and b.limit == 1
        assert a.limit == 8 and a.controller is None  # A was not refused: it keeps its limit

    asyncio.run(scenario())
    lone = make_lane("lone", clock=FakeClock(), max_concurrency=8)

    async def alone():
        await lone.acquire()
        lone.release("rate_limited", retry_after=1.0)
        assert lone.cooldown_until == 1.0 and lone.limit == 8  # nothing succeeding anywhere: wait

    asyncio.run(alone())
