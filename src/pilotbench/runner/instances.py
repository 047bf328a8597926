"""The task instances a run keeps at hand: the most recently used, so memory does not grow with the plan."""

from __future__ import annotations

from collections import OrderedDict

from ..benchmark.tasks import TaskInstance, generate_instance


class InstanceCache:
    """The task instances of the tests in flight and just before: the `size` most recently used.

    The plan walks instances slowest, so a handful serve every test in flight. The generator's own
    cache (`generate_instance`) would keep every instance of the plan (tens of thousands on a long
    run); a run asks the generator itself, so its memory does not grow with the plan. Instances are
    the same either way: the generator is deterministic.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = max(1, size)
        self._items: OrderedDict[tuple[str, int, int], TaskInstance] = OrderedDict()
        self._generate = getattr(generate_instance, "__wrapped__", generate_instance)

    def get(self, task_type: str, index: int, seed: int) -> TaskInstance:
        key = (task_type, index, seed)
        task = self._items.get(key)
        if task is not None:
            self._items.move_to_end(key)
            return task
        task = self._items[key] = self._generate(task_type, index, seed)
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return task

    def __len__(self) -> int:
        return len(self._items)
