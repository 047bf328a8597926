"""The provider contract: translate one request into one ModelOutput, and classify failures.

Retrying, limiting and accounting live once, in the runner, above this contract. A provider
only speaks its wire format and says what kind of failure an exception is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..benchmark.types import Message, ModelOutput, ToolSchema
from ..errors import ProviderError


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One model call. `deployment` is the provider's name for the model."""

    deployment: str
    messages: list[Message]
    tools: list[ToolSchema] | None
    params: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    """What every provider kind implements. One instance serves one (provider, key) pair.

    Optionally `end_conversation(messages)`: the runner calls it when a test's conversation is over,
    so a provider that keeps something per conversation (the simulated models) can let it go."""

    kind: str

    async def generate(self, request: ModelRequest, timeout: float) -> ModelOutput:
        """Send the request; raise whatever the transport raises (classify() translates it)."""
        ...

    def classify(self, error: BaseException) -> ProviderError:
        """Translate an exception from generate() into a ProviderError with its kind."""
        ...

    async def aclose(self) -> None: ...
