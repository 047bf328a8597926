"""What the viewer reads from the store: runs and their live figures, pages of tests, one test.

Every query is portable SQL over `store.query` (SQLite or PostgreSQL, `?` placeholders), and each
is bounded on a store of millions of rows: the tests list walks `rowid` backwards and stops after
one page (keyset pagination), the list's count stops at a cap, distinct models and runs are read
by index skip-scans, and a run's figures are aggregated once and then only over rows added since.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..runner.outcome import error_cause
from ..store.base import Store
from ..store.records import COLUMNS, run_info
from ..store.transcripts import decode_transcript

PAGE_SIZE = 50
COUNT_CAP = 1_000  # counted exactly up to here: a capped count of a common filter stays a short scan
WINDOW = 5_000  # rows of the newest (or cursor's) range tried first, in row order, before any index
TEXT_SCAN_LIMIT = 100_000  # rows examined per page when searching final answers
TRANSCRIPT_SCAN_LIMIT = 20_000  # rows examined per page when searching conversations (each is inflated)
_FETCH = 500  # rows fetched per step of a text search

# Filters of the tests list: query parameter -> column. Two text searches are separate: `q` (text
# anywhere in the conversation: prompt, replies, tool calls, tool results, final answer) and
# `answer` (text in the final answer).
FILTERS: tuple[str, ...] = (
    "model", "prompt_type", "task_type", "difficulty", "tool_success_rate", "success_level",
    "error_category", "status", "run_id", "test_id", "provider", "key_label", "seed", "severity", "max_turns",
    "suite_version",
)
_INT_FILTERS = ("seed", "max_turns")
LIST_COLUMNS: tuple[str, ...] = (
    "rowid", "attempt_id", "test_id", "run_id", "model", "prompt_type", "task_type", "difficulty",
    "tool_success_rate", "instance", "status", "success_level", "error_category", "weighted_score", "turns",
    "tool_calls", "latency_s", "finished_at",
)
INT64_MAX = 2**63 - 1  # the largest integer the store takes
TEXT_FILTERS: tuple[str, ...] = ("q", "answer")


class BadRequest(ValueError):
    """A request the viewer cannot answer (a malformed filter or cursor): shown as a 400 page."""


def parse_filters(query: dict[str, str]) -> dict[str, str]:
    """The list filters present (non-empty) in a query string, validated."""
    out = {k: str(query[k]).strip() for k in FILTERS if str(query.get(k, "")).strip()}
    if "tool_success_rate" in out:
        try:
            rate = float(out["tool_success_rate"])
        except ValueError:
            raise BadRequest(f"tool_success_rate must be a number, got {out['tool_success_rate']!r}") from None
        if not 0.0 <= rate <= 1.0:
            raise BadRequest(f"tool_success_rate must be between 0 and 1, got {rate:g}")
    for name in _INT_FILTERS:
        if name in out:
            try:
                value = int(out[name])
            except ValueError:
                raise BadRequest(f"{name} must be a whole number, got {out[name][:40]!r}") from None
            if not -INT64_MAX - 1 <= value <= INT64_MAX:
                raise BadRequest(f"{name} is out of range: {out[name][:40]}")
    for name in TEXT_FILTERS:
        if str(query.get(name, "")).strip():
            out[name] = str(query[name]).strip()[:200]
    return out


def _conditions(filters: dict[str, str]) -> tuple[list[str], list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for name in FILTERS:
        if name not in filters:
            continue
        value = filters[name]
        if name == "tool_success_rate":
            rate = float(value)
            parts.append("tool_success_rate BETWEEN ? AND ?")  # a range, so the cell index still applies
            params += [rate - 1e-9, rate + 1e-9]
        elif name in _INT_FILTERS:
            parts.append(f"{name} = ?")
            params.append(int(value))
        elif value == "-":  # the "none" choice: a NULL column (e.g. no error category)
            parts.append(f"{name} IS NULL")
        else:
            parts.append(f"{name} = ?")
            params.append(value)
    if "answer" in filters:
        parts.append("LOWER(trajectory) LIKE ?")  # a superset; the final answer is checked in Python
        params.append(_like_pattern(json.dumps(filters["answer"].lower())[1:-1]))
    # `q` has no SQL condition: the transcript column is compressed, so each row is inflated and read
    return parts, params


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching every text that contains `text` (its own % and _ become wildcards: a superset)."""
    return "%" + "%".join(p for p in re.split(r"[%_]", text) if p) + "%"


