"""Who holds a lease on a test (the `claims` table), and whether that holder is provably gone.

A run leases its tests in the name `host:pid:tag` (`lease_owner`): `host` is this machine as
`here()` names it, `pid` the run's process, `tag` a random word per run. When a claim meets a
live lease whose holder is a process of this machine (the same `here()`) that no longer exists
(`kill -9`, a crash), the lease can be taken over at once instead of waiting for it to expire
(`holder_gone`, the question `Store.claim(..., gone=...)` asks). Every other holder is waited for
until its lease expires: another machine or container, a Ray key owner (named by run and key),
an owner written some other way, and a pid that a live process holds, even if that process is
not the holder (a reused pid only means waiting, as before).
"""

from __future__ import annotations

import functools
import os
import re
import socket
import uuid

_OWNER = re.compile(r"(?P<host>.+):(?P<pid>[1-9][0-9]*):(?P<tag>[0-9a-f]+)")


@functools.cache
def here() -> str:
    """This machine and process namespace, as lease owners name it: the host name and, where
    Linux tells them, the kernel's boot id and the pid namespace. A pid means something only
    within one boot and one namespace, so two machines (or containers) sharing a host name are
    not the same place here."""
    name = socket.gethostname()
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip().replace("-", "")[:16]
        namespace = re.sub(r"[^0-9]", "", os.readlink("/proc/self/ns/pid"))
    except (OSError, ValueError):
        return name
    return f"{name}/{boot}.{namespace}" if boot and namespace else name


def lease_owner() -> str:
    """A new owner name for one run of this process: `host:pid:tag`."""
    return f"{here()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine. One we may not signal exists
    (PermissionError); where the answer cannot be had, it is taken to exist."""
    if os.name == "nt":  # os.kill there would terminate the process, not ask about it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def holder_gone(owner: str) -> bool:
    """True only when `owner` was named by `lease_owner` on this machine (the same `here()`) and
    its process no longer exists: its leases may be taken over before they expire."""
    m = _OWNER.fullmatch(owner)
    if m is None or m["host"] != here():
        return False
    return not pid_alive(int(m["pid"]))
