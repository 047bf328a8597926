"""Small, dependency-free statistics for the reports (standard library only).

- `wilson` / `rate`: a proportion with its Wilson score 95% interval.
- `mean_ci`: a mean with a Student-t 95% interval (also from running moments, for SQL sums).
- `paired_comparison`: two conditions over the same tests: exact McNemar for binary outcomes,
  a sign-flip permutation test for continuous scores; the interval of the mean difference comes
  from a paired bootstrap with a fixed seed (a t interval for large samples).
- `percentile`: linear interpolation between order statistics (numpy's default), q in [0, 100].
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

Z95 = 1.959963984540054

# Two-sided 95% critical values of Student's t, df = 1..30.
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)

EXACT_PERMUTATION_MAX = 18  # up to 2**18 sign patterns are enumerated exactly
MONTE_CARLO_MAX = 200  # above this many non-zero differences, the normal approximation is used
BOOTSTRAP_MAX = 1000  # above this many pairs, the difference's interval is a t interval


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for k successes out of n; (0.0, 1.0) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    if k < 0 or k > n:
        raise ValueError(f"k={k} outside 0..n={n}")
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)


def rate(k: int, n: int) -> dict[str, Any]:
    """A proportion as the reports carry it: {"n", "k", "rate", "ci95": [low, high]}."""
    k, n = int(k), int(n)
    low, high = wilson(k, n)
    return {"n": n, "k": k, "rate": (k / n) if n else None, "ci95": [low, high]}


def t_critical(df: int) -> float:
    """Two-sided 95% critical value of Student's t with `df` degrees of freedom."""
    if df < 1:
        raise ValueError("df must be >= 1")
    if df <= len(_T975):
        return _T975[df - 1]
    # Cornish-Fisher expansion around the normal quantile; accurate to ~1e-4 for df > 30.
    z = Z95
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3


def mean_ci_from_moments(
    n: int, total: float, total_sq: float, bounds: tuple[float, float] | None = None
) -> dict[str, Any]:
    """`mean_ci` from the count, sum and sum of squares (what a SQL aggregate returns).

    `bounds` clips the interval to the range the values can take (e.g. (0, 1) for scores)."""
    n = int(n)
    if n <= 0:
        return {"n": 0, "mean": None, "sd": None, "ci95": None}
    mean = total / n
    if n == 1:
        return {"n": 1, "mean": mean, "sd": None, "ci95": None}
    var = max(0.0, (total_sq - n * mean * mean) / (n - 1))
    sd = math.sqrt(var)
    half = t_critical(n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(bounds[0], low), min(bounds[1], high)
    return {"n": n, "mean": mean, "sd": sd, "ci95": [low, high]}


def mean_ci(values: Iterable[float | None], bounds: tuple[float, float] | None = None) -> dict[str, Any]:
    """Mean with a Student-t 95% interval: {"n", "mean", "sd", "ci95": [low, high] | None}.

    None values are skipped; the interval is None with fewer than two values."""
    vals = [float(v) for v in values if v is not None]
    n = len(vals)
    if n == 0:
        return mean_ci_from_moments(0, 0.0, 0.0)
    mean = math.fsum(vals) / n
    # Centred sum of squares for numerical stability, expressed back as raw moments.
    ss = math.fsum((v - mean) ** 2 for v in vals)
    return mean_ci_from_moments(n, mean * n, ss + n * mean * mean, bounds)


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear interpolation between order statistics; None if empty."""
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    xs = sorted(float(v) for v in values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    frac = pos - lo
    return xs[lo] + (xs[hi] - xs[lo]) * frac


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value: a binomial(n = discordant pairs, 1/2) test."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    m = min(a_only, b_only)
    tail = math.fsum(math.comb(n, i) for i in range(m + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def sign_flip_test(diffs: Sequence[float], *, seed: int = 0, n_perm: int = 10000) -> tuple[float, str]:
    """Two-sided paired permutation test of mean difference 0, flipping the sign of each pair.

    Exact enumeration for few non-zero differences, Monte Carlo (fixed seed) for moderate counts,
    and the normal approximation of the permutation distribution for many."""
    d = [float(x) for x in diffs if x != 0]
    m = len(d)
    if m == 0:
        return 1.0, "sign_flip_exact"
    observed = abs(math.fsum(d))
    eps = 1e-9 * max(1.0, observed)
    if m <= EXACT_PERMUTATION_MAX:
        sums = [0.0]
        for x in d:
            sums = [s + x for s in sums] + [s - x for s in sums]
        extreme = sum(1 for s in sums if abs(s) >= observed - eps)
        return extreme / len(sums), "sign_flip_exact"
    if m <= MONTE_CARLO_MAX:
        rng = random.Random(seed)
        extreme = 0
        for _ in range(n_perm):
            bits = rng.getrandbits(m)
            s = 0.0
            for i, x in enumerate(d):
                s += x if (bits >> i) & 1 else -x
            if abs(s) >= observed - eps:
                extreme += 1
        return (extreme + 1) / (n_perm + 1), "sign_flip_monte_carlo"
    sd = math.sqrt(math.fsum(x * x for x in d))
    return min(1.0, 2.0 * normal_sf(observed / sd)), "sign_flip_normal"


def _sort_key(key: Hashable) -> str:
    return repr(key)


def paired_comparison(
    a: Mapping[Hashable, float],
    b: Mapping[Hashable, float],
    *,
    seed: int = 0,
    n_boot: int = 2000,
) -> dict[str, Any]:
    """Compare two conditions over the tests both have (keys present in `a` and `b`).

    Binary values (all 0/1) get the exact McNemar test; anything else a sign-flip permutation
    test. `diff` is mean_a - mean_b; its ci95 is a paired percentile bootstrap (fixed seed) for
    up to BOOTSTRAP_MAX pairs, a t interval beyond."""
    keys = sorted((k for k in a if k in b), key=_sort_key)
    xs = [float(a[k]) for k in keys]
    ys = [float(b[k]) for k in keys]
    n = len(keys)
    out: dict[str, Any] = {
        "n_pairs": n, "mean_a": None, "mean_b": None, "diff": None,
        "ci95": None, "p_value": None, "test": None,
    }
    if n == 0:
        return out
    diffs = [x - y for x, y in zip(xs, ys)]
    out["mean_a"] = math.fsum(xs) / n
    out["mean_b"] = math.fsum(ys) / n
    out["diff"] = math.fsum(diffs) / n
    binary = all(v in (0.0, 1.0) for v in xs) and all(v in (0.0, 1.0) for v in ys)
    if binary:
        a_only = sum(1 for x, y in zip(xs, ys) if x == 1.0 and y == 0.0)
        b_only = sum(1 for x, y in zip(xs, ys) if x == 0.0 and y == 1.0)
        out["p_value"] = mcnemar_exact(a_only, b_only)
        out["test"] = "mcnemar_exact"
        out["discordant"] = {"a_only": a_only, "b_only": b_only}
    else:
        out["p_value"], out["test"] = sign_flip_test(diffs, seed=seed)
    if n <= BOOTSTRAP_MAX:
        rng = random.Random(seed)
        means = []
        for _ in range(n_boot):
            means.append(math.fsum(rng.choices(diffs, k=n)) / n)
        means.sort()
        out["ci95"] = [percentile(means, 2.5), percentile(means, 97.5)]
        out["ci_method"] = "paired_bootstrap"
    else:
        out["ci95"] = mean_ci(diffs)["ci95"]
        out["ci_method"] = "t"
    return out
