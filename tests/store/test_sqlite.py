"""The SQLite store: idempotent appends, done-once, schema checks and concurrent writers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pilotbench.errors import StoreError
from pilotbench.store import open_store
from pilotbench.store.records import TestRecord
from pilotbench.store.sqlite import SCHEMA_VERSION, SQLiteStore

from ..factories import record as rec


def test_write_is_idempotent_and_done_only_once(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        a = rec("t1", attempt="a1", success_level="full_success", success=1)
        assert store.write([a]) == 1
        assert store.write([a]) == 0  # the same batch again: nothing new
        assert store.write([rec("t1", attempt="a2")]) == 0  # a second `done` for t1 is ignored
        assert store.write([rec("t1", "error", attempt="a3")]) == 1  # an error attempt is appended
        assert store.count() == 2
        assert store.done_ids() == {"t1"}
        assert store.done_ids(["sim/strong"]) == set()


def test_trajectory_and_latencies_round_trip(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.write([rec("t2", trajectory={"turns": 3, "calls": [{"name": "x"}]}, call_latencies=[0.5, 0.25])])
        row = next(store.iter_rows())
    assert row["trajectory"] == '{"turns":3,"calls":[{"name":"x"}]}'
    assert row["call_latencies"] == "[0.5, 0.25]"


def test_not_a_sqlite_file_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_text("hello, this is not a database at all")
    with pytest.raises(StoreError, match="not a SQLite database"):
        SQLiteStore(bogus)
    assert bogus.read_text() == "hello, this is not a database at all"  # untouched


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a pilotbench results store"):
        SQLiteStore(other)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SQLiteStore(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer"):
        SQLiteStore(path)


def test_missing_database_is_not_created_for_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no results database"):
        open_store(tmp_path / "absent.db", create=False)
    assert not (tmp_path / "absent.db").exists()


def test_wal_mode(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "w.db") as store:
        assert store.query("PRAGMA journal_mode")[0][0] == "wal"


def test_two_connections_interleave_writes(tmp_path: Path) -> None:
    path = tmp_path / "two.db"
    with SQLiteStore(path) as one, SQLiteStore(path) as two:
        for i in range(50):
            (one if i % 2 else two).write([rec(f"t{i}")])
        assert one.count() == 50 and two.count() == 50


def test_a_failed_commit_keeps_the_batch_and_rescues_it_at_the_end(tmp_path: Path) -> None:
    import asyncio
    import json

    from pilotbench.runner.writer import BatchWriter

    class FlakyStore:
        path = tmp_path / "flaky.db"

        def __init__(self) -> None:
            self.calls = 0
            self.written: list[TestRecord] = []

        def write(self, batch):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == 1:
                raise StoreError("disk is full")
            self.written.extend(batch)
            return len(batch)

    async def scenario(store, fail_forever: bool) -> BatchWriter:  # type: ignore[no-untyped-def]
        if fail_forever:
            store.write = lambda batch: (_ for _ in ()).throw(StoreError("disk is full"))  # type: ignore[method-assign]
        writer = BatchWriter(store, batch_size=1000, interval=60)
        for i in range(3):
            writer.add(rec(f"t{i}"))
        await writer.flush()  # fails once: the batch stays buffered
        await writer.close()
        return writer

    store = FlakyStore()
    writer = asyncio.run(scenario(store, False))
    assert [r.test_id for r in store.written] == ["t0", "t1", "t2"] and writer.committed == 3
    writer = asyncio.run(scenario(FlakyStore(), True))  # a store refusing everything: rescued at the end
    assert writer.rescued == 3 and writer.committed == 0
    [rescue] = writer.rescue_files
    assert rescue.parent == tmp_path  # beside the store, without a log directory
    assert [json.loads(line)["test_id"] for line in rescue.read_text().splitlines()] == ["t0", "t1", "t2"]


def test_an_older_store_gains_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    """A schema-1 store (written before `precision` and `required_tools` existed) is upgraded in place."""
    path = tmp_path / "old.db"
    with SQLiteStore(path) as store:
        store.write([rec("old1")])
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE results DROP COLUMN precision")
    db.execute("ALTER TABLE results DROP COLUMN required_tools")
    db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    db.commit()
    db.close()
    with SQLiteStore(path) as store:
        store.write([rec("new1", precision=0.5, required_tools='["a", "b"]')])
        assert store.done_ids() == {"old1", "new1"}
    db = sqlite3.connect(path)
    rows = dict(db.execute("SELECT test_id, precision FROM results").fetchall())
    assert rows == {"old1": None, "new1": 0.5}
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    db.close()


def test_lanes_recorded_merge_per_lane_and_keep_the_rest_of_the_info(tmp_path: Path) -> None:
    import json

    with SQLiteStore(tmp_path / "r.db") as store:
        store.start_run("r1", 10, {"pid": 1})
        store.record_lanes("r1", {"a": {"concurrency": 4}, "b": {"concurrency": 8}})
        store.record_lanes("r1", {"a": {"concurrency": 2, "tpm": 9000}})
        store.finish_run("r1", "finished", {"keys_lost": {"b": "disabled: 401"}})
        info = json.loads(store.runs()[0]["info"])
    assert info == {"pid": 1, "lanes": {"a": {"concurrency": 2, "tpm": 9000}, "b": {"concurrency": 8}},
                    "keys_lost": {"b": "disabled: 401"}}
