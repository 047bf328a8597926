from __future__ import annotations

import json

import pytest

from pilotbench.benchmark.types import ERROR_CATEGORIES
from pilotbench.reports import build_report, parse_family
from pilotbench.reports.stats import wilson

from .conftest import A, B, C


def _r(k, n):
    return {"n": n, "k": k, "rate": k / n, "ci95": list(wilson(k, n))}


@pytest.fixture()
def report(store):
    return build_report(
        store,
        prices={A: (1.0, 2.0), C: (0.5, 1.0)},
        compare=[(A, B), ("prompt:baseline", "prompt:optimal")],
    )


def test_top_level_counts(report):
    assert report["total"] == 16
    assert report["tests"] == 15
    assert report["by_status"] == {"done": 14, "error": 2}
    assert report["by_success_level"] == {"full_success": 7, "partial_success": 2, "failure": 5}
    assert report["models"] == [C, A, B]
    json.dumps(report, allow_nan=False)  # JSON-ready


def test_baseline_rates(report):
    a = report["baseline"][A]
    assert a["n"] == 8  # the error attempts are not model results
    assert a["success"] == _r(4, 8)
    assert a["full_success"] == _r(3, 8)
    assert a["partial_success"] == _r(1, 8)
    assert a["failure"] == _r(4, 8)
    assert a["weighted_score"]["mean"] == pytest.approx(3.5 / 8)
    assert a["weighted_score"]["n"] == 8
    lo, hi = a["weighted_score"]["ci95"]
    assert 0.0 <= lo < 3.5 / 8 < hi <= 1.0
    assert a["avg_turns"] == 4.0
    assert a["tool_coverage"] == pytest.approx((3 * 1.0 + 5 * 0.5) / 8)
    assert a["workflow_adherence"] == 0.5
    assert a["efficiency"] == pytest.approx(0.8)
    assert a["by_task_type"] == {"simple_task": _r(4, 7), "basic_task": _r(0, 1)}
    assert report["baseline"][B]["success"] == _r(4, 4)
    assert report["baseline"][C]["success"] == _r(1, 2)
    assert report["baseline"][A]["by_prompt_type"]["baseline"] == _r(2, 4)


def test_scale_families(report):
    assert len(report["scale"]) == 1
    fam = report["scale"][0]
    assert fam["family"] == "qwen2.5" and fam["sizes"] == [3.0, 72.0]
    small, big = fam["models"]
    assert (small["model"], small["size_b"]) == (A, 3.0)
    assert (big["model"], big["size_b"]) == (B, 72.0)
    assert small["by_difficulty"] == {"easy": _r(4, 8)}
    assert big["by_difficulty"] == {"easy": _r(3, 3), "hard": _r(1, 1)}
    assert big["by_task_type"] == {"simple_task": _r(3, 3), "basic_task": _r(1, 1)}


def test_parse_family():
    assert parse_family("qwen2.5-3b-instruct") == ("qwen2.5", 3.0)
    assert parse_family("qwen2.5-72b-instruct") == ("qwen2.5", 72.0)
    assert parse_family("llama-3.3-70b") == ("llama-3.3", 70.0)
    assert parse_family("Qwen2.5-0.5B-Instruct") == ("Qwen2.5", 0.5)
    assert parse_family("gemma-2-9b-it") == ("gemma-2", 9.0)
    assert parse_family("qwen3-235b-a22b") == ("qwen3", 235.0)
    assert parse_family("gpt-4o") is None
    assert parse_family("mixtral-8x7b") is None
    assert parse_family("7b") is None


def test_flaw_tool_prompt_sections(report):
    f = report["flaw_robustness"]
    assert set(f) == {A}
    assert f[A]["flawed_tool_misuse"] == _r(0, 1)
    assert f[A]["flawed_missing_step"] == _r(1, 1)
    assert f[A]["mean"] == 0.5
    assert f[A]["optimal"] == _r(1, 2)

    t = report["tool_reliability"]
    assert list(t[A]) == ["0.8", "0.6"]
    assert t[A]["0.8"] == _r(4, 7) and t[A]["0.6"] == _r(0, 1)
    assert t[B] == {"0.8": _r(4, 4)}

    p = report["prompt_sensitivity"]
    assert p[A]["baseline"] == _r(2, 4)
    assert p[A]["cot"] is None  # only an error attempt: no model result
    assert p[A]["optimal"] == _r(1, 2)
    assert p[A]["flawed_mean"] == 0.5
    assert p[A]["spread"] == 0.0
    assert p[C]["spread"] is None  # a single prompt type
    assert p[B]["spread"] == 0.0


