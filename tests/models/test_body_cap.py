"""A server that answers and then streams without end: both HTTP paths stop reading at the
provider's `max_response_bytes` (16 MiB by default) and fail the call as a transient provider
error, in bounded memory and time, instead of filling the machine's memory."""

from __future__ import annotations

import asyncio
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from pilotbench.config import load_config
from pilotbench.errors import ProviderError
from pilotbench.models.base import ModelRequest
from pilotbench.models.lean import LeanOpenAIProvider
from pilotbench.models.openai_compat import DEFAULT_MAX_RESPONSE_BYTES, OpenAICompatProvider
from pilotbench.runner.runtime import build_runtime

CHUNK = b"x" * 65536
MiB = 1024 * 1024


class EndlessServer:
    """Answers every request with `status` and a chunked body of 64 KiB chunks that never ends
    (or, with `declared`, a Content-Length of that many bytes and then the same endless stream)."""

    def __init__(self, status: int = 200, declared: int | None = None) -> None:
        self.status = status
        self.declared = declared
        self.sent = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._server = server
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            framing = f"Content-Length: {self.declared}" if self.declared is not None else "Transfer-Encoding: chunked"
            writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n{framing}\r\n\r\n".encode())
            def framed(data: bytes) -> bytes:
                return data if self.declared is not None else b"%x\r\n%s\r\n" % (len(data), data)

            writer.write(framed(b'{"choices": [{"message": {"content": "'))
            chunk = framed(CHUNK)
            while True:
                writer.write(chunk)
                self.sent += len(CHUNK)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()

    def __enter__(self) -> EndlessServer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@pytest.fixture
def endless(request: pytest.FixtureRequest) -> Iterator[EndlessServer]:
    status, declared = getattr(request, "param", (200, None))
    with EndlessServer(status, declared) as srv:
        yield srv


def _provider(client: str, base_url: str, cap: int | None) -> Any:
    cls = LeanOpenAIProvider if client == "lean" else OpenAICompatProvider
    return cls(kind="openai", base_url=base_url, api_key="sk-test-FAKE-endless-0000", max_response_bytes=cap)


def _call(provider: Any, timeout: float = 30.0) -> tuple[ProviderError, float, int]:
    """One call; returns the classified error, the seconds it took and the peak of Python memory."""
    request = ModelRequest("m", [{"role": "user", "content": "hi"}], None, {})

    async def go() -> BaseException:
        try:
            await provider.generate(request, timeout)
        except BaseException as exc:  # noqa: BLE001 - classified below
            return exc
        finally:
            await provider.aclose()
        raise AssertionError("an endless body produced an answer")

    tracemalloc.start()
    try:
        started = time.monotonic()
        exc = asyncio.run(go())
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return provider.classify(exc), elapsed, peak


@pytest.mark.parametrize("endless", [(200, None), (500, None), (200, 10**12)], indirect=True,
                         ids=["200-chunked", "500-chunked", "200-declared-1TB"])
@pytest.mark.parametrize("client", ["sdk", "lean"])
def test_an_endless_body_stops_at_the_cap_in_bounded_memory(client: str, endless: EndlessServer) -> None:
    cap = 2 * MiB
    err, elapsed, peak = _call(_provider(client, endless.base_url, cap))
    assert err.kind == "transient" and "response too large" in str(err) and "2 MiB" in str(err), err
    assert "max_response_bytes" in str(err)
    assert elapsed < 10, f"{elapsed:.1f} s: reading did not stop at the cap"
    assert peak < 2 * cap + MiB, f"peak {peak / MiB:.1f} MiB for a {cap / MiB:.0f} MiB cap"
    assert endless.sent < 64 * MiB  # the connection was closed, not drained


@pytest.mark.parametrize("client", ["sdk", "lean"])
def test_the_default_cap_is_16_mib(client: str, endless: EndlessServer) -> None:
    assert DEFAULT_MAX_RESPONSE_BYTES == 16 * MiB
    err, elapsed, peak = _call(_provider(client, endless.base_url, None))
    assert "response too large" in str(err) and "16 MiB" in str(err), err
    assert elapsed < 20 and peak < 33 * MiB, (elapsed, peak / MiB)


def test_the_cap_is_set_per_provider_in_the_config(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PB_CAP_KEY", "sk-test-FAKE-cap-1111")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[providers.big]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\napi_keys = ["env:PB_CAP_KEY"]\n'
        'max_response_bytes = 1048576\nclient = "lean"\n'
        '[providers.small]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\napi_keys = ["env:PB_CAP_KEY"]\n'
        '[models.a]\nprovider = "big"\n[models.b]\nprovider = "small"\n'
    )
    rt = build_runtime(load_config(cfg), ["a", "b"])
    try:
        caps = {m: next(iter(r.providers.values())).max_response_bytes for m, r in rt.models.items()}
    finally:
        asyncio.run(rt.aclose())
    assert caps == {"a": MiB, "b": 16 * MiB}
    cfg.write_text(cfg.read_text().replace("1048576", "12"))
    from pilotbench.errors import ConfigError

    with pytest.raises(ConfigError, match="max_response_bytes"):
        load_config(cfg)
