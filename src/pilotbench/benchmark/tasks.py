"""The task suite: five task types, generated deterministically from a seed.

An instance is a pure function of (seed, task type, index), so a suite of any size can be
materialised lazily and `--num-instances` can grow on resume without changing earlier instances.
The suite's version is a content hash of the generator's output (and the tool catalog it names),
stored with every result so that numbers from different suites are never mixed silently.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .tools import TOOLS
from .types import DIFFICULTIES, TASK_TYPES

GENERATOR_VERSION = "1"
DEFAULT_SEED = 42

# Workflow templates per task type: ordered tool sequences a real pipeline would use.
# Each step depends on the one before it (the output handle flows down the chain).
_TEMPLATES: dict[str, tuple[tuple[str, ...], ...]] = {
    "simple_task": (
        ("file_operations_reader", "data_processing_parser"),
        ("network_fetcher", "data_processing_validator"),
        ("data_processing_parser", "data_processing_aggregator"),
        ("computation_calculator", "utility_logger"),
        ("integration_authenticator", "network_fetcher"),
        ("file_operations_scanner", "utility_tracker"),
        ("data_processing_filter", "file_operations_writer"),
    ),
    "basic_task": (
        ("file_operations_reader", "data_processing_parser", "file_operations_writer"),
        ("network_fetcher", "network_validator", "utility_cache"),
        ("data_processing_parser", "data_processing_transformer", "file_operations_writer"),
        ("file_operations_reader", "computation_analyzer", "utility_notifier"),
        ("integration_authenticator", "network_poster", "utility_logger"),
        ("file_operations_scanner", "file_operations_converter", "file_operations_compressor"),
    ),
    "data_pipeline": (
        ("file_operations_reader", "data_processing_parser", "data_processing_transformer", "file_operations_writer"),
        ("file_operations_reader", "data_processing_validator", "data_processing_filter", "data_processing_aggregator"),
        ("file_operations_scanner", "file_operations_reader", "file_operations_converter"),
        ("network_fetcher", "data_processing_parser", "data_processing_aggregator"),
        ("file_operations_reader", "data_processing_transformer", "computation_calculator", "file_operations_writer"),
    ),
    "api_integration": (
        ("integration_authenticator", "integration_connector", "network_fetcher", "integration_mapper"),
        ("integration_authenticator", "network_poster", "network_monitor"),
        ("integration_authenticator", "network_fetcher", "network_router", "utility_notifier"),
        ("integration_connector", "integration_queue", "integration_scheduler"),
        ("integration_authenticator", "integration_mapper", "network_poster", "utility_logger"),
    ),
    "multi_stage_pipeline": (
        ("file_operations_reader", "data_processing_parser", "data_processing_validator",
         "data_processing_transformer", "data_processing_aggregator", "file_operations_writer"),
        ("network_fetcher", "data_processing_parser", "computation_analyzer", "computation_predictor", "utility_notifier"),
        ("integration_authenticator", "network_fetcher", "data_processing_filter", "computation_optimizer",
         "integration_scheduler"),
        ("file_operations_scanner", "file_operations_reader", "data_processing_transformer", "computation_simulator"),
        ("file_operations_reader", "data_processing_validator", "computation_calculator", "utility_cache",
         "utility_tracker", "utility_notifier"),
    ),
}

_DOMAINS = (
    ("sales", "quarterly sales ledger", "finance team"),
    ("logistics", "shipment manifest", "operations team"),
    ("sensors", "plant sensor readings", "maintenance crew"),
    ("customers", "customer account records", "support team"),
    ("invoices", "supplier invoice batch", "accounts payable team"),
    ("inventory", "warehouse stock list", "supply planners"),
    ("clinical", "anonymised trial measurements", "research group"),
    ("web", "site traffic logs", "growth team"),
)
_FORMATS = ("csv", "json", "xml", "parquet")

_CONSTRAINTS = (
    "Use only the tools provided.",
    "Pass data between steps by handle; do not invent handles.",
    "Finish within the turn limit.",
    "Retry a failed step at most twice.",
    "Do not call tools that the workflow does not need.",
)


@dataclass(frozen=True, slots=True)
class TaskInstance:
    """One task: everything a prompt and a scorer need. Frozen and hashable by id."""

    id: str
    task_type: str
    index: int
    domain: str
    goal: str
    inputs: dict[str, Any]
    expected_outputs: dict[str, Any]
    required_tools: tuple[str, ...]
    constraints: tuple[str, ...]
    descriptions: tuple[str, ...]  # one per difficulty, in DIFFICULTIES order

    @property
    def dependencies(self) -> dict[str, tuple[str, ...]]:
        """Each required tool depends on the one before it: its input is that step's output."""
        deps: dict[str, tuple[str, ...]] = {}
        for prev, tool in zip(self.required_tools, self.required_tools[1:]):
            if tool != prev and tool not in deps:
                deps[tool] = (prev,)
        return deps

    def description(self, difficulty: str) -> str:
        return self.descriptions[DIFFICULTIES.index(difficulty)]

    @property
    def content_hash(self) -> str:
        return _hash(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task_type": self.task_type,
            "index": self.index,
            "domain": self.domain,
            "goal": self.goal,
            "inputs": self.inputs,
            "expected_outputs": self.expected_outputs,
            "required_tools": list(self.required_tools),
            "constraints": list(self.constraints),
            "descriptions": dict(zip(DIFFICULTIES, self.descriptions)),
        }


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _describe(tools: tuple[str, ...], goal: str, subject: str, team: str, rng: random.Random) -> tuple[str, ...]:
    specs = [TOOLS[t] for t in tools]
    verbs = [rng.choice(s.verbs) for s in specs]
    phrases = [rng.choice(s.goal_phrases) for s in specs]
    # very_hard picks other phrases where the catalog has them, so its wording differs from hard.
    alt_phrases = [next((p for p in s.goal_phrases if p != ph), ph) for s, ph in zip(specs, phrases)]
    steps = []
    for i, (spec, verb) in enumerate(zip(specs, verbs), 1):
        source = f"the {subject}" if i == 1 else f"the handle returned by step {i - 1}"
        steps.append(f"{i}. Call `{spec.name}` to {verb} {source}.")
    very_easy = f"{goal}. Follow these steps in order:\n" + "\n".join(steps) + (
        "\nThen reply with a short final answer that reports the result."
    )
    easy = f"{goal}. Use the tools {_join([f'`{t}`' for t in tools])}, in that order, then report the result."
    medium = (
        f"{goal}. Starting from the {subject}, "
        + ", then ".join(verbs)
        + " the data, passing each result on to the next step, and report the outcome."
    )
    hard = f"{goal}. Along the way you will need to {_join(phrases)}."
    very_hard = f"The {team} needs this done: {_join(alt_phrases)}. Work out how to get there."
    return (very_easy, easy, medium, hard, very_hard)


