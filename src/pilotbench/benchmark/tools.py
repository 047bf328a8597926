"""The catalog of the simulated tools (docs/scoring.md, "The world of a test"): pure data, no I/O.

Every tool has typed inputs and one typed output. A *data* parameter (``Param.accepts``) takes
an opaque handle that an earlier call of the same episode returned, of one of the accepted data
types, or, where ``Param.literal`` names a role, the task's own declared value for that role (the
source file a reader starts from, the URL a fetcher starts from, ...). Every other parameter is
checked for meaning by the simulator (``Param.check``): a filter condition must parse and name
fields the data has, a path must be one the task names, a number must be in range.

Everything a model needs to use a tool is in its schema: the description says what the tool is
for (including the everyday wording a task may use for it), which data types it takes and which
it returns. The simulated models read tasks with nothing else.

Each tool is written once, in its category's module of ``toolkit/`` (its spec, wording and simulator
behaviour), and registered there; this module is the catalog's public face: ``TOOLS`` is the live
registry (the 30 built-ins, plus any tool registered at run time), ``TOOL_NAMES`` the built-ins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .toolkit import BUILTIN_NAMES, TOOLS
from .toolkit.spec import (
    ANY,
    CALCULATION_ERROR,
    CATEGORIES,
    CATEGORY_ERRORS,
    CHECKS,
    COMMON_ERRORS,
    DATA_TYPES,
    ERROR_CODES,
    FILE_NOT_FOUND,
    INVALID_INPUT,
    INVALID_RESPONSE,
    JSON_TYPES,
    LITERAL_ROLES,
    NETWORK_ERROR,
    OPERATION_FAILED,
    OVERFLOW,
    PERMISSION_DENIED,
    SAME,
    TIMEOUT,
    Param,
    ToolSpec,
)

__all__ = [
    "ANY", "CALCULATION_ERROR", "CATEGORIES", "CATEGORY_ERRORS", "CHECKS", "COMMON_ERRORS", "DATA_TYPES", "ERROR_CODES",
    "FILE_NOT_FOUND", "INVALID_INPUT", "INVALID_RESPONSE", "JSON_TYPES", "LITERAL_ROLES", "NETWORK_ERROR",
    "OPERATION_FAILED", "OVERFLOW", "PERMISSION_DENIED", "SAME", "TIMEOUT", "TOOLS", "TOOL_NAMES", "Param", "ToolSpec",
    "accepts", "get_tool", "output_type", "tool_schemas",
]

TOOL_NAMES: tuple[str, ...] = BUILTIN_NAMES  # the 30 built-in tools, in catalog order


def get_tool(name: str) -> ToolSpec:
    """The spec of a catalog tool; KeyError naming the tool if it is not registered."""
    try:
        return TOOLS[name]
    except KeyError:
        raise KeyError(f"unknown tool {name!r}; known tools: {', '.join(TOOL_NAMES)}") from None


def tool_schemas(names: Iterable[str]) -> list[dict[str, Any]]:
    """OpenAI ``tools`` entries for the given tool names, in the given order (shared: do not mutate)."""
    return [get_tool(n).schema() for n in names]


def output_type(spec: ToolSpec, input_type: str | None) -> str:
    """The data type a success returns, given the type of the handle in its `input` (for SAME)."""
    if spec.output == SAME:
        return input_type or "records"
    return spec.output


def accepts(param: Param, data_type: str) -> bool:
    return param.accepts is not None and (ANY in param.accepts or data_type in param.accepts)


def _check_catalog() -> None:
    """The built-ins follow CATEGORIES (each entry's own checks run when it is registered)."""
    expected = [f"{c}_{o}" for c, ops in CATEGORIES.items() for o in ops]
    assert list(BUILTIN_NAMES) == expected, "catalog does not follow CATEGORIES"


_check_catalog()
