"""`Store`: what every results store offers (SQLite, PostgreSQL), so no caller tells them apart.

The runner writes records and runs and leases tests; the reports, exports and the viewer read
with portable SQL (`?` placeholders) through `query`, `iter_rows` and `count`. What is written
differently in each database's dialect is a method here, answered by each backend its own way:
the report's latency percentiles, the keys a run lost, the values present in a column, how the
viewer reads a range of rows, and what a damaged file is. tests/store/test_contract.py runs the same checks on both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from .records import COLUMNS, TestRecord

# (provider, key label) -> {"n": number of call latencies, q: the q-th percentile, for each q asked}
LatencyQuantiles = dict[tuple[str, str], dict[Any, Any]]


class Store(Protocol):
    """A results store: append-only rows (one per test attempt), runs, and leases on tests."""

    @property
    def path(self) -> str | os.PathLike[str]:
        """What messages name the store by (a file path; a URL with its password masked)."""
        ...

    # ---------------------------------------------------------------- writing

    def write(self, records: Sequence[TestRecord]) -> int:
        """Write a batch in one transaction; returns how many rows were new. Safe to repeat."""
        ...

    def start_run(self, run_id: str, planned: int, info: dict[str, Any]) -> None: ...

    def finish_run(self, run_id: str, status: str, info: dict[str, Any] | None = None) -> None: ...

    def record_lanes(self, run_id: str, lanes: dict[str, Any]) -> None: ...

    def update_run_info(self, run_id: str, info: dict[str, Any]) -> None: ...

    # ---------------------------------------------------------------- leases on tests

    def claim(
        self, owner: str, test_ids: Sequence[str], ttl: float, *, now: float | None = None,
        gone: Callable[[str], bool] | None = None,
    ) -> tuple[list[str], set[str]]:
        """Lease tests to `owner` for `ttl` seconds: those not `done` and not leased to another
        owner, unless that lease expired or `gone(holder)` says its holder is gone (asked once
        per holder of a live lease; store.leases.holder_gone). Returns (the ids leased, in
        order; the ids already done)."""
        ...

    def renew_claims(self, owner: str, ttl: float, *, now: float | None = None) -> int: ...

    def release_claims(self, owner: str, test_ids: Sequence[str] | None = None) -> None: ...

    # ---------------------------------------------------------------- reading

    def done_ids(self, models: Iterable[str] | None = None) -> set[str]: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def iter_rows(self, where: str = "", params: Sequence[Any] = (), columns: Sequence[str] = COLUMNS) -> Iterator[dict[str, Any]]: ...

    def count(self, where: str = "", params: Sequence[Any] = ()) -> int: ...

    def runs(self) -> list[dict[str, Any]]: ...

    # ---------------------------------------------------------------- what each dialect answers its own way

    def distinct_values(self, column: str) -> list[Any]:
        """The distinct values of a results column (NULL included), in no particular order."""
        ...

    def latency_quantiles(self, cond: str, params: Sequence[Any], qs: Sequence[int]) -> LatencyQuantiles | None:
        """Per (provider, key label) of the rows matching `cond`: how many call latencies they
        hold and the q-th percentile of them (linear interpolation, integer q), computed in the
        database; None when this database cannot read the stored JSON lists."""
        ...

    def lost_keys(self, cond: str, params: Sequence[Any]) -> dict[tuple[str, str], str]:
        """(provider, key label) -> why the key left its run, over the runs behind the rows
        matching `cond` (each run records its lost lanes as `keys_lost` in its info)."""
        ...

    def damage_message(self, error: BaseException) -> str | None:
        """One line for an error that says the store's file is damaged, naming the file and how
        to check it; None for any other error."""
        ...

    def rowid_scan_source(self) -> str | None:
        """The FROM source that reads a range of row ids in row order without walking an index
        (SQLite's `results NOT INDEXED`), or None where the planner does that by itself."""
        ...

    # ---------------------------------------------------------------- lifetime

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc: object) -> None: ...
