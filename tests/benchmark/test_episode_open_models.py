"""Episodes with the replies open models give: calls written as text in native mode, and replies
cut off at the token limit (issue 16)."""

from __future__ import annotations

import json

import pytest

from pilotbench.benchmark.episode import Episode, StopRules
from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.protocol import FINAL_MARKER, truncation_help
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.benchmark.tools import TOOLS
from pilotbench.benchmark.types import ModelOutput, ToolCall

TASK = generate_instance("simple_task", 0)


def episode(mode: str = "native", max_turns: int = 10) -> Episode:
    prompt = render_prompt(TASK, "easy", "baseline", tool_mode=mode)
    return Episode("open-model-test", TASK, prompt, 1.0, rules=StopRules(max_turns=max_turns))


def fenced(name: str, args: dict) -> str:  # type: ignore[type-arg]
    return "```json\n" + json.dumps({"name": name, "arguments": args}, indent=2) + "\n```"


def test_a_fenced_json_call_in_native_mode_runs_as_a_call() -> None:
    ep = episode()
    tool = TASK.required_tools[0]
    ended = ep.step(ModelOutput(content=fenced(tool, {"input": "x"}), finish_reason="stop"))
    assert not ended
    traj = ep.trajectory
    assert [c.name for c in traj.calls] == [tool] and traj.text_calls == 1
    assert traj.final_answer is None and not traj.declared_completion and traj.format_errors == 0
    # It goes back to the model as a native call and its tool result, not as the text it wrote.
    assistant, result = ep.messages[-2:]
    assert assistant["role"] == "assistant" and assistant["content"] is None
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == [tool]
    assert result == {"role": "tool", "tool_call_id": assistant["tool_calls"][0]["id"], "content": result["content"]}
    assert json.loads(result["content"])["status"] in ("success", "error")


def test_two_text_calls_after_final_answer_prefix_both_run_and_count() -> None:
    ep = episode()
    a, b = TASK.required_tools[0], sorted(TOOLS)[0]
    content = f"{FINAL_MARKER} " + json.dumps({"name": a, "arguments": {}}) + "\n" + json.dumps({"name": b, "parameters": {}})
    ep.step(ModelOutput(content=content, finish_reason="stop"))
    assert [c.name for c in ep.trajectory.calls] == [a, b] and ep.trajectory.text_calls == 2
    assert not ep.done


def test_a_call_to_a_tool_not_offered_is_a_tool_selection_error_not_an_answer() -> None:
    ep = episode()
    ep.step(ModelOutput(content=fenced("process_quarterly_sales", {"format": "parquet"}), finish_reason="stop"))
    (call,) = ep.trajectory.calls
    assert call.name == "process_quarterly_sales" and not call.known_tool and not call.success
    assert ep.trajectory.final_answer is None and not ep.done


def test_native_tool_calls_do_not_count_as_text_calls() -> None:
    ep = episode()
    ep.step(ModelOutput(tool_calls=(ToolCall("c1", TASK.required_tools[0], "{}"),), finish_reason="tool_calls"))
    assert len(ep.trajectory.calls) == 1 and ep.trajectory.text_calls == 0


def test_text_mode_calls_are_not_counted_as_fallbacks() -> None:
    ep = episode("text")
    ep.step(ModelOutput(content=fenced(TASK.required_tools[0], {}), finish_reason="stop"))
    assert len(ep.trajectory.calls) == 1 and ep.trajectory.text_calls == 0


@pytest.mark.parametrize("mode", ["native", "text"])
@pytest.mark.parametrize(
    "content",
    ["FINAL ANSWER: The workflow is complete and all the records were", fenced("file_operations_reader", {"path": "a"}), ""],
)
def test_a_truncated_reply_gets_a_format_help_turn_and_is_never_the_answer(mode: str, content: str) -> None:
    ep = episode(mode)
    ended = ep.step(ModelOutput(content=content + "x" * 9000, finish_reason="length"))
    traj = ep.trajectory
    assert not ended and traj.final_answer is None and not traj.declared_completion and traj.calls == []
    assert (traj.truncated_replies, traj.format_errors, traj.assistance_turns) == (1, 1, 1)
    echo, help_turn = ep.messages[-2:]
    assert echo["role"] == "assistant" and len(echo["content"]) < 2100  # not 9,000 characters back into the context
    assert help_turn == {"role": "user", "content": truncation_help(mode)}
    # The model then answers properly: that one is the final answer.
    ep.step(ModelOutput.for_text("FINAL ANSWER: done."))
    assert ep.done and traj.stop_reason == "final_answer" and traj.truncated_replies == 1
    assert traj.to_dict()["truncated_replies"] == 1 and traj.to_dict()["text_calls"] == 0


def test_runaway_replies_until_max_turns_end_without_an_answer() -> None:
    ep = episode(max_turns=3)
    for _ in range(3):
        ep.step(ModelOutput(content="I will now explain " * 200, finish_reason="length"))
    traj = ep.trajectory
    assert ep.done and traj.stop_reason == "max_turns" and traj.final_answer is None
    assert traj.truncated_replies == 3
