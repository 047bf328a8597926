"""How a run ends: exit statuses, errors by cause, lost keys with reasons, and the circuit breaker
on connection failures (virtual time)."""

from __future__ import annotations

import asyncio
import io
import random
from pathlib import Path

import pytest

from pilotbench import api
from pilotbench.errors import ProviderError
from pilotbench.limits import FakeClock
from pilotbench.runner import breaker
from pilotbench.runner.calls import CallStats, InfraError, ModelStopped, call_model
from pilotbench.runner.outcome import (
    EXIT_INFRA_ERRORS,
    EXIT_INTERRUPTED,
    EXIT_MODEL_STOPPED,
    EXIT_OK,
    error_cause,
    exit_status,
    lane_problems,
)
from pilotbench.runner.progress import RunProgress, lane_state

from .test_runner import ScriptedProvider, _request, _runtime_with

REFUSED = "connection error (ClientConnectorError: Cannot connect to host 127.0.0.1:9)"


def _call(rt, clock):  # type: ignore[no-untyped-def]
    return asyncio.run(call_model(rt.models["sim/strong"], "baseline", _request(), CallStats(), clock=clock, rng=random.Random(1)))


def test_refused_connections_trip_the_breaker_within_seconds() -> None:
    clock = FakeClock()
    provider = ScriptedProvider([ProviderError("transient", REFUSED)] * 1000)
    rt = _runtime_with(provider, max_retries=1000, clock=clock)
    with pytest.raises(ModelStopped, match="provider unreachable") as info:
        _call(rt, clock)
    assert "127.0.0.1:9" in str(info.value) and "base_url" in str(info.value)
    assert breaker.FAILURES <= provider.calls < 1000
    assert clock.now() >= breaker.SECONDS
    assert rt.models["sim/strong"].dead == str(info.value)
    with pytest.raises(ModelStopped):  # every later call of the model stops at once
        _call(rt, clock)


def test_any_answer_from_the_server_resets_the_streak() -> None:
    clock = FakeClock()
    errors: list[BaseException] = []
    for _ in range(30):
        errors += [ProviderError("transient", REFUSED)] * (breaker.FAILURES - 1) + [ProviderError("transient", "HTTP 500")]
    provider = ScriptedProvider(errors)
    rt = _runtime_with(provider, max_retries=10_000, clock=clock)
    out = _call(rt, clock)  # never 12 refusals in a row: retried to the end, then answered
    assert out is not None and provider.calls == len(errors) + 1
    assert rt.models["sim/strong"].dead is None


def test_a_burst_shorter_than_the_breaker_window_is_only_retried() -> None:
    clock = FakeClock()
    provider = ScriptedProvider([ProviderError("transient", REFUSED)] * 3)
    rt = _runtime_with(provider, max_retries=2, clock=clock)
    with pytest.raises(InfraError, match="gave up after 3 transient failures") as info:
        _call(rt, clock)
    assert not isinstance(info.value, ModelStopped)


def test_the_breaker_needs_both_a_long_and_an_old_streak() -> None:
    clock = FakeClock()
    rt = _runtime_with(ScriptedProvider([]), clock=clock).models["sim/strong"]
    err = ProviderError("transient", REFUSED)
    assert breaker.is_connection_error(err) and not breaker.is_connection_error(ProviderError("transient", "HTTP 500"))
    for _ in range(100):  # many at one instant: a blip, not an outage
        assert breaker.connection_failed(rt, clock.now(), err) is None
    clock.advance(breaker.SECONDS)
    assert "provider unreachable" in (breaker.connection_failed(rt, clock.now(), err) or "")
    breaker.answered(rt)
    assert rt.connection_failures == 0 and breaker.connection_failed(rt, clock.now(), err) is None


