"""`pilotbench report` and `pilotbench export`: the study's tables and the stored results."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..cli_flags import (
    difficulty_option, group_option, list_option, model_option, prompt_type_option, rate_option, task_type_option,
)
from ..errors import UsageError
from .base import _config, _open_existing, app, config_option, db_option


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
    from ..reports import build_report, to_csv, to_html, to_markdown

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
        from ..reports.summary import stored_models

        stored = stored_models(store)
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
    from ..reports import EXPORT_FORMATS
    from ..reports import export as do_export
    from ..reports.build import check_filters

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

