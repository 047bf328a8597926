"""Reading what a model said: tool calls (native or written as text) and completion signals.

Everything that parses model output lives here, so fuzzing one module covers it all. Parsers
never raise on model text: every outcome is classified as calls, a final answer, or a format error
(a truncated reply is a format error too, flagged `truncated`).

Calls written as text are calls, in both tool modes. Open models served without a tool-call
parser (the default of most vLLM, Ollama and llama.cpp set-ups) never return `tool_calls`: they
write the call in their chat template's own form. These shapes are read:

- a JSON object ``{"name": ..., "arguments"|"parameters": {...}}``, bare or in a ```json fence,
  one or several in a reply, a JSON list of them, ``{"tool_calls": [...]}``, or the OpenAI-like
  ``{"function": {"name": ..., "arguments": ...}}``; also after a "FINAL ANSWER:" prefix, and with
  Python's ``True``/``False``/``None`` where JSON has ``true``/``false``/``null`` (small models
  write dict literals), or missing up to three closing braces at its very end (a call to an offered
  tool only);
- Hermes/Qwen ``<tool_call>{...}</tool_call>`` blocks;
- Llama 3 ``<|python_tag|>{"name": ..., "parameters": {...}}`` (several separated by ``;``);
- Mistral ``[TOOL_CALLS][{...}, ...]`` and ``[TOOL_CALLS]name[ARGS]{...}``.

A JSON object naming a tool that is not offered is still a call (it fails as an unknown tool: a
tool-selection error), never a final answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from .types import ModelOutput, ToolCall

# How replies are read. Part of the suite version (`tasks.suite_version`), so results read by
# different rules are never pooled: 1 = calls written as text, truncation (suite v2); 2 = a call to
# an offered tool missing only its closing braces at the end is a call, not a format error; 3 = every
# RESULT line of a final answer is read (several distinct handles report none), an answer without a
# RESULT line reports the one handle it names in plain words, and an answer saying the task failed
# declares no completion (`read_final`).
PROTOCOL_REVISION = 3

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
# A `RESULT:` marker and the rest of its line, wherever it stands ("FINAL ANSWER: RESULT: h_..." too).
_RESULT_LINE = re.compile(r"\bRESULT[*_`]*[ \t]*:[ \t]*(.*?)[ \t]*$", re.M | re.I)
_HANDLE = re.compile(r"\bh_[0-9a-f]{8}\b")


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """A model reply, classified: `calls` to run, or a `final` answer, or a `format_error`.

    `from_text`: the calls were written as text although native tools were offered.
    `truncated`: the reply was cut off at the token limit (always a format error).
    """

    calls: tuple[ToolCall, ...] = ()
    final: str | None = None
    format_error: str | None = None
    from_text: bool = False
    truncated: bool = False


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


@dataclass(frozen=True, slots=True)
class FinalReport:
    """What a final answer reports (see `read_final`).

    `handle`: the one result handle it reports, or None. `handles`: the distinct handles it reports,
    in order (several means no single result). `form`: "result_line" when read from `RESULT:` lines,
    "plain" when no RESULT line names a handle and the answer names its one handle in plain words,
    None when it reports no single handle. `failed`: the answer says the task failed or could not be completed.
    """

    handle: str | None = None
    handles: tuple[str, ...] = ()
    form: str | None = None
    failed: bool = False

    @property
    def declares_completion(self) -> bool:
        return self.handle is not None and not self.failed


# A statement that the task as a whole was not done: about the task, the workflow, the work, the
# pipeline (or the final step, all the steps), never about one call, request or job that failed and
# was retried ("... failed at first / once / the first time" is no failure). Read after contractions
# are spelt out ("couldn't" -> "could not").
_TASK = r"(?:(?:the|this|your|my|our|whole|entire)\s+){0,2}(?:task|workflow|work|pipeline|goal)"
_OBJECT = _TASK + r"|it|all\s+(?:of\s+)?the\s+steps|every\s+step|the\s+(?:final|last|remaining)\s+steps?"
_DONE = (r"(?:complete|completed|finish|finished|accomplish|accomplished|carry\s+out|carried\s+out|done|do|"
         r"fulfil|fulfill|fulfilled|succeed|succeeded)")
_NOT = r"(?:(?:could|can|was|were|am|is|are|did|do|has|have|had|will|would)\s+not|unable\s+to|failed\s+to|not\s+able\s+to)"
_AT_FIRST = r"(?!\s+(?:at\s+first|initially|the\s+first\s+time|on\s+the\s+first\s+(?:try|attempt)|once|before))"
_FAILED = re.compile(
    r"\b" + _NOT + r"\s+(?:be\s+|been\s+)?(?:fully\s+|successfully\s+|entirely\s+)?" + _DONE
    + r"\s+(?:" + _OBJECT + r")\b" + _AT_FIRST  # I could not complete the task / failed to finish the workflow
    + r"|\b" + _NOT + r"\s+(?:fully\s+|successfully\s+)?" + _DONE + r"(?=\s*(?:[.!;:,]|$))"  # ... could not finish.
    + r"|\b" + _TASK + r"\s+" + _NOT + r"\s+(?:be\s+|been\s+)?(?:fully\s+|successfully\s+|entirely\s+)?" + _DONE
    + r"\b" + _AT_FIRST
    + r"|\b" + _TASK + r"\s+(?:has\s+|have\s+|had\s+)?failed\b" + _AT_FIRST
    + r"|\b" + _TASK + r"\s+(?:is|was|remains|remained|stays|ended)\s+(?:only\s+)?(?:incomplete|unfinished|"
    r"not\s+(?:complete|completed|finished|done)|partially\s+(?:complete|completed|done))\b",
    re.I | re.M,
)
_CONTRACTIONS = re.compile(r"\b(ca|could|would|did|does|do|was|were|is|are|has|have|had|wo)n['\u2019]t\b|\bcannot\b", re.I)


def _spelt_out(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        word = m.group(1)
        if word is None:
            return "can not"
        return {"ca": "can", "wo": "will"}.get(word.lower(), word) + " not"

    return _CONTRACTIONS.sub(one, text)


_FAILED_SCAN = 8000  # characters read at each end of a longer answer (keeps adversarial text cheap)


def says_failed(text: str | None) -> bool:
    """Whether an answer says the task failed or could not be completed (see `_FAILED`). Of a very
    long answer, its first and last `_FAILED_SCAN` characters are read."""
    if not text:
        return False
    if len(text) > 2 * _FAILED_SCAN:
        text = text[:_FAILED_SCAN] + "\n" + text[-_FAILED_SCAN:]
    return _FAILED.search(_spelt_out(text)) is not None


def read_final(text: str | None) -> FinalReport:
    """What a final answer reports, by these rules (docs/scoring.md, "The final answer"):

    - every `RESULT:` line (a `RESULT:` marker and the rest of its line, wherever it stands) is read:
      the handles they name, all together, are the answer's result; one distinct handle is a result,
      several are none (a list of candidates is not an answer);
    - an answer whose `RESULT:` lines name no handle (or that has none) reports a result in plain words
      when it names exactly one distinct handle anywhere ("The results are stored in the `h_0af9be40`
      handle");
    - an answer that says the task failed or could not be completed declares no completion, whatever
      handle it names.
    """
    if not text:
        return FinalReport()
    on_lines = [h for line in _RESULT_LINE.findall(text) for h in _HANDLE.findall(line)]
    handles = tuple(dict.fromkeys(on_lines or _HANDLE.findall(text)))
    form = ("result_line" if on_lines else "plain") if len(handles) == 1 else None
    return FinalReport(handles[0] if len(handles) == 1 else None, handles, form, says_failed(text))


def result_handle(text: str | None) -> str | None:
    """The one handle a final answer reports as its result, or None (see `read_final`)."""
    return read_final(text).handle


def declares_completion(text: str | None) -> bool:
    """A final answer declares completion when it reports one result handle and does not say the
    task failed (see `read_final`): completion is read from the handle reported, not from wording
    alone: "the task is complete" with no handle is not a declaration."""
    return read_final(text).declares_completion


# ------------------------------------------------------------------------------ calls written as text

PYTHON_TAG = "<|python_tag|>"
MISTRAL_TOOL_CALLS = "[TOOL_CALLS]"

# finish_reason values meaning "cut off at the token limit": OpenAI-compatible servers (OpenAI,
# Azure, vLLM, llama.cpp, Ollama's /v1) say "length"; Anthropic-style gateways "max_tokens";
# Gemini-style "MAX_TOKENS"; a few "max_output_tokens" or "model_length" (vLLM, context full).
TRUNCATED_FINISH_REASONS = frozenset({"length", "max_tokens", "max_output_tokens", "model_length", "token_limit"})

_LOOKS_LIKE_CALL = re.compile(r"^(?:" + re.escape(FINAL_MARKER) + r")?\s*(?:```[a-zA-Z]*\s*)?[\[{]", re.I)
_MISTRAL_NAMED = re.compile(r"\[TOOL_CALLS\]\s*([A-Za-z_][\w.\-]*)\s*(?:\[CALL_ID\]\s*\w+\s*)?\[ARGS\]\s*")
_DECODER = json.JSONDecoder()
_JSON_START = re.compile(r"\{|\[(?=\s*\{)")
_MAX_JSON_ATTEMPTS = 256  # JSON starts tried per reply: keeps adversarial text linear enough
_MAX_CLOSERS = 3  # a call missing more closing braces than this at its end is not repaired
_MAX_LITERAL_RETRIES = 8  # of those, how many are retried with Python literals made JSON
_PY_WORDS = {"True": "true", "False": "false", "None": "null"}
_PY_WORD = re.compile(r'"(?:[^"\\]|\\.)*"|\b(True|False|None)\b', re.S)
_HELP_ECHO_CHARS = 2000  # how much of a truncated reply goes back into the conversation


def is_truncated(finish_reason: str | None) -> bool:
    """Whether a finish_reason says the reply was cut off at the token limit."""
    return isinstance(finish_reason, str) and finish_reason.strip().lower() in TRUNCATED_FINISH_REASONS


# ------------------------------------------------------------------------------ JSON in text


def _json_values(text: str) -> Iterator[Any]:
    """The JSON objects (and lists of objects) found in `text`, left to right, not nested."""
    pos, attempts, retries = 0, 0, 0
    while attempts < _MAX_JSON_ATTEMPTS:
        m = _JSON_START.search(text, pos)
        if m is None:
            return
        attempts += 1
        start = m.start()
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            value, end = None, -1
            if retries < _MAX_LITERAL_RETRIES and _PY_WORD.search(text, start) is not None:
                retries += 1
                try:  # True/False/None outside strings become JSON literals of the same length
                    value, offset = _DECODER.raw_decode(_json_literals(text[start:]))
                    end = start + offset
                except (ValueError, RecursionError):
                    end = -1
            if end < 0:
                pos = start + 1
                continue
        yield value
        pos = end


def _closed(text: str, most: int = _MAX_CLOSERS) -> str | None:
    """`text` with the braces and brackets still open at its end closed, when that is all it
    lacks (small models often drop the last ``}`` of a call): None if a string is left open, a
    closer does not match, nothing is open, or more than `most` are. A trailing fence is kept out."""
    body = text
    fence = body.rfind("```")
    if fence > 0 and not body[fence + 3:].strip():
        body = body[:fence].rstrip()
    stack: list[str] = []
    in_string = escaped = False
    for ch in body:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if not stack or stack.pop() != ch:
                return None
    if in_string or not stack or len(stack) > most:
        return None
    return body + "".join(reversed(stack))


def _json_literals(text: str) -> str:
    """Python's True/False/None outside double-quoted strings as JSON's true/false/null."""
    return _PY_WORD.sub(lambda m: _PY_WORDS[m.group(1)] if m.group(1) else m.group(0), text)


def _arguments_text(args: Any) -> str | None:
    if isinstance(args, str):
        return args
    try:
        return json.dumps(args)
    except (TypeError, ValueError, RecursionError):
        return None


def _call_from(obj: Any, offered: Collection[str] | None, *, explicit: bool) -> ToolCall | None:
    """`obj` as a call, if it has a call's shape. `explicit`: inside a call tag, where a name is
    enough; in free text a name needs arguments with it, or must name an offered tool."""
    if not isinstance(obj, dict):
        return None
    fn = obj.get("function")
    if isinstance(fn, dict) and isinstance(fn.get("name"), str):
        obj = fn
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    key = "arguments" if "arguments" in obj else "parameters" if "parameters" in obj else None
    if key is None and not explicit and (offered is None or name not in offered):
        return None
    args = _arguments_text(obj[key]) if key is not None else "{}"
    if args is None:
        return None
    return ToolCall(id="", name=name.strip(), arguments=args)


def _calls_in_value(value: Any, offered: Collection[str] | None, explicit: bool) -> list[ToolCall]:
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    items = value if isinstance(value, list) else [value]
    calls = [_call_from(v, offered, explicit=explicit) for v in items]
    return [c for c in calls if c is not None]


def _calls_in(text: str, offered: Collection[str] | None, *, explicit: bool = False) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for value in _json_values(text):
        calls.extend(_calls_in_value(value, offered, explicit))
    return calls


def _numbered(calls: list[ToolCall]) -> tuple[ToolCall, ...]:
    return tuple(ToolCall(f"text_{i}", c.name, c.arguments) for i, c in enumerate(calls))


# ------------------------------------------------------------------------------ the parsers


def parse_text_reply(content: str | None, offered: Collection[str] | None = None) -> ParsedReply:
    """Calls written as text (the shapes in the module docstring), or a final answer.

    `offered`: the tool names on offer; a bare ``{"name": ...}`` without arguments is a call only
    when it names one of them."""
    text = (content or "").strip()
    if not text:
        return ParsedReply(format_error="empty reply")
    if TOOL_CALL_OPEN in text:
        calls: list[ToolCall] = []
        for m in _BLOCK.finditer(text):
            body = m.group(1).strip()
            fence = _FENCE.match(body)
            found = _calls_in(fence.group(1) if fence else body, offered, explicit=True)
            if not found:
                return ParsedReply(format_error="a <tool_call> block is not valid JSON with a name and arguments")
            calls.extend(found)
        return ParsedReply(calls=_numbered(calls))
    if PYTHON_TAG in text:
        found = _calls_in(text.split(PYTHON_TAG, 1)[1], offered, explicit=True)
        if not found:
            return ParsedReply(format_error="a <|python_tag|> call is not JSON with a name and parameters")
        return ParsedReply(calls=_numbered(found))
    if MISTRAL_TOOL_CALLS in text:
        found = _mistral_calls(text, offered)
        if not found:
            return ParsedReply(format_error="a [TOOL_CALLS] call is not JSON with a name and arguments")
        return ParsedReply(calls=_numbered(found))
    found = _calls_in(text, offered)
    if found:
        return ParsedReply(calls=_numbered(found))
    if _LOOKS_LIKE_CALL.match(text) and '"name"' in text:
        closed = _closed(text)
        repaired = _calls_in(closed, offered) if closed is not None and offered is not None else []
        if repaired and all(c.name in offered for c in repaired):  # type: ignore[operator]
            return ParsedReply(calls=_numbered(repaired))
        return ParsedReply(format_error="the reply looks like a tool call but is not valid JSON")
    return ParsedReply(final=text)


def _mistral_calls(text: str, offered: Collection[str] | None) -> list[ToolCall]:
    calls: list[ToolCall] = []
    named = list(_MISTRAL_NAMED.finditer(text))
    if named:
        for m in named:
            try:
                args, _ = _DECODER.raw_decode(text, m.end())
            except (ValueError, RecursionError):
                return []
            args_text = _arguments_text(args)
            if args_text is None:
                return []
            calls.append(ToolCall("", m.group(1), args_text))
        return calls
    return _calls_in(text.split(MISTRAL_TOOL_CALLS, 1)[1], offered, explicit=True)


def parse_native_reply(output: ModelOutput, offered: Collection[str] | None = None) -> ParsedReply:
    """Native function calling: tool_calls if any; else calls written as text in the content
    (`from_text`); else the content is the final answer."""
    if output.tool_calls:
        return ParsedReply(calls=output.tool_calls)
    text = (output.content or "").strip()
    if not text:
        return ParsedReply(format_error="empty reply" if not output.reasoning else "reasoning only, no answer")
    parsed = parse_text_reply(text, offered)
    if parsed.calls:
        return ParsedReply(calls=parsed.calls, from_text=True)
    return parsed


def parse_reply(output: ModelOutput, mode: str, offered: Collection[str] | None = None) -> ParsedReply:
    """One reply, classified once: truncated (a format error whatever it holds), else by mode."""
    if is_truncated(output.finish_reason):
        return ParsedReply(format_error="the reply was cut off at the token limit", truncated=True)
    if mode == "native":
        return parse_native_reply(output, offered)
    return parse_text_reply(output.content, offered)


def truncated_echo(content: str | None) -> str:
    """What of a truncated reply goes back into the conversation: its start, marked as cut."""
    text = content or ""
    if len(text) <= _HELP_ECHO_CHARS:
        return text
    return text[:_HELP_ECHO_CHARS] + " [...]"


def truncation_help(mode: str) -> str:
    """The format-help turn after a reply cut off at the token limit."""
    return (
        "Your last reply was cut off at the length limit before it ended, so it was not used. "
        "Reply briefly: one tool call at a time, without explanations. " + format_help(mode)
    )


def format_help(mode: str) -> str:
    if mode == "text":
        return "Your last reply had no usable tool call and no final answer. " + TEXT_PROTOCOL_INSTRUCTIONS
    return (
        "Your last reply had no usable tool call and no final answer. Call one of the provided tools "
        f"with JSON arguments, or, if the task is complete, reply with text starting with '{FINAL_MARKER}' "
        f"and ending with a line '{RESULT_MARKER} <handle of the final output>'."
    )