def test_error_categories(report):
    e = report["error_categories"]
    assert list(e[A]["counts"]) == list(ERROR_CATEGORIES)
    assert e[A]["n"] == 5
    assert e[A]["counts"]["tool_selection_errors"] == 2
    assert e[A]["counts"]["timeout_errors"] == 1
    assert e[A]["counts"]["max_turns_errors"] == 1
    assert e[A]["counts"]["other_errors"] == 1
    assert sum(e[A]["counts"].values()) == 5
    assert e[A]["shares"]["tool_selection_errors"] == pytest.approx(0.4)
    assert e[B]["counts"]["dependency_errors"] == 1 and e[B]["n"] == 1
    assert e[C]["n"] == 1 and e[C]["uncategorized"] == 1 and sum(e[C]["counts"].values()) == 0


def test_operations(report):
    ops = {(o["provider"], o["key_label"]): o for o in report["operations"]}
    assert set(ops) == {("mock", "...aaaa"), ("mock", "...bbbb"), ("openai", "...cccc")}
    a = ops[("mock", "...aaaa")]
    assert a["tests"] == 9 and a["attempts"] == 10
    assert a["calls"] == 20 and a["rate_limited"] == 2 and a["retries"] == 1 and a["infra_errors"] == 2
    assert a["latency_p50"] == pytest.approx(5.5) and a["latency_p95"] == pytest.approx(9.55)
    assert a["prompt_tokens"] == 1000 and a["completion_tokens"] == 100
    assert a["cost_usd"] == pytest.approx((1000 * 1.0 + 100 * 2.0) / 1e6)
    assert ops[("openai", "...cccc")]["cost_usd"] == pytest.approx((200 * 0.5 + 20 * 1.0) / 1e6)
    b = ops[("mock", "...bbbb")]
    assert b["cost_usd"] is None and b["unpriced_models"] == [B]
    assert b["infra_errors"] == 0


def test_comparisons(report):
    models, prompts = report["comparisons"]
    assert models["field"] == "model"
    assert models["n_pairs"] == 3  # basic_task rows differ in difficulty: not paired
    assert models["diff"] == 0.0 and models["p_value"] == 1.0 and models["test"] == "mcnemar_exact"
    assert prompts["field"] == "prompt_type"
    assert prompts["n_pairs"] == 3
    assert prompts["mean_a"] == 1.0 and prompts["mean_b"] == pytest.approx(2 / 3)
    assert prompts["discordant"] == {"a_only": 1, "b_only": 0}
    assert prompts["p_value"] == 1.0


def test_filters(store):
    r = build_report(store, models=[C])
    assert r["total"] == 2 and r["models"] == [C] and list(r["baseline"]) == [C]
    r = build_report(store, prompt_types="optimal", difficulties=["easy"])
    assert r["total"] == 4 and r["by_status"] == {"done": 3, "error": 1}
    assert r["scale"][0]["family"] == "qwen2.5"
    assert r["flaw_robustness"] == {}
    # a compared dimension ignores its own filter
    r = build_report(store, prompt_types=["baseline"], compare=[("prompt:baseline", "prompt:optimal")])
    assert r["comparisons"][0]["n_pairs"] == 3
    r = build_report(store, models=[])
    assert r["total"] == 0 and r["baseline"] == {} and r["scale"] == [] and r["operations"] == []


def test_compare_rejects_mixed_kinds(store):
    with pytest.raises(ValueError):
        build_report(store, compare=[("prompt:baseline", A)])


def test_empty_store(tmp_path):
    from pilotbench.store.sqlite import SQLiteStore

    with SQLiteStore(tmp_path / "empty.db") as st:
        r = build_report(st)
    assert r["total"] == 0 and r["tests"] == 0
    assert r["by_status"] == {"done": 0, "error": 0}
    assert r["scale"] == [] and r["comparisons"] == []


def test_latency_quantiles_sql_matches_python(tmp_path):
    import random

    from pilotbench.reports.build import _python_quantiles, _sql_quantiles
    from pilotbench.reports.stats import percentile
    from pilotbench.store.sqlite import SQLiteStore

    from .conftest import rec

    rng = random.Random(7)
    records, values = [], {"...a": [], "...b": []}
    for i in range(57):
        key = "...a" if i % 3 else "...b"
        lat = [round(rng.uniform(0, 5), 4) for _ in range(rng.randint(0, 4))]
        values[key] += lat
        records.append(rec(A, "baseline", "simple_task", "easy", 0.8, i, level="failure", key=key, latencies=lat))
    with SQLiteStore(tmp_path / "q.db") as st:
        st.write(records)
        sql = _sql_quantiles(st, "", [], (50, 95))
        py = _python_quantiles(st, "", [], (50, 95))
    for key, vals in values.items():
        gk = ("mock", key)
        assert sql[gk]["n"] == py[gk]["n"] == len(vals)
        for q in (50, 95):
            assert sql[gk][q] == pytest.approx(percentile(vals, q))
            assert py[gk][q] == pytest.approx(percentile(vals, q))
