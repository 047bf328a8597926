"""The mock server's counters, per key and per key+model (``GET /stats``)."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from .config import ALL_FAULT_KINDS

__all__ = ["KeyState", "MockStats"]


class KeyState:
    """In-flight count, peak, RPM window and counters of one key (or key+model)."""

    __slots__ = ("label", "in_flight", "peak", "admitted", "completed", "window", "requests_bucket", "tokens_bucket")

    def __init__(self, label: str) -> None:
        self.label = label
        self.in_flight = 0
        self.peak = 0
        self.admitted = 0
        self.completed = 0
        self.window: deque[float] = deque()
        self.requests_bucket: Any = None  # limits.Bucket, made on first use
        self.tokens_bucket: Any = None


class MockStats:
    """Counters of one server; read them as attributes or as JSON at ``GET /stats``.

    Per-key figures are keyed by the masked key (``...abcd``); per-lane figures (only
    filled when `limits_per_model`) by ``"...abcd model"``.
    requests: every chat-completions request received.
    ok: normal 200 answers (faulty 200s are counted under `faults` only).
    rate_limited: 429s caused by the configured limits (split into `rate_limited_concurrency`,
        `rate_limited_rpm` and `rate_limited_tpm`); `storm_429`: 429s from the storm fault; `quota_exhausted`:
        ``insufficient_quota`` answers.
    context_refused: 400s to conversations longer than the configured context (also in bad_request).
    tokens_charged: tokens taken from token budgets by admitted requests.
    faults: injected faults by kind (plus ``fail_first_n``).
    max_in_flight / completed / admitted / in_flight: per key, over admitted requests only;
        `completed` counts admitted requests that finished, whatever their outcome.
    """

    def __init__(self) -> None:
        self._keys: dict[str, KeyState] = {}
        self._lanes: dict[tuple[str, str], KeyState] = {}
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.ok = 0
        self.rate_limited = 0
        self.rate_limited_concurrency = 0
        self.rate_limited_rpm = 0
        self.rate_limited_tpm = 0
        self.tokens_charged = 0
        self.storm_429 = 0
        self.quota_exhausted = 0
        self.unauthorized = 0
        self.bad_request = 0
        self.context_refused = 0
        self.not_found = 0
        self.responder_errors = 0
        self.faults: dict[str, int] = dict.fromkeys((*ALL_FAULT_KINDS, "fail_first_n"), 0)
        for lane in itertools.chain(self._keys.values(), self._lanes.values()):
            lane.peak = lane.in_flight
            lane.admitted = lane.completed = 0

    @staticmethod
    def _merge(lanes: Iterable[KeyState], attr: str, combine: Callable[[int, int], int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for lane in lanes:
            value = getattr(lane, attr)
            out[lane.label] = combine(out[lane.label], value) if lane.label in out else value
        return out

    @property
    def max_in_flight(self) -> dict[str, int]:
        return self._merge(self._keys.values(), "peak", max)

    @property
    def in_flight(self) -> dict[str, int]:
        return self._merge(self._keys.values(), "in_flight", int.__add__)

    @property
    def completed(self) -> dict[str, int]:
        return self._merge(self._keys.values(), "completed", int.__add__)

    @property
    def admitted(self) -> dict[str, int]:
        return self._merge(self._keys.values(), "admitted", int.__add__)

    @property
    def max_in_flight_by_lane(self) -> dict[str, int]:
        return self._merge(self._lanes.values(), "peak", max)

    @property
    def total_in_flight(self) -> int:
        return sum(lane.in_flight for lane in self._keys.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "rate_limited": self.rate_limited,
            "rate_limited_concurrency": self.rate_limited_concurrency,
            "rate_limited_rpm": self.rate_limited_rpm,
            "rate_limited_tpm": self.rate_limited_tpm,
            "tokens_charged": self.tokens_charged,
            "storm_429": self.storm_429,
            "quota_exhausted": self.quota_exhausted,
            "unauthorized": self.unauthorized,
            "bad_request": self.bad_request,
            "context_refused": self.context_refused,
            "not_found": self.not_found,
            "responder_errors": self.responder_errors,
            "faults": dict(self.faults),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "max_in_flight_by_lane": self.max_in_flight_by_lane,
            "admitted": self.admitted,
            "completed": self.completed,
        }

