import asyncio
from collections import Counter

import pytest

from pilotbench.limits import POLICIES, FakeClock, KeyPool, NoUsableLane

from .helpers import make_lane, settle


def make_pool(policy="pool", n=3, clock=None, **lane_kw):
    clock = clock if clock is not None else FakeClock()
    lanes = [make_lane(f"key{i + 1}", clock=clock, **lane_kw) for i in range(n)]
    return KeyPool(lanes, policy=policy), lanes, clock


def test_policies_and_unknown_policy():
    assert POLICIES == ("pool", "prompt-affinity", "round-robin")
    with pytest.raises(ValueError, match="sticky"):
        KeyPool([make_lane()], policy="sticky")
    with pytest.raises(ValueError):
        KeyPool([])


def test_pool_picks_lane_with_most_headroom():
    pool, lanes, _ = make_pool(max_concurrency=5)

    async def scenario():
        for _ in range(3):
            await lanes[0].acquire()
        await lanes[1].acquire()
        assert pool.lane_for("cot") is lanes[2]
        assert await pool.acquire("cot") is lanes[2]
        assert await pool.acquire("cot") in (lanes[1], lanes[2])  # tie at 4 free each
        assert sorted(lane.in_flight for lane in lanes[1:]) == [1, 2]
        freer = min(lanes[1:], key=lambda lane: lane.in_flight)
        assert await pool.acquire("cot") is freer

    asyncio.run(scenario())


def test_pool_skips_lane_in_cooldown_even_with_more_headroom():
    pool, lanes, clock = make_pool(n=2, max_concurrency=5)

    async def scenario():
        await lanes[0].acquire()
        lanes[0].release("rate_limited", retry_after=60)
        await lanes[1].acquire()
        await lanes[1].acquire()
        assert await pool.acquire("baseline") is lanes[1]
        assert clock.now() == 0

    asyncio.run(scenario())


def test_pool_spreads_load_evenly_and_respects_each_limit():
    clock = FakeClock()
    pool, lanes, _ = make_pool(max_concurrency=4, clock=clock)
    peak = Counter()

    async def call(i):
        lane = await pool.acquire("flawed_x")
        peak[lane.name] = max(peak[lane.name], lane.in_flight)
        await clock.sleep(0.01 * (i % 7))
        lane.release("ok")

    async def scenario():
        await asyncio.gather(*(call(i) for i in range(300)))

    asyncio.run(scenario())
    calls = [lane.calls for lane in lanes]
    assert sum(calls) == 300
    assert all(80 <= c <= 120 for c in calls), calls
    assert all(p == 4 for p in peak.values())
    assert pool.waiting == 0


def test_sequential_calls_rotate_over_idle_lanes():
    pool, lanes, _ = make_pool()

    async def scenario():
        picked = []
        for _ in range(6):
            lane = await pool.acquire("baseline")
            picked.append(lane.name)
            lane.release("ok")
        return picked

    assert asyncio.run(scenario()) == ["key1", "key2", "key3"] * 2


def test_pool_waits_for_the_first_lane_to_free_up():
    pool, lanes, _ = make_pool(max_concurrency=1)

    async def scenario():
        held = [await pool.acquire("cot") for _ in range(3)]
        assert sorted(lane.name for lane in held) == ["key1", "key2", "key3"]
        waiter = asyncio.create_task(pool.acquire("cot"))
        await settle()
        assert not waiter.done() and pool.waiting == 1
        lanes[1].release("ok")
        assert await waiter is lanes[1]

    asyncio.run(scenario())


def test_pool_waiters_are_fifo():
    pool, lanes, _ = make_pool(n=2, max_concurrency=1)
    order = []

    async def call(i):
        lane = await pool.acquire("x")
        order.append(i)
        await asyncio.sleep(0)
        lane.release("ok")

    async def scenario():
        await pool.acquire("x")
        await pool.acquire("x")
        tasks = []
        for i in range(8):
            tasks.append(asyncio.create_task(call(i)))
            await asyncio.sleep(0)
        lanes[0].release("ok")
        lanes[1].release("ok")
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert order == list(range(8))


def test_pool_waits_on_the_clock_for_rate_budgets():
    clock = FakeClock()
    pool, lanes, _ = make_pool(n=2, clock=clock, max_concurrency=100, rpm=6)  # burst 1 each

    async def scenario():
        got = []
        for _ in range(4):
            lane = await pool.acquire("x")
            got.append((lane.name, round(clock.now(), 6)))
            lane.release("ok")
        return got

    got = asyncio.run(scenario())
    assert [t for _, t in got] == [0, 0, 10, 10]
    assert Counter(name for name, _ in got) == {"key1": 2, "key2": 2}


