"""Shared builders for the limits tests; everything runs on a FakeClock."""

from __future__ import annotations

import asyncio

from pilotbench.limits import FakeClock, Lane


def make_lane(name: str = "lane", clock: FakeClock | None = None, **kw) -> Lane:
    kw.setdefault("max_concurrency", 4)
    return Lane(
        name,
        provider="sim",
        key_label="...abcd",
        deployment="model-x",
        clock=clock if clock is not None else FakeClock(),
        **kw,
    )


async def settle(rounds: int = 5) -> None:
    """Let every ready task run a few steps without touching virtual time."""
    for _ in range(rounds):
        await asyncio.sleep(0)
