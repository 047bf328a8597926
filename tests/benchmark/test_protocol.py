"""Parsing model output (README, "A real model with no API key"; docs/scoring.md, "The final answer"): arguments,
the text protocol, native replies, completion."""

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
    is_truncated,
    parse_arguments,
    parse_native_reply,
    parse_reply,
    parse_text_reply,
    read_final,
    result_handle,
    truncated_echo,
    truncation_help,
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
        ("FINAL ANSWER: first try\nRESULT: h_11111111\nthen\nRESULT: h_22222222", None),  # every line counts: two results
        ("FINAL ANSWER: RESULT: h_11111111\nRESULT: h_22222222", None),  # a RESULT marker mid-line is read too
        ("FINAL ANSWER: done\nRESULT: h_0a1b2c3d\nRESULT: `h_0a1b2c3d`", "h_0a1b2c3d"),  # the same handle twice
        ("FINAL ANSWER: done. RESULT: h_0a1b2c3d", "h_0a1b2c3d"),
        ("The results are stored in the `h_0af9be40` handle", "h_0af9be40"),  # plain words, one handle
        ("FINAL ANSWER: parsed (result: 540 records); the totals are in h_0a1b2c3d.", "h_0a1b2c3d"),
        ("FINAL ANSWER: done", None),  # complete in words only
        ("FINAL ANSWER: The workflow is complete: ran file_operations_reader.", None),
        ("FINAL ANSWER: step 3 did not succeed; the task is incomplete.", None),
        ("FINAL ANSWER: handles h_0a1b2c3d and h_11111111 were made", None),  # no result line, two handles
        ("FINAL ANSWER: done\nRESULT: h_0a1b2c3d (the parser gave h_11111111)", None),  # two on a RESULT line
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


@pytest.mark.parametrize(
    ("text", "handles", "form"),
    [
        ("FINAL ANSWER: done\nRESULT: h_0a1b2c3d", ("h_0a1b2c3d",), "result_line"),
        ("The results are stored in the `h_0af9be40` handle", ("h_0af9be40",), "plain"),
        ("I read h_11111111, parsed it into h_22222222.\nRESULT: h_22222222", ("h_22222222",), "result_line"),
        ("RESULT: h_11111111\nRESULT: h_22222222", ("h_11111111", "h_22222222"), None),
        ("Made h_11111111 and h_22222222.", ("h_11111111", "h_22222222"), None),
        ("FINAL ANSWER: all done.", (), None),
    ],
)
def test_read_final_reads_every_result_line_or_else_the_plain_words(text, handles, form) -> None:
    report = read_final(text)
    assert report.handles == handles and report.form == form
    assert report.handle == (handles[0] if len(handles) == 1 else None)


@pytest.mark.parametrize(
    "text",
    [
        "FINAL ANSWER: the task could not be completed.\nRESULT: h_0a1b2c3d",
        "FINAL ANSWER: I couldn't complete the task: the poster kept failing.\nRESULT: h_0a1b2c3d",
        "FINAL ANSWER: I was unable to finish the workflow. RESULT: h_0a1b2c3d",
        "FINAL ANSWER: The workflow did not finish: network_poster did not succeed. RESULT: h_0a1b2c3d",
        "FINAL ANSWER: the task failed at step 3.\nRESULT: h_0a1b2c3d",
        "FINAL ANSWER: step 3 did not succeed; the task is incomplete.\nRESULT: h_0a1b2c3d",
        "FINAL ANSWER: I could not complete the final step. RESULT: h_0a1b2c3d",
        "FINAL ANSWER: Sorry, I cannot complete this task.\nRESULT: h_0a1b2c3d",
        "FINAL ANSWER: The work remains partially done; RESULT: h_0a1b2c3d",
    ],
)
def test_an_answer_that_says_the_task_failed_declares_no_completion(text: str) -> None:
    report = read_final(text)
    assert report.failed and report.handle == "h_0a1b2c3d"
    assert not report.declares_completion and not declares_completion(text)


