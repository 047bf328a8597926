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
