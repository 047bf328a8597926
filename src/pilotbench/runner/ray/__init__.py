"""Running a plan on a Ray cluster, results in PostgreSQL (docs/distributed.md).

One named Ray actor, a *key owner*, drives each API key: it runs the ordinary `Runner` on its
own event loop over a runtime that has only that key's lanes, so one limiter governs each key
however many nodes there are. Owners write their results to the store themselves, in batches,
and answer the driver's polls with progress counts only.

    driver                                       key owners (one per provider key)
    pending = plan - store.done_ids          ->  run(tests): take the key's advisory lock,
    split by key policy, one owner per key       pending = tests - store.done_ids, run them,
    poll progress counts                     <-  commit batches to the store
    owner lost: resubmit its tests - done        (restarted by Ray on another node)
    finally: the store says what is done

Failure model. A lost node takes its owners with it; Ray restarts them elsewhere (a finite
`max_restarts`, no node affinity) and the driver resubmits each lost owner's tests minus what
the store already has. A call can also end without an error when its node dies, so the driver
never trusts an owner's word for completion: after every round it recomputes the plan minus
the stored results and resubmits what is missing. A second owner of one key (a stale process
after a network partition, or another run) is kept out by a PostgreSQL advisory lock per key.

Secrets never travel through Ray: owners get the provider name and the key's index and read
the key from their own node's environment; the store URL is sent without its password (nodes
read it from PGPASSWORD or ~/.pgpass).

Modules: `split` (the plan split by key; the configuration owners get), `owner` (the key-owner
actor), `driver` (the driver and its Ray options). `pilotbench.runner.ray_executor` is the old
import path of the same names.
"""

from __future__ import annotations

from .driver import INSTALL_HINT, LOOPBACK_ENV, NAMESPACE, RayDriver, RayOptions, pin_loopback, run_on_ray  # noqa: F401
from .owner import KeyOwner, OwnerJob  # noqa: F401
from .split import OwnerRef, key_count, partition, portable_config  # noqa: F401
