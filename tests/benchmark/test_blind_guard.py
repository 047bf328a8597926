"""The blind-model guard (issue: benchmark validity): a model that never reads the task earns almost nothing.

Each adversary in tests/benchmark/blind.py plays 100 tests spread over every task type and difficulty
(baseline prompt, default tool success rate) through the real episode and scorer. Thresholds: success
(full or partial) <= 0.10, full success <= 0.03, mean weighted score <= 0.25. (Suite v3 declares every
destination in every task, so a 2-step task whose second step has no setting to state is a guess among
the tools that take the source's output: the type walkers win ~1.7 % of 300 tests that way.)
"""

from __future__ import annotations

import pytest

from pilotbench.benchmark.types import Score

from .blind import STRATEGIES, Strategy
from .grid import play_grid

INSTANCES = 8  # x 5 task types x 5 difficulties = 200 tests per strategy


def play(strategy: Strategy, name: str, *, prompt_type: str = "baseline", seed: int = 42) -> list[Score]:
    return play_grid(strategy, f"blind/{name}", INSTANCES, 0.8, prompt_type=prompt_type, seed=seed)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_a_model_that_never_reads_the_task_scores_near_zero(name: str) -> None:
    scores = play(STRATEGIES[name], name)
    n = len(scores)
    assert n >= 200
    success = sum(s.success for s in scores) / n
    full = sum(s.success_level == "full_success" for s in scores) / n
    weighted = sum(s.weighted_score for s in scores) / n
    assert success <= 0.10, (name, success, full, weighted)
    assert full <= 0.03, (name, success, full, weighted)
    assert weighted <= 0.25, (name, success, full, weighted)


def test_blind_models_make_calls_that_are_not_useful() -> None:
    """The adversaries do call tools (the guard is not passing because nothing happens): their calls are
    refused or unneeded, which precision shows."""
    scores = play(STRATEGIES["spam_every_tool_x1"], "spam_every_tool_x1")
    assert all(s.precision <= 0.2 for s in scores)
    assert all(s.error_category is not None for s in scores)


def test_what_the_inputs_alone_give_away_stays_bounded() -> None:
    """Not blind: a model that knows the generator's chain distribution (learnt at another seed) and reads
    only the task's Inputs line. It measures the benchmark's remaining leak (docs/scoring.md, "What the
    inputs give away"); this test keeps it from growing unnoticed."""
    from .blind import inputs_prior_guess

    scores = play(inputs_prior_guess, "inputs_prior_guess")
    n = len(scores)
    success = sum(s.success for s in scores) / n
    full = sum(s.success_level == "full_success" for s in scores) / n
    # Suite v2: 0.55-0.60 and 0.25. Suite v3 declares every input role in every task, so the Inputs line is
    # the same for all of them: 0.10 and 0.075 measured on these 200 tests.
    assert success <= 0.15 and full <= 0.10, (success, full)
