"""The episode state machine (docs/scoring.md, "The world of a test"), driven by scripted model outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pilotbench.benchmark.episode import Episode, StopRules
from pilotbench.benchmark.plans import optimal_plan
from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.protocol import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, format_help
from pilotbench.benchmark.scoring import score
from pilotbench.benchmark.tasks import TaskInstance, generate_instance
from pilotbench.benchmark.tools import TOOLS, ToolSpec
from pilotbench.benchmark.types import TASK_TYPES, ModelOutput, ToolCall, Usage

_SAMPLE = {"string": "dh_0000abcd", "integer": 3, "number": 1.5, "boolean": True, "array": ["a"], "object": {"k": "v"}}

TASKS = [generate_instance(t, i) for t in TASK_TYPES for i in (0, 1, 2)]


def valid_args(spec: ToolSpec, **overrides: Any) -> dict[str, Any]:
    args = {p.name: (p.enum[0] if p.enum else _SAMPLE[p.type]) for p in spec.parameters if p.required}
    args.update(overrides)
    return args


def plan_call(task: TaskInstance, n: int, handles: dict[int, str]) -> tuple[str, dict[str, Any]]:
    """Tool and arguments of step n (1-based) of the task's optimal plan, step references resolved."""
    step = optimal_plan(task).steps[n - 1]
    args = dict(step.args)
    for param, ref in step.inputs:
        args[param] = handles[ref] if isinstance(ref, int) else ref
    return step.tool, args


def episode(
    task: TaskInstance,
    *,
    rate: float = 1.0,
    mode: str = "native",
    rules: StopRules | None = None,
    test_id: str = "ep-test",
    prompt_type: str = "optimal",
    world_id: str | None = None,
) -> Episode:
    prompt = render_prompt(task, "easy", prompt_type, tool_mode=mode)
    return Episode(test_id, task, prompt, rate, rules=rules, world_id=world_id)


def text_call(name: str, args: dict[str, Any]) -> ModelOutput:
    return ModelOutput.for_text(f"{TOOL_CALL_OPEN}{json.dumps({'name': name, 'arguments': args})}{TOOL_CALL_CLOSE}")


def tool_messages_answer_every_call(messages: list[dict]) -> None:
    for i, m in enumerate(messages):
        if m["role"] == "assistant" and m.get("tool_calls"):
            ids = [c["id"] for c in m["tool_calls"]]
            assert all(ids) and len(set(ids)) == len(ids)
            following = messages[i + 1 : i + 1 + len(ids)]
            assert [f["role"] for f in following] == ["tool"] * len(ids), following
            assert [f["tool_call_id"] for f in following] == ids


# --------------------------------------------------------------------------- a perfect run


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_perfect_scripted_native_run(task: TaskInstance) -> None:
    ep = episode(task)
    start = len(ep.messages)
    assert start == 2 and ep.tools is not None and len(ep.tools) == len(TOOLS)
    handles: dict[int, str] = {}
    for n in range(1, len(task.required_tools) + 1):
        tool, args = plan_call(task, n, handles)
        done = ep.step(ModelOutput.for_tool_call(tool, args, call_id=f"call_{n}"))
        assert done is False
        assert ep.messages[-1]["role"] == "tool"
        assert ep.messages[-1]["tool_call_id"] == f"call_{n}"
        obs = json.loads(ep.messages[-1]["content"])
        assert obs["status"] == "success", obs
        handles[n] = obs["handle"]
    answer = f"FINAL ANSWER: done\nRESULT: {handles[len(handles)]}"
    assert ep.step(ModelOutput.for_text(answer)) is True
    t = ep.trajectory
    assert ep.done and t.stop_reason == "final_answer"
    assert t.final_answer == answer and t.declared_completion and t.result_handle == handles[len(handles)]
    assert [c.name for c in t.calls] == list(task.required_tools)
    assert all(c.success and c.known_tool for c in t.calls)
    assert [c.turn for c in t.calls] == list(range(1, len(task.required_tools) + 1))
    assert t.turns == t.model_calls == len(task.required_tools) + 1
    assert t.format_errors == 0 and t.assistance_turns == 0
    assert score(task, t).success_level == "full_success"
    assert score(task, t).efficiency == 1.0
    tool_messages_answer_every_call(ep.messages)
    assert ep.messages[-1] == {"role": "assistant", "content": answer}


