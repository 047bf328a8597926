"""The integration tools (authenticating, connecting, mapping, queueing and scheduling): each tool's spec, how a task words a
step that uses it, how often the walk takes it, and what the simulator does for it beyond the generic
checks. Registered in ``toolkit/__init__.py``. Pure: no I/O; randomness only from the rng it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timezone
from typing import Any

from .base import Tool, _Data, _fld, _join, _Say
from .spec import _lit, Param, _data, _tool

# How this category's settings are said in words.
_PROTOCOL_WORDS = {"https": "HTTPS", "grpc": "gRPC", "sftp": "SFTP", "amqp": "AMQP"}
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
_TIMEZONES = ("Europe/Berlin", "America/Chicago", "Asia/Singapore", "Europe/London", "UTC")

# --------------------------------------------------------------------------- simulator


def _queue_key(args: Mapping[str, Any], inputs: Mapping[str, str]) -> str | None:
    return str(inputs.get("queue_name", ""))


def _queue_summary(sim: Any, args: Any, main: Any, inputs: Mapping[str, str], extra: Any, records: int, rng: Any,
                   summary: dict[str, Any]) -> int | None:
    """The queue's depth: what this episode has put on it."""
    queue = str(inputs.get("queue_name", ""))
    depth = sum(a.records for a in sim.artifacts.values() if a.tool == "integration_queue" and a.key == queue) + records
    summary["queue_depth"] = depth
    return None


def _scheduler_summary(sim: Any, args: Mapping[str, Any], main: Any, inputs: Any, extra: Mapping[str, Any], records: int,
                       rng: Any, summary: dict[str, Any]) -> int | None:
    """When the job first runs after the world's clock, in its time zone."""
    zone = extra.get("zone", timezone.utc)
    summary["next_run"] = extra["cron"].next_run(sim.now(sim.calls - 1), zone).isoformat()
    summary["timezone"] = args.get("timezone") or "UTC"
    return None

# --------------------------------------------------------------------------- authenticator

_AUTHENTICATOR_SPEC = _tool(
    "integration", "authenticator",
    "Authenticates against the task's external service with its stored credential.",
    (
        _lit("service", "service", "Service to authenticate with"),
        _lit("credential_ref", "credential", "Reference to the stored credential"),
    ),
    "session", (("expires_in", "integer"),),
    ("log in to an external platform", "get cleared to use a provider", "prove who we are to a service"),
)


