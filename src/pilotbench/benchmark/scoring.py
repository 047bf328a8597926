"""Scoring, defined once: success level, scores in [0, 1], and one error category per non-full test.

docs/scoring.md states the same rules with worked examples; keep the two in step.

A task is a small graph of steps (``TaskInstance.steps``): each step names a tool and, for each
data or literal parameter, where its value must come from: the output of an upstream step, or
one of the task's declared literals. The simulator records, for every call, what each of those
parameters resolved to and the handle a success returned.

Step done
    A step is *done* by a successful call of its tool whose every fed parameter holds the output
    handle of a call that did the upstream step (or the task's literal for that role), and whose
    settings are equivalent to those the task states (``TaskStep.checked``, compared by meaning in
    ``settings.py``: conditions as normalised terms, expressions by value, cron by schedule). So a step
    done on an invented handle, on the wrong upstream output, or before its inputs existed does
    not count, and nothing downstream of it can count either.

Useful call
    A call of a required tool whose fed parameters were right (as above) and which was not refused,
    made before its step was done: the call that did the step, and its retries after a random tool
    failure. Everything else (unneeded tools, refused calls, repeats of a done step) is not useful.

Success levels
- full_success: every step done, the model ended with a final answer that reports exactly one
  result handle (every ``RESULT:`` line is read; with none naming a handle, the one handle the answer
  names in plain words: protocol.read_final), that handle is the output of a call that did the final
  step, the answer does not say the task failed, and at most UNNEEDED_BUDGET(steps) calls were not
  useful (a run that tries everything to stumble on the result is not a success).
- partial_success: not full, at least half of the steps done and at least two (PARTIAL_MIN_STEPS; the
  first step is fixed by the source the Inputs name, so one step alone is no evidence of reading the
  task), AND precision >= 0.5.
- failure: anything less. "success" means full or partial.

Scores (each in [0, 1], each reaching 1.0 on a perfect run)
- tool_coverage: steps done over steps.
- workflow_adherence: longest common subsequence of the steps in the order they were first done
  and the task's step order, over the number of steps.
- precision: useful calls over calls made (0 with no call).
- efficiency: steps over calls made, capped at 1; 0 when no step was done.

Error category (for every test that is not a full success; the first rule that matches)
1. tool_call_format_errors: format errors, and no step was done or half the turns were format errors.
2. tool_selection_errors: a required tool was never called, a tool that does not exist was called,
   or more than UNNEEDED_BUDGET(steps) calls were not useful.
Rules 3-6 look at the first step (in step order) that was never done:
3. sequence_order_errors: its tool was called before all its upstream steps were done.
4. parameter_config_errors: a call of it was refused for a setting (a non-data argument), or
   succeeded on the right inputs with a setting that is not the one the task states.
5. dependency_errors: a call of it was refused for a data input (an invented or wrong-typed
   handle), or succeeded on an input that is not its upstream step's output.
6. timeout_errors: its last failure was a TIMEOUT.
7. max_turns_errors: the conversation ran out of turns.
8. other_errors: anything else (random tool failures not retried, no result reported, several
   results or the wrong result handle reported, a failure declared, a stop rule).
Before all of these: context_length_errors when the provider refused the conversation as longer
than the model's context (stop reason ``context_length``): that, not what the cut-short
conversation left undone, is why the test ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .settings import compared_as, stated_default, wrong_settings
from .toolkit import on_change
from .tools import TOOLS
from .types import CallRecord, Score, Trajectory

if TYPE_CHECKING:
    from .tasks import TaskInstance

# tool -> setting -> the default its schema states (a setting left out is its default), and how it is
# compared (`settings.compared_as` of its parameter's check); rebuilt when a tool is registered or
# unregistered.
_DEFAULTS: dict[str, dict[str, object]] = {}
_KINDS: dict[str, dict[str, str]] = {}


@on_change
def _build_tables() -> None:
    _DEFAULTS.clear()
    _DEFAULTS.update({
        name: {p.name: d for p in spec.parameters if (d := stated_default(p.description)) is not None}
        for name, spec in TOOLS.items()
    })
    _KINDS.clear()
    _KINDS.update({name: {p.name: compared_as(p.check) for p in spec.parameters} for name, spec in TOOLS.items()})


_build_tables()

PARTIAL_MIN_PRECISION = 0.5
PARTIAL_MIN_STEPS = 2
# What the scores mean. Part of the suite version (`versions.suite_version`), so results scored by
# different rules are never pooled: 1 = suite v2 as first released; 2 = partial success needs two
# steps done (a 2-step task's first step alone is no longer partial success); 3 = full success reads
# every RESULT line (several distinct handles report none), takes the one handle an answer without
# a RESULT line names in plain words, and is denied to an answer that says the task failed.
# Also in 3 (suite v3): a step is done only with the settings the task states.
SCORING_REVISION = 3


def unneeded_budget(steps: int) -> int:
    """How many calls that are not useful a test may make before it counts as a tool-selection error."""
    return max(3, steps)


def _lcs(a: Sequence[int], b: Sequence[int]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


@dataclass(slots=True)
class StepAnalysis:
    """What the trajectory did for each step: the handles that did it and each call's verdict."""

    done_handles: list[set[str]]
    first_done: list[int | None]  # index of the call that first did each step
    useful: list[bool]  # per call
    feeds_ok: list[bool | None]  # per call: None for a tool the task does not need
    wrong_settings: list[tuple[str, ...]]  # per call: the checked settings it got wrong (right feeds, or not)


