"""A conversation that outgrows the model's context, over real sockets.

The mock server refuses any conversation longer than a set number of messages with a 400 worded
as OpenAI/Azure, vLLM or llama.cpp word it. Such a test ends as the model's outcome (stop reason
`context_length`, error category `context_length_errors`), is sent once and never retried, and
the model carries on with its other tests; the report counts those tests per model.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pilotbench.config import load_config
from pilotbench.mock_server import KeyLimits, MockConfig
from pilotbench.reports import build_report, to_markdown
from pilotbench.store import open_store

from .helpers import GOOD_KEYS, assert_accounted, attempted_in_run, key_env, make_plan, run_bounded, write_config

CONTEXT_MESSAGES = 9  # system + task, then two or more messages a turn: the long conversations no longer fit


def _server(wording: str, messages: int = CONTEXT_MESSAGES) -> MockConfig:
    return MockConfig(keys={k: KeyLimits(max_concurrency=4) for k in GOOD_KEYS[:1]}, latency=0.002,
                      context_messages=messages, context_wording=wording)


def _rows(db: Path) -> list[sqlite3.Row]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return list(con.execute("SELECT * FROM results"))
    finally:
        con.close()


@pytest.mark.parametrize(("wording", "client"), [("openai", "sdk"), ("vllm", "lean"), ("llamacpp", "sdk"), ("llamacpp", "lean")])
def test_context_refusal_ends_the_test_as_the_models_outcome(wording, client, tmp_path: Path, monkeypatch, servers) -> None:  # type: ignore[no-untyped-def]
    srv = servers(_server(wording))
    cfg = write_config(tmp_path / "c.toml", srv.base_url, key_env(monkeypatch, GOOD_KEYS[:1]),
                       provider_extra=f'client = "{client}"' if client == "lean" else "")
    plan = make_plan(load_config(cfg), task_types="all", num_instances=2)
    db = tmp_path / "r.db"
    result = run_bounded(plan, cfg, db, keep_records=True)

    assert not result.summary.stopped_models, result.summary.stopped_models
    done, errors = assert_accounted(db, plan)
    assert not errors and len(done) == len(plan), "a context-length refusal is the test's outcome, not an infrastructure error"
    rows = _rows(db)
    cut = [r for r in rows if r["error_category"] == "context_length_errors"]
    assert cut and len(cut) < len(rows), "the long conversations hit the context, the short ones do not"
    for r in cut:
        assert json.loads(r["trajectory"])["stop_reason"] == "context_length"
        assert r["success_level"] != "full_success" and r["turns"] >= 1
        assert r["retries"] == 0
    # Sent once each, never retried: exactly one refusal per test that ended there.
    assert srv.stats.context_refused == len(cut)
    assert result.summary.context_limited == len(cut)
    # The report counts them per model.
    with open_store(db, create=False) as store:
        report = build_report(store)
        md = to_markdown(report)
    assert report["error_categories"]["mock/strong"]["counts"]["context_length_errors"] == len(cut)
    assert "context_length_errors" in md
    # A resume has nothing to do.
    again = run_bounded(plan, cfg, db)
    assert not attempted_in_run(db, again.summary.run_id)


def test_a_prompt_that_never_fits_is_an_infrastructure_error_not_a_stopped_model(tmp_path: Path, monkeypatch, servers) -> None:  # type: ignore[no-untyped-def]
    """Refused on the first request (the deployment's context or max_tokens, not the model): an
    infrastructure error that a resume retries once the server is set up right; the model is not
    stopped, so every test is tried."""
    srv = servers(_server("llamacpp", messages=1))
    cfg = write_config(tmp_path / "c.toml", srv.base_url, key_env(monkeypatch, GOOD_KEYS[:1]))
    plan = make_plan(load_config(cfg), task_types="all", num_instances=1)
    db = tmp_path / "r.db"
    result = run_bounded(plan, cfg, db)
    assert not result.summary.stopped_models
    done, errors = assert_accounted(db, plan)
    assert not done and len(errors) == len(plan)
    assert srv.stats.context_refused == len(plan), "each test tried once, none retried"
    assert all("context length exceeded" in r["infra_error"] and "first request" in r["infra_error"] for r in _rows(db))
    srv.stop()
    big = servers(_server("llamacpp", messages=1000))
    write_config(cfg, big.base_url, key_env(monkeypatch, GOOD_KEYS[:1]))
    run_bounded(plan, cfg, db)
    done, errors = assert_accounted(db, plan)
    assert not errors and len(done) == len(plan)


def test_the_run_summary_counts_them_per_model(tmp_path: Path, monkeypatch, servers, capsys) -> None:  # type: ignore[no-untyped-def]
    from pilotbench.cli import main

    srv = servers(_server("openai"))
    cfg = write_config(tmp_path / "c.toml", srv.base_url, key_env(monkeypatch, GOOD_KEYS[:1]))
    db = tmp_path / "r.db"
    code = main(["run", "-m", "mock/strong", "-t", "all", "-n", "2", "--config", str(cfg), "--db", str(db), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    n = sum(r["error_category"] == "context_length_errors" for r in _rows(db))
    assert n and f"mock/strong: {n} test(s) ended when the conversation outgrew the model's context" in out
