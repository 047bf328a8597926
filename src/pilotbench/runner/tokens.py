"""Token estimates for TPM budgets, calibrated against the usage providers report.

The estimate before a call is cheap (characters / 4, plus a constant for the tool schemas), and
real tokenizers disagree with it: the 30 tool schemas are ~3,000 tokens by that rule but ~5,200
in Qwen2.5's chat template (BENCHMARKS.md). A `TokenCalibration` per model learns, as the run goes,
the ratio between the prompt tokens the provider reported and the prompt estimate of the same
calls, and scales later estimates by it, so the TPM budget reserves what calls really cost.
"""

from __future__ import annotations

RATIO_BOUNDS = (0.25, 8.0)  # a ratio outside these says the usage is wrong, not the estimate


class TokenCalibration:
    """Reported / estimated prompt tokens, over every call of a model so far (1.0 before any)."""

    __slots__ = ("estimated", "reported", "calls")

    def __init__(self) -> None:
        self.estimated = 0
        self.reported = 0
        self.calls = 0

    @property
    def ratio(self) -> float:
        if self.estimated <= 0 or self.reported <= 0:
            return 1.0
        low, high = RATIO_BOUNDS
        return min(high, max(low, self.reported / self.estimated))

    def observe(self, estimated_prompt: int, reported_prompt: int) -> None:
        """One call's prompt estimate and the prompt tokens its provider reported (0: none)."""
        if estimated_prompt > 0 and reported_prompt > 0:
            self.estimated += estimated_prompt
            self.reported += reported_prompt
            self.calls += 1

    def scale(self, estimated_prompt: int) -> int:
        return round(estimated_prompt * self.ratio)
