"""The command line: thin commands over the Python API. Bad input exits 2 with one line."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import click

from . import __version__
from .benchmark.types import SEVERITIES
from .cli_flags import (
    difficulty_option,
    group_option,
    list_option,
    model_option,
    prompt_type_option,
    rate_option,
    single_option,
    task_type_option,
    usage_message,
)
from .config import KEY_POLICIES
from .errors import PilotbenchError, UsageError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="pilotbench")
def app() -> None:
    """Benchmark LLMs on tool-using workflows, across models, keys and providers."""


@app.group("suite")
def suite_app() -> None:
    """Experiment suites: a whole study in one TOML file."""


# Bounds that keep every number storable (SQLite integers are 64-bit) and every plan countable.
MAX_SEED = 2**63 - 1
MAX_INSTANCES = 10**8
MAX_TURNS = 1000

db_option = click.option("--db", default=None, help="Results database: a SQLite path or a postgresql:// URL. Default ./pilotbench-results/results.db")
config_option = click.option("--config", type=click.Path(path_type=Path), default=None, help="Config file (default ./pilotbench.toml if present).")


def _config(path: Path | None):  # type: ignore[no-untyped-def]
    from .config import load_config

    return load_config(path)


_DB_IN_USE: list[str] = []  # the store this command works on, for the message if it turns out damaged


def _db(db: str | None) -> str:
    from .store.sqlite import DEFAULT_DB

    path = db or str(DEFAULT_DB)
    _DB_IN_USE[:] = [path]
    return path


def _open_for_run(db_path: str):  # type: ignore[no-untyped-def]
    """The store a run writes to, created if missing. An empty file becomes a new store, as SQLite
    would make it, but not silently: a 0-byte file is often what a failed copy leaves."""
    from .store import is_postgres_url, open_store

    if not is_postgres_url(db_path):
        path = Path(db_path)
        if path.is_file() and path.stat().st_size == 0:
            print(f"note: {db_path} is an empty file; making it a new results store", file=sys.stderr, flush=True)
    return open_store(db_path)


def _open_existing(db: str | None):  # type: ignore[no-untyped-def]
    from .store import open_store

    return open_store(_db(db), create=False)


def _check_creatable_dir(path: Path) -> None:
    """Fail early, creating nothing, if `path` could not be made into a writable directory."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"cannot create directory {path}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"cannot create directory {path}: {probe} is not writable")


def _log_root(db_path: str) -> Path:
    """Logs go beside a SQLite database, named after it (`/tmp/x.db` -> `/tmp/x-logs/`), so two stores
    in one directory never share logs; in pilotbench's own results directory (the default
    `./pilotbench-results/results.db`) they are its `logs/`. A PostgreSQL store's go under
    ./pilotbench-results/logs."""
    from .store import is_postgres_url

    if is_postgres_url(db_path):
        return Path("pilotbench-results") / "logs"
    path = Path(db_path)
    if path.parent.name == "pilotbench-results":
        return path.parent / "logs"
    return path.parent / f"{path.stem}-logs"


def _shown(db_path: str) -> str:
    from .store import is_postgres_url

    if is_postgres_url(db_path):
        from .store.postgres import mask_url

        return mask_url(db_path)
    return db_path


# ---------------------------------------------------------------------- run


def _joined(values: tuple[str, ...] | str | None) -> str:
    """A repeatable option's values as one comma-separated list (`-m a -m b` is `-m a,b`)."""
    if values is None:
        return ""
    if isinstance(values, str):
        return values
    return ",".join(v for v in values if v is not None)


