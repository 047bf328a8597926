"""Which fault, if any, a request gets: one seeded draw per request over the configured odds."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from pilotbench.benchmark.types import ModelOutput

from .config import ALL_FAULT_KINDS, Faults

__all__ = ["FaultDraw", "reasoning_only"]

_REASONING_TEXT = "Let me think step by step about which tool to call next and with which arguments."


class FaultDraw:
    """The faults in force (replaceable at run time) and the seeded draws over them."""

    __slots__ = ("faults", "_rng", "_table", "_total", "_failed")

    def __init__(self, faults: Faults, seed: int) -> None:
        self._rng = random.Random(seed)
        self.faults = faults
        self._table: tuple[tuple[float, str], ...] = ()
        self._total = 0.0
        self._failed = 0
        self.set(faults)

    def set(self, faults: Faults | Mapping[str, Any]) -> Faults:
        """Replace the fault settings (also resets the `fail_first_n` count)."""
        if not isinstance(faults, Faults):
            faults = Faults.from_mapping(faults)
        table: list[tuple[float, str]] = []
        acc = 0.0
        for kind in ALL_FAULT_KINDS:
            p = float(getattr(faults, kind))
            if p > 0:
                acc += p
                table.append((acc, kind))
        self.faults = faults
        self._table = tuple(table)
        self._total = acc
        self._failed = 0
        return faults

    def draw(self) -> str | None:
        """The fault for the next request, or None."""
        if not self._total:
            return None
        u = self._rng.random()
        if u >= self._total:
            return None
        for bound, kind in self._table:
            if u < bound:
                return kind
        return None  # pragma: no cover - float edge

    def fail_first(self) -> bool:
        """Whether this admitted request is one of the first `fail_first_n` (counted once each)."""
        if self._failed < self.faults.fail_first_n:
            self._failed += 1
            return True
        return False


def reasoning_only(output: ModelOutput) -> ModelOutput:
    """`output` as a reasoning model that never answered: everything in its reasoning, no content."""
    text = output.reasoning or _REASONING_TEXT
    if output.content:
        text = f"{text}\n{output.content}"
    for tc in output.tool_calls:
        text = f"{text}\nI should call {tc.name} with {tc.arguments}."
    return ModelOutput(content="", reasoning=text, usage=output.usage, finish_reason="stop")
