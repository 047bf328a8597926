from __future__ import annotations

import json

import pytest

from pilotbench.benchmark.types import ERROR_CATEGORIES
from pilotbench.errors import UsageError
from pilotbench.reports import build_report, parse_family
from pilotbench.store.sqlite import SQLiteStore

from ..factories import A, B, C, report_record as rec

A8 = f"{A} [rate=0.8]"
A6 = f"{A} [rate=0.6]"


@pytest.fixture()
def report(store):
    return build_report(
        store,
        prices={A: (1.0, 2.0), C: (0.5, 1.0)},
        compare=[(A, B), ("prompt:baseline", "prompt:optimal")],
    )


def _counts(r):
    return (r["k"], r["n"])


def test_top_level_counts(report):
    assert report["total"] == 16
    assert report["tests"] == 15
    assert report["by_status"] == {"done": 14, "error": 2}
    assert report["by_success_level"] == {"full_success": 7, "partial_success": 2, "failure": 5}
    assert report["models"] == [C, A, B]
    json.dumps(report, allow_nan=False)  # JSON-ready


def test_conditions_are_stated(report):
    cond = report["conditions"]
    assert cond["tool_success_rate"] == [[0.8, 13], [0.6, 1]]
    assert cond["seed"] == [[42, 14]] and cond["max_turns"] == [[10, 14]]
    assert cond["suite_version"] == [["s1", 14]] and cond["run_id"] == [["run-1", 14]]
    assert cond["difficulty"] == [["easy", 13], ["hard", 1]]
    assert cond["severity"] == [["severe", 2]]  # only the flawed tests have a severity that matters
    covers = report["sections"]["baseline"]["covers"]
    assert covers["prompt_type"] == ["baseline"]
    assert covers["tool_success_rate"] == [0.8, 0.6]


def test_baseline_is_the_baseline_prompt_split_by_rate(report):
    """5.1 takes the baseline prompt type only, and splits rows whose tool success rate differs."""
    base = report["baseline"]
    assert list(base) == [f"{C} [rate=0.8]", A6, A8, f"{B} [rate=0.8]"]
    assert report["sections"]["baseline"]["split_by"] == ["tool_success_rate"]
    a = base[A8]
    assert a["model"] == A and a["conditions"] == {"tool_success_rate": 0.8}
    assert a["n"] == 3 and a["instances"] == 3
    assert _counts(a["success"]) == (2, 3)
    assert _counts(a["full_success"]) == (1, 3)
    assert _counts(a["partial_success"]) == (1, 3)
    assert _counts(a["failure"]) == (1, 3)
    assert a["weighted_score"]["mean"] == pytest.approx(1.5 / 3)
    assert a["tool_coverage"]["mean"] == pytest.approx((1.0 + 0.5 + 0.5) / 3)
    assert a["workflow_adherence"]["mean"] == 0.5
    assert a["efficiency"]["mean"] == pytest.approx(0.8)
    assert a["precision"]["n"] == 0 and a["precision"]["mean"] is None  # rows that predate precision
    assert a["avg_turns"]["mean"] == 4.0
    assert {t: _counts(r) for t, r in a["by_task_type"].items()} == {"simple_task": (2, 2), "basic_task": (0, 1)}
    assert {d: _counts(r) for d, r in a["by_difficulty"].items()} == {"easy": (2, 3)}
    assert _counts(base[A6]["success"]) == (0, 1)
    for entry in base.values():
        for k in ("success", "full_success", "weighted_score", "tool_coverage", "efficiency"):
            if entry[k].get("ci95") is not None:
                lo, hi = entry[k]["ci95"]
                value = entry[k].get("rate", entry[k].get("mean"))
                assert 0.0 <= lo <= value <= hi <= 1.0


def test_pool_merges_the_split_rows_and_says_so(store):
    r = build_report(store, pool=True)
    assert list(r["baseline"]) == [C, A, B]
    assert _counts(r["baseline"][A]["success"]) == (2, 4)
    assert r["sections"]["baseline"]["split_by"] == []
    assert r["sections"]["baseline"]["pooled"] == ["tool_success_rate"]
    assert r["pooled"] is True


