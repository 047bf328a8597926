"""The task suite: five task types, generated deterministically from a seed.

A task is a typed composition of the catalog tools (``tools.py``): a seeded random walk over the
graph whose edges are the catalog's own data types (a parser's ``records`` go to a filter, a
reader's ``raw`` content to a parser, an authenticator's ``session`` to a fetcher, ...). Every
edge is a real data edge: each step after the first consumes the handle of an earlier step, every
step but the last feeds a later one, and some steps need two upstream outputs (a mapper takes
records *and* a connection; a fetcher or poster takes the session of the chain's authenticator).
The first step starts from a literal the task declares in its inputs (a source file, directory,
URL, or a service and credential), and so do the other literal roles a step needs (endpoint,
target system, recipient, queue name, output path).

An instance is a pure function of (seed, task type, index), so a suite of any size can be
materialised lazily and ``--num-instances`` can grow on resume without changing earlier instances.
The suite's version is a content hash of the generator's output (and the tool catalog it names),
stored with every result so that numbers from different suites are never mixed silently.

The description at each difficulty is the only place a model learns what to do; its wording
follows the tools' public descriptions (purpose and typical uses) so a careful reader can map it
onto the schemas, and never names a tool except at ``very_easy`` and ``easy``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .protocol import PROTOCOL_REVISION
from .scoring import SCORING_REVISION
from .tools import ANY, SAME, TOOLS
from .types import DIFFICULTIES, TASK_TYPES

GENERATOR_VERSION = "3"
DEFAULT_SEED = 42

# Required tools per task type (inclusive bounds).
LENGTHS: dict[str, tuple[int, int]] = {
    "simple_task": (2, 2),
    "basic_task": (3, 3),
    "data_pipeline": (3, 5),
    "api_integration": (3, 5),
    "multi_stage_pipeline": (5, 7),
}

# --------------------------------------------------------------------------- the typed graph

# Tools a chain may start with (the only ones that take nothing but literals), with the literal role per param.
_ROOT_FEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "file_operations_reader": (("path", "source_path"),),
    "file_operations_scanner": (("directory", "source_directory"),),
    "network_fetcher": (("url", "source_url"),),
    "integration_authenticator": (("service", "service"), ("credential_ref", "credential")),
}
_AUTH = "integration_authenticator"
_ANY_TOOLS = frozenset(n for n, t in TOOLS.items() for p in t.data_params if p.accepts == (ANY,))
# Data types only the run log, tracker, notifier or helper take: a chain ends with them.
_FINAL_ONLY = frozenset({"log", "event", "notification", "value"})
# What the "any handle" utilities are sensibly used on (not a session or connection: a credential
# is nothing to notify anyone about).
_ANY_SKIP: dict[str, frozenset[str]] = {
    "utility_logger": frozenset({"session", "connection"}),
    "utility_tracker": frozenset({"session", "connection"}),
    "utility_notifier": frozenset({"session", "connection", "raw", "file_list"}),
    "utility_helper": frozenset({"session", "connection", "status", "job", "queued", "file_list"}),
}
# (producer, consumer) pairs that type-check but make no sense: a partner's reply to a POST is a receipt.
_BLOCKED_PAIRS = frozenset({("network_poster", "data_processing_parser"), ("network_poster", "network_poster")})


def _build_consumers() -> dict[str, tuple[tuple[str, str], ...]]:
    """data type -> ((tool, data param), ...): who may take a handle of that type in a generated chain."""
    out: dict[str, list[tuple[str, str]]] = {}
    for dtype in _all_types():
        if dtype in _FINAL_ONLY:
            continue
        for name, spec in TOOLS.items():
            if name in _ROOT_FEEDS and name not in ("file_operations_reader", "network_fetcher"):
                continue
            for p in spec.data_params:
                if p.accepts is None:
                    continue
                if p.accepts == (ANY,):
                    if dtype in _ANY_SKIP.get(name, frozenset()):
                        continue
                elif dtype not in p.accepts:
                    continue
                out.setdefault(dtype, []).append((name, p.name))
    return {k: tuple(v) for k, v in out.items()}


def _all_types() -> tuple[str, ...]:
    from .tools import DATA_TYPES

    return tuple(DATA_TYPES)


_CONSUMERS = _build_consumers()


def _find_main_param(tool: str) -> str | None:
    names = [p.name for p in TOOLS[tool].data_params]
    for n in ("input", "path"):
        if n in names:
            return n
    return None


# The data parameter that carries each step's main input (its `input`, or a reader's `path`).
_MAIN: dict[str, str | None] = {n: _find_main_param(n) for n in TOOLS}
# Parameters that take only a literal the task declares, per tool: (param, role).
_LITERAL_ONLY: dict[str, tuple[tuple[str, str], ...]] = {
    n: tuple((p.name, p.literal) for p in t.parameters if p.literal and not p.is_data) for n, t in TOOLS.items()
}
_PARAM_POS: dict[str, dict[str, int]] = {n: {p.name: i for i, p in enumerate(t.parameters)} for n, t in TOOLS.items()}


def _main_param(tool: str) -> str | None:
    return _MAIN[tool]


# --------------------------------------------------------------------------- the task


@dataclass(frozen=True, slots=True)
class TaskStep:
    """One required step: the tool and, per data or literal parameter it must be given, where the value
    comes from: an int is the index of the upstream step whose handle it takes, a str a literal role
    whose value is in the task's inputs. `args` are settings for its other parameters that are valid
    on the data this chain produces (what an optimal plan may suggest); a model may choose others."""

    tool: str
    feeds: tuple[tuple[str, int | str], ...]
    args: tuple[tuple[str, Any], ...] = ()
    # The settings the task states and the scorer compares (docs/scoring.md, "Settings"); the step's other
    # settings are free: any valid value does.
    checked: tuple[str, ...] = ()

    @property
    def checked_args(self) -> dict[str, Any]:
        return {k: v for k, v in self.args if k in self.checked}

    @property
    def free(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.args if k not in self.checked)

    @property
    def upstream(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(v for _, v in self.feeds if isinstance(v, int)))

    @property
    def literals(self) -> tuple[str, ...]:
        return tuple(v for _, v in self.feeds if isinstance(v, str))

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "feeds": dict(self.feeds), "args": dict(self.args), "checked": list(self.checked),
                "free": list(self.free)}


@dataclass(frozen=True, slots=True)
class TaskInstance:
    """One task: everything a prompt and a scorer need."""

    id: str
    task_type: str
    index: int
    domain: str
    goal: str
    inputs: dict[str, str]  # literal role -> value, only the roles the chain needs
    steps: tuple[TaskStep, ...]  # topological order
    constraints: tuple[str, ...]
    descriptions: tuple[str, ...]  # one per difficulty, in DIFFICULTIES order
    fields: tuple[tuple[str, str], ...] = ()  # the source data's fields: name -> string|number|integer|date
    source_format: str = "csv"
    # Literal inputs the task declares but does not need (one destination it does not ask for): the prompt
    # lists them with the others, so the input roles alone do not give the workflow away.
    decoys: dict[str, str] = field(default_factory=dict)

    @property
    def declared_inputs(self) -> dict[str, str]:
        """Every literal the prompt shows (the needed ones and the decoys), by role."""
        return dict(sorted({**self.inputs, **self.decoys}.items()))

    @property
    def required_tools(self) -> tuple[str, ...]:
        return tuple(s.tool for s in self.steps)

    @property
    def dependencies(self) -> dict[str, tuple[str, ...]]:
        """tool -> the tools whose outputs it takes (steps after the first; the first takes only literals)."""
        return {s.tool: tuple(self.steps[k].tool for k in s.upstream) for s in self.steps if s.upstream}

    @property
    def final_tool(self) -> str:
        return self.steps[-1].tool

    @property
    def final_type(self) -> str:
        """Data type of the final step's output."""
        types: list[str] = []
        for s in self.steps:
            spec = TOOLS[s.tool]
            main = dict(s.feeds).get(_main_param(s.tool) or "")
            types.append(types[main] if spec.output == SAME and isinstance(main, int) else spec.output)
        return types[-1]

    @property
    def expected_outputs(self) -> dict[str, Any]:
        return {"final_tool": self.final_tool, "final_type": self.final_type, "steps": len(self.steps)}

    def description(self, difficulty: str) -> str:
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"unknown difficulty {difficulty!r}; choose from {', '.join(DIFFICULTIES)}")
        return self.descriptions[DIFFICULTIES.index(difficulty)]

    @property
    def content_hash(self) -> str:
        return _hash(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task_type": self.task_type,
            "index": self.index,
            "domain": self.domain,
            "goal": self.goal,
            "inputs": dict(self.inputs),
            "decoys": dict(self.decoys),
            "fields": dict(self.fields),
            "source_format": self.source_format,
            "required_tools": list(self.required_tools),
            "steps": [s.to_dict() for s in self.steps],
            "expected_outputs": self.expected_outputs,
            "constraints": list(self.constraints),
            "descriptions": dict(zip(DIFFICULTIES, self.descriptions)),
        }


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- domains


@dataclass(frozen=True, slots=True)
class _Domain:
    name: str
    teams: tuple[str, ...]
    subjects: tuple[str, ...]
    id_field: str
    date_field: str
    cats: tuple[tuple[str, tuple[str, ...]], ...]  # categorical fields with sample values
    nums: tuple[tuple[str, str, float, float], ...]  # (name, number|integer, typical low, typical high)
    stems: tuple[str, ...]  # file name stems
    hosts: tuple[str, ...]  # source feed hosts
    resources: tuple[str, ...]  # API resource names
    services: tuple[str, ...]
    partners: tuple[str, ...]  # partner API hosts (endpoints)
    targets: tuple[str, ...]  # back-office systems
    queues: tuple[str, ...]
    mailboxes: tuple[str, ...]  # recipient local parts
    org: str  # our mail domain


