"""The PostgreSQL store: the SQLite store's contract, the same reports and exports from the same
rows, and every command against a postgresql:// URL. Skipped without PostgreSQL (see
tests/distributed/pgserver.py for how a server is found or started)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotbench.errors import StoreError, UsageError
from pilotbench.reports import build_report, export, legacy_summary
from pilotbench.store import is_postgres_url, open_store
from pilotbench.store.sqlite import SQLiteStore

from ..distributed.pgserver import drop_database, pg_url  # noqa: F401 - a fixture
from ..factories import record as rec, report_records as make_records


# ---------------------------------------------------------------------- no server needed


def test_placeholders_are_translated_outside_quotes() -> None:
    from pilotbench.store.postgres import translate

    assert translate("SELECT * FROM r WHERE a = ? AND b IN (?, ?)") == "SELECT * FROM r WHERE a = %s AND b IN (%s, %s)"
    assert translate("SELECT '?', x LIKE '[%' FROM r WHERE c = ?") == "SELECT '?', x LIKE '[%%' FROM r WHERE c = %s"


def test_urls_are_masked_and_stripped() -> None:
    from pilotbench.store.postgres import mask_url, strip_password

    url = "postgresql://bench:s3cret@db.example:5432/results?sslmode=require"
    assert "s3cret" not in mask_url(url) and "bench:***@db.example" in mask_url(url)
    assert strip_password(url) == "postgresql://bench@db.example:5432/results?sslmode=require"
    assert strip_password("postgresql://h/db") == "postgresql://h/db"
    assert is_postgres_url("postgres://h/db") and not is_postgres_url("results.db")


def test_missing_psycopg_is_a_one_line_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(UsageError, match=r"pip install 'pilotbench\[postgres\]'"):
        open_store("postgresql://nobody@127.0.0.1:1/none")


def test_sqlite_open_store_still_opens_sqlite(tmp_path: Path) -> None:
    from pilotbench.store import open_store as sqlite_open

    with sqlite_open(tmp_path / "x.db") as store:
        assert store.backend == "sqlite"


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pilotbench", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_unreachable_server_is_one_line_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    out = _cli("report", "--db", "postgresql://bench:s3cret@127.0.0.1:1/results", cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot connect to PostgreSQL" in lines[0] and "s3cret" not in out.stderr


def test_ray_executor_needs_a_postgresql_store(tmp_path: Path) -> None:
    out = _cli("run", "--executor", "ray", "--db", str(tmp_path / "x.db"), cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: --executor ray needs a PostgreSQL store: --db postgresql://user@host/dbname"
    ]


# ---------------------------------------------------------------------- the store


def test_write_is_idempotent_and_done_only_once(pg_url: str) -> None:
    with open_store(pg_url) as store:
        assert store.backend == "postgres"
        a = rec("t1", attempt="a1", success_level="full_success", success=1)
        assert store.write([a]) == 1
        assert store.write([a]) == 0
        assert store.write([rec("t1", attempt="a2")]) == 0  # a second `done` for t1 is ignored
        assert store.write([rec("t1", "error", attempt="a3")]) == 1
        assert store.write([rec("t5", attempt="b1"), rec("t5", attempt="b2")]) == 1  # within one batch too
        assert store.count() == 3
        assert store.done_ids() == {"t1", "t5"}
        assert store.done_ids(["sim/strong"]) == set()
        assert store.count("test_id = ? AND status = ?", ("t1", "error")) == 1


def test_rows_round_trip_and_stream_in_order(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.write([rec("t2", trajectory={"turns": 3, "calls": [{"name": "x"}]}, call_latencies=[0.5, 0.25])])
        store.write([rec(f"n{i}") for i in range(50)])
        rows = list(store.iter_rows())
        assert rows[0]["trajectory"] == '{"turns":3,"calls":[{"name":"x"}]}'
        assert rows[0]["call_latencies"] == "[0.5, 0.25]"
        assert [r["test_id"] for r in rows[1:]] == [f"n{i}" for i in range(50)]
        assert [r["test_id"] for r in store.iter_rows("test_id IN (?, ?)", ["n3", "n7"], columns=("test_id",))] == ["n3", "n7"]


def test_runs_table(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.start_run("r1", 10, {"models": ["sim/weak"]})
        store.start_run("r1", 12, {"models": ["sim/weak"]})  # the same run again: replaced
        store.finish_run("r1", "finished")
        (run,) = store.runs()
    assert run["run_id"] == "r1" and run["planned"] == 12 and run["status"] == "finished" and run["finished_at"]
    assert json.loads(run["info"]) == {"models": ["sim/weak"]}


def test_lanes_recorded_by_several_owners_merge_per_lane(pg_url: str) -> None:
    """The owners of a distributed run record their own lanes at the same time; none is lost."""
    with open_store(pg_url) as store:
        store.start_run("r1", 10, {"models": ["sim/weak"]})

    def owner(i: int) -> None:
        with open_store(pg_url, create=False) as mine:
            for n in range(15):
                mine.record_lanes("r1", {f"p/key{i}": {"concurrency": n, "tpm": 1000 * i}})

    threads = [threading.Thread(target=owner, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open_store(pg_url) as store:
        store.finish_run("r1", "finished", {"keys_lost": {"p/key0": "parked: quota"}})
        info = json.loads(store.runs()[0]["info"])
    assert info["lanes"] == {f"p/key{i}": {"concurrency": 14, "tpm": 1000 * i} for i in range(4)}
    assert info["models"] == ["sim/weak"] and info["keys_lost"] == {"p/key0": "parked: quota"}


def test_schema_checks(pg_url: str) -> None:
    import psycopg

    with pytest.raises(StoreError, match="not an initialised pilotbench results store"):
        open_store(pg_url, create=False)
    open_store(pg_url).close()
    open_store(pg_url, create=False).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer than this pilotbench"):
        open_store(pg_url)


def test_a_foreign_results_table_is_refused(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE results (name TEXT)")
    with pytest.raises(StoreError, match="not a pilotbench results store"):
        open_store(pg_url)


def test_concurrent_writers_leave_each_test_done_once(pg_url: str) -> None:
    open_store(pg_url).close()
    ids = [f"t{i}" for i in range(200)]

    def writer() -> None:
        with open_store(pg_url) as store:
            for start in range(0, len(ids), 20):
                store.write([rec(t) for t in ids[start:start + 20]])

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open_store(pg_url) as store:
        assert store.count() == 200 and len(store.done_ids()) == 200


def test_advisory_lock_admits_one_holder(pg_url: str) -> None:
    from pilotbench.store.postgres import AdvisoryLock

    with AdvisoryLock(pg_url, "idealab/...e77b") as first, AdvisoryLock(pg_url, "idealab/...e77b") as second:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert not second.acquire(timeout=0.3, poll=0.1)
        with AdvisoryLock(pg_url, "idealab/...aaaa") as other:
            assert other.try_acquire()  # another key is free
        first.close()  # a holder that goes away releases the key
        assert second.acquire(timeout=5)


# ---------------------------------------------------------------------- same rows, same reports


@pytest.fixture
def both(tmp_path: Path, pg_url: str):  # type: ignore[no-untyped-def]
    records = make_records()
    lite = SQLiteStore(tmp_path / "same.db")
    lite.write(records)
    pg = open_store(pg_url)
    pg.write(records)
    yield lite, pg
    lite.close()
    pg.close()


def _without_time(report: dict) -> dict:  # type: ignore[type-arg]
    report = dict(report)
    report.pop("generated_at")
    return report


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"models": ["qwen2.5-3b-instruct"], "prompt_types": ["baseline", "optimal"]},
        {"difficulties": []},
        {"prices": {"qwen2.5-3b-instruct": (0.5, 1.5)}, "compare": [("qwen2.5-3b-instruct", "qwen2.5-72b-instruct"),
                                                                    ("prompt:baseline", "prompt:optimal")]},
    ],
)
def test_report_is_the_same_from_sqlite_and_postgres(both, kwargs) -> None:  # type: ignore[no-untyped-def]
    lite, pg = both
    a = _without_time(build_report(lite, **kwargs))
    b = _without_time(build_report(pg, **kwargs))
    assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
    if kwargs.get("difficulties") != []:
        assert a["operations"] and a["operations"][0]["latency_p95"] is not None  # latencies really computed


def test_exports_are_the_same_from_sqlite_and_postgres(both, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lite, pg = both
    for fmt in ("jsonl", "csv", "parquet"):
        export(lite, fmt, tmp_path / f"a.{fmt}")
        export(pg, fmt, tmp_path / f"b.{fmt}", tool_success_rates=[0.8, 0.6])
        if fmt != "parquet":
            assert (tmp_path / f"a.{fmt}").read_text() == (tmp_path / f"b.{fmt}").read_text()
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "a.parquet").equals(pq.read_table(tmp_path / "b.parquet"))
    la, lb = legacy_summary(lite), legacy_summary(pg)
    la["summary"].pop("generated_at")
    lb["summary"].pop("generated_at")
    assert json.dumps(la) == json.dumps(lb)  # the same tree, in the same order


# ---------------------------------------------------------------------- every command


def test_every_command_against_postgres(pg_url: str, tmp_path: Path) -> None:
    run = _cli("run", "-m", "sim/weak,sim/strong", "-p", "baseline,cot", "-n", "2", "--db", pg_url, "--no-progress",
               cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "completed 40" in run.stdout and "Traceback" not in run.stderr
    again = _cli("run", "-m", "sim/weak,sim/strong", "-p", "baseline,cot", "-n", "2", "--db", pg_url, "--no-progress",
                 cwd=tmp_path)
    assert again.returncode == 0 and "already done 40, completed 0" in again.stdout
    dry = _cli("run", "-m", "sim/weak", "-p", "baseline,cot", "-n", "3", "--db", pg_url, "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and "already done" in dry.stdout
    status = _cli("status", "--db", pg_url, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "finished" in status.stdout and "sim/strong" in status.stdout
    for fmt in ("md", "json", "csv", "html"):
        rep = _cli("report", "--db", pg_url, "--format", fmt, "--out", str(tmp_path / f"r.{fmt}"), cwd=tmp_path)
        assert rep.returncode == 0, rep.stderr
    assert json.loads((tmp_path / "r.json").read_text())["tests"] == 40
    for fmt, n in (("jsonl", 40), ("csv", 40), ("parquet", 40), ("legacy-json", 40)):
        ex = _cli("export", "--db", pg_url, "--format", fmt, "--out", str(tmp_path / f"e.{fmt}"), cwd=tmp_path)
        assert ex.returncode == 0, ex.stderr
        assert f"wrote {n} rows" in ex.stderr
    assert not (tmp_path / "postgresql:").exists()  # logs did not go to a directory named after the URL


@pytest.fixture
def sql_ascii_url() -> Iterator[str]:
    """A database created as `initdb --no-locale` without `-E UTF8` leaves them: SQL_ASCII."""
    from ..distributed.pgserver import admin_url

    admin = admin_url()  # skips without psycopg or a server, as every PostgreSQL test does
    import psycopg

    name = "pb_ascii_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' TEMPLATE template0")
    url = f"{admin.rpartition('/')[0]}/{name}"
    try:
        yield url
    finally:
        drop_database(admin, url)


def test_a_sql_ascii_database_is_a_working_store(sql_ascii_url: str, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(sql_ascii_url) as conn:  # the database as the issue met it
        assert conn.execute("SHOW server_encoding").fetchone()[0] == b"SQL_ASCII"  # bytes, by default
    with open_store(sql_ascii_url) as store:
        store.write([rec("t1", infra_error="caf\u00e9 \u2603 \U0001f600")])
    with open_store(sql_ascii_url, create=False) as store:  # found again as a pilotbench store
        assert store.done_ids() == {"t1"}
        assert store.query("SELECT infra_error FROM results")[0][0] == "caf\u00e9 \u2603 \U0001f600"
    args = ("run", "-m", "sim/strong", "-p", "baseline,cot", "-n", "2", "--db", sql_ascii_url, "--no-progress")
    first = _cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "completed 20" in first.stdout
    again = _cli(*args, cwd=tmp_path)  # nothing is run twice
    assert again.returncode == 0, again.stderr
    assert "already done 20, completed 0" in again.stdout
    for command in (("status",), ("report", "--format", "md"), ("export", "--format", "jsonl", "--out", "x.jsonl")):
        out = _cli(*command, "--db", sql_ascii_url, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    with open_store(sql_ascii_url, create=False) as store:
        assert store.count() == 21 and len(store.done_ids()) == 21
