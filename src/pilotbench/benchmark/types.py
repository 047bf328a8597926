"""Plain data shared by the benchmark core, the models and the runner.

These types sit on the hot path (one per model call), so they are slotted frozen dataclasses
rather than pydantic models; validation happens at the edges (config, store, HTTP).
Messages and tool schemas stay plain OpenAI-format dicts: that is what real providers take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

Message = dict[str, Any]
ToolSchema = dict[str, Any]

TASK_TYPES: tuple[str, ...] = (
    "simple_task",
    "basic_task",
    "data_pipeline",
    "api_integration",
    "multi_stage_pipeline",
)
DIFFICULTIES: tuple[str, ...] = ("very_easy", "easy", "medium", "hard", "very_hard")
TOOL_SUCCESS_RATES: tuple[float, ...] = (0.9, 0.8, 0.7, 0.6)
DEFAULT_TOOL_SUCCESS_RATE = 0.8

FLAW_TYPES: tuple[str, ...] = (
    "sequence_disorder",
    "tool_misuse",
    "parameter_error",
    "missing_step",
    "redundant_operations",
    "logical_inconsistency",
    "semantic_drift",
)
SEVERITIES: tuple[str, ...] = ("light", "medium", "severe")
BASE_PROMPT_TYPES: tuple[str, ...] = ("baseline", "cot", "optimal")
FLAWED_PROMPT_TYPES: tuple[str, ...] = tuple(f"flawed_{f}" for f in FLAW_TYPES)
PROMPT_TYPES: tuple[str, ...] = BASE_PROMPT_TYPES + FLAWED_PROMPT_TYPES

SUCCESS_LEVELS: tuple[str, ...] = ("full_success", "partial_success", "failure")
ERROR_CATEGORIES: tuple[str, ...] = (
    "tool_call_format_errors",
    "timeout_errors",
    "max_turns_errors",
    "tool_selection_errors",
    "parameter_config_errors",
    "sequence_order_errors",
    "dependency_errors",
    "other_errors",
    "context_length_errors",
)


class FrozenDict(dict):  # type: ignore[type-arg]
    """A dict that cannot change after it is made, and so can be hashed and shared (a task held in a
    cache). It is still a `dict` to every reader: equality, `json.dumps`, `dict(x)` (a mutable copy)
    and pickling behave as for a plain dict; every mutating method raises TypeError."""

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} is read-only; copy it with dict(...) to change it")

    __setitem__ = __delitem__ = __ior__ = _readonly  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


class FrozenList(list):  # type: ignore[type-arg]
    """A list that cannot change after it is made (see FrozenDict): equal to the same plain list,
    written as a JSON array, hashable; every mutating method raises TypeError."""

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} is read-only; copy it with list(...) to change it")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _readonly  # type: ignore[assignment]
    append = extend = insert = pop = remove = clear = sort = reverse = _readonly  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self),))

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList:
        return self


def freeze(value: Any) -> Any:
    """`value` with every dict and list in it, at any depth, made read-only (FrozenDict, FrozenList);
    tuples are frozen element by element; everything else is returned as it is."""
    if isinstance(value, (FrozenDict, FrozenList)):
        return value
    if isinstance(value, dict):
        return FrozenDict((k, freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return FrozenList(freeze(v) for v in value)
    if isinstance(value, tuple):
        return tuple(freeze(v) for v in value)
    return value


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call as the model sent it; `arguments` is the raw JSON text, parsed by the executor."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Usage:
    """The tokens of one call as its provider counted them. `reported` is False when the answer said
    nothing about usage (the counts are then 0 and stand for "unknown", not "none")."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    reported: bool = True

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


