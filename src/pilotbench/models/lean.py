"""A lean HTTP path for OpenAI-compatible endpoints (`client = "lean"` on a provider).

The SDK provider already skips the SDK's most expensive step (it posts a plain JSON body through
the SDK's generic `post` instead of `chat.completions.create`, whose typed-dict transform cost
about 5 of its 7 ms per call with the benchmark's 30 tool schemas; BENCHMARKS.md). What remains,
the SDK's request building, its httpx layer and aiohttp beneath, is still 2 to 3 ms per call.
This provider speaks the same wire protocol without the SDK: one aiohttp session per (endpoint,
key), the request body as plain JSON with the tool schemas' JSON reused, the answer read as a
dict, under 1 ms per call. It is what keeps a thousand conversations in flight in one process.

It keeps the SDK provider's contract exactly (`models.base.Provider`): the same request body
(`wire.request_body`: every parameter in the body, `extra_body` merged last), the
same Azure paths and headers, the same rejected-parameter handling (drop or rename, resend once)
and the same classification of failures (see `openai_compat`): an HTTP error becomes a
`ProviderError` right where it is read; transport failures are translated by `classify`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp

from ..benchmark.types import ModelOutput
from ..errors import ProviderError
from .base import ModelRequest
from .wire import WireProvider, _is_quota, _to_output, request_body, status_error, tell_rate_limits, too_large

__all__ = ["LeanOpenAIProvider"]

log = logging.getLogger(__name__)

_GUARD_SECONDS = 5.0  # the hard deadline beyond the per-call timeout
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class LeanOpenAIProvider(WireProvider):
    """An OpenAI-protocol endpoint reached with one API key over plain aiohttp.

    kind "openai": `base_url` is the API root (``.../v1``); calls go to ``{base_url}/chat/completions``
        with ``Authorization: Bearer <key>``.
    kind "azure": `base_url` is the resource endpoint; calls go to
        ``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`` with ``api-key``.

    The HTTP session is opened on the first call, on the loop that makes it, and closed by `aclose`.
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
        max_response_bytes: int | None = None,
    ) -> None:
        super().__init__(kind=kind, base_url=base_url, api_key=api_key, api_version=api_version, drop_params=drop_params,
                         max_response_bytes=max_response_bytes)
        self._headers = {**_JSON_HEADERS, **({"api-key": api_key} if kind == "azure" else {"Authorization": f"Bearer {api_key}"})}
        self._urls: dict[str, str] = {}
        self._max_connections = max_connections
        self._default_timeout = default_timeout
        self._session: aiohttp.ClientSession | None = None
        self._tools_cache: tuple[tuple[int, ...], tuple[Any, ...], str] | None = None

    # ---- plumbing ---------------------------------------------------------------------------

    def _url(self, deployment: str) -> str:
        url = self._urls.get(deployment)
        if url is None:
            root = self.base_url.rstrip("/")
            if self.kind == "azure":
                url = f"{root}/openai/deployments/{quote(deployment, safe='')}/chat/completions?api-version={quote(self.api_version or '')}"
            else:
                url = f"{root}/chat/completions"
            self._urls[deployment] = url
        return url

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self._default_timeout), raise_for_status=False
        )
        return self._session

    def _body(self, request: ModelRequest, params: Mapping[str, Any]) -> bytes:
        """The JSON body: exactly `json.dumps` of `request_body` (model, messages, parameters, tools,
        extra_body)."""
        body = request_body(request, params)
        extra = params.get("extra_body")
        if request.tools and not (isinstance(extra, Mapping) and extra):
            # The same tool schemas go with every call of a run (the benchmark hands out one shared
            # set); serialising them was a third of this provider's CPU. Reuse their JSON while the
            # very same schema objects come back, and splice it in where json.dumps would put it
            # (the last field: only extra_body comes after the tools).
            del body["tools"]
            return f'{json.dumps(body)[:-1]}, "tools": {self._tools_json(request.tools)}}}'.encode()
        return json.dumps(body).encode()

    def _tools_json(self, tools: Sequence[Any]) -> str:
        key = tuple(map(id, tools))
        cached = self._tools_cache
        if cached is None or cached[0] != key:
            # The schemas are kept alive with their ids, so an id cannot come back as another object.
            cached = self._tools_cache = (key, tuple(tools), json.dumps(list(tools)))
        return cached[2]

    # ---- generate ---------------------------------------------------------------------------

    async def generate(self, request: ModelRequest, timeout: float) -> ModelOutput:
        """One chat-completions call; a rejected parameter is dropped (or renamed) and resent once."""
        params = self._params(request.params)
        retried: set[str] = set()
        url = self._url(request.deployment)
        session = self._session or self._open()
        while True:
            data = self._body(request, params)
            async with asyncio.timeout(timeout + _GUARD_SECONDS):  # belt and braces over the client timeout
                async with session.post(
                    url, data=data, headers=self._headers, timeout=aiohttp.ClientTimeout(total=timeout)
                ) as response:
                    raw = await _read_capped(response, self.max_response_bytes)
                    status = response.status
                    headers = response.headers
            tell_rate_limits(self.rate_limit_listener, headers, status)
            if status < 300:
                return _to_output(self._decode(raw))
            error = _error_object(raw)
            if status == 400:
                name = self._accept_rejection(error, params, retried)
                if name is not None:
                    retried.add(name)
                    params = self._params(request.params)
                    continue
            raise self._status_error(status, error, raw, headers)

    def _accept_rejection(self, error: dict[str, Any], params: dict[str, Any], retried: set[str]) -> str | None:
        """If the 400 rejects a parameter we sent, remember it and return its name."""
        return self._learn(str(error.get("message") or ""), error.get("code"), error.get("param"), params, retried)

    # ---- classify ---------------------------------------------------------------------------

    def _status_error(self, status: int, error: dict[str, Any], raw: bytes, headers: Any) -> ProviderError:
        """The classification of an HTTP error answer (`wire.status_error`)."""
        reason = error.get("message")
        if not isinstance(reason, str) or not reason:
            reason = raw.decode("utf-8", "replace") or f"Error code: {status}"
        reason = self._clean(reason)
        quota = status == 429 and _is_quota(error, reason)
        return status_error(status, reason, key=self.key_label, quota=quota, headers=headers,
                            codes=(error.get("code"), error.get("type")))

    def classify(self, error: BaseException) -> ProviderError:
        """Translate an exception from generate() into a ProviderError."""
        if isinstance(error, ProviderError):
            return error
        if isinstance(error, (TimeoutError, asyncio.TimeoutError)):  # aiohttp's timeouts are TimeoutErrors too
            return ProviderError("transient", "timeout: no answer within the request timeout")
        if isinstance(error, (aiohttp.ClientConnectionError, ConnectionError)):
            return ProviderError("transient", f"connection error ({type(error).__name__}: {self._clean(str(error))})")
        if isinstance(error, (aiohttp.ClientError, OSError)):
            return ProviderError("transient", f"transport error: {type(error).__name__}: {self._clean(str(error))}")
        if isinstance(error, ValueError):
            return ProviderError("transient", f"malformed response: {type(error).__name__}: {self._clean(str(error))}")
        return ProviderError("transient", f"unexpected error: {type(error).__name__}: {self._clean(str(error))}")

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _error_object(raw: bytes) -> dict[str, Any]:
    """The ``error`` object of an error answer (or the whole body when it has none); {} if unreadable."""
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    if isinstance(body, Mapping):
        inner = body.get("error")
        return dict(inner) if isinstance(inner, Mapping) else dict(body)
    return {}


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The body of `response`, at most `cap` bytes: beyond that the connection is closed and the
    call fails with `too_large`, whatever the server meant to send."""
    if response.content_length is not None and response.content_length > cap:
        response.close()
        raise too_large(cap)
    body = bytearray()
    async for chunk in response.content.iter_any():
        body += chunk
        if len(body) > cap:
            response.close()
            raise too_large(cap)
    return bytes(body)
