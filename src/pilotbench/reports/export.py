"""Export the store's rows: JSONL, CSV, Parquet (streamed in record batches) and the legacy
hierarchical summary JSON the guide reads.

Row exports write one record per attempt row (done and error), in store order, with `id` (the
test id) first and then every stored column. Files are written to a temporary name and renamed
into place, so a failed export never leaves a half-written file; `-` writes text formats to stdout.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..errors import UsageError
from ..plan import rate_label
from ..store.base import Store
from ..store.records import COLUMNS, TestRecord
from ..store.transcripts import decode_transcript
from .build import DONE, Filter, _and, _where, count_if, total, where_clause

EXPORT_FORMATS: tuple[str, ...] = ("jsonl", "csv", "parquet", "legacy-json")
PARQUET_BATCH_ROWS = 20_000

CSV_COLUMNS: tuple[str, ...] = ("id",) + tuple(c for c in COLUMNS if c not in ("trajectory", "transcript"))
ROW_COLUMNS: tuple[str, ...] = ("id",) + COLUMNS


# Stored as JSON text, exported as a list of strings (JSONL, Parquet); CSV keeps the JSON text.
_STRING_LISTS = frozenset({"required_tools"})


def _column_kind(name: str) -> str:
    """int | float | list | strlist | json | str, from the TestRecord annotation of a stored column."""
    if name in _STRING_LISTS:
        return "strlist"
    annotation = str(TestRecord.__dataclass_fields__[name].type).replace(" ", "")  # type: ignore[attr-defined]
    if annotation.startswith("list"):
        return "list"
    if annotation.startswith("dict"):
        return "json"
    if annotation.startswith("int"):
        return "int"
    if annotation.startswith("float"):
        return "float"
    return "str"


def _loads(text: Any) -> Any:
    if text is None or not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _with_messages(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Rows whose transcript is the conversation itself ({"mode", "messages", ...}), not its compressed text."""
    for row in rows:
        if row.get("transcript") is not None:
            row["transcript"] = decode_transcript(row["transcript"])
        yield row


def _rows(store: Store, cond: str, params: list[Any]) -> Iterator[dict[str, Any]]:
    for row in store.iter_rows(cond, params):
        out = {"id": row["test_id"]}
        out.update(row)
        yield out


@contextmanager
def _text_out(out_path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    if str(out_path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as f:
            yield f
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _export_jsonl(store: Store, cond: str, params: list[Any], out_path: Any) -> int:
    n = 0
    with _text_out(out_path) as f:
        for row in _with_messages(_rows(store, cond, params)):
            row["call_latencies"] = _loads(row["call_latencies"]) or []
            row["trajectory"] = _loads(row["trajectory"])
            for name in _STRING_LISTS:
                row[name] = _loads(row.get(name))
            f.write(json.dumps(row, separators=(",", ":"), default=str))
            f.write("\n")
            n += 1
    return n


def _export_csv(store: Store, cond: str, params: list[Any], out_path: Any) -> int:
    n = 0
    with _text_out(out_path) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for row in _rows(store, cond, params):
            w.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
            n += 1
    return n


def parquet_schema() -> Any:
    import pyarrow as pa

    types = {"int": pa.int64(), "float": pa.float64(), "list": pa.list_(pa.float64()), "strlist": pa.list_(pa.string()),
             "json": pa.string(), "str": pa.string()}
    return pa.schema([pa.field("id", pa.string())] + [pa.field(c, types[_column_kind(c)]) for c in COLUMNS])


def _export_parquet(store: Store, cond: str, params: list[Any], out_path: Any) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if str(out_path) == "-":
        raise UsageError("parquet is a binary format and is not written to stdout; give a file: --out results.parquet")
    schema = parquet_schema()
    kinds = {c: _column_kind(c) for c in COLUMNS}
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    n = 0

    def flush(batch: dict[str, list[Any]]) -> None:
        arrays = [pa.array(batch[f.name], type=f.type) for f in schema]
        writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))

    try:
        with pq.ParquetWriter(str(tmp), schema, compression="zstd") as writer:
            batch: dict[str, list[Any]] = {name: [] for name in schema.names}
            size = 0
            for row in _rows(store, cond, params):
                for name in schema.names:
                    v = row[name]
                    kind = kinds.get(name, "str")
                    if kind == "list":
                        v = [float(x) for x in (_loads(v) or [])]
                    elif kind == "strlist":
                        v = None if v is None else [str(x) for x in (_loads(v) or [])]
                    elif kind == "float" and v is not None:
                        v = float(v)
                    elif kind == "int" and v is not None:
                        v = int(v)
                    batch[name].append(v)
                size += 1
                if size >= PARQUET_BATCH_ROWS:
                    flush(batch)
                    n += size
                    batch = {name: [] for name in schema.names}
                    size = 0
            if size or n == 0:
                flush(batch)
                n += size
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n