@app.command("run")
@model_option("Model(s), comma-separated or repeated, or a group name; a catalog name or openai/<model>, azure/<deployment>, vllm/<model>, ollama/<model>, llamacpp/<model>, openai-api/<name>/<model>, or human/<name> (a person plays). Default sim/medium, unless --group is given.")
@group_option("Named group(s) of models from the config (e.g. idealab).")
@prompt_type_option("baseline,cot,optimal,flawed_<type>; all; all_with_flawed.", default=("baseline",), show_default=True)
@task_type_option("Task types, comma-separated, or all.", default=("all",), show_default=True)
@difficulty_option("very_easy..very_hard, comma-separated, or all.", default=("easy",), show_default=True)
@rate_option("e.g. 0.8 or 0.9,0.7 or all.", default=("0.8",), show_default=True)
@click.option("--num-instances", "-n", "num_instances", type=click.IntRange(1, MAX_INSTANCES), default=2, show_default=True, help="Instances per cell.")
@click.option("--seed", "seed", type=click.IntRange(0, MAX_SEED), default=42, show_default=True, help="Task suite seed.")
@click.option("--severity", "severity", type=click.Choice(SEVERITIES), default="severe", show_default=True, help="Flaw severity.")
@click.option("--max-turns", "max_turns", type=click.IntRange(1, MAX_TURNS), default=10, show_default=True)
@click.option("--model-param", "-M", "model_params", multiple=True, metavar="NAME=VALUE", help="A generation parameter sent with every request (repeat), e.g. -M top_p=0.9; stored with the results.")
@click.option("--temperature", "temperature", type=click.FloatRange(0.0, 2.0), default=None, help="Sampling temperature (same as -M temperature=X).")
@click.option("--max-tokens", "max_tokens", type=click.IntRange(1, 10**7), default=None, help="Completion token limit per call (same as -M max_tokens=N).")
@db_option
@config_option
@click.option("--key-policy", "key_policy", type=click.Choice(KEY_POLICIES), default=None, help="How calls are spread over a provider's keys (default: the provider's key_policy, else pool).")
@click.option("--adaptive", "adaptive", is_flag=True, help="Adapt each lane's concurrency (AIMD on 429s).")
@click.option("--max-concurrency", "max_concurrency", type=click.IntRange(min=1), default=None, help="Per-lane concurrency, overriding config and MAX_WORKERS.")
@click.option("--rpm", "rpm", type=click.FloatRange(min=0.001), default=None, help="Per-lane requests per minute.")
@click.option("--request-timeout", "request_timeout", type=click.FloatRange(min=0.01), default=None, help="Seconds per request.")
@click.option("--checkpoint-interval", "checkpoint_interval", type=click.IntRange(min=1), default=100, show_default=True, help="Commit every N results (and at least every 2 s).")
@click.option("--prompt-parallel/--no-prompt-parallel", "prompt_parallel", default=True, show_default=True, help="Prompt types in flight together (default) or one after another.")
@click.option("--provider-parallel/--no-provider-parallel", "provider_parallel", default=True, show_default=True, help="Providers in flight together (default) or one after another.")
@click.option("--serial-models", "serial_models", is_flag=True, help="Run models one after another.")
@click.option("--dry-run", "dry_run", is_flag=True, help="Check variables, keys and models; print the plan, an ETA, the estimated tokens (and cost, when prices are configured); run nothing.")
@click.option("--probe", "probe", is_flag=True, help="With --dry-run (implied): send one minimal request (max_tokens 1) per key and model, to prove each key, model name and server; exit 4 if a model would be stopped.")
@click.option("--log-dir", "log_dir", type=click.Path(path_type=Path), default=None, help="Per-run log directory root (default next to the database).")
@click.option("--progress/--no-progress", "progress", default=None, help="Live display (default: when output is a terminal).")
@click.option("--progress-interval", "progress_interval", type=click.FloatRange(min=0.1), default=10.0, show_default=True, help="Seconds between plain progress lines.")
@click.option("--executor", "executor", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="local: one event loop here; ray: one key owner per API key on a Ray cluster (needs a postgresql:// --db).")
@click.option("--ray-address", "ray_address", default=None, help="Ray cluster to use with --executor ray (default: RAY_ADDRESS, else a new local Ray instance).")
@click.option("--transcripts", "transcripts", type=click.Choice(["none", "calls", "full"]), default="full", show_default=True, help="What the store keeps of each conversation: full (prompt and every turn), calls (every turn, not the prompt), none.")
@click.option("--human-io", "human_io", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR", help="A human/<name> player plays through files: each request is written as DIR/req-N.json and its reply read from DIR/resp-N.json (an assistant message). Default: at the terminal.")
@click.option("--human-timeout", "human_timeout", type=click.FloatRange(min=0.001), default=None, metavar="SECONDS", help="Seconds a human/<name> player may take over one turn; a turn not answered in time ends the test as `timeout`. [default: 3600]")
def run(model, group, prompt_types, task_types, difficulty, tool_success_rate, num_instances, seed, severity, max_turns, model_params, temperature, max_tokens, db, config, key_policy, adaptive, max_concurrency, rpm, request_timeout, checkpoint_interval, prompt_parallel, provider_parallel, serial_models, dry_run, probe, log_dir, progress, progress_interval, executor, ray_address, transcripts, human_io=None, human_timeout=None):  # type: ignore[no-untyped-def]
    """Run a benchmark plan (resuming: tests already done in the store are skipped).

    Exit status: 0 every planned test done; 2 bad input; 3 infrastructure errors left, or results saved
    to a rescue file because the store could not take them (run again to retry or import them); 4 a
    model was stopped; 130 interrupted.
    """
    from .api import build_plan
    from .config import generation_params
    from .store import is_postgres_url

    if executor == "ray" and not is_postgres_url(_db(db)):
        raise UsageError("--executor ray needs a PostgreSQL store: --db postgresql://user@host/dbname")
    if ray_address and executor != "ray":
        raise UsageError("--ray-address is only used with --executor ray")
    cfg = _config(config)
    params = generation_params(model_params, temperature=temperature, max_tokens=max_tokens)
    if params and executor == "ray":
        raise UsageError("-M, --temperature and --max-tokens are not passed to --executor ray yet; "
                         "set them as params in the model's config entry")
    models = _joined(model) or ("" if _joined(group) else "sim/medium")
    plan = build_plan(
        models, prompt_types=_joined(prompt_types), task_types=_joined(task_types), difficulties=_joined(difficulty),
        tool_success_rates=_joined(tool_success_rate), num_instances=num_instances, seed=seed, severity=severity,
        max_turns=max_turns, config=cfg, group=_joined(group) or None,
    )
    serial = "model" if serial_models else ("provider" if not provider_parallel else ("prompt" if not prompt_parallel else "none"))
    human = _human_options(cfg, plan, human_io, human_timeout, executor)
    from .provenance import endpoints

    reached = endpoints(cfg, plan.models)
    _warn_other_endpoints(_db(db), reached, plan.models)
    if dry_run or probe:
        if executor == "ray" and probe:
            raise UsageError("--probe runs here, not on Ray: drop --executor ray to probe")
        _check_creatable_dir(log_dir or _log_root(_db(db)))  # as the real run does, creating nothing
        _dry_run(plan, cfg, _db(db), key_policy=key_policy, adaptive=adaptive, max_concurrency=max_concurrency, rpm=rpm,
                 params=params)
        if probe:
            _probe(plan.models, cfg, key_policy=key_policy, max_concurrency=max_concurrency, rpm=rpm,
                   request_timeout=request_timeout, params=params)
        return
    info = {"plans": [plan.to_dict()], "argv": _safe_argv(), "endpoints": reached, **_process_info()}
    if params:
        info["params"] = params
    db_path = _db(db)
    from .runner.scheduler import RunOptions

    options = RunOptions(
        checkpoint_interval=checkpoint_interval,
        serial_by=serial,
        live=progress,
        progress_interval=progress_interval,
        log_dir=log_dir or _log_root(db_path),
        transcripts=transcripts,
    )
    if human is not None:
        players, human = human
        info["human"] = {"players": players, "mode": human.mode, "timeout_s": human.timeout,
                         **({"io_dir": str(human.io_dir)} if human.io_dir is not None else {})}
        if human.io_dir is None:
            # The person types at this terminal: no live display or progress lines over the prompt,
            # and Ctrl-C stops at once (the test being played is not stored: a resume plays it again).
            options.live = False
            options.progress_lines = False
            options.grace_seconds = 0.0
    if executor == "ray":
        from .runner.ray_executor import RayOptions, run_on_ray

        summary = run_on_ray(
            plan, db=db_path, config=cfg, key_policy=key_policy, adaptive=adaptive, max_concurrency=max_concurrency,
            rpm=rpm, request_timeout=request_timeout, options=options, ray_options=RayOptions(address=ray_address),
            info=info,
        )
    else:
        _check_creatable_dir(options.log_dir)  # before the store: a bad path writes nothing
        summary = asyncio.run(_run(plan, cfg, db_path, options, key_policy, adaptive, max_concurrency, rpm, request_timeout, info, params,
                                   human))
    _print_summary(summary, db_path, plan)
    _exit_for(summary)


def _warn_other_endpoints(db_path: str, reached: dict[str, Any], models: Any) -> None:
    """Say, before running, when stored results of a model name came from another provider or
    base URL than this run would reach: those tests are skipped as done."""
    from .provenance import endpoint_warnings
    from .store import is_postgres_url

    if not is_postgres_url(db_path) and (not Path(db_path).exists() or Path(db_path).stat().st_size == 0):
        return  # nothing stored yet (an empty file is made a new store by the run, which says so)
    try:
        store = _open_existing(db_path)
    except PilotbenchError:
        if is_postgres_url(db_path):
            return  # a database not initialised yet (the run creates its tables) or another problem the run names
        raise
    with store:
        lines = endpoint_warnings(store, reached, models)
    for line in lines:
        print(line, file=sys.stderr)


def _exit_for(summary) -> None:  # type: ignore[no-untyped-def]
    """A documented non-zero status unless every planned test ended `done` (runner.outcome)."""
    status = getattr(summary, "exit_status", None)
    if status is None:  # a summary without the property (another executor): interrupted or not
        status = 130 if summary.interrupted else 0
    if status:
        raise SystemExit(status)


def _process_info() -> dict[str, Any]:
    """Who runs this: `status` tells a run whose process is gone from one still running."""
    import socket

    return {"pid": os.getpid(), "host": socket.gethostname()}


def _human_options(cfg, plan, io_dir: Path | None, timeout: float | None, executor: str):  # type: ignore[no-untyped-def]
    """(the human players, how they play) when the plan has a human/<name> model, else None; the
    human flags without a human player, several players at once, or Ray are bad input."""
    from .config import is_human
    from .models.human import DEFAULT_TIMEOUT, HumanOptions

    players = [m for m in plan.models if is_human(cfg, m)]
    if not players:
        for flag, value in (("--human-io", io_dir), ("--human-timeout", timeout)):
            if value is not None:
                raise UsageError(f"{flag} is only used with a human player: -m human/<name>")
        return None
    if len(players) > 1:
        raise UsageError(f"one human player per run, got {', '.join(players)}; run each player on its own")
    if executor == "ray":
        raise UsageError("a human player runs with --executor local (the default), not ray")
    if io_dir is not None:
        _check_creatable_dir(io_dir)
    return players, HumanOptions(io_dir=io_dir, timeout=DEFAULT_TIMEOUT if timeout is None else timeout)


async def _run(plan, cfg, db_path, options, key_policy, adaptive, max_concurrency, rpm, request_timeout, info, params=None, human=None):  # type: ignore[no-untyped-def]
    from .runner.runtime import build_runtime
    from .runner.scheduler import Runner
    from .store import open_store

    runtime = build_runtime(
        cfg, list(plan.models), key_policy=key_policy, adaptive=adaptive, max_concurrency=max_concurrency, rpm=rpm,
        request_timeout=request_timeout, params=params, human=human,
    )
    store = _open_for_run(db_path)
    try:
        runner = Runner(runtime, store, options=options, info=info)
        return await runner.run(plan)
    finally:
        await runtime.aclose()
        store.close()


def _safe_argv() -> list[str]:
    return [a if len(a) < 200 else a[:200] for a in sys.argv[1:]]


FULL = "success_level = 'full_success'"
PARTIAL = "success_level = 'partial_success'"
CONTEXT_LENGTH = "context_length_errors"
DONE_ROW = "status = 'done'"
ERROR_ROW = "status = 'error'"


def _print_summary(summary, db_path: str, plan=None) -> None:  # type: ignore[no-untyped-def]
    """The run's result table (the whole plan's, when tests were done by earlier runs), what went
    wrong by cause, what to do next, and where to look."""
    from rich.table import Table

    from .config import player_label
    from .reports.build import count_if
    from .store import open_store

    from .errors import StoreError

    console = _console()
    earlier = summary.skipped if plan is not None else 0
    unreadable = False
    context: list[Any] = []
    try:
        with open_store(db_path, create=False) as store:
            if earlier:
                rows = _plan_rows(store, plan)
            else:
                rows = store.query(
                    f"SELECT model, COUNT(*), SUM(success), {count_if(FULL)}, {count_if(PARTIAL)}, AVG(turns) "
                    "FROM results WHERE status='done' AND run_id=? GROUP BY model ORDER BY model",
                    (summary.run_id,),
                )
            causes = _error_causes(store, summary.run_id)
            context = store.query(
                "SELECT model, COUNT(*) FROM results WHERE status='done' AND run_id=? AND error_category=? "
                "GROUP BY model ORDER BY model", (summary.run_id, CONTEXT_LENGTH),
            )
    except StoreError as e:  # the store went away (an outage at the end of the run): the counts still stand
        rows, causes, unreadable = [], dict(getattr(summary, "error_causes", None) or {}), True
        console.print(f"the store cannot be read now ({_one_line(str(e))}); per-model results not shown",
                      markup=False, highlight=False, soft_wrap=True)
    if rows or not unreadable:
        title = f"run {summary.run_id}"
        if earlier:
            title += f": whole plan, {earlier} of {summary.planned} tests done by earlier runs"
        table = Table(title=title)
        for col in ("model", "tests", "success", "full", "partial", "avg turns"):
            table.add_column(col, justify="left" if col == "model" else "right")
        for model, n, succ, full, partial, turns in rows:
            table.add_row(player_label(model), str(n), f"{succ / n:.1%}", f"{full / n:.1%}", f"{partial / n:.1%}",
                          f"{turns:.1f}")
        console.print(table)
    not_run = max(summary.pending, 0)
    console.print(
        f"planned {summary.planned}, already done {summary.skipped}, completed {summary.completed}, "
        f"infrastructure errors {summary.errors}" + (f", not run {not_run}" if not_run else "")
        + f", {summary.elapsed:.1f}s; results in {_shown(db_path)}",
        markup=False, highlight=False,
    )
    for model, n in context:
        console.print(f"{model}: {n} test(s) ended when the conversation outgrew the model's context "
                      f"(scored as they stood, error category {CONTEXT_LENGTH})", markup=False, highlight=False, soft_wrap=True)
    if causes:
        console.print("infrastructure errors by cause:", markup=False, highlight=False)
        for cause, n in sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])):
            console.print(f"  {n:6d}  {cause}", markup=False, highlight=False, soft_wrap=True)
    for model, reason in summary.stopped_models.items():
        reason = reason.removeprefix(f"{model}: ")
        console.print(f"stopped {model}: {reason}", markup=False, highlight=False, soft_wrap=True)
    for lane, problem in (getattr(summary, "key_problems", None) or {}).items():
        console.print(f"key {lane} {problem}", markup=False, highlight=False, soft_wrap=True)
    if getattr(summary, "imported", 0):
        console.print(f"imported {summary.imported} results from earlier runs' rescue files before planning",
                      markup=False, highlight=False, soft_wrap=True)
    rescued = getattr(summary, "rescued", 0)
    if rescued:
        files = ", ".join(summary.rescue_files)
        console.print(f"NOT STORED: {rescued} results the store could not take were saved to {files}; "
                      "the next run imports them", markup=False, highlight=False, soft_wrap=True)
    log_dir = getattr(summary, "log_dir", None)
    if log_dir:
        console.print(f"logs in {log_dir}", markup=False, highlight=False, soft_wrap=True)
    if summary.interrupted:
        console.print(f"interrupted: {not_run} of {summary.planned} tests not run; what finished is committed",
                      markup=False, highlight=False)
    advice = _stopped_advice(summary.stopped_models)
    for line in advice:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    # after an unknown model name (404) and nothing else, the same command again fails the same way
    unknown_only = bool(summary.stopped_models) and not summary.interrupted and \
        all(_UNKNOWN_MODEL in r for r in summary.stopped_models.values()) and \
        not any(not c.startswith("model stopped: ") for c in causes)
    if (summary.interrupted or summary.errors or not_run or rescued) and not unknown_only:
        console.print("to resume, run the same command again: finished tests are skipped, errors are retried")
    shown = shlex.quote(_shown(db_path))
    console.print(f"next: pilotbench report --db {shown}   (tables with 95% intervals); "
                  f"pilotbench view --db {shown}   (browse every test)", markup=False, highlight=False, soft_wrap=True)


