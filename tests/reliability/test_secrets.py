"""Secrets: full API keys appear nowhere pilotbench writes, only their last four characters.

A run with obviously fake keys against a mock server that echoes the caller's full key in its
error messages (401s, insufficient_quota 429s, 500s), with a 401 key, a quota-exhausted key, a
model whose only key is refused, and an Azure-kind provider (key in the `api-key` header). Then
every place output lands is searched: every table and column of the store (trajectories
included) and its raw bytes, every log file, every report (md/json/csv/html) and export
(jsonl/csv/parquet/legacy-json), the run's summary and lane statistics, and all captured
stdout/stderr. The literal-key permission warning of config loading is tested in tests/test_config.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
from aiohttp import web

from pilotbench.cli import main
from pilotbench.mock_server import KeyLimits, MockConfig, MockServer

from .helpers import BAD_KEY, GOOD_KEYS, QUOTA_KEY, key_env, make_plan, run_bounded, write_config

DEAD_KEY = "fake-secret-key-FFFF6666"  # the only key of model dead/strong; refused
SECRETS = (*GOOD_KEYS, BAD_KEY, QUOTA_KEY, DEAD_KEY)


def _key(request: web.Request) -> str:
    key = request.headers.get("api-key", "")
    auth = request.headers.get("Authorization", "")
    return key or (auth[7:].strip() if auth.lower().startswith("bearer ") else "")


def _echo(status: int, message: str, code: str) -> web.Response:
    body = {"error": {"message": message, "type": code, "param": None, "code": code}}
    return web.json_response(body, status=status)


class EchoingServer(MockServer):
    """A careless gateway: its error messages quote the caller's full API key."""

    def __init__(self, config: MockConfig) -> None:
        super().__init__(config)
        self.echoed: dict[int, int] = {401: 0, 429: 0, 500: 0}
        self._n = 0

    async def _complete(self, request: web.Request, deployment: str | None) -> web.StreamResponse:
        key = _key(request)
        limits = self.config.keys.get(key)
        if limits is None:
            self.echoed[401] += 1
            return _echo(401, f"Incorrect API key provided: {key}. You can find your API key at https://example.invalid.", "invalid_api_key")
        if limits.quota_exhausted:
            self.echoed[429] += 1
            return _echo(429, f"You exceeded your current quota for key {key}, please check your plan.", "insufficient_quota")
        self._n += 1
        if self._n % 4 == 0:
            self.echoed[500] += 1
            return _echo(500, f"internal error while serving Bearer {key} (trace id 42)", "server_error")
        return await super()._complete(request, deployment)


def leaks(text: str) -> list[str]:
    """Which secrets (in full, or all but their last four) appear in `text`."""
    return [s for s in SECRETS if s in text or s[:-4] in text]


