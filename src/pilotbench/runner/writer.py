"""Batched, crash-safe result commits: every `batch_size` results and at least every few seconds.

Store outages. A write the store could not take because it did not answer (`StoreUnavailable`:
a lost or refused connection, a database locked too long) keeps its batch, whole, and is tried
again with exponential backoff; tests go on meanwhile, their results joining the buffer, until
the buffer holds `max_buffered` results: then finishing tests wait for the store (the run
waits), which is said once, as the outage's start and end are. A batch is split, record by
record, only when the store answers and refuses it: the records it refuses on their own cannot
be stored and go to a rescue file; the others are committed.

At the end (`close`), results the store still cannot take are waited for, unless the run was
stopped (`abandon`, on SIGTERM or Ctrl-C) or `store_wait` seconds have passed: then they are
written to a rescue file (`rescue-*.jsonl`, in `rescue_dir`, the run's log directory), counted in
`rescued`, and `import_rescued` puts them in the store at the start of the next run.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..errors import StoreUnavailable
from ..store.records import TestRecord
from ..store.base import Store

RESCUE_GLOB = "rescue-*.jsonl"
_RECORD_FIELDS = frozenset(f.name for f in fields(TestRecord))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class BatchWriter:
    """Buffers finished records and commits them in batches off the event loop.

    A hard kill loses at most the records buffered since the last commit; those tests are
    simply not in the store, so the next run repeats exactly them.
    """

    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 100,
        interval: float = 2.0,
        on_commit: Callable[[int], None] | None = None,
        on_state: Callable[[str, bool], None] | None = None,
        after_write: Callable[[list[TestRecord]], None] | None = None,
        rescue_dir: Path | None = None,
        store_wait: float | None = None,
        backoff: tuple[float, float] = (0.5, 30.0),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"checkpoint interval must be at least 1, got {batch_size}")
        self.store = store
        self.batch_size = batch_size
        self.interval = interval
        self.on_commit = on_commit
        self.on_state = on_state  # (message, trouble): said when the store goes away, holds the run, comes back
        self.after_write = after_write  # in the writer's thread, after each successful write
        self.rescue_dir = rescue_dir
        self.store_wait = store_wait  # seconds the end of a run waits for an unreachable store (None: until stopped)
        self.committed = 0
        self.failures = 0
        self.rescued = 0
        self.rescue_files: list[Path] = []
        self._backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._buffer: list[TestRecord] = []
        self._writing = 0  # records taken from the buffer by the write in progress
        self._lock = asyncio.Lock()
        self._last = clock()
        self._ticker: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._scheduled: asyncio.Task[None] | None = None
        self._abandoned = asyncio.Event()
        # A failing store: since when, whether it did not answer (unreachable) or refused, when to try again.
        self.failing_since: float | None = None
        self.unreachable = False
        self._delay = backoff[0]
        self._retry_at = 0.0
        self._said_full = False
        # Past this many buffered records, finishing tests wait for a commit (see `drain`).
        self.max_buffered = max(10 * batch_size, 1000)

    def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick())

    def add(self, record: TestRecord) -> None:
        self._buffer.append(record)
        if len(self._buffer) >= self.batch_size and self._scheduled is None and not self._backing_off():
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
                    break  # the store failed the batch; the ticker retries it after the backoff
        finally:
            self._scheduled = None

    def _backing_off(self) -> bool:
        return self.failing_since is not None and self._clock() < self._retry_at

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def backlogged(self) -> bool:
        """More records wait than a few commits' worth: the store is not keeping up (or is away)."""
        return len(self._buffer) + self._writing >= self.max_buffered

    async def drain(self) -> None:
        """Commit what is buffered, waiting behind a commit in progress (backpressure for producers).
        While the store fails, wait for it (retrying at the backoff's pace) until the buffer is
        below its bound again, or the run is stopped."""
        await self.flush()
        while self.backlogged and self.failing_since is not None and not self._abandoned.is_set():
            if not self._said_full:
                self._said_full = True
                self._say(
                    f"store {'unreachable' if self.unreachable else 'refusing writes'} for "
                    f"{self._clock() - self.failing_since:.0f}s: {len(self._buffer)} results held (the buffer's "
                    "bound); the run waits for the store", True,
                )
            await self._pause(max(self._retry_at - self._clock(), 0.05))
            await self.flush()

    def abandon(self) -> None:
        """The run is stopping: stop waiting for the store (`close` rescues what it cannot commit)."""
        self._abandoned.set()

    async def _pause(self, seconds: float) -> None:
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        try:
            await asyncio.wait_for(self._abandoned.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def _tick(self) -> None:
        while True:
            await (self._sleep or asyncio.sleep)(min(self.interval, 0.5))
            if not self._buffer or self._backing_off():
                continue
            if self.failing_since is not None or self._clock() - self._last >= self.interval:
                await self.flush()

    async def flush(self, *, final: bool = False) -> None:
        """One attempt at committing everything buffered (none while backing off, unless `final`)."""
        async with self._lock:
            if not self._buffer or (not final and self._backing_off()):
                return
            batch, self._buffer = self._buffer, []
            self._writing = len(batch)
            try:
                await asyncio.to_thread(self._write, batch)
            except StoreUnavailable as exc:
                self._buffer[:0] = batch  # kept whole, in order: tried again after the backoff
                self._failed(exc, unreachable=True)
                return
            except Exception as exc:  # noqa: BLE001 - the store answered and refused: find which records
                kept, gone = await asyncio.to_thread(self._isolate, batch)
                if kept:
                    self._buffer[:0] = kept
                    self._failed(gone or exc, unreachable=gone is not None)
                    return
            else:
                self._committed(len(batch))
            finally:
                self._writing = 0
            self._recovered()

    def _write(self, batch: list[TestRecord]) -> None:
        self.store.write(batch)
        if self.after_write is not None:
            try:
                self.after_write(batch)
            except Exception:  # noqa: BLE001 - a follow-up (claims), never worth a committed batch
                pass

    def _committed(self, n: int) -> None:
        self.committed += n
        self._last = self._clock()
        if self.on_commit:
            self.on_commit(n)

    def _failed(self, exc: BaseException, *, unreachable: bool) -> None:
        self.failures += 1
        now = self._clock()
        first = self.failing_since is None
        if first:
            self.failing_since = now
            self._delay = self._backoff[0]
        else:
            self._delay = min(self._delay * 2, self._backoff[1])
        self._retry_at = now + self._delay
        if first or unreachable != self.unreachable:
            self.unreachable = unreachable
            what = "store unreachable" if unreachable else "the store refuses writes"
            self._say(f"{what} ({_first_line(exc)}): keeping {len(self._buffer)} results, retrying with backoff; "
                      "tests go on", True)

    def _recovered(self) -> None:
        if self.failing_since is None:
            return
        away = self._clock() - self.failing_since
        self.failing_since = None
        self.unreachable = False
        self._said_full = False
        self._say(f"store back after {away:.0f}s: held results committed", False)

    def _say(self, message: str, trouble: bool) -> None:
        if self.on_state is not None:
            self.on_state(message, trouble)

    async def exclusive(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` in a thread while no batch is being written (one store connection).
        While the store is unreachable this raises StoreUnavailable at once instead of trying."""
        if self.unreachable:
            raise StoreUnavailable("the store is unreachable")
        async with self._lock:
            return await asyncio.to_thread(fn, *args)

    async def close(self) -> None:
        """Commit what is left; wait for an unreachable store unless abandoned or past `store_wait`;
        what cannot be committed goes to a rescue file (`rescued`, `rescue_files`)."""
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        started = self._clock()
        said = False
        while self._buffer:
            await self.flush(final=True)
            if not self._buffer:
                break
            waited = self._clock() - started
            if (
                not self.unreachable  # answering and refusing everything: waiting will not change it
                or self._abandoned.is_set()
                or (self.store_wait is not None and waited >= self.store_wait)
            ):
                break
            if not said:
                said = True
                self._say(f"store unreachable: {len(self._buffer)} results wait for it before the run ends "
                          "(Ctrl-C or SIGTERM saves them to a rescue file instead)", True)
            await self._pause(max(self._retry_at - self._clock(), 0.05))
        if self._buffer:
            batch, self._buffer = self._buffer, []
            path = self._rescue(batch)
            self._say(f"{len(batch)} results could not be stored; saved to {path} (the next run imports them)", True)

    def _isolate(self, batch: list[TestRecord]) -> tuple[list[TestRecord], StoreUnavailable | None]:
        """After a refused batch, write record by record. Records the store refuses while it takes
        others cannot be stored at all: they go to the rescue file instead of blocking every later
        commit. Returns what to keep for later: the whole batch when the store takes none of it (a
        store-wide problem), or what was not yet tried when the store stops answering (with why)."""
        stored = 0
        refused: list[TestRecord] = []
        for i, record in enumerate(batch):
            try:
                self._write([record])
                stored += 1
            except StoreUnavailable as exc:
                kept = batch[i:] if stored else [*refused, *batch[i:]]
                if stored and refused:
                    self._rescue(refused)
                if stored:
                    self._committed(stored)
                return kept, exc
            except Exception:  # noqa: BLE001 - sorted into refused, rescued below
                refused.append(record)
        if not stored:
            return batch, None
        self._committed(stored)
        if refused:
            self._rescue(refused)
        return [], None

    def _rescue(self, batch: list[TestRecord]) -> Path:
        """Write records that could not be committed to a JSONL file in `rescue_dir` (the run's
        logs; without one, beside a SQLite store or in the working directory)."""
        base = self.rescue_dir
        if base is None:
            base = Path(self.store.path).parent if isinstance(getattr(self.store, "path", None), Path) else Path(".")
        base.mkdir(parents=True, exist_ok=True)
        path = base / f"rescue-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{len(self.rescue_files)}.jsonl"
        with path.open("a", encoding="utf-8") as f:
            for record in batch:
                f.write(json.dumps(record.to_dict(), default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.rescued += len(batch)
        self.rescue_files.append(path)
        return path


def rescue_files(directories: Iterable[Path]) -> list[Path]:
    """Rescue files left by earlier runs: in each directory and its subdirectories (one per run)."""
    found: dict[Path, None] = {}
    for d in directories:
        if d.is_dir():
            for p in [*d.glob(RESCUE_GLOB), *d.glob(f"*/{RESCUE_GLOB}")]:
                found[p] = None
    return sorted(found)


def import_rescued(store: Store, path: Path) -> tuple[int, int, set[str]]:
    """Write a rescue file's records to the store (idempotent: an attempt is stored once) and
    remove the file. Records the store refuses stay in `<file>.refused`. Returns (records, refused,
    the runs they came from). Raises StoreUnavailable (the file is left as it was) when the store
    does not answer."""
    claimed = path.with_name(path.name + f".importing-{os.getpid()}")
    try:
        path.rename(claimed)  # another process importing the same file at the same moment gets nothing
    except FileNotFoundError:
        return 0, 0, set()
    try:
        records = []
        with claimed.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    data = json.loads(line)
                    records.append(TestRecord(**{k: v for k, v in data.items() if k in _RECORD_FIELDS}))
        refused: list[TestRecord] = []
        try:
            store.write(records)
        except StoreUnavailable:
            raise
        except Exception:  # noqa: BLE001 - one by one, to keep only what the store refuses
            for record in records:
                try:
                    store.write([record])
                except StoreUnavailable:
                    raise
                except Exception:  # noqa: BLE001
                    refused.append(record)
    except BaseException:
        claimed.rename(path)
        raise
    if refused:
        with path.with_name(path.name + ".refused").open("a", encoding="utf-8") as f:
            for record in refused:
                f.write(json.dumps(record.to_dict(), default=str) + "\n")
    claimed.unlink()
    return len(records), len(refused), {r.run_id for r in records}
