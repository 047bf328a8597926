"""The runner end to end: offline on simulated models, and over real HTTP against the mock server."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from pilotbench import api
from pilotbench.benchmark.types import ModelOutput, PROMPT_TYPES, TASK_TYPES
from pilotbench.config import load_config
from pilotbench.errors import ProviderError
from pilotbench.limits import FakeClock
from pilotbench.models.simulated import get_simulated_model
from pilotbench.runner.calls import CallStats, InfraError, call_model
from pilotbench.runner.runtime import build_runtime
from pilotbench.runner.scheduler import RunOptions, Runner
from pilotbench.store.sqlite import SQLiteStore

from ..factories import FAKE_KEYS


def _outcomes(db: Path) -> list[tuple]:
    with SQLiteStore(db, create=False) as store:
        return sorted(
            store.query(
                "SELECT test_id, model, prompt_type, status, success_level, turns, tool_calls, "
                "workflow_adherence, tool_coverage, efficiency, error_category FROM results"
            )
        )


def test_offline_weak_and_strong_all_prompt_types(tmp_path: Path) -> None:
    plan = api.build_plan("sim/weak,sim/strong", prompt_types="all_with_flawed", task_types="all", num_instances=2)
    assert len(plan) == 200
    result = api.run(plan, db=tmp_path / "a.db")
    assert result.summary.completed == 200 and result.summary.errors == 0
    by_model: dict[str, list[int]] = {}
    for r in result.records:
        by_model.setdefault(r.model, []).append(r.success_level == "full_success")
    assert {m: len(v) for m, v in by_model.items()} == {"sim/weak": 100, "sim/strong": 100}
    assert {r.prompt_type for r in result.records} == set(PROMPT_TYPES)
    assert {r.task_type for r in result.records} == set(TASK_TYPES)
    strong, weak = sum(by_model["sim/strong"]), sum(by_model["sim/weak"])
    assert strong - weak >= 30, (strong, weak)


def test_same_seed_gives_identical_results(tmp_path: Path) -> None:
    plan = api.build_plan("sim/medium", prompt_types="all_with_flawed", task_types="all", difficulties="easy,hard")
    api.run(plan, db=tmp_path / "one.db")
    api.run(plan, db=tmp_path / "two.db")
    one, two = _outcomes(tmp_path / "one.db"), _outcomes(tmp_path / "two.db")
    assert len(one) == len(plan) == 200
    assert one == two
    other = api.build_plan("sim/medium", prompt_types="all_with_flawed", task_types="all", difficulties="easy,hard", seed=7)
    api.run(other, db=tmp_path / "three.db")
    assert {r[0] for r in _outcomes(tmp_path / "three.db")}.isdisjoint({r[0] for r in one})


def test_resume_skips_done_and_tops_up_instances(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    first = api.run(api.build_plan("sim/strong", num_instances=1), db=db)
    assert first.summary.completed == 5
    again = api.run(api.build_plan("sim/strong", num_instances=1), db=db)
    assert again.summary.completed == 0 and again.summary.skipped == 5
    more = api.run(api.build_plan("sim/strong", num_instances=3), db=db)
    assert more.summary.skipped == 5 and more.summary.completed == 10
    with SQLiteStore(db, create=False) as store:
        assert store.count() == 15
        assert store.query("SELECT COUNT(DISTINCT test_id) FROM results")[0][0] == 15


class ScriptedProvider:
    """A provider that raises the given errors in order, then answers like sim/strong."""

    kind = "scripted"

    def __init__(self, errors: list[BaseException], model: str = "sim/strong") -> None:
        self.errors = list(errors)
        self.calls = 0
        self.sim = get_simulated_model(model)

    async def generate(self, request, timeout):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.sim.respond(request.messages, request.tools)

    def classify(self, error: BaseException) -> ProviderError:
        return error if isinstance(error, ProviderError) else ProviderError("transient", type(error).__name__)

    async def aclose(self) -> None:
        return None


def _runtime_with(provider: ScriptedProvider, *, keys: int = 1, max_retries: int = 3, clock=None):  # type: ignore[no-untyped-def]
    cfg = load_config()
    rt = build_runtime(cfg, ["sim/strong"], clock=clock)
    model = rt.models["sim/strong"]
    model.max_retries = max_retries
    for lane in model.pool.lanes:
        model.providers[lane.name] = provider
    return rt


def _request():  # type: ignore[no-untyped-def]
    from pilotbench.models.base import ModelRequest

    return ModelRequest("sim/strong", [{"role": "user", "content": "hi"}], None)


def test_transient_errors_are_retried_with_backoff_on_virtual_time() -> None:
    clock = FakeClock()
    provider = ScriptedProvider([ProviderError("transient", "HTTP 500"), ProviderError("transient", "HTTP 503")])
    rt = _runtime_with(provider, clock=clock)
    stats = CallStats()
    out = asyncio.run(call_model(rt.models["sim/strong"], "baseline", _request(), stats, clock=clock, rng=random.Random(1)))
    assert isinstance(out, ModelOutput)
    assert stats.retries == 2 and stats.calls == 3 and provider.calls == 3
    assert clock.now() > 0  # backed off, on virtual time


def test_transient_errors_beyond_the_budget_are_an_infra_error() -> None:
    clock = FakeClock()
    provider = ScriptedProvider([ProviderError("transient", "HTTP 500")] * 10)
    rt = _runtime_with(provider, max_retries=2, clock=clock)
    with pytest.raises(InfraError, match="transient"):
        asyncio.run(call_model(rt.models["sim/strong"], "baseline", _request(), CallStats(), clock=clock, rng=random.Random(1)))
    assert provider.calls == 3


def test_rate_limits_wait_and_do_not_count_as_attempts() -> None:
    clock = FakeClock()
    provider = ScriptedProvider([ProviderError("rate_limit", "429", retry_after=2.0)] * 4)
    rt = _runtime_with(provider, max_retries=0, clock=clock)
    stats = CallStats()
    asyncio.run(call_model(rt.models["sim/strong"], "baseline", _request(), stats, clock=clock, rng=random.Random(1)))
    assert stats.rate_limited == 4 and stats.retries == 0
    assert clock.now() >= 8.0  # four Retry-After cooldowns of 2 s on the one lane


def test_fatal_model_error_stops_that_model_and_stores_infra_errors(tmp_path: Path) -> None:
    provider = ScriptedProvider([ProviderError("fatal", "HTTP 404: no such deployment", scope="model")])
    rt = _runtime_with(provider)
    with SQLiteStore(tmp_path / "f.db") as store:
        runner = Runner(rt, store, options=RunOptions(handle_signals=False, live=False, progress_interval=3600), keep_records=True)
        summary = asyncio.run(runner.run(api.build_specs("sim/strong", num_instances=4)))
    assert "sim/strong" in summary.stopped_models and "404" in summary.stopped_models["sim/strong"]
    assert summary.completed == 0
    assert all(r.status == "error" and "404" in (r.infra_error or "") for r in summary.records)
    assert provider.calls == 1  # nothing more was sent once the model was known dead


def test_infrastructure_errors_are_run_again_on_resume(tmp_path: Path) -> None:
    db = tmp_path / "i.db"
    specs = api.build_specs("sim/strong", num_instances=1)
    failing = ScriptedProvider([ProviderError("transient", "HTTP 500")] * 1000)
    rt = _runtime_with(failing, max_retries=0)
    rt.models["sim/strong"].providers = {k: failing for k in rt.models["sim/strong"].providers}
    import pilotbench.runner.calls as calls

    with SQLiteStore(db) as store:
        options = RunOptions(handle_signals=False, live=False, progress_interval=3600)
        calls_backoff = calls.BACKOFF_BASE
        calls.BACKOFF_BASE = 0.0
        try:
            first = asyncio.run(Runner(rt, store, options=options).run(specs))
        finally:
            calls.BACKOFF_BASE = calls_backoff
        assert first.errors == 5 and first.completed == 0
        second = asyncio.run(Runner(_runtime_with(ScriptedProvider([])), store, options=options).run(specs))
        assert second.skipped == 0 and second.completed == 5
        rows = store.query("SELECT status, COUNT(*) FROM results GROUP BY status")
    assert dict(rows) == {"done": 5, "error": 5}


# ---------------------------------------------------------------------- the HTTP path


def test_http_path_matches_in_process_results(tmp_path: Path, mock_cfg, mock_server) -> None:  # type: ignore[no-untyped-def]
    """The simulated models behind the mock server behave exactly as in process: replaying each
    test locally with the same id gives the same trajectory, call for call."""
    from pilotbench.benchmark.episode import Episode, StopRules
    from pilotbench.benchmark.prompts import render_prompt
    from pilotbench.benchmark.tasks import generate_instance
    from pilotbench.plan import make_spec, world_id

    http = api.run(api.build_plan("mock/strong,mock/weak", prompt_types="baseline,optimal,flawed_tool_misuse",
                                  config=mock_cfg), db=tmp_path / "http.db", config=mock_cfg)
    assert http.summary.completed == 60 and http.summary.errors == 0
    for r in http.records:
        task = generate_instance(r.task_type, r.instance, r.seed)
        spec = make_spec(r.model, r.prompt_type, r.task_type, r.difficulty, r.tool_success_rate, r.instance, seed=r.seed)
        episode = Episode(r.test_id, task, render_prompt(task, r.difficulty, r.prompt_type), r.tool_success_rate,
                          rules=StopRules(max_turns=r.max_turns), world_id=world_id(spec))
        model = get_simulated_model(mock_cfg.models[r.model].deployment)
        while not episode.done:
            episode.step(model.respond(episode.messages, episode.tools))
        stored = dict(r.trajectory)
        assert len(stored.pop("turn_seconds")) == stored["turns"]  # the runner adds each turn's time
        assert len(stored.pop("turn_tokens")) == stored["turns"]  # and each turn's tokens
        assert episode.trajectory.to_dict() == stored, r.test_id
    labels = {r.key_label for r in http.records}
    assert labels <= {"..." + k[-4:] for k in FAKE_KEYS} and len(labels) == 3
    assert http.provider_stats["mock"]["calls"] == mock_server.stats.ok
    strong = [r.success for r in http.records if r.model == "mock/strong"]
    weak = [r.success for r in http.records if r.model == "mock/weak"]
    assert sum(strong) > sum(weak)


def test_each_turns_tokens_are_stored_beside_its_time(tmp_path: Path, mock_cfg, mock_server) -> None:  # type: ignore[no-untyped-def]
    """trajectory.turn_tokens: one [prompt, completion] per answered call, as the server's usage said;
    their sums are the test's prompt_tokens and completion_tokens."""
    http = api.run(api.build_plan("mock/strong,mock/weak", prompt_types="baseline,flawed_tool_misuse", config=mock_cfg),
                   db=tmp_path / "tok.db", config=mock_cfg)
    assert http.summary.completed == len(http.records) > 0 and http.summary.errors == 0
    seen: set[int] = set()
    for r in http.records:
        per_turn = r.trajectory["turn_tokens"]
        assert len(per_turn) == len(r.trajectory["turn_seconds"]) == r.turns >= 1, r.test_id
        assert all(isinstance(t, list) and len(t) == 2 and all(isinstance(n, int) for n in t) for t in per_turn)
        assert sum(t[0] for t in per_turn) == r.prompt_tokens > 0, r.test_id
        assert sum(t[1] for t in per_turn) == r.completion_tokens > 0, r.test_id
        if len(per_turn) > 1:
            assert per_turn[-1][0] > per_turn[0][0]  # the conversation grows: each call's own prompt
        seen.add(len(per_turn))
    assert len(seen) > 1  # tests of different lengths were played
    with SQLiteStore(tmp_path / "tok.db", create=False) as store:
        import json

        rows = store.query("SELECT trajectory, prompt_tokens FROM results")
    assert rows and all(sum(t[0] for t in json.loads(row[0])["turn_tokens"]) == row[1] for row in rows)


