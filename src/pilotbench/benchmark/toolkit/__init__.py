"""The tool registry: every tool the benchmark knows, each in one place.

A tool is one `Tool` entry (``toolkit/base.py``) holding its spec (what every model sees), how a task
words a step that uses it, its weight in the walk and what the simulator does for it. The built-in
30 live one category per module (``data_processing.py``, ``file_operations.py``, ...), each listing
its tools in a ``TOOLS`` tuple; ``_CATEGORY_MODULES`` below lists the modules. The catalog
(``tools.TOOLS``), the walk, the wording tables, the generator and the simulator all read this registry.

Adding a built-in tool: write its `Tool` in its category's module and list it in that module's
``TOOLS`` (a new category: one new module, listed once below). The suite version then changes, as it
must: the catalog and the generated tasks are part of it.

A tool registered at run time (`register`, or `registered(...)` for a scope, e.g. in a test) joins the
catalog, the walk and the simulator until it is unregistered; every table and cache built from the
registry is rebuilt or cleared on each change (`on_change`), so nothing of it outlives its scope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from . import computation, data_processing, file_operations, integration, network, utility
from .base import Tool
from .spec import ANY, CHECKS, DATA_TYPES, JSON_TYPES, LITERAL_ROLES, SAME, ToolSpec

__all__ = ["BUILTIN_NAMES", "ENTRIES", "TOOLS", "Tool", "on_change", "register", "registered", "tool_entry",
           "unregister"]

# The categories of the built-in tools, in catalog order.
_CATEGORY_MODULES = (data_processing, file_operations, network, computation, integration, utility)

ENTRIES: dict[str, Tool] = {}  # name -> entry, in catalog order (built-ins first, then registration order)
TOOLS: dict[str, ToolSpec] = {}  # name -> spec, the same order: the catalog every model is offered
_LISTENERS: list[Callable[[], None]] = []


def _problems(tool: Tool) -> list[str]:
    """What is wrong with an entry, as sentences (empty: it can be registered)."""
    t = tool.spec
    out: list[str] = []
    if not (t.output in DATA_TYPES or t.output == SAME):
        out.append(f"{t.name}: bad output {t.output}")
    for p in t.parameters:
        if p.type not in JSON_TYPES:
            out.append(f"{t.name}.{p.name}: bad type {p.type}")
        if not (p.check is None or p.check in CHECKS):
            out.append(f"{t.name}.{p.name}: bad check {p.check}")
        if not (p.literal is None or p.literal in LITERAL_ROLES):
            out.append(f"{t.name}.{p.name}: bad role {p.literal}")
        out.extend(f"{t.name}.{p.name}: bad data type {a}" for a in p.accepts or () if not (a in DATA_TYPES or a == ANY))
    unknown = [c for c in tool.checked if c not in t.param_names]
    if unknown:
        out.append(f"{t.name}: checked settings {unknown} are not parameters")
    if not tool.ref or not tool.hard or not tool.very_hard:
        out.append(f"{t.name}: a tool needs a `ref`, `hard` and `very_hard` wording")
    if tool.weight <= 0:
        out.append(f"{t.name}: weight must be > 0")
    return out


def _add(tool: Tool) -> None:
    problems = _problems(tool)
    if problems:
        raise ValueError("; ".join(problems))
    if tool.name in ENTRIES:
        raise ValueError(f"tool {tool.name!r} is already registered")
    ENTRIES[tool.name] = tool
    TOOLS[tool.name] = tool.spec


for _module in _CATEGORY_MODULES:
    for _tool in _module.TOOLS:
        _add(_tool)
del _module, _tool

BUILTIN_NAMES: tuple[str, ...] = tuple(ENTRIES)


def tool_entry(name: str) -> Tool:
    """The registered entry of a tool; KeyError naming it if there is none."""
    try:
        return ENTRIES[name]
    except KeyError:
        raise KeyError(f"unknown tool {name!r}; known tools: {', '.join(ENTRIES)}") from None


def on_change(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` after every registration change (to rebuild a table or clear a cache built from
    the registry). Returns it, so it can decorate."""
    _LISTENERS.append(listener)
    return listener


def _changed() -> None:
    for listener in _LISTENERS:
        listener()


def register(tool: Tool) -> Tool:
    """Add a tool to the catalog, the walk and the simulator. ValueError if it is malformed or its name
    is taken."""
    _add(tool)
    _changed()
    return tool


def unregister(name: str) -> None:
    """Remove a tool added with `register` (the built-ins stay)."""
    if name in BUILTIN_NAMES:
        raise ValueError(f"{name!r} is a built-in tool")
    if name not in ENTRIES:
        raise KeyError(f"tool {name!r} is not registered")
    del ENTRIES[name]
    del TOOLS[name]
    _changed()


@contextmanager
def registered(*tools: Tool) -> Iterator[tuple[Tool, ...]]:
    """The given tools registered for the duration of a `with` block, and unregistered after it, however
    it ends."""
    done: list[Tool] = []
    try:
        for tool in tools:
            done.append(register(tool))
        yield tools
    finally:
        for tool in reversed(done):
            unregister(tool.name)
