"""Settings are compared by meaning (benchmark/settings.py), and a valid but wrong setting leaves its step undone."""

from __future__ import annotations

import pytest

from pilotbench.benchmark.scoring import score
from pilotbench.benchmark.settings import cron_schedule, same_setting, wrong_settings
from pilotbench.benchmark.simulator import ToolSimulator
from pilotbench.benchmark.tasks import TaskInstance, generate_instance
from pilotbench.benchmark.types import TASK_TYPES, CallRecord, Trajectory


@pytest.mark.parametrize(("expected", "given"), [
    ("amount < 7565", "7565 > amount"),
    ("amount < 7565", "amount<7565.0"),
    ("amount >= 10 and region == 'EMEA'", "region = \"emea\" and amount >= 10"),
    ("orders_count > 5", "orders_count >= 6"),  # whole numbers (orders_count is an integer field below)
])
def test_equivalent_conditions(expected: str, given: str) -> None:
    assert same_setting("condition", expected, given, frozenset({"orders_count"}))


@pytest.mark.parametrize(("expected", "given"), [
    ("amount < 7565", "amount > 7565"),  # the direction the task states
    ("amount < 7565", "amount <= 7565"),  # not the same on a decimal field
    ("amount < 7565", "amount < 7600"),
    ("amount >= 10 and region == 'EMEA'", "amount >= 10"),  # a term dropped
    ("amount >= 10 and region == 'EMEA'", "amount >= 10 or region == 'EMEA'"),
    ("amount < 7565", "total < 7565"),
])
def test_different_conditions(expected: str, given: str) -> None:
    assert not same_setting("condition", expected, given)


def test_expressions_compare_by_value() -> None:
    assert same_setting("expression", "sum(amount) * 0.075", "sum(amount)*7.5/100")
    assert same_setting("expression", "max(amount) - min(amount)", "-(min(amount) - max(amount))")
    assert same_setting("expression", "sum(a) / count()", "avg(a)")
    assert not same_setting("expression", "sum(a) / sum(b)", "sum(b) / sum(a)")
    assert not same_setting("expression", "sum(amount) * 0.075", "sum(amount) * 0.75")
    assert not same_setting("expression", "sum(amount)", "sum(amount) +")  # not an expression


def test_cron_by_schedule_and_timezone_default() -> None:
    assert same_setting("cron", "0 7 * * 1-5", "00 07 * * MON-FRI")
    assert same_setting("cron", "45 23 * * 0", "45 23 * * 7")
    assert same_setting("cron", "0 */4 * * *", "0 0,4,8,12,16,20 * * *")
    assert not same_setting("cron", "0 7 * * 1-5", "0 0 1 1 *")
    assert not same_setting("cron", "30 2 * * *", "30 14 * * *")
    assert cron_schedule("61 * * * *") is None
    assert same_setting("timezone", None, "UTC") and same_setting("timezone", "UTC", None)
    assert not same_setting("timezone", "Europe/Berlin", None)


def test_sets_aliases_and_objects() -> None:
    assert same_setting("columns", ["a", "b"], ["b", "a"])
    assert same_setting("group_by", ["region"], "region")
    assert not same_setting("columns", ["a", "b"], ["a"])
    assert same_setting("target_format", "yaml", "YML")
    assert same_setting("algorithm", "gzip", "gz")
    assert same_setting("strategy", "least_latency", "least-latency")
    assert not same_setting("target_format", "csv", "json")
    assert same_setting("constraints", {"budget": {"max": 40000}}, {"budget": {"max": 40000.0}})
    assert not same_setting("constraints", {"budget": {"max": 40000}}, {"budget": {"min": 40000}})
    assert same_setting("rules", {"id": {"required": True}, "x": {"min": 0}}, {"x": {"min": 0.0}, "id": {"required": True}})
    assert same_setting("operations", ["cast:a:int", "derive:r=a / b"], ["derive:r = a/b", "cast:a:integer"])
    assert not same_setting("operations", ["cast:a:int", "derive:r=a / b"], ["cast:a:int", "derive:r=b / a"])
    assert not same_setting("interval_seconds", 30, 60)
    assert wrong_settings({"cron": "0 7 * * 1-5", "timezone": "UTC"}, {"cron": "0 7 * * 1-5"}) == ()
    assert wrong_settings({"cron": "0 7 * * 1-5"}, {"cron": "0 0 1 1 *"}) == ("cron",)