class _NoUsage(ScriptedProvider):
    """Answers like sim/strong, with the usage of every other reply left out (as a provider without usage)."""

    async def generate(self, request, timeout):  # type: ignore[no-untyped-def]
        out = await super().generate(request, timeout)
        return out if self.calls % 2 == 0 else ModelOutput(out.content, out.tool_calls, out.reasoning, finish_reason=out.finish_reason)


def test_a_call_that_reports_no_usage_stores_null_for_its_turn() -> None:
    clock = FakeClock()
    provider = _NoUsage([])
    rt = _runtime_with(provider, clock=clock)
    stats = CallStats()
    outputs = [asyncio.run(call_model(rt.models["sim/strong"], "baseline", _request(), stats, clock=clock, rng=random.Random(1)))
               for _ in range(2)]
    assert stats.turn_tokens[0] is None
    assert stats.turn_tokens[1] == [outputs[1].usage.prompt_tokens, outputs[1].usage.completion_tokens]
    assert outputs[1].usage.total_tokens > 0 and len(stats.turn_seconds) == 2


def test_per_key_limits_hold_over_http(tmp_path: Path, mock_cfg, mock_server) -> None:  # type: ignore[no-untyped-def]
    result = api.run(api.build_plan("mock/strong", prompt_types="all", num_instances=4, config=mock_cfg),
                     db=tmp_path / "lim.db", config=mock_cfg)
    assert result.summary.completed == 60
    stats = mock_server.stats
    peaks = stats.max_in_flight_by_lane
    assert len(peaks) == 3 and max(peaks.values()) <= 4, peaks
    assert stats.rate_limited == 0
    assert max(peaks.values()) >= 2  # and the runner actually used the concurrency it was given


