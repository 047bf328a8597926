from __future__ import annotations

import pytest

from pilotbench.benchmark import tools
from pilotbench.benchmark.tools import (
    CATEGORIES,
    COMMON_ERRORS,
    JSON_TYPES,
    TOOL_NAMES,
    TOOLS,
    ToolSpec,
    get_tool,
    tool_schemas,
)

SPEC_CATEGORIES = {
    "data_processing": ("parser", "transformer", "filter", "validator", "aggregator"),
    "file_operations": ("reader", "writer", "scanner", "converter", "compressor"),
    "network": ("fetcher", "poster", "monitor", "router", "validator"),
    "computation": ("calculator", "analyzer", "predictor", "optimizer", "simulator"),
    "integration": ("authenticator", "connector", "mapper", "queue", "scheduler"),
    "utility": ("logger", "cache", "tracker", "notifier", "helper"),
}

SPEC_ERRORS = {
    "data_processing": {"INVALID_INPUT", "OPERATION_FAILED", "TIMEOUT"},
    "file_operations": {"INVALID_INPUT", "OPERATION_FAILED", "TIMEOUT", "FILE_NOT_FOUND", "PERMISSION_DENIED"},
    "network": {"INVALID_INPUT", "OPERATION_FAILED", "TIMEOUT", "NETWORK_ERROR", "INVALID_RESPONSE"},
    "computation": {"INVALID_INPUT", "OPERATION_FAILED", "TIMEOUT", "CALCULATION_ERROR", "OVERFLOW"},
    "integration": {"INVALID_INPUT", "OPERATION_FAILED", "TIMEOUT"},
    "utility": {"INVALID_INPUT", "OPERATION_FAILED", "TIMEOUT"},
}

SOURCE_TOOLS = ("file_operations_reader", "network_fetcher", "integration_authenticator", "file_operations_scanner")


def test_thirty_unique_tools_in_spec_order():
    assert len(TOOLS) == 30
    assert len(set(TOOL_NAMES)) == 30
    assert TOOL_NAMES == tuple(TOOLS)
    assert CATEGORIES == SPEC_CATEGORIES
    assert list(CATEGORIES) == list(SPEC_CATEGORIES)
    expected = [f"{c}_{o}" for c, ops in SPEC_CATEGORIES.items() for o in ops]
    assert list(TOOL_NAMES) == expected


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_name_category_operation_consistent(name):
    t = TOOLS[name]
    assert t.name == f"{t.category}_{t.operation}"
    assert t.operation in CATEGORIES[t.category]
    assert t.description and len(t.description) > 20


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_error_codes_per_category(name):
    t = TOOLS[name]
    assert set(t.errors) == SPEC_ERRORS[t.category]
    assert len(t.errors) == len(set(t.errors))
    assert t.errors[:3] == COMMON_ERRORS


def test_error_constants():
    assert tools.INVALID_INPUT == "INVALID_INPUT"
    assert tools.FILE_NOT_FOUND == "FILE_NOT_FOUND"
    assert tools.OVERFLOW == "OVERFLOW"
    assert set(tools.ERROR_CODES) == set().union(*SPEC_ERRORS.values())


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_parameters(name):
    t = TOOLS[name]
    required = [p for p in t.parameters if p.required]
    optional = [p for p in t.parameters if not p.required]
    assert 1 <= len(required) <= 3
    assert 0 <= len(optional) <= 3
    names = [p.name for p in t.parameters]
    assert len(names) == len(set(names))
    for p in t.parameters:
        assert p.type in JSON_TYPES
        assert p.description
        if p.enum is not None:
            assert p.type == "string" and len(p.enum) >= 2
    if t.dependencies:
        # tools that consume an earlier output take it as a required `input` handle
        assert any(p.name == "input" and p.required and p.type == "string" for p in t.parameters)


def test_all_json_types_used_and_most_tools_take_input():
    used = {p.type for t in TOOLS.values() for p in t.parameters}
    assert used == set(JSON_TYPES)
    with_input = [t for t in TOOLS.values() if any(p.name == "input" and p.required for p in t.parameters)]
    assert len(with_input) >= 18


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_returns(name):
    t = TOOLS[name]
    fields = dict(t.returns)
    assert len(fields) == len(t.returns)
    assert fields["handle"] == "string"
    assert fields["record_count"] == "integer"
    assert 1 <= len(fields) - 2 <= 3
    assert set(fields.values()) <= set(JSON_TYPES)


