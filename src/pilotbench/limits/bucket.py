"""A continuously refilling budget for requests or tokens per minute."""

from __future__ import annotations

from ..clock import Clock

__all__ = ["TokenBucket"]

# Deficits smaller than this are rounding noise from refill arithmetic.
_EPSILON = 1e-9


class TokenBucket:
    """Budget of `rate_per_minute` units, refilled continuously.

    The capacity (`burst`) defaults to ten seconds' worth of budget
    (`rate_per_minute / 6`, at least 1): enough to start a handful of calls at
    once, small enough that a full minute's allowance is spread over the
    minute instead of spent in the first second (providers enforce their
    per-minute limits over sliding sub-windows).

    A request bigger than the capacity is let through once the bucket is full
    and leaves it negative, so later requests wait until the debt is repaid.
    The bucket starts full.
    """

    __slots__ = ("rate_per_minute", "capacity", "_per_second", "_clock", "_level", "_updated")

    def __init__(self, rate_per_minute: float, clock: Clock, burst: float | None = None) -> None:
        if not rate_per_minute > 0:
            raise ValueError(f"rate_per_minute must be positive, got {rate_per_minute!r}")
        if burst is None:
            burst = max(1.0, rate_per_minute / 6)
        elif not burst > 0:
            raise ValueError(f"burst must be positive, got {burst!r}")
        self.rate_per_minute = float(rate_per_minute)
        self.capacity = float(burst)
        self._per_second = self.rate_per_minute / 60.0
        self._clock = clock
        self._level = self.capacity
        self._updated = clock.now()

    def _refill(self) -> float:
        now = self._clock.now()
        elapsed = now - self._updated
        if elapsed > 0:
            self._level = min(self.capacity, self._level + elapsed * self._per_second)
        self._updated = now
        return self._level

    @property
    def available(self) -> float:
        """Units that could be taken now (negative while the bucket owes)."""
        return self._refill()

    def delay_for(self, amount: float) -> float:
        """Seconds until `amount` may be taken; 0 if it may be taken now.

        Amounts above the capacity only wait for a full bucket.
        """
        deficit = min(amount, self.capacity) - self._refill()
        if deficit <= _EPSILON:
            return 0.0
        return deficit / self._per_second

    def consume(self, amount: float) -> None:
        """Take `amount`, going negative if it is more than is available."""
        self._refill()
        self._level -= amount

    def refund(self, amount: float) -> None:
        """Give `amount` back, never beyond the capacity."""
        self._refill()
        self._level = min(self.capacity, self._level + amount)

    def __repr__(self) -> str:
        return (
            f"TokenBucket(rate_per_minute={self.rate_per_minute}, "
            f"capacity={self.capacity}, available={self.available:.3f})"
        )