def _say_authenticator(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    svc = g.literal("service")
    return _Say({}, f"authenticate with {svc} using the stored credential", "", f"log in to {svc} with the credential",
                f"access to {svc}"), _Data("session")


AUTHENTICATOR = Tool(
    spec=_AUTHENTICATOR_SPEC,
    say=_say_authenticator,
    ref="the session",
    hard=(
        "[log in to the|sign in to the] {service} platform [with the stored credential|using the stored credential]",
        "[get cleared to use|get clearance to use] {service} [with the stored credential|using the stored credential]",
        "[prove who we are to|prove our identity to] {service} [with the stored credential|using the stored credential]",
        "sign on to the {service} platform [with|using] the stored credential",
        "[log in|sign in] to the {service} platform [with|using] the stored credential [first|to begin with|before anything else]",
    ),
    very_hard=(
        "[a login to the|a sign-in to the] {service} platform [with the stored credential|using the stored credential]",
        "[clearance to use|permission to use] {service}, proved [with the stored credential|using the stored credential]",
        "our identity proved to {service} [with|using] the stored credential",
        "[access to|a session with] {service}, [gained|obtained] [with|using] the stored credential",
        "[access|clearance|a sign-in] [gained|won|obtained] [on|to] the {service} platform [with|using] the stored credential",
    ),
    weight=1.0,
    extras={"expires_in": lambda r, n: r.choice((900, 1800, 3600))},
    api_core=True,
)

# --------------------------------------------------------------------------- connector

_CONNECTOR_SPEC = _tool(
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
)


def _say_connector(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r = g.rng
    tgt = g.literal("target_system")
    proto = r.choice(("https", "grpc", "sftp", "amqp"))
    over = f"over {_PROTOCOL_WORDS[proto]}"
    return _Say({"protocol": proto}, f"open a connection to {tgt} {over} within the session", over, f"{tgt} {over}",
                f"a live link to {tgt}"), \
        _Data("connection")


CONNECTOR = Tool(
    spec=_CONNECTOR_SPEC,
    say=_say_connector,
    ref="the connection",
    hard=(
        "[open a live line into|open a live connection into] the [back-office system|back-office platform] {target} {d}",
        "[hook up to|connect up to] the {target} system {d}",
        "[set up a link to|establish a link to] {target} {d}",
        "[open a live line into|open a live connection into] the [back-office system|back-office platform] {target} within the session {d}",
        "[hook up to|connect up to] the {target} system within the session {d}",
        "[set up a link to|establish a link to] {target} within the session {d}",
        "[open|set up|establish] a [live line|link|connection] [into|to] {target} {d}",
    ),
    very_hard=(
        "[a live line opened into|a live connection opened into] the [back-office system|back-office platform] {target} within the session {d}",
        "[a link set up to|a link established to] the {target} system within the session {d}",
        "a [live line|link|connection] [opened|set up|established] [into|to] {target} within the session {d}",
    ),
    checked=("protocol",),
    surfaces={"protocol": lambda v: [(_PROTOCOL_WORDS[v].lower(),)]},
    destinations=("", ""),
    weight=1.5,
    extras={"latency_ms": lambda r, n: round(r.uniform(5.0, 450.0), 1)},
    api_core=True,
)

# --------------------------------------------------------------------------- mapper

_MAPPER_SPEC = _tool(
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
)


def _say_mapper(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main, subj = g.rng, ins.get("input") or ins.get("path"), g.subject
    tgt = g.literal("target_system") if "target_system" in g.inputs else "the target system"
    ident = next((n for n, t in main.fields if t == "string" and n not in main.values), None) or main.fields[0][0]
    cats = main.categorical()
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


MAPPER = Tool(
    spec=_MAPPER_SPEC,
    say=_say_mapper,
    ref="the mapped records",
    hard=(
        "line the fields of {src} up with [the layout of|the field layout of] {target} over the connection ({d})",
        "translate {src} into the schema {target} uses, over the connection ({d})",
        "match the field names of {src} to [the codes|the field codes] {target} expects, over the connection ({d})",
        "line the fields of {src} up with [the layout of|the field layout of] {target} ({d})",
        "match the field names of {src} to [the codes|the field codes] {target} expects ({d})",
        "[line up|match|translate] the fields of {src} [with|to] the [layout|schema|codes] of {target} ({d})",
        "[map|fit] {src} [onto|into] the [layout|schema|field codes] of {target} over the connection ({d})",
    ),
    very_hard=(
        "the fields of {src} lined up with [the layout of|the field layout of] {target} over the connection ({d})",
        "{src} translated into the schema {target} uses, over the connection ({d})",
        "the fields of {src} [lined up|matched|translated] [with|to] the [layout|schema|codes] of {target} over the connection ({d})",
        "{src} [mapped|fitted|lined up] [onto|into|with] the [layout|schema|field codes] of {target} over the connection ({d})",
    ),
    checked=("mapping",),
    destinations=("lined up with the layout of {target}", "translated into the schema of {target}"),
    weight=6.0,
    pass_through=True,
    extras={"unmapped_fields": lambda r, n: []},
    api_core=True,
)

# --------------------------------------------------------------------------- queue

_QUEUE_SPEC = _tool(
    "integration", "queue",
    "Enqueues a dataset as messages on the task's queue for asynchronous processing.",
    (
        _data("input", ("records", "summary", "file", "response"), "Messages to enqueue"),
        _lit("queue_name", "queue_name", "Queue name"),
        Param("priority", "integer", "Priority, 0 (low) to 9 (high).", required=False, minimum=0, maximum=9),
    ),
    "queued", (("queue_depth", "integer"),),
    ("hand work off to background workers", "buffer items so nothing is lost in a spike", "defer heavy processing"),
)


def _say_queue(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r = g.rng
    prio = r.randrange(3, 9)
    q = g.literal("queue_name")
    return _Say({"priority": prio}, f"enqueue {src} on the {q} queue at priority {prio}", f"at priority {prio}",
                f"{q}, at priority {prio}", ""), _Data("queued")


QUEUE = Tool(
    spec=_QUEUE_SPEC,
    say=_say_queue,
    ref="the queued messages",
    hard=(
        "hand {src} off to [the background workers|the workers in the background] on the {queue} queue {d}",
        "buffer {src} on the {queue} queue [so nothing is lost in a spike|so that a spike loses nothing] {d}",
        "defer the heavy processing of {src} by putting it on the {queue} queue {d}",
        "[hand off|buffer|put] {src} [to|on] the {queue} queue [for the background workers|so nothing is lost in a spike|to defer the heavy processing] {d}",
    ),
    very_hard=(
        "{src} handed off to [the background workers|the workers in the background] on the {queue} queue {d}",
        "{src} buffered on the {queue} queue [so nothing is lost in a spike|so that a spike loses nothing] {d}",
        "{src} [handed off|buffered|put] on the {queue} queue [for the background workers|so nothing is lost in a spike|to defer the heavy processing] {d}",
        "[a place|a slot|room] on the {queue} queue [for|holding] {src}, [ready for the background workers|so nothing is lost in a spike|to defer the heavy work] {d}",
    ),
    checked=("priority",),
    destinations=("queued for the background workers", "handed off to the background workers"),
    weight=0.8,
    pass_through=True,
    summary=_queue_summary,
    artifact_key=_queue_key,
    api_core=True,
)

# --------------------------------------------------------------------------- scheduler

_SCHEDULER_SPEC = _tool(
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
)


def _say_scheduler(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main = g.rng, ins.get("input") or ins.get("path")
    cron, text = r.choice(_CRONS)
    args = {"cron": cron}
    if r.random() < 0.5:
        args["timezone"] = r.choice(_TIMEZONES)
        text = f"{text} ({args['timezone']} time)"
    what = {"queued": "the processing of the queued work", "file": "the processing of the saved file",
            "connection": "a sync over the connection"}.get(main.type, "it")
    return _Say(args, f"schedule {what} to run {text}", text, text, ""), _Data("job")


SCHEDULER = Tool(
    spec=_SCHEDULER_SPEC,
    say=_say_scheduler,
    ref="the scheduled job",
    hard=(
        "have it happen [automatically on a timetable|on a timetable, automatically]: {d}",
        "make the run repeat {d}",
        "set up [a recurring run|a run that recurs] {d}",
        "have {src} processed [automatically on a timetable|on a timetable, automatically]: {d}",
        "make the processing of {src} repeat {d}",
        "set up [a recurring run|a run that recurs] for {src}, {d}",
        "[have|make] {src} [processed|handled] [automatically|on its own] [on a timetable|as a recurring run]: {d}",
    ),
    very_hard=(
        "{src} processed [automatically on a timetable|on a timetable, automatically]: {d}",
        "[a recurring run|a run that recurs] set for {src}, {d}",
        "{src} [processed|handled] [automatically|on its own] [on a timetable|as a recurring run]: {d}",
        "[a recurring run|a timetable|an automatic run] [that processes|for|that handles] {src} [on a schedule|as agreed|by itself]: {d}",
    ),
    checked=("cron", "timezone"),
    surfaces={"cron": lambda v: [(dict(_CRONS).get(v, v).lower(),)]},
    destinations=("refreshed automatically {cron}", "set to run on its own {cron}"),
    destination_words=lambda args, say: {"cron": say.detail},
    weight=0.8,
    summary=_scheduler_summary,
)

TOOLS: tuple[Tool, ...] = (AUTHENTICATOR, CONNECTOR, MAPPER, QUEUE, SCHEDULER)