_UNKNOWN_MODEL = "no such model or deployment"


def _stopped_advice(stopped: dict[str, str]) -> list[str]:
    """What to do about each stopped model, by why it stopped."""
    out = []
    for model, reason in stopped.items():
        if _UNKNOWN_MODEL in reason:
            out.append(f"{model}: the provider does not know this model name; running the same command again "
                       "will not help: check the name (pilotbench models) or the provider's base URL")
        elif "no usable key" in reason:
            out.append(f"{model}: every key was refused; set a valid key, then run the same command again")
        elif "unreachable" in reason:
            out.append(f"{model}: the provider did not answer; start its server or fix its base URL, "
                       "then run the same command again")
    return out


def _plan_rows(store, plan) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    """Per model: done tests of the plan (this run's and earlier runs'), successes, full, partial,
    mean turns."""
    ids: set[str] = set()
    models: set[str] = set()
    for spec in plan.expand() if hasattr(plan, "expand") else plan:
        ids.add(spec.id)
        models.add(spec.model)
    acc: dict[str, list[float]] = {}
    for model in sorted(models):
        for test_id, success, level, turns in store.query(
            "SELECT test_id, success, success_level, turns FROM results WHERE status='done' AND model=?", (model,)
        ):
            if test_id not in ids:
                continue
            a = acc.setdefault(model, [0, 0, 0, 0, 0.0])
            a[0] += 1
            a[1] += success or 0
            a[2] += level == "full_success"
            a[3] += level == "partial_success"
            a[4] += turns or 0
    return [(m, int(a[0]), a[1], a[2], a[3], a[4] / a[0]) for m, a in sorted(acc.items())]


