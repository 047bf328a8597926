"""The scoring rules in words, as data (`scoring.explain`), and the scorer's verdict per step with
its reasons (`scoring.explain_steps`): every rule has words, and every reason can be given."""

from __future__ import annotations

from pilotbench.benchmark import scoring
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.benchmark.types import ERROR_CATEGORIES, SUCCESS_LEVELS, CallRecord


def test_every_rule_and_every_step_reason_has_words() -> None:
    for steps in (None, 2, 7):
        rules = scoring.explain(steps)
        assert set(rules.levels) == set(SUCCESS_LEVELS)
        assert set(rules.categories) == set(ERROR_CATEGORIES)
        assert set(rules.step_reasons) == set(scoring.STEP_REASONS)
        for text in [*rules.levels.values(), *rules.categories.values(), *rules.step_reasons.values()]:
            assert text.strip(), rules
    assert "more than 7 calls" in scoring.explain(7).categories["tool_selection_errors"]
    assert "the task's number of steps" in scoring.explain().categories["tool_selection_errors"]


def test_the_rules_words_do_not_come_from_the_docstring(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    before = scoring.explain(4)
    monkeypatch.setattr(scoring, "__doc__", "")
    assert scoring.explain(4) == before


def _task():  # type: ignore[no-untyped-def]
    """basic_task 0 of seed 42: fetch (a literal URL) -> cache (ttl_seconds checked) -> parse (format checked)."""
    task = generate_instance("basic_task", 0, 42)
    assert [s.tool for s in task.steps] == ["network_fetcher", "utility_cache", "data_processing_parser"]
    assert task.steps[1].checked == ("ttl_seconds",)
    return task


def test_each_reason_a_step_did_not_count_is_given() -> None:
    task = _task()
    url = task.inputs["source_url"]
    ttl = dict(task.steps[1].args)["ttl_seconds"]
    calls = [
        CallRecord(1, "network_fetcher", {"url": url}, True, handle="h_1", inputs={"url": url}),
        CallRecord(2, "data_processing_parser", {"input": "h_1", "format": "json"}, True, handle="h_2", inputs={"input": "h_1"}),
        CallRecord(3, "utility_cache", {"input": "h_1", "ttl_seconds": "soon"}, False, "INVALID_INPUT", refused="ttl_seconds"),
        CallRecord(4, "utility_cache", {"input": "h_9"}, False, "INVALID_INPUT", refused="input", data_refusal=True),
        CallRecord(5, "utility_cache", {"input": "h_1", "ttl_seconds": ttl + 1}, True, handle="h_3", inputs={"input": "h_1"}),
        CallRecord(6, "utility_cache", {"input": "h_1", "ttl_seconds": ttl}, False, "TIMEOUT", inputs={"input": "h_1"}),
    ]
    first, cache, parse = scoring.explain_steps(task, calls)
    assert first == scoring.StepVerdict(True, "done by call 1 (turn 1) on its inputs' right values")
    assert not cache.done and cache.why == (
        "refused for ttl_seconds: a setting; refused for input: a data input (an invented or wrong-typed handle); "
        "succeeded on its inputs' right values with a setting other than the task states: ttl_seconds; failed: TIMEOUT")
    assert not parse.done
    assert parse.why == "called before step 2 was done; succeeded on an input that is not its upstream step's output"
    assert [v.why for v in scoring.explain_steps(task, [])] == ["never called"] * 3
    no_handle = [CallRecord(1, "network_fetcher", {"url": url}, True, inputs={"url": url})]
    assert scoring.explain_steps(task, no_handle)[0] == scoring.StepVerdict(False, "not done")


def test_a_step_done_with_the_stated_setting_counts() -> None:
    task = _task()
    url = task.inputs["source_url"]
    ttl = dict(task.steps[1].args)["ttl_seconds"]
    calls = [
        CallRecord(1, "network_fetcher", {"url": url}, True, handle="h_1", inputs={"url": url}),
        CallRecord(2, "utility_cache", {"input": "h_1", "ttl_seconds": ttl}, True, handle="h_2", inputs={"input": "h_1"}),
    ]
    assert [v.done for v in scoring.explain_steps(task, calls)] == [True, True, False]
