"""The built-in simulated models (models/simulated/; docs/scoring.md, "The floor"), driven through real Episodes
and the real scorer.

They read only what is on the wire (messages and tool schemas). The ladder targets of issue 12
(item 7 and its done-when) are checked here over at least 100 tests across every task type and
difficulty: sim/strong succeeds on at least half, sim/weak < sim/medium < sim/strong in every task
type, and for every sim model the mean over the seven flawed prompts is not above the optimal prompt.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import re
import time
from functools import lru_cache
from pathlib import Path

import pytest

from pilotbench.benchmark.episode import Episode
from pilotbench.benchmark.prompts import RenderedPrompt, render_prompt
from pilotbench.benchmark.protocol import TOOL_CALL_OPEN, result_handle
from pilotbench.benchmark.scoring import score
from pilotbench.benchmark.tasks import TaskInstance, generate_instance
from pilotbench.benchmark.tools import TOOLS, tool_schemas
from pilotbench.benchmark.types import DIFFICULTIES, FLAWED_PROMPT_TYPES, TASK_TYPES, Score
from pilotbench.models import simulated
from pilotbench.models.base import ModelRequest
from pilotbench.models.simulated import SIMULATED_MODELS, SKILLS, SimulatedModel, get_simulated_model
from pilotbench.plan import make_spec, world_id

LADDER = ("sim/weak", "sim/medium", "sim/strong")
INSTANCES = 4  # x 5 task types x 5 difficulties = 100 tests per model and prompt type


def fresh(name: str) -> SimulatedModel:
    return SimulatedModel(name, SKILLS[name])


def play(
    model: SimulatedModel,
    task: TaskInstance,
    difficulty: str,
    prompt_type: str,
    *,
    mode: str = "native",
    rate: float = 0.8,
    prompt: RenderedPrompt | None = None,
) -> tuple[Episode, Score]:
    """One test as the runner plays it: test id and world id from the plan, then model and episode in turn."""
    spec = make_spec(model.name, prompt_type, task.task_type, difficulty, rate, task.index)
    prompt = prompt or render_prompt(task, difficulty, prompt_type, tool_mode=mode)
    ep = Episode(spec.id, task, prompt, rate, world_id=world_id(spec))
    for _ in range(100):
        if ep.done:
            break
        ep.step(model.respond(ep.messages, ep.tools))
    assert ep.done
    return ep, score(task, ep.trajectory)


def grid(instances: int = INSTANCES) -> list[tuple[TaskInstance, str]]:
    return [(generate_instance(t, i), d) for t in TASK_TYPES for d in DIFFICULTIES for i in range(instances)]


@lru_cache(maxsize=None)
def scores(name: str, prompt_type: str, instances: int = INSTANCES) -> tuple[tuple[str, Score], ...]:
    """(task type, score) of every test of the grid for one model and prompt type."""
    model = fresh(name)
    return tuple((task.task_type, play(model, task, d, prompt_type)[1]) for task, d in grid(instances))


def success(rows: tuple[tuple[str, Score], ...], task_type: str | None = None) -> float:
    picked = [s for t, s in rows if task_type in (None, t)]
    return sum(s.success for s in picked) / len(picked)


# --------------------------------------------------------------------------- registry


def test_builtin_models() -> None:
    assert set(LADDER) | {f"sim/family-{n}b" for n in (3, 7, 14, 72)} == set(SIMULATED_MODELS)
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


def test_skill_profiles_climb_from_weak_to_strong() -> None:
    weak, medium, strong = (SKILLS[n] for n in LADDER)
    for knob in ("recognize_verb", "recognize_phrase", "recognize_goal", "type_order", "flaw_detection", "retry",
                 "fix_args"):
        assert getattr(weak, knob) < getattr(medium, knob) < getattr(strong, knob), knob
    for knob in ("wrong_tool", "format_error", "arg_error", "forget_result"):
        assert getattr(weak, knob) > getattr(medium, knob) > getattr(strong, knob), knob
    family = [SKILLS[f"sim/family-{n}b"] for n in (3, 7, 14, 72)]
    assert [f.recognize_phrase for f in family] == sorted(f.recognize_phrase for f in family)


# --------------------------------------------------------------------------- only what is on the wire


def test_reads_nothing_but_plain_types_from_the_benchmark() -> None:
    """The package may take protocol constants and plain types from the benchmark, nothing else: not the
    tool catalog, the task generator, the simulator, plans or flaws (every module of it, taken together)."""
    modules = sorted(Path(simulated.__file__).parent.glob("*.py"))
    assert len(modules) > 1
    imported = set()
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported.update((node.level, node.module or "", a.name) for a in node.names)
            elif isinstance(node, ast.Import):
                imported.update((0, a.name, "") for a in node.names)
    benchmark = {(mod, name) for level, mod, name in imported if "benchmark" in mod}
    assert benchmark == {
        ("benchmark.protocol", name) for name in ("FINAL_MARKER", "TOOL_CALL_CLOSE", "TOOL_CALL_OPEN")
    } | {
        ("benchmark.types", name) for name in ("Message", "ModelOutput", "ToolCall", "ToolSchema", "Usage")
    }
    assert not any(mod.startswith("pilotbench") for _, mod, _ in imported)


def _without_descriptions(tools: tuple[dict, ...]) -> tuple[dict, ...]:
    out = copy.deepcopy(list(tools))
    for t in out:
        t["function"]["description"] = ""
    return tuple(out)


def test_it_reads_tasks_through_the_schemas_it_is_given() -> None:
    """Take the descriptions out of the offered schemas (names and parameters stay) and the tasks that do
    not name their tools become much harder to read, while those that name them do not: the words and
    types it reads by come from the schemas, not from the generator."""
    model = fresh("sim/strong")
    cases = [generate_instance(t, i) for t in TASK_TYPES for i in range(4)]
    wins = {}
    for d in ("very_easy", "hard"):
        for label in ("described", "bare"):
            n = 0
            for task in cases:
                p = render_prompt(task, d, "baseline")
                if label == "bare":
                    p = RenderedPrompt(p.messages, _without_descriptions(p.tools), p.prompt_type, p.plan)
                n += play(model, task, d, "baseline", prompt=p)[1].success
            wins[d, label] = n
    assert wins["very_easy", "bare"] >= wins["very_easy", "described"] - 2, wins
    assert wins["hard", "described"] - wins["hard", "bare"] >= len(cases) * 0.25, wins


def _restricted_prompt(task: TaskInstance, prompt_type: str, offered: list[str]) -> RenderedPrompt:
    p = render_prompt(task, "easy", prompt_type)
    return RenderedPrompt(p.messages, tuple(tool_schemas(offered)), prompt_type, p.plan)


def _offered_for(task: TaskInstance) -> list[str]:
    categories = {TOOLS[t].category for t in task.required_tools}
    return [t for t in TOOLS if TOOLS[t].category in categories]


@pytest.mark.parametrize("name", LADDER)
@pytest.mark.parametrize("prompt_type", ["baseline", "optimal", "flawed_tool_misuse", "flawed_semantic_drift"])
def test_model_only_calls_offered_tools(name: str, prompt_type: str) -> None:
    model = fresh(name)
    for task in (generate_instance(t, i) for t in TASK_TYPES for i in range(4)):
        offered = _offered_for(task)
        ep, _ = play(model, task, "easy", prompt_type, prompt=_restricted_prompt(task, prompt_type, offered))
        assert all(c.name in offered for c in ep.trajectory.calls), (task.id, [c.name for c in ep.trajectory.calls])


def test_text_mode_reads_the_tool_listing_in_the_system_message() -> None:
    model = fresh("sim/strong")
    wins = 0
    cases = [generate_instance(t, i) for t in TASK_TYPES for i in range(6)]
    for task in cases:
        ep, s = play(model, task, "easy", "baseline", mode="text")
        assert ep.tools is None and ep.trajectory.calls
        assert not any(m["role"] == "tool" for m in ep.messages)
        assert any(TOOL_CALL_OPEN in (m["content"] or "") for m in ep.messages if m["role"] == "assistant")
        wins += s.success
    assert wins / len(cases) >= 0.8


# --------------------------------------------------------------------------- behaviour


def test_passes_handles_and_reports_the_last_one() -> None:
    """A successful run passes each step the handle its upstream step returned and ends with the final
    step's handle on a RESULT line."""
    model = fresh("sim/strong")
    seen = 0
    for task in (generate_instance(t, i) for t in TASK_TYPES for i in range(3)):
        ep, s = play(model, task, "very_easy", "baseline", rate=1.0)
        if s.success_level != "full_success":
            continue
        seen += 1
        handles = [c.handle for c in ep.trajectory.calls if c.success]
        assert result_handle(ep.trajectory.final_answer) == handles[-1]
        for call in (c for c in ep.trajectory.calls if c.success):
            passed = [v for v in (call.arguments or {}).values() if isinstance(v, str) and v.startswith("h_")]
            assert all(h in handles for h in passed), call
    assert seen >= 12