def analyse(task: TaskInstance, calls: Sequence[CallRecord]) -> StepAnalysis:
    steps = task.steps
    index = {s.tool: i for i, s in enumerate(steps)}
    done: list[set[str]] = [set() for _ in steps]
    first: list[int | None] = [None] * len(steps)
    useful: list[bool] = []
    feeds_ok: list[bool | None] = []
    wrong: list[tuple[str, ...]] = []
    integers = frozenset(n for n, t in task.fields if t == "integer")
    for n, call in enumerate(calls):
        s = index.get(call.name)
        if s is None:
            useful.append(False)
            feeds_ok.append(None)
            wrong.append(())
            continue
        checked = steps[s].checked_args
        bad = wrong_settings(checked, call.arguments, integers, _DEFAULTS.get(call.name),
                             _KINDS.get(call.name)) if checked else ()
        wrong.append(bad)
        inputs = call.inputs or {}
        ok = call.error_code != "INVALID_INPUT"
        if ok:
            for param, source in steps[s].feeds:
                value = inputs.get(param)
                if isinstance(source, int):
                    if value is None or value not in done[source]:
                        ok = False
                        break
                elif value is None or value != task.inputs.get(source):
                    ok = False
                    break
        feeds_ok.append(ok)
        ok = ok and not bad
        useful.append(ok and first[s] is None)
        if ok and call.success and call.handle:
            done[s].add(call.handle)
            if first[s] is None:
                first[s] = n
    return StepAnalysis(done, first, useful, feeds_ok, wrong)


def score(task: TaskInstance, traj: Trajectory) -> Score:
    """Score one finished trajectory against its task (see the module docstring for the rules)."""
    n = len(task.steps)
    a = analyse(task, traj.calls)
    done = [f is not None for f in a.first_done]
    k = sum(done)
    calls = len(traj.calls)
    coverage = k / n if n else 1.0
    order = [s for s, _ in sorted(((s, f) for s, f in enumerate(a.first_done) if f is not None), key=lambda x: x[1])]
    adherence = _lcs(order, list(range(n))) / n if n else 1.0
    precision = sum(a.useful) / calls if calls else 0.0
    efficiency = min(1.0, n / calls) if calls and k else 0.0
    reported = traj.result_handle
    if (
        k == n
        and calls - sum(a.useful) <= unneeded_budget(n)
        and traj.stop_reason == "final_answer"
        and reported is not None
        and not traj.declared_failure
        and reported in a.done_handles[n - 1]
    ):
        return Score("full_success", adherence, coverage, efficiency, None, precision, tuple(done))
    partial = n and k * 2 >= n and k >= min(n, PARTIAL_MIN_STEPS) and precision >= PARTIAL_MIN_PRECISION
    level = "partial_success" if partial else "failure"
    category = error_category(task, traj, a)
    return Score(level, adherence, coverage, efficiency, category, precision, tuple(done))