def test_scale_families(report):
    # scale is over every prompt type, so families are split by prompt type (and rate)
    assert [f["label"] for f in report["scale"]] == ["qwen2.5 [rate=0.8, prompt=baseline]",
                                                     "qwen2.5 [rate=0.8, prompt=optimal]"]
    fam = report["scale"][0]
    assert fam["family"] == "qwen2.5" and fam["sizes"] == [3.0, 72.0]
    assert fam["conditions"] == {"tool_success_rate": 0.8, "prompt_type": "baseline"}
    small, big = fam["models"]
    assert (small["model"], small["size_b"]) == (A, 3.0)
    assert (big["model"], big["size_b"]) == (B, 72.0)
    assert {d: _counts(r) for d, r in big["by_difficulty"].items()} == {"easy": (2, 2), "hard": (1, 1)}


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
    assert list(f) == [A]  # flawed and optimal tests all ran at 0.8: no split
    assert _counts(f[A]["flawed_tool_misuse"]) == (0, 1)
    assert _counts(f[A]["flawed_missing_step"]) == (1, 1)
    assert f[A]["mean"]["mean"] == 0.5
    assert _counts(f[A]["optimal"]) == (1, 2)

    t = report["tool_reliability"]
    assert list(t) == [f"{A} [prompt=baseline]"]  # the only series run at two rates
    assert {k: _counts(r) for k, r in t[f"{A} [prompt=baseline]"]["by_rate"].items()} == {"0.8": (2, 3), "0.6": (0, 1)}

    p = report["prompt_sensitivity"]
    assert _counts(p[A8]["baseline"]) == (2, 3)
    assert p[A8]["cot"] is None  # only an error attempt: no model result
    assert _counts(p[A8]["optimal"]) == (1, 2)
    assert p[A8]["flawed_mean"]["mean"] == 0.5
    assert p[A8]["spread"]["mean"] == pytest.approx(2 / 3 - 0.5)
    assert p[f"{C} [rate=0.8]"]["spread"]["mean"] is None  # a single prompt type
    assert p[f"{B} [rate=0.8]"]["spread"]["mean"] == 0.0
    assert set(p[A8]["by_prompt_type"]) == {"baseline", "optimal", "flawed_tool_misuse", "flawed_missing_step"}


def test_error_categories(report):
    e = report["error_categories"]
    assert list(e[A8]["counts"]) == list(ERROR_CATEGORIES)
    assert e[A8]["n"] == 4 and e[A6]["n"] == 1
    assert e[A8]["counts"]["tool_selection_errors"] == 1 and e[A6]["counts"]["tool_selection_errors"] == 1
    assert e[A8]["counts"]["timeout_errors"] == 1
    assert e[A8]["counts"]["max_turns_errors"] == 1
    assert e[A8]["counts"]["other_errors"] == 1
    assert e[A8]["shares"]["tool_selection_errors"] == pytest.approx(0.25)
    b = e[f"{B} [rate=0.8]"]
    assert b["counts"]["dependency_errors"] == 1 and b["n"] == 1
    c = e[f"{C} [rate=0.8]"]
    assert c["n"] == 1 and c["uncategorized"] == 1 and sum(c["counts"].values()) == 0


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


def test_requested_comparisons(report):
    models, prompts = report["comparisons"]
    assert models["field"] == "model"
    assert models["n_pairs"] == 3  # basic_task rows differ in difficulty: not paired
    assert models["clusters"] == 2
    assert models["diff"] == 0.0 and models["p_value"] == 1.0 and models["test"].startswith("cluster_sign_flip")
    assert prompts["field"] == "prompt_type"
    assert prompts["n_pairs"] == 3
    assert prompts["mean_a"] == 1.0 and prompts["mean_b"] == pytest.approx(2 / 3)
    assert prompts["discordant"] == {"a_only": 1, "b_only": 0}
    assert prompts["p_value"] == 1.0


