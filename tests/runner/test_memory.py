"""A run's memory does not grow with its plan: nothing is kept per finished test, caches are
bounded, and the bounds do not change a single result."""

from __future__ import annotations

import json

import pytest

from pilotbench import api
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.models import simulated
from pilotbench.models.simulated import history, policy
from pilotbench.runner import instances
from pilotbench.runner.instances import InstanceCache


def _plan(models: str = "sim/weak,sim/strong"):  # type: ignore[no-untyped-def]
    return api.build_plan(models, prompt_types="all", task_types="all", difficulties="easy,hard", num_instances=2)


def _results(records) -> list[tuple]:  # type: ignore[no-untyped-def]
    out = []
    for r in sorted(records, key=lambda r: r.test_id):
        trajectory = dict(r.trajectory or {})
        trajectory.pop("turn_seconds", None)  # wall time, not a result
        out.append((r.test_id, r.status, r.success_level, r.weighted_score, r.error_category, r.turns, r.tool_calls,
                    r.prompt_tokens, r.completion_tokens, json.dumps(trajectory, sort_keys=True), r.transcript))
    return out


def test_a_finished_run_keeps_nothing_of_its_conversations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    history._HISTORIES.clear()
    models = [simulated.get_simulated_model(m) for m in ("sim/weak", "sim/strong")]
    for m in models:
        m._intents.clear()
    result = api.run(_plan(), db=tmp_path / "r.db", keep_records=False)
    assert result.summary.completed == 120
    # Every conversation ended, so what the simulated models kept for their next turns is gone; what stays
    # is one reading per prompt, bounded however long the run.
    assert len(history._HISTORIES) == 0
    assert all(len(m._intents) <= policy._INTENTS_MAX for m in models)


def test_results_do_not_depend_on_what_is_cached(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The same plan with every cache evicting at once (and nothing forgotten at a conversation's
    end) gives the same results, transcripts included."""
    default = api.run(_plan(), db=tmp_path / "a.db")
    monkeypatch.setattr(history, "_HISTORIES_MAX", 1)
    monkeypatch.setattr(policy, "_INTENTS_MAX", 1)
    monkeypatch.setattr(simulated.SimulatedModel, "end_conversation", lambda self, messages: None)
    monkeypatch.setattr(instances.InstanceCache.__init__, "__defaults__", (1,))
    starved = api.run(_plan(), db=tmp_path / "b.db")
    assert len(default.records) == len(starved.records) == 120
    assert _results(default.records) == _results(starved.records)


def test_the_instance_cache_is_bounded_and_gives_the_generators_instances() -> None:
    cache = InstanceCache(size=3)
    for i in range(10):
        task = cache.get("simple_task", i, 42)
        assert task == generate_instance("simple_task", i, 42)
    assert len(cache) == 3
    again = cache.get("simple_task", 9, 42)
    assert again is cache.get("simple_task", 9, 42)  # a hit is the same object


@pytest.mark.parametrize("bound", ["_HISTORIES_MAX", "_INTENTS_MAX"])
def test_the_simulated_models_caches_are_bounded_below_a_long_plan(bound: str) -> None:
    # A few times the conversations in flight (256 by default), far below a long run's tests.
    assert 256 <= getattr(history if bound == "_HISTORIES_MAX" else policy, bound) <= 2048
