"""BatchWriter under load: one commit in flight, batches that grow instead of queueing, backpressure."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from pilotbench.runner.writer import BatchWriter


class SlowStore:
    """Records each batch it is given; each commit takes `delay` seconds (in the writer's thread)."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.batches: list[int] = []
        self.concurrent = 0
        self.max_concurrent = 0
        self._lock = threading.Lock()

    def write(self, records: list[Any]) -> int:
        with self._lock:
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        time.sleep(self.delay)
        with self._lock:
            self.concurrent -= 1
        self.batches.append(len(records))
        return len(records)


def test_records_past_the_threshold_join_the_next_commit_instead_of_queueing_commits() -> None:
    store = SlowStore()

    async def main() -> BatchWriter:
        writer = BatchWriter(store, batch_size=10, interval=60)  # type: ignore[arg-type]
        writer.start()
        for i in range(500):
            writer.add(i)  # type: ignore[arg-type]
            assert len(writer._pending) <= 1
            if i % 50 == 0:
                await asyncio.sleep(0.005)
        await writer.close()
        return writer

    writer = asyncio.run(main())
    assert sum(store.batches) == 500 == writer.committed
    assert store.max_concurrent == 1
    assert len(store.batches) < 50  # far fewer commits than records past the threshold
    assert max(store.batches) > 10  # batches grew while a commit was in flight


def test_backlog_is_drained_by_the_producers() -> None:
    store = SlowStore(delay=0.01)

    async def main() -> BatchWriter:
        writer = BatchWriter(store, batch_size=5, interval=60)  # type: ignore[arg-type]
        assert writer.max_buffered == 1000
        writer.max_buffered = 20
        for i in range(20):
            writer.add(i)  # type: ignore[arg-type]
        assert writer.backlogged
        await writer.drain()
        assert not writer.backlogged and not writer._buffer
        await writer.close()
        return writer

    writer = asyncio.run(main())
    assert writer.committed == 20
