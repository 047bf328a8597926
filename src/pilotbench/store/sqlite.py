"""The results store on SQLite: append-only, one row per test attempt, WAL, many writers.

Idempotent writes: an attempt has a unique id, and a test can be `done` only once (a partial
unique index), so a batch written twice, or the same test finished by two processes, leaves one
row. Aggregates are always computed by queries over these rows.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import StoreError, StoreUnavailable
from . import queries
from .base import LatencyQuantiles
from .records import COLUMNS, TestRecord, merge_lanes, run_info

SCHEMA_VERSION = 2  # 2: columns added since 1 are added in place (ALTER TABLE ADD COLUMN)
DEFAULT_DB = Path("pilotbench-results") / "results.db"

_COLUMN_TYPES = {
    "tool_success_rate": "REAL", "instance": "INTEGER", "seed": "INTEGER", "max_turns": "INTEGER",
    "success": "INTEGER", "weighted_score": "REAL", "workflow_adherence": "REAL", "tool_coverage": "REAL",
    "efficiency": "REAL", "precision": "REAL", "turns": "INTEGER", "tool_calls": "INTEGER", "format_errors": "INTEGER",
    "assistance_turns": "INTEGER", "model_calls": "INTEGER", "prompt_tokens": "INTEGER",
    "completion_tokens": "INTEGER", "rate_limited": "INTEGER", "retries": "INTEGER", "latency_s": "REAL",
    "started_at": "REAL", "finished_at": "REAL", "text_calls": "INTEGER", "truncated_replies": "INTEGER",
    "plain_result": "INTEGER",
}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    rowid INTEGER PRIMARY KEY,
    {", ".join(f"{c} {_COLUMN_TYPES.get(c, 'TEXT')}" + (" NOT NULL UNIQUE" if c == "attempt_id" else "") for c in COLUMNS)}
);
CREATE UNIQUE INDEX IF NOT EXISTS results_done_once ON results(test_id) WHERE status = 'done';
CREATE INDEX IF NOT EXISTS results_test ON results(test_id, status);
CREATE INDEX IF NOT EXISTS results_cell ON results(model, prompt_type, task_type, difficulty, tool_success_rate);
CREATE INDEX IF NOT EXISTS results_status ON results(model, prompt_type, status, success);
CREATE INDEX IF NOT EXISTS results_run ON results(run_id, status);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,
    planned INTEGER NOT NULL DEFAULT 0,
    info TEXT NOT NULL DEFAULT '{{}}'
);
"""

# Leases on tests, so concurrent runs of one plan share its pending tests (runner.scheduler).
# Made on first use, not by the schema: reading commands never write.
_CLAIMS_TABLE = "CREATE TABLE IF NOT EXISTS claims (test_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL)"

# Each stored call_latencies (a JSON list) as rows of `j.value`, and the test that a row holds one.
_LATENCY_SOURCE = "FROM results AS r, json_each(r.call_latencies) AS j"
_LATENCY_VALID = "json_valid(r.call_latencies)"

_INSERT = f"INSERT OR IGNORE INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_ROW_PLACEHOLDERS = f"({', '.join('?' * len(COLUMNS))})"
_MAX_ROWS_PER_INSERT = 200


@functools.lru_cache(maxsize=16)
def _insert_sql(rows: int) -> str:
    """INSERT OR IGNORE of `rows` rows in one statement."""
    return f"INSERT OR IGNORE INTO results ({', '.join(COLUMNS)}) VALUES " + ", ".join([_ROW_PLACEHOLDERS] * rows)


def _check_file(path: Path) -> None:
    if path.exists():
        if path.is_dir():
            raise StoreError(f"database path {path} is a directory")
        with path.open("rb") as f:
            head = f.read(16)
        if head and head != b"SQLite format 3\x00":
            raise StoreError(f"{path} is not a SQLite database")


def corruption_message(path: str | os.PathLike[str], error: BaseException) -> str | None:
    """One line for a SQLite file whose pages are damaged (the header may be intact, so it opens
    and fails on the first read of a damaged page), naming the file and how to check it; None for
    any other error."""
    text = str(error)
    if not (getattr(error, "sqlite_errorname", "") == "SQLITE_CORRUPT" or "malformed" in text):
        return None
    return (f"{path} is damaged ({text}): check it with sqlite3 {path} 'PRAGMA integrity_check'; "
            "restore it from a copy, or `.recover` what is readable into a new file")


