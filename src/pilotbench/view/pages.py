"""The viewer's pages as HTML, for the live server and the static export alike.

Pages are rendered by jinja2 with autoescaping on: every value from the store (a model's reply,
a tool's result, an error message) is text, never markup. Links come from a `Links` object, so
the same templates produce `/tests?model=...` on the server and `tests-<hash>.html` in an export.
"""

from __future__ import annotations

import json
from typing import Any

import jinja2

from ..config import is_human_name
from ..reports.render.model import Table
from ..reports.words import category_rule, level_rule
from .attempt import (
    _PROMPT_TITLES, _pretty, _rebuild, _steps_of, _wall, analysed_steps, required_steps, test_title, turns_of,
)
from .data import TestsPage, ViewData
from .formats import fmt, fmt_seconds, fmt_time
from .headline import headline_view
from .links import Links
from .report_tables import overview_tables, report_sections, section_filters, section_title, section_view

# ---------------------------------------------------------------------- the renderer


class Pages:
    def __init__(self, data: ViewData, links: Links, *, poll_ms: int = 2000) -> None:
        self.data = data
        self.links = links
        self.poll_ms = poll_ms
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("pilotbench.view", "templates"),
            autoescape=True,  # every page, whatever the file name: values are text, never markup
            undefined=jinja2.ChainableUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(fmt=fmt, fmt_time=fmt_time, fmt_seconds=fmt_seconds, pretty=_pretty,
                                tojson_text=lambda v: json.dumps(v, ensure_ascii=False))

    def _render(self, template: str, **ctx: Any) -> str:
        return self.env.get_template(template).render(links=self.links, static=self.links.static, poll_ms=self.poll_ms, **ctx)

    def runs(self) -> str:
        return self._render("runs.html.j2", runs=self.data.runs(), title="Runs")

    def run(self, run_id: str, *, figures: bool = True) -> str | None:
        """A run's page; without `figures` its lanes and causes are left for run.js to fetch (their
        first reading scans the run's rows: seconds for a run of a million tests)."""
        run = self.data.run(run_id) if figures else self.data.run_brief(run_id)
        if run is None:
            return None
        return self._render("run.html.j2", run=run, title=f"Run {run_id}")

    def results(self, section: str | None = None) -> str | None:
        rep = self.data.report()
        sections = report_sections(rep)
        if section is not None and section not in sections:
            return None
        tables: list[Table] = []
        head = None
        note = ""
        if section is None:
            head = headline_view(rep, self.links)
            tables = overview_tables(rep, self.links)
        else:
            shown = section_view(rep, section, self.links, section_filters(rep, section))
            if shown is not None:  # always: a section is offered only when the table model has it
                tables, note = shown
        return self._render(
            "results.html.j2", report=rep, sections=sections, section=section, tables=tables, head=head, note=note,
            titles={s: section_title(s) for s in sections}, title=section_title(section) if section else "Results",
        )

    def tests(self, page: TestsPage, choices: dict[str, list[str]]) -> str:
        from . import data as d

        return self._render("tests.html.j2", page=page, choices=choices, count_cap=d.COUNT_CAP, title="Tests",
                            text_search=any(k in page.filters for k in d.TEXT_FILTERS),
                            scan_limit=d.TRANSCRIPT_SCAN_LIMIT if "q" in page.filters else d.TEXT_SCAN_LIMIT,
                            filter_names={"q": "conversation contains", "answer": "final answer contains"})

    def test(self, attempt_id: str) -> str | None:
        rec = self.data.test(attempt_id)
        if rec is None:
            return None
        ctx = self._test_context(rec)
        return self._render("test.html.j2", title=test_title(rec), c=ctx, **ctx)

    def _test_context(self, rec: dict[str, Any]) -> dict[str, Any]:
        from ..benchmark.types import PROMPT_TYPES

        transcript = rec.get("transcript")
        rebuilt = _rebuild(rec)
        prompt_msgs: list[dict[str, Any]] = []
        rest: list[dict[str, Any]] = []
        prompt_rebuilt = False
        if transcript:
            n = int(transcript.get("prompt_messages") or 0)
            prompt_msgs, rest = transcript["messages"][:n], transcript["messages"][n:]
        if not prompt_msgs and rebuilt["prompt"] is not None:
            prompt_msgs = list(rebuilt["prompt"].messages)
            prompt_rebuilt = True
        prompt_view = []
        for m in prompt_msgs:
            content = m.get("content") if isinstance(m, dict) else str(m)
            lines = [{"text": ln, "flaw": ln in rebuilt["flaw_lines"]} for ln in str(content or "").splitlines()]
            role = (m or {}).get("role", "?") if isinstance(m, dict) else "?"
            # collapsed, but a plan with an injected flaw opens on it: the flaw is what the test is about
            prompt_view.append({"role": role, "lines": lines, "open": any(ln["flaw"] for ln in lines),
                                "title": _PROMPT_TITLES.get(role, f"{role} message")})
        text_tools = any("Available tools:" in "".join(ln["text"] for ln in m["lines"]) for m in prompt_view if m["role"] == "system")
        tools = list(getattr(rebuilt["prompt"], "tools", None) or []) if not text_tools else []
        traj = rec.get("trajectory") if isinstance(rec.get("trajectory"), dict) else {}
        turns = turns_of(rest) if transcript else []
        seconds = traj.get("turn_seconds") if isinstance(traj.get("turn_seconds"), list) else []
        tokens = traj.get("turn_tokens") if isinstance(traj.get("turn_tokens"), list) else []
        for t in turns:  # each turn of the conversation is one answered call, in order
            value = seconds[t["n"] - 1] if t["n"] <= len(seconds) else None
            t["seconds"] = value if isinstance(value, (int, float)) else None
            pair = tokens[t["n"] - 1] if t["n"] <= len(tokens) else None
            t["tokens"] = pair if isinstance(pair, (list, tuple)) and len(pair) == 2 else None
        category = rec.get("error_category")
        n_steps = _steps_of(rec, rebuilt["task"])
        siblings = self.data.siblings(rec, PROMPT_TYPES)
        return {
            "rec": rec,
            "traj": traj,
            "prompt": prompt_view,
            "prompt_rebuilt": prompt_rebuilt,
            "rebuild_note": rebuilt["note"],
            "has_flaw": bool(rebuilt["flaw_lines"]),
            "turns": turns,
            "turn_seconds": [x for x in seconds if isinstance(x, (int, float))],
            "human": is_human_name(str(rec.get("model") or "")),
            "wall_seconds": _wall(rec),
            "transcript_mode": (transcript or {}).get("mode"),
            "steps": analysed_steps(rec, rebuilt["task"]) or required_steps(rec, rebuilt["task"]),
            "category_rule": category_rule(category or "", n_steps),
            "level_rule": level_rule(rec.get("success_level") or "", n_steps),
            "tools": tools,
            "tools_rebuilt": bool(tools),
            "turn_tokens": bool(tokens),
            "siblings": siblings,
            "attempts": self.data.attempts_of(rec["test_id"]),
            "cell": {k: rec.get(k) for k in ("model", "prompt_type", "task_type", "difficulty", "tool_success_rate")},
        }

    def compare(self, a: str, b: str) -> str | None:
        ra, rb = self.data.test(a), self.data.test(b)
        if ra is None or rb is None:
            return None
        ca, cb = self._test_context(ra), self._test_context(rb)
        differ = [k for k in ("model", "prompt_type", "task_type", "difficulty", "tool_success_rate", "instance", "seed")
                  if ra.get(k) != rb.get(k)]
        return self._render("compare.html.j2", a=ca, b=cb, differ=differ, title="Side by side")

    def error(self, status: int, message: str) -> str:
        return self._render("error.html.j2", status=status, message=message, title=f"{status}")


def render_choices(data: ViewData) -> dict[str, list[str]]:
    """The values offered by the tests list's filter menus."""
    from ..benchmark import types as t

    return {
        "model": data.distinct("model"),
        "prompt_type": list(getattr(t, "PROMPT_TYPES", ())),
        "task_type": list(getattr(t, "TASK_TYPES", ())),
        "difficulty": list(getattr(t, "DIFFICULTIES", ())),
        "tool_success_rate": [f"{r:g}" for r in getattr(t, "TOOL_SUCCESS_RATES", ())],
        "success_level": list(getattr(t, "SUCCESS_LEVELS", ())),
        "error_category": list(getattr(t, "ERROR_CATEGORIES", ())) + ["-"],
        "status": ["done", "error"],
        "run_id": data.distinct("run_id"),
    }