def _probe(models, cfg, **limits: Any) -> None:  # type: ignore[no-untyped-def]
    """One minimal request per key and model (runner.probe); the run's words and exit status."""
    from rich.table import Table

    from .runner.probe import probe, verdict
    from .runner.runtime import build_runtime

    async def go():  # type: ignore[no-untyped-def]
        rt = build_runtime(cfg, list(models), **limits)
        try:
            return await probe(rt)
        finally:
            await rt.aclose()

    results = asyncio.run(go())
    console = _console()
    if not results:
        console.print("probe: no model of the plan calls a server (simulated models need no probe)",
                      markup=False, highlight=False)
        return
    table = Table(title="probe: one request per key and model (max_tokens 1)")
    for col in ("model", "key", "result", "seconds", "tokens"):
        table.add_column(col, justify="right" if col in ("seconds", "tokens") else "left")
    for r in results:
        note = r.message if r.usable and r.message != "answered" else ""  # the reasons follow the table
        table.add_row(r.model, r.key_label, f"{r.outcome}: {note}" if note else r.outcome, f"{r.seconds:.2f}",
                      str(r.tokens))
    console.print(table)
    v = verdict(results)
    for model, reason in v.stopped_models.items():
        console.print(f"stopped {model}: {reason.removeprefix(f'{model}: ')}", markup=False, highlight=False,
                      soft_wrap=True)
    for lane, problem in v.key_problems.items():
        console.print(f"key {lane} {problem}", markup=False, highlight=False, soft_wrap=True)
    for r in results:
        if r.outcome == "no answer":
            console.print(f"{r.model} key {r.key_label}: {r.message}", markup=False, highlight=False, soft_wrap=True)
    for line in _stopped_advice(v.stopped_models):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    spent = sum(r.tokens for r in results)
    if v.exit_status:
        what = (f"{len(v.stopped_models)} model(s) would be stopped" if v.stopped_models
                else f"{v.unanswered} request(s) had no answer (try again)")
        console.print(f"probe failed: {what}; exit status {v.exit_status}, as the run would end "
                      f"({spent} tokens spent)", markup=False, highlight=False)
        raise SystemExit(v.exit_status)
    n = len(results)
    console.print(f"probe: every key and model answered ({n} request{'s' if n != 1 else ''}, {spent} tokens spent)",
                  markup=False, highlight=False)