def test_retries_random_failures_and_repairs_refused_arguments() -> None:
    model = fresh("sim/strong")
    retried = repaired = 0
    for task, d in grid(2):
        ep, _ = play(model, task, d, "baseline", rate=0.6)
        calls = ep.trajectory.calls
        for a, b in zip(calls, calls[1:]):
            if a.name == b.name and not a.success:
                if a.error_code == "INVALID_INPUT":
                    repaired += b.arguments != a.arguments
                else:
                    retried += b.arguments == a.arguments
    assert retried >= 10 and repaired >= 1, (retried, repaired)


def test_a_detected_flaw_sends_the_model_back_to_its_own_reading() -> None:
    """A reversed plan reads later steps' outputs, which the typed descriptions prove wrong: a model that
    notices flaws drops the plan for its own reading; one that does not follows the plan's first step.
    A correct plan raises no alarm: the careful model follows it to full success."""
    from dataclasses import replace

    trusting = SimulatedModel("sim/strong", replace(SKILLS["sim/strong"], plan_trust=1.0, flaw_detection=0.0))
    careful = SimulatedModel("sim/strong", replace(SKILLS["sim/strong"], plan_trust=1.0, flaw_detection=1.0,
                                                   forget_result=0.0, format_error=0.0, arg_error=0.0))
    checked = 0
    for task in (generate_instance(t, i) for t in TASK_TYPES[1:] for i in range(3)):
        p = render_prompt(task, "easy", "flawed_sequence_disorder")
        if p.plan.tools[0] == task.required_tools[0]:
            continue
        checked += 1
        assert trusting.respond(list(p.messages), list(p.tools)).tool_calls[0].name == p.plan.tools[0]
        assert careful.respond(list(p.messages), list(p.tools)).tool_calls[0].name == task.required_tools[0]
        _, s = play(careful, task, "easy", "optimal", rate=1.0)
        assert s.success_level == "full_success", task.id
    assert checked >= 6


