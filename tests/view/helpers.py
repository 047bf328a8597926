"""A viewer on 127.0.0.1 in a background thread, and a small store made by a real (simulated) run."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web

from pilotbench.store.records import TestRecord, new_attempt_id
from pilotbench.store.transcripts import encode_transcript

XSS = "<script>document.title='pwned';window.__pwned=1</script>"


class ViewerThread:
    """make_app(store) served on 127.0.0.1:<free port> until stop()."""

    def __init__(self, store: Any, *, poll_ms: int = 2000) -> None:
        from pilotbench.view import make_app

        self.app = make_app(store, poll_ms=poll_ms)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ViewerThread:
        self._thread.start()
        assert self._ready.wait(10), "viewer did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as r:
                return r.status, r.read().decode("utf-8"), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8"), dict(e.headers)

    def json(self, path: str) -> Any:
        status, body, _ = self.get(path)
        assert status == 200, body
        return json.loads(body)


def script_record(run_id: str, model: str = "sim/strong") -> TestRecord:
    """A finished test whose model replied with markup: it must be shown as text."""
    messages = [
        {"role": "system", "content": "You are a workflow agent."},
        {"role": "user", "content": "Task: do <b>it</b>."},
        {"role": "assistant", "content": "Calling " + XSS, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "file_operations_reader", "arguments": json.dumps({"path": XSS})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": json.dumps({"status": "error", "error_code": "INVALID_INPUT", "message": XSS})},
        {"role": "assistant", "content": "FINAL ANSWER: " + XSS},
    ]
    return TestRecord(
        attempt_id=new_attempt_id(), test_id="xss0000000000000test", run_id=run_id, model=model, provider="sim",
        prompt_type="baseline", task_type="simple_task", difficulty="easy", tool_success_rate=0.8, instance=99,
        seed=42, suite_version="x", task_hash="x", severity="severe", max_turns=10, status="done",
        success_level="failure", success=0, weighted_score=0.0, error_category="other_errors", turns=2, tool_calls=1,
        model_calls=2, key_label="...0000", lane="sim/0", call_latencies=[0.1, 0.2], latency_s=0.3,
        trajectory={"turns": 2, "final_answer": "FINAL ANSWER: " + XSS, "stop_reason": "final_answer",
                    "calls": [{"turn": 1, "name": "file_operations_reader", "arguments": {"path": XSS}, "success": False,
                               "error_code": "INVALID_INPUT", "known_tool": True}]},
        transcript=encode_transcript(messages, "full", 2),
    )


def make_store(path: Path | str) -> dict[str, Any]:
    """A run of two simulated models over three prompt types (transcripts kept), one more with
    `--transcripts calls`, an infrastructure error and the markup test."""
    from pilotbench import api
    from pilotbench.store import open_store

    plan = api.build_plan(["sim/strong", "sim/weak"], prompt_types="baseline,optimal,flawed_sequence_disorder",
                          task_types="simple_task,basic_task,data_pipeline", num_instances=2)
    first = api.run(plan, db=path, info={"argv": ["pilotbench", "run", "-m", "sim/strong,sim/weak"], "plans": [plan.to_dict()]})
    calls_plan = api.build_plan(["sim/medium"], prompt_types="baseline", task_types="simple_task", num_instances=2)
    second = api.run(calls_plan, db=path, transcripts="calls")
    with open_store(path) as store:
        rec = script_record(first.summary.run_id)
        err = script_record(first.summary.run_id, model="sim/weak")
        err.attempt_id, err.test_id, err.status = new_attempt_id(), "err00000000000000000", "error"
        err.success_level = err.success = err.error_category = None
        err.infra_error = "gave up after 6 transient failures: HTTP 500: The server had an error"
        store.write([rec, err])
    return {"run": first.summary.run_id, "calls_run": second.summary.run_id, "xss": rec.attempt_id, "tests": len(first.records)}
