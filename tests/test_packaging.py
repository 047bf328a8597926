"""Packaging metadata and the README's promises about the test suite stay true."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_an_spdx_string_not_a_deprecated_table() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert isinstance(meta["project"]["license"], str) and meta["project"]["license"] == "MIT"
    # SPDX strings need setuptools 77 (PEP 639); an older backend would reject them
    [setuptools] = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    assert tuple(int(x) for x in re.findall(r">=(\d+)", setuptools)) >= (77,)


def test_readme_reliability_table_names_real_tests_and_marks_xfail_only_where_tests_are() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Reliability", 1)[1].split("\n\n", 3)[2]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    assert rows
    reliability = ROOT / "tests" / "reliability"
    xfail_tests = set()
    for path in reliability.glob("test_*.py"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"@pytest\.mark\.xfail[^\n]*\n(?:@[^\n]*\n)*def (\w+)", text):
            xfail_tests.add(m.group(1))
    for row in rows:
        cells = row.split(" | ")
        refs = re.findall(r"`([^`]*::\w+)`", cells[-1])
        current = None
        for ref in refs:
            file, _, name = ref.rpartition("::")
            if file:
                current = (reliability / file).resolve()
            assert current is not None and current.exists(), ref
            assert re.search(rf"def {name}\(", current.read_text(encoding="utf-8")), f"{ref} is not a test"
        if "xfail" in row:
            assert any(ref.rpartition("::")[2] in xfail_tests for ref in refs), f"marked xfail but no test is: {row[:80]}"