def test_repairs_what_the_refusal_message_names() -> None:
    """Following a plan with wrongly named or wrongly set arguments, a model that repairs its calls drops
    the parameter the message calls unknown and replaces the one it says is wrong, keeping the rest."""
    from dataclasses import replace

    follower = SimulatedModel("sim/strong", replace(SKILLS["sim/strong"], plan_trust=1.0, flaw_detection=0.0,
                                                    fix_args=1.0, arg_error=0.0, format_error=0.0))
    repaired = 0
    for task in (generate_instance(t, i) for t in TASK_TYPES for i in range(4)):
        ep, _ = play(follower, task, "easy", "flawed_parameter_error", rate=1.0)
        calls = ep.trajectory.calls
        for a, b in zip(calls, calls[1:]):
            if a.name != b.name or a.error_code != "INVALID_INPUT" or not a.refused:
                continue
            assert b.arguments != a.arguments
            if a.refused not in TOOLS[a.name].param_names:  # unknown: dropped
                assert a.refused not in (b.arguments or {})
            assert TOOLS[b.name].param_names >= set(b.arguments or {}) or b.error_code == "INVALID_INPUT"
            repaired += 1
    assert repaired >= 10, repaired


@pytest.mark.parametrize("severity", ["light", "medium"])
def test_flawed_mean_is_not_above_optimal_at_lighter_severities(severity: str) -> None:
    model = fresh("sim/strong")
    rows: dict[str, list[bool]] = {}
    for pt in ("optimal", *FLAWED_PROMPT_TYPES):
        for task, d in grid(2):
            p = render_prompt(task, d, pt, severity=severity)
            rows.setdefault(pt, []).append(play(model, task, d, pt, prompt=p)[1].success)
    rate = {pt: sum(v) / len(v) for pt, v in rows.items()}
    flawed = sum(rate[pt] for pt in FLAWED_PROMPT_TYPES) / len(FLAWED_PROMPT_TYPES)
    assert flawed <= rate["optimal"], (severity, rate)


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", LADDER)
@pytest.mark.parametrize("mode", ["native", "text"])
def test_same_test_gives_identical_trajectory_on_fresh_instances(name: str, mode: str) -> None:
    cases = [(generate_instance(t, 3), d, pt) for t, d, pt in
             zip(TASK_TYPES, DIFFICULTIES, ("baseline", "cot", "optimal", "flawed_sequence_disorder", "flawed_semantic_drift"))]
    for task, d, pt in cases:
        a, sa = play(fresh(name), task, d, pt, mode=mode)
        b, sb = play(fresh(name), task, d, pt, mode=mode)
        assert a.trajectory.to_dict() == b.trajectory.to_dict()
        assert a.messages == b.messages
        assert sa == sb
        warm = fresh(name)  # an instance whose caches are filled answers exactly like a cold one
        play(warm, task, d, pt, mode=mode)
        c, _ = play(warm, task, d, pt, mode=mode)
        assert c.messages == a.messages


