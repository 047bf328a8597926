"""The garbage-collection policy of a long run: the collector tuned while a run goes, restored after."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_for_long_runs() -> Iterator[None]:
    """The cyclic garbage collector tuned for the run, restored after it.

    A run allocates a few dozen short-lived objects per model call and holds every conversation
    in flight; at the default thresholds the collector ran a full collection every few seconds
    and took a quarter of the harness's CPU, in pauses of up to hundreds of milliseconds that
    stalled the event loop (BENCHMARKS.md). Everything that exists when the run starts (modules,
    config, plan) is frozen out of collections, and young collections run every 10,000 net
    allocations instead of 700. Reference counting still frees everything acyclic at once.
    """
    if not gc.isenabled():
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], _GC_YOUNG_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


_GC_YOUNG_THRESHOLD = 10_000