def _final_answer_has(trajectory: Any, text: str) -> bool:
    try:
        traj = json.loads(trajectory) if isinstance(trajectory, str) else trajectory
    except ValueError:
        return False
    answer = traj.get("final_answer") if isinstance(traj, dict) else None
    return isinstance(answer, str) and text.lower() in answer.lower()


def _conversation_has(transcript: Any, trajectory: Any, text: str) -> bool:
    """Whether `text` (any case) is anywhere in the test's conversation: every message's text, each
    tool call's name and arguments. Without a transcript, the scored calls and the final answer."""
    needle = text.lower()
    doc = decode_transcript(transcript) if transcript else None
    if doc is not None:
        parts: list[str] = []
        for m in doc.get("messages") or []:
            if not isinstance(m, dict):
                continue
            content = m.get("content")
            parts.append(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False))
            for c in m.get("tool_calls") or []:
                fn = (c or {}).get("function") or {}
                parts += [str(fn.get("name") or ""), str(fn.get("arguments") or "")]
        return any(needle in p.lower() for p in parts)
    try:
        traj = json.loads(trajectory) if isinstance(trajectory, str) else trajectory
    except ValueError:
        return False
    if not isinstance(traj, dict):
        return False
    parts = [str(traj.get("final_answer") or "")]
    for c in traj.get("calls") or []:
        if isinstance(c, dict):
            args = c.get("arguments")
            parts += [str(c.get("name") or ""), args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)]
    return any(needle in p.lower() for p in parts)


def _text_matches(row: dict[str, Any], filters: dict[str, str]) -> bool:
    if "answer" in filters and not _final_answer_has(row.get("trajectory"), filters["answer"]):
        return False
    if "q" in filters and not _conversation_has(row.get("transcript"), row.get("trajectory"), filters["q"]):
        return False
    return True


@dataclass
class TestsPage:
    rows: list[dict[str, Any]]
    count: int  # matching rows, up to COUNT_CAP (+1 means "more than the cap"); -1 when not counted
    older: int | None  # cursor for the next (older) page, or None
    newer: int | None  # cursor for the previous (newer) page, or None
    scanned_out: bool = False  # a text search stopped at TEXT_SCAN_LIMIT rows before filling the page
    filters: dict[str, str] = field(default_factory=dict)


