"""The entry point: every command registered on one click group; expected failures become one line."""

from __future__ import annotations

import sqlite3
import sys

import click

from .. import __version__
from ..cli_flags import usage_message
from ..errors import PilotbenchError
from . import inspection, mock, report, run, status, view  # noqa: F401  (they register the commands)
from .base import _DB_IN_USE, _one_line, app

__all__ = ["app", "main"]


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
        from ..store.sqlite import corruption_message

        message = corruption_message(_DB_IN_USE[0] if _DB_IN_USE else "the results database", e)
        if message is None:
            raise
        print(f"error: {_one_line(message)}", file=sys.stderr)
        return 2
    except OSError as e:  # a path from the command line (--db, --out, --log-dir) that cannot be created or written
        print(f"error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    return 0

