"""The task suite (docs/scoring.md, "The world of a test" and "What a description states"): typed tool
chains, deterministic generation, suite version, wording by difficulty."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from pilotbench.benchmark import tasks as tasks_mod
from pilotbench.benchmark.tasks import (
    DEFAULT_SEED,
    GENERATOR_VERSION,
    LENGTHS,
    TaskInstance,
    generate_instance,
)
from pilotbench.benchmark.versions import TaskSuite, suite_version
from pilotbench.benchmark.tools import ANY, LITERAL_ROLES, SAME, TOOLS, accepts
from pilotbench.benchmark.types import DIFFICULTIES, TASK_TYPES

# The uncached generator: determinism must not come from the lru_cache handing back one object.
_fresh = generate_instance.__wrapped__

N_INSTANCES = 200
SPEC_LENGTHS = {
    "simple_task": (2, 2),
    "basic_task": (3, 3),
    "data_pipeline": (3, 5),
    "api_integration": (3, 5),
    "multi_stage_pipeline": (5, 7),
}
SOURCE_ROLES = {"source_path", "source_directory", "source_url", "service", "credential"}
FIELD_TYPES = {"string", "number", "integer", "date"}
STOPWORDS = {
    "a", "an", "the", "of", "to", "for", "and", "or", "in", "on", "up", "into", "from", "with", "what", "that", "so",
    "is", "it", "by", "be", "as", "at", "our", "we", "who", "are", "how", "far", "has", "its", "nothing", "anything",
    "before", "after", "whether", "where", "others", "can", "find", "keep", "make", "get", "some", "another", "two",
}


def _instances(task_type: str, n: int = N_INSTANCES) -> list[TaskInstance]:
    return [generate_instance(task_type, i) for i in range(n)]


ALL = [inst for t in TASK_TYPES for inst in _instances(t)]


def _tool_names_in(text: str) -> set[str]:
    return {name for name in TOOLS if name in text}


def _output_types(inst: TaskInstance) -> list[str]:
    types: list[str] = []
    for s in inst.steps:
        spec = TOOLS[s.tool]
        main = dict(s.feeds).get("input")
        types.append(types[main] if spec.output == SAME and isinstance(main, int) else spec.output)
    return types


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z'-]+", text.lower()) if len(w) >= 4 and w not in STOPWORDS}


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
    assert sum(x.required_tools != y.required_tools for x, y in zip(a, b)) >= (5 if task_type == "simple_task" else 10)


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
    assert inst.content_hash != generate_instance("basic_task", 4).content_hash


def test_suite_version_is_stable_and_changes_with_seed() -> None:
    assert GENERATOR_VERSION == "3"
    v = suite_version(DEFAULT_SEED)
    assert v == suite_version.__wrapped__(DEFAULT_SEED)
    assert re.fullmatch(r"v3-[0-9a-f]{12}", v)
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


def test_generation_is_fast() -> None:
    start = time.process_time()
    for t in TASK_TYPES:
        for i in range(2000):
            _fresh(t, i, 1234)
    took = time.process_time() - start
    print(f"10,000 instances generated in {took:.2f}s of CPU")
    assert took < 8.0  # typically 1.5-2.5 s on a loaded machine


# --------------------------------------------------------------------------- chain structure


def test_lengths_match_spec() -> None:
    assert LENGTHS == SPEC_LENGTHS
    for t in TASK_TYPES:
        lo, hi = SPEC_LENGTHS[t]
        counts = Counter(len(i.required_tools) for i in _instances(t))
        assert set(counts) == set(range(lo, hi + 1)), (t, counts)


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_edge_is_a_typed_data_edge(task_type: str) -> None:
    for inst in _instances(task_type):
        steps = inst.steps
        tools = inst.required_tools
        assert len(set(tools)) == len(tools), tools
        types = _output_types(inst)
        fed: set[int] = set()
        roles_used: set[str] = set()
        for k, step in enumerate(steps):
            spec = TOOLS[step.tool]
            params = {p.name: p for p in spec.parameters}
            feeds = dict(step.feeds)
            assert len(feeds) == len(step.feeds)
            # Every required data or literal parameter is fed; nothing else is.
            for p in spec.parameters:
                if p.required and (p.is_data or p.literal):
                    assert p.name in feeds, (inst.id, step.tool, p.name)
            for name, src in feeds.items():
                p = params[name]
                assert p.is_data or p.literal, (step.tool, name)
                if isinstance(src, int):
                    assert 0 <= src < k, (inst.id, k, src)
                    assert p.is_data and accepts(p, types[src]), (inst.id, step.tool, name, types[src])
                    fed.add(src)
                else:
                    assert src == p.literal and src in inst.inputs, (inst.id, step.tool, name, src)
                    roles_used.add(src)
            ups = step.upstream
            if k == 0:
                assert not ups and set(step.literals) and set(step.literals) <= SOURCE_ROLES
            else:
                assert ups, f"{inst.id}: step {k} ({step.tool}) consumes no upstream handle"
        # No dangling step: every step but the last feeds a later one.
        assert fed == set(range(len(steps) - 1)), (inst.id, tools)
        # The inputs declare exactly the literal roles the chain uses.
        assert set(inst.inputs) == roles_used, (inst.id, inst.inputs, roles_used)
        assert set(inst.inputs) <= set(LITERAL_ROLES)


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_dependencies_and_expected_outputs_follow_the_steps(task_type: str) -> None:
    for inst in _instances(task_type, 60):
        deps = inst.dependencies
        assert inst.required_tools[0] not in deps
        for step in inst.steps[1:]:
            assert deps[step.tool] == tuple(inst.steps[k].tool for k in step.upstream)
        assert inst.final_tool == inst.required_tools[-1]
        assert inst.expected_outputs == {
            "final_tool": inst.final_tool, "final_type": _output_types(inst)[-1], "steps": len(inst.steps),
        }
        d = inst.to_dict()
        assert d["required_tools"] == list(inst.required_tools)
        assert [s["tool"] for s in d["steps"]] == list(inst.required_tools)
        assert d["inputs"] == inst.inputs and d["source_format"] == inst.source_format
        assert set(d["descriptions"]) == set(DIFFICULTIES)


def test_fan_in_sessions_and_connections() -> None:
    mapper = poster_session = fetcher_session = 0
    for inst in ALL:
        tools = inst.required_tools
        auth = tools.index("integration_authenticator") if "integration_authenticator" in tools else None
        for step in inst.steps:
            feeds = dict(step.feeds)
            if step.tool in ("network_fetcher", "network_poster"):
                # With an authenticator in the chain, fetcher and poster take its session.
                assert feeds.get("session") == auth, (inst.id, step.tool)
                poster_session += step.tool == "network_poster" and auth is not None
                fetcher_session += step.tool == "network_fetcher" and auth is not None
            if step.tool == "integration_mapper":
                mapper += 1
                conn = inst.steps[feeds["connection"]]
                assert conn.tool == "integration_connector"
                assert inst.steps[dict(conn.feeds)["input"]].tool == "integration_authenticator"
                assert _output_types(inst)[feeds["input"]] == "records"
                assert len(step.upstream) == 2
            if step.tool == "integration_connector":
                assert inst.steps[dict(step.feeds)["input"]].tool == "integration_authenticator"
        if auth is not None:
            assert auth == 0, "an authenticator starts its chain"
    print(f"fan-in over {len(ALL)} tasks: mapper {mapper}, poster+session {poster_session}, fetcher+session {fetcher_session}")
    assert mapper >= 10 and poster_session >= 10 and fetcher_session >= 50


def test_task_type_character() -> None:
    for inst in _instances("data_pipeline"):
        assert {TOOLS[t].category for t in inst.required_tools} <= {"data_processing", "file_operations", "computation"}
    core = {"integration_authenticator", "network_fetcher", "network_poster", "integration_connector",
            "integration_mapper", "integration_queue"}
    for inst in _instances("api_integration"):
        tools = inst.required_tools
        assert sum(TOOLS[t].category in ("network", "integration") for t in tools) >= 2, tools
        assert set(tools) & core, tools


def test_chain_diversity() -> None:
    """A large suite rests on hundreds of distinct workflows, not a few dozen."""
    per_type = {t: {i.required_tools for i in _instances(t)} for t in TASK_TYPES}
    total = set().union(*per_type.values())
    print("distinct chains in 200 instances per type:", {t: len(c) for t, c in per_type.items()}, "total", len(total))
    assert len(total) >= 200
    assert len(per_type["simple_task"]) >= 15
    assert len(per_type["basic_task"]) >= 40
    assert len(per_type["data_pipeline"]) >= 50
    assert len(per_type["api_integration"]) >= 60
    assert len(per_type["multi_stage_pipeline"]) >= 120
    # Every tool of the catalog takes part in some workflow.
    assert set().union(*total) == set(TOOLS)
    # No single chain dominates a type.
    for t in TASK_TYPES:
        top = Counter(i.required_tools for i in _instances(t)).most_common(1)[0][1]
        assert top <= 0.25 * N_INSTANCES, (t, top)


def test_steps_are_valid_on_the_simulator() -> None:
    """Executed in order with the steps' own settings, every chain succeeds on the simulator (no failures drawn)."""
    from pilotbench.benchmark.simulator import ToolSimulator

    for inst in ALL[::2]:
        sim = ToolSimulator(f"check-{inst.id}", 1.0, literals=inst.inputs, fields=inst.fields,
                            source_format=inst.source_format)
        handles: list[str] = []
        for step in inst.steps:
            args = dict(step.args)
            for name, src in step.feeds:
                args[name] = handles[src] if isinstance(src, int) else inst.inputs[src]
            result = sim.execute(step.tool, args)
            assert result.success, (inst.id, step.tool, args, result.message)
            handles.append(result.handle)


