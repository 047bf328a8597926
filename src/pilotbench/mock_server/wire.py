"""The wire format: completion bodies, error bodies, Retry-After headers, usage estimates."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from pilotbench.benchmark.types import ModelOutput, Usage

__all__ = ["completion_body"]

_JSON = "application/json"
_TOOLS_KEY = b'"tools":'
_TOOLS_CACHE_SIZE = 8
_TOOLS_CACHE_MIN_BYTES = 512
_DECODER = json.JSONDecoder()


def _fmt_seconds(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds == int(seconds):
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".") or "0"


def _error(
    status: int,
    message: str,
    type_: str,
    code: str | None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = json.dumps({"error": {"message": message, "type": type_, "param": None, "code": code}})
    return web.Response(status=status, text=body, content_type=_JSON, headers=headers)


def _retry_headers(seconds: float) -> dict[str, str]:
    return {"Retry-After": _fmt_seconds(seconds), "retry-after-ms": str(int(round(seconds * 1000)))}


def _estimate_usage(raw_len: int, output: ModelOutput) -> Usage:
    if output.usage.prompt_tokens or output.usage.completion_tokens:
        return output.usage
    out_chars = len(output.content or "") + len(output.reasoning or "")
    for tc in output.tool_calls:
        out_chars += len(tc.name) + len(tc.arguments)
    return Usage(prompt_tokens=max(1, raw_len // 4), completion_tokens=max(1, out_chars // 4))


def completion_body(
    output: ModelOutput, model: str, completion_id: str, created: int, usage: Usage | None = None
) -> dict[str, Any]:
    """The ``chat.completion`` JSON object for one `ModelOutput`."""
    message: dict[str, Any] = {"role": "assistant", "content": output.content}
    if output.tool_calls:
        message["tool_calls"] = [
            {
                "id": tc.id or f"call_{i}",
                "type": "function",
                "function": {"name": tc.name, "arguments": tc.arguments},
            }
            for i, tc in enumerate(output.tool_calls)
        ]
    if output.reasoning:
        message["reasoning_content"] = output.reasoning
    finish = output.finish_reason or ("tool_calls" if output.tool_calls else "stop")
    u = usage or output.usage
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens,
        },
    }



def context_refusal(wording: str, tokens: int, limit: int, what: str = "tokens") -> web.Response:
    """The 400 a server answers to a conversation longer than the model's context, worded as
    OpenAI / Azure OpenAI, vLLM or llama.cpp word it."""
    if wording == "llamacpp":
        return _error(400, f"request ({tokens} {what}) exceeds the available context size ({limit} {what}), "
                           "try increasing it", "exceed_context_size_error", None)
    if wording == "vllm":
        return _error(400, f"This model's maximum context length is {limit} {what}. However, you requested "
                           f"{tokens} {what} in the messages. Please reduce the length of the messages.",
                      "BadRequestError", None)
    return _error(400, f"This model's maximum context length is {limit} {what}. However, your messages resulted "
                       f"in {tokens} {what}. Please reduce the length of the messages.",
                  "invalid_request_error", "context_length_exceeded")
