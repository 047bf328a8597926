"""The OpenAI chat-completions wire format, shared by both HTTP paths and free of the SDK.

The SDK provider (`openai_compat`) and the lean aiohttp one (`lean`) speak the same protocol and
keep the same contract: the request body (`request_body`), the parameters a server refuses
(`ParameterMemory`), the answer read as a `ModelOutput` (`_to_output`), and the classification
of an HTTP error answer (`status_error`; the table is in `openai_compat`'s docstring). Nothing
here imports `openai` or `httpx`: the lean path loads without the SDK.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, overload

from ..benchmark.types import ModelOutput, ToolCall, Usage
from ..errors import ConfigError, ContextLengthError, ProviderError
from ..secrets import key_label, redact
from .base import ModelRequest
from .ratelimits import RateLimits, parse_rate_limits

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "PROVIDER_KINDS",
    "ParameterMemory",
    "WireProvider",
    "clean_text",
    "is_context_length",
    "key_label",
    "parse_retry_after",
    "redact",
    "rejected_parameter",
    "request_body",
    "status_error",
    "tell_rate_limits",
    "too_large",
]

log = logging.getLogger(__name__)

PROVIDER_KINDS = ("openai", "azure")
_REASON_CHARS = 300
_REDACT_CHARS = 8192  # an error text is cut to this before redaction (and to _REASON_CHARS after)
# The largest response body read, unless the provider's `max_response_bytes` says otherwise: far
# above any tool-use reply, far below what a server streaming without end would fill memory with.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
# Fields the provider sets itself; a request parameter of the same name is ignored.
_RESERVED = frozenset({"model", "messages", "tools", "timeout", "stream"})


# --------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------


_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_Q = r"['\"`]?"
# Each pattern captures the parameter's name; the first that matches wins.
_REJECTION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # OpenAI: "Unsupported parameter: 'max_tokens' is not supported with this model. ..."
        # OpenAI: "Unsupported value: 'temperature' does not support 0.2 with this model. ..."
        rf"unsupported (?:parameter|value)s?:?\s*{_Q}({_NAME})",
        # Azure OpenAI: "Unrecognized request argument(s) supplied: top_p[, ...]"
        rf"unrecognized request arguments? supplied:?\s*{_Q}({_NAME})",
        # Gateways and open-model servers: "... does not support 'temperature'",
        # "does not support the parameter `logprobs`", "doesn't support the 'top_p' parameter"
        rf"(?:does not|doesn't|do not) support (?:the )?(?:parameters? )?{_Q}({_NAME}){_Q}(?= parameter|['\"`]|\s*$|[.,;:)])",
        # "'temperature' is not supported", "temperature is not supported with this model"
        rf"{_Q}({_NAME}){_Q} (?:parameter )?is (?:not supported|unsupported|not allowed|not permitted)",
        # pydantic-based servers (vLLM, Mistral): "... ('body', 'top_k') ... Extra inputs are not permitted"
        rf"\(\s*['\"]body['\"]\s*,\s*['\"]({_NAME})['\"]\s*\).*extra (?:inputs|fields) (?:are )?not permitted",
        # Gemini's OpenAI endpoint: 'Invalid JSON payload received. Unknown name "top_k": Cannot find field.'
        rf"unknown name {_Q}({_NAME}){_Q}",
    )
)
_NOT_PARAMETERS = frozenset({"this", "that", "it", "model", "the", "value", "request", "parameter"})


def rejected_parameter(message: str) -> str | None:
    """The request parameter a 400 message says the model does not accept, or None.

    Only "this parameter is not accepted at all" counts; an out-of-range value
    ("Invalid value for 'temperature'") is a real configuration error and returns None.
    """
    if not message:
        return None
    for pattern in _REJECTION_PATTERNS:
        match = pattern.search(message)
        if match:
            name = match.group(1).rstrip(".-")
            if name and name.lower() not in _NOT_PARAMETERS:
                return name
    return None


def _renamed_to(message: str, name: str) -> str | None:
    """The parameter a rejection message asks to use instead of `name`, if it names one we know."""
    if name == "max_tokens" and "max_completion_tokens" in message:
        return "max_completion_tokens"
    return None


def _header(headers: Any, name: str) -> str | None:
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    if value is None and isinstance(headers, Mapping):  # a plain dict is case-sensitive
        lowered = name.lower()
        for k, v in headers.items():
            if isinstance(k, str) and k.lower() == lowered:
                return v
    return value


def _seconds(value: float) -> float | None:
    return value if math.isfinite(value) and value >= 0 else None


def parse_retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait before retrying, from ``retry-after-ms`` then ``Retry-After``.

    ``Retry-After`` may be a number of seconds or an HTTP date (then: seconds from `now`,
    a Unix time defaulting to the wall clock, never negative). None if absent or unreadable.
    """
    if headers is None:
        return None
    ms = _header(headers, "retry-after-ms")
    if ms is not None:
        try:
            seconds = _seconds(float(ms) / 1000.0)
        except (TypeError, ValueError):
            seconds = None
        if seconds is not None:
            return seconds
    value = _header(headers, "retry-after")
    if value is None:
        return None
    value = str(value).strip()
    try:
        return _seconds(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:  # pragma: no cover - older Pythons returned None
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=datetime.timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


# --------------------------------------------------------------------------------------------
# Response mapping
# --------------------------------------------------------------------------------------------


def _field(obj: Any, name: str) -> Any:
    """`obj.name`, or `obj[name]` for dicts, or an SDK model's extra field; None when absent."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None)
        if extra:
            value = extra.get(name)
    return value


def _text(value: Any) -> str | None:
    """Message text; some gateways send a list of content parts instead of a string."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            text = part if isinstance(part, str) else _field(part, "text")
            if isinstance(text, str):
                parts.append(text)
        return "".join(parts)
    return str(value)


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "{}"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


@overload
def _utf8(text: str) -> str: ...
@overload
def _utf8(text: None) -> None: ...
def _utf8(text: str | None) -> str | None:
    """`text` with lone surrogates (JSON "\\ud800" escapes) replaced by U+FFFD. The SDK encodes
    request bodies as strict UTF-8, so one such character in a reply made every later request of
    the conversation fail."""
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def _to_output(response: Any) -> ModelOutput:
    choices = _field(response, "choices")
    if not choices:
        raise ProviderError("transient", "malformed response: no choices")
    choice = choices[0]
    message = _field(choice, "message")
    if message is None:
        raise ProviderError("transient", "malformed response: choice without a message")

    calls: list[ToolCall] = []
    for i, tc in enumerate(_field(message, "tool_calls") or ()):
        function = _field(tc, "function") or _field(tc, "custom")
        arguments = _field(function, "arguments")
        if arguments is None:
            arguments = _field(function, "input")
        calls.append(
            ToolCall(
                id=_utf8(str(_field(tc, "id") or f"call_{i}")),
                name=_utf8(str(_field(function, "name") or "")),
                arguments=_utf8(_arguments(arguments)),
            )
        )

    reasoning = _field(message, "reasoning_content") or _field(message, "reasoning")
    usage = _field(response, "usage")
    finish = _field(choice, "finish_reason")
    return ModelOutput(
        content=_utf8(_text(_field(message, "content"))),
        tool_calls=tuple(calls),
        reasoning=_utf8(_text(reasoning)) or None,
        usage=Usage(_count(_field(usage, "prompt_tokens")), _count(_field(usage, "completion_tokens")),
                    reported=_field(usage, "prompt_tokens") is not None or _field(usage, "completion_tokens") is not None),
        finish_reason=str(finish) if finish is not None else None,
    )

def _is_quota(error: Mapping[str, Any], reason: str, *markers: Any) -> bool:
    """A 429 that means the key's quota is spent (not a rate limit): by the error's code or type
    (and any further `markers`), or by its message."""
    if any(isinstance(m, str) and m.lower() == "insufficient_quota" for m in (error.get("code"), error.get("type"), *markers)):
        return True
    text = reason.lower()
    return "insufficient_quota" in text or "exceeded your current quota" in text


def status_error(
    status: int, reason: str, *, key: str, quota: bool, headers: Any, codes: Iterable[Any] = ()
) -> ProviderError:
    """The classification of an HTTP error answer (the table in the module docstring), for both
    HTTP paths. `reason` is the server's message, already redacted; `key` the key's label;
    `quota` whether a 429 is about quota; `headers` the answer's, for Retry-After (read on every
    retried status: 429, 503 and the other transient ones, RFC 9110 10.2.3); `codes` the error
    object's ``code`` and ``type``, where the server sends them."""
    message = f"HTTP {status}: {reason}"
    if status in (400, 413, 422) and is_context_length(reason, codes):
        return ContextLengthError(f"context length exceeded: {message}", status=status)
    if status == 429:
        if quota:
            return ProviderError("quota", f"quota exhausted for key {key}: {message}", status=status)
        return ProviderError("rate_limit", message, status=status, retry_after=parse_retry_after(headers))
    if status == 402:
        return ProviderError("quota", f"payment required for key {key}: {message}", status=status)
    if status in (401, 403):
        return ProviderError("fatal", f"key {key} refused: {message}", status=status, scope="lane")
    if status == 404:
        return ProviderError("fatal", f"no such model or deployment: {message}", status=status, scope="model")
    if status == 413 or (status in (400, 422) and _is_request_specific(reason)):
        # Content filters and context-length errors concern this conversation, not the model.
        return ProviderError("fatal", f"request refused: {message}", status=status, scope="test")
    if status in (400, 422):
        return ProviderError("fatal", f"invalid request: {message}", status=status, scope="model")
    return ProviderError("transient", message, status=status, retry_after=parse_retry_after(headers))


def too_large(cap: int) -> ProviderError:
    """The error of a response body longer than `cap` bytes (reading stopped at the cap)."""
    size = f"{cap // 1048576} MiB" if cap % 1048576 == 0 else f"{cap} bytes"
    return ProviderError("transient", f"response too large: the body exceeded {size} (max_response_bytes); stopped reading it")

def tell_rate_limits(listener: Callable[[RateLimits], None] | None, headers: Any, status: int = 200) -> None:
    """Hand the limits stated in an answer's headers to `listener`, if both exist."""
    if listener is not None:
        stated = parse_rate_limits(headers, refused=status == 429)
        if stated is not None:
            if stated.refused:
                stated = dataclasses.replace(stated, retry_after=parse_retry_after(headers))
            listener(stated)


def clean_text(text: str, secrets: Iterable[str]) -> str:
    """A server's or a library's text as pilotbench keeps it: every shape of the keys redacted
    (`secrets.redact`), on one line, at most _REASON_CHARS characters."""
    return _short(redact(text[:_REDACT_CHARS], secrets))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."

def request_body(request: ModelRequest, params: Mapping[str, Any]) -> dict[str, Any]:
    """The chat-completions body of both HTTP paths: model, messages, the parameters as sent now
    (`ParameterMemory.outgoing`), the tools, then ``extra_body`` merged over all of it."""
    body: dict[str, Any] = {"model": request.deployment, "messages": request.messages}
    extra: Mapping[str, Any] | None = None
    for name, value in params.items():
        if name == "extra_body" and isinstance(value, Mapping):
            extra = value
        else:
            body[name] = value
    if request.tools:
        body["tools"] = request.tools
    if extra:
        body.update(extra)
    return body

class ParameterMemory:
    """The request parameters a server refuses, for both HTTP paths: the configured drops, and those
    learned from its 400s (dropped, or renamed where the message names the replacement)."""

    __slots__ = ("dropped", "renamed")

    def __init__(self, drop_params: Iterable[str] = ()) -> None:
        self.dropped: set[str] = set(drop_params)
        self.renamed: dict[str, str] = {}

    def outgoing(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """`params` as they are sent now: reserved names out, renames applied, drops left out."""
        out: dict[str, Any] = {}
        dropped, renamed = self.dropped, self.renamed
        for name, value in params.items():
            if name in _RESERVED:
                continue
            name = renamed.get(name, name)
            if name not in dropped:
                out[name] = value
        return out

    def learn(self, message: str, code: Any, param: Any, sent: Mapping[str, Any], retried: set[str], where: str) -> str | None:
        """If a 400 (`message`, error `code` and `param`) rejects a parameter we sent and have not
        retried yet, remember it and return its name."""
        name = rejected_parameter(message)
        if name is None and code in ("unsupported_parameter", "unsupported_value") and isinstance(param, str):
            name = param
        if name is None or name not in sent or name in retried:
            return None
        original = next((k for k, v in self.renamed.items() if v == name), name)
        replacement = _renamed_to(message, name)
        if replacement is not None and replacement not in self.dropped:
            self.renamed[original] = replacement
        else:
            self.dropped.add(name)
        log.warning(
            "%s: the server rejected parameter %r; %s from now on",
            where,
            name,
            f"sending it as {replacement!r}" if replacement else "no longer sending it",
        )
        return name

_REQUEST_SPECIFIC = (
    "content_filter", "content management policy", "responsibleaipolicyviolation", "too many tokens",
)
# A conversation longer than the model's context, in the wordings servers use:
#   OpenAI, Azure OpenAI: code "context_length_exceeded", "This model's maximum context length is
#     8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the
#     messages."
#   vLLM: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens
#     (...)"; V1 engines: "The decoder prompt (length 9000) is longer than the maximum model length
#     of 8192."
#   llama.cpp: "request (8291 tokens) exceeds the available context size (8192 tokens)", type
#     "exceed_context_size_error"
#   gateways in front of other APIs: "prompt is too long: 210000 tokens > 200000 maximum",
#     "... exceeds the model's context window", "Input validation error: `inputs` tokens +
#     `max_new_tokens` must be <= 4096" (TGI)
_CONTEXT_LENGTH = (
    "context_length_exceeded", "maximum context length", "exceeds the available context size",
    "exceed_context_size", "maximum model length", "context window", "context length exceeded",
    "exceeds the context length", "prompt is too long", "`max_new_tokens` must be <=",
)


def is_context_length(reason: str, codes: Iterable[Any] = ()) -> bool:
    """Whether an error answer (its message and its ``code``/``type``) says the conversation does
    not fit the model's context."""
    if any(isinstance(c, str) and c.lower() in ("context_length_exceeded", "exceed_context_size_error") for c in codes):
        return True
    text = reason.lower()
    return any(marker in text for marker in _CONTEXT_LENGTH)


def _is_request_specific(reason: str) -> bool:
    text = reason.lower()
    return any(marker in text for marker in _REQUEST_SPECIFIC)


# --------------------------------------------------------------------------------------------
# What both HTTP paths set up alike
# --------------------------------------------------------------------------------------------


class WireProvider:
    """The common set-up of the two OpenAI-protocol providers (`openai_compat.OpenAICompatProvider`
    on the SDK, `lean.LeanOpenAIProvider` on aiohttp): the checks of kind, key and Azure
    api_version, the key kept only as its label and as a secret to redact, the parameters the
    server refuses, the response-body cap and the listener for stated rate limits. A subclass adds
    its transport: `generate`, `classify` and `aclose`."""

    def __init__(
        self,
        *,
        kind: str,
        base_url: str,
        api_key: str,
        api_version: str | None = None,
        drop_params: Iterable[str] = (),
        max_response_bytes: int | None = None,
    ) -> None:
        if kind not in PROVIDER_KINDS:
            raise ConfigError(f"unknown provider kind {kind!r} (expected one of {', '.join(PROVIDER_KINDS)})")
        if not api_key:
            raise ConfigError(f"{kind} provider at {base_url}: empty API key")
        if kind == "azure" and not api_version:
            raise ConfigError(f"azure provider at {base_url}: api_version is required")
        self.kind = kind
        self.base_url = base_url
        self.api_version = api_version
        self.key_label = key_label(api_key)
        self._secrets = (api_key,)
        self._memory = ParameterMemory(drop_params)
        self.max_response_bytes = max_response_bytes or DEFAULT_MAX_RESPONSE_BYTES
        self.rate_limit_listener: Callable[[RateLimits], None] | None = None
        """Told the limits each answer states in its ``x-ratelimit-*`` headers (the runner's lane)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, base_url={self.base_url!r}, key={self.key_label})"

    @property
    def rejected_params(self) -> frozenset[str]:
        """Parameters not sent: configured drops plus those the server rejected so far."""
        return frozenset(self._memory.dropped)

    def _params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._memory.outgoing(params)

    def _clean(self, text: str) -> str:
        return clean_text(text, self._secrets)

    def _decode(self, raw: bytes) -> Any:
        """A successful answer's body as JSON; a body that is not is a transient `ProviderError`."""
        try:
            return json.loads(raw)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise ProviderError("transient", f"malformed response: {type(exc).__name__}: {self._clean(str(exc))}") from None

    def _learn(self, message: str, code: Any, param: Any, sent: Mapping[str, Any], retried: set[str]) -> str | None:
        """`ParameterMemory.learn` for this endpoint and key (the warning names both)."""
        return self._memory.learn(message, code, param, sent, retried, f"{self.base_url} ({self.key_label})")
