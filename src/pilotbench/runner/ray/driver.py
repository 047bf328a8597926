"""The driver: starts one key owner per key, polls their progress, resubmits lost work."""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from ...config import Config, ConfigError
from ...errors import UsageError
from ...plan import PlanSpec, TestSpec
from ...store import Store, is_postgres_url
from ..outcome import run_state
from ..runtime import build_runtime
from ..scheduler import RunOptions, RunSummary
from ..settings import RunSettings
from .owner import KeyOwner, OwnerJob
from .split import OwnerRef, partition, portable_config


INSTALL_HINT = "the Ray executor needs Ray: pip install 'pilotbench[ray]'"
NAMESPACE = "pilotbench"
LOOPBACK_ENV = "PILOTBENCH_RAY_LOOPBACK"


@dataclass
class RayOptions:
    """How the driver uses the cluster."""

    address: str | None = None  # None: RAY_ADDRESS if set, else a new local instance
    owner_cpus: float = 1.0  # logical CPUs each owner reserves
    max_restarts: int = 3  # Ray restarts of one owner incarnation before a new one is made
    max_resubmits: int = 20  # resubmissions of one owner's work before its tests are given up
    lock_wait: float = 2.0  # seconds an owner waits for its key's lock before reporting "locked"
    poll_interval: float = 0.5
    init_kwargs: dict[str, Any] = field(default_factory=dict)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return ray


def pin_loopback(ray: Any) -> None:
    """Keep a single-machine Ray instance on 127.0.0.1. Ray deliberately replaces loopback
    addresses with the machine's outward address; on a host whose firewall or policy allows
    only loopback traffic, set PILOTBENCH_RAY_LOOPBACK=1 (the tests do)."""
    services = ray._private.services
    services.resolve_ip_for_localhost = lambda host: host
    services.get_node_ip_address = lambda address=None: "127.0.0.1"


@dataclass
class _Owner:
    ref: OwnerRef
    tests: list[TestSpec]
    handle: Any = None
    incarnation: int = 0
    call: Any = None  # the ObjectRef of the running `run`
    resubmits: int = 0
    failures: int = 0  # consecutive lost calls on this incarnation
    last: dict[str, Any] = field(default_factory=dict)  # the last finished call's answer
    last_progress: dict[str, Any] = field(default_factory=dict)  # the running call's counts
    described: Any = None  # the ObjectRef of `describe`, read when ready
    carried: tuple[int, int] = (0, 0)  # completed, errors from earlier calls
    key: str | None = None
    node: str | None = None
    stopped: dict[str, str] = field(default_factory=dict)  # models the provider refused, and why
    said_locked: bool = False
    fatal: str | None = None
    not_before: float = 0.0


