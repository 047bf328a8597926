"""The results store: SQLite on one machine, PostgreSQL beyond one (README, "Beyond one machine").

Both backends have the same schema, the same idempotent writes (an attempt is written once; a
test is `done` at most once) and the same public methods (`Store`, store.base; the contract suite
tests/store/test_contract.py runs against both), so every command takes either:
`--db results.db` or `--db postgresql://user@host/dbname`. `open_store` picks by the value.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .base import Store
from .records import COLUMNS, STATUSES, TestRecord

if TYPE_CHECKING:
    from .postgres import PostgresStore
    from .sqlite import SQLiteStore

__all__ = ["COLUMNS", "PG_SCHEMES", "STATUSES", "Store", "TestRecord", "is_postgres_url", "open_store"]

PG_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: Any) -> bool:
    return isinstance(target, str) and target.startswith(PG_SCHEMES)


def open_store(
    target: str | os.PathLike[str] | None = None, *, create: bool = True
) -> SQLiteStore | PostgresStore:
    """Open the store named by `--db`: a SQLite path (default ./pilotbench-results/results.db)
    or a `postgresql://` URL. With create=False the store must already exist."""
    from .sqlite import DEFAULT_DB, SQLiteStore

    text = str(target) if target is not None else str(DEFAULT_DB)
    if is_postgres_url(text):
        from .postgres import PostgresStore

        return PostgresStore(text, create=create)
    return SQLiteStore(text, create=create)
