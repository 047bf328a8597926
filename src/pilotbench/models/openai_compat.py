"""Providers that speak the OpenAI chat-completions protocol: OpenAI, Azure OpenAI, and gateways.

One `OpenAICompatProvider` serves one (endpoint, key) pair and owns one HTTP client for its
whole life. It only translates: a `ModelRequest` into one chat-completions call, the answer into
a `ModelOutput`, and any failure into a `ProviderError` (`classify`). The SDK's own retries are
off; retrying, limiting and accounting live once, in the runner.

Failures, as `classify` sees them::

    ProviderError             passed through unchanged
    429 insufficient_quota    quota       (park the key)
    429 otherwise             rate_limit  (retry_after from retry-after-ms / Retry-After)
    402                       quota       (gateways that bill by credit)
    401, 403                  fatal, scope lane   (bad key)
    404                       fatal, scope model  (no such deployment or model)
    400, 413, 422 context     ContextLengthError (fatal, scope test): the conversation outgrew
                              the model's context; the test ends there as the model's outcome
    413; 400, 422 filter      fatal, scope test   (too large, a content filter: this conversation only)
    400, 413, 422             fatal, scope model  (the request cannot be served as sent)
    408, 409, 5xx, other      transient   (retry_after too, when the server sends one: 503s do)
    a body over max_response_bytes   transient (reading stops at the cap: 16 MiB by default)
    timeout, connection, transport, malformed body, anything unexpected   transient

The one 400 handled here rather than above is a rejected parameter (README, "Providers, keys and limits"): a model that says
it does not support ``temperature`` or wants ``max_completion_tokens`` instead of ``max_tokens``.
The provider remembers the rejection for its lifetime and resends the request at once without
that parameter (or with it renamed), at most once per parameter per call.

Keys never leave this module in the clear: every message goes through `clean_text` (which
redacts every shape of the key: `pilotbench.secrets.redact`), and the key is only ever shown as its
`key_label` (``...abcd``; ``...****`` for a key shorter than 8 characters).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
import httpx
import openai
import pydantic

from ..benchmark.types import ModelOutput
from ..errors import ProviderError
from .base import ModelRequest
from .wire import (  # the wire format both HTTP paths share; names kept importable from here
    DEFAULT_MAX_RESPONSE_BYTES,
    WireProvider,
    _header,
    _is_quota,
    _to_output,
    is_context_length,
    key_label,
    parse_retry_after,
    redact,
    rejected_parameter,
    request_body,
    status_error,
    tell_rate_limits,
    too_large,
)

try:  # the transport the SDK uses by default; our own client is plain httpx
    import httpx2 as _httpx2
except ImportError:  # pragma: no cover - depends on the SDK version
    _httpx2 = None

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "OpenAICompatProvider",
    "is_context_length",
    "key_label",
    "parse_retry_after",
    "redact",
    "rejected_parameter",
    "request_body",
    "status_error",
    "too_large",
]

log = logging.getLogger(__name__)

_GUARD_SECONDS = 5.0  # the hard deadline beyond the per-call timeout
_RESPONSE_TYPE: Any = _httpx2.Response if _httpx2 is not None else httpx.Response
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (httpx.TransportError,) + (
    (_httpx2.TransportError,) if _httpx2 is not None else ()
)
_DECODE_ERRORS: tuple[type[BaseException], ...] = (json.JSONDecodeError, UnicodeDecodeError)


# --------------------------------------------------------------------------------------------
# Error details
# --------------------------------------------------------------------------------------------


def _error_dict(exc: openai.APIError) -> dict[str, Any]:
    """The ``error`` object of an API error body, whichever way the SDK handed it over."""
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error")
        return dict(inner) if isinstance(inner, Mapping) else dict(body)
    return {}


def _reason(exc: openai.APIError) -> str:
    err = _error_dict(exc)
    message = err.get("message")
    if not isinstance(message, str) or not message:
        message = exc.message if isinstance(exc.message, str) else str(exc)
    return message


def _declared_too_long(headers: Any, cap: int) -> bool:
    length = _header(headers, "content-length")
    try:
        return length is not None and int(length) > cap
    except (TypeError, ValueError):
        return False


_CAPPED_STREAMS: dict[Any, type] = {}


def _capped_stream(module: Any, inner: Any, cap: int) -> Any:
    """`inner` (an httpx or httpx2 response stream) that raises `too_large` once more than `cap` bytes
    came through, closing the connection: every body the SDK reads (answers and error bodies) goes
    through it."""
    cls = _CAPPED_STREAMS.get(module)
    if cls is None:

        class CappedStream(module.AsyncByteStream):  # type: ignore[name-defined,misc]
            def __init__(self, inner: Any, cap: int) -> None:
                self._inner = inner
                self._cap = cap

            async def __aiter__(self) -> Any:
                seen = 0
                async for chunk in self._inner:
                    seen += len(chunk)
                    if seen > self._cap:
                        await self._inner.aclose()
                        raise too_large(self._cap)
                    yield chunk

            async def aclose(self) -> None:
                await self._inner.aclose()

        cls = _CAPPED_STREAMS[module] = CappedStream
    return cls(inner, cap)


def cap_response_bodies(http_client: Any, cap: int) -> None:
    """Make every response `http_client` (httpx or httpx2) receives stop at `cap` bytes."""

    async def hook(response: Any) -> None:
        if _declared_too_long(response.headers, cap):
            raise too_large(cap)  # the client closes the response
        module = _httpx2 if _httpx2 is not None and isinstance(response, _httpx2.Response) else httpx
        response.stream = _capped_stream(module, response.stream, cap)

    hooks = dict(http_client.event_hooks)
    hooks["response"] = [*hooks.get("response", ()), hook]
    http_client.event_hooks = hooks



# --------------------------------------------------------------------------------------------
# The provider
# --------------------------------------------------------------------------------------------


def _default_http_client(max_connections: int, timeout: float) -> Any:
    """The SDK's own aiohttp-backed client where the SDK has one (``DefaultAioHttpClient``, which it
    recommends for concurrency; aiohttp is a pilotbench dependency anyway), else plain httpx.

    With hundreds of calls in flight the default httpx transport cost 8 ms of CPU per call against
    3 ms at a few dozen (BENCHMARKS.md); over aiohttp the cost stays flat."""
    aio = getattr(openai, "DefaultAioHttpClient", None)
    module = _httpx2 if _httpx2 is not None else httpx
    limits = module.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    if aio is not None:
        try:
            return aio(limits=limits, timeout=module.Timeout(timeout))
        except RuntimeError:  # pragma: no cover - an SDK whose aiohttp support is not installed
            pass
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        timeout=httpx.Timeout(timeout),
    )



class OpenAICompatProvider(WireProvider):
    """An OpenAI-protocol endpoint reached with one API key (implements `models.base.Provider`).

    kind "openai": any OpenAI-compatible endpoint at `base_url` (``https://api.openai.com/v1``,
        a gateway, vLLM, the mock server's ``/v1``). Azure AI Foundry serverless models
        (DeepSeek, Llama, ...) expose an OpenAI-compatible v1 endpoint and work here too, with
        `base_url` ending in ``/openai/v1`` or ``/v1`` and the model name as the deployment.
    kind "azure": Azure OpenAI; `base_url` is the resource endpoint, `api_version` is required,
        and `ModelRequest.deployment` is the deployment name (the SDK puts it in the path).

    drop_params: request parameters never sent (configured per model). Parameters the server
    rejects at run time are added to them for this instance's lifetime.
    http_client: for tests (e.g. ``httpx.AsyncClient(transport=httpx.MockTransport(...))``);
    by default the provider builds its own pooled client once.
    """

    def __init__(
        self,
        *,
        kind: str,
        base_url: str,
        api_key: str,
        api_version: str | None = None,
        drop_params: Iterable[str] = (),
        max_connections: int = 1000,
        default_timeout: float = 120.0,
        http_client: httpx.AsyncClient | None = None,
        max_response_bytes: int | None = None,
    ) -> None:
        super().__init__(kind=kind, base_url=base_url, api_key=api_key, api_version=api_version, drop_params=drop_params,
                         max_response_bytes=max_response_bytes)
        if http_client is None:
            http_client = _default_http_client(max_connections, default_timeout)
        cap_response_bodies(http_client, self.max_response_bytes)
        client: openai.AsyncOpenAI
        if kind == "azure":
            client = openai.AsyncAzureOpenAI(
                azure_endpoint=base_url,
                api_key=api_key,
                api_version=api_version,
                max_retries=0,
                http_client=http_client,
            )
        else:
            client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, http_client=http_client)
        self._client = client

    # ---- generate -------------------------------------------------------------------------

    async def generate(self, request: ModelRequest, timeout: float) -> ModelOutput:
        """One chat-completions call; a rejected parameter is dropped (or renamed) and resent once.

        The call goes through the SDK's generic `post` with the body as plain JSON rather than
        through `chat.completions.create`: the same client, authentication, Azure deployment paths,
        headers and typed errors, without the typed-dict transform that was two thirds of the SDK's
        CPU per call (BENCHMARKS.md). The answer is read as a dict, as the lean path reads it.
        """
        params = self._params(request.params)
        retried: set[str] = set()
        while True:
            try:
                async with asyncio.timeout(timeout + _GUARD_SECONDS):  # belt and braces over `timeout=`
                    # The body is read by the client, through the cap `cap_response_bodies` put on it.
                    answer = await self._client.post(
                        "/chat/completions", cast_to=_RESPONSE_TYPE, body=request_body(request, params),
                        options={"timeout": timeout},
                    )
            except openai.BadRequestError as exc:
                name = self._accept_rejection(exc, params, retried)
                if name is None:
                    raise
                retried.add(name)
                params = self._params(request.params)
                continue
            except openai.APIStatusError as exc:
                tell_rate_limits(self.rate_limit_listener, exc.response.headers, exc.status_code)
                raise
            tell_rate_limits(self.rate_limit_listener, answer.headers)
            return _to_output(self._decode(answer.content))

    def _accept_rejection(self, exc: openai.APIError, params: dict[str, Any], retried: set[str]) -> str | None:
        """If `exc` rejects a parameter we sent, remember it and return its name."""
        err = _error_dict(exc)
        return self._learn(_reason(exc), err.get("code") or exc.code, err.get("param") or exc.param, params, retried)

    # ---- classify -------------------------------------------------------------------------

    def classify(self, error: BaseException) -> ProviderError:
        """Translate an exception from generate() into a ProviderError (see the module docstring)."""
        if isinstance(error, ProviderError):
            return error
        if isinstance(error, openai.APIStatusError):
            return self._classify_status(error)
        if isinstance(error, openai.APITimeoutError):
            dropped = _dropped_connection(error)
            if dropped is not None:  # the aiohttp transport reports every lost connection as a timeout
                return ProviderError("transient", f"connection error ({type(dropped).__name__}: {self._clean(str(dropped))})")
            return ProviderError("transient", "timeout: no answer within the request timeout")
        if isinstance(error, openai.APIConnectionError):
            cause = error.__cause__ or error.__context__
            detail = f" ({type(cause).__name__}: {self._clean(str(cause))})" if cause is not None else ""
            return ProviderError("transient", f"connection error{detail}")
        if isinstance(error, (TimeoutError, asyncio.TimeoutError)):
            return ProviderError("transient", "timeout: the call outlived its hard deadline")
        if isinstance(error, openai.APIResponseValidationError):
            return ProviderError("transient", f"malformed response: {self._clean(str(error))}", status=error.status_code)
        if isinstance(error, _TRANSPORT_ERRORS):
            return ProviderError("transient", f"transport error: {type(error).__name__}: {self._clean(str(error))}")
        if isinstance(error, (*_DECODE_ERRORS, pydantic.ValidationError)):
            return ProviderError("transient", f"malformed response: {type(error).__name__}: {self._clean(str(error))}")
        return ProviderError("transient", f"unexpected error: {type(error).__name__}: {self._clean(str(error))}")

    def _classify_status(self, error: openai.APIStatusError) -> ProviderError:
        status = error.status_code
        raw_reason = _reason(error)
        err = _error_dict(error)
        quota = status == 429 and _is_quota(err, raw_reason, error.code, error.type)
        return status_error(status, self._clean(raw_reason), key=self.key_label, quota=quota, headers=error.response.headers,
                            codes=(err.get("code"), err.get("type"), error.code, error.type))

    async def aclose(self) -> None:
        await self._client.close()


def _dropped_connection(error: BaseException) -> BaseException | None:
    """The aiohttp connection failure behind an SDK timeout, unless it was a timeout itself."""
    cause = error.__cause__ or error.__context__
    for _ in range(8):
        if cause is None:
            return None
        if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, (aiohttp.ServerTimeoutError, TimeoutError)):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None