class SQLiteStore:
    """Open (creating if asked) a results database. Safe to use from one thread at a time."""

    backend = "sqlite"

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_DB, *, create: bool = True, timeout: float = 30.0) -> None:
        self.path = Path(path)
        _check_file(self.path)
        if not self.path.exists():
            if not create:
                raise StoreError(f"no results database at {self.path}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            # The schema is checked before anything is written: a file this store refuses
            # (a foreign database, a newer schema) is left exactly as it was.
            self._migrate(create)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # Checkpoint every ~40 MB of WAL rather than 4 MB: each checkpoint syncs, and at the
            # default a store taking results in bulk spent a third of its write time on them.
            self._db.execute("PRAGMA wal_autocheckpoint=10000")
        except sqlite3.DatabaseError as e:
            self._db.close()
            raise StoreError(corruption_message(self.path, e) or f"{self.path} cannot be used as a results database: {e}") from None
        except BaseException:
            self._db.close()
            raise

    def _migrate(self, create: bool) -> None:
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {version}, newer than this pilotbench understands "
                    f"({SCHEMA_VERSION}); upgrade pilotbench"
                )
            if version < SCHEMA_VERSION or self._missing_columns():
                self._add_missing_columns(version)
            if create:
                self._ensure_indexes()
            return
        elif tables:
            raise StoreError(f"{self.path} is a SQLite database but not a pilotbench results store")
        if not create:
            raise StoreError(f"{self.path} is not an initialised pilotbench results store")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for stmt in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(stmt)
            self._db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _missing_columns(self) -> list[str]:
        have = {r[1] for r in self._db.execute("PRAGMA table_info(results)")}
        return [c for c in COLUMNS if c not in have]

    def _add_missing_columns(self, version: int) -> None:
        """Bring an older store up to this schema: new record fields become NULL columns."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for c in self._missing_columns():
                self._db.execute(f"ALTER TABLE results ADD COLUMN {c} {_COLUMN_TYPES.get(c, 'TEXT')}")
            self._db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _ensure_indexes(self) -> None:
        """Indexes added after a store was created (same schema version): built once, by a writer."""
        have = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        for stmt in filter(str.strip, _SCHEMA.split(";")):
            words = stmt.split()
            if words[:2] == ["CREATE", "INDEX"] and words[5] not in have:
                self._db.execute(stmt)

    # ------------------------------------------------------------------ writing

    def write(self, records: Sequence[TestRecord]) -> int:
        """Write a batch in one transaction; returns how many rows were new."""
        if not records:
            return 0
        rows = [r.to_row() for r in records]

        def insert() -> int:
            before = self._db.total_changes
            self._insert(rows)
            return self._db.total_changes - before

        return self._immediate(insert)

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        """INSERT OR IGNORE the rows, many per statement.

        Row by row (executemany), each row's step gives up the GIL and must win it back; when the
        event loop's thread keeps the GIL busy, every row then waits out a thread switch interval
        and a writer thread fell to a few hundred rows a second (BENCHMARKS.md). A statement of
        many rows steps once. Rows are still inserted in order, each ignored on its own conflict.
        """
        db = self._db
        n = self._rows_per_insert
        for i in range(0, len(rows), n):
            chunk = rows[i : i + n]
            db.execute(_insert_sql(len(chunk)), list(itertools.chain.from_iterable(chunk)))

    @functools.cached_property
    def _rows_per_insert(self) -> int:
        try:
            variables = self._db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except (AttributeError, sqlite3.Error):  # pragma: no cover - SQLite's compiled-in default
            variables = 32766
        return max(1, min(_MAX_ROWS_PER_INSERT, variables // len(COLUMNS)))

    def start_run(self, run_id: str, planned: int, info: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO runs(run_id, started_at, status, planned, info) VALUES (?, ?, 'running', ?, ?)",
            (run_id, time.time(), planned, json.dumps(info, default=str)),
        )

    def finish_run(self, run_id: str, status: str, info: dict[str, Any] | None = None) -> None:
        """Mark the run ended; `info` entries (e.g. the keys it lost, with why) join its info."""
        self._db.execute("UPDATE runs SET finished_at=?, status=? WHERE run_id=?", (time.time(), status, run_id))
        if info:
            self.update_run_info(run_id, info)

    def record_lanes(self, run_id: str, lanes: dict[str, Any]) -> None:
        """Each lane's entry replaces that lane's under the run's info `lanes`; other lanes' stay
        (the owners of a distributed run each record their own)."""
        self._edit_info(run_id, lambda info: merge_lanes(info, lanes))

    def update_run_info(self, run_id: str, info: dict[str, Any]) -> None:
        """Entries of `info` join (and replace those of) the run's recorded info."""
        self._edit_info(run_id, lambda old: old.update(info))

    def _edit_info(self, run_id: str, edit: Callable[[dict[str, Any]], None]) -> None:
        with self._db:
            row = self._db.execute("SELECT info FROM runs WHERE run_id=?", (run_id,)).fetchone()
            info = run_info(row[0] if row else None)
            edit(info)
            self._db.execute("UPDATE runs SET info=? WHERE run_id=?", (json.dumps(info, default=str), run_id))

    # ------------------------------------------------------------------ claims (leases on tests)

    def _claims_table(self) -> None:
        if not getattr(self, "_have_claims", False):
            self._db.execute(_CLAIMS_TABLE)
            self._have_claims = True

    def _immediate(self, fn: Callable[[], Any]) -> Any:
        """fn() in a BEGIN IMMEDIATE transaction, waiting out other writers."""
        db = self._db
        for attempt in range(50):
            try:
                db.execute("BEGIN IMMEDIATE")
                out = fn()
                db.execute("COMMIT")
                return out
            except sqlite3.Error as e:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if not isinstance(e, sqlite3.OperationalError) or ("locked" not in str(e) and "busy" not in str(e)):
                    raise StoreError(f"cannot write to {self.path}: {e}") from None
                time.sleep(min(0.05 * (attempt + 1), 1.0))
        raise StoreUnavailable(f"{self.path} stayed locked by another writer")

    def claim(
        self, owner: str, test_ids: Sequence[str], ttl: float, *, now: float | None = None,
        gone: Callable[[str], bool] | None = None,
    ) -> tuple[list[str], set[str]]:
        """Lease tests to `owner` for `ttl` seconds: those not `done` and not leased to another
        owner (or whose lease expired, or whose holder `gone` says is gone). Returns (the ids
        leased, in order; the ids already done)."""
        self._claims_table()
        ids = list(dict.fromkeys(test_ids))
        t = time.time() if now is None else now

        def go() -> tuple[list[str], set[str]]:
            done: set[str] = set()
            held: set[str] = set()
            holders: dict[str, bool] = {}  # holder of a live lease -> gone
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                done |= {r[0] for r in self._db.execute(
                    f"SELECT test_id FROM results WHERE status='done' AND test_id IN ({marks})", chunk)}
                for test_id, holder in self._db.execute(
                    f"SELECT test_id, owner FROM claims WHERE test_id IN ({marks}) AND owner != ? AND expires_at > ?",
                    [*chunk, owner, t]):
                    if holder not in holders:
                        holders[holder] = gone is not None and gone(holder)
                    if not holders[holder]:
                        held.add(test_id)
            take = [i for i in ids if i not in done and i not in held]
            self._db.executemany(
                "INSERT INTO claims(test_id, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT(test_id) "
                "DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at",
                [(i, owner, t + ttl) for i in take],
            )
            return take, done

        return self._immediate(go)

    def renew_claims(self, owner: str, ttl: float, *, now: float | None = None) -> int:
        """Push back the expiry of every lease `owner` holds; returns how many it holds."""
        self._claims_table()
        t = time.time() if now is None else now
        return self._immediate(lambda: self._db.execute(
            "UPDATE claims SET expires_at = ? WHERE owner = ?", (t + ttl, owner)).rowcount)

    def release_claims(self, owner: str, test_ids: Sequence[str] | None = None) -> None:
        """Give up `owner`'s leases on `test_ids` (all of them when None)."""
        self._claims_table()
        if test_ids is None:
            self._immediate(lambda: self._db.execute("DELETE FROM claims WHERE owner = ?", (owner,)))
            return
        ids = list(test_ids)

        def go() -> None:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                self._db.execute(
                    f"DELETE FROM claims WHERE owner = ? AND test_id IN ({','.join('?' * len(chunk))})", [owner, *chunk])

        self._immediate(go)

    # ------------------------------------------------------------------ reading

    def done_ids(self, models: Iterable[str] | None = None) -> set[str]:
        """Ids of tests finished with a model result (status `done`)."""
        ms = None if models is None else list(models)
        if ms is not None and {r[0] for r in self._db.execute("SELECT DISTINCT model FROM results")} <= set(ms):
            ms = None  # every row is one of these models: the partial index answers without the table
        if ms is None:
            cur = self._db.execute("SELECT test_id FROM results WHERE status='done'")
        else:
            cur = self._db.execute(
                f"SELECT test_id FROM results WHERE status='done' AND model IN ({','.join('?' * len(ms))})", ms
            )
        return {r[0] for r in cur}

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    def iter_rows(self, where: str = "", params: Sequence[Any] = (), columns: Sequence[str] = COLUMNS) -> Iterator[dict[str, Any]]:
        sql = f"SELECT {', '.join(columns)} FROM results {('WHERE ' + where) if where else ''} ORDER BY rowid"
        cur = self._db.execute(sql, params)
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row))

    def count(self, where: str = "", params: Sequence[Any] = ()) -> int:
        return self._db.execute(f"SELECT COUNT(*) FROM results {('WHERE ' + where) if where else ''}", params).fetchone()[0]

    def runs(self) -> list[dict[str, Any]]:
        cur = self._db.execute("SELECT run_id, started_at, finished_at, status, planned, info FROM runs ORDER BY started_at")
        return [dict(zip([d[0] for d in cur.description], r)) for r in cur]

    def distinct_values(self, column: str) -> list[Any]:
        return queries.distinct_values(self, column)

    def latency_quantiles(self, cond: str, params: Sequence[Any], qs: Sequence[int]) -> LatencyQuantiles | None:
        try:
            return queries.latency_quantiles(self, cond, params, qs, source=_LATENCY_SOURCE, valid=_LATENCY_VALID)
        except sqlite3.OperationalError:  # no json_each in this SQLite build
            return None

    def lost_keys(self, cond: str, params: Sequence[Any]) -> dict[tuple[str, str], str]:
        return queries.lost_keys(self, cond, params)

    def damage_message(self, error: BaseException) -> str | None:
        return corruption_message(self.path, error) if isinstance(error, sqlite3.DatabaseError) else None

    def rowid_scan_source(self) -> str | None:
        return "results NOT INDEXED"  # the table in rowid order: a range of new rows, no index walk

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