@pytest.mark.parametrize("task", TASKS[::3], ids=lambda t: t.id)
def test_perfect_scripted_text_run(task: TaskInstance) -> None:
    ep = episode(task, mode="text")
    assert ep.tools is None and ep.mode == "text"
    handles: dict[int, str] = {}
    for n in range(1, len(task.required_tools) + 1):
        tool, args = plan_call(task, n, handles)
        reply = text_call(tool, args)
        assert ep.step(reply) is False
        assert ep.messages[-2] == {"role": "assistant", "content": reply.content}
        last = ep.messages[-1]
        assert last["role"] == "user"
        assert last["content"].startswith(f'<tool_result name="{tool}">')
        assert last["content"].endswith("</tool_result>")
        body = last["content"][len(f'<tool_result name="{tool}">') : -len("</tool_result>")]
        obs = json.loads(body)
        assert obs["status"] == "success" and obs["handle"].startswith("h_")
        handles[n] = obs["handle"]
    assert ep.step(ModelOutput.for_text(f"FINAL ANSWER: all done\nRESULT: {handles[len(handles)]}")) is True
    assert not any(m["role"] == "tool" for m in ep.messages)
    assert score(task, ep.trajectory).success_level == "full_success"


def test_text_mode_runs_every_block_of_a_reply_into_one_user_message() -> None:
    task = generate_instance("basic_task", 0)
    ep = episode(task, mode="text")
    a, b = task.required_tools[:2]
    content = "".join(
        f"{TOOL_CALL_OPEN}{json.dumps({'name': t, 'arguments': valid_args(TOOLS[t])})}{TOOL_CALL_CLOSE}" for t in (a, b)
    )
    ep.step(ModelOutput.for_text(content))
    assert [c.name for c in ep.trajectory.calls] == [a, b]
    assert ep.messages[-1]["content"].count("<tool_result") == 2
    assert ep.messages[-1]["content"].index(a) < ep.messages[-1]["content"].index(b)


# --------------------------------------------------------------------------- native bookkeeping


def test_tool_messages_answer_every_call_including_generated_ids() -> None:
    task = generate_instance("data_pipeline", 0)
    ep = episode(task, rate=0.7)
    first, second = task.required_tools[:2]
    multi = ModelOutput(
        content=None,
        tool_calls=(
            ToolCall("", first, json.dumps(valid_args(TOOLS[first]))),
            ToolCall("", second, json.dumps(valid_args(TOOLS[second]))),
            ToolCall("abc", "no_such_tool", "{}"),
        ),
    )
    ep.step(multi)
    ep.step(ModelOutput.for_tool_call(first, valid_args(TOOLS[first], path="other.csv"), call_id="x1"))
    tool_messages_answer_every_call(ep.messages)
    ids = [c["id"] for c in ep.messages[2]["tool_calls"]]
    assert ids == ["call_1_0", "call_1_1", "abc"]
    assert ep.trajectory.calls[2].known_tool is False
    assert ep.trajectory.calls[2].error_code == "INVALID_INPUT"
    assert len(ep.trajectory.calls) == 4 and ep.trajectory.turns == 2


def test_usage_is_accumulated() -> None:
    ep = episode(generate_instance("simple_task", 0))
    tool = ep.task.required_tools[0]
    out = ModelOutput(
        tool_calls=(ToolCall("c", tool, json.dumps(valid_args(TOOLS[tool]))),), usage=Usage(100, 7)
    )
    ep.step(out)
    ep.step(ModelOutput(content="FINAL ANSWER: ok", usage=Usage(150, 3)))
    assert (ep.trajectory.prompt_tokens, ep.trajectory.completion_tokens) == (250, 10)


