"""What the tests build again and again: config files that point at a provider, and stored records.

Plain functions and constants, imported by the tests that use them (fixtures stay in conftest.py,
which no test imports).
"""

from __future__ import annotations

import itertools
import textwrap
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pilotbench.store.records import TestRecord

# --------------------------------------------------------------------------- config files

FAKE_KEYS = ("fake-key-0000-aaaa", "fake-key-1111-bbbb", "fake-key-2222-cccc")


def write_config(
    path: Path,
    base_url: str,
    key_refs: Sequence[str],
    *,
    provider: str = "mock",
    models: Mapping[str, str | tuple[str, str]] | None = None,
    max_concurrency: int | None = None,
    request_timeout: float | None = None,
    provider_extra: str = "",
    model_extra: str = "",
    extra: str = "",
) -> Path:
    """A config file (mode 0600) with one OpenAI-compatible provider at `base_url`/v1 holding the keys
    `key_refs` (`env:` references), and its models: name -> deployment, or (deployment, lines of its
    own); by default mock/strong and mock/weak on the simulated models. `model_extra` goes into every
    model, `extra` after them all; a limit left None is not written (the provider's default)."""
    if models is None:
        models = {f"{provider}/strong": "sim/strong", f"{provider}/weak": "sim/weak"}
    refs = ", ".join(f'"{r}"' for r in key_refs)
    lines = [f"[providers.{provider}]", 'kind = "openai"', f'base_url = "{base_url}/v1"', f"api_keys = [{refs}]"]
    if max_concurrency is not None:
        lines.append(f"max_concurrency = {max_concurrency}")
    if request_timeout is not None:
        lines.append(f"request_timeout = {request_timeout}")
    lines.append(textwrap.dedent(provider_extra).strip())
    for name, entry in models.items():
        deployment, own = (entry, "") if isinstance(entry, str) else entry
        lines += ["", f'[models."{name}"]', f'provider = "{provider}"', f'deployment = "{deployment}"',
                  textwrap.dedent(own).strip(), textwrap.dedent(model_extra).strip()]
    path.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra))
    path.chmod(0o600)
    return path


def mock_config_file(tmp_path: Path, base_url: str, *, keys: int = 3, max_concurrency: int = 4,
                     request_timeout: float = 5, extra: str = "", model_extra: str = "",
                     provider_extra: str = "") -> Path:
    """tmp_path/pilotbench.toml: provider `mock` at `base_url` with the first `keys` of FAKE_KEYS (in
    PB_TEST_KEY_0.., see the `fake_env` fixture), models mock/strong and mock/weak."""
    return write_config(
        tmp_path / "pilotbench.toml", base_url, [f"env:PB_TEST_KEY_{i}" for i in range(keys)],
        max_concurrency=max_concurrency, request_timeout=request_timeout, provider_extra=provider_extra,
        model_extra=model_extra, extra=extra,
    )


# --------------------------------------------------------------------------- stored records


def record(test_id: str = "t0", status: str = "done", attempt: str | None = None, **fields: Any) -> TestRecord:
    """One attempt of a test of sim/weak (baseline, simple_task, easy, 0.8, instance 0, seed 42) in run r1;
    `fields` override any column."""
    base: dict[str, Any] = dict(
        attempt_id=attempt or uuid.uuid4().hex, test_id=test_id, run_id="r1", model="sim/weak", provider="sim",
        prompt_type="baseline", task_type="simple_task", difficulty="easy", tool_success_rate=0.8, instance=0,
        seed=42, suite_version="v1-x", task_hash="h", severity="severe", max_turns=10, status=status,
    )
    base.update(fields)
    return TestRecord(**base)


# A small hand-made store for the reports: three models, a retried test (error then done), an error-only test.
A = "qwen2.5-3b-instruct"
B = "qwen2.5-72b-instruct"
C = "gpt-x"

_WS = {"full_success": 1.0, "partial_success": 0.5, "failure": 0.0}
_counter = itertools.count(1)


def report_record(model, prompt, task, diff, tsr, inst, status="done", level=None, category=None, *,
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


def report_records():
    e, m, h = "easy", "medium", "hard"
    s, b = "simple_task", "basic_task"
    a = dict(provider="mock", key="...aaaa")
    rows = [
        # model A: 8 done rows (3 full, 1 partial, 4 failure) + 2 error rows
        report_record(A, "baseline", s, e, 0.8, 0, level="full_success", latencies=[1.0], trajectory={"turns": 4, "calls": []}, **a),
        report_record(A, "baseline", s, e, 0.8, 1, level="partial_success", category="tool_selection_errors", latencies=[2.0], **a),
        report_record(A, "baseline", b, e, 0.8, 0, level="failure", category="timeout_errors", latencies=[3.0], **a),
        report_record(A, "optimal", s, e, 0.8, 0, level="full_success", latencies=[4.0], **a),
        report_record(A, "optimal", s, e, 0.8, 1, status="error", latencies=[5.0], rate_limited=1, **a),
        report_record(A, "optimal", s, e, 0.8, 1, level="failure", category="max_turns_errors", latencies=[6.0], retries=1, **a),
        report_record(A, "flawed_tool_misuse", s, e, 0.8, 0, level="failure", category="other_errors", latencies=[7.0], **a),
        report_record(A, "flawed_missing_step", s, e, 0.8, 0, level="full_success", latencies=[8.0], **a),
        report_record(A, "baseline", s, e, 0.6, 0, level="failure", category="tool_selection_errors", latencies=[9.0], **a),
        report_record(A, "cot", s, m, 0.8, 0, status="error", latencies=[10.0], rate_limited=1, **a),
        # model B: 4 done rows (3 full, 1 partial)
        report_record(B, "baseline", s, e, 0.8, 0, level="full_success", key="...bbbb"),
        report_record(B, "baseline", s, e, 0.8, 1, level="full_success", key="...bbbb"),
        report_record(B, "baseline", b, h, 0.8, 0, level="partial_success", category="dependency_errors", key="...bbbb"),
        report_record(B, "optimal", s, e, 0.8, 0, level="full_success", key="...bbbb"),
        # model C: 2 done rows, one failure without a category
        report_record(C, "baseline", s, e, 0.8, 0, level="failure", provider="openai", key="...cccc"),
        report_record(C, "baseline", s, e, 0.8, 1, level="full_success", provider="openai", key="...cccc"),
    ]
    return rows
