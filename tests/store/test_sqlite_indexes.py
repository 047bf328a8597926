"""The SQLite store's read paths at scale: covering indexes, and done_ids without the table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pilotbench.store.records import TestRecord
from pilotbench.store.sqlite import SQLiteStore

from ..factories import record

STATUS_SQL = (
    "SELECT model, prompt_type, SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), SUM(success) FROM results GROUP BY model, prompt_type"
)


def rec(test_id: str, model: str = "sim/weak", status: str = "done", run_id: str = "r1") -> TestRecord:
    return record(test_id, status, model=model, run_id=run_id, success=1 if status == "done" else None)


def plan_of(store: SQLiteStore, sql: str) -> str:
    return " ".join(r[-1] for r in store.query(f"EXPLAIN QUERY PLAN {sql}"))


def test_status_and_run_queries_are_answered_from_indexes(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.write([rec(f"t{i}", status="done" if i % 3 else "error") for i in range(30)])
        assert "COVERING INDEX results_status" in plan_of(store, STATUS_SQL)
        assert "results_run" in plan_of(store, "SELECT COUNT(*) FROM results WHERE run_id='r1' AND status='done'")
        assert store.query(STATUS_SQL) == [("sim/weak", "baseline", 20, 10, 20)]


def test_indexes_added_later_are_built_when_a_writer_opens_an_older_store(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with SQLiteStore(path) as store:
        store.write([rec("t1")])
    con = sqlite3.connect(path)
    con.execute("DROP INDEX results_status")
    con.execute("DROP INDEX results_run")
    con.commit()
    con.close()
    with SQLiteStore(path, create=False) as reader:  # a reader builds nothing
        assert "results_status" not in {r[0] for r in reader.query("SELECT name FROM sqlite_master WHERE type='index'")}
    with SQLiteStore(path) as writer:
        names = {r[0] for r in writer.query("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"results_status", "results_run"} <= names
        assert writer.done_ids() == {"t1"}


def test_done_ids_for_models_is_exact_whether_or_not_the_store_holds_other_models(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.write([rec("w1"), rec("w2", status="error"), rec("s1", model="sim/strong")])
        assert store.done_ids(["sim/weak"]) == {"w1"}
        assert store.done_ids(["sim/strong"]) == {"s1"}
        assert store.done_ids(["sim/weak", "sim/strong", "sim/medium"]) == {"w1", "s1"}
        assert store.done_ids([]) == set()
        assert store.done_ids() == {"w1", "s1"}
    with SQLiteStore(tmp_path / "empty.db") as store:
        assert store.done_ids(["sim/weak"]) == set()


def test_attempt_ids_are_unique_hex_and_time_ordered() -> None:
    from pilotbench.store.records import new_attempt_id

    ids = [new_attempt_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert [i[:14] for i in ids] == sorted(i[:14] for i in ids)  # the time prefix never goes back


def test_batches_larger_than_one_statement_keep_insert_or_ignore_semantics(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        per = store._rows_per_insert
        batch = [rec(f"t{i}") for i in range(per * 2 + 7)]
        batch.append(rec("t0"))  # a second `done` for t0 in the same batch: ignored
        batch.append(batch[5])  # the same attempt twice: ignored
        batch.append(rec("t1", status="error"))  # an error attempt is appended
        assert store.write(batch) == per * 2 + 7 + 1
        assert store.write(batch) == 0
        assert store.count() == per * 2 + 8
        assert [r["test_id"] for r in store.iter_rows(columns=("test_id",))][:3] == ["t0", "t1", "t2"]
