"""The built-in simulated models (SPEC 1.6), driven through real Episodes."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from pilotbench.benchmark.episode import Episode
from pilotbench.benchmark.prompts import RenderedPrompt, render_prompt
from pilotbench.benchmark.protocol import TOOL_CALL_OPEN
from pilotbench.benchmark.scoring import score
from pilotbench.benchmark.tasks import TaskInstance, generate_instance
from pilotbench.benchmark.tools import TOOLS, tool_schemas
from pilotbench.benchmark.types import DIFFICULTIES, TASK_TYPES, Score
from pilotbench.models.base import ModelRequest
from pilotbench.models.simulated import SIMULATED_MODELS, SKILLS, SimulatedModel, get_simulated_model


def fresh(name: str) -> SimulatedModel:
    return SimulatedModel(name, SKILLS[name])


def run(
    model: SimulatedModel,
    task: TaskInstance,
    difficulty: str,
    prompt_type: str,
    *,
    mode: str = "native",
    rate: float = 0.8,
    test_id: str | None = None,
    prompt: RenderedPrompt | None = None,
) -> tuple[Episode, Score]:
    prompt = prompt or render_prompt(task, difficulty, prompt_type, tool_mode=mode)
    ep = Episode(test_id or f"{task.id}|{difficulty}|{prompt_type}|{mode}|{rate}", task, prompt, rate)
    for _ in range(100):
        if ep.done:
            break
        ep.step(model.respond(ep.messages, ep.tools))
    assert ep.done
    return ep, score(task.required_tools, task.dependencies, ep.trajectory)


# 5 task types x 5 difficulties x 4 prompt types x 2 instances = 200 tests
GRID = [
    (generate_instance(tt, i), d, pt)
    for tt, d, pt, i in itertools.product(TASK_TYPES, DIFFICULTIES, ("baseline", "cot", "optimal", "flawed_tool_misuse"), (0, 1))
]


def full_rate(name: str, grid=GRID, **kw) -> float:
    model = fresh(name)
    wins = sum(run(model, task, d, pt, **kw)[1].success_level == "full_success" for task, d, pt in grid)
    return wins / len(grid)


# --------------------------------------------------------------------------- registry


def test_builtin_models() -> None:
    assert {"sim/weak", "sim/medium", "sim/strong"} <= set(SIMULATED_MODELS)
    for name in SIMULATED_MODELS:
        m = get_simulated_model(name)
        assert m.name == name and m.skill == SKILLS[name]
        assert get_simulated_model(name) is m
        assert m.kind == "simulated"


@pytest.mark.parametrize("name", ["sim/perfect", "weak", "", "SIM/STRONG"])
def test_unknown_model_name_raises_key_error_naming_it(name: str) -> None:
    with pytest.raises(KeyError) as info:
        get_simulated_model(name)
    assert repr(name) in str(info.value)


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", ["sim/weak", "sim/medium", "sim/strong"])
@pytest.mark.parametrize("mode", ["native", "text"])
def test_same_test_gives_identical_trajectory_on_fresh_instances(name: str, mode: str) -> None:
    cases = [(generate_instance(t, 3), d, pt) for t, d, pt in
             zip(TASK_TYPES, DIFFICULTIES, ("baseline", "cot", "optimal", "flawed_sequence_disorder", "flawed_semantic_drift"))]
    for task, d, pt in cases:
        a, sa = run(fresh(name), task, d, pt, mode=mode)
        b, sb = run(fresh(name), task, d, pt, mode=mode)
        assert a.trajectory.to_dict() == b.trajectory.to_dict()
        assert a.messages == b.messages
        assert sa == sb
        # A warm instance (intent cache filled) answers exactly like a cold one.
        warm = fresh(name)
        run(warm, task, d, pt, mode=mode)
        c, _ = run(warm, task, d, pt, mode=mode)
        assert c.messages == a.messages


def test_models_differ_from_each_other() -> None:
    task = generate_instance("multi_stage_pipeline", 0)
    trajectories = {
        name: tuple(run(fresh(name), task, d, "baseline")[0].trajectory.to_dict()["stop_reason"] +
                    str(len(run(fresh(name), task, d, "baseline")[0].trajectory.calls)) for d in DIFFICULTIES)
        for name in ("sim/weak", "sim/strong")
    }
    assert trajectories["sim/weak"] != trajectories["sim/strong"]


# --------------------------------------------------------------------------- skill ordering


def test_strong_beats_weak_by_at_least_0_3() -> None:
    assert len(GRID) >= 100
    strong = full_rate("sim/strong")
    medium = full_rate("sim/medium")
    weak = full_rate("sim/weak")
    assert strong - weak >= 0.3, (strong, weak)
    assert strong > medium > weak, (strong, medium, weak)


def test_strong_on_optimal_very_easy_mostly_succeeds() -> None:
    grid = [(generate_instance(t, i), "very_easy", "optimal") for t in TASK_TYPES for i in range(10)]
    assert full_rate("sim/strong", grid) >= 0.8


def test_abstract_wording_hurts_without_a_plan() -> None:
    easy = [(generate_instance(t, i), "very_easy", "baseline") for t in TASK_TYPES for i in range(8)]
    hard = [(generate_instance(t, i), "very_hard", "baseline") for t in TASK_TYPES for i in range(8)]
    assert full_rate("sim/medium", easy) > full_rate("sim/medium", hard)


def test_flawed_plans_hurt_compared_with_the_optimal_plan() -> None:
    base = [(generate_instance(t, i), "medium") for t in TASK_TYPES for i in range(8)]
    optimal = full_rate("sim/medium", [(t, d, "optimal") for t, d in base])
    flawed = full_rate("sim/medium", [(t, d, "flawed_missing_step") for t, d in base])
    assert optimal - flawed >= 0.2, (optimal, flawed)


# --------------------------------------------------------------------------- text mode


def test_text_mode_end_to_end_for_strong() -> None:
    model = fresh("sim/strong")
    wins = 0
    cases = [(generate_instance(t, i), "easy") for t in TASK_TYPES for i in range(6)]
    for task, d in cases:
        ep, s = run(model, task, d, "optimal", mode="text")
        assert ep.tools is None
        assert not any(m["role"] == "tool" for m in ep.messages)
        if ep.trajectory.calls:
            assistant = [m for m in ep.messages if m["role"] == "assistant"]
            assert any(TOOL_CALL_OPEN in (m["content"] or "") for m in assistant)
            assert any("<tool_result" in m["content"] for m in ep.messages if m["role"] == "user")
        wins += s.success_level == "full_success"
    assert wins / len(cases) >= 0.8


# --------------------------------------------------------------------------- offered tools


def _restricted_prompt(task: TaskInstance, prompt_type: str, offered: list[str]) -> RenderedPrompt:
    p = render_prompt(task, "easy", prompt_type)
    return RenderedPrompt(p.messages, tuple(tool_schemas(offered)), prompt_type, p.plan)


def _offered_for(task: TaskInstance) -> list[str]:
    categories = {TOOLS[t].category for t in task.required_tools}
    return [t for t in TOOLS if TOOLS[t].category in categories]


@pytest.mark.parametrize("name", ["sim/weak", "sim/medium", "sim/strong"])
@pytest.mark.parametrize("prompt_type", ["baseline", "cot", "optimal"])
def test_model_only_calls_offered_tools(name: str, prompt_type: str) -> None:
    model = fresh(name)
    for task in (generate_instance(t, i) for t in TASK_TYPES for i in range(4)):
        offered = _offered_for(task)
        ep, _ = run(model, task, "easy", prompt_type, prompt=_restricted_prompt(task, prompt_type, offered))
        # Deliberate calls (parseable arguments) only name offered tools.
        assert all(c.name in offered for c in ep.trajectory.calls if c.arguments is not None), (
            task.id, [c.name for c in ep.trajectory.calls]
        )
        assert all(c.known_tool for c in ep.trajectory.calls)


def test_full_schema_calls_are_catalog_tools() -> None:
    for name in SIMULATED_MODELS:
        model = fresh(name)
        for task, d, pt in GRID[::5]:
            ep, _ = run(model, task, d, pt)
            assert all(c.name in TOOLS for c in ep.trajectory.calls)


def test_malformed_native_calls_name_only_offered_tools() -> None:
    model = fresh("sim/weak")
    offered = [t for t in TOOLS if TOOLS[t].category in ("network", "integration", "utility")]
    seen_malformed = 0
    for task in (generate_instance("api_integration", i) for i in range(20)):
        if not set(task.required_tools) <= set(offered):
            continue
        ep, _ = run(model, task, "easy", "baseline", prompt=_restricted_prompt(task, "baseline", offered))
        for c in ep.trajectory.calls:
            if c.arguments is None:
                seen_malformed += 1
                assert c.name in offered, c.name
    assert seen_malformed


def test_flawed_plan_does_not_make_the_model_call_unoffered_tools() -> None:
    model = fresh("sim/strong")
    for task in (generate_instance(t, i) for t in TASK_TYPES for i in range(4)):
        offered = _offered_for(task)
        for pt in ("flawed_tool_misuse", "flawed_redundant_operations", "flawed_semantic_drift"):
            ep, _ = run(model, task, "easy", pt, prompt=_restricted_prompt(task, pt, offered))
            assert all(c.name in offered for c in ep.trajectory.calls if c.arguments is not None), (task.id, pt)


# --------------------------------------------------------------------------- provider contract


def test_generate_matches_respond() -> None:
    model = fresh("sim/medium")
    p = render_prompt(generate_instance("basic_task", 0), "easy", "optimal")
    messages, tools = list(p.messages), list(p.tools)
    out = asyncio.run(model.generate(ModelRequest("sim/medium", messages, tools), timeout=1.0))
    assert out == model.respond(messages, tools)
    assert out.usage.prompt_tokens > 0
    assert model.classify(RuntimeError("boom")).kind == "fatal"