def test_every_generated_step_setting_equals_itself_and_free_settings_are_declared() -> None:
    for t in TASK_TYPES:
        for i in range(60):
            task = generate_instance(t, i)
            integers = frozenset(n for n, ty in task.fields if ty == "integer")
            for s in task.steps:
                assert wrong_settings(s.checked_args, dict(s.args), integers) == (), (task.id, s)
                assert set(s.checked) | set(s.free) == {k for k, _ in s.args}
                row = s.to_dict()
                assert row["checked"] == list(s.checked) and row["free"] == list(s.free)


def _play(task: TaskInstance, override: dict[str, dict]) -> Trajectory:
    """The task's own chain, with some steps' settings replaced, through a real simulator."""
    sim = ToolSimulator("settings", 1.0, literals=task.inputs, fields=task.fields, source_format=task.source_format)
    traj = Trajectory()
    handles: list[str] = []
    for k, step in enumerate(task.steps):
        args = {p: (handles[v] if isinstance(v, int) else task.inputs[v]) for p, v in step.feeds}
        args.update(dict(step.args))
        args.update(override.get(step.tool, {}))
        r = sim.execute(step.tool, args)
        assert r.success, (task.id, step.tool, r.message)
        handles.append(r.handle or "")
        traj.turns += 1
        traj.calls.append(CallRecord(traj.turns, step.tool, args, r.success, r.error_code, handle=r.handle,
                                     inputs=r.inputs, refused=r.refused, data_refusal=r.data_refusal))
    traj.stop_reason = "final_answer"
    traj.final_answer = f"Done.\nRESULT: {handles[-1]}"
    traj.result_handle = handles[-1]
    traj.declared_completion = True
    return traj


def _find(tool: str) -> TaskInstance:
    return next(t for tt in TASK_TYPES for i in range(200) if tool in (t := generate_instance(tt, i)).required_tools)


def test_right_settings_full_success_and_a_contradicting_setting_is_a_config_error() -> None:
    task = _find("data_processing_filter")
    assert score(task, _play(task, {})).success_level == "full_success"
    cond = dict(next(s for s in task.steps if s.tool == "data_processing_filter").args)["condition"]
    flipped = cond.replace("<=", "§").replace(">=", "<=").replace("§", ">=") if "=" in cond.split()[1] else \
        cond.replace("<", "§").replace(">", "<").replace("§", ">")
    s = score(task, _play(task, {"data_processing_filter": {"condition": flipped}}))
    assert s.success_level != "full_success"
    assert s.error_category == "parameter_config_errors"


def test_a_wrong_schedule_is_a_config_error() -> None:
    task = _find("integration_scheduler")
    s = score(task, _play(task, {"integration_scheduler": {"cron": "0 0 1 1 *"}}))
    assert s.success_level != "full_success" and s.error_category == "parameter_config_errors"


def test_a_setting_left_out_is_the_default_its_schema_states() -> None:
    from pilotbench.benchmark.scoring import _DEFAULTS
    from pilotbench.benchmark.settings import stated_default

    assert stated_default("Severity (default info).") == "info"
    assert stated_default("Glob pattern (default '*').") == "*"
    assert stated_default("Time to live (default 3600).") == 3600
    assert stated_default("Existing fields to include (default: all numeric).") is None
    writer = _DEFAULTS["file_operations_writer"]
    assert wrong_settings({"mode": "overwrite"}, {}, defaults=writer) == ()  # "replacing any file already there"
    assert wrong_settings({"mode": "create"}, {}, defaults=writer) == ("mode",)  # "as a new file": must be said
    assert wrong_settings({"timezone": "UTC"}, {"cron": "0 7 * * *"}, defaults=_DEFAULTS["integration_scheduler"]) == ()


def test_a_scenario_may_name_its_direction_either_way() -> None:
    """"a volume drop of 10%": {"volume_drop": 0.1} and {"volume_change": -0.1} say the same."""
    assert same_setting("scenario", {"volume_drop": 0.1}, {"volume_change": -0.1})
    assert same_setting("scenario", {"volume_drop": 0.1}, {"volume_drop": 0.1})
    assert same_setting("scenario", {"cost_increase": 0.08}, {"cost_change": 0.08})
    assert same_setting("scenario", {"demand_shift": -0.1}, {"demand_change": -0.1})
    assert not same_setting("scenario", {"volume_drop": 0.1}, {"volume_change": 0.1})  # the wrong way
    assert not same_setting("scenario", {"volume_drop": 0.1}, {"volume_drop": 10})  # 10% is 0.1
    assert not same_setting("scenario", {"delay_rate": 0.1}, {"delay_change": 0.1})  # a rate is no change
