"""The tool simulator: typed handles, arguments checked for meaning, deterministic failures per world."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pilotbench.benchmark.simulator import HANDLE_PATTERN, ToolSimulator
from pilotbench.benchmark.tools import ERROR_CODES, TOOLS

FIELDS = (("order_id", "string"), ("region", "string"), ("amount", "number"), ("quantity", "integer"))
LITERALS = {
    "source_path": "/srv/exports/sales/2025-03-orders.csv",
    "output_path": "/srv/reports/sales/march-totals.json",
    "recipient": "finance-leads@northwind.test",
    "source_url": "https://feeds.northwind.test/v3/orders",
    "service": "billing-portal",
    "credential": "vault:billing-portal/api",
    "target_system": "erp.northwind.test:8443",
    "endpoint": "https://intake.partner.test/v2/batches",
    "queue_name": "orders.replay",
}


def sim(rate: float = 1.0, world: str = "w1", salt: str = "") -> ToolSimulator:
    return ToolSimulator(world, rate, literals=LITERALS, fields=FIELDS, source_format="csv", salt=salt)


def records(s: ToolSimulator) -> str:
    raw = s.execute("file_operations_reader", {"path": LITERALS["source_path"]})
    assert raw.success, raw.message
    rec = s.execute("data_processing_parser", {"input": raw.handle, "format": "csv"})
    assert rec.success, rec.message
    return rec.handle


def test_a_success_returns_a_fresh_typed_handle_and_a_realistic_summary() -> None:
    s = sim()
    raw = s.execute("file_operations_reader", {"path": LITERALS["source_path"]})
    obs = raw.as_observation()
    assert obs["status"] == "success" and obs["type"] == "raw"
    assert HANDLE_PATTERN.fullmatch(obs["handle"])
    assert obs["summary"]["format"] == "csv"
    assert obs["summary"]["fields"] == dict(FIELDS)
    assert obs["summary"]["records"] > 0
    again = s.execute("file_operations_reader", {"path": LITERALS["source_path"]})
    assert again.handle != raw.handle


@pytest.mark.parametrize("value", ["x0", "h_00000000", "dh_1a2b3c4d", "<handle from step 1>", ""])
def test_an_invented_handle_is_refused_with_an_actionable_message(value: str) -> None:
    s = sim()
    r = s.execute("data_processing_filter", {"input": value, "condition": "amount > 1"})
    assert not r.success and r.error_code == "INVALID_INPUT"
    assert r.refused == "input" and r.data_refusal
    assert "handle" in r.message and "records" in r.message


def test_a_handle_of_the_wrong_type_is_refused() -> None:
    s = sim()
    raw = s.execute("file_operations_reader", {"path": LITERALS["source_path"]})
    r = s.execute("data_processing_filter", {"input": raw.handle, "condition": "amount > 1"})
    assert r.error_code == "INVALID_INPUT" and r.data_refusal
    assert "`raw`" in r.message and "records" in r.message


def test_a_handle_from_another_episode_is_unknown() -> None:
    a, b = sim(salt="test-a"), sim(salt="test-b")
    h = records(a)
    assert b.execute("data_processing_filter", {"input": h, "condition": "amount > 1"}).error_code == "INVALID_INPUT"


def test_literals_must_be_the_tasks_own() -> None:
    s = sim()
    assert s.execute("file_operations_reader", {"path": "/data/exports/orders.csv"}).error_code == "INVALID_INPUT"
    bad = s.execute("utility_notifier", {"input": records(s), "recipient": "someone@example.com", "message": "hi"})
    assert bad.error_code == "INVALID_INPUT" and bad.refused == "recipient" and not bad.data_refusal
    none = ToolSimulator("w", 1.0, literals={"source_path": "/a/b.csv"}, fields=FIELDS)
    r = none.execute("file_operations_scanner", {"directory": "/a"})
    assert r.error_code == "INVALID_INPUT" and "no input has the role source directory" in r.message
    # a refusal says what is wrong with the call, never whether the task needs the tool
    assert "not part of" not in r.message and "this task names no" not in r.message


def test_unknown_arguments_are_refused() -> None:
    s = sim()
    r = s.execute("data_processing_filter", {"input": records(s), "condition": "amount > 1", "mode": "fast"})
    assert r.error_code == "INVALID_INPUT" and r.refused == "mode" and "unknown parameter" in r.message


@pytest.mark.parametrize(
    ("tool", "args", "ok"),
    [
        ("data_processing_filter", {"condition": "amount > 100 and region == 'eu'"}, True),
        ("data_processing_filter", {"condition": "total > 100"}, False),  # no such field
        ("data_processing_filter", {"condition": "/srv/exports/sales/2025-03-orders.csv"}, False),  # a path
        ("data_processing_filter", {"condition": "amount > 'x'"}, False),  # numeric field, string value
        ("computation_calculator", {"expression": "sum(amount) * 1.2 - avg(quantity)"}, True),
        ("computation_calculator", {"expression": "sum(region)"}, False),  # not numeric
        ("computation_calculator", {"expression": "__import__('os')"}, False),
        ("computation_calculator", {"expression": "1 + 2"}, False),  # uses no field
        ("data_processing_aggregator", {"group_by": ["region"], "metric": "sum", "field": "amount"}, True),
        ("data_processing_aggregator", {"group_by": ["region"], "metric": "sum"}, False),  # sum of what
        ("data_processing_aggregator", {"group_by": ["region"], "metric": "count"}, True),
        ("data_processing_aggregator", {"group_by": ["colour"], "metric": "count"}, False),
        ("data_processing_transformer", {"operations": ["rename:region->area", "cast:quantity:float"]}, True),
        ("data_processing_transformer", {"operations": ["uppercase everything"]}, False),
        ("data_processing_validator", {"rules": {"amount": {"min": 0}}}, True),
        ("data_processing_validator", {"rules": {"amount": "positive"}}, False),
        ("computation_predictor", {"target": "amount", "horizon": 6}, True),
        ("computation_predictor", {"target": "amount", "horizon": 100}, False),  # out of range
        ("computation_predictor", {"target": "region"}, False),  # not numeric
        ("computation_analyzer", {"analysis_type": "trend"}, True),
        ("computation_analyzer", {"analysis_type": "vibes"}, False),  # enum
    ],
)
def test_settings_are_checked_for_meaning(tool: str, args: dict, ok: bool) -> None:
    s = sim()
    r = s.execute(tool, {"input": records(s), **args})
    assert r.success is ok, r.message
    if not ok:
        assert r.error_code == "INVALID_INPUT" and not r.data_refusal and r.refused in (*args, "field")


def test_the_parser_must_name_the_format_the_content_reports() -> None:
    s = sim()
    raw = s.execute("file_operations_reader", {"path": LITERALS["source_path"]})
    assert s.execute("data_processing_parser", {"input": raw.handle, "format": "json"}).error_code == "INVALID_INPUT"
    conv = s.execute("file_operations_converter", {"input": raw.handle, "target_format": "xml"})
    assert conv.as_observation()["summary"]["format"] == "xml"
    assert s.execute("file_operations_converter", {"input": raw.handle, "target_format": "csv"}).error_code == "INVALID_INPUT"
    assert s.execute("data_processing_parser", {"input": conv.handle, "format": "xml"}).success


def test_fields_flow_through_transformations() -> None:
    s = sim()
    t = s.execute("data_processing_transformer", {"input": records(s), "operations": ["rename:amount->net", "derive:gross=net*1.2"]})
    fields = t.as_observation()["summary"]["fields"]
    assert "amount" not in fields and fields["net"] == "number" and fields["gross"] == "number"
    assert s.execute("data_processing_filter", {"input": t.handle, "condition": "amount > 1"}).error_code == "INVALID_INPUT"
    assert s.execute("data_processing_filter", {"input": t.handle, "condition": "gross > 1"}).success
    agg = s.execute("data_processing_aggregator", {"input": t.handle, "group_by": ["region"], "metric": "avg", "field": "net"})
    assert agg.as_observation()["type"] == "summary"
    assert agg.as_observation()["summary"]["fields"] == {"region": "string", "avg_net": "number"}


def test_fan_in_takes_two_upstream_handles_of_their_types() -> None:
    s = sim()
    session = s.execute("integration_authenticator", {"service": "billing-portal", "credential_ref": "vault:billing-portal/api"})
    conn = s.execute("integration_connector", {"input": session.handle, "target": LITERALS["target_system"]})
    rec = records(s)
    ok = s.execute("integration_mapper", {"input": rec, "connection": conn.handle, "mapping": {"region": "area"}})
    assert ok.success, ok.message
    swapped = s.execute("integration_mapper", {"input": conn.handle, "connection": rec, "mapping": {"region": "area"}})
    assert swapped.error_code == "INVALID_INPUT" and swapped.data_refusal


def test_failures_depend_on_the_world_not_the_episode() -> None:
    """Two episodes of the same world (two models on one test) meet the same failures call for call."""
    outcomes = []
    for salt in ("sim/weak", "sim/strong"):
        s = sim(rate=0.5, world="shared-world", salt=salt)
        outcomes.append([s.execute("file_operations_reader", {"path": LITERALS["source_path"]}).error_code for _ in range(12)])
    assert outcomes[0] == outcomes[1]
    assert {None} < set(outcomes[0])  # both successes and failures happened
    other = sim(rate=0.5, world="another-world")
    assert [other.execute("file_operations_reader", {"path": LITERALS["source_path"]}).error_code for _ in range(12)] != outcomes[0]


def test_refused_calls_do_not_consume_failure_draws() -> None:
    a, b = sim(rate=0.5, world="w"), sim(rate=0.5, world="w")
    b.execute("file_operations_reader", {"path": "/wrong"})
    seq_a = [a.execute("file_operations_reader", {"path": LITERALS["source_path"]}).success for _ in range(8)]
    seq_b = [b.execute("file_operations_reader", {"path": LITERALS["source_path"]}).success for _ in range(8)]
    assert seq_a == seq_b


def test_failures_use_the_tools_own_error_codes_at_about_the_rate() -> None:
    fails = total = 0
    for w in range(300):
        s = sim(rate=0.7, world=f"rate-{w}")
        r = s.execute("network_fetcher", {"url": LITERALS["source_url"]})
        total += 1
        if not r.success:
            fails += 1
            assert r.error_code in TOOLS["network_fetcher"].errors and r.error_code != "INVALID_INPUT"
            assert r.error_code in ERROR_CODES
    assert 0.22 < fails / total < 0.38


def test_results_are_the_same_in_another_process() -> None:
    code = (
        "from pilotbench.benchmark.simulator import ToolSimulator\n"
        "s = ToolSimulator('xproc', 0.6, literals={'source_path': '/a/b.csv'}, fields=(('x', 'number'),))\n"
        "print([s.execute('file_operations_reader', {'path': '/a/b.csv'}).handle for _ in range(6)])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    s = ToolSimulator("xproc", 0.6, literals={"source_path": "/a/b.csv"}, fields=(("x", "number"),))
    assert out == str([s.execute("file_operations_reader", {"path": "/a/b.csv"}).handle for _ in range(6)])


def test_bad_calls_never_raise() -> None:
    s = sim()
    for args in (None, [], "x", {"input": None}, {"input": 3}, {"condition": {"a": 1}}):
        r = s.execute("data_processing_filter", args)  # type: ignore[arg-type]
        assert r.error_code == "INVALID_INPUT"
    assert s.execute("no_such_tool", {}).error_code == "INVALID_INPUT"


def test_rate_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError):
        ToolSimulator("w", 1.5)
