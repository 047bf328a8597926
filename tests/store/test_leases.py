"""Lease owners (store.leases): a run's owner name says where it runs, and only a holder that is a
process of this machine which no longer exists counts as gone; anything else is waited for."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest

from pilotbench.store import leases
from pilotbench.store.leases import here, holder_gone, lease_owner, pid_alive


def _gone_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()  # exited and reaped: no process has this pid now
    return child.pid


def test_an_owner_names_this_machine_and_process_and_is_new_each_run() -> None:
    a, b = lease_owner(), lease_owner()
    assert a != b
    host, pid, tag = a.rsplit(":", 2)
    assert host == here() and host.startswith(socket.gethostname()) and int(pid) == os.getpid()
    assert re.fullmatch(r"[0-9a-f]{8}", tag)
    assert not holder_gone(a)  # this process is alive


def test_a_gone_process_of_this_machine_is_gone_and_nothing_else_is() -> None:
    gone = _gone_pid()
    assert not pid_alive(gone) and pid_alive(os.getpid())
    assert holder_gone(f"{here()}:{gone}:0badcafe")
    assert not holder_gone(f"{here()}:{os.getpid()}:0badcafe")  # another run of a live process
    assert not holder_gone(f"{here()}:1:0badcafe")  # pid 1 is alive (ours, or someone else's: PermissionError)
    assert not holder_gone(f"another-host:{gone}:0badcafe")  # pids of another machine mean nothing here
    for owner in ("", "20260101-000000-abc123/vllm#0", f"{gone}", f"{here()}:{gone}", f"{here()}:x{gone}:abc",
                  f"{here()}:0:abc", f"{here()}:{gone}:NOT-HEX"):
        assert not holder_gone(owner), owner  # not named by lease_owner: waited for


@pytest.mark.skipif(not os.path.exists("/proc/self/ns/pid"), reason="no pid namespaces here")
def test_another_container_with_this_host_name_is_another_place() -> None:
    # A container sharing the host name (host networking) has its own pid namespace: its pids
    # are not ours to ask about.
    namespace = re.sub(r"[^0-9]", "", os.readlink("/proc/self/ns/pid"))
    assert here().startswith(socket.gethostname() + "/") and here().endswith("." + namespace)
    other = here()[: -len(namespace)] + str(int(namespace) + 1)
    assert not holder_gone(f"{other}:{_gone_pid()}:0badcafe")
    assert not holder_gone(f"{socket.gethostname()}:{_gone_pid()}:0badcafe")  # an owner named without them


def test_a_process_we_may_not_signal_is_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(leases.os, "kill", refuse)
    assert pid_alive(4242)
    assert not holder_gone(f"{here()}:4242:0badcafe")

    def missing(pid: int, sig: int) -> None:
        raise ProcessLookupError(3, "No such process")

    monkeypatch.setattr(leases.os, "kill", missing)
    assert not pid_alive(4242)
    assert holder_gone(f"{here()}:4242:0badcafe")
