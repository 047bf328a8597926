"""A test's conversation as the store keeps it: compressed JSON in one text column.

`--transcripts` chooses how much is kept:

- `full` (default): every message, from the system and user prompt to the final answer: each
  assistant text, its tool calls with arguments, each tool result and each format-help turn.
- `calls`: the same turns without the opening prompt (the viewer rebuilds the prompt from the
  test's spec, which is deterministic for a given suite version).
- `none`: nothing.

The column holds `z2:` followed by base64 of raw-deflated JSON, so both stores take it as plain
TEXT. Deflate starts from a preset dictionary of the text every conversation repeats (the system
prompt, the plan's wording, the message skeletons): a quarter smaller than plain zlib. The
dictionary is frozen: a stored value must decode forever, so a better one gets a new prefix.
(`z1:` values, plain zlib, still decode.) Decoding never raises on damaged input: it returns None.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from typing import Any

TRANSCRIPT_MODES = ("none", "calls", "full")
DEFAULT_TRANSCRIPTS = "full"
_PREFIX = "z2:"
_PLAIN_PREFIX = "z1:"
_LEVEL = 6  # zlib's default: within a few µs of level 1 on a transcript, and a fifth smaller
# Frozen (see the module docstring): tests/store/test_transcripts.py checks its digest.
_ZDICT = (
    'computation_analyzer computation_calculator computation_optimizer computation_predictor computation_simulator data_processing_aggregator data_processing_filter data_processing_parser data_processing_transformer data_processing_validator file_operations_compressor file_operations_converter file_operations_reader file_operations_scanner file_operations_writer integration_authenticator integration_connector integration_mapper integration_queue integration_scheduler network_fetcher network_monitor network_poster network_router network_validator utility_cache utility_helper utility_logger utility_notifier utility_tracker\n'
    'Your last reply had no usable tool call and no final answer. You call tools by writing, for each call, a block of the form\n'
    '<tool_call>{"name": "TOOL_NAME", "arguments": {...}}</tool_call>\n'
    "and nothing else in that reply. Each result comes back in a <tool_result> block. When the task is complete, reply without any tool call, starting with 'FINAL ANSWER:' and ending with a line 'RESULT: <handle>' that gives the handle of the final step's output.\n"
    "Your last reply had no usable tool call and no final answer. Call one of the provided tools with JSON arguments, or, if the task is complete, reply with text starting with 'FINAL ANSWER:' and ending with a line 'RESULT: <handle of the final output>'.\n"
    'Think step by step. Before each tool call, state briefly which step of the workflow you are on, why this tool is the right one, and which earlier result it uses.\n'
    'Follow this workflow plan. It has been prepared for this task:\n'
    'Task (data_pipeline, data_pipeline-42-00003):\n'
    '\n'
    'Prepare the subscriber list for the customer success managers. First list the JSON files in the source directory; read the listed file; write it to the output path; finally compress the saved file with zip. Your final answer must give the handle the last step returned.\n'
    '\n'
    'Inputs: {"output_path": "deliverables/customers/2024-07/crm_export_clean_453.json", "source_directory": "inbound/customers/crm_export_batch_570"}\n'
    '\n'
    'Constraints:\n'
    '- Pass data between steps by handle; never invent a handle.\n'
    '- Finish within the turn limit.\n'
    '\n'
    'Follow this workflow plan. It has been prepared for this task:\n'
    'Goal: Prepare the subscriber list for the customer success managers.\n'
    'Step 1: file_operations_scanner - Lists the files under a directory that match a glob pattern. Inputs: directory=inbound/customers/crm_export_batch_570. Arguments: none. Depends on: none.\n'
    'Step 2: file_operations_reader - Reads a file from storage. Inputs: path=<handle from step 1>. Arguments: none. Depends on: step 1.\n'
    'Step 3: file_operations_writer - Writes a dataset to a file in the format its extension names. Inputs: input=<handle from step 2>; path=deliverables/customers/2024-07/crm_export_clean_453.json. Arguments: none. Depends on: step 2.\n'
    'Step 4: file_operations_compressor - Compresses a written file into an archive. Inputs: input=<handle from step 3>. Arguments: none. Depends on: step 3.\n'
    '{"mode":"full","prompt_messages":2,"messages":[{"role":"system","content":"You are a workflow agent. You complete data and integration tasks by calling the tools you are given, one step at a time. Each successful call returns a `handle` to its output and a summary of the data; pass handles on to the steps that need them, and use the task\'s inputs exactly as given. Call only the tools the task needs. If a call fails you may retry it or adjust its arguments. When the task is complete, reply without a tool call, starting with \'FINAL ANSWER:\', summarise what was done, and end with a line \'RESULT: <handle>\' giving the handle of the final step\'s output. If the task could not be completed, say so and give no result line."},{"role":"user","content":"Task (\n'
    '{"role":"assistant","content":"FINAL ANSWER: The workflow is complete.\\nRESULT: h_"}\n'
    '{"role":"tool","tool_call_id":"call_1_0","content":"{\\"status\\":\\"error\\",\\"error_code\\":\\"INVALID_INPUT\\",\\"message\\":\\"\n'
    '{"role":"assistant","content":null,"tool_calls":[{"id":"call_0_0","type":"function","function":{"name":"data_processing_","arguments":"{\\"input\\": \\"\n'
    '"}}]},{"role":"tool","tool_call_id":"call_0_0","content":"{\\"status\\":\\"success\\",\\"output\\":{\\"handle\\":\\"'
).encode("utf-8")
ZDICT_DIGEST = "7b4fda0881515593"
_encode_json = json.JSONEncoder(separators=(",", ":"), default=str, check_circular=False, ensure_ascii=False).encode


def encode_transcript(messages: Sequence[dict[str, Any]], mode: str, prompt_messages: int = 0) -> str | None:
    """The stored form of a conversation; `prompt_messages` is how many opening messages are the prompt."""
    if mode == "none":
        return None
    if mode not in TRANSCRIPT_MODES:
        raise ValueError(f"unknown transcripts mode {mode!r}; choose from {', '.join(TRANSCRIPT_MODES)}")
    kept = list(messages) if mode == "full" else list(messages[prompt_messages:])
    doc = {"mode": mode, "prompt_messages": prompt_messages if mode == "full" else 0, "messages": kept}
    deflate = zlib.compressobj(_LEVEL, zlib.DEFLATED, -15, zdict=_ZDICT)
    raw = deflate.compress(_encode_json(doc).encode("utf-8")) + deflate.flush()
    return _PREFIX + base64.b64encode(raw).decode("ascii")


def decode_transcript(value: str | bytes | None) -> dict[str, Any] | None:
    """{"mode", "prompt_messages", "messages"} from a stored value, or None if absent or unreadable."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("ascii", "replace")
    if not isinstance(value, str) or not value.startswith((_PREFIX, _PLAIN_PREFIX)):
        return None
    try:
        raw = base64.b64decode(value[len(_PREFIX):], validate=True)
        if value.startswith(_PREFIX):
            inflate = zlib.decompressobj(-15, zdict=_ZDICT)
            text = inflate.decompress(raw) + inflate.flush()
            if not inflate.eof:
                return None
        else:
            text = zlib.decompress(raw)
        doc = json.loads(text)
    except (ValueError, zlib.error, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        return None
    doc.setdefault("mode", "full")
    doc.setdefault("prompt_messages", 0)
    return doc
