"""Statistics for the reports: pure functions over numbers and arrays (numpy for the bootstrap).

- `wilson` / `rate`: a proportion with its Wilson score 95% interval.
- `mean_ci`: a mean with a Student-t 95% interval (also from running moments, for SQL sums).
- `paired_comparison`: two conditions over the same tests: exact McNemar for binary outcomes,
  a sign-flip permutation test for continuous scores; the interval of the mean difference comes
  from a paired bootstrap with a fixed seed (a t interval for large samples).
- `percentile`: linear interpolation between order statistics (numpy's default), q in [0, 100].

Clustered intervals. Tests that share a task instance are not independent (the same task, the
same tool chain, for every prompt type, difficulty and model), so every interval the report shows
comes from a stratified cluster bootstrap over task instances:
- `ClusterResampler` draws, once per report and with a fixed seed, how many times each cluster is
  taken in each replicate (a multinomial within each stratum: the task type). Every cell of the
  report is resampled with the same draws, so differences between cells (spreads, paired
  comparisons) are resampled coherently.
- `cluster_sums` aggregates rows into one vector of sums per cluster; a replicate's totals are
  then one matrix product (`replicate_totals`): the cost grows with clusters, not with rows.
- `clustered_rate`: the Wilson interval at the effective sample size n / deff, where the design
  effect deff = (bootstrap variance) / (binomial variance), at least 1. When every test agrees
  (rate 0 or 1) the data cannot show the correlation, so each cluster counts as one observation.
- `clustered_mean`: the percentile interval of the bootstrap replicates (none below two clusters).
- `cluster_sign_flip`: a paired permutation test that flips the sign of each cluster's summed
  differences together.
"""

from __future__ import annotations

import functools
import math
import random
import re
from fractions import Fraction
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

Z95 = 1.959963984540054

# Two-sided 95% critical values of Student's t, df = 1..30.
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)

MCNEMAR_EXACT_MAX = 1000  # discordant pairs up to which McNemar's test is summed in exact integers
EXACT_PERMUTATION_MAX = 18  # up to 2**18 sign patterns are enumerated exactly
MONTE_CARLO_MAX = 200  # above this many non-zero differences, the normal approximation is used
BOOTSTRAP_MAX = 1000  # above this many pairs, the difference's interval is a t interval


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for k successes out of n; (0.0, 1.0) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    if k < 0 or k > n:
        raise ValueError(f"k={k} outside 0..n={n}")
    return wilson_p(k / n, n, z)


def wilson_p(p: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for an observed proportion p at a (possibly fractional) sample size n."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p={p} outside [0, 1]")
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low = 0.0 if p == 0.0 else max(0.0, centre - half)
    high = 1.0 if p == 1.0 else min(1.0, centre + half)
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
    if n > MCNEMAR_EXACT_MAX:  # the same binomial tail, summed in floating point from log terms
        log_half = n * math.log(2.0)
        base = math.lgamma(n + 1)
        tail = math.fsum(math.exp(base - math.lgamma(i + 1) - math.lgamma(n - i + 1) - log_half) for i in range(m + 1))
        return min(1.0, 2.0 * tail)
    tail = Fraction(sum(math.comb(n, i) for i in range(m + 1)), 2**n)  # exact: no float overflow
    return min(1.0, 2.0 * float(tail))


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
        all_sums = np.zeros(1)
        for x in d:
            all_sums = np.concatenate((all_sums + x, all_sums - x))
        extreme = int(np.count_nonzero(np.abs(all_sums) >= observed - eps))
        return extreme / len(all_sums), "sign_flip_exact"
    if m <= MONTE_CARLO_MAX:
        sums = _sign_patterns(seed, MONTE_CARLO_MAX, n_perm)[:, :m] @ np.asarray(d)
        extreme = int(np.count_nonzero(np.abs(sums) >= observed - eps))
        return (extreme + 1) / (n_perm + 1), "sign_flip_monte_carlo"
    sd = math.sqrt(math.fsum(x * x for x in d))
    return min(1.0, 2.0 * normal_sf(observed / sd)), "sign_flip_normal"


@functools.lru_cache(maxsize=4)
def _sign_patterns(seed: int, m: int, n_perm: int) -> np.ndarray:
    """n_perm random sign vectors of length m (a fixed seed), shared by the tests of one report."""
    rng = np.random.default_rng(seed)
    signs = rng.integers(0, 2, size=(n_perm, m)).astype(np.float64) * 2.0 - 1.0
    signs.flags.writeable = False
    return signs


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


