"""A person plays the model: `human/<name>` models, for a human baseline (README, "A human baseline").

A human player is a provider like any other: `generate()` shows one request to a person and
returns their reply as a `ModelOutput`, which the runner hands to the episode exactly as it does a
model's (native tool calls or the text protocol, format help, stop rules, scoring). Two ways to play:

- **File mode** (`--human-io DIR`): each request is written as `DIR/req-N.json`, the OpenAI
  chat-completions body (model, messages, tools, parameters) plus a `pilotbench` object with `n` and
  the turn's time limit; the player answers with `DIR/resp-N.json`, an OpenAI-style assistant message
  (`{"role": "assistant", "content": ..., "tool_calls": [...]}`, or a whole chat completion). Write it
  to another name and rename it into place; a file that does not parse as JSON for `SETTLE_SECONDS`
  is taken as the reply's text. N is unique across the run and across resumes: numbering starts after
  the highest N in the directory, and a request is never written over an existing file. When a test
  ends, how it went is written as `DIR/score-N.json`, N being the number of the test's last request
  (`end_document`); the requests' numbers go on with no gap.
- **The terminal** (default): the task as the model sees it (system prompt, user message, the tools
  listed compactly, `?` to list them again, `? name` for one schema in full), then each tool result;
  the person types calls (`tool_name {"arg": ...}`, one per line) or `final <answer>`, and an empty
  line sends. Input is checked before it is sent (unknown tool, bad JSON): the person is told and
  asked again, and no turn is spent. When a test ends, a short block says how it went (`end_lines`).

A turn not answered within the run's `--human-timeout` raises `PlayerTimeout`: the runner ends the
test there, scored as it stands, with stop reason `timeout` (runner.scheduler).

Both players implement the providers' optional `test_ended` hook (models.base): once a test is
scored and handed to the store, the player learns its success level, the steps done out of the
task's steps, why each step not done did not count, and how many tests are left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..benchmark.scoring import explain
from ..benchmark.types import ModelOutput, ToolCall
from ..errors import ProviderError
from ..clock import Clock, MonotonicClock
from .base import EndOfTest, ModelRequest

DEFAULT_TIMEOUT = 3600.0  # seconds a player may take over one turn
POLL_SECONDS = 0.2
SETTLE_SECONDS = 2.0
FINAL_MARKER = "FINAL ANSWER:"

_NUMBERED = re.compile(r"^(?:req|resp)-(\d+)\.json$")
LEVEL_WORDS = {"full_success": "full success", "partial_success": "partial success", "failure": "failure"}


class PlayerTimeout(Exception):
    """The player did not answer one turn in time; the test ends as `timeout`, it is not retried."""

    def __init__(self, seconds: float, where: str = "") -> None:
        super().__init__(f"no reply within {seconds:g} s" + (f" ({where})" if where else ""))
        self.seconds = seconds


@dataclass(frozen=True, slots=True)
class HumanOptions:
    """How human players play in a run: through files in `io_dir`, else at the terminal."""

    io_dir: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    poll: float = POLL_SECONDS
    settle: float = SETTLE_SECONDS
    clock: Clock | None = None
    scores: bool = True  # tell the player how each test went when it ends (off for a blind round)

    @property
    def mode(self) -> str:
        return "files" if self.io_dir is not None else "terminal"


def make_player(name: str, options: HumanOptions | None) -> FilePlayer | TerminalPlayer:
    options = options or HumanOptions()
    if options.io_dir is not None:
        return FilePlayer(name, options.io_dir, timeout=options.timeout, clock=options.clock, poll=options.poll,
                          settle=options.settle, scores=options.scores)
    return TerminalPlayer(name, timeout=options.timeout, scores=options.scores)


# ---------------------------------------------------------------------- the wire: request out, message in


def request_document(request: ModelRequest, n: int | None = None, timeout: float | None = None) -> dict[str, Any]:
    """The chat-completions body a model would get (the same as the HTTP providers send), and what
    pilotbench adds for a player: the request's number and the turn's time limit."""
    from .wire import request_body

    body = request_body(request, request.params)
    extra = {k: v for k, v in (("n", n), ("timeout_s", timeout)) if v is not None}
    if extra:
        body["pilotbench"] = extra
    return body


def output_from_reply(doc: Any) -> ModelOutput:
    """A player's reply as a model's output: an assistant message, or a whole chat completion.
    Anything else is taken as the reply's text (which the protocol then answers with format help)."""
    from .wire import _to_output

    if isinstance(doc, Mapping) and isinstance(doc.get("choices"), list) and doc["choices"]:
        completion = doc
    elif isinstance(doc, Mapping) and ("content" in doc or "tool_calls" in doc or doc.get("role") == "assistant"):
        finish = "tool_calls" if doc.get("tool_calls") else "stop"
        completion = {"choices": [{"message": doc, "finish_reason": finish}]}
    else:
        text = doc if isinstance(doc, str) else json.dumps(doc)
        return ModelOutput(content=text, finish_reason="stop")
    try:
        return _to_output(completion)
    except ProviderError:
        return ModelOutput(content=json.dumps(doc), finish_reason="stop")


