"""Budgets learnt from the provider's headers, and lanes that pace to them (virtual time)."""

from __future__ import annotations

import asyncio

import pytest

from pilotbench.limits import FakeClock
from pilotbench.limits.learned import LearnedBudget
from pilotbench.models.ratelimits import Budget, RateLimits

from .helpers import make_lane, settle


def test_learned_budget_refills_at_the_stated_rate_up_to_the_stated_capacity() -> None:
    clock = FakeClock()
    budget = LearnedBudget(clock, margin=0.0)
    budget.observe(Budget(limit=600, remaining=4, reset=0.6))  # 10/s; full (10) in 0.6 s
    assert budget.capacity == pytest.approx(10.0)
    assert budget.available == pytest.approx(4.0)
    assert budget.delay_for(6) == pytest.approx(0.2)
    held_back = LearnedBudget(clock)  # by default a quarter more than the call is kept in hand
    held_back.observe(Budget(limit=600, remaining=4, reset=0.6))
    assert held_back.delay_for(4) == pytest.approx(0.1)
    clock.advance(10)
    assert budget.available == pytest.approx(10.0)  # never beyond what the provider holds
    assert budget.delay_for(50) == 0.0  # more than the capacity only waits for a full budget


def test_learned_budget_keeps_spending_the_provider_cannot_have_seen() -> None:
    clock = FakeClock()
    budget = LearnedBudget(clock, transit=0.05)
    budget.observe(Budget(limit=60, remaining=5, reset=0.0))
    budget.consume(2)  # a call just started: the next answer may not count it yet
    budget.observe(Budget(limit=60, remaining=5, reset=0.0))
    assert budget.available == pytest.approx(3.0)
    clock.advance(1.0)
    budget.consume(1)
    clock.advance(0.1)
    budget.observe(Budget(limit=60, remaining=4, reset=1.0))  # long enough ago: counted by the provider
    assert budget.available == pytest.approx(4.0)


def test_without_a_rate_a_spent_budget_waits_for_the_stated_reset() -> None:
    clock = FakeClock()
    budget = LearnedBudget(clock)
    budget.observe(Budget(limit=None, remaining=2, reset=None))
    budget.consume(2)
    budget.observe(Budget(limit=None, remaining=0, reset=4.0))
    assert budget.delay_for(1) == pytest.approx(4.0)
    clock.advance(4.0)
    assert budget.delay_for(1) == 0.0 and budget.available == pytest.approx(2.0)


def test_lane_paces_requests_to_the_stated_budget() -> None:
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=64)
    lane.observe(RateLimits(requests=Budget(limit=120, remaining=2, reset=0.0)))  # 2/s, 2 left
    starts: list[float] = []

    async def scenario() -> None:
        async def one() -> None:
            await lane.acquire()
            starts.append(clock.now())
            lane.release("ok")

        await asyncio.gather(*(one() for _ in range(6)))

    asyncio.run(scenario())
    # The stated rate exactly (one every 0.5 s), a quarter of a request kept in hand.
    assert starts == pytest.approx([0.0, 0.125, 0.625, 1.125, 1.625, 2.125])
    assert "120 rpm" in lane.describe_learned()


def test_a_token_429_teaches_the_lane_how_the_provider_counts() -> None:
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=64)
    lane.observe(RateLimits(tokens=Budget(limit=60_000, remaining=3000, reset=0.0)))  # 1000 tokens/s, holds 3000

    async def scenario() -> None:
        await lane.acquire(1000)  # fits: 1250 with the margin, 3000 left
        # Refused: 500 left, and 1.5 s until enough: the call needed 2000, twice our estimate.
        lane.observe(RateLimits(tokens=Budget(limit=60_000, remaining=500, reset=2.5), refused=True, retry_after=1.5))
        lane.release("rate_limited", retry_after=1.5, tokens_estimated=1000)

    asyncio.run(scenario())
    assert lane.learned_limits()["tpm"] == 60_000
    # Next call: 1000 estimated, counted as 2100 (with 5% to spare), 2625 with the margin; in hand the
    # stated 500 less the refused call's 1000, which is too recent to be sure the provider saw it.
    assert lane.ready_in(1000) == pytest.approx(3.125)


def test_answers_teach_the_lane_when_it_counts_too_much() -> None:
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=64)
    lane.observe(RateLimits(tokens=Budget(limit=60_000, remaining=1000, reset=5.0)))  # holds 6000

    async def scenario() -> None:
        for _ in range(5):
            await lane.acquire(1000)
            clock.advance(1.0)
            # The provider counted only half of each call: 500 a call, 1000 refilled a second.
            remaining = 1000 + (lane.calls) * 500
            lane.observe(RateLimits(tokens=Budget(limit=60_000, remaining=remaining, reset=(6000 - remaining) / 1000)))
            lane.release("ok", tokens_used=500, tokens_estimated=1000)

    asyncio.run(scenario())
    assert lane._token_ratio < 0.9  # learnt downward, a bounded step per answer


def test_a_declared_limit_is_never_exceeded_whatever_the_headers_say() -> None:
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=64, rpm=60)  # declared: 1/s, 10 s of burst
    lane.observe(RateLimits(requests=Budget(limit=6000, remaining=1000, reset=0.0)))

    async def scenario() -> float:
        for _ in range(11):
            await lane.acquire()
            lane.release("ok")
        return clock.now()

    assert asyncio.run(scenario()) == pytest.approx(1.0)  # the declared bucket, not the stated one


def test_learn_limits_lane_sends_one_call_alone_until_the_first_answer() -> None:
    clock = FakeClock()
    lane = make_lane(clock=clock, max_concurrency=8, learn_limits=True)

    async def scenario() -> None:
        await lane.acquire()
        assert lane.limit == 1 and not lane.try_acquire()
        waiter = asyncio.ensure_future(lane.acquire())
        await settle()
        assert not waiter.done()
        lane.observe(RateLimits(requests=Budget(limit=600, remaining=50, reset=1.0)))
        lane.release("ok")
        await settle()
        assert waiter.done() and lane.limit == 8

    asyncio.run(scenario())


def test_learn_limits_lane_opens_up_after_an_answer_without_headers() -> None:
    lane = make_lane(max_concurrency=3, learn_limits=True)

    async def scenario() -> None:
        await lane.acquire()
        lane.release("transient")
        assert lane.limit == 3 and not lane.learned
        for _ in range(3):
            assert lane.try_acquire()

    asyncio.run(scenario())


def test_progress_shows_learnt_limits_in_lines_and_the_live_table() -> None:
    from rich.console import Console

    from pilotbench.runner.progress import RunProgress

    lane = make_lane("mock/...abcd/sim", max_concurrency=8)
    quiet = make_lane("mock/...wxyz/sim", max_concurrency=8)
    lane.observe(RateLimits(requests=Budget(limit=500, remaining=20, reset=1.0),
                            tokens=Budget(limit=30_000, remaining=2_000, reset=2.0)))
    progress = RunProgress([lane, quiet])
    progress.plan("m", "baseline", 1)
    line = progress.line()
    assert "learnt limits: mock/...abcd/sim 500 rpm (20 left), 30000 tpm (2000 left)" in line
    assert "...wxyz" not in line
    console = Console(width=200, record=True)
    console.print(progress.table())
    text = console.export_text()
    assert "learnt limits" in text and "500 rpm" in text
    assert "learnt" not in RunProgress([quiet]).line()
