"""Suite v3 is derivable from its text: every step, compared setting, data input and destination is stated.

The check (benchmark/derivable.py) reads the words the generator wrote for each step at easy, medium,
hard and very_hard. Here: it passes on 2,000 instances of two seeds, and it does fail when the words
leave something out (so a passing check means something).
"""

from __future__ import annotations

import pytest

from pilotbench.benchmark.derivable import problems
from pilotbench.benchmark.tasks import LENGTHS, generate_instance, step_phrases
from pilotbench.benchmark.tools import TOOLS


@pytest.mark.parametrize("seed", [42, 7])
def test_two_thousand_instances_per_seed_are_derivable(seed: int) -> None:
    bad = []
    for task_type in LENGTHS:
        for i in range(400):
            task = generate_instance(task_type, i, seed)
            bad += problems(task, step_phrases(task_type, i, seed))
    assert bad == [], bad[:5]


def _with_filter() -> tuple:
    for i in range(100):
        task = generate_instance("data_pipeline", i)
        if "data_processing_filter" in task.required_tools:
            return task, step_phrases("data_pipeline", i), task.required_tools.index("data_processing_filter")
    raise AssertionError("no filter in 100 instances")


def test_a_step_left_unstated_is_found() -> None:
    task, phrases, _ = _with_filter()
    dropped = {d: p[:-1] for d, p in phrases.items()}
    assert any("step phrases" in p for p in problems(task, dropped))
    gone = {d: [*p[:1], "something else entirely", *p[2:]] for d, p in phrases.items()}
    assert any("is not stated in order" in p for p in problems(task, gone))


def test_a_setting_left_out_is_found() -> None:
    task, phrases, k = _with_filter()
    vague = {d: [("keep only the relevant entries" if j == k else x) for j, x in enumerate(p)] for d, p in phrases.items()}
    # the description no longer contains the phrase either, so both faults are reported
    found = problems(task, vague)
    assert any("does not state condition=" in p for p in found), found


def test_an_ambiguous_reference_is_found() -> None:
    """Replacing a named output by "it" is caught wherever two earlier outputs fit (and only there)."""
    refs = ("the parsed records", "the filtered records", "the checked records", "the transformed records",
            "the downloaded data", "the endpoint's receipt", "the verified response")
    caught = spared = 0
    for i in range(60):
        task = generate_instance("multi_stage_pipeline", i)
        phrases = step_phrases("multi_stage_pipeline", i)
        for k, text in enumerate(phrases["medium"]):
            if k < 2 or not any(r in text for r in refs):
                continue
            blurred = text
            for r in refs:
                blurred = blurred.replace(r, "it")
            found = problems(task, {**phrases, "medium": [blurred if j == k else p for j, p in enumerate(phrases["medium"])]})
            if any("without naming it" in p for p in found):
                caught += 1
            else:
                spared += 1  # the types alone force that input: naming it was a courtesy
    assert caught >= 10, (caught, spared)


@pytest.mark.parametrize("seed", [42, 7])
def test_hard_and_very_hard_are_worded_at_least_twenty_ways_per_tool(seed: int) -> None:
    """Wording composed from parts (wording.py's "[a|b]" alternatives): over 2,000 instances every tool is
    phrased at least 20 distinct ways at hard and at very_hard, so a table of phrases learnt from the
    generator at one seed does not cover another (test_floor.py measures such a table)."""
    from collections import defaultdict

    seen: dict[str, dict[str, set[str]]] = {d: defaultdict(set) for d in ("hard", "very_hard")}
    for task_type in LENGTHS:
        for i in range(400):
            task = generate_instance(task_type, i, seed)
            phrases = step_phrases(task_type, i, seed)
            for d, by_tool in seen.items():
                for step, phrasing in zip(task.steps, phrases[f"{d}_phrasing"]):
                    by_tool[step.tool].add(phrasing)
    for d, by_tool in seen.items():
        assert len(by_tool) == len(TOOLS), (d, sorted(by_tool))
        few = {tool: len(p) for tool, p in by_tool.items() if len(p) < 20}
        assert not few, (d, few)