@pytest.mark.parametrize("interrupted, stopped, errors, not_run, expected", [
    (False, 0, 0, 0, EXIT_OK),
    (False, 0, 3, 0, EXIT_INFRA_ERRORS),
    (False, 0, 0, 5, EXIT_INFRA_ERRORS),
    (False, 1, 3, 5, EXIT_MODEL_STOPPED),
    (True, 1, 3, 5, EXIT_INTERRUPTED),
])
def test_exit_status(interrupted: bool, stopped: int, errors: int, not_run: int, expected: int) -> None:
    assert exit_status(interrupted=interrupted, stopped_models=stopped, errors=errors, not_run=not_run) == expected
    assert len({EXIT_OK, EXIT_INFRA_ERRORS, EXIT_MODEL_STOPPED, EXIT_INTERRUPTED, 2}) == 5


def test_error_causes_group_the_same_failure_across_tests() -> None:
    a = error_cause("gave up after 3 transient failures: HTTP 500: boom\nTraceback ...")
    b = error_cause("gave up after 6 transient failures: HTTP 500: boom")
    assert a == b == "gave up after N transient failures: HTTP 500: boom"
    assert error_cause("still rate limited after 41 tries: 429") == "still rate limited after N tries: 429"
    assert error_cause(None) == error_cause("") == "unknown"
    assert len(error_cause("x" * 1000)) <= 240


def test_lost_keys_are_reported_with_their_reasons_in_progress_lines_and_table() -> None:
    rt = _runtime_with(ScriptedProvider([]), clock=FakeClock())
    [lane] = rt.models["sim/strong"].pool.lanes
    progress = RunProgress([lane])
    assert lane_problems([lane]) == {} and lane_state(lane) == "ok" and "keys out" not in progress.line()
    lane.disable("key ...4444 refused: HTTP 401 invalid api key")
    assert lane_problems([lane]) == {lane.name: "disabled: key ...4444 refused: HTTP 401 invalid api key"}
    assert "keys out: " in progress.line() and "HTTP 401 invalid api key" in progress.line()
    assert lane_state(lane, width=20).endswith("...") and len(lane_state(lane, width=20)) == 20


def test_a_quota_park_is_reported_as_parked() -> None:
    rt = _runtime_with(ScriptedProvider([]), clock=FakeClock())
    [lane] = rt.models["sim/strong"].pool.lanes
    lane.park(None, "quota exhausted on key ...5555")
    assert lane_problems([lane]) == {lane.name: "parked: quota exhausted on key ...5555"}


def test_summary_exit_status_and_stored_params(tmp_path: Path) -> None:
    result = api.run(api.build_plan("sim/strong", num_instances=1), db=tmp_path / "r.db", params={"temperature": 0.1})
    assert result.summary.exit_status == EXIT_OK and result.summary.error_causes == {}
    assert {r.params for r in result.records} == {'{"temperature": 0.1}'}


def test_the_live_display_shows_why_a_key_is_out() -> None:
    from rich.console import Console

    rt = _runtime_with(ScriptedProvider([]), clock=FakeClock())
    [lane] = rt.models["sim/strong"].pool.lanes
    lane.disable("key ...4444 refused: HTTP 401")
    console = Console(width=250, record=True, file=io.StringIO())
    console.print(RunProgress([lane]).table())
    text = console.export_text()
    assert "disabled (key ...4444 refused: HTTP 401)" in text


def test_context_length_refusals_are_one_cause_whatever_their_token_counts() -> None:
    from pilotbench.runner.outcome import error_cause

    a = error_cause("context length exceeded: HTTP 400: request (6323 tokens) exceeds the available context size (5000 tokens)")
    b = error_cause("context length exceeded: HTTP 400: request (6484 tokens) exceeds the available context size (5000 tokens)")
    assert a == b == "context length exceeded: HTTP 400: request (N tokens) exceeds the available context size (N tokens)"
    assert error_cause("HTTP 500: boom 1") != error_cause("HTTP 500: boom 2")  # other causes keep their numbers
