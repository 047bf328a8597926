"""BatchWriter when the store goes away: batches kept whole and retried with backoff, a bounded
buffer that then holds the run, records split only when the store refuses them, a rescue file
when the run is stopped during an outage, and its import by the next run. Time is injected."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from pilotbench.errors import StoreError, StoreUnavailable
from pilotbench.runner.outcome import exit_status
from pilotbench.runner.writer import BatchWriter, import_rescued, rescue_files
from pilotbench.store.records import TestRecord
from pilotbench.store.sqlite import SQLiteStore

from ..factories import record


def rec(i: int) -> TestRecord:
    return record(
        f"t{i}", attempt=f"a{i:04d}", run_id="r", instance=i, suite_version="v", success_level="full_success",
        success=1, trajectory={"turns": 2}, call_latencies=[0.25],
    )


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


class OutageStore:
    """Unreachable until `up_at` (fake time); refuses any batch holding a test id in `refuse`."""

    def __init__(self, time: FakeTime, up_at: float = 0.0, refuse: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.time = time
        self.up_at = up_at
        self.refuse = set(refuse)
        self.attempts: list[tuple[float, list[str]]] = []
        self.stored: list[str] = []

    def write(self, batch: list[TestRecord]) -> int:
        ids = [r.test_id for r in batch]
        self.attempts.append((self.time.now, ids))
        if self.time.now < self.up_at:
            raise StoreUnavailable("PostgreSQL at postgresql://db/x: connection refused")
        if self.refuse & set(ids):
            raise StoreError("cannot write: a value the store refuses")
        self.stored.extend(ids)
        return len(ids)


def writer_for(store: Any, time: FakeTime, said: list[str], **kw: Any) -> BatchWriter:
    return BatchWriter(store, clock=time.clock, sleep=time.sleep, backoff=(0.5, 4.0),
                       on_state=lambda message, trouble: said.append(message), **kw)


def test_an_unreachable_store_gets_the_whole_batch_again_with_backoff_and_nothing_is_split() -> None:
    time = FakeTime()
    store = OutageStore(time, up_at=12.0)
    said: list[str] = []

    async def main() -> BatchWriter:
        writer = writer_for(store, time, said, batch_size=5, interval=60)
        for i in range(5):
            writer.add(rec(i))
        await asyncio.sleep(0)  # the flush the fifth record scheduled: it meets the outage
        i = 5
        while time.now < 20:
            writer.add(rec(i))  # tests go on during the outage
            i += 1
            time.now += 0.25
            await writer.flush()
        await writer.close()
        return writer

    writer = asyncio.run(main())
    during = [(t, ids) for t, ids in store.attempts if t < 12.0]
    for _, ids in during:  # the whole buffer each time, in order: never record by record while away
        assert ids == [f"t{i}" for i in range(len(ids))]
    assert len(during[0][1]) == 5 and len(during[-1][1]) > 40
    gaps = [round(b[0] - a[0], 2) for a, b in zip(during[1:], during[2:])]
    assert gaps == [1.0, 2.0, 4.0, 4.0], gaps  # exponential backoff (0.5 s first), capped at 4 s here
    assert len(during) == 6  # not one attempt per flush() call (48 of them)
    assert len(store.attempts[len(during)][1]) > 40  # the store back: everything held, in one write
    assert store.stored == [f"t{i}" for i in range(len(store.stored))]  # every record, once, in order
    assert writer.committed == len(store.stored) == 85 and writer.rescued == 0
    assert re.match(r"store unreachable \(PostgreSQL at postgresql://db/x: connection refused\): keeping \d+ results, "
                    r"retrying with backoff; tests go on$", said[0])
    assert re.match(r"store back after 1[56]s: held results committed$", said[-1]) and len(said) == 2


def test_a_full_buffer_holds_the_producers_until_the_store_is_back() -> None:
    time = FakeTime()
    store = OutageStore(time, up_at=30.0)
    said: list[str] = []
    finished: list[tuple[int, float]] = []

    async def main() -> BatchWriter:
        writer = writer_for(store, time, said, batch_size=2, interval=60)
        writer.max_buffered = 10

        async def test(i: int) -> None:  # as Runner._run_test ends: add the record, wait if backlogged
            writer.add(rec(i))
            if writer.backlogged:
                await writer.drain()
            finished.append((i, time.now))

        await asyncio.gather(*(test(i) for i in range(25)))
        await writer.close()
        return writer

    writer = asyncio.run(main())
    early = [i for i, t in finished if t < 30.0]
    assert sorted(early) == list(range(9))  # below the bound the tests went on
    assert all(t >= 30.0 for i, t in finished if i >= 9)  # from the bound on, they waited for the store
    assert writer.committed == 25 and sorted(store.stored, key=lambda s: int(s[1:])) == [f"t{i}" for i in range(25)]
    held = [m for m in said if "the run waits for the store" in m]
    assert len(held) == 1  # said once
    assert re.match(r"store unreachable for \d+s: \d+ results held \(the buffer's bound\); the run waits for the store$", held[0])
    assert re.match(r"store back after 3[0-4]s", said[-1])  # the first retry once it is back (backoff at most 4 s)
    assert len(store.attempts) < 25  # retries at the backoff's pace, not one per waiting test


def test_records_the_store_refuses_are_split_out_and_rescued_the_rest_committed(tmp_path: Path) -> None:
    time = FakeTime()
    store = OutageStore(time, refuse={"t3"})
    said: list[str] = []

    async def main() -> BatchWriter:
        writer = writer_for(store, time, said, batch_size=5, interval=60, rescue_dir=tmp_path / "logs" / "run1")
        for i in range(6):
            writer.add(rec(i))
        await writer.close()
        return writer

    writer = asyncio.run(main())
    assert store.stored == ["t0", "t1", "t2", "t4", "t5"] and writer.committed == 5
    assert writer.rescued == 1
    [path] = writer.rescue_files
    assert path.parent == tmp_path / "logs" / "run1"
    assert [json.loads(line)["test_id"] for line in path.read_text().splitlines()] == ["t3"]


def test_stopping_during_an_outage_rescues_what_is_held_at_once(tmp_path: Path) -> None:
    time = FakeTime()
    store = OutageStore(time, up_at=float("inf"))
    said: list[str] = []

    async def main() -> BatchWriter:
        writer = writer_for(store, time, said, batch_size=3, interval=60, rescue_dir=tmp_path)
        for i in range(7):
            writer.add(rec(i))
        await writer.flush()
        writer.abandon()  # SIGTERM
        await writer.close()
        return writer

    writer = asyncio.run(main())
    assert time.now < 1.0 and len(store.attempts) <= 3  # no waiting for a store that is away
    assert writer.rescued == 7 and writer.committed == 0
    [path] = writer.rescue_files
    assert [json.loads(line)["attempt_id"] for line in path.read_text().splitlines()] == [f"a{i:04d}" for i in range(7)]
    assert said[-1] == f"7 results could not be stored; saved to {path} (the next run imports them)"
    # the run's exit status counts them as not stored
    assert exit_status(interrupted=False, stopped_models=0, errors=0, not_run=0, not_stored=7) == 3
    assert exit_status(interrupted=True, stopped_models=0, errors=0, not_run=0, not_stored=7) == 130


def test_the_end_of_a_run_waits_for_the_store_then_commits_or_gives_up_after_store_wait(tmp_path: Path) -> None:
    for up_at, store_wait, stored, rescued in ((25.0, None, 4, 0), (float("inf"), 60.0, 0, 4)):
        time = FakeTime()
        store = OutageStore(time, up_at=up_at)
        said: list[str] = []

        async def main() -> BatchWriter:
            writer = writer_for(store, time, said, batch_size=10, interval=60, rescue_dir=tmp_path,
                                store_wait=store_wait)
            for i in range(4):
                writer.add(rec(i))
            await writer.close()
            return writer

        writer = asyncio.run(main())
        assert (len(store.stored), writer.rescued) == (stored, rescued)
        assert time.now >= min(up_at, store_wait or up_at)
        assert any("wait for it before the run ends" in m for m in said)


def test_rescue_files_are_imported_once_into_the_store(tmp_path: Path) -> None:
    time = FakeTime()

    async def main() -> BatchWriter:
        writer = writer_for(OutageStore(time, up_at=float("inf")), time, [], batch_size=10, interval=60,
                            rescue_dir=tmp_path / "logs" / "run1")
        for i in range(4):
            writer.add(rec(i))
        writer.abandon()
        await writer.close()
        return writer

    asyncio.run(main())
    [path] = rescue_files([tmp_path / "logs"])
    with SQLiteStore(tmp_path / "r.db") as store:
        store.write([rec(0)])  # one of them was committed after all (idempotent by attempt id)
        assert import_rescued(store, path) == (4, 0, {"r"})
        assert not path.exists() and rescue_files([tmp_path / "logs"]) == []
        rows = store.query("SELECT test_id, trajectory, call_latencies FROM results ORDER BY test_id")
        assert rows == [(f"t{i}", '{"turns":2}', "[0.25]") for i in range(4)]