@pytest.mark.parametrize(
    "text",
    [
        "FINAL ANSWER: The workflow is complete: ran file_operations_reader, data_processing_parser.\nRESULT: h_0a1b2c3d",
        "FINAL ANSWER: the reader failed twice with a TIMEOUT; I retried and it worked.\nRESULT: h_0a1b2c3d",
        "FINAL ANSWER: nothing failed; the task is done.\nRESULT: h_0a1b2c3d",
        "FINAL ANSWER: the first call could not be completed in time, the retry was. RESULT: h_0a1b2c3d",
        "FINAL ANSWER: I could not have asked for cleaner data. RESULT: h_0a1b2c3d",
        "FINAL ANSWER: the task could not be completed at first (TIMEOUT); the retry did it. RESULT: h_0a1b2c3d",
        "FINAL ANSWER: the scheduling job failed once, then went through. RESULT: h_0a1b2c3d",
        "FINAL ANSWER: the request failed with HTTP 502 and was retried. RESULT: h_0a1b2c3d",
    ],
)
def test_a_failed_call_that_was_retried_is_no_failure_of_the_task(text: str) -> None:
    report = read_final(text)
    assert not report.failed and report.declares_completion


# --------------------------------------------------------------------------- help text


def test_format_help_by_mode() -> None:
    assert TEXT_PROTOCOL_INSTRUCTIONS in format_help("text")
    assert TOOL_CALL_OPEN not in format_help("native")
    assert FINAL_MARKER in format_help("native")
    assert format_help("native") != format_help("text")


# --------------------------------------------------------------------------- calls written as text

OFFERED = frozenset({"file_operations_reader", "data_processing_parser", "utility_logger", "network_fetcher"})
READ = ("file_operations_reader", {"path": "in.csv"})
PARSE = ("data_processing_parser", {"input": "dh_1"})


def _calls(parsed: ParsedReply) -> list[tuple[str, dict]]:
    return [(c.name, json.loads(c.arguments)) for c in parsed.calls]


