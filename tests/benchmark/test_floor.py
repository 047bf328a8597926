"""The floor and the ladder of suite v3 (docs/scoring.md, "The floor"): strategies that read the wire
without understanding it stay far below a reader, and the simulated models climb weak < medium < strong.

Everything is played in-process through the real episode and scorer, at tool success rate 1.0 so that
the figures measure reading, not luck with random tool failures.
"""

from __future__ import annotations

from functools import lru_cache

import pytest

from pilotbench.benchmark.types import DIFFICULTIES, TASK_TYPES, Score
from pilotbench.models.simulated import SKILLS, SimulatedModel

from .blind import Strategy, inputs_prior_guess
from .floor import learn_phrase_table, phrase_table, word_overlap
from .grid import play_grid

INSTANCES = 8  # x 5 task types x 5 difficulties = 200 tests


def _play_strategy(strategy: Strategy, name: str, difficulties: tuple[str, ...] = DIFFICULTIES) -> list[Score]:
    return play_grid(strategy, f"floor/{name}", INSTANCES, difficulties=difficulties)


@lru_cache(maxsize=8)
def _model(name: str, difficulties: tuple[str, ...] = DIFFICULTIES) -> tuple[tuple[str, Score], ...]:
    model = SimulatedModel(name, SKILLS[name])

    def respond(messages, tools, rng):  # noqa: ANN001, ANN202 - a Strategy
        return model.respond(messages, tools)

    out = []
    for task_type in TASK_TYPES:
        out += [(task_type, s) for s in play_grid(respond, name, INSTANCES, difficulties=difficulties,
                                                  task_types=(task_type,))]
    return tuple(out)


def _full(scores: list[Score]) -> float:
    return sum(s.success_level == "full_success" for s in scores) / len(scores)


def test_sim_strong_reaches_070_full_success_at_tool_success_rate_1() -> None:
    assert _full([s for _, s in _model("sim/strong")]) >= 0.70


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_weak_below_medium_below_strong_in_every_task_type(task_type: str) -> None:
    weak, medium, strong = (_full([s for t, s in _model(n) if t == task_type]) for n in ("sim/weak", "sim/medium", "sim/strong"))
    assert weak < medium < strong, (task_type, weak, medium, strong)


def test_word_overlap_matcher_scores_at_most_half_of_sim_strong() -> None:
    matcher = _full(_play_strategy(word_overlap, "word_overlap"))
    strong = _full([s for _, s in _model("sim/strong")])
    assert matcher <= 0.5 * strong, (matcher, strong)


def test_inputs_alone_give_at_most_015_success() -> None:
    scores = _play_strategy(inputs_prior_guess, "inputs_prior_guess")
    assert sum(s.success for s in scores) / len(scores) <= 0.15


def test_a_phrase_table_learnt_at_another_seed_stays_at_or_below_half_at_hard() -> None:
    table = learn_phrase_table(seed=7, per_type=400)
    scores = _play_strategy(phrase_table(table), "phrase_table", ("hard",))
    assert _full(scores) <= 0.50
