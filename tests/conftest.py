"""Shared fixtures: a mock provider on 127.0.0.1 and configs that point at it with fake keys."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotbench.config import Config, load_config
from pilotbench.mock_server import KeyLimits, MockConfig, MockServerThread

FAKE_KEYS = ("fake-key-0000-aaaa", "fake-key-1111-bbbb", "fake-key-2222-cccc")


def mock_config_file(tmp_path: Path, base_url: str, *, keys: int = 3, max_concurrency: int = 4,
                     extra: str = "", model_extra: str = "", provider_extra: str = "") -> Path:
    refs = ", ".join(f'"env:PB_TEST_KEY_{i}"' for i in range(keys))
    text = textwrap.dedent(
        f"""
        [providers.mock]
        kind = "openai"
        base_url = "{base_url}/v1"
        api_keys = [{refs}]
        max_concurrency = {max_concurrency}
        request_timeout = 5
        {provider_extra}

        [models."mock/strong"]
        provider = "mock"
        deployment = "sim/strong"
        {model_extra}

        [models."mock/weak"]
        provider = "mock"
        deployment = "sim/weak"
        {model_extra}
        """
    ) + extra
    path = tmp_path / "pilotbench.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


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
