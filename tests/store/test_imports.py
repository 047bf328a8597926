"""The store package imports without a circle: no module of pilotbench.store imports, even
lazily inside a function, a module that imports it back; and each module imports on its own in a
fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pilotbench.store

PACKAGE = "pilotbench.store"
ROOT = Path(pilotbench.store.__file__).parent


def _module_name(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


def _imports(path: Path, root: Path = ROOT) -> set[str]:
    """The modules of the package this file imports, anywhere in it (top level, functions,
    TYPE_CHECKING blocks). `from . import x` names x when x is a module, else the package."""
    own = _module_name(path)
    package_parts = own.split(".") if path.name == "__init__.py" else own.split(".")[:-1]
    modules = {_module_name(p) for p in root.glob("*.py")}
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package_parts[: len(package_parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            if not any(n in modules for n in names):
                names.append(target)
        else:
            continue
        found.update(name for name in names if name in modules)
    found.discard(own)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_sees_a_lazy_import_back_into_the_package(tmp_path: Path) -> None:
    # The shape the store had: the package opens a backend lazily, the backend's helper imports
    # the package back inside a function.
    init = tmp_path / "__init__.py"
    init.write_text("def open_store():\n    from .sqlite import SQLiteStore\n", encoding="utf-8")
    backend = tmp_path / "sqlite.py"
    backend.write_text("def open_store():\n    from . import open_store as _open\n", encoding="utf-8")
    graph = {PACKAGE: {f"{PACKAGE}.sqlite"}, f"{PACKAGE}.sqlite": {PACKAGE}}
    assert _cycle(graph) == [PACKAGE, f"{PACKAGE}.sqlite", PACKAGE]
    assert _imports(backend, tmp_path) == {PACKAGE}
    assert _imports(init, tmp_path) == {f"{PACKAGE}.sqlite"}


def test_no_module_of_the_store_imports_one_that_imports_it_back() -> None:
    graph = {_module_name(p): _imports(p) for p in sorted(ROOT.glob("*.py"))}
    assert f"{PACKAGE}.sqlite" in graph[PACKAGE]  # the package does open its backends
    assert _cycle(graph) is None, f"import circle: {' -> '.join(_cycle(graph) or [])}"


def test_each_store_module_imports_first_in_a_fresh_interpreter() -> None:
    for path in sorted(ROOT.glob("*.py")):
        name = _module_name(path)
        out = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"import {name}: {out.stderr.strip().splitlines()[-1:]}"
