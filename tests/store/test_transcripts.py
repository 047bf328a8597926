"""The stored conversation: compressed, chosen by --transcripts, read back exactly, never a crash."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from pilotbench import api
from pilotbench.errors import UsageError
from pilotbench.store import open_store
from pilotbench.store.transcripts import decode_transcript, encode_transcript

MESSAGES = [
    {"role": "system", "content": "sys " * 50},
    {"role": "user", "content": "task " * 80},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "t", "arguments": "{\"a\": \"é\"}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "{\"status\":\"success\"}"},
    {"role": "assistant", "content": "FINAL ANSWER: done <b>ünïcode</b>"},
]


def test_full_round_trip_is_exact_and_smaller() -> None:
    value = encode_transcript(MESSAGES, "full", 2)
    assert value is not None and value.isascii()
    doc = decode_transcript(value)
    assert doc == {"mode": "full", "prompt_messages": 2, "messages": MESSAGES}
    assert len(value) < len(json.dumps(MESSAGES))


def test_calls_mode_drops_the_prompt_only() -> None:
    doc = decode_transcript(encode_transcript(MESSAGES, "calls", 2))
    assert doc is not None and doc["mode"] == "calls" and doc["prompt_messages"] == 0
    assert doc["messages"] == MESSAGES[2:]


def test_none_mode_and_unknown_mode() -> None:
    assert encode_transcript(MESSAGES, "none", 2) is None
    with pytest.raises(ValueError, match="transcripts mode"):
        encode_transcript(MESSAGES, "everything", 2)


@pytest.mark.parametrize("damaged", [None, "", "plain text", "z1:", "z1:!!!!", "z1:" + "A" * 12, b"z1:abc", 42])
def test_damaged_values_decode_to_none(damaged: object) -> None:
    assert decode_transcript(damaged) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["full", "calls", "none"])
def test_a_run_stores_what_the_option_asks(tmp_path: Path, mode: str) -> None:
    plan = api.build_plan(["sim/weak"], prompt_types="baseline", task_types="simple_task,data_pipeline", num_instances=2)
    res = asyncio.run(api.run_async(plan, db=tmp_path / "r.db", transcripts=mode))
    with open_store(tmp_path / "r.db", create=False) as store:
        rows = list(store.iter_rows(columns=("transcript", "turns", "trajectory")))
    assert len(rows) == len(res.records) == 4
    for row in rows:
        doc = decode_transcript(row["transcript"])
        if mode == "none":
            assert doc is None and row["transcript"] is None
            continue
        assert doc is not None and doc["mode"] == mode
        msgs = doc["messages"]
        roles = [m["role"] for m in msgs]
        if mode == "full":
            assert roles[:2] == ["system", "user"] and doc["prompt_messages"] == 2
            msgs = msgs[2:]
        assert msgs[0]["role"] == "assistant"
        # one assistant message per turn, and the last reply is the stored final answer
        assert sum(1 for m in msgs if m["role"] == "assistant") == row["turns"]
        final = json.loads(row["trajectory"])["final_answer"]
        if final is not None:
            assert msgs[-1] == {"role": "assistant", "content": final}


def test_run_rejects_an_unknown_mode(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="transcripts mode 'some'"):
        api.run(api.build_specs(["sim/weak"], task_types="simple_task", num_instances=1), db=tmp_path / "r.db", transcripts="some")


def test_the_preset_dictionary_is_frozen() -> None:
    """Stored transcripts are inflated with this dictionary forever: a change needs a new prefix."""
    import hashlib

    from pilotbench.store import transcripts

    assert hashlib.blake2b(transcripts._ZDICT, digest_size=8).hexdigest() == transcripts.ZDICT_DIGEST == "7b4fda0881515593"


def test_plain_zlib_values_still_decode_and_truncated_ones_do_not() -> None:
    import base64
    import zlib

    doc = {"mode": "full", "prompt_messages": 2, "messages": MESSAGES}
    old = "z1:" + base64.b64encode(zlib.compress(json.dumps(doc).encode())).decode()
    assert decode_transcript(old) == doc
    value = encode_transcript(MESSAGES, "full", 2)
    assert value is not None
    raw = base64.b64decode(value[3:])
    assert decode_transcript("z2:" + base64.b64encode(raw[: len(raw) // 2]).decode()) is None


def test_exports_give_the_conversation_as_messages(tmp_path: Path) -> None:
    """JSONL carries each test's transcript decoded; CSV leaves it out, as it leaves the trajectory."""
    import csv

    from pilotbench.reports import export

    plan = api.build_plan(["sim/strong"], prompt_types="baseline", task_types="simple_task", num_instances=2)
    api.run(plan, db=tmp_path / "r.db")
    with open_store(tmp_path / "r.db", create=False) as store:
        assert export(store, "jsonl", tmp_path / "rows.jsonl") == 2
        assert export(store, "csv", tmp_path / "rows.csv") == 2
    for line in (tmp_path / "rows.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert row["transcript"]["mode"] == "full"
        assert [m["role"] for m in row["transcript"]["messages"][:2]] == ["system", "user"]
    with (tmp_path / "rows.csv").open(newline="") as f:
        assert "transcript" not in next(csv.DictReader(f))


def test_cli_run_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pilotbench.cli import main

    db = tmp_path / "r.db"
    assert main(["run", "-m", "sim/weak", "-t", "simple_task", "-n", "1", "--db", str(db), "--no-progress",
                 "--transcripts", "calls"]) == 0
    with open_store(db, create=False) as store:
        (value,), = store.query("SELECT transcript FROM results")
    assert decode_transcript(value)["mode"] == "calls"  # type: ignore[index]
    assert main(["run", "-m", "sim/weak", "--db", str(db), "--transcripts", "some"]) == 2
    assert "'some' is not one of" in capsys.readouterr().err
