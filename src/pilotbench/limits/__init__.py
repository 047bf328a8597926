"""Limits: lanes, token buckets, adaptive concurrency and key pools.

Pure asyncio; time comes from an injected `Clock`, so every limit is tested
on virtual time.
"""

from .adaptive import AdaptiveController
from .bucket import TokenBucket
from ..clock import Clock, FakeClock, MonotonicClock
from .errors import LaneDisabled, LaneParked, LimitsError, NoUsableLane
from .keypool import POLICIES, KeyPool
from .lane import OUTCOMES, Lane, Permit

__all__ = [
    "OUTCOMES",
    "POLICIES",
    "AdaptiveController",
    "Clock",
    "FakeClock",
    "KeyPool",
    "Lane",
    "LaneDisabled",
    "LaneParked",
    "LimitsError",
    "MonotonicClock",
    "NoUsableLane",
    "Permit",
    "TokenBucket",
]
