"""What every command shares: the click group, the common options, the store and log paths, the console."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .. import __version__
from ..errors import UsageError


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
    from ..config import load_config

    return load_config(path)


_DB_IN_USE: list[str] = []  # the store this command works on, for the message if it turns out damaged


def _db(db: str | None) -> str:
    from ..store.sqlite import DEFAULT_DB

    path = db or str(DEFAULT_DB)
    _DB_IN_USE[:] = [path]
    return path


def _open_existing(db: str | None):  # type: ignore[no-untyped-def]
    from ..store import open_store

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
    from ..store import is_postgres_url

    if is_postgres_url(db_path):
        return Path("pilotbench-results") / "logs"
    path = Path(db_path)
    if path.parent.name == "pilotbench-results":
        return path.parent / "logs"
    return path.parent / f"{path.stem}-logs"


def _shown(db_path: str) -> str:
    from ..store import is_postgres_url

    if is_postgres_url(db_path):
        from ..store.postgres import mask_url

        return mask_url(db_path)
    return db_path



def _joined(values: tuple[str, ...] | str | None) -> str:
    """A repeatable option's values as one comma-separated list (`-m a -m b` is `-m a,b`)."""
    if values is None:
        return ""
    if isinstance(values, str):
        return values
    return ",".join(v for v in values if v is not None)



def _console():  # type: ignore[no-untyped-def]
    """A rich console; wide enough when output is a file or pipe that names are never cut."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def _fmt(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"



def _one_line(text: str) -> str:
    return " ".join(text.split())