_DIGEST_SCRIPT = """
import hashlib, json
from pilotbench.benchmark.episode import Episode
from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.models.simulated import get_simulated_model
h = hashlib.sha256()
for name, tt, d, pt, mode in CASES:
    task = generate_instance(tt, 1)
    ep = Episode("x", task, render_prompt(task, d, pt, tool_mode=mode), 0.7)
    while not ep.done:
        ep.step(get_simulated_model(name).respond(ep.messages, ep.tools))
    h.update(json.dumps(ep.trajectory.to_dict(), sort_keys=True).encode())
print(h.hexdigest())
"""


def test_same_replies_in_another_process_with_another_hash_seed() -> None:
    """Nothing depends on Python's per-process string hashing: a mock server in another process answers
    exactly as this one."""
    import os
    import subprocess
    import sys

    cases = [(n, t, d, pt, mode) for n in LADDER for t, d, pt in zip(
        TASK_TYPES, DIFFICULTIES, ("baseline", "cot", "optimal", "flawed_missing_step", "flawed_semantic_drift"))
        for mode in ("native", "text")]
    script = f"CASES = {cases!r}\n" + _DIGEST_SCRIPT
    digests = set()
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}, timeout=120)
        digests.add(out.stdout.strip())
    assert len(digests) == 1, digests


def test_models_differ_from_each_other() -> None:
    task = generate_instance("multi_stage_pipeline", 0)
    runs = {name: [play(fresh(name), task, d, "baseline")[0].trajectory.to_dict() for d in DIFFICULTIES]
            for name in ("sim/weak", "sim/strong")}
    assert runs["sim/weak"] != runs["sim/strong"]


# --------------------------------------------------------------------------- the ladder (issue 12, item 7)


def test_strong_succeeds_on_at_least_half_of_100_baseline_tests() -> None:
    rows = scores("sim/strong", "baseline")
    assert len(rows) >= 100
    assert {t for t, _ in rows} == set(TASK_TYPES)
    assert success(rows) >= 0.5, success(rows)


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_weak_below_medium_below_strong_in_every_task_type(task_type: str) -> None:
    weak, medium, strong = (success(scores(n, "baseline"), task_type) for n in LADDER)
    assert weak < medium < strong, (task_type, weak, medium, strong)


def test_abstract_wording_is_harder_than_named_tools() -> None:
    for name in LADDER:
        rows = scores(name, "baseline")
        by_difficulty = {d: [s for (t, s), (_, dd) in zip(rows, grid()) if dd == d] for d in DIFFICULTIES}
        easy = sum(s.success for s in by_difficulty["very_easy"]) / len(by_difficulty["very_easy"])
        hard = sum(s.success for s in by_difficulty["very_hard"]) / len(by_difficulty["very_hard"])
        assert easy > hard, (name, easy, hard)


def test_optimal_plan_helps_the_strong_model() -> None:
    assert success(scores("sim/strong", "optimal")) >= success(scores("sim/strong", "baseline"))


@pytest.mark.parametrize("name", SIMULATED_MODELS)
def test_flawed_mean_is_not_above_optimal(name: str) -> None:
    """For every sim model the mean success over the seven flawed prompts is at most the success on the
    optimal plan: a noticed flaw sends the model back to its own (imperfect) reading, never to the truth."""
    instances = INSTANCES if name in LADDER else 2
    optimal = success(scores(name, "optimal", instances))
    flawed = [success(scores(name, pt, instances)) for pt in FLAWED_PROMPT_TYPES]
    assert sum(flawed) / len(flawed) <= optimal, (name, optimal, dict(zip(FLAWED_PROMPT_TYPES, flawed)))