# ---------------------------------------------------------------------- the end of a test


def end_lines(end: EndOfTest, number: int | None = None) -> list[str]:
    """How a test went, in a few lines: its success level, the steps done out of the task's steps,
    why each step not done did not count (the scorer's words), why it is not a full success, and
    how many tests are left when that is known."""
    steps = len(end.steps)
    level = LEVEL_WORDS.get(end.success_level, end.success_level)
    title = f"test {number} ended" if number is not None else f"test {end.test_id} ended"
    lines = [f"{'-' * 30} {title} {'-' * 30}",
             f"result: {level}, {end.steps_done} of {steps} steps done"]
    for i, verdict in enumerate(end.steps):
        if not verdict.done:
            tool = end.tools[i] if i < len(end.tools) else "?"
            lines.append(f"  step {i + 1} ({tool}) did not count: {verdict.why}")
    why = end_reason(end)
    if why:
        lines.append(f"why not a full success: {why}")
    if end.tests_left is not None:
        lines.append(f"{end.tests_left} test{'' if end.tests_left == 1 else 's'} left")
    return lines


def end_reason(end: EndOfTest) -> str | None:
    """Why a test is not a full success, in the scorer's words (None for a full success)."""
    if end.success_level == "full_success":
        return None
    if end.stop_reason == "timeout":
        return f"a turn got no reply within its time limit, so the test ended there ({end.error_category})"
    rule = explain(len(end.steps)).categories.get(end.error_category or "", "")
    return f"{rule} ({end.error_category})" if rule else end.error_category


def end_document(end: EndOfTest, n: int | None = None) -> dict[str, Any]:
    """A test's end as the file player writes it (`score-N.json`): the same facts as `end_lines`,
    each as a field, and the lines themselves as `text`."""
    doc: dict[str, Any] = {
        "test_id": end.test_id,
        "model": end.model,
        "success_level": end.success_level,
        "steps_done": end.steps_done,
        "steps": len(end.steps),
        "step_results": [{"step": i + 1, "tool": end.tools[i] if i < len(end.tools) else None, "done": v.done,
                          "why": v.why} for i, v in enumerate(end.steps)],
        "error_category": end.error_category,
        "why": end_reason(end),
        "stop_reason": end.stop_reason,
        "scores": {"workflow_adherence": end.score.workflow_adherence, "tool_coverage": end.score.tool_coverage,
                   "precision": end.score.precision, "efficiency": end.score.efficiency},
        "tests_left": end.tests_left,
        "text": "\n".join(end_lines(end)),
    }
    if n is not None:
        doc["pilotbench"] = {"n": n}
    return doc


# ---------------------------------------------------------------------- file mode


