"""The simulated models behind the mock server over HTTP behave exactly as in process (issue 12, item 5).

The runner plays a plan against the mock server, whose models answer as `sim/strong` and `sim/weak`;
each stored test is then replayed in process with the same test id and world, and must give the same
trajectory call for call, in native function calling and in the text protocol.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotbench import api
from pilotbench.benchmark.episode import Episode, StopRules
from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.config import load_config
from pilotbench.models.simulated import get_simulated_model
from pilotbench.plan import make_spec, world_id

from ..factories import mock_config_file


@pytest.mark.parametrize("tool_mode", ["native", "text"])
def test_http_results_match_in_process_replay(tmp_path: Path, mock_server, fake_env, tool_mode: str) -> None:  # type: ignore[no-untyped-def]
    cfg = load_config(mock_config_file(tmp_path, mock_server.base_url, model_extra=f'tool_mode = "{tool_mode}"'))
    plan = api.build_plan("mock/strong,mock/weak", prompt_types="baseline,cot,optimal,flawed_missing_step",
                          task_types="all", difficulties="easy,very_hard", config=cfg)
    http = api.run(plan, db=tmp_path / "http.db", config=cfg)
    assert http.summary.completed == len(plan) >= 80 and http.summary.errors == 0
    assert mock_server.stats.ok > len(plan)  # every turn went over HTTP
    for r in http.records:
        spec = make_spec(r.model, r.prompt_type, r.task_type, r.difficulty, r.tool_success_rate, r.instance,
                         seed=r.seed, severity=r.severity, max_turns=r.max_turns, version=r.suite_version)
        assert spec.id == r.test_id
        task = generate_instance(r.task_type, r.instance, r.seed)
        prompt = render_prompt(task, r.difficulty, r.prompt_type, severity=r.severity, tool_mode=tool_mode)
        episode = Episode(r.test_id, task, prompt, r.tool_success_rate, rules=StopRules(max_turns=r.max_turns),
                          world_id=world_id(spec))
        model = get_simulated_model(cfg.models[r.model].deployment or "")
        while not episode.done:
            episode.step(model.respond(episode.messages, episode.tools))
        stored = dict(r.trajectory)
        assert len(stored.pop("turn_seconds")) == stored["turns"]  # the runner adds each turn's time
        assert len(stored.pop("turn_tokens")) == stored["turns"]  # and each turn's tokens
        assert episode.trajectory.to_dict() == stored, r.test_id
    strong = [r.success for r in http.records if r.model == "mock/strong"]
    weak = [r.success for r in http.records if r.model == "mock/weak"]
    assert sum(strong) > sum(weak)
