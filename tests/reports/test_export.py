from __future__ import annotations

import csv
import importlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pilotbench.reports import EXPORT_FORMATS, export
from pilotbench.store.records import COLUMNS

from ..factories import A, B, C

REQUIRED = ("id", "attempt_id", "model", "prompt_type", "task_type", "difficulty", "tool_success_rate",
            "instance", "status", "success_level", "turns", "workflow_adherence", "tool_coverage",
            "efficiency", "error_category")


def test_formats():
    assert EXPORT_FORMATS == ("jsonl", "csv", "parquet", "legacy-json")


def test_jsonl(store, tmp_path):
    out = tmp_path / "rows.jsonl"
    n = export(store, "jsonl", out)
    lines = out.read_text().splitlines()
    assert n == len(lines) == store.count() == 16
    rows = [json.loads(x) for x in lines]
    for r in rows:
        for c in REQUIRED + COLUMNS:
            assert c in r
        assert r["id"] == r["test_id"]
        assert isinstance(r["call_latencies"], list)
    assert rows[0]["trajectory"] == {"turns": 4, "calls": []}
    assert sum(r["status"] == "error" for r in rows) == 2
    assert export(store, "jsonl", out, statuses=["done"], models=[A]) == 8


def test_csv(store, tmp_path):
    out = tmp_path / "sub" / "rows.csv"
    n = export(store, "csv", out)
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert n == len(rows) == store.count()
    for c in REQUIRED:
        assert c in rows[0]
    assert "trajectory" not in rows[0]
    assert json.loads(rows[0]["call_latencies"]) == [1.0]
    assert not list(tmp_path.glob("sub/*.partial"))


def test_parquet(store, tmp_path, monkeypatch):
    # `pilotbench.reports.export` the attribute is the function; the module is in sys.modules
    mod = importlib.import_module("pilotbench.reports.export")
    monkeypatch.setattr(mod, "PARQUET_BATCH_ROWS", 5)  # several record batches
    out = tmp_path / "rows.parquet"
    n = export(store, "parquet", out)
    table = pq.read_table(out)
    assert n == table.num_rows == store.count()
    for c in REQUIRED + COLUMNS:
        assert c in table.column_names
    assert table.schema.field("instance").type == pa.int64()
    assert table.schema.field("tool_success_rate").type == pa.float64()
    assert table.schema.field("call_latencies").type == pa.list_(pa.float64())
    assert table.schema.field("model").type == pa.string()
    col = table.column("call_latencies").to_pylist()
    assert col[0] == [1.0]
    assert table.column("status").to_pylist().count("error") == 2
    assert export(store, "parquet", out, models=[C]) == 2
    assert pq.read_table(out).num_rows == 2


def test_legacy_json(store, tmp_path):
    out = tmp_path / "summary.json"
    n = export(store, "legacy-json", out)
    tree = json.loads(out.read_text())
    done = store.count("status = 'done'")
    assert n == tree["summary"]["total_tests"] == done == 14
    assert tree["summary"]["models"] == sorted([A, B, C])
    assert "generated_at" in tree["summary"]
    leaf = tree["models"][A]["by_prompt_type"]["baseline"]["by_tool_success_rate"]["0.8"]["by_difficulty"]["easy"][
        "by_task_type"]["simple_task"]
    assert leaf["total"] == 2 and leaf["success"] == 2
    assert leaf["full_success"] == 1 and leaf["partial_success"] == 1 and leaf["failure"] == 0
    assert leaf["success_rate"] == 1.0 and leaf["full_success_rate"] == 0.5 and leaf["partial_success_rate"] == 0.5
    assert leaf["weighted_success_score"] == 0.75
    assert leaf["avg_turns"] == 4.0 and leaf["avg_tool_calls"] == 3.0
    assert leaf["avg_workflow_adherence"] == 0.5 and leaf["avg_tool_coverage"] == 0.75
    assert leaf["avg_efficiency"] == pytest.approx(0.8)
    # every leaf total adds up to the done rows; the error-only cot test is absent
    total = 0
    for m in tree["models"].values():
        for p in m["by_prompt_type"].values():
            for r in p["by_tool_success_rate"].values():
                for d in r["by_difficulty"].values():
                    for leaf in d["by_task_type"].values():
                        assert set(leaf) >= {"total", "success", "success_rate", "avg_efficiency"}
                        total += leaf["total"]
    assert total == done
    assert "cot" not in tree["models"][A]["by_prompt_type"]
    assert "0.6" in tree["models"][A]["by_prompt_type"]["baseline"]["by_tool_success_rate"]


def test_unknown_format(store, tmp_path):
    with pytest.raises(ValueError):
        export(store, "xml", tmp_path / "x")


def test_required_tools_export_as_a_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each exported row carries its task's tool chain as a list, so results break down by workflow."""
    import json as _json

    import pyarrow.parquet as pq

    from pilotbench.reports.export import export
    from pilotbench.store.records import TestRecord
    from pilotbench.store.sqlite import SQLiteStore

    chain = ["file_operations_reader", "data_processing_parser"]
    db = tmp_path / "r.db"
    with SQLiteStore(db) as store:
        store.write([TestRecord(
            attempt_id="a1", test_id="t1", run_id="r", model="sim/weak", provider="sim", prompt_type="baseline",
            task_type="simple_task", difficulty="easy", tool_success_rate=0.8, instance=0, seed=42,
            suite_version="v", task_hash="h", severity="severe", max_turns=10, status="done",
            required_tools=_json.dumps(chain),
        )])
        export(store, "jsonl", tmp_path / "r.jsonl")
        export(store, "parquet", tmp_path / "r.parquet")
    row = _json.loads((tmp_path / "r.jsonl").read_text().splitlines()[0])
    assert row["required_tools"] == chain
    assert pq.read_table(tmp_path / "r.parquet").column("required_tools").to_pylist() == [chain]
