"""The layers the README states hold in the source: the pure core imports alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Modules the pure benchmark layer must not pull in: the layers above it and the network libraries.
_NOT_IN_THE_CORE = ("pilotbench.runner", "pilotbench.store", "pilotbench.config", "pilotbench.api", "pilotbench.cli",
                    "pilotbench.models", "pilotbench.limits", "pilotbench.reports", "pilotbench.view",
                    "aiohttp", "openai", "httpx")


def _loaded_after(statement: str) -> list[str]:
    """The modules a fresh interpreter has loaded after running `statement`."""
    code = f"import sys\n{statement}\nimport json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("module", ["types", "tasks", "scoring", "episode"])
def test_the_benchmark_core_imports_without_the_layers_above_it(module: str) -> None:
    loaded = _loaded_after(f"import pilotbench.benchmark.{module}")
    assert f"pilotbench.benchmark.{module}" in loaded
    above = [m for m in loaded if any(m == n or m.startswith(n + ".") for n in _NOT_IN_THE_CORE)]
    assert above == []


def test_the_public_names_still_load_on_first_use() -> None:
    loaded = _loaded_after("import pilotbench\nassert 'pilotbench.api' not in sys.modules\npilotbench.run")
    assert "pilotbench.api" in loaded
