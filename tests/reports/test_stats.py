from __future__ import annotations

import math

import pytest

from pilotbench.reports.stats import (
    mcnemar_exact,
    mean_ci,
    paired_comparison,
    percentile,
    rate,
    sign_flip_test,
    t_critical,
    wilson,
)


def test_wilson_hand_computed():
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=5e-4)
    assert high == pytest.approx(0.9433, abs=5e-4)
    low, high = wilson(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=5e-4)
    low, high = wilson(10, 10)
    assert high == 1.0 and low == pytest.approx(1 - 0.2775, abs=5e-4)
    assert wilson(0, 0) == (0.0, 1.0)
    # symmetric
    l1, h1 = wilson(3, 20)
    l2, h2 = wilson(17, 20)
    assert l1 == pytest.approx(1 - h2) and h1 == pytest.approx(1 - l2)
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_rate_object():
    r = rate(8, 10)
    assert r["n"] == 10 and r["k"] == 8 and r["rate"] == 0.8
    assert r["ci95"] == list(wilson(8, 10))
    empty = rate(0, 0)
    assert empty == {"n": 0, "k": 0, "rate": None, "ci95": [0.0, 1.0]}


def test_mean_ci_t_interval():
    m = mean_ci([1, 2, 3, 4, 5])
    assert m["n"] == 5 and m["mean"] == 3.0
    assert m["sd"] == pytest.approx(math.sqrt(2.5))
    half = 2.7764 * math.sqrt(2.5) / math.sqrt(5)
    assert m["ci95"][0] == pytest.approx(3 - half, abs=1e-3)
    assert m["ci95"][1] == pytest.approx(3 + half, abs=1e-3)
    assert mean_ci([])["mean"] is None
    one = mean_ci([0.7, None])
    assert one["n"] == 1 and one["mean"] == 0.7 and one["ci95"] is None
    clipped = mean_ci([0.0, 1.0], bounds=(0.0, 1.0))
    assert clipped["ci95"] == [0.0, 1.0]


def test_t_critical_large_df_close_to_normal():
    assert t_critical(30) == pytest.approx(2.0423)
    assert t_critical(31) == pytest.approx(2.0395, abs=2e-4)
    assert t_critical(120) == pytest.approx(1.9799, abs=2e-4)
    assert t_critical(100000) == pytest.approx(1.96, abs=1e-3)


def test_percentile_linear_interpolation():
    xs = list(range(1, 11))
    assert percentile(xs, 50) == 5.5
    assert percentile(xs, 95) == pytest.approx(9.55)
    assert percentile(xs, 0) == 1 and percentile(xs, 100) == 10
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0


def test_mcnemar_exact_hand_computed():
    # discordant: 8 where only A succeeded, 2 where only B: p = 2 * (1 + 10 + 45) / 1024
    assert mcnemar_exact(8, 2) == pytest.approx(112 / 1024)
    assert mcnemar_exact(2, 8) == pytest.approx(112 / 1024)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(6, 0) == pytest.approx(2 / 64)


def test_paired_comparison_binary_uses_mcnemar():
    # 20 tests: 5 both succeed, 5 both fail, 8 only a, 2 only b
    a, b = {}, {}
    outcomes = [(1, 1)] * 5 + [(0, 0)] * 5 + [(1, 0)] * 8 + [(0, 1)] * 2
    for i, (x, y) in enumerate(outcomes):
        a[("t", i)] = x
        b[("t", i)] = y
    a[("only-a", 0)] = 1  # unpaired keys are ignored
    res = paired_comparison(a, b)
    assert res["n_pairs"] == 20
    assert res["test"] == "mcnemar_exact"
    assert res["discordant"] == {"a_only": 8, "b_only": 2}
    assert res["p_value"] == pytest.approx(112 / 1024)
    assert res["mean_a"] == pytest.approx(13 / 20) and res["mean_b"] == pytest.approx(7 / 20)
    assert res["diff"] == pytest.approx(0.3)
    lo, hi = res["ci95"]
    assert lo <= 0.3 <= hi and -1 <= lo and hi <= 1
    assert paired_comparison(a, b) == res  # fixed seed: reproducible


def test_paired_comparison_continuous_sign_flip():
    a = {i: 1.0 for i in range(3)}
    b = {i: 0.5 for i in range(3)}
    res = paired_comparison(a, b)
    # 2**3 sign patterns, only all-plus and all-minus reach |sum| = 1.5
    assert res["test"] == "sign_flip_exact"
    assert res["p_value"] == pytest.approx(0.25)
    assert res["diff"] == pytest.approx(0.5)
    assert sign_flip_test([0.0, 0.0]) == (1.0, "sign_flip_exact")
    p, name = sign_flip_test([0.5] * 40)
    assert name == "sign_flip_monte_carlo" and p < 0.001
    p, name = sign_flip_test([0.5, -0.5] * 300)
    assert name == "sign_flip_normal" and p == pytest.approx(1.0)


