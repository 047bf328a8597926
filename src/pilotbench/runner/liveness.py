"""Whether the process that runs a run is still there.

A run records who runs it (`process_info()`: pid and host, in the run's info); a run still marked
`running` whose process is gone (killed with -9, a crash, a lost machine) is dead, so nobody waits
for it. `pilotbench status` and the viewer both ask here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

from ..store.leases import pid_alive


def process_info() -> dict[str, Any]:
    """Who runs this: `status` tells a run whose process is gone from one still running."""
    return {"pid": os.getpid(), "host": socket.gethostname()}




def process_gone(status: str | None, info: Mapping[str, Any]) -> bool:
    """A run marked `running` whose recorded process, on this machine, no longer exists. (A run
    recorded before runs said who runs them, or on another machine, cannot be told dead here.)"""
    if status != "running":
        return False
    pid, host = info.get("pid"), info.get("host")
    if not isinstance(pid, int) or not isinstance(host, str) or host != socket.gethostname():
        return False
    return pid <= 0 or not pid_alive(pid)  # the store's one answer; no process has a pid below 1


def describe_run(status: str, info: Mapping[str, Any], done: int = 0, errors: int = 0) -> str:
    """A run's state in words. A run marked `running` whose process is gone (killed with -9, a crash,
    a lost machine) is shown as dead, so nobody waits for it; one recorded `finished` with errors and
    no test done (recorded before runs said `failed`, or by another executor) as failed."""
    if status == "finished" and errors and not done:
        return "failed"
    if status != "running":
        return status
    pid, host = info.get("pid"), info.get("host")
    if not isinstance(pid, int) or not isinstance(host, str):
        return "running?"  # recorded before runs said who runs them
    if host != socket.gethostname():
        return f"running on {host} (pid {pid})"
    if not process_gone(status, info):
        return f"running (pid {pid})"
    return f"dead (process {pid} gone; run the same command to resume)"
