"""Secrets of every shape: keys with quotes and backslashes, keys a server echoes escaped (Python
repr, JSON, URL-encoded) or in pieces, keys of three and four characters, and keys that cannot be
sent at all (a line break, a non-ASCII character).

Each key is tried against a careless gateway that answers 401, 500 and 429 quoting the caller's
key in every shape at once, and against nothing listening (a connection error), on both HTTP
paths. Then the store (every table), the logs, every report and export, the viewer's exported
pages and all output are searched for the key in any of those shapes.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from aiohttp import web

from pilotbench.cli import main
from pilotbench.mock_server import MockConfig, MockServer

from .helpers import key_env

ESCAPED = 'sk-q-SECRETq"\\9999wxyz'  # a quote and a backslash: its repr and JSON forms differ from it
LONG = "sk-test-FAKE-long+key/with=0123456789LONG"  # URL-encodes differently; echoed in pieces too
SHORT3 = "Zq9"
SHORT4 = "Zq9x"
SHAPES = (ESCAPED, LONG, SHORT3, SHORT4)


def shapes_of(key: str) -> set[str]:
    """What must never appear: the key as sent, escaped, URL-encoded, all but its last four, and
    (for a labelled key) the piece the gateway echoes."""
    forms = {key, repr(key)[1:-1], json.dumps(key)[1:-1], quote(key, safe=""), quote_plus(key), repr(repr(key))[1:-1],
             json.dumps(json.dumps(key))[1:-1]}
    if len(key) >= 8:
        forms |= {key[:-4], key[2:-3]}
    return {f for f in forms if f}


def leaks(text: str) -> list[str]:
    return sorted(k for k in SHAPES if any(f in text for f in shapes_of(k)))


def echo(key: str, auth: str) -> str:
    """Every shape a gateway might quote the key in, in one message."""
    return (f"refused {auth!r}; as JSON {json.dumps(key)}; in a URL ?key={quote(key, safe='')}; "
            f"form-encoded {quote_plus(key)}; a piece [{key[2:-3]}]; bare {key}.")


class EchoGateway(MockServer):
    """`/401/v1`, `/500/v1` and `/429/v1` answer that status, quoting the caller's key."""

    def __init__(self, config: MockConfig) -> None:
        super().__init__(config)
        self.seen: dict[tuple[str, str], int] = {}

    def make_app(self) -> web.Application:
        app = super().make_app()
        app.router.add_post("/{status}/v1/chat/completions", self._echo)
        return app

    async def _echo(self, request: web.Request) -> web.Response:
        await request.read()
        auth = request.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else request.headers.get("api-key", "")
        status = request.match_info["status"]
        self.seen[(status, key)] = self.seen.get((status, key), 0) + 1
        body = {"error": {"message": echo(key, auth), "type": "x", "param": None, "code": None}}
        headers = {"Retry-After": "0"} if status == "429" else None
        return web.json_response(body, status=int(status), headers=headers)


def _provider(name: str, base_url: str, refs: list[str], client: str) -> str:
    keys = ", ".join(f'"{r}"' for r in refs)
    return f"""
[providers.{name}]
kind = "openai"
base_url = "{base_url}"
api_keys = [{keys}]
key_policy = "round-robin"
request_timeout = 0.5
max_retries = 1
client = "{client}"

[models."{name}/m"]
provider = "{name}"
deployment = "sim/strong"
"""