def test_lane_scope_key_shares_one_limit_across_models(tmp_path: Path, mock_server, fake_env) -> None:  # type: ignore[no-untyped-def]
    from ..factories import mock_config_file

    cfg = load_config(mock_config_file(tmp_path, mock_server.base_url, provider_extra='lane_scope = "key"'))
    rt = build_runtime(cfg, ["mock/strong", "mock/weak"], connect=False)
    assert len(rt.lanes) == 3  # one per key, shared by both models
    assert rt.models["mock/strong"].pool.lanes == rt.models["mock/weak"].pool.lanes
    result = api.run(api.build_plan("mock/strong,mock/weak", prompt_types="baseline,cot", config=cfg),
                     db=tmp_path / "k.db", config=cfg)
    assert result.summary.completed == 40
    assert max(mock_server.stats.max_in_flight.values()) <= 4


def test_tpm_budget_paces_calls_on_virtual_time(tmp_path: Path) -> None:
    """With a tokens-per-minute budget, calls wait for tokens; the lane settles each call's
    estimate against the usage the provider reports. Time is virtual."""
    from pilotbench.benchmark.types import Usage
    from pilotbench.limits import TokenBucket
    from pilotbench.runner.calls import estimate_tokens

    class Heavy(ScriptedProvider):
        async def generate(self, request, timeout):  # type: ignore[no-untyped-def]
            self.calls += 1
            return ModelOutput(content="FINAL ANSWER: done", usage=Usage(4000, 1000))

    clock = FakeClock()
    provider = Heavy([])
    rt = _runtime_with(provider, clock=clock)
    lane = rt.models["sim/strong"].pool.lanes[0]
    lane.tpm_bucket = TokenBucket(60_000, clock)  # 1,000 tokens a second, 10,000 of burst
    assert rt.models["sim/strong"].uses_tpm
    req = _request()
    assert estimate_tokens(req) == 400  # two characters of prompt, no tools, the default completion allowance

    async def go() -> None:
        for _ in range(30):
            await call_model(rt.models["sim/strong"], "baseline", req, CallStats(), clock=clock, rng=random.Random(1),
                             tokens=estimate_tokens(req))

    asyncio.run(go())
    # 30 calls of 5,000 real tokens = 150,000 tokens; 10,000 of burst, the rest at 1,000/s
    assert 130.0 <= clock.now() <= 145.0, clock.now()


