"""The Store contract (pilotbench.store.base.Store), run unchanged against SQLite and PostgreSQL:
append-only idempotent writes, resume, leases on tests, run info, transcripts, and the queries the
reports and the viewer make. Each backend must give the same answers to the same questions.
PostgreSQL is skipped when no server can be had (tests/distributed/pgserver.py)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pilotbench.reports.build import where_clause
from pilotbench.reports.stats import percentile
from pilotbench.store import Store, open_store
from pilotbench.store.leases import here, holder_gone
from pilotbench.store.records import TestRecord
from pilotbench.store.transcripts import decode_transcript, encode_transcript

from ..distributed.pgserver import pg_url  # noqa: F401 - a fixture

_ids = itertools.count(1)
_BASE = TestRecord(
    attempt_id="", test_id="", run_id="r1", model="sim/weak", provider="sim", prompt_type="baseline",
    task_type="simple_task", difficulty="easy", tool_success_rate=0.8, instance=0, seed=42, suite_version="v1-x",
    task_hash="h", severity="severe", max_turns=10, status="done",
)


def rec(test_id: str, status: str = "done", **kw: Any) -> TestRecord:
    kw.setdefault("attempt_id", f"a{next(_ids):06d}")
    if status == "done":
        kw.setdefault("success_level", "full_success")
        kw.setdefault("success", 1)
    else:
        kw.setdefault("infra_error", "HTTP 503 from the provider")
    return dataclasses.replace(_BASE, test_id=test_id, status=status, **kw)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    target = tmp_path / "contract.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with open_store(target) as s:
        yield s


# ---------------------------------------------------------------------- writes


def test_writes_are_append_only_and_idempotent(store: Store) -> None:
    first = rec("t1", attempt_id="x1")
    assert store.write([first]) == 1
    assert store.write([first]) == 0  # the same attempt again: one row
    assert store.write([rec("t1", attempt_id="x2")]) == 0  # a second `done` of one test: refused
    # errors are attempts like any other: each is kept, and a test may have many
    assert store.write([rec("t2", "error"), rec("t2", "error"), rec("t3", "error")]) == 3
    assert store.write([rec("t2", attempt_id="x5"), rec("t3", attempt_id="x6"), first]) == 2
    assert store.write([]) == 0
    assert store.count() == 6
    assert store.count("status = ?", ["error"]) == 3
    rows = list(store.iter_rows(columns=("attempt_id", "test_id", "status")))
    assert [r["test_id"] for r in rows] == ["t1", "t2", "t2", "t3", "t2", "t3"]  # in the order written
    assert rows[0] == {"attempt_id": "x1", "test_id": "t1", "status": "done"}
    assert [r["attempt_id"] for r in store.iter_rows("test_id = ? AND status = 'done'", ["t3"])] == ["x6"]


def test_a_record_reads_back_as_it_was_written(store: Store) -> None:
    r = rec("t1", call_latencies=[0.5, 1.25], trajectory={"final_answer": "caf\u00e9", "steps": [1, 2]},
            key_label="...abcd", weighted_score=0.75, prompt_tokens=120, latency_s=2.5)
    store.write([r])
    (row,) = list(store.iter_rows())
    assert row == dict(zip(row, r.to_row()))  # every column, in COLUMNS order
    assert json.loads(row["call_latencies"]) == [0.5, 1.25]
    assert json.loads(row["trajectory"]) == {"final_answer": "caf\u00e9", "steps": [1, 2]}
    assert isinstance(row["weighted_score"], float) and isinstance(row["prompt_tokens"], int)


# ---------------------------------------------------------------------- resume


def test_done_ids_are_what_a_resumed_run_skips(store: Store) -> None:
    store.write([rec("t1"), rec("t2", "error"), rec("t3", model="sim/strong"), rec("t4", "error", model="sim/strong")])
    assert store.done_ids() == {"t1", "t3"}  # an error is run again
    assert store.done_ids(["sim/weak"]) == {"t1"}
    assert store.done_ids(["sim/strong", "sim/weak", "sim/other"]) == {"t1", "t3"}
    assert store.done_ids(["sim/other"]) == set()
    store.write([rec("t2")])
    assert store.done_ids(["sim/weak"]) == {"t1", "t2"}


# ---------------------------------------------------------------------- leases


def test_leases_are_released_by_id_or_all_and_done_tests_are_never_leased(store: Store) -> None:
    t = 5_000.0
    assert store.claim("a", ["t1", "t2", "t3", "t1"], 30, now=t) == (["t1", "t2", "t3"], set())
    store.release_claims("a", ["t1"])
    assert store.claim("b", ["t1", "t2"], 30, now=t + 1) == (["t1"], set())
    store.write([rec("t2")])  # a finished its test
    store.release_claims("a")
    assert store.claim("b", ["t2", "t3"], 30, now=t + 2) == (["t3"], {"t2"})
    assert store.renew_claims("b", 30, now=t + 20) == 2  # t1 and t3
    assert store.claim("a", ["t1", "t3"], 30, now=t + 45) == ([], set())  # renewed until t+50
    assert store.claim("a", ["t1", "t3"], 30, now=t + 51) == (["t1", "t3"], set())  # expired: taken over
    assert store.renew_claims("b", 30, now=t + 52) == 0


def _gone_pid() -> int:
    """The pid of a process of this machine that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_a_lease_whose_holder_is_gone_from_this_machine_is_taken_over_at_once(store: Store) -> None:
    t = 5_000.0
    gone = _gone_pid()
    dead = f"{here()}:{gone}:0badcafe"  # a run of this machine killed with -9
    alive = f"{here()}:{os.getpid()}:0badcafe"  # another run of a live process here (this one)
    elsewhere = f"another-host:{gone}:0badcafe"  # that pid is gone here, but it is not a process of here
    ray = "20260101-000000-abc123/vllm#0"  # a Ray key owner: run and key, no process
    for holder, ids in ((dead, ["t1", "t2", "t6"]), (alive, ["t3"]), (elsewhere, ["t4"]), (ray, ["t5"])):
        assert store.claim(holder, ids, 60, now=t) == (ids, set())
    store.write([rec("t6")])  # the dead run committed t6 before it was killed
    everything = ["t1", "t2", "t3", "t4", "t5", "t6"]
    assert store.claim("b", everything, 60, now=t + 1) == ([], {"t6"})  # not asked: every live lease holds
    asked: list[str] = []

    def ask(holder: str) -> bool:
        asked.append(holder)
        return holder_gone(holder)

    assert store.claim("b", everything, 60, now=t + 1, gone=ask) == (["t1", "t2"], {"t6"})
    assert sorted(asked) == sorted([dead, alive, elsewhere, ray])  # each holder of a live lease, once
    assert store.renew_claims(dead, 60, now=t + 2) == 1  # only t6 (done) is still in its name
    assert store.claim("c", ["t1", "t2"], 60, now=t + 3, gone=holder_gone) == ([], set())  # b holds them now
    # the others are waited for until their leases expire
    assert store.claim("b", ["t3", "t4", "t5"], 60, now=t + 59, gone=holder_gone) == ([], set())
    assert store.claim("b", ["t3", "t4", "t5"], 60, now=t + 60, gone=holder_gone) == (["t3", "t4", "t5"], set())