def test_paired_comparison_empty():
    res = paired_comparison({"x": 1}, {"y": 0})
    assert res["n_pairs"] == 0 and res["p_value"] is None and res["diff"] is None


# ---------------------------------------------------------------------------- clustered intervals

import numpy as np  # noqa: E402

from pilotbench.reports.stats import (  # noqa: E402
    MIN_BOOT,
    ClusterResampler,
    cluster_sums,
    clustered_mean,
    clustered_paired,
    clustered_rate,
    natural_key,
    percentile_interval,
    ratio_replicates,
)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["family-14b", "family-3b", "family-72b"], ["family-3b", "family-14b", "family-72b"]),
        (["q-0.5b", "q-1.5b", "q-10b", "q-7b"], ["q-0.5b", "q-1.5b", "q-7b", "q-10b"]),
        (["sim/weak", "sim/strong", "sim/medium"], ["sim/medium", "sim/strong", "sim/weak"]),
        (["m2", "m10", "M1"], ["M1", "m2", "m10"]),
        (["b", "a10", "a9"], ["a9", "a10", "b"]),
    ],
)
def test_natural_key(names, expected):
    assert sorted(names, key=natural_key) == expected


def test_cluster_sums():
    ids, sums = cluster_sums(np.array([3, 1, 3, 0, 1]), np.array([[1.0, 2.0], [1.0, 0.0], [1.0, 1.0], [1.0, 5.0], [1.0, 1.0]]))
    assert ids.tolist() == [0, 1, 3]
    assert sums.tolist() == [[1.0, 5.0], [2.0, 1.0], [2.0, 3.0]]
    ids, sums = cluster_sums(np.array([], dtype=np.int64), np.zeros((0, 2)))
    assert len(ids) == 0 and sums.shape == (0, 2)


def test_resampler_is_seeded_and_keeps_each_stratum_size():
    strata = ["a"] * 4 + ["b"] * 6
    r1, r2 = ClusterResampler(strata, seed=5), ClusterResampler(strata, seed=5)
    assert np.array_equal(r1.weights, r2.weights)
    assert not np.array_equal(r1.weights, ClusterResampler(strata, seed=6).weights)
    assert r1.weights.shape == (1000, 10)
    assert (r1.weights[:, :4].sum(axis=1) == 4).all() and (r1.weights[:, 4:].sum(axis=1) == 6).all()
    big = ClusterResampler([0] * 100_000, n_boot=1000)
    assert big.n_boot == MIN_BOOT  # the weights stay bounded in memory
    totals = r1.replicate_totals(np.array([0, 5]), np.array([[1.0], [2.0]]))
    assert totals.shape == (1000, 1)
    assert np.allclose(totals[:, 0], r1.weights[:, 0] + 2 * r1.weights[:, 5])


def _rate_ci(outcomes_by_cluster, seed=0):
    """The clustered interval of a rate over clusters (lists of 0/1 outcomes)."""
    res = ClusterResampler([0] * len(outcomes_by_cluster), seed=seed)
    ids = np.arange(len(outcomes_by_cluster))
    sums = np.array([[len(c), sum(c)] for c in outcomes_by_cluster], dtype=float)
    reps = res.replicate_totals(ids, sums)
    k, n = sums[:, 1].sum(), sums[:, 0].sum()
    return clustered_rate(k, n, ratio_replicates(reps[:, 1], reps[:, 0]), len(ids))


def _width(ci):
    return ci[1] - ci[0]


def test_clustered_rate_is_wider_when_instances_are_perfectly_correlated():
    """20 instances x 10 tests, every test of an instance with the same outcome: the data hold
    20 observations, not 200, and the interval must say so."""
    correlated = [[1] * 10 if c % 2 else [0] * 10 for c in range(20)]
    r = _rate_ci(correlated)
    naive = wilson(100, 200)
    assert r["rate"] == 0.5 and r["n"] == 200
    assert _width(r["ci95"]) > 2.5 * _width(naive)
    assert r["n_eff"] == pytest.approx(20, rel=0.25)
    assert _width(r["ci95"]) == pytest.approx(_width(wilson(10, 20)), rel=0.2)


