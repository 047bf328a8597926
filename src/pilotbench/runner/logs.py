"""A run's log files: one per provider, that never floods stderr when the disk is full."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class QuietFileHandler(logging.FileHandler):
    """A run's log file that, when it cannot be written (a full disk, a lost mount), says so once on
    stderr and drops its messages from then on, instead of printing a "--- Logging error ---"
    traceback for every message (thousands of lines over a run)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def flush(self) -> None:
        if self.failed:
            return
        try:
            super().flush()
        except OSError as e:
            self._fail(e)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self._fail(sys.exc_info()[1])

    def _fail(self, error: BaseException | None) -> None:
        if self.failed:
            return
        self.failed = True
        reason = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
        try:
            print(f"warning: cannot write the log file {self.baseFilename} ({reason}); "
                  "its messages are dropped from now on", file=sys.stderr, flush=True)
        except OSError:
            pass


def open_logs(directory: Path, run_id: str, providers: Iterable[str], handlers: list[logging.Handler]) -> dict[str, logging.Logger]:
    """One logger per provider of run `run_id`, writing to `directory`/<provider>.log (the directory
    is made); the file handlers are appended to `handlers`, for `close_logs`."""
    directory.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    loggers: dict[str, logging.Logger] = {}
    for name in providers:
        logger = logging.getLogger(f"pilotbench.run.{run_id}.{name}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        handler = QuietFileHandler(directory / f"{name}.log", encoding="utf-8")
        handler.setFormatter(fmt)
        logger.addHandler(handler)
        handlers.append(handler)
        loggers[name] = logger
    return loggers


def close_logs(loggers: Iterable[logging.Logger], handlers: list[logging.Handler]) -> None:
    """Detach every handler of `loggers` and close `handlers` (emptied); a close that fails on a full
    disk has already been reported once."""
    for logger in loggers:
        for h in list(logger.handlers):
            logger.removeHandler(h)
    for h in handlers:
        try:
            h.close()
        except OSError:  # the last flush on a full disk; already said once
            pass
    handlers.clear()