# ---------------------------------------------------------------------- runs


def test_run_info_is_merged_and_each_lane_is_kept(store: Store) -> None:
    store.start_run("r1", 10, {"plans": [{"models": ["sim/weak"]}], "note": "first"})
    store.start_run("r0", 3, {})
    store.update_run_info("r1", {"note": "second", "keys": 2})
    store.record_lanes("r1", {"sim/...a/0": {"calls": 4}})
    store.record_lanes("r1", {"sim/...b/0": {"calls": 1}})  # another owner's lane
    store.record_lanes("r1", {"sim/...a/0": {"calls": 9}})
    store.finish_run("r1", "finished", {"keys_lost": {"sim/...b/0": "disabled: 401"}})
    runs = {r["run_id"]: r for r in store.runs()}
    assert set(runs) == {"r0", "r1"}
    r1 = runs["r1"]
    assert r1["status"] == "finished" and r1["planned"] == 10
    assert r1["finished_at"] is not None and r1["finished_at"] >= r1["started_at"]
    assert json.loads(r1["info"]) == {
        "plans": [{"models": ["sim/weak"]}], "note": "second", "keys": 2,
        "lanes": {"sim/...a/0": {"calls": 9}, "sim/...b/0": {"calls": 1}},
        "keys_lost": {"sim/...b/0": "disabled: 401"},
    }
    assert runs["r0"]["status"] == "running" and runs["r0"]["finished_at"] is None
    assert [r["run_id"] for r in store.runs()] == ["r1", "r0"]  # in the order started
    store.start_run("r1", 12, {"note": "again"})  # the same run started again starts afresh
    again = {r["run_id"]: r for r in store.runs()}["r1"]
    assert (again["status"], again["planned"], again["finished_at"], json.loads(again["info"])) == (
        "running", 12, None, {"note": "again"})


# ---------------------------------------------------------------------- transcripts


def test_a_transcript_is_stored_and_read_back_whole(store: Store) -> None:
    messages = [{"role": "system", "content": "You are a tool user."}, {"role": "user", "content": "Do X \u2603"},
                {"role": "assistant", "content": "done"}]
    store.write([rec("t1", transcript=encode_transcript(messages, "full", 2)), rec("t2", transcript=None)])
    got = {r["test_id"]: r["transcript"] for r in store.iter_rows(columns=("test_id", "transcript"))}
    assert decode_transcript(got["t1"]) == {"mode": "full", "prompt_messages": 2, "messages": messages}
    assert got["t2"] is None


# ---------------------------------------------------------------------- the queries reports and the viewer make


def test_portable_queries_take_placeholders_and_literal_percent_signs(store: Store) -> None:
    store.write([rec("t1", prompt_type="flawed_order"), rec("t2"), rec("t3", "error", prompt_type="flawed_order")])
    sql = "SELECT test_id FROM results WHERE prompt_type LIKE 'flawed_%' AND status = ? ORDER BY test_id"
    assert store.query(sql, ["done"]) == [("t1",)]
    assert store.query("SELECT COUNT(*), COUNT(DISTINCT status) FROM results WHERE test_id IN (?, ?)", ["t1", "t3"]) == [(2, 2)]


