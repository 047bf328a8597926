"""The vocabulary every tool is written in: error codes, data types, literal roles, semantic checks,
`Param` and `ToolSpec`, and the helpers the tool modules build their specs with. Pure data, no I/O.

A data parameter (``Param.accepts``) takes an opaque handle that an earlier call of the same episode
returned, of one of the accepted data types, or, where ``Param.literal`` names a role, the task's own
declared value for that role. Every other parameter is checked for meaning by the simulator
(``Param.check``). The tools themselves live one category per module in this package (see
``toolkit/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------- error codes

INVALID_INPUT = "INVALID_INPUT"
OPERATION_FAILED = "OPERATION_FAILED"
TIMEOUT = "TIMEOUT"
FILE_NOT_FOUND = "FILE_NOT_FOUND"
PERMISSION_DENIED = "PERMISSION_DENIED"
NETWORK_ERROR = "NETWORK_ERROR"
INVALID_RESPONSE = "INVALID_RESPONSE"
CALCULATION_ERROR = "CALCULATION_ERROR"
OVERFLOW = "OVERFLOW"

COMMON_ERRORS: tuple[str, ...] = (INVALID_INPUT, OPERATION_FAILED, TIMEOUT)
CATEGORY_ERRORS: dict[str, tuple[str, ...]] = {
    "data_processing": (),
    "file_operations": (FILE_NOT_FOUND, PERMISSION_DENIED),
    "network": (NETWORK_ERROR, INVALID_RESPONSE),
    "computation": (CALCULATION_ERROR, OVERFLOW),
    "integration": (),
    "utility": (),
}
ERROR_CODES: tuple[str, ...] = (
    INVALID_INPUT, OPERATION_FAILED, TIMEOUT, FILE_NOT_FOUND, PERMISSION_DENIED, NETWORK_ERROR,
    INVALID_RESPONSE, CALCULATION_ERROR, OVERFLOW,
)

JSON_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "array", "object")

CATEGORIES: dict[str, tuple[str, ...]] = {
    "data_processing": ("parser", "transformer", "filter", "validator", "aggregator"),
    "file_operations": ("reader", "writer", "scanner", "converter", "compressor"),
    "network": ("fetcher", "poster", "monitor", "router", "validator"),
    "computation": ("calculator", "analyzer", "predictor", "optimizer", "simulator"),
    "integration": ("authenticator", "connector", "mapper", "queue", "scheduler"),
    "utility": ("logger", "cache", "tracker", "notifier", "helper"),
}

# --------------------------------------------------------------------------- data types

DATA_TYPES: dict[str, str] = {
    "raw": "unparsed content in a known format (csv, json, xml or yaml)",
    "records": "structured records with named, typed fields",
    "summary": "one row per group with an aggregate metric",
    "file_list": "a list of files found in a directory",
    "file": "a file written to storage",
    "archive": "a compressed archive",
    "response": "an HTTP response body with its status",
    "session": "an authenticated session with an external service",
    "connection": "an open connection to an external system",
    "number": "a single computed value",
    "analysis": "statistical findings about a dataset",
    "forecast": "predicted future values of a field",
    "optimum": "the best parameter values found under constraints",
    "simulation": "outcomes of simulated scenarios",
    "status": "availability and latency of a service",
    "queued": "messages waiting on a queue",
    "job": "a scheduled recurring job",
    "log": "an entry in the run log",
    "event": "a tracked progress event",
    "notification": "a delivered notification",
    "value": "a small derived value (an id, a slug, a hash)",
}
ANY = "any"  # a data parameter that takes a handle of any type
SAME = "same"  # an output of the same type as the input (a pass-through such as a cache)

# Literal roles: values the task itself declares in its inputs, that a parameter may take instead of a handle.
LITERAL_ROLES: tuple[str, ...] = (
    "source_path", "source_directory", "source_url", "service", "credential", "endpoint",
    "target_system", "recipient", "queue_name", "output_path",
)

# Semantic checks a non-data parameter is held to (see benchmark.simulator for each rule).
CHECKS: tuple[str, ...] = (
    "condition", "expression", "fields", "field", "numeric_field", "operations", "rules", "mapping",
    "scenario", "constraints", "cron", "timezone", "identifier", "text", "format_of_input", "other_format",
)


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str  # JSON Schema type, one of JSON_TYPES
    description: str
    required: bool = True
    enum: tuple[str, ...] | None = None
    accepts: tuple[str, ...] | None = None  # data types of the handles it takes (a data parameter)
    literal: str | None = None  # a literal role (LITERAL_ROLES) whose task value it also takes
    check: str | None = None  # semantic check (CHECKS)
    minimum: float | None = None
    maximum: float | None = None

    @property
    def is_data(self) -> bool:
        return self.accepts is not None

    def schema(self) -> dict[str, Any]:
        prop: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.enum is not None:
            prop["enum"] = list(self.enum)
        if self.type == "array":
            prop["items"] = {"type": "string"}
        if self.minimum is not None:
            prop["minimum"] = self.minimum
        if self.maximum is not None:
            prop["maximum"] = self.maximum
        return prop


# name -> (spec, schema): the spec is kept so an ad hoc ToolSpec with a catalog name never
# receives the catalog tool's cached schema.
_SCHEMA_CACHE: dict[str, tuple[ToolSpec, dict[str, Any]]] = {}


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str  # f"{category}_{operation}"
    category: str
    operation: str
    purpose: str  # one sentence: what the tool does
    parameters: tuple[Param, ...]
    output: str  # data type of the handle a success returns (DATA_TYPES, or SAME)
    returns: tuple[tuple[str, str], ...]  # (field, JSON type) of the summary beyond handle and type
    errors: tuple[str, ...]
    uses: tuple[str, ...]  # everyday wording for what it is used for (part of the public description)

    @property
    def param_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.parameters)

    @property
    def required_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.parameters if p.required)

    @property
    def optional_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.parameters if not p.required)

    @property
    def data_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.parameters if p.is_data)

    @property
    def description(self) -> str:
        """The description every model receives: purpose, typed inputs and output, typical uses."""
        takes = []
        for p in self.data_params:
            kinds = "any handle" if p.accepts == (ANY,) else " or ".join(f"`{t}`" for t in p.accepts or ())
            if p.literal:
                kinds += f" handle, or the task's {p.literal.replace('_', ' ')}"
            elif p.accepts != (ANY,):
                kinds += " handle"
            takes.append(f"`{p.name}` ({kinds}{'' if p.required else ', optional'})")
        literal_only = [p for p in self.parameters if p.literal and not p.is_data]
        takes.extend(f"`{p.name}` (the task's {p.literal.replace('_', ' ')})" for p in literal_only)
        output = "a handle of the same type as its input" if self.output == SAME else f"a `{self.output}` handle"
        text = f"{self.purpose} Takes: {', '.join(takes) or 'no data'}. Returns: {output}."
        return f"{text} Typical uses: {'; '.join(self.uses)}."

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this tool. Cached and shared: do not mutate it."""
        hit = _SCHEMA_CACHE.get(self.name)
        if hit is not None and hit[0] is self:
            return hit[1]
        schema = {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {
                    "type": "object",
                    "properties": {p.name: p.schema() for p in self.parameters},
                    "required": [p.name for p in self.parameters if p.required],
                    "additionalProperties": False,
                },
            },
        }
        _SCHEMA_CACHE[self.name] = (self, schema)
        return schema