def _error_causes(store, run_id: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from .runner.outcome import error_cause

    causes: dict[str, int] = {}
    for (message,) in store.query("SELECT infra_error FROM results WHERE status='error' AND run_id=?", (run_id,)):
        cause = error_cause(message)
        causes[cause] = causes.get(cause, 0) + 1
    return causes


def _dry_run(plan, cfg, db_path: str, params: dict[str, Any] | None = None, **limits: Any) -> None:  # type: ignore[no-untyped-def]
    """Everything the real run checks before its first call (variables, keys, models, the store),
    then the plan and an ETA. Any problem is the same one-line error and exit 2 as the real run's."""
    from rich.table import Table

    from .config import check_environment
    from .runner.runtime import build_runtime, check_models
    from .store import is_postgres_url, open_store

    check_environment(cfg, list(plan.models))  # every missing variable at once
    rt = build_runtime(cfg, list(plan.models), connect=False, **limits)
    check_models(cfg, list(plan.models))
    done: set[str] = set()
    measured: dict[str, tuple[int, float, float]] = {}
    if is_postgres_url(db_path) or Path(db_path).exists():
        with open_store(db_path, create=False) as store:
            done = store.done_ids(plan.models)
            measured = _measured_tokens(store, plan.models)
    per_model: dict[str, int] = {}
    cells: dict[str, dict[tuple[str, str, str], int]] = {}  # model -> (task type, difficulty, prompt type) -> pending
    for spec in plan.expand():
        if spec.id not in done:
            per_model[spec.model] = per_model.get(spec.model, 0) + 1
            cell = (spec.task_type, spec.difficulty, spec.prompt_type)
            counts = cells.setdefault(spec.model, {})
            counts[cell] = counts.get(cell, 0) + 1
    console = _console()
    table = Table(title=f"plan: {len(plan)} tests, {len(plan) - sum(per_model.values())} already done")
    for col in ("model", "pending", "lanes", "concurrency", "rpm", "est. calls", "est. tokens in/out", "est. cost", "ETA"):
        table.add_column(col)
    total_eta = 0.0
    total_in = total_out = 0.0
    total_cost: float | None = None
    sources: set[str] = set()
    for model, n in per_model.items():
        m = rt.models[model]
        lanes = m.pool.lanes
        conc = sum(lane.limit for lane in lanes)
        rpm_total = sum(lane.rpm_bucket.rate_per_minute for lane in lanes if lane.rpm_bucket) if all(l.rpm_bucket for l in lanes) else None
        latency = {"simulated": SIM_SECONDS_PER_CALL, "human": HUMAN_SECONDS_PER_CALL}.get(m.kind, REAL_SECONDS_PER_CALL)
        eta = estimate_seconds(n, conc, latency, rpm_total, CALLS_PER_TEST)
        total_eta = max(total_eta, eta)
        if model in measured:
            stored_n, per_in, per_out = measured[model]
            tokens_in, tokens_out = n * per_in, n * per_out
            sources.add("measured")
        else:
            tokens_in, tokens_out = _estimated_tokens(cells[model], m.tool_mode, plan.seed, plan.severity)
            sources.add("estimated")
        total_in += tokens_in
        total_out += tokens_out
        entry = cfg.models[model]
        cost = None
        if entry.price_input is not None or entry.price_output is not None:
            cost = ((entry.price_input or 0.0) * tokens_in + (entry.price_output or 0.0) * tokens_out) / 1e6
            total_cost = (total_cost or 0.0) + cost
        table.add_row(
            model, str(n), ", ".join(lane.key_label for lane in lanes), str(conc), f"{rpm_total:g}" if rpm_total else "-",
            f"{n * CALLS_PER_TEST:.0f}", f"{_tokens(tokens_in)} / {_tokens(tokens_out)}",
            f"${cost:,.2f}" if cost is not None else "-", _fmt(eta),
        )
    console.print(table)
    if params:
        console.print(f"generation parameters: {json.dumps(params, sort_keys=True)}", markup=False, highlight=False)
    how = {"measured": "the mean of this model's stored tests", "estimated":
           f"~{CALLS_PER_TEST:g} calls per test, the prompt and tool schemas counted at ~4 characters a token, "
           f"~{TURN_GROWTH_TOKENS} tokens added per turn, ~{COMPLETION_TOKENS_PER_CALL} completion tokens per call"}
    cost_text = (f", cost about ${total_cost:,.2f} for the priced models (price_input/price_output, USD per million tokens)"
                 if total_cost is not None else " (no prices configured: price_input/price_output in a model's entry)")
    console.print(
        f"ETA about {_fmt(total_eta)} with all models in parallel (assumes ~{CALLS_PER_TEST:g} calls per test, one "
        f"after another, {REAL_SECONDS_PER_CALL:g} s per real call, the lanes' limits); tokens about "
        f"{_tokens(total_in)} in and {_tokens(total_out)} out{cost_text}; tokens from "
        + "; ".join(how[k] for k in sorted(sources)),
        markup=False, highlight=False, soft_wrap=True,
    )


TURN_GROWTH_TOKENS = 150  # an assistant's tool call and the tool's result, added to the next request
COMPLETION_TOKENS_PER_CALL = 100


def _estimated_tokens(cells: dict[tuple[str, str, str], int], tool_mode: str, seed: int, severity: str) -> tuple[float, float]:
    """Prompt and completion tokens for the pending tests of one model: each test is ~CALLS_PER_TEST
    calls, each sending the whole conversation so far (the first request's size, measured on the
    rendered prompt of each cell, plus TURN_GROWTH_TOKENS a turn)."""
    from .benchmark.prompts import render_prompt
    from .benchmark.tasks import generate_instance
    from .models.base import ModelRequest
    from .runner.calls import estimate_prompt_tokens

    calls = int(CALLS_PER_TEST)
    tokens_in = tokens_out = 0.0
    first: dict[tuple[str, str, str], int] = {}
    for cell, n in cells.items():
        task_type, difficulty, prompt_type = cell
        if cell not in first:
            rendered = render_prompt(generate_instance(task_type, 0, seed), difficulty, prompt_type, severity=severity,
                                     tool_mode=tool_mode)
            request = ModelRequest("", list(rendered.messages), list(rendered.tools) if rendered.tools else None, {})
            first[cell] = estimate_prompt_tokens(request)
        per_test = calls * first[cell] + TURN_GROWTH_TOKENS * calls * (calls - 1) / 2
        tokens_in += n * per_test
        tokens_out += n * calls * COMPLETION_TOKENS_PER_CALL
    return tokens_in, tokens_out


def _measured_tokens(store, models) -> dict[str, tuple[int, float, float]]:  # type: ignore[no-untyped-def]
    """Per model with stored done tests that counted tokens: (tests, prompt, completion tokens per test)."""
    out: dict[str, tuple[int, float, float]] = {}
    for model in models:
        [(n, tin, tout)] = store.query(
            "SELECT COUNT(*), AVG(prompt_tokens), AVG(completion_tokens) FROM results "
            "WHERE model = ? AND status = 'done' AND prompt_tokens > 0", (model,))
        if n:
            out[model] = (int(n), float(tin), float(tout or 0.0))
    return out


def _tokens(n: float) -> str:
    """1234 -> 1.2k, 3456789 -> 3.5M."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


CALLS_PER_TEST = 5.0
REAL_SECONDS_PER_CALL = 2.0
SIM_SECONDS_PER_CALL = 0.002
HUMAN_SECONDS_PER_CALL = 60.0  # a person reading a turn and typing the next


def estimate_seconds(tests: int, concurrency: int, latency: float, rpm: float | None, calls_per_test: float) -> float:
    """A model's time for `tests` conversations. The turns of one conversation run one after another,
    so the run takes at least one conversation's length; `concurrency` calls in flight and the rpm
    budget bound the throughput. Whole waves of conversations, as they start together."""
    if tests <= 0:
        return 0.0
    conversation = calls_per_test * latency
    waves = -(-tests // max(1, concurrency))
    seconds = waves * conversation
    if rpm:
        seconds = max(seconds, tests * calls_per_test / (rpm / 60.0))
    return seconds


def _console():  # type: ignore[no-untyped-def]
    """A rich console; wide enough when output is a file or pipe that names are never cut."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def _fmt(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


# ---------------------------------------------------------------------- inspection


@app.command("prompt")
@single_option("--task-type", "-t", "task_type", default="simple_task", show_default=True, help="One task type.")
@single_option("--difficulty", "-d", "difficulty", default="easy", show_default=True, help="One difficulty.")
@click.option("--instance", "-i", "instance", type=click.IntRange(min=0), default=0, show_default=True)
@single_option("--prompt-type", "-p", "prompt_type", default="baseline", show_default=True, help="One prompt type.")
@click.option("--seed", "seed", type=click.IntRange(0, MAX_SEED), default=42, show_default=True)
@click.option("--severity", "severity", type=click.Choice(SEVERITIES), default="severe", show_default=True)
@click.option("--tool-mode", "tool_mode", type=click.Choice(["native", "text"]), default="native", show_default=True)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def prompt(task_type, difficulty, instance, prompt_type, seed, severity, tool_mode, output_format):  # type: ignore[no-untyped-def]
    """Print exactly what a model receives for one test: messages and tool schemas."""
    from .benchmark.prompts import render_prompt
    from .benchmark.tasks import generate_instance
    from .benchmark.types import TASK_TYPES

    if task_type not in TASK_TYPES:
        raise UsageError(f"unknown task type {task_type!r}; choose from {', '.join(TASK_TYPES)}")
    try:
        rendered = render_prompt(generate_instance(task_type, instance, seed), difficulty, prompt_type, severity=severity, tool_mode=tool_mode)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if output_format == "json":
        print(json.dumps({"messages": list(rendered.messages), "tools": rendered.tools}, indent=2))
        return
    if output_format != "text":
        raise UsageError(f"unknown format {output_format!r}; choose text or json")
    for m in rendered.messages:
        print(f"=== {m['role']} ===")
        print(m["content"])
        print()
    if rendered.tools is not None:
        print(f"=== tools ({len(rendered.tools)}) ===")
        print(json.dumps(list(rendered.tools), indent=1))


@app.command("tasks")
@click.option("--seed", "seed", type=click.IntRange(0, MAX_SEED), default=42, show_default=True)
@click.option("--num-instances", "-n", "num_instances", type=click.IntRange(0, MAX_INSTANCES), default=20, show_default=True, help="Instances per task type.")
@click.option("--show", "show", default="simple_task:0", show_default=True, help="TASK_TYPE:INDEX of the instance to show.")
def tasks(seed, num_instances, show):  # type: ignore[no-untyped-def]
    """List the task suite (counts by type and difficulty) and show one instance."""
    from rich.console import Console
    from rich.table import Table

    from .benchmark.tasks import generate_instance
    from .benchmark.versions import TaskSuite
    from .benchmark.types import DIFFICULTIES, TASK_TYPES

    kind, _, index = show.partition(":")
    if kind not in TASK_TYPES or not index.isdigit():
        raise UsageError(f"--show takes TASK_TYPE:INDEX, e.g. simple_task:0; got {show!r}")
    suite = TaskSuite(seed, num_instances)
    console = _console()
    table = Table(title=f"task suite {suite.version} (seed {seed})")
    table.add_column("task type")
    for d in DIFFICULTIES:
        table.add_column(d, justify="right")
    table.add_column("required tools", justify="right")
    table.add_column("distinct chains", justify="right")
    all_chains: set[tuple[str, ...]] = set()
    for t in TASK_TYPES:
        chains = {suite.get(t, i).required_tools for i in range(num_instances)}
        all_chains |= chains
        lengths = sorted({len(c) for c in chains})
        span = f"{lengths[0]}-{lengths[-1]}" if lengths else "-"
        table.add_row(t, *[str(num_instances)] * len(DIFFICULTIES), span, str(len(chains)))
    console.print(table)
    console.print(
        f"total: {num_instances * len(TASK_TYPES) * len(DIFFICULTIES)} (instances x difficulties), "
        f"{len(all_chains)} distinct tool chains"
    )
    console.print_json(json.dumps(generate_instance(kind, int(index), seed).to_dict()))


@app.command("models")
@config_option
def models(config):  # type: ignore[no-untyped-def]
    """The model catalog (provider, deployment, limits, key labels, whether each key resolves), and
    the providers any model can be named by (openai/<model>, vllm/<model>, ...)."""
    from rich.table import Table

    from .config import lane_limits

    cfg = _config(config)
    table = Table(title=f"models ({cfg.source})")
    for col in ("model", "provider", "kind", "deployment", "concurrency/lane", "rpm", "keys"):
        table.add_column(col)
    for name, m in cfg.models.items():
        p = cfg.providers[m.provider]
        limits = lane_limits(cfg, name)
        table.add_row(name, m.provider, p.kind, m.deployment or name, str(limits.max_concurrency),
                      f"{limits.rpm:g}" if limits.rpm else "-", _key_state(cfg, name, m.provider, p))
    console = _console()
    console.print(table)
    groups = ", ".join(f"{g} ({len(ms)})" for g, ms in cfg.groups.items())
    console.print(f"groups: {groups}")
    console.print(_open_names_table())


def _key_state(cfg, model: str, provider: str, p) -> str:  # type: ignore[no-untyped-def]
    from .config import NO_KEY, ConfigError, missing_variables, resolve_keys

    if p.kind == "simulated":
        return "(none needed)"
    try:
        keys = resolve_keys(provider, p)
    except ConfigError:
        return "; ".join(f"{m.var}: NOT SET" for m in missing_variables(cfg, [model]) if m.what == "keys") or "NOT SET"
    return "(no key needed)" if keys == [NO_KEY] else ", ".join(f"{k.label} ok" for k in keys)


def _open_names_table():  # type: ignore[no-untyped-def]
    from rich.table import Table

    from .config import LOCAL_SERVERS, OPENAI_BASE_URL

    def state(*names: str) -> str:
        return ", ".join(f"{n} {'set' if os.environ.get(n, '').strip() else 'not set'}" for n in names)

    table = Table(title="any model by provider name (no config needed)")
    for col in ("name", "kind", "variables", "defaults"):
        table.add_column(col)
    table.add_row("openai/<model>", "openai", state("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID"), OPENAI_BASE_URL)
    table.add_row("azure/<deployment>", "azure", state("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"),
                  "api version 2024-10-21")
    for prefix, (url_var, default, key_var) in LOCAL_SERVERS.items():
        extra = ("OLLAMA_HOST",) if prefix == "ollama" else ()
        table.add_row(f"{prefix}/<model>", "openai (no key)", state(url_var, *extra, key_var), default)
    table.add_row("openai-api/<name>/<model>", "openai", "<NAME>_BASE_URL, <NAME>_API_KEY (comma-separated for several)", "-")
    table.add_row("human/<name>", "human (no key)", "- (a person plays: at the terminal, or --human-io DIR)", "one test at a time")
    return table


@app.command("keys")
@model_option("Model(s), comma-separated or repeated, or a group.", required=True)
@click.option("--key-policy", "key_policy", type=click.Choice(KEY_POLICIES), default=None)
@prompt_type_option("Prompt types, comma-separated or repeated; all; all_with_flawed.", default=("all_with_flawed",), show_default=True)
@config_option
def keys(model, key_policy, prompt_types, config):  # type: ignore[no-untyped-def]
    """Which key each prompt type would use for a model (labels only)."""
    from .benchmark.prompts import expand_prompt_types
    from .config import expand_models
    from .runner.runtime import build_runtime

    cfg = _config(config)
    names = expand_models(cfg, _joined(model))
    try:
        types = expand_prompt_types(_joined(prompt_types))
    except ValueError as e:
        raise UsageError(str(e)) from None
    if key_policy is not None and key_policy not in ("pool", "prompt-affinity", "round-robin"):
        raise UsageError(f"unknown key policy {key_policy!r}; choose pool, prompt-affinity or round-robin")
    rt = build_runtime(cfg, list(names), key_policy=key_policy, connect=False)
    for name in names:
        pool = rt.models[name].pool
        print(f"{name} ({pool.policy}, {len(pool.lanes)} key(s): {', '.join(l.key_label for l in pool.lanes)})")
        for pt in types:
            lanes = pool.lanes_for(pt)
            if len(lanes) == 1:
                print(f"  {pt:32s} -> {lanes[0].key_label}")
            else:
                how = "any key with headroom" if pool.policy == "pool" else "round-robin"
                print(f"  {pt:32s} -> {', '.join(lane.key_label for lane in lanes)} ({how})")


# ---------------------------------------------------------------------- results


@app.command("report")
@db_option
@click.option("--format", "-f", "output_format", type=click.Choice(["json", "md", "csv", "html"]), default="md", show_default=True)
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), default=None, help="Write to a file instead of stdout.")
@model_option("Only these models (comma-separated or repeated).")
@group_option("Only the models of these groups from the config.")
@prompt_type_option("Only these prompt types.")
@task_type_option("Only these task types.")
@difficulty_option("Only these difficulties.")
@rate_option("Only these tool success rates (e.g. 0.8,0.6).")
@list_option("--seed", "--seeds", "seed", help="Only these seeds.")
@list_option("--severity", "--severities", "severity", help="Only these flaw severities.")
@list_option("--max-turns", "max_turns", help="Only these max-turns settings.")
@list_option("--suite-version", "--suite-versions", "suite_version", help="Only these suite versions.")
@list_option("--run-id", "--run-ids", "run_id", help="Only these runs.")
@click.option("--pool", is_flag=True, default=False, help="Pool rows whose conditions differ (seed, severity, max turns, rate, suite) instead of splitting them.")
@list_option("--by", "by", help="Extra breakdowns: workflow (success per tool chain in 5.1).")
@click.option("--cluster", "cluster", type=click.Choice(["instance", "workflow"]), default="instance", show_default=True,
              help="What the intervals treat as one cluster of correlated tests.")
