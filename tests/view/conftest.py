from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import ViewerThread, make_store


@pytest.fixture(scope="module")
def view_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("view") / "results.db"
    return path, make_store(path)


@pytest.fixture(scope="module")
def viewer(view_db: tuple[Path, dict[str, Any]]) -> Iterator[ViewerThread]:
    from pilotbench.store import open_store

    store = open_store(view_db[0], create=False)
    try:
        with ViewerThread(store) as v:
            yield v
    finally:
        store.close()