# --------------------------------------------------------------------------- data and literals


def test_fields_and_source_format() -> None:
    for inst in ALL:
        names = [n for n, _ in inst.fields]
        assert 5 <= len(inst.fields) <= 8, inst.fields
        assert len(set(names)) == len(names)
        assert {t for _, t in inst.fields} <= FIELD_TYPES
        assert sum(t in ("number", "integer") for _, t in inst.fields) >= 2
        assert inst.source_format in ("json", "csv", "xml", "yaml")
        if "source_path" in inst.inputs:
            assert inst.inputs["source_path"].endswith("." + inst.source_format)
        if "source_url" in inst.inputs:
            assert inst.source_format == "json" and "json" in inst.inputs["source_url"]
    assert len({i.domain for i in ALL}) >= 8
    assert len({i.source_format for i in ALL}) == 4


def test_literals_are_realistic_and_vary() -> None:
    shapes = {
        "source_path": r"[\w./-]+\.(csv|json|xml|yaml)",
        "source_directory": r"/?[\w./-]+",
        "source_url": r"https://[\w.-]+\.example/\S+",
        "endpoint": r"https://[\w.-]+\.example/\S+",
        "recipient": r"[\w.-]+@[\w.-]+\.example",
        "output_path": r"[\w./-]+\.(csv|json|xml|yaml)",
        "queue_name": r"[\w.-]+",
        "service": r"[\w-]+",
        "credential": r"\S+",
        "target_system": r"[\w-]+",
    }
    values: dict[str, list[str]] = {}
    for inst in ALL:
        for role, value in inst.inputs.items():
            assert re.fullmatch(shapes[role], value), (role, value)
            values.setdefault(role, []).append(value)
    assert set(values) == set(LITERAL_ROLES), "every literal role occurs in some task"
    for role in ("source_path", "source_url", "output_path", "endpoint", "credential", "source_directory"):
        v = values[role]
        assert len(set(v)) >= 0.8 * len(v), (role, len(set(v)), len(v))


