"""Prompt strategies (benchmark/prompts.py; README, "Everyday use"): what each prompt type renders, tool modes, and --prompt-types parsing."""

from __future__ import annotations

import itertools

import pytest

from pilotbench.benchmark.plans import optimal_plan
from pilotbench.benchmark.prompts import (
    task_reference,
    RenderedPrompt,
    expand_prompt_types,
    plan_for,
    render_plan,
    render_prompt,
)
from pilotbench.benchmark.protocol import FINAL_MARKER, TOOL_CALL_CLOSE, TOOL_CALL_OPEN
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.benchmark.tools import TOOL_NAMES, TOOLS
from pilotbench.benchmark.types import (
    BASE_PROMPT_TYPES,
    DIFFICULTIES,
    FLAWED_PROMPT_TYPES,
    PROMPT_TYPES,
    TASK_TYPES,
)

COT_TEXT = "Think step by step"
PLAN_INTRO = "Follow this workflow plan"


def _user(p: RenderedPrompt) -> str:
    assert p.messages[1]["role"] == "user"
    return p.messages[1]["content"]


def _system(p: RenderedPrompt) -> str:
    assert p.messages[0]["role"] == "system"
    return p.messages[0]["content"]


SAMPLE = [generate_instance(t, i) for t in TASK_TYPES for i in (0, 5, 11)]


# --------------------------------------------------------------------------- the ten prompt types


@pytest.mark.parametrize("task", SAMPLE, ids=lambda t: t.id)
@pytest.mark.parametrize("difficulty", ["very_easy", "hard"])
def test_ten_prompt_types_render_ten_different_user_prompts(task, difficulty: str) -> None:
    users = {pt: _user(render_prompt(task, difficulty, pt)) for pt in PROMPT_TYPES}
    assert len(users) == 10
    for a, b in itertools.combinations(PROMPT_TYPES, 2):
        assert users[a] != users[b], (a, b)
    # Every prompt states the task the same way; only the strategy part differs.
    for pt in PROMPT_TYPES:
        assert users[pt].startswith(f"Task {task_reference(task)}:")
        assert task.task_type not in users[pt].split("\n", 1)[0]  # the header does not give the length away
        assert task.description(difficulty) in users[pt]
        assert all(value in users[pt] for value in task.inputs.values())
        assert "RESULT:" in render_prompt(task, difficulty, pt).messages[0]["content"]


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_baseline_has_no_plan_and_no_reasoning_instruction(difficulty: str) -> None:
    for task in SAMPLE:
        p = render_prompt(task, difficulty, "baseline")
        user = _user(p)
        assert p.plan is None and p.prompt_type == "baseline"
        assert COT_TEXT not in user
        assert PLAN_INTRO not in user
        assert "Step 1:" not in user
        assert "Key arguments" not in user


def test_cot_asks_for_reasoning_and_has_no_plan() -> None:
    for task in SAMPLE:
        p = render_prompt(task, "medium", "cot")
        assert p.plan is None
        assert COT_TEXT in _user(p)
        assert PLAN_INTRO not in _user(p)
        assert COT_TEXT not in _user(render_prompt(task, "medium", "optimal"))


@pytest.mark.parametrize("task", SAMPLE, ids=lambda t: t.id)
def test_optimal_contains_the_clean_plan(task) -> None:
    p = render_prompt(task, "very_hard", "optimal")
    user = _user(p)
    tools = task.required_tools
    assert p.plan == optimal_plan(task)
    assert f"Step 1: {tools[0]} - " in user
    for n, tool in enumerate(tools, 1):
        assert f"Step {n}: {tool} - " in user
    assert f"Step {len(tools) + 1}:" not in user
    assert render_plan(p.plan) in user
    # Later steps take their upstream step's handle and say they depend on it.
    for n, step in enumerate(task.steps, 1):
        for param, source in step.feeds:
            if isinstance(source, int):
                assert f"{param}=<handle from step {source + 1}>" in user
            else:
                assert f"{param}={task.inputs[source]}" in user
    assert "Depends on: step 1" in user


def test_plan_for_matches_prompt_types() -> None:
    task = SAMPLE[3]
    assert plan_for(task, "baseline") is None
    assert plan_for(task, "cot") is None
    assert plan_for(task, "optimal") == optimal_plan(task)
    for pt in FLAWED_PROMPT_TYPES:
        plan = plan_for(task, pt)
        assert plan is not None and plan != optimal_plan(task)


