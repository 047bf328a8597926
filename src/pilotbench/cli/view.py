"""`pilotbench view`: the results browser, served or exported."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .base import _check_creatable_dir, _open_existing, app, db_option


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
        from ..view import export_site

        with _open_existing(db) as store:
            n = export_site(store, export_dir, max_pages=max_pages)
        print(f"wrote {n} pages to {export_dir}", file=sys.stderr)
        return
    from ..view import serve

    with _open_existing(db) as store:
        serve(store, host, port, print_fn=lambda line: print(line, file=sys.stderr, flush=True))

