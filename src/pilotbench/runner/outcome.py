"""How a run ended, for people and for scripts: the exit status, infrastructure errors grouped by
cause, and the keys that were taken out of the run (disabled or parked) with their reasons.

Exit statuses of `pilotbench run` (README, "Exit status"):

    0    every planned test ended `done`
    2    bad input: nothing was run
    3    some tests ended in infrastructure errors (run the same command again to retry them), or
         results the store could not take were saved to a rescue file (the next run imports it)
    4    a model was stopped (refused key on every lane, unknown model, unreachable provider):
         its remaining tests were not run
    130  interrupted (Ctrl-C, SIGTERM)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from ..limits import Lane

EXIT_OK = 0
EXIT_INFRA_ERRORS = 3
EXIT_MODEL_STOPPED = 4
EXIT_INTERRUPTED = 130

_COUNTS = re.compile(r"\b(after) \d+( transient failures| tries)\b")
_CONTEXT = re.compile(r"^(context length exceeded: HTTP \d+: )")
_NUMBER = re.compile(r"\d+")
# ids (hex with digits and letters), decimals and numbers of four digits or more: they differ per test
_VOLATILE = re.compile(r"\b(?:[0-9a-f]*\d[0-9a-f]*[a-f][0-9a-f]*|[0-9a-f]*[a-f][0-9a-f]*\d[0-9a-f]*|\d+\.\d+|\d{4,})\b", re.I)


def error_cause(message: str | None) -> str:
    """One infrastructure error's cause, the same for the run summary and the viewer: its first
    line, with the per-test counts taken out (retries and tries, a refused conversation's token
    counts: N) and ids, decimals and long numbers blanked (#), so the same failure on many tests is
    one cause. An HTTP status stays: it is part of the cause."""
    line = (message or "unknown").strip().splitlines()[0] if (message or "").strip() else "unknown"
    line = _COUNTS.sub(lambda m: f"{m.group(1)} N{m.group(2)}", line)
    context = _CONTEXT.match(line)
    if context:  # every test's refusal names its own token count: one cause for them all
        line = context.group(1) + _NUMBER.sub("N", line[context.end(1):])
    line = _VOLATILE.sub("#", line)
    return line if len(line) <= 240 else line[:237] + "..."


def lane_problems(lanes: Iterable[Lane]) -> dict[str, str]:
    """Lane name -> "disabled: reason" or "parked: reason", for lanes out of the run for good."""
    out: dict[str, str] = {}
    for lane in lanes:
        if lane.disabled_reason is not None:
            out[lane.name] = f"disabled: {lane.disabled_reason}"
        elif not lane.is_usable:
            out[lane.name] = f"parked: {lane.park_reason or 'quota exhausted'}"
    return out


def run_state(*, interrupted: bool, completed: int, errors: int, stopped_models: int) -> str:
    """How a run ended, for its row in the store (`pilotbench status`): `interrupted`; `failed`
    when it ended with errors (or stopped models) and no test done; else `finished`."""
    if interrupted:
        return "interrupted"
    if completed == 0 and (errors or stopped_models):
        return "failed"
    return "finished"


def exit_status(*, interrupted: bool, stopped_models: int, errors: int, not_run: int, not_stored: int = 0) -> int:
    """0 only when every planned test ended `done` and is in the store (`not_stored`: results
    saved to a rescue file instead)."""
    if interrupted:
        return EXIT_INTERRUPTED
    if stopped_models:
        return EXIT_MODEL_STOPPED
    if errors or not_run or not_stored:
        return EXIT_INFRA_ERRORS
    return EXIT_OK


def learnt_limits(lanes: Iterable[Lane], keep: Collection[str] = ()) -> dict[str, dict[str, object]]:
    """What each lane has learnt of its provider's limits, for the run's record (`pilotbench
    status`): the concurrency it runs at against what was declared, and the budgets the provider
    stated in its x-ratelimit-* headers (per minute, and what was left). Lanes that learnt nothing
    and run at their declared concurrency are left out, unless named in `keep` (recorded before);
    so are lanes that made no call or have no answer yet."""
    out: dict[str, dict[str, object]] = {}
    for lane in lanes:
        if lane.calls == 0 or (lane.learns_limits and not lane.learned):
            continue  # no call, or no answer yet: nothing learnt (its "1 of N" is only the first call's wait)
        learnt = {k: round(v) for k, v in lane.learned_limits().items() if v is not None}
        if not learnt and lane.limit == lane.max_concurrency and lane.name not in keep:
            continue
        out[lane.name] = {"key": lane.key_label, "concurrency": lane.limit, "declared_concurrency": lane.max_concurrency,
                          **learnt}
    return out