# --------------------------------------------------------------------------- robustness


def test_never_raises_on_malformed_conversations_or_schemas() -> None:
    """Whatever a gateway or a test sends (odd tool results, calls, content parts, broken schemas), the
    model answers with a ModelOutput rather than an exception."""
    import json
    import random

    rng = random.Random(7)
    base = render_prompt(generate_instance("data_pipeline", 0), "easy", "optimal")
    text = render_prompt(generate_instance("data_pipeline", 0), "easy", "optimal", tool_mode="text")
    junk = [None, "", "{}", "[]", "not json", 5, ["a"], json.dumps({"status": "success"}),
            json.dumps({"status": "success", "handle": 5, "summary": "x"}),
            json.dumps({"status": "success", "handle": "h_00000001", "type": "raw", "summary": {"fields": "x"}}),
            json.dumps({"status": "error", "error_code": ["x"], "message": 7}),
            json.dumps({"status": "error", "error_code": "INVALID_INPUT", "message": "unknown parameter 'zz'"})]
    bad_tools = [[], [{"type": "function"}], [{"function": {"name": "x", "description": 5, "parameters": "p"}}],
                 [{"function": {"name": "y", "parameters": {"properties": {"a": 3, "b": {"enum": [1, 2]}},
                                                             "required": "a"}}}]]
    for name in LADDER:
        model = fresh(name)
        for _ in range(300):
            p = base if rng.random() < 0.5 else text
            messages = [dict(m) for m in p.messages]
            for j in range(rng.randrange(7)):
                role = rng.choice(["assistant", "tool", "user"])
                if role == "assistant":
                    calls = rng.choice([None, [], ["bad"], [{"id": f"c{j}", "function": {
                        "name": rng.choice(["file_operations_reader", "zzz", None, 3]),
                        "arguments": rng.choice(["{}", '{"path": 3}', None, "[1]", {"x": 1}])}}]])
                    messages.append({"role": "assistant", "content": rng.choice([None, "x", ["part"]]), "tool_calls": calls})
                elif role == "tool":
                    messages.append({"role": "tool", "tool_call_id": rng.choice([f"c{rng.randrange(6)}", None, 3]),
                                     "content": rng.choice(junk)})
                else:
                    messages.append({"role": "user", "content": f'<tool_result name="x">{rng.choice(junk)}</tool_result>'})
            if rng.random() < 0.2:
                messages[1]["content"] = rng.choice(["", None, "Task (x, y):", "Inputs: {bad",
                                                     "Follow this workflow plan.\nStep 1: a - b. Inputs: x=<handle from step 9>."])
            tools = list(p.tools) if p.tools is not None else None
            if rng.random() < 0.2:
                tools = rng.choice(bad_tools)
            out = model.respond(messages, tools)
            assert out.content is not None or out.tool_calls


# --------------------------------------------------------------------------- provider contract and cost


def test_generate_matches_respond() -> None:
    model = fresh("sim/medium")
    p = render_prompt(generate_instance("basic_task", 0), "easy", "optimal")
    messages, tools = list(p.messages), list(p.tools)
    out = asyncio.run(model.generate(ModelRequest("sim/medium", messages, tools), timeout=1.0))
    assert out == model.respond(messages, tools)
    assert out.usage.prompt_tokens > 0
    assert model.classify(RuntimeError("boom")).kind == "fatal"
    assert asyncio.run(model.aclose()) is None


def test_respond_is_cheap() -> None:
    """Under a millisecond of CPU per call on average, over whole conversations (the reading is cached,
    the conversation is re-read every call)."""
    model = fresh("sim/medium")
    conversations = []
    for task, d in grid(1):
        ep, _ = play(model, task, d, "optimal")
        conversations.extend(ep.messages[:k] for k in range(2, len(ep.messages) + 1)
                             if ep.messages[k - 1]["role"] != "assistant")
    tools = list(render_prompt(generate_instance("basic_task", 0), "easy", "baseline").tools)
    start = time.process_time()
    for messages in conversations:
        model.respond(messages, tools)
    per_call = (time.process_time() - start) / len(conversations)
    assert per_call < 0.001, per_call
