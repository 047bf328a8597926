"""Per-key limits as providers enforce them: concurrency, requests and tokens per minute.

Requests per minute are counted either over a sliding window (`MockConfig.rpm_window`, the
default) or, with `MockConfig.budget_seconds`, as a token bucket; tokens per minute are always a
token bucket. A bucket holds `budget_seconds` of budget (6 s unless set) and refills
continuously, as OpenAI describes its limits. A request is charged at admission: one request,
and its prompt (a token per 4 bytes of body) plus its ``max_tokens``.

Every answer to a key with such limits carries OpenAI's ``x-ratelimit-*`` headers (unless
`MockConfig.ratelimit_headers` is off): the limit per minute, what remains now and the time until
the budget is full again, in OpenAI's duration format (``1s``, ``120ms``, ``1m30s``).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from .config import KeyLimits, MockConfig

__all__ = ["Bucket", "BudgetRefusal", "charge", "fmt_duration", "rate_limit_headers", "token_cost"]

DEFAULT_BUDGET_SECONDS = 6.0


class Bucket:
    """`per_minute` units, at most `seconds` of them held, refilled continuously; starts full."""

    __slots__ = ("per_minute", "capacity", "_per_second", "_level", "_updated")

    def __init__(self, per_minute: float, seconds: float, now: float) -> None:
        self.per_minute = float(per_minute)
        self._per_second = self.per_minute / 60.0
        self.capacity = max(1.0, self._per_second * seconds)
        self._level = self.capacity
        self._updated = now

    def level(self, now: float) -> float:
        if now > self._updated:
            self._level = min(self.capacity, self._level + (now - self._updated) * self._per_second)
            self._updated = now
        return self._level

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until `amount` can be taken (amounts above the capacity wait for a full bucket)."""
        deficit = min(amount, self.capacity) - self.level(now)
        return 0.0 if deficit <= 0 else deficit / self._per_second

    def take(self, amount: float, now: float) -> None:
        self.level(now)
        self._level -= amount

    def reset_in(self, now: float) -> float:
        """Seconds until the bucket is full again."""
        return max(0.0, (self.capacity - self.level(now)) / self._per_second)


class BudgetRefusal:
    """Why a request was refused: `what` ("requests" or "tokens"), the limit and the wait."""

    __slots__ = ("what", "limit", "retry_after")

    def __init__(self, what: str, limit: float, retry_after: float) -> None:
        self.what = what
        self.limit = limit
        self.retry_after = retry_after


def token_cost(raw_len: int, body: dict[str, Any]) -> int:
    """What a request is charged against the token budget at admission."""
    completion = body.get("max_tokens") or body.get("max_completion_tokens") or 0
    try:
        completion = max(0, int(completion))
    except (TypeError, ValueError):
        completion = 0
    return max(1, raw_len // 4) + completion


def _buckets(lane: Any, limits: KeyLimits, cfg: MockConfig, now: float) -> tuple[Bucket | None, Bucket | None]:
    seconds = cfg.budget_seconds or DEFAULT_BUDGET_SECONDS
    requests = lane.requests_bucket
    if requests is None and limits.rpm is not None and cfg.budget_seconds is not None:
        requests = lane.requests_bucket = Bucket(limits.rpm, seconds, now)
    tokens = lane.tokens_bucket
    if tokens is None and limits.tpm is not None:
        tokens = lane.tokens_bucket = Bucket(limits.tpm, seconds, now)
    return requests, tokens


def charge(lane: Any, limits: KeyLimits, cfg: MockConfig, tokens: int, now: float) -> BudgetRefusal | None:
    """Admit a request against the key's request and token budgets (taking them), or say why not."""
    requests_bucket, tokens_bucket = _buckets(lane, limits, cfg, now)
    rpm = limits.rpm
    window: deque[float] = lane.window
    if rpm is not None:
        if requests_bucket is not None:
            wait = requests_bucket.wait_for(1, now)
            if wait > 0:
                return BudgetRefusal("requests", rpm, wait)
        else:
            horizon = now - cfg.rpm_window
            while window and window[0] <= horizon:
                window.popleft()
            if len(window) >= rpm:
                return BudgetRefusal("requests", rpm, max(0.001, window[0] - horizon))
    if tokens_bucket is not None and limits.tpm is not None:
        wait = tokens_bucket.wait_for(tokens, now)
        if wait > 0:
            return BudgetRefusal("tokens", limits.tpm, wait)
    if rpm is not None:
        if requests_bucket is not None:
            requests_bucket.take(1, now)
        else:
            window.append(now)
    if tokens_bucket is not None:
        tokens_bucket.take(tokens, now)
    return None


def fmt_duration(seconds: float) -> str:
    """OpenAI's duration format: ``17ms``, ``1.5s``, ``6m0s``, ``1h2m3s``."""
    seconds = max(0.0, seconds)
    if seconds < 1.0:
        return f"{int(math.ceil(seconds * 1000))}ms"
    if seconds < 60.0:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, secs = divmod(int(math.ceil(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + f"{minutes}m{secs}s"


def rate_limit_headers(lane: Any, limits: KeyLimits, cfg: MockConfig, now: float) -> dict[str, str]:
    """The ``x-ratelimit-*`` headers for the key's budgets as they stand at `now` (empty if none)."""
    if not cfg.ratelimit_headers:
        return {}
    out: dict[str, str] = {}
    rpm = limits.rpm
    requests_bucket, tokens_bucket = _buckets(lane, limits, cfg, now)
    if rpm is not None:
        if requests_bucket is not None:
            remaining = requests_bucket.level(now)
            reset = requests_bucket.reset_in(now)
        else:
            window: deque[float] = lane.window
            horizon = now - cfg.rpm_window
            while window and window[0] <= horizon:
                window.popleft()
            remaining = rpm - len(window)
            reset = window[-1] - horizon if window else 0.0
        out["x-ratelimit-limit-requests"] = str(rpm)
        out["x-ratelimit-remaining-requests"] = str(max(0, math.floor(remaining)))
        out["x-ratelimit-reset-requests"] = fmt_duration(reset)
    if tokens_bucket is not None and limits.tpm is not None:
        out["x-ratelimit-limit-tokens"] = str(limits.tpm)
        out["x-ratelimit-remaining-tokens"] = str(max(0, math.floor(tokens_bucket.level(now))))
        out["x-ratelimit-reset-tokens"] = fmt_duration(tokens_bucket.reset_in(now))
    return out