def highest_number(directory: Path) -> int:
    """The highest N of any req-N.json or resp-N.json in `directory` (0 when none)."""
    best = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            m = _NUMBERED.match(entry.name)
            if m:
                best = max(best, int(m.group(1)))
    return best


class FilePlayer:
    """A player behind files: writes DIR/req-N.json, waits for DIR/resp-N.json, and writes
    DIR/score-N.json when a test ends, N its last request's (module docstring)."""

    kind = "human"

    def __init__(self, name: str, directory: Path, *, timeout: float = DEFAULT_TIMEOUT, clock: Clock | None = None,
                 poll: float = POLL_SECONDS, settle: float = SETTLE_SECONDS, scores: bool = True) -> None:
        self.name = name
        self.directory = Path(directory)
        self.scores = scores
        self.timeout = timeout
        self.clock = clock or MonotonicClock()
        self.poll = poll
        self.settle = settle
        self._next: int | None = None
        self._last: int | None = None  # the number of the running test's last request

    def _write_request(self, doc_for: Callable[[int], dict[str, Any]]) -> tuple[int, Path]:
        """Write the request under the next free N, never over an existing file (os.link is exclusive)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._next is None:
            self._next = highest_number(self.directory) + 1
        while True:
            n = self._next
            self._next += 1
            if (self.directory / f"resp-{n}.json").exists():
                continue
            target = self.directory / f"req-{n}.json"
            tmp = self.directory / f".req-{n}.json.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(doc_for(n), indent=1, ensure_ascii=False), encoding="utf-8")
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            finally:
                tmp.unlink(missing_ok=True)
            return n, target

    async def generate(self, request: ModelRequest, timeout: float) -> ModelOutput:
        n, _ = await asyncio.to_thread(self._write_request, lambda n: request_document(request, n, self.timeout))
        self._last = n
        resp = self.directory / f"resp-{n}.json"
        deadline = self.clock.now() + self.timeout
        unreadable_since: float | None = None
        while True:
            text = await asyncio.to_thread(_read_if_there, resp)
            if text is not None:
                try:
                    return output_from_reply(json.loads(text))
                except ValueError:  # still being written, or not JSON at all
                    now = self.clock.now()
                    if unreadable_since is None:
                        unreadable_since = now
                    elif now - unreadable_since >= self.settle:
                        return ModelOutput(content=text, finish_reason="stop")
            if self.clock.now() >= deadline:
                raise PlayerTimeout(self.timeout, f"{resp.name} did not come")
            await self.clock.sleep(self.poll)

    def test_ended(self, end: EndOfTest) -> None:
        """How the test went, as DIR/score-N.json with N its last request's number (`end_document`);
        a test that sent no request here is named by its id (score-<test id>.json)."""
        n, self._last = self._last, None
        if not self.scores:  # a blind round: the player learns nothing of the scorer's verdicts
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"score-{n if n is not None else end.test_id}.json"
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(end_document(end, n), indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)

    def classify(self, error: BaseException) -> ProviderError:
        # A directory that cannot be written or read will not heal by retrying: stop the player.
        return ProviderError("fatal", f"human player {self.name}: {type(error).__name__}: {error}", scope="model")

    async def aclose(self) -> None:
        return None


def _read_if_there(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------------- terminal mode


def compact_tools(tools: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """One line per tool: name(required, optional?) and the first sentence of its description."""
    lines = []
    for tool in tools or ():
        fn = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(fn, Mapping):
            continue
        params = fn.get("parameters") or {}
        props = params.get("properties") or {}
        required = set(params.get("required") or ())
        args = ", ".join(p if p in required else f"{p}?" for p in props)
        desc = str(fn.get("description") or "").split(". ")[0].rstrip(".")
        lines.append(f"{fn.get('name')}({args})  {desc}")
    return lines


def tool_names(tools: Sequence[Mapping[str, Any]] | None) -> list[str]:
    if tools is None:
        from ..benchmark.tools import TOOLS

        return list(TOOLS)
    return [str(t["function"]["name"]) for t in tools if isinstance(t.get("function"), Mapping) and "name" in t["function"]]


@dataclass
class Reply:
    """What the person has typed so far for one turn."""

    calls: list[tuple[str, dict[str, Any]]]
    final: list[str] | None = None

    @property
    def empty(self) -> bool:
        return not self.calls and self.final is None


def read_line(line: str, reply: Reply, names: Sequence[str]) -> str | None:
    """Add one typed line to `reply`; the problem with it (nothing is added) or None."""
    text = line.strip()
    if reply.final is not None:
        reply.final.append(line.rstrip("\n"))
        return None
    word, _, rest = text.partition(" ")
    if word == "final" or word.upper() == "FINAL":
        if reply.calls:
            return "a reply is tool calls or a final answer, not both: send the calls first (an empty line)"
        reply.final = [rest.strip()] if rest.strip() else []
        return None
    if word not in names:
        close = [n for n in names if word and (word in n or n.endswith(word))][:3]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return f"unknown tool {word!r}{hint}; type ? to list the tools"
    rest = rest.strip()
    if not rest:
        args: Any = {}
    else:
        try:
            args = json.loads(rest)
        except ValueError as e:
            return f"the arguments of {word} are not valid JSON ({e.msg} at column {e.colno}); write {word} {{\"name\": value}}"
        if not isinstance(args, dict):
            return f"the arguments of {word} must be a JSON object, {{...}}"
    reply.calls.append((word, args))
    return None


def reply_output(reply: Reply, mode: str, turn: int) -> ModelOutput:
    """The person's reply as a model would have sent it in `mode` (native tool calls, or the text protocol)."""
    if reply.final is not None:
        text = "\n".join(reply.final).strip()
        if not text.upper().startswith(FINAL_MARKER):
            text = f"{FINAL_MARKER} {text}"
        return ModelOutput(content=text, finish_reason="stop")
    if mode == "native":
        calls = tuple(ToolCall(f"call_h{turn}_{i}", name, json.dumps(args)) for i, (name, args) in enumerate(reply.calls))
        return ModelOutput(tool_calls=calls, finish_reason="tool_calls")
    text = "\n".join(f"<tool_call>{json.dumps({'name': name, 'arguments': args})}</tool_call>" for name, args in reply.calls)
    return ModelOutput(content=text, finish_reason="stop")