class RayDriver:
    def __init__(
        self,
        plan: PlanSpec | Iterable[TestSpec],
        *,
        db: str,
        config: Config,
        settings: RunSettings | None = None,
        options: RunOptions | None = None,
        ray_options: RayOptions | None = None,
        info: dict[str, Any] | None = None,
        run_id: str | None = None,
        stream: TextIO | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not is_postgres_url(db):
            raise UsageError("--executor ray needs a PostgreSQL store: --db postgresql://user@host/dbname")
        self.ray = _import_ray()
        self.db = db
        self.config = config
        self.env = dict(os.environ if env is None else env)
        settings = settings or RunSettings()
        if settings.max_concurrency is None and self.env.get("MAX_WORKERS", "").strip():
            try:
                settings = replace(settings, max_concurrency=int(self.env["MAX_WORKERS"]))
            except ValueError:
                raise ConfigError(f"MAX_WORKERS must be a whole number, got {self.env['MAX_WORKERS']!r}") from None
        self.settings = settings
        self.options = options or RunOptions()
        self.ray_options = ray_options or RayOptions()
        self.info = dict(info or {}, executor="ray")
        self.run_id = run_id or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self.stream = stream or sys.stderr
        if isinstance(plan, PlanSpec):
            self.models = list(plan.models)
            self.specs = list(plan.expand())
        else:
            seen: set[str] = set()
            self.specs = [s for s in plan if not (s.id in seen or seen.add(s.id))]  # type: ignore[func-returns-value]
            self.models = list(dict.fromkeys(s.model for s in self.specs))
        # Validates models, key policy and limits here, before any node is involved.
        build_runtime(config, self.models, settings, env=self.env, connect=False)
        self.config_data = portable_config(config, self.models)
        self._stopping = False
        self._stop_sent = False
        self._started_ray = False
        self._owners: dict[OwnerRef, _Owner] = {}

    # ------------------------------------------------------------------ public

    def run(self) -> RunSummary:
        from ...store import open_store
        from ...store.postgres import strip_password

        started = time.monotonic()
        store = open_store(self.db)
        summary = RunSummary(self.run_id, planned=len(self.specs))
        try:
            done = store.done_ids(self.models)
            pending = [s for s in self.specs if s.id not in done]
            summary.skipped = len(self.specs) - len(pending)
            store.start_run(self.run_id, len(self.specs), self.info)
            self._url = strip_password(self.db)
            split = partition(pending, self.config, key_policy=self.settings.key_policy, env=self.env)
            owners = {ref: _Owner(ref, tests) for ref, tests in sorted(split.items())}
            self._owners = owners
            self._say(f"ray run {self.run_id}: {len(self.specs)} planned, {summary.skipped} already done, "
                      f"{len(pending)} pending over {len(owners)} key owner(s)")
            if pending:
                self._init_ray(len(owners))
                installed = self._install_signals()
                try:
                    self._drive(owners, store)
                finally:
                    self._restore_signals(installed)
                    self._shutdown(owners)
            errors_in_run = store.count("run_id = ? AND status = 'error'", (self.run_id,))
            summary.completed = store.count("run_id = ? AND status = 'done'", (self.run_id,))
            summary.errors = errors_in_run
            if pending:
                # Tests another run sharing the store finished while this one ran count as already done.
                done_now = store.done_ids(self.models)
                finished_elsewhere = sum(1 for s in pending if s.id in done_now) - summary.completed
                summary.skipped += max(0, finished_elsewhere)
            summary.interrupted = self._stopping
            for o in owners.values():
                summary.stopped_models.update(o.stopped)
                if o.fatal:
                    summary.stopped_models[o.ref.label] = o.fatal
            missing = self._remaining(store, [s for o in owners.values() if not o.fatal for s in o.tests])
            if missing and not self._stopping:
                summary.stopped_models.setdefault("(ray)", f"{len(missing)} test(s) could not be run; run again to resume")
            summary.elapsed = time.monotonic() - started
            store.finish_run(self.run_id, run_state(interrupted=self._stopping, completed=summary.completed,
                                                    errors=summary.errors, stopped_models=len(summary.stopped_models)))
        finally:
            store.close()
        return summary

    # ------------------------------------------------------------------ the loop

    def _drive(self, owners: dict[OwnerRef, _Owner], store: Store) -> None:
        ray = self.ray
        active = {ref for ref, o in owners.items() if o.tests}
        for ref in active:
            self._submit(owners[ref], owners[ref].tests)
        last_line = time.monotonic()
        while active:
            if self._stopping and not self._stop_sent:
                self._stop_sent = True
                for o in owners.values():
                    if o.handle is not None:
                        o.handle.stop.remote()
            self._read_descriptions(owners)
            calls = {owners[r].call: r for r in active if owners[r].call is not None}
            if calls:
                ready, _ = ray.wait(list(calls), num_returns=len(calls), timeout=self.ray_options.poll_interval)
            else:
                ready = []
                time.sleep(self.ray_options.poll_interval)
            for obj in ready:
                o = owners[calls[obj]]
                o.call = None
                self._settle(o, obj, store, active)
            now = time.monotonic()
            for r in list(active):
                o = owners[r]
                if o.call is None and r in active and now >= o.not_before:
                    remaining = self._remaining(store, o.tests)
                    if not remaining or self._stopping:
                        active.discard(r)
                        self._retire(o)
                    else:
                        self._submit(o, remaining)
            if now - last_line >= self.options.progress_interval:
                self._progress_line(owners)
                last_line = now
            if not active and not self._stopping:
                # Only the store says what is done: a call can end quietly when its node dies.
                missing = self._remaining(store, [s for o in owners.values() if not o.fatal for s in o.tests])
                if missing:
                    by_owner = {s.id for s in missing}
                    for o in owners.values():
                        if o.fatal or o.resubmits >= self.ray_options.max_resubmits:
                            continue
                        if any(s.id in by_owner for s in o.tests):
                            active.add(o.ref)
        self._progress_line(owners)

    def _settle(self, o: _Owner, obj: Any, store: Store, active: set[OwnerRef]) -> None:
        ray = self.ray
        try:
            result = ray.get(obj)
        except ray.exceptions.RayActorError as e:
            o.failures += 1
            message = (f"owner {o.ref.label} ({o.key or 'key ?'}) lost{self._node(o)}: {type(e).__name__}; "
                       "resubmitting its unfinished tests")
            if o.failures > self.ray_options.max_restarts + 1:
                self._replace(o)
            self._resubmit_later(o, active, min(0.25 * o.failures, 5.0), message)  # while Ray restarts it
            return
        except ray.exceptions.RayError as e:
            o.failures += 1
            self._resubmit_later(o, active, 1.0, f"owner {o.ref.label}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            return
        o.failures = 0
        status = result.get("status")
        if status == "locked":
            if not o.said_locked:
                self._say(f"owner {o.ref.label}: key {result.get('key')} is held by another owner (another run?); waiting")
                o.said_locked = True
            o.not_before = time.monotonic() + 0.5
            return
        if status == "fatal":
            o.fatal = result.get("message", "owner failed")
            self._say(f"owner {o.ref.label}: {o.fatal}")
            active.discard(o.ref)
            self._retire(o)
            return
        if status == "error":
            self._resubmit_later(o, active, 1.0, f"owner {o.ref.label}: {result.get('message', '')[:500]}; resubmitting")
            return
        o.said_locked = False
        o.key = result.get("key", o.key)
        o.last = result
        stopped = result.get("stopped_models") or {}
        if stopped:  # as in one process: a model the provider refused is not retried in this run
            o.stopped.update(stopped)
            o.tests = [s for s in o.tests if s.model not in stopped]
        o.carried = (o.carried[0] + int(result.get("completed", 0)), o.carried[1] + int(result.get("errors", 0)))
        o.last_progress = {}
        if result.get("interrupted") or self._stopping:
            active.discard(o.ref)
            self._retire(o)
            return
        # The call said it finished: the store decides (a quiet end after a node loss looks the same).
        if self._remaining(store, o.tests):
            o.resubmits += 1
            self._give_up_if_needed(o, active)
        else:
            active.discard(o.ref)
            self._retire(o)

    def _resubmit_later(self, o: _Owner, active: set[OwnerRef], delay: float, message: str) -> None:
        """A call that failed: keep its progress counts, say why, and resubmit after `delay` seconds
        (or give up after too many resubmissions)."""
        self._carry(o)
        self._say(message)
        o.resubmits += 1
        o.not_before = time.monotonic() + delay
        self._give_up_if_needed(o, active)

    def _give_up_if_needed(self, o: _Owner, active: set[OwnerRef]) -> None:
        if o.resubmits > self.ray_options.max_resubmits:
            o.fatal = f"gave up after {o.resubmits - 1} resubmissions; run again to resume"
            self._say(f"owner {o.ref.label}: {o.fatal}")
            active.discard(o.ref)
            self._retire(o)

    def _carry(self, o: _Owner) -> None:
        p = o.last_progress
        o.carried = (o.carried[0] + int(p.get("completed", 0)), o.carried[1] + int(p.get("errors", 0)))
        o.last_progress = {}

    # ------------------------------------------------------------------ owners

    def _job(self, ref: OwnerRef) -> OwnerJob:
        opts = self.options
        return OwnerJob(
            run_id=self.run_id, db_url=self._url, config=self.config_data, owner=ref, settings=self.settings,
            checkpoint_interval=opts.checkpoint_interval,
            flush_seconds=opts.flush_seconds, grace_seconds=opts.grace_seconds, serial_by=opts.serial_by,
            max_in_flight=opts.max_in_flight, log_dir=str(Path(opts.log_dir).resolve()) if opts.log_dir else None,
            lock_wait=self.ray_options.lock_wait, transcripts=opts.transcripts,
        )

    def _name(self, o: _Owner) -> str:
        suffix = f"~{o.incarnation}" if o.incarnation else ""
        return f"pilotbench/{self.run_id}/{o.ref.label}{suffix}"

    def _create(self, o: _Owner) -> None:
        ray = self.ray
        actor = ray.remote(KeyOwner).options(
            name=self._name(o), namespace=NAMESPACE, max_restarts=self.ray_options.max_restarts, max_task_retries=0,
            num_cpus=self.ray_options.owner_cpus, scheduling_strategy="SPREAD", max_concurrency=64,
        )
        o.handle = actor.remote(self._job(o.ref))
        o.failures = 0

    def _replace(self, o: _Owner) -> None:
        """A new incarnation once Ray's restarts of the old one are spent."""
        try:
            self.ray.kill(o.handle, no_restart=True)
        except Exception:  # noqa: BLE001 - it is gone already
            pass
        o.incarnation += 1
        o.handle = None
        o.key = None
        o.node = None

    def _submit(self, o: _Owner, tests: list[TestSpec]) -> None:
        if o.handle is None:
            self._create(o)
        o.call = o.handle.run.remote(tests)
        if o.node is None:
            o.described = o.handle.describe.remote()

    def _read_descriptions(self, owners: dict[OwnerRef, _Owner]) -> None:
        """Where each owner runs and which key it holds (label only), once its answer is in."""
        refs = {o.described: o for o in owners.values() if o.described is not None}
        if not refs:
            return
        ready, _ = self.ray.wait(list(refs), num_returns=len(refs), timeout=0)
        for obj in ready:
            o = refs[obj]
            o.described = None
            try:
                info = self.ray.get(obj)
                o.node, o.key = info["node"], info["key"] or o.key
            except Exception:  # noqa: BLE001 - only for display; a lost owner shows up on its call
                pass

    def _retire(self, o: _Owner) -> None:
        if o.handle is not None:
            try:
                self.ray.kill(o.handle, no_restart=True)
            except Exception:  # noqa: BLE001
                pass
            o.handle = None
            o.node = None

    def _shutdown(self, owners: dict[OwnerRef, _Owner]) -> None:
        if self._stopping:
            calls = [o.call for o in owners.values() if o.call is not None]
            if calls:
                self.ray.wait(calls, num_returns=len(calls), timeout=self.options.grace_seconds + 10)
        for o in owners.values():
            self._retire(o)
        if self._started_ray:
            self.ray.shutdown()

    # ------------------------------------------------------------------ the store's view

    def _remaining(self, store: Store, tests: list[TestSpec]) -> list[TestSpec]:
        """This owner's tests with no result yet: not done, and no infrastructure error in this
        run (those are retried by the next run, as in one process)."""
        if not tests:
            return []
        settled = store.done_ids(sorted({s.model for s in tests}))
        settled |= {r[0] for r in store.query("SELECT DISTINCT test_id FROM results WHERE run_id = ? AND status = 'error'", (self.run_id,))}
        return [s for s in tests if s.id not in settled]

    # ------------------------------------------------------------------ plumbing

    def _init_ray(self, n_owners: int) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        address = self.ray_options.address or self.env.get("RAY_ADDRESS") or "local"
        kwargs: dict[str, Any] = {"namespace": NAMESPACE, "log_to_driver": False}
        if self.env.get(LOOPBACK_ENV, "").strip() not in ("", "0"):
            pin_loopback(ray)
            if address == "local":
                kwargs["_node_ip_address"] = "127.0.0.1"
        if address == "local":
            # Logical CPUs: every owner gets its slot on one machine, whatever the core count.
            kwargs.update(include_dashboard=False, num_cpus=max(os.cpu_count() or 1, int(n_owners * self.ray_options.owner_cpus + 0.999)))
        kwargs.update(self.ray_options.init_kwargs)
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise UsageError(f"cannot start or reach Ray at {address}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
        self._started_ray = True

    def _install_signals(self) -> list[tuple[int, Any]]:
        import threading

        if threading.current_thread() is not threading.main_thread() or not self.options.handle_signals:
            return []
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                installed.append((sig, signal.signal(sig, self._on_signal)))
            except (ValueError, OSError):
                pass
        return installed

    def _restore_signals(self, installed: list[tuple[int, Any]]) -> None:
        for sig, old in installed:
            signal.signal(sig, old)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stopping:
            raise KeyboardInterrupt
        self._stopping = True
        self._say("stopping: owners commit what finished (Ctrl-C again to abandon)")

    def _node(self, o: _Owner) -> str:
        return f" on node {o.node[:8]}" if o.node else ""

    def _progress_line(self, owners: dict[OwnerRef, _Owner]) -> None:
        ray = self.ray
        parts = []
        total_done = total_err = total = 0
        polls = {o.handle.progress.remote(): o for o in owners.values() if o.handle is not None and o.call is not None}
        if polls:
            ready, _ = ray.wait(list(polls), num_returns=len(polls), timeout=1.0)
            for obj in ready:
                try:
                    polls[obj].last_progress = ray.get(obj)
                except Exception:  # noqa: BLE001 - a lost owner is handled by its call
                    pass
        for o in owners.values():
            p = o.last_progress if o.call is not None else {}
            # Counts from the owners (tests redone after a loss may count twice: capped for display).
            e = min(o.carried[1] + int(p.get("errors", 0)), len(o.tests))
            d = min(o.carried[0] + int(p.get("completed", 0)), len(o.tests) - e)
            total_done += d
            total_err += e
            total += len(o.tests)
            state = "gave up" if o.fatal else p.get("state", "done" if o.handle is None else "starting")
            parts.append(f"{o.ref.label} {o.key or ''} {d + e}/{len(o.tests)} {state}".replace("  ", " "))
        self._say(f"progress {total_done + total_err}/{total} tests ({total_err} infra errors); " + "; ".join(parts))

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


def run_on_ray(plan: PlanSpec | Iterable[TestSpec], **kwargs: Any) -> RunSummary:
    """Run a plan on a Ray cluster (kwargs as `RayDriver`); returns the run's summary, counted
    from the store."""
    return RayDriver(plan, **kwargs).run()
