"""Injected time: every limiter reads and waits through a `Clock`.

Tests use `FakeClock`, whose virtual time jumps forward on `sleep`, so minutes
of rate limiting play out in milliseconds and never depend on the real clock.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "MonotonicClock", "FakeClock"]


@runtime_checkable
class Clock(Protocol):
    """Monotonic seconds and a way to wait for them."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock: `time.monotonic` and `asyncio.sleep`."""

    __slots__ = ()

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "MonotonicClock()"


class FakeClock:
    """Virtual time for tests.

    `sleep(s)` advances virtual time by exactly `s` at once and then yields to
    the event loop, so concurrent sleepers each add their own duration. The
    limiters let only one waiter per lane or pool sleep at a time, which keeps
    virtual time faithful for rate-limit tests.
    """

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards ({seconds} s)")
        self._now += seconds

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now})"
