"""AIMD concurrency control for one lane.

Halve on a rate limit, grow by one after a streak of successes: the limit
settles just under what the provider tolerates and recovers when it allows more.
The level that drew the last cut is remembered: growing back into it takes a
longer streak, so a lane that found its provider's limit probes it now and then
instead of every window (each probe costs a 429, a Retry-After wait and a halving).

A lane that knows how many of its calls are in flight when a 429 comes back (`in_flight`) does
better than halving: the provider refused this call while the others were running, so the window
is set to the number of calls still in flight. In a burst of 429s answered at once, each one lowers
the window to what is left: when the burst is over, the window is the number of calls the provider
accepted. With `slow_start`, the window starts small and grows by one per saturated success (it
doubles every round trip) until the first 429, so a limit declared far too high costs a handful of
429s, not a window-full.
"""

from __future__ import annotations

import math

from ..clock import Clock, MonotonicClock

__all__ = ["AdaptiveController"]


class AdaptiveController:
    """Additive-increase, multiplicative-decrease concurrency limit.

    - `on_success`: after `increase_after` consecutive successes since the
      last change (default: the current limit, i.e. about one round trip of
      the whole window), the limit grows by one, up to `ceiling`. The step back
      up to the level of the last cut takes `probe_windows` times as many; once
      a full streak passes at that level, the provider allows more and the
      memory is dropped.
    - `on_rate_limited`: the limit is cut to `max(floor, floor(limit * decrease_factor))`,
      at most once per cool window (`max(retry_after, cool_window)` seconds from
      the cut), because the 429s of one burst all report the same overload;
      a 429 of a call started after the cut (`fresh`) cuts again at once.
      With `in_flight` (the calls still running), the limit is cut to that instead, on every 429.
      Calls are blocked until `now + retry_after` (or `default_backoff`).
    - `slow_start`: start at `min(initial, start_window)` and add one per saturated success up
      to the ceiling, until the first 429.
    - `on_transient` (5xx, timeouts): stops growth without cutting.
    """

    __slots__ = (
        "floor",
        "ceiling",
        "decrease_factor",
        "increase_after",
        "cool_window",
        "default_backoff",
        "_clock",
        "_limit",
        "_streak",
        "_cut_window_end",
        "_cut_at",
        "probe_windows",
        "blocked_until",
        "_ssthresh",
    )

    def __init__(
        self,
        initial: int,
        ceiling: int,
        floor: int = 1,
        decrease_factor: float = 0.5,
        increase_after: int | None = None,
        *,
        clock: Clock | None = None,
        cool_window: float = 1.0,
        default_backoff: float = 1.0,
        probe_windows: int = 16,
        slow_start: bool = False,
        start_window: int = 4,
    ) -> None:
        if not 1 <= floor <= initial <= ceiling:
            raise ValueError(
                f"need 1 <= floor <= initial <= ceiling, got floor={floor}, "
                f"initial={initial}, ceiling={ceiling}"
            )
        if not 0 < decrease_factor < 1:
            raise ValueError(f"decrease_factor must be in (0, 1), got {decrease_factor!r}")
        if increase_after is not None and increase_after < 1:
            raise ValueError(f"increase_after must be at least 1, got {increase_after!r}")
        if probe_windows < 1:
            raise ValueError(f"probe_windows must be at least 1, got {probe_windows!r}")
        self.floor = floor
        self.ceiling = ceiling
        self.decrease_factor = decrease_factor
        self.increase_after = increase_after
        self.cool_window = cool_window
        self.default_backoff = default_backoff
        self._clock = clock if clock is not None else MonotonicClock()
        self._limit = max(floor, min(initial, start_window)) if slow_start else initial
        self._ssthresh = ceiling if slow_start else 0
        self._streak = 0
        self._cut_window_end = -math.inf
        self._cut_at: int | None = None  # the limit in force at the last cut
        self.probe_windows = probe_windows
        self.blocked_until = -math.inf
        """Clock time before which no new call should start."""

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def streak(self) -> int:
        """Consecutive successes since the last change of the limit."""
        return self._streak

    def on_success(self, saturated: bool = True) -> bool:
        """Count a success; return True if the limit grew.

        Only successes made while the window was full (`saturated`) count towards growth: a
        window that is not being used says nothing about whether a larger one would be safe.
        """
        if not saturated:
            return False
        if self._limit < self._ssthresh:  # slow start: one more per success, doubling per round trip
            self._limit = min(self.ceiling, self._limit + 1)
            return True
        self._streak += 1
        threshold = self.increase_after if self.increase_after is not None else self._limit
        cut_at = self._cut_at
        if cut_at is not None and cut_at - 1 <= self._limit < cut_at:
            threshold *= self.probe_windows  # growing back into the level that drew the last cut
        if self._streak < threshold:
            return False
        self._streak = 0
        if cut_at is not None and self._limit >= cut_at:
            self._cut_at = None  # a full streak at the level that was cut: the provider allows it now
        if self._limit >= self.ceiling:
            return False
        self._limit += 1
        return True

    def on_rate_limited(
        self, retry_after: float | None = None, *, fresh: bool = False, in_flight: int | None = None
    ) -> bool:
        """Record a 429; return True if it cut the limit.

        `fresh`: the call was started after the last cut (the lane knows), so the 429 is new
        evidence that the cut limit is still too high, not an echo of the burst that was cut:
        it cuts again without waiting for the cool window.
        `in_flight`: the lane's other calls still running; the limit becomes that (see the module).
        """
        now = self._clock.now()
        backoff = self.default_backoff if retry_after is None else max(0.0, retry_after)
        self.blocked_until = max(self.blocked_until, now + backoff)
        self._streak = 0
        if in_flight is not None:
            cut = max(self.floor, min(self._limit, in_flight))
            self._ssthresh = 0  # found the provider's limit: no more slow start
            if cut == self._limit:
                return False
            self._cut_at = self._limit  # the lowest level that drew a 429: probed rarely from now on
            self._cut_window_end = now + max(backoff, self.cool_window)
            self._limit = cut
            return True
        if now < self._cut_window_end and not fresh:
            return False
        self._cut_window_end = now + max(backoff, self.cool_window)
        self._cut_at = self._limit
        cut = max(self.floor, math.floor(self._limit * self.decrease_factor))
        self._ssthresh = 0
        changed = cut != self._limit
        self._limit = cut
        return changed

    def on_transient(self) -> None:
        self._streak = 0

    def __repr__(self) -> str:
        return (
            f"AdaptiveController(limit={self._limit}, floor={self.floor}, "
            f"ceiling={self.ceiling}, streak={self._streak})"
        )
