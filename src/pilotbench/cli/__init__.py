"""The command line: thin commands over the Python API, one module per command group. Bad input
exits 2 with one line."""

from .entry import app, main

__all__ = ["app", "main"]