def error_category(task: TaskInstance, traj: Trajectory, a: StepAnalysis | None = None) -> str:
    if traj.stop_reason == "context_length":
        return "context_length_errors"
    a = analyse(task, traj.calls) if a is None else a
    steps = task.steps
    if traj.format_errors and (all(f is None for f in a.first_done) or traj.format_errors * 2 >= max(traj.turns, 1)):
        return "tool_call_format_errors"
    called = {c.name for c in traj.calls}
    if (
        any(s.tool not in called for s in steps)
        or any(not c.known_tool for c in traj.calls)
        or len(traj.calls) - sum(a.useful) > unneeded_budget(len(steps))
    ):
        return "tool_selection_errors"
    missing = next((i for i, f in enumerate(a.first_done) if f is None), None)
    if missing is not None:
        step = steps[missing]
        mine = [(n, c) for n, c in enumerate(traj.calls) if c.name == step.tool]
        upstream = [src for _, src in step.feeds if isinstance(src, int)]
        for n, _ in mine:
            if any(a.first_done[u] is None or a.first_done[u] > n for u in upstream):
                return "sequence_order_errors"
        if any(c.error_code == "INVALID_INPUT" and not c.data_refusal for _, c in mine) or any(
            c.success and a.feeds_ok[n] and a.wrong_settings[n] for n, c in mine
        ):
            return "parameter_config_errors"
        if any(c.error_code == "INVALID_INPUT" and c.data_refusal for _, c in mine) or any(
            c.success and not a.feeds_ok[n] for n, c in mine
        ):
            return "dependency_errors"
        failures = [c.error_code for _, c in mine if not c.success]
        if failures and failures[-1] == "TIMEOUT":
            return "timeout_errors"
    if traj.stop_reason == "max_turns":
        return "max_turns_errors"
    return "other_errors"


# ---------------------------------------------------------------------- the rules in words


@dataclass(frozen=True, slots=True)
class Rules:
    """The rules above in words, as a person reads them (docs/scoring.md has the same with examples):
    what each success level requires, when a test gets each error category (tried in this order),
    and each reason a step of a task may not count (templates; `explain_steps` fills them)."""

    levels: dict[str, str]
    categories: dict[str, str]
    step_reasons: dict[str, str]


# Every reason `explain_steps` may give for a step, done or not.
STEP_REASONS = ("done", "never_called", "called_early", "refused_setting", "refused_data", "wrong_input",
                "wrong_setting", "failed", "not_done")


def _unneeded_words(steps: int | None) -> str:
    floor = unneeded_budget(0)
    if steps:
        return f"{unneeded_budget(steps)} calls that were not useful (the larger of {floor} and the task's {steps} steps)"
    return f"the larger of {floor} and the task's number of steps in calls that were not useful"