def test_paired_comparisons_are_included_without_asking(report):
    pairs = {(c["a"], c["b"], c["metric"]): c for c in report["paired"]}
    assert (A, B, "success") in pairs and (C, A, "success") in pairs and (C, B, "weighted_score") in pairs
    ab = pairs[(A, B, "success")]
    assert ab["n_pairs"] == 3 and ab["diff"] == 0.0
    ca = pairs[(C, A, "success")]
    assert ca["n_pairs"] == 2 and ca["mean_a"] == 0.5 and ca["mean_b"] == 1.0 and ca["diff"] == -0.5


def test_no_paired_comparisons_for_one_model(store):
    assert build_report(store, models=[A])["paired"] == []


@pytest.mark.parametrize(
    ("filters", "total"),
    [
        ({"models": [C]}, 2),
        ({"prompt_types": "optimal", "difficulties": ["easy"]}, 4),
        ({"task_types": ["basic_task"]}, 2),
        ({"tool_success_rates": [0.6]}, 1),
        ({"tool_success_rates": 0.8}, 15),
        ({"seeds": [42]}, 16),
        ({"severities": ["severe"]}, 16),
        ({"max_turns": [10]}, 16),
        ({"suite_versions": ["s1"]}, 16),
        ({"run_ids": ["run-1"]}, 16),
        ({"models": []}, 0),
    ],
)
def test_filters_every_axis(store, filters, total):
    r = build_report(store, **filters)
    assert r["total"] == total
    assert r["filters"][next(iter(filters))] is not None


def test_filters_shape_the_sections(store):
    r = build_report(store, models=[C])
    assert r["models"] == [C] and list(r["baseline"]) == [C]
    r = build_report(store, tool_success_rates=[0.8])
    assert A in r["baseline"] and r["sections"]["baseline"]["split_by"] == []
    r = build_report(store, prompt_types="optimal", difficulties=["easy"])
    assert r["baseline"] == {} and r["flaw_robustness"] == {}
    assert r["prompt_sensitivity"][A]["optimal"]["n"] == 2
    # a compared dimension ignores its own filter
    r = build_report(store, prompt_types=["baseline"], compare=[("prompt:baseline", "prompt:optimal")])
    assert r["comparisons"][0]["n_pairs"] == 3
    r = build_report(store, models=[])
    assert r["total"] == 0 and r["baseline"] == {} and r["scale"] == [] and r["operations"] == []


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"models": ["sim/wek"]}, "model 'sim/wek'"),
        ({"models": [A, "nosuch"]}, "model 'nosuch'"),
        ({"prompt_types": ["basline"]}, "prompt type 'basline'"),
        ({"task_types": ["simple"]}, "task type 'simple'"),
        ({"difficulties": ["trivial"]}, "difficulty 'trivial'"),
        ({"tool_success_rates": [0.5]}, "tool success rate 0.5"),
        ({"seeds": [7]}, "seed 7"),
        ({"severities": ["light"]}, "severity 'light'"),
        ({"max_turns": [3]}, "max turns 3"),
        ({"suite_versions": ["s2"]}, "suite version 's2'"),
        ({"run_ids": ["run-9"]}, "run id 'run-9'"),
        ({"compare": [(A, "nosuch")]}, "model 'nosuch'"),
        ({"compare": [("prompt:baseline", "prompt:optimum")]}, "prompt type 'optimum'"),
    ],
)
def test_a_filter_typo_is_an_error_naming_the_value(store, filters, named):
    with pytest.raises(UsageError) as e:
        build_report(store, **filters)
    assert named in str(e.value)


def test_compare_rejects_mixed_kinds(store):
    with pytest.raises(UsageError):
        build_report(store, compare=[("prompt:baseline", A)])


