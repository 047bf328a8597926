"""The floor and the simulated models of the benchmark, side by side (docs/scoring.md, "The floor").

    python -m bench.floor [--instances 8] [--rate 1.0]

Plays every strategy of tests/benchmark/blind.py and tests/benchmark/floor.py and the simulated
models over the same tests (every task type x every difficulty x N instances, baseline prompt)
through the real episode and scorer, and prints success, full success and weighted score.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pilotbench.benchmark.types import DIFFICULTIES  # noqa: E402
from pilotbench.models.simulated import SKILLS, SimulatedModel  # noqa: E402
from tests.benchmark.blind import STRATEGIES, inputs_prior_guess  # noqa: E402
from tests.benchmark.floor import learn_phrase_table, phrase_table, word_overlap  # noqa: E402
from tests.benchmark.grid import play_grid  # noqa: E402


def play(name, respond, instances, rate, difficulties=DIFFICULTIES):  # noqa: ANN001, ANN201
    scores = play_grid(respond, name, instances, rate, difficulties=difficulties)
    n = len(scores)
    return (n, sum(s.success for s in scores) / n, sum(s.success_level == "full_success" for s in scores) / n,
            sum(s.weighted_score for s in scores) / n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=8)
    ap.add_argument("--rate", type=float, default=1.0)
    a = ap.parse_args()
    rows = []
    for name in ("sim/strong", "sim/medium", "sim/weak"):
        m = SimulatedModel(name, SKILLS[name])
        rows.append((name, "all", *play(name, lambda msgs, tools, rng, m=m: m.respond(msgs, tools), a.instances, a.rate)))
    rows.append(("word_overlap", "all", *play("word_overlap", word_overlap, a.instances, a.rate)))
    table = learn_phrase_table(7, 400)
    hard_n = a.instances * len(DIFFICULTIES)  # as many tests as the other rows
    rows.append(("phrase_table (seed 7)", "hard", *play("phrase_table", phrase_table(table), hard_n, a.rate, ("hard",))))
    rows.append(("phrase_table + settings reader", "hard",
                 *play("phrase_table_read", phrase_table(table, True), hard_n, a.rate, ("hard",))))
    rows.append(("inputs_prior_guess", "all", *play("inputs_prior_guess", inputs_prior_guess, a.instances, a.rate)))
    for name, strategy in sorted(STRATEGIES.items()):
        rows.append((name, "all", *play(name, strategy, a.instances, a.rate)))
    print(f"tool success rate {a.rate}, baseline prompt, {a.instances} instances per task type and difficulty\n")
    print("| strategy | difficulties | N | success | full | weighted |")
    print("|---|---|---|---|---|---|")
    for name, diffs, n, s, f, w in rows:
        print(f"| {name} | {diffs} | {n} | {s:.2f} | {f:.2f} | {w:.2f} |")


if __name__ == "__main__":
    main()