_DOMAINS: tuple[_Domain, ...] = (
    _Domain(
        "sales", ("finance team", "regional sales managers", "revenue operations team"),
        ("sales ledger", "order export", "till transactions"),
        "order_id", "order_date",
        (("region", ("north", "south", "east", "west")), ("channel", ("online", "retail", "wholesale")),
         ("product_line", ("apparel", "footwear", "outdoor"))),
        (("amount", "number", 20, 5000), ("quantity", "integer", 1, 40), ("unit_price", "number", 5, 400),
         ("discount", "number", 0, 60), ("cost", "number", 10, 3000)),
        ("orders", "sales_ledger", "till_export"), ("api.brightmart.example", "feeds.lumenretail.example"),
        ("orders", "sales"), ("brightmart-partner-api", "lumen-commerce"),
        ("edi.markethub.example", "api.payflow-partners.example"), ("netsuite-prod", "sap-finance-eu"),
        ("sales.orders.ingest", "sales-rollup"), ("finance-reports", "sales-leads", "revops"), "brightmart.example",
    ),
    _Domain(
        "logistics", ("operations team", "transport planners", "customer delivery desk"),
        ("shipment manifest", "carrier tracking export", "freight bookings"),
        "shipment_id", "ship_date",
        (("carrier", ("dhl", "ups", "maersk", "dsv")), ("origin_hub", ("rotterdam", "hamburg", "antwerp")),
         ("delivery_state", ("delivered", "in_transit", "delayed"))),
        (("weight_kg", "number", 0.5, 1200), ("transit_days", "integer", 1, 30), ("freight_cost", "number", 15, 9000),
         ("parcels", "integer", 1, 60), ("distance_km", "number", 5, 9000)),
        ("manifest", "shipments", "bookings"), ("tracking.northwind-freight.example", "api.cargolane.example"),
        ("shipments", "consignments"), ("northwind-carrier-portal", "cargolane-api"),
        ("hooks.retailer-portal.example", "api.customs-gateway.example"), ("wms-eu-central", "tms-prod"),
        ("logistics.shipments.inbound", "freight-events"), ("ops-desk", "transport-planning", "dispatch"),
        "northwind-freight.example",
    ),
    _Domain(
        "sensors", ("maintenance crew", "plant reliability engineers", "energy manager"),
        ("plant sensor readings", "telemetry dump", "line monitoring log"),
        "reading_id", "recorded_at",
        (("line", ("line_a", "line_b", "line_c")), ("sensor_type", ("thermal", "acoustic", "pressure")),
         ("site", ("plant_1", "plant_2"))),
        (("temperature_c", "number", -10, 120), ("vibration_mm_s", "number", 0, 25), ("pressure_bar", "number", 0.5, 12),
         ("humidity_pct", "number", 5, 95), ("power_kw", "number", 0.2, 400), ("error_count", "integer", 0, 50)),
        ("readings", "telemetry", "line_log"), ("iot.halvorsen-plant.example", "telemetry.gridwise.example"),
        ("readings", "telemetry"), ("gridwise-iot", "halvorsen-scada-api"),
        ("api.maintenance-cloud.example", "ingest.assetcare.example"), ("maximo-prod", "historian-eu"),
        ("sensors.readings.raw", "telemetry-batch"), ("maintenance", "reliability", "plant-energy"),
        "halvorsen-plant.example",
    ),
    _Domain(
        "customers", ("support team", "customer success managers", "marketing analysts"),
        ("customer account records", "CRM export", "subscriber list"),
        "customer_id", "signup_date",
        (("segment", ("consumer", "smb", "enterprise")), ("country", ("de", "fr", "uk", "us")),
         ("plan", ("basic", "plus", "pro"))),
        (("lifetime_value", "number", 0, 25000), ("orders_count", "integer", 0, 300), ("churn_score", "number", 0, 1),
         ("support_tickets", "integer", 0, 40), ("tenure_months", "integer", 0, 120)),
        ("accounts", "crm_export", "subscribers"), ("api.clientele-crm.example", "export.hubnest.example"),
        ("accounts", "contacts"), ("clientele-crm", "hubnest-api"),
        ("api.mailreach.example", "hooks.loyalty-partner.example"), ("salesforce-prod", "zendesk-eu"),
        ("customers.sync", "crm-updates"), ("support-leads", "customer-success", "marketing-insights"),
        "clientele.example",
    ),
    _Domain(
        "invoices", ("accounts payable team", "controllers", "treasury desk"),
        ("supplier invoice batch", "payables ledger", "e-invoice inbox"),
        "invoice_id", "due_date",
        (("supplier", ("acme_parts", "globex", "initech")), ("currency", ("eur", "usd", "gbp")),
         ("cost_center", ("cc_100", "cc_220", "cc_310"))),
        (("net_amount", "number", 10, 50000), ("tax_amount", "number", 0, 9000), ("days_overdue", "integer", 0, 180),
         ("line_items", "integer", 1, 80), ("discount_pct", "number", 0, 15)),
        ("invoices", "payables", "einvoices"), ("api.ledgerline.example", "inbox.peppol-access.example"),
        ("invoices", "payables"), ("ledgerline-ap", "peppol-access-point"),
        ("api.bankconnect.example", "payments.treasury-hub.example"), ("oracle-erp-fin", "coupa-prod"),
        ("ap.invoices.approve", "payables-batch"), ("ap-team", "controlling", "treasury"), "ledgerline.example",
    ),
    _Domain(
        "inventory", ("supply planners", "warehouse managers", "purchasing team"),
        ("warehouse stock list", "cycle count export", "stock ledger"),
        "sku", "last_counted",
        (("warehouse", ("wh_north", "wh_south", "wh_central")), ("category", ("spares", "consumables", "finished_goods")),
         ("supplier", ("kestrel", "boreal", "magnus"))),
        (("on_hand", "integer", 0, 5000), ("reorder_point", "integer", 0, 800), ("unit_cost", "number", 0.5, 900),
         ("lead_time_days", "integer", 1, 60), ("stock_value", "number", 0, 200000)),
        ("stock", "cycle_count", "stock_ledger"), ("api.stockwise.example", "feeds.kestrel-supply.example"),
        ("stock", "items"), ("stockwise-api", "kestrel-supplier-portal"),
        ("api.replenish-partner.example", "edi.kestrel-supply.example"), ("sap-ewm-prod", "wms-central"),
        ("inventory.restock", "stock-movements"), ("supply-planning", "warehouse-leads", "purchasing"),
        "stockwise.example",
    ),
    _Domain(
        "clinical", ("research group", "trial monitors", "biostatistics team"),
        ("anonymised trial measurements", "site visit export", "study data extract"),
        "subject_id", "visit_date",
        (("site", ("site_01", "site_02", "site_07")), ("arm", ("placebo", "low_dose", "high_dose")),
         ("visit", ("baseline", "week_4", "week_12"))),
        (("systolic_bp", "integer", 80, 200), ("heart_rate", "integer", 40, 160), ("dose_mg", "number", 0, 400),
         ("age", "integer", 18, 90), ("bmi", "number", 15, 45)),
        ("measurements", "site_visits", "study_extract"), ("edc.trialbase.example", "api.medsight.example"),
        ("visits", "measurements"), ("trialbase-edc", "medsight-api"),
        ("api.safety-registry.example", "submit.sponsor-portal.example"), ("redcap-study", "ctms-prod"),
        ("clinical.visits.ingest", "safety-signals"), ("research-data", "trial-monitoring", "biostats"),
        "trialbase.example",
    ),
    _Domain(
        "web", ("growth team", "web analysts", "content team"),
        ("site traffic logs", "analytics export", "session clickstream"),
        "session_id", "visit_date",
        (("source", ("organic", "paid", "referral", "email")), ("device", ("desktop", "mobile", "tablet")),
         ("landing_page", ("home", "pricing", "blog"))),
        (("page_views", "integer", 1, 60), ("duration_s", "number", 1, 3600), ("bounce_rate", "number", 0, 1),
         ("conversions", "integer", 0, 5), ("revenue", "number", 0, 900)),
        ("traffic", "analytics_export", "clickstream"), ("api.pagepulse.example", "export.trafficlens.example"),
        ("sessions", "pageviews"), ("pagepulse-analytics", "trafficlens-api"),
        ("api.adplatform.example", "hooks.bi-warehouse.example"), ("bigquery-marketing", "snowflake-web"),
        ("web.events.raw", "clickstream-batch"), ("growth", "web-analytics", "content-team"), "pagepulse.example",
    ),
    _Domain(
        "energy", ("energy desk", "grid operations team", "sustainability office"),
        ("smart meter readings", "consumption export", "grid load log"),
        "meter_id", "reading_date",
        (("feeder", ("f_11", "f_12", "f_20")), ("tariff", ("standard", "off_peak", "business")),
         ("district", ("harbour", "old_town", "riverside"))),
        (("kwh_used", "number", 0, 900), ("peak_kw", "number", 0, 60), ("cost_eur", "number", 0, 400),
         ("outage_minutes", "integer", 0, 240), ("voltage_v", "number", 210, 250)),
        ("meter_readings", "consumption", "grid_load"), ("api.voltana.example", "meters.citygrid.example"),
        ("readings", "consumption"), ("voltana-meter-api", "citygrid-portal"),
        ("api.energy-exchange.example", "submit.regulator-portal.example"), ("scada-grid", "billing-prod"),
        ("energy.readings.ingest", "meter-events"), ("energy-desk", "grid-ops", "sustainability"), "voltana.example",
    ),
    _Domain(
        "support", ("service desk leads", "quality team", "workforce planners"),
        ("helpdesk ticket export", "support queue log", "ticket history"),
        "ticket_id", "opened_at",
        (("priority", ("low", "normal", "high", "urgent")), ("team", ("billing", "technical", "onboarding")),
         ("channel", ("email", "chat", "phone"))),
        (("response_minutes", "number", 1, 600), ("resolution_hours", "number", 0.5, 240),
         ("satisfaction", "integer", 1, 5), ("reopen_count", "integer", 0, 6), ("messages", "integer", 1, 40)),
        ("tickets", "support_queue", "ticket_history"), ("api.helpforge.example", "export.deskly.example"),
        ("tickets", "conversations"), ("helpforge-api", "deskly-portal"),
        ("api.workforce-planner.example", "hooks.qa-review.example"), ("servicenow-prod", "jira-service-eu"),
        ("support.tickets.triage", "ticket-events"), ("desk-leads", "quality-review", "workforce"), "helpforge.example",
    ),
)

_FORMATS = ("csv", "json", "xml", "yaml")
_FORMAT_WEIGHTS = (4, 3, 2, 1)

_CONSTRAINTS = (
    "Use only the tools the task needs.",
    "Pass data between steps by handle; never invent a handle.",
    "Use the input values exactly as given.",
    "Retry a failed step at most twice.",
    "Finish within the turn limit.",
    "Do not repeat a step that already succeeded.",
)

# --------------------------------------------------------------------------- the walk


@dataclass(slots=True)
class _Out:
    type: str
    open: bool = True  # not consumed by a later step yet
    rich: bool = True  # carries the source data's fields (a partner's reply to a POST does not)


_TYPE_POOLS: dict[str, frozenset[str] | None] = {
    "simple_task": None,
    "basic_task": None,
    "data_pipeline": frozenset(n for n, t in TOOLS.items() if t.category in ("data_processing", "file_operations", "computation")),
    "api_integration": None,
    "multi_stage_pipeline": None,
}
_ROOTS: dict[str, tuple[tuple[str, int], ...]] = {
    "simple_task": (("file_operations_reader", 4), ("network_fetcher", 3), ("file_operations_scanner", 2), (_AUTH, 2)),
    "basic_task": (("file_operations_reader", 4), ("network_fetcher", 3), ("file_operations_scanner", 2), (_AUTH, 2)),
    "data_pipeline": (("file_operations_reader", 3), ("file_operations_scanner", 1)),
    "api_integration": (("file_operations_reader", 1), ("network_fetcher", 3), ("file_operations_scanner", 1), (_AUTH, 5)),
    "multi_stage_pipeline": (("file_operations_reader", 4), ("network_fetcher", 3), ("file_operations_scanner", 2), (_AUTH, 3)),
}
_API_CATEGORIES = ("network", "integration")
_API_CORE = frozenset({_AUTH, "network_fetcher", "network_poster", "integration_connector", "integration_mapper",
                       "integration_queue"})
