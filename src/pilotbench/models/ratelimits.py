"""The rate limits a provider states in its answers' headers.

OpenAI and Azure OpenAI send, on every answer (success or 429)::

    x-ratelimit-limit-requests: 500          requests per minute allowed
    x-ratelimit-remaining-requests: 499      left in the budget now
    x-ratelimit-reset-requests: 120ms        until the budget is full again
    x-ratelimit-limit-tokens: 30000          tokens per minute
    x-ratelimit-remaining-tokens: 29000
    x-ratelimit-reset-tokens: 2s

Durations come in OpenAI's Go-style format (``6m0s``, ``1s``, ``17ms``, ``1h2m3.5s``) or as plain
seconds (Azure, gateways). The IETF draft's ``ratelimit-limit`` / ``ratelimit-remaining`` /
``ratelimit-reset`` (seconds) are read as the request budget when the OpenAI names are absent.

`parse_rate_limits` turns headers into a `RateLimits`; the lanes (``limits.lane``) pace to it.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Budget", "RateLimits", "parse_duration", "parse_rate_limits"]

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)")


def parse_duration(value: Any) -> float | None:
    """Seconds from ``6m0s``, ``1.5s``, ``17ms``, ``1h2m``, or a plain number of seconds; None if unreadable."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pos = 0
        seconds = 0.0
        for match in _PART.finditer(text):
            if match.start() != pos:
                return None
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(text) or pos == 0:
            return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


@dataclass(frozen=True, slots=True)
class Budget:
    """One stated budget (requests or tokens): `limit` per minute, `remaining` now, `reset` seconds
    until it is full again. Any of them may be unknown (None)."""

    limit: float | None = None
    remaining: float | None = None
    reset: float | None = None

    @property
    def known(self) -> bool:
        return self.remaining is not None


@dataclass(frozen=True, slots=True)
class RateLimits:
    """What one answer said about the key's budgets."""

    requests: Budget = Budget()
    tokens: Budget = Budget()
    refused: bool = False  # stated on a 429: the call that carried them was not counted
    retry_after: float | None = None  # the 429's Retry-After, seconds

    @property
    def known(self) -> bool:
        return self.requests.known or self.tokens.known


def _get(headers: Any, name: str) -> Any:
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    if value is None and isinstance(headers, Mapping):  # a plain dict is case-sensitive
        for k, v in headers.items():
            if isinstance(k, str) and k.lower() == name:
                return v
    return value


def _budget(headers: Any, what: str) -> Budget:
    return Budget(
        limit=_number(_get(headers, f"x-ratelimit-limit-{what}")),
        remaining=_number(_get(headers, f"x-ratelimit-remaining-{what}")),
        reset=parse_duration(_get(headers, f"x-ratelimit-reset-{what}")),
    )


def parse_rate_limits(headers: Any, *, refused: bool = False) -> RateLimits | None:
    """The budgets stated in `headers` (any mapping with a case-insensitive ``get``), or None if none is.
    `refused`: the answer was a 429."""
    if headers is None:
        return None
    requests = _budget(headers, "requests")
    tokens = _budget(headers, "tokens")
    if not requests.known:
        remaining = _number(_get(headers, "ratelimit-remaining"))
        if remaining is not None:
            requests = Budget(
                limit=_number(_get(headers, "ratelimit-limit")),
                remaining=remaining,
                reset=parse_duration(_get(headers, "ratelimit-reset")),
            )
    limits = RateLimits(requests, tokens, refused)
    return limits if limits.known else None