_LEGACY_SQL = f"""
SELECT model, prompt_type, tool_success_rate, difficulty, task_type,
       COUNT(*),
       {count_if("success_level = 'full_success'")}, {count_if("success_level = 'partial_success'")},
       {total("weighted_score")}, {total("turns")}, {total("tool_calls")},
       AVG(workflow_adherence), AVG(tool_coverage), AVG(efficiency)
FROM results {{where}}
GROUP BY model, prompt_type, tool_success_rate, difficulty, task_type
"""


def _legacy_order(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """model, prompt type, tool success rate (high first), difficulty, task type; sorted here
    rather than by ORDER BY so every backend's collation gives the same tree."""
    return (row[0], row[1], -float(row[2]), row[3], row[4])


def legacy_summary(store: Store, cond: str = "", params: Iterable[Any] = ()) -> dict[str, Any]:
    """The guide's summary tree over done rows:
    models -> by_prompt_type -> by_tool_success_rate -> by_difficulty -> by_task_type -> figures."""
    models: dict[str, Any] = {}
    total = 0
    rows = store.query(_LEGACY_SQL.format(where=_where(_and(DONE, cond))), list(params))
    for (model, prompt, tsr, diff, task, n, full, partial, ws, turns, calls, wa, cov, eff) in sorted(rows, key=_legacy_order):
        n, full, partial = int(n), int(full), int(partial)
        success = full + partial
        total += n
        leaf = {
            "total": n,
            "success": success,
            "full_success": full,
            "partial_success": partial,
            "failure": n - success,
            "success_rate": success / n,
            "full_success_rate": full / n,
            "partial_success_rate": partial / n,
            "weighted_success_score": ws / n,
            "avg_turns": turns / n,
            "avg_tool_calls": calls / n,
            "avg_workflow_adherence": wa if wa is not None else 0.0,
            "avg_tool_coverage": cov if cov is not None else 0.0,
            "avg_efficiency": eff if eff is not None else 0.0,
        }
        node = models.setdefault(model, {"by_prompt_type": {}})["by_prompt_type"]
        node = node.setdefault(prompt, {"by_tool_success_rate": {}})["by_tool_success_rate"]
        node = node.setdefault(rate_label(float(tsr)), {"by_difficulty": {}})["by_difficulty"]
        node = node.setdefault(diff, {"by_task_type": {}})["by_task_type"]
        node[task] = leaf
    return {
        "models": models,
        "summary": {
            "total_tests": total,
            "models": sorted(models),
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }


def _export_legacy(store: Store, cond: str, params: list[Any], out_path: Any) -> int:
    tree = legacy_summary(store, cond, params)
    with _text_out(out_path) as f:
        json.dump(tree, f, indent=2)
        f.write("\n")
    return int(tree["summary"]["total_tests"])


_EXPORTERS = {
    "jsonl": _export_jsonl,
    "csv": _export_csv,
    "parquet": _export_parquet,
    "legacy-json": _export_legacy,
}


def export(
    store: Store,
    fmt: str,
    out_path: str | os.PathLike[str],
    *,
    models: Filter = None,
    prompt_types: Filter = None,
    difficulties: Filter = None,
    task_types: Filter = None,
    tool_success_rates: Iterable[float] | float | None = None,
    statuses: Filter = None,
) -> int:
    """Write the rows matching the filters in `fmt` (one of EXPORT_FORMATS) to `out_path`.

    Returns the number of rows written; for `legacy-json`, the number of done tests summarised
    (its `summary.total_tests`)."""
    try:
        exporter = _EXPORTERS[fmt]
    except KeyError:
        raise ValueError(f"unknown export format {fmt!r}; choose from {', '.join(EXPORT_FORMATS)}") from None
    cond, params = where_clause(
        models=models, prompt_types=prompt_types, difficulties=difficulties, task_types=task_types,
        tool_success_rates=tool_success_rates, statuses=statuses,
    )
    return exporter(store, cond, params, out_path)
