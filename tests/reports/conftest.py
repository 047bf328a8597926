"""A small hand-made store: three models, a retried test (error then done), an error-only test."""

from __future__ import annotations

import itertools

import pytest

from pilotbench.store.records import TestRecord
from pilotbench.store.sqlite import SQLiteStore

A = "qwen2.5-3b-instruct"
B = "qwen2.5-72b-instruct"
C = "gpt-x"

_WS = {"full_success": 1.0, "partial_success": 0.5, "failure": 0.0}
_counter = itertools.count(1)


def rec(model, prompt, task, diff, tsr, inst, status="done", level=None, category=None, *,
        provider="mock", key="...aaaa", latencies=(1.0,), rate_limited=0, retries=0, trajectory=None,
        seed=42, max_turns=10, severity="severe", run="run-1", suite="s1", precision=None, required_tools=None):
    n = next(_counter)
    test_id = f"{model}|{prompt}|{task}|{diff}|{tsr:g}|{inst}|{seed}|{max_turns}|{severity}|{suite}"
    done = status == "done"
    return TestRecord(
        attempt_id=f"att-{n}", test_id=test_id, run_id=run, model=model, provider=provider,
        prompt_type=prompt, task_type=task, difficulty=diff, tool_success_rate=tsr, instance=inst,
        seed=seed, suite_version=suite, task_hash="h", severity=severity, max_turns=max_turns, status=status,
        success_level=level if done else None,
        success=(1 if level in ("full_success", "partial_success") else 0) if done else None,
        weighted_score=_WS[level] if done else None,
        workflow_adherence=0.5 if done else None,
        tool_coverage=1.0 if level == "full_success" else (0.5 if done else None),
        efficiency=0.8 if done else None,
        precision=precision if done else None,
        error_category=category if done else None,
        infra_error=None if done else "HTTP 503",
        turns=4 if done else 0, tool_calls=3 if done else 0,
        model_calls=2, prompt_tokens=100, completion_tokens=10, rate_limited=rate_limited, retries=retries,
        latency_s=sum(latencies), call_latencies=list(latencies), key_label=key, lane="l",
        started_at=1.0, finished_at=2.0, trajectory=trajectory, required_tools=required_tools,
    )


def make_records():
    e, m, h = "easy", "medium", "hard"
    s, b = "simple_task", "basic_task"
    a = dict(provider="mock", key="...aaaa")
    rows = [
        # model A: 8 done rows (3 full, 1 partial, 4 failure) + 2 error rows
        rec(A, "baseline", s, e, 0.8, 0, level="full_success", latencies=[1.0], trajectory={"turns": 4, "calls": []}, **a),
        rec(A, "baseline", s, e, 0.8, 1, level="partial_success", category="tool_selection_errors", latencies=[2.0], **a),
        rec(A, "baseline", b, e, 0.8, 0, level="failure", category="timeout_errors", latencies=[3.0], **a),
        rec(A, "optimal", s, e, 0.8, 0, level="full_success", latencies=[4.0], **a),
        rec(A, "optimal", s, e, 0.8, 1, status="error", latencies=[5.0], rate_limited=1, **a),
        rec(A, "optimal", s, e, 0.8, 1, level="failure", category="max_turns_errors", latencies=[6.0], retries=1, **a),
        rec(A, "flawed_tool_misuse", s, e, 0.8, 0, level="failure", category="other_errors", latencies=[7.0], **a),
        rec(A, "flawed_missing_step", s, e, 0.8, 0, level="full_success", latencies=[8.0], **a),
        rec(A, "baseline", s, e, 0.6, 0, level="failure", category="tool_selection_errors", latencies=[9.0], **a),
        rec(A, "cot", s, m, 0.8, 0, status="error", latencies=[10.0], rate_limited=1, **a),
        # model B: 4 done rows (3 full, 1 partial)
        rec(B, "baseline", s, e, 0.8, 0, level="full_success", key="...bbbb"),
        rec(B, "baseline", s, e, 0.8, 1, level="full_success", key="...bbbb"),
        rec(B, "baseline", b, h, 0.8, 0, level="partial_success", category="dependency_errors", key="...bbbb"),
        rec(B, "optimal", s, e, 0.8, 0, level="full_success", key="...bbbb"),
        # model C: 2 done rows, one failure without a category
        rec(C, "baseline", s, e, 0.8, 0, level="failure", provider="openai", key="...cccc"),
        rec(C, "baseline", s, e, 0.8, 1, level="full_success", provider="openai", key="...cccc"),
    ]
    return rows


@pytest.fixture()
def store(tmp_path):
    st = SQLiteStore(tmp_path / "results.db")
    st.write(make_records())
    yield st
    st.close()