# --------------------------------------------------------------------------- helpers

_HANDLE_HINT = "the `handle` an earlier result returned"


def _data(name: str, accepts: Iterable[str], what: str, *, required: bool = True, literal: str | None = None) -> Param:
    accepts = tuple(accepts)
    kinds = "any type" if accepts == (ANY,) else "type " + " or ".join(accepts)
    extra = f", or the task's {literal.replace('_', ' ')}" if literal else ""
    return Param(name, "string", f"{what}: {_HANDLE_HINT} ({kinds}){extra}.", required=required, accepts=accepts, literal=literal)


def _lit(name: str, role: str, what: str) -> Param:
    return Param(name, "string", f"{what}: exactly the {role.replace('_', ' ')} the task names.", literal=role)


def _tool(
    category: str,
    operation: str,
    purpose: str,
    parameters: Iterable[Param],
    output: str,
    returns: Iterable[tuple[str, str]],
    uses: Iterable[str],
) -> ToolSpec:
    return ToolSpec(
        name=f"{category}_{operation}",
        category=category,
        operation=operation,
        purpose=purpose,
        parameters=tuple(parameters),
        output=output,
        returns=tuple(returns),
        errors=COMMON_ERRORS + CATEGORY_ERRORS[category],
        uses=tuple(uses),
    )


_FORMATS = ("json", "csv", "xml", "yaml")
_TABULAR = ("records", "summary")
_RESULTS = ("records", "summary", "analysis", "forecast", "number", "optimum", "simulation", "response")