def test_writer_output_path_matches_raw_content() -> None:
    for inst in ALL:
        types = _output_types(inst)
        for step in inst.steps:
            if step.tool == "file_operations_writer" and types[dict(step.feeds)["input"]] == "raw":
                up = inst.steps[dict(step.feeds)["input"]]
                fmt = dict(up.args).get("target_format", inst.source_format)
                assert inst.inputs["output_path"].endswith("." + fmt), inst.id


# --------------------------------------------------------------------------- difficulty wording


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_descriptions_by_difficulty(task_type: str) -> None:
    for inst in _instances(task_type):
        tools = inst.required_tools
        n = len(tools)
        descs = [inst.description(d) for d in DIFFICULTIES]
        assert len(set(descs)) == 5, inst.id

        very_easy = inst.description("very_easy")
        for k, tool in enumerate(tools, 1):
            assert f"\n{k}. Call `{tool}` on " in very_easy, (inst.id, very_easy)
        assert f"step {n}" in very_easy and "handle" in very_easy
        for k, step in enumerate(inst.steps, 1):
            line = next(ln for ln in very_easy.splitlines() if ln.startswith(f"{k}. "))
            for up in step.upstream:
                assert f"step {up + 1}" in line, (line, step)
            for role in step.literals:
                assert f"`{role}`" in line, (line, role)

        easy = inst.description("easy")
        positions = [easy.find(f"`{t}`") for t in tools]
        assert all(p >= 0 for p in positions), (inst.id, easy)
        assert positions == sorted(positions), "easy names the tools in workflow order"
        assert _tool_names_in(easy) == set(tools)

        for d in ("medium", "hard", "very_hard"):
            text = inst.description(d)
            assert _tool_names_in(text) == set(), (inst.id, d, text)
            assert "`" not in text
        assert inst.goal in inst.description("medium") and inst.goal in inst.description("hard")
        assert inst.goal not in inst.description("very_hard"), "very_hard states only the business need"


