"""pilotbench: benchmark LLMs on tool-using workflows, across models, keys and providers.

The public API for notebooks and scripts; see `pilotbench.api` for the details.
"""

__version__ = "0.1.0"

from .api import RunResult, TestTask, build_plan, build_specs, run, run_async, test_spec, which_key
from .errors import ConfigError, PilotbenchError, ProviderError, StoreError, UsageError
from .plan import PlanSpec, TestSpec
from .store.records import TestRecord

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
