"""The utility tools (logging, caching, tracking, notifying and deriving small values): each tool's spec, how a task words a
step that uses it, how often the walk takes it, and what the simulator does for it beyond the generic
checks. Registered in ``toolkit/__init__.py``. Pure: no I/O; randomness only from the rng it is given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from .base import Tool, _cap, _Data, _Say, _words
from .spec import _RESULTS, ANY, SAME, Param, _data, _lit, _tool

# How this category's settings are said in words.
_TTL_WORDS = {900: "for 15 minutes", 3600: "for an hour", 21600: "for six hours", 86400: "for a day"}
_CHANNEL_WORDS = {"email": "by email", "slack": "on Slack", "sms": "by SMS", "webhook": "through a webhook"}
_HELPER_WORDS = {"hash": "a content fingerprint", "generate_id": "a unique reference", "slugify": "a URL-friendly label"}
_HELPER_SAID = {"hash": ("hash",), "generate_id": ("unique id", "generate_id"), "slugify": ("slug",)}  # stating its operation

# --------------------------------------------------------------------------- simulator


def _cache_key(args: Mapping[str, Any], inputs: Mapping[str, str]) -> str | None:
    return args.get("key")


def _cache_summary(sim: Any, args: Mapping[str, Any], main: Any, inputs: Any, extra: Any, records: int, rng: Any,
                   summary: dict[str, Any]) -> int | None:
    """A cached copy keeps its input's status; it hits a key this episode already cached."""
    status = main.status if main is not None else None
    key = args.get("key")
    summary["hit"] = any(a.tool == "utility_cache" and a.key == key for a in sim.artifacts.values())
    return status


def _tracker_summary(sim: Any, args: Any, main: Any, inputs: Any, extra: Any, records: int, rng: Any,
                     summary: dict[str, Any]) -> int | None:
    summary["total_events"] = 1 + sum(1 for a in sim.artifacts.values() if a.tool == "utility_tracker")
    return None


def _helper_summary(sim: Any, args: Mapping[str, Any], main: Any, inputs: Mapping[str, str], extra: Any, records: int,
                    rng: Any, summary: dict[str, Any]) -> int | None:
    if args.get("operation") == "hash":
        summary["output_value"] = hashlib.blake2b(str(inputs.get("input")).encode(), digest_size=6).hexdigest()
    else:
        summary["output_value"] = f"{rng.getrandbits(48):012x}"
    return None

# --------------------------------------------------------------------------- logger

_LOGGER_SPEC = _tool(
    "utility", "logger",
    "Writes an entry about a result to the run log.",
    (
        _data("input", (ANY,), "Result the entry is about"),
        Param("message", "string", "Text of the entry.", check="text"),
        Param("level", "string", "Severity (default info).", required=False, enum=("debug", "info", "warning", "error")),
    ),
    "log", (("log_id", "string"),),
    ("keep an audit trail of a result", "leave a permanent record for compliance", "note what happened in the log"),
)


