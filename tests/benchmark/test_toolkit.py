"""The tool registry: a tool is one place, and a new tool is one `Tool` plus one registration.

A toy tool written here (not in the package) is registered for the length of a test; the generator
then builds tasks that use it, their text states it (the derivability check passes), a scripted model
runs them through an Episode on the simulator and they score full success. Outside the registration
nothing of it remains: the catalog, the generated suite, its version and the offered schemas are the
built-in ones again.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from pilotbench.benchmark import prompts, walk, wording
from pilotbench.benchmark.derivable import problems, surfaces
from pilotbench.benchmark.episode import Episode
from pilotbench.benchmark.plans import optimal_plan
from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.scoring import analyse, score
from pilotbench.benchmark.settings import same_setting
from pilotbench.benchmark.simulator import ToolSimulator
from pilotbench.benchmark.tasks import TaskInstance, generate_instance, step_phrases
from pilotbench.benchmark.toolkit import BUILTIN_NAMES, ENTRIES, Tool, register, registered, unregister
from pilotbench.benchmark.toolkit.base import _Data, _Say
from pilotbench.benchmark.toolkit.spec import Param, _data, _tool
from pilotbench.benchmark.tools import TOOL_NAMES, TOOLS
from pilotbench.benchmark.types import CallRecord, ModelOutput
from pilotbench.benchmark.versions import suite_version
from pilotbench.models.simulated import SKILLS, SimulatedModel, policy
from pilotbench.models.simulated.lexicon import _lexicon_for
from tests.benchmark.task_factory import make_step, make_task

TOY = "data_processing_deduplicator"


_KEPT_WORDS = {"first": "the earliest", "last": "the latest"}


def _say_dedup(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    main = ins["input"]
    key = next((n for n, t in main.fields if t == "string"), main.fields[0][0])
    keep = g.rng.choice(("first", "last"))
    listed = g.rng.sample([n for n, _ in main.fields if n != key], 2)
    text = f"one entry per {key}, {_KEPT_WORDS[keep]}, listing the {listed[0]} and {listed[1]} of each removed entry"
    args = {"key_field": key, "keep": keep, "report_fields": listed}
    return _Say(args, f"remove the duplicate entries of {src}, keeping {text}", text, f"keeping {text}", ""), \
        main.copy(type="records")


# The whole of a new tool: its spec, its wording and its weight in the walk (the simulator's generic
# checks and a pass-through record count are enough for it).
DEDUPLICATOR = Tool(
    spec=_tool(
        "data_processing", "deduplicator",
        "Drops records that repeat an earlier record's value of a key field.",
        (
            _data("input", ("records",), "Records to deduplicate"),
            Param("key_field", "string", "Existing field whose repeated values mark duplicates.", check="field"),
            # Two settings whose names no built-in tool has: one worded the tool's own way (its `surfaces`
            # say how), one compared as a set because its check kind says so.
            Param("keep", "string", "Which of the duplicates to keep (default first).", required=False,
                  enum=("first", "last")),
            Param("report_fields", "array", "Existing fields to list for each removed duplicate.", required=False,
                  check="fields"),
        ),
        "records", (("duplicates_removed", "integer"),),
        ("drop repeated entries", "keep one row per key", "remove duplicates"),
    ),
    say=_say_dedup,
    ref="the deduplicated records",
    hard=("[remove|drop] the duplicate entries of {src}, keeping {d}", "keep {d} in {src}, [dropping|removing] repeats"),
    very_hard=("{src} with [duplicates|repeats] removed, keeping {d}", "[a deduplicated copy|a copy without repeats] of {src}, "
               "with {d}"),
    checked=("key_field", "keep", "report_fields"),
    surfaces={"keep": lambda v: [(_KEPT_WORDS[v].removeprefix("the "),)]},
    weight=40.0,
    pass_through=True,
    extras={"duplicates_removed": lambda r, n: r.randint(0, n // 10)},
)


def _run_scripted(task: TaskInstance, toy_args: dict[str, Any] | None = None) -> Episode:
    """A model that follows the optimal plan to the letter, natively, and reports the last handle;
    `toy_args` changes the toy tool's settings (None: leaves that setting out)."""
    ep = Episode("toy-test", task, render_prompt(task, "easy", "optimal"), 1.0)
    handles: dict[int, str] = {}
    for n, step in enumerate(optimal_plan(task).steps, 1):
        args = dict(step.args)
        if step.tool == TOY:
            args.update(toy_args or {})
            args = {k: v for k, v in args.items() if v is not None}
        for param, ref in step.inputs:
            args[param] = handles[ref] if isinstance(ref, int) else ref
        assert ep.step(ModelOutput.for_tool_call(step.tool, args, call_id=f"call_{n}")) is False
        obs = json.loads(ep.messages[-1]["content"])
        assert obs["status"] == "success", (step.tool, obs)
        handles[n] = obs["handle"]
    assert ep.step(ModelOutput.for_text(f"FINAL ANSWER: done\nRESULT: {handles[len(handles)]}")) is True
    return ep


