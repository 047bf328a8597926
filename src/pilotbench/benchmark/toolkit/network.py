"""The network tools (fetching, posting, monitoring, routing and verifying HTTP responses): each tool's spec, how a task words a
step that uses it, how often the walk takes it, and what the simulator does for it beyond the generic
checks. Registered in ``toolkit/__init__.py``. Pure: no I/O; randomness only from the rng it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Tool, _Data, _Say, _words
from .spec import _RESULTS, Param, _data, _lit, _tool

# --------------------------------------------------------------------------- simulator

# Record counts of a download.
_SOURCE_RECORDS = {"network_fetcher": (20, 5000)}


def _source_records(sim: Any, args: Any, main: Any, rng: Any, summary: dict[str, Any]) -> int:
    return rng.randint(*_SOURCE_RECORDS["network_fetcher"])


def _source_fields(sim: Any, args: Any, main: Any, fields: Any, extra: Any) -> tuple[Any, str | None]:
    """The task's source data, as JSON."""
    return sim.fields, "json"


def _status_200(sim: Any, args: Any, main: Any, inputs: Any, extra: Any, records: int, rng: Any,
                summary: dict[str, Any]) -> int | None:
    # 200 always: the tasks that verify a reply expect 200, and a reply the work needs is a good one
    summary["status_code"] = 200
    return 200


def _status_of_input(sim: Any, args: Any, main: Any, inputs: Any, extra: Any, records: int, rng: Any,
                     summary: dict[str, Any]) -> int | None:
    return main.status if main is not None else None


def _fields_of_input(sim: Any, args: Any, main: Any, fields: Any, extra: Any) -> tuple[Any, str | None] | None:
    """A response passed on keeps its data's fields and format."""
    return (main.fields, main.format) if main is not None else None


def _validator_summary(sim: Any, args: Mapping[str, Any], main: Any, inputs: Any, extra: Any, records: int, rng: Any,
                       summary: dict[str, Any]) -> int | None:
    status = main.status if main is not None else None
    expected = args.get("expected_status")
    ok = status is None or (status == expected if expected is not None else 200 <= status < 300)
    summary["issues"] = [] if ok else [f"status {status}, expected {expected or 'a 2xx status'}"]
    return status

# --------------------------------------------------------------------------- fetcher

_FETCHER_SPEC = _tool(
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
)