# --------------------------------------------------------------------------- format errors


@pytest.mark.parametrize("mode", ["native", "text"])
@pytest.mark.parametrize(
    "reply",
    [
        ModelOutput(content=""),
        ModelOutput(content=None),
        ModelOutput(content=None, reasoning="thinking about which tool to use"),
    ],
    ids=["empty", "none", "reasoning-only"],
)
def test_empty_reply_gets_a_format_help_turn(mode: str, reply: ModelOutput) -> None:
    ep = episode(generate_instance("basic_task", 1), mode=mode)
    assert ep.step(reply) is False
    t = ep.trajectory
    assert t.format_errors == 1 and t.assistance_turns == 1 and t.turns == 1
    assert t.calls == [] and not ep.done
    assert ep.messages[-1] == {"role": "user", "content": format_help(mode)}
    assert ep.messages[-2] == {"role": "assistant", "content": ""}
    ep.step(ModelOutput(content=""))
    assert (t.format_errors, t.assistance_turns, t.turns) == (2, 2, 2)


def test_text_mode_broken_block_is_a_format_error() -> None:
    ep = episode(generate_instance("basic_task", 1), mode="text")
    ep.step(ModelOutput.for_text(TOOL_CALL_OPEN + '{"name": "utility_logger", "arguments": {'))
    assert ep.trajectory.format_errors == 1 and ep.trajectory.assistance_turns == 1
    assert ep.trajectory.calls == []
    assert ep.messages[-1]["content"] == format_help("text")


@pytest.mark.parametrize("mode", ["native", "text"])
def test_invalid_json_arguments_count_a_format_error_and_return_invalid_input(mode: str) -> None:
    task = generate_instance("simple_task", 2)
    ep = episode(task, mode=mode)
    tool = task.required_tools[0]
    if mode == "native":
        ep.step(ModelOutput.for_tool_call(tool, '{"path": ', call_id="bad"))
        answer = ep.messages[-1]
        assert answer["role"] == "tool" and answer["tool_call_id"] == "bad"
        obs = json.loads(answer["content"])
    else:
        ep.step(ModelOutput.for_text(f'{TOOL_CALL_OPEN}{{"name": "{tool}", "arguments": "[1, 2]"}}{TOOL_CALL_CLOSE}'))
        body = ep.messages[-1]["content"]
        obs = json.loads(body[body.index(">") + 1 : body.rindex("</tool_result>")])
    assert obs == {"status": "error", "error_code": "INVALID_INPUT", "message": "arguments are not a JSON object"}
    t = ep.trajectory
    assert t.format_errors == 1
    assert t.assistance_turns == 0  # the call was answered; no format-help turn
    assert len(t.calls) == 1 and t.calls[0].arguments is None and not t.calls[0].success
    assert t.calls[0].error_code == "INVALID_INPUT"


def test_missing_required_argument_is_invalid_input_but_not_a_format_error() -> None:
    task = generate_instance("simple_task", 2)
    ep = episode(task)
    ep.step(ModelOutput.for_tool_call(task.required_tools[0], {}))
    obs = json.loads(ep.messages[-1]["content"])
    assert obs["error_code"] == "INVALID_INPUT" and "missing required parameter" in obs["message"]
    assert ep.trajectory.format_errors == 0


# --------------------------------------------------------------------------- stop rules


@pytest.mark.parametrize("max_turns", [1, 3, 10])
def test_max_turns_stops_at_exactly_max_turns(max_turns: int) -> None:
    task = generate_instance("multi_stage_pipeline", 0)
    ep = episode(task, rules=StopRules(max_turns=max_turns, max_consecutive_failures=50))
    tool = "utility_logger"
    ended_at = None
    for n in range(1, max_turns + 5):
        if ep.step(ModelOutput.for_tool_call(tool, valid_args(TOOLS[tool], message=f"m{n}"), call_id=f"c{n}")):
            ended_at = n
            break
    assert ended_at == max_turns
    assert ep.trajectory.turns == max_turns and ep.trajectory.stop_reason == "max_turns"
    assert len(ep.trajectory.calls) == max_turns