class _LineReader:
    """Lines from a stream, read by a daemon thread (a blocked read never holds up the process's exit)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.queue: asyncio.Queue[str | None] | None = None
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
        if self.queue is None:
            self.queue = asyncio.Queue()
            queue = self.queue

            def pump() -> None:
                while True:
                    try:
                        line = self.stream.readline()
                    except (OSError, ValueError):
                        line = ""
                    loop.call_soon_threadsafe(queue.put_nowait, line or None)
                    if not line:
                        return

            self._thread = threading.Thread(target=pump, name="pilotbench-human-input", daemon=True)
            self._thread.start()
        return self.queue


class TerminalPlayer:
    """A person at the terminal (module docstring). Turns of one test follow each other: what is new
    in each request since the last one is shown (tool results, format help)."""

    kind = "human"

    def __init__(self, name: str, *, timeout: float = DEFAULT_TIMEOUT, stdin: TextIO | None = None,
                 stdout: TextIO | None = None, scores: bool = True) -> None:
        self.name = name
        self.timeout = timeout
        self.scores = scores
        self.out = stdout or sys.stdout
        self._reader = _LineReader(stdin or sys.stdin)
        self._opening: list[Any] | None = None  # the first messages of the test being played
        self._shown = 0  # messages of that test already shown
        self._tests = 0
        self._turn = 0

    def _say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _show_new(self, request: ModelRequest) -> None:
        messages = request.messages
        opening = [m.get("content") for m in messages[:2]]
        if opening != self._opening or len(messages) < self._shown:
            self._opening = opening
            self._shown = 0
            self._tests += 1
            self._turn = 0
            self._say(f"\n{'=' * 30} test {self._tests} ({self.name}) {'=' * 30}")
        new = messages[self._shown:]
        self._shown = len(messages)
        for m in new:
            role = m.get("role")
            if role == "system":
                self._say(f"--- system ---\n{m.get('content') or ''}")
            elif role == "user" and self._turn == 0:
                self._say(f"--- user ---\n{m.get('content') or ''}")
                if request.tools is not None:
                    self._say(f"--- tools ({len(request.tools)}): name(required, optional?); ? lists them, ? NAME shows one ---")
                    for line in compact_tools(request.tools):
                        self._say("  " + line)
            elif role == "tool":
                self._say(f"--- result ---\n{m.get('content') or ''}")
            elif role == "user":
                self._say(f"--- user ---\n{m.get('content') or ''}")
            elif role == "assistant":
                continue  # the person's own reply, as sent
        if self._turn == 0:
            self._say(
                "Type calls, one per line: tool_name {\"arg\": value} (several lines, several calls), or final "
                "<answer> (more lines may follow; end with RESULT: <handle>). An empty line sends."
            )
        else:
            self._say(f"(turn {self._turn + 1}: calls, or final <answer>; an empty line sends; ? lists the tools)")

    def _show_tool(self, request: ModelRequest, name: str) -> None:
        for tool in request.tools or ():
            fn = tool.get("function") or {}
            if fn.get("name") == name:
                self._say(json.dumps(tool, indent=1))
                return
        if request.tools is None:
            self._say("the tools are described in the system prompt above")
            return
        self._say(f"unknown tool {name!r}; type ? to list the tools")

    def test_ended(self, end: EndOfTest) -> None:
        """How the test just played went (`end_lines`); the next request starts a new test."""
        self._say("")
        lines = end_lines(end, self._tests or None)
        if not self.scores:  # a blind round: that the test ended, and how many are left, nothing more
            lines = [lines[0]] + [line for line in lines if line.endswith(("test left", "tests left"))]
        for line in lines:
            self._say(line)
        self._opening = None

    async def generate(self, request: ModelRequest, timeout: float) -> ModelOutput:
        loop = asyncio.get_running_loop()
        queue = self._reader.start(loop)
        self._show_new(request)
        self._turn += 1
        mode = "native" if request.tools is not None else "text"
        names = tool_names(request.tools)
        reply = Reply(calls=[])
        deadline = loop.time() + self.timeout
        while True:
            self.out.write("... " if not reply.empty else "> ")
            self.out.flush()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise PlayerTimeout(self.timeout, "at the terminal")
            try:
                line = await asyncio.wait_for(queue.get(), remaining)
            except TimeoutError:
                self._say("\n(time is up for this turn)")
                raise PlayerTimeout(self.timeout, "at the terminal") from None
            if line is None:
                raise EOFError("the player's input ended")
            text = line.strip()
            if not text and reply.final is None:
                if reply.empty:
                    continue
                return reply_output(reply, mode, self._turn)
            if not text and reply.final is not None:
                if not reply.final:
                    self._say("the final answer is empty; type it after final")
                    reply.final = None
                    continue
                return reply_output(reply, mode, self._turn)
            if text == "?" and reply.final is None:
                for entry in compact_tools(request.tools) or ["the tools are described in the system prompt above"]:
                    self._say("  " + entry)
                continue
            if text.startswith("? ") and reply.final is None:
                self._show_tool(request, text[2:].strip())
                continue
            problem = read_line(line, reply, names)
            if problem:
                kept = f" (the {len(reply.calls)} call(s) above are kept; an empty line sends them)" if reply.calls else ""
                self._say(f"not sent: {problem}{kept}")

    def classify(self, error: BaseException) -> ProviderError:
        if isinstance(error, EOFError):
            return ProviderError("fatal", f"human player {self.name}: the input ended (end of file)", scope="model")
        return ProviderError("fatal", f"human player {self.name}: {type(error).__name__}: {error}", scope="model")

    async def aclose(self) -> None:
        return None
