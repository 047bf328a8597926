"""How the Ray driver splits a plan over key owners, and what it sends them (no Ray needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotbench.api import build_specs
from pilotbench.config import load_config
from pilotbench.errors import UsageError
from pilotbench.runner.ray_executor import OwnerRef, key_count, partition, portable_config

from ..factories import FAKE_KEYS, mock_config_file


@pytest.fixture
def cfg(tmp_path: Path, fake_env):  # type: ignore[no-untyped-def]
    return load_config(mock_config_file(tmp_path, "http://127.0.0.1:9"))


def test_pool_gives_each_key_an_equal_share(cfg) -> None:  # type: ignore[no-untyped-def]
    specs = build_specs(["mock/strong", "mock/weak"], prompt_types="baseline,cot", num_instances=3, config=cfg)
    parts = partition(specs, cfg, key_policy="pool")
    assert sorted(parts) == [OwnerRef("mock", 0), OwnerRef("mock", 1), OwnerRef("mock", 2)]
    assert sorted(len(v) for v in parts.values()) == [20, 20, 20]
    assert sorted(s.id for v in parts.values() for s in v) == sorted(s.id for s in specs)  # each test once


def test_prompt_affinity_follows_the_guide(cfg) -> None:  # type: ignore[no-untyped-def]
    specs = build_specs(["mock/strong"], prompt_types="baseline,cot,optimal,flawed_missing_step", num_instances=3, config=cfg)
    parts = partition(specs, cfg, key_policy="prompt-affinity")
    by_prompt = {ref.key_index: {s.prompt_type for s in v} for ref, v in parts.items()}
    assert "baseline" in by_prompt[0] and "cot" not in by_prompt[0]
    assert "cot" in by_prompt[1] and "optimal" in by_prompt[2]
    assert all("flawed_missing_step" in p for p in by_prompt.values())  # flawed types rotate over every key


def test_key_count_follows_the_override(cfg) -> None:  # type: ignore[no-untyped-def]
    assert key_count(cfg, "mock", {}) == 3
    assert key_count(cfg, "mock", {"MOCK_API_KEY_OVERRIDE": "a-1234,b-5678"}) == 2
    assert key_count(load_config(), "sim", {}) == 1


def test_owners_get_references_never_keys(cfg) -> None:  # type: ignore[no-untyped-def]
    data = portable_config(cfg, ["mock/strong"])
    text = repr(data)
    assert all(k not in text for k in FAKE_KEYS)
    assert data["providers"]["mock"]["api_keys"] == [f"env:PB_TEST_KEY_{i}" for i in range(3)]
    assert set(data["models"]) == {"mock/strong"}


def test_a_literal_key_is_refused(tmp_path: Path, fake_env) -> None:  # type: ignore[no-untyped-def]
    path = mock_config_file(tmp_path, "http://127.0.0.1:9")
    path.write_text(path.read_text().replace('"env:PB_TEST_KEY_0"', '"sk-literal-0000"'))
    with pytest.raises(UsageError, match="literal key"):
        portable_config(load_config(path), ["mock/strong"])


def test_missing_ray_is_a_one_line_usage_error(cfg, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    from pilotbench.runner.ray_executor import RayDriver

    monkeypatch.setitem(sys.modules, "ray", None)
    specs = build_specs(["mock/strong"], num_instances=1, config=cfg)
    with pytest.raises(UsageError, match=r"pip install 'pilotbench\[ray\]'"):
        RayDriver(specs, db="postgresql://u@127.0.0.1:1/x", config=cfg)
    with pytest.raises(UsageError, match="needs a PostgreSQL store"):
        RayDriver(specs, db="results.db", config=cfg)


def test_ray_address_without_the_ray_executor_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "pilotbench", "run", "--ray-address", "127.0.0.1:6379", "--db",
                          str(tmp_path / "x.db")], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip() == "error: --ray-address is only used with --executor ray"
