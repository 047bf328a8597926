"""Damaged and full files: a log file on a full disk, a SQLite store with garbage in its data
pages (header and schema intact), a 0-byte store, and paging input the viewer cannot take.

Each is one clear line (or one clear page), never a traceback: a full disk is said once, not once
per log message; a damaged store names the file and `PRAGMA integrity_check` and exits 2 for
run, report, status and export, and the viewer answers with the same words; an empty file made
into a new store is said; a cursor beyond any row number is a 400.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import sqlite3
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pilotbench.cli import main
from pilotbench.config import load_config
from pilotbench.plan import PlanSpec
from pilotbench.runner.runtime import build_runtime
from pilotbench.runner.scheduler import QuietFileHandler, Runner, RunOptions
from pilotbench.store.sqlite import SQLiteStore
from pilotbench.view.app import make_app

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")


# ------------------------------------------------------------------------------------------------
# A full disk under the logs
# ------------------------------------------------------------------------------------------------


@needs_dev_full
def test_a_log_file_on_a_full_disk_is_said_once(capfd) -> None:  # type: ignore[no-untyped-def]
    log = logging.getLogger("pilotbench.test.full")
    log.propagate = False
    handler = QuietFileHandler("/dev/full", encoding="utf-8")
    log.addHandler(handler)
    try:
        for i in range(500):
            log.warning("message %d with some text to fill the buffer %s", i, "x" * 200)
    finally:
        log.removeHandler(handler)
        try:
            handler.close()
        except OSError:
            pass
    _, err = capfd.readouterr()
    assert "Logging error" not in err and "Traceback" not in err
    assert err.count("\n") == 1 and "cannot write the log file /dev/full" in err and "No space left" in err


@needs_dev_full
def test_a_run_whose_log_disk_is_full_finishes_with_one_warning(tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    """The run's provider log is on a full disk (/dev/full): every test still ends done and stored,
    and stderr holds one line about it, not a traceback per message."""
    cfg = load_config(None)
    plan = PlanSpec(models=("sim/strong",), prompt_types=("baseline", "cot"), task_types=("simple_task", "basic_task"),
                    num_instances=10)
    run_id = "full-disk-run"
    (tmp_path / "logs" / run_id).mkdir(parents=True)
    (tmp_path / "logs" / run_id / "sim.log").symlink_to("/dev/full")  # the provider of sim/strong

    async def go():  # type: ignore[no-untyped-def]
        runtime = build_runtime(cfg, ["sim/strong"])
        store = SQLiteStore(tmp_path / "r.db")
        try:
            options = RunOptions(log_dir=tmp_path / "logs", live=False, handle_signals=False, progress_interval=3600)
            return await Runner(runtime, store, options=options, run_id=run_id).run(plan)
        finally:
            await runtime.aclose()
            store.close()

    summary = asyncio.run(go())
    _, err = capfd.readouterr()
    assert summary.completed == len(plan) and summary.exit_status == 0
    assert "Logging error" not in err and "Traceback" not in err
    assert err.count("cannot write the log file") == 1 and len(err.splitlines()) <= 2, err


# ------------------------------------------------------------------------------------------------
# A damaged SQLite store
# ------------------------------------------------------------------------------------------------


def _damage(db: Path, tables: tuple[str, ...] = ("results", "runs")) -> None:
    """Garbage over every page of `tables` (leaves and roots), leaving page 1 (header and schema)
    and the meta table intact: the store opens, and fails on the first read of those tables."""
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = sorted({p for (p,) in con.execute(
            f"SELECT pageno FROM dbstat WHERE name IN ({','.join('?' * len(tables))})", tables)})
        size = con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()
    assert pages and 1 not in pages
    rng = random.Random(7)
    with open(db, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * size)
            f.write(bytes(rng.randrange(256) for _ in range(size)))


@pytest.fixture(scope="module")
def damaged_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("damaged")
    db = where / "good.db"
    assert main(["run", "-m", "sim/weak,sim/strong", "-p", "baseline,cot", "-t", "all", "-n", "2", "--db", str(db),
                 "--no-progress"]) == 0
    bad = where / "bad.db"
    shutil.copy(db, bad)
    _damage(bad)
    return bad


@pytest.mark.parametrize("command", [
    ["run", "-m", "sim/weak", "-p", "baseline", "-t", "all", "-n", "2", "--no-progress"],
    ["report"], ["report", "--format", "json"], ["status"], ["export", "--format", "jsonl", "--out", "{tmp}/x.jsonl"],
], ids=["run", "report", "report-json", "status", "export"])
def test_a_damaged_store_is_one_line_naming_the_file_and_the_check(command: list[str], damaged_template: Path, tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "results.db"
    shutil.copy(damaged_template, db)
    with sqlite3.connect(db) as con:  # the header and schema are intact: the file opens
        assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    capfd.readouterr()
    code = main([a.replace("{tmp}", str(tmp_path)) for a in command] + ["--db", str(db)])
    out, err = capfd.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert str(db) in err and "PRAGMA integrity_check" in err and "malformed" in err


def test_the_viewer_answers_a_damaged_store_with_a_clear_error(damaged_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "results.db"
    shutil.copy(damaged_template, db)

    async def go() -> list[tuple[int, str]]:
        store = SQLiteStore(db, create=False)
        client = TestClient(TestServer(make_app(store)))
        await client.start_server()
        try:
            out = []
            for path in ("/runs", "/tests", "/results"):
                response = await client.get(path)
                out.append((response.status, await response.text()))
            return out
        finally:
            await client.close()
            store.close()

    for status, text in asyncio.run(go()):
        assert status == 500 and "Traceback" not in text
        assert "PRAGMA integrity_check" in text and "results.db" in text


def test_an_empty_file_made_into_a_store_is_said(tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "results.db"
    db.write_bytes(b"")
    assert main(["run", "-m", "sim/weak", "-t", "simple_task", "-n", "1", "--db", str(db), "--no-progress"]) == 0
    _, err = capfd.readouterr()
    assert f"note: {db} is an empty file; making it a new results store" in err
    assert main(["run", "-m", "sim/weak", "-t", "simple_task", "-n", "1", "--db", str(db), "--no-progress"]) == 0
    _, err = capfd.readouterr()
    assert "empty file" not in err  # said only when it was empty


# ------------------------------------------------------------------------------------------------
# Paging input the viewer cannot take
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["after=99999999999999999999999999", "before=99999999999999999999999999",
                                   "after=-1", "before=12abc", "seed=99999999999999999999999999",
                                   "max_turns=-99999999999999999999999999"])
def test_bad_paging_input_is_a_400(query: str, damaged_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "good.db"
    shutil.copy(damaged_template.with_name("good.db"), db)

    async def go() -> tuple[int, str]:
        store = SQLiteStore(db, create=False)
        client = TestClient(TestServer(make_app(store)))
        await client.start_server()
        try:
            response = await client.get(f"/tests?{query}")
            return response.status, await response.text()
        finally:
            await client.close()
            store.close()

    status, text = asyncio.run(go())
    assert status == 400, text[:300]
    assert "Traceback" not in text and ("row number" in text or "out of range" in text or "whole number" in text)
