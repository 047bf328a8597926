"""How steps are worded: each tool's phrases per difficulty, the frames around them, the settings a
step states (and the scorer compares), and the words a description uses to refer back to an output.

Data only. Each tool's own wording (its phrases, the settings it states, how its output is named, where
the work ends up when it is last, its settings in words) is written in its module of ``toolkit/``; the
tables below gather it from the registry (rebuilt whenever a tool is registered or unregistered), and
the frames and role words every task shares are here. The generator (tasks.py) fills these with a
step's settings (`{d}`), its input (`{src}`) and the task's values; the derivability check
(derivable.py) proves the result states every step.
"""

from __future__ import annotations

from .toolkit import ENTRIES, on_change
from .toolkit.computation import _ANALYSIS_WORDS, _LIMITS, _SCENARIOS
from .toolkit.data_processing import _METRIC_WORDS
from .toolkit.file_operations import _WRITE_MODES
from .toolkit.integration import _CRONS, _PROTOCOL_WORDS, _TIMEZONES
from .toolkit.utility import _CHANNEL_WORDS, _HELPER_WORDS, _TTL_WORDS

__all__ = [  # the settings words are each tool's, re-exported for the readers that name them here
    "_ANALYSIS_WORDS", "_CHANNEL_WORDS", "_CRONS", "_HELPER_WORDS", "_LIMITS", "_METRIC_WORDS", "_PROTOCOL_WORDS",
    "_SCENARIOS", "_TIMEZONES", "_TTL_WORDS", "_WRITE_MODES",
]

# Phrases per tool at hard and very_hard, keyed by tool (and "TOOL@listed": a chain's first tool taking
# an earlier step's output instead of the task's literal); how a description refers back to a tool's
# output when "it" could mean two handles; the settings each tool's step states (and the scorer
# compares); where the work ends up when a tool is the last step.
_HARD: dict[str, tuple[str, ...]] = {}
_VH: dict[str, tuple[str, ...]] = {}
_REF: dict[str, str] = {}
_CHECKED: dict[str, tuple[str, ...]] = {}
_DESTINATIONS: dict[str, tuple[str, ...]] = {}


@on_change
def _gather() -> None:
    for table in (_HARD, _VH, _REF, _CHECKED, _DESTINATIONS):
        table.clear()
    for name, tool in ENTRIES.items():
        _HARD[name], _VH[name], _REF[name] = tool.hard, tool.very_hard, tool.ref
        if tool.fed_hard is not None and tool.fed_very_hard is not None:
            _HARD[f"{name}@listed"], _VH[f"{name}@listed"] = tool.fed_hard, tool.fed_very_hard
        if tool.checked:
            _CHECKED[name] = tool.checked
        if tool.destinations is not None:
            _DESTINATIONS[name] = tool.destinations


_gather()


# What each type of handle is called when a medium/hard description refers back to it.
_NOUN: dict[str, str] = {
    "raw": "the content", "records": "the records", "summary": "the summary", "file_list": "the file list",
    "file": "the saved file", "archive": "the archive", "response": "the response", "session": "the session",
    "connection": "the connection", "number": "the figure", "analysis": "the findings", "forecast": "the forecast",
    "optimum": "the plan", "simulation": "the simulation results", "status": "the status report",
    "queued": "the queued messages", "job": "the job", "log": "the log entry", "event": "the event",
    "notification": "the notification", "value": "the value",
}


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
