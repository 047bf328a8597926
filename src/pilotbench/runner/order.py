"""The order a stream's tests start in: plan order, the longest conversations of a window first."""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Iterator

from ..benchmark.types import TASK_TYPES
from ..plan import TestSpec


async def aiter_of(specs: Iterator[TestSpec]) -> AsyncIterator[TestSpec]:
    for spec in specs:
        yield spec


_LENGTH_RANK = {task_type: rank for rank, task_type in enumerate(TASK_TYPES)}  # task types grow in length


def longest_first(specs: Iterator[TestSpec], window: int) -> Iterator[TestSpec]:
    """`specs` in plan order, except that among the next `window` the longest conversations go first.

    A conversation's turns run one after another, so the end of a run waits for the last ones
    started; when those are the longest (the plan ends with the longest task type), the lanes
    idle for seconds while they finish. Starting long tests early leaves short ones for the end.
    Which tests run, and their results, are unchanged.
    """
    heap: list[tuple[int, int, TestSpec]] = []
    for seq, spec in enumerate(specs):
        heapq.heappush(heap, (-(spec.max_turns * 8 + _LENGTH_RANK.get(spec.task_type, 0)), seq, spec))
        if len(heap) >= window:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]
