"""Errors raised by lanes and key pools (deliberate errors: under `pilotbench.errors.PilotbenchError`).

    LimitsError
     +-- LaneDisabled     a lane stopped for good (fatal error: 401/403/404)
     |    +-- LaneParked  a lane's quota is spent for the rest of the run
     +-- NoUsableLane     every lane of a key pool is disabled or parked for good
"""

from __future__ import annotations

from ..errors import PilotbenchError

__all__ = ["LimitsError", "LaneDisabled", "LaneParked", "NoUsableLane"]


class LimitsError(PilotbenchError):
    """Base class of errors from `pilotbench.limits`."""


class LaneDisabled(LimitsError):
    """The lane takes no more calls; `reason` says why."""

    def __init__(self, reason: str, lane: str | None = None) -> None:
        self.reason = reason
        self.lane = lane
        prefix = f"lane {lane!r}" if lane else "lane"
        super().__init__(f"{prefix} {self._verb}: {reason}")

    _verb = "disabled"


class LaneParked(LaneDisabled):
    """The lane is parked for the rest of the run (quota exhausted)."""

    _verb = "parked for the rest of the run"


class NoUsableLane(LimitsError):
    """No lane of the pool can ever take another call."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
