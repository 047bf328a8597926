"""Fuzzing (hypothesis) of everything that reads untrusted text: model output and config files.

Model output: parse_arguments, parse_text_reply, parse_native_reply, parse_reply, declares_completion,
and a whole Episode fed arbitrary ModelOutputs. Nothing may raise, and every reply is classified:
a ParsedReply has exactly one of calls / final / format_error; a truncated reply is never a final
answer; calls written as text in native mode are counted once each. Config: random TOML-ish text and
random structures dumped to TOML either load or raise ConfigError, never anything else.
Lone surrogates are included: a JSON body can carry "\\ud800" escapes.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilotbench.benchmark.episode import Episode, StopRules
from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.protocol import (
    FINAL_MARKER,
    MISTRAL_TOOL_CALLS,
    PYTHON_TAG,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    ParsedReply,
    declares_completion,
    is_truncated,
    parse_arguments,
    parse_native_reply,
    parse_reply,
    parse_text_reply,
    read_final,
)
from pilotbench.benchmark.scoring import score
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.benchmark.tools import TOOLS
from pilotbench.benchmark.types import (
    DIFFICULTIES,
    ERROR_CATEGORIES,
    PROMPT_TYPES,
    SUCCESS_LEVELS,
    TASK_TYPES,
    ModelOutput,
    ToolCall,
    Usage,
)
from pilotbench.config import KEY_POLICIES, PROVIDER_KINDS, Config, expand_models, lane_limits, load_config
from pilotbench.errors import ConfigError
from pilotbench.runner.runtime import build_runtime

# 200 examples per test keeps CI fast; PB_FUZZ_EXAMPLES=5000 searches harder.
FUZZ = settings(
    max_examples=int(os.environ.get("PB_FUZZ_EXAMPLES", "200")), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# ------------------------------------------------------------------------------------------------
# Strategies for model output
# ------------------------------------------------------------------------------------------------

any_char = st.characters(exclude_categories=())  # surrogates included
raw_text = st.text(any_char, max_size=120)
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(any_char, max_size=30),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(any_char, max_size=12), inner, max_size=4)),
    max_leaves=8,
)
PARAM_NAMES = sorted({p.name for t in TOOLS.values() for p in t.parameters})
tool_name = st.one_of(st.sampled_from(sorted(TOOLS)), st.text(any_char, max_size=30), st.just(""))
arguments_object = st.dictionaries(st.one_of(st.sampled_from(PARAM_NAMES), st.text(max_size=10)), json_value, max_size=5)


def _dumps(value: object) -> str:
    return json.dumps(value, allow_nan=True)


argument_text = st.one_of(
    raw_text,
    arguments_object.map(_dumps),
    json_value.map(_dumps),
    st.just(""), st.just("{"), st.just("null"), st.just("[]"), st.just('{"a": NaN}'), st.just("1" * 5000),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
)
call_block = st.builds(
    lambda name, args, close, fence: TOOL_CALL_OPEN
    + (f"```json\n{json.dumps({'name': name, 'arguments': args})}\n```" if fence else json.dumps({"name": name, "arguments": args}))
    + (TOOL_CALL_CLOSE if close else ""),
    tool_name, st.one_of(arguments_object, argument_text), st.booleans(), st.booleans(),
)
# Calls written as text the other ways open models write them (bare, fenced, listed, tagged).
text_call = st.builds(
    lambda name, args, key, shape: shape.format(json.dumps({"name": name, key: args})),
    tool_name, st.one_of(arguments_object, argument_text), st.sampled_from(["arguments", "parameters"]),
    st.sampled_from(["{}", "```json\n{}\n```", "[{}]", PYTHON_TAG + "{}", MISTRAL_TOOL_CALLS + "[{}]",
                     '{{"tool_calls": [{}]}}', '{{"function": {}}}']),
)
content_text = st.one_of(
    st.none(),
    raw_text,
    st.lists(st.one_of(raw_text, call_block, text_call, st.just(TOOL_CALL_OPEN), st.just(TOOL_CALL_CLOSE),
                       st.just(FINAL_MARKER), st.just("```json"), st.just("```"), st.just('{"name": '),
                       st.just(PYTHON_TAG), st.just(MISTRAL_TOOL_CALLS), st.just("[ARGS]"),
                       st.just("I cannot complete the task."), argument_text), max_size=6).map("".join),
)
tool_calls = st.lists(
    st.builds(ToolCall, id=st.one_of(st.just(""), st.text(max_size=8)), name=tool_name, arguments=argument_text),
    max_size=4,
).map(tuple)
model_output = st.builds(
    ModelOutput,
    content=content_text,
    tool_calls=tool_calls,
    reasoning=st.one_of(st.none(), raw_text),
    usage=st.builds(Usage, st.integers(0, 10**6), st.integers(0, 10**6)),
    finish_reason=st.one_of(st.none(), st.sampled_from(["stop", "tool_calls", "length", "content_filter", "max_tokens"])),
)


def assert_classified(parsed: ParsedReply) -> None:
    assert isinstance(parsed, ParsedReply)
    kinds = [bool(parsed.calls), parsed.final is not None, parsed.format_error is not None]
    assert sum(kinds) == 1, parsed
    for call in parsed.calls:
        assert isinstance(call, ToolCall) and isinstance(call.name, str) and isinstance(call.arguments, str)
    if parsed.final is not None:
        assert isinstance(parsed.final, str) and parsed.final.strip()


# ------------------------------------------------------------------------------------------------
# The parsers
# ------------------------------------------------------------------------------------------------


@FUZZ
@given(st.one_of(st.none(), argument_text, arguments_object))
def test_parse_arguments_returns_a_dict_or_none(raw) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_arguments(raw)
    assert parsed is None or isinstance(parsed, dict)
    if isinstance(raw, str) and parsed is not None and raw.strip():
        assert parsed == json.loads(raw.strip()) or _has_nan(parsed)


def _has_nan(value: object) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nan(v) for v in value)
    return False


@FUZZ
@given(content_text)
def test_parse_text_reply_classifies_every_reply(content) -> None:  # type: ignore[no-untyped-def]
    assert_classified(parse_text_reply(content))


@FUZZ
@given(model_output)
def test_parse_native_reply_classifies_every_reply(output: ModelOutput) -> None:
    parsed = parse_native_reply(output)
    assert_classified(parsed)
    if output.tool_calls:
        assert parsed.calls == output.tool_calls


@FUZZ
@given(model_output, st.sampled_from(["native", "text"]), st.sampled_from([None, frozenset(TOOLS)]))
def test_parse_reply_classifies_every_reply_once(output: ModelOutput, mode: str, offered) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_reply(output, mode, offered)
    assert_classified(parsed)
    if is_truncated(output.finish_reason):
        assert parsed.truncated and parsed.format_error is not None
    else:
        assert not parsed.truncated
    assert not (parsed.from_text and mode == "text")
    if parsed.from_text:
        assert not output.tool_calls


@FUZZ
@given(content_text)
def test_declares_completion_is_a_plain_bool(text) -> None:  # type: ignore[no-untyped-def]
    assert declares_completion(text) in (True, False)
    report = read_final(text)
    assert report.form in (None, "result_line", "plain") and len(set(report.handles)) == len(report.handles)
    assert (report.handle is not None) == (len(report.handles) == 1) == (report.form is not None)


def test_reading_a_long_adversarial_answer_stays_cheap() -> None:
    """The failure-statement and RESULT patterns over answers built to make a regex backtrack."""
    import time

    for text in ("the " * 50_000, "whole entire " * 30_000, "could not" + " " * 100_000 + "x", "RESULT: " * 20_000):
        start = time.process_time()
        read_final(text)
        assert time.process_time() - start < 0.5, text[:20]


# ------------------------------------------------------------------------------------------------
# Whole episodes on arbitrary model output
# ------------------------------------------------------------------------------------------------


@FUZZ
@given(
    task_type=st.sampled_from(TASK_TYPES),
    instance=st.integers(0, 3),
    difficulty=st.sampled_from(DIFFICULTIES),
    prompt_type=st.sampled_from(PROMPT_TYPES),
    tool_mode=st.sampled_from(["native", "text"]),
    rate=st.sampled_from([0.0, 0.6, 0.8, 1.0]),
    max_turns=st.integers(1, 6),
    outputs=st.lists(model_output, min_size=1, max_size=8),
)
def test_episode_survives_any_model_output(task_type, instance, difficulty, prompt_type, tool_mode, rate, max_turns, outputs) -> None:  # type: ignore[no-untyped-def]
    task = generate_instance(task_type, instance, 42)
    prompt = render_prompt(task, difficulty, prompt_type, tool_mode=tool_mode)
    episode = Episode("fuzz-test", task, prompt, rate, rules=StopRules(max_turns=max_turns))
    steps = 0
    truncated = text_calls = 0
    for output in outputs:
        if episode.done:
            break
        before = len(episode.trajectory.calls)
        ended = episode.step(output)
        steps += 1
        assert ended == episode.done
        if is_truncated(output.finish_reason):
            truncated += 1
            assert episode.trajectory.stop_reason != "final_answer"  # a cut-off reply is never an answer
            assert len(episode.trajectory.calls) == before
        elif tool_mode == "native" and not output.tool_calls:
            text_calls += len(episode.trajectory.calls) - before
    traj = episode.trajectory
    assert traj.truncated_replies == truncated <= traj.format_errors
    assert traj.text_calls == text_calls  # each call run from text counted once
    if tool_mode == "text":
        assert traj.text_calls == 0
    assert traj.turns == steps <= max_turns
    assert episode.done == bool(traj.stop_reason)
    if steps == max_turns:
        assert episode.done
    # What goes back to the provider and into the store must serialise.
    json.dumps(episode.messages)
    for m in episode.messages:
        assert m["role"] in ("system", "user", "assistant", "tool")
        assert m.get("content") is None or isinstance(m["content"], str)
    json.dumps(traj.to_dict(), default=str)
    s = score(task, traj)
    assert s.success_level in SUCCESS_LEVELS
    assert s.error_category is None or s.error_category in ERROR_CATEGORIES
    for value in (s.workflow_adherence, s.tool_coverage, s.efficiency, s.precision):
        assert 0.0 <= value <= 1.0


# ------------------------------------------------------------------------------------------------
# Config loading
# ------------------------------------------------------------------------------------------------

PROVIDER_FIELDS = sorted(
    ["kind", "base_url", "endpoint", "api_version", "api_keys", "max_concurrency", "rpm", "tpm", "request_timeout",
     "max_retries", "key_policy", "adaptive_ceiling", "lane_scope", "client"]
)
MODEL_FIELDS = sorted(
    ["provider", "deployment", "max_concurrency", "rpm", "tpm", "params", "drop_params", "tool_mode", "price_input",
     "price_output"]
)
toml_leaf = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from([*PROVIDER_KINDS, *KEY_POLICIES, "sim", "native", "text", "env:PBR_FUZZ_KEY",
                                           "http://127.0.0.1:9/v1", "sim/weak", "key", "deployment", "sdk", "lean"]),
)
toml_value = st.one_of(toml_leaf, st.lists(toml_leaf, max_size=3), st.dictionaries(st.text(max_size=6), toml_leaf, max_size=3))
provider_entry = st.dictionaries(st.one_of(st.sampled_from(PROVIDER_FIELDS), st.text(max_size=8)), toml_value, max_size=6)
model_entry = st.dictionaries(st.one_of(st.sampled_from(MODEL_FIELDS), st.text(max_size=8)), toml_value, max_size=5)
entry_name = st.one_of(st.sampled_from(["sim", "idealab", "mock", "sim/weak", "m"]), st.text(min_size=1, max_size=10))
config_dict = st.fixed_dictionaries(
    {},
    optional={
        "providers": st.dictionaries(entry_name, provider_entry, max_size=3),
        "models": st.dictionaries(entry_name, model_entry, max_size=3),
        "groups": st.dictionaries(entry_name, st.one_of(st.lists(entry_name, max_size=3), toml_leaf), max_size=3),
    },
)
# Rarer shapes: a section that is not a table, an unknown section.
config_dict = st.one_of(
    config_dict, config_dict, config_dict,
    st.dictionaries(st.sampled_from(["providers", "models", "groups", "other"]), toml_value, max_size=3),
)


def to_toml(value: object) -> str:
    """A TOML value (inline tables and arrays) for plain data."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(to_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {to_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def load_or_config_error(path: Path) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as e:
        assert str(e).strip()
        return None