def test_prompt_affinity_mapping():
    pool, lanes, _ = make_pool("prompt-affinity")
    names = {prompt: pool.lane_for(prompt).name for prompt in ("baseline", "cot", "optimal")}
    assert names == {"baseline": "key1", "cot": "key2", "optimal": "key3"}

    async def scenario():
        picked = []
        for prompt in ["baseline", "cot", "optimal"] + ["flawed_a", "flawed_b"] * 3:
            lane = await pool.acquire(prompt)
            picked.append(lane.name)
            lane.release("ok")
        return picked

    picked = asyncio.run(scenario())
    assert picked[:3] == ["key1", "key2", "key3"]
    assert picked[3:] == ["key1", "key2", "key3"] * 2


def test_prompt_affinity_wraps_modulo_lane_count():
    pool, _, _ = make_pool("prompt-affinity", n=2)
    assert [pool.lane_for(p).name for p in ("baseline", "cot", "optimal")] == [
        "key1",
        "key2",
        "key1",
    ]


def test_lane_for_previews_without_advancing_the_rotation():
    pool, _, _ = make_pool("prompt-affinity")

    async def scenario():
        assert pool.lane_for("flawed_a").name == "key1"
        assert pool.lane_for("flawed_a").name == "key1"
        lane = await pool.acquire("flawed_a")
        lane.release("ok")
        assert pool.lane_for("flawed_a").name == "key2"

    asyncio.run(scenario())


def test_prompt_affinity_waits_on_its_own_lane_even_if_others_are_free():
    pool, lanes, _ = make_pool("prompt-affinity", max_concurrency=1)

    async def scenario():
        await lanes[1].acquire()
        waiter = asyncio.create_task(pool.acquire("cot"))
        await settle()
        assert not waiter.done()
        lanes[1].release("ok")
        assert await waiter is lanes[1]

    asyncio.run(scenario())


def test_prompt_affinity_falls_back_to_pool_when_its_lane_is_disabled():
    pool, lanes, _ = make_pool("prompt-affinity", max_concurrency=2)

    async def scenario():
        lanes[1].disable("403")
        await lanes[0].acquire()
        assert pool.lane_for("cot") is lanes[2]  # most headroom among usable lanes
        lane = await pool.acquire("cot")
        assert lane is lanes[2]

    asyncio.run(scenario())


def test_prompt_affinity_waiter_moves_to_pool_when_its_lane_dies():
    pool, lanes, _ = make_pool("prompt-affinity", max_concurrency=1)

    async def scenario():
        await lanes[1].acquire()
        waiter = asyncio.create_task(pool.acquire("cot"))
        await settle()
        lanes[1].disable("401")
        assert await waiter in (lanes[0], lanes[2])

    asyncio.run(scenario())


def test_round_robin_rotates_and_skips_unusable_lanes():
    pool, lanes, _ = make_pool("round-robin")

    async def scenario(n):
        picked = []
        for _ in range(n):
            lane = await pool.acquire("baseline")
            picked.append(lane.name)
            lane.release("ok")
        return picked

    assert asyncio.run(scenario(6)) == ["key1", "key2", "key3"] * 2
    lanes[1].disable("404 deployment not found")
    assert pool.lane_for("cot").name == "key1"
    assert asyncio.run(scenario(4)) == ["key1", "key3"] * 2


def test_no_usable_lane_when_all_disabled_or_parked_for_good():
    for policy in POLICIES:
        pool, lanes, _ = make_pool(policy)
        lanes[0].disable("401")
        lanes[1].park(None, "quota")
        assert pool.usable
        lanes[2].disable("403")
        assert not pool.usable
        with pytest.raises(NoUsableLane, match="key2: parked"):
            pool.lane_for("baseline")
        with pytest.raises(NoUsableLane):
            asyncio.run(pool.acquire("baseline"))


def test_pool_waiters_get_no_usable_lane_when_the_last_lane_dies():
    pool, lanes, _ = make_pool(n=2, max_concurrency=1)

    async def scenario():
        await pool.acquire("x")
        await pool.acquire("x")
        waiters = [asyncio.create_task(pool.acquire("x")) for _ in range(3)]
        await settle()
        lanes[0].disable("401")
        await settle()
        assert not any(w.done() for w in waiters)
        lanes[1].park(None, "quota")
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(r, NoUsableLane) for r in results)

    asyncio.run(scenario())


def test_pool_uses_a_timed_park_again_once_it_ends():
    clock = FakeClock()
    pool, lanes, _ = make_pool(n=1, clock=clock)

    async def scenario():
        lanes[0].park(30, "quota resets at :30")
        assert pool.usable
        lane = await pool.acquire("x")
        assert lane is lanes[0] and clock.now() == pytest.approx(30)

    asyncio.run(scenario())
