"""A person plays the model (`human/<name>`): a whole `pilotbench run` played through files by a scripted
player, a turn that times out (virtual time), and one test played by keyboard in a pseudo-terminal."""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pilotbench.benchmark.tasks import TaskInstance, generate_instance
from pilotbench.cli import main
from pilotbench.config import load_config
from pilotbench.limits import FakeClock
from pilotbench.models.base import ModelRequest
from pilotbench.models.human import FilePlayer, HumanOptions, PlayerTimeout, Reply, read_line
from pilotbench.plan import PlanSpec
from pilotbench.runner.runtime import build_runtime
from pilotbench.runner.scheduler import RunOptions, Runner
from pilotbench.store.sqlite import SQLiteStore
from pilotbench.store.transcripts import decode_transcript


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no ./pilotbench.toml, results under tmp_path


# ---------------------------------------------------------------------- a scripted player


def task_of(messages: list[dict[str, Any]], tasks: list[TaskInstance]) -> TaskInstance:
    """The task a conversation is about: the one whose inputs its user message quotes."""
    user = next(m["content"] for m in messages if m["role"] == "user")
    found = [t for t in tasks if all(v in user for v in t.declared_inputs.values())]
    assert len(found) == 1, user
    return found[0]


def handles(messages: list[dict[str, Any]]) -> list[str]:
    """The handles the tool results returned so far, in order (successes only)."""
    out = []
    for m in messages:
        if m["role"] == "tool":
            body = json.loads(m["content"])
            if body.get("status") == "success":
                out.append(body["handle"])
    return out


def right_call(task: TaskInstance, step: int, done: list[str]) -> dict[str, Any]:
    """The call that does `step`, given the handles of the steps done before it (in step order)."""
    s = task.steps[step]
    args = {param: (done[src] if isinstance(src, int) else task.inputs[src]) for param, src in s.feeds}
    args.update(dict(s.args))
    return {"id": f"p{step}", "type": "function", "function": {"name": s.tool, "arguments": json.dumps(args)}}


def message(*calls: dict[str, Any], content: str | None = None) -> dict[str, Any]:
    return {"role": "assistant", "content": content, **({"tool_calls": list(calls)} if calls else {})}


Script = Callable[[TaskInstance, int, list[str]], dict[str, Any]]


def careful(task: TaskInstance, turn: int, done: list[str]) -> dict[str, Any]:
    """A wrong call first (an invented handle for the last step), then every step right, then the answer."""
    n = len(task.steps)
    if turn == 0:
        last = task.steps[-1]
        bad = {param: ("h_invented00" if isinstance(src, int) else task.inputs[src]) for param, src in last.feeds}
        return message({"id": "w0", "type": "function", "function": {"name": last.tool, "arguments": json.dumps(bad)}})
    if len(done) < n:
        return message(right_call(task, len(done), done))
    return message(content=f"FINAL ANSWER: every step done.\nRESULT: {done[-1]}")


def hasty(task: TaskInstance, turn: int, done: list[str]) -> dict[str, Any]:
    """The first step right, then an answer that names its handle: a required tool never called."""
    if not done:
        return message(right_call(task, 0, done))
    return message(content=f"FINAL ANSWER: done.\nRESULT: {done[0]}")