_UNREPORTED = Usage(reported=False)


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """What a provider returns for one generate() call, whatever the provider."""

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None
    usage: Usage = field(default_factory=lambda: _UNREPORTED)  # an output built without usage says nothing of it
    finish_reason: str | None = None

    @classmethod
    def for_tool_call(cls, name: str, arguments: str | dict[str, Any], call_id: str = "call_0") -> ModelOutput:
        import json

        args = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return cls(tool_calls=(ToolCall(call_id, name, args),), finish_reason="tool_calls")

    @classmethod
    def for_text(cls, text: str) -> ModelOutput:
        return cls(content=text, finish_reason="stop")


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The simulator's answer to one call: an observation for the model, never an exception.

    `inputs` is what the call's data and literal parameters resolved to (handles, literal values);
    `refused` names the parameter an INVALID_INPUT was about and `data_refusal` says whether it was a
    data parameter (an invented or wrong-typed handle) rather than a setting.
    """

    success: bool
    output: dict[str, Any] | None = None
    error_code: str | None = None
    message: str = ""
    handle: str | None = None
    inputs: dict[str, str] | None = None
    refused: str | None = None
    data_refusal: bool = False

    def as_observation(self) -> dict[str, Any]:
        if self.success:
            out = self.output or {}
            return {"status": "success", "handle": self.handle, "type": out.get("type"), "summary": out.get("summary")}
        return {"status": "error", "error_code": self.error_code, "message": self.message}


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One tool call in a trajectory, after execution."""

    turn: int
    name: str
    arguments: dict[str, Any] | None
    success: bool
    error_code: str | None = None
    known_tool: bool = True
    handle: str | None = None  # the output handle of a success
    inputs: dict[str, str] | None = None  # data/literal parameters as resolved by the simulator
    refused: str | None = None  # the parameter an INVALID_INPUT named
    data_refusal: bool = False  # the refusal was about a data input (invented or wrong-typed handle)


@dataclass(slots=True)
class Trajectory:
    """Everything the scorer needs about one conversation, and what the store keeps of it."""

    calls: list[CallRecord] = field(default_factory=list)
    turns: int = 0
    format_errors: int = 0
    assistance_turns: int = 0
    final_answer: str | None = None
    declared_completion: bool = False  # the final answer reported one result handle and no failure (protocol.read_final)
    result_handle: str | None = None  # the one handle the final answer reported, if it reported exactly one
    result_handles: tuple[str, ...] = ()  # every distinct handle it reported (several: no single result)
    result_form: str | None = None  # "result_line" | "plain" (named in plain words, no RESULT line naming one)
    declared_failure: bool = False  # the final answer said the task failed or could not be completed
    stop_reason: str = ""  # final_answer | max_turns | consecutive_failures | repeated_call | format_errors | context_length | timeout
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_calls: int = 0
    text_calls: int = 0  # native mode: calls the model wrote as text instead of tool_calls
    truncated_replies: int = 0  # replies cut off at the token limit (also counted in format_errors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "turns": self.turns,
            "format_errors": self.format_errors,
            "text_calls": self.text_calls,
            "truncated_replies": self.truncated_replies,
            "assistance_turns": self.assistance_turns,
            "final_answer": self.final_answer,
            "declared_completion": self.declared_completion,
            "result_handle": self.result_handle,
            "result_handles": list(self.result_handles),
            "result_form": self.result_form,
            "declared_failure": self.declared_failure,
            "stop_reason": self.stop_reason,
            "calls": [
                {
                    "turn": c.turn,
                    "name": c.name,
                    "arguments": c.arguments,
                    "success": c.success,
                    "error_code": c.error_code,
                    "known_tool": c.known_tool,
                    "handle": c.handle,
                    "inputs": c.inputs,
                    "refused": c.refused,
                    "data_refusal": c.data_refusal,
                }
                for c in self.calls
            ],
        }


@dataclass(frozen=True, slots=True)
class Score:
    """The scorer's verdict on one trajectory; see benchmark.scoring for the rules."""

    success_level: str
    workflow_adherence: float
    tool_coverage: float
    efficiency: float
    error_category: str | None
    precision: float = 0.0
    steps_done: tuple[bool, ...] = ()

    @property
    def success(self) -> bool:
        return self.success_level != "failure"

    @property
    def weighted_score(self) -> float:
        return {"full_success": 1.0, "partial_success": 0.5}.get(self.success_level, 0.0)
