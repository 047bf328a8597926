"""Batched, crash-safe result commits: every `batch_size` results and at least every few seconds."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..store.records import TestRecord
from ..store.sqlite import SQLiteStore


class BatchWriter:
    """Buffers finished records and commits them in batches off the event loop.

    A hard kill loses at most the records buffered since the last commit; those tests are
    simply not in the store, so the next run repeats exactly them.
    """

    def __init__(
        self,
        store: SQLiteStore,
        *,
        batch_size: int = 100,
        interval: float = 2.0,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"checkpoint interval must be at least 1, got {batch_size}")
        self.store = store
        self.batch_size = batch_size
        self.interval = interval
        self.on_commit = on_commit
        self.committed = 0
        self.failures = 0
        self._buffer: list[TestRecord] = []
        self._lock = asyncio.Lock()
        self._last = time.monotonic()
        self._ticker: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._scheduled: asyncio.Task[None] | None = None
        # Past this many buffered records, finishing tests wait for a commit (see `drain`).
        self.max_buffered = max(10 * batch_size, 1000)

    def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick())

    def add(self, record: TestRecord) -> None:
        self._buffer.append(record)
        if len(self._buffer) >= self.batch_size and self._scheduled is None:
            # One flush in flight at a time, taking everything buffered when it starts. (A task per
            # record past the threshold made thousands of one-record commits queue up behind each
            # other under load: the buffer, and memory, grew with the run; BENCHMARKS.md.)
            task = self._scheduled = asyncio.create_task(self._flush_while_due())
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _flush_while_due(self) -> None:
        try:
            while len(self._buffer) >= self.batch_size:
                failures = self.failures
                await self.flush()
                if self.failures != failures:
                    break  # the store refused the batch; the ticker retries it
        finally:
            self._scheduled = None

    @property
    def backlogged(self) -> bool:
        """More records wait than a few commits' worth: the store is not keeping up."""
        return len(self._buffer) >= self.max_buffered

    async def drain(self) -> None:
        """Commit what is buffered, waiting behind a commit in progress (backpressure for producers)."""
        await self.flush()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(min(self.interval, 0.5))
            if self._buffer and time.monotonic() - self._last >= self.interval:
                await self.flush()

    async def flush(self, *, final: bool = False) -> None:
        async with self._lock:
            if not self._buffer:
                return
            batch, self._buffer = self._buffer, []
            try:
                await asyncio.to_thread(self.store.write, batch)
            except Exception as exc:  # noqa: BLE001 - a failed commit must never lose the batch
                batch = await asyncio.to_thread(self._isolate, batch)
                if batch:  # the store refuses everything: a store-wide problem, so keep and retry
                    if not final:
                        self._buffer[:0] = batch
                        self.failures += 1
                        return
                    rescue = self._rescue(batch)
                    raise StoreError(
                        f"could not commit {len(batch)} results ({exc}); they were saved to {rescue}"
                    ) from None
                return
            self.committed += len(batch)
            self._last = time.monotonic()
            if self.on_commit:
                self.on_commit(len(batch))

    async def exclusive(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` in a thread while no batch is being written (one store connection)."""
        async with self._lock:
            return await asyncio.to_thread(fn, *args)

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self.flush(final=True)

    def _isolate(self, batch: list[TestRecord]) -> list[TestRecord]:
        """After a failed batch, write record by record. Records the store refuses while it takes
        others cannot be stored at all: they go to the rescue file instead of blocking every later
        commit. Returns the batch unchanged when the store takes none of it (retry later)."""
        stored: list[TestRecord] = []
        refused: list[TestRecord] = []
        for record in batch:
            try:
                self.store.write([record])
                stored.append(record)
            except Exception:  # noqa: BLE001 - sorted into refused, rescued below
                refused.append(record)
        if not stored:
            return batch
        self.committed += len(stored)
        if self.on_commit:
            self.on_commit(len(stored))
        if refused:
            path = self._rescue(refused)
            print(f"warning: {len(refused)} result(s) could not be stored; saved to {path}", file=sys.stderr)
        return []

    def _rescue(self, batch: list[TestRecord]) -> Path:
        """Write records that could not be committed to a JSONL file beside the store."""
        base = Path(getattr(self.store, "path", ".")).parent if hasattr(self.store, "path") else Path(".")
        path = base / f"uncommitted-{int(time.time())}.jsonl"
        try:
            with path.open("a", encoding="utf-8") as f:
                for record in batch:
                    f.write(json.dumps(record.to_dict(), default=str) + "\n")
        except OSError:
            path = Path(tempfile.gettempdir()) / path.name
            with path.open("a", encoding="utf-8") as f:
                for record in batch:
                    f.write(json.dumps(record.to_dict(), default=str) + "\n")
        return path
