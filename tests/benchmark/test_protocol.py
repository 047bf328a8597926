"""Parsing model output (SPEC 1.4): arguments, the text protocol, native replies, completion."""

from __future__ import annotations

import json

import pytest

from pilotbench.benchmark.protocol import (
    FINAL_MARKER,
    TEXT_PROTOCOL_INSTRUCTIONS,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    ParsedReply,
    declares_completion,
    format_help,
    parse_arguments,
    result_handle,
    parse_native_reply,
    parse_text_reply,
)
from pilotbench.benchmark.types import ModelOutput, ToolCall

# --------------------------------------------------------------------------- parse_arguments


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"input": "dh_1", "n": 3}', {"input": "dh_1", "n": 3}),
        ('  {"a": {"b": [1, 2]}}  ', {"a": {"b": [1, 2]}}),
        ("{}", {}),
        ("", {}),
        ("   \n", {}),
        ("[1, 2]", None),
        ('["input"]', None),
        ('"a string"', None),
        ("42", None),
        ("null", None),
        ("not json at all", None),
        ('{"input": ', None),
        ("{'single': 'quotes'}", None),
        ("[" * 100_000 + "]" * 100_000, None),
        (None, None),
    ],
)
def test_parse_arguments(raw, expected) -> None:
    assert parse_arguments(raw) == expected


def test_parse_arguments_passes_a_dict_through() -> None:
    d = {"input": "dh_1"}
    assert parse_arguments(d) is d  # type: ignore[arg-type]


# --------------------------------------------------------------------------- text protocol


def _block(name: str, args: dict | str) -> str:
    return f"{TOOL_CALL_OPEN}{json.dumps({'name': name, 'arguments': args})}{TOOL_CALL_CLOSE}"


CALL_A = _block("file_operations_reader", {"path": "in.csv"})
CALL_B = _block("data_processing_parser", {"input": "dh_1", "format": "csv"})


@pytest.mark.parametrize(
    ("content", "calls", "final", "error"),
    [
        # one block
        (CALL_A, [("file_operations_reader", {"path": "in.csv"})], None, False),
        # prose around a block
        ("I will read the file.\n" + CALL_A + "\n", [("file_operations_reader", {"path": "in.csv"})], None, False),
        # two blocks
        (
            CALL_A + "\n" + CALL_B,
            [("file_operations_reader", {"path": "in.csv"}), ("data_processing_parser", {"input": "dh_1", "format": "csv"})],
            None,
            False,
        ),
        # unclosed block whose JSON is complete: accepted
        (TOOL_CALL_OPEN + '{"name": "utility_logger", "arguments": {"message": "hi"}}',
         [("utility_logger", {"message": "hi"})], None, False),
        # unclosed block whose JSON is cut off
        (TOOL_CALL_OPEN + '{"name": "utility_logger", "arguments": {', [], None, True),
        # bad JSON in a block
        (TOOL_CALL_OPEN + "{name: utility_logger}" + TOOL_CALL_CLOSE, [], None, True),
        # one good block and one bad one: the reply is a format error, not a partial call
        (CALL_A + TOOL_CALL_OPEN + "oops" + TOOL_CALL_CLOSE, [], None, True),
        # a block without a name
        (TOOL_CALL_OPEN + '{"arguments": {}}' + TOOL_CALL_CLOSE, [], None, True),
        # a block that is a JSON list
        (TOOL_CALL_OPEN + "[1, 2]" + TOOL_CALL_CLOSE, [], None, True),
        # fenced JSON inside a block
        (TOOL_CALL_OPEN + '```json\n{"name": "utility_cache", "arguments": {"key": "k"}}\n```' + TOOL_CALL_CLOSE,
         [("utility_cache", {"key": "k"})], None, False),
        # "parameters" accepted for "arguments"; arguments given as a JSON string
        (TOOL_CALL_OPEN + '{"name": "utility_cache", "parameters": {"key": "k"}}' + TOOL_CALL_CLOSE,
         [("utility_cache", {"key": "k"})], None, False),
        (_block("utility_cache", '{"key": "k"}'), [("utility_cache", {"key": "k"})], None, False),
        # no arguments at all: an empty object
        (TOOL_CALL_OPEN + '{"name": "utility_helper"}' + TOOL_CALL_CLOSE, [("utility_helper", {})], None, False),
        # bare JSON call
        ('{"name": "network_fetcher", "arguments": {"url": "https://x"}}',
         [("network_fetcher", {"url": "https://x"})], None, False),
        # fenced JSON call
        ('```json\n{"name": "network_fetcher", "arguments": {"url": "https://x"}}\n```',
         [("network_fetcher", {"url": "https://x"})], None, False),
        ('```\n{"name": "network_fetcher", "arguments": {}}\n```', [("network_fetcher", {})], None, False),
        # bare JSON that looks like a call but is broken
        ('{"name": "network_fetcher", "arguments": {', [], None, True),
        # plain text: a final answer
        (f"{FINAL_MARKER} all done.", [], f"{FINAL_MARKER} all done.", False),
        ("  The report is ready.  ", [], "The report is ready.", False),
        # JSON that is not a call is just text
        ('{"result": 3}', [], '{"result": 3}', False),
        # empty replies
        ("", [], None, True),
        ("   \n\t", [], None, True),
        (None, [], None, True),
    ],
)
def test_parse_text_reply(content, calls, final, error) -> None:
    parsed = parse_text_reply(content)
    assert [(c.name, json.loads(c.arguments)) for c in parsed.calls] == calls
    assert parsed.final == final
    assert (parsed.format_error is not None) == error
    # exactly one outcome
    assert sum([bool(parsed.calls), parsed.final is not None, parsed.format_error is not None]) == 1