@lru_cache(maxsize=65536)
def generate_instance(task_type: str, index: int, seed: int = DEFAULT_SEED) -> TaskInstance:
    """Build instance `index` of `task_type`; the same arguments always give the same instance."""
    if task_type not in _TEMPLATES:
        raise ValueError(f"unknown task type {task_type!r}; choose from {', '.join(TASK_TYPES)}")
    if index < 0:
        raise ValueError(f"instance index must be >= 0, got {index}")
    rng = random.Random(f"pilotbench-task:{GENERATOR_VERSION}:{seed}:{task_type}:{index}")
    tools = rng.choice(_TEMPLATES[task_type])
    domain, subject, team = rng.choice(_DOMAINS)
    fmt = rng.choice(_FORMATS)
    source = f"data/{domain}_{2020 + rng.randrange(6)}_{rng.randrange(100):02d}.{fmt}"
    goal = f"Process the {subject} ({source}) for the {team}"
    inputs = {"source": source, "format": fmt, "records_hint": rng.randrange(50, 5000)}
    expected = {
        "final_tool": tools[-1],
        "artifact": f"{domain}_{TOOLS[tools[-1]].operation}_result",
        "steps": len(tools),
    }
    constraints = tuple(rng.sample(_CONSTRAINTS, 2))
    descriptions = _describe(tools, goal, subject, team, rng)
    return TaskInstance(
        id=f"{task_type}-{seed}-{index:05d}",
        task_type=task_type,
        index=index,
        domain=domain,
        goal=goal,
        inputs=inputs,
        expected_outputs=expected,
        required_tools=tools,
        constraints=constraints,
        descriptions=descriptions,
    )


_PROBE_INSTANCES = 20


@lru_cache(maxsize=64)
def suite_version(seed: int = DEFAULT_SEED) -> str:
    """Content hash of the suite: the generator's output on a fixed probe and the tool catalog."""
    probe = [generate_instance(t, i, seed).to_dict() for t in TASK_TYPES for i in range(_PROBE_INSTANCES)]
    catalog = [TOOLS[name].schema() for name in sorted(TOOLS)]
    return f"v{GENERATOR_VERSION}-" + _hash({"seed": seed, "probe": probe, "catalog": catalog})[:12]


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