class ViewData:
    """Read-only queries over one open store, safe to call from several threads (one at a time)."""

    def __init__(self, store: Store, *, now: Callable[[], float] = time.time) -> None:
        self.store = store
        self.now = now  # wall-clock seconds: a lane is active while its last result is recent
        self._lock = threading.Lock()
        self._run_agg = _RunAggregates()
        self._run_counts = _RunCounts()
        self._report_cache: tuple[Any, dict[str, Any]] | None = None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self.store.query(sql, list(params))

    # ------------------------------------------------------------------ shape of the store

    def version(self) -> tuple[Any, ...]:
        """Changes whenever a row or a run is written: the key of cached figures."""
        rows = self.query("SELECT MAX(rowid) FROM results")
        runs = self.query("SELECT COUNT(*), MAX(started_at), MAX(finished_at) FROM runs")
        return (rows[0][0], tuple(runs[0]))

    def distinct(self, column: str) -> list[str]:
        """Distinct values of an indexed leading column, one index seek each (a recursive skip-scan)."""
        if column not in ("model", "run_id", "test_id"):
            raise ValueError(column)
        sql = (
            f"WITH RECURSIVE v(x) AS (SELECT MIN({column}) FROM results UNION ALL "
            f"SELECT (SELECT MIN({column}) FROM results WHERE {column} > v.x) FROM v WHERE v.x IS NOT NULL) "
            "SELECT x FROM v WHERE x IS NOT NULL"
        )
        return sorted(str(r[0]) for r in self.query(sql))

    # ------------------------------------------------------------------ tests list

    def tests_page(self, filters: dict[str, str], *, before: int | None = None, after: int | None = None,
                   page_size: int = PAGE_SIZE, count: bool = True) -> TestsPage:
        """One page of matching tests, newest first. `before`: rows older than that rowid;
        `after`: the page of rows just newer than that rowid."""
        conds, params = _conditions(filters)
        text = any(k in filters for k in TEXT_FILTERS)
        limit = TRANSCRIPT_SCAN_LIMIT if "q" in filters else TEXT_SCAN_LIMIT
        going_back = after is not None
        cursor = after if going_back else before
        op, order = (">", "ASC") if going_back else ("<", "DESC")
        names = LIST_COLUMNS + (("trajectory",) if text else ()) + (("transcript",) if "q" in filters else ())
        rows: list[dict[str, Any]] = []
        scanned = 0
        scanned_out = False
        window = self._window_page(conds, params, cursor, going_back, page_size) if conds and not text else None
        if window is not None:
            rows = window
        while window is None and len(rows) <= page_size:
            cond = conds + ([f"rowid {op} ?"] if cursor is not None else [])
            prm = params + ([int(cursor)] if cursor is not None else [])
            step = _FETCH if text else page_size + 1
            where = ("WHERE " + " AND ".join(cond)) if cond else ""
            got = self.query(f"SELECT {', '.join(names)} FROM results {where} ORDER BY rowid {order} LIMIT {step}", prm)
            for r in got:
                row = dict(zip(names, r))
                cursor = int(row["rowid"])
                if text:
                    scanned += 1
                    matched = _text_matches(row, filters)
                    row.pop("trajectory", None)
                    row.pop("transcript", None)
                    if not matched:
                        continue
                rows.append(row)
                if len(rows) > page_size:
                    break
            if not text or len(got) < step:
                break
            if scanned >= limit and len(rows) <= page_size:
                scanned_out = True
                break
        more = len(rows) > page_size or scanned_out
        rows = rows[:page_size]
        older = newer = None
        if going_back:
            rows.reverse()
            newer = (cursor if scanned_out or not rows else rows[0]["rowid"]) if more else None
            older = rows[-1]["rowid"] if rows else after
        else:
            older = ((rows[-1]["rowid"] if len(rows) == page_size else cursor) if more else None)
            newer = rows[0]["rowid"] if (rows and before is not None) else (before if before is not None else None)
        n = self.count(filters) if count else -1
        return TestsPage(rows, n, older, newer, scanned_out, filters)

    def _window_page(self, conds: list[str], params: list[Any], cursor: int | None, going_back: bool,
                     page_size: int) -> list[dict[str, Any]] | None:
        """The page from the WINDOW rows next to the cursor, read in row order (SQLite), or None when
        they hold less than a page. A common filter is answered here without sorting its index
        range (a model's quarter of a million rows took 80 ms to sort); a rare one falls back to
        the planner's choice, whose index range is then small."""
        scan = self.store.rowid_scan_source()
        if scan is None:
            return None  # PostgreSQL walks its primary key backwards with the filter: no sort either
        if cursor is None:
            top = self.query("SELECT MAX(rowid) FROM results")[0][0]
            if top is None:
                return []
            cursor = int(top) + 1
        if going_back:
            rng, order, prm = "rowid > ? AND rowid <= ?", "ASC", [cursor, cursor + WINDOW]
        else:
            rng, order, prm = "rowid < ? AND rowid >= ?", "DESC", [cursor, cursor - WINDOW]
        sql = (f"SELECT {', '.join(LIST_COLUMNS)} FROM {scan} WHERE {' AND '.join(conds)} AND {rng} "
               f"ORDER BY rowid {order} LIMIT {page_size + 1}")
        got = self.query(sql, params + prm)
        if len(got) <= page_size:
            return None
        return [dict(zip(LIST_COLUMNS, r)) for r in got]

    def count(self, filters: dict[str, str]) -> int:
        """Matching rows up to COUNT_CAP; COUNT_CAP + 1 means more. Not counted (-1) for text searches."""
        if any(k in filters for k in TEXT_FILTERS):
            return -1
        conds, params = _conditions(filters)
        where = ("WHERE " + " AND ".join(conds)) if conds else ""
        return int(self.query(f"SELECT COUNT(*) FROM (SELECT 1 FROM results {where} LIMIT {COUNT_CAP + 1}) AS c", params)[0][0])

    # ------------------------------------------------------------------ one test

    def test(self, attempt_id: str) -> dict[str, Any] | None:
        cols = ["rowid", *COLUMNS]  # every record field: opening a store adds the columns it lacks
        got = self.query(f"SELECT {', '.join(cols)} FROM results WHERE attempt_id = ?", [attempt_id])
        if not got:
            return None
        rec = dict(zip(cols, got[0]))
        for name in ("trajectory", "call_latencies", "required_tools"):
            value = rec.get(name)
            if isinstance(value, str):
                try:
                    rec[name] = json.loads(value)
                except ValueError:
                    pass
        rec["transcript"] = decode_transcript(rec.get("transcript"))
        return rec

    def attempts_of(self, test_id: str) -> list[dict[str, Any]]:
        got = self.query(
            "SELECT attempt_id, run_id, status, success_level, infra_error, finished_at FROM results "
            "WHERE test_id = ? ORDER BY rowid", [test_id],
        )
        return [dict(zip(("attempt_id", "run_id", "status", "success_level", "infra_error", "finished_at"), r)) for r in got]

    def siblings(self, rec: dict[str, Any], prompt_types: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The same test (task, difficulty, rate, instance, seed) done by other models, and by the same
        model with other prompt types: found by their test ids, so by the unique index."""
        from ..plan import test_id

        def tid(model: str, prompt_type: str) -> str | None:
            try:
                return test_id(
                    model, prompt_type, rec["task_type"], rec["difficulty"], float(rec["tool_success_rate"]),
                    int(rec["instance"]), rec["suite_version"], int(rec["seed"]), rec.get("severity") or "severe",
                    int(rec.get("max_turns") or 10),
                )
            except (KeyError, TypeError, ValueError):
                return None

        wanted: dict[str, tuple[str, str]] = {}
        for m in self.distinct("model"):
            if m != rec["model"] and (t := tid(m, rec["prompt_type"])):
                wanted[t] = ("model", m)
        for p in prompt_types:
            if p != rec["prompt_type"] and (t := tid(rec["model"], p)):
                wanted[t] = ("prompt_type", p)
        out: dict[str, list[dict[str, Any]]] = {"model": [], "prompt_type": []}
        if not wanted:
            return out
        ids = list(wanted)
        for i in range(0, len(ids), 200):
            chunk = ids[i : i + 200]
            for attempt_id, test, level in self.query(
                f"SELECT attempt_id, test_id, success_level FROM results WHERE status = 'done' AND test_id IN "
                f"({', '.join('?' * len(chunk))})", chunk,
            ):
                kind, value = wanted[test]
                out[kind].append({"attempt_id": attempt_id, "value": value, "success_level": level})
        for v in out.values():
            v.sort(key=lambda s: s["value"])
        return out

    # ------------------------------------------------------------------ runs

    def runs(self) -> list[dict[str, Any]]:
        """Every run, newest first, with its counts of done and error rows (from the run index alone)."""
        with self._lock:
            runs = self.store.runs()
        counts = self._run_counts.update(self)
        out = []
        for r in reversed(runs):
            c = counts.get(r["run_id"], {"done": 0, "error": 0})
            out.append(_run_summary(r, {"done": c.get("done", 0), "errors": c.get("error", 0)}, self.now()))
        return out

    def run_brief(self, run_id: str) -> dict[str, Any] | None:
        """One run as the runs list has it (counts from the run index); lanes and causes not yet read."""
        return next((r for r in self.runs() if r["run_id"] == run_id), None)

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run with its figures by lane and key and its errors by cause. The first call reads the
        run's rows; later calls read only rows written since (a running run's page polls cheaply)."""
        with self._lock:
            runs = self.store.runs()
        row = next((r for r in runs if r["run_id"] == run_id), None)
        if row is None:
            return None
        return _run_summary(row, self._run_agg.update(self, run_id), self.now())

    # ------------------------------------------------------------------ report

    def report(self) -> dict[str, Any]:
        """reports.build.build_report over the whole store, recomputed only when the store changed."""
        from ..reports.build import build_report

        version = self.version()
        if self._report_cache is not None and self._report_cache[0] == version:
            return self._report_cache[1]
        with self._lock:
            rep = build_report(self.store)
        self._report_cache = (version, rep)
        return rep


# ---------------------------------------------------------------------- run figures

_GROUP_SQL = (
    "SELECT run_id, COALESCE(provider, ''), COALESCE(lane, ''), COALESCE(key_label, ''), status, "
    "SUBSTR(COALESCE(infra_error, ''), 1, 1000), COUNT(*), COALESCE(SUM(model_calls), 0), "
    "COALESCE(SUM(rate_limited), 0), COALESCE(SUM(retries), 0), MAX(finished_at), MAX(rowid), "
    "COALESCE(SUM(CASE WHEN success_level IN ('full_success', 'partial_success') THEN 1 ELSE 0 END), 0) "
    "FROM results WHERE run_id = ? AND rowid > ? GROUP BY run_id, COALESCE(provider, ''), COALESCE(lane, ''), "
    "COALESCE(key_label, ''), status, SUBSTR(COALESCE(infra_error, ''), 1, 1000)"
)


class _RunCounts:
    """Done and error rows per run: once from the run index (no row is read), then from the rows
    added since (a rowid range)."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: {"done": 0, "error": 0})
        self._lock = threading.Lock()

    def update(self, data: ViewData) -> dict[str, dict[str, int]]:
        with self._lock:
            if self.last is None:
                sql, params = "SELECT run_id, status, COUNT(*), MAX(rowid) FROM results GROUP BY run_id, status", []
                self.last = 0
            else:
                table = data.store.rowid_scan_source() or "results"
                sql = f"SELECT run_id, status, COUNT(*), MAX(rowid) FROM {table} WHERE rowid > ? GROUP BY run_id, status"
                params = [self.last]  # SQLite: a rowid range, not a walk of the whole run index
            for run_id, status, n, top in data.query(sql, params):
                self.counts[run_id][status] = self.counts[run_id].get(status, 0) + int(n)
                self.last = max(self.last, int(top or 0))
            return self.counts


class _RunAggregates:
    """Per-run figures summed over rows; the store is append-only, so each update of a run reads
    only its rows with a rowid above the last one seen."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def update(self, data: ViewData, run_id: str) -> dict[str, Any]:
        with self._lock:
            run = self.runs.setdefault(run_id, {
                "done": 0, "errors": 0, "success": 0, "calls": 0, "rate_limited": 0, "retries": 0,
                "last_at": None, "lanes": {}, "causes": defaultdict(int),
            })
            sql = _GROUP_SQL
            scan = data.store.rowid_scan_source()
            if scan is not None and run_id in self.last:
                sql = sql.replace("FROM results WHERE", f"FROM {scan} WHERE")  # new rows by rowid range
            for (_run, provider, lane, key, status, err, n, calls, limited, retries, last_at, max_rowid,
                 success) in data.query(sql, [run_id, self.last.get(run_id, 0)]):
                n = int(n)
                if status == "done":
                    run["done"] += n
                    run["success"] += int(success)
                else:
                    run["errors"] += n
                    run["causes"][error_cause(err)] += n
                run["calls"] += int(calls)
                run["rate_limited"] += int(limited)
                run["retries"] += int(retries)
                if last_at is not None:
                    run["last_at"] = max(run["last_at"] or 0.0, float(last_at))
                ln = run["lanes"].setdefault((provider, lane, key), {
                    "provider": provider, "lane": lane, "key_label": key, "tests": 0, "errors": 0, "calls": 0,
                    "rate_limited": 0, "retries": 0, "last_at": None, "stopped": False,
                })
                ln["tests"] += n
                ln["errors"] += n if status != "done" else 0
                ln["calls"] += int(calls)
                ln["rate_limited"] += int(limited)
                ln["retries"] += int(retries)
                if last_at is not None:
                    ln["last_at"] = max(ln["last_at"] or 0.0, float(last_at))
                if status != "done" and err.startswith("model stopped"):
                    ln["stopped"] = True
                self.last[run_id] = max(self.last.get(run_id, 0), int(max_rowid or 0))
            self.last.setdefault(run_id, 0)
            return run


ACTIVE_SECONDS = 30.0  # a lane with a result this recent is shown as active


def _run_summary(r: dict[str, Any], agg: dict[str, Any] | None, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    info = run_info(r.get("info"))
    agg = {"done": 0, "errors": 0, "success": None, "calls": None, "rate_limited": None, "retries": None,
           "lanes": None, "causes": None, **(agg or {})}
    from ..runner.liveness import process_gone

    gone = process_gone(r.get("status"), info)  # marked running, but its process is gone: not waited for
    running = r.get("status") == "running" and not gone
    lanes = []
    for ln in sorted((agg["lanes"] or {}).values(), key=lambda x: (x["provider"], x["lane"], x["key_label"])):
        if ln["stopped"]:
            state = "stopped"
        elif running and ln["last_at"] and now - ln["last_at"] < ACTIVE_SECONDS:
            state = "active"
        else:
            state = "idle" if running else "finished"
        lanes.append({k: ln[k] for k in ("provider", "lane", "key_label", "tests", "errors", "calls", "rate_limited",
                                         "retries")} | {"state": state})
    planned = int(r.get("planned") or 0)
    finished = agg["done"] + agg["errors"]
    ended = r.get("finished_at") or (now if running else None)
    elapsed = (ended - r["started_at"]) if ended and r.get("started_at") else None
    return {
        "run_id": r["run_id"],
        "status": "dead" if gone else r.get("status"),
        "started_at": r.get("started_at"),
        "finished_at": r.get("finished_at"),
        "elapsed_s": elapsed,
        "command": _command(info),
        "conditions": _conditions_of(info),
        "planned": planned,
        "done": agg["done"],
        "errors": agg["errors"],
        "success": agg["success"],
        "progress": min(1.0, finished / planned) if planned else None,
        "calls": agg["calls"],
        "rate_limited": agg["rate_limited"],
        "retries": agg["retries"],
        # None: not read yet (the runs list, and a run page before its figures arrive)
        "causes": None if agg["causes"] is None else sorted(({"cause": c, "n": n} for c, n in agg["causes"].items()),
                                                            key=lambda x: -x["n"]),
        "lanes": None if agg["lanes"] is None else lanes,
        "learnt": _learnt_of(info),
    }


def _learnt_of(info: dict[str, Any]) -> list[dict[str, Any]]:
    """The limits each lane learnt from its provider, as the run recorded them (labels only)."""
    lanes = info.get("lanes")
    if not isinstance(lanes, dict):
        return []
    out = []
    for name, ln in sorted(lanes.items()):
        if not isinstance(ln, dict):
            continue
        row: dict[str, Any] = {"lane": str(name), "key_label": str(ln.get("key", ""))}
        for k in ("concurrency", "declared_concurrency", "rpm", "rpm_left", "tpm", "tpm_left"):
            v = ln.get(k)
            row[k] = v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        out.append(row)
    return out


def _command(info: dict[str, Any]) -> str:
    argv = info.get("argv")
    if isinstance(argv, list) and argv:
        return " ".join(str(a) for a in argv)
    if info.get("suite"):
        return f"suite {info['suite']}"
    return ""


def _conditions_of(info: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for plan in info.get("plans") or []:
        if not isinstance(plan, dict):
            continue
        out.append({k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v) for k, v in plan.items()})
    return out
