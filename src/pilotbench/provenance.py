"""Where a model's results came from: the provider and base URL each model name was run against.

A done test is identified by its model name (with the plan's axes), so a run that points the same
name at another server skips every test already done there. Each run records, in its info, the
provider, kind and base URL of each model (`endpoints`); a later run compares and warns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .config import Config, ConfigError, resolve_value
from .store.base import Store


def _no_credentials(url: str) -> str:
    """A URL without any user:password part (never stored, never shown)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def endpoints(config: Config, models: Sequence[str], env: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Model name -> {"provider", "kind", "base_url"} as this run would reach it."""
    out: dict[str, dict[str, Any]] = {}
    for name in models:
        m = config.models.get(name)
        if m is None:
            continue
        p = config.providers[m.provider]
        url: str | None = None
        raw = p.base_url or p.endpoint
        if raw:
            try:
                url = resolve_value(raw, env, "base_url")
            except ConfigError:
                url = None
        out[name] = {"provider": m.provider, "kind": p.kind, "base_url": _no_credentials(url).rstrip("/") if url else None}
    return out


def _describe(e: Mapping[str, Any]) -> str:
    where = f" at {e['base_url']}" if e.get("base_url") else ""
    return f"provider {e.get('provider')!r}{where}"


def endpoint_warnings(store: Store, current: Mapping[str, Mapping[str, Any]], models: Iterable[str]) -> list[str]:
    """One line per model whose stored done results were run against another provider or base URL
    than `current` says this run uses (from the runs' recorded endpoints, else the results'
    provider column)."""
    from .store.records import run_info

    recorded: dict[str, list[dict[str, Any]]] = {}
    for r in store.runs():
        for name, e in (run_info(r.get("info")).get("endpoints") or {}).items():
            if isinstance(e, dict):
                recorded.setdefault(name, []).append(e)
    lines: list[str] = []
    for model in models:
        now = current.get(model)
        if now is None:
            continue
        done = store.count("model = ? AND status = 'done'", (model,))
        if not done:
            continue
        before = [e for e in recorded.get(model, ()) if (e.get("provider"), e.get("base_url")) != (now["provider"], now["base_url"])]
        if not recorded.get(model):
            providers = {p for (p,) in store.query("SELECT DISTINCT provider FROM results WHERE model = ? AND status = 'done'", (model,))}
            before = [{"provider": p} for p in sorted(providers - {now["provider"]})]
        if before:
            was = "; ".join(dict.fromkeys(_describe(e) for e in before))
            lines.append(
                f"warning: {model}: {done} stored results were run against {was}; this run uses {_describe(now)}. "
                f"Tests already done are skipped, not run again: for a fresh comparison use a new --db or a new model alias"
            )
    return lines

