"""The provider contract: translate one request into one ModelOutput, and classify failures.

Retrying, limiting and accounting live once, in the runner, above this contract. A provider
only speaks its wire format and says what kind of failure an exception is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..benchmark.types import Message, ModelOutput, Score, ToolSchema
from ..errors import ProviderError

if TYPE_CHECKING:
    from ..benchmark.scoring import StepVerdict


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One model call. `deployment` is the provider's name for the model."""

    deployment: str
    messages: list[Message]
    tools: list[ToolSchema] | None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EndOfTest:
    """How a scored test went, for a provider's optional `test_ended` hook: the level and error
    category as stored, the scorer's numbers, and each step of the task in words (its tool, done or
    not, and why: `benchmark.scoring.explain_steps`)."""

    test_id: str
    model: str
    success_level: str
    error_category: str | None
    stop_reason: str | None
    score: Score
    tools: tuple[str, ...]  # each step's tool, in step order
    steps: tuple[StepVerdict, ...]  # each step: done or not, and why
    tests_left: int | None = None  # tests of this model the run has still to play, when known

    @property
    def steps_done(self) -> int:
        return sum(1 for v in self.steps if v.done)


class Provider(Protocol):
    """What every provider kind implements. One instance serves one (provider, key) pair.

    Optionally `end_conversation(messages)`: the runner calls it when a test's conversation is over,
    so a provider that keeps something per conversation (the simulated models) can let it go.

    Optionally `test_ended(end: EndOfTest)`: the runner calls it once a test the provider played is
    scored and handed to the store, so a provider that tells someone how a test went (the human
    players) can. A provider without it is not called; what it does changes no result."""

    kind: str

    async def generate(self, request: ModelRequest, timeout: float) -> ModelOutput:
        """Send the request; raise whatever the transport raises (classify() translates it)."""
        ...

    def classify(self, error: BaseException) -> ProviderError:
        """Translate an exception from generate() into a ProviderError with its kind."""
        ...

    async def aclose(self) -> None: ...
