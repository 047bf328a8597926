import pytest

from pilotbench.limits import FakeClock, TokenBucket


def test_default_burst_is_ten_seconds_of_budget_and_at_least_one():
    clock = FakeClock()
    assert TokenBucket(60, clock).capacity == 10
    assert TokenBucket(600_000, clock).capacity == 100_000
    assert TokenBucket(3, clock).capacity == 1


def test_starts_full_then_delays_by_refill_rate():
    clock = FakeClock()
    bucket = TokenBucket(60, clock, burst=5)  # one unit per second
    assert bucket.delay_for(5) == 0
    bucket.consume(5)
    assert bucket.available == pytest.approx(0)
    assert bucket.delay_for(1) == pytest.approx(1.0)
    assert bucket.delay_for(3) == pytest.approx(3.0)
    clock.advance(2)
    assert bucket.available == pytest.approx(2)
    assert bucket.delay_for(1) == 0
    assert bucket.delay_for(3) == pytest.approx(1.0)


def test_refill_is_capped_at_capacity():
    clock = FakeClock()
    bucket = TokenBucket(120, clock, burst=4)
    bucket.consume(4)
    clock.advance(3600)
    assert bucket.available == pytest.approx(4)


def test_oversized_amount_waits_for_full_bucket_then_goes_into_debt():
    clock = FakeClock()
    bucket = TokenBucket(600, clock)  # 10 per second, capacity 100
    bucket.consume(50)
    assert bucket.delay_for(1_000) == pytest.approx(5.0)  # until full, not until 1000
    clock.advance(5)
    assert bucket.delay_for(1_000) == 0
    bucket.consume(1_000)
    assert bucket.available == pytest.approx(-900)
    assert bucket.delay_for(0) == pytest.approx(90.0)  # the debt is repaid first
    assert bucket.delay_for(10) == pytest.approx(91.0)


def test_refund_is_capped_at_capacity():
    clock = FakeClock()
    bucket = TokenBucket(600, clock)
    bucket.consume(30)
    bucket.refund(10)
    assert bucket.available == pytest.approx(80)
    bucket.refund(1_000)
    assert bucket.available == pytest.approx(100)


@pytest.mark.parametrize("rate, burst", [(0, None), (-5, None), (60, 0)])
def test_rejects_nonpositive_rates(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate, FakeClock(), burst=burst)
