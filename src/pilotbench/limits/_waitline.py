"""A FIFO line of waiters where only the head retries.

Lanes and key pools share this: waiters queue in arrival order, and only the
head evaluates the gate, so a freed slot goes to the oldest waiter and at most
one waiter per line sleeps on the clock. Waiting for a slot costs no task and
no polling: the head parks on a future that `notify` resolves.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from ..clock import Clock

T = TypeVar("T")


class Blocked(NamedTuple):
    """Why an attempt could not proceed.

    `delay` is the time to wait on the clock, or None to wait for `notify`.
    """

    delay: float | None = None


class WaitLine(Generic[T]):
    __slots__ = ("_clock", "_turns", "_wake", "_wake_on_notify")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._turns: deque[asyncio.Future[None]] = deque()
        self._wake: asyncio.Future[None] | None = None
        self._wake_on_notify = False

    @property
    def idle(self) -> bool:
        return not self._turns

    def __len__(self) -> int:
        return len(self._turns)

    def notify(self) -> None:
        """Capacity was freed: wake the head if it waits for capacity."""
        wake = self._wake
        if wake is not None and self._wake_on_notify and not wake.done():
            wake.set_result(None)

    def interrupt(self) -> None:
        """State changed: wake the head even from a timed wait."""
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def wait(self, attempt: Callable[[], T | Blocked]) -> T:
        """Queue, then call `attempt` at the head until it returns a result.

        Exceptions from `attempt` propagate to this waiter; the turn then
        passes to the next, which retries (and typically raises) in turn.
        """
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._turns.append(turn)
        if len(self._turns) == 1:
            turn.set_result(None)
        try:
            await turn
            while True:
                outcome = attempt()
                if not isinstance(outcome, Blocked):
                    return outcome
                await self._pause(loop, outcome.delay)
        finally:
            self._leave(turn)

    async def _pause(self, loop: asyncio.AbstractEventLoop, delay: float | None) -> None:
        wake: asyncio.Future[None] = loop.create_future()
        self._wake = wake
        self._wake_on_notify = delay is None
        try:
            if delay is None:
                await wake
                return
            sleeper = loop.create_task(self._clock.sleep(delay))
            try:
                await asyncio.wait((sleeper, wake), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
        finally:
            self._wake = None

    def _leave(self, turn: asyncio.Future[None]) -> None:
        turns = self._turns
        if turns and turns[0] is turn:
            turns.popleft()
            if turns and not turns[0].done():
                turns[0].set_result(None)
        else:
            try:
                turns.remove(turn)
            except ValueError:
                pass
