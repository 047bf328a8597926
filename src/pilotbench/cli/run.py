"""`pilotbench run` and `pilotbench suite run`: build the plan from the flags, run it, say how it went."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from ..benchmark.types import SEVERITIES
from ..cli_flags import difficulty_option, group_option, model_option, prompt_type_option, rate_option, task_type_option
from ..config import KEY_POLICIES
from ..errors import PilotbenchError, UsageError
from .base import (
    MAX_INSTANCES, MAX_SEED, MAX_TURNS, _check_creatable_dir, _config, _db, _joined, _log_root, _open_existing,
    app, config_option, db_option, suite_app,
)
from .dry_run import _dry_run
from .probe import _probe
from .summary import _print_summary


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
@click.option("--human-scores/--no-human-scores", "human_scores", default=None, help="Tell a human/<name> player how each test went when it ends (level, steps done, why a step did not count); --no-human-scores for a blind round. [default: on]")
def run(model, group, prompt_types, task_types, difficulty, tool_success_rate, num_instances, seed, severity, max_turns, model_params, temperature, max_tokens, db, config, key_policy, adaptive, max_concurrency, rpm, request_timeout, checkpoint_interval, prompt_parallel, provider_parallel, serial_models, dry_run, probe, log_dir, progress, progress_interval, executor, ray_address, transcripts, human_io=None, human_timeout=None, human_scores=None):  # type: ignore[no-untyped-def]
    """Run a benchmark plan (resuming: tests already done in the store are skipped).

    Exit status: 0 every planned test done; 2 bad input; 3 infrastructure errors left, or results saved
    to a rescue file because the store could not take them (run again to retry or import them); 4 a
    model was stopped; 130 interrupted.
    """
    from ..api import build_plan, run_async
    from ..config import generation_params
    from ..runner.liveness import process_info
    from ..runner.settings import RunSettings
    from ..store import is_postgres_url

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
    human = _human_options(cfg, plan, human_io, human_timeout, executor, human_scores)
    settings = RunSettings(key_policy=key_policy, adaptive=adaptive, max_concurrency=max_concurrency, rpm=rpm,
                           request_timeout=request_timeout, params=params or None,
                           human=human[1] if human is not None else None)
    from ..provenance import endpoints

    reached = endpoints(cfg, plan.models)
    _warn_other_endpoints(_db(db), reached, plan.models)
    if dry_run or probe:
        if executor == "ray" and probe:
            raise UsageError("--probe runs here, not on Ray: drop --executor ray to probe")
        _check_creatable_dir(log_dir or _log_root(_db(db)))  # as the real run does, creating nothing
        _dry_run(plan, cfg, _db(db), settings, serial_by=serial)
        if probe:
            _probe(plan.models, cfg, settings)
        return
    info = {"plans": [plan.to_dict()], "argv": _safe_argv(), "endpoints": reached, **process_info()}
    if params:
        info["params"] = params
    db_path = _db(db)
    from ..runner.scheduler import RunOptions

    options = RunOptions(
        checkpoint_interval=checkpoint_interval,
        serial_by=serial,
        live=progress,
        progress_interval=progress_interval,
        log_dir=log_dir or _log_root(db_path),
        transcripts=transcripts,
    )
    if human is not None:
        players, human = human[0], settings.human
        info["human"] = {"players": players, "mode": human.mode, "timeout_s": human.timeout,
                         **({"io_dir": str(human.io_dir)} if human.io_dir is not None else {})}
        if human.io_dir is None:
            # The person types at this terminal: no live display or progress lines over the prompt,
            # and Ctrl-C stops at once (the test being played is not stored: a resume plays it again).
            options.live = False
            options.progress_lines = False
            options.grace_seconds = 0.0
    if executor == "ray":
        from ..runner.ray_executor import RayOptions, run_on_ray

        summary = run_on_ray(plan, db=db_path, config=cfg, settings=settings, options=options,
                             ray_options=RayOptions(address=ray_address), info=info)
    else:
        _check_creatable_dir(options.log_dir)  # before the store: a bad path writes nothing
        summary = asyncio.run(run_async(plan, db=db_path, config=cfg, settings=settings, options=options,
                                        keep_records=False, info=info)).summary
    _print_summary(summary, db_path, plan)
    _exit_for(summary)


def _warn_other_endpoints(db_path: str, reached: dict[str, Any], models: Any) -> None:
    """Say, before running, when stored results of a model name came from another provider or
    base URL than this run would reach: those tests are skipped as done."""
    from ..provenance import endpoint_warnings
    from ..store import is_postgres_url

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


def _human_options(cfg, plan, io_dir: Path | None, timeout: float | None, executor: str,  # type: ignore[no-untyped-def]
                   scores: bool | None = None):
    """(the human players, how they play) when the plan has a human/<name> model, else None; the
    human flags without a human player, several players at once, or Ray are bad input."""
    from ..config import is_human
    from ..models.human import DEFAULT_TIMEOUT, HumanOptions

    players = [m for m in plan.models if is_human(cfg, m)]
    if not players:
        for flag, value in (("--human-io", io_dir), ("--human-timeout", timeout), ("--human-scores", scores)):
            if value is not None:
                raise UsageError(f"{flag} is only used with a human player: -m human/<name>")
        return None
    if len(players) > 1:
        raise UsageError(f"one human player per run, got {', '.join(players)}; run each player on its own")
    if executor == "ray":
        raise UsageError("a human player runs with --executor local (the default), not ray")
    if io_dir is not None:
        _check_creatable_dir(io_dir)
    return players, HumanOptions(io_dir=io_dir, timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
                                 scores=True if scores is None else scores)


def _safe_argv() -> list[str]:
    return [a if len(a) < 200 else a[:200] for a in sys.argv[1:]]




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
    from ..api import run_async
    from ..runner.liveness import process_info
    from ..runner.scheduler import RunOptions
    from ..runner.settings import RunSettings
    from ..suite import load_suite

    cfg = _config(config)
    suite = load_suite(file, cfg)
    from ..config import is_human

    humans = [m for m in suite.models if is_human(cfg, m)]
    if humans:
        raise UsageError(f"a suite does not take human players ({', '.join(humans)}); play them with pilotbench run -m human/<name>")
    specs = list(suite.expand())
    settings = RunSettings(key_policy=key_policy, adaptive=adaptive)
    if dry_run or probe:
        from ..config import check_environment

        check_environment(cfg, list(suite.models))  # as the real run does: every missing variable at once
        for name, plan in suite.experiments:
            print(f"{name}: {len(plan)} tests ({', '.join(plan.models)})")
        print(f"total distinct tests: {len(specs)}", flush=True)
        if probe:
            _probe(suite.models, cfg, settings)
        return
    db_path = _db(db)
    options = RunOptions(checkpoint_interval=checkpoint_interval, live=progress, log_dir=_log_root(db_path),
                         transcripts=transcripts)

    info = {"suite": suite.name, "plans": [p.to_dict() for _, p in suite.experiments], "argv": _safe_argv(),
            **process_info()}
    summary = asyncio.run(run_async(specs, db=db_path, config=cfg, settings=settings, options=options,
                                    keep_records=False, info=info)).summary
    _print_summary(summary, db_path, specs)
    _exit_for(summary)