def test_empty_store(tmp_path):
    with SQLiteStore(tmp_path / "empty.db") as st:
        r = build_report(st)
    assert r["total"] == 0 and r["tests"] == 0
    assert r["by_status"] == {"done": 0, "error": 0}
    assert r["scale"] == [] and r["comparisons"] == [] and r["paired"] == []


def _run(model, inst, level, **kw):
    return rec(model, "baseline", "simple_task", "easy", 0.8, inst, level=level, **kw)


def test_a_run_under_other_conditions_does_not_move_the_baseline(tmp_path):
    """The issue's case: a second run with --severity light --max-turns 3 --seed 7 used to pull
    sim/weak's 5.1 baseline from 0.90 to 0.70 without a word."""
    first = [_run("sim/weak", i, "full_success" if i < 9 else "failure") for i in range(10)]
    other = [_run("sim/weak", i, "failure" if i < 5 else "full_success", seed=7, max_turns=3, severity="light",
                  run="run-2") for i in range(10)]
    with SQLiteStore(tmp_path / "r.db") as st:
        st.write(first)
        alone = build_report(st)["baseline"]["sim/weak"]["success"]["rate"]
        st.write(other)
        both = build_report(st)
        pooled = build_report(st, pool=True)
        only_first = build_report(st, seeds=[42], max_turns=[10])
    assert alone == 0.9
    assert set(both["baseline"]) == {"sim/weak [seed=42, max_turns=10]", "sim/weak [seed=7, max_turns=3]"}
    assert both["baseline"]["sim/weak [seed=42, max_turns=10]"]["success"]["rate"] == 0.9
    assert both["baseline"]["sim/weak [seed=7, max_turns=3]"]["success"]["rate"] == 0.5
    assert both["sections"]["baseline"]["split_by"] == ["seed", "max_turns"]
    assert both["conditions"]["seed"] == [[7, 10], [42, 10]]
    assert both["conditions"]["run_id"] == [["run-1", 10], ["run-2", 10]]
    assert pooled["baseline"]["sim/weak"]["success"]["rate"] == 0.7
    assert pooled["sections"]["baseline"]["pooled"] == ["seed", "max_turns"]
    assert only_first["baseline"]["sim/weak"]["success"]["rate"] == 0.9


def test_flaw_severities_split_5_3_and_share_the_reference(tmp_path):
    rows = [rec("m", "optimal", "simple_task", "easy", 0.8, i, level="full_success") for i in range(4)]
    rows += [rec("m", "flawed_tool_misuse", "simple_task", "easy", 0.8, i, level="failure", severity="severe") for i in range(4)]
    rows += [rec("m", "flawed_tool_misuse", "simple_task", "easy", 0.8, i, level="full_success", severity="light") for i in range(4)]
    with SQLiteStore(tmp_path / "r.db") as st:
        st.write(rows)
        r = build_report(st)
    f = r["flaw_robustness"]
    assert list(f) == ["m [severity=light]", "m [severity=severe]"]
    assert f["m [severity=light]"]["mean"]["mean"] == 1.0 and f["m [severity=severe]"]["mean"]["mean"] == 0.0
    assert f["m [severity=light]"]["optimal"]["n"] == 4 and f["m [severity=severe]"]["optimal"]["n"] == 4
    assert set(r["prompt_sensitivity"]) == {"m [severity=light]", "m [severity=severe]"}
    assert r["prompt_sensitivity"]["m [severity=severe]"]["optimal"]["rate"] == 1.0


def test_models_sort_naturally(tmp_path):
    names = ["family-14b", "family-3b", "family-72b", "family-0.5b"]
    with SQLiteStore(tmp_path / "r.db") as st:
        st.write([_run(m, i, "full_success") for m in names for i in range(2)])
        r = build_report(st)
    natural = ["family-0.5b", "family-3b", "family-14b", "family-72b"]
    assert r["models"] == natural
    assert list(r["baseline"]) == natural
    assert [x["model"] for x in r["scale"][0]["models"]] == natural
    assert [(c["a"], c["b"]) for c in r["paired"] if c["metric"] == "success"][:3] == [
        ("family-0.5b", "family-3b"), ("family-0.5b", "family-14b"), ("family-0.5b", "family-72b")]


