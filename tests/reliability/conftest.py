"""Fixtures of the reliability suite (helpers live in helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pilotbench.mock_server import MockConfig, MockServerThread, Responder

from .helpers import fast_backoff  # noqa: F401 - a fixture, re-exported for the test modules

ServerFactory = Callable[..., MockServerThread]


@pytest.fixture
def servers() -> Iterator[ServerFactory]:
    """Start mock servers on 127.0.0.1 (`servers(config, port=0, server=None)`); every one is
    stopped at the end of the test, whatever happened."""
    started: list[MockServerThread] = []

    def start(config: MockConfig, *, port: int = 0, responder: Responder | None = None, server: object = None) -> MockServerThread:
        thread = MockServerThread(config, responder, port=port)
        if server is not None:  # a MockServer subclass with changed behaviour
            thread.server = server  # type: ignore[assignment]
        started.append(thread)
        return thread.start()

    yield start
    for thread in started:
        thread.stop()


@pytest.fixture
def model_server() -> Iterator[MockServerThread]:
    """A simulated-model server on 127.0.0.1 (20 ms a reply) for runs in child processes."""
    with MockServerThread(MockConfig(latency=0.02)) as srv:
        yield srv
