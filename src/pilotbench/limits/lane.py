"""A lane: one (provider, key, deployment) channel and its limits."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Final

from ..models.ratelimits import RateLimits
from ._waitline import Blocked, WaitLine
from .adaptive import AdaptiveController
from .bucket import TokenBucket
from ..clock import Clock, MonotonicClock
from .errors import LaneDisabled, LaneParked
from .learned import LearnedBudget

__all__ = ["Lane", "Permit", "OUTCOMES"]

OUTCOMES: Final = ("ok", "rate_limited", "transient", "fatal", "quota")

# Waits shorter than this are rounding noise, not a reason to sleep again.
_EPSILON = 1e-9
# A success this recent (seconds) means a 429 concerns the refused call, not the whole lane.
_RECENT = 0.5


@dataclass(slots=True)
class Permit:
    """What `Lane.slot` yields: the caller reports how the call went."""

    tokens: int = 0
    outcome: str | None = None
    tokens_used: int | None = None
    retry_after: float | None = None

    def report(
        self, outcome: str, *, tokens_used: int | None = None, retry_after: float | None = None
    ) -> None:
        self.outcome = outcome
        self.tokens_used = tokens_used
        self.retry_after = retry_after


class Lane:
    """One channel to a provider, gated by concurrency, RPM, TPM and cooldowns.

    `acquire` waits, in arrival order, until a concurrency slot is free, the
    request and token budgets allow, and no Retry-After cooldown or quota park
    is in force; `release` reports the outcome, corrects the token estimate,
    feeds the adaptive controller and wakes the next waiter.

    A call that finds everything free returns without suspending. Waiting for
    a slot parks the oldest waiter on a future resolved by `release`; waiting
    for a budget or cooldown sleeps on the clock for exactly the computed delay.

    `release` only accounts: on a fatal error or spent quota the caller also
    calls `disable` or `park`, with a reason naming the cause.

    Limits stated by the provider (`observe`, from the ``x-ratelimit-*`` headers of each answer)
    become learnt request and token budgets, paced like the declared ones and never instead of
    them. With `learn_limits`, the lane sends one call alone until the first answer says whether
    the provider states its limits, so that an unknown budget is not flooded by a first burst.

    Adaptive lanes cut their window to the calls still in flight on a 429 (`AdaptiveController`).
    A fixed lane becomes adaptive, under its declared limit, at its first such 429: a limit that
    the provider refuses while the lane's other calls succeed was declared wrong.
    A 429 holds the whole lane only if nothing succeeded on it lately: a lane whose other calls
    keep succeeding hit its concurrency limit, and only the refused call waits its Retry-After
    (the caller does that when `cooldown_until` has not moved).
    """

    def __init__(
        self,
        name: str,
        *,
        provider: str,
        key_label: str,
        deployment: str,
        max_concurrency: int,
        rpm: float | None = None,
        tpm: float | None = None,
        clock: Clock | None = None,
        adaptive: bool = False,
        ceiling: int | None = None,
        slow_start: bool = False,
        learn_limits: bool = False,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency!r}")
        if ceiling is not None and ceiling < max_concurrency:
            raise ValueError(
                f"ceiling ({ceiling}) must not be below max_concurrency ({max_concurrency})"
            )
        self.name = name
        self.provider = provider
        self.key_label = key_label
        self.deployment = deployment
        self.max_concurrency = max_concurrency
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self.rpm_bucket = TokenBucket(rpm, self.clock) if rpm is not None else None
        self.tpm_bucket = TokenBucket(tpm, self.clock) if tpm is not None else None
        self.controller = (
            AdaptiveController(
                max_concurrency,
                ceiling if ceiling is not None else max_concurrency,
                clock=self.clock,
                slow_start=slow_start,
            )
            if adaptive
            else None
        )
        self.learned_requests: LearnedBudget | None = None
        self.learned_tokens: LearnedBudget | None = None
        self._probing = learn_limits  # one call alone until the first answer
        self._token_ratio = 1.0  # the provider's count over our estimate, learnt from its answers
        self._last_ok_at = -math.inf
        self.siblings: tuple[Lane, ...] = ()  # other lanes on the same key (other deployments)
        self._tokens_charged_last = 0.0  # what the last call took from the learnt token budget
        self._token_count: float | None = None  # the header's count over our charge, at its last answer
        self._probe: tuple[float, int] | None = None  # (start, token estimate) of the first call

        self._in_flight = 0
        self._burst_left = 0  # calls that were in flight at the last cut and have not come back
        self._outstanding_tokens = 0.0
        self._cooldown_until = -math.inf
        self._parked_until = -math.inf
        self._park_reason: str | None = None
        self._disabled_reason: str | None = None
        self._line: WaitLine[None] = WaitLine(self.clock)
        self._listeners: list[Callable[[], None]] = []

        self.calls = 0
        self.ok = 0
        self.rate_limited = 0
        self.transient = 0
        self.fatal = 0
        self.quota = 0
        self.tokens = 0

    # ----------------------------------------------------------------- state

    @property
    def limit(self) -> int:
        """Current concurrency limit (1 while the first call finds out whether limits are stated)."""
        if self._probing:
            return 1
        return self.controller.limit if self.controller is not None else self.max_concurrency

    @property
    def learns_limits(self) -> bool:
        """Whether the provider states (or may state, before the first answer) this lane's limits."""
        return self._probing or self.learned

    @property
    def learned(self) -> bool:
        """Whether the provider stated any of this lane's limits."""
        return self.learned_requests is not None or self.learned_tokens is not None

    def learned_limits(self) -> dict[str, float | None]:
        """The learnt budgets, for status displays: per-minute limits and what is left now."""
        out: dict[str, float | None] = {}
        for what, budget in (("rpm", self.learned_requests), ("tpm", self.learned_tokens)):
            if budget is not None:
                out[what] = budget.limit
                out[f"{what}_left"] = max(0.0, budget.available)
        return out

    def describe_learned(self) -> str:
        """``450 rpm (12 left), 30000 tpm (2000 left)``; empty when nothing was stated."""
        parts = []
        for unit, budget in (("rpm", self.learned_requests), ("tpm", self.learned_tokens)):
            if budget is not None:
                left = f"{max(0.0, budget.available):.0f} left"
                parts.append(f"{budget.limit:.0f} {unit} ({left})" if budget.limit is not None else f"{unit}: {left}")
        return ", ".join(parts)

    def _first_token_ratio(self, stated: RateLimits) -> None:
        """How the provider counts tokens against our estimate, from the first call's answer: the
        budget was full when it started, so what it took is what the budget lacks now
        (`reset` seconds of refill) plus what refilled while it ran."""
        probe = self._probe
        tokens = stated.tokens
        if probe is None or stated.refused or tokens.limit is None or tokens.reset is None:
            return
        started, estimate = probe
        counted = (tokens.reset + max(0.0, self.clock.now() - started)) * tokens.limit / 60.0
        if counted > 0:
            self._token_ratio = min(3.0, max(0.5, counted / estimate))

    def _refused_for_tokens(self, stated: RateLimits) -> None:
        """A 429 stating too few tokens for the call we thought fitted: we count short. Its
        Retry-After says how long the missing tokens take to refill, so what the call needed."""
        charged = self._tokens_charged_last
        remaining = stated.tokens.remaining or 0.0
        if charged <= 0 or remaining >= charged:
            return  # not refused for tokens (or not by our estimate)
        ratio = self._token_ratio * 1.1
        if stated.retry_after is not None and stated.tokens.limit:
            needed = remaining + stated.retry_after * stated.tokens.limit / 60.0
            ratio = max(ratio, 1.05 * self._token_ratio * needed / charged)
        self._token_ratio = min(4.0, ratio)

    def observe(self, stated: RateLimits | None) -> None:
        """Take the budgets one answer stated (`models.ratelimits.parse_rate_limits`)."""
        if stated is None:
            return
        if stated.requests.known:
            if self.learned_requests is None:
                self.learned_requests = LearnedBudget(self.clock)
            self.learned_requests.observe(stated.requests)
        if stated.tokens.known:
            if self.learned_tokens is None:
                self.learned_tokens = LearnedBudget(self.clock)
                self._first_token_ratio(stated)
            counted = self.learned_tokens.observe(stated.tokens, learn=not stated.refused)
            if stated.refused:
                self._refused_for_tokens(stated)
            elif counted is not None:  # the provider counted `counted` times what we charged since its last answer
                self._token_count = counted
                factor = min(1.25, max(0.8, counted))
                self._token_ratio = min(4.0, max(0.25, self._token_ratio * (1.0 + 0.2 * (factor - 1.0))))
        self._probing = False
        self._line.interrupt()  # the budget may have grown: the head recomputes its wait

    def take_token_count(self) -> float | None:
        """How many times what this lane charged the provider's token header counted, as of its
        latest answer (None: not known); each figure is taken once."""
        counted, self._token_count = self._token_count, None
        return counted

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Calls queued in `acquire`."""
        return len(self._line)

    @property
    def cooldown_until(self) -> float:
        """Clock time before which a Retry-After keeps new calls waiting."""
        return self._cooldown_until

    @property
    def parked_until(self) -> float:
        """Clock time the quota park ends (`inf`: never; `-inf`: not parked)."""
        return self._parked_until

    @property
    def park_reason(self) -> str | None:
        return self._park_reason

    @property
    def disabled_reason(self) -> str | None:
        return self._disabled_reason

    @property
    def is_usable(self) -> bool:
        """False once disabled or parked for the rest of the run."""
        return self._disabled_reason is None and self._parked_until != math.inf

    def is_parked(self, now: float | None = None) -> bool:
        return (self.clock.now() if now is None else now) < self._parked_until

    @property
    def headroom(self) -> int:
        """Free slots now; 0 while disabled, parked or cooling down."""
        if not self.is_usable:
            return 0
        now = self.clock.now()
        if now < self._cooldown_until or now < self._parked_until:
            return 0
        return max(0, self.limit - self._in_flight)

    def ready_in(self, tokens: int = 0) -> float | None:
        """How long a call with `tokens` would wait, ignoring other waiters.

        None when it must wait for a slot (or the lane is unusable), 0 when it
        could start now, otherwise seconds until the time-based gates open.
        """
        if not self.is_usable or self._in_flight >= self.limit:
            return None
        return self._time_delay(tokens)

    def available(self, now: float | None = None, tokens: int = 0) -> bool:
        """Whether a call with `tokens` could start at `now` (default: the clock's now)."""
        if not self._line.idle:
            return False
        delay = self.ready_in(tokens)
        if delay is None:
            return False
        clock_now = self.clock.now()
        at = clock_now if now is None else now
        return clock_now + delay <= at + _EPSILON

    def stats(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "ok": self.ok,
            "rate_limited": self.rate_limited,
            "transient": self.transient,
            "fatal": self.fatal,
            "quota": self.quota,
            "tokens": self.tokens,
            "in_flight": self._in_flight,
            "limit": self.limit,
        }

    # ------------------------------------------------------------ acquiring

    async def acquire(self, tokens: int = 0) -> None:
        """Wait for a slot and budget, then take them.

        Raises `LaneDisabled` (or `LaneParked`) if the lane is or becomes
        unusable while waiting.
        """
        if self._line.idle and self._try_take(tokens):
            return
        await self._line.wait(lambda: self._attempt(tokens))

    def try_acquire(self, tokens: int = 0) -> bool:
        """Take a slot and budget if that needs no waiting; never queue-jumps."""
        return self._line.idle and self._try_take(tokens)

    def _try_take(self, tokens: int) -> bool:
        self._raise_if_unusable()
        if self._in_flight >= self.limit or self._time_delay(tokens) > 0:
            return False
        self._take(tokens)
        return True

    def _attempt(self, tokens: int) -> None | Blocked:
        self._raise_if_unusable()
        if self._in_flight >= self.limit:
            return Blocked(None)
        delay = self._time_delay(tokens)
        if delay > 0:
            return Blocked(delay)
        self._take(tokens)
        return None

    def _raise_if_unusable(self) -> None:
        if self._disabled_reason is not None:
            raise LaneDisabled(self._disabled_reason, self.name)
        if self._parked_until == math.inf:
            raise LaneParked(self._park_reason or "quota exhausted", self.name)

    def _time_delay(self, tokens: int) -> float:
        now = self.clock.now()
        delay = max(self._cooldown_until - now, self._parked_until - now)
        if self.rpm_bucket is not None:
            delay = max(delay, self.rpm_bucket.delay_for(1))
        if self.tpm_bucket is not None:
            delay = max(delay, self.tpm_bucket.delay_for(tokens))
        if self.learned_requests is not None:
            delay = max(delay, self.learned_requests.delay_for(1))
        if self.learned_tokens is not None and tokens:
            delay = max(delay, self.learned_tokens.delay_for(tokens * self._token_ratio))
        return delay if delay > _EPSILON else 0.0

    def _take(self, tokens: int) -> None:
        if self._probing and tokens and self._probe is None:
            self._probe = (self.clock.now(), tokens)
        self._in_flight += 1
        self.calls += 1
        if self.rpm_bucket is not None:
            self.rpm_bucket.consume(1)
        if self.tpm_bucket is not None and tokens:
            self.tpm_bucket.consume(tokens)
        if self.learned_requests is not None:
            self.learned_requests.consume(1)
        if self.learned_tokens is not None and tokens:
            self._tokens_charged_last = tokens * self._token_ratio
            self.learned_tokens.consume(self._tokens_charged_last)
        self._outstanding_tokens += tokens

    # ------------------------------------------------------------- releasing

    def release(
        self,
        outcome: str,
        *,
        tokens_used: int | None = None,
        retry_after: float | None = None,
        tokens_estimated: int | None = None,
    ) -> None:
        """Finish a call: account `outcome` and free its slot.

        `tokens_used` corrects the TPM budget for the difference from the
        estimate given to `acquire`. Pass that estimate as `tokens_estimated`
        when calls use different estimates; otherwise the mean outstanding
        estimate is used (exact when all estimates are equal, and the totals
        always balance). A `rate_limited` outcome with `retry_after` holds
        new calls until the cooldown ends, adaptive or not.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
        if self._in_flight <= 0:
            raise RuntimeError(f"lane {self.name!r}: release without a matching acquire")

        if tokens_estimated is None:
            estimate = self._outstanding_tokens / self._in_flight
        else:
            estimate = float(tokens_estimated)
        self._outstanding_tokens = max(0.0, self._outstanding_tokens - estimate)
        self._in_flight -= 1
        if self._in_flight == 0:
            self._outstanding_tokens = 0.0
        from_burst = self._burst_left > 0  # (as near as counting can tell) started before the last cut
        if from_burst:
            self._burst_left -= 1

        self._probing = False  # the first answer is in: stated limits or none
        if tokens_used is not None:
            self.tokens += tokens_used
            if self.tpm_bucket is not None:
                excess = tokens_used - estimate
                if excess > 0:
                    self.tpm_bucket.consume(excess)
                elif excess < 0:
                    self.tpm_bucket.refund(-excess)

        controller = self.controller
        now = self.clock.now()
        if outcome == "ok":
            self.ok += 1
            self._last_ok_at = now
            if controller is not None:
                # This call still counted as in flight when it was made: the window was full if
                # the lane ran at its limit then.
                controller.on_success(saturated=self._in_flight + 1 >= controller.limit)
        elif outcome == "rate_limited":
            self.rate_limited += 1
            # Other calls on the key still get through: this one found a concurrency limit.
            # Nothing gets through: the budget is spent.
            key_lanes = (self, *self.siblings)
            concurrency = any(lane._in_flight > 0 for lane in key_lanes) and now - max(
                lane._last_ok_at for lane in key_lanes
            ) <= max(retry_after if retry_after is not None else 1.0, _RECENT)
            if controller is None and concurrency:
                # A fixed lane refused below its declared concurrency while its other calls succeed:
                # the declared limit is wrong (too high, or shared with other lanes of the key). From
                # now on it adapts, never above what was declared.
                controller = self.controller = AdaptiveController(
                    self.max_concurrency, self.max_concurrency, clock=self.clock
                )
            if controller is not None:
                # A concurrency refusal: the window becomes the calls still running.
                if controller.on_rate_limited(
                    retry_after, fresh=not from_burst, in_flight=self._in_flight if concurrency else None
                ):
                    self._burst_left = self._in_flight
                if not concurrency:
                    self._cooldown_until = max(self._cooldown_until, controller.blocked_until)
            elif retry_after is not None:
                self._cooldown_until = max(
                    self._cooldown_until, self.clock.now() + max(0.0, retry_after)
                )
        elif outcome == "transient":
            self.transient += 1
            if controller is not None:
                controller.on_transient()
        elif outcome == "fatal":
            self.fatal += 1
        else:
            self.quota += 1

        self._line.notify()
        self._tell_listeners()

    @contextlib.asynccontextmanager
    async def slot(self, tokens: int = 0) -> AsyncIterator[Permit]:
        """`acquire`, yield a `Permit`, then `release` with what it reports.

        Unreported calls count as "ok", or "transient" if the body raised.
        """
        await self.acquire(tokens)
        permit = Permit(tokens)
        try:
            yield permit
        except BaseException:
            if permit.outcome is None:
                permit.outcome = "transient"
            raise
        finally:
            self.release(
                permit.outcome or "ok",
                tokens_used=permit.tokens_used,
                retry_after=permit.retry_after,
                tokens_estimated=tokens,
            )

    # -------------------------------------------------------- taking it away

    def park(self, until: float | None, reason: str) -> None:
        """Stop new calls until clock time `until` (None: for the rest of the run).

        Waiters keep waiting through a timed park and get `LaneParked` from
        a park for the rest of the run.
        """
        self._parked_until = math.inf if until is None else float(until)
        self._park_reason = reason
        self._line.interrupt()
        self._tell_listeners()

    def disable(self, reason: str) -> None:
        """Stop the lane for good; current and future waiters get `LaneDisabled`.

        The first reason is kept.
        """
        if self._disabled_reason is None:
            self._disabled_reason = reason
        self._line.interrupt()
        self._tell_listeners()

    # ------------------------------------------------------------- plumbing

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback()` whenever a slot frees or the lane's state changes."""
        self._listeners.append(callback)

    def _tell_listeners(self) -> None:
        for callback in self._listeners:
            callback()

    def __repr__(self) -> str:
        state = ""
        if self._disabled_reason is not None:
            state = ", disabled"
        elif self._parked_until != -math.inf:
            state = ", parked"
        return (
            f"Lane({self.name!r}, provider={self.provider!r}, deployment={self.deployment!r}, "
            f"in_flight={self._in_flight}, limit={self.limit}{state})"
        )
