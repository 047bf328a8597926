"""The scoring rules and the report's sections in words, as a person reads them.

The numbers come from the scorer's own constants (`benchmark.scoring`), so the words cannot drift
from the rule's thresholds; the wording follows docs/scoring.md. A rule given the task's number of
steps states the threshold for that task ("more than 4 calls", not a formula).
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


def _unneeded(steps: int | None) -> str:
    floor = scoring.unneeded_budget(0)
    if steps:
        return f"{scoring.unneeded_budget(steps)} calls that were not useful (the larger of {floor} and the task's {steps} steps)"
    return f"the larger of {floor} and the task's number of steps in calls that were not useful"


def level_rule(level: str, steps: int | None = None) -> str:
    """What a success level requires, in words ("" for an unknown level)."""
    if level == "full_success":
        return ("Every step done (by a successful call of its tool on the outputs of the steps it depends on, with "
                "the settings the task states), a final answer that reports exactly one result, the final step's "
                "output, without saying the task failed, and no more than " + _unneeded(steps) + ".")
    if level == "partial_success":
        pct = f"{scoring.PARTIAL_MIN_PRECISION:.0%}"
        return (f"Not a full success, but at least half of the steps done and at least {scoring.PARTIAL_MIN_STEPS} "
                f"of them, and at least {pct} of the model's calls useful.")
    if level == "failure":
        return "Anything less than a partial success."
    return ""


def category_rule(category: str, steps: int | None = None) -> str:
    """When a test that is not a full success gets this error category, in words ("" when unknown).
    The categories are tried in a fixed order; the first that matches is the test's."""
    rules = {
        "context_length_errors": ("The provider refused the conversation as longer than the model's context; "
                                  "that, not what was left undone, ended the test (checked before every other rule)."),
        "tool_call_format_errors": ("Replies with no usable tool call and no final answer, and either no step was "
                                    "done or half the turns were such replies (rule 1)."),
        "tool_selection_errors": ("A required tool was never called, a tool that does not exist was called, or "
                                  "the model made more than " + _unneeded(steps) + " (rule 2)."),
        "sequence_order_errors": ("The first step never done had its tool called before all the steps it depends "
                                  "on were done (rule 3)."),
        "parameter_config_errors": ("A call of the first step never done was refused for a setting (an argument "
                                    "that is not data), or succeeded on the right inputs with a setting other than "
                                    "the one the task states (rule 4)."),
        "dependency_errors": ("A call of the first step never done was refused for a data input (an invented or "
                              "wrong-typed handle), or succeeded on an input that is not the output of the step "
                              "it depends on (rule 5)."),
        "timeout_errors": "The last failure of the first step never done was a tool timeout (rule 6).",
        "max_turns_errors": "The conversation ran out of turns (rule 7).",
        "other_errors": ("Anything else: random tool failures not retried, no result reported, several results or "
                         "the wrong result reported, a failure declared, or a stop rule (rule 8)."),
    }
    return rules.get(category, "")


def every_rule_is_worded() -> list[str]:
    """The categories and levels the scorer knows that have no words here (empty: all worded)."""
    return [c for c in ERROR_CATEGORIES if not category_rule(c)] + [lvl for lvl in SUCCESS_LEVELS if not level_rule(lvl)]
