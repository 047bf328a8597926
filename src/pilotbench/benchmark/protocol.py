"""Reading what a model said: tool calls (native or text protocol) and completion signals.

Everything that parses model output lives here, so fuzzing one module covers it all. Parsers
never raise on model text: every outcome is classified as calls, a final answer, or a format error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .types import ModelOutput, ToolCall

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"
FINAL_MARKER = "FINAL ANSWER:"
RESULT_MARKER = "RESULT:"

TEXT_PROTOCOL_INSTRUCTIONS = (
    "You call tools by writing, for each call, a block of the form\n"
    '<tool_call>{"name": "TOOL_NAME", "arguments": {...}}</tool_call>\n'
    "and nothing else in that reply. Each result comes back in a <tool_result> block. "
    f"When the task is complete, reply without any tool call, starting with '{FINAL_MARKER}' and ending with "
    f"a line '{RESULT_MARKER} <handle>' that gives the handle of the final step's output."
)

_BLOCK = re.compile(re.escape(TOOL_CALL_OPEN) + r"(.*?)(?:" + re.escape(TOOL_CALL_CLOSE) + r"|$)", re.S)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)
_RESULT_LINE = re.compile(r"^[ \t*_`>-]*RESULT[*_`]*\s*:\s*(.*?)\s*$", re.M | re.I)
_HANDLE = re.compile(r"\bh_[0-9a-f]{8}\b")


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """A model reply, classified: `calls` to run, or a `final` answer, or a `format_error`."""

    calls: tuple[ToolCall, ...] = ()
    final: str | None = None
    format_error: str | None = None


def parse_arguments(raw: str | None) -> dict[str, Any] | None:
    """Tool-call arguments as a dict, or None when they are not a JSON object."""
    if raw is None:
        return None
    if isinstance(raw, dict):  # some gateways send an object rather than a JSON string
        return raw
    text = raw.strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def result_handle(text: str | None) -> str | None:
    """The handle a final answer reports as its result, by the protocol: its last `RESULT:` line must
    name exactly one handle. None when there is no such line, it names none, or it names several."""
    if not text:
        return None
    lines = _RESULT_LINE.findall(text)
    if not lines:
        return None
    handles = set(_HANDLE.findall(lines[-1]))
    return handles.pop() if len(handles) == 1 else None


def declares_completion(text: str | None) -> bool:
    """A final answer declares completion when it reports one result handle (see `result_handle`).

    Completion is read from the protocol, not from wording: "the task is incomplete" with no result
    line is not a declaration, and neither is a result line that lists several candidates."""
    return result_handle(text) is not None


def _text_call(body: str, index: int) -> ToolCall | None:
    body = body.strip()
    fence = _FENCE.match(body)
    if fence:
        body = fence.group(1)
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        args_text = args
    else:
        try:
            args_text = json.dumps(args)
        except (TypeError, ValueError):
            return None
    return ToolCall(id=f"text_{index}", name=obj["name"], arguments=args_text)


def parse_text_reply(content: str | None) -> ParsedReply:
    """The text protocol: <tool_call> blocks, a bare JSON call, or a final answer."""
    text = (content or "").strip()
    if not text:
        return ParsedReply(format_error="empty reply")
    if TOOL_CALL_OPEN in text:
        calls = []
        for i, m in enumerate(_BLOCK.finditer(text)):
            call = _text_call(m.group(1), i)
            if call is None:
                return ParsedReply(format_error="a <tool_call> block is not valid JSON with a name and arguments")
            calls.append(call)
        return ParsedReply(calls=tuple(calls))
    stripped = _FENCE.match(text).group(1) if _FENCE.match(text) else text
    if stripped.startswith("{") and '"name"' in stripped:
        call = _text_call(stripped, 0)
        if call is not None:
            return ParsedReply(calls=(call,))
        return ParsedReply(format_error="the reply looks like a tool call but is not valid JSON")
    return ParsedReply(final=text)


def parse_native_reply(output: ModelOutput) -> ParsedReply:
    """Native function calling: tool_calls if any, else the content is the final answer."""
    if output.tool_calls:
        return ParsedReply(calls=output.tool_calls)
    text = (output.content or "").strip()
    if not text:
        return ParsedReply(format_error="empty reply" if not output.reasoning else "reasoning only, no answer")
    if TOOL_CALL_OPEN in text:
        # A model that wrote its call as text while native tools were offered: accept the call.
        parsed = parse_text_reply(text)
        if parsed.calls or parsed.format_error:
            return parsed
    return ParsedReply(final=text)


def format_help(mode: str) -> str:
    if mode == "text":
        return "Your last reply had no usable tool call and no final answer. " + TEXT_PROTOCOL_INSTRUCTIONS
    return (
        "Your last reply had no usable tool call and no final answer. Call one of the provided tools "
        f"with JSON arguments, or, if the task is complete, reply with text starting with '{FINAL_MARKER}' "
        f"and ending with a line '{RESULT_MARKER} <handle of the final output>'."
    )