def test_precision_and_workflows(tmp_path):
    chain_a = '["file_operations_reader", "data_processing_parser"]'
    chain_b = '["network_fetcher", "data_processing_filter", "file_operations_writer"]'
    rows = [_run("m", i, "full_success", precision=1.0, required_tools=chain_a) for i in range(3)]
    rows += [_run("m", i, "failure", precision=0.25, required_tools=chain_b) for i in range(3, 5)]
    with SQLiteStore(tmp_path / "r.db") as st:
        st.write(rows)
        r = build_report(st, by=["workflow"])
        by_chain = build_report(st, cluster="workflow")
    m = r["baseline"]["m"]
    assert m["precision"]["mean"] == pytest.approx((3 * 1.0 + 2 * 0.25) / 5)
    assert m["precision"]["ci95"] is not None
    assert m["workflows"] == 2 and r["statistics"]["workflows"] == 2
    assert {w: _counts(x) for w, x in m["by_workflow"].items()} == {
        "file_operations_reader → data_processing_parser": (3, 3),
        "network_fetcher → data_processing_filter → file_operations_writer": (0, 2),
    }
    assert r["statistics"]["clusters"] == 5 and by_chain["statistics"]["clusters"] == 2
    # two workflows as clusters: much less information than five instances
    assert by_chain["baseline"]["m"]["success"]["n_eff"] < m["success"]["n_eff"]
    with pytest.raises(UsageError):
        build_report(st_closed := SQLiteStore(tmp_path / "r.db"), by=["flow"])
    st_closed.close()


def test_latency_quantiles_sql_matches_python(tmp_path):
    import random

    from pilotbench.reports.build import _python_quantiles
    from pilotbench.reports.stats import percentile

    rng = random.Random(7)
    records, values = [], {"...a": [], "...b": []}
    for i in range(57):
        key = "...a" if i % 3 else "...b"
        lat = [round(rng.uniform(0, 5), 4) for _ in range(rng.randint(0, 4))]
        values[key] += lat
        records.append(rec(A, "baseline", "simple_task", "easy", 0.8, i, level="failure", key=key, latencies=lat))
    with SQLiteStore(tmp_path / "q.db") as st:
        st.write(records)
        sql = st.latency_quantiles("", [], (50, 95))
        py = _python_quantiles(st, "", [], (50, 95))
    for key, vals in values.items():
        gk = ("mock", key)
        assert sql[gk]["n"] == py[gk]["n"] == len(vals)
        for q in (50, 95):
            assert sql[gk][q] == pytest.approx(percentile(vals, q))
            assert py[gk][q] == pytest.approx(percentile(vals, q))


