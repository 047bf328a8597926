"""One test as a state machine: messages out, model output in, until the conversation ends.

The episode does no I/O and knows no provider: the runner sends `messages` and `tools` to a
model and hands the reply to `step()`. That keeps the conversation rules (tool execution,
format-help turns, stop rules) testable with scripted outputs and identical for every provider.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .prompts import RenderedPrompt
from .protocol import format_help, parse_arguments, parse_reply, read_final, truncated_echo, truncation_help
from .simulator import ToolSimulator
from .tasks import TaskInstance
from .tools import INVALID_INPUT, TOOLS
from .types import CallRecord, Message, ModelOutput, ToolCall, ToolResult, Trajectory


@dataclass(frozen=True, slots=True)
class StopRules:
    max_turns: int = 10
    max_consecutive_failures: int = 5
    max_repeated_calls: int = 5

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_consecutive_failures", "max_repeated_calls"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


class Episode:
    """A multi-turn tool-use conversation for one test."""

    __slots__ = (
        "test_id", "task", "mode", "rules", "messages", "tools", "trajectory", "done",
        "_sim", "_consecutive_failures", "_call_counts", "_succeeded", "_offered",
    )

    def __init__(
        self,
        test_id: str,
        task: TaskInstance,
        prompt: RenderedPrompt,
        tool_success_rate: float,
        *,
        rules: StopRules | None = None,
        world_id: str | None = None,
    ) -> None:
        """`world_id` identifies the test without the model (plan.world_id): tool failures are drawn
        from it, so every model meets the same failures on the same test. Defaults to `test_id`."""
        self.test_id = test_id
        self.task = task
        self.mode = "native" if prompt.tools is not None else "text"
        self.rules = rules or StopRules()
        self.messages: list[Message] = list(prompt.messages)
        self.tools = list(prompt.tools) if prompt.tools is not None else None
        self.trajectory = Trajectory()
        self.done = False
        self._sim = ToolSimulator(
            world_id or test_id, tool_success_rate, literals=task.declared_inputs, fields=task.fields,
            source_format=task.source_format, salt=test_id,
        )
        self._consecutive_failures = 0
        self._call_counts: dict[str, int] = {}
        self._succeeded: set[str] = set()  # calls (name and arguments) that have succeeded at least once
        # The tool names a call written as text may name without arguments (protocol.parse_text_reply).
        self._offered = frozenset(
            t["function"]["name"] for t in self.tools if isinstance(t.get("function"), dict) and "name" in t["function"]
        ) if self.tools is not None else frozenset(TOOLS)

    def step(self, output: ModelOutput) -> bool:
        """Apply one model reply; return True when the conversation has ended."""
        if self.done:
            raise RuntimeError("episode already finished")
        traj = self.trajectory
        traj.turns += 1
        traj.model_calls += 1
        traj.prompt_tokens += output.usage.prompt_tokens
        traj.completion_tokens += output.usage.completion_tokens

        parsed = parse_reply(output, self.mode, self._offered)
        if parsed.calls:
            self._run_calls(output, parsed.calls, from_text=parsed.from_text)
        elif parsed.final is not None:
            self.messages.append({"role": "assistant", "content": parsed.final})
            traj.final_answer = parsed.final
            report = read_final(parsed.final)
            traj.result_handle = report.handle
            traj.result_handles = report.handles
            traj.result_form = report.form
            traj.declared_failure = report.failed
            traj.declared_completion = report.declares_completion
            return self._finish("final_answer")
        else:
            # No usable call and no answer (a cut-off reply is never an answer): a format-help turn.
            traj.format_errors += 1
            traj.assistance_turns += 1
            if parsed.truncated:
                traj.truncated_replies += 1
                self.messages.append({"role": "assistant", "content": truncated_echo(output.content)})
                self.messages.append({"role": "user", "content": truncation_help(self.mode)})
            else:
                self.messages.append({"role": "assistant", "content": output.content or ""})
                self.messages.append({"role": "user", "content": format_help(self.mode)})

        if self.done:
            return True
        if traj.turns >= self.rules.max_turns:
            return self._finish("max_turns")
        return False

    def end(self, reason: str) -> None:
        """End the conversation from outside, without a reply: `reason` becomes the stop reason.
        The runner ends a conversation the provider refuses as longer than the model's context
        this way (``context_length``); the trajectory is scored as it stands."""
        if self.done:
            raise RuntimeError("episode already finished")
        self._finish(reason)

    def _finish(self, reason: str) -> bool:
        self.trajectory.stop_reason = reason
        self.done = True
        return True

    def _run_calls(self, output: ModelOutput, calls: tuple[ToolCall, ...], *, from_text: bool = False) -> None:
        traj = self.trajectory
        turn = traj.turns
        if self.mode == "native":
            calls = tuple(
                ToolCall(f"call_{turn}_{i}", c.name, c.arguments) if (from_text or not c.id) else c
                for i, c in enumerate(calls)
            )
            # Calls written as text go back as native calls (the text itself is dropped): the
            # conversation then shows the model the form it was asked for.
            self.messages.append(
                {
                    "role": "assistant",
                    "content": None if from_text else output.content,
                    "tool_calls": [
                        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                        for c in calls
                    ],
                }
            )
        else:
            self.messages.append({"role": "assistant", "content": output.content or ""})
        observations: list[str] = []
        for call in calls:
            traj.text_calls += from_text
            args = parse_arguments(call.arguments)
            if args is None:
                traj.format_errors += 1
                result = ToolResult(False, None, "INVALID_INPUT", "arguments are not a JSON object")
            else:
                result = self._sim.execute(call.name, args)
            traj.calls.append(
                CallRecord(
                    turn, call.name, args, result.success, result.error_code, known_tool=call.name in TOOLS,
                    handle=result.handle, inputs=result.inputs, refused=result.refused, data_refusal=result.data_refusal,
                )
            )
            body = json.dumps(result.as_observation(), separators=(",", ":"))
            if self.mode == "native":
                self.messages.append({"role": "tool", "tool_call_id": call.id, "content": body})
            else:
                observations.append(f'<tool_result name="{call.name}">{body}</tool_result>')
            if self._stop_rules_after(call, args, result):
                break
        if observations:
            self.messages.append({"role": "user", "content": "\n".join(observations)})

    def _stop_rules_after(self, call: ToolCall, args: dict[str, Any] | None, result: ToolResult) -> bool:
        self._consecutive_failures = 0 if result.success else self._consecutive_failures + 1
        if self._consecutive_failures >= self.rules.max_consecutive_failures:
            return self._finish("consecutive_failures")
        # The repeated-call rule counts identical calls that add nothing: a refused call made again, and
        # a call made again after that exact call succeeded. A retry after a transient failure (any
        # error but INVALID_INPUT: the tool failed at random, "retry shortly") is what the system prompt
        # asks for, so it never counts until the call has succeeded.
        key = call.name + json.dumps(args, sort_keys=True, default=str)
        transient = not result.success and result.error_code != INVALID_INPUT
        if transient and key not in self._succeeded:
            return False
        if result.success:
            self._succeeded.add(key)
        count = self._call_counts.get(key, 0) + 1
        self._call_counts[key] = count
        if count >= self.rules.max_repeated_calls:
            return self._finish("repeated_call")
        return False
