"""Cell formatting of the report's tables: `0.62 [0.55, 0.69] n=120` for a rate, a mean with its
interval and N, p values, differences."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DASH = "–"

# ---------------------------------------------------------------------------- cell formatting


def fmt_num(v: Any, digits: int = 2) -> str:
    if v is None:
        return DASH
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def fmt_rate(r: dict[str, Any] | None) -> str:
    """`0.62 [0.55, 0.69] n=120`; `– n=0` for an empty cell."""
    if r is None:
        return DASH
    n = r.get("n", 0)
    if not n or r.get("rate") is None:
        return f"{DASH} n={n}"
    lo, hi = r["ci95"]
    return f"{r['rate']:.2f} [{lo:.2f}, {hi:.2f}] n={n}"


def fmt_mean(m: dict[str, Any] | None) -> str:
    """A mean_ci object: `0.55 [0.48, 0.62] n=120` (no interval below two values)."""
    if m is None:
        return DASH
    n = m.get("n", 0)
    if not n or m.get("mean") is None:
        return f"{DASH} n={n}"
    if m.get("ci95") is None:
        return f"{m['mean']:.2f} n={n}"
    lo, hi = m["ci95"]
    return f"{m['mean']:.2f} [{lo:.2f}, {hi:.2f}] n={n}"


def fmt_p(p: float | None) -> str:
    if p is None:
        return DASH
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_stat(m: dict[str, Any] | None) -> str:
    """A statistic derived from other cells (a mean of rates, a spread): `0.40 [0.31, 0.52]`."""
    if m is None or m.get("mean") is None:
        return DASH
    if m.get("ci95") is None:
        return f"{m['mean']:.2f}"
    lo, hi = m["ci95"]
    return f"{m['mean']:.2f} [{lo:.2f}, {hi:.2f}]"


def fmt_diff(c: dict[str, Any]) -> str:
    if c.get("diff") is None:
        return DASH
    ci = c.get("ci95")
    return f"{c['diff']:+.2f}" + (f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else "")


def _union(dicts: Iterable[dict[str, Any]], skip: Iterable[str] = ()) -> list[str]:
    seen: dict[str, None] = {}
    skip = set(skip)
    for d in dicts:
        for k in d:
            if k not in skip:
                seen.setdefault(k, None)
    return list(seen)
