"""Provider kinds registered once (`models.registry`): config, runtime and the Ray driver read them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pilotbench import api
from pilotbench.benchmark.types import ModelOutput
from pilotbench.config import (
    PROVIDER_KINDS, ConfigError, ResolvedKey, keyless, lane_limits, load_config, missing_variables, resolve_keys,
)
from pilotbench.errors import ProviderError
from pilotbench.models import registry
from pilotbench.models.base import ModelRequest
from pilotbench.models.registry import ProviderArgs, ProviderKind
from pilotbench.models.simulated import get_simulated_model
from pilotbench.runner.ray_executor import key_count, portable_config

TOY_KEY = "sk-test-FAKE-toy-0001"


class ToyProvider:
    """A provider of the toy kind: plays as the simulated strong model, and counts its calls."""

    kind = "toy"

    def __init__(self, args: ProviderArgs) -> None:
        self.args = args
        self.sim = get_simulated_model("sim/strong")
        self.requests: list[ModelRequest] = []

    async def generate(self, request: ModelRequest, timeout: float) -> ModelOutput:
        self.requests.append(request)
        return await self.sim.generate(request, timeout)

    def classify(self, error: BaseException) -> ProviderError:
        return self.sim.classify(error)

    def end_conversation(self, messages: Any) -> None:
        self.sim.end_conversation(messages)

    async def aclose(self) -> None:
        pass


@pytest.fixture
def toy() -> Iterator[list[ToyProvider]]:
    built: list[ToyProvider] = []

    def factory(args: ProviderArgs) -> ToyProvider:
        built.append(ToyProvider(args))
        return built[-1]

    registry.register(ProviderKind("toy", factory, max_concurrency=3, request_timeout=7.0, keys="required"))
    try:
        yield built
    finally:
        registry.unregister("toy")


def _config(tmp_path: Path, kind: str = "toy") -> Path:
    path = tmp_path / "pilotbench.toml"
    path.write_text(
        f'[providers.toybox]\nkind = "{kind}"\nbase_url = "http://127.0.0.1:9/v1"\napi_keys = ["env:TOY_KEY"]\n'
        'learn_limits = false\n\n[models."toy/strong"]\nprovider = "toybox"\ndeployment = "strong-1"\n'
    )
    path.chmod(0o600)
    return path


def test_a_registered_kind_runs_tests_and_scores_as_the_model_it_plays(tmp_path: Path, toy: list[ToyProvider]) -> None:
    config = load_config(_config(tmp_path))
    env = {"TOY_KEY": TOY_KEY}
    plan = api.build_plan("toy/strong", task_types="all", num_instances=1, config=config)
    result = api.run(plan, db=tmp_path / "toy.db", config=config, env=env)

    assert len(toy) == 1  # one client for the (provider, key, model)
    args = toy[0].args
    assert (args.kind, args.model, args.deployment, args.api_key) == ("toy", "toy/strong", "strong-1", TOY_KEY)
    assert args.base_url == "http://127.0.0.1:9/v1"
    assert toy[0].requests and all(r.deployment == "strong-1" for r in toy[0].requests)
    # A remote kind: every call carries the completion cap, as for any HTTP provider.
    assert all(r.params.get("max_tokens") == 1024 for r in toy[0].requests)
    assert result.summary.completed == len(list(plan.expand())) > 0
    assert {r.model for r in result.records} == {"toy/strong"}
    assert {r.status for r in result.records} == {"done"}

    # The same tests played by the simulated model directly: the same scores, test by test.
    sim_plan = api.build_plan("sim/strong", task_types="all", num_instances=1, config=config)
    sim = api.run(sim_plan, db=tmp_path / "sim.db", config=config, env=env)
    scores = {(r.task_type, r.instance, r.prompt_type): (r.success_level, r.weighted_score) for r in result.records}
    assert scores == {(r.task_type, r.instance, r.prompt_type): (r.success_level, r.weighted_score) for r in sim.records}


def test_config_reads_the_kind_s_defaults_and_key_rules(tmp_path: Path, toy: list[ToyProvider]) -> None:
    config = load_config(_config(tmp_path))
    provider = config.providers["toybox"]
    limits = lane_limits(config, "toy/strong", env={})
    assert (limits.max_concurrency, limits.request_timeout) == (3, 7.0)
    assert not keyless(provider)  # "required": no keyless lane
    assert [m.var for m in missing_variables(config, ["toy/strong"], {})] == ["TOY_KEY"]
    with pytest.raises(ConfigError, match="TOY_KEY"):
        resolve_keys("toybox", provider, {})
    assert resolve_keys("toybox", provider, {"TOY_KEY": f"{TOY_KEY},sk-test-FAKE-toy-0002"})[1].secret == "sk-test-FAKE-toy-0002"
    assert key_count(config, "toybox", {}) == 1 and key_count(config, "toybox", {"TOYBOX_API_KEY_OVERRIDE": "a,b"}) == 2
    assert portable_config(config, ["toy/strong"])["providers"]["toybox"]["kind"] == "toy"


def test_a_builtin_key_kind_needs_no_key_anywhere(tmp_path: Path) -> None:
    registry.register(ProviderKind("toy", ToyProvider, max_concurrency=2, request_timeout=5.0, keys="builtin", remote=False))
    try:
        config = load_config(_config(tmp_path))
        provider = config.providers["toybox"]
        assert resolve_keys("toybox", provider, {}) == [ResolvedKey("toy", "toy")]
        assert missing_variables(config, ["toy/strong"], {}) == []
        assert key_count(config, "toybox", {"TOYBOX_API_KEY_OVERRIDE": "a,b"}) == 1
    finally:
        registry.unregister("toy")


def test_kinds_are_validated_against_the_registry(tmp_path: Path) -> None:
    assert PROVIDER_KINDS == ("azure", "openai", "simulated", "human") == registry.kinds()
    with pytest.raises(ConfigError) as info:
        load_config(_config(tmp_path))
    assert str(info.value).endswith("providers.toybox.kind: Input should be 'azure', 'openai', 'simulated' or 'human'")
    registry.register(ProviderKind("toy", ToyProvider, max_concurrency=1, request_timeout=1.0))
    try:
        with pytest.raises(ConfigError) as info:
            load_config(_config(tmp_path, kind="toys"))
        assert str(info.value).endswith("Input should be 'azure', 'openai', 'simulated', 'human' or 'toy'")
        with pytest.raises(ValueError, match="already registered"):
            registry.register(ProviderKind("toy", ToyProvider, max_concurrency=1, request_timeout=1.0))
    finally:
        registry.unregister("toy")
    with pytest.raises(ConfigError, match=r"unknown provider kind 'toy' \(expected one of azure, openai, simulated, human\)"):
        registry.provider_kind("toy")


@pytest.mark.parametrize(
    ("kind", "client", "expected"),
    [("openai", "sdk", "OpenAICompatProvider"), ("openai", "lean", "LeanOpenAIProvider"),
     ("azure", "lean", "LeanOpenAIProvider"), ("simulated", "sdk", "SimulatedModel")],
)
def test_the_builtin_factories(kind: str, client: str, expected: str) -> None:
    args = ProviderArgs(kind=kind, base_url="http://127.0.0.1:9", api_key=TOY_KEY, api_version="2024-10-21",
                        drop_params=("top_k",), model="sim/weak", client=client)
    provider = registry.make_provider(args)
    assert type(provider).__name__ == expected and provider.kind == kind


def test_the_simulated_factory_names_an_unknown_model() -> None:
    args = ProviderArgs(kind="simulated", base_url=None, api_key="", api_version=None, drop_params=(), model="sim/nope")
    with pytest.raises(ConfigError, match="unknown simulated model 'sim/nope'"):
        registry.make_provider(args)


def test_presets_are_fresh_entries() -> None:
    entry = registry.provider_kind("openai").entry()
    assert entry == {"kind": "openai", "base_url": "env:OPENAI_BASE_URL:-https://api.openai.com/v1",
                     "api_keys": ["env:OPENAI_API_KEY"]}
    entry["api_keys"].append("env:X")
    assert registry.provider_kind("openai").entry()["api_keys"] == ["env:OPENAI_API_KEY"]