@list_option("--compare", "compare", metavar="A:B", help="A:B paired comparison of models (or prompt:X:prompt:Y); comma-separated or repeated.")
@config_option
def report(db, output_format, out, model, group, prompt_types, task_types, difficulty, tool_success_rate, seed, severity,  # type: ignore[no-untyped-def]
           max_turns, suite_version, run_id, pool, by, cluster, compare, config):
    """The study's tables from the store, with N and clustered 95% intervals."""
    from .reports import build_report, to_csv, to_html, to_markdown

    if output_format not in ("json", "md", "csv", "html"):
        raise UsageError(f"unknown report format {output_format!r}; choose json, md, csv or html")
    cfg = _config(config)
    prices = {
        name: (m.price_input or 0.0, m.price_output or 0.0)
        for name, m in cfg.models.items() if m.price_input is not None or m.price_output is not None
    }
    pairs = [_pair(c) for c in compare]
    with _open_existing(db) as store:
        rep = build_report(
            store, models=_filter_models(store, cfg, model, group), prompt_types=list(prompt_types) or None,
            task_types=list(task_types) or None, difficulties=list(difficulty) or None,
            tool_success_rates=_numbers("--tool-success-rate", tool_success_rate, float),
            seeds=_numbers("--seed", seed, int), severities=list(severity) or None,
            max_turns=_numbers("--max-turns", max_turns, int), suite_versions=list(suite_version) or None,
            run_ids=list(run_id) or None, prices=prices or None, compare=pairs or None, pool=pool,
            by=list(by), cluster=cluster,
        )
    if output_format == "json":
        text = json.dumps(rep, indent=2, default=str)
    elif output_format == "md":
        text = to_markdown(rep)
    elif output_format == "csv":
        text = to_csv(rep)
    else:
        text = to_html(rep)
    _emit(text, out)


def _filter_models(store, cfg, model: tuple[str, ...], group: tuple[str, ...]) -> list[str] | None:  # type: ignore[no-untyped-def]
    """`-m` values and the models of `--group`s that have results (a group need not have been run
    whole); None when neither is given."""
    for g in group:
        if g not in cfg.groups:
            raise UsageError(f"unknown group {g!r}; known groups: {', '.join(sorted(cfg.groups))}")
    models = list(model)
    if group:
        stored = {m for (m,) in store.query("SELECT DISTINCT model FROM results")}
        members = [m for g in group for m in cfg.groups[g] if m in stored]
        if not members:
            raise UsageError(f"no results for any model of group {', '.join(group)} in the store")
        models.extend(members)
    return list(dict.fromkeys(models)) or None


def _numbers(flag: str, values: tuple[str, ...], cast: Any) -> list[Any] | None:
    if not values:
        return None
    out = []
    for v in values:
        try:
            out.append(cast(v))
        except ValueError:
            raise UsageError(f"{flag} takes {'integers' if cast is int else 'numbers'}; got {v!r}") from None
    return out


