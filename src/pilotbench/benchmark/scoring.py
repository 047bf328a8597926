"""Scoring, defined once: success level, scores in [0, 1], and one error category per non-full test.

Success levels
- full_success: every required tool succeeded, each after the tools it depends on had succeeded,
  and the model ended with a final answer that declares the task done.
- partial_success: not full, but at least half of the required tools succeeded.
- failure: anything less.

Scores (each reaches 1.0 on a perfect run)
- workflow_adherence: longest common subsequence of the tools in the order they first succeeded
  and the clean plan, over the plan's length.
- tool_coverage: share of required tools that succeeded at least once.
- efficiency: the minimum number of turns (one per required tool plus the final answer) over the
  turns used, capped at 1.

Error category (first rule that matches, for every test that is not a full success)
1. tool_call_format_errors: no call succeeded and the model made format errors, or at least half
   of its turns were format errors.
2. tool_selection_errors: a required tool was never called, or a tool that does not exist was.
3. parameter_config_errors: a required tool never succeeded and was refused for its arguments.
4. timeout_errors: a required tool never succeeded and its last failure was a TIMEOUT.
5. dependency_errors: a required tool never succeeded after a tool it depends on had failed to.
6. sequence_order_errors: every required tool succeeded, but not in dependency order.
7. max_turns_errors: the conversation ran out of turns.
8. other_errors: anything else (tool failures not recovered, completion not declared, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .types import Score, Trajectory


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def first_successes(traj: Trajectory) -> dict[str, int]:
    """Tool -> index of its first successful call in the trajectory."""
    out: dict[str, int] = {}
    for i, call in enumerate(traj.calls):
        if call.success and call.name not in out:
            out[call.name] = i
    return out


def dependency_order_ok(first: Mapping[str, int], dependencies: Mapping[str, Sequence[str]]) -> bool:
    for tool, deps in dependencies.items():
        if tool not in first:
            continue
        for dep in deps:
            if dep not in first or first[dep] > first[tool]:
                return False
    return True


def score(
    required_tools: Sequence[str],
    dependencies: Mapping[str, Sequence[str]],
    traj: Trajectory,
) -> Score:
    """Score one finished trajectory against its task's required tools and dependencies."""
    required = list(dict.fromkeys(required_tools))
    first = first_successes(traj)
    succeeded = [t for t in required if t in first]
    coverage = len(succeeded) / len(required) if required else 1.0
    order = [t for t, _ in sorted(first.items(), key=lambda kv: kv[1]) if t in required]
    adherence = _lcs(order, list(required_tools)) / len(required_tools) if required_tools else 1.0
    min_turns = len(required) + 1
    efficiency = min(1.0, min_turns / traj.turns) if traj.turns else 0.0
    order_ok = dependency_order_ok(first, dependencies)

    if coverage == 1.0 and order_ok and traj.stop_reason == "final_answer" and traj.declared_completion:
        return Score("full_success", adherence, coverage, efficiency, None)
    level = "partial_success" if required and len(succeeded) * 2 >= len(required) else "failure"
    return Score(level, adherence, coverage, efficiency, error_category(required, dependencies, traj, first, order_ok))


def error_category(
    required: Sequence[str],
    dependencies: Mapping[str, Sequence[str]],
    traj: Trajectory,
    first: Mapping[str, int] | None = None,
    order_ok: bool | None = None,
) -> str:
    first = first_successes(traj) if first is None else first
    order_ok = dependency_order_ok(first, dependencies) if order_ok is None else order_ok
    if traj.format_errors and (not first or traj.format_errors * 2 >= max(traj.turns, 1)):
        return "tool_call_format_errors"
    called = {c.name for c in traj.calls}
    if any(t not in called for t in required) or any(not c.known_tool for c in traj.calls):
        return "tool_selection_errors"
    missing = [t for t in required if t not in first]
    failures: dict[str, list[str]] = {}
    for call in traj.calls:
        if not call.success and call.name in missing:
            failures.setdefault(call.name, []).append(call.error_code or "")
    if any("INVALID_INPUT" in codes for codes in failures.values()):
        return "parameter_config_errors"
    if any(codes and codes[-1] == "TIMEOUT" for codes in failures.values()):
        return "timeout_errors"
    if any(dep not in first for t in missing for dep in dependencies.get(t, ())):
        return "dependency_errors"
    if not missing and not order_ok:
        return "sequence_order_errors"
    if traj.stop_reason == "max_turns":
        return "max_turns_errors"
    return "other_errors"
