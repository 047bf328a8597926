"""The Ray executor's old import path: its code lives in `pilotbench.runner.ray` (split, owner, driver)."""

from __future__ import annotations

from .ray import (  # noqa: F401
    INSTALL_HINT, LOOPBACK_ENV, NAMESPACE, KeyOwner, OwnerJob, OwnerRef, RayDriver, RayOptions, key_count, partition,
    pin_loopback, portable_config, run_on_ray,
)