def _stats_objects(node, path=""):
    """Every rate or mean object in a report, with where it is."""
    if isinstance(node, dict):
        if "ci95" in node and ("rate" in node or "mean" in node):
            yield path, node
        for k, v in node.items():
            if k not in ("operations", "error_categories", "conditions", "sections", "statistics"):
                yield from _stats_objects(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _stats_objects(v, f"{path}[{i}]")


def test_every_reported_metric_has_a_clustered_interval(tmp_path):
    import random

    rng = random.Random(11)
    prompts = ["baseline", "cot", "optimal", "flawed_tool_misuse", "flawed_missing_step"]
    levels = ["full_success", "partial_success", "failure"]
    rows = [rec(m, p, t, d, r, i, level=rng.choice(levels), category="other_errors", precision=rng.random(),
                required_tools=f'["tool_{i % 3}", "tool_x"]')
            for m in ("fam-3b", "fam-14b") for p in prompts for t in ("simple_task", "basic_task")
            for d in ("easy", "hard") for r in (0.9, 0.6) for i in range(4)]
    with SQLiteStore(tmp_path / "r.db") as st:
        st.write(rows)
        report = build_report(st, by=["workflow"])
    found = list(_stats_objects(report))
    sections = {path.split("/")[1].split("[")[0] for path, _ in found}
    assert {"baseline", "scale", "flaw_robustness", "tool_reliability", "prompt_sensitivity"} <= sections
    kinds = {path.rsplit("/", 1)[-1] for path, _ in found}
    assert {"success", "full_success", "partial_success", "failure", "weighted_score", "tool_coverage",
            "workflow_adherence", "efficiency", "precision", "avg_turns", "mean", "flawed_mean", "spread",
            "simple_task", "hard", "0.6"} <= kinds
    for path, obj in found:
        value = obj.get("rate", obj.get("mean"))
        if value is not None and obj.get("clusters", 2) >= 2:
            assert obj["ci95"] is not None, path
            lo, hi = obj["ci95"]
            assert lo <= value + 1e-9 and value - 1e-9 <= hi, path
    for c in report["paired"]:
        assert c["ci95"] is not None and c["p_value"] is not None and c["clusters"] == 8


def test_rows_covering_different_mixes_are_flagged(store, tmp_path):
    assert build_report(store)["sections"]["baseline"]["uneven"] == ["task_type", "difficulty"]
    rows = [_run(m, i, "full_success") for m in ("a", "b") for i in range(2)]
    with SQLiteStore(tmp_path / "even.db") as st:
        st.write(rows)
        assert build_report(st)["sections"]["baseline"]["uneven"] == []


def test_operations_show_the_keys_a_run_lost_and_why(tmp_path):
    """A key refused by the server (or parked on quota) shows in the operations table with its reason,
    even when none of the run's results went through it."""
    from pilotbench.reports.render import render

    with SQLiteStore(tmp_path / "lost.db") as store:
        store.start_run("r1", 1, {})
        store.write([rec("sim/weak", "baseline", "simple_task", "easy", 0.8, 0, "done", "failure", "other_errors", provider="idealab", run="r1")])
        store.finish_run("r1", "finished", {"keys_lost": {"idealab/...bbbb/qwen": "disabled: HTTP 401 invalid api key"}})
        ops = {(o["provider"], o["key_label"]): o for o in build_report(store)["operations"]}
        assert ops[("idealab", "...bbbb")]["state"] == "disabled: HTTP 401 invalid api key"
        assert ops[("idealab", "...bbbb")]["calls"] == 0
        assert ops[("idealab", "...aaaa")]["state"] == "ok"
        assert "disabled: HTTP 401 invalid api key" in render(build_report(store), "md")


def test_reply_shapes_count_text_calls_and_truncation(tmp_path):
    from pilotbench.reports.render import render

    with SQLiteStore(tmp_path / "shapes.db") as store:
        rows = [rec("local/qwen", "baseline", "simple_task", "easy", 0.8, i, "done", "failure", "other_errors") for i in range(4)]
        for i, r in enumerate(rows):
            r.tool_calls, r.text_calls, r.truncated_replies = 4, (4 if i < 2 else 0), (1 if i == 0 else 0)
            r.plain_result = int(i == 3)
        store.write(rows)
        shapes = build_report(store)["reply_shapes"]
        assert shapes == [{
            "model": "local/qwen", "tests": 4, "tool_calls": 16, "text_calls": 8, "text_call_share": 0.5,
            "tests_with_text_calls": shapes[0]["tests_with_text_calls"], "truncated_replies": 1,
            "tests_with_truncation": shapes[0]["tests_with_truncation"], "format_errors": 0,
            "plain_results": shapes[0]["plain_results"],
        }]
        assert shapes[0]["tests_with_text_calls"]["k"] == 2 and shapes[0]["tests_with_truncation"]["k"] == 1
        assert (shapes[0]["plain_results"]["k"], shapes[0]["plain_results"]["n"]) == (1, 4)
        md = render(build_report(store), "md")
        assert "Reply shapes" in md and "Plain results" in md
