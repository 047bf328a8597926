"""A test as the viewer shows it: its turns, its task and prompt rebuilt, and each step with why it
did or did not count."""

from __future__ import annotations

import json
import re
from typing import Any


# ---------------------------------------------------------------------- a test


def _pretty(text: Any) -> str:
    """JSON text pretty-printed when it parses, else as it was."""
    if isinstance(text, (dict, list)):
        return json.dumps(text, indent=2, ensure_ascii=False)
    if not isinstance(text, str):
        return "" if text is None else str(text)
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def _result_ok(text: Any) -> bool | None:
    try:
        obj = json.loads(text) if isinstance(text, str) else text
    except (ValueError, RecursionError):
        return None
    if isinstance(obj, dict) and "status" in obj:
        return obj.get("status") == "success"
    return None


LONG_RESULT_LINES = 12  # a tool result longer than this (or LONG_RESULT_CHARS) is collapsed
LONG_RESULT_CHARS = 800


def _result(name: Any, content: Any) -> dict[str, Any]:
    body = _pretty(content)
    lines = body.count("\n") + 1
    return {"name": name, "body": body, "ok": _result_ok(content), "lines": lines,
            "long": lines > LONG_RESULT_LINES or len(body) > LONG_RESULT_CHARS}


_TEXT_RESULT = re.compile(r'<tool_result name="([^"]*)">(.*?)</tool_result>', re.S)


def turns_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation after the prompt as turns: the assistant's text and calls, then what came back."""
    turns: list[dict[str, Any]] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role == "assistant":
            calls = []
            for c in m.get("tool_calls") or []:
                fn = (c or {}).get("function") or {}
                calls.append({"id": c.get("id"), "name": fn.get("name"), "arguments": _pretty(fn.get("arguments"))})
            turns.append({"n": len(turns) + 1, "text": m.get("content"), "calls": calls, "results": [], "help": None})
        elif not turns:
            continue
        elif role == "tool":
            name = next((c["name"] for c in turns[-1]["calls"] if c["id"] == m.get("tool_call_id")), None)
            turns[-1]["results"].append(_result(name, m.get("content")))
        elif role == "user":
            content = m.get("content") or ""
            found = _TEXT_RESULT.findall(content) if isinstance(content, str) else []
            if found:
                for name, body in found:
                    turns[-1]["results"].append(_result(name, body))
            else:
                turns[-1]["help"] = content
        else:
            turns[-1].setdefault("other", []).append(m)
    return turns


def _wall(rec: dict[str, Any]) -> float | None:
    """Seconds from the test's start to its end, as recorded."""
    start, end = rec.get("started_at"), rec.get("finished_at")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)) and start and end >= start:
        return float(end) - float(start)
    return None


def _rebuild(rec: dict[str, Any]) -> dict[str, Any]:
    """The task, prompt and plans rebuilt from the record's spec (only if the task is the same)."""
    out: dict[str, Any] = {"task": None, "prompt": None, "flaw_lines": set(), "note": ""}
    try:
        from ..benchmark import prompts
        from ..benchmark.tasks import generate_instance

        task = generate_instance(rec["task_type"], int(rec["instance"]), int(rec["seed"]))
        if rec.get("task_hash") and getattr(task, "content_hash", None) != rec["task_hash"]:
            out["note"] = "this test was made by another suite version: its prompt cannot be rebuilt here"
            return out
        out["task"] = task
        out["prompt"] = prompts.render_prompt(task, rec["difficulty"], rec["prompt_type"], severity=rec.get("severity") or "severe")
        pt = rec["prompt_type"]
        if pt.startswith("flawed_"):
            clean = set(prompts.render_plan(prompts.plan_for(task, "optimal")).splitlines())
            flawed = prompts.plan_for(task, pt, rec.get("severity") or "severe")
            out["flaw_lines"] = {ln for ln in prompts.render_plan(flawed).splitlines() if ln not in clean and ln.strip()}
    except Exception as e:  # noqa: BLE001 - the benchmark core may not match this record; the page still shows
        out["note"] = f"the prompt could not be rebuilt: {type(e).__name__}"
    return out


_PROMPT_TITLES = {"system": "system prompt", "user": "user message (the task)"}


def test_title(rec: dict[str, Any]) -> str:
    """A test as a person names it: its task type, difficulty, model and prompt type."""
    parts = [rec.get("task_type"), rec.get("difficulty"), rec.get("model"), rec.get("prompt_type")]
    return " · ".join(str(p) for p in parts if p) or f"Test {rec.get('test_id')}"


def _steps_of(rec: dict[str, Any], task: Any) -> int | None:
    """The task's number of steps (its graph, else its required tools), for rules stated per task."""
    steps = getattr(task, "steps", None)
    if steps:
        return len(steps)
    required = rec.get("required_tools")
    return len(required) if isinstance(required, list) and required else None


def required_steps(rec: dict[str, Any], task: Any) -> list[dict[str, Any]]:
    """Each required tool: done or not, and why, from the stored trajectory."""
    required = rec.get("required_tools")
    if not isinstance(required, list):
        required = list(getattr(task, "required_tools", ()) or ())
    deps: dict[str, Any] = {}
    try:
        deps = dict(task.dependencies) if task is not None else {}
    except Exception:  # noqa: BLE001
        deps = {}
    traj = rec.get("trajectory") if isinstance(rec.get("trajectory"), dict) else {}
    calls = [c for c in traj.get("calls") or [] if isinstance(c, dict)]
    first: dict[str, int] = {}
    for i, c in enumerate(calls):
        if c.get("success") and c.get("name") not in first:
            first[c.get("name")] = i
    out = []
    for tool in dict.fromkeys(required):
        tries = [c for c in calls if c.get("name") == tool]
        if tool in first:
            i = first[tool]
            late = [d for d in deps.get(tool, ()) if d not in first or first[d] > i]
            if late:
                why = f"succeeded at call {i + 1} (turn {calls[i].get('turn')}), but not after its dependency {', '.join(late)} had"
                done = False
            else:
                why = f"succeeded at call {i + 1} (turn {calls[i].get('turn')})"
                done = True
        elif tries:
            codes = [c.get("error_code") or "error" for c in tries]
            why = f"called {len(tries)} time(s), never succeeded: {', '.join(codes)}"
            done = False
        else:
            why = "never called"
            done = False
        out.append({"tool": tool, "done": done, "why": why})
    return out


def analysed_steps(rec: dict[str, Any], task: Any) -> list[dict[str, Any]] | None:
    """Each step of a task graph (`task.steps`) as the scorer's own `analyse` judged it, with why a
    step did not count; None when the benchmark core has no such analysis (then required_steps)."""
    import dataclasses

    from ..benchmark import scoring, types

    analyse = getattr(scoring, "analyse", None)
    steps = getattr(task, "steps", None)
    if analyse is None or not steps:
        return None
    names = {f.name for f in dataclasses.fields(types.CallRecord)}
    traj = rec.get("trajectory") if isinstance(rec.get("trajectory"), dict) else {}
    try:
        calls = [types.CallRecord(**{k: v for k, v in c.items() if k in names})
                 for c in traj.get("calls") or [] if isinstance(c, dict)]
        verdicts = scoring.explain_steps(task, calls)
    except Exception:  # noqa: BLE001 - a trajectory from another core version: explain it the simple way
        return None
    return [{"tool": f"{i + 1}. {step.tool}", "done": v.done, "why": v.why} for i, (step, v) in enumerate(zip(steps, verdicts))]