def test_no_full_key_in_store_logs_reports_exports_or_output(tmp_path: Path, monkeypatch, servers, capfd, fast_backoff) -> None:  # type: ignore[no-untyped-def]
    config = MockConfig(
        keys={**{k: KeyLimits(max_concurrency=4) for k in GOOD_KEYS}, QUOTA_KEY: KeyLimits(quota_exhausted=True)},
        latency=0.002,
    )
    srv = servers(config, server=EchoingServer(config))
    refs = key_env(monkeypatch, (GOOD_KEYS[0], BAD_KEY, QUOTA_KEY, GOOD_KEYS[1], DEAD_KEY, GOOD_KEYS[2]))
    monkeypatch.chdir(tmp_path)
    cfg = write_config(
        tmp_path / "pilotbench.toml", srv.base_url, refs[:4], max_retries=1,
        extra=f"""
        [providers.dead]
        kind = "openai"
        base_url = "{srv.base_url}/v1"
        api_keys = ["{refs[4]}"]
        request_timeout = 0.5

        [models."dead/strong"]
        provider = "dead"
        deployment = "sim/strong"

        [providers.az]
        kind = "azure"
        endpoint = "{srv.base_url}"
        api_version = "2024-10-21"
        api_keys = ["{refs[5]}"]
        request_timeout = 0.5
        max_retries = 1

        [models."az/strong"]
        provider = "az"
        deployment = "sim/strong"
        """,
    )
    db = tmp_path / "out" / "results.db"
    logs = tmp_path / "out" / "logs"
    models = "mock/strong,dead/strong,az/strong"
    common = ["--config", str(cfg), "--db", str(db)]
    run = ["run", "--model", models, "-p", "baseline,cot", "-t", "all", "-n", "1", *common, "--log-dir", str(logs),
           "--progress-interval", "0.1"]

    # dead/strong's only key is refused: that model is stopped, and the run says so (exit 4)
    assert main([*run, "--no-progress"]) == 4
    assert main([*run, "--progress"]) == 4  # resume: the live display, and the error paths once more
    assert main([*run, "--dry-run"]) == 0
    assert main(["models", "--config", str(cfg)]) == 0
    assert main(["keys", "--model", models, "--config", str(cfg)]) == 0
    assert main(["status", "--db", str(db)]) == 0
    assert main(["report", "--db", str(db), "--config", str(cfg)]) == 0
    reports = tmp_path / "reports"
    for fmt, ext in (("md", "md"), ("json", "json"), ("csv", "csv"), ("html", "html")):
        assert main(["report", "--db", str(db), "--config", str(cfg), "--format", fmt, "--out", str(reports / f"r.{ext}")]) == 0
    for fmt, ext in (("jsonl", "jsonl"), ("csv", "csv"), ("parquet", "parquet"), ("legacy-json", "json")):
        assert main(["export", "--db", str(db), "--format", fmt, "--out", str(reports / f"e-{fmt}.{ext}")]) == 0
    # The Python API too: its summary, records and lane statistics (exception text included).
    api_db = tmp_path / "out" / "api.db"
    from pilotbench.config import load_config

    result = run_bounded(make_plan(load_config(cfg), "dead/strong", num_instances=1), cfg, api_db)
    out, err = capfd.readouterr()

    # The server really did quote full keys, and every kind of failure happened.
    assert all(n > 0 for n in srv.server.echoed.values()), srv.server.echoed

    found: dict[str, list[str]] = {}
    # Captured output.
    found["stdout"] = leaks(out)
    found["stderr"] = leaks(err)
    # Every file written: store (and any WAL), logs, reports, exports.
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files) and any(p.name.endswith(".parquet") for p in files)
    for p in files:
        found[str(p.relative_to(tmp_path))] = leaks(p.read_bytes().decode("utf-8", errors="replace"))
    # Parquet may compress strings: search its decoded values as well.
    for p in files:
        if p.suffix == ".parquet":
            found[f"{p.name} (decoded)"] = leaks(json.dumps(pq.read_table(p).to_pylist(), default=str))
    # Every table and column of both stores.
    for store in (db, api_db):
        con = sqlite3.connect(store)
        try:
            for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
                found[f"{store.name}:{table}"] = leaks(json.dumps(rows, default=str))
        finally:
            con.close()
    found["api result"] = leaks(
        json.dumps([result.summary.stopped_models, result.lane_stats, [r.to_dict() for r in result.records]], default=str)
        + repr(result.summary)
    )
    assert {where: keys for where, keys in found.items() if keys} == {}

    # And the labels are there, where they belong: the search above is not vacuous.
    con = sqlite3.connect(db)
    try:
        labels = {r[0] for r in con.execute("SELECT DISTINCT key_label FROM results")}
        errors = " ".join(r[0] for r in con.execute("SELECT infra_error FROM results WHERE status='error'"))
    finally:
        con.close()
    assert labels >= {"...1111", "...3333"}
    assert "...6666" in errors and "...6666" in out
    # The servers' own words are kept, with the key replaced by its label: redacted, not dropped.
    assert "Incorrect API key provided: ...6666." in errors
    assert "internal error while serving Bearer ..." in errors
    assert "refused" in result.lane_stats["dead/...6666/sim/strong"]["disabled"]
