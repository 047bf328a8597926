"""A test's conversation as the store keeps it: compressed JSON in one text column.

`--transcripts` chooses how much is kept:

- `full` (default): every message, from the system and user prompt to the final answer: each
  assistant text, its tool calls with arguments, each tool result and each format-help turn.
- `calls`: the same turns without the opening prompt (the viewer rebuilds the prompt from the
  test's spec, which is deterministic for a given suite version).
- `none`: nothing.

The column holds `z1:` followed by base64 of zlib-compressed JSON, so both stores take it as
plain TEXT. Decoding never raises on a damaged value: it returns None.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from typing import Any

TRANSCRIPT_MODES = ("none", "calls", "full")
DEFAULT_TRANSCRIPTS = "full"
_PREFIX = "z1:"
_LEVEL = 6  # zlib's default: within a few µs of level 1 on a transcript, and a fifth smaller
_encode_json = json.JSONEncoder(separators=(",", ":"), default=str, check_circular=False, ensure_ascii=False).encode


def encode_transcript(messages: Sequence[dict[str, Any]], mode: str, prompt_messages: int = 0) -> str | None:
    """The stored form of a conversation; `prompt_messages` is how many opening messages are the prompt."""
    if mode == "none":
        return None
    if mode not in TRANSCRIPT_MODES:
        raise ValueError(f"unknown transcripts mode {mode!r}; choose from {', '.join(TRANSCRIPT_MODES)}")
    kept = list(messages) if mode == "full" else list(messages[prompt_messages:])
    doc = {"mode": mode, "prompt_messages": prompt_messages if mode == "full" else 0, "messages": kept}
    raw = zlib.compress(_encode_json(doc).encode("utf-8"), _LEVEL)
    return _PREFIX + base64.b64encode(raw).decode("ascii")


def decode_transcript(value: str | bytes | None) -> dict[str, Any] | None:
    """{"mode", "prompt_messages", "messages"} from a stored value, or None if absent or unreadable."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("ascii", "replace")
    if not isinstance(value, str) or not value.startswith(_PREFIX):
        return None
    try:
        doc = json.loads(zlib.decompress(base64.b64decode(value[len(_PREFIX):], validate=True)))
    except (ValueError, zlib.error, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        return None
    doc.setdefault("mode", "full")
    doc.setdefault("prompt_messages", 0)
    return doc
