"""How the viewer writes values: numbers, rates, times, durations, and a figure's interval on hover."""

from __future__ import annotations

import math
import time
from typing import Any


# ---------------------------------------------------------------------- formatting


def fmt(value: Any) -> str:
    """A report or record value as short text."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict) and "rate" in value and "n" in value:
        r = value.get("rate")
        if r is None:
            return "–"
        k = value.get("k")
        return f"{r:.1%}" + (f" ({k}/{value['n']})" if k is not None else f" (n={value['n']})")
    if isinstance(value, dict) and "mean" in value:
        return fmt(value.get("mean"))
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def fmt_time(t: Any) -> str:
    if not t:
        return "–"
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(t)))
    except (TypeError, ValueError, OverflowError):
        return str(t)


def fmt_seconds(s: Any) -> str:
    if s is None:
        return "–"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60)} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60)} min"


def _tooltip(value: Any) -> str:
    if isinstance(value, dict):
        ci = value.get("ci95")
        if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(x, (int, float)) for x in ci):
            if "rate" in value:
                return f"95% interval {ci[0]:.1%} – {ci[1]:.1%}"
            return f"95% interval {ci[0]:.3g} – {ci[1]:.3g}"
    return ""
