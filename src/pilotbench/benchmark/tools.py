"""The catalog of the 30 simulated tools (SPEC 1.1): pure data, no I/O.

Each tool is a :class:`ToolSpec`: its typed parameters (rendered as an OpenAI function schema),
the fields of a successful output, the error codes it can return, the tools whose output it
usually consumes, and the wording used to describe it at each task difficulty (`verbs` for
medium descriptions, `goal_phrases` for hard and very hard ones).

Every success output carries a data ``handle`` that later steps pass as their ``input``, and a
``record_count``; the simulator (``benchmark.simulator``) produces these outputs.
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
    INVALID_INPUT,
    OPERATION_FAILED,
    TIMEOUT,
    FILE_NOT_FOUND,
    PERMISSION_DENIED,
    NETWORK_ERROR,
    INVALID_RESPONSE,
    CALCULATION_ERROR,
    OVERFLOW,
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


# --------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str  # JSON Schema type, one of JSON_TYPES
    description: str
    required: bool = True
    enum: tuple[str, ...] | None = None

    def schema(self) -> dict[str, Any]:
        prop: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.enum is not None:
            prop["enum"] = list(self.enum)
        if self.type == "array":
            prop["items"] = {"type": "string"}
        return prop


# name -> (spec, schema): the spec is kept so an ad hoc ToolSpec with a catalog name never
# receives the catalog tool's cached schema.
_SCHEMA_CACHE: dict[str, tuple[ToolSpec, dict[str, Any]]] = {}


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str  # f"{category}_{operation}"
    category: str
    operation: str
    description: str
    parameters: tuple[Param, ...]
    returns: tuple[tuple[str, str], ...]  # (field, JSON type) of a success output
    errors: tuple[str, ...]
    dependencies: tuple[str, ...]
    verbs: tuple[str, ...]
    goal_phrases: tuple[str, ...]

    @property
    def param_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.parameters)

    @property
    def required_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.parameters if p.required)

    @property
    def optional_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.parameters if not p.required)

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
                },
            },
        }
        _SCHEMA_CACHE[self.name] = (self, schema)
        return schema


# --------------------------------------------------------------------------- helpers


def _input(what: str = "data") -> Param:
    return Param("input", "string", f"Data handle of the {what} produced by an earlier step (e.g. 'dh_1a2b3c4d').")


_OUT = (("handle", "string"), ("record_count", "integer"))


def _tool(
    category: str,
    operation: str,
    description: str,
    parameters: Iterable[Param],
    returns: Iterable[tuple[str, str]],
    dependencies: Iterable[str],
    verbs: Iterable[str],
    goal_phrases: Iterable[str],
) -> ToolSpec:
    return ToolSpec(
        name=f"{category}_{operation}",
        category=category,
        operation=operation,
        description=description,
        parameters=tuple(parameters),
        returns=_OUT + tuple(returns),
        errors=COMMON_ERRORS + CATEGORY_ERRORS[category],
        dependencies=tuple(dependencies),
        verbs=tuple(verbs),
        goal_phrases=tuple(goal_phrases),
    )


_ENCODINGS = ("utf-8", "utf-16", "latin-1", "ascii")
_DATA_FORMATS = ("json", "csv", "xml", "yaml", "parquet")

# --------------------------------------------------------------------------- the catalog

_CATALOG: tuple[ToolSpec, ...] = (
    # ----------------------------------------------------------------- data_processing
    _tool(
        "data_processing", "parser",
        "Parses raw text or bytes into structured records. Detects fields and reports lines it could not parse.",
        (
            _input("raw content"),
            Param("format", "string", "Format of the raw content.", enum=("json", "csv", "xml", "yaml")),
            Param("strict", "boolean", "Fail on the first malformed record instead of skipping it.", required=False),
            Param("delimiter", "string", "Field delimiter for CSV input (default ',').", required=False),
        ),
        (("fields", "array"), ("parse_warnings", "integer")),
        ("file_operations_reader",),
        ("parse", "parse the raw input", "extract structured records"),
        (
            "turn the raw export into something we can work with",
            "make sense of the vendor's dump before anyone looks at it",
            "get the incoming feed into a usable shape",
        ),
    ),
    _tool(
        "data_processing", "transformer",
        "Applies an ordered list of transformations (rename, cast, derive, normalise) to every record.",
        (
            _input("records"),
            Param("operations", "array", "Transformations in order, e.g. ['rename:amt->amount', 'cast:amount:float']."),
            Param("preserve_original", "boolean", "Keep the untransformed fields next to the new ones.", required=False),
        ),
        (("fields_changed", "integer"),),
        ("data_processing_parser",),
        ("transform", "reshape the records", "apply the transformations"),
        (
            "bring the records in line with our reporting layout",
            "normalise the figures into the house conventions",
            "prepare the dataset the way the downstream team expects it",
        ),
    ),
    _tool(
        "data_processing", "filter",
        "Keeps the records that match a condition and drops the rest.",
        (
            _input("records"),
            Param("condition", "string", "Boolean expression over record fields, e.g. \"status == 'active' and amount > 100\"."),
            Param("limit", "integer", "Maximum number of records to keep.", required=False),
            Param("case_sensitive", "boolean", "Compare strings case-sensitively (default true).", required=False),
        ),
        (("dropped_count", "integer"),),
        ("data_processing_parser",),
        ("filter", "filter out unwanted records", "keep only the matching rows"),
        (
            "narrow the data down to what matters for this review",
            "discard the noise so only relevant entries remain",
            "focus on the customers who meet the campaign criteria",
        ),
    ),
    _tool(
        "data_processing", "validator",
        "Checks every record against a set of rules (required fields, types, ranges) and reports violations.",
        (
            _input("records"),
            Param("rules", "object", "Validation rules keyed by field, e.g. {\"amount\": {\"type\": \"number\", \"min\": 0}}."),
            Param("fail_fast", "boolean", "Stop at the first violation.", required=False),
        ),
        (("valid", "boolean"), ("error_count", "integer")),
        ("data_processing_parser",),
        ("validate", "validate the records", "check the data against rules"),
        (
            "make sure nothing malformed slips into the books",
            "confirm the dataset meets our quality bar",
            "catch bad entries before they reach finance",
        ),
    ),
    _tool(
        "data_processing", "aggregator",
        "Groups records by one or more fields and computes a summary metric for each group.",
        (
            _input("records"),
            Param("group_by", "array", "Fields to group by, e.g. ['region', 'month']."),
            Param("metric", "string", "Aggregate to compute per group.", enum=("sum", "avg", "count", "min", "max")),
            Param("field", "string", "Field the metric is computed over (not needed for count).", required=False),
        ),
        (("group_count", "integer"), ("summary", "object")),
        ("data_processing_transformer",),
        ("aggregate", "summarise by group", "roll up the totals"),
        (
            "produce the per-region headline numbers",
            "give management one line per segment",
            "condense the detail into totals leadership can digest",
        ),
    ),
    # ----------------------------------------------------------------- file_operations
    _tool(
        "file_operations", "reader",
        "Reads a file from storage and returns a handle to its contents.",
        (
            Param("path", "string", "Path of the file, e.g. '/data/exports/orders.csv'."),
            Param("encoding", "string", "Text encoding of the file (default utf-8).", required=False, enum=_ENCODINGS),
            Param("max_bytes", "integer", "Stop after this many bytes.", required=False),
        ),
        (("bytes_read", "integer"), ("content_type", "string")),
        (),
        ("read", "read the file", "load the file contents"),
        (
            "get at what last night's export left on disk",
            "open up the archived ledger from the shared drive",
            "pull in the quarterly statement we keep locally",
        ),
    ),
    _tool(
        "file_operations", "writer",
        "Writes a dataset to a file in the requested format, creating parent directories as needed.",
        (
            _input("dataset"),
            Param("path", "string", "Destination path, e.g. '/data/out/report.json'."),
            Param("mode", "string", "What to do if the file exists (default overwrite).", required=False,
                  enum=("overwrite", "append", "create")),
            Param("format", "string", "Output format (default: from the file extension).", required=False, enum=_DATA_FORMATS),
        ),
        (("bytes_written", "integer"), ("path", "string")),
        ("data_processing_transformer",),
        ("write", "write the file", "save the results to disk"),
        (
            "leave a copy of the results where the auditors can find them",
            "persist the finished dataset for tomorrow's batch",
            "put the cleaned output somewhere permanent",
        ),
    ),
    _tool(
        "file_operations", "scanner",
        "Lists the files under a directory that match a glob pattern, with their sizes.",
        (
            Param("directory", "string", "Directory to search, e.g. '/data/incoming'."),
            Param("pattern", "string", "Glob pattern (default '*').", required=False),
            Param("recursive", "boolean", "Descend into subdirectories.", required=False),
            Param("max_depth", "integer", "Maximum depth when recursive.", required=False),
        ),
        (("total_bytes", "integer"),),
        (),
        ("scan", "scan the directory", "list matching files"),
        (
            "find out which drop-zone uploads arrived overnight",
            "take stock of everything sitting in the landing folder",
            "discover which diagnostic bundles exist for last week",
        ),
    ),
    _tool(
        "file_operations", "converter",
        "Converts file contents from one format to another, preserving records and field types.",
        (
            _input("file contents"),
            Param("target_format", "string", "Format to convert to.", enum=_DATA_FORMATS),
            Param("source_format", "string", "Format of the input (default: detected).", required=False, enum=_DATA_FORMATS),
        ),
        (("output_format", "string"),),
        ("file_operations_reader",),
        ("convert", "convert the format", "change the file format"),
        (
            "get the legacy export into the shape the new warehouse accepts",
            "make the partner's files usable by our BI stack",
            "switch the archive over to an open standard",
        ),
    ),
    _tool(
        "file_operations", "compressor",
        "Compresses a file or dataset with the chosen algorithm and reports the compression ratio.",
        (
            _input("file"),
            Param("algorithm", "string", "Compression algorithm (default gzip).", required=False,
                  enum=("gzip", "zip", "bzip2", "zstd")),
            Param("level", "integer", "Compression level, 1 (fast) to 9 (small).", required=False),
        ),
        (("compressed_bytes", "integer"), ("ratio", "number")),
        ("file_operations_writer",),
        ("compress", "compress the output", "shrink the file size"),
        (
            "make the bundle small enough to email",
            "cut the storage bill for the nightly archives",
            "pack the results tightly for cold storage",
        ),
    ),
    # ----------------------------------------------------------------- network
    _tool(
        "network", "fetcher",
        "Fetches data from a remote HTTP endpoint and returns a handle to the response body.",
        (
            Param("url", "string", "URL to fetch, e.g. 'https://api.partner.example/v2/rates'."),
            Param("method", "string", "HTTP method (default GET).", required=False, enum=("GET", "HEAD")),
            Param("headers", "object", "Extra request headers.", required=False),
            Param("timeout_seconds", "number", "Request timeout in seconds (default 30).", required=False),
        ),
        (("status_code", "integer"), ("content_type", "string")),
        (),
        ("fetch", "fetch the remote data", "download from the URL"),
        (
            "pull the latest figures from the partner service",
            "get today's exchange rates from the provider",
            "bring in the upstream vendor catalogue",
        ),
    ),
    _tool(
        "network", "poster",
        "Sends a dataset as the body of an HTTP POST to a remote endpoint and returns the endpoint's reply.",
        (
            _input("payload"),
            Param("url", "string", "Endpoint to post to, e.g. 'https://intake.partner.example/v1/orders'."),
            Param("headers", "object", "Extra request headers.", required=False),
            Param("retry", "boolean", "Retry once on a 5xx reply.", required=False),
        ),
        (("status_code", "integer"), ("response_id", "string")),
        ("data_processing_transformer",),
        ("post", "post the payload", "send the data to the endpoint"),
        (
            "hand the results over to the partner's intake API",
            "push our updates back to the supplier platform",
            "submit the order batch to the fulfilment provider",
        ),
    ),
    _tool(
        "network", "monitor",
        "Probes an endpoint repeatedly and reports its availability and latency.",
        (
            Param("endpoint", "string", "URL or host:port to probe."),
            Param("interval_seconds", "integer", "Seconds between probes (default 10).", required=False),
            Param("checks", "array", "Checks to run, e.g. ['http', 'tls', 'dns'].", required=False),
        ),
        (("healthy", "boolean"), ("latency_ms", "number")),
        (),
        ("monitor", "monitor the endpoint", "check endpoint health"),
        (
            "keep an eye on whether the payment gateway stays up",
            "know the moment the checkout service degrades",
            "watch response times on the customer portal",
        ),
    ),
    _tool(
        "network", "router",
        "Routes a batch of requests to a destination service using the chosen balancing strategy.",
        (
            _input("requests"),
            Param("destination", "string", "Target service or region, e.g. 'eu-west'."),
            Param("strategy", "string", "Balancing strategy (default round_robin).", required=False,
                  enum=("round_robin", "least_latency", "failover", "weighted")),
        ),
        (("route", "string"), ("hops", "integer")),
        ("network_fetcher",),
        ("route", "route the traffic", "direct requests to a destination"),
        (
            "spread the load across the regional data centres",
            "steer the traffic away from the failing site",
            "get each message to the right regional backend",
        ),
    ),
    _tool(
        "network", "validator",
        "Verifies an HTTP response: status code, content type and body against an expected schema.",
        (
            _input("response"),
            Param("expected_status", "integer", "Status code the response must have (default 200).", required=False),
            Param("schema", "object", "JSON Schema the body must satisfy.", required=False),
            Param("verify_ssl", "boolean", "Also check the server certificate chain.", required=False),
        ),
        (("valid", "boolean"), ("issues", "array")),
        ("network_fetcher",),
        ("verify the response", "validate the API response", "check the response against its contract"),
        (
            "be sure the partner's reply is trustworthy before we use it",
            "confirm the upstream service answered the way its contract promises",
            "reject replies from the vendor that look tampered with",
        ),
    ),
    # ----------------------------------------------------------------- computation
    _tool(
        "computation", "calculator",
        "Evaluates an arithmetic expression over the fields of a dataset and returns the result.",
        (
            _input("dataset"),
            Param("expression", "string", "Expression to evaluate, e.g. 'sum(amount) * 1.2'."),
            Param("precision", "integer", "Decimal places in the result (default 2).", required=False),
        ),
        (("result", "number"),),
        ("data_processing_parser",),
        ("calculate", "compute the expression", "work out the value"),
        (
            "figure out the total cost including tax",
            "derive the margin for each product line",
            "get the exact commission owed this month",
        ),
    ),
    _tool(
        "computation", "analyzer",
        "Runs a statistical analysis (descriptive, correlation, trend or anomaly) on a dataset.",
        (
            _input("dataset"),
            Param("analysis_type", "string", "Kind of analysis.", enum=("descriptive", "correlation", "trend", "anomaly")),
            Param("columns", "array", "Columns to include (default: all numeric).", required=False),
            Param("confidence", "number", "Confidence level between 0 and 1 (default 0.95).", required=False),
        ),
        (("findings", "array"), ("confidence", "number")),
        ("data_processing_aggregator",),
        ("analyze", "analyse the data", "find patterns"),
        (
            "understand what is driving the drop in renewals",
            "spot anything unusual in last quarter's sales",
            "explain which factors move customer churn",
        ),
    ),
    _tool(
        "computation", "predictor",
        "Fits a forecasting model on historical data and predicts future values of a target field.",
        (
            _input("historical data"),
            Param("target", "string", "Field to predict, e.g. 'units_sold'."),
            Param("horizon", "integer", "Number of future periods to predict (default 4).", required=False),
            Param("model", "string", "Model family (default linear).", required=False,
                  enum=("linear", "arima", "gradient_boosting")),
        ),
        (("predictions", "array"), ("accuracy", "number")),
        ("computation_analyzer",),
        ("predict", "forecast", "project future values"),
        (
            "estimate next quarter's demand before the planning meeting",
            "tell the buyers how much stock they will need in spring",
            "anticipate how many support tickets arrive next week",
        ),
    ),
    _tool(
        "computation", "optimizer",
        "Searches for the parameter values that minimise or maximise an objective under constraints.",
        (
            _input("model inputs"),
            Param("objective", "string", "Direction of the objective.", enum=("minimize", "maximize")),
            Param("constraints", "object", "Constraints by variable, e.g. {\"budget\": {\"max\": 50000}}.", required=False),
            Param("max_iterations", "integer", "Iteration budget (default 1000).", required=False),
        ),
        (("optimal_value", "number"), ("iterations", "integer")),
        ("computation_analyzer",),
        ("optimize", "optimise the objective", "find the best configuration"),
        (
            "squeeze the most value out of the marketing budget",
            "cut delivery costs as far as the constraints allow",
            "choose the staffing plan with the lowest overtime",
        ),
    ),
    _tool(
        "computation", "simulator",
        "Runs Monte Carlo simulations of a scenario and reports the mean outcome and whether it converged.",
        (
            _input("baseline figures"),
            Param("scenario", "object", "Scenario parameters, e.g. {\"price_change\": 0.05, \"demand_shock\": -0.1}."),
            Param("runs", "integer", "Number of simulation runs (default 1000).", required=False),
            Param("seed", "integer", "Random seed for reproducible runs.", required=False),
        ),
        (("mean_outcome", "number"), ("converged", "boolean")),
        ("computation_calculator",),
        ("simulate", "run the simulation", "model scenarios"),
        (
            "see how the portfolio would fare in a downturn",
            "try out the pricing change on paper before launch",
            "stress-test the capacity plan against peak season",
        ),
    ),
    # ----------------------------------------------------------------- integration
    _tool(
        "integration", "authenticator",
        "Authenticates against an external service with stored credentials and returns a session handle.",
        (
            Param("service", "string", "Service to authenticate with, e.g. 'crm'."),
            Param("credential_ref", "string", "Reference to the stored credential, e.g. 'vault:crm/api'."),
            Param("scopes", "array", "Permission scopes to request.", required=False),
        ),
        (("expires_in", "integer"), ("scopes_granted", "array")),
        (),
        ("authenticate", "log in to the service", "obtain an access token"),
        (
            "prove who we are to the partner platform",
            "get cleared to use the billing provider",
            "get our credentials accepted by the CRM",
        ),
    ),
    _tool(
        "integration", "connector",
        "Opens a connection to an external system using an authenticated session.",
        (
            _input("authenticated session"),
            Param("target", "string", "System to connect to, e.g. 'erp.internal:443'."),
            Param("protocol", "string", "Connection protocol (default https).", required=False,
                  enum=("https", "grpc", "sftp", "amqp")),
            Param("pool_size", "integer", "Number of pooled connections (default 1).", required=False),
        ),
        (("connection_id", "string"), ("latency_ms", "number")),
        ("integration_authenticator",),
        ("connect", "open a connection", "establish a link to the system"),
        (
            "get a live line into the ERP",
            "hook us up to the warehouse management system",
            "set up a session with the legacy mainframe",
        ),
    ),
    _tool(
        "integration", "mapper",
        "Maps fields from one system's schema to another's, reporting fields it could not map.",
        (
            _input("records"),
            Param("mapping", "object", "Source field to target field, e.g. {\"cust_no\": \"customer_id\"}."),
            Param("drop_unmapped", "boolean", "Drop fields that have no mapping.", required=False),
        ),
        (("mapped_fields", "integer"), ("unmapped_fields", "array")),
        ("integration_connector",),
        ("map", "map the fields", "translate between schemas"),
        (
            "line up our customer fields with the CRM's layout",
            "make the two systems agree on what each column means",
            "match our product codes to the retailer's identifiers",
        ),
    ),
    _tool(
        "integration", "queue",
        "Enqueues a dataset as messages on a named message queue for asynchronous processing.",
        (
            _input("messages"),
            Param("queue_name", "string", "Name of the queue, e.g. 'orders.inbound'."),
            Param("priority", "integer", "Message priority, 0 (low) to 9 (high).", required=False),
            Param("delay_seconds", "number", "Delay before the messages become visible.", required=False),
        ),
        (("message_id", "string"), ("queue_depth", "integer")),
        ("integration_mapper",),
        ("enqueue", "queue the job", "put the message on the queue"),
        (
            "hand the work off for the background workers to pick up",
            "buffer the orders so nothing is lost during the spike",
            "defer the heavy processing to off-peak workers",
        ),
    ),
    _tool(
        "integration", "scheduler",
        "Schedules a job to run on a cron expression and returns the job id and next run time.",
        (
            _input("job definition"),
            Param("cron", "string", "Cron expression, e.g. '0 6 * * 1'."),
            Param("timezone", "string", "IANA time zone (default UTC).", required=False),
            Param("enabled", "boolean", "Create the job enabled (default true).", required=False),
        ),
        (("job_id", "string"), ("next_run", "string")),
        ("integration_queue",),
        ("schedule", "schedule the job", "set up a recurring run"),
        (
            "have this happen automatically every Monday morning",
            "make the refresh repeat nightly without anyone starting it",
            "set the export to kick off at the start of each month",
        ),
    ),
    # ----------------------------------------------------------------- utility
    _tool(
        "utility", "logger",
        "Writes a structured entry to the run log at the given level.",
        (
            Param("message", "string", "Text of the entry."),
            Param("level", "string", "Severity (default info).", required=False, enum=("debug", "info", "warning", "error")),
            Param("context", "object", "Extra key-value context stored with the entry.", required=False),
        ),
        (("log_id", "string"),),
        (),
        ("log", "write a log entry", "record the event in the log"),
        (
            "keep an audit trail of what happened during the run",
            "leave a note for the on-call engineer about this step",
            "make sure there is a permanent record for compliance",
        ),
    ),
    _tool(
        "utility", "cache",
        "Stores a dataset under a key for fast reuse, or returns the stored copy if the key is present.",
        (
            _input("dataset"),
            Param("key", "string", "Cache key, e.g. 'rates:2024-06-01'."),
            Param("ttl_seconds", "integer", "Time to live (default 3600).", required=False),
        ),
        (("cache_key", "string"), ("hit", "boolean")),
        (),
        ("cache", "cache the result", "store for reuse"),
        (
            "avoid recomputing the expensive lookup next time",
            "keep the intermediate results handy for quick reuse",
            "spare the upstream service repeated identical requests",
        ),
    ),
    _tool(
        "utility", "tracker",
        "Records a progress event for a dataset or job and returns the running event count.",
        (
            _input("dataset or job"),
            Param("event", "string", "Event name, e.g. 'stage_completed'."),
            Param("tags", "array", "Tags attached to the event.", required=False),
        ),
        (("event_id", "string"), ("total_events", "integer")),
        (),
        ("track", "track the progress", "record a tracking event"),
        (
            "follow how far the migration has progressed",
            "keep tabs on each shipment's status",
            "measure how many steps have finished so far",
        ),
    ),
    _tool(
        "utility", "notifier",
        "Sends a notification to a person or channel by email, chat, SMS or webhook.",
        (
            Param("recipient", "string", "Address, user or channel, e.g. 'finance-team@example.com'."),
            Param("message", "string", "Text of the notification."),
            Param("channel", "string", "Delivery channel (default email).", required=False,
                  enum=("email", "slack", "sms", "webhook")),
            Param("input", "string", "Optional data handle to attach.", required=False),
        ),
        (("notification_id", "string"), ("delivered", "boolean")),
        (),
        ("notify", "send a notification", "alert the recipient"),
        (
            "let the finance team know when the numbers are in",
            "tell the on-call engineer the job has finished",
            "ping the account manager about the result",
        ),
    ),
    _tool(
        "utility", "helper",
        "Performs a small formatting task on a value: date formatting, id generation, slugs or hashes.",
        (
            Param("operation", "string", "What to do with the value.",
                  enum=("format_date", "generate_id", "slugify", "hash")),
            Param("value", "string", "The value to work on."),
        ),
        (("output_value", "string"),),
        (),
        ("format the value", "generate an identifier", "apply a small helper function"),
        (
            "tidy up the date strings for the report header",
            "come up with a unique reference for this batch",
            "produce a URL-friendly slug for the product title",
        ),
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


def _check_catalog() -> None:
    expected = [f"{c}_{o}" for c, ops in CATEGORIES.items() for o in ops]
    assert list(TOOLS) == expected, "catalog does not follow CATEGORIES"
    for t in _CATALOG:
        for d in t.dependencies:
            assert d in TOOLS and d != t.name, f"{t.name}: bad dependency {d}"
        for p in t.parameters:
            assert p.type in JSON_TYPES, f"{t.name}.{p.name}: bad type {p.type}"


_check_catalog()