# --------------------------------------------------------------------------- tool modes


@pytest.mark.parametrize("prompt_type", PROMPT_TYPES)
def test_native_mode_offers_every_tool_schema(prompt_type: str) -> None:
    p = render_prompt(SAMPLE[0], "easy", prompt_type)
    assert p.tools is not None and len(p.tools) == len(TOOLS)
    names = [t["function"]["name"] for t in p.tools]
    assert names == list(TOOL_NAMES) and len(set(names)) == len(TOOLS)
    assert all(t["type"] == "function" for t in p.tools)
    assert TOOL_CALL_OPEN not in _system(p)
    assert FINAL_MARKER in _system(p)


@pytest.mark.parametrize("prompt_type", ["baseline", "optimal", "flawed_semantic_drift"])
def test_text_mode_puts_protocol_and_tools_in_system_prompt(prompt_type: str) -> None:
    task = SAMPLE[7]
    text = render_prompt(task, "easy", prompt_type, tool_mode="text")
    native = render_prompt(task, "easy", prompt_type, tool_mode="native")
    assert text.tools is None
    system = _system(text)
    assert TOOL_CALL_OPEN in system and TOOL_CALL_CLOSE in system
    assert "<tool_result>" in system
    assert FINAL_MARKER in system
    for name in TOOL_NAMES:
        assert f'"name":"{name}"' in system
    # The user prompt is the same in both modes.
    assert _user(text) == _user(native)
    assert text.plan == native.plan


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"difficulty": "trivial"}, "difficulty"),
        ({"prompt_type": "flawed_everything"}, "prompt type"),
        ({"prompt_type": "all"}, "prompt type"),
        ({"severity": "fatal"}, "severity"),
        ({"tool_mode": "xml"}, "tool mode"),
    ],
)
def test_render_prompt_rejects_unknown_values(kwargs: dict, match: str) -> None:
    args = {"difficulty": "easy", "prompt_type": "baseline"} | kwargs
    with pytest.raises(ValueError, match=match):
        render_prompt(
            SAMPLE[0],
            args.pop("difficulty"),
            args.pop("prompt_type"),
            **args,
        )


def test_render_is_deterministic() -> None:
    for task in SAMPLE[:5]:
        for pt in PROMPT_TYPES:
            assert render_prompt(task, "medium", pt) == render_prompt(task, "medium", pt)


# --------------------------------------------------------------------------- --prompt-types


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("all", BASE_PROMPT_TYPES),
        ("all_with_flawed", PROMPT_TYPES),
        ("baseline", ("baseline",)),
        ("baseline,cot", ("baseline", "cot")),
        (" cot , baseline ", ("cot", "baseline")),
        ("cot,cot,baseline,cot", ("cot", "baseline")),
        ("all,optimal,baseline", BASE_PROMPT_TYPES),
        ("optimal,all", ("optimal", "baseline", "cot")),
        ("flawed_missing_step,all_with_flawed", ("flawed_missing_step",) + tuple(
            p for p in PROMPT_TYPES if p != "flawed_missing_step"
        )),
        ("baseline,,cot,", ("baseline", "cot")),
        ("flawed", FLAWED_PROMPT_TYPES),
    ],
)
def test_expand_prompt_types(value: str, expected: tuple[str, ...]) -> None:
    assert expand_prompt_types(value) == expected


def test_all_with_flawed_is_ten_types() -> None:
    got = expand_prompt_types("all_with_flawed")
    assert len(got) == 10 and len(set(got)) == 10
    assert got[:3] == ("baseline", "cot", "optimal")


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("bogus", "bogus"),
        ("baseline,optimall", "optimall"),
        ("flawed_typo", "flawed_typo"),
        ("ALL", "ALL"),
    ],
)
def test_expand_prompt_types_rejects_unknown_names(value: str, named: str) -> None:
    with pytest.raises(ValueError) as info:
        expand_prompt_types(value)
    assert repr(named) in str(info.value) or named in str(info.value)
    assert "all_with_flawed" in str(info.value)


@pytest.mark.parametrize("value", ["", " ", ",,"])
def test_expand_prompt_types_rejects_empty(value: str) -> None:
    with pytest.raises(ValueError, match="no prompt type"):
        expand_prompt_types(value)