def test_hard_paraphrases_the_tools_uses() -> None:
    """Each hard phrase reuses key content words of its tool's typical uses, never a uses phrase verbatim."""
    for key, phrases in [*tasks_mod._HARD.items(), *tasks_mod._VH.items()]:
        tool = key.split("@")[0]  # "file_operations_reader@listed": the reader on a file the scan listed
        uses = TOOLS[tool].uses
        words = set().union(*(_content_words(u) for u in uses))
        for phrase in phrases:
            for u in uses:
                assert u.lower() not in phrase.lower(), (tool, phrase)
            if tool != "utility_helper":  # its phrase is chosen with the operation, checked below
                said = _content_words(phrase.replace("{", " ").replace("}", " "))
                assert {w[:5] for w in said} & {w[:5] for w in words}, (tool, phrase)  # "translated" ~ "translate"
    for inst in ALL:
        hard = inst.description("hard").lower()
        for tool in inst.required_tools:
            for u in TOOLS[tool].uses:
                assert u.lower() not in hard, (inst.id, u)
            words = set().union(*(_content_words(u) for u in TOOLS[tool].uses))
            assert {w[:5] for w in _content_words(hard)} & {w[:5] for w in words}, (inst.id, tool)


def test_very_hard_states_every_step_as_an_outcome_without_tool_names() -> None:
    for inst in ALL:
        very_hard = inst.description("very_hard")
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", very_hard) if s]
        assert 1 <= len(sentences) <= 2, very_hard
        assert any(team in very_hard for d in tasks_mod._DOMAINS for team in d.teams)
        assert not any(tool in very_hard for tool in TOOLS), very_hard
        # one outcome per step, in order
        parts = very_hard.count("; then ") + very_hard.count("; and last ") + 1
        assert parts == len(inst.steps), very_hard


def test_wording_is_grammatical_and_varied() -> None:
    frames: dict[str, set[str]] = {d: set() for d in DIFFICULTIES}
    for inst in ALL:
        for d in DIFFICULTIES:
            text = inst.description(d)
            assert text == text.strip() and text[0].isupper(), (d, text)
            assert text.endswith((".", "handle.")), (d, text)
            assert "  " not in text and " ," not in text and ".." not in text and " ." not in text, (d, text)
            assert not re.search(r"\ba (?:[aeio]\w|XML|x)", text), (d, text)
            assert not re.search(r"\ban (?!hour)(?:[bcdfghjklmnpqrstvwyz])", text, flags=re.I), (d, text)
            if d != "very_easy":
                assert "{" not in text and "}" not in text, (d, text)
            for sentence in re.split(r"(?<=[.:])\s+(?=[A-Z])", text):
                assert sentence[0].isupper() or sentence[0].isdigit(), (d, sentence)
            frames[d].add(_frame(text, inst))
    for d, seen in frames.items():
        assert len(seen) >= 3, (d, seen)