class Player(threading.Thread):
    """Answers each DIR/req-N.json with DIR/resp-N.json (written aside and renamed into place)."""

    def __init__(self, directory: Path, scripts: dict[str, Script], tasks: list[TaskInstance]) -> None:
        super().__init__(daemon=True)
        self.directory, self.scripts, self.tasks = directory, scripts, tasks
        self.answered: list[int] = []
        self.requests: list[dict[str, Any]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for req in sorted(self.directory.glob("req-*.json"), key=lambda p: int(p.stem[4:])):
                n = int(req.stem[4:])
                if n in self.answered:
                    continue
                body = json.loads(req.read_text())
                self.requests.append(body)
                messages = body["messages"]
                task = task_of(messages, self.tasks)
                turn = sum(1 for m in messages if m["role"] == "assistant")
                reply = self.scripts[task.id](task, turn, handles(messages))
                tmp = self.directory / f"resp-{n}.json.part"
                tmp.write_text(json.dumps(reply))
                tmp.rename(self.directory / f"resp-{n}.json")
                self.answered.append(n)
            self.stop.wait(0.01)


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------------- file mode, a whole run


def test_a_scripted_player_plays_a_whole_run_through_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = [generate_instance("simple_task", i, 42) for i in range(2)]
    io = tmp_path / "io"
    player = Player(io, {tasks[0].id: careful, tasks[1].id: hasty}, tasks)
    player.start()
    db = tmp_path / "h.db"
    argv = ["run", "-m", "human/alice", "-t", "simple_task", "-d", "easy", "-n", "2", "--tool-success-rate", "1.0",
            "--db", str(db), "--human-io", str(io), "--no-progress"]
    try:
        code = main(argv)
    finally:
        player.stop.set()
        player.join(5)
    out = capsys.readouterr().out
    assert code == 0, out
    steps0 = len(tasks[0].steps)
    # one request per turn, numbered 1.. without gaps, every one answered; one score per test, named
    # after its test's last request
    requests = sorted(int(p.stem[4:]) for p in io.glob("req-*.json"))
    scores = sorted(int(p.stem[6:]) for p in io.glob("score-*.json"))
    assert requests == list(range(1, steps0 + 2 + 2 + 1))
    assert sorted(player.answered) == requests
    assert scores == [steps0 + 2, steps0 + 4]
    first = player.requests[0]
    assert first["model"] == "alice" and len(first["tools"]) == 30 and first["messages"][0]["role"] == "system"
    assert first["pilotbench"]["timeout_s"] == 3600

    got = {r[0]: r[1:] for r in rows(db, "SELECT instance, model, provider, status, success_level, error_category, "
                                         "turns, tool_calls, trajectory, latency_s, transcript FROM results")}
    model, provider, status, level, category, turns, calls, traj, latency, transcript = got[0]
    assert (model, provider, status, level, category) == ("human/alice", "human", "done", "full_success", None)
    assert (turns, calls) == (steps0 + 2, steps0 + 1)  # the wrong call, each step, the answer
    traj = json.loads(traj)
    assert traj["calls"][0]["success"] is False and traj["calls"][0]["error_code"] == "INVALID_INPUT"
    assert all(c["success"] for c in traj["calls"][1:])
    assert len(traj["turn_seconds"]) == turns and all(t > 0 for t in traj["turn_seconds"])
    assert latency == pytest.approx(sum(traj["turn_seconds"]), abs=0.01)
    assert "timed_out_after" not in traj
    # the reply went through the protocol as a model's does: native tool calls, results, the answer
    messages = decode_transcript(transcript)["messages"]
    assert messages[2]["tool_calls"][0]["id"] == "w0" and messages[3]["role"] == "tool"
    assert messages[-1]["content"].startswith("FINAL ANSWER:")

    _, _, status, level, category, turns, calls, traj, _, _ = got[1]
    assert (status, level, category, turns, calls) == ("done", "failure", "tool_selection_errors", 2, 1)
    assert len(json.loads(traj)["turn_seconds"]) == 2

    # each test's score file says what the store holds for that test, and why a step did not count
    ends = [json.loads((io / f"score-{n}.json").read_text()) for n in scores]
    assert [e["pilotbench"]["n"] for e in ends] == scores
    stored = {r[0]: r[1:] for r in rows(db, "SELECT test_id, instance, success_level, error_category FROM results")}
    assert {e["test_id"]: (e["success_level"], e["error_category"]) for e in ends} == {
        t: (lvl, cat) for t, (_, lvl, cat) in stored.items()}
    assert [e["tests_left"] for e in ends] == [1, 0]
    full = next(e for e in ends if stored[e["test_id"]][0] == 0)
    assert (full["steps_done"], full["steps"], full["why"]) == (steps0, steps0, None)
    assert all(r["done"] for r in full["step_results"]) and full["text"].splitlines()[1] == (
        f"result: full success, {steps0} of {steps0} steps done")
    failed = next(e for e in ends if stored[e["test_id"]][0] == 1)
    steps1 = len(tasks[1].steps)
    assert (failed["steps_done"], failed["steps"]) == (1, steps1)
    assert [r["tool"] for r in failed["step_results"]] == [s.tool for s in tasks[1].steps]
    assert [r["done"] for r in failed["step_results"]] == [True] + [False] * (steps1 - 1)
    assert failed["step_results"][1]["why"] == "never called"
    assert failed["why"].startswith("A required tool was never called") and failed["why"].endswith("(tool_selection_errors)")
    assert f"  step 2 ({tasks[1].steps[1].tool}) did not count: never called" in failed["text"].splitlines()
    assert failed["text"].splitlines()[1] == f"result: failure, 1 of {steps1} steps done"

    # the summary marks the player as human; so does every table of the report, with the player's N
    assert "human/alice (human)" in out
    assert main(["report", "--db", str(db), "--format", "md"]) == 0
    report = capsys.readouterr().out
    assert "| human/alice (human, N=2) |" in report and "Models | human/alice (human, N=2)" in report
    assert "| human/alice |" not in report
    # the viewer's page of the test shows each turn's time and the test's
    assert main(["view", "--db", str(db), "--export", str(tmp_path / "site")]) == 0
    capsys.readouterr()
    (attempt,) = rows(db, "SELECT attempt_id FROM results WHERE instance = 0")[0]
    page = next((tmp_path / "site").rglob(f"*{attempt}*.html")).read_text()
    assert "a human player" in page and "time per turn" in page and "time per test" in page
    turn_times = re.findall(r'turn (\d+) <span class="muted turn-time">· ([0-9.]+) s</span>', page)
    assert [int(n) for n, _ in turn_times] == list(range(1, steps0 + 3))  # every turn of instance 0

    # a second run has nothing left to play and writes nothing

    before = sorted(p.name for p in io.iterdir())
    assert main(argv) == 0
    assert sorted(p.name for p in io.iterdir()) == before


def test_the_human_flags_need_a_human_player_and_one_at_a_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-m", "sim/weak", "--human-io", str(tmp_path / "io"), "--db", str(tmp_path / "x.db")]) == 2
    assert "--human-io is only used with a human player" in capsys.readouterr().err
    assert main(["run", "-m", "human/a,human/b", "--db", str(tmp_path / "x.db")]) == 2
    assert "one human player per run" in capsys.readouterr().err
    assert main(["run", "-m", "human/a b", "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert "human/<name>" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.db").exists()


def test_the_end_of_the_input_stops_the_player_and_the_test_is_played_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-D (or a closed pipe) at the prompt: the player is stopped (exit 4), the test stored as an
    infrastructure error, which the same command plays again."""
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("no_such_tool {}\n"))
    db = tmp_path / "e.db"
    assert main(["run", "-m", "human/eve", "-t", "simple_task", "-n", "1", "--db", str(db)]) == 4
    out = capsys.readouterr().out
    assert "not sent: unknown tool 'no_such_tool'" in out and "stopped human/eve: human player eve: the input ended" in out
    assert rows(db, "SELECT status, turns FROM results") == [("error", 0)]


# ---------------------------------------------------------------------- timeouts, in virtual time


def test_a_turn_with_no_reply_times_out_in_virtual_time(tmp_path: Path) -> None:
    clock = FakeClock()
    player = FilePlayer("bob", tmp_path, timeout=30.0, clock=clock, poll=0.5)
    request = ModelRequest("bob", [{"role": "user", "content": "hi"}], None)

    async def go() -> None:
        with pytest.raises(PlayerTimeout):
            await player.generate(request, 60.0)

    started = time.monotonic()
    asyncio.run(go())
    assert time.monotonic() - started < 5  # no real waiting
    assert clock.now() == pytest.approx(30.0, abs=0.5)
    assert (tmp_path / "req-1.json").exists() and not (tmp_path / "resp-1.json").exists()


def test_a_timed_out_test_is_a_result_and_numbering_goes_on_across_resumes(tmp_path: Path) -> None:
    """The player answers the first turn, then never again: the test ends as `timeout`, scored as it
    stands; a resume skips it (it is done), and a new test's requests never reuse a number."""
    io = tmp_path / "io"
    clock = FakeClock()
    task = generate_instance("simple_task", 0, 42)

    async def answer_first_turn() -> None:
        while not (io / "req-1.json").exists():
            await asyncio.sleep(0)
        body = json.loads((io / "req-1.json").read_text())
        (io / "resp-1.json").write_text(json.dumps(message(right_call(task, 0, []))))

    async def play(n: int) -> Runner:
        cfg = load_config(cwd=tmp_path)
        plan = PlanSpec(models=("human/bob",), prompt_types=("baseline",), task_types=("simple_task",), num_instances=n,
                        tool_success_rates=(1.0,))
        rt = build_runtime(cfg, ["human/bob"], clock=clock, human=HumanOptions(io_dir=io, timeout=20.0, poll=1.0))
        with SQLiteStore(tmp_path / "t.db") as store:
            runner = Runner(rt, store, options=RunOptions(handle_signals=False, live=False, progress_lines=False),
                            keep_records=True, clock=clock)
            helper = asyncio.create_task(answer_first_turn())
            await runner.run(plan)
            helper.cancel()
        return runner

    first = asyncio.run(play(1))
    (record,) = first.summary.records
    assert record.status == "done" and record.success_level == "failure"
    assert record.error_category == "timeout_errors" and record.turns == 1 and record.tool_calls == 1
    assert record.trajectory["stop_reason"] == "timeout"
    assert record.trajectory["timed_out_after"] >= 20.0 and len(record.trajectory["turn_seconds"]) == 1
    assert sorted(p.name for p in io.iterdir()) == ["req-1.json", "req-2.json", "resp-1.json", "score-2.json"]
    end = json.loads((io / "score-2.json").read_text())
    assert (end["test_id"], end["success_level"], end["error_category"]) == (record.test_id, "failure", "timeout_errors")
    assert (end["stop_reason"], end["steps_done"], end["tests_left"]) == ("timeout", 1, 0)
    assert "no reply within its time limit" in end["why"]
    assert main(["view", "--db", str(tmp_path / "t.db"), "--export", str(tmp_path / "site")]) == 0
    page = next((tmp_path / "site").rglob(f"*{record.attempt_id}*.html")).read_text()
    assert "No reply within the turn's time limit: the test ended after waiting 20.0 s" in page

    again = asyncio.run(play(1))  # a resume: the timed-out test is a result, not played again
    assert again.summary.skipped == 1 and again.summary.completed == 0

    (io / "resp-2.json").write_text("{}")  # a late reply to the timed-out turn stays where it is
    grown = asyncio.run(play(2))  # one more instance: its requests start after the highest number
    assert grown.summary.completed == 1
    assert json.loads((io / "req-3.json").read_text())["pilotbench"]["n"] == 3
    assert (io / "resp-2.json").read_text() == "{}"


def test_typed_lines_are_checked_before_anything_is_sent() -> None:
    names = ["network_fetcher", "network_validator"]
    reply = Reply(calls=[])
    assert "unknown tool 'network_fetch'" in (read_line("network_fetch {}", reply, names) or "")
    assert "not valid JSON" in (read_line('network_fetcher {"url": ', reply, names) or "")
    assert "JSON object" in (read_line("network_fetcher [1]", reply, names) or "")
    assert reply.empty
    assert read_line('network_fetcher {"url": "u"}', reply, names) is None
    assert "not both" in (read_line("final done", reply, names) or "")
    assert reply.calls == [("network_fetcher", {"url": "u"})]


@pytest.mark.parametrize("mode", ["native", "text"])
def test_typed_calls_and_answers_go_through_the_protocol_of_either_tool_mode(mode: str) -> None:
    """What a person types becomes the reply a model would send in that mode (native tool_calls, or
    <tool_call> blocks in the text protocol), and the episode runs it like any other."""
    from pilotbench.benchmark.episode import Episode
    from pilotbench.benchmark.prompts import render_prompt
    from pilotbench.benchmark.scoring import score
    from pilotbench.models.human import reply_output, tool_names

    task = generate_instance("simple_task", 0, 42)
    prompt = render_prompt(task, "easy", "baseline", tool_mode=mode)
    assert (prompt.tools is None) == (mode == "text")
    names = tool_names(prompt.tools)  # in the text protocol: every tool the system prompt describes
    ep = Episode("t", task, prompt, 1.0)
    done: list[str] = []
    for step in range(len(task.steps)):
        reply = Reply(calls=[])
        call = right_call(task, step, done)["function"]
        assert read_line(f"{call['name']} {call['arguments']}", reply, names) is None
        ep.step(reply_output(reply, mode, step + 1))
        done.append(ep.trajectory.calls[-1].handle)
    reply = Reply(calls=[])
    for line in ("final all done", f"RESULT: {done[-1]}"):
        assert read_line(line, reply, names) is None
    ep.step(reply_output(reply, mode, len(task.steps) + 1))
    assert ep.done and ep.trajectory.format_errors == 0
    assert score(task, ep.trajectory).success_level == "full_success"


# ---------------------------------------------------------------------- the terminal, by keyboard


class Terminal:
    """`pilotbench` in a pseudo-terminal: read what it shows, type lines."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        import pty

        self.master, slave = pty.openpty()
        env = {**os.environ, "COLUMNS": "200", "TERM": "dumb"}
        self.proc = subprocess.Popen([sys.executable, "-m", "pilotbench", *argv], stdin=slave, stdout=slave,
                                     stderr=slave, cwd=cwd, env=env, close_fds=True, start_new_session=True)
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and not select.select([self.master], [], [], 0)[0]:
                raise AssertionError(f"did not see {text!r}; the screen:\n{self.seen[-3000:]}")
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if ready:
                try:
                    self.seen += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    pass
        return self.seen

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def close(self) -> int:
        try:
            return self.proc.wait(60)
        finally:
            os.close(self.master)


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_one_test_played_by_keyboard_with_a_bad_line_refused(tmp_path: Path) -> None:
    task = generate_instance("simple_task", 0, 42)
    db = tmp_path / "k.db"
    term = Terminal(["run", "-m", "human/kim", "-t", "simple_task", "-d", "easy", "-n", "1",
                     "--tool-success-rate", "1.0", "--db", str(db)], tmp_path)
    try:
        screen = term.expect("An empty line sends.")
        assert "--- system ---" in screen and next(iter(task.inputs.values())) in screen
        assert f"{task.steps[0].tool}(" in screen  # the compact tool list
        term.type(f"? {task.steps[0].tool}")
        term.expect('"parameters"')
        term.type('no_such_tool {"a": 1}')
        term.expect("not sent: unknown tool 'no_such_tool'")
        term.type(f"{task.steps[0].tool} {{\"url\": ")
        term.expect("not valid JSON")
        done: list[str] = []
        for step in range(len(task.steps)):
            call = right_call(task, step, done)["function"]
            term.seen = ""
            term.type(f"{call['name']} {call['arguments']}")
            term.type("")
            screen = term.expect("an empty line sends;")
            result = json.loads(screen.split("--- result ---", 1)[1].strip().splitlines()[0])
            assert result["status"] == "success", screen
            done.append(result["handle"])
        term.type("final every step done.")
        term.type(f"RESULT: {done[-1]}")
        term.type("")
        term.seen = ""
        screen = term.expect("0 tests left")
        assert "test 1 ended" in screen and f"result: full success, {len(task.steps)} of {len(task.steps)} steps done" in screen
        assert "did not count" not in screen and "why not" not in screen
        term.expect("human/kim (human)")
        assert term.close() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()
    ((level, turns, calls, fmt, traj),) = rows(db, "SELECT success_level, turns, tool_calls, format_errors, trajectory "
                                                   "FROM results")
    # the bad lines spent no turn: one turn per step and the answer
    assert (level, turns, calls, fmt) == ("full_success", len(task.steps) + 1, len(task.steps), 0)
    assert len(json.loads(traj)["turn_seconds"]) == turns


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_ctrl_c_at_the_prompt_stops_with_130_and_a_resume_plays_the_next_unplayed_test(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    argv = ["run", "-m", "human/kim", "-t", "simple_task", "-n", "2", "--db", str(db)]
    term = Terminal(argv, tmp_path)
    try:
        term.expect("test 1 (kim)")
        term.expect("An empty line sends.")
        term.type("final I give up")
        term.type("")
        screen = term.expect("1 test left")
        assert "test 1 ended" in screen and "result: failure, 0 of " in screen and ") did not count: never called" in screen
        term.expect("test 2 (kim)")
        term.expect("An empty line sends.")
        os.killpg(term.proc.pid, 2)  # what Ctrl-C at the terminal sends
        assert term.close() == 130
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()
    # the finished test is committed; the one being played is not, and the run is marked interrupted
    assert rows(db, "SELECT instance, status, success_level, turns FROM results") == [(0, "done", "failure", 1)]
    assert rows(db, "SELECT status FROM runs") == [("interrupted",)]
    again = subprocess.run([sys.executable, "-m", "pilotbench", *argv], input="final still no\n\n", text=True,
                           capture_output=True, cwd=tmp_path, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "test 1 (kim)" in again.stdout and "test 2" not in again.stdout  # only the unplayed one
    assert sorted(rows(db, "SELECT instance, status FROM results")) == [(0, "done"), (1, "done")]


# ---------------------------------------------------------------------- the end of a test


def test_the_terminal_shows_how_a_test_went_in_the_scorers_words() -> None:
    """One step done, then an answer: the block gives the level, the steps done out of the task's,
    each step that did not count with the scorer's reason, and the error category's rule."""
    import io

    from pilotbench.benchmark.episode import Episode
    from pilotbench.benchmark.prompts import render_prompt
    from pilotbench.benchmark.scoring import explain, explain_steps, score
    from pilotbench.models.base import EndOfTest
    from pilotbench.models.human import TerminalPlayer, reply_output

    task = generate_instance("simple_task", 0, 42)
    ep = Episode("t", task, render_prompt(task, "easy", "baseline"), 1.0)
    reply = Reply(calls=[])
    call = right_call(task, 0, [])["function"]
    assert read_line(f"{call['name']} {call['arguments']}", reply, [call["name"]]) is None
    ep.step(reply_output(reply, "native", 1))
    ep.step(reply_output(Reply(calls=[], final=["done", f"RESULT: {ep.trajectory.calls[0].handle}"]), "native", 2))
    s = score(task, ep.trajectory)
    verdicts = explain_steps(task, ep.trajectory.calls)
    end = EndOfTest("t1", "human/kim", s.success_level, s.error_category, ep.trajectory.stop_reason, s,
                    tuple(st.tool for st in task.steps), tuple(verdicts), 3)
    out = io.StringIO()
    player = TerminalPlayer("kim", stdin=io.StringIO(""), stdout=out)
    player.test_ended(end)
    lines = out.getvalue().splitlines()
    n = len(task.steps)
    assert s.success_level == "failure" and s.error_category == "tool_selection_errors"
    assert lines[1].strip("- ") == "test t1 ended"
    assert lines[2] == f"result: failure, 1 of {n} steps done"
    assert lines[3:3 + n - 1] == [f"  step {i + 1} ({task.steps[i].tool}) did not count: {verdicts[i].why}"
                                  for i in range(1, n)]
    assert verdicts[1].why == "never called"
    assert lines[-2] == f"why not a full success: {explain(n).categories['tool_selection_errors']} (tool_selection_errors)"
    assert lines[-1] == "3 tests left"
    # unknown remaining count: no such line; a full success: no reason
    out.truncate(0), out.seek(0)
    full = EndOfTest("t2", "human/kim", "full_success", None, "final_answer", s, ("a",), (verdicts[0],), None)
    player.test_ended(full)
    assert [line.strip("- ") for line in out.getvalue().splitlines()] == ["", "test t2 ended",
                                                                          "result: full success, 1 of 1 steps done"]


def test_a_blind_round_tells_the_player_nothing_of_the_verdict(tmp_path: Path) -> None:
    """--no-human-scores: the terminal says only that the test ended and how many are left; the file
    player writes no score file; the request numbering is the same."""
    import io

    from pilotbench.benchmark.scoring import explain_steps, score
    from pilotbench.benchmark.types import Trajectory
    from pilotbench.models.base import EndOfTest
    from pilotbench.models.human import FilePlayer, TerminalPlayer

    task = generate_instance("simple_task", 0, 42)
    trajectory = Trajectory()
    s = score(task, trajectory)
    end = EndOfTest("t1", "human/kim", s.success_level, s.error_category, "final_answer", s,
                    tuple(st.tool for st in task.steps), tuple(explain_steps(task, trajectory.calls)), 2)
    shown, blind = io.StringIO(), io.StringIO()
    TerminalPlayer("kim", stdin=io.StringIO(""), stdout=shown).test_ended(end)
    TerminalPlayer("kim", stdin=io.StringIO(""), stdout=blind, scores=False).test_ended(end)
    assert "result: failure" in shown.getvalue() and "did not count" in shown.getvalue()
    assert [line.strip("- ") for line in blind.getvalue().splitlines()] == ["", "test t1 ended", "2 tests left"]
    for scores, files in ((True, ["score-t1.json"]), (False, [])):
        where = tmp_path / str(scores)
        FilePlayer("kim", where, scores=scores).test_ended(end)
        assert sorted(p.name for p in where.iterdir()) == files if where.exists() else files == []
    assert json.loads((tmp_path / "True" / "score-t1.json").read_text())["success_level"] == "failure"


def test_the_blind_flag_needs_a_human_player(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pilotbench.cli import main

    code = main(["run", "-m", "sim/weak", "-n", "1", "--db", str(tmp_path / "x.db"), "--no-human-scores"])
    assert code == 2
    assert "--human-scores is only used with a human player" in capsys.readouterr().err


class _Passing:
    """A provider around the simulated model's, without the `test_ended` hook."""

    kind = "simulated"

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def generate(self, request: ModelRequest, timeout: float) -> Any:
        return await self.inner.generate(request, timeout)

    def classify(self, error: BaseException) -> Any:
        return self.inner.classify(error)

    def end_conversation(self, messages: list[Any]) -> None:
        end = getattr(self.inner, "end_conversation", None)
        if end is not None:
            end(messages)

    async def aclose(self) -> None:
        return None


class _Listening(_Passing):
    """The same, with the hook: keeps what it is told, or fails when told."""

    def __init__(self, inner: Any, fail: bool = False) -> None:
        super().__init__(inner)
        self.fail = fail
        self.ends: list[Any] = []

    def test_ended(self, end: Any) -> None:
        if self.fail:
            raise OSError("disk full")
        self.ends.append(end)


@pytest.mark.parametrize("wrap", ["none", "without_hook", "hook", "failing_hook"])
def test_the_hook_is_told_each_scored_test_and_changes_no_result(wrap: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    plan = PlanSpec(models=("sim/strong",), prompt_types=("baseline",), task_types=("simple_task", "data_pipeline"),
                    num_instances=3, tool_success_rates=(0.8,))
    rt = build_runtime(load_config(cwd=tmp_path), ["sim/strong"], clock=FakeClock())
    model = rt.models["sim/strong"]
    wrapper: _Passing | None = None
    if wrap != "none":
        inner = next(iter(model.providers.values()))
        wrapper = _Passing(inner) if wrap == "without_hook" else _Listening(inner, fail=wrap == "failing_hook")
        for lane in list(model.providers):
            model.providers[lane] = wrapper

    async def go() -> Runner:
        with SQLiteStore(tmp_path / "s.db") as store:
            runner = Runner(rt, store, options=RunOptions(handle_signals=False, live=False, progress_lines=False),
                            keep_records=True)
            await runner.run(plan)
        return runner

    runner = asyncio.run(go())
    err = capsys.readouterr().err
    records = sorted(runner.summary.records, key=lambda r: r.test_id)
    assert runner.summary.completed == len(records) == 6
    got = [(r.test_id, r.success_level, r.error_category, r.weighted_score, r.turns) for r in records]
    # the same results whatever the provider is told (the simulated model answers by test, not by order)
    expected = [(r.test_id, r.success_level, r.error_category, r.weighted_score, r.turns) for r in sorted(
        asyncio.run(_plain_run(tmp_path / "plain", plan)), key=lambda r: r.test_id)]
    assert got == expected
    assert ("could not tell how test" in err) == (wrap == "failing_hook")
    if wrap == "failing_hook":
        assert err.count("could not tell how test") == 6 and "OSError: disk full" in err
    if isinstance(wrapper, _Listening) and not wrapper.fail:
        told = sorted(wrapper.ends, key=lambda e: e.test_id)
        assert [(e.test_id, e.success_level, e.error_category) for e in told] == [g[:3] for g in got]
        assert all(e.steps_done == sum(e.score.steps_done) and len(e.steps) == len(e.tools) for e in told)
        assert sorted(e.tests_left for e in wrapper.ends) == list(range(6))


async def _plain_run(directory: Path, plan: PlanSpec) -> list[Any]:
    directory.mkdir()
    rt = build_runtime(load_config(cwd=directory), ["sim/strong"], clock=FakeClock())
    with SQLiteStore(directory / "p.db") as store:
        runner = Runner(rt, store, options=RunOptions(handle_signals=False, live=False, progress_lines=False),
                        keep_records=True)
        await runner.run(plan)
    return runner.summary.records