def _say_logger(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r = g.rng
    msg = f"{_cap(_words(g.dom.name))} run for the {g.team}: {r.choice(('completed', 'result ready', 'output produced'))}"
    level = r.choice(("info", "info", "warning"))
    return _Say({"message": msg, "level": level}, f"write a log entry about {src} at {level} level", f"at {level} level",
                f"at {level} level", ""), _Data("log")


LOGGER = Tool(
    spec=_LOGGER_SPEC,
    say=_say_logger,
    ref="the log entry",
    hard=(
        "keep [an audit trail|a full audit trail] of the result {d}",
        "leave [a permanent record|a lasting record] of the result [for compliance|for the auditors] {d}",
        "note [in the log|in the run log] what happened {d}",
        "keep [an audit trail|a full audit trail] of {src} {d}",
        "leave [a permanent record|a lasting record] of {src} [for compliance|for the auditors] {d}",
        "note {src} [in the log|in the run log] {d}",
        "[note|record|log] {src} [in the log|in the run log] [as an audit trail|for compliance|as a permanent record] {d}",
    ),
    very_hard=(
        "[an audit trail|a full audit trail] of {src} kept [in the log|in the run log] {d}",
        "{src} noted [in the log|in the run log], [a permanent record|a lasting record] [for compliance|for the auditors] {d}",
        "{src} [noted|recorded|logged] [in the log|in the run log] [as an audit trail|for compliance|as a permanent record] {d}",
    ),
    checked=("level",),
    destinations=("recorded in the audit log", "on record in the run log for compliance"),
    weight=0.6,
    any_skip=frozenset({"session", "connection"}),
    extras={"log_id": lambda r, n: f"log_{r.getrandbits(24):06x}"},
)

# --------------------------------------------------------------------------- cache

_CACHE_SPEC = _tool(
    "utility", "cache",
    "Stores a result under a key for fast reuse and returns the cached copy.",
    (
        _data("input", _RESULTS, "Result to cache"),
        Param("key", "string", "Cache key: letters, digits and . _ : - only.", check="identifier"),
        Param("ttl_seconds", "integer", "Time to live (default 3600).", required=False, minimum=1, maximum=604_800),
    ),
    SAME, (("hit", "boolean"),),
    ("keep intermediate results handy for reuse", "avoid recomputing an expensive lookup", "spare a service repeat requests"),
)


def _say_cache(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main = g.rng, ins.get("input") or ins.get("path")
    key = f"{g.dom.name}:{g.stem}:{g.year}-{g.month:02d}:{r.randrange(100, 1000)}"
    ttl = r.choice((900, 3600, 21600, 86400))
    keep = _TTL_WORDS[ttl]
    return _Say({"key": key, "ttl_seconds": ttl}, f"cache {src} under a key for reuse, {keep}", f", {keep}", keep, ""), \
        main.copy()


CACHE = Tool(
    spec=_CACHE_SPEC,
    say=_say_cache,
    ref="the cached copy",
    hard=(
        "keep {src} [handy for reuse|at hand for reuse]{d}",
        "keep {src} around to avoid [an expensive repeat|a costly repeat]{d}",
        "spare the source repeat requests by keeping {src} for reuse{d}",
        "[keep|hold] {src} [handy|at hand|around] [for reuse|to avoid an expensive repeat|so nobody recomputes it]{d}",
        "[cache|store] {src} [for reuse|to spare repeat requests|so nobody recomputes it] [under a key|under its own key|]{d}",
    ),
    very_hard=(
        "{src} kept [handy for reuse|at hand for reuse]{d}",
        "{src} kept around to avoid [an expensive repeat|a costly repeat]{d}",
        "{src} [kept|held] [handy|at hand|around] [for reuse|to avoid an expensive repeat|so nobody recomputes it]{d}",
        "[a reusable|a cached|a kept] copy of {src} [for reuse|to avoid an expensive repeat|so nobody recomputes it]{d}",
        "{src} [cached|kept|held] [for reuse|under a key for reuse|so the source is spared repeat requests]{d}",
    ),
    checked=("ttl_seconds",),
    surfaces={"ttl_seconds": lambda v: [(_TTL_WORDS[v].lower(),)]},
    destinations=("kept handy for reuse", "kept for reuse so nobody recomputes it"),
    weight=0.4,
    pass_through=True,
    summary=_cache_summary,
    keeps_fields=lambda rich, dtype: rich,
    artifact_key=_cache_key,
)

# --------------------------------------------------------------------------- tracker

_TRACKER_SPEC = _tool(
    "utility", "tracker",
    "Records a progress event for a result or job.",
    (
        _data("input", (ANY,), "Result or job the event is about"),
        Param("event", "string", "Event name: letters, digits and . _ : - only.", check="identifier"),
    ),
    "event", (("total_events", "integer"),),
    ("follow how far work has progressed", "keep tabs on a job's status", "record a milestone"),
)


def _say_tracker(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r = g.rng
    ev = f"{g.dom.name}.{r.choice(('stage_done', 'batch_ready', 'milestone', 'handoff'))}"
    return _Say({"event": ev}, f"record a progress event for {src} as the event {ev}", f"as the event {ev}",
                f"the event {ev}", ""), _Data("event")


TRACKER = Tool(
    spec=_TRACKER_SPEC,
    say=_say_tracker,
    ref="the progress event",
    hard=(
        "record [a progress milestone|a progress marker] for it {d}",
        "[keep tabs on|keep track of] its status with a progress event {d}",
        "follow how far the work has progressed {d}",
        "record [a progress milestone|a progress marker] for {src} {d}",
        "[keep tabs on|keep track of] {src} with a progress event {d}",
        "follow how far the work on {src} has progressed {d}",
        "[record|log] [a progress milestone|a progress event|a progress marker] [for|about] {src} [to keep tabs on it|to follow its progress|as a status update] {d}",
    ),
    very_hard=(
        "a milestone recorded for {src} {d}",
        "tabs kept on the status of {src} with a progress event {d}",
        "[a progress milestone|a progress event|a progress marker] [recorded|logged] [for|about] {src} [to keep tabs on it|to follow its progress|as a status update] {d}",
        "[progress|a status update|a progress marker] [recorded|tracked|noted] for {src} [with a progress event|as an event|for the record] {d}",
    ),
    checked=("event",),
    destinations=("with a progress milestone recorded", "with its progress tracked"),
    weight=0.5,
    any_skip=frozenset({"session", "connection"}),
    summary=_tracker_summary,
)

# --------------------------------------------------------------------------- notifier

_NOTIFIER_SPEC = _tool(
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
)


def _say_notifier(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, subj = g.rng, g.subject
    msg = f"The {g.team} update on the {subj} is ready."
    channel = r.choice(("email", "slack", "sms", "webhook"))
    way = _CHANNEL_WORDS[channel]
    return _Say({"message": msg, "channel": channel}, f"send {src} to the recipient {way}", way, f"the recipient, {way}", ""), \
        _Data("notification")


NOTIFIER = Tool(
    spec=_NOTIFIER_SPEC,
    say=_say_notifier,
    ref="the notification",
    hard=(
        "[let the recipient know|make sure the recipient knows] the result is in {d}",
        "[ping the recipient|give the recipient a ping] with the outcome {d}",
        "tell the recipient that the work has finished {d}",
        "[let the recipient know|make sure the recipient knows] that the result, {src}, is in {d}",
        "[ping the recipient|give the recipient a ping] with {src} as the outcome {d}",
        "[let the recipient know|make sure the recipient knows] the result, {src}, is in {d}",
        "[ping the recipient|give the recipient a ping] with {src} {d}",
        "tell the recipient about {src} {d}",
        "[let|tell] the recipient [know|hear] [that the result, {src}, is in|about the result, {src}|the outcome, {src}] {d}",
        "[ping|notify] the recipient [with|about] {src} [as the outcome|once the result is in|when the result is ready] {d}",
    ),
    very_hard=(
        "the recipient pinged with {src} as the outcome {d}",
        "the recipient told that the result, {src}, is in {d}",
        "the recipient [told|informed|pinged] [that {src} is in|about {src}|with the outcome, {src}] {d}",
        "[word|a message|a note] to the recipient [about|on] {src} [once it is in|as the outcome|when it is ready] {d}",
    ),
    checked=("channel",),
    surfaces={"channel": lambda v: [(_CHANNEL_WORDS[v].lower(),)]},
    destinations=("sent to {recipient}", "in the inbox of {recipient}"),
    weight=1.2,
    any_skip=frozenset({"session", "connection", "raw", "file_list"}),
    extras={"delivered": lambda r, n: True},
)

# --------------------------------------------------------------------------- helper

_HELPER_SPEC = _tool(
    "utility", "helper",
    "Derives a small value from a result: a content hash, a unique id or a slug.",
    (
        _data("input", (ANY,), "Result to derive the value from"),
        Param("operation", "string", "What to derive.", enum=("hash", "generate_id", "slugify")),
    ),
    "value", (("output_value", "string"),),
    ("fingerprint a result", "come up with a unique reference for a batch", "produce a URL-friendly label"),
)


def _say_helper(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r = g.rng
    kind, plain, para = r.choice((
        ("hash", "derive a content hash of {src}", "a content hash (a fingerprint)"),
        ("generate_id", "derive a unique id for {src}", "a unique id (a fresh reference)"),
        ("slugify", "derive a slug from {src}", "a URL-friendly slug (a label safe in a URL)"),
    ))
    return _Say({"operation": kind}, plain.format(src=src), para, kind, ""), _Data("value")


HELPER = Tool(
    spec=_HELPER_SPEC,
    say=_say_helper,
    ref="the derived value",
    hard=(
        "{d}",
        "work out {d} of {src}",
        "produce {d} from {src}",
        "derive {d} from {src}",
        "[work out|produce|derive|compute] {d} [of|from|for] {src}",
        "[come up with|generate|make] {d} [for|from] {src} [to label it|as its reference|for later lookups]",
        "[derive|work out] {d} [based on|out of] {src} [so the result can be referred to|as a handle for people|to tag the result]",
        "[attach|add|give] {d} to {src} [so it can be referred to|as its label|for the record]",
    ),
    very_hard=(
        "{d} for {src}",
        "[a|the] {d} [worked out|produced|derived|computed] [of|from|for] {src}",
        "{d} [made|worked out|derived] for {src} [as its reference|to tag the result|for later lookups]",
        "{src} [labelled|tagged|marked] with {d} [for the record|as its reference|for later lookups]",
        "[a label|a reference|a tag] for {src}: {d}, [worked out|derived|made] [once|for good|for later]",
    ),
    checked=("operation",),
    surfaces={"operation": lambda v: [_HELPER_SAID[v]]},
    destinations=("with {helper}", "labelled with {helper}"),
    destination_words=lambda args, say: {"helper": _HELPER_WORDS.get(str(args.get("operation", "")), "")},
    weight=0.4,
    any_skip=frozenset({"session", "connection", "status", "job", "queued", "file_list"}),
    summary=_helper_summary,
)

TOOLS: tuple[Tool, ...] = (LOGGER, CACHE, TRACKER, NOTIFIER, HELPER)