_TERMINAL = frozenset(t for t in _all_types() if t not in _CONSUMERS)


def _weighted(rng: random.Random, items: list[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in items)
    x = rng.random() * total
    for item, w in items:
        x -= w
        if x < 0:
            return item
    return items[-1][0]


def _out_type(tool: str, feeds: dict[str, int | str], outs: list[_Out]) -> str:
    spec = TOOLS[tool]
    if spec.output == SAME:
        return outs[int(feeds["input"])].type
    return spec.output


def _new_out(tool: str, feeds: dict[str, int | str], outs: list[_Out]) -> _Out:
    up = feeds.get("input")
    rich = _rich_after(tool, outs[up]) if isinstance(up, int) else tool != "network_poster"
    return _Out(_out_type(tool, feeds, outs), rich=rich)


# How often the walk takes each tool when it may (relative): the data work a real pipeline does is
# common, plumbing such as routing or caching rarer.
_TOOL_WEIGHTS: dict[str, float] = {
    "data_processing_parser": 3.0, "data_processing_transformer": 2.0, "data_processing_filter": 2.5,
    "data_processing_validator": 2.0, "data_processing_aggregator": 2.5,
    "file_operations_reader": 3.0, "file_operations_writer": 1.5, "file_operations_converter": 1.0,
    "file_operations_compressor": 0.8, "network_fetcher": 3.0, "network_poster": 1.2, "network_monitor": 0.6,
    "network_router": 0.4, "network_validator": 1.0, "computation_calculator": 1.5, "computation_analyzer": 1.5,
    "computation_predictor": 1.5, "computation_optimizer": 1.5, "computation_simulator": 1.2,
    "integration_authenticator": 1.0, "integration_connector": 1.5, "integration_mapper": 6.0, "integration_queue": 0.8,
    "integration_scheduler": 0.8, "utility_logger": 0.6, "utility_cache": 0.4, "utility_tracker": 0.5,
    "utility_notifier": 1.2, "utility_helper": 0.4,
}
# Steps still needed to turn a handle of this type into records a mapper can take.
_TO_RECORDS = {"records": 0, "raw": 1, "response": 1, "file_list": 2}


def _static_candidates() -> dict[tuple[str, str], tuple[tuple[str, str, float], ...]]:
    """(task type, data type) -> ((tool, data param, base weight), ...) allowed in that task type."""
    table: dict[tuple[str, str], tuple[tuple[str, str, float], ...]] = {}
    for task_type, pool in _TYPE_POOLS.items():
        for dtype, consumers in _CONSUMERS.items():
            rows = []
            for tool, param in consumers:
                if pool is not None and tool not in pool:
                    continue
                rows.append((tool, param, _weight(task_type, tool)))
            table[(task_type, dtype)] = tuple(rows)
    return table


def _weight(task_type: str, tool: str) -> float:
    w = _TOOL_WEIGHTS[tool]
    if task_type == "api_integration" and TOOLS[tool].category in _API_CATEGORIES:
        w *= 3.0
    return w


_FEEDERS: dict[tuple[str, str], tuple[tuple[str, str, float], ...]] = {}


def _two_open_ok(types: list[str], outs_rich: bool, remaining: int) -> bool:
    """Two open branches are allowed only as a connection waiting for records to be mapped onto it."""
    if len(types) != 2 or "connection" not in types:
        return False
    other = types[0] if types[1] == "connection" else types[1]
    need = _TO_RECORDS.get(other)
    return need is not None and outs_rich and need + 1 <= remaining


def _candidates(task_type: str, steps: list[tuple[str, dict[str, int | str]]], outs: list[_Out],
                remaining: int, used: set[str], auth: int | None) -> list[tuple[tuple[str, dict[str, int | str]], float]]:
    """Next steps that consume at least one earlier output; `remaining` = steps still to add after this one."""
    if not _FEEDERS:
        _FEEDERS.update(_static_candidates())
    opens = [i for i, o in enumerate(outs) if o.open]
    seen: set[str] = set()
    result: list[tuple[tuple[str, dict[str, int | str]], float]] = []
    mapper_ok = "integration_mapper" not in used and task_type != "data_pipeline"
    for i in opens:
        out_i = outs[i]
        producer = steps[i][0]
        for tool, param, weight in _FEEDERS[(task_type, out_i.type)]:
            if tool in used or tool in seen:
                continue
            if (producer, tool) in _BLOCKED_PAIRS or (tool == "data_processing_parser" and not out_i.rich):
                continue
            consumed = [i]
            if tool == "integration_mapper":
                other_type = "connection" if param == "input" else "records"
                partner = next((j for j in opens if j != i and outs[j].type == other_type), None)
                if partner is None:
                    continue
                consumed.append(partner)
                feeds: dict[str, int | str] = (
                    {"input": i, "connection": partner} if param == "input" else {"input": partner, "connection": i}
                )
            elif tool == "network_fetcher":
                feeds = {"url": "source_url", "session": i}
            elif tool == "network_poster":
                if param == "session":
                    data = next((j for j in opens if j != i and ("network_poster", "input") in _CONSUMERS.get(outs[j].type, ())
                                 and (steps[j][0], tool) not in _BLOCKED_PAIRS), None)
                    if data is None:
                        continue
                    consumed.append(data)
                    feeds = {"input": data, "url": "endpoint", "session": i}
                else:
                    feeds = {"input": i, "url": "endpoint"}
                    if auth is not None:
                        feeds["session"] = auth
                        if outs[auth].open:
                            consumed.append(auth)
            elif tool == "file_operations_reader":
                feeds = {"path": i}
            else:
                feeds = {param: i}
                for pname, role in _LITERAL_ONLY[tool]:
                    feeds[pname] = role
            out_type = out_i.type if TOOLS[tool].output == SAME else TOOLS[tool].output
            still_open = [j for j in opens if j not in consumed]
            if remaining == 0:
                if still_open:
                    continue
            else:
                if out_type in _TERMINAL:
                    continue
                if still_open:
                    if not mapper_ok or len(still_open) != 1:
                        continue
                    rich = outs[still_open[0]].rich if out_type == "connection" else _rich_after(tool, out_i)
                    if not _two_open_ok([outs[still_open[0]].type, out_type], rich, remaining):
                        continue
            seen.add(tool)
            result.append(((tool, feeds), weight))
    # A second branch off a session already used: a connection for records to be mapped onto, or a fetch.
    if auth is not None and not outs[auth].open and mapper_ok and remaining >= 1 and len(opens) == 1:
        head = outs[opens[0]]
        for tool, feeds in (("integration_connector", {"input": auth, "target": "target_system"}),
                            ("network_fetcher", {"url": "source_url", "session": auth})):
            if tool in used or tool in seen:
                continue
            out_type = TOOLS[tool].output
            rich = head.rich if tool == "integration_connector" else True
            if _two_open_ok([head.type, out_type], rich, remaining):
                result.append(((tool, feeds), _weight(task_type, tool) * 2.0))
    return result


def _rich_after(tool: str, up: _Out) -> bool:
    if tool == "network_poster":
        return False
    if tool == "network_router":
        return up.rich and up.type == "response"
    return up.rich if tool in ("network_validator", "utility_cache") else True


def _api_ok(tools: list[str]) -> bool:
    net = sum(1 for t in tools if TOOLS[t].category in _API_CATEGORIES)
    return net >= 2 and any(t in _API_CORE for t in tools)


def _walk(task_type: str, rng: random.Random) -> list[tuple[str, dict[str, int | str]]]:
    lo, hi = LENGTHS[task_type]
    roots = [(t, float(w)) for t, w in _ROOTS[task_type]]
    if not _FEEDERS:
        _FEEDERS.update(_static_candidates())
    for attempt in range(400):
        length = rng.randint(lo, hi)
        root = _weighted(rng, roots)
        steps: list[tuple[str, dict[str, int | str]]] = [(root, dict(_ROOT_FEEDS[root]))]
        outs = [_Out(TOOLS[root].output)]
        used = {root}
        auth = 0 if root == _AUTH else None
        ok = True
        for k in range(1, length):
            cands = _candidates(task_type, steps, outs, length - 1 - k, used, auth)
            if not cands:
                ok = False
                break
            tool, feeds = _weighted(rng, cands)
            for v in feeds.values():
                if isinstance(v, int):
                    outs[v].open = False
            steps.append((tool, feeds))
            used.add(tool)
            outs.append(_new_out(tool, feeds, outs))
        if not ok:
            continue
        if task_type == "api_integration" and not _api_ok([t for t, _ in steps]):
            continue
        return steps
    raise RuntimeError(f"no chain found for {task_type}")  # pragma: no cover - the graph always has one


# --------------------------------------------------------------------------- step wording

# Typical-uses paraphrases (hard): key content words of each tool's `uses`, never a phrase verbatim.
# Placeholders: {src} the step's main input, {d} the step's detail in plain words.
_HARD: dict[str, tuple[str, ...]] = {
    "data_processing_parser": (
        "turn {src} from a raw {fmt} dump into usable rows",
        "break the raw {fmt} export down into structured records",
        "pull structured entries out of the raw {fmt} content",
        "extract the structured entries from {src}, raw {fmt} content",
        "turn {src}, a raw {fmt} dump, into usable rows",
        "pull structured entries out of {src}, which is {fmt}",
    ),
    "data_processing_transformer": (
        "normalise the records to house conventions ({d})",
        "reshape the fields so they follow house conventions ({d})",
        "bring the figures in line with our conventions ({d})",
        "normalise {src} to house conventions ({d})",
        "reshape the fields of {src} so they follow house conventions ({d})",
        "bring the figures in {src} in line with our conventions ({d})",
        "clean up the fields of {src}: {d}",
    ),
    "data_processing_filter": (
        "narrow the data down to the entries that matter: {d}",
        "keep just the relevant entries, those where {d}",
        "drop every row that fails the criterion that {d}",
        "narrow {src} down to the entries that matter: those where {d}",
        "keep just the relevant entries of {src}, those where {d}",
        "drop every entry of {src} except those where {d}",
        "cut {src} down to the entries where {d}",
    ),
    "data_processing_validator": (
        "check the quality of the records before they are used ({d})",
        "catch any out-of-range or malformed entries ({d})",
        "confirm the records meet the quality rules ({d})",
        "check the quality of {src} before it is used ({d})",
        "catch any out-of-range or malformed entries in {src} ({d})",
        "confirm that {src} meets the quality rules ({d})",
    ),
    "data_processing_aggregator": (
        "roll the detail up into headline numbers: {d}",
        "produce per-segment figures: {d}",
        "summarise the data by group, giving {d}",
        "produce the totals per segment from {src}: {d}",
        "roll {src} up into headline numbers: {d}",
        "summarise {src} by group, giving {d}",
        "produce per-segment figures from {src}: {d}",
    ),
    "file_operations_reader": (
        "open the {subject} kept at the source path",
        "load the {subject} from the file at the source path",
        "read in the {subject} an earlier job left at the source path",
    ),
    "file_operations_reader@listed": (
        "open the file the scan listed",
        "load the listed file from the folder",
        "read in the file that the listing found",
    ),
    "file_operations_writer": (
        "save {src} to a file at the output path",
        "leave a copy at the output path where others can find it",
        "persist {src} at the output path for later use",
        "leave a copy of {src} at the output path where others can find it",
        "store {src} as a file at the output path",
    ),
    "file_operations_scanner": (
        "find which {fmt} files arrived in the source folder",
        "list the {fmt} uploads that are waiting in the source folder",
        "take stock of the {fmt} uploads in the source directory",
    ),
    "file_operations_converter": (
        "switch the content's format over to {d}",
        "change the format of the content to {d} so a newer system can use it",
        "make the legacy content usable as {d}",
        "change the format of {src} to {d}",
        "make {src} usable by a newer system as {d}",
        "switch {src} to the open standard {d}",
        "change the format of {src} to {d} so a newer system can use it",
    ),
    "file_operations_compressor": (
        "shrink {src} for storage with {d}",
        "pack {src} tightly for archiving, using {d}",
        "cut the size of {src} with {d}",
        "shrink the saved file for storage with {d}",
        "cut the size of the saved file with {d}",
    ),
    "network_fetcher": (
        "pull the latest data from the provider's source URL{d}",
        "download the feed from the remote service at the source URL{d}",
        "bring in the data from the provider's API at the source URL{d}",
    ),
    "network_poster": (
        "hand {src} over to the partner's API at the endpoint{d}",
        "submit {src} as a batch to the external platform's endpoint{d}",
        "push {src} upstream to the endpoint{d}",
    ),
    "network_monitor": (
        "keep an eye on whether the service behind {src} stays up, checking {d}",
        "watch the response times of the service behind {src} {d}",
        "check the health of the service behind {src} {d}",
    ),
    "network_router": (
        "steer the requests to the {d} region",
        "spread the traffic to the regional backend in {d}",
        "balance the load by sending the requests to the {d} site",
        "steer {src} to {d}",
        "spread the traffic of {src} to {d}",
        "balance the load by sending {src} to {d}",
    ),
    "network_validator": (
        "make sure the provider's reply can be trusted",
        "confirm that the upstream answer honours its contract",
        "verify that the reply is sound before anything else uses it",
        "make sure {src}, a reply, can be trusted",
        "verify {src} before anything else uses it",
        "make sure {src} can be trusted",
        "confirm that {src} honours its contract",
        "verify that {src} is sound before anything else uses it",
    ),
    "computation_calculator": (
        "work out the exact figure: {d}",
        "compute a single figure from the data: {d}",
        "derive the exact amount: {d}",
        "work out the exact figure from {src}: {d}",
        "compute a single figure from {src}: {d}",
        "derive the exact amount from {src}: {d}",
    ),
    "computation_analyzer": (
        "find the patterns in the figures ({d})",
        "understand what drives the numbers ({d})",
        "spot whatever looks unusual in the figures ({d})",
        "find the patterns in {src}, namely {d}",
        "understand what drives the figures in {src}: {d}",
    ),
    "computation_predictor": (
        "estimate {d} ahead of planning",
        "anticipate {d}",
        "forecast {d} for the planning round",
        "estimate {d} from {src}, ahead of planning",
        "anticipate {d}, based on {src}",
        "forecast {d} from {src} for the planning round",
    ),
    "computation_optimizer": (
        "pick the plan that is best, one that {d}",
        "get the most out of the figures with a plan that {d}",
        "find the best plan within the constraints, one that {d}",
        "pick, from {src}, the plan that is best: one that {d}",
        "get the most out of {src} with a plan that {d}",
        "find the best plan within the constraints from {src}, one that {d}",
    ),
    "computation_simulator": (
        "stress-test the figures under {d}",
        "try {d} on paper to see how things would fare",
        "see how things would fare under the shock of {d}",
        "stress-test {src} under {d}",
        "try {d} on paper with {src} to see how things would fare",
        "see how {src} would fare under {d}",
    ),
    "integration_authenticator": (
        "log in to the {service} platform with the stored credential",
        "get cleared to use {service} with the stored credential",
        "prove who we are to {service} with the stored credential",
    ),
    "integration_connector": (
        "open a live line into the back-office system {target}",
        "hook up to the {target} system",
        "set up a link to {target}",
        "open a live line into the back-office system {target} within the session",
        "hook up to the {target} system within the session",
        "set up a link to {target} within the session",
    ),
    "integration_mapper": (
        "line the fields of {src} up with the layout of {target} over the connection ({d})",
        "translate {src} into the schema {target} uses, over the connection ({d})",
        "match the field names of {src} to the codes {target} expects, over the connection ({d})",
        "line the fields of {src} up with the layout of {target} ({d})",
        "match the field names of {src} to the codes {target} expects ({d})",
    ),
    "integration_queue": (
        "hand {src} off to the background workers on the {queue} queue",
        "buffer {src} on the {queue} queue so nothing is lost in a spike",
        "defer the heavy processing of {src} by putting it on the {queue} queue",
    ),
    "integration_scheduler": (
        "have it happen automatically on a timetable: {d}",
        "make the run repeat {d}",
        "set up a recurring run {d}",
        "have {src} processed automatically on a timetable: {d}",
        "make the processing of {src} repeat {d}",
        "set up a recurring run for {src}, {d}",
    ),
    "utility_logger": (
        "keep an audit trail of the result",
        "leave a permanent record of the result for compliance",
        "note in the log what happened",
        "keep an audit trail of {src}",
        "leave a permanent record of {src} for compliance",
        "note {src} in the log",
    ),
    "utility_cache": (
        "keep {src} handy for reuse",
        "keep {src} around to avoid an expensive repeat",
        "spare the source repeat requests by keeping {src} for reuse",
    ),
    "utility_tracker": (
        "record a progress milestone for it",
        "keep tabs on its status with a progress event",
        "follow how far the work has progressed",
        "record a progress milestone for {src}",
        "keep tabs on {src} with a progress event",
        "follow how far the work on {src} has progressed",
    ),
    "utility_notifier": (
        "let the recipient know the result is in",
        "ping the recipient with the outcome",
        "tell the recipient that the work has finished",
        "let the recipient know that {src} is in",
        "ping the recipient with {src} as the outcome",
        "let the recipient know {src} is in",
        "ping the recipient with {src}",
        "tell the recipient about {src}",
    ),
    "utility_helper": (
        "{d}",
        "work out {d} of {src}",
        "produce {d} from {src}",
        "derive {d} from {src}",
    ),
}

# very_hard: each step as the outcome it leaves behind, in plain words (no tool vocabulary).
_VH: dict[str, tuple[str, ...]] = {
    "data_processing_parser": ("{src} turned from a raw dump into usable rows ({fmt})",
                               "structured entries extracted from {src} ({fmt})"),
    "data_processing_transformer": ("the figures in {src} brought in line with house conventions ({d})",
                                    "{src} reshaped into normalised records ({d})"),
    "data_processing_filter": ("{src} narrowed down to what matters: the entries where {d}",
                               "only the relevant entries of {src} kept: those where {d}"),
    "data_processing_validator": ("the quality of {src} checked before it is used ({d})",
                                  "{src} confirmed to meet the rules ({d})"),
    "data_processing_aggregator": ("{src} rolled up into headline numbers: {d}", "totals per segment produced from {src}: {d}"),
    "file_operations_reader": ("the {subject} loaded from the file kept on disk at the source path",
                               "the {subject} opened from storage at the source path"),
    "file_operations_reader@listed": ("the listed file loaded from the folder", "the file the listing found, opened"),
    "file_operations_writer": ("{src} saved as results to a file at the output path",
                               "a copy of {src} left where others can find it, at the output path"),
    "file_operations_scanner": ("the {fmt} uploads waiting in the source folder listed",
                                "stock taken of the {fmt} files that arrived in the source directory"),
    "file_operations_converter": ("{src} switched to the open standard {d}", "the format of {src} changed to {d}"),
    "file_operations_compressor": ("{src} shrunk for storage with {d}", "{src} packed tightly for archiving with {d}"),
    "network_fetcher": ("the latest data pulled from the provider's remote service at the source URL{d}",
                        "the feed downloaded from the provider at the source URL{d}"),
    "network_poster": ("{src} handed over to the partner's API at the endpoint{d}",
                       "{src} submitted as a batch to the external platform at the endpoint{d}"),
    "network_monitor": ("an eye kept on whether the service behind {src} stays up, checked {d}",
                        "the health of the service behind {src} checked {d}"),
    "network_router": ("the traffic of {src} spread across regional backends: {d}",
                       "the requests of {src} steered to the right region: {d}"),
    "network_validator": ("{src} verified as a response that can be trusted", "{src} confirmed to honour its contract"),
    "computation_calculator": ("{d}, computed as a figure from {src}", "the exact amount derived from {src}: {d}"),
    "computation_analyzer": ("the patterns in {src} found: {d}", "what drives the figures in {src} understood: {d}"),
    "computation_predictor": ("{d} forecast from {src} ahead of planning", "a forecast of {d} made from {src} ahead of planning"),
    "computation_optimizer": ("the best plan chosen from {src}, one that {d}", "the best plan within the constraints chosen from {src}, one that {d}"),
    "computation_simulator": ("{src} stress-tested under {d}", "how things would fare with {src} under {d}, seen on paper"),
    "integration_authenticator": ("a login to the {service} platform with the stored credential",
                                  "clearance to use {service}, proved with the stored credential"),
    "integration_connector": ("a live line opened into the back-office system {target} within the session",
                              "a link set up to the {target} system within the session"),
    "integration_mapper": ("the fields of {src} lined up with the layout of {target} over the connection ({d})",
                           "{src} translated into the schema {target} uses, over the connection ({d})"),
    "integration_queue": ("{src} handed off to the background workers on the {queue} queue",
                          "{src} buffered on the {queue} queue so nothing is lost in a spike"),
    "integration_scheduler": ("{src} processed automatically on a timetable: {d}", "a recurring run set for {src}, {d}"),
    "utility_logger": ("an audit trail of {src} kept in the log", "{src} noted in the log, a permanent record for compliance"),
    "utility_cache": ("{src} kept handy for reuse", "{src} kept around to avoid an expensive repeat"),
    "utility_tracker": ("a milestone recorded for {src}", "tabs kept on the status of {src} with a progress event"),
    "utility_notifier": ("the recipient pinged with {src} as the outcome", "the recipient told that the result, {src}, is in"),
    "utility_helper": ("{d} for {src}",),
}

# How a description refers back to the output of an earlier step when "it" could mean two handles.
_REF: dict[str, str] = {
    "file_operations_reader": "the file's content", "file_operations_scanner": "the file list",
    "network_fetcher": "the downloaded data", "integration_authenticator": "the session",
    "data_processing_parser": "the parsed records", "data_processing_transformer": "the transformed records",
    "data_processing_filter": "the filtered records", "data_processing_validator": "the checked records",
    "data_processing_aggregator": "the summary", "file_operations_writer": "the saved file",
    "file_operations_converter": "the converted content", "file_operations_compressor": "the archive",
    "network_poster": "the endpoint's receipt", "network_monitor": "the status report",
    "network_router": "the routed response", "network_validator": "the verified response",
    "computation_calculator": "the computed figure", "computation_analyzer": "the findings",
    "computation_predictor": "the forecast", "computation_optimizer": "the optimised plan",
    "computation_simulator": "the simulation results", "integration_connector": "the connection",
    "integration_mapper": "the mapped records", "integration_queue": "the queued messages",
    "integration_scheduler": "the scheduled job", "utility_logger": "the log entry", "utility_cache": "the cached copy",
    "utility_tracker": "the progress event", "utility_notifier": "the notification", "utility_helper": "the derived value",
}

# The settings each tool's step states and the scorer compares (the rest are free).
_CHECKED: dict[str, tuple[str, ...]] = {
    "file_operations_scanner": ("pattern",),
    "data_processing_parser": ("format",),
    "data_processing_transformer": ("operations",),
    "data_processing_filter": ("condition",),
    "data_processing_validator": ("rules",),
    "data_processing_aggregator": ("group_by", "metric", "field"),
    "file_operations_converter": ("target_format",),
    "file_operations_compressor": ("algorithm",),
    "network_monitor": ("interval_seconds",),
    "network_router": ("destination", "strategy"),
    "computation_calculator": ("expression",),
    "computation_analyzer": ("analysis_type", "columns"),
    "computation_predictor": ("target", "horizon"),
    "computation_optimizer": ("objective", "constraints"),
    "computation_simulator": ("scenario", "runs"),
    "integration_mapper": ("mapping",),
    "integration_scheduler": ("cron", "timezone"),
    "utility_helper": ("operation",),
}


# What each type of handle is called when a medium/hard description refers back to it.
_NOUN: dict[str, str] = {
    "raw": "the content", "records": "the records", "summary": "the summary", "file_list": "the file list",
    "file": "the saved file", "archive": "the archive", "response": "the response", "session": "the session",
    "connection": "the connection", "number": "the figure", "analysis": "the findings", "forecast": "the forecast",
    "optimum": "the plan", "simulation": "the simulation results", "status": "the status report",
    "queued": "the queued messages", "job": "the job", "log": "the log entry", "event": "the event",
    "notification": "the notification", "value": "the value",
}

_CRONS = (
    ("30 2 * * *", "every night at 02:30"),
    ("10 1 * * *", "every night at 01:10"),
    ("0 7 * * 1-5", "at 07:00 on weekdays"),
    ("0 */4 * * *", "every four hours"),
    ("0 5 1 * *", "at 05:00 on the first of each month"),
    ("45 23 * * 0", "every Sunday at 23:45"),
    ("0 */6 * * *", "every six hours"),
    ("20 6 * * 2", "every Tuesday at 06:20"),
)
_LIMITS = (
    ("budget", "max", (25000, 40000, 80000)),
    ("capacity", "max", (120, 400, 950)),
    ("headcount", "max", (12, 25, 40)),
    ("service_level", "min", (0.9, 0.95, 0.98)),
    ("stock_cover_days", "min", (5, 10, 14)),
)
_SCENARIOS = (
    ("demand_shift", (-0.1, 0.15, -0.05, 0.2)),
    ("price_shock", (0.1, 0.2, 0.3)),
    ("cost_increase", (0.08, 0.12, 0.05)),
    ("volume_drop", (0.15, 0.3, 0.1)),
    ("delay_rate", (0.1, 0.25)),
    ("rate_rise", (0.02, 0.05)),
)
_TIMEZONES = ("Europe/Berlin", "America/Chicago", "Asia/Singapore", "Europe/London", "UTC")
_METRIC_WORDS = {"sum": "the total {f}", "avg": "the average {f}", "max": "the highest {f}", "min": "the lowest {f}"}
_ANALYSIS_WORDS = {
    "descriptive": "a descriptive summary of {cols}",
    "correlation": "how {cols} move together",
    "trend": "the trend in {cols}",
    "anomaly": "unusual values in {cols}",
}


def _fld(name: str) -> str:
    """A field as a description names it: exactly as the data names it, so a condition can be written from it."""
    return name


def _words(name: str) -> str:
    return name.replace("_", " ")


def _join(items: list[str], conj: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def _a(word: str) -> str:
    """The indefinite article and the word: 'an XML', 'a YAML'."""
    return ("an " if word[:1].lower() in "aeiox" and not word.startswith(("YAML", "one"))
            else "a ") + word


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _num(rng: random.Random, lo: float, hi: float, integer: bool) -> int | float:
    """A round threshold inside [lo, hi]."""
    x = lo + (hi - lo) * rng.uniform(0.2, 0.8)
    if integer or hi - lo >= 20:
        return int(round(x))
    if hi - lo >= 2:
        return round(x, 1)
    return round(x, 2)


@dataclass(slots=True)
class _Data:
    """What a handle holds as the generator tracks it: type, fields (with numeric ranges and category values), format."""

    type: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fmt: str | None = None

    def numeric(self) -> list[str]:
        return [n for n, t in self.fields if t in ("number", "integer")]

    def categorical(self, dom: _Domain) -> list[str]:
        return [n for n, t in self.fields if t == "string" and n in self.values]

    def copy(self, **kw: Any) -> _Data:
        d = _Data(self.type, list(self.fields), dict(self.ranges), dict(self.values), self.fmt)
        for k, v in kw.items():
            setattr(d, k, v)
        return d


@dataclass(slots=True)
class _Say:
    """How one step is worded and the settings it uses."""

    args: dict[str, Any]
    plain: str  # medium: the operation in plain verbs
    detail: str = ""  # the step's specifics in plain words (hard, easy)
    note: str = ""  # easy: a short note next to the tool name
    outcome: str = ""  # very_hard/goal: what this step yields, if it is the work's point


class _Gen:
    """Per-instance generation context: the rng, the domain and the literal inputs declared so far."""

    def __init__(self, rng: random.Random, dom: _Domain, fmt: str) -> None:
        self.rng = rng
        self.dom = dom
        self.source_format = fmt
        self.inputs: dict[str, str] = {}
        self.stated: dict[str, list[str]] = {}
        self.year = 2024 + rng.randrange(3)
        self.month = 1 + rng.randrange(12)
        self.subject = rng.choice(dom.subjects)
        self.team = rng.choice(dom.teams)
        self.stem = rng.choice(dom.stems)

    def literal(self, role: str) -> str:
        if role not in self.inputs:
            self.inputs[role] = _LITERALS[role](self)
        return self.inputs[role]


def _lit_source_path(g: _Gen) -> str:
    r, d = g.rng, g.dom
    base = r.choice(("exports", "data/incoming", "shared/finance" if d.name in ("sales", "invoices") else "shared/ops", "archive"))
    period = r.choice((f"{g.year}-{g.month:02d}", f"{g.year}-q{(g.month - 1) // 3 + 1}", f"{g.year}"))
    return f"{base}/{d.name}/{period}/{g.stem}_{r.randrange(1, 10000):04d}.{g.source_format}"


def _lit_source_directory(g: _Gen) -> str:
    r, d = g.rng, g.dom
    return r.choice((
        f"/srv/dropzone/{d.name}/incoming/{g.year}-{g.month:02d}-{r.randrange(1, 29):02d}",
        f"inbound/{d.name}/{g.stem}_batch_{r.randrange(100, 1000)}",
        f"/mnt/sftp/{d.name}/uploads/{g.year}{g.month:02d}",
    ))


def _lit_source_url(g: _Gen) -> str:
    r, d = g.rng, g.dom
    host, res = r.choice(d.hosts), r.choice(d.resources)
    return r.choice((
        f"https://{host}/v{r.randrange(1, 4)}/{res}.json?since={g.year}-{g.month:02d}-{r.randrange(1, 29):02d}",
        f"https://{host}/api/{res}?format=json&page_size={r.choice((200, 500, 1000))}&batch={r.randrange(1000, 99999)}",
        f"https://{host}/exports/{res}/{g.year}/{g.month:02d}/{res}_{r.randrange(100, 1000)}.json",
    ))


def _lit_service(g: _Gen) -> str:
    return g.rng.choice(g.dom.services)


def _lit_credential(g: _Gen) -> str:
    r = g.rng
    svc = g.literal("service")
    return r.choice((
        f"vault:kv/{g.dom.name}/{svc}/token-{r.randrange(16**4):04x}",
        f"secret://{svc}/api-key-{r.randrange(1, 40):02d}",
        f"keyring:{g.dom.name}-{svc}-{r.randrange(100, 1000)}",
    ))


def _lit_endpoint(g: _Gen) -> str:
    r, d = g.rng, g.dom
    host = r.choice(d.partners)
    return r.choice((
        f"https://{host}/api/v{r.randrange(1, 5)}/{r.choice(d.resources)}/batch",
        f"https://{host}/inbound/{d.name}/{r.randrange(1000, 10000)}",
        f"https://{host}/v{r.randrange(1, 4)}/submissions?client=pb-{r.randrange(100, 1000)}",
    ))


def _lit_target_system(g: _Gen) -> str:
    return g.rng.choice(g.dom.targets)


def _lit_recipient(g: _Gen) -> str:
    return f"{g.rng.choice(g.dom.mailboxes)}@{g.dom.org}"


def _lit_queue_name(g: _Gen) -> str:
    r = g.rng
    return r.choice(g.dom.queues) + r.choice(("", f".p{r.randrange(1, 10)}", f"-{r.choice(('eu', 'us', 'apac'))}"))


def _lit_output_path(g: _Gen, ext: str = "csv") -> str:
    r, d = g.rng, g.dom
    base = r.choice(("reports", "out", "shared/reports", "deliverables"))
    name = r.choice((f"{g.stem}_result", f"{d.name}_{r.choice(('summary', 'extract', 'snapshot'))}", f"{g.stem}_clean"))
    return f"{base}/{d.name}/{g.year}-{g.month:02d}/{name}_{r.randrange(1, 1000):03d}.{ext}"


_LITERALS: dict[str, Callable[[_Gen], str]] = {
    "source_path": _lit_source_path,
    "source_directory": _lit_source_directory,
    "source_url": _lit_source_url,
    "service": _lit_service,
    "credential": _lit_credential,
    "endpoint": _lit_endpoint,
    "target_system": _lit_target_system,
    "recipient": _lit_recipient,
    "queue_name": _lit_queue_name,
    "output_path": _lit_output_path,
}


def _source_data(g: _Gen, dtype: str, fields: tuple[tuple[str, str], ...], ranges: dict[str, tuple[float, float]],
                 values: dict[str, tuple[str, ...]], fmt: str) -> _Data:
    return _Data(dtype, list(fields), dict(ranges), dict(values), fmt)


def _say_step(g: _Gen, tool: str, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    """Wording and settings of one step, and what its output holds. `ins`: data param -> what it receives."""
    r = g.rng
    main = ins.get("input") or ins.get("path")
    op = TOOLS[tool].operation
    cat = TOOLS[tool].category
    subj = g.subject

    if tool == "file_operations_reader":
        d = _Data("raw", list(g.src.fields), dict(g.src.ranges), dict(g.src.values), g.source_format)
        if "path" in ins:
            return _Say({}, r.choice(("read the file the scan listed", "read the listed file")), "", "the listed file",
                        f"the {subj}"), d
        return _Say({}, r.choice(("read the source file", "read the file at the source path")), "", "the source file",
                    f"the {subj}"), d
    if tool == "file_operations_scanner":
        d = _Data("file_list", [], {}, {}, None)
        args = {"pattern": f"*.{g.source_format}"}
        return _Say(args, f"list the {g.source_format.upper()} files in the source directory", "",
                    f"*.{g.source_format} files in the source directory", "an inventory of the newly arrived files"), d
    if tool == "network_fetcher":
        d = _Data("response", list(g.src.fields), dict(g.src.ranges), dict(g.src.values), "json")
        within = " within the session" if "session" in ins else ""
        return _Say({}, f"download the data from the source URL{within}", " using that login" if within else "",
                    "the source URL", f"the latest {subj} from the provider"), d
    if tool == "integration_authenticator":
        svc = g.literal("service")
        return _Say({}, f"authenticate with {svc} using the stored credential", "", f"log in to {svc} with the credential",
                    f"access to {svc}"), _Data("session")
    assert main is not None or tool in ("integration_connector",), tool

    if tool == "data_processing_parser":
        fmt = main.fmt or "json"
        args = {"format": fmt}
        what = "the response" if main.type == "response" and src == "it" else src
        return _Say(args, f"parse {what} as {fmt.upper()}", fmt.upper(), f"{fmt}", f"the {subj} in structured form"), \
            main.copy(type="records", fmt=None)
    if tool == "data_processing_transformer":
        nums, ops, words = main.numeric(), [], []
        kinds = r.sample(("cast", "derive", "rename"), 2)
        out = main.copy(type="records")
        for kind in kinds:
            if kind == "cast" and nums:
                f = r.choice(nums)
                target = "int" if dict(out.fields)[f] == "number" else "float"
                ops.append(f"cast:{f}:{target}")
                words.append(f"cast {_fld(f)} to {'a whole number' if target == 'int' else 'a decimal'}")
                out.fields = [(n, "integer" if n == f and target == "int" else "number" if n == f else t) for n, t in out.fields]
            elif kind == "derive" and len(nums) >= 2:
                a, b = r.sample(nums, 2)
                new = r.choice((f"{a}_per_{b}", f"{a}_x_{b}"))
                expr = f"{a} / {b}" if "_per_" in new else f"{a} * {b}"
                if len(new) > 40:
                    new = "derived_ratio" if "_per_" in new else "derived_product"
                ops.append(f"derive:{new}={expr}")
                words.append(f"derive {_fld(new)} as {_fld(a)} {'divided by' if '/' in expr else 'times'} {_fld(b)}")
                out.fields.append((new, "number"))
                lo_a, hi_a = out.ranges.get(a, (0, 100))
                out.ranges[new] = (0, max(1.0, hi_a))
            elif kind == "derive" and nums:
                a = r.choice(nums)
                rate = r.choice((1.08, 1.19, 0.92, 1.2 + 0.05, 0.85))
                new = f"{a}_adjusted"
                ops.append(f"derive:{new}={a} * {rate}")
                words.append(f"derive {_fld(new)} as {_fld(a)} times {rate}")
                out.fields.append((new, "number"))
                out.ranges[new] = out.ranges.get(a, (0, 100))
            else:
                date = next((n for n, t in out.fields if t == "date"), None)
                ident = next((n for n, t in out.fields if t == "string" and n not in out.values), None)
                old = date or ident
                if old is None:
                    continue
                new = r.choice((f"{old}_ref", f"source_{old}")) if old == ident else r.choice(("booked_on", "event_date", "record_date"))
                ops.append(f"rename:{old}->{new}")
                words.append(f"rename {_fld(old)} to {_fld(new)}")
                out.fields = [(new if n == old else n, t) for n, t in out.fields]
        if not ops:
            f = (nums or [n for n, _ in main.fields])[0]
            ops.append(f"cast:{f}:float")
            words.append(f"cast {_fld(f)} to a decimal")
        detail = _join(words)
        return _Say({"operations": ops}, f"transform {src}: {detail}", detail, detail,
                    f"a cleaned-up copy of the {subj}"), out
    if tool == "data_processing_filter":
        nums = main.numeric()
        f = r.choice(nums)
        lo, hi = main.ranges.get(f, (0, 100))
        integer = dict(main.fields)[f] == "integer"
        v = _num(r, lo, hi, integer)
        cmp_, word = r.choice(((">", "is above"), (">=", "is at least"), ("<", "is below"), ("<=", "is at most")))
        cond, text = f"{f} {cmp_} {v}", f"{_fld(f)} {word} {v}"
        cats = main.categorical(g.dom)
        if cats and r.random() < 0.35:
            c = r.choice(cats)
            val = r.choice(main.values[c])
            cond += f" and {c} == '{val}'"
            text += f" and {_fld(c)} is {val}"
        return _Say({"condition": cond}, r.choice((f"keep only the rows where {text}", f"filter {src} down to the rows where {text}")),
                    text, text, f"the {subj} entries where {text}"), main.copy(type="records")
    if tool == "data_processing_validator":
        nums = main.numeric()
        ident = next((n for n, t in main.fields if t == "string" and n not in main.values), None) or main.fields[0][0]
        f = r.choice(nums)
        lo, hi = main.ranges.get(f, (0, 100))
        rules: dict[str, Any] = {ident: {"required": True}}
        if r.random() < 0.5:
            rules[f] = {"min": lo if lo < 0 else 0}
            text = f"{_fld(ident)} must be present and {_fld(f)} may not be below {rules[f]['min']}"
        else:
            cap = int(hi * 2) if hi >= 20 else round(hi * 2, 1)
            rules[f] = {"min": lo if lo < 0 else 0, "max": cap}
            text = f"{_fld(ident)} must be present and {_fld(f)} must lie between {rules[f]['min']} and {cap}"
        return _Say({"rules": rules}, f"check every record against the rules ({text})", text, text,
                    f"a quality-checked copy of the {subj}"), main.copy(type="records")
    if tool == "data_processing_aggregator":
        cats = main.categorical(g.dom) or [n for n, t in main.fields if t == "string"]
        grp = r.choice(cats)
        metric = r.choice(("sum", "sum", "avg", "max", "count"))
        args: dict[str, Any] = {"group_by": [grp], "metric": metric}
        if metric == "count":
            what, col = f"the number of entries per {_fld(grp)}", "count"
        else:
            f = r.choice(main.numeric())
            args["field"] = f
            what, col = _METRIC_WORDS[metric].format(f=_fld(f)) + f" per {_fld(grp)}", f"{metric}_{f}"
        lo, hi = main.ranges.get(args.get("field", ""), (0, 1000))
        out = _Data("summary", [(grp, "string"), (col, "number")], {col: (lo, hi * 50)}, {grp: main.values.get(grp, ())})
        plain = r.choice((f"group {src} by {_fld(grp)} and compute {what.replace(f' per {_fld(grp)}', '')} of each group",
                          f"work out {what}"))
        return _Say(args, plain, what, what, what), out
    if tool == "file_operations_writer":
        ext = main.fmt if main.type == "raw" and main.fmt else r.choice(("csv", "json")) if main.type in ("records", "summary") else "json"
        if "output_path" not in g.inputs:
            g.inputs["output_path"] = _lit_output_path(g, ext)
        return _Say({}, f"write {src} to the output path", "", "the output path", ""), _Data("file")
    if tool == "file_operations_converter":
        target = r.choice([f for f in _FORMATS if f != main.fmt])
        return _Say({"target_format": target}, f"convert {src} to {target.upper()}", target.upper(), f"to {target}",
                    f"{_a(target.upper())} copy of the {subj}"), main.copy(fmt=target)
    if tool == "file_operations_compressor":
        alg = r.choice(("gzip", "zip", "zstd", "bzip2"))
        return _Say({"algorithm": alg}, f"compress the saved file with {alg}", alg, alg, ""), _Data("archive")
    if tool == "network_poster":
        within = " within the session" if "session" in ins else ""
        return _Say({}, f"post {src} to the endpoint{within}", " with our login" if within else "", "the endpoint", ""), \
            _Data("response", [("status", "string"), ("receipt_id", "string")], {}, {}, "json")
    if tool == "network_monitor":
        sec = r.choice((15, 30, 60, 120, 300))
        return _Say({"interval_seconds": sec}, f"poll the service behind {src} for availability and latency every {sec} seconds",
                    f"every {sec} seconds", f"every {sec}s", ""), _Data("status")
    if tool == "network_router":
        dest = r.choice(("eu-west", "us-east", "ap-south"))
        strat = r.choice(("round_robin", "least_latency", "failover"))
        where = f"the {dest} region with the {_words(strat)} strategy"
        return _Say({"destination": dest, "strategy": strat}, f"route {src} on to {where}", where, where, ""), \
            main.copy(type="response")
    if tool == "network_validator":
        plain = "verify its status and body" if src == "it" else f"verify the status and body of {src}"
        return _Say({"expected_status": 200}, plain, "", "status 200", ""), \
            main.copy(type="response")
    if tool == "computation_calculator":
        nums = main.numeric()
        a = r.choice(nums)
        kind = r.randrange(4 if len(nums) < 2 else 5)
        aw = _fld(a)
        if kind == 0:
            pct = r.choice((3, 4, 5, 7.5, 12, 15, 18))
            expr, text = f"sum({a}) * {pct / 100:g}", f"{pct:g}% of the total {aw}"
        elif kind == 1:
            expr, text = f"max({a}) - min({a})", f"the range between the highest and lowest {aw}"
        elif kind == 2:
            expr, text = f"sum({a}) / count()", f"the mean {aw} per entry"
        elif kind == 3:
            k = r.choice((1.1, 0.9, 1.25, 0.75, 2))
            expr, text = f"avg({a}) * {k:g}", f"the average {aw} scaled by {k:g}"
        else:
            b = r.choice([n for n in nums if n != a])
            expr, text = f"sum({a}) / sum({b})", f"the ratio of the total {aw} to the total {_fld(b)}"
        return _Say({"expression": expr}, f"calculate {text}", text, text, text), \
            _Data("number", [("result", "number")], {}, {})
    if tool == "computation_analyzer":
        kind = r.choice(("descriptive", "correlation", "trend", "anomaly"))
        nums = main.numeric()
        cols = r.sample(nums, min(len(nums), 2 if kind == "correlation" else r.randint(1, 2)))
        args = {"analysis_type": kind, "columns": cols}
        text = _ANALYSIS_WORDS[kind].format(cols=_join([_fld(c) for c in cols]))
        return _Say(args, f"run {_a(kind)} analysis of {_join([_fld(c) for c in cols])}", text,
                    f"{kind} analysis of {_join([_fld(c) for c in cols])}", text), \
            _Data("analysis", [("finding", "string"), ("strength", "number")], {}, {})
    if tool == "computation_predictor":
        f = r.choice(main.numeric())
        h = r.choice((3, 4, 6, 8, 12))
        text = f"{_fld(f)} for the next {h} periods"
        return _Say({"target": f, "horizon": h}, f"predict {text}", text, text, f"a forecast of {text}"), \
            _Data("forecast", [("period", "integer"), (f"predicted_{f}", "number")], {}, {})
    if tool == "computation_optimizer":
        objective = r.choice(("minimize", "maximize"))
        name, bound, values = r.choice(_LIMITS)
        val = r.choice(values)
        limit = f"{_words(name)} at {'most' if bound == 'max' else 'least'} {val:g}"
        text = f"{'maximises' if objective == 'maximize' else 'minimises'} the outcome with {limit}"
        return _Say({"objective": objective, "constraints": {name: {bound: val}}},
                    f"search for the plan that {text}", text, f"{objective}, {limit}",
                    f"the best plan with {limit}"), \
            _Data("optimum", [("parameter", "string"), ("value", "number")], {}, {})
    if tool == "computation_simulator":
        name, values = r.choice(_SCENARIOS)
        v = r.choice(values)
        runs = r.choice((500, 2000, 5000))
        text = f"a {_words(name)} of {v * 100:+g}%" if name.endswith("shift") else f"a {_words(name)} of {abs(v) * 100:g}%"
        text = f"{text} over {runs} runs"
        return _Say({"scenario": {name: v}, "runs": runs}, f"simulate {text}", text, text,
                    f"a simulation of how {text} would play out"), \
            _Data("simulation", [("scenario", "string"), ("outcome", "number")], {}, {})
    if tool == "integration_connector":
        tgt = g.literal("target_system")
        proto = r.choice(("https", "grpc", "sftp", "amqp"))
        return _Say({"protocol": proto}, f"open a connection to {tgt} within the session", tgt, tgt, f"a live link to {tgt}"), \
            _Data("connection")
    if tool == "integration_mapper":
        tgt = g.literal("target_system") if "target_system" in g.inputs else "the target system"
        ident = next((n for n, t in main.fields if t == "string" and n not in main.values), None) or main.fields[0][0]
        cats = main.categorical(g.dom)
        mapping = {ident: r.choice(("external_ref", "ext_id", "source_key"))}
        if cats:
            c = r.choice(cats)
            mapping[c] = r.choice((f"{c}_code", f"erp_{c}", f"{c}_key"))
        out = main.copy(type="records")
        out.fields = [(mapping.get(n, n), t) for n, t in out.fields]
        out.values = {mapping.get(k, k): v for k, v in out.values.items()}
        out.ranges = {mapping.get(k, k): v for k, v in out.ranges.items()}
        text = _join([f"{_fld(k)} to {_fld(v)}" for k, v in mapping.items()])
        whose = "its fields" if src == "it" else f"the fields of {src}"
        return _Say({"mapping": mapping}, f"map {whose} onto the schema of {tgt} over the connection ({text})",
                    text, text, f"the {subj} in the layout of {tgt}"), out
    if tool == "integration_queue":
        prio = r.randrange(3, 9)
        q = g.literal("queue_name")
        return _Say({"priority": prio}, f"enqueue {src} on the {q} queue", q, q, ""), _Data("queued")
    if tool == "integration_scheduler":
        cron, text = r.choice(_CRONS)
        args = {"cron": cron}
        if r.random() < 0.5:
            args["timezone"] = r.choice(_TIMEZONES)
            text = f"{text} ({args['timezone']} time)"
        what = {"queued": "the processing of the queued work", "file": "the processing of the saved file",
                "connection": "a sync over the connection"}.get(main.type, "it")
        return _Say(args, f"schedule {what} to run {text}", text, text, ""), _Data("job")
    if tool == "utility_logger":
        msg = f"{_cap(_words(g.dom.name))} run for the {g.team}: {r.choice(('completed', 'result ready', 'output produced'))}"
        level = r.choice(("info", "info", "warning"))
        return _Say({"message": msg, "level": level}, f"write a log entry about {src}", "", "", ""), _Data("log")
    if tool == "utility_cache":
        key = f"{g.dom.name}:{g.stem}:{g.year}-{g.month:02d}:{r.randrange(100, 1000)}"
        ttl = r.choice((900, 3600, 21600, 86400))
        return _Say({"key": key, "ttl_seconds": ttl}, f"cache {src} under a key for reuse", "", "", ""), main.copy()
    if tool == "utility_tracker":
        ev = f"{g.dom.name}.{r.choice(('stage_done', 'batch_ready', 'milestone', 'handoff'))}"
        return _Say({"event": ev}, f"record a progress event for {src}", "", "", ""), _Data("event")
    if tool == "utility_notifier":
        msg = f"The {g.team} update on the {subj} is ready."
        return _Say({"message": msg, "channel": "email"}, f"send {src} to the recipient", "", "the recipient", ""), \
            _Data("notification")
    if tool == "utility_helper":
        kind, plain, para = r.choice((
            ("hash", "derive a content hash of {src}", "a content hash (a fingerprint)"),
            ("generate_id", "derive a unique id for {src}", "a unique id (a fresh reference)"),
            ("slugify", "derive a slug from {src}", "a URL-friendly slug (a label safe in a URL)"),
        ))
        return _Say({"operation": kind}, plain.format(src=src), para, kind, ""), _Data("value")
    raise AssertionError(f"no wording for {tool} ({cat}/{op})")  # pragma: no cover


# Final outcomes for very_hard: where the result ends up, by the final tool.
_DESTINATIONS: dict[str, tuple[str, ...]] = {
    "file_operations_writer": ("saved as a file at the output path", "saved where others can find the result"),
    "utility_notifier": ("sent to {recipient}", "in the inbox of {recipient}"),
    "network_poster": ("handed over to the partner's API", "submitted to the partner platform"),
    "integration_queue": ("queued for the background workers", "handed off to the background workers"),
    "integration_scheduler": ("refreshed automatically {cron}", "set to run on its own {cron}"),
    "file_operations_compressor": ("saved and packed into a compressed archive", "archived in compressed form"),
    "utility_logger": ("recorded in the audit log", "on record in the run log for compliance"),
    "utility_tracker": ("with a progress milestone recorded", "with its progress tracked"),
    "utility_cache": ("kept handy for reuse", "kept for reuse so nobody recomputes it"),
    "utility_helper": ("with {helper}", "labelled with {helper}"),
    "network_monitor": ("and to know whether the service stays healthy", "with the service's health watched"),
    "network_router": ("routed on to the {region} region", "steered to the {region} backends"),
    "network_validator": ("checked to be trustworthy", "verified before anyone relies on it"),
    "integration_mapper": ("lined up with the layout of {target}", "translated into the schema of {target}"),
    "integration_connector": ("", ""),
}
_HELPER_WORDS = {"hash": "a content fingerprint", "generate_id": "a unique reference", "slugify": "a URL-friendly label"}

_VE_FRAMES = (
    "{goal}. Follow these steps in order:\n{steps}\nThen give your final answer, reporting the handle returned by step {n}.",
    "{goal}. Do exactly this:\n{steps}\nFinish with a final answer whose result is the handle from step {n}.",
    "{goal}. The steps are:\n{steps}\nWhen step {n} has succeeded, reply with a final answer that reports its handle.",
)
_EASY_FRAMES = (
    "{goal}. Use these tools in this order: {tools}. Pass each result on by its handle and report the final handle.",
    "{goal}. Call {tools}, in that order, giving each step the handles it needs; then report the handle of the last result.",
    "{goal}. The tools for this are {tools}, used in that order. Report the final step's handle when you are done.",
)
_MEDIUM_FRAMES = (
    "{goal}. {Steps_then}. Report the handle of the final result.",
    "{goal}. First {steps_semi}. Your final answer must give the handle the last step returned.",
    "{goal}: {steps_comma}, passing each result on by its handle. Then report the final handle.",
)
_HARD_FRAMES = (
    "{goal}. Along the way you will need to {steps_then}. Report the handle of the final result.",
    "{goal}. The work, in order: {steps_semi}. Give the final handle in your answer.",
    "{goal}. In sequence, you need to {steps_comma}. When everything is done, report the final handle.",
)
_VERY_HARD_FRAMES = (
    "By the end, the {team} should have, one after the other: {outcomes}.",
    "What the {team} asked for, in this order: {outcomes}. Work out how to get there.",
    "The {team} should end up with the following, in order: {outcomes}.",
)
_GOAL_FRAMES = (
    "Get the {team} {outcome}{source}",
    "Prepare {outcome}{source} for the {team}",
    "Provide the {team} with {outcome}{source}",
)


def _refer(k: int, tool: str, feeds: dict[str, int | str], chain: list[tuple[str, dict[str, int | str]]],
           datas: list[_Data]) -> str:
    """How step k's wording names the handle its main input takes: "it" only when that is the step just
    before and no other earlier output fits the parameter's type; otherwise the producing step's output
    by name ("the parsed records"), so no pronoun could mean two handles."""
    main = _main_param(tool)
    mv = feeds.get(main or "")
    if not isinstance(mv, int):
        return "it"
    accepts = next(p.accepts for p in TOOLS[tool].data_params if p.name == main) or ()
    fits = [j for j in range(k) if ANY in accepts or datas[j].type in accepts]
    if fits == [mv] and mv == k - 1:
        return "it"
    return _REF[chain[mv][0]]


def _outcomes(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return "first " + "; then ".join(parts[:-1]) + "; and last " + parts[-1]


def _takes(feeds: tuple[tuple[str, int | str], ...], tool: str, step_no: dict[int, int]) -> str:
    """very_easy: what a step is called on, e.g. 'the result of step 2, writing to the output path (`output_path`)'."""
    head: list[str] = []
    tail: list[str] = []
    main = _main_param(tool)
    for param, src in feeds:
        if isinstance(src, int):
            if param == main:
                head.append(f"the result of step {step_no[src]}")
            elif param == "session":
                tail.append(f"within the session from step {step_no[src]}")
            elif param == "connection":
                tail.append(f"using the connection from step {step_no[src]}")
            elif param == "input":  # the connector's session
                head.append(f"the session from step {step_no[src]}")
            else:  # pragma: no cover
                tail.append(f"with `{param}` from step {step_no[src]}")
        else:
            text = _ROLE_TAKES[src]
            (head if src in ("source_path", "source_directory", "source_url", "service") else tail).append(text)
    if tool == _AUTH:
        return "the service (`service`) with the credential (`credential`)"
    return _join(head) + ("" if not tail else ", " + ", ".join(tail))


_ROLE_TAKES = {
    "source_path": "the source file (`source_path`)",
    "source_directory": "the source directory (`source_directory`)",
    "source_url": "the source URL (`source_url`)",
    "service": "the service (`service`)",
    "credential": "the credential (`credential`)",
    "endpoint": "posting to the endpoint (`endpoint`)",
    "target_system": "connecting to the target system (`target_system`)",
    "recipient": "sending to the recipient (`recipient`)",
    "queue_name": "onto the queue (`queue_name`)",
    "output_path": "writing to the output path (`output_path`)",
}


def _arg_text(args: dict[str, Any]) -> str:
    if not args:
        return ""
    return "; set " + _join([f"`{k}` to {_json(v)}" for k, v in args.items()])


def _json(v: Any) -> str:
    if isinstance(v, str) and '"' not in v and "\\" not in v:
        return f'"{v}"'
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return json.dumps(v)


def _steps_frames(phrases: list[str]) -> dict[str, str]:
    n = len(phrases)
    if n <= 2:
        then = ", then ".join(phrases)
    else:
        then = ", then ".join(phrases[:-1]) + ", and finally " + phrases[-1]
    semi = "; ".join([*(phrases[:-1]), ("finally " if n > 2 else "then ") + phrases[-1]]) if n > 1 else phrases[0]
    comma = _join(phrases)
    return {"steps_then": then, "Steps_then": _cap(then), "steps_semi": semi, "steps_comma": comma}


def _describe(g: _Gen, chain: list[tuple[str, dict[str, int | str]]]) -> tuple[str, tuple[TaskStep, ...], tuple[str, ...]]:
    r = g.rng
    datas: list[_Data] = []
    says: list[_Say] = []
    steps: list[TaskStep] = []
    refs: list[str] = []
    for k, (tool, feeds) in enumerate(chain):
        ins = {p: datas[v] for p, v in feeds.items() if isinstance(v, int)}
        src = _refer(k, tool, feeds, chain, datas)
        refs.append(src)
        say, out = _say_step(g, tool, ins, src)
        for role in (v for v in feeds.values() if isinstance(v, str)):
            g.literal(role)
        datas.append(out)
        says.append(say)
        pos = _PARAM_POS[tool]
        ordered = tuple(sorted(feeds.items(), key=lambda kv: pos[kv[0]]))
        checked = tuple(k_ for k_ in _CHECKED.get(tool, ()) if k_ in say.args)
        steps.append(TaskStep(tool, ordered, tuple(say.args.items()), checked))

    n = len(steps)
    step_no = {i: i + 1 for i in range(n)}
    tools = [s.tool for s in steps]
    final = tools[-1]

    # The outcome: what the last step that makes something of the data yields; the destination: where it ends up.
    outcome = next((s.outcome for s in reversed(says) if s.outcome), f"the {g.subject}")
    dest_t = r.choice(_DESTINATIONS.get(final, ("",)))
    fmt_vals = {
        "recipient": g.inputs.get("recipient", "the recipient"), "target": g.inputs.get("target_system", "the target system"),
        "cron": says[-1].detail, "region": steps[-1].args and dict(steps[-1].args).get("destination", ""),
        "helper": _HELPER_WORDS.get(str(dict(steps[-1].args).get("operation", "")), ""),
    }
    dest = dest_t.format(**fmt_vals) if dest_t else ""
    if says[-1].outcome and dest:
        dest = ""  # the final step is the point of the work
    has_source = any(t in ("file_operations_reader", "file_operations_scanner", "network_fetcher") for t in tools)
    source = f" from the {g.subject}" if has_source and g.subject not in outcome else ""
    goal = r.choice(_GOAL_FRAMES).format(team=g.team, outcome=outcome, source=source)

    # very_easy
    lines = []
    for i, (s, say) in enumerate(zip(steps, says)):
        lines.append(f"{i + 1}. Call `{s.tool}` on {_takes(s.feeds, s.tool, step_no)}{_arg_text(say.args)}.")
    very_easy = r.choice(_VE_FRAMES).format(goal=goal, steps="\n".join(lines), n=n)
    # easy
    listed = []
    for t, say, ref in zip(tools, says, refs):
        notes = [n for n in (say.note, "" if ref == "it" else f"on {ref}") if n]
        listed.append(f"`{t}`" + (f" ({', '.join(notes)})" if notes else ""))
    easy = r.choice(_EASY_FRAMES).format(goal=goal, tools=_join(listed))
    # medium
    plains = [say.plain if ref == "it" or ref in say.plain else f"{say.plain} (from {ref})" for say, ref in zip(says, refs)]
    medium = r.choice(_MEDIUM_FRAMES).format(goal=goal, **_steps_frames(plains))
    # hard and very_hard: every step stated by its effect and settings, in order; an earlier output is
    # named whenever "it" could mean two handles
    paras, outcomes = [], []
    for k, (s_, say) in enumerate(zip(steps, says)):
        main = _main_param(s_.tool)
        mv = dict(s_.feeds).get(main or "")
        fmt = (datas[mv].fmt or "").upper() if isinstance(mv, int) and datas[mv].fmt else g.source_format.upper()
        named = refs[k] if refs[k] != "it" or not isinstance(mv, int) else _REF[steps[mv].tool]
        values = dict(d=say.detail, fmt=fmt, subject=g.subject, service=g.inputs.get("service", "the service"),
                      target=g.inputs.get("target_system", "the target system"), queue=g.inputs.get("queue_name", "task's"))
        key = s_.tool + ("@listed" if s_.tool == "file_operations_reader" and isinstance(mv, int) else "")
        options = _HARD[key] if refs[k] == "it" else tuple(p for p in _HARD[key] if "{src}" in p) or _HARD[key]
        paras.append(r.choice(options).format(src=refs[k], **values))
        outcomes.append(r.choice(_VH[key]).format(src=named, **values))
    hard = r.choice(_HARD_FRAMES).format(goal=goal, **_steps_frames(paras))
    very_hard = r.choice(_VERY_HARD_FRAMES).format(team=g.team, outcomes=_outcomes(outcomes))
    stated = {"easy": listed, "medium": plains, "hard": paras, "very_hard": outcomes}
    g.stated = stated
    return goal, tuple(steps), (very_easy, easy, medium, hard, very_hard)


# --------------------------------------------------------------------------- generation


def _pick_fields(rng: random.Random, dom: _Domain) -> tuple[tuple[tuple[str, str], ...], dict[str, tuple[float, float]],
                                                             dict[str, tuple[str, ...]]]:
    n_cats = rng.randint(1, 2)
    n_nums = rng.randint(2, 4)
    with_date = rng.random() < 0.7
    cats = rng.sample(dom.cats, n_cats)
    nums = rng.sample(dom.nums, min(n_nums, len(dom.nums)))
    fields: list[tuple[str, str]] = [(dom.id_field, "string")]
    if with_date:
        fields.append((dom.date_field, "date"))
    fields += [(c, "string") for c, _ in cats]
    fields += [(n, t) for n, t, _, _ in nums]
    while len(fields) < 5:
        extra = next(x for x in dom.nums if x[0] not in dict(fields))
        fields.append((extra[0], extra[1]))
        nums.append(extra)
    ranges = {n: (lo, hi) for n, _, lo, hi in nums}
    values = dict(cats)
    return tuple(fields), ranges, values


@lru_cache(maxsize=65536)
def generate_instance(task_type: str, index: int, seed: int = DEFAULT_SEED) -> TaskInstance:
    """Build instance `index` of `task_type`; the same arguments always give the same instance."""
    return _generate(task_type, index, seed)[0]


def step_phrases(task_type: str, index: int, seed: int = DEFAULT_SEED) -> dict[str, list[str]]:
    """difficulty -> the words that state each step, in step order (easy, medium, hard, very_hard), as
    the generator wrote them into the descriptions: what the derivability check (`derivable.py`) reads."""
    return _generate(task_type, index, seed)[1]


def _generate(task_type: str, index: int, seed: int) -> tuple[TaskInstance, dict[str, list[str]]]:
    if task_type not in LENGTHS:
        raise ValueError(f"unknown task type {task_type!r}; choose from {', '.join(TASK_TYPES)}")
    if index < 0:
        raise ValueError(f"instance index must be >= 0, got {index}")
    rng = random.Random(f"pilotbench-task:{GENERATOR_VERSION}:{seed}:{task_type}:{index}")
    chain = _walk(task_type, rng)
    dom = rng.choice(_DOMAINS)
    tools = [t for t, _ in chain]
    fmt = "json" if "network_fetcher" in tools else rng.choices(_FORMATS, _FORMAT_WEIGHTS)[0]
    fields, ranges, values = _pick_fields(rng, dom)
    g = _Gen(rng, dom, fmt)
    g.src = _Data("records", list(fields), ranges, values, fmt)  # type: ignore[attr-defined]
    goal, steps, descriptions = _describe(g, chain)
    stated = g.stated
    constraints = tuple(rng.sample(_CONSTRAINTS, 2))
    needed = dict(g.inputs)
    free = [r for r in _DECOY_ROLES if r not in needed]
    # Every role is declared, the unneeded ones as decoys: the Inputs say nothing about the workflow
    # (which source, which destinations); only the text does.
    decoys = {role: g.literal(role) for role in free}
    g.inputs = needed
    return TaskInstance(
        id=f"{task_type}-{seed}-{index:05d}",
        task_type=task_type,
        index=index,
        domain=dom.name,
        goal=goal,
        inputs=dict(sorted(g.inputs.items())),
        decoys=decoys,
        steps=steps,
        constraints=constraints,
        descriptions=descriptions,
        fields=fields,
        source_format=fmt,
    ), stated


_PROBE_INSTANCES = 20
# Every literal role: a task declares them all, the ones it does not need as decoys, so its Inputs line is
# the same set of roles for every task and says nothing about the workflow.
_DECOY_ROLES = ("source_path", "source_directory", "source_url", "service", "credential", "target_system",
                "output_path", "recipient", "queue_name", "endpoint")


@lru_cache(maxsize=64)
def suite_version(seed: int = DEFAULT_SEED) -> str:
    """Content hash of the suite: the generator's output on a fixed probe, the tool catalog and
    the revisions of how replies are read and scored."""
    probe = [generate_instance(t, i, seed).to_dict() for t in TASK_TYPES for i in range(_PROBE_INSTANCES)]
    catalog = [TOOLS[name].schema() for name in sorted(TOOLS)]
    content: dict[str, Any] = {"seed": seed, "probe": probe, "catalog": catalog}
    if PROTOCOL_REVISION > 1:  # revision 1's results keep the version they were stored under
        content["protocol"] = PROTOCOL_REVISION
    if SCORING_REVISION > 1:
        content["scoring"] = SCORING_REVISION
    return f"v{GENERATOR_VERSION}-" + _hash(content)[:12]


class TaskSuite:
    """A view of the generated suite: `instances_per_type` instances of each task type."""

    def __init__(self, seed: int = DEFAULT_SEED, instances_per_type: int = 20) -> None:
        if instances_per_type < 0:
            raise ValueError(f"instances per type must be >= 0, got {instances_per_type}")
        self.seed = seed
        self.instances_per_type = instances_per_type
        self.version = suite_version(seed)

    def get(self, task_type: str, index: int) -> TaskInstance:
        return generate_instance(task_type, index, self.seed)

    def instances(self, task_types: tuple[str, ...] = TASK_TYPES) -> list[TaskInstance]:
        return [self.get(t, i) for t in task_types for i in range(self.instances_per_type)]

    def counts(self) -> dict[str, int]:
        return {t: self.instances_per_type for t in TASK_TYPES}
