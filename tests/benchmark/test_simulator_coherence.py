"""Tool results that hang together: counts follow from inputs, a schedule's next run follows its cron.

A careful model checks what the tools report (43 groups from 38 records, a queue deeper than what
was put on it, a one-record optimum written as a thousand records, a 07:00 job due at 08:00 would
rightly make it distrust the chain). The properties below run the optimal chain of generated tasks,
and random single calls, through the simulator and check every count and date it reports.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilotbench.benchmark.plans import optimal_plan
from pilotbench.benchmark.simulator import ToolSimulator
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.benchmark.types import TASK_TYPES

PASS_THROUGH = {
    "data_processing_transformer", "integration_mapper", "utility_cache", "file_operations_converter",
    "file_operations_writer", "file_operations_compressor", "integration_queue", "network_router", "network_validator",
}
ONE_RECORD = {
    "network_poster", "network_monitor", "computation_calculator", "computation_optimizer",
    "integration_authenticator", "integration_connector", "integration_scheduler", "utility_logger",
    "utility_tracker", "utility_notifier", "utility_helper",
}
PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- an independent cron reader


def _values(field: str, lo: int, hi: int) -> set[int]:
    out: set[int] = set()
    for item in field.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            first, last = lo, hi
        elif "-" in base:
            first, last = map(int, base.split("-"))
        else:
            first = int(base)
            last = hi if step else first
        out.update(range(first, last + 1, int(step or 1)))
    return out


def cron_matches(cron: str, local: datetime) -> bool:
    minute, hour, dom, month, dow = cron.split()
    days = local.day in _values(dom, 1, 31)
    weekdays = (local.isoweekday() % 7) in {d % 7 for d in _values(dow, 0, 7)}
    day_ok = (days or weekdays) if (dom[0] != "*" and dow[0] != "*") else (days and weekdays)
    return (local.minute in _values(minute, 0, 59) and local.hour in _values(hour, 0, 23)
            and local.month in _values(month, 1, 12) and day_ok)


def check_next_run(summary: dict[str, Any], cron: str, tz: str | None) -> datetime:
    when = datetime.fromisoformat(summary["next_run"])
    zone = ZoneInfo(tz) if tz else timezone.utc
    assert when.utcoffset() == when.replace(tzinfo=None).replace(tzinfo=zone).utcoffset(), summary
    assert cron_matches(cron, when), (cron, tz, summary)
    assert summary["timezone"] == (tz or "UTC")
    return when


# --------------------------------------------------------------------------- the optimal chain


def run_chain(task_type: str, index: int, world: str) -> None:
    task = generate_instance(task_type, index)
    sim = ToolSimulator(world, 1.0, literals=task.declared_inputs, fields=task.fields, source_format=task.source_format)
    handles: dict[int, str] = {}
    counts: dict[str, int] = {}  # handle -> records
    enqueued: dict[str, int] = {}
    for n, step in enumerate(optimal_plan(task).steps, 1):
        args = dict(step.args)
        for param, ref in step.inputs:
            args[param] = handles[ref] if isinstance(ref, int) else ref
        result = sim.execute(step.tool, args)
        assert result.success, (task.id, step.tool, result.message)
        handles[n] = result.handle
        s = result.output["summary"]
        out = s["records"]
        counts[result.handle] = out
        main = args.get("input") if isinstance(args.get("input"), str) else args.get("path")
        n_in = counts.get(main) if isinstance(main, str) else None
        tool = step.tool
        assert isinstance(out, int) and out >= 0
        if tool in PASS_THROUGH:
            assert out == n_in, (tool, out, n_in)
        if tool in ONE_RECORD:
            assert out == 1, (tool, s)
        if tool == "data_processing_parser":
            assert out + s["parse_warnings"] == n_in and out <= n_in
        if tool == "data_processing_filter":
            assert out + s["dropped_count"] == n_in
            assert "limit" not in args or out <= args["limit"]
        if tool == "data_processing_validator":
            assert out + s["violations"] == n_in
        if tool == "data_processing_aggregator":
            assert s["group_count"] == out <= n_in
        if tool == "computation_predictor":
            assert out == args.get("horizon", 4)
        if tool == "computation_simulator":
            assert out == args.get("runs", 1000)
        if tool == "computation_analyzer":
            assert out == len(s["findings"]) >= 1
        if tool == "file_operations_converter":
            assert s["output_format"] == s["format"] == args["target_format"]
        if tool == "integration_queue":
            queue = args["queue_name"]
            enqueued[queue] = enqueued.get(queue, 0) + n_in
            assert s["queue_depth"] == enqueued[queue]
        if tool == "integration_scheduler":
            when = check_next_run(s, args["cron"], args.get("timezone"))
            assert when > sim.now() - timedelta(minutes=1)
        if tool == "network_validator":
            assert s["issues"] == []  # the optimal chain's responses are what they should be


@PROPERTY
@given(st.sampled_from(TASK_TYPES), st.integers(0, 500), st.text("abcdef0123456789", min_size=1, max_size=8))
def test_the_optimal_chain_reports_coherent_counts(task_type: str, index: int, world: str) -> None:
    run_chain(task_type, index, world)


def test_every_tool_of_the_catalog_is_met_by_the_chains_checked() -> None:
    """The properties above reach every tool the generator uses, so no tool's counts go unchecked."""
    seen = {s.tool for t in TASK_TYPES for i in range(200) for s in generate_instance(t, i).steps}
    assert seen >= PASS_THROUGH | ONE_RECORD - {"network_monitor"} | {"data_processing_aggregator"}
    for t in TASK_TYPES:
        for i in range(40):
            run_chain(t, i, f"all-{i}")


