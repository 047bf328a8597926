"""A small hand-made store: three models, a retried test (error then done), an error-only test."""

from __future__ import annotations

import pytest

from pilotbench.store.sqlite import SQLiteStore

from ..factories import report_records


@pytest.fixture()
def store(tmp_path):
    st = SQLiteStore(tmp_path / "results.db")
    st.write(report_records())
    yield st
    st.close()