class PlainWordsProvider(ScriptedProvider):
    """Answers like sim/strong, but reports the result in plain words instead of a RESULT line."""

    async def generate(self, request, timeout):  # type: ignore[no-untyped-def]
        out = await super().generate(request, timeout)
        if out.content and "\nRESULT: " in out.content:
            handle = out.content.rsplit("\nRESULT: ", 1)[1].strip()
            return ModelOutput(content=f"The results are stored in the `{handle}` handle", usage=out.usage,
                               finish_reason="stop")
        return out


def test_results_reported_in_plain_words_are_stored_scored_and_counted(tmp_path: Path) -> None:
    from pilotbench.reports.build import build_report

    rt = _runtime_with(PlainWordsProvider([]))
    with SQLiteStore(tmp_path / "p.db") as store:
        runner = Runner(rt, store, options=RunOptions(handle_signals=False, live=False, progress_interval=3600), keep_records=True)
        summary = asyncio.run(runner.run(api.build_specs("sim/strong", num_instances=4)))
        plain = [r for r in summary.records if r.plain_result]
        assert plain and all(r.trajectory["result_form"] == "plain" for r in plain)
        assert all(r.plain_result for r in summary.records if r.success_level == "full_success")
        assert sum(r.success_level == "full_success" for r in plain) >= len(plain) // 2
        shapes = build_report(store)["reply_shapes"]
        assert shapes[0]["plain_results"]["k"] == len(plain)
