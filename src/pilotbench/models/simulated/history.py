"""The conversation so far as a simulated model re-reads it: every tool call and its result."""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from typing import Any

from ...benchmark.protocol import TOOL_CALL_CLOSE, TOOL_CALL_OPEN
from ...benchmark.types import Message


_RESULT_BLOCK = re.compile(r'<tool_result name="([^"]*)">(.*?)</tool_result>', re.S)


# In process the runner hands the same message list back every turn, one reply and its results longer:
# the reader of that conversation is kept and reads only the new messages. The entry holds the list
# itself (so its id is not reused meanwhile) and the last message read (to see that nothing changed).
_HISTORIES: OrderedDict[int, tuple[list[Message], int, Any, _HistoryReader]] = OrderedDict()
# Both bounds are a few times the conversations a run keeps in flight (256 by default): an entry is
# dropped when its conversation ends with a final answer, the bound only catches conversations that
# end otherwise (turn limit, context, an error). A dropped entry is rebuilt identically when needed.
_HISTORIES_MAX = 1024


def forget_history(messages: list[Message]) -> str | None:
    """Drop what was kept of this conversation for its next turn; its tag, if it had one."""
    hit = _HISTORIES.get(id(messages))
    if hit is not None and hit[0] is messages:
        del _HISTORIES[id(messages)]
        return hit[3].tag
    return None


class _HistoryReader:
    """(tool, arguments as sent, observation) for every tool result, read message by message."""

    __slots__ = ("text_mode", "out", "calls", "pending", "tag")

    def __init__(self, text_mode: bool, tag: str | None = None) -> None:
        self.text_mode = text_mode
        self.tag = tag  # the key of the conversation's intent in its model's cache
        self.out: list[tuple[str, dict | None, dict]] = []
        self.calls: dict[str, tuple[str, dict | None]] = {}
        self.pending: list[dict | None] = []

    def feed(self, messages: list[Message]) -> None:
        text_mode = self.text_mode
        for m in messages:
            role = m.get("role")
            content = _text(m)
            if role == "assistant":
                for c in m.get("tool_calls") or ():
                    f = c.get("function") if isinstance(c, dict) else None
                    if isinstance(f, dict):
                        self.calls[str(c.get("id", ""))] = (str(f.get("name") or ""), _parse_args(f.get("arguments")))
                if text_mode and TOOL_CALL_OPEN in content:
                    self.pending = []
                    for block in re.findall(re.escape(TOOL_CALL_OPEN) + r"(.*?)" + re.escape(TOOL_CALL_CLOSE), content, re.S):
                        try:
                            obj = json.loads(block)
                            self.pending.append(obj.get("arguments") if isinstance(obj, dict) else None)
                        except ValueError:
                            self.pending.append(None)
            elif role == "tool":
                name, args = self.calls.get(str(m.get("tool_call_id", "")), ("", None))
                self.out.append((name, args, _observation(content)))
            elif text_mode and role == "user" and "<tool_result" in content:
                for k, (name, body) in enumerate(_RESULT_BLOCK.findall(content)):
                    args = self.pending[k] if k < len(self.pending) else None
                    self.out.append((name, args if isinstance(args, dict) else None, _observation(body)))


def _history(messages: list[Message], text_mode: bool, tag: str | None = None) -> list[tuple[str, dict | None, dict]]:
    hit = _HISTORIES.get(id(messages))
    if (hit is not None and hit[0] is messages and hit[3].text_mode == text_mode and 0 < hit[1] <= len(messages)
            and messages[hit[1] - 1] is hit[2]):
        reader = hit[3]
        reader.feed(messages[hit[1]:])
        _HISTORIES.move_to_end(id(messages))
    else:
        reader = _HistoryReader(text_mode, tag)
        reader.feed(messages)
    if messages:
        _HISTORIES[id(messages)] = (messages, len(messages), messages[-1], reader)
        if len(_HISTORIES) > _HISTORIES_MAX:
            _HISTORIES.popitem(last=False)
    return list(reader.out)


def _text(message: Message) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def _parse_args(raw: Any) -> dict | None:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _observation(body: str) -> dict:
    try:
        obs = json.loads(body)
    except ValueError:
        return {}
    return obs if isinstance(obs, dict) else {}
