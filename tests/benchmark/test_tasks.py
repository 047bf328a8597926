"""The task suite (SPEC 1.2): deterministic generation, suite version, tool counts, difficulty wording."""

from __future__ import annotations

import re

import pytest

from pilotbench.benchmark.tasks import (
    DEFAULT_SEED,
    TaskInstance,
    TaskSuite,
    generate_instance,
    suite_version,
)
from pilotbench.benchmark.tools import TOOLS
from pilotbench.benchmark.types import DIFFICULTIES, TASK_TYPES

# The uncached generator: determinism must not come from the lru_cache handing back one object.
_fresh = generate_instance.__wrapped__

N_INSTANCES = 200

TOOL_COUNTS = {
    "simple_task": (2, 2),
    "basic_task": (3, 3),
    "data_pipeline": (3, 4),
    "api_integration": (3, 4),
    "multi_stage_pipeline": (4, 6),
}


def _instances(task_type: str, n: int = N_INSTANCES) -> list[TaskInstance]:
    return [generate_instance(task_type, i) for i in range(n)]


def _tool_names_in(text: str) -> set[str]:
    return {name for name in TOOLS if name in text}


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("task_type", TASK_TYPES)
@pytest.mark.parametrize("index", [0, 1, 17, 199])
def test_same_arguments_give_identical_instance(task_type: str, index: int) -> None:
    a = _fresh(task_type, index, DEFAULT_SEED)
    b = _fresh(task_type, index, DEFAULT_SEED)
    assert a is not b
    assert a == b
    assert a.to_dict() == b.to_dict()
    assert a.content_hash == b.content_hash
    assert generate_instance(task_type, index) == a  # the cached path agrees with the fresh one


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_different_seed_gives_different_instances(task_type: str) -> None:
    a = [_fresh(task_type, i, 42) for i in range(20)]
    b = [_fresh(task_type, i, 43) for i in range(20)]
    assert all(x.id != y.id for x, y in zip(a, b))
    assert all(x.content_hash != y.content_hash for x, y in zip(a, b))
    # The content itself (not only the id) varies with the seed.
    assert sum(x.inputs != y.inputs for x, y in zip(a, b)) >= 15


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_instances_differ_by_index_and_ids_are_unique(task_type: str) -> None:
    insts = _instances(task_type, 50)
    assert len({i.id for i in insts}) == 50
    assert len({i.content_hash for i in insts}) == 50
    assert all(i.task_type == task_type and i.index == n for n, i in enumerate(insts))
    assert all(re.fullmatch(rf"{task_type}-{DEFAULT_SEED}-\d{{5}}", i.id) for i in insts)


def test_content_hash_is_hex_and_tracks_content() -> None:
    inst = generate_instance("basic_task", 3)
    assert re.fullmatch(r"[0-9a-f]{16}", inst.content_hash)
    other = generate_instance("basic_task", 4)
    assert inst.content_hash != other.content_hash


def test_suite_version_is_stable_and_changes_with_seed() -> None:
    v = suite_version(DEFAULT_SEED)
    assert v == suite_version.__wrapped__(DEFAULT_SEED)
    assert re.fullmatch(r"v1-[0-9a-f]{12}", v)
    assert suite_version(DEFAULT_SEED + 1) != v
    assert suite_version(7) != suite_version(8)
    assert TaskSuite().version == v
    assert TaskSuite(seed=43).version == suite_version(43)


def test_task_suite_view() -> None:
    suite = TaskSuite(seed=5, instances_per_type=3)
    insts = suite.instances()
    assert len(insts) == 3 * len(TASK_TYPES)
    assert [i.task_type for i in insts[:3]] == ["simple_task"] * 3
    assert suite.get("data_pipeline", 2) == generate_instance("data_pipeline", 2, 5)
    assert suite.counts() == {t: 3 for t in TASK_TYPES}
    assert suite.instances(("api_integration",)) == [generate_instance("api_integration", i, 5) for i in range(3)]


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize(("task_type", "bounds"), TOOL_COUNTS.items())
def test_required_tool_counts_match_spec(task_type: str, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    counts = {len(i.required_tools) for i in _instances(task_type)}
    assert counts, task_type
    assert min(counts) >= lo and max(counts) <= hi, (task_type, counts)


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_required_tools_exist_and_dependencies_form_the_chain(task_type: str) -> None:
    for inst in _instances(task_type):
        tools = inst.required_tools
        assert all(t in TOOLS for t in tools), tools
        assert len(set(tools)) == len(tools), tools
        deps = inst.dependencies
        # Every tool after the first depends on exactly its predecessor; the first on nothing.
        assert deps == {tools[k]: (tools[k - 1],) for k in range(1, len(tools))}
        assert tools[0] not in deps
        assert inst.expected_outputs["final_tool"] == tools[-1]
        assert inst.expected_outputs["steps"] == len(tools)
        assert len(inst.constraints) == 2
        assert inst.inputs["source"].startswith(f"data/{inst.domain}_")


# --------------------------------------------------------------------------- difficulty wording


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_descriptions_by_difficulty(task_type: str) -> None:
    for inst in _instances(task_type):
        tools = inst.required_tools
        descs = [inst.description(d) for d in DIFFICULTIES]
        assert len(descs) == 5 and len(set(descs)) == 5, inst.id

        very_easy = inst.description("very_easy")
        assert all(f"`{t}`" in very_easy for t in tools), (inst.id, very_easy)
        for n in range(1, len(tools) + 1):
            assert f"{n}. Call `{tools[n - 1]}`" in very_easy

        easy = inst.description("easy")
        positions = [easy.find(f"`{t}`") for t in tools]
        assert all(p >= 0 for p in positions), (inst.id, easy)
        assert positions == sorted(positions), "easy names the tools in workflow order"
        assert _tool_names_in(easy) == set(tools)

        for d in ("medium", "hard", "very_hard"):
            assert _tool_names_in(inst.description(d)) == set(), (inst.id, d, inst.description(d))
        assert inst.description("very_hard") != inst.description("hard")
        assert inst.goal in inst.description("hard")
        assert inst.goal not in inst.description("very_hard"), "very_hard states only the business need"


def test_unknown_difficulty_raises() -> None:
    with pytest.raises(ValueError):
        generate_instance("simple_task", 0).description("impossible")


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("task_type", "index", "match"),
    [
        ("simple_task", -1, "index"),
        ("multi_stage_pipeline", -100, "index"),
        ("no_such_task", 0, "no_such_task"),
        ("", 0, "unknown task type"),
        ("SIMPLE_TASK", 0, "unknown task type"),
    ],
)
def test_invalid_arguments_raise_value_error(task_type: str, index: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        generate_instance(task_type, index)


def test_negative_suite_size_raises() -> None:
    with pytest.raises(ValueError, match="instances per type"):
        TaskSuite(instances_per_type=-1)