def _say_fetcher(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    subj = g.subject
    d = _Data("response", list(g.src.fields), dict(g.src.ranges), dict(g.src.values), "json")
    within = " within the session" if "session" in ins else ""
    return _Say({}, f"download the data from the source URL{within}", " using that login" if within else "",
                "the source URL", f"the latest {subj} from the provider"), d


FETCHER = Tool(
    spec=_FETCHER_SPEC,
    say=_say_fetcher,
    ref="the downloaded data",
    hard=(
        "pull [the latest data|the newest data] from the provider's source URL{d}",
        "[download the feed|download the data feed] from [the remote service|the remote provider] at the source URL{d}",
        "[bring in the data|bring the data in] from [the provider's API|the provider's web API] at the source URL{d}",
        "[pull|download|bring in] the [latest data|newest data|current feed] from the [provider|remote service|provider's API] at the source URL{d}",
    ),
    very_hard=(
        "[the latest data|the newest data] [pulled from|fetched from] the provider's remote service at the source URL{d}",
        "the feed [downloaded from the provider|downloaded from the remote provider] at the source URL{d}",
        "the [latest data|newest data|current feed] [pulled|downloaded|brought in] from the [provider|remote service|provider's API] at the source URL{d}",
    ),
    source=True,
    weight=3.0,
    records=_source_records,
    output_fields=_source_fields,
    summary=_status_200,
    source_format="json",
    api_core=True,
)

# --------------------------------------------------------------------------- poster

_POSTER_SPEC = _tool(
    "network", "poster",
    "Sends a dataset in an HTTP POST to the task's endpoint and returns the reply.",
    (
        _data("input", _RESULTS + ("file",), "Payload to send"),
        _lit("url", "endpoint", "Endpoint to post to"),
        _data("session", ("session",), "Session to post within, when the endpoint needs one", required=False),
    ),
    "response", (("status_code", "integer"),),
    ("hand results over to a partner's API", "submit a batch to an external platform", "push updates upstream"),
)


def _say_poster(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    within = " within the session" if "session" in ins else ""
    return _Say({}, f"post {src} to the endpoint{within}", " with our login" if within else "", "the endpoint", ""), \
        _Data("response", [("status", "string"), ("receipt_id", "string")], {}, {}, "json")


POSTER = Tool(
    spec=_POSTER_SPEC,
    say=_say_poster,
    ref="the endpoint's receipt",
    hard=(
        "hand {src} over to the partner's API at the endpoint{d}",
        "submit {src} [as a batch|in one batch] to the external platform's endpoint{d}",
        "push {src} upstream to the endpoint{d}",
        "[hand|push|submit] {src} [over|upstream|as a batch] to the [partner's API|external platform|partner platform] at the endpoint{d}",
        "[send|deliver] {src} to the [partner's|external] [API|platform] at the endpoint [in one batch|as a batch|in a single push]{d}",
    ),
    very_hard=(
        "{src} handed over to the partner's API at the endpoint{d}",
        "{src} submitted [as a batch|in one batch] to the external platform at the endpoint{d}",
        "{src} [handed over|pushed upstream|submitted as a batch] to the [partner's API|external platform|partner platform] at the endpoint{d}",
        "[delivery|a submission|a hand-over] of {src} to the [partner's API|external platform|partner platform] at the endpoint [in one batch|as a batch|]{d}",
    ),
    destinations=("handed over to the partner's API", "submitted to the partner platform"),
    weight=1.2,
    summary=_status_200,
    keeps_fields=lambda rich, dtype: False,  # a partner's reply to a POST is a receipt
    not_after=frozenset({"network_poster"}),
    api_core=True,
)

# --------------------------------------------------------------------------- monitor

_MONITOR_SPEC = _tool(
    "network", "monitor",
    "Polls the service behind a response and reports its availability and latency.",
    (
        _data("input", ("response", "connection"), "Response or connection whose service to watch"),
        Param("interval_seconds", "integer", "Seconds between probes (default 10).", required=False,
              minimum=1, maximum=3600),
    ),
    "status", (("healthy", "boolean"), ("latency_ms", "number")),
    ("keep an eye on whether a service stays up", "watch response times after a hand-over", "check a service's health"),
)


def _say_monitor(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r = g.rng
    sec = r.choice((15, 30, 60, 120, 300))
    return _Say({"interval_seconds": sec}, f"poll the service behind {src} for availability and latency every {sec} seconds",
                f"every {sec} seconds", f"every {sec}s", ""), _Data("status")


MONITOR = Tool(
    spec=_MONITOR_SPEC,
    say=_say_monitor,
    ref="the status report",
    hard=(
        "[keep an eye on whether|watch whether] the service behind {src} [stays up|stays available], checking {d}",
        "watch [the response times|the latency] of the service behind {src} {d}",
        "[check the health of|check on the health of] the service behind {src} {d}",
        "[watch|check on|keep an eye on] the [health|response times|availability] of the service behind {src} {d}",
        "[poll|check] the service behind {src} [for availability|for its health|for its latency] [and latency|and uptime|] {d}",
    ),
    very_hard=(
        "[an eye kept on whether|a watch on whether] the service behind {src} [stays up|stays available], checked {d}",
        "[the health of the service|the service health] behind {src} checked {d}",
        "the [health|response times|availability] of the service behind {src} [watched|checked|kept an eye on] {d}",
        "[availability and latency|health|uptime] of the service behind {src} [polled|watched|checked] {d}",
    ),
    checked=("interval_seconds",),
    destinations=("and to know whether the service stays healthy", "with the service's health watched"),
    weight=0.6,
    extras={"healthy": lambda r, n: r.random() < 0.9, "latency_ms": lambda r, n: round(r.uniform(5.0, 450.0), 1)},
)

# --------------------------------------------------------------------------- router

_ROUTER_SPEC = _tool(
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
)


def _say_router(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main = g.rng, ins.get("input") or ins.get("path")
    dest = r.choice(("eu-west", "us-east", "ap-south"))
    strat = r.choice(("round_robin", "least_latency", "failover"))
    where = f"the {dest} region with the {_words(strat)} strategy"
    return _Say({"destination": dest, "strategy": strat}, f"route {src} on to {where}", where, where, ""), \
        main.copy(type="response")


ROUTER = Tool(
    spec=_ROUTER_SPEC,
    say=_say_router,
    ref="the routed response",
    hard=(
        "steer the requests to the {d} region",
        "spread the traffic to [the regional backend|the regional backends] in {d}",
        "balance [the load|the traffic load] by sending the requests to the {d} site",
        "steer {src} to {d}",
        "spread the traffic of {src} to {d}",
        "balance [the load|the traffic load] by sending {src} to {d}",
        "[steer|route|send] {src} [on|onward|across] to {d}",
        "[spread|balance] the [traffic|load] of {src} [over|across] to {d}",
    ),
    very_hard=(
        "the traffic of {src} spread across regional backends: {d}",
        "the requests of {src} steered to the right region: {d}",
        "the [traffic|requests|load] of {src} [steered|routed|spread] [on|onward|across] to {d}",
        "[routing|steering] of the requests of {src} to {d}",
    ),
    checked=("destination", "strategy"),
    surfaces={"strategy": lambda v: [(str(v).replace("_", " "),)]},
    destinations=("routed on to the {region} region", "steered to the {region} backends"),
    destination_words=lambda args, say: {"region": args.get("destination", "")},
    weight=0.4,
    pass_through=True,
    summary=_status_of_input,
    keeps_fields=lambda rich, dtype: rich and dtype == "response",
    output_fields=_fields_of_input,
    extras={"hops": lambda r, n: r.randint(1, 6)},
)

# --------------------------------------------------------------------------- validator

_VALIDATOR_SPEC = _tool(
    "network", "validator",
    "Verifies a response's status code and body, and passes it on if it is trustworthy.",
    (
        _data("input", ("response",), "Response to verify"),
        Param("expected_status", "integer", "Status code the response must have (default 200).", required=False,
              minimum=100, maximum=599),
    ),
    "response", (("issues", "array"),),
    ("make sure a partner's reply can be trusted", "confirm an upstream answer honours its contract", "verify a response"),
)


def _say_validator(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    main = ins.get("input") or ins.get("path")
    plain = "verify its status and body" if src == "it" else f"verify the status and body of {src}"
    return _Say({"expected_status": 200}, plain, "", "status 200", ""), \
        main.copy(type="response")


VALIDATOR = Tool(
    spec=_VALIDATOR_SPEC,
    say=_say_validator,
    ref="the verified response",
    hard=(
        "make sure the provider's reply [can be trusted|is trustworthy]",
        "[confirm that|make certain that] the upstream answer [honours its contract|keeps to its contract]",
        "[verify that|check that] the reply is sound [before anything else uses it|before it is used any further]",
        "make sure {src}, a reply, [can be trusted|is trustworthy]",
        "verify {src} [before anything else uses it|before it is used any further]",
        "make sure {src} [can be trusted|is trustworthy]",
        "[confirm that|make certain that] {src} [honours its contract|keeps to its contract]",
        "[verify that|check that] {src} is sound [before anything else uses it|before it is used any further]",
        "[verify|make sure] that {src} [can be trusted|is trustworthy|honours its contract] [before anything else uses it|before it is used|first]",
    ),
    very_hard=(
        "{src} [verified as a response that|checked as a response that] [can be trusted|is trustworthy]",
        "{src} [confirmed to honour its contract|shown to keep to its contract]",
        "{src} [verified|checked|confirmed] [as trustworthy|as sound|to honour its contract] [before anything else uses it|before use|first]",
    ),
    destinations=("checked to be trustworthy", "verified before anyone relies on it"),
    weight=1.0,
    pass_through=True,
    summary=_validator_summary,
    keeps_fields=lambda rich, dtype: rich,
    output_fields=_fields_of_input,
)

TOOLS: tuple[Tool, ...] = (FETCHER, POSTER, MONITOR, ROUTER, VALIDATOR)
