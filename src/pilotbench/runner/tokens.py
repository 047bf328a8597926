"""Token estimates for TPM budgets, calibrated against the usage providers report.

The estimate before a call is cheap (characters / 4, plus a constant for the tool schemas), and
real tokenizers disagree with it: the 30 tool schemas are ~3,000 tokens by that rule but ~5,200
in Qwen2.5's chat template (BENCHMARKS.md). A `TokenCalibration` per model learns, as the run goes,
the ratio between the prompt tokens the provider reported and the prompt estimate of the same
calls, and scales later estimates by it, so the TPM budget reserves what calls really cost.
"""

from __future__ import annotations

RATIO_BOUNDS = (0.25, 8.0)  # a ratio outside these says the usage is wrong, not the estimate
DISAGREE = 1.5  # the header counting this much more (or less) than was charged, against the calibration
DISAGREE_STRIKES = 3
SMALL_CORRECTION = 1.25  # a calibration within this factor of 1 is not checked  # answers that disagree so (net of those that agree) before usage is set aside


class TokenCalibration:
    """Reported / estimated prompt tokens, over every call of a model so far (1.0 before any).

    Where the provider states its token budget in headers, the header is the truth about what a
    call costs, and usage is checked against it (`check`): a provider may report usage that is
    not what it charges (tens of times lower, seen in the wild). When the header keeps counting
    far more than the usage-calibrated estimates charged (or far less, for a calibration that
    scaled them up), the calibration is set aside for the rest of the run: estimates are the
    plain ones again, and the lane's own header-learnt ratio (limits.lane) corrects them.
    """

    __slots__ = ("estimated", "reported", "calls", "distrusted", "_strikes")

    def __init__(self) -> None:
        self.estimated = 0
        self.reported = 0
        self.calls = 0
        self.distrusted = False  # usage disagreed with the provider's header: no longer used
        self._strikes = 0

    @property
    def ratio(self) -> float:
        if self.distrusted or self.estimated <= 0 or self.reported <= 0:
            return 1.0
        low, high = RATIO_BOUNDS
        return min(high, max(low, self.reported / self.estimated))

    def observe(self, estimated_prompt: int, reported_prompt: int) -> None:
        """One call's prompt estimate and the prompt tokens its provider reported (0: none)."""
        if self.distrusted:
            return
        if estimated_prompt > 0 and reported_prompt > 0:
            self.estimated += estimated_prompt
            self.reported += reported_prompt
            self.calls += 1

    def scale(self, estimated_prompt: int) -> int:
        return round(estimated_prompt * self.ratio)

    def check(self, counted: float | None) -> bool:
        """What the provider's header counted over what was charged since its previous answer
        (`LearnedBudget.observe`; None: it cannot tell). True when this answer made usage
        distrusted: the header disagreed with the calibration too often."""
        if self.distrusted or counted is None:
            return False
        ratio = self.ratio
        if 1.0 / SMALL_CORRECTION <= ratio <= SMALL_CORRECTION:
            return False  # usage hardly moves the estimates: nothing to disagree about
        against = (ratio < 1.0 and counted >= DISAGREE) or (ratio > 1.0 and counted <= 1.0 / DISAGREE)
        if not against:
            self._strikes = max(0, self._strikes - 1)
            return False
        self._strikes += 1
        if self._strikes < DISAGREE_STRIKES:
            return False
        self.distrusted = True
        return True
