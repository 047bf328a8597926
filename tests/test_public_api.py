"""The package's public names are exactly those in __all__, and each resolves."""

import pilotbench


def test_all_names_resolve_and_are_listed_once() -> None:
    assert len(pilotbench.__all__) == len(set(pilotbench.__all__))
    for name in pilotbench.__all__:
        assert getattr(pilotbench, name) is not None
    public = {n for n in dir(pilotbench) if not n.startswith("_") and n not in {"api", "benchmark", "config", "errors",
              "limits", "models", "plan", "runner", "store", "reports", "cli", "mock_server", "suite", "view", "replay",
              "cli_flags", "provenance", "secrets", "clock"}}
    assert public == set(pilotbench.__all__) - {"__version__"}


def test_top_level_run_works(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = pilotbench.run(pilotbench.build_specs("sim/strong", num_instances=1), db=tmp_path / "x.db")
    assert result.summary.completed == 5
    assert all(isinstance(r, pilotbench.TestRecord) for r in result.records)
