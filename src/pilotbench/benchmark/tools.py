"""The catalog of the 30 simulated tools (SPEC 1.1): pure data, no I/O.

Every tool has typed inputs and one typed output. A *data* parameter (``Param.accepts``) takes
an opaque handle that an earlier call of the same episode returned, of one of the accepted data
types, or, where ``Param.literal`` names a role, the task's own declared value for that role (the
source file a reader starts from, the URL a fetcher starts from, ...). Every other parameter is
checked for meaning by the simulator (``Param.check``): a filter condition must parse and name
fields the data has, a path must be one the task names, a number must be in range.

Everything a model needs to use a tool is in its schema: the description says what the tool is
for (including the everyday wording a task may use for it), which data types it takes and which
it returns. The simulated models read tasks with nothing else.
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

# --------------------------------------------------------------------------- the catalog

_CATALOG: tuple[ToolSpec, ...] = (
    # ----------------------------------------------------------------- data_processing
    _tool(
        "data_processing", "parser",
        "Parses raw content into structured records with named, typed fields.",
        (
            _data("input", ("raw", "response"), "Content to parse"),
            Param("format", "string", "Format of the content; must match the format the input reports.",
                  enum=_FORMATS, check="format_of_input"),
            Param("strict", "boolean", "Fail on the first malformed record instead of skipping it.", required=False),
        ),
        "records", (("parse_warnings", "integer"),),
        ("parse raw exports into records", "turn a raw dump or feed into usable rows", "extract structured entries"),
    ),
    _tool(
        "data_processing", "transformer",
        "Applies an ordered list of transformations (rename, cast, derive, drop) to every record.",
        (
            _data("input", ("records",), "Records to transform"),
            Param("operations", "array",
                  "Transformations in order, each one of 'rename:OLD->NEW', 'cast:FIELD:int|float|str|date', "
                  "'derive:NEW=EXPRESSION' or 'drop:FIELD', over fields the records have.", check="operations"),
        ),
        "records", (("fields_changed", "integer"),),
        ("reshape or normalise records", "bring figures in line with house conventions", "rename, convert or derive fields"),
    ),
    _tool(
        "data_processing", "filter",
        "Keeps the records that match a condition and drops the rest.",
        (
            _data("input", ("records",), "Records to filter"),
            Param("condition", "string",
                  "Condition over the records' fields: FIELD OP VALUE joined by 'and'/'or', OP one of == != > >= < <=; "
                  "strings quoted, e.g. \"FIELD == 'x' and OTHER > 10\".", check="condition"),
            Param("limit", "integer", "Maximum number of records to keep.", required=False, minimum=1, maximum=1_000_000),
        ),
        "records", (("dropped_count", "integer"),),
        ("keep only the relevant entries", "narrow data down to what matters", "drop rows that do not meet criteria"),
    ),
    _tool(
        "data_processing", "validator",
        "Checks every record against rules per field and keeps the records that pass.",
        (
            _data("input", ("records",), "Records to validate"),
            Param("rules", "object",
                  "Rules keyed by an existing field, each an object with any of 'type', 'min', 'max', 'required', "
                  "e.g. {\"FIELD\": {\"required\": true}}.", check="rules"),
        ),
        "records", (("violations", "integer"),),
        ("check data quality before it is used", "catch malformed or out-of-range entries", "confirm records meet the rules"),
    ),
    _tool(
        "data_processing", "aggregator",
        "Groups records by fields and computes a metric per group.",
        (
            _data("input", ("records",), "Records to aggregate"),
            Param("group_by", "array", "Existing fields to group by.", check="fields"),
            Param("metric", "string", "Aggregate per group.", enum=("sum", "avg", "count", "min", "max")),
            Param("field", "string", "Numeric field the metric is computed over (not needed for count).",
                  required=False, check="numeric_field"),
        ),
        "summary", (("group_count", "integer"),),
        ("produce totals per segment", "roll detail up into headline numbers", "summarise by group"),
    ),
    # ----------------------------------------------------------------- file_operations
    _tool(
        "file_operations", "reader",
        "Reads a file from storage.",
        (
            _data("path", ("file_list",), "File to read", literal="source_path"),
            Param("encoding", "string", "Text encoding (default utf-8).", required=False,
                  enum=("utf-8", "utf-16", "latin-1", "ascii")),
        ),
        "raw", (("bytes_read", "integer"),),
        ("load a file kept on disk", "open an export or ledger from storage", "read what a job left on the drive"),
    ),
    _tool(
        "file_operations", "writer",
        "Writes a dataset to a file in the format its extension names.",
        (
            _data("input", _RESULTS + ("raw",), "Dataset to write"),
            _lit("path", "output_path", "Destination path"),
            Param("mode", "string", "What to do if the file exists (default overwrite).", required=False,
                  enum=("overwrite", "append", "create")),
        ),
        "file", (("bytes_written", "integer"),),
        ("save results to a file", "leave a copy where others can find it", "persist the output for later"),
    ),
    _tool(
        "file_operations", "scanner",
        "Lists the files under a directory that match a glob pattern.",
        (
            _lit("directory", "source_directory", "Directory to scan"),
            Param("pattern", "string", "Glob pattern (default '*').", required=False),
            Param("recursive", "boolean", "Descend into subdirectories.", required=False),
        ),
        "file_list", (("total_bytes", "integer"),),
        ("find which files arrived in a folder", "take stock of a drop zone", "list the uploads waiting to be processed"),
    ),
    _tool(
        "file_operations", "converter",
        "Converts raw content from its format to another, keeping every record.",
        (
            _data("input", ("raw",), "Content to convert"),
            Param("target_format", "string", "Format to convert to; must differ from the input's.",
                  enum=_FORMATS, check="other_format"),
        ),
        "raw", (("output_format", "string"),),
        ("change a file's format", "make legacy files usable by a newer system", "switch content to an open standard"),
    ),
    _tool(
        "file_operations", "compressor",
        "Compresses a written file into an archive.",
        (
            _data("input", ("file",), "File to compress"),
            Param("algorithm", "string", "Compression algorithm (default gzip).", required=False,
                  enum=("gzip", "zip", "bzip2", "zstd")),
            Param("level", "integer", "Compression level, 1 (fast) to 9 (small).", required=False, minimum=1, maximum=9),
        ),
        "archive", (("ratio", "number"),),
        ("shrink a file for storage or email", "pack results tightly for archiving", "cut the size of a bundle"),
    ),
    # ----------------------------------------------------------------- network
    _tool(
        "network", "fetcher",
        "Downloads data from a remote HTTP endpoint, optionally within an authenticated session.",
        (
            _lit("url", "source_url", "URL to fetch"),
            _data("session", ("session",), "Session to fetch within, when the service needs one", required=False),
            Param("timeout_seconds", "number", "Request timeout in seconds (default 30).", required=False,
                  minimum=1, maximum=600),
        ),
        "response", (("status_code", "integer"),),
        ("pull the latest data from a remote service", "download a feed or rates from a provider", "bring in data from an API"),
    ),
    _tool(
        "network", "poster",
        "Sends a dataset in an HTTP POST to the task's endpoint and returns the reply.",
        (
            _data("input", _RESULTS + ("file",), "Payload to send"),
            _lit("url", "endpoint", "Endpoint to post to"),
            _data("session", ("session",), "Session to post within, when the endpoint needs one", required=False),
        ),
        "response", (("status_code", "integer"),),
        ("hand results over to a partner's API", "submit a batch to an external platform", "push updates upstream"),
    ),
    _tool(
        "network", "monitor",
        "Polls the service behind a response and reports its availability and latency.",
        (
            _data("input", ("response", "connection"), "Response or connection whose service to watch"),
            Param("interval_seconds", "integer", "Seconds between probes (default 10).", required=False,
                  minimum=1, maximum=3600),
        ),
        "status", (("healthy", "boolean"), ("latency_ms", "number")),
        ("keep an eye on whether a service stays up", "watch response times after a hand-over", "check a service's health"),
    ),
    _tool(
        "network", "router",
        "Routes a response's requests on to a regional destination with a balancing strategy.",
        (
            _data("input", ("response", "queued"), "Requests to route"),
            Param("destination", "string", "Region to route to.", enum=("eu-west", "us-east", "ap-south")),
            Param("strategy", "string", "Balancing strategy (default round_robin).", required=False,
                  enum=("round_robin", "least_latency", "failover")),
        ),
        "response", (("hops", "integer"),),
        ("spread traffic across regional backends", "steer requests to the right region", "balance load between sites"),
    ),
    _tool(
        "network", "validator",
        "Verifies a response's status code and body, and passes it on if it is trustworthy.",
        (
            _data("input", ("response",), "Response to verify"),
            Param("expected_status", "integer", "Status code the response must have (default 200).", required=False,
                  minimum=100, maximum=599),
        ),
        "response", (("issues", "array"),),
        ("make sure a partner's reply can be trusted", "confirm an upstream answer honours its contract", "verify a response"),
    ),
    # ----------------------------------------------------------------- computation
    _tool(
        "computation", "calculator",
        "Evaluates an arithmetic expression over aggregates of a dataset's numeric fields.",
        (
            _data("input", _TABULAR, "Dataset to compute over"),
            Param("expression", "string",
                  "Arithmetic over sum(F), avg(F), min(F), max(F), count() of numeric fields F, numbers and + - * / ( ), "
                  "e.g. 'sum(F) * 1.2'.", check="expression"),
        ),
        "number", (("result", "number"),),
        ("work out a total, margin or commission", "compute a figure from the data", "derive an exact amount"),
    ),
    _tool(
        "computation", "analyzer",
        "Runs a statistical analysis (descriptive, correlation, trend or anomaly) on a dataset.",
        (
            _data("input", _TABULAR, "Dataset to analyse"),
            Param("analysis_type", "string", "Kind of analysis.", enum=("descriptive", "correlation", "trend", "anomaly")),
            Param("columns", "array", "Existing fields to include (default: all numeric).", required=False, check="fields"),
        ),
        "analysis", (("findings", "array"),),
        ("understand what drives a change", "spot anything unusual in the figures", "find patterns and outliers"),
    ),
    _tool(
        "computation", "predictor",
        "Fits a forecasting model to historical data and predicts a numeric field.",
        (
            _data("input", _TABULAR, "Historical data"),
            Param("target", "string", "Numeric field to predict.", check="numeric_field"),
            Param("horizon", "integer", "Future periods to predict (default 4).", required=False, minimum=1, maximum=24),
        ),
        "forecast", (("accuracy", "number"),),
        ("estimate next period's demand", "anticipate future volumes", "forecast a figure ahead of planning"),
    ),
    _tool(
        "computation", "optimizer",
        "Searches for the plan that minimises or maximises an objective given a forecast or findings.",
        (
            _data("input", ("forecast", "analysis", "simulation"), "Forecast, findings or simulation to optimise"),
            Param("objective", "string", "Direction of the objective.", enum=("minimize", "maximize")),
            Param("constraints", "object", "Bounds by name, each {\"min\": n} and/or {\"max\": n}.", required=False,
                  check="constraints"),
        ),
        "optimum", (("optimal_value", "number"),),
        ("get the most out of a budget", "cut costs as far as constraints allow", "choose the best plan"),
    ),
    _tool(
        "computation", "simulator",
        "Runs Monte Carlo simulations of scenarios over a dataset or forecast.",
        (
            _data("input", _TABULAR + ("forecast",), "Baseline to simulate from"),
            Param("scenario", "object", "Scenario parameters by name, numeric values, e.g. {\"price_change\": 0.05}.",
                  check="scenario"),
            Param("runs", "integer", "Simulation runs (default 1000).", required=False, minimum=10, maximum=100_000),
        ),
        "simulation", (("mean_outcome", "number"),),
        ("see how things would fare under a shock", "try a change on paper before launch", "stress-test a plan"),
    ),
    # ----------------------------------------------------------------- integration
    _tool(
        "integration", "authenticator",
        "Authenticates against the task's external service with its stored credential.",
        (
            _lit("service", "service", "Service to authenticate with"),
            _lit("credential_ref", "credential", "Reference to the stored credential"),
        ),
        "session", (("expires_in", "integer"),),
        ("log in to an external platform", "get cleared to use a provider", "prove who we are to a service"),
    ),
    _tool(
        "integration", "connector",
        "Opens a connection to the task's target system within an authenticated session.",
        (
            _data("input", ("session",), "Authenticated session"),
            _lit("target", "target_system", "System to connect to"),
            Param("protocol", "string", "Connection protocol (default https).", required=False,
                  enum=("https", "grpc", "sftp", "amqp")),
        ),
        "connection", (("latency_ms", "number"),),
        ("open a live line into a back-office system", "hook up to the warehouse or ERP system", "set up a link to a system"),
    ),
    _tool(
        "integration", "mapper",
        "Maps records' fields onto a connected system's schema.",
        (
            _data("input", ("records",), "Records to map"),
            _data("connection", ("connection",), "Connection to the system whose schema to map onto"),
            Param("mapping", "object", "Existing field to target field name, e.g. {\"FIELD\": \"target_name\"}.",
                  check="mapping"),
        ),
        "records", (("unmapped_fields", "array"),),
        ("line our fields up with another system's layout", "translate between two systems' schemas", "match codes between systems"),
    ),
    _tool(
        "integration", "queue",
        "Enqueues a dataset as messages on the task's queue for asynchronous processing.",
        (
            _data("input", ("records", "summary", "file", "response"), "Messages to enqueue"),
            _lit("queue_name", "queue_name", "Queue name"),
            Param("priority", "integer", "Priority, 0 (low) to 9 (high).", required=False, minimum=0, maximum=9),
        ),
        "queued", (("queue_depth", "integer"),),
        ("hand work off to background workers", "buffer items so nothing is lost in a spike", "defer heavy processing"),
    ),
    _tool(
        "integration", "scheduler",
        "Schedules the processing of queued work, a file or a connection's sync on a cron expression.",
        (
            _data("input", ("queued", "file", "connection"), "What the job runs on"),
            Param("cron", "string", "Five-field cron expression, e.g. '0 6 * * 1'.", check="cron"),
            Param("timezone", "string", "IANA time zone the cron times are in (default UTC).", required=False,
                  check="timezone"),
        ),
        "job", (("next_run", "string"),),
        ("have something happen automatically on a timetable", "make a refresh repeat nightly", "set a recurring run"),
    ),
    # ----------------------------------------------------------------- utility
    _tool(
        "utility", "logger",
        "Writes an entry about a result to the run log.",
        (
            _data("input", (ANY,), "Result the entry is about"),
            Param("message", "string", "Text of the entry.", check="text"),
            Param("level", "string", "Severity (default info).", required=False, enum=("debug", "info", "warning", "error")),
        ),
        "log", (("log_id", "string"),),
        ("keep an audit trail of a result", "leave a permanent record for compliance", "note what happened in the log"),
    ),
    _tool(
        "utility", "cache",
        "Stores a result under a key for fast reuse and returns the cached copy.",
        (
            _data("input", _RESULTS, "Result to cache"),
            Param("key", "string", "Cache key: letters, digits and . _ : - only.", check="identifier"),
            Param("ttl_seconds", "integer", "Time to live (default 3600).", required=False, minimum=1, maximum=604_800),
        ),
        SAME, (("hit", "boolean"),),
        ("keep intermediate results handy for reuse", "avoid recomputing an expensive lookup", "spare a service repeat requests"),
    ),
    _tool(
        "utility", "tracker",
        "Records a progress event for a result or job.",
        (
            _data("input", (ANY,), "Result or job the event is about"),
            Param("event", "string", "Event name: letters, digits and . _ : - only.", check="identifier"),
        ),
        "event", (("total_events", "integer"),),
        ("follow how far work has progressed", "keep tabs on a job's status", "record a milestone"),
    ),
    _tool(
        "utility", "notifier",
        "Sends a result to the task's recipient by email, chat, SMS or webhook.",
        (
            _data("input", (ANY,), "Result to send"),
            _lit("recipient", "recipient", "Who to notify"),
            Param("message", "string", "Text of the notification.", check="text"),
            Param("channel", "string", "Delivery channel (default email).", required=False,
                  enum=("email", "slack", "sms", "webhook")),
        ),
        "notification", (("delivered", "boolean"),),
        ("let a team know a result is in", "tell someone a job has finished", "ping a colleague with the outcome"),
    ),
    _tool(
        "utility", "helper",
        "Derives a small value from a result: a content hash, a unique id or a slug.",
        (
            _data("input", (ANY,), "Result to derive the value from"),
            Param("operation", "string", "What to derive.", enum=("hash", "generate_id", "slugify")),
        ),
        "value", (("output_value", "string"),),
        ("fingerprint a result", "come up with a unique reference for a batch", "produce a URL-friendly label"),
    ),
)

TOOLS: dict[str, ToolSpec] = {t.name: t for t in _CATALOG}
TOOL_NAMES: tuple[str, ...] = tuple(TOOLS)


def get_tool(name: str) -> ToolSpec:
    """The spec of a catalog tool; KeyError naming the tool if it is not one of the 30."""
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
    expected = [f"{c}_{o}" for c, ops in CATEGORIES.items() for o in ops]
    assert list(TOOLS) == expected, "catalog does not follow CATEGORIES"
    for t in _CATALOG:
        assert t.output in DATA_TYPES or t.output == SAME, f"{t.name}: bad output {t.output}"
        for p in t.parameters:
            assert p.type in JSON_TYPES, f"{t.name}.{p.name}: bad type {p.type}"
            assert p.check is None or p.check in CHECKS, f"{t.name}.{p.name}: bad check {p.check}"
            assert p.literal is None or p.literal in LITERAL_ROLES, f"{t.name}.{p.name}: bad role {p.literal}"
            for a in p.accepts or ():
                assert a in DATA_TYPES or a == ANY, f"{t.name}.{p.name}: bad data type {a}"


_check_catalog()
