"""Playing a strategy over a grid of tests, in-process: the one episode loop of the floor, the ladder,
the blind-model guard and `python -m bench.floor`.

Each test of the grid (every task type x difficulty x instance) is the plan's own test spec: its id
names the episode and seeds the strategy's `random.Random`, its world fixes the tool failures, and the
real episode and scorer play and score it, exactly as a run would.
"""

from __future__ import annotations

import random

from pilotbench.benchmark.episode import Episode
from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.scoring import score
from pilotbench.benchmark.tasks import DEFAULT_SEED, generate_instance
from pilotbench.benchmark.types import DIFFICULTIES, TASK_TYPES, Score
from pilotbench.plan import make_spec, world_id

from .blind import Strategy


def play_grid(strategy: Strategy, name: str, instances: int, rate: float = 1.0, *, prompt_type: str = "baseline",
              difficulties: tuple[str, ...] = DIFFICULTIES, task_types: tuple[str, ...] = TASK_TYPES,
              seed: int = DEFAULT_SEED) -> list[Score]:
    """The scores of `strategy` (as model `name`) on every task type x difficulty x instance, in that
    order, at tool success rate `rate`."""
    scores = []
    for task_type in task_types:
        for difficulty in difficulties:
            for i in range(instances):
                spec = make_spec(name, prompt_type, task_type, difficulty, rate, i, seed=seed)
                task = generate_instance(task_type, i, seed)
                ep = Episode(spec.id, task, render_prompt(task, difficulty, prompt_type), rate, world_id=world_id(spec))
                rng = random.Random(spec.id)
                while not ep.done:
                    ep.step(strategy(ep.messages, ep.tools, rng))
                scores.append(score(task, ep.trajectory))
    return scores
