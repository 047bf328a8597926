"""pilotbench: benchmark LLMs on tool-using workflows, across models, keys and providers.

The public API for notebooks and scripts; see `pilotbench.api` for the details.

The names below are imported on first use (PEP 562), so that importing a part of the package
(`pilotbench.benchmark.types`, the pure core) does not load the runner, the store or the config.
"""

import typing as _typing
from importlib import import_module as _import_module

__version__ = "0.1.0"

if _typing.TYPE_CHECKING:
    from .api import RunResult, TestTask, build_plan, build_specs, run, run_async, test_spec, which_key
    from .errors import ConfigError, PilotbenchError, ProviderError, StoreError, UsageError
    from .plan import PlanSpec, TestSpec
    from .store.records import TestRecord

# Each public name and the module that defines it.
_HOME = {
    "RunResult": ".api",
    "TestTask": ".api",
    "build_plan": ".api",
    "build_specs": ".api",
    "run": ".api",
    "run_async": ".api",
    "test_spec": ".api",
    "which_key": ".api",
    "ConfigError": ".errors",
    "PilotbenchError": ".errors",
    "ProviderError": ".errors",
    "StoreError": ".errors",
    "UsageError": ".errors",
    "PlanSpec": ".plan",
    "TestSpec": ".plan",
    "TestRecord": ".store.records",
}

__all__ = [
    "ConfigError",
    "PilotbenchError",
    "PlanSpec",
    "ProviderError",
    "RunResult",
    "StoreError",
    "TestRecord",
    "TestSpec",
    "TestTask",
    "UsageError",
    "__version__",
    "build_plan",
    "build_specs",
    "run",
    "run_async",
    "test_spec",
    "which_key",
]


def __getattr__(name: str) -> _typing.Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(home, __name__), name)
    globals()[name] = value  # the next look-up is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