def explain(steps: int | None = None) -> Rules:
    """Every rule in words; given the task's number of steps, a threshold is stated for that task
    ("more than 4 calls", not a formula)."""
    pct = f"{PARTIAL_MIN_PRECISION:.0%}"
    levels = {
        "full_success": ("Every step done (by a successful call of its tool on the outputs of the steps it depends on, with "
                         "the settings the task states), a final answer that reports exactly one result, the final step's "
                         "output, without saying the task failed, and no more than " + _unneeded_words(steps) + "."),
        "partial_success": (f"Not a full success, but at least half of the steps done and at least {PARTIAL_MIN_STEPS} "
                            f"of them, and at least {pct} of the model's calls useful."),
        "failure": "Anything less than a partial success.",
    }
    categories = {
        "context_length_errors": ("The provider refused the conversation as longer than the model's context; "
                                  "that, not what was left undone, ended the test (checked before every other rule)."),
        "tool_call_format_errors": ("Replies with no usable tool call and no final answer, and either no step was "
                                    "done or half the turns were such replies (rule 1)."),
        "tool_selection_errors": ("A required tool was never called, a tool that does not exist was called, or "
                                  "the model made more than " + _unneeded_words(steps) + " (rule 2)."),
        "sequence_order_errors": ("The first step never done had its tool called before all the steps it depends "
                                  "on were done (rule 3)."),
        "parameter_config_errors": ("A call of the first step never done was refused for a setting (an argument "
                                    "that is not data), or succeeded on the right inputs with a setting other than "
                                    "the one the task states (rule 4)."),
        "dependency_errors": ("A call of the first step never done was refused for a data input (an invented or "
                              "wrong-typed handle), or succeeded on an input that is not the output of the step "
                              "it depends on (rule 5)."),
        "timeout_errors": "The last failure of the first step never done was a tool timeout (rule 6).",
        "max_turns_errors": "The conversation ran out of turns (rule 7).",
        "other_errors": ("Anything else: random tool failures not retried, no result reported, several results or "
                         "the wrong result reported, a failure declared, or a stop rule (rule 8)."),
    }
    step_reasons = {
        "done": "done by call {call} (turn {turn}) on its inputs' right values",
        "never_called": "never called",
        "called_early": "called before step {steps} was done",
        "refused_setting": "refused for {what}: a setting",
        "refused_data": "refused for {what}: a data input (an invented or wrong-typed handle)",
        "wrong_input": "succeeded on an input that is not its upstream step's output",
        "wrong_setting": "succeeded on its inputs' right values with a setting other than the task states: {settings}",
        "failed": "failed: {codes}",
        "not_done": "not done",
    }
    return Rules(levels, categories, step_reasons)


@dataclass(frozen=True, slots=True)
class StepVerdict:
    """One step of a task as the scorer judged a trajectory: done or not, and why, in words."""

    done: bool
    why: str


def explain_steps(task: TaskInstance, calls: Sequence[CallRecord]) -> list[StepVerdict]:
    """Each step of the task: whether the calls did it (`analyse`) and, when not, every reason the
    rules give (the call that was early, refused, fed the wrong input or setting, or failed)."""
    words = explain().step_reasons
    a = analyse(task, calls)
    wrong = getattr(a, "wrong_settings", None) or []
    feeds = getattr(a, "feeds_ok", None) or []
    out = []
    for i, step in enumerate(task.steps):
        first = a.first_done[i]
        if first is not None:
            out.append(StepVerdict(True, words["done"].format(call=first + 1, turn=calls[first].turn)))
            continue
        mine = [(n, c) for n, c in enumerate(calls) if c.name == step.tool]
        reasons = []
        if not mine:
            reasons.append(words["never_called"])
        early = sorted({u + 1 for n, _ in mine for u in step.upstream if a.first_done[u] is None or a.first_done[u] > n})
        if early:
            reasons.append(words["called_early"].format(steps=", ".join(map(str, early))))
        for _, c in mine:
            if c.error_code == "INVALID_INPUT":
                reason = "refused_data" if c.data_refusal else "refused_setting"
                reasons.append(words[reason].format(what=c.refused or "an argument"))
        if any(c.success and n < len(feeds) and feeds[n] is False for n, c in mine):
            reasons.append(words["wrong_input"])
        settings = [s for n, c in mine if c.success and n < len(feeds) and feeds[n] and n < len(wrong) for s in wrong[n]]
        if settings:
            reasons.append(words["wrong_setting"].format(settings=", ".join(dict.fromkeys(settings))))
        failed = [c.error_code for _, c in mine if not c.success and c.error_code != "INVALID_INPUT"]
        if failed:
            reasons.append(words["failed"].format(codes=", ".join(str(f) for f in failed)))
        out.append(StepVerdict(False, "; ".join(dict.fromkeys(reasons)) or words["not_done"]))
    return out
