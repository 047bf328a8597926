"""The tool catalog (docs/scoring.md, "The world of a test"): 30 tools with typed inputs and outputs,
public descriptions, schemas."""

from __future__ import annotations

import json
import re

import pytest

from pilotbench.benchmark import tools
from pilotbench.benchmark.tools import (
    ANY,
    CATEGORIES,
    CHECKS,
    COMMON_ERRORS,
    DATA_TYPES,
    JSON_TYPES,
    LITERAL_ROLES,
    SAME,
    TOOL_NAMES,
    TOOLS,
    Param,
    ToolSpec,
    accepts,
    get_tool,
    output_type,
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

# Tools a workflow can start with: every data parameter they need can be a literal the task declares.
SOURCE_TOOLS = {"file_operations_reader", "network_fetcher", "integration_authenticator", "file_operations_scanner"}
# Data types only the "any handle" utilities take: a workflow ends with them.
FINAL_TYPES = {"archive", "status", "job", "log", "event", "notification", "value"}


def _explicitly_accepted() -> set[str]:
    return {a for t in TOOLS.values() for p in t.data_params if p.accepts != (ANY,) for a in p.accepts or ()}


def _schema_examples() -> set[str]:
    """Every example value in a schema's text: what follows "e.g." and the quoted templates ('rename:OLD->NEW')."""
    found: set[str] = set()
    for s in _schema_texts():
        for m in re.findall(r"e\.g\. ('[^']*'|\"(?:[^\"\\]|\\.)*\"|\{.*?\}(?=\.))", s):
            found.add(m[1:-1] if m[0] in "'\"" else m)
        found.update(re.findall(r"'([^' ]+)'", s))
    return found


def _schema_texts() -> list[str]:
    out = []
    for t in TOOLS.values():
        out.append(t.description)
        out.extend(p.description for p in t.parameters)
    return out


# --------------------------------------------------------------------------- names, categories, errors


def test_thirty_unique_tools_in_spec_order():
    # The one place the built-in count is asserted; other tests read it from the registry (len(TOOLS)).
    assert len(TOOL_NAMES) == len(set(TOOL_NAMES)) == 30
    assert TOOL_NAMES == tuple(TOOLS)  # nothing but the built-ins is registered
    assert CATEGORIES == SPEC_CATEGORIES
    expected = [f"{c}_{o}" for c, ops in SPEC_CATEGORIES.items() for o in ops]
    assert list(TOOL_NAMES) == expected


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_name_category_operation_consistent(name):
    t = TOOLS[name]
    assert t.name == f"{t.category}_{t.operation}"
    assert t.operation in CATEGORIES[t.category]
    assert t.purpose.endswith(".") and len(t.purpose) > 20


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


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_parameters(name):
    t = TOOLS[name]
    required = t.required_params
    assert 1 <= len(required) <= 4
    assert 0 <= len(t.optional_params) <= 3
    names = [p.name for p in t.parameters]
    assert len(names) == len(set(names))
    assert t.param_names == frozenset(names)
    for p in t.parameters:
        assert p.type in JSON_TYPES
        assert p.description and p.description.endswith(".")
        if p.enum is not None:
            assert p.type == "string" and len(p.enum) >= 2
        assert p.check is None or p.check in CHECKS
        assert p.literal is None or p.literal in LITERAL_ROLES
        if p.is_data:
            assert p.type == "string", "a data parameter takes a handle (a string)"
            assert p.accepts and all(a in DATA_TYPES or a == ANY for a in p.accepts)
            assert p.check is None and p.enum is None
            assert "handle" in p.description
        if p.minimum is not None or p.maximum is not None:
            assert p.type in ("integer", "number")
            assert p.minimum is None or p.maximum is None or p.minimum < p.maximum


def test_all_json_types_used_and_most_tools_take_data():
    used = {p.type for t in TOOLS.values() for p in t.parameters}
    assert used == set(JSON_TYPES)
    with_input = [t for t in TOOLS.values() if any(p.name == "input" and p.required and p.is_data for p in t.parameters)]
    assert len(with_input) >= 24
    used_checks = {p.check for t in TOOLS.values() for p in t.parameters if p.check}
    assert used_checks <= set(CHECKS) and len(used_checks) >= len(CHECKS) - 1
    assert set(LITERAL_ROLES) == {p.literal for t in TOOLS.values() for p in t.parameters if p.literal}


def test_reader_and_fetcher_take_the_task_source():
    r = get_tool("file_operations_reader")
    path = {p.name: p for p in r.parameters}["path"]
    assert path.required and path.is_data and path.accepts == ("file_list",) and path.literal == "source_path"
    f = get_tool("network_fetcher")
    by_name = {p.name: p for p in f.parameters}
    assert by_name["url"].literal == "source_url" and not by_name["url"].is_data
    assert by_name["session"].accepts == ("session",) and not by_name["session"].required
    a = get_tool("integration_authenticator")
    assert {p.literal for p in a.parameters} == {"service", "credential"}
    assert not a.data_params


# --------------------------------------------------------------------------- the typed graph


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_typed_output(name):
    t = TOOLS[name]
    assert t.output in DATA_TYPES or t.output == SAME
    if t.output == SAME:
        assert any(p.name == "input" for p in t.data_params)
    fields = dict(t.returns)
    assert len(fields) == len(t.returns) and 1 <= len(fields) <= 3
    assert set(fields.values()) <= set(JSON_TYPES)
    assert "handle" not in fields and "type" not in fields  # every result carries these anyway


def test_every_data_type_is_produced_and_consumed():
    produced = {t.output for t in TOOLS.values() if t.output != SAME}
    assert produced == set(DATA_TYPES), set(DATA_TYPES) - produced
    explicit = _explicitly_accepted()
    # Every type is taken by some tool by name, or is a final result only the "any handle" utilities take.
    assert set(DATA_TYPES) - explicit == FINAL_TYPES
    any_tools = [t for t in TOOLS.values() if any(p.accepts == (ANY,) for p in t.data_params)]
    assert {t.name for t in any_tools} == {"utility_logger", "utility_tracker", "utility_notifier", "utility_helper"}
    for dtype in DATA_TYPES:
        assert any(accepts(p, dtype) for t in TOOLS.values() for p in t.data_params), dtype


def test_source_tools_need_no_handle():
    """The tools a chain can start with are exactly those whose required data parameters can be literals."""
    starters = {
        t.name for t in TOOLS.values()
        if all(p.literal or not p.is_data for p in t.required_params)
    }
    assert starters == SOURCE_TOOLS
    for name in SOURCE_TOOLS:
        assert any(p.literal in ("source_path", "source_directory", "source_url", "service") for p in TOOLS[name].parameters)


def test_fan_in_parameters():
    mapper = {p.name: p for p in get_tool("integration_mapper").data_params}
    assert mapper["input"].accepts == ("records",) and mapper["connection"].accepts == ("connection",)
    assert all(p.required for p in mapper.values())
    assert get_tool("integration_connector").data_params[0].accepts == ("session",)
    poster = {p.name: p for p in get_tool("network_poster").parameters}
    assert poster["session"].accepts == ("session",) and poster["url"].literal == "endpoint"


def test_output_type_and_accepts():
    cache = get_tool("utility_cache")
    assert output_type(cache, "summary") == "summary"
    assert output_type(cache, None) == "records"
    assert output_type(get_tool("data_processing_parser"), "raw") == "records"
    parser_input = get_tool("data_processing_parser").data_params[0]
    assert accepts(parser_input, "raw") and accepts(parser_input, "response")
    assert not accepts(parser_input, "records")
    logger_input = get_tool("utility_logger").data_params[0]
    assert accepts(logger_input, "session") and accepts(logger_input, "value")
    assert not accepts(Param("x", "string", "Not data."), "raw")


def test_typical_chain_type_checks():
    """A reader's raw content parses into records that aggregate into a summary a writer saves."""
    chain = ["file_operations_reader", "data_processing_parser", "data_processing_aggregator", "file_operations_writer"]
    current = get_tool(chain[0]).output
    for name in chain[1:]:
        spec = get_tool(name)
        main = next(p for p in spec.data_params if p.name == "input")
        assert accepts(main, current), (name, current)
        current = output_type(spec, current)
    assert current == "file"


# --------------------------------------------------------------------------- descriptions


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_description_names_inputs_output_and_uses(name):
    t = TOOLS[name]
    d = t.description
    assert d.startswith(t.purpose)
    assert " Takes: " in d and " Returns: " in d and " Typical uses: " in d
    for p in t.data_params:
        assert f"`{p.name}`" in d
        for a in p.accepts or ():
            if a != ANY:
                assert f"`{a}`" in d, (name, a)
        if p.literal:
            assert p.literal.replace("_", " ") in d
    for p in t.parameters:
        if p.literal and not p.is_data:
            assert f"`{p.name}` (the task's {p.literal.replace('_', ' ')})" in d
    if t.output == SAME:
        assert "same type as its input" in d
    else:
        assert f"a `{t.output}` handle" in d
    for use in t.uses:
        assert use in d
    assert not any(other in d for other in TOOL_NAMES), "a description never names a tool"


def test_uses_are_unique_and_plain():
    seen: dict[str, str] = {}
    forbidden = [n.lower() for n in TOOL_NAMES] + [c.replace("_", " ") for c in CATEGORIES] + list(CATEGORIES)
    for t in TOOLS.values():
        assert len(t.uses) == 3, t.name
        for use in t.uses:
            low = use.lower()
            assert use == use.strip() and len(use) > 10 and not use.endswith(".")
            assert low not in seen, f"{use!r} used by {seen.get(low)} and {t.name}"
            seen[low] = t.name
            assert not any(w in low for w in forbidden), (t.name, use)


# --------------------------------------------------------------------------- schemas


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
    assert params["additionalProperties"] is False
    props = params["properties"]
    assert list(props) == [p.name for p in t.parameters]
    assert params["required"] == [p.name for p in t.parameters if p.required]
    for p in t.parameters:
        prop = props[p.name]
        assert prop["type"] == p.type and prop["description"] == p.description
        if p.enum is not None:
            assert prop["enum"] == list(p.enum)
        if p.type == "array":
            assert prop["items"]["type"] in JSON_TYPES
        if p.minimum is not None:
            assert prop["minimum"] == p.minimum
        if p.maximum is not None:
            assert prop["maximum"] == p.maximum
    assert t.schema() is s  # cached
    json.dumps(s)  # plain JSON


def test_schema_cache_not_shared_with_ad_hoc_spec():
    real = get_tool("utility_helper")
    fake = ToolSpec(
        name=real.name, category=real.category, operation=real.operation, purpose="Something else entirely.",
        parameters=(), output="value", returns=real.returns, errors=real.errors, uses=("do a thing once",),
    )
    assert fake.schema()["function"]["description"].startswith("Something else entirely.")
    assert real.schema()["function"]["description"] == real.description
    assert fake.schema() is not real.schema()


def test_get_tool_and_tool_schemas():
    assert get_tool("network_fetcher") is TOOLS["network_fetcher"]
    with pytest.raises(KeyError, match="no_such_tool"):
        get_tool("no_such_tool")
    schemas = tool_schemas(["network_fetcher", "data_processing_parser"])
    assert [s["function"]["name"] for s in schemas] == ["network_fetcher", "data_processing_parser"]
    assert tool_schemas([]) == []
    with pytest.raises(KeyError):
        tool_schemas(["nope"])


# --------------------------------------------------------------------------- schema examples vs tasks


def test_examples_exist():
    examples = _schema_examples()
    assert {"sum(F) * 1.2", "0 6 * * 1", "FIELD == 'x' and OTHER > 10", '{"price_change": 0.05}'} <= examples


def test_no_task_literal_or_setting_copies_a_schema_example():
    """A model must read the task: no generated literal equals (or is quoted in) the schemas' example text,
    and no step setting is a schema example copied verbatim."""
    from pilotbench.benchmark.tasks import generate_instance
    from pilotbench.benchmark.types import TASK_TYPES

    examples = _schema_examples()
    texts = _schema_texts()
    for task_type in TASK_TYPES:
        for i in range(200):
            inst = generate_instance(task_type, i)
            for role, value in inst.inputs.items():
                assert value not in examples, (inst.id, role, value)
                assert not any(value in text for text in texts), (inst.id, role, value)
            for step in inst.steps:
                params = {p.name: p for p in TOOLS[step.tool].parameters}
                for name, value in step.args:
                    if params[name].enum is not None:
                        continue  # an enum's values are the schema's own choices
                    shown = value if isinstance(value, str) else json.dumps(value)
                    assert shown not in examples, (inst.id, step.tool, name, shown)