def _frame(text: str, inst: TaskInstance) -> str:
    """The template a description came from: its text with the task's own content removed."""
    tail = text.replace(inst.goal, "").strip()
    return re.sub(r"[^A-Za-z ]", "", tail.split("\n")[-1])[-30:] + "|" + tail[:12]


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


def test_any_tools_are_never_fed_sessions() -> None:
    for inst in ALL:
        types = _output_types(inst)
        for step in inst.steps:
            spec = TOOLS[step.tool]
            for p in spec.data_params:
                src = dict(step.feeds).get(p.name)
                if p.accepts == (ANY,) and isinstance(src, int):
                    assert types[src] not in ("session", "connection"), (inst.id, step.tool)


def test_suite_version_changes_with_how_replies_are_read_and_scored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Results read or scored by different rules never share a suite version (and are never pooled)."""
    from pilotbench.benchmark import versions

    now = versions.suite_version()
    for name in ("PROTOCOL_REVISION", "SCORING_REVISION"):
        versions.suite_version.cache_clear()
        monkeypatch.setattr(versions, name, getattr(versions, name) + 1)
        try:
            changed = versions.suite_version()
            assert changed != now and changed.startswith(f"v{GENERATOR_VERSION}-")
        finally:
            monkeypatch.undo()
            versions.suite_version.cache_clear()


def test_the_generator_does_not_import_the_scorer() -> None:
    """No import circle: tasks.py is read by the scorer, and imports neither scoring nor protocol."""
    import ast
    import pathlib

    source = pathlib.Path(tasks_mod.__file__).read_text()
    imported = {n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"scoring", "protocol", "versions"}, imported


def test_a_task_is_immutable_and_hashable() -> None:
    """Instances are shared through generate_instance's cache: no reader can change one under the others."""
    import copy
    import json
    import pickle

    task = next(t for t in (generate_instance("multi_stage_pipeline", i) for i in range(50))
                if any(isinstance(v, (dict, list)) for s in t.steps for _, v in s.args))
    before = json.dumps(task.to_dict(), sort_keys=True)
    assert hash(task) == hash(_fresh(task.task_type, task.index)) and task == _fresh(task.task_type, task.index)
    assert len({task, _fresh(task.task_type, task.index)}) == 1
    role = next(iter(task.inputs))
    with pytest.raises(TypeError):
        task.inputs[role] = "elsewhere"  # type: ignore[index]
    with pytest.raises(TypeError):
        task.inputs.update({role: "elsewhere"})
    with pytest.raises(TypeError):
        task.decoys.clear()
    with pytest.raises((AttributeError, TypeError)):
        task.inputs = {}  # type: ignore[misc]
    step, name, value = next((s, k, v) for s in task.steps for k, v in s.args if isinstance(v, (dict, list)))
    with pytest.raises(TypeError):
        value.append("x") if isinstance(value, list) else value.update(x=1)
    with pytest.raises(TypeError):
        dict(step.args)[name].clear()  # a copy of the args still holds the task's own (frozen) values
    nested = [v for s in task.steps for _, v in s.args if isinstance(v, dict)]
    for d in nested:
        for inner in d.values():
            if isinstance(inner, (dict, list)):
                with pytest.raises(TypeError):
                    inner.clear()
    # A copy is an ordinary mutable dict, and the task, its JSON and its cache entry are unchanged.
    mine = dict(task.inputs)
    mine[role] = "elsewhere"
    assert json.dumps(task.to_dict(), sort_keys=True) == before
    assert generate_instance(task.task_type, task.index) is task
    # Pickling (worker processes) and copying keep it equal, hashable and read-only.
    for other in (pickle.loads(pickle.dumps(task)), copy.deepcopy(task)):
        assert other == task and hash(other) == hash(task)
        with pytest.raises(TypeError):
            other.inputs[role] = "x"  # type: ignore[index]
