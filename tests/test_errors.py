"""Every error pilotbench raises on purpose is a PilotbenchError, and errors.py draws the tree the code has."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import pilotbench
from pilotbench import errors
from pilotbench.errors import PilotbenchError, StoreError, StoreUnavailable, UsageError
from pilotbench.limits import LaneDisabled, LaneParked, LimitsError, NoUsableLane
from pilotbench.runner.calls import InfraError, ModelStopped

# Exceptions that are not errors but a test's outcome or a local answer, each caught where it is raised:
# their own bases are part of their meaning.
NOT_ERRORS = {
    "pilotbench.runner.calls.ContextLimit",  # the conversation no longer fits: the test ends there
    "pilotbench.models.human.PlayerTimeout",  # a human player did not answer in time: the test ends there
    "pilotbench.benchmark.toolkit.base._Refusal",  # a tool refuses a call: an observation for the model
    "pilotbench.view.data.BadRequest",  # a ValueError the viewer answers with a 400 page
}


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a pilotbench module, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(pilotbench.__path__, "pilotbench."):
        if info.name.endswith(".__main__"):
            continue  # runs the CLI
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == info.name:
                found[f"{info.name}.{value.__name__}"] = value
    return found


def test_every_deliberate_exception_is_a_pilotbench_error() -> None:
    classes = _exception_classes()
    assert set(NOT_ERRORS) <= set(classes)  # the exemptions name classes that exist
    outside = sorted(name for name, cls in classes.items()
                     if not issubclass(cls, PilotbenchError) and name not in NOT_ERRORS)
    assert outside == []
    assert all(not issubclass(classes[name], PilotbenchError) for name in NOT_ERRORS)


@pytest.mark.parametrize("cls", [LimitsError, LaneDisabled, LaneParked, NoUsableLane, InfraError, ModelStopped,
                                 StoreError, StoreUnavailable])
def test_limits_infrastructure_and_store_errors_are_pilotbench_errors(cls: type[BaseException]) -> None:
    assert issubclass(cls, PilotbenchError)


def test_a_store_error_is_not_bad_input_from_the_user() -> None:
    assert not issubclass(StoreError, UsageError)
    assert issubclass(errors.ConfigError, UsageError)


def _drawn_tree() -> list[tuple[str, str]]:
    """(class, parent) for every class drawn under PilotbenchError in errors.py's docstring."""
    assert errors.__doc__ is not None
    drawn: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        if line.strip() == "PilotbenchError":
            drawn.append((line.index("P"), "PilotbenchError"))
        m = re.search(r"[├└]── (\w+)", line)
        if m:
            drawn.append((m.start(1), m.group(1)))
    pairs = []
    for k, (column, name) in enumerate(drawn):
        parent = next((n for c, n in reversed(drawn[:k]) if c < column), None)
        if parent is not None:
            pairs.append((name, parent))
    return pairs


def test_the_tree_drawn_in_errors_py_is_the_code_s() -> None:
    classes = {cls.__name__: cls for cls in _exception_classes().values()}
    pairs = _drawn_tree()
    assert len(pairs) >= 11
    for name, parent in pairs:
        assert classes[name].__bases__ == (classes[parent],), name
    drawn = {name for name, _ in pairs}
    undrawn = sorted(n for n, cls in classes.items() if issubclass(cls, PilotbenchError) and n != "PilotbenchError"
                     and n not in drawn)
    assert undrawn == []
