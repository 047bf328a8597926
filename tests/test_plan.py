"""The plan: stable test ids, lazy expansion, axis parsing; the Python API; suites."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotbench import api
from pilotbench.benchmark.versions import suite_version
from pilotbench.config import load_config
from pilotbench.errors import ConfigError, UsageError
from pilotbench.plan import PlanSpec, make_spec, parse_choices, parse_rates
from pilotbench.plan import test_id as make_test_id
from pilotbench.suite import load_suite

ROOT = Path(__file__).resolve().parents[1]


def test_ids_are_stable_across_processes_and_versions() -> None:
    # A literal: if this changes, every user's store stops resuming. Change it only on purpose.
    assert make_test_id("sim/weak", "baseline", "simple_task", "easy", 0.8, 0, "v1-abc", 42) == "14c7aecfe69d42316623"
    spec = make_spec("sim/weak", "baseline", "simple_task", "easy", 0.8, 0)
    assert spec.id == make_spec("sim/weak", "baseline", "simple_task", "easy", 0.8, 0).id
    assert spec.suite_version == suite_version(42)


@pytest.mark.parametrize(
    "field, value",
    [("model", "sim/strong"), ("prompt_type", "cot"), ("task_type", "basic_task"), ("difficulty", "hard"),
     ("tool_success_rate", 0.7), ("instance", 1), ("version", "v1-other"), ("seed", 7)],
)
def test_every_defining_field_changes_the_id(field: str, value: object) -> None:
    base = dict(model="sim/weak", prompt_type="baseline", task_type="simple_task", difficulty="easy",
                tool_success_rate=0.8, instance=0, seed=42, version="v1-abc")
    changed = {**base, field: value}

    def make(d):  # type: ignore[no-untyped-def]
        return make_spec(d["model"], d["prompt_type"], d["task_type"], d["difficulty"], d["tool_success_rate"],
                         d["instance"], seed=d["seed"], version=d["version"]).id

    assert make(base) != make(changed)


def test_severity_only_matters_for_flawed_prompts() -> None:
    a = make_spec("m", "baseline", "simple_task", "easy", 0.8, 0, severity="light")
    b = make_spec("m", "baseline", "simple_task", "easy", 0.8, 0, severity="severe")
    assert a.id == b.id
    c = make_spec("m", "flawed_missing_step", "simple_task", "easy", 0.8, 0, severity="light")
    d = make_spec("m", "flawed_missing_step", "simple_task", "easy", 0.8, 0, severity="severe")
    assert c.id != d.id


def test_plan_length_and_lazy_expansion_agree() -> None:
    plan = PlanSpec(models=("a", "b"), prompt_types=("baseline", "cot"), difficulties=("easy", "hard"),
                    tool_success_rates=(0.9, 0.6), num_instances=3)
    specs = list(plan.expand())
    assert len(plan) == len(specs) == 2 * 2 * 5 * 2 * 2 * 3
    assert len({s.id for s in specs}) == len(specs)
    # growing the instance count keeps every earlier id: resume tops up
    bigger = {s.id for s in PlanSpec(models=("a", "b"), prompt_types=("baseline", "cot"), difficulties=("easy", "hard"),
                                     tool_success_rates=(0.9, 0.6), num_instances=5).expand()}
    assert {s.id for s in specs} <= bigger


def test_a_million_test_plan_expands_lazily() -> None:
    plan = PlanSpec(models=tuple(f"m{i}" for i in range(20)), prompt_types=("baseline",) * 1, num_instances=10_000)
    assert len(plan) == 1_000_000
    it = plan.expand()
    first = next(it)
    assert first.model == "m0" and first.instance == 0


def test_axis_parsing() -> None:
    assert parse_choices("all", ("a", "b"), "thing") == ("a", "b")
    assert parse_choices("b,a,b", ("a", "b"), "thing") == ("b", "a")
    with pytest.raises(ValueError, match="unknown thing 'c'"):
        parse_choices("a,c", ("a", "b"), "thing")
    assert parse_rates("all") == (0.9, 0.8, 0.7, 0.6)
    assert parse_rates("0.9, 0.6") == (0.9, 0.6)
    with pytest.raises(ValueError, match="not a number"):
        parse_rates("high")
    with pytest.raises(ValueError, match="between 0 and 1"):
        parse_rates("-0.1")


def test_python_api_runs_specs_and_reports_provider_stats(tmp_path: Path) -> None:
    specs = [api.TestTask(model=m, task_type="simple_task", prompt_type=p, difficulty="easy")
             for m in ("sim/strong", "sim/weak") for p in ("baseline", "cot", "optimal")]
    result = api.run(specs, db=tmp_path / "api.db")
    assert result.summary.completed == 6
    assert {r.model for r in result.records} == {"sim/strong", "sim/weak"}
    stats = result.provider_stats["sim"]
    assert stats["tests"] == 6 and stats["calls"] == sum(r.model_calls for r in result.records) > 6
    with pytest.raises(UsageError, match="unknown prompt type"):
        api.build_specs("sim/weak", prompt_types="nope")


def test_which_key_follows_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    for i, suffix in enumerate(("aaa1", "bbb2", "ccc3"), 1):
        monkeypatch.setenv(f"IDEALAB_API_KEY_{i}", f"fake-{suffix}")
    assert api.which_key("qwen2.5-7b-instruct", "optimal", key_policy="prompt-affinity") == "...ccc3"
    assert api.which_key("qwen2.5-7b-instruct", "cot", key_policy="prompt-affinity") == "...bbb2"


def test_example_suite_covers_the_studys_sections() -> None:
    suite = load_suite(ROOT / "examples" / "study-sim.toml", load_config(cwd=Path("/nonexistent-dir")))
    names = [name for name, _ in suite.experiments]
    assert [n.split()[0] for n in names] == ["5.1", "5.2", "5.3", "5.4", "5.5"]
    specs = list(suite.expand())
    assert len(specs) == len({s.id for s in specs})  # overlapping experiments run each test once
    assert any(m.startswith("sim/family-") for m in suite.models)


def test_guide_provider_suite_parses_without_keys() -> None:
    suite = load_suite(ROOT / "examples" / "study-guide-providers.toml", load_config(cwd=Path("/nonexistent-dir")))
    assert "qwen2.5-72b-instruct" in suite.models


def test_suite_errors_name_the_experiment(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text('[[experiment]]\nname = "x"\nmodels = ["sim/weak"]\nprompt_types = "magic"\n')
    with pytest.raises(ConfigError, match="experiment 'x'.*unknown prompt type 'magic'"):
        load_suite(bad, load_config(cwd=Path("/nonexistent-dir")))
    bad.write_text('[[experiment]]\nname = "x"\nfavourite = 1\n')
    with pytest.raises(ConfigError, match="unknown field"):
        load_suite(bad, load_config(cwd=Path("/nonexistent-dir")))
