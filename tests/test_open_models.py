"""Models named by provider (openai/, azure/, vllm/, ollama/, llamacpp/, openai-api/<name>/),
keyless local servers, every missing variable in one error, and generation parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotbench.config import (
    ConfigError,
    check_environment,
    expand_models,
    generation_params,
    load_config,
    missing_variables,
    resolve_keys,
    resolve_value,
)
from pilotbench.runner.runtime import build_runtime

NO_DIR = Path("/nonexistent-dir")


def cfg():  # type: ignore[no-untyped-def]
    return load_config(cwd=NO_DIR)


def test_openai_names_use_openai_variables_and_the_public_endpoint() -> None:
    config = cfg()
    assert expand_models(config, "openai/gpt-4o-mini", env={}) == ("openai/gpt-4o-mini",)
    entry = config.models["openai/gpt-4o-mini"]
    provider = config.providers[entry.provider]
    assert (entry.provider, entry.deployment, provider.kind) == ("openai", "gpt-4o-mini", "openai")
    assert resolve_value(provider.base_url, {}) == "https://api.openai.com/v1"
    assert resolve_value(provider.base_url, {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}) == "http://127.0.0.1:9/v1"
    [key] = resolve_keys("openai", provider, {"OPENAI_API_KEY": "fake-openai-key-1234"})
    assert key.label == "...1234"
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        check_environment(config, ["openai/gpt-4o-mini"], {})


def test_azure_names_are_deployments_of_the_builtin_azure_provider() -> None:
    config = cfg()
    expand_models(config, "azure/my-deployment", env={})
    entry = config.models["azure/my-deployment"]
    provider = config.providers["azure"]
    assert (entry.provider, entry.deployment, provider.kind) == ("azure", "my-deployment", "azure")
    assert resolve_value(provider.api_version, {}) == "2024-10-21"
    assert resolve_value(provider.api_version, {"OPENAI_API_VERSION": "2025-01-01-preview"}) == "2025-01-01-preview"
    missing = {m.var for m in missing_variables(config, ["azure/my-deployment"], {})}
    assert missing == {"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"}


@pytest.mark.parametrize("prefix, var, default", [
    ("vllm", "VLLM_BASE_URL", "http://localhost:8000/v1"),
    ("ollama", "OLLAMA_BASE_URL", "http://localhost:11434/v1"),
    ("llamacpp", "LLAMACPP_BASE_URL", "http://localhost:8080/v1"),
])
def test_local_servers_have_default_urls_and_need_no_key(prefix: str, var: str, default: str) -> None:
    config = cfg()
    name = f"{prefix}/Qwen/Qwen2.5-7B-Instruct"
    expand_models(config, name, env={})
    assert config.models[name].deployment == "Qwen/Qwen2.5-7B-Instruct"
    assert missing_variables(config, [name], {}) == []
    rt = build_runtime(config, [name], env={})
    model = rt.models[name]
    [lane] = model.pool.lanes
    assert lane.key_label == "none"
    assert model.providers[lane.name].base_url == default
    rt = build_runtime(cfg(), [name], env={var: "http://127.0.0.1:9/v1", f"{prefix.upper()}_API_KEY": "fake-local-key-9876"})
    [lane] = rt.models[name].pool.lanes
    assert lane.key_label == "...9876"
    assert rt.models[name].providers[lane.name].base_url == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize("host, url", [
    ("0.0.0.0", "http://0.0.0.0:11434/v1"),
    ("gpu-box:9999", "http://gpu-box:9999/v1"),
    ("https://ollama.example:443", "https://ollama.example:443/v1"),
])
def test_ollama_host_is_read_as_ollama_reads_it(host: str, url: str) -> None:
    config = cfg()
    rt = build_runtime(config, ["ollama/llama3.2"], env={"OLLAMA_HOST": host})
    [client] = rt.models["ollama/llama3.2"].providers.values()
    assert client.base_url == url
    # OLLAMA_BASE_URL, when set, wins
    rt = build_runtime(cfg(), ["ollama/llama3.2"], env={"OLLAMA_HOST": host, "OLLAMA_BASE_URL": "http://127.0.0.1:1/v1"})
    [client] = rt.models["ollama/llama3.2"].providers.values()
    assert client.base_url == "http://127.0.0.1:1/v1"


def test_openai_api_gateways_take_name_variables_and_several_keys() -> None:
    config = cfg()
    name = "openai-api/my-gw/meta-llama/Llama-3.3-70B"
    expand_models(config, name, env={})
    entry = config.models[name]
    assert (entry.provider, entry.deployment) == ("my-gw", "meta-llama/Llama-3.3-70B")
    assert [m.var for m in missing_variables(config, [name], {})] == ["MY_GW_BASE_URL", "MY_GW_API_KEY"]
    env = {"MY_GW_BASE_URL": "http://127.0.0.1:9/v1", "MY_GW_API_KEY": "fake-gw-key-aaaa, fake-gw-key-bbbb"}
    rt = build_runtime(config, [name], env=env)
    assert [lane.key_label for lane in rt.models[name].pool.lanes] == ["...aaaa", "...bbbb"]


@pytest.mark.parametrize("name", ["openai-api/gw", "openai-api//m", "openai-api/g w/m", "openai/", "vllm/ m"])
def test_malformed_open_names_are_config_errors(name: str) -> None:
    with pytest.raises(ConfigError, match="model"):
        expand_models(cfg(), name, env={})


def test_unknown_names_still_fail_and_say_how_to_name_any_model() -> None:
    with pytest.raises(ConfigError, match="unknown model 'gpt-4o'") as info:
        expand_models(cfg(), "gpt-4o", env={})
    assert "openai/<model>" in str(info.value)
    with pytest.raises(ConfigError, match="unknown model 'sim/nosuch'"):
        expand_models(cfg(), "sim/nosuch", env={})


def test_a_configured_provider_of_that_name_is_used_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[providers.openai]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\napi_keys = ["env:MY_KEY"]\nrpm = 30\n')
    config = load_config(path)
    expand_models(config, "openai/gpt-4o", env={})
    assert config.models["openai/gpt-4o"].provider == "openai"
    assert config.providers["openai"].rpm == 30
    assert [m.var for m in missing_variables(config, ["openai/gpt-4o"], {})] == ["MY_KEY"]


def test_a_toml_openai_provider_without_keys_is_one_keyless_lane(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[providers.local]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n\n[models.mine]\nprovider = "local"\n')
    config = load_config(path)
    rt = build_runtime(config, ["mine"], env={})
    assert [lane.key_label for lane in rt.models["mine"].pool.lanes] == ["none"]
    assert build_runtime(config, ["mine"], env={}, connect=False).models["mine"].pool.lanes[0].key_label == "none"


def test_azure_without_keys_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[providers.az]\nkind = "azure"\nendpoint = "http://127.0.0.1:9"\napi_version = "x"\n\n[models.m]\nprovider = "az"\n')
    with pytest.raises(ConfigError, match="no api_keys"):
        build_runtime(load_config(path), ["m"], env={})


def test_every_missing_variable_is_named_at_once_with_the_override() -> None:
    config = cfg()
    with pytest.raises(ConfigError) as info:
        check_environment(config, ["qwen2.5-3b-instruct", "gpt-4o-mini"], {})
    message = str(info.value)
    for var in ("IDEALAB_BASE_URL", "IDEALAB_API_KEY_1", "IDEALAB_API_KEY_2", "IDEALAB_API_KEY_3",
                "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        assert var in message
    assert "IDEALAB_API_KEY_OVERRIDE" in message and "\n" not in message
    # One key through the override satisfies the keys; the URL is still needed.
    env = {"IDEALAB_API_KEY_OVERRIDE": "fake-only-key-1111"}
    assert [m.var for m in missing_variables(config, ["qwen2.5-3b-instruct"], env)] == ["IDEALAB_BASE_URL"]
    check_environment(config, ["qwen2.5-3b-instruct"], {**env, "IDEALAB_BASE_URL": "http://127.0.0.1:9/v1"})


def test_generation_params_from_pairs_and_flags() -> None:
    assert generation_params(["top_p=0.9", "stop=[\"END\"]", "seed=7", "user=alice", "logprobs=true"],
                             temperature=0.2, max_tokens=256) == {
        "top_p": 0.9, "stop": ["END"], "seed": 7, "user": "alice", "logprobs": True, "temperature": 0.2, "max_tokens": 256,
    }
    assert generation_params(["temperature=1"], temperature=0.0) == {"temperature": 0.0}  # the flag wins
    for bad in ("top_p", "=1", "a b=1", "x=NaN", "x=Infinity"):
        with pytest.raises(ConfigError):
            generation_params([bad])


def test_run_params_override_model_params() -> None:
    config = cfg()
    rt = build_runtime(config, ["sim/weak"], params={"temperature": 0.5})
    assert rt.models["sim/weak"].params == {"temperature": 0.5}


def test_a_catalog_azure_model_with_only_an_openai_key_points_to_the_openai_name() -> None:
    with pytest.raises(ConfigError) as info:
        check_environment(cfg(), ["gpt-4o-mini"], {"OPENAI_API_KEY": "fake-openai-key-1234"})
    assert "AZURE_OPENAI_ENDPOINT" in str(info.value) and "openai/gpt-4o-mini" in str(info.value)
    assert "OPENAI_API_KEY is set" in str(info.value)
    with pytest.raises(ConfigError) as info:  # without it too: the open name, and the variable it needs
        check_environment(cfg(), ["gpt-4o-mini"], {})
    assert "name it openai/gpt-4o-mini (with OPENAI_API_KEY)" in str(info.value)


def test_openai_org_id_reaches_the_sdk_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-fake-1234")
    rt = build_runtime(cfg(), ["openai/gpt-4o"], env={"OPENAI_API_KEY": "fake-openai-key-1234"})
    [client] = rt.models["openai/gpt-4o"].providers.values()
    assert client._client.organization == "org-fake-1234"


def test_key_required_false_uses_keys_only_when_set(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[providers.box]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\napi_keys = ["env:BOX_KEY"]\n'
                    'key_required = false\n\n[models.m]\nprovider = "box"\n')
    config = load_config(path)
    assert [k.label for k in resolve_keys("box", config.providers["box"], {})] == ["none"]
    assert [k.label for k in resolve_keys("box", config.providers["box"], {"BOX_KEY": "fake-box-key-7777"})] == ["...7777"]
    assert missing_variables(config, ["m"], {}) == []


def test_local_servers_get_timeouts_and_concurrency_suited_to_them() -> None:
    """A first call to a small local model can take minutes; llama.cpp and Ollama serve one call at a time."""
    from pilotbench.config import lane_limits, load_config, open_model

    cfg = load_config(cwd=Path("/nonexistent-dir-for-test"))
    for name in ("llamacpp/qwen2.5-coder-0.5b", "ollama/qwen2.5:0.5b", "vllm/Qwen/Qwen2.5-7B-Instruct", "openai/gpt-4o-mini"):
        assert open_model(cfg, name, env={"OPENAI_API_KEY": "sk-test-fake-0000"})
    env = {"OPENAI_API_KEY": "sk-test-fake-0000"}
    assert lane_limits(cfg, "llamacpp/qwen2.5-coder-0.5b", env=env).request_timeout == 600
    assert lane_limits(cfg, "llamacpp/qwen2.5-coder-0.5b", env=env).max_concurrency == 1
    assert lane_limits(cfg, "ollama/qwen2.5:0.5b", env=env).max_concurrency == 1
    assert lane_limits(cfg, "vllm/Qwen/Qwen2.5-7B-Instruct", env=env).request_timeout == 600
    assert lane_limits(cfg, "vllm/Qwen/Qwen2.5-7B-Instruct", env=env).max_concurrency > 1
    assert lane_limits(cfg, "openai/gpt-4o-mini", env=env).request_timeout < 600