@pytest.mark.parametrize(
    ("content", "calls"),
    [
        # what Qwen2.5-Coder wrote through llama.cpp without a tool-call parser: a fenced object
        ('```json\n{\n  "name": "file_operations_reader",\n  "arguments": {"path": "in.csv"}\n}\n```', [READ]),
        # prose, then the fence
        ('I will read the file first.\n```json\n{"name": "file_operations_reader", "arguments": {"path": "in.csv"}}\n```',
         [READ]),
        # after a FINAL ANSWER: prefix, bare and fenced
        (FINAL_MARKER + ' {"name": "file_operations_reader", "arguments": {"path": "in.csv"}}', [READ]),
        (FINAL_MARKER + '\n```json\n{"name": "file_operations_reader", "parameters": {"path": "in.csv"}}\n```', [READ]),
        # several in a reply: one object per line, two fences, a JSON list
        ('{"name": "file_operations_reader", "arguments": {"path": "in.csv"}}\n'
         '{"name": "data_processing_parser", "arguments": {"input": "dh_1"}}', [READ, PARSE]),
        ('```json\n{"name": "file_operations_reader", "arguments": {"path": "in.csv"}}\n```\nthen\n'
         '```json\n{"name": "data_processing_parser", "arguments": {"input": "dh_1"}}\n```', [READ, PARSE]),
        ('[{"name": "file_operations_reader", "arguments": {"path": "in.csv"}}, '
         '{"name": "data_processing_parser", "parameters": {"input": "dh_1"}}]', [READ, PARSE]),
        # {"tool_calls": [...]} and the OpenAI-like {"function": {...}} shape
        ('{"tool_calls": [{"name": "file_operations_reader", "arguments": {"path": "in.csv"}}]}', [READ]),
        ('{"type": "function", "function": {"name": "file_operations_reader", "arguments": "{\\"path\\": \\"in.csv\\"}"}}',
         [READ]),
        # Hermes / Qwen tags, with a newline inside
        ('<tool_call>\n{"name": "file_operations_reader", "arguments": {"path": "in.csv"}}\n</tool_call>', [READ]),
        # Llama 3: <|python_tag|>, one or several separated by ";"
        ('<|python_tag|>{"name": "file_operations_reader", "parameters": {"path": "in.csv"}}<|eom_id|>', [READ]),
        ('<|python_tag|>{"name": "file_operations_reader", "parameters": {"path": "in.csv"}}; '
         '{"name": "data_processing_parser", "parameters": {"input": "dh_1"}}', [READ, PARSE]),
        # Mistral: a JSON list after [TOOL_CALLS], and the newer name[ARGS]{...} form
        ('[TOOL_CALLS] [{"name": "file_operations_reader", "arguments": {"path": "in.csv"}}]', [READ]),
        ('[TOOL_CALLS]file_operations_reader[ARGS]{"path": "in.csv"}'
         '[TOOL_CALLS]data_processing_parser[ARGS]{"input": "dh_1"}', [READ, PARSE]),
        ('[TOOL_CALLS]file_operations_reader[CALL_ID]a1b2c3d4e[ARGS]{"path": "in.csv"}', [READ]),
        # a name alone is a call when it names an offered tool
        ('{"name": "utility_logger"}', [("utility_logger", {})]),
        # what Qwen2.5-Coder-0.5B wrote in text mode: Python literals, two calls after FINAL ANSWER:
        (FINAL_MARKER + ' {"name": "file_operations_reader", "arguments": {"path": "in.csv", "strict": False, '
         '"note": "True to the source", "limit": None}}, {"name": "data_processing_parser", "arguments": {"input": "dh_1"}}',
         [("file_operations_reader", {"path": "in.csv", "strict": False, "note": "True to the source", "limit": None}),
          PARSE]),
    ],
)
def test_calls_written_as_text_are_calls_in_both_modes(content: str, calls) -> None:  # type: ignore[no-untyped-def]
    text = parse_text_reply(content, OFFERED)
    assert _calls(text) == calls and text.final is None and text.format_error is None
    native = parse_native_reply(ModelOutput(content=content, finish_reason="stop"), OFFERED)
    assert _calls(native) == calls and native.from_text
    assert [c.id for c in native.calls] == [f"text_{i}" for i in range(len(calls))]


def test_a_json_call_naming_a_tool_not_offered_is_a_call_not_an_answer() -> None:
    # It runs, fails as an unknown tool and is scored as a tool-selection error.
    content = '```json\n{"name": "process_quarterly_sales", "arguments": {"format": "parquet"}}\n```'
    parsed = parse_native_reply(ModelOutput(content=content), OFFERED)
    assert _calls(parsed) == [("process_quarterly_sales", {"format": "parquet"})] and parsed.final is None


@pytest.mark.parametrize(
    ("content", "final", "error"),
    [
        # JSON with a name but no arguments and no offered tool: data, not a call
        ('{"name": "Quarterly report", "rows": 12}', None, "the reply looks like a tool call but is not valid JSON"),
        ('FINAL ANSWER: the file holds {"name": "Alice"} as its only record.',
         'FINAL ANSWER: the file holds {"name": "Alice"} as its only record.', None),
        ('The result was {"rows": 3}.', 'The result was {"rows": 3}.', None),
        ("<|python_tag|>brave_search.call(query='x')", None, "a <|python_tag|> call is not JSON with a name and parameters"),
        ("[TOOL_CALLS] not json", None, "a [TOOL_CALLS] call is not JSON with a name and arguments"),
        ('[TOOL_CALLS]file_operations_reader[ARGS]{"path": ', None,
         "a [TOOL_CALLS] call is not JSON with a name and arguments"),
        # cut off inside a string, a closer that does not match, or more than three closers missing
        ('{"name": "file_operations_reader", "arguments": {"path": "in.cs', None,
         "the reply looks like a tool call but is not valid JSON"),
        ('{"name": "file_operations_reader", "arguments": {"path": "in.csv"]', None,
         "the reply looks like a tool call but is not valid JSON"),
        ('{"name": "file_operations_reader", "arguments": {"a": {"b": {"c": {"path": "in.csv"', None,
         "the reply looks like a tool call but is not valid JSON"),
        # an unclosed call to a tool that is not offered is not repaired
        ('{"name": "process_sales", "arguments": {"path": "in.csv"}', None,
         "the reply looks like a tool call but is not valid JSON"),
    ],
)
def test_text_that_is_not_a_call(content: str, final, error) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_text_reply(content, OFFERED)
    assert parsed.calls == () and parsed.final == final and parsed.format_error == error


