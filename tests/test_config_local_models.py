"""Configuration for local and slow servers: the completion cap per call, long request timeouts,
and the hint for model names that TOML splits at a dot."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotbench.config import DEFAULT_MAX_TOKENS, lane_limits, load_config, request_params
from pilotbench.errors import ConfigError
from pilotbench.runner.runtime import build_runtime

LOCAL = """
[providers.local]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_keys = ["env:PB_TEST_LOCAL_KEY"]
request_timeout = 1800
max_concurrency = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "pilotbench.toml"
    p.write_text(text)
    p.chmod(0o600)
    return p


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("local-1.5b", '[models."local-1.5b"]'),
        ("qwen2.5.coder", '[models."qwen2.5.coder"]'),
    ],
)
def test_a_dotted_model_name_gets_the_quoting_hint(tmp_path: Path, name: str, hint: str) -> None:
    path = write(tmp_path, LOCAL + f'\n[models.{name}]\nprovider = "local"\n')
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert hint in msg and "quoted" in msg and "\n" not in msg


def test_a_quoted_dotted_name_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, LOCAL + '\n[models."local-1.5b"]\nprovider = "local"\n'))
    assert cfg.models["local-1.5b"].provider == "local"


def test_a_dotted_provider_name_gets_the_hint(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.llama.cpp]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n')
    with pytest.raises(ConfigError, match=r'\[providers\."llama\.cpp"\]'):
        load_config(path)


def test_a_missing_provider_field_is_still_reported_as_such(tmp_path: Path) -> None:
    # Not the nested-table mistake: the entry has plain values, it just lacks `provider`.
    with pytest.raises(ConfigError, match=r"models\.m\.provider: Field required"):
        load_config(write(tmp_path, LOCAL + '\n[models.m]\ntool_mode = "text"\n'))


def test_request_timeouts_for_local_servers_can_be_long(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, LOCAL + '\n[models."local-0.5b"]\nprovider = "local"\n'))
    assert lane_limits(cfg, "local-0.5b", env={}).request_timeout == 1800
    rt = build_runtime(cfg, ["local-0.5b"], env={"PB_TEST_LOCAL_KEY": "fake-local-key-0000"}, connect=False)
    assert rt.models["local-0.5b"].request_timeout == 1800


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("", DEFAULT_MAX_TOKENS),
        ("max_tokens = 300", 300),
        ("max_tokens = 0", None),
        ("params = { max_tokens = 77 }", 77),
        ('drop_params = ["max_tokens"]', None),
    ],
)
def test_each_call_carries_a_completion_cap(tmp_path: Path, entry: str, expected: int | None) -> None:
    cfg = load_config(write(tmp_path, LOCAL + f'\n[models.m]\nprovider = "local"\n{entry}\n'))
    params = request_params(cfg.models["m"], "openai")
    assert params.get("max_tokens") == expected
    rt = build_runtime(cfg, ["m"], env={"PB_TEST_LOCAL_KEY": "fake-local-key-0000"}, connect=False)
    assert rt.models["m"].params.get("max_tokens") == expected


def test_a_model_with_max_completion_tokens_gets_no_second_cap(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, LOCAL + "\n[models.m]\nprovider = \"local\"\nparams = { max_completion_tokens = 900 }\n"))
    assert request_params(cfg.models["m"], "openai") == {"max_completion_tokens": 900}


def test_simulated_models_get_no_cap_and_reasoning_models_a_large_one() -> None:
    cfg = load_config(cwd=Path("/nonexistent-dir"))
    assert "max_tokens" not in request_params(cfg.models["sim/strong"], "simulated")
    assert request_params(cfg.models["gpt-4o-mini"], "azure")["max_tokens"] == DEFAULT_MAX_TOKENS
    for reasoning in ("DeepSeek-R1-0528", "gpt-5-mini", "o1-1217"):
        assert request_params(cfg.models[reasoning], "openai")["max_tokens"] > 8 * DEFAULT_MAX_TOKENS


def test_a_negative_cap_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"models\.m\.max_tokens"):
        load_config(write(tmp_path, LOCAL + '\n[models.m]\nprovider = "local"\nmax_tokens = -1\n'))