def test_clustered_rate_stays_close_to_wilson_for_independent_tests():
    rng = np.random.default_rng(3)
    independent = [rng.integers(0, 2, size=10).tolist() for _ in range(40)]
    r = _rate_ci(independent)
    naive = wilson(r["k"], r["n"])
    assert _width(naive) <= _width(r["ci95"]) <= 1.3 * _width(naive)


def test_clustered_rate_at_0_or_1_counts_each_instance_once():
    r = _rate_ci([[1] * 10 for _ in range(5)])
    assert r["rate"] == 1.0 and r["ci95"][1] == 1.0
    assert r["ci95"][0] == pytest.approx(wilson(5, 5)[0])
    assert clustered_rate(0, 0, None, 0)["rate"] is None


def test_clustered_intervals_cover_the_true_value():
    """Synthetic studies with strong within-instance correlation (each instance has its own
    success probability): the clustered 95% interval covers the true rate about 95% of the time;
    the naive Wilson interval, which counts tests as independent, far less often."""
    rng = np.random.default_rng(20261130)
    true_rate, clusters, per = 0.6, 30, 8
    hits = naive_hits = mean_hits = 0
    trials = 200
    for t in range(trials):
        p = rng.beta(true_rate * 1.5, (1 - true_rate) * 1.5, size=clusters)  # ICC = 1 / 2.5
        data = [rng.binomial(1, pc, size=per).tolist() for pc in p]
        r = _rate_ci(data, seed=t)
        hits += r["ci95"][0] <= true_rate <= r["ci95"][1]
        lo, hi = wilson(r["k"], r["n"])
        naive_hits += lo <= true_rate <= hi
        # a continuous score with the same structure: the instance's level plus noise
        level = rng.normal(0.5, 0.15, size=clusters)
        scores = [np.clip(lv + rng.normal(0, 0.05, size=per), 0, 1) for lv in level]
        res = ClusterResampler([0] * clusters, seed=t)
        sums = np.array([[per, s.sum()] for s in scores])
        reps = res.replicate_totals(np.arange(clusters), sums)
        m = clustered_mean(sums[:, 1].sum(), sums[:, 0].sum(), ratio_replicates(reps[:, 1], reps[:, 0]), clusters)
        mean_hits += m["ci95"][0] <= 0.5 <= m["ci95"][1]
    assert 0.88 <= hits / trials <= 0.995
    assert naive_hits / trials < 0.8
    assert 0.86 <= mean_hits / trials <= 0.995


def test_percentile_interval_needs_two_finite_replicates():
    assert percentile_interval(np.array([np.nan, 0.5])) is None
    assert percentile_interval(np.array([0.2, 0.4, np.nan]), (0.0, 1.0)) == [pytest.approx(0.205), pytest.approx(0.395)]
    assert clustered_mean(3.0, 3, np.array([1.0, 1.0]), 1)["ci95"] is None  # one cluster: no interval


def test_clustered_paired_does_not_count_correlated_pairs_as_independent():
    """10 instances x 10 tests: A wins every test of 7 instances, B every test of 3. McNemar,
    seeing 100 independent pairs, calls it certain; over 10 instances it is not."""
    clusters, a, b = [], [], []
    for c in range(10):
        for _ in range(10):
            clusters.append(c)
            a.append(1.0 if c < 7 else 0.0)
            b.append(0.0 if c < 7 else 1.0)
    res = clustered_paired(np.array(clusters), np.array(a), np.array(b))
    assert res["n_pairs"] == 100 and res["clusters"] == 10
    assert res["diff"] == pytest.approx(0.4)
    assert res["mcnemar_p"] < 0.001
    assert res["p_value"] > 0.1 and res["test"] == "cluster_sign_flip_exact"
    lo, hi = res["ci95"]
    assert lo < 0.4 < hi and hi - lo > 0.5
    same = clustered_paired(np.array(clusters), np.array(a), np.array(a))
    assert same["diff"] == 0.0 and same["p_value"] == 1.0
    assert clustered_paired(np.array([]), np.array([]), np.array([]))["diff"] is None


def test_mcnemar_with_many_discordant_pairs():
    assert mcnemar_exact(600, 550) == pytest.approx(0.1484, abs=2e-3)  # exact integers, no float overflow
    assert mcnemar_exact(1500, 1400) == pytest.approx(0.0662, abs=2e-3)  # log-space terms
    assert mcnemar_exact(501, 500) == pytest.approx(1.0) and mcnemar_exact(6000, 6000) == 1.0
    assert mcnemar_exact(6200, 5800) == pytest.approx(2.7e-4, rel=0.05)
