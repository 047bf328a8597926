"""The command line: thin commands over the Python API. Bad input exits 2 with one line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from . import __version__
from .benchmark.types import SEVERITIES
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


def _db(db: str | None) -> str:
    from .store.sqlite import DEFAULT_DB

    return db or str(DEFAULT_DB)


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
    """Logs go next to a SQLite database, or under ./pilotbench-results for a PostgreSQL store."""
    from .store import is_postgres_url

    return Path("pilotbench-results") / "logs" if is_postgres_url(db_path) else Path(db_path).parent / "logs"


def _shown(db_path: str) -> str:
    from .store import is_postgres_url

    if is_postgres_url(db_path):
        from .store.postgres import mask_url

        return mask_url(db_path)
    return db_path


# ---------------------------------------------------------------------- run


@app.command("run")
@click.option("--model", "-m", "model", default="sim/medium", show_default=True, help="Model(s), comma-separated, or a group name.")
@click.option("--group", "group", default=None, help="A named group of models from the config (e.g. idealab).")
@click.option("--prompt-types", "-p", "prompt_types", default="baseline", show_default=True, help="baseline,cot,optimal,flawed_<type>; all; all_with_flawed.")
@click.option("--task-types", "-t", "task_types", default="all", show_default=True, help="Task types, comma-separated, or all.")
@click.option("--difficulty", "-d", "difficulty", default="easy", show_default=True, help="very_easy..very_hard, comma-separated, or all.")
@click.option("--tool-success-rate", "-r", "tool_success_rate", default="0.8", show_default=True, help="e.g. 0.8 or 0.9,0.7 or all.")
@click.option("--num-instances", "-n", "num_instances", type=click.IntRange(0, MAX_INSTANCES), default=2, show_default=True, help="Instances per cell.")
@click.option("--seed", "seed", type=click.IntRange(0, MAX_SEED), default=42, show_default=True, help="Task suite seed.")
@click.option("--severity", "severity", type=click.Choice(SEVERITIES), default="severe", show_default=True, help="Flaw severity.")
@click.option("--max-turns", "max_turns", type=click.IntRange(1, MAX_TURNS), default=10, show_default=True)
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
@click.option("--dry-run", "dry_run", is_flag=True, help="Print the plan and an ETA; run nothing.")
@click.option("--log-dir", "log_dir", type=click.Path(path_type=Path), default=None, help="Per-run log directory root (default next to the database).")
@click.option("--progress/--no-progress", "progress", default=None, help="Live display (default: when output is a terminal).")
@click.option("--progress-interval", "progress_interval", type=click.FloatRange(min=0.1), default=10.0, show_default=True, help="Seconds between plain progress lines.")
@click.option("--executor", "executor", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="local: one event loop here; ray: one key owner per API key on a Ray cluster (needs a postgresql:// --db).")
@click.option("--ray-address", "ray_address", default=None, help="Ray cluster to use with --executor ray (default: RAY_ADDRESS, else a new local Ray instance).")
def run(model, group, prompt_types, task_types, difficulty, tool_success_rate, num_instances, seed, severity, max_turns, db, config, key_policy, adaptive, max_concurrency, rpm, request_timeout, checkpoint_interval, prompt_parallel, provider_parallel, serial_models, dry_run, log_dir, progress, progress_interval, executor, ray_address):  # type: ignore[no-untyped-def]
    """Run a benchmark plan (resuming: tests already done in the store are skipped)."""
    from .api import build_plan

    from .store import is_postgres_url

    if executor == "ray" and not is_postgres_url(_db(db)):
        raise UsageError("--executor ray needs a PostgreSQL store: --db postgresql://user@host/dbname")
    if ray_address and executor != "ray":
        raise UsageError("--ray-address is only used with --executor ray")
    cfg = _config(config)
    plan = build_plan(
        model, prompt_types=prompt_types, task_types=task_types, difficulties=difficulty,
        tool_success_rates=tool_success_rate, num_instances=num_instances, seed=seed, severity=severity,
        max_turns=max_turns, config=cfg, group=group,
    )
    serial = "model" if serial_models else ("provider" if not provider_parallel else ("prompt" if not prompt_parallel else "none"))
    if dry_run:
        _dry_run(plan, cfg, _db(db), key_policy=key_policy, adaptive=adaptive, max_concurrency=max_concurrency, rpm=rpm)
        return
    info = {"plans": [plan.to_dict()], "argv": _safe_argv()}
    db_path = _db(db)
    from .runner.scheduler import RunOptions

    options = RunOptions(
        checkpoint_interval=checkpoint_interval,
        serial_by=serial,
        live=progress,
        progress_interval=progress_interval,
        log_dir=log_dir or _log_root(db_path),
    )
    if executor == "ray":
        from .runner.ray_executor import RayOptions, run_on_ray

        summary = run_on_ray(
            plan, db=db_path, config=cfg, key_policy=key_policy, adaptive=adaptive, max_concurrency=max_concurrency,
            rpm=rpm, request_timeout=request_timeout, options=options, ray_options=RayOptions(address=ray_address),
            info=info,
        )
    else:
        _check_creatable_dir(options.log_dir)  # before the store: a bad path writes nothing
        summary = asyncio.run(_run(plan, cfg, db_path, options, key_policy, adaptive, max_concurrency, rpm, request_timeout, info))
    _print_summary(summary, db_path)
    if summary.interrupted:
        raise SystemExit(130)


async def _run(plan, cfg, db_path, options, key_policy, adaptive, max_concurrency, rpm, request_timeout, info):  # type: ignore[no-untyped-def]
    from .runner.runtime import build_runtime
    from .runner.scheduler import Runner
    from .store import open_store

    runtime = build_runtime(
        cfg, list(plan.models), key_policy=key_policy, adaptive=adaptive, max_concurrency=max_concurrency, rpm=rpm,
        request_timeout=request_timeout,
    )
    store = open_store(db_path)
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
DONE_ROW = "status = 'done'"
ERROR_ROW = "status = 'error'"


def _print_summary(summary, db_path: str) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    from .reports.build import count_if
    from .store import open_store

    console = _console()
    with open_store(db_path, create=False) as store:
        rows = store.query(
            f"SELECT model, COUNT(*), SUM(success), {count_if(FULL)}, {count_if(PARTIAL)}, AVG(turns) "
            "FROM results WHERE status='done' AND run_id=? GROUP BY model ORDER BY model",
            (summary.run_id,),
        )
    table = Table(title=f"run {summary.run_id}")
    for col in ("model", "tests", "success", "full", "partial", "avg turns"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for model, n, succ, full, partial, turns in rows:
        table.add_row(model, str(n), f"{succ / n:.1%}", f"{full / n:.1%}", f"{partial / n:.1%}", f"{turns:.1f}")
    console.print(table)
    console.print(
        f"planned {summary.planned}, already done {summary.skipped}, completed {summary.completed}, "
        f"infrastructure errors {summary.errors}, {summary.elapsed:.1f}s; results in {_shown(db_path)}"
    )
    for model, reason in summary.stopped_models.items():
        console.print(f"[bold red]stopped[/] {model}: {reason}")
    if summary.interrupted or summary.errors:
        console.print("to resume, run the same command again: finished tests are skipped, errors are retried")


def _dry_run(plan, cfg, db_path: str, **limits: Any) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    from .runner.runtime import build_runtime
    from .store import is_postgres_url, open_store

    rt = build_runtime(cfg, list(plan.models), connect=False, **limits)
    done: set[str] = set()
    if is_postgres_url(db_path) or Path(db_path).exists():
        with open_store(db_path, create=False) as store:
            done = store.done_ids(plan.models)
    per_model: dict[str, int] = {}
    for spec in plan.expand():
        if spec.id not in done:
            per_model[spec.model] = per_model.get(spec.model, 0) + 1
    console = _console()
    table = Table(title=f"plan: {len(plan)} tests, {len(plan) - sum(per_model.values())} already done")
    for col in ("model", "pending", "lanes", "concurrency", "rpm", "est. calls", "ETA"):
        table.add_column(col)
    turns_per_test = 5.0
    seconds_per_call = 0.002
    total_eta = 0.0
    for model, n in per_model.items():
        m = rt.models[model]
        lanes = m.pool.lanes
        conc = sum(lane.limit for lane in lanes)
        rpm_total = sum(lane.rpm_bucket.rate_per_minute for lane in lanes if lane.rpm_bucket) if all(l.rpm_bucket for l in lanes) else None
        latency = seconds_per_call if m.kind == "simulated" else 2.0
        calls = n * turns_per_test
        rate = conc / latency
        if rpm_total:
            rate = min(rate, rpm_total / 60)
        eta = calls / rate
        total_eta = max(total_eta, eta)
        table.add_row(
            model, str(n), ", ".join(lane.key_label for lane in lanes), str(conc), f"{rpm_total:g}" if rpm_total else "-",
            f"{calls:.0f}", _fmt(eta),
        )
    console.print(table)
    console.print(
        f"ETA about {_fmt(total_eta)} with all models in parallel (assumes ~{turns_per_test:g} calls per test, "
        "2 s per real call, the lanes' limits)"
    )


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
@click.option("--task-type", "-t", "task_type", default="simple_task", show_default=True)
@click.option("--difficulty", "-d", "difficulty", default="easy", show_default=True)
@click.option("--instance", "-i", "instance", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--prompt-type", "-p", "prompt_type", default="baseline", show_default=True)
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

    from .benchmark.tasks import TaskSuite, generate_instance
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
    for t in TASK_TYPES:
        lengths = sorted({len(suite.get(t, i).required_tools) for i in range(num_instances)})
        span = f"{lengths[0]}-{lengths[-1]}" if lengths else "-"
        table.add_row(t, *[str(num_instances)] * len(DIFFICULTIES), span)
    console.print(table)
    console.print(f"total: {num_instances * len(TASK_TYPES) * len(DIFFICULTIES)} (instances x difficulties)")
    console.print_json(json.dumps(generate_instance(kind, int(index), seed).to_dict()))


@app.command("models")
@config_option
def models(config):  # type: ignore[no-untyped-def]
    """The model catalog: provider, deployment, limits, key labels, whether each key resolves."""
    from rich.console import Console
    from rich.table import Table

    from .config import ConfigError, lane_limits, override_var, resolve_keys

    cfg = _config(config)
    table = Table(title=f"models ({cfg.source})")
    for col in ("model", "provider", "kind", "deployment", "concurrency/lane", "rpm", "keys"):
        table.add_column(col)
    for name, m in cfg.models.items():
        p = cfg.providers[m.provider]
        limits = lane_limits(cfg, name)
        if p.kind == "simulated":
            keys = "(none needed)"
        else:
            try:
                keys = ", ".join(f"{k.label} ok" for k in resolve_keys(m.provider, p))
            except ConfigError:
                present = []
                for ref in p.api_keys:
                    var = ref[4:] if ref.startswith("env:") else None
                    present.append(f"{var}: {'set' if var and os.environ.get(var) else 'NOT SET'}" if var else "literal")
                keys = "; ".join(present) or f"set {override_var(m.provider)}"
        table.add_row(name, m.provider, p.kind, m.deployment or name, str(limits.max_concurrency),
                      f"{limits.rpm:g}" if limits.rpm else "-", keys)
    _console().print(table)
    groups = ", ".join(f"{g} ({len(ms)})" for g, ms in cfg.groups.items())
    _console().print(f"groups: {groups}")


@app.command("keys")
@click.option("--model", "-m", "model", required=True)
@click.option("--key-policy", "key_policy", type=click.Choice(KEY_POLICIES), default=None)
@click.option("--prompt-types", "-p", "prompt_types", default="all_with_flawed", show_default=True)
@config_option
def keys(model, key_policy, prompt_types, config):  # type: ignore[no-untyped-def]
    """Which key each prompt type would use for a model (labels only)."""
    from .benchmark.prompts import expand_prompt_types
    from .config import expand_models
    from .runner.runtime import build_runtime

    cfg = _config(config)
    names = expand_models(cfg, model)
    try:
        types = expand_prompt_types(prompt_types)
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
@click.option("--model", "model", default=None, help="Only these models (comma-separated).")
@click.option("--prompt-type", "prompt_type", default=None, help="Only these prompt types.")
@click.option("--difficulty", "difficulty", default=None, help="Only these difficulties.")
@click.option("--compare", "compare", multiple=True, help="A:B paired comparison of models (or prompt:X:prompt:Y).")
@config_option
def report(db, output_format, out, model, prompt_type, difficulty, compare, config):  # type: ignore[no-untyped-def]
    """The study's tables from the store, with N and 95% intervals."""
    from .reports import build_report, to_csv, to_html, to_markdown

    if output_format not in ("json", "md", "csv", "html"):
        raise UsageError(f"unknown report format {output_format!r}; choose json, md, csv or html")
    cfg = _config(config)
    prices = {
        name: (m.price_input or 0.0, m.price_output or 0.0)
        for name, m in cfg.models.items() if m.price_input is not None or m.price_output is not None
    }
    pairs = [_pair(c) for c in compare or []]
    with _open_existing(db) as store:
        rep = build_report(
            store, models=_list(model), prompt_types=_list(prompt_type), difficulties=_list(difficulty),
            prices=prices or None, compare=pairs or None,
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


def _pair(text: str) -> tuple[str, str]:
    if text.count(":") == 3 and text.startswith("prompt:"):
        a, b = text.split(":", 1)[1].split(":prompt:")
        return (f"prompt:{a}", f"prompt:{b}")
    a, sep, b = text.partition(":")
    if not sep or not a or not b:
        raise UsageError(f"--compare takes A:B, e.g. sim/weak:sim/strong; got {text!r}")
    return (a, b)


def _list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


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
def export(db, output_format, out):  # type: ignore[no-untyped-def]
    """Export stored results: one object per test attempt, or the legacy summary tree."""
    from .reports import EXPORT_FORMATS
    from .reports import export as do_export

    if output_format not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {output_format!r}; choose {', '.join(EXPORT_FORMATS)}")
    with _open_existing(db) as store:
        n = do_export(store, output_format, out)
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


def _status_table(store):  # type: ignore[no-untyped-def]
    from rich.console import Group
    from rich.table import Table

    from .plan import PlanSpec

    runs = store.runs()
    run_table = Table(title="runs")
    for col in ("run", "status", "planned", "done", "errors", "pending"):
        run_table.add_column(col)
    done_ids: set[str] | None = None
    for r in runs[-10:]:
        info = json.loads(r["info"] or "{}")
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
        run_table.add_row(r["run_id"], r["status"], str(r["planned"]), str(n_done), str(n_err), pending)
    cells = Table(title="tests in the store")
    for col in ("model", "prompt type", "done", "infra errors", "success"):
        cells.add_column(col)
    from .reports.build import count_if

    for model, pt, done, errs, succ in sorted(store.query(
        f"SELECT model, prompt_type, {count_if(DONE_ROW)}, {count_if(ERROR_ROW)}, SUM(success) FROM results "
        "GROUP BY model, prompt_type"
    )):
        cells.add_row(model, pt, str(done), str(errs), f"{(succ or 0) / done:.1%}" if done else "-")
    return Group(run_table, cells)


# ---------------------------------------------------------------------- suites and mock


@suite_app.command("run")
@click.argument("file", type=click.Path(path_type=Path))
@db_option
@config_option
@click.option("--key-policy", "key_policy", type=click.Choice(KEY_POLICIES), default=None)
@click.option("--adaptive", "adaptive", is_flag=True)
@click.option("--checkpoint-interval", "checkpoint_interval", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--progress/--no-progress", "progress", default=None)
@click.option("--dry-run", "dry_run", is_flag=True)
def suite_run(file, db, config, key_policy, adaptive, checkpoint_interval, progress, dry_run):  # type: ignore[no-untyped-def]
    """Run every experiment of a suite as one plan (resumable like `run`)."""
    from .runner.runtime import build_runtime
    from .runner.scheduler import RunOptions, Runner
    from .store import open_store
    from .suite import load_suite

    cfg = _config(config)
    suite = load_suite(file, cfg)
    specs = list(suite.expand())
    if dry_run:
        for name, plan in suite.experiments:
            print(f"{name}: {len(plan)} tests ({', '.join(plan.models)})")
        print(f"total distinct tests: {len(specs)}")
        return
    db_path = _db(db)
    options = RunOptions(checkpoint_interval=checkpoint_interval, live=progress, log_dir=_log_root(db_path))

    async def go():  # type: ignore[no-untyped-def]
        runtime = build_runtime(cfg, list(suite.models), key_policy=key_policy, adaptive=adaptive)
        store = open_store(db_path)
        try:
            return await Runner(runtime, store, options=options, info={"suite": suite.name, "plans": [p.to_dict() for _, p in suite.experiments], "argv": _safe_argv()}).run(specs)
        finally:
            await runtime.aclose()
            store.close()

    summary = asyncio.run(go())
    _print_summary(summary, db_path)
    if summary.interrupted:
        raise SystemExit(130)


@app.command("mock-server")
@click.option("--port", "port", type=click.IntRange(min=0, max=65535), default=8000, show_default=True)
@click.option("--host", "host", default="127.0.0.1", show_default=True)
@click.option("--key", "key", multiple=True, help="An accepted API key (repeat). Default: any key.")
@click.option("--max-concurrency", "max_concurrency", type=click.IntRange(min=1), default=None, help="Per key.")
@click.option("--rpm", "rpm", type=click.IntRange(min=1), default=None, help="Per key.")
@click.option("--latency", "latency", type=click.FloatRange(min=0.0), default=0.2, show_default=True, help="Seconds per request.")
@click.option("--fault-rate", "fault_rate", type=click.FloatRange(min=0.0, max=1.0), default=0.0, show_default=True, help="Share of requests with an injected fault.")
@click.option("--seed", "seed", type=int, default=0, show_default=True)
@click.option("--tpm", "tpm", type=click.IntRange(min=1), default=None, help="Tokens per minute, per key (a token bucket).")
@click.option("--budget-seconds", "budget_seconds", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Count --rpm as a token bucket holding this many seconds of budget (default: a sliding minute); also --tpm's.")
@click.option("--concurrency-retry-after", "concurrency_retry_after", type=click.FloatRange(min=0.0), default=1.0,
              show_default=True, help="Retry-After of a concurrency 429, in seconds.")
@click.option("--no-ratelimit-headers", "no_ratelimit_headers", is_flag=True, help="Do not send x-ratelimit-* headers.")
@click.option("--limits-per-model", "limits_per_model", is_flag=True, help="Count limits per key and model, not per key.")
@click.option("--error-503-rate", "error_503_rate", type=click.FloatRange(min=0.0, max=1.0), default=0.0, show_default=True,
              help="Share of requests answered 503 with Retry-After 1 s.")
def mock_server(port, host, key, max_concurrency, rpm, latency, fault_rate, seed, tpm, budget_seconds,  # type: ignore[no-untyped-def]
                concurrency_retry_after, no_ratelimit_headers, limits_per_model, error_503_rate):
    """An OpenAI-compatible mock provider with limits, latency, faults and the simulated models."""
    from .mock_server import config_from_options, serve

    cfg = config_from_options(key or [], max_concurrency, rpm, latency, fault_rate, seed, tpm=tpm, budget_seconds=budget_seconds,
                              concurrency_retry_after=concurrency_retry_after, ratelimit_headers=not no_ratelimit_headers,
                              limits_per_model=limits_per_model, error_503_rate=error_503_rate)
    print(f"mock server on http://{host}:{port}/v1 (Azure paths under /openai/deployments/...); Ctrl-C stops it", file=sys.stderr)
    serve(cfg, host, port)


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
        print(f"error: {e.format_message()}", file=sys.stderr)
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
    except OSError as e:  # a path from the command line (--db, --out, --log-dir) that cannot be created or written
        print(f"error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    raise SystemExit(main())