@pytest.mark.parametrize("client", ["sdk", "lean"])
def test_no_shape_of_any_key_anywhere(client: str, tmp_path: Path, monkeypatch, servers, capfd, fast_backoff) -> None:  # type: ignore[no-untyped-def]
    srv = servers(MockConfig(), server=EchoGateway(MockConfig()))
    refs = key_env(monkeypatch, SHAPES, prefix="PBS_KEY")
    monkeypatch.setattr("pilotbench.runner.calls.MAX_RATE_LIMIT_RETRIES", 6)
    text = "".join(_provider(f"e{status}", f"{srv.base_url}/{status}/v1", refs, client) for status in (401, 500, 429))
    text += _provider("gone", "http://127.0.0.1:9/v1", refs, client)  # nothing listens on port 9
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    db = tmp_path / "out" / "r.db"
    logs = tmp_path / "out" / "logs"
    models = "e401/m,e500/m,e429/m,gone/m"
    run = ["run", "-m", models, "-p", "baseline", "-t", "simple_task", "-n", "4", "--config", str(cfg), "--db", str(db),
           "--log-dir", str(logs), "--no-progress"]
    assert main(run) == 4  # e401's keys are all refused, nothing answers for gone/m: those models are stopped
    assert main(["status", "--db", str(db)]) == 0
    out_dir = tmp_path / "reports"
    for fmt in ("md", "json", "csv", "html"):
        assert main(["report", "--db", str(db), "--format", fmt, "--out", str(out_dir / f"r.{fmt}")]) == 0
    for fmt in ("jsonl", "csv", "parquet", "legacy-json"):
        assert main(["export", "--db", str(db), "--format", fmt, "--out", str(out_dir / f"e-{fmt}")]) == 0
    assert main(["view", "--db", str(db), "--export", str(tmp_path / "site")]) == 0
    out, err = capfd.readouterr()

    # Every key met every failure, and the gateway quoted it each time.
    for status in ("401", "500", "429"):
        assert {k for (s, k) in srv.server.seen if s == status} == set(SHAPES), status

    found = {"stdout": leaks(out), "stderr": leaks(err)}
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "c.toml"]
    assert any(p.suffix == ".log" for p in files) and any(p.suffix == ".html" for p in (tmp_path / "site").rglob("*"))
    for p in files:
        found[str(p.relative_to(tmp_path))] = leaks(p.read_bytes().decode("utf-8", errors="replace"))
    con = sqlite3.connect(db)
    try:
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            found[f"store:{table}"] = leaks(json.dumps(con.execute(f'SELECT * FROM "{table}"').fetchall(), default=str))
        errors = " ".join(r[0] for r in con.execute("SELECT infra_error FROM results WHERE status='error'"))
    finally:
        con.close()
    assert {where: keys for where, keys in found.items() if keys} == {}
    # Redacted, not dropped: the servers' words are there, with labels where the keys were.
    assert "HTTP 500: refused" in errors and "...wxyz" in errors and "...LONG" in errors and "...****" in errors
    assert "HTTP 401" in out + err


@pytest.mark.parametrize(("key", "problem"), [("sk-test-FAKE-line\nbreak-0000", "a line break"),
                                              ("sk-test-FAKE-n\u00f6n-ascii-0000", "a non-ASCII character")])
@pytest.mark.parametrize("dry", [False, True])
def test_a_key_that_cannot_be_sent_is_a_configuration_error(key: str, problem: str, dry: bool, tmp_path: Path, monkeypatch, capfd) -> None:  # type: ignore[no-untyped-def]
    """Named by its variable, exit 2, before any call and before the store exists; never the key."""
    monkeypatch.setenv("PBS_BROKEN_KEY", key)
    cfg = tmp_path / "c.toml"
    cfg.write_text(_provider("p", "http://127.0.0.1:9/v1", ["env:PBS_BROKEN_KEY"], "sdk"))
    db = tmp_path / "r.db"
    code = main(["run", "-m", "p/m", "-n", "1", "--config", str(cfg), "--db", str(db), "--no-progress",
                 *(["--dry-run"] if dry else [])])
    out, err = capfd.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and "PBS_BROKEN_KEY" in err and problem in err, err
    assert "Traceback" not in err
    assert not any(part in out + err for part in ("FAKE-line", "break-0000", "n\u00f6n", "ascii-0000"))
    assert not db.exists()