# --------------------------------------------------------------------------- truncation


@pytest.mark.parametrize("reason", ["length", "LENGTH", "max_tokens", "MAX_TOKENS", "model_length", " length "])
def test_is_truncated(reason: str) -> None:
    assert is_truncated(reason)


@pytest.mark.parametrize("reason", [None, "stop", "tool_calls", "content_filter", "", "lengthy"])
def test_is_not_truncated(reason) -> None:  # type: ignore[no-untyped-def]
    assert not is_truncated(reason)


@pytest.mark.parametrize("mode", ["native", "text"])
@pytest.mark.parametrize(
    "output",
    [
        ModelOutput(content="FINAL ANSWER: the workflow is compl", finish_reason="length"),
        ModelOutput(content='{"name": "file_operations_reader", "arguments": {"path": "in.csv"}}', finish_reason="length"),
        ModelOutput(tool_calls=(ToolCall("c1", "file_operations_reader", '{"path": "in'),), finish_reason="length"),
        ModelOutput(content="", finish_reason="max_tokens"),
    ],
)
def test_a_truncated_reply_is_never_an_answer_nor_a_call(mode: str, output: ModelOutput) -> None:
    parsed = parse_reply(output, mode, OFFERED)
    assert parsed.truncated and parsed.format_error and parsed.final is None and parsed.calls == ()


def test_parse_reply_dispatches_by_mode() -> None:
    out = ModelOutput(content=CALL_A, finish_reason="stop")
    assert parse_reply(out, "native", OFFERED).from_text
    assert not parse_reply(out, "text", OFFERED).from_text
    assert [c.name for c in parse_reply(out, "text", OFFERED).calls] == ["file_operations_reader"]


def test_truncated_help_and_echo() -> None:
    assert "cut off" in truncation_help("native") and FINAL_MARKER in truncation_help("native")
    assert TEXT_PROTOCOL_INSTRUCTIONS in truncation_help("text")
    assert "cut off" not in format_help("native")
    long = "x" * 50_000
    echo = truncated_echo(long)
    assert echo.startswith("x" * 100) and len(echo) < 2100 and echo.endswith("[...]")
    assert truncated_echo("short") == "short" and truncated_echo(None) == ""


@pytest.mark.parametrize(
    "content",
    [
        # what Qwen2.5-Coder-0.5B wrote in native mode: the call's last brace missing
        '{"name": "file_operations_reader", "arguments": {"path": "in.csv", "mode": "text"}',
        '```json\n{"name": "file_operations_reader", "arguments": {"path": "in.csv", "mode": "text"\n```',
        '{"name": "file_operations_reader", "arguments": {"path": "in.csv {x}", "mode": "text"',
    ],
)
def test_a_call_missing_only_its_closing_braces_is_a_call(content: str) -> None:
    for parsed in (parse_text_reply(content, OFFERED), parse_native_reply(ModelOutput(content=content), OFFERED)):
        assert len(parsed.calls) == 1 and parsed.final is None and parsed.format_error is None
        assert parsed.calls[0].name == "file_operations_reader"
        assert json.loads(parsed.calls[0].arguments)["mode"] == "text"