def test_reader_parameters_example():
    r = get_tool("file_operations_reader")
    by_name = {p.name: p for p in r.parameters}
    assert by_name["path"].required and by_name["path"].type == "string"
    assert not by_name["encoding"].required and by_name["encoding"].enum
    assert by_name["max_bytes"].type == "integer" and not by_name["max_bytes"].required


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_schema_shape(name):
    t = TOOLS[name]
    s = t.schema()
    assert s["type"] == "function"
    fn = s["function"]
    assert fn["name"] == name
    assert fn["description"] == t.description
    params = fn["parameters"]
    assert params["type"] == "object"
    props = params["properties"]
    assert set(props) == {p.name for p in t.parameters}
    assert set(params["required"]) <= set(props)
    assert params["required"] == [p.name for p in t.parameters if p.required]
    for pname, prop in props.items():
        assert prop["type"] in JSON_TYPES
        assert isinstance(prop["description"], str) and prop["description"]
        if "enum" in prop:
            assert all(isinstance(v, str) for v in prop["enum"])
        if prop["type"] == "array":
            assert prop["items"]["type"] in JSON_TYPES
    assert t.schema() is s  # cached


def test_schema_cache_not_shared_with_ad_hoc_spec():
    real = get_tool("utility_helper")
    fake = ToolSpec(
        name=real.name, category=real.category, operation=real.operation, description="different",
        parameters=(), returns=real.returns, errors=real.errors, dependencies=(), verbs=real.verbs,
        goal_phrases=real.goal_phrases,
    )
    assert fake.schema()["function"]["description"] == "different"
    assert real.schema()["function"]["description"] == real.description


def test_get_tool_and_tool_schemas():
    assert get_tool("network_fetcher") is TOOLS["network_fetcher"]
    with pytest.raises(KeyError, match="no_such_tool"):
        get_tool("no_such_tool")
    schemas = tool_schemas(["network_fetcher", "data_processing_parser"])
    assert [s["function"]["name"] for s in schemas] == ["network_fetcher", "data_processing_parser"]
    assert tool_schemas([]) == []
    with pytest.raises(KeyError):
        tool_schemas(["nope"])


def test_dependencies_exist_and_are_acyclic():
    for t in TOOLS.values():
        assert t.name not in t.dependencies
        for d in t.dependencies:
            assert d in TOOLS, f"{t.name} depends on unknown {d}"
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(n: str, path: tuple[str, ...]) -> None:
        if state.get(n) == 2:
            return
        assert state.get(n) != 1, f"dependency cycle: {' -> '.join(path + (n,))}"
        state[n] = 1
        for d in TOOLS[n].dependencies:
            visit(d, path + (n,))
        state[n] = 2

    for n in TOOL_NAMES:
        visit(n, ())
    for src in SOURCE_TOOLS:
        assert TOOLS[src].dependencies == ()
    assert "data_processing_parser" in TOOLS["data_processing_transformer"].dependencies
    assert sum(1 for t in TOOLS.values() if t.dependencies) >= 15


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_verbs(name):
    t = TOOLS[name]
    assert 2 <= len(t.verbs) <= 3
    assert all(v and v == v.strip() for v in t.verbs)


def test_goal_phrases_unique_and_abstract():
    seen: dict[str, str] = {}
    forbidden_global = [n.lower() for n in TOOL_NAMES]
    forbidden_global += [c.lower() for c in CATEGORIES] + [c.replace("_", " ") for c in CATEGORIES]
    for t in TOOLS.values():
        assert len(t.goal_phrases) == 3, t.name
        for phrase in t.goal_phrases:
            low = phrase.lower()
            assert phrase.strip() == phrase and len(phrase) > 15
            assert low not in seen, f"{phrase!r} used by {seen.get(low)} and {t.name}"
            seen[low] = t.name
            for word in forbidden_global:
                assert word not in low, f"{t.name}: {phrase!r} contains {word!r}"
            assert t.operation not in low, f"{t.name}: {phrase!r} names its operation"
            for verb in t.verbs:
                assert verb.lower() not in low, f"{t.name}: {phrase!r} contains its verb {verb!r}"
    assert len(seen) == 90


def test_goal_phrases_do_not_use_any_tools_verb_as_a_word():
    import re

    words = {v.lower() for t in TOOLS.values() for v in t.verbs + (t.operation,)}
    for t in TOOLS.values():
        for phrase in t.goal_phrases:
            for w in words:
                assert not re.search(rf"\b{re.escape(w)}\b", phrase.lower()), f"{t.name}: {phrase!r} uses {w!r}"
