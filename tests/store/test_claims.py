"""Leases on tests (claims), the same on SQLite and PostgreSQL: a test leased to one owner is not
given to another until the lease is released or expires; a done test is never leased."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pilotbench.store import open_store

from ..distributed.pgserver import pg_url  # noqa: F401 - a fixture
from ..factories import record as rec


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    target = tmp_path / "r.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with open_store(target) as s:
        yield s


def test_a_leased_test_goes_to_one_owner_until_released_or_expired(store: Any) -> None:
    t = 1_000_000.0
    assert store.claim("a", ["t1", "t2", "t3"], 60, now=t) == (["t1", "t2", "t3"], set())
    assert store.claim("b", ["t3", "t4", "t1"], 60, now=t + 1) == (["t4"], set())  # a's leases hold
    assert store.claim("a", ["t1"], 60, now=t + 2) == (["t1"], set())  # its own lease: renewed
    assert store.renew_claims("a", 60, now=t + 50) == 3
    assert store.claim("b", ["t2"], 60, now=t + 100) == ([], set())  # renewed at t+50: held until t+110
    assert store.claim("b", ["t2"], 60, now=t + 111) == (["t2"], set())  # expired (a died): b takes it
    assert store.renew_claims("a", 60, now=t + 111) == 2  # what a still holds: t1, t3 (until t+171)
    store.release_claims("a", ["t1"])
    assert store.claim("b", ["t1", "t3"], 60, now=t + 112) == (["t1"], set())
    store.release_claims("a")
    assert store.claim("b", ["t3"], 60, now=t + 112) == (["t3"], set())


def test_done_tests_are_never_leased_and_are_reported_done(store: Any) -> None:
    store.write([rec("t1"), rec("t2", "error")])
    taken, done = store.claim("a", ["t1", "t2", "t3"], 60)
    assert taken == ["t2", "t3"] and done == {"t1"}  # an infrastructure error is run again


def test_reading_commands_do_not_create_the_claims_table(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with open_store(path) as s:
        s.write([rec("t1")])
    before = path.read_bytes()
    with open_store(path, create=False) as s:
        s.count()
        names = {r[0] for r in s.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "claims" not in names and path.read_bytes() == before
