"""The runner: one event loop drives every model, provider and prompt type of a run at once.

Each model (or, under prompt-affinity, each model and prompt type) is a stream of pending tests
with its own bounded set of conversations in flight, held back only by its own lanes. The
pending work is always the plan minus the tests the store has `done`, so a run can stop at any
point (Ctrl-C, SIGTERM, a hard kill) and the next run does exactly what is missing.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import os
import random
import signal
import socket
import sys
import time
import traceback
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..benchmark.episode import Episode, StopRules
from ..benchmark.prompts import render_prompt
from ..benchmark.scoring import explain_steps, score
from ..errors import StoreError, StoreUnavailable
from ..limits import Clock, MonotonicClock
from ..models.base import EndOfTest, ModelRequest
from ..models.human import PlayerTimeout
from ..plan import PlanSpec, TestSpec, world_id
from ..store.records import TestRecord, new_attempt_id
from ..store.transcripts import DEFAULT_TRANSCRIPTS, encode_transcript
from ..store.base import Store
from ..store.leases import holder_gone, lease_owner
from .calls import CallStats, ContextLimit, InfraError, ModelStopped, calibrated_estimate, call_model
from .collector import collector_for_long_runs
from .instances import InstanceCache
from .logs import QuietFileHandler, close_logs, open_logs  # noqa: F401 - QuietFileHandler: its old import path
from .order import aiter_of, longest_first
from .outcome import error_cause, exit_status, lane_problems, learnt_limits, run_state
from .progress import Reporter, RunProgress
from .runtime import ModelRuntime, Runtime
from .writer import BatchWriter, import_rescued, rescue_files

SERIAL_MODES = ("none", "model", "prompt", "provider")
LANES_RECORD_SECONDS = 5.0  # how often a run records its lanes' learnt limits (status)
_START_BATCH = 16  # tests started per loop iteration when many slots are free at once
TIMEOUT_STOP = "timeout"  # the stop reason of a test whose human player did not answer a turn in time
CLAIM_TTL = 60.0  # seconds a test's lease lasts unless renewed (renewed every third of it)
CLAIM_TTL_ENV = "PILOTBENCH_CLAIM_TTL"


def _claim_ttl_default() -> float:
    """CLAIM_TTL, or PILOTBENCH_CLAIM_TTL when set to a positive number of seconds."""
    try:
        value = float(os.environ.get(CLAIM_TTL_ENV, "") or CLAIM_TTL)
    except ValueError:
        return CLAIM_TTL
    return value if value > 0 and value != float("inf") else CLAIM_TTL


@dataclass
class RunOptions:
    checkpoint_interval: int = 100
    flush_seconds: float = 2.0
    grace_seconds: float = 3.0
    serial_by: str = "none"
    max_in_flight: int | None = None
    progress_interval: float = 10.0
    live: bool | None = None
    log_dir: Path | None = None
    handle_signals: bool = True
    record_run: bool = True  # write the run's row in the runs table (off for a distributed run's owners)
    record_lanes: bool | None = None  # record the lanes' learnt limits in the run's row (default: record_run)
    transcripts: str = DEFAULT_TRANSCRIPTS  # none | calls | full: how much of each conversation the store keeps
    progress_lines: bool = True  # plain progress lines when there is no live display (off while a person plays at the terminal)
    store_wait: float | None = None  # seconds the end of a run waits for an unreachable store (None: until stopped)
    claims: bool = True  # lease each test before running it, so concurrent runs of a plan share it
    claim_ttl: float = field(default_factory=lambda: _claim_ttl_default())  # seconds a lease lasts unrenewed
    claim_owner: str | None = None  # who holds the leases (default: this process and run); see runner.ray


@dataclass
class RunSummary:
    run_id: str
    planned: int = 0
    skipped: int = 0
    completed: int = 0
    errors: int = 0
    interrupted: bool = False
    elapsed: float = 0.0
    stopped_models: dict[str, str] = field(default_factory=dict)
    records: list[TestRecord] = field(default_factory=list)
    error_causes: dict[str, int] = field(default_factory=dict)  # infrastructure errors by cause
    context_limited: int = 0  # done tests whose conversation outgrew the model's context
    key_problems: dict[str, str] = field(default_factory=dict)  # lane -> "disabled: why" / "parked: why"
    log_dir: str | None = None
    rescued: int = 0  # results the store could not take, saved to rescue files (not stored)
    rescue_files: list[str] = field(default_factory=list)
    imported: int = 0  # results of earlier runs' rescue files put in the store before planning

    @property
    def pending(self) -> int:
        return self.planned - self.skipped - self.completed - self.errors

    @property
    def exit_status(self) -> int:
        """0 only if every planned test ended `done` (runner.outcome lists the others)."""
        return exit_status(
            interrupted=self.interrupted, stopped_models=len(self.stopped_models), errors=self.errors,
            not_run=self.pending, not_stored=self.rescued,
        )


def _stream_key(spec: TestSpec, rt: ModelRuntime) -> tuple[str, ...]:
    if rt.pool.policy == "prompt-affinity":
        return (spec.model, spec.prompt_type)
    return (spec.model,)


class Runner:
    def __init__(
        self,
        runtime: Runtime,
        store: Store,
        *,
        options: RunOptions | None = None,
        clock: Clock | None = None,
        keep_records: bool = False,
        run_id: str | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.options = options or RunOptions()
        self.clock = clock or MonotonicClock()
        self.keep_records = keep_records
        self.run_id = run_id or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self.info = info or {}
        self.progress = RunProgress(runtime.lanes.values())
        self.summary = RunSummary(self.run_id)
        self._stopping = False
        self._rng = random.Random()
        self._inflight: set[asyncio.Task[None]] = set()
        self._loggers: dict[str, logging.Logger] = {}
        self._handlers: list[logging.Handler] = []
        self._params_text: dict[str, str | None] = {
            name: json.dumps(rt.params, sort_keys=True, default=str) if rt.params else None
            for name, rt in runtime.models.items()
        }
        self._told: dict[str, str] = {}  # lanes whose loss was already reported
        self._lanes_recorded: dict[str, dict[str, object]] = {}  # what the run's row says of its lanes
        # Who holds this run's leases on tests (claims): unique per process and run.
        self._owner = self.options.claim_owner or lease_owner()
        self._gone_holders: dict[str, bool] = {}  # holders of leases met, found gone (taken over) -> said so
        self._claiming = self.options.claims and callable(getattr(store, "claim", None))
        self._said_waiting = False
        self._instances = InstanceCache()

    # ------------------------------------------------------------------ public

    def request_stop(self) -> None:
        """Stop dispatching; in-flight tests get `grace_seconds` to finish, then are cancelled."""
        if self._stopping:
            for task in list(self._inflight):
                task.cancel()
            return
        self._stopping = True
        self.summary.interrupted = True
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.abandon()  # a store that is away is not waited for: what it cannot take is rescued
        asyncio.get_running_loop().call_later(self.options.grace_seconds, self._cancel_inflight)

    def _cancel_inflight(self) -> None:
        for task in list(self._inflight):
            task.cancel()

    async def run(self, plan: PlanSpec | Iterable[TestSpec]) -> RunSummary:
        started = time.monotonic()
        await asyncio.to_thread(self._import_rescued)
        done = await asyncio.to_thread(self.store.done_ids, self._plan_models(plan))
        streams = self._streams(plan, done)
        self.summary.planned = self.progress.planned + self.summary.skipped
        self._open_logs()  # first: an unusable log directory must not leave a run marked running
        if self.options.record_run:
            # who runs it, so `status` can tell a run whose process is gone from one still running
            who = {"pid": os.getpid(), "host": socket.gethostname()}
            self.store.start_run(self.run_id, self.summary.planned, {**who, **self.info})
        writer = BatchWriter(
            self.store,
            batch_size=self.options.checkpoint_interval,
            interval=self.options.flush_seconds,
            on_commit=self._on_commit,
            on_state=self._on_store_state,
            rescue_dir=self.options.log_dir / self.run_id if self.options.log_dir is not None else self._rescue_root(),
            store_wait=self.options.store_wait,
            after_write=self._release if self._claiming else None,
        )
        self._writer = writer
        reporter = Reporter(self.progress, live=self.options.live, interval=self.options.progress_interval)
        loop = asyncio.get_running_loop()
        installed = self._install_signals(loop)
        writer.start()
        reporter.start()
        ticker = asyncio.create_task(self._report(reporter))
        watcher = asyncio.create_task(self._watch_lanes())
        record_lanes = self.options.record_run if self.options.record_lanes is None else self.options.record_lanes
        recorder = asyncio.create_task(self._record_lanes(writer)) if record_lanes else None
        renewer = asyncio.create_task(self._renew_claims(writer)) if self._claiming else None
        try:
            with collector_for_long_runs():
                for group in self._groups(streams):
                    if self._stopping:
                        break
                    await asyncio.gather(*(self._drive(key, specs) for key, specs in group))
        finally:
            ticker.cancel()
            watcher.cancel()
            if recorder is not None:
                recorder.cancel()
            if renewer is not None:
                renewer.cancel()
            await writer.close()
            if self._claiming and not writer.unreachable:
                try:  # leases on tests this run did not finish: free for the next run at once
                    await asyncio.to_thread(self.store.release_claims, self._owner)
                except Exception:  # noqa: BLE001 - they expire by themselves
                    pass
            self.summary.rescued = writer.rescued
            self.summary.rescue_files = [str(p) for p in writer.rescue_files]
            if recorder is not None and not writer.unreachable:
                await self._record_lanes_now()  # what the lanes knew at the end
            reporter.stop()
            for sig in installed:
                loop.remove_signal_handler(sig)
            self.summary.elapsed = time.monotonic() - started
            self.summary.stopped_models = {m: rt.dead for m, rt in self.runtime.models.items() if rt.dead}
            self._tell_lanes()
            self.summary.key_problems = lane_problems(self.runtime.lanes.values())
            status = run_state(interrupted=self.summary.interrupted, completed=self.summary.completed,
                               errors=self.summary.errors, stopped_models=len(self.summary.stopped_models))
            if self.options.record_run and not writer.unreachable:
                ended = {"keys_lost": self.summary.key_problems} if self.summary.key_problems else None
                if self.summary.rescue_files:
                    ended = {**(ended or {}), "rescue_files": self.summary.rescue_files}
                try:
                    await asyncio.to_thread(self.store.finish_run, self.run_id, status, ended)
                except StoreUnavailable:
                    pass  # left `running`; `status` shows it as dead once this process is gone
            self._close_logs()
        return self.summary

    # ------------------------------------------------------------------ planning

    def _plan_models(self, plan: PlanSpec | Iterable[TestSpec]) -> list[str] | None:
        return list(plan.models) if isinstance(plan, PlanSpec) else None

    def _streams(self, plan: PlanSpec | Iterable[TestSpec], done: set[str]) -> dict[tuple[str, ...], Iterator[TestSpec]]:
        """Pending tests per stream. A PlanSpec stays lazy: only ids are counted up front."""
        models = self.runtime.models
        if isinstance(plan, PlanSpec):
            out: dict[tuple[str, ...], Iterator[TestSpec]] = {}
            for model in plan.models:
                rt = models[model]
                per_prompt = rt.pool.policy == "prompt-affinity"
                subplans = (
                    [PlanSpec(**{**_fields(plan), "models": (model,), "prompt_types": (p,)}) for p in plan.prompt_types]
                    if per_prompt
                    else [PlanSpec(**{**_fields(plan), "models": (model,)})]
                )
                for sub in subplans:
                    key = (model, sub.prompt_types[0]) if per_prompt else (model,)
                    pending: dict[str, int] = {}  # per prompt type; one progress update each, not one per test
                    skipped = 0
                    for spec in sub.expand():
                        if spec.id in done:
                            skipped += 1
                        else:
                            pending[spec.prompt_type] = pending.get(spec.prompt_type, 0) + 1
                    self.summary.skipped += skipped
                    for prompt_type, n in pending.items():
                        self.progress.plan(model, prompt_type, n)
                    out[key] = (s for s in sub.expand() if s.id not in done)
            return out
        queues: dict[tuple[str, ...], deque[TestSpec]] = {}
        seen: set[str] = set()
        for spec in plan:
            if spec.id in seen:
                continue
            seen.add(spec.id)
            if spec.model not in models:
                raise KeyError(f"test {spec.id} names model {spec.model!r}, which this run has no runtime for")
            if spec.id in done:
                self.summary.skipped += 1
                continue
            self.progress.plan(spec.model, spec.prompt_type)
            queues.setdefault(_stream_key(spec, models[spec.model]), deque()).append(spec)
        return {k: iter(v) for k, v in queues.items()}

    def _groups(self, streams: dict[tuple[str, ...], Iterator[TestSpec]]) -> list[list[tuple[tuple[str, ...], Iterator[TestSpec]]]]:
        mode = self.options.serial_by
        if mode == "none":
            return [list(streams.items())]
        groups: dict[str, list[tuple[tuple[str, ...], Iterator[TestSpec]]]] = {}
        for key, it in streams.items():
            rt = self.runtime.models[key[0]]
            if mode == "model":
                g = key[0]
            elif mode == "provider":
                g = rt.provider_name
            else:  # prompt: one prompt type after another; needs per-prompt streams
                g = key[1] if len(key) > 1 else ""
            groups.setdefault(g, []).append((key, it))
        if mode == "prompt" and any(len(k) == 1 for k in streams):
            # Split model streams by prompt type so prompt types really run one after another.
            by_prompt: dict[str, list[tuple[tuple[str, ...], Iterator[TestSpec]]]] = {}
            for key, it in streams.items():
                buckets: dict[str, deque[TestSpec]] = {}
                for spec in it:
                    buckets.setdefault(spec.prompt_type, deque()).append(spec)
                for p, q in buckets.items():
                    by_prompt.setdefault(p, []).append(((key[0], p), iter(q)))
            return list(by_prompt.values())
        return list(groups.values())

    # ------------------------------------------------------------------ driving

    async def _drive(self, key: tuple[str, ...], specs: Iterator[TestSpec]) -> None:
        rt = self.runtime.models[key[0]]
        bound = rt.max_capacity + 8
        if rt.kind == "human":
            bound = 1  # a person plays one test at a time, to its end
        if self.options.max_in_flight:
            bound = min(bound, self.options.max_in_flight)
        slots = asyncio.Semaphore(max(1, bound))
        tasks: set[asyncio.Task[None]] = set()
        ordered = longest_first(specs, 2 * bound)
        claimed = self._claimed(rt, ordered, max(32, min(bound, 256))) if self._claiming else aiter_of(ordered)
        started = 0
        async for spec in claimed:
            started += 1
            await slots.acquire()
            if self._stopping or rt.dead:
                slots.release()
                break
            task = asyncio.create_task(self._run_test(rt, spec))
            tasks.add(task)
            if started % _START_BATCH == 0:
                # While slots are free, acquire() does not yield: without this, a thousand tests would
                # take their first steps (prompt, first request) in one loop iteration, stalling it.
                await asyncio.sleep(0)
            self._inflight.add(task)

            def _done(t: asyncio.Task[None], tasks: set[asyncio.Task[None]] = tasks) -> None:
                tasks.discard(t)
                self._inflight.discard(t)
                slots.release()

            task.add_done_callback(_done)
        await claimed.aclose()  # type: ignore[attr-defined]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ claims

    async def _claimed(self, rt: ModelRuntime, specs: Iterator[TestSpec], chunk: int) -> AsyncIterator[TestSpec]:
        """`specs`, each leased to this run before it is yielded (store.claim), a chunk at a time.
        Tests another process finished meanwhile are skipped (counted as already done); tests it
        holds a live lease on are put off, then tried again every few seconds until they are
        done there or their lease is free (released, or expired). A lease whose holder was a
        process of this machine that is gone (kill -9, a crash) is taken over at once."""
        deferred: dict[str, TestSpec] = {}
        source = iter(specs)
        while not self._stopping and not rt.dead:
            batch = list(itertools.islice(source, chunk))
            if not batch:
                break
            for spec in await self._claim(batch, deferred):
                yield spec
        poll = min(self.options.claim_ttl / 3, 2.0)
        while deferred and not self._stopping and not rt.dead:
            if not self._said_waiting:
                self._said_waiting = True
                self._say(f"{len(deferred)} tests are being run by another process (another run of this plan, or "
                          f"one that died on another machine: its leases expire within {self.options.claim_ttl:.0f}s); "
                          "waiting for them")
            await asyncio.sleep(poll)
            waiting = list(deferred.values())
            deferred.clear()
            for spec in await self._claim(waiting, deferred):
                yield spec

    async def _claim(self, batch: list[TestSpec], deferred: dict[str, TestSpec]) -> list[TestSpec]:
        """The tests of `batch` leased to this run; those done elsewhere are counted as skipped,
        those leased elsewhere go to `deferred`. Without a reachable store, all of them (unleased)."""
        try:
            taken, done = await self._writer.exclusive(
                functools.partial(self.store.claim, gone=self._holder_gone),
                self._owner, [s.id for s in batch], self.options.claim_ttl,
            )
        except StoreError:  # unreachable, or refusing writes: the run goes on (the writer says so)
            return batch  # unleased; the store still keeps each test `done` once
        for holder, said in list(self._gone_holders.items()):
            if not said:
                self._gone_holders[holder] = True
                self._say(f"leases on tests held by process {holder.rsplit(':', 2)[1]} of this machine, now gone (killed?), "
                          f"are taken over at once instead of waiting up to {self.options.claim_ttl:.0f}s for them to expire")
        ids = set(taken)
        out = []
        for spec in batch:
            if spec.id in ids:
                out.append(spec)
            elif spec.id in done:
                self.summary.skipped += 1
                self.progress.plan(spec.model, spec.prompt_type, -1)
            else:
                deferred[spec.id] = spec
        return out

    def _holder_gone(self, holder: str) -> bool:
        """The store's question while it leases (in the writer's thread): is the holder of a live
        lease a process of this machine that is gone? Each one found is said once (`_claim`)."""
        if not holder_gone(holder):
            return False
        self._gone_holders.setdefault(holder, False)
        return True

    def _release(self, records: list[TestRecord]) -> None:
        """After a batch is committed (the writer's thread): its tests' leases are given up."""
        self.store.release_claims(self._owner, [r.test_id for r in records])

    async def _renew_claims(self, writer: BatchWriter) -> None:
        while True:
            await asyncio.sleep(self.options.claim_ttl / 3)
            try:
                await writer.exclusive(self.store.renew_claims, self._owner, self.options.claim_ttl)
            except Exception:  # noqa: BLE001 - a lease that lapses only lets another run take the test
                pass

    def _say(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)
        for log in self._loggers.values():
            log.info("%s", message)

    async def _run_test(self, rt: ModelRuntime, spec: TestSpec) -> None:
        started = time.time()
        task = self._instances.get(spec.task_type, spec.instance, spec.seed)
        stats = CallStats()
        episode: Episode | None = None
        record = TestRecord(
            attempt_id=new_attempt_id(),
            test_id=spec.id,
            run_id=self.run_id,
            model=spec.model,
            provider=rt.provider_name,
            prompt_type=spec.prompt_type,
            task_type=spec.task_type,
            difficulty=spec.difficulty,
            tool_success_rate=spec.tool_success_rate,
            instance=spec.instance,
            seed=spec.seed,
            suite_version=spec.suite_version,
            task_hash=task.content_hash,
            required_tools=json.dumps(list(task.required_tools)),
            severity=spec.severity,
            max_turns=spec.max_turns,
            status="error",
            started_at=started,
            params=self._params_text.get(spec.model),
        )
        try:
            prompt = render_prompt(task, spec.difficulty, spec.prompt_type, severity=spec.severity, tool_mode=rt.tool_mode)
            episode = Episode(
                spec.id, task, prompt, spec.tool_success_rate, rules=StopRules(max_turns=spec.max_turns),
                world_id=world_id(spec),
            )
            while not episode.done:
                request = ModelRequest(rt.deployment, episode.messages, episode.tools, rt.params)
                tokens = calibrated_estimate(rt, request) if rt.uses_tpm else 0
                try:
                    output = await call_model(
                        rt, spec.prompt_type, request, stats, clock=self.clock, rng=self._rng, tokens=tokens
                    )
                except PlayerTimeout:
                    # A human player who did not answer in time: the test ends here, scored as it stands
                    # (a result, not an infrastructure error: a resume does not play it again).
                    episode.trajectory.stop_reason = TIMEOUT_STOP
                    episode.done = True
                    break
                except ContextLimit as e:
                    if not episode.trajectory.turns:
                        # The prompt alone does not fit: the deployment's set-up (its context, or a
                        # max_tokens larger than it), not the model's doing. An infrastructure error,
                        # retried when the set-up is fixed.
                        raise InfraError(f"{e} (on the first request of the conversation)") from None
                    episode.end("context_length")
                    self.summary.context_limited += 1
                    break
                episode.step(output)
            s = score(task, episode.trajectory)
            record.status = "done"
            record.success_level = s.success_level
            record.success = int(s.success)
            record.weighted_score = s.weighted_score
            record.workflow_adherence = s.workflow_adherence
            record.tool_coverage = s.tool_coverage
            record.efficiency = s.efficiency
            record.precision = s.precision
            record.error_category = s.error_category
            if episode.trajectory.stop_reason == TIMEOUT_STOP and s.success_level != "full_success":
                record.error_category = "timeout_errors"  # the player ran out of time (docs/scoring.md)
        except asyncio.CancelledError:
            if episode is not None:
                _end_conversation(rt, episode.messages)
            return  # interrupted: not recorded, so the next run repeats it
        except ModelStopped as e:
            record.infra_error = f"model stopped: {e}"
        except InfraError as e:
            record.infra_error = str(e)
        except Exception:  # noqa: BLE001 - a harness bug is stored with its traceback, never as a model failure
            record.infra_error = "harness error: " + traceback.format_exc(limit=8)
        if episode is not None:
            traj = episode.trajectory
            record.turns = traj.turns
            record.tool_calls = len(traj.calls)
            record.format_errors = traj.format_errors
            record.assistance_turns = traj.assistance_turns
            record.text_calls = traj.text_calls
            record.truncated_replies = traj.truncated_replies
            record.plain_result = int(traj.result_form == "plain")
            record.prompt_tokens = traj.prompt_tokens
            record.completion_tokens = traj.completion_tokens
            record.trajectory = traj.to_dict()
            # Time per turn (each answered call; a human's thinking time is part of the baseline).
            record.trajectory["turn_seconds"] = [round(x, 3) for x in stats.turn_seconds]
            if any(t is not None for t in stats.turn_tokens):  # tokens per turn, where the provider said
                record.trajectory["turn_tokens"] = list(stats.turn_tokens)
            if stats.timed_out_after is not None:
                record.trajectory["timed_out_after"] = round(stats.timed_out_after, 3)
            if self.options.transcripts != "none":
                record.transcript = encode_transcript(episode.messages, self.options.transcripts, len(prompt.messages))
            _end_conversation(rt, episode.messages)
        record.model_calls = stats.calls
        record.rate_limited = stats.rate_limited
        record.retries = stats.retries
        record.call_latencies = stats.latencies
        record.latency_s = sum(stats.latencies)
        record.key_label = stats.key_label
        record.lane = stats.lane
        record.finished_at = time.time()
        self._finish(record)
        if record.status == "done" and episode is not None:
            _tell_test_ended(rt, record, task, episode, stats.lane, self.progress)
        if self._writer.backlogged:  # the store is behind: hold this slot until it catches up
            await self._writer.drain()

    def _finish(self, record: TestRecord) -> None:
        ok = record.status == "done"
        if ok:
            self.summary.completed += 1
        else:
            self.summary.errors += 1
            cause = error_cause(record.infra_error)
            self.summary.error_causes[cause] = self.summary.error_causes.get(cause, 0) + 1
        self.progress.finish(record.model, record.prompt_type, ok=ok, success=bool(record.success))
        self._writer.add(record)
        if self.keep_records:
            self.summary.records.append(record)
        log = self._loggers.get(record.provider)
        if log is not None:
            if ok:
                log.info(
                    "%s %s %s/%s/%s done %s turns=%d key=%s latency=%.2fs%s",
                    record.test_id, record.model, record.prompt_type, record.task_type, record.difficulty,
                    record.success_level, record.turns, record.key_label, record.latency_s,
                    " (ended: the conversation outgrew the model's context)"
                    if record.error_category == "context_length_errors" else "",
                )
            else:
                log.warning(
                    "%s %s %s/%s/%s infrastructure error key=%s: %s",
                    record.test_id, record.model, record.prompt_type, record.task_type, record.difficulty,
                    record.key_label, (record.infra_error or "").splitlines()[0][:300],
                )

    def _on_commit(self, n: int) -> None:
        self.progress.committed += n

    def _on_store_state(self, message: str, trouble: bool) -> None:
        """The store went away, holds the run, came back, or results were rescued: said at once on
        stderr, in every provider's log and in the progress display."""
        self.progress.store_note = message if trouble else None
        print(message, file=sys.stderr, flush=True)
        for log in self._loggers.values():
            (log.warning if trouble else log.info)("%s", message)

    def _rescue_root(self) -> Path:
        """Where rescue files go and are looked for: the log root, else beside a SQLite store."""
        if self.options.log_dir is not None:
            return self.options.log_dir
        path = getattr(self.store, "path", None)
        return path.parent if isinstance(path, Path) else Path("pilotbench-results")

    def _import_rescued(self) -> None:
        """Results an earlier run could not store (rescue files) go to the store before planning,
        so their tests are not run again."""
        runs: set[str] = set()
        for path in rescue_files([self._rescue_root()]):
            n, refused, of_runs = import_rescued(self.store, path)
            if not n:
                continue
            runs |= of_runs
            self.summary.imported += n - refused
            note = f"; {refused} refused by the store, kept in {path}.refused" if refused else ""
            print(f"imported {n - refused} results from {path}, saved by an earlier run{note}", file=sys.stderr, flush=True)
        if runs:  # a run stopped during an outage could not mark itself ended
            for row in self.store.runs():
                if row["run_id"] in runs and row["status"] == "running":
                    self.store.finish_run(row["run_id"], "interrupted")

    async def _report(self, reporter: Reporter) -> None:
        while True:
            await asyncio.sleep(reporter.interval)
            if reporter.live or self.options.progress_lines:
                reporter.tick()

    async def _record_lanes(self, writer: BatchWriter) -> None:
        """The lanes' learnt limits join the run's record every few seconds while they change, so
        `pilotbench status` shows them for a run in progress, from any shell."""
        while True:
            await asyncio.sleep(LANES_RECORD_SECONDS)
            await self._record_lanes_now(writer)

    async def _record_lanes_now(self, writer: BatchWriter | None = None) -> None:
        now = learnt_limits(self.runtime.lanes.values(), keep=self._lanes_recorded)
        if not now or now == self._lanes_recorded:
            return
        try:
            if writer is not None:
                await writer.exclusive(self.store.record_lanes, self.run_id, now)
            else:
                await asyncio.to_thread(self.store.record_lanes, self.run_id, now)
        except Exception:  # noqa: BLE001 - a display aid: never worth stopping a run for
            return
        self._lanes_recorded = now

    async def _watch_lanes(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self._tell_lanes()

    def _tell_lanes(self) -> None:
        """A key disabled or parked for the rest of the run is said at once: on stderr (above the
        live display, if any) and in the provider's log."""
        for name, problem in lane_problems(self.runtime.lanes.values()).items():
            if self._told.get(name) == problem:
                continue
            self._told[name] = problem
            lane = self.runtime.lanes[name]
            print(f"key {lane.key_label} ({name}) {problem}", file=sys.stderr, flush=True)
            log = self._loggers.get(lane.provider)
            if log is not None:
                log.warning("key %s (%s) %s", lane.key_label, name, problem)

    # ------------------------------------------------------------------ plumbing

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> list[int]:
        if not self.options.handle_signals:
            return []
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.request_stop)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        return installed

    def _open_logs(self) -> None:
        if self.options.log_dir is None:
            return
        directory = self.options.log_dir / self.run_id
        self.summary.log_dir = str(directory)
        providers = {rt.provider_name for rt in self.runtime.models.values()}
        self._loggers.update(open_logs(directory, self.run_id, providers, self._handlers))

    def _close_logs(self) -> None:
        close_logs(self._loggers.values(), self._handlers)


def _end_conversation(rt: ModelRuntime, messages: list[Any]) -> None:
    """Tell the model's providers that a conversation is over, for those that keep something per
    conversation in flight (an in-process model's reading of it): they let it go at once."""
    seen: set[int] = set()
    for provider in rt.providers.values():
        if id(provider) in seen:
            continue
        seen.add(id(provider))
        end = getattr(provider, "end_conversation", None)
        if end is not None:
            end(messages)


def _tell_test_ended(rt: ModelRuntime, record: TestRecord, task: Any, episode: Episode, lane: str | None,
                     progress: RunProgress) -> None:
    """Tell the provider that played a scored test how it went, once the result is handed to the
    store: `test_ended(EndOfTest)` (models.base), which only the human players have. Nothing here
    changes a result; a provider that fails to take it is said on stderr and the run goes on."""
    played = rt.providers.get(lane) if lane else None
    providers = [played] if played is not None else list({id(p): p for p in rt.providers.values()}.values())
    hooks = [hook for p in providers if (hook := getattr(p, "test_ended", None)) is not None]
    if not hooks:
        return
    traj = episode.trajectory
    left = sum(c.planned - c.finished for (m, _), c in progress.cells.items() if m == record.model)
    end = EndOfTest(record.test_id, record.model, record.success_level or "failure", record.error_category,
                    traj.stop_reason, score(task, traj), tuple(s.tool for s in task.steps),
                    tuple(explain_steps(task, traj.calls)), max(left, 0))
    for hook in hooks:
        try:
            hook(end)
        except Exception as e:  # noqa: BLE001 - telling how a test went never stops a run
            print(f"{record.model}: could not tell how test {record.test_id} went: {type(e).__name__}: {e}",
                  file=sys.stderr, flush=True)


def _fields(plan: PlanSpec) -> dict[str, Any]:
    return {f: getattr(plan, f) for f in plan.__dataclass_fields__}  # type: ignore[attr-defined]
