"""Configuration: built-in catalog, TOML overlay, key resolution, precedence, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotbench.config import expand_models, key_label, lane_limits, load_config, resolve_keys
from pilotbench.errors import ConfigError


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    p = tmp_path / "pilotbench.toml"
    p.write_text(text)
    p.chmod(mode)
    return p


def test_builtin_catalog_has_the_guides_providers() -> None:
    cfg = load_config(cwd=Path("/nonexistent-dir"))
    assert {"azure", "user_azure", "idealab", "sim"} <= set(cfg.providers)
    assert len(cfg.providers["idealab"].api_keys) == 3
    assert cfg.providers["azure"].kind == "azure"
    assert {"sim/weak", "sim/medium", "sim/strong", "gpt-4o-mini", "qwen2.5-3b-instruct"} <= set(cfg.models)
    assert all(k.startswith("env:") for p in cfg.providers.values() for k in p.api_keys)


def test_file_overlays_builtins(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
[providers.gw]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_keys = ["env:GW_KEY_A", "env:GW_KEY_B"]
max_concurrency = 7
rpm = 120

[models.mymodel]
provider = "gw"
deployment = "real-name"
max_concurrency = 3
params = { temperature = 0.0 }

[groups]
mine = ["mymodel", "sim/weak"]
"""))
    assert cfg.models["mymodel"].deployment == "real-name"
    assert "sim/strong" in cfg.models  # built-ins stay
    assert expand_models(cfg, "", "mine") == ("mymodel", "sim/weak")
    limits = lane_limits(cfg, "mymodel", env={})
    assert limits.max_concurrency == 3 and limits.rpm == 120


@pytest.mark.parametrize(
    "text, message",
    [
        ("[providers.x]\nkind = 'openai'\nbogus = 1\n", "providers.x.bogus: unknown field"),
        ("[providers.x]\nkind = 'ftp'\n", "providers.x.kind"),
        ("[providers.x]\nkind = 'openai'\nmax_concurrency = 'lots'\n", "providers.x.max_concurrency"),
        ("[providers.x]\nkind = 'openai'\nmax_concurrency = 0\n", "providers.x.max_concurrency"),
        ("[models.m]\nprovider = 'nowhere'\n", "unknown provider 'nowhere'"),
        ("[groups]\ng = ['no-such-model']\n", "unknown model 'no-such-model'"),
        ("[weird]\na = 1\n", "unknown section 'weird'"),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_bad_config_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_config(write(tmp_path, text))
    assert "\n" not in str(info.value).strip() or "TOML" in str(info.value)


def test_missing_key_variable_is_named() -> None:
    cfg = load_config(cwd=Path("/nonexistent-dir"))
    with pytest.raises(ConfigError, match="not set") as info:
        resolve_keys("idealab", cfg.providers["idealab"], {"IDEALAB_API_KEY_1": "fake-aaaa1111"})
    message = str(info.value)
    assert "IDEALAB_API_KEY_2" in message and "IDEALAB_API_KEY_3" in message and "IDEALAB_API_KEY_1" not in message
    assert "IDEALAB_API_KEY_OVERRIDE" in message


def test_keys_resolve_and_override_replaces_them() -> None:
    cfg = load_config(cwd=Path("/nonexistent-dir"))
    env = {f"IDEALAB_API_KEY_{i}": f"fake-key-{i}{i}{i}{i}" for i in (1, 2, 3)}
    keys = resolve_keys("idealab", cfg.providers["idealab"], env)
    assert [k.label for k in keys] == ["...1111", "...2222", "...3333"]
    assert "fake-key" not in repr(keys) and "fake-key" not in str(keys[0])
    env["IDEALAB_API_KEY_OVERRIDE"] = "fake-override-9999"
    assert [k.label for k in resolve_keys("idealab", cfg.providers["idealab"], env)] == ["...9999"]


def test_concurrency_precedence_flag_over_max_workers_over_model() -> None:
    cfg = load_config(cwd=Path("/nonexistent-dir"))
    assert lane_limits(cfg, "qwen2.5-3b-instruct", env={}).max_concurrency == 10
    assert lane_limits(cfg, "gpt-4o-mini", env={}).max_concurrency == 50
    assert lane_limits(cfg, "gpt-4o-mini", env={"MAX_WORKERS": "20"}).max_concurrency == 20
    assert lane_limits(cfg, "gpt-4o-mini", env={"MAX_WORKERS": "20"}, max_concurrency=5).max_concurrency == 5
    with pytest.raises(ConfigError, match="MAX_WORKERS"):
        lane_limits(cfg, "gpt-4o-mini", env={"MAX_WORKERS": "many"})


def test_literal_key_in_readable_file_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[providers.gw]\nkind = 'openai'\nbase_url = 'http://127.0.0.1:9'\napi_keys = ['fake-literal-0000']\n", 0o644)
    load_config(path)
    err = capsys.readouterr().err
    assert "literal API key" in err and "fake-literal-0000" not in err
    path.chmod(0o600)
    load_config(path)
    assert capsys.readouterr().err == ""


def test_unknown_models_and_groups() -> None:
    cfg = load_config(cwd=Path("/nonexistent-dir"))
    with pytest.raises(ConfigError, match="unknown model 'gpt-9'"):
        expand_models(cfg, "sim/weak,gpt-9")
    with pytest.raises(ConfigError, match="unknown group 'nope'"):
        expand_models(cfg, "", "nope")
    assert expand_models(cfg, "sim") == ("sim/weak", "sim/medium", "sim/strong")  # a group name in --model


def test_key_label_shows_only_last_four() -> None:
    assert key_label("fake-abcdefgh-1234") == "...1234"
    # Keys shorter than 8 characters are masked entirely, whatever their length.
    assert key_label("ab") == key_label("Zq9") == key_label("Zq9x") == key_label("Zq9xabc") == "...****"
    assert key_label("Zq9xabcd") == "...abcd"