def _pair(text: str) -> tuple[str, str]:
    if text.count(":") == 3 and text.startswith("prompt:"):
        a, b = text.split(":", 1)[1].split(":prompt:")
        return (f"prompt:{a}", f"prompt:{b}")
    a, sep, b = text.partition(":")
    if not sep or not a or not b:
        raise UsageError(f"--compare takes A:B, e.g. sim/weak:sim/strong; got {text!r}")
    return (a, b)


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    print(f"wrote {out}", file=sys.stderr)


@app.command("export")
@db_option
@click.option("--format", "-f", "output_format", type=click.Choice(["jsonl", "csv", "parquet", "legacy-json"]), default="jsonl", show_default=True)
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), default=Path("pilotbench-export.jsonl"), show_default=True, help="Output file.")
@model_option("Only these models (comma-separated or repeated).")
@group_option("Only the models of these groups from the config.")
@prompt_type_option("Only these prompt types.")
@task_type_option("Only these task types.")
@difficulty_option("Only these difficulties.")
@rate_option("Only these tool success rates.")
@list_option("--status", "--statuses", "statuses", help="Only rows with these statuses: done, error.")
@config_option
def export(db, output_format, out, model, group, prompt_types, task_types, difficulty, tool_success_rate, statuses,  # type: ignore[no-untyped-def]
           config):
    """Export stored results: one object per test attempt, or the legacy summary tree."""
    from .reports import EXPORT_FORMATS
    from .reports import export as do_export
    from .reports.build import check_filters

    if output_format not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {output_format!r}; choose {', '.join(EXPORT_FORMATS)}")
    filters = {"prompt_types": list(prompt_types) or None, "task_types": list(task_types) or None,
               "difficulties": list(difficulty) or None,
               "tool_success_rates": _numbers("--tool-success-rate", tool_success_rate, float),
               "statuses": list(statuses) or None}
    with _open_existing(db) as store:
        filters["models"] = _filter_models(store, _config(config) if group else None, model, group)
        check_filters(store, **filters)  # a value that matches nothing is a typo, not an empty file
        n = do_export(store, output_format, out, **filters)
    print(f"wrote {n} rows to {out}", file=sys.stderr)


@app.command("status")
@db_option
@click.option("--watch", "watch", is_flag=True, help="Refresh every few seconds until Ctrl-C.")
@click.option("--interval", "interval", type=click.FloatRange(min=0.2), default=5.0, show_default=True)
def status(db, watch, interval):  # type: ignore[no-untyped-def]
    """The plan's progress against the store: per run and per model and prompt type."""
    from rich.console import Console

    console = _console()
    try:
        while True:
            with _open_existing(db) as store:
                console.print(_status_table(store))
            if not watch:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        return


def _run_state(status: str, info: dict[str, Any], done: int = 0, errors: int = 0) -> str:
    """A run marked `running` whose process is gone (killed with -9, a crash, a lost machine) is
    shown as dead, so nobody waits for it; one recorded `finished` with errors and no test done
    (recorded before runs said `failed`, or by another executor) as failed."""
    if status == "finished" and errors and not done:
        return "failed"
    if status != "running":
        return status
    pid, host = info.get("pid"), info.get("host")
    if not isinstance(pid, int) or not isinstance(host, str):
        return "running?"  # recorded before runs said who runs them
    import socket

    if host != socket.gethostname():
        return f"running on {host} (pid {pid})"
    if _pid_alive(pid):
        return f"running (pid {pid})"
    return f"dead (process {pid} gone; run the same command to resume)"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _status_table(store):  # type: ignore[no-untyped-def]
    from rich.console import Group
    from rich.table import Table

    from .plan import PlanSpec
    from .store.records import run_info

    runs = store.runs()
    run_table = Table(title="runs")
    for col in ("run", "status", "planned", "done", "errors", "pending"):
        run_table.add_column(col)
    done_ids: set[str] | None = None
    learnt_rows: list[tuple[str, str, dict[str, Any]]] = []
    for r in runs[-10:]:
        info = run_info(r["info"])
        pending = "-"
        if info.get("plans"):
            try:
                plans = [PlanSpec.from_dict(d) for d in info["plans"]]
                if done_ids is None:
                    done_ids = store.done_ids()
                pending = str(len({s.id for p in plans for s in p.expand()} - done_ids))
            except (KeyError, ValueError, TypeError):
                pending = "?"
        n_done = store.count("run_id=? AND status='done'", (r["run_id"],))
        n_err = store.count("run_id=? AND status='error'", (r["run_id"],))
        run_table.add_row(r["run_id"], _run_state(r["status"], info, n_done, n_err), str(r["planned"]), str(n_done),
                          str(n_err), pending)
        lanes_info = info.get("lanes")
        if isinstance(lanes_info, dict):
            for name, lane in sorted(lanes_info.items()):
                if isinstance(lane, dict):
                    learnt_rows.append((r["run_id"], name, lane))
    cells = Table(title="tests in the store")
    for col in ("model", "prompt type", "done", "infra errors", "success"):
        cells.add_column(col)
    from .reports.build import count_if

    for model, pt, done, errs, succ in sorted(store.query(
        f"SELECT model, prompt_type, {count_if(DONE_ROW)}, {count_if(ERROR_ROW)}, SUM(success) FROM results "
        "GROUP BY model, prompt_type"
    )):
        cells.add_row(model, pt, str(done), str(errs), f"{(succ or 0) / done:.1%}" if done else "-")
    if not learnt_rows:
        return Group(run_table, cells)
    learnt = Table(title="limits learnt from the providers (stated in x-ratelimit-* headers, or found by adapting)")
    for col in ("run", "lane", "key", "concurrency", "rpm", "tpm"):
        learnt.add_column(col)
    for run_id, name, lane in learnt_rows:
        declared = lane.get("declared_concurrency")
        learnt.add_row(run_id, name, str(lane.get("key", "")), f"{lane.get('concurrency', '?')} of {declared} declared",
                       _budget_cell(lane, "rpm"), _budget_cell(lane, "tpm"))
    return Group(run_table, cells, learnt)


def _budget_cell(lane: dict[str, Any], unit: str) -> str:
    """``450 (12 left)`` for a lane's learnt rpm or tpm, as the run recorded it."""
    limit, left = lane.get(unit), lane.get(f"{unit}_left")
    if limit is None:
        return "-" if left is None else f"? ({left} left)"
    return f"{limit} ({'?' if left is None else left} left)"


@app.command("view")
@db_option
@click.option("--host", "host", default="127.0.0.1", show_default=True, help="Address to bind (only this machine by default).")
@click.option("--port", "port", type=click.IntRange(min=0, max=65535), default=7575, show_default=True)
@click.option("--export", "export_dir", type=click.Path(path_type=Path), default=None, help="Write the pages as static files into this directory instead of serving them.")
@click.option("--max-pages", "max_pages", type=click.IntRange(min=10), default=5000, show_default=True, help="With --export: at most this many pages.")
def view(db, host, port, export_dir, max_pages):  # type: ignore[no-untyped-def]
    """Browse the results in a web browser: runs (live), report sections, tests, every turn of a test."""
    if export_dir is not None:
        _check_creatable_dir(export_dir)
        from .view import export_site

        with _open_existing(db) as store:
            n = export_site(store, export_dir, max_pages=max_pages)
        print(f"wrote {n} pages to {export_dir}", file=sys.stderr)
        return
    from .view import serve

    with _open_existing(db) as store:
        serve(store, host, port, print_fn=lambda line: print(line, file=sys.stderr, flush=True))


# ---------------------------------------------------------------------- suites and mock


