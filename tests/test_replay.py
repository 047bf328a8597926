"""Real replies of a real open model, replayed (pilotbench.replay and `mock-server --replay`).

The fixture holds what Qwen2.5-Coder-0.5B-Instruct (Q4_K_M) answered through llama.cpp's
OpenAI-compatible server without a tool-call parser (`python -m bench.local_model record`): calls
written as text in native mode, replies cut off at max_tokens, a bare "FINAL ANSWER:". These
tests run them through the parsers, an Episode, and a whole pilotbench run over HTTP.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pilotbench import api
from pilotbench.benchmark.episode import Episode, StopRules
from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.protocol import is_truncated, parse_reply
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.benchmark.tools import TOOLS
from pilotbench.benchmark.types import ModelOutput
from pilotbench.cli import main
from pilotbench.config import load_config
from pilotbench.errors import ConfigError
from pilotbench.mock_server import MockConfig, MockServerThread
from pilotbench.replay import END_OF_RECORDING, ReplayResponder, load_recording

from .factories import write_config

FIXTURE = Path(__file__).parent / "fixtures" / "real_replies" / "qwen2.5-coder-0.5b-instruct.json"
KEY = "fake-replay-key-0000"


@pytest.fixture(scope="module")
def recording():  # type: ignore[no-untyped-def]
    return load_recording(FIXTURE)


def offered(mode: str) -> frozenset[str]:
    return frozenset(TOOLS)


def test_the_fixture_holds_the_shapes_issue_16_is_about(recording) -> None:  # type: ignore[no-untyped-def]
    replies = [(c.tool_mode, r) for c in recording.values() for r in c.replies]
    assert {"native", "text"} <= {mode for mode, _ in replies}
    assert all(not r.tool_calls for _, r in replies)  # no tool-call parser: never native tool_calls
    assert sum(is_truncated(r.finish_reason) for _, r in replies) >= 2
    assert any(r.usage.prompt_tokens > 5000 for _, r in replies)  # the 30 schemas in Qwen's template
    assert len(FIXTURE.read_bytes()) < 64_000  # small enough to keep in the repository


def test_every_recorded_reply_is_classified_once(recording) -> None:  # type: ignore[no-untyped-def]
    text_calls = 0
    for conv in recording.values():
        for reply in conv.replies:
            parsed = parse_reply(reply, conv.tool_mode, offered(conv.tool_mode))
            assert sum([bool(parsed.calls), parsed.final is not None, parsed.format_error is not None]) == 1
            if is_truncated(reply.finish_reason):
                assert parsed.truncated and parsed.final is None and not parsed.calls
            text_calls += parsed.from_text
    assert text_calls >= 1  # a native-mode call written as text was read as a call


def test_the_first_native_reply_is_a_fenced_json_call_not_an_answer(recording) -> None:  # type: ignore[no-untyped-def]
    first = recording["native"].replies[0]
    assert first.content.startswith("```json") and first.finish_reason == "stop"
    parsed = parse_reply(first, "native", frozenset(TOOLS))
    assert parsed.from_text and len(parsed.calls) == 1 and parsed.final is None


@pytest.mark.parametrize("name", ["native", "native-truncated", "text", "native-optimal"])
def test_recorded_conversations_through_an_episode(recording, name: str) -> None:  # type: ignore[no-untyped-def]
    conv = recording[name]
    task = generate_instance("basic_task" if name == "native-optimal" else "simple_task", 0)
    prompt = render_prompt(task, "easy", "optimal" if name == "native-optimal" else "baseline", tool_mode=conv.tool_mode)
    episode = Episode(f"replay-{name}", task, prompt, 1.0, rules=StopRules(max_turns=len(conv.replies)))
    for reply in conv.replies:
        if episode.done:
            break
        episode.step(reply)
        if is_truncated(reply.finish_reason):
            assert episode.trajectory.final_answer is None
    traj = episode.trajectory
    assert traj.truncated_replies == sum(is_truncated(r.finish_reason) for r in conv.replies[: traj.turns])
    if conv.tool_mode == "native":
        assert traj.text_calls == len(traj.calls)
    if name == "native":
        assert traj.text_calls >= 1 and traj.truncated_replies >= 1 and traj.turns >= 2
    if name == "native-truncated":
        assert traj.stop_reason == "max_turns" and traj.final_answer is None and not traj.declared_completion
    if name == "native-optimal":
        # Native mode, no tool_calls ever: a fenced call, then bare ones, turn after turn.
        assert traj.text_calls == len(traj.calls) >= 2 and len({c.turn for c in traj.calls}) >= 2
        assert traj.calls[0].name == "file_operations_scanner" and traj.final_answer is None
    if name == "text":
        # "FINAL ANSWER: {...}, {...}" with Python's False/True: two calls a turn, not an answer.
        # (Stop rules may end the run mid-reply, depending on the tool catalog's answers.)
        assert len(traj.calls) >= 2 and traj.final_answer is None and traj.format_errors == 0
        assert [c.name for c in traj.calls[:2]] == ["data_processing_filter", "file_operations_writer"]


def test_the_responder_answers_by_conversation_and_turn(recording) -> None:  # type: ignore[no-untyped-def]
    responder = ReplayResponder(recording)
    native = recording["native"]
    system = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert responder("replay/native", system, [{"type": "function"}], {}) is native.replies[0]
    after_one = [*system, {"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]
    assert responder("native", after_one, [{}], {}) is native.replies[1]
    # An unknown model name: the first conversation of the request's tool mode.
    assert responder("whatever", system, None, {}) is next(c for c in recording.values() if c.tool_mode == "text").replies[0]
    past_end = system + [{"role": "assistant", "content": "x"}] * 50
    assert responder("native", past_end, [{}], {}) == ModelOutput.for_text(END_OF_RECORDING)


def _config(tmp_path: Path, base_url: str) -> Path:
    models = {f"replay/{name}": (f"replay/{name}", f'tool_mode = "{mode}"\nmax_tokens = 512')
              for name, mode in (("native", "native"), ("native-truncated", "native"), ("text", "text"))}
    return write_config(tmp_path / "pilotbench.toml", base_url, ["env:PB_TEST_REPLAY_KEY"], provider="replay",
                        models=models, max_concurrency=2, request_timeout=10)


def test_a_pilotbench_run_over_http_on_recorded_replies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PB_TEST_REPLAY_KEY", KEY)
    monkeypatch.delenv("MAX_WORKERS", raising=False)
    responder = ReplayResponder.from_file(FIXTURE)
    assert "replay/native" in responder.model_names()
    with MockServerThread(MockConfig(models=responder.model_names()), responder) as srv:
        cfg = load_config(_config(tmp_path, srv.base_url))
        plan = api.build_plan("replay/native,replay/native-truncated,replay/text", task_types="simple_task",
                              num_instances=1, max_turns=4, config=cfg)
        result = api.run(plan, db=tmp_path / "replay.db", config=cfg)
        bodies = srv.stats.to_dict()
    assert result.summary.completed == 3 and result.summary.errors == 0, bodies
    con = sqlite3.connect(tmp_path / "replay.db")
    con.row_factory = sqlite3.Row
    rows = {r["model"]: r for r in con.execute("SELECT * FROM results WHERE status = 'done'")}
    native = rows["replay/native"]
    assert native["text_calls"] >= 1 and native["tool_calls"] == native["text_calls"]
    assert native["truncated_replies"] >= 1 and native["format_errors"] >= native["truncated_replies"]
    assert json.loads(native["trajectory"])["text_calls"] == native["text_calls"]
    cut = rows["replay/native-truncated"]
    assert cut["truncated_replies"] >= 2 and cut["tool_calls"] == 0
    # Both replies were cut off: neither became the answer (the replay's own end-of-recording may).
    assert json.loads(cut["trajectory"])["final_answer"] in (None, END_OF_RECORDING)
    assert cut["success_level"] == "failure"
    text = rows["replay/text"]
    assert text["text_calls"] == 0 and text["truncated_replies"] == 0  # text mode: calls are not a fallback
    assert text["tool_calls"] >= 2 and json.loads(text["trajectory"])["final_answer"] in (None, END_OF_RECORDING)


def test_a_bad_recording_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_recording(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"conversations": [{"name": "x"}]}')
    with pytest.raises(ConfigError, match="not a recording file"):
        load_recording(bad)
    bad.write_text('{"conversations": []}')
    with pytest.raises(ConfigError, match="holds no conversation"):
        load_recording(bad)


def test_mock_server_replay_of_a_missing_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["mock-server", "--replay", str(tmp_path / "missing.json"), "--port", "0"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "missing.json" in lines[0] and "Traceback" not in err
