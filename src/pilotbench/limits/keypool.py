"""Spreading one model's calls over its lanes (one lane per API key)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from ._waitline import Blocked, WaitLine
from .errors import LaneDisabled, NoUsableLane
from .lane import Lane

__all__ = ["KeyPool", "POLICIES"]

POLICIES: Final = ("pool", "prompt-affinity", "round-robin")

# The guide's mapping for `prompt-affinity`: key 1, 2, 3 (indices modulo the lane count).
_AFFINITY: Final = {"baseline": 0, "cot": 1, "optimal": 2}


class KeyPool:
    """Chooses a lane for each call of one model.

    Policies:

    - ``pool`` (default): the usable lane that can start now with the most
      headroom (ties rotate). When none can, the call queues, in arrival
      order, until a lane frees a slot or its budgets refill.
    - ``prompt-affinity``: baseline, cot and optimal go to lanes 0, 1 and 2
      (modulo the lane count); every other prompt type, ``flawed_*``
      included, takes the next lane of one rotation over all lanes, in call
      order. If that lane is disabled or parked, the call falls back to ``pool``.
    - ``round-robin``: the next usable, unparked lane in rotation, call by call.

    ``NoUsableLane`` is raised once every lane is disabled or parked for good.
    """

    def __init__(self, lanes: Sequence[Lane], policy: str = "pool") -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown key policy {policy!r}; expected one of {', '.join(POLICIES)}")
        if not lanes:
            raise ValueError("a key pool needs at least one lane")
        self._lanes: tuple[Lane, ...] = tuple(lanes)
        self.policy = policy
        self._rotation = 0
        self._tie_start = 0
        self._line: WaitLine[Lane] = WaitLine(self._lanes[0].clock)
        for lane in self._lanes:
            lane.add_listener(self._line.interrupt)

    @property
    def lanes(self) -> tuple[Lane, ...]:
        return self._lanes

    def __len__(self) -> int:
        return len(self._lanes)

    @property
    def usable(self) -> bool:
        return any(lane.is_usable for lane in self._lanes)

    @property
    def waiting(self) -> int:
        """Calls queued at the pool level."""
        return len(self._line)

    # -------------------------------------------------------------- preview

    def lane_for(self, prompt_type: str) -> Lane:
        """The lane the next call of `prompt_type` would use; takes nothing."""
        lane = self._designated(prompt_type, advance=False)
        return lane if lane is not None else self._most_headroom()

    def lanes_for(self, prompt_type: str) -> tuple[Lane, ...]:
        """Every lane calls of `prompt_type` may go to under the policy (the `keys` command's view):
        the one affine lane for baseline, cot and optimal under prompt-affinity, else all lanes."""
        if self.policy == "prompt-affinity" and prompt_type in _AFFINITY:
            return (self._lanes[_AFFINITY[prompt_type] % len(self._lanes)],)
        return self._lanes

    def _most_headroom(self) -> Lane:
        best: Lane | None = None
        for lane in self._lanes:
            if lane.is_usable and (best is None or lane.headroom > best.headroom):
                best = lane
        if best is None:
            raise self._no_usable_lane()
        return best

    # ------------------------------------------------------------ acquiring

    async def acquire(self, prompt_type: str, tokens: int = 0) -> Lane:
        """Wait for a lane under the policy and take a slot on it.

        The caller must call `release` on the returned lane.
        """
        lane = self._designated(prompt_type, advance=True)
        if lane is not None:
            try:
                await lane.acquire(tokens)
                return lane
            except LaneDisabled:
                pass  # it went away while we waited: any other lane will do
        if self._line.idle:
            found = self._attempt(tokens)
            if not isinstance(found, Blocked):
                return found
        return await self._line.wait(lambda: self._attempt(tokens))

    def _designated(self, prompt_type: str, *, advance: bool) -> Lane | None:
        """The lane the policy names for this call, or None to pick by headroom."""
        if self.policy == "pool":
            return None
        lanes = self._lanes
        n = len(lanes)
        if self.policy == "round-robin":
            if not self.usable:
                raise self._no_usable_lane()
            for step in range(n):
                index = (self._rotation + step) % n
                lane = lanes[index]
                if lane.is_usable and not lane.is_parked():
                    if advance:
                        self._rotation = (index + 1) % n
                    return lane
            return None  # all parked for a while: wait for whichever comes back first
        if prompt_type in _AFFINITY:
            index = _AFFINITY[prompt_type] % n
        else:
            index = self._rotation % n
            if advance:
                self._rotation = (index + 1) % n
        lane = lanes[index]
        if not lane.is_usable or lane.is_parked():
            return None
        return lane

    def _attempt(self, tokens: int) -> Lane | Blocked:
        """Take the best lane that can start now, or say how long to wait."""
        lanes = self._lanes
        n = len(lanes)
        start = self._tie_start
        best: Lane | None = None
        best_headroom = 0
        soonest = math.inf
        any_usable = False
        for step in range(n):
            lane = lanes[(start + step) % n]
            if not lane.is_usable:
                continue
            any_usable = True
            if lane.waiting:
                continue
            delay = lane.ready_in(tokens)
            if delay is None:
                continue
            if delay > 0:
                soonest = min(soonest, delay)
                continue
            headroom = lane.limit - lane.in_flight
            if headroom > best_headroom:
                best, best_headroom = lane, headroom
        if not any_usable:
            raise self._no_usable_lane()
        if best is not None and best.try_acquire(tokens):
            self._tie_start = (start + 1) % n
            return best
        return Blocked(None if soonest == math.inf else soonest)

    def _no_usable_lane(self) -> NoUsableLane:
        why = "; ".join(
            f"{lane.name}: "
            + (
                f"disabled ({lane.disabled_reason})"
                if lane.disabled_reason is not None
                else f"parked ({lane.park_reason})"
            )
            for lane in self._lanes
        )
        return NoUsableLane(f"no usable lane among {len(self._lanes)}: {why}")

    def __repr__(self) -> str:
        return f"KeyPool(policy={self.policy!r}, lanes={[lane.name for lane in self._lanes]})"
