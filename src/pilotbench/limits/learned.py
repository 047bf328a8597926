"""A budget learnt from what the provider states in its headers (`models.ratelimits`).

The provider's own counter is the truth: each answer says how much of the budget is left now
(`remaining`), how fast it refills (`limit` per minute) and when it is full again (`reset`).
`LearnedBudget` keeps a copy of that counter: it is set to the stated remaining on every answer,
refills at the stated rate in between, and is spent by each call the lane starts. Calls started in
the last `transit` seconds may not have reached the provider when it answered, so they stay spent.

A call starts only when the budget holds a `margin` more than its share (a quarter by default):
at the provider's pace the budget runs near empty, where an estimate a little short (tokens are
estimated before the call) would be refused. The margin is kept, not spent, so it costs a few
seconds' worth of nothing at the start and no throughput after.

Without a stated rate (only remaining and reset), the budget is a window: once it is spent, calls
wait until the stated reset.
"""

from __future__ import annotations

import math
from collections import deque

from ..models.ratelimits import Budget
from ..clock import Clock

__all__ = ["LearnedBudget"]

_EPSILON = 1e-9


class LearnedBudget:
    """The provider's stated budget for requests or tokens, as last heard and refilled since."""

    __slots__ = ("_clock", "limit", "capacity", "_per_second", "_level", "_updated", "_window_end", "_recent",
                 "transit", "observed_at", "_spent", "margin")

    def __init__(self, clock: Clock, *, transit: float = 0.1, margin: float = 0.25) -> None:
        self._clock = clock
        self.limit: float | None = None  # per minute, as stated
        self.capacity = 0.0
        self._per_second: float | None = None
        self._level = 0.0
        self._updated = clock.now()
        self._window_end = -math.inf
        self._recent: deque[tuple[float, float]] = deque()  # (clock time, amount) of recent spending
        self.transit = transit
        self.margin = margin
        self.observed_at = -math.inf
        self._spent = 0.0  # spent since the last answer

    # ------------------------------------------------------------------ state

    def _refill(self) -> float:
        now = self._clock.now()
        if self._per_second is not None:
            elapsed = now - self._updated
            if elapsed > 0:
                self._level = min(self.capacity, self._level + elapsed * self._per_second)
        elif now >= self._window_end and self._level < self.capacity:
            self._level = self.capacity  # the stated reset has passed: the window starts afresh
        self._updated = now
        return self._level

    @property
    def available(self) -> float:
        return self._refill()

    @property
    def rate_per_minute(self) -> float | None:
        return self.limit

    # ----------------------------------------------------------- observing

    def observe(self, budget: Budget, *, learn: bool = True) -> float | None:
        """Take what one answer stated as the budget's current state.

        Returns how much more the provider counted than this budget spent since the last answer
        (1.0: as much; 1.5: half as much again), or None when it cannot tell (nothing spent, a full
        budget, or not `learn`: a 429, whose own call the provider did not count).
        """
        if budget.remaining is None:
            return None
        now = self._clock.now()
        believed = self._refill() if self.observed_at > -math.inf else None
        spent = self._spent
        remaining = budget.remaining
        if budget.limit is not None and budget.limit > 0:
            self.limit = budget.limit
            self._per_second = budget.limit / 60.0
        per_second = self._per_second
        if per_second is not None and budget.reset is not None:
            capacity = remaining + budget.reset * per_second
        elif budget.reset is not None:
            self._window_end = now + budget.reset
            capacity = max(self.capacity, remaining)
        else:
            capacity = max(self.capacity, remaining)
        if self.limit is not None:
            capacity = min(capacity, self.limit)  # never more than a minute's budget at once
        self.capacity = max(capacity, 1.0)
        # Spending the provider had not seen yet when it answered stays spent.
        recent = self._recent
        while recent and recent[0][0] < now - self.transit:
            recent.popleft()
        unseen = sum(amount for _, amount in recent)
        self._level = min(self.capacity, remaining) - unseen
        self._updated = now
        self.observed_at = now
        self._spent = 0.0
        if not learn or believed is None or spent <= 0 or believed >= self.capacity - _EPSILON:
            return None  # a full budget hides how much was spent
        return max(0.0, 1.0 - (self._level - believed) / spent)

    # ------------------------------------------------------------- spending

    def delay_for(self, amount: float) -> float:
        """Seconds until `amount` may be spent (with the margin held back); 0 if now. Amounts above
        the capacity wait for a full budget."""
        deficit = min(amount * (1.0 + self.margin), self.capacity) - self._refill()
        if deficit <= _EPSILON:
            return 0.0
        if self._per_second is not None:
            return deficit / self._per_second
        return max(0.0, self._window_end - self._clock.now())

    def consume(self, amount: float) -> None:
        self._refill()
        self._level -= amount
        self._spent += amount
        now = self._clock.now()
        recent = self._recent
        recent.append((now, amount))
        while recent and recent[0][0] < now - self.transit:
            recent.popleft()

    def describe(self) -> str:
        """``450/min, 12 left`` (or ``12 left`` when no rate is stated)."""
        left = f"{max(0.0, self._refill()):.0f} left"
        return f"{self.limit:.0f}/min, {left}" if self.limit is not None else left

    def __repr__(self) -> str:
        return f"LearnedBudget(limit={self.limit}, capacity={self.capacity:.1f}, level={self._level:.1f})"
