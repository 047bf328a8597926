"""Real tasks built by hand, for tests that need a task the generator would not write (a bare chain,
a step without settings): a `TaskInstance` of the given steps, inputs and fields, with placeholder
descriptions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pilotbench.benchmark.tasks import TaskInstance, TaskStep
from pilotbench.benchmark.types import DIFFICULTIES


def make_step(tool: str, feeds: Iterable[tuple[str, int | str]] = (), args: Mapping[str, Any] | None = None,
              checked: Iterable[str] = ()) -> TaskStep:
    """One step: `feeds` param -> upstream step index or literal role; `checked` the settings of `args` the
    scorer compares (none by default: any valid value does)."""
    return TaskStep(tool, tuple(feeds), tuple((args or {}).items()), tuple(checked))


def make_task(steps: Iterable[TaskStep], inputs: Mapping[str, str], fields: Iterable[tuple[str, str]] = (),
              *, task_type: str = "data_pipeline", source_format: str = "csv", task_id: str = "hand-made") -> TaskInstance:
    """A task of exactly these steps, literal inputs and source fields."""
    return TaskInstance(
        id=task_id, task_type=task_type, index=0, domain="test", goal="a hand-made task", inputs=dict(inputs),
        steps=tuple(steps), constraints=(), descriptions=tuple(f"a hand-made task ({d})" for d in DIFFICULTIES),
        fields=tuple(fields), source_format=source_format,
    )
