"""Commands that show what a run would do: prompt, tasks, models, keys."""

from __future__ import annotations

import json
import os

import click

from ..benchmark.types import SEVERITIES
from ..cli_flags import model_option, prompt_type_option, single_option
from ..config import KEY_POLICIES
from ..errors import UsageError
from .base import MAX_INSTANCES, MAX_SEED, _config, _console, _joined, app, config_option


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
    from ..benchmark.prompts import render_prompt
    from ..benchmark.tasks import generate_instance
    from ..benchmark.types import TASK_TYPES

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

    from ..benchmark.tasks import generate_instance
    from ..benchmark.versions import TaskSuite
    from ..benchmark.types import DIFFICULTIES, TASK_TYPES

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

    from ..config import lane_limits

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
    from ..config import NO_KEY, ConfigError, missing_variables, resolve_keys
    from ..models.registry import provider_kind

    if provider_kind(p.kind).keys == "builtin":
        return "(none needed)"
    try:
        keys = resolve_keys(provider, p)
    except ConfigError:
        return "; ".join(f"{m.var}: NOT SET" for m in missing_variables(cfg, [model]) if m.what == "keys") or "NOT SET"
    return "(no key needed)" if keys == [NO_KEY] else ", ".join(f"{k.label} ok" for k in keys)


def _open_names_table():  # type: ignore[no-untyped-def]
    from rich.table import Table

    from ..config import LOCAL_SERVERS, OPENAI_BASE_URL

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
    from ..benchmark.prompts import expand_prompt_types
    from ..config import expand_models
    from ..runner.runtime import build_runtime
    from ..runner.settings import RunSettings

    cfg = _config(config)
    names = expand_models(cfg, _joined(model))
    try:
        types = expand_prompt_types(_joined(prompt_types))
    except ValueError as e:
        raise UsageError(str(e)) from None
    if key_policy is not None and key_policy not in ("pool", "prompt-affinity", "round-robin"):
        raise UsageError(f"unknown key policy {key_policy!r}; choose pool, prompt-affinity or round-robin")
    rt = build_runtime(cfg, list(names), RunSettings(key_policy=key_policy), connect=False)
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

