"""Recorded replies of real models, replayed: a responder for the mock server.

A recording (``python -m bench.local_model record``, from the source tree) is a JSON file of
conversations, each a list of replies exactly as a real server sent them: the choice's message,
its finish_reason and the usage. `ReplayResponder` answers the i-th request of a conversation
with its i-th reply, so the tests and a user without a model see the reply shapes open models
really produce (calls written as text, runaway replies cut off at the token limit)::

    pilotbench mock-server --replay tests/fixtures/real_replies/qwen2.5-coder-0.5b.json

Which conversation answers a request: the one named by the request's model (``replay/native``
or just ``native``), else the first recorded in the request's tool mode (tools sent: native).
The turn is the number of assistant messages already in the request, so concurrent
conversations replay independently. Past the end of its recording a conversation ends with a
final answer that says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .benchmark.types import ModelOutput, ToolCall, Usage
from .errors import ConfigError

END_OF_RECORDING = "FINAL ANSWER: the recording ends here."


@dataclass(frozen=True, slots=True)
class RecordedConversation:
    name: str
    tool_mode: str
    replies: tuple[ModelOutput, ...]


def reply_output(reply: Mapping[str, Any]) -> ModelOutput:
    """One recorded reply (``message``, ``finish_reason``, ``usage``) as a ModelOutput."""
    message = reply.get("message") or {}
    calls = []
    for i, tc in enumerate(message.get("tool_calls") or ()):
        fn = tc.get("function") or {}
        args = fn.get("arguments")
        calls.append(ToolCall(str(tc.get("id") or f"call_{i}"), str(fn.get("name") or ""),
                              args if isinstance(args, str) else json.dumps(args if args is not None else {})))
    usage = reply.get("usage") or {}
    return ModelOutput(
        content=message.get("content"),
        tool_calls=tuple(calls),
        reasoning=message.get("reasoning_content"),
        usage=Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
        finish_reason=reply.get("finish_reason"),
    )


def load_recording(path: str | Path) -> dict[str, RecordedConversation]:
    """The conversations of a recording file, by name; a bad file is a one-line ConfigError."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        conversations = {}
        for conv in data["conversations"]:
            name = str(conv["name"])
            mode = conv.get("tool_mode", "native")
            if mode not in ("native", "text"):
                raise ValueError(f"conversation {name!r}: tool_mode {mode!r}")
            conversations[name] = RecordedConversation(name, mode, tuple(reply_output(r) for r in conv["replies"]))
    except FileNotFoundError:
        raise ConfigError(f"recording {p} not found") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"recording {p} is not a recording file: {type(e).__name__}: {e}") from None
    if not conversations:
        raise ConfigError(f"recording {p} holds no conversation")
    return conversations


class ReplayResponder:
    """A mock-server responder (`mock_server.Responder`) answering with recorded replies."""

    def __init__(self, conversations: Mapping[str, RecordedConversation]) -> None:
        self.conversations = dict(conversations)

    @classmethod
    def from_file(cls, path: str | Path) -> ReplayResponder:
        return cls(load_recording(path))

    def model_names(self) -> tuple[str, ...]:
        """The model names that pick a conversation (for the mock server's accepted models)."""
        return tuple(n for name in self.conversations for n in (name, f"replay/{name}"))

    def conversation_for(self, model: str, native: bool) -> RecordedConversation:
        name = model.split("/", 1)[1] if model.startswith("replay/") else model
        conv = self.conversations.get(name)
        if conv is not None:
            return conv
        mode = "native" if native else "text"
        for conv in self.conversations.values():
            if conv.tool_mode == mode:
                return conv
        return next(iter(self.conversations.values()))

    def __call__(
        self, model: str, messages: Sequence[Mapping[str, Any]], tools: Sequence[Any] | None, params: Mapping[str, Any]
    ) -> ModelOutput:
        conv = self.conversation_for(model, bool(tools))
        turn = sum(1 for m in messages if isinstance(m, Mapping) and m.get("role") == "assistant")
        if turn < len(conv.replies):
            return conv.replies[turn]
        return ModelOutput.for_text(END_OF_RECORDING)
