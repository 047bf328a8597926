"""The report as Markdown."""

from __future__ import annotations

from typing import Any

from .model import tables

# ---------------------------------------------------------------------------- markdown


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: dict[str, Any]) -> str:
    out = ["# pilotbench report", ""]
    for sec in tables(report):
        out += [f"## {sec.title}", ""]
        if sec.note:
            out += [sec.note, ""]
        if sec.link:
            out += [f"[{sec.link.text}]({sec.link.href})", ""]
        for t in sec.tables:
            if t.caption:
                out += [f"**{t.caption}**", ""]
            if not t.rows:
                out += ["_No data._", ""]
                continue
            out.append("| " + " | ".join(_md_cell(h) for h in t.headers) + " |")
            out.append("|" + "|".join("---" for _ in t.headers) + "|")
            for r in t.rows:
                out.append("| " + " | ".join(_md_cell(c.text) for c in r) + " |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"