def _suite(n: int = 40) -> list[dict[str, Any]]:
    return [generate_instance(t, i).to_dict() for t in ("data_pipeline", "multi_stage_pipeline") for i in range(n)]


def test_a_registered_tool_is_generated_run_and_scored_and_leaves_nothing_behind() -> None:
    before_suite, before_version = _suite(), suite_version()
    with registered(DEDUPLICATOR):
        assert TOOLS[TOY] is DEDUPLICATOR.spec and TOY in wording._HARD and TOY in dict(walk._CONSUMERS["records"])
        tasks = [generate_instance(t, i) for t in ("data_pipeline", "multi_stage_pipeline", "basic_task") for i in range(60)]
        using = [t for t in tasks if TOY in t.required_tools]
        assert len(using) >= 10, len(using)
        assert suite_version() != before_version  # another catalog and other tasks: another suite
        for task in using[:10]:
            k = task.required_tools.index(TOY)
            assert task.description("very_easy").count(f"`{TOY}`") == 1
            assert dict(task.steps[k].args)["key_field"] in task.description("hard")
            assert task.steps[k].checked == ("key_field", "keep", "report_fields")
            assert problems(task, step_phrases(task.task_type, task.index)) == []
            ep = _run_scripted(task)
            assert ep.tools is not None and TOY in {t["function"]["name"] for t in ep.tools}
            call = ep.trajectory.calls[k]
            assert call.name == TOY and call.success and call.known_tool
            result = score(task, ep.trajectory)
            assert result.success_level == "full_success" and result.efficiency == 1.0, result
        # The simulator holds it to its spec with the generic checks, and reports its extra field.
        task = using[0]
        sim = ToolSimulator("toy-world", 1.0, literals=task.declared_inputs, fields=task.fields,
                            source_format=task.source_format)
        read = sim.execute("file_operations_reader", {"path": task.declared_inputs["source_path"]})
        parsed = sim.execute("data_processing_parser", {"input": read.handle, "format": task.source_format})
        assert read.success and parsed.success and parsed.output is not None
        bad = sim.execute(TOY, {"input": parsed.handle, "key_field": "no_such_field"})
        assert not bad.success and bad.error_code == "INVALID_INPUT" and bad.refused == "key_field"
        good = sim.execute(TOY, {"input": parsed.handle, "key_field": task.fields[0][0]})
        assert good.success and good.output is not None and good.output["type"] == "records"
        assert good.output["summary"]["records"] == parsed.output["summary"]["records"]
        assert 0 <= good.output["summary"]["duplicates_removed"] <= good.output["summary"]["records"] // 10
        # Its new settings are compared as the registry says, and a wrong one leaves the step not done.
        for task in using[:10]:
            k = task.required_tools.index(TOY)
            stated = dict(task.steps[k].args)
            other = "last" if stated["keep"] == "first" else "first"
            wrong = _run_scripted(task, {"keep": other})
            assert analyse(task, wrong.trajectory.calls).wrong_settings[k] == ("keep",)
            assert wrong.trajectory.calls[k].success and score(task, wrong.trajectory).success_level != "full_success"
            # a left-out `keep` is the default its description states, "first"
            left_out = _run_scripted(task, {"keep": None})
            assert analyse(task, left_out.trajectory.calls).wrong_settings[k] == (() if stated["keep"] == "first" else ("keep",))
            assert (score(task, left_out.trajectory).success_level == "full_success") is (stated["keep"] == "first")
            # a set of fields: any order is the same setting, a missing field is not
            listed = stated["report_fields"]
            assert score(task, _run_scripted(task, {"report_fields": listed[::-1]}).trajectory).success_level == "full_success"
            short = _run_scripted(task, {"report_fields": listed[:1]})
            assert analyse(task, short.trajectory.calls).wrong_settings[k] == ("report_fields",)
        assert same_setting("report_fields", ["a", "b"], ["b", "a"])
        # The derivability check reads how the tool words `keep`, and the check kind of `report_fields`.
        assert surfaces(TOY, "keep", "last") == [("latest",)]
        assert surfaces(TOY, "report_fields", ["a", "b"]) == [("a",), ("b",)]
    # Nothing of it outlives the registration.
    assert not same_setting("report_fields", ["a", "b"], ["b", "a"])  # a value again: order counts
    assert surfaces(TOY, "keep", "last") == [("last",)]
    assert tuple(TOOLS) == TOOL_NAMES == BUILTIN_NAMES and TOY not in ENTRIES
    assert TOY not in wording._HARD and TOY not in wording._REF and TOY not in dict(walk._CONSUMERS["records"])
    assert len(prompts._native_tools()) == len(TOOL_NAMES)
    assert _suite() == before_suite and suite_version() == before_version


