"""The queries reports make that are written in each database's own dialect, or read the runs'
info: the backends' `latency_quantiles`, `lost_keys` and `distinct_values` (store.base.Store)
run them, each with its dialect's pieces.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .records import COLUMNS

if TYPE_CHECKING:
    from .base import LatencyQuantiles, Store


def sql_and(*conds: str) -> str:
    """The conditions joined with AND, empty ones left out."""
    return " AND ".join(c for c in conds if c)


def sql_where(cond: str) -> str:
    """A WHERE clause for `cond`, or nothing when it is empty."""
    return f"WHERE {cond}" if cond else ""


_LAT_GROUP = "COALESCE(r.provider, ''), COALESCE(r.key_label, '')"


def latency_quantiles(
    store: Store, cond: str, params: Sequence[Any], qs: Sequence[int], *, source: str, valid: str
) -> LatencyQuantiles:
    """Per (provider, key): the number of call latencies and their q-th percentiles (integer q),
    computed in the database (a window sort), so no latency list is held in memory. `source` is
    the dialect's FROM clause giving each stored call_latencies (a JSON list) as rows of
    `j.value` (`r` the results row); `valid` the dialect's test that a row holds such a list.
    Both backends pick the same values, so reports agree."""
    base = sql_and("r.call_latencies IS NOT NULL", valid, cond)
    # The filter columns are unambiguous (the JSON rows have no such columns), so cond applies as is.
    wanted = ", ".join(f"(cnt - 1) * {int(q)} / 100, (cnt - 1) * {int(q)} / 100 + 1" for q in qs)
    value = "CAST(j.value AS DOUBLE PRECISION)"
    sql = f"""
        SELECT g1, g2, cnt, rn, v FROM (
            SELECT COALESCE(r.provider, '') AS g1, COALESCE(r.key_label, '') AS g2, {value} AS v,
                   ROW_NUMBER() OVER (PARTITION BY {_LAT_GROUP} ORDER BY {value}) - 1 AS rn,
                   COUNT(*) OVER (PARTITION BY {_LAT_GROUP}) AS cnt
            {source} {sql_where(base)}
        ) AS q WHERE rn IN ({wanted})
    """
    picked: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    counts: dict[tuple[str, str], int] = {}
    for g1, g2, cnt, rn, v in store.query(sql, params):
        counts[(g1, g2)] = int(cnt)
        picked[(g1, g2)][int(rn)] = float(v)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for gk, n in counts.items():
        at = picked[gk]
        entry: dict[str, Any] = {"n": n}
        for q in qs:
            lo, rest = divmod((n - 1) * int(q), 100)
            low = at[lo]
            high = at.get(lo + 1, low)
            entry[q] = low + (high - low) * rest / 100.0
        out[gk] = entry
    return out


def lost_keys(store: Store, cond: str, params: Sequence[Any]) -> dict[tuple[str, str], str]:
    """(provider, key label) -> why the key left its run ("disabled: 401 ..." / "parked: ..."), from the
    runs behind the selected rows (each run records its lost lanes as `keys_lost` in its info)."""
    try:
        run_ids = {r[0] for r in store.query("SELECT DISTINCT run_id FROM results " + sql_where(cond), params)}
        runs = store.runs()
    except Exception:  # noqa: BLE001 - a store without a runs table (distributed owners) has nothing to add
        return {}
    out: dict[tuple[str, str], str] = {}
    for run in runs:
        if run.get("run_id") not in run_ids:
            continue
        info = run.get("info")
        if isinstance(info, str):
            try:
                info = json.loads(info)
            except ValueError:
                info = {}
        for lane, problem in ((info or {}).get("keys_lost") or {}).items():
            provider, _, rest = str(lane).partition("/")
            key = rest.split("/", 1)[0]
            out.setdefault((provider, key), str(problem))
    return out


def distinct_values(store: Store, column: str) -> list[Any]:
    """The distinct values of a results column, NULL included."""
    if column not in COLUMNS:
        raise ValueError(f"no results column {column!r}")
    return [r[0] for r in store.query(f"SELECT DISTINCT {column} FROM results")]