def test_format_errors_alone_run_out_of_turns_at_the_default_limit() -> None:
    ep = episode(generate_instance("basic_task", 0))
    results = [ep.step(ModelOutput(content="")) for _ in range(10)]
    assert results == [False] * 9 + [True]
    assert ep.trajectory.stop_reason == "max_turns"
    assert ep.trajectory.format_errors == 10 and ep.trajectory.assistance_turns == 10


def test_five_consecutive_failures_stop() -> None:
    ep = episode(generate_instance("basic_task", 0), rules=StopRules(max_turns=50))
    results = [ep.step(ModelOutput.for_tool_call("no_such_tool", {"n": n}, call_id=f"c{n}")) for n in range(5)]
    assert results == [False] * 4 + [True]
    assert ep.trajectory.stop_reason == "consecutive_failures"
    assert len(ep.trajectory.calls) == 5 and not any(c.known_tool for c in ep.trajectory.calls)


def test_a_success_resets_the_consecutive_failure_count() -> None:
    ep = episode(generate_instance("basic_task", 0), rules=StopRules(max_turns=50))
    script = [ModelOutput.for_tool_call("nope", {"n": n}) for n in range(4)]
    script.append(ModelOutput.for_tool_call(*plan_call(ep.task, 1, {})))
    script += [ModelOutput.for_tool_call("nope", {"n": 10 + n}) for n in range(4)]
    assert not any(ep.step(o) for o in script)
    assert ep.step(ModelOutput.for_tool_call("nope", {"n": 99})) is True
    assert ep.trajectory.stop_reason == "consecutive_failures" and ep.trajectory.turns == 10


def test_consecutive_failures_stop_mid_reply() -> None:
    ep = episode(generate_instance("basic_task", 0), rules=StopRules(max_turns=50, max_consecutive_failures=2))
    calls = tuple(ToolCall(f"c{n}", "nope", json.dumps({"n": n})) for n in range(4))
    assert ep.step(ModelOutput(tool_calls=calls)) is True
    assert ep.trajectory.stop_reason == "consecutive_failures"
    assert len(ep.trajectory.calls) == 2  # the rest of the reply is not executed


def test_the_same_call_five_times_stops() -> None:
    task = generate_instance("simple_task", 0)
    tool = task.required_tools[0]
    ep = episode(task, rules=StopRules(max_turns=50))
    tool, args = plan_call(task, 1, {})
    results = [ep.step(ModelOutput.for_tool_call(tool, args, call_id=f"c{n}")) for n in range(5)]
    assert results == [False] * 4 + [True]
    assert ep.trajectory.stop_reason == "repeated_call"
    assert all(c.success for c in ep.trajectory.calls)


def _reader_task() -> TaskInstance:
    return next(t for t in (generate_instance("data_pipeline", i) for i in range(50))
                if t.required_tools[0] == "file_operations_reader" and len(t.steps) >= 3)


def _retry_until_success(ep: Episode, task: TaskInstance) -> list[int]:
    """Play the optimal plan, repeating each step's identical call until it succeeds; then answer.
    Returns how many times each step failed before it succeeded."""
    handles: dict[int, str] = {}
    failures: list[int] = []
    for n in range(1, len(task.steps) + 1):
        tool, args = plan_call(task, n, handles)
        failed = 0
        while True:
            if ep.step(ModelOutput.for_tool_call(tool, args)):
                return failures
            obs = json.loads(ep.messages[-1]["content"])
            if obs["status"] == "success":
                handles[n] = obs["handle"]
                break
            failed += 1
        failures.append(failed)
    ep.step(ModelOutput.for_text(f"FINAL ANSWER: done\nRESULT: {handles[len(task.steps)]}"))
    return failures


