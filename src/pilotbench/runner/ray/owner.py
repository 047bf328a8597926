"""The key owner: the Ray actor that drives one API key's lanes on a node."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import Config, ConfigError, override_var, resolve_keys
from ...errors import PilotbenchError
from ...models.registry import provider_kind
from ...plan import TestSpec
from ..runtime import build_runtime
from ..scheduler import RunOptions, Runner
from ..settings import RunSettings
from .split import OwnerRef


@dataclass(frozen=True)
class OwnerJob:
    """Everything an owner needs, none of it secret."""

    run_id: str
    db_url: str  # without password
    config: dict[str, Any]
    owner: OwnerRef
    settings: RunSettings
    checkpoint_interval: int
    flush_seconds: float
    grace_seconds: float
    serial_by: str
    max_in_flight: int | None
    log_dir: str | None
    lock_wait: float
    transcripts: str = "full"  # none | calls | full (RunOptions.transcripts)


class KeyOwner:
    """The actor that owns one key's lanes. Made a Ray actor with `ray.remote(KeyOwner)`."""

    def __init__(self, job: OwnerJob) -> None:
        self.job = job
        self._runner: Runner | None = None
        self._state = "idle"
        self._stop = False
        self._label: str | None = None
        self._error: str | None = None

    def _key(self) -> tuple[str, dict[str, str]]:
        """The key's label and an environment in which the provider has only this key."""
        cfg = Config(**self.job.config)
        provider = self.job.owner.provider
        pcfg = cfg.providers[provider]
        env = dict(os.environ)
        if provider_kind(pcfg.kind).keys == "builtin":
            return f"{provider}/{pcfg.kind}", env
        keys = resolve_keys(provider, pcfg, env)
        i = self.job.owner.key_index
        if i >= len(keys):
            raise ConfigError(
                f"provider {provider!r} has {len(keys)} key(s) on node {socket.gethostname()}, the driver planned "
                f"for key #{i + 1}; set the same key variables on every node"
            )
        env[override_var(provider)] = keys[i].secret
        if self.job.settings.max_concurrency is not None:
            env.pop("MAX_WORKERS", None)
        return f"{provider}/{keys[i].label}", env

    def describe(self) -> dict[str, Any]:
        import ray

        label = None
        try:
            label, _ = self._key()
        except PilotbenchError as e:
            self._error = str(e)
        return {"node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(), "pid": os.getpid(),
                "key": label, "error": self._error}

    async def run(self, specs: list[TestSpec]) -> dict[str, Any]:
        from ...store.postgres import AdvisoryLock, PostgresStore

        job = self.job
        try:
            label, env = self._key()
        except PilotbenchError as e:
            return {"status": "fatal", "message": " ".join(str(e).split())}
        self._stop = False
        self._state = "locking"
        lock = None
        try:
            lock = await asyncio.to_thread(AdvisoryLock, job.db_url, label)
            if not await asyncio.to_thread(lock.acquire, job.lock_wait):
                return {"status": "locked", "key": label}
            if self._stop:
                return {"status": "ok", "planned": len(specs), "skipped": 0, "completed": 0, "errors": 0,
                        "interrupted": True, "stopped_models": {}}
            self._state = "running"
            cpu_before = time.process_time()
            cfg = Config(**job.config)
            models = sorted({s.model for s in specs})
            runtime = build_runtime(cfg, models, job.settings, env=env)
            store = await asyncio.to_thread(PostgresStore, job.db_url, create=False)
            options = RunOptions(
                checkpoint_interval=job.checkpoint_interval, flush_seconds=job.flush_seconds,
                grace_seconds=job.grace_seconds, serial_by=job.serial_by, max_in_flight=job.max_in_flight,
                progress_interval=3600.0, live=False, handle_signals=False, record_run=False, record_lanes=True,
                log_dir=Path(job.log_dir) / job.owner.label.replace("#", "-") if job.log_dir else None,
                transcripts=job.transcripts,
                # One owner of this key in this run at a time (the advisory lock): a restarted owner
                # takes over its predecessor's leases at once instead of waiting for them to expire.
                claim_owner=f"{job.run_id}/{job.owner.label}",
            )
            runner = Runner(runtime, store, options=options, run_id=job.run_id)  # the run's row is the driver's
            self._runner = runner
            # A Ray worker carries Ray's large heap; the runner makes many short-lived objects.
            # Freezing what exists now keeps the collector from walking Ray's objects again and again.
            gc.collect()
            gc.freeze()
            try:
                summary = await runner.run(specs)
            finally:
                await runtime.aclose()
                await asyncio.to_thread(store.close)
            return {
                "status": "ok", "key": label, "planned": summary.planned, "skipped": summary.skipped,
                "completed": summary.completed, "errors": summary.errors, "interrupted": summary.interrupted,
                "stopped_models": dict(summary.stopped_models), "cpu_s": time.process_time() - cpu_before,
            }
        except PilotbenchError as e:
            return {"status": "error", "message": " ".join(str(e).split())}
        except Exception:  # noqa: BLE001 - reported to the driver, which resubmits
            return {"status": "error", "message": "owner error: " + traceback.format_exc(limit=6)}
        finally:
            self._state = "idle"
            if lock is not None:
                await asyncio.to_thread(lock.close)

    async def progress(self) -> dict[str, Any]:
        r = self._runner
        if r is None:
            return {"state": self._state, "planned": 0, "completed": 0, "errors": 0, "committed": 0}
        return {
            "state": self._state, "planned": r.progress.planned, "completed": r.summary.completed,
            "errors": r.summary.errors, "committed": r.progress.committed,
        }

    async def stop(self) -> None:
        self._stop = True
        if self._runner is not None and self._state == "running":
            self._runner.request_stop()
