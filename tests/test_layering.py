"""The layers the README states hold in the source (an AST import check over src/, and no import circle at
import time); the pure benchmark core imports alone."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

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


# --------------------------------------------------------------------------- the layers, read from the source

SRC = Path(__file__).resolve().parents[1] / "src" / "pilotbench"

# The README's layers, lowest first: a unit (a top-level module or package of pilotbench) imports only
# units of lower layers and its own modules. Where the small modules sit:
#   errors, secrets, clock: the foundation; they import nothing of pilotbench and every layer may use
#     them (the clock: injected time, read by the limiters and by a human player's turn limit).
#   mock_server, replay: the mock provider and its recorded replies, beside the models they serve
#     (they speak the wire and answer as the simulated models); only the CLI starts them.
#   provenance: which provider and base URL results came from; compares the config with the store.
#   pilotbench (the package's own __init__): the public API, at the api layer (its names load lazily).
#   suite: experiment files, built into plans through the api.
#   cli_flags: the CLI's one flag grammar, just below the CLI.
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer.split()) for layer in (
    "errors secrets clock",
    "benchmark",
    "models",
    "limits",
    "mock_server replay",
    "config plan",
    "store",
    "provenance",
    "runner",
    "reports",
    "view",
    "api pilotbench",
    "suite",
    "cli_flags",
    "cli",
    "__main__",
))
RANK = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}

# Imports that go up a layer in today's tree, each to be removed (the test fails once it is gone, so
# that the entry goes with it): (importing module, imported module). None today.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under an `if TYPE_CHECKING:` (never run: exempt)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING",
                                                                   "_typing.TYPE_CHECKING"):
            out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def _imports(name: str, path: Path, modules: dict[str, Path], *, top_level_only: bool) -> set[str]:
    """The pilotbench modules `name` imports: anywhere (inside functions too), or only those run when it is
    imported (top_level_only: its module body, outside functions). `from X import y` names X, and X.y when
    y is a module of its own."""
    tree = ast.parse(path.read_text(), str(path))
    exempt = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes: list[ast.AST]
    if top_level_only:
        nodes, todo = [], list(ast.iter_child_nodes(tree))
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            nodes.append(node)
            todo.extend(ast.iter_child_nodes(node))
    else:
        nodes = list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if id(node) in exempt:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "pilotbench")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "pilotbench":
                continue
            submodules = {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules}
            out.update(submodules)
            # `from . import sibling` only takes a module: the package, an ancestor, is imported already
            if len(submodules) < len(node.names) or not name.startswith(target + "."):
                out.add(target)
    assert out <= set(modules), f"{name} imports modules that do not exist: {sorted(out - set(modules))}"
    return out


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "pilotbench"


def test_every_unit_of_the_source_has_a_layer() -> None:
    units = {_unit(m) for m in _modules()}
    assert units - set(RANK) == set(), "a new module: give it a layer in LAYERS"
    assert {"benchmark", "models", "limits", "config", "plan", "store", "runner", "reports", "view", "api",
            "cli"} <= units


def test_no_import_goes_up_a_layer() -> None:
    """benchmark <- models <- limits <- config/plan <- store <- runner <- reports <- view <- api <- cli,
    imports inside functions included (a lazy import is still a dependency)."""
    modules = _modules()
    upward = set()
    for name, path in modules.items():
        for target in _imports(name, path, modules, top_level_only=False):
            if _unit(target) != _unit(name) and RANK[_unit(target)] >= RANK[_unit(name)]:
                upward.add((name, target))
    assert upward - KNOWN_UPWARD == set()
    assert KNOWN_UPWARD - upward == set(), "an upward import is gone: remove it from KNOWN_UPWARD"


def test_the_pure_benchmark_imports_nothing_else_of_pilotbench() -> None:
    modules = _modules()
    for name, path in modules.items():
        if _unit(name) == "benchmark":
            assert {_unit(t) for t in _imports(name, path, modules, top_level_only=False)} <= {"benchmark"}, name


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_between_modules_at_import_time() -> None:
    """What a module imports while it is being imported (its body, outside functions) never leads back to it."""
    modules = _modules()
    graph = {name: _imports(name, path, modules, top_level_only=True) - {name} for name, path in modules.items()}
    assert _cycles(graph) == []
