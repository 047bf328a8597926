"""Shared fixtures: a mock provider on 127.0.0.1 and configs that point at it with fake keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotbench.config import Config, load_config
from pilotbench.mock_server import KeyLimits, MockConfig, MockServerThread

from .factories import FAKE_KEYS, mock_config_file


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {f"PB_TEST_KEY_{i}": k for i, k in enumerate(FAKE_KEYS)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("MAX_WORKERS", raising=False)
    return env


@pytest.fixture
def mock_server() -> Iterator[MockServerThread]:
    cfg = MockConfig(keys={k: KeyLimits(max_concurrency=4) for k in FAKE_KEYS}, latency=0.01, limits_per_model=True)
    with MockServerThread(cfg) as srv:
        yield srv


@pytest.fixture
def mock_cfg(tmp_path: Path, mock_server: MockServerThread, fake_env: dict[str, str]) -> Config:
    return load_config(mock_config_file(tmp_path, mock_server.base_url))