# --------------------------------------------------------------------------- random single calls

LITERALS = {"source_path": "/srv/in/orders.csv", "output_path": "/srv/out/orders.json", "queue_name": "orders.replay"}
FIELDS = (("order_id", "string"), ("region", "string"), ("amount", "number"))


def _records(sim: ToolSimulator) -> tuple[str, int]:
    raw = sim.execute("file_operations_reader", {"path": LITERALS["source_path"]})
    rec = sim.execute("data_processing_parser", {"input": raw.handle, "format": "csv"})
    assert rec.success
    return rec.handle, rec.output["summary"]["records"]


_field = st.one_of(st.just("*"), st.integers(0, 59).map(str), st.integers(1, 30).map(lambda s: f"*/{s}"))
_hour = st.one_of(st.just("*"), st.integers(0, 23).map(str), st.tuples(st.integers(0, 11), st.integers(12, 23)).map(
    lambda ab: f"{ab[0]}-{ab[1]}"), st.integers(1, 12).map(lambda s: f"*/{s}"))
_dow = st.one_of(st.just("*"), st.integers(0, 7).map(str), st.just("1-5"), st.just("0,6"))
_zones = st.sampled_from([None, "UTC", "Europe/Berlin", "America/Chicago", "Asia/Singapore", "Europe/London",
                          "Australia/Adelaide", "Asia/Kolkata", "America/St_Johns"])


@PROPERTY
@given(_field, _hour, _dow, _zones, st.text("0123456789", min_size=1, max_size=6))
def test_next_run_is_the_first_time_the_cron_fires_after_now(minute: str, hour: str, dow: str, tz: str | None,
                                                            world: str) -> None:
    sim = ToolSimulator(world, 1.0, literals=LITERALS, fields=FIELDS)
    rec, _ = _records(sim)
    job_input = sim.execute("file_operations_writer", {"input": rec, "path": LITERALS["output_path"]}).handle
    cron = f"{minute} {hour} * * {dow}"
    args = {"input": job_input, "cron": cron, **({"timezone": tz} if tz else {})}
    now = sim.now()  # the clock the next call sees
    result = sim.execute("integration_scheduler", args)
    assert result.success, result.message
    when = check_next_run(result.output["summary"], cron, tz)
    assert when > now
    zone = ZoneInfo(tz) if tz else timezone.utc
    t = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t < when:  # no earlier minute fires (the schedule repeats within a week)
        assert not cron_matches(cron, t.astimezone(zone)), (cron, tz, t)
        t += timedelta(minutes=1)


@PROPERTY
@given(st.integers(1, 6000), st.text("xyz0123", min_size=1, max_size=6))
def test_a_filter_keeps_at_most_its_limit_and_accounts_for_every_record(limit: int, world: str) -> None:
    sim = ToolSimulator(world, 1.0, literals=LITERALS, fields=FIELDS)
    rec, n = _records(sim)
    r = sim.execute("data_processing_filter", {"input": rec, "condition": "amount > 10", "limit": limit})
    s = r.output["summary"]
    assert s["records"] <= limit and s["records"] + s["dropped_count"] == n


def test_a_one_record_result_is_written_as_one_record() -> None:
    sim = ToolSimulator("one", 1.0, literals=LITERALS, fields=FIELDS)
    rec, _ = _records(sim)
    forecast = sim.execute("computation_predictor", {"input": rec, "target": "amount"})
    best = sim.execute("computation_optimizer", {"input": forecast.handle, "objective": "maximize"})
    assert best.output["summary"]["records"] == 1
    written = sim.execute("file_operations_writer", {"input": best.handle, "path": LITERALS["output_path"]})
    assert written.output["summary"]["records"] == 1


