"""The scoring rules and the report's sections in words, as a person reads them.

The rules' words are the scorer's own (`benchmark.scoring.explain`), beside the rules and their
thresholds, so they cannot drift; the wording follows docs/scoring.md. A rule given the task's
number of steps states the threshold for that task ("more than 4 calls", not a formula).
"""

from __future__ import annotations

from ..benchmark import scoring
from ..benchmark.types import ERROR_CATEGORIES, SUCCESS_LEVELS

# Every top-level key of a report that a person may be shown, in words (raw keys are never shown).
SECTION_TITLES: dict[str, str] = {
    "headline": "Results per model",
    "baseline": "Baseline performance",
    "scale": "Scale effect",
    "flaw_robustness": "Robustness to flawed plans",
    "tool_reliability": "Tool reliability",
    "prompt_sensitivity": "Prompt sensitivity",
    "error_categories": "Error categories",
    "paired": "Paired comparisons",
    "comparisons": "Requested comparisons",
    "operations": "Operations",
    "reply_shapes": "Reply shapes",
}


def level_rule(level: str, steps: int | None = None) -> str:
    """What a success level requires, in words ("" for an unknown level)."""
    return scoring.explain(steps).levels.get(level, "")


def category_rule(category: str, steps: int | None = None) -> str:
    """When a test that is not a full success gets this error category, in words ("" when unknown).
    The categories are tried in a fixed order; the first that matches is the test's."""
    return scoring.explain(steps).categories.get(category, "")


def every_rule_is_worded() -> list[str]:
    """The categories and levels the scorer knows that have no words here (empty: all worded)."""
    return [c for c in ERROR_CATEGORIES if not category_rule(c)] + [lvl for lvl in SUCCESS_LEVELS if not level_rule(lvl)]
