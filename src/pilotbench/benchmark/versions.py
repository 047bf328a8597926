"""The suite's version and a view of the generated suite.

The version is a content hash of the generator's output on a fixed probe, the tool catalog, and the
revisions of how replies are read (protocol.py) and scored (scoring.py); it is stored with every
result so that numbers from different suites are never mixed silently. Kept apart from tasks.py so
that the generator does not import the scorer (the scorer reads tasks; nothing here is circular).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .protocol import PROTOCOL_REVISION
from .scoring import SCORING_REVISION
from .tasks import _PROBE_INSTANCES, DEFAULT_SEED, GENERATOR_VERSION, TaskInstance, _hash, generate_instance
from .toolkit import on_change
from .tools import TOOLS
from .types import TASK_TYPES


@lru_cache(maxsize=64)
def suite_version(seed: int = DEFAULT_SEED) -> str:
    """Content hash of the suite: the generator's output on a fixed probe, the tool catalog and
    the revisions of how replies are read and scored."""
    probe = [generate_instance(t, i, seed).to_dict() for t in TASK_TYPES for i in range(_PROBE_INSTANCES)]
    catalog = [TOOLS[name].schema() for name in sorted(TOOLS)]
    content: dict[str, Any] = {"seed": seed, "probe": probe, "catalog": catalog}
    if PROTOCOL_REVISION > 1:  # revision 1's results keep the version they were stored under
        content["protocol"] = PROTOCOL_REVISION
    if SCORING_REVISION > 1:
        content["scoring"] = SCORING_REVISION
    return f"v{GENERATOR_VERSION}-" + _hash(content)[:12]


on_change(suite_version.cache_clear)  # another set of tools is another suite


class TaskSuite:
    """A view of the generated suite: `instances_per_type` instances of each task type."""

    def __init__(self, seed: int = DEFAULT_SEED, instances_per_type: int = 20) -> None:
        if instances_per_type < 0:
            raise ValueError(f"instances per type must be >= 0, got {instances_per_type}")
        self.seed = seed
        self.instances_per_type = instances_per_type
        self.version = suite_version(seed)

    def get(self, task_type: str, index: int) -> TaskInstance:
        return generate_instance(task_type, index, self.seed)

    def instances(self, task_types: tuple[str, ...] = TASK_TYPES) -> list[TaskInstance]:
        return [self.get(t, i) for t in task_types for i in range(self.instances_per_type)]

    def counts(self) -> dict[str, int]:
        return {t: self.instances_per_type for t in TASK_TYPES}
