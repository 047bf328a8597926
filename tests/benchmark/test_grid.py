"""The one in-process episode loop (tests/benchmark/grid.py): every test of the grid, in order, each seeded
by its own test id, played through the real episode and scorer."""

from __future__ import annotations

import random
from typing import Any

from pilotbench.benchmark.types import Message, ModelOutput
from pilotbench.plan import make_spec

from .grid import play_grid


def test_every_test_of_the_grid_is_played_in_order_with_its_own_seed() -> None:
    draws: list[float] = []
    prompts: list[str] = []

    def answer_at_once(messages: list[Message], tools: list[dict[str, Any]], rng: random.Random) -> ModelOutput:
        draws.append(rng.random())
        prompts.append(str(messages[-1]["content"]))
        return ModelOutput.for_text("FINAL ANSWER: done.\nRESULT: h_00000000")

    types, diffs = ("basic_task", "data_pipeline"), ("easy", "hard")
    scores = play_grid(answer_at_once, "grid/check", 2, 0.8, prompt_type="baseline", difficulties=diffs,
                       task_types=types, seed=7)
    assert len(scores) == len(draws) == 2 * 2 * 2
    expected = [random.Random(make_spec("grid/check", "baseline", t, d, 0.8, i, seed=7).id).random()
                for t in types for d in diffs for i in range(2)]
    assert draws == expected  # task type, then difficulty, then instance; each its own spec's seed
    assert len(set(prompts)) == len(prompts)  # eight different tests, not one played eight times
    assert all(s.success_level == "failure" and s.error_category is not None for s in scores)