def test_retries_after_transient_failures_never_count_as_repeated_calls() -> None:
    # A world where the source read fails four times at random ("retry shortly", TIMEOUT, ...) and the
    # fifth identical call succeeds: the default max_repeated_calls=5 must not end the episode there.
    task = _reader_task()
    rules = StopRules(max_turns=40)
    for i in range(3000):
        ep = episode(task, rate=0.5, world_id=f"retry-{i}", rules=rules)
        failures = _retry_until_success(ep, task)
        if failures[:1] == [4] and ep.trajectory.stop_reason == "final_answer":
            break
    else:
        pytest.fail("no world with four transient failures of the first step")
    t = ep.trajectory
    first = t.calls[:5]
    assert [c.name for c in first] == ["file_operations_reader"] * 5
    assert all(c.arguments == first[0].arguments for c in first)
    assert [c.success for c in first] == [False] * 4 + [True]
    assert all(c.error_code not in (None, "INVALID_INPUT") for c in first[:4])
    assert score(task, t).success_level == "full_success"


def test_repeating_a_call_that_succeeded_still_stops_after_transient_retries() -> None:
    task = _reader_task()
    tool, args = plan_call(task, 1, {})
    for i in range(3000):  # a world where the first read fails twice, then succeeds
        ep = episode(task, rate=0.5, world_id=f"again-{i}", rules=StopRules(max_turns=40))
        outcomes = []
        while not ep.done:
            ep.step(ModelOutput.for_tool_call(tool, args))
            outcomes.append(ep.trajectory.calls[-1].success)
            if len(outcomes) == 3 or outcomes[-1]:
                break
        if outcomes == [False, False, True]:
            break
    else:
        pytest.fail("no world with two transient failures of the first step")
    # The success and every identical call after it count (whatever their outcome): the fifth counted
    # call (the seventh made) ends the episode.
    stopped = [ep.step(ModelOutput.for_tool_call(tool, args)) for _ in range(4)]
    assert stopped == [False, False, False, True]
    assert ep.trajectory.stop_reason == "repeated_call" and len(ep.trajectory.calls) == 7


def test_the_same_refused_call_repeated_stops() -> None:
    task = generate_instance("simple_task", 0)
    ep = episode(task, rules=StopRules(max_turns=50, max_repeated_calls=3))
    bad = ModelOutput.for_tool_call("data_processing_parser", {"input": "h_00000000", "format": "csv"})
    assert [ep.step(bad) for _ in range(3)] == [False, False, True]
    assert ep.trajectory.stop_reason == "repeated_call"
    assert all(c.error_code == "INVALID_INPUT" for c in ep.trajectory.calls)


def test_same_tool_with_different_arguments_is_not_a_repeat() -> None:
    task = generate_instance("simple_task", 0)
    tool = "utility_logger"
    ep = episode(task, rules=StopRules(max_turns=50, max_consecutive_failures=50))
    for n in range(8):
        assert ep.step(ModelOutput.for_tool_call(tool, valid_args(TOOLS[tool], message=f"m{n}"))) is False


def test_stepping_a_finished_episode_raises() -> None:
    ep = episode(generate_instance("simple_task", 0))
    ep.step(ModelOutput.for_text("FINAL ANSWER: nothing to do"))
    assert ep.done
    with pytest.raises(RuntimeError, match="finished"):
        ep.step(ModelOutput.for_text("again"))
    assert ep.trajectory.turns == 1


@pytest.mark.parametrize(
    "answer",
    [
        "I cannot complete this task.",
        "FINAL ANSWER: step 3 did not succeed; the task is incomplete.",
        "FINAL ANSWER: the workflow is complete.",  # complete in words, but no result handle
        "FINAL ANSWER: done\nRESULT: h_0000aaaa, h_0000bbbb",  # several candidates
    ],
)
def test_an_answer_without_one_result_handle_does_not_declare_completion(answer: str) -> None:
    ep = episode(generate_instance("simple_task", 0))
    assert ep.step(ModelOutput.for_text(answer)) is True
    assert ep.trajectory.stop_reason == "final_answer" and not ep.trajectory.declared_completion