def test_a_queue_counts_what_was_put_on_it_and_a_cache_hits_its_own_key() -> None:
    sim = ToolSimulator("queue", 1.0, literals=LITERALS, fields=FIELDS)
    rec, n = _records(sim)
    depths = [sim.execute("integration_queue", {"input": rec, "queue_name": "orders.replay"}).output["summary"]["queue_depth"]
              for _ in range(2)]
    assert depths == [n, 2 * n]
    hits = [sim.execute("utility_cache", {"input": rec, "key": k}).output["summary"]["hit"] for k in ("a", "b", "a")]
    assert hits == [False, False, True]


def test_the_same_cron_in_another_time_zone_is_due_at_the_same_wall_clock_time() -> None:
    sim = ToolSimulator("tz", 1.0, literals=LITERALS, fields=FIELDS)
    rec, _ = _records(sim)
    job = sim.execute("file_operations_writer", {"input": rec, "path": LITERALS["output_path"]}).handle
    for tz in ("UTC", "Europe/Berlin", "America/Chicago"):
        s = sim.execute("integration_scheduler", {"input": job, "cron": "0 7 * * 1-5", "timezone": tz}).output["summary"]
        when = datetime.fromisoformat(s["next_run"])
        assert (when.hour, when.minute) == (7, 0) and when.isoweekday() <= 5
        assert when.utcoffset() == ZoneInfo(tz).utcoffset(when.replace(tzinfo=None))


def test_schedules_that_never_run_and_unknown_time_zones_are_refused() -> None:
    sim = ToolSimulator("tz", 1.0, literals=LITERALS, fields=FIELDS)
    rec, _ = _records(sim)
    job = sim.execute("file_operations_writer", {"input": rec, "path": LITERALS["output_path"]}).handle
    for args, param in (({"cron": "0 0 31 2 *"}, "cron"), ({"cron": "*/0 * * * *"}, "cron"),
                        ({"cron": "0 7 * * *", "timezone": "Mars/Olympus"}, "timezone")):
        r = sim.execute("integration_scheduler", {"input": job, **args})
        assert r.error_code == "INVALID_INPUT" and r.refused == param, r.message


def test_a_calculation_follows_from_the_data_it_is_given() -> None:
    sim = ToolSimulator("calc", 1.0, literals=LITERALS, fields=FIELDS)
    rec, n = _records(sim)

    def calc(expression: str) -> float:
        r = sim.execute("computation_calculator", {"input": rec, "expression": expression})
        assert r.success, r.message
        return r.output["summary"]["result"]

    assert calc("count()") == n
    assert abs(calc("sum(amount) / count()") - calc("avg(amount)")) < 0.01
    assert calc("min(amount)") <= calc("avg(amount)") <= calc("max(amount)")
    assert calc("1 / (count() - count())") is None  # no number, rather than a made-up one
    assert calc("(0 - sum(amount)) ** 0.5") is None and calc("sum(amount) ** 1000") is None


def test_an_analysis_reports_only_its_own_kind_of_finding_about_the_columns_asked() -> None:
    """A correlation finds how columns move together (never outliers or trends), one finding per pair;
    the other analyses one finding per column asked about, so no two findings contradict each other."""
    from pilotbench.benchmark.simulator import ToolSimulator

    fields = (("region", "string"), ("amount", "number"), ("qty", "integer"))
    words = {"correlation": ("move",), "trend": ("trend", "seasonal"), "anomaly": ("outlier", "unusually"),
             "descriptive": ("median", "skewed", "missing")}
    for world in range(20):
        sim = ToolSimulator(f"w{world}", 1.0, literals={"source_path": "/a/b.csv"}, fields=fields, source_format="csv")
        raw = sim.execute("file_operations_reader", {"path": "/a/b.csv"})
        rec = sim.execute("data_processing_parser", {"input": raw.handle, "format": "csv"})
        for kind, said in words.items():
            out = sim.execute("computation_analyzer", {"input": rec.handle, "analysis_type": kind, "columns": ["amount", "qty"]})
            findings = out.output["summary"]["findings"]
            assert len(findings) == (1 if kind == "correlation" else 2), (kind, findings)
            assert all(any(w in f for w in said) for f in findings), (kind, findings)
            assert all("amount" in f or "qty" in f for f in findings), (kind, findings)
            others = [w for k, ws in words.items() if k != kind for w in ws]
            assert not any(w in f for f in findings for w in others if w not in said), (kind, findings)
