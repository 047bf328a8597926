"""The domains tasks are about: teams, subjects, fields with typical ranges, hosts, systems, queues.

Data only: the generator (tasks.py) draws from it. Adding a domain is adding one `_Domain` here.
"""

from __future__ import annotations

from dataclasses import dataclass

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