@pytest.mark.parametrize(
    ("template", "form", "level"),
    [
        ("The results are stored in the `{out}` handle", "plain", "full_success"),
        ("FINAL ANSWER: done\nRESULT: {out}", "result_line", "full_success"),
        ("FINAL ANSWER: the task could not be completed.\nRESULT: {out}", "result_line", "partial_success"),
        ("FINAL ANSWER: done\nRESULT: {first}\nRESULT: {out}", None, "partial_success"),
    ],
)
def test_the_final_answer_is_read_into_the_trajectory(template: str, form: str | None, level: str) -> None:
    task = next(t for t in TASKS if len(t.steps) >= 3)
    ep = episode(task)
    handles: dict[int, str] = {}
    for n in range(1, len(task.steps) + 1):
        ep.step(ModelOutput.for_tool_call(*plan_call(task, n, handles)))
        handles[n] = json.loads(ep.messages[-1]["content"])["handle"]
    ep.step(ModelOutput.for_text(template.format(out=handles[len(task.steps)], first=handles[1])))
    t = ep.trajectory.to_dict()
    assert t["result_form"] == form and t["declared_failure"] == ("could not" in template)
    assert t["declared_completion"] == (level == "full_success")
    assert len(t["result_handles"]) == (2 if "{first}" in template else 1)
    assert score(task, ep.trajectory).success_level == level


@pytest.mark.parametrize("field", ["max_turns", "max_consecutive_failures", "max_repeated_calls"])
def test_stop_rules_reject_values_below_one(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        StopRules(**{field: 0})


# --------------------------------------------------------------------------- determinism


def test_replaying_the_same_outputs_replays_the_same_trajectory() -> None:
    task = generate_instance("multi_stage_pipeline", 1)
    tool, args = plan_call(task, 1, {})
    script = [ModelOutput.for_tool_call(tool, args, f"c{n}") for n in range(4)]
    script.append(ModelOutput.for_text("FINAL ANSWER: done"))

    def run(test_id: str, world: str) -> tuple[dict, list]:
        ep = episode(task, rate=0.6, test_id=test_id, world_id=world, rules=StopRules(max_turns=50, max_repeated_calls=50))
        for out in script:
            if ep.step(out):
                break
        return ep.trajectory.to_dict(), ep.messages

    assert run("same-id", "w") == run("same-id", "w")
    outcome = lambda t: tuple(c["success"] for c in t["calls"])  # noqa: E731
    # Two models on the same test: other handles, the same failures.
    a, b = run("model-a", "w")[0], run("model-b", "w")[0]
    assert outcome(a) == outcome(b)
    assert [c["handle"] for c in a["calls"] if c["handle"]] != [c["handle"] for c in b["calls"] if c["handle"]]
    outcomes = {outcome(run("x", f"world-{k}")[0]) for k in range(20)}
    assert len(outcomes) > 1, "success depends on the world at rate 0.6"


def test_a_conversation_ended_at_the_context_length_is_scored_as_it_stands() -> None:
    """The runner ends a conversation the provider refuses as too long with `end("context_length")`:
    the steps done still count, the test is never a full success, and its error category says why
    it ended, whatever the cut-short conversation left undone."""
    task = generate_instance("data_pipeline", 0)
    ep = episode(task)
    tool, args = plan_call(task, 1, {})
    assert not ep.step(ModelOutput.for_tool_call(tool, args))
    ep.end("context_length")
    assert ep.done and ep.trajectory.stop_reason == "context_length" and ep.trajectory.turns == 1
    s = score(task, ep.trajectory)
    assert s.success_level != "full_success" and s.tool_coverage > 0
    assert s.error_category == "context_length_errors"
    with pytest.raises(RuntimeError):
        ep.end("context_length")