def test_text_calls_get_distinct_ids() -> None:
    parsed = parse_text_reply(CALL_A + CALL_B)
    assert [c.id for c in parsed.calls] == ["text_0", "text_1"]


# --------------------------------------------------------------------------- native replies


def test_native_tool_calls_are_returned_as_is() -> None:
    calls = (ToolCall("c1", "utility_logger", '{"message": "x"}'), ToolCall("c2", "utility_cache", "{}"))
    out = ModelOutput(content="thinking", tool_calls=calls, finish_reason="tool_calls")
    assert parse_native_reply(out) == ParsedReply(calls=calls)


@pytest.mark.parametrize(
    ("output", "final", "error"),
    [
        (ModelOutput(content=""), None, "empty reply"),
        (ModelOutput(content=None), None, "empty reply"),
        (ModelOutput(content="   "), None, "empty reply"),
        (ModelOutput(content=None, reasoning="I should call the reader first."), None, "reasoning only, no answer"),
        (ModelOutput(content="", reasoning="hmm"), None, "reasoning only, no answer"),
        (ModelOutput.for_text(f"{FINAL_MARKER} done"), f"{FINAL_MARKER} done", None),
        (ModelOutput(content="  Finished.\n", reasoning="r"), "Finished.", None),
        (ModelOutput(content=TOOL_CALL_OPEN + "garbage" + TOOL_CALL_CLOSE), None,
         "a <tool_call> block is not valid JSON with a name and arguments"),
    ],
)
def test_parse_native_reply_without_tool_calls(output: ModelOutput, final, error) -> None:
    parsed = parse_native_reply(output)
    assert parsed.calls == ()
    assert parsed.final == final
    assert parsed.format_error == error


def test_native_reply_with_a_text_protocol_call_is_accepted() -> None:
    parsed = parse_native_reply(ModelOutput(content=CALL_A))
    assert [c.name for c in parsed.calls] == ["file_operations_reader"]


# --------------------------------------------------------------------------- completion


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FINAL ANSWER: done\nRESULT: h_0a1b2c3d", "h_0a1b2c3d"),
        ("FINAL ANSWER: wrote the totals.\n\nRESULT: `h_0a1b2c3d`", "h_0a1b2c3d"),
        ("FINAL ANSWER: ok\n**RESULT:** h_0a1b2c3d", "h_0a1b2c3d"),
        ("FINAL ANSWER: ok\nresult: h_0a1b2c3d", "h_0a1b2c3d"),
        ("FINAL ANSWER: first try\nRESULT: h_11111111\nthen\nRESULT: h_22222222", "h_22222222"),  # the last line counts
        ("FINAL ANSWER: done", None),  # complete in words only
        ("FINAL ANSWER: The workflow is complete: ran file_operations_reader.", None),
        ("FINAL ANSWER: step 3 did not succeed; the task is incomplete.", None),
        ("FINAL ANSWER: handles h_0a1b2c3d and h_11111111 were made", None),  # no result line
        ("FINAL ANSWER: done\nRESULT: h_0a1b2c3d or h_11111111", None),  # several candidates
        ("FINAL ANSWER: done\nRESULT: none", None),
        ("FINAL ANSWER: done\nRESULT: dh_0a1b2c3d", None),  # not a handle
        ("", None),
        (None, None),
    ],
)
def test_result_handle_and_declared_completion(text, expected) -> None:
    assert result_handle(text) == expected
    assert declares_completion(text) is (expected is not None)


# --------------------------------------------------------------------------- help text


def test_format_help_by_mode() -> None:
    assert TEXT_PROTOCOL_INSTRUCTIONS in format_help("text")
    assert TOOL_CALL_OPEN not in format_help("native")
    assert FINAL_MARKER in format_help("native")
    assert format_help("native") != format_help("text")