@suite_app.command("run")
@click.argument("file", type=click.Path(path_type=Path))
@db_option
@config_option
@click.option("--key-policy", "key_policy", type=click.Choice(KEY_POLICIES), default=None)
@click.option("--adaptive", "adaptive", is_flag=True)
@click.option("--checkpoint-interval", "checkpoint_interval", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--progress/--no-progress", "progress", default=None)
@click.option("--dry-run", "dry_run", is_flag=True, help="Check variables and keys; print each experiment's tests; run nothing.")
@click.option("--probe", "probe", is_flag=True, help="With --dry-run (implied): one minimal request per key and model, as for `run`.")
@click.option("--transcripts", "transcripts", type=click.Choice(["none", "calls", "full"]), default="full", show_default=True, help="What the store keeps of each conversation (as for `run`).")
def suite_run(file, db, config, key_policy, adaptive, checkpoint_interval, progress, dry_run, probe, transcripts):  # type: ignore[no-untyped-def]
    """Run every experiment of a suite as one plan (resumable like `run`)."""
    from .runner.runtime import build_runtime
    from .runner.scheduler import RunOptions, Runner
    from .store import open_store
    from .suite import load_suite

    cfg = _config(config)
    suite = load_suite(file, cfg)
    from .config import is_human

    humans = [m for m in suite.models if is_human(cfg, m)]
    if humans:
        raise UsageError(f"a suite does not take human players ({', '.join(humans)}); play them with pilotbench run -m human/<name>")
    specs = list(suite.expand())
    if dry_run or probe:
        from .config import check_environment

        check_environment(cfg, list(suite.models))  # as the real run does: every missing variable at once
        for name, plan in suite.experiments:
            print(f"{name}: {len(plan)} tests ({', '.join(plan.models)})")
        print(f"total distinct tests: {len(specs)}", flush=True)
        if probe:
            _probe(suite.models, cfg, key_policy=key_policy)
        return
    db_path = _db(db)
    options = RunOptions(checkpoint_interval=checkpoint_interval, live=progress, log_dir=_log_root(db_path),
                         transcripts=transcripts)

    async def go():  # type: ignore[no-untyped-def]
        runtime = build_runtime(cfg, list(suite.models), key_policy=key_policy, adaptive=adaptive)
        store = _open_for_run(db_path)
        try:
            return await Runner(runtime, store, options=options, info={"suite": suite.name, "plans": [p.to_dict() for _, p in suite.experiments], "argv": _safe_argv(), **_process_info()}).run(specs)
        finally:
            await runtime.aclose()
            store.close()

    summary = asyncio.run(go())
    _print_summary(summary, db_path, specs)
    _exit_for(summary)


@app.command("mock-server")
@click.option("--port", "port", type=click.IntRange(min=0, max=65535), default=8000, show_default=True)
@click.option("--host", "host", default="127.0.0.1", show_default=True)
@list_option("--key", "--keys", "key", help="Accepted API key(s), comma-separated or repeated. Default: any key.")
@click.option("--max-concurrency", "max_concurrency", type=click.IntRange(min=1), default=None, help="Per key.")
@click.option("--rpm", "rpm", type=click.IntRange(min=1), default=None, help="Per key.")
@click.option("--latency", "latency", type=click.FloatRange(min=0.0), default=0.2, show_default=True, help="Seconds per request.")
@click.option("--fault-rate", "fault_rate", type=click.FloatRange(min=0.0, max=1.0), default=0.0, show_default=True, help="Share of requests with an injected fault.")
@click.option("--seed", "seed", type=int, default=0, show_default=True)
@click.option("--replay", "replay", type=click.Path(dir_okay=False), default=None,
              help="Answer with recorded real replies from this file (pilotbench.replay) instead of the simulated models.")
@click.option("--tpm", "tpm", type=click.IntRange(min=1), default=None, help="Tokens per minute, per key (a token bucket).")
@click.option("--budget-seconds", "budget_seconds", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Count --rpm as a token bucket holding this many seconds of budget (default: a sliding minute); also --tpm's.")
@click.option("--concurrency-retry-after", "concurrency_retry_after", type=click.FloatRange(min=0.0), default=1.0,
              show_default=True, help="Retry-After of a concurrency 429, in seconds.")
@click.option("--no-ratelimit-headers", "no_ratelimit_headers", is_flag=True, help="Do not send x-ratelimit-* headers.")
@click.option("--limits-per-model", "limits_per_model", is_flag=True, help="Count limits per key and model, not per key.")
@click.option("--error-503-rate", "error_503_rate", type=click.FloatRange(min=0.0, max=1.0), default=0.0, show_default=True,
              help="Share of requests answered 503 with Retry-After 1 s.")
@click.option("--context-tokens", "context_tokens", type=click.IntRange(min=1), default=None,
              help="The model's context in tokens (a request's bytes / 4): a longer conversation is answered 400, "
                   "as a server whose context it outgrew.")
@click.option("--context-wording", "context_wording", type=click.Choice(["openai", "vllm", "llamacpp"]), default="openai",
              show_default=True, help="Whose words the context-length 400 uses (openai also stands for Azure).")
@click.option("--usage-divisor", "usage_divisor", type=click.FloatRange(min=1.0), default=1.0, show_default=True,
              help="Report usage.prompt_tokens this many times lower than what each request is charged "
                   "(a provider whose usage disagrees with its rate-limit headers).")
def mock_server(port, host, key, max_concurrency, rpm, latency, fault_rate, seed, replay, tpm,  # type: ignore[no-untyped-def]
                budget_seconds, concurrency_retry_after, no_ratelimit_headers, limits_per_model, error_503_rate,
                context_tokens, context_wording, usage_divisor):
    """An OpenAI-compatible mock provider with limits, latency, faults and the simulated models."""
    from .mock_server import config_from_options, serve

    responder, models = None, None
    if replay is not None:
        from .replay import ReplayResponder

        responder = ReplayResponder.from_file(replay)
        models = responder.model_names()
    cfg = config_from_options(key or [], max_concurrency, rpm, latency, fault_rate, seed, models=models, tpm=tpm,
                              budget_seconds=budget_seconds, concurrency_retry_after=concurrency_retry_after,
                              ratelimit_headers=not no_ratelimit_headers, limits_per_model=limits_per_model,
                              error_503_rate=error_503_rate, context_tokens=context_tokens,
                              context_wording=context_wording, usage_divisor=usage_divisor)
    def listening(_server) -> None:  # type: ignore[no-untyped-def]  # said only once the port is bound
        print(f"mock server on http://{host}:{port}/v1 (Azure paths under /openai/deployments/...); Ctrl-C stops it",
              file=sys.stderr, flush=True)

    serve(cfg, host, port, responder=responder, on_ready=listening)


@app.command("version")
def version():  # type: ignore[no-untyped-def]
    """Print the version."""
    print(__version__)


def main(argv: list[str] | None = None) -> int:
    """Entry point: every expected failure becomes one line on stderr and exit status 2."""
    try:
        app.main(args=argv if argv is not None else sys.argv[1:], prog_name="pilotbench", standalone_mode=False)
    except click.exceptions.Exit as e:
        return e.exit_code
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except click.UsageError as e:
        print(f"error: {usage_message(e)}", file=sys.stderr)
        return 2
    except click.ClickException as e:
        print(f"error: {e.format_message()}", file=sys.stderr)
        return 2
    except PilotbenchError as e:
        print(f"error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except sqlite3.DatabaseError as e:  # a damaged store found on a read after it opened
        from .store.sqlite import corruption_message

        message = corruption_message(_DB_IN_USE[0] if _DB_IN_USE else "the results database", e)
        if message is None:
            raise
        print(f"error: {_one_line(message)}", file=sys.stderr)
        return 2
    except OSError as e:  # a path from the command line (--db, --out, --log-dir) that cannot be created or written
        print(f"error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    raise SystemExit(main())