# ---------------------------------------------------------------------------- clustered intervals

BOOT_SEED = 20261130
N_BOOT = 1000
MIN_BOOT = 200
CLUSTER_PERMUTATIONS = 4000  # Monte Carlo sign patterns per clustered test (p resolution 1/4001)
MAX_WEIGHTS = 10_000_000  # replicates x clusters held at once (80 MB of float64)
_DIGITS = re.compile(r"(\d+(?:\.\d+)?)")


def natural_key(text: Any) -> tuple[Any, ...]:
    """Sort key that orders digit runs by value: family-3b < family-14b < family-72b."""
    parts: list[Any] = []
    for chunk in _DIGITS.split(str(text)):
        if not chunk:
            continue
        parts.append((0, float(chunk), "") if chunk[0].isdigit() else (1, 0.0, chunk.lower()))
    return tuple(parts)


class ClusterResampler:
    """Bootstrap weights over clusters, stratified: replicate b takes cluster c `weights[b, c]` times.

    `strata[c]` is cluster c's stratum; each stratum's clusters are resampled within it (as many
    draws as it has clusters), so a replicate keeps the design's count of instances per task type.
    The number of replicates is `n_boot`, reduced (not below MIN_BOOT) when there are so many
    clusters that the weights would exceed MAX_WEIGHTS; with that many clusters the
    percentiles are stable with fewer replicates."""

    def __init__(self, strata: Sequence[Hashable], n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> None:
        n = len(strata)
        self.n_clusters = n
        self.n_boot = max(MIN_BOOT, min(n_boot, MAX_WEIGHTS // max(n, 1))) if n_boot >= MIN_BOOT else n_boot
        self.seed = seed
        rng = np.random.default_rng(seed)
        weights = np.zeros((self.n_boot, n), dtype=np.float64)
        members: dict[Hashable, list[int]] = {}
        for i, s in enumerate(strata):
            members.setdefault(s, []).append(i)
        for s in sorted(members, key=repr):
            idx = np.asarray(members[s], dtype=np.int64)
            k = len(idx)
            weights[:, idx] = rng.multinomial(k, np.full(k, 1.0 / k), size=self.n_boot)
        self.weights = weights

    def replicate_totals(self, clusters: np.ndarray, sums: np.ndarray) -> np.ndarray:
        """Replicate totals (n_boot x columns) of per-cluster `sums` (len(clusters) x columns)."""
        if len(clusters) == 0:
            return np.zeros((self.n_boot, sums.shape[1] if sums.ndim == 2 else 1))
        return self.weights[:, clusters] @ sums


def cluster_sums(cluster_ids: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct cluster ids ascending, per-cluster column sums) of rows `values` (rows x columns)."""
    cluster_ids = np.asarray(cluster_ids)
    if len(cluster_ids) == 0:
        return cluster_ids.astype(np.int64), np.zeros((0, values.shape[1]))
    order = np.argsort(cluster_ids, kind="stable")
    sorted_ids = cluster_ids[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sorted_ids)) + 1))
    return sorted_ids[starts], np.add.reduceat(values[order], starts, axis=0)


def ratio_replicates(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den per replicate; NaN where a replicate drew none of the cell's clusters."""
    out = np.full(len(num), np.nan)
    ok = den > 0
    np.divide(num, den, out=out, where=ok)
    return out


def percentile_interval(reps: np.ndarray, bounds: tuple[float, float] | None = None) -> list[float] | None:
    """The 2.5th and 97.5th percentiles of the finite replicates; None if fewer than 2."""
    vals = np.asarray(reps, dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    if len(vals) < 2:
        return None
    low, high = (float(x) for x in np.percentile(vals, [2.5, 97.5]))
    if bounds is not None:
        low, high = max(bounds[0], low), min(bounds[1], high)
    return [low, high]


def clustered_rate(k: float, n: float, reps: np.ndarray | None, clusters: int) -> dict[str, Any]:
    """A proportion with its cluster-adjusted Wilson interval (see the module docstring).

    `reps` are the replicate proportions (NaN where undefined); `clusters` how many clusters the
    n observations come from. Returns rate()'s fields plus clusters, n_eff and deff."""
    out = rate(int(round(k)), int(round(n)))
    out["clusters"] = int(clusters)
    if out["n"] == 0:
        out["n_eff"], out["deff"] = 0.0, None
        return out
    p = out["rate"]
    n = out["n"]
    finite = reps[np.isfinite(reps)] if reps is not None else np.zeros(0)
    if p in (0.0, 1.0) or clusters < 2 or len(finite) < 2:
        n_eff = float(min(n, max(clusters, 1)))
    else:
        var = float(np.var(finite, ddof=1))
        n_eff = n / max(1.0, var / (p * (1 - p) / n))
    low, high = wilson_p(p, n_eff)
    out["ci95"] = [low, high]
    out["n_eff"] = round(n_eff, 2)
    out["deff"] = round(n / n_eff, 3)
    return out


def clustered_mean(
    total: float, n: float, reps: np.ndarray | None, clusters: int, bounds: tuple[float, float] | None = None
) -> dict[str, Any]:
    """A mean (total / n) with the percentile interval of its cluster-bootstrap replicates.

    Returns {"n", "mean", "ci95", "clusters"}; no interval below two clusters."""
    n = int(round(n))
    if n <= 0:
        return {"n": 0, "mean": None, "ci95": None, "clusters": int(clusters)}
    ci = percentile_interval(reps, bounds) if (reps is not None and clusters >= 2) else None
    return {"n": n, "mean": float(total) / n, "ci95": ci, "clusters": int(clusters)}


def derived(point: float | None, reps: np.ndarray | None, clusters: int,
            bounds: tuple[float, float] | None = None) -> dict[str, Any]:
    """A statistic computed from other cells (a mean of rates, a spread) with its bootstrap interval."""
    if point is None:
        return {"mean": None, "ci95": None, "clusters": int(clusters)}
    ci = percentile_interval(reps, bounds) if (reps is not None and clusters >= 2) else None
    return {"mean": float(point), "ci95": ci, "clusters": int(clusters)}


def cluster_sign_flip(cluster_diff_sums: Sequence[float], *, seed: int = 0) -> tuple[float, str]:
    """Two-sided paired permutation test over clusters: each cluster's summed difference flips
    sign as one, so tests that share an instance are never treated as independent."""
    p, method = sign_flip_test(list(cluster_diff_sums), seed=seed, n_perm=CLUSTER_PERMUTATIONS)
    return p, "cluster_" + method


def clustered_paired(
    clusters: np.ndarray, a: np.ndarray, b: np.ndarray, resampler: ClusterResampler | None = None, *, seed: int = 0
) -> dict[str, Any]:
    """Paired comparison of A and B over the same tests, clustered: `clusters[i]` is pair i's
    cluster (an index into the resampler's clusters when one is given).

    diff = mean(a - b); ci95 from the cluster bootstrap; p_value from `cluster_sign_flip`.
    Binary values also report the discordant counts and the unclustered exact McNemar p-value."""
    n = len(a)
    out: dict[str, Any] = {
        "n_pairs": n, "clusters": 0, "mean_a": None, "mean_b": None, "diff": None,
        "ci95": None, "p_value": None, "test": None,
    }
    if n == 0:
        return out
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = a - b
    ids, sums = cluster_sums(np.asarray(clusters), np.column_stack([d, np.ones(n)]))
    if resampler is None:
        resampler = ClusterResampler([0] * len(ids), seed=BOOT_SEED)
        ids = np.arange(len(ids))
    out["clusters"] = len(ids)
    out["mean_a"] = float(a.mean())
    out["mean_b"] = float(b.mean())
    out["diff"] = float(d.sum() / n)
    reps = resampler.replicate_totals(ids, sums)
    out["ci95"] = percentile_interval(ratio_replicates(reps[:, 0], reps[:, 1]), (-1.0, 1.0)) if len(ids) >= 2 else None
    out["ci_method"] = "cluster_bootstrap"
    out["p_value"], out["test"] = cluster_sign_flip(sums[:, 0].tolist(), seed=seed)
    if np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all():
        a_only = int(np.count_nonzero((a == 1.0) & (b == 0.0)))
        b_only = int(np.count_nonzero((a == 0.0) & (b == 1.0)))
        out["discordant"] = {"a_only": a_only, "b_only": b_only}
        out["mcnemar_p"] = mcnemar_exact(a_only, b_only)
    return out