def test_a_weak_simulated_model_names_a_missing_field_in_a_new_tools_field_setting() -> None:
    """The simulated models read only the schemas they are offered: a new tool's required setting that
    takes an existing field is one a weak model can get wrong, with no table naming it."""
    view = _lexicon_for([DEDUPLICATOR.spec.schema()], "").tools[TOY]
    assert policy._wrong_fields(view)["key_field"] == "total_value"
    model = SimulatedModel("sim/weak", SKILLS["sim/weak"])
    args = {"input": "h_0000abcd", "key_field": "region", "keep": "first", "report_fields": ["a", "b"]}
    seen = [model._corrupt(args, view, random.Random(seed)) for seed in range(40)]
    assert any(c["key_field"] == "total_value" for c in seen if "key_field" in c)
    assert all(c.get("keep") == "first" and c.get("report_fields") == ["a", "b"] for c in seen)
    # The built-in tools' schemas add nothing to the table: their simulated scores do not move.
    lex = _lexicon_for([spec.schema() for spec in TOOLS.values()], "")
    assert all(set(policy._wrong_fields(v)) == set(policy._WRONG_FIELD) for v in lex.tools.values())


def test_a_setting_is_compared_as_its_own_tool_declares_it_whatever_its_name() -> None:
    """The analyzer's `columns` is a set (check "fields"); a registered tool's `columns` without that check
    is an ordered list, and the scorer compares each tool's setting as that tool declares it."""
    import dataclasses

    ordered = Param("columns", "array", "Fields to list, in the order given.")
    spec = dataclasses.replace(DEDUPLICATOR.spec, parameters=(*DEDUPLICATOR.spec.parameters[:1], ordered))
    toy = dataclasses.replace(DEDUPLICATOR, spec=spec, checked=("columns",), surfaces={})

    def verdict(tool: str, given: list[str]) -> tuple[str, ...]:
        task = make_task([make_step(tool, args={"columns": ["a", "b"]}, checked=("columns",))], {})
        call = CallRecord(1, tool, {"input": "h_00000001", "columns": given}, True, handle="h_00000002")
        return analyse(task, [call]).wrong_settings[0]

    with registered(toy):
        assert verdict(TOY, ["a", "b"]) == () and verdict(TOY, ["b", "a"]) == ("columns",)
        assert verdict("computation_analyzer", ["b", "a"]) == ()


def test_registration_is_undone_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), registered(DEDUPLICATOR):
        assert TOY in TOOLS
        raise RuntimeError("boom")
    assert TOY not in TOOLS and TOY not in wording._CHECKED


def test_a_malformed_or_duplicate_tool_is_refused() -> None:
    import dataclasses

    with pytest.raises(ValueError, match="already registered"):
        register(ENTRIES["data_processing_parser"])
    with pytest.raises(ValueError, match="checked settings"):
        register(dataclasses.replace(DEDUPLICATOR, checked=("no_such_param",)))
    with pytest.raises(ValueError, match="wording"):
        register(dataclasses.replace(DEDUPLICATOR, hard=()))
    with pytest.raises(ValueError, match="built-in"):
        unregister("data_processing_parser")
    assert tuple(TOOLS) == BUILTIN_NAMES


def test_every_builtin_tool_is_one_entry_with_its_wording() -> None:
    """Each built-in's spec, phrases, reference and checked settings come from its one entry."""
    assert tuple(ENTRIES) == BUILTIN_NAMES
    for name, tool in ENTRIES.items():
        assert TOOLS[name] is tool.spec
        assert wording._HARD[name] == tool.hard and wording._VH[name] == tool.very_hard
        assert wording._REF[name] == tool.ref
        assert wording._CHECKED.get(name, ()) == tool.checked
        assert set(tool.checked) <= tool.spec.param_names