def exercise(config: Config) -> None:
    """A config that loads must be usable: limits, model expansion and (unconnected) lanes."""
    env = {"PBR_FUZZ_KEY": "fake-secret-key-FUZZ0000"}
    for name in config.models:
        try:
            lane_limits(config, name, env=env)
            expand_models(config, name)
            build_runtime(config, [name], env=env, connect=False)
        except ConfigError:
            pass


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzzcfg") / "pilotbench.toml"


@FUZZ
@given(config_dict)
def test_config_from_random_structures_loads_or_raises_config_error(config_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    config_path.write_text("\n".join(f"{json.dumps(k)} = {to_toml(v)}" for k, v in data.items()) + "\n", encoding="utf-8")
    os.chmod(config_path, 0o600)
    config = load_or_config_error(config_path)
    if config is not None:
        exercise(config)


toml_line = st.one_of(
    st.sampled_from(["[providers.x]", "[models.m]", "[groups]", "[providers]", '[models."sim/weak"]', "[[providers]]",
                     "[providers.x.params]", "kind = 'openai'", "kind = 'simulated'", "provider = 'x'", "provider = 'sim'",
                     "api_keys = ['env:PBR_FUZZ_KEY']", "base_url = 'http://127.0.0.1:9/v1'", "g = ['sim/weak']",
                     "max_concurrency = 3", "rpm = 0", "params = { temperature = 0.0 }", "a = [[[[[", "= 1", "x = ",
                     "'''", '"""', "x = 1979-05-27T07:32:00Z", "x = 0x1F", "x.y.z = 1", "x = {a = 1,}"]),
    st.builds(lambda k, v: f"{k} = {to_toml(v)}", st.sampled_from(PROVIDER_FIELDS + MODEL_FIELDS), toml_value),
    st.text(max_size=40),
)


@FUZZ
@given(st.lists(toml_line, max_size=12).map("\n".join))
def test_config_from_random_toml_text_loads_or_raises_config_error(config_path: Path, text: str) -> None:
    config_path.write_text(text, encoding="utf-8", errors="surrogatepass")
    os.chmod(config_path, 0o600)
    config = load_or_config_error(config_path)
    if config is not None:
        exercise(config)


@FUZZ
@given(st.binary(max_size=300))
def test_config_from_random_bytes_loads_or_raises_config_error(config_path: Path, blob: bytes) -> None:
    config_path.write_bytes(blob)
    os.chmod(config_path, 0o600)
    load_or_config_error(config_path)