def test_report_filters_match_the_same_rows(store: Store) -> None:
    store.write([rec("t1", tool_success_rate=0.8), rec("t2", tool_success_rate=0.7 + 0.1), rec("t3", tool_success_rate=0.6),
                 rec("t4", "error", tool_success_rate=0.8, seed=7)])
    cond, params = where_clause(tool_success_rates=[0.8], statuses=["done"])
    assert sorted(r["test_id"] for r in store.iter_rows(cond, params)) == ["t1", "t2"]  # 0.7 + 0.1 is 0.8 to 6 places
    cond, params = where_clause(seeds=[7, 8])
    assert store.count(cond, params) == 1
    cond, params = where_clause(models=[])
    assert store.count(cond, params) == 0


def test_distinct_values_of_a_column(store: Store) -> None:
    store.write([rec("t1", model="m/a"), rec("t2", model="m/b"), rec("t3", "error", model="m/a"),
                 rec("t4", "error", error_category=None), rec("t5", error_category="wrong_tool")])
    assert sorted(store.distinct_values("model")) == ["m/a", "m/b", "sim/weak"]
    assert sorted(store.distinct_values("error_category"), key=str) == [None, "wrong_tool"]
    assert sorted(store.distinct_values("tool_success_rate")) == [0.8]
    with pytest.raises(ValueError):
        store.distinct_values("model; DROP TABLE results")


def test_latency_quantiles_per_provider_and_key(store: Store) -> None:
    a = [[0.5, 2.0, 1.0], [4.0], [], [0.25, 3.5]]
    b = [[10.0, 20.0]]
    store.write([rec(f"a{i}", key_label="...a", call_latencies=v) for i, v in enumerate(a)]
                + [rec("b0", key_label="...b", call_latencies=b[0], provider="other", model="m/x"),
                   rec("c0", "error", key_label="...a", call_latencies=[100.0])])
    got = store.latency_quantiles("", [], (50, 95))
    assert got is not None  # both backends read the stored JSON lists in SQL
    flat_a = sorted(x for v in a for x in v) + [100.0]
    assert set(got) == {("sim", "...a"), ("other", "...b")}
    assert got[("sim", "...a")]["n"] == 7
    for q in (50, 95):
        assert got[("sim", "...a")][q] == pytest.approx(percentile(flat_a, q))
        assert got[("other", "...b")][q] == pytest.approx(percentile(b[0], q))
    only_done = store.latency_quantiles("status = ?", ["done"], (50,))
    assert only_done is not None
    assert only_done[("sim", "...a")] == {"n": 6, 50: pytest.approx(percentile(flat_a[:-1], 50))}
    assert store.latency_quantiles("model = ?", ["nobody"], (50,)) == {}


def test_lost_keys_come_from_the_runs_behind_the_selected_rows(store: Store) -> None:
    store.start_run("r1", 2, {})
    store.start_run("r2", 2, {})
    store.finish_run("r1", "finished", {"keys_lost": {"sim/...a/0": "disabled: 401 unauthorized"}})
    store.finish_run("r2", "finished", {"keys_lost": {"other/...b/1": "parked: quota", "sim/...a/1": "parked: later"}})
    store.write([rec("t1", run_id="r1"), rec("t2", run_id="r2", model="m/x")])
    assert store.lost_keys("", []) == {
        ("sim", "...a"): "disabled: 401 unauthorized", ("other", "...b"): "parked: quota"}
    assert store.lost_keys("model = ?", ["m/x"]) == {("other", "...b"): "parked: quota", ("sim", "...a"): "parked: later"}
    assert store.lost_keys("model = ?", ["nobody"]) == {}


def test_a_range_of_new_rows_reads_through_the_rowid_scan_source(store: Store) -> None:
    store.write([rec("t1"), rec("t2"), rec("t3", "error")])
    ((top,),) = store.query("SELECT MAX(rowid) FROM results")
    store.write([rec("t4"), rec("t3", "error")])
    source = store.rowid_scan_source() or "results"
    got = store.query(f"SELECT status, COUNT(*) FROM {source} WHERE rowid > ? GROUP BY status ORDER BY status", [top])
    assert got == [("done", 1), ("error", 1)]


def test_only_a_damaged_file_is_named_as_damage(store: Store) -> None:
    assert store.damage_message(ValueError("database disk image is malformed")) is None  # not a database error
    assert store.damage_message(RuntimeError("boom")) is None


def test_a_sqlite_store_names_its_own_damaged_file(tmp_path: Path) -> None:
    import sqlite3

    with open_store(tmp_path / "named.db") as s:
        message = s.damage_message(sqlite3.DatabaseError("database disk image is malformed"))
        assert message is not None and str(tmp_path / "named.db") in message and "integrity_check" in message
        assert s.damage_message(sqlite3.OperationalError("database is locked")) is None
